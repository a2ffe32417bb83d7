//! Rollback (docs/workflow.md, "Rolling back"; docs/adr/0018-rollback.md): which deployment a
//! rollback goes back to, chosen from deploybot's own records; which commits a successful
//! rollback marks **bad** for its environment; and whether a commit is bad there. Pure: the
//! caller reads the records by key or index, asks GitHub what it must (the commits of a range,
//! ancestry through the compare API) and applies the answer.

use crate::lane::{Ancestry, AncestryQuestion, LaneKey, slack_time};
use crate::{Deployment, DeploymentId, Environment, Sha, SlackUserId, Timestamp, Trigger};
use serde::{Deserialize, Serialize};

/// The GitHub deployment `task` of a rollback (every other deployment has `deploy`).
pub const ROLLBACK_TASK: &str = "deploy:rollback";

/// How many successful deployments of an environment a rollback looks through for its
/// target (newest first), and how many rolled-back ranges of an environment are read.
pub const TARGET_CANDIDATES: usize = 50;
/// See [`TARGET_CANDIDATES`].
pub const RANGES_READ: usize = 20;

/// The commits one successful rollback took out of an environment: from its target
/// (exclusive) to what ran (inclusive). Kept in the lane table, one item per rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadRange {
    /// The environment's lane.
    pub lane: LaneKey,
    /// The rollback deployment that took the range out (its id keys the item).
    pub rollback: DeploymentId,
    /// The commit rolled back to (not bad).
    pub target: Sha,
    /// The commit that ran before the rollback (bad).
    pub from: Sha,
    /// The deployment that ran it.
    pub from_deployment: DeploymentId,
    /// The commits GitHub listed between `target` and `from` (`target` excluded, `from`
    /// included).
    #[serde(default)]
    pub commits: Vec<Sha>,
    /// False when GitHub cut the list short: a commit missing from `commits` may still be in
    /// the range, and is decided by ancestry.
    #[serde(default)]
    pub complete: bool,
    /// Who rolled back.
    pub by: SlackUserId,
    /// Why, as they said it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the rollback succeeded.
    pub at: Timestamp,
}

impl BadRange {
    /// The range a successful `rollback` of the lane marks: from its target to `from` (what
    /// ran), with the commits GitHub listed for `target...from` (the target itself is dropped
    /// if listed; `from` is always in).
    pub fn of(
        rollback: &Deployment,
        from: &Deployment,
        by: SlackUserId,
        reason: Option<String>,
        listed: Vec<Sha>,
        complete: bool,
        at: Timestamp,
    ) -> Self {
        let mut commits: Vec<Sha> = listed.into_iter().filter(|c| c != &rollback.sha).collect();
        if !commits.contains(&from.sha) {
            commits.push(from.sha.clone());
        }
        Self {
            lane: LaneKey {
                repository: rollback.repository.clone(),
                environment: rollback.environment.clone(),
            },
            rollback: rollback.id.clone(),
            target: rollback.sha.clone(),
            from: from.sha.clone(),
            from_deployment: from.id.clone(),
            commits,
            complete,
            by,
            reason,
            at,
        }
    }

    /// Whether GitHub listed `sha` in the range (or it is the range's end).
    pub fn lists(&self, sha: &Sha) -> bool {
        &self.from == sha || self.commits.contains(sha)
    }

    /// "`abc1234` was rolled back from production by @ana at 14:30 — the login page is blank".
    pub fn sentence(&self, sha: &Sha) -> String {
        let mut s = format!(
            "`{}` was rolled back from {} by {} at {}",
            sha.short(),
            self.lane.environment,
            self.by.mention(),
            slack_time(self.at)
        );
        if let Some(reason) = &self.reason {
            s.push_str(" — ");
            s.push_str(reason);
        }
        s
    }
}

/// Whether `sha` is bad in the environment whose rolled-back ranges are `ranges` (newest
/// first): the first range it is in, `None` when it is in none. A commit GitHub listed in a
/// range is in it; when a range's list was cut short, a commit not listed is in it when it is
/// an ancestor of (or the same as) the range's end and not of its target — a question for
/// GitHub's compare API ([`Err`]; answer it in `ancestry` and ask again). A newer commit that
/// descends from a bad one is in no range: it may carry the fix.
pub fn bad_range<'a>(
    sha: &Sha,
    ranges: &'a [BadRange],
    ancestry: &Ancestry,
) -> Result<Option<&'a BadRange>, AncestryQuestion> {
    for range in ranges {
        if &range.target == sha {
            continue;
        }
        if range.lists(sha) {
            return Ok(Some(range));
        }
        if range.complete {
            continue;
        }
        let before_end = ancestry.get(sha, &range.from).ok_or(AncestryQuestion {
            commit: sha.clone(),
            of: range.from.clone(),
        })?;
        if !before_end {
            continue;
        }
        let before_target = ancestry.get(sha, &range.target).ok_or(AncestryQuestion {
            commit: sha.clone(),
            of: range.target.clone(),
        })?;
        if !before_target {
            return Ok(Some(range));
        }
    }
    Ok(None)
}

/// What kind of wish meets a bad commit, for [`bad_commit_answer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WishKind {
    /// A push, tag or pull-request update.
    Automatic,
    /// The "Deploy to" button or `deploy <environment>`.
    Promotion,
    /// The Retry button.
    Retry,
    /// `deploy <ref> to <environment>` naming the commit.
    Manual,
}

/// What happens to a wish to deploy a bad commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadCommitAnswer {
    /// Refused, with the sentence that says why.
    Refused(String),
    /// A person named it: ask them to confirm, with this question.
    Confirm(String),
}

/// The answer to a wish of `kind` to deploy `sha`, which is bad by `range`.
pub fn bad_commit_answer(sha: &Sha, range: &BadRange, kind: WishKind) -> BadCommitAnswer {
    let env = &range.lane.environment;
    let what = range.sentence(sha);
    match kind {
        WishKind::Automatic => BadCommitAnswer::Refused(format!(
            "not deployed: {what}. deploybot deploys it to {env} again only when someone names it; a newer commit with the fix deploys as usual"
        )),
        WishKind::Promotion => BadCommitAnswer::Refused(format!(
            "Not promoted: {what}. Promote a newer commit with the fix, or deploy this one by name if you mean it."
        )),
        WishKind::Retry => BadCommitAnswer::Refused(format!(
            "Not retried: {what}. Deploy a newer commit with the fix, or deploy this one by name if you mean it."
        )),
        WishKind::Manual => BadCommitAnswer::Confirm(format!("{what}. Deploy it to {env} anyway?")),
    }
}

/// Why a rollback cannot go. Each says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RollbackRefused {
    /// The environment never deployed successfully (as far as deploybot's records go).
    #[error(
        "{environment} has no successful deployment in deploybot's records, so there is nothing to roll back."
    )]
    NothingRuns { environment: Environment },
    /// What runs is a rollback.
    #[error(
        "{environment} runs a rollback already (to `{target}`, from `{from}`, by {by}). A rollback is not rolled back: to go forward again, `{command}`."
    )]
    RollbackOfRollback {
        environment: Environment,
        target: String,
        from: String,
        by: String,
        /// The command to use instead.
        command: String,
    },
    /// No earlier successful deployment outside the rolled-back ranges.
    #[error(
        "{environment} has no earlier successful deployment to go back to in deploybot's records (it runs `{current}`). Name a commit: `{command}`."
    )]
    NoEarlierSuccess {
        environment: Environment,
        current: String,
        command: String,
    },
    /// The named commit runs already.
    #[error("{environment} runs `{sha}` already.")]
    AlreadyRuns {
        environment: Environment,
        sha: String,
    },
    /// The named commit never deployed successfully there, as far as the records kept go.
    #[error(
        "deploybot has no successful deployment of `{sha}` to {environment} in its records, so it cannot tell that it works there. {oldest}"
    )]
    NotInRecords {
        environment: Environment,
        sha: String,
        /// "The oldest it keeps is `abc1234`, deployed by … on …." or a hint.
        oldest: String,
    },
    /// The named commit was itself rolled back there.
    #[error("{sentence}; a rollback does not go back to it. Name an earlier commit.")]
    TargetIsBad { sentence: String },
}

/// The command that deploys `sha` to `environment` by name.
fn deploy_command(command: &str, sha: &str, environment: &Environment) -> String {
    format!("{command} deploy {sha} to {environment}")
}

/// The rollback command naming a target.
fn rollback_command(command: &str, environment: &Environment) -> String {
    format!("{command} rollback {environment} to <commit>")
}

/// Refuses rolling back a rollback: when what runs (`current`) is one, the answer names the
/// command that moves forward instead (`command` is the slash command, `/cimon`).
pub fn check_not_a_rollback(current: &Deployment, command: &str) -> Result<(), RollbackRefused> {
    match &current.trigger {
        Trigger::Rollback {
            slack_user,
            from_sha,
            ..
        } => Err(RollbackRefused::RollbackOfRollback {
            environment: current.environment.clone(),
            target: current.sha.short().to_owned(),
            from: from_sha.short().to_owned(),
            by: slack_user.mention(),
            command: deploy_command(command, "<ref>", &current.environment),
        }),
        _ => Ok(()),
    }
}

/// The target of `rollback <environment>` with no commit named: the most recent successful
/// deployment of the environment (`successes`, newest first) that is not the commit running
/// now and is not itself inside a rolled-back range (`ranges`, by the commits GitHub listed).
pub fn choose_target<'a>(
    current: Option<&Deployment>,
    successes: &'a [Deployment],
    ranges: &[BadRange],
    environment: &Environment,
    command: &str,
) -> Result<&'a Deployment, RollbackRefused> {
    let Some(current) = current else {
        return Err(RollbackRefused::NothingRuns {
            environment: environment.clone(),
        });
    };
    check_not_a_rollback(current, command)?;
    successes
        .iter()
        .filter(|d| &d.environment == environment && d.has_succeeded())
        .filter(|d| d.id != current.id && d.sha != current.sha)
        .filter(|d| d.id.created() <= current.id.created())
        .find(|d| !ranges.iter().any(|r| r.target != d.sha && r.lists(&d.sha)))
        .ok_or_else(|| RollbackRefused::NoEarlierSuccess {
            environment: environment.clone(),
            current: current.sha.short().to_owned(),
            command: rollback_command(command, environment),
        })
}

/// The target of `rollback <environment> to <ref>`, resolved to `sha`: its newest successful
/// deployment there among `records` (the repository's deployments of that commit). None → refused,
/// naming `oldest`, the oldest successful deployment of the environment deploybot keeps.
#[allow(clippy::too_many_arguments)]
pub fn named_target<'a>(
    current: Option<&Deployment>,
    sha: &Sha,
    records: &'a [Deployment],
    oldest: Option<&Deployment>,
    ranges: &[BadRange],
    environment: &Environment,
    command: &str,
    now: Timestamp,
) -> Result<&'a Deployment, RollbackRefused> {
    let Some(current) = current else {
        return Err(RollbackRefused::NothingRuns {
            environment: environment.clone(),
        });
    };
    check_not_a_rollback(current, command)?;
    if &current.sha == sha {
        return Err(RollbackRefused::AlreadyRuns {
            environment: environment.clone(),
            sha: sha.short().to_owned(),
        });
    }
    if let Some(range) = ranges.iter().find(|r| r.target != *sha && r.lists(sha)) {
        return Err(RollbackRefused::TargetIsBad {
            sentence: range.sentence(sha),
        });
    }
    records
        .iter()
        .filter(|d| &d.sha == sha && &d.environment == environment && d.has_succeeded())
        .max_by_key(|d| d.id.created())
        .ok_or_else(|| RollbackRefused::NotInRecords {
            environment: environment.clone(),
            sha: sha.short().to_owned(),
            oldest: match oldest {
                Some(o) => format!(
                    "The oldest it keeps is `{}`, deployed {} ({}); roll back to that or a newer one, or `{}` to ship it as a new deployment.",
                    o.sha.short(),
                    o.succeeded_at.unwrap_or(o.created_at).ago(now),
                    slack_time(o.succeeded_at.unwrap_or(o.created_at)),
                    deploy_command(command, sha.short(), environment)
                ),
                None => format!(
                    "`{}` ships it as a new deployment.",
                    deploy_command(command, sha.short(), environment)
                ),
            },
        })
}

#[cfg(test)]
mod tests;
