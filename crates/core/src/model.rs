//! The records deploybot keeps: projects, user links and deployments (how DynamoDB stores
//! them: docs/data-model.md).

use crate::{
    DeploymentId, DeploymentState, Environment, GitRef, GithubLogin, Repository, Sha,
    SlackChannelId, SlackTeamId, SlackUserId, Timestamp,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One channel bound to one repository, with the channel's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub repository: Repository,
    pub channel: SlackChannelId,
    /// The channel's name as Slack last told us (kept current by `channel_rename`).
    #[serde(default)]
    pub channel_name: Option<String>,
    #[serde(default)]
    pub team: Option<SlackTeamId>,
    #[serde(default)]
    pub settings: ProjectSettings,
    /// Who ran `setup`.
    #[serde(default)]
    pub created_by: Option<SlackUserId>,
    pub created_at: Timestamp,
    /// GitHub's numeric id of the repository (`repository.id` in webhook payloads), recorded
    /// from the first event that carries it. It survives renames and transfers, so an event
    /// under a new `owner/name` is still recognised (docs/workflow.md, "Renamed repositories").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_id: Option<u64>,
    /// The repository's workflow file as last read from its default branch; `None` until it
    /// was first read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<WorkflowRecord>,
}

/// What deploybot last read of `.github/deploybot.yml` on the default branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowRecord {
    /// The default branch's commit it was read at.
    pub commit: Sha,
    pub read_at: Timestamp,
    /// The valid file in force; `None` when the repository never had a valid one (the
    /// built-in workflow is in force).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<WorkflowText>,
    /// The invalid file the default branch holds now, if it does (the channel was told of
    /// it once: a later read of the same blob says nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<RejectedWorkflow>,
}

/// A valid workflow file, as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowText {
    /// Git's blob SHA of the file: the parsed file is cached by it.
    pub blob: String,
    /// The default branch's commit it was read at.
    pub commit: Sha,
    pub text: String,
}

/// An invalid workflow file on the default branch, and its first error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedWorkflow {
    pub blob: String,
    pub commit: Sha,
    pub line: usize,
    pub error: String,
}

/// Per-channel settings (`/cimon set ...`). `None` means "use the default".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_separator: Option<String>,
    /// Fixed host names per environment (`set url <environment> <fqdn>`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub urls: BTreeMap<Environment, String>,
}

/// Why and when a repository stopped following a channel: the last such record is kept per
/// repository, so that `setup` elsewhere can say what became of the old channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unbinding {
    pub repository: Repository,
    /// The channel the repository followed.
    pub channel: SlackChannelId,
    /// Its name as last known (for operators; replies mention the channel by id only, so a
    /// private channel's name is not shown elsewhere).
    #[serde(default)]
    pub channel_name: Option<String>,
    pub reason: UnbindReason,
    /// The Slack event that ended the binding (`channel_archive`, `group_left`, ...); none
    /// for a `reset`.
    #[serde(default)]
    pub event: Option<String>,
    pub at: Timestamp,
}

/// What ended a binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UnbindReason {
    /// The channel was archived.
    ChannelArchived,
    /// The channel was deleted.
    ChannelDeleted,
    /// deploybot was removed from the channel (or left it).
    BotRemoved,
    /// Someone ran `reset` in the channel.
    Reset { by: SlackUserId },
}

/// A GitHub login claimed by a Slack user. One login ↔ one Slack user, both ways.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserLink {
    pub github_login: GithubLogin,
    pub slack_user: SlackUserId,
    #[serde(default)]
    pub slack_name: Option<String>,
    pub linked_at: Timestamp,
}

/// What started a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// A pull request was opened, reopened or synchronised.
    PullRequest { number: u64, url: Option<String> },
    /// A push to a branch.
    Push { pusher: Option<GithubLogin> },
    /// A tag was pushed.
    Tag { pusher: Option<GithubLogin> },
    /// Someone asked in Slack (`deploy ...`, or a "Deploy to staging" button).
    Manual { slack_user: SlackUserId },
    /// The "Retry" button on a failed deployment.
    Retry {
        slack_user: SlackUserId,
        of: DeploymentId,
    },
    /// `rollback <environment>` in Slack, confirmed: a new deployment of an earlier
    /// successful commit (docs/workflow.md, "Rolling back").
    Rollback {
        slack_user: SlackUserId,
        /// The deployment that ran when the rollback was asked for.
        from: DeploymentId,
        /// Its commit.
        from_sha: Sha,
        /// The successful deployment of the target commit it goes back to.
        to: DeploymentId,
        /// Why, as the person said it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

impl Trigger {
    /// Whether this deployment is a rollback.
    pub fn is_rollback(&self) -> bool {
        matches!(self, Self::Rollback { .. })
    }
}

/// Everything known about one deployment (its states: docs/workflow.md, "Lifecycle").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub repository: Repository,
    pub id: DeploymentId,
    pub environment: Environment,
    pub git_ref: GitRef,
    pub sha: Sha,
    pub state: DeploymentState,
    /// Optimistic-concurrency counter: bumped by every successful save.
    pub version: u64,
    pub trigger: Trigger,
    /// The commit's author on GitHub, @-mentioned when linked to a Slack user.
    #[serde(default)]
    pub commit_author: Option<GithubLogin>,
    #[serde(default)]
    pub pr_number: Option<u64>,
    #[serde(default)]
    pub github_deployment_id: Option<u64>,
    #[serde(default)]
    pub pipeline_id: Option<String>,
    #[serde(default)]
    pub pipeline_number: Option<u64>,
    /// The CI that runs it (the environment's `backend` when it was asked for). `None` on
    /// records written before backends could be chosen: CircleCI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<crate::ci::CiTarget>,
    /// The CI run's attempt the record follows: a GitHub Actions re-run (`run_attempt` 2, 3,
    /// …) that reopened the deployment. `None`: the first. Events of older attempts change
    /// nothing ([`crate::ci::rerun`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_attempt: Option<u64>,
    #[serde(default)]
    pub build_url: Option<String>,
    #[serde(default)]
    pub environment_url: Option<String>,
    pub slack_channel: SlackChannelId,
    /// The `ts` of the deployment's one Slack message, once posted.
    #[serde(default)]
    pub slack_ts: Option<String>,
    /// Required contexts that were not green when GitHub refused the deployment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting_for: Vec<String>,
    /// The environment's `required_checks` as deploybot last evaluated them for this commit
    /// (docs/workflow.md, "Required checks"): `None` until evaluated (and on older records),
    /// empty when the environment requires none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_checks: Option<Vec<crate::required_checks::NamedCheck>>,
    /// A short explanation of the current state (why it failed, what superseded it).
    #[serde(default)]
    pub description: Option<String>,
    /// Its place in its lane's line: the lane's arrival counter when it was stored (0 for a
    /// record written before lanes existed). With `created_at` it orders the lane's queue.
    #[serde(default)]
    pub seq: u64,
    /// What holds it back while it is `waiting` (the lane's lock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<crate::lane::Hold>,
    /// When the deployment reached `success`; kept when it later becomes `inactive`, so "this
    /// commit deployed successfully there" stays answerable after it was superseded.
    #[serde(default)]
    pub succeeded_at: Option<Timestamp>,
    /// Whether the environment was a production one (`production: true` in the workflow)
    /// when the deployment was asked for. `None` on records written before workflow files:
    /// then the environment called `production` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production: Option<bool>,
    /// Whether the environment had `approvals:` when the deployment was asked for (its
    /// message then shows "What's shipping", for the approvers). `false` when unknown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gated: bool,
    /// Its messages besides the bound channel's: mirrors, direct messages, the failure's
    /// mention (docs/notifications.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<crate::notify::Notice>,
    /// Every state it went through after `created`, with when and why (the board's
    /// timeline); at most [`Deployment::HISTORY_KEPT`] entries, the latest kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<StateChange>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One step of a deployment's course: the state it entered, when, and why as it said then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange {
    pub at: Timestamp,
    pub state: DeploymentState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

impl Deployment {
    /// Whether this deployment went to a production environment.
    pub fn is_production(&self) -> bool {
        self.production
            .unwrap_or(self.environment == Environment::Production)
    }

    /// The CI that runs it: what was recorded, else CircleCI (older records).
    pub fn ci_target(&self) -> crate::ci::CiTarget {
        self.ci.clone().unwrap_or_default()
    }

    /// The CI run started for it, once CI started one.
    pub fn ci_run(&self) -> Option<crate::ports::CiRun> {
        self.pipeline_id.as_ref().map(|id| crate::ports::CiRun {
            backend: self.ci_target().kind(),
            repository: self.repository.clone(),
            id: id.clone(),
        })
    }

    /// Whether it waits for the environment's `required_checks` as deploybot evaluated them
    /// (some not passing yet), rather than for the checks GitHub refused it for.
    pub fn waits_for_required_checks(&self) -> bool {
        self.state == DeploymentState::WaitingForChecks
            && self.required_checks.as_ref().is_some_and(|checks| {
                checks
                    .iter()
                    .any(|c| c.state != crate::required_checks::CheckState::Passing)
            })
    }

    /// Whether the deployment succeeded: it is `success`, or it became inactive after
    /// succeeding.
    pub fn has_succeeded(&self) -> bool {
        self.state == DeploymentState::Success || self.succeeded_at.is_some()
    }

    /// A new record in `state`, version 0 (not yet saved).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        repository: Repository,
        id: DeploymentId,
        environment: Environment,
        git_ref: GitRef,
        sha: Sha,
        trigger: Trigger,
        slack_channel: SlackChannelId,
        now: Timestamp,
    ) -> Self {
        let pr_number = match &trigger {
            Trigger::PullRequest { number, .. } => Some(*number),
            _ => environment.pull_request(),
        };
        Self {
            repository,
            id,
            environment,
            git_ref,
            sha,
            state: DeploymentState::Created,
            version: 0,
            trigger,
            commit_author: None,
            pr_number,
            github_deployment_id: None,
            pipeline_id: None,
            pipeline_number: None,
            ci_attempt: None,
            ci: None,
            build_url: None,
            environment_url: None,
            slack_channel,
            slack_ts: None,
            waiting_for: Vec::new(),
            required_checks: None,
            description: None,
            seq: 0,
            hold: None,
            succeeded_at: None,
            production: None,
            gated: false,
            notices: Vec::new(),
            history: Vec::new(),
            created_at: now,
            updated_at: now,
        }
    }

    /// How many state changes a record keeps.
    pub const HISTORY_KEPT: usize = 40;

    /// Records the change from `before` to the record's state at `at` (nothing when the state
    /// did not change), keeping the latest
    /// [`Deployment::HISTORY_KEPT`].
    pub fn note_state_change(&mut self, before: DeploymentState, at: Timestamp) {
        if self.state == before {
            return;
        }
        self.history.push(StateChange {
            at,
            state: self.state,
            why: self.description.clone(),
        });
        if self.history.len() > Self::HISTORY_KEPT {
            let extra = self.history.len() - Self::HISTORY_KEPT;
            self.history.drain(..extra);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> Deployment {
        Deployment::new(
            Repository::parse("acme/web").expect("valid"),
            DeploymentId::new(Timestamp::from_secs(1_000), 1),
            Environment::Production,
            GitRef::Branch("main".into()),
            Sha::parse(&"a".repeat(40)).expect("valid"),
            Trigger::Push { pusher: None },
            SlackChannelId::parse("C0WEB").expect("valid"),
            Timestamp::from_secs(1_000),
        )
    }

    #[test]
    fn a_state_change_is_noted_with_why_and_the_latest_are_kept() {
        let mut d = deployment();
        d.note_state_change(DeploymentState::Created, Timestamp::from_secs(1_001));
        assert!(d.history.is_empty(), "no change, nothing noted");
        d.state = DeploymentState::Failure;
        d.description = Some("tests failed".into());
        d.note_state_change(DeploymentState::Created, Timestamp::from_secs(1_002));
        assert_eq!(
            d.history,
            vec![StateChange {
                at: Timestamp::from_secs(1_002),
                state: DeploymentState::Failure,
                why: Some("tests failed".into()),
            }]
        );
        for n in 0..(Deployment::HISTORY_KEPT as i64 + 5) {
            let before = d.state;
            d.state = if before == DeploymentState::Queued {
                DeploymentState::InProgress
            } else {
                DeploymentState::Queued
            };
            d.note_state_change(before, Timestamp::from_secs(2_000 + n));
        }
        assert_eq!(d.history.len(), Deployment::HISTORY_KEPT);
        assert_eq!(
            d.history.last().map(|c| c.at),
            Some(Timestamp::from_secs(
                2_000 + Deployment::HISTORY_KEPT as i64 + 4
            ))
        );
    }
}
