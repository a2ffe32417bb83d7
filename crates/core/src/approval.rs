//! Approvals: who must agree before a deployment to an environment goes out. The workflow
//! file's `approvals:` ([`ApprovalPolicy`]) names rules (users or GitHub teams, and how many
//! of them); an [`ApprovalRequest`] belongs to one commit of one lane under one version of
//! the workflow file, and collects [`Vote`]s. Everything here is pure: the caller looks up
//! who a Slack user is on GitHub (the linked login, team membership) and stores the request
//! with a conditional write on its `version`.
//!
//! Rules (docs/workflow.md, "Approvals"; docs/adr/0017-gates.md):
//!
//! - Every rule must be satisfied. Each person counts once, towards the first unsatisfied
//!   rule they are eligible for ([`ApprovalRequest::vote`]).
//! - **Self** never counts: the requester (by Slack user and by GitHub login), and with
//!   `exclude: [authors]` the authors of the commits being deployed.
//! - A rule that the eligible people left once self is excluded cannot satisfy fails the
//!   request at once, naming it ([`unsatisfiable`]).
//! - A request not satisfied by [`ApprovalRequest::expires_at`] ends expired.

use crate::lane::{IntentKind, LaneKey, slack_time};
use crate::{DeploymentId, GithubLogin, Sha, SlackUserId, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

/// How long a request waits when the file does not say (`expires_after`).
pub const DEFAULT_EXPIRES_AFTER: Duration = Duration::from_secs(24 * 3600);

/// A GitHub team, `org/team-slug` as written in the file (lower case).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Team {
    org: String,
    slug: String,
}

impl Team {
    /// `acme/qa`: an organisation and a team slug, letters, digits, `-` and `_`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let shown = crate::ids::clip(text);
        let bad = || {
            format!("`{shown}` is not a team; write it as `organisation/team-slug`, e.g. `acme/qa`")
        };
        let (org, slug) = text.trim().split_once('/').ok_or_else(bad)?;
        let ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 100
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !ok(org) || !ok(slug) {
            return Err(bad());
        }
        Ok(Self {
            org: org.to_ascii_lowercase(),
            slug: slug.to_ascii_lowercase(),
        })
    }

    /// The organisation.
    pub fn org(&self) -> &str {
        &self.org
    }

    /// The team's slug.
    pub fn slug(&self) -> &str {
        &self.slug
    }
}

impl fmt::Display for Team {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.org, self.slug)
    }
}

impl TryFrom<String> for Team {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<Team> for String {
    fn from(t: Team) -> String {
        t.to_string()
    }
}

/// One rule: `count` approvals from the people it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRule {
    /// Its name (`leads`), unique in the environment.
    pub name: String,
    /// GitHub logins that may approve for it.
    #[serde(default)]
    pub users: Vec<GithubLogin>,
    /// GitHub teams whose members may approve for it.
    #[serde(default)]
    pub teams: Vec<Team>,
    /// How many approvals it needs (at least 1).
    pub count: u32,
}

impl ApprovalRule {
    /// Whether a person with `login`, a member of `teams`, may approve for this rule.
    pub fn admits(&self, login: &GithubLogin, teams: &BTreeSet<Team>) -> bool {
        self.users.contains(login) || self.teams.iter().any(|t| teams.contains(t))
    }
}

/// Who counts as "self" and never approves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exclude {
    /// The person who asked for the deployment (always, unless the file says otherwise).
    pub requester: bool,
    /// The authors of the commits being deployed.
    pub authors: bool,
}

impl Default for Exclude {
    fn default() -> Self {
        Self {
            requester: true,
            authors: false,
        }
    }
}

/// An environment's `approvals:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalPolicy {
    /// Every rule must be satisfied.
    pub rules: Vec<ApprovalRule>,
    /// Who counts as self.
    pub exclude: Exclude,
    /// How long a request waits.
    pub expires_after: Duration,
    /// Whether eligible approvers get the buttons by direct message too.
    pub notify_approvers: bool,
}

impl ApprovalPolicy {
    /// Every team any rule names: the memberships to look up for an eligibility check.
    pub fn teams(&self) -> BTreeSet<Team> {
        self.rules.iter().flat_map(|r| r.teams.clone()).collect()
    }
}

/// Whether a deployment of `kind` needs approval where approvals are configured. A rollback
/// to a commit that deployed there successfully before goes without one (it returns to
/// something that was approved, and a rollback is urgent); everything else needs one.
pub fn needs_approval(kind: &IntentKind, target_deployed_before: bool) -> bool {
    !(matches!(kind, IntentKind::Rollback) && target_deployed_before)
}

/// Who asked for a deployment, as self-exclusion needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    /// The Slack user (who ran `deploy`, or the pusher's linked Slack user).
    pub slack: Option<SlackUserId>,
    /// Their GitHub login (linked, or the pusher's).
    pub login: Option<GithubLogin>,
}

impl Requester {
    /// "<@U…>", or "@login", or "GitHub".
    pub fn mention(&self) -> String {
        match (&self.slack, &self.login) {
            (Some(s), _) => s.mention(),
            (None, Some(l)) => format!("@{l}"),
            (None, None) => "GitHub".to_owned(),
        }
    }
}

/// One counted approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// The Slack user who pressed Approve.
    pub by: SlackUserId,
    /// Their linked GitHub login.
    pub login: GithubLogin,
    /// The rule it counts towards.
    pub rule: String,
    /// When.
    pub at: Timestamp,
}

/// Where a request is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ApprovalStatus {
    /// Collecting votes.
    Pending,
    /// Every rule is satisfied.
    Approved {
        /// When the last vote came.
        at: Timestamp,
    },
    /// Someone rejected it.
    Rejected {
        /// Who.
        by: SlackUserId,
        /// Why.
        reason: String,
        /// When.
        at: Timestamp,
    },
    /// Not satisfied in time.
    Expired {
        /// When.
        at: Timestamp,
    },
    /// A newer commit for the environment made a new request.
    Superseded {
        /// The newer commit.
        by: Sha,
    },
    /// A rule nobody eligible can satisfy.
    Unsatisfiable {
        /// The rule.
        rule: String,
        /// Why, for people.
        why: String,
    },
}

impl ApprovalStatus {
    /// The snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved { .. } => "approved",
            Self::Rejected { .. } => "rejected",
            Self::Expired { .. } => "expired",
            Self::Superseded { .. } => "superseded",
            Self::Unsatisfiable { .. } => "unsatisfiable",
        }
    }

    /// Still collecting votes.
    pub fn is_pending(&self) -> bool {
        matches!(self, Self::Pending)
    }
}

/// The identity of a request: one lane, one commit, one version of the workflow file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ApprovalKey {
    /// The lane.
    pub lane: LaneKey,
    /// The commit.
    pub sha: Sha,
    /// The workflow file's version (its blob SHA; `builtin` for none).
    pub workflow: String,
}

impl ApprovalKey {
    /// The request's storage key within its repository: `approval#production#<sha>#<blob>`.
    pub fn sort_key(&self) -> String {
        format!(
            "approval#{}#{}#{}",
            self.lane.environment, self.sha, self.workflow
        )
    }
}

/// An approval request: one commit's way into an environment that needs approvals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    /// Its identity.
    pub key: ApprovalKey,
    /// The intent (deployment) it holds in the lane.
    pub intent: DeploymentId,
    /// Who asked.
    pub requested_by: Requester,
    /// The authors of the commits being deployed (excluded with `exclude: [authors]`).
    #[serde(default)]
    pub authors: Vec<GithubLogin>,
    /// The policy it was made under (a later change of the file makes a new request).
    pub policy: ApprovalPolicy,
    /// The votes counted, in order.
    #[serde(default)]
    pub votes: Vec<Vote>,
    /// Where it is.
    pub status: ApprovalStatus,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it expires if not satisfied.
    pub expires_at: Timestamp,
    /// The Slack messages that show it (channel, ts), edited in place as votes come in.
    #[serde(default)]
    pub messages: Vec<(String, String)>,
    /// With `notify_approvers: true`: the eligible approvers with a linked Slack user (self
    /// excluded) who get a copy of the deployment's message by direct message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<SlackUserId>,
    /// Optimistic-concurrency counter: every save is conditional on it and bumps it (0: not
    /// stored yet).
    pub version: u64,
}

/// What a person who pressed Approve is, as far as eligibility goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voter {
    /// The Slack user.
    pub slack: SlackUserId,
    /// Their linked GitHub login.
    pub login: GithubLogin,
    /// The teams (of those the rules name) they are a member of, as GitHub said.
    pub teams: BTreeSet<Team>,
}

/// Why a vote changed nothing. [`fmt::Display`] is the sentence the person reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoteRefused {
    /// The requester (or an author, with `exclude: [authors]`) pressed Approve.
    #[error("You can't approve this deployment: {why}. Someone else eligible has to approve it.")]
    Self_ {
        /// "you asked for it", "you wrote a commit in it".
        why: &'static str,
    },
    /// They are not named by any rule.
    #[error("You are not an approver for {environment}: the rules are {rules}. Nothing changed.")]
    NotEligible {
        /// The environment.
        environment: String,
        /// The rules and who they name.
        rules: String,
    },
    /// The rules they can approve for are satisfied already.
    #[error(
        "The rules you can approve for ({rules}) have their approvals already; it still needs {missing}."
    )]
    Satisfied {
        /// Their rules.
        rules: String,
        /// What is missing.
        missing: String,
    },
    /// Their approval is counted already (a second press, or Slack delivering it twice).
    #[error("Your approval is counted already ({rule}).")]
    AlreadyCounted {
        /// The rule it counts towards.
        rule: String,
    },
    /// The request is not pending any more.
    #[error("This approval request is {state} already; nothing changed.")]
    Closed {
        /// Its state.
        state: &'static str,
    },
}

impl ApprovalRequest {
    /// A new pending request for `key`, holding `intent`, made at `now`.
    pub fn new(
        key: ApprovalKey,
        intent: DeploymentId,
        requested_by: Requester,
        authors: Vec<GithubLogin>,
        policy: ApprovalPolicy,
        now: Timestamp,
    ) -> Self {
        let expires_at = now
            .plus_millis(i64::try_from(policy.expires_after.as_millis()).unwrap_or(i64::MAX / 2));
        Self {
            key,
            intent,
            requested_by,
            authors,
            policy,
            votes: Vec::new(),
            status: ApprovalStatus::Pending,
            created_at: now,
            expires_at,
            messages: Vec::new(),
            notify: Vec::new(),
            version: 0,
        }
    }

    /// How many votes `rule` has.
    pub fn count_for(&self, rule: &str) -> u32 {
        u32::try_from(self.votes.iter().filter(|v| v.rule == rule).count()).unwrap_or(u32::MAX)
    }

    /// The rules still missing approvals.
    fn unsatisfied(&self) -> impl Iterator<Item = &ApprovalRule> {
        self.policy
            .rules
            .iter()
            .filter(|r| self.count_for(&r.name) < r.count)
    }

    /// Why `login`/`slack` is self, if they are.
    pub fn self_reason(&self, slack: &SlackUserId, login: &GithubLogin) -> Option<&'static str> {
        let ex = self.policy.exclude;
        if ex.requester
            && (self.requested_by.slack.as_ref() == Some(slack)
                || self.requested_by.login.as_ref() == Some(login))
        {
            return Some("you asked for it");
        }
        if ex.authors && self.authors.contains(login) {
            return Some("you wrote a commit in it");
        }
        None
    }

    /// Counts `voter`'s approval at `now`, towards the first unsatisfied rule they are
    /// eligible for; the request becomes approved when every rule is satisfied. A request
    /// past its expiry is expired first.
    pub fn vote(&mut self, voter: &Voter, now: Timestamp) -> Result<(), VoteRefused> {
        self.expire_if_due(now);
        if !self.status.is_pending() {
            return Err(VoteRefused::Closed {
                state: self.status.as_str(),
            });
        }
        if let Some(v) = self
            .votes
            .iter()
            .find(|v| v.by == voter.slack || v.login == voter.login)
        {
            return Err(VoteRefused::AlreadyCounted {
                rule: v.rule.clone(),
            });
        }
        if let Some(why) = self.self_reason(&voter.slack, &voter.login) {
            return Err(VoteRefused::Self_ { why });
        }
        let eligible: Vec<&ApprovalRule> = self
            .policy
            .rules
            .iter()
            .filter(|r| r.admits(&voter.login, &voter.teams))
            .collect();
        if eligible.is_empty() {
            return Err(VoteRefused::NotEligible {
                environment: self.key.lane.environment.to_string(),
                rules: describe_rules(&self.policy.rules),
            });
        }
        let Some(rule) = eligible
            .iter()
            .find(|r| self.count_for(&r.name) < r.count)
            .map(|r| r.name.clone())
        else {
            return Err(VoteRefused::Satisfied {
                rules: eligible
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                missing: self.progress(),
            });
        };
        self.votes.push(Vote {
            by: voter.slack.clone(),
            login: voter.login.clone(),
            rule,
            at: now,
        });
        if self.unsatisfied().next().is_none() {
            self.status = ApprovalStatus::Approved { at: now };
        }
        Ok(())
    }

    /// Rejects the request: it closes, and its deployment with it.
    pub fn reject(
        &mut self,
        by: &SlackUserId,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), VoteRefused> {
        self.expire_if_due(now);
        if !self.status.is_pending() {
            return Err(VoteRefused::Closed {
                state: self.status.as_str(),
            });
        }
        self.status = ApprovalStatus::Rejected {
            by: by.clone(),
            reason: reason.trim().to_owned(),
            at: now,
        };
        Ok(())
    }

    /// Ends a pending request whose time is up. `true` when it did.
    pub fn expire_if_due(&mut self, now: Timestamp) -> bool {
        if self.status.is_pending() && now >= self.expires_at {
            self.status = ApprovalStatus::Expired { at: now };
            return true;
        }
        false
    }

    /// "leads 0/1 · qa 0/1".
    pub fn progress(&self) -> String {
        self.policy
            .rules
            .iter()
            .map(|r| {
                format!(
                    "{} {}/{}",
                    r.name,
                    self.count_for(&r.name).min(r.count),
                    r.count
                )
            })
            .collect::<Vec<_>>()
            .join(" · ")
    }

    /// "approved by @bo (leads), @cy (qa)": for the GitHub deployment's status description.
    pub fn approved_by(&self) -> String {
        let who: Vec<String> = self
            .votes
            .iter()
            .map(|v| format!("@{} ({})", v.login, v.rule))
            .collect();
        format!("approved by {}", who.join(", "))
    }

    /// The line the deployment's message shows: "Waiting for approval — leads 0/1 · qa 0/1 —
    /// requested by @ana — expires in 3h58m", or how the request ended.
    pub fn summary(&self, now: Timestamp) -> String {
        match &self.status {
            ApprovalStatus::Pending => format!(
                "Waiting for approval — {} — requested by {} — expires in {}",
                self.progress(),
                self.requested_by.mention(),
                remaining(now, self.expires_at)
            ),
            ApprovalStatus::Approved { .. } => {
                let who: Vec<String> = self
                    .votes
                    .iter()
                    .map(|v| format!("{} ({})", v.by.mention(), v.rule))
                    .collect();
                format!("Approved by {}", who.join(", "))
            }
            ApprovalStatus::Rejected { by, reason, .. } => {
                format!("Rejected by {} — {reason}", by.mention())
            }
            ApprovalStatus::Expired { at } => format!(
                "Approval expired at {} — {}; deploy again to ask anew",
                slack_time(*at),
                self.progress()
            ),
            ApprovalStatus::Superseded { by } => format!(
                "Approval request superseded by `{}`; its approvals do not carry over",
                by.short()
            ),
            ApprovalStatus::Unsatisfiable { why, .. } => format!("Cannot be approved: {why}"),
        }
    }
}

/// "leads (@ada-l, @grace-h, 1 needed), qa (team acme/qa, 1 needed)".
fn describe_rules(rules: &[ApprovalRule]) -> String {
    rules
        .iter()
        .map(|r| {
            let mut who: Vec<String> = r.users.iter().map(|u| format!("@{u}")).collect();
            who.extend(r.teams.iter().map(|t| format!("team {t}")));
            format!("{} ({}, {} needed)", r.name, who.join(", "), r.count)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl ApprovalRequest {
    /// The lane's hold for the intent while the request is pending.
    pub fn hold(&self) -> crate::lane::Hold {
        crate::lane::Hold::Approval {
            expires_at: self.expires_at,
            progress: self.progress(),
            requested_by: self.requested_by.mention(),
            workflow: self.key.workflow.clone(),
            notify: self.notify.clone(),
        }
    }

    /// What the lane's gate makes of the request: `None` once approved (nothing holds the
    /// intent), else its hold or its end.
    pub fn gate(&self) -> Option<crate::lane::ApprovalGate> {
        use crate::lane::ApprovalGate;
        Some(match &self.status {
            ApprovalStatus::Approved { .. } => return None,
            ApprovalStatus::Pending => ApprovalGate::Pending { hold: self.hold() },
            ApprovalStatus::Rejected { by, reason, .. } => ApprovalGate::Rejected {
                why: format!("rejected by {} — {reason}", by.mention()),
            },
            ApprovalStatus::Expired { .. } => ApprovalGate::Expired {
                why: format!(
                    "nobody approved it within {} ({}); deploy again to ask anew",
                    crate::duration::format_duration(self.policy.expires_after),
                    self.progress()
                ),
            },
            ApprovalStatus::Superseded { by } => ApprovalGate::Rejected {
                why: format!("a newer commit (`{}`) asks for approval now", by.short()),
            },
            ApprovalStatus::Unsatisfiable { why, .. } => ApprovalGate::Unsatisfiable {
                why: format!("it cannot be approved: {why}"),
            },
        })
    }
}

/// "3h58m": what is left until `until`, in minutes (a minute or less shows as `1m`).
pub fn remaining(now: Timestamp, until: Timestamp) -> String {
    let secs = until.secs().saturating_sub(now.secs()).max(0);
    let minutes = (secs + 59) / 60;
    let (d, h, m) = (minutes / 1440, (minutes % 1440) / 60, minutes % 60);
    match (d, h, m) {
        (0, 0, m) => format!("{}m", m.max(1)),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h{m:02}m"),
        (d, h, _) => format!("{d}d{h}h"),
    }
}

/// The first rule that the people eligible for it, once self is excluded, cannot satisfy —
/// counting each person once across rules, as votes do. `members` holds each team's
/// members (the teams [`ApprovalPolicy::teams`] names); `excluded`, the logins that are self.
/// `None`: every rule can be satisfied.
pub fn unsatisfiable(
    policy: &ApprovalPolicy,
    members: &BTreeMap<Team, Vec<GithubLogin>>,
    excluded: &BTreeSet<GithubLogin>,
) -> Option<(String, String)> {
    // The eligible people of each rule.
    let eligible: Vec<BTreeSet<GithubLogin>> = policy
        .rules
        .iter()
        .map(|r| {
            r.users
                .iter()
                .cloned()
                .chain(
                    r.teams
                        .iter()
                        .flat_map(|t| members.get(t).cloned().unwrap_or_default()),
                )
                .filter(|l| !excluded.contains(l))
                .collect()
        })
        .collect();
    // Each rule alone first: the plainest sentence.
    for (rule, people) in policy.rules.iter().zip(&eligible) {
        let n = u32::try_from(people.len()).unwrap_or(u32::MAX);
        if n < rule.count {
            let why = format!(
                "rule `{}` needs {} approval{} and only {n} eligible {} left once the requester{} {} excluded",
                rule.name,
                rule.count,
                if rule.count == 1 { "" } else { "s" },
                if n == 1 { "person is" } else { "people are" },
                if policy.exclude.authors {
                    " and the authors"
                } else {
                    ""
                },
                if policy.exclude.authors { "are" } else { "is" },
            );
            return Some((rule.name.clone(), why));
        }
    }
    // Then together: each person fills one slot (a bipartite matching of people to the
    // rules' slots, by augmenting paths).
    let slots: Vec<usize> = policy
        .rules
        .iter()
        .enumerate()
        .flat_map(|(i, r)| std::iter::repeat_n(i, r.count as usize))
        .collect();
    let mut taken_by: BTreeMap<&GithubLogin, usize> = BTreeMap::new();
    for (slot, &rule) in slots.iter().enumerate() {
        let mut seen = BTreeSet::new();
        if !augment(slot, rule, &slots, &eligible, &mut taken_by, &mut seen) {
            let r = &policy.rules[rule];
            let why = format!(
                "rule `{}` needs {} approval{} from people the other rules do not already need; each person counts once",
                r.name,
                r.count,
                if r.count == 1 { "" } else { "s" }
            );
            return Some((r.name.clone(), why));
        }
    }
    None
}

fn augment<'p>(
    slot: usize,
    rule: usize,
    slots: &[usize],
    eligible: &'p [BTreeSet<GithubLogin>],
    taken_by: &mut BTreeMap<&'p GithubLogin, usize>,
    seen: &mut BTreeSet<&'p GithubLogin>,
) -> bool {
    for person in &eligible[rule] {
        if !seen.insert(person) {
            continue;
        }
        let free = match taken_by.get(person).copied() {
            None => true,
            Some(other) => augment(other, slots[other], slots, eligible, taken_by, seen),
        };
        if free {
            taken_by.insert(person, slot);
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests;
