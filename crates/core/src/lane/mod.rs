//! Lanes: one deployment at a time per (repository, environment), a queue that loses nothing,
//! locks and a watchdog — the pure model and its decisions. No I/O here: the caller reads a
//! [`LaneSnapshot`], asks [`decide`] what to do about an event, and applies the returned
//! [`Effect`]s with conditional writes.
//!
//! # The model
//!
//! Each (repository, environment) is a **lane** ([`LaneKey`]). Every deployment wish — a
//! push, a pull-request update, a tag, a manual `deploy`, a promotion, a retry, later a
//! rollback — is an [`Intent`] in its lane, with a [`SourceKey`] (the same branch's pushes,
//! the same pull request, the same tag, or one person's manual deploys are one source), its
//! commit and ref, who asked, and its place in the lane's order ([`Intent::order`]).
//!
//! ```text
//!            new intent
//!                │
//!                ▼
//!   ┌──────► queued ◄──────────────┐         superseded  (a newer intent of its source
//!   │            │  ▲              │            ▲          came while it was pending)
//!   │  held by a │  │ hold gone    │            │
//!   │  lock      ▼  │ (unlock,     │   pending ─┤         skipped     (older than what the
//!   │       waiting(why)  expiry,  │   (waiting │                      lane runs from its
//!   │       lock | checks  checks  │   or       ├──────►               source, and an
//!   │            │        green)   │   queued)  │                      ancestor of it)
//!   │ checks     │ checks red      │            │         cancelled   (by a person, or its
//!   │ pending at │ ──► failure     │            │                      pull request closed)
//!   │ dispatch   ▼                 │            └──────►  expired     (waited for checks
//!   │     (lane free, first in     │                                   too long)
//!   │      order, nothing holds)   │
//!   │            │                 │
//!   └── dispatched ── CI says ──► in_progress ──► success | failure | error
//!        (the lane's one slot)                    (the slot is freed; the lane drains)
//! ```
//!
//! Rules ([`decide`] implements them; `docs/workflow.md`, "Lanes", tells them for people):
//!
//! - **One dispatched deployment per lane.** [`LaneSnapshot::running`] is the lane's slot;
//!   [`Effect::Dispatch`] fills it and is applied as a conditional write on the lane record.
//! - **Newest wins per source.** Among pending intents (waiting or queued), only the newest of
//!   each source survives; the others are [`Effect::Supersede`]d by it. A dispatched
//!   deployment is never superseded: it finishes, then the newest pending intent goes.
//! - **Different sources keep their order**: the first pending intent, in [`Intent::order`],
//!   that nothing holds is dispatched; held intents do not block the ones behind them.
//! - **Never backwards by accident.** At dispatch, an intent that is older than what the lane
//!   runs ([`LaneSnapshot::current`]) from the same source, and whose commit is an ancestor of
//!   (or equal to) what runs, is [`Effect::Skip`]ped as outdated. Whether a commit is an
//!   ancestor is GitHub's answer (the compare API): [`decide`] asks for it with
//!   [`Decision::Ask`] and the caller supplies it through [`Ancestry`]. A *newer* intent
//!   that moves backwards on purpose deploys. [`check_retry`] refuses a retry of a failure
//!   that a newer success replaced.
//! - **Revalidate at dispatch.** A lock is checked by every drain (an intent it holds waits,
//!   one it no longer holds is queued); required checks are GitHub's to enforce when the
//!   deployment is created at dispatch ([`LaneEvent::DispatchRefused`] parks the intent).
//! - **Draining is idempotent**: the decision is a function of the snapshot, the event and
//!   the ancestry answers. Two drains of the same snapshot decide the same single dispatch;
//!   the conditional write lets one of them apply it.

pub mod decide;
/// Durations (`2h`, `1h30m`): the crate's one reader and writer of them.
pub use crate::duration;
pub mod lock;
pub mod record;
pub mod watchdog;

pub use decide::{
    Ancestry, AncestryQuestion, ApprovalGate, ChecksResult, Decision, DispatchRefusal, Effect,
    Gates, LaneEvent, LockEnd, Notice, RetryRefused, check_retry, decide, decide_gated,
};
pub use duration::{DurationError, format_duration, parse_duration};
pub use lock::{Lock, LockError};
pub use record::{LaneRecord, LockHistoryEntry, LockHistoryEvent};
pub use watchdog::{CiReport, InFlight, Reconciliation, WatchdogAction, WatchdogConfig};

use crate::{
    DeploymentId, Environment, GitRef, GithubLogin, Repository, Sha, SlackUserId, Timestamp,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A lane: one repository's one environment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LaneKey {
    /// The repository.
    pub repository: Repository,
    /// The environment.
    pub environment: Environment,
}

impl LaneKey {
    /// The lane's storage key, `acme/web#staging` (the same shape as the deployment table's
    /// `idx_repository_environment`).
    pub fn as_key(&self) -> String {
        format!("{}#{}", self.repository, self.environment)
    }
}

impl fmt::Display for LaneKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.repository, self.environment)
    }
}

/// Where intents come from, for "newest wins per source": a newer intent of a source
/// supersedes that source's older pending ones.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum SourceKey {
    /// Pushes to one branch.
    Branch(String),
    /// One pull request's updates.
    PullRequest(u64),
    /// Pushes of one tag (a tag moved by force is the same source).
    Tag(String),
    /// One person's manual deploys, promotions, retries and rollbacks to the lane.
    Person(SlackUserId),
}

impl SourceKey {
    /// The source of an intent of `kind` for `git_ref`, asked by `requested_by`: pushes and
    /// tags by their ref, pull-request updates by their number, everything a person asks by
    /// that person. `None` when the pieces do not fit (a pull-request intent without its
    /// number, a manual intent without a person).
    pub fn of(
        kind: &IntentKind,
        git_ref: &GitRef,
        requested_by: &Requester,
        pull_request: Option<u64>,
    ) -> Option<SourceKey> {
        match kind {
            IntentKind::Push => Some(Self::Branch(git_ref.short_name().to_owned())),
            IntentKind::Tag => Some(Self::Tag(git_ref.short_name().to_owned())),
            IntentKind::PullRequest => pull_request.map(Self::PullRequest),
            _ => requested_by.person().cloned().map(Self::Person),
        }
    }
}

/// What kind of wish an intent is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IntentKind {
    /// A push to a branch.
    Push,
    /// A pull request opened, reopened or updated.
    PullRequest,
    /// A tag pushed.
    Tag,
    /// `deploy …` in Slack.
    Manual,
    /// The "Deploy to staging" button (or `deploy staging`).
    Promotion,
    /// The Retry button on a deployment that failed.
    Retry {
        /// The deployment retried.
        of: DeploymentId,
    },
    /// A rollback (a later issue).
    Rollback,
}

impl IntentKind {
    /// Whether a freeze holds intents of this kind in the lane. Automatic ones wait for the
    /// freeze to end; what a person asked for was let in at the door (a manual deploy into a
    /// frozen environment is refused there unless overridden), and a rollback passes a
    /// freeze by design. The one place the lane's gate asks.
    pub fn waits_for_freeze(&self) -> bool {
        self.is_automatic()
    }
}

impl IntentKind {
    /// Pushes, pull-request updates and tags: nobody asked in Slack.
    pub fn is_automatic(&self) -> bool {
        matches!(self, Self::Push | Self::PullRequest | Self::Tag)
    }

    /// A person asked for it.
    pub fn is_manual(&self) -> bool {
        !self.is_automatic()
    }

    /// The plural noun for counting intents of this kind: "3 pushes", "2 deploys".
    pub fn plural(&self) -> &'static str {
        match self {
            Self::Push => "pushes",
            Self::PullRequest => "pull-request updates",
            Self::Tag => "tag pushes",
            Self::Manual | Self::Promotion | Self::Rollback => "deploys",
            Self::Retry { .. } => "retries",
        }
    }
}

/// Who asked for an intent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Requester {
    /// A person in Slack.
    Person(SlackUserId),
    /// GitHub, on behalf of a pusher when known.
    GitHub(Option<GithubLogin>),
}

impl Requester {
    /// The Slack user, when a person asked.
    pub fn person(&self) -> Option<&SlackUserId> {
        match self {
            Self::Person(p) => Some(p),
            Self::GitHub(_) => None,
        }
    }
}

/// One deployment wish in a lane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// Its id; the same id becomes the deployment's when it is dispatched.
    pub id: DeploymentId,
    /// The source it belongs to.
    pub source: SourceKey,
    /// What kind of wish.
    pub kind: IntentKind,
    /// Who asked.
    pub requested_by: Requester,
    /// The ref to deploy.
    pub git_ref: GitRef,
    /// The commit to deploy.
    pub sha: Sha,
    /// When the wish was made, as its source tells it (a push's time on GitHub, the moment a
    /// command arrived). The first part of [`Intent::order`].
    pub created_at: Timestamp,
    /// The lane's arrival counter, assigned by the store when the intent is inserted (one
    /// conditional increment of the lane record). Breaks ties between equal `created_at`s.
    pub seq: u64,
    /// Where it is.
    pub status: IntentStatus,
}

impl Intent {
    /// The intent's place in the lane: `(created_at, seq)`. Older first. Used both for the
    /// queue (different sources keep this order) and for "newer" within a source.
    pub fn order(&self) -> (Timestamp, u64) {
        (self.created_at, self.seq)
    }

    /// Whether `self` came after `other` in the lane's order.
    pub fn is_newer_than(&self, other: &Intent) -> bool {
        self.order() > other.order()
    }

    /// The commit as people read it: `def4567`.
    pub fn short_sha(&self) -> &str {
        self.sha.short()
    }

    /// With `queue: { running: cancel }`: whether this intent, just stored, cancels the
    /// lane's running deployment `running` so that it goes at once. Only automatic
    /// deployments of one source replace each other this way (a newer push of the branch,
    /// update of the pull request, push of the tag); what a person asked for is never
    /// cancelled by anything but a person, and a rollback never by a push.
    pub fn cancels_running(&self, running: &Intent) -> bool {
        self.kind.is_automatic()
            && running.kind.is_automatic()
            && self.source == running.source
            && self.id != running.id
            && self.is_newer_than(running)
            && self.status.state().is_pending()
            && running.status.state().is_running()
    }
}

/// An intent's state, without its details: what indexes and conditions compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LaneState {
    /// Held back: a lock, required checks (later: approval, a freeze).
    Waiting,
    /// Ready, waiting for the lane's slot.
    Queued,
    /// Holds the lane's slot: the GitHub deployment exists and CI was asked to run it.
    Dispatched,
    /// CI says its work is running.
    InProgress,
    /// Deployed.
    Success,
    /// CI ran it and it failed (or its checks failed).
    Failure,
    /// Something around it broke (GitHub, CI unreachable, unknown to CI).
    Error,
    /// A newer intent of its source replaced it before it ran.
    Superseded,
    /// A person cancelled it, or its pull request closed.
    Cancelled,
    /// It waited too long.
    Expired,
    /// It would have taken the lane backwards by accident.
    Skipped,
}

impl LaneState {
    /// Every state.
    pub const ALL: [LaneState; 11] = [
        Self::Waiting,
        Self::Queued,
        Self::Dispatched,
        Self::InProgress,
        Self::Success,
        Self::Failure,
        Self::Error,
        Self::Superseded,
        Self::Cancelled,
        Self::Expired,
        Self::Skipped,
    ];

    /// Waiting or queued: in the lane's queue.
    pub fn is_pending(self) -> bool {
        matches!(self, Self::Waiting | Self::Queued)
    }

    /// Dispatched or in progress: holds the lane's slot.
    pub fn is_running(self) -> bool {
        matches!(self, Self::Dispatched | Self::InProgress)
    }

    /// Final.
    pub fn is_terminal(self) -> bool {
        !self.is_pending() && !self.is_running()
    }

    /// The snake_case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Queued => "queued",
            Self::Dispatched => "dispatched",
            Self::InProgress => "in_progress",
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Error => "error",
            Self::Superseded => "superseded",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
            Self::Skipped => "skipped",
        }
    }

    /// Whether `self → to` is a move the model makes. Pending intents move among
    /// themselves, to dispatch, or to an end of their own; a dispatched one may go back to
    /// waiting (GitHub refused it: checks pending) or on to in progress and an outcome;
    /// terminal states are final.
    pub fn can_become(self, to: LaneState) -> bool {
        use LaneState::*;
        matches!(
            (self, to),
            (Waiting, Queued | Waiting | Dispatched | Failure)
                | (Queued, Waiting | Dispatched)
                | (Waiting | Queued, Superseded | Cancelled | Expired | Skipped)
                | (Dispatched, Waiting | InProgress | Success | Failure | Error)
                | (InProgress, Success | Failure | Error)
        )
    }
}

impl fmt::Display for LaneState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What holds a waiting intent back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Hold {
    /// The lane is locked (a copy of the lock as it was when the intent started waiting, so
    /// its message can say by whom, until when and why).
    Lock {
        /// The holder.
        holder: SlackUserId,
        /// The lock's expiry.
        until: Timestamp,
        /// The holder's reason.
        #[serde(default)]
        reason: Option<String>,
    },
    /// GitHub refused the deployment: these required checks are not green yet.
    Checks {
        /// The contexts still pending.
        contexts: Vec<String>,
        /// Since when it waits (for the checks timeout).
        since: Timestamp,
    },
    /// The environment is frozen (a copy of the freeze as it was when the intent started
    /// waiting): automatic deployments wait for its end.
    Freeze {
        /// The window's name.
        window: String,
        /// When it ends.
        until: Timestamp,
        /// Its reason.
        #[serde(default)]
        reason: Option<String>,
    },
    /// The environment needs approvals (`crate::approval`) and the intent's request is not
    /// satisfied yet.
    Approval {
        /// When the request expires.
        expires_at: Timestamp,
        /// Each rule's count, "leads 0/1 · qa 0/1".
        progress: String,
        /// Who asked, for people ("<@U…>", "@login").
        requested_by: String,
        /// The workflow-file version the request was made under (its key's last part).
        workflow: String,
        /// The approvers sent a copy of the message by direct message (`notify_approvers`):
        /// the eligible people with a linked Slack user, self excluded.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notify: Vec<SlackUserId>,
    },
}

impl Hold {
    /// The hold a lock puts on intents.
    pub fn from_lock(lock: &Lock) -> Self {
        Self::Lock {
            holder: lock.holder.clone(),
            until: lock.until,
            reason: lock.reason.clone(),
        }
    }

    /// "waiting: staging is locked by @ana until 14:30 — testing the migration".
    pub fn sentence(&self, environment: &Environment) -> String {
        match self {
            Self::Lock {
                holder,
                until,
                reason,
            } => {
                let mut s = format!(
                    "waiting: {environment} is locked by {} until {}",
                    holder.mention(),
                    slack_time(*until)
                );
                if let Some(r) = reason {
                    s.push_str(" — ");
                    s.push_str(r);
                }
                s
            }
            Self::Checks { contexts, .. } if contexts.is_empty() => {
                "waiting for the commit's required checks".to_owned()
            }
            Self::Checks { contexts, .. } => {
                let list: Vec<String> = contexts.iter().map(|c| format!("`{c}`")).collect();
                format!("waiting for checks: {}", list.join(", "))
            }
            Self::Freeze {
                window,
                until,
                reason,
            } => {
                let mut s = format!(
                    "waiting: {environment} is frozen until {} ({window}",
                    slack_date_time(*until)
                );
                if let Some(r) = reason {
                    s.push_str(" — ");
                    s.push_str(r);
                }
                s.push_str("); it deploys when the freeze ends");
                s
            }
            Self::Approval {
                expires_at,
                progress,
                requested_by,
                ..
            } => format!(
                "Waiting for approval — {progress} — requested by {requested_by} — expires {}",
                slack_date_time(*expires_at)
            ),
        }
    }

    /// The hold a freeze puts on automatic intents.
    pub fn from_freeze(frozen: &crate::freeze::Frozen) -> Self {
        Self::Freeze {
            window: frozen.name.clone(),
            until: frozen.until,
            reason: frozen.reason.clone(),
        }
    }
}

/// Why an intent was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SkipReason {
    /// It is older than what the lane runs from its source, and its commit is an ancestor of
    /// (or the same as) what runs.
    Outdated {
        /// The deployment the lane runs.
        running: DeploymentId,
        /// Its commit.
        running_sha: Sha,
    },
    /// Its commit was rolled back from the environment (`crate::rollback`).
    RolledBack {
        /// Why, for people: who rolled it back, when, and what to do instead.
        sentence: String,
    },
}

impl SkipReason {
    /// "skipped: `abc1234` is older than `def4567`, which staging already runs".
    pub fn sentence(&self, skipped: &Sha, environment: &Environment) -> String {
        match self {
            Self::Outdated { running_sha, .. } if running_sha == skipped => format!(
                "skipped: {environment} already runs `{}` from a newer deployment",
                skipped.short()
            ),
            Self::Outdated { running_sha, .. } => format!(
                "skipped: `{}` is older than `{}`, which {environment} already runs; deploy it by name if you mean to go back",
                skipped.short(),
                running_sha.short()
            ),
            Self::RolledBack { sentence } => sentence.clone(),
        }
    }
}

/// How a dispatched deployment ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// Deployed.
    Success,
    /// CI ran it and it failed.
    Failure {
        /// A sentence for people.
        why: String,
    },
    /// It could not run, or nobody knows what happened.
    Error {
        /// A sentence for people.
        why: String,
    },
}

impl Outcome {
    /// The state it leaves the deployment in.
    pub fn state(&self) -> LaneState {
        match self {
            Self::Success => LaneState::Success,
            Self::Failure { .. } => LaneState::Failure,
            Self::Error { .. } => LaneState::Error,
        }
    }
}

/// An intent's state with its details: why it waits, what superseded it, why it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum IntentStatus {
    /// Held back.
    Waiting {
        /// By what.
        hold: Hold,
    },
    /// Ready for the slot.
    Queued,
    /// Holds the slot.
    Dispatched {
        /// When it was dispatched (the watchdog counts from here).
        at: Timestamp,
    },
    /// CI runs it.
    InProgress {
        /// When it was dispatched.
        at: Timestamp,
    },
    /// Deployed.
    Success,
    /// Failed.
    Failure {
        /// Why.
        why: String,
    },
    /// Errored.
    Error {
        /// Why.
        why: String,
    },
    /// Replaced by a newer intent of its source.
    Superseded {
        /// The newer intent.
        by: DeploymentId,
        /// Its commit.
        by_sha: Sha,
    },
    /// Cancelled.
    Cancelled {
        /// Why, for people.
        why: String,
    },
    /// Waited too long.
    Expired {
        /// Why, for people.
        why: String,
    },
    /// Would have gone backwards by accident.
    Skipped {
        /// Why.
        why: SkipReason,
    },
}

impl IntentStatus {
    /// The state without details.
    pub fn state(&self) -> LaneState {
        match self {
            Self::Waiting { .. } => LaneState::Waiting,
            Self::Queued => LaneState::Queued,
            Self::Dispatched { .. } => LaneState::Dispatched,
            Self::InProgress { .. } => LaneState::InProgress,
            Self::Success => LaneState::Success,
            Self::Failure { .. } => LaneState::Failure,
            Self::Error { .. } => LaneState::Error,
            Self::Superseded { .. } => LaneState::Superseded,
            Self::Cancelled { .. } => LaneState::Cancelled,
            Self::Expired { .. } => LaneState::Expired,
            Self::Skipped { .. } => LaneState::Skipped,
        }
    }

    /// When it was dispatched, while it holds the lane's slot.
    pub fn dispatched_at(&self) -> Option<Timestamp> {
        match self {
            Self::Dispatched { at } | Self::InProgress { at } => Some(*at),
            _ => None,
        }
    }

    /// The status as a sentence for the intent's message, e.g. "superseded by `def4567`".
    pub fn sentence(&self, sha: &Sha, environment: &Environment) -> String {
        match self {
            Self::Waiting { hold } => hold.sentence(environment),
            Self::Queued => format!("queued for {environment}"),
            Self::Dispatched { .. } => format!("deploying to {environment}"),
            Self::InProgress { .. } => format!("deploying to {environment}: in progress"),
            Self::Success => format!("deployed to {environment}"),
            Self::Failure { why } => format!("failed: {why}"),
            Self::Error { why } => format!("error: {why}"),
            Self::Superseded { by_sha, .. } => format!("superseded by `{}`", by_sha.short()),
            Self::Cancelled { why } => format!("cancelled: {why}"),
            Self::Expired { why } => format!("expired: {why}"),
            Self::Skipped { why } => why.sentence(sha, environment),
        }
    }
}

/// What a decision needs to know about one lane, read by the caller in one go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneSnapshot {
    /// The lane.
    pub lane: LaneKey,
    /// The lane record's version as read; every write of the lane record (slot, lock) is
    /// conditional on it.
    pub version: u64,
    /// The slot: the dispatched or in-progress deployment, if any.
    pub running: Option<Intent>,
    /// The waiting and queued intents, in any order ([`decide`] sorts them by
    /// [`Intent::order`]; anything else in here is ignored).
    pub pending: Vec<Intent>,
    /// What the lane runs: its newest successful deployment, if any.
    pub current: Option<Intent>,
    /// The lock, if any (possibly expired: [`decide`] releases it).
    pub lock: Option<Lock>,
    /// The environment's rolled-back ranges, newest first (`crate::rollback::BadRange`):
    /// an automatic deployment, promotion or retry of a commit in one is skipped.
    pub bad: Vec<crate::rollback::BadRange>,
    /// The time of the decision.
    pub now: Timestamp,
}

/// A time in Slack's date markup, shown in each reader's own time zone, with a UTC fallback:
/// `<!date^1718289000^{time}|14:30 UTC>`.
pub fn slack_time(at: Timestamp) -> String {
    let secs = at.secs();
    let of_day = secs.rem_euclid(86_400);
    format!(
        "<!date^{secs}^{{time}}|{:02}:{:02} UTC>",
        of_day / 3600,
        (of_day % 3600) / 60
    )
}

/// A date and time in Slack's date markup, for times that may be days away:
/// `<!date^1718289000^{date_short_pretty} {time}|2024-06-13 14:30 UTC>`.
pub fn slack_date_time(at: Timestamp) -> String {
    let secs = at.secs();
    let fallback = jiff::Timestamp::from_second(secs)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| format!("{secs}"));
    format!("<!date^{secs}^{{date_short_pretty}} {{time}}|{fallback}>")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A commit whose SHA starts with `hex` (padded with zeros).
    pub(crate) fn sha(hex: &str) -> Sha {
        Sha::parse(&format!("{hex:0<40}")).expect("hex")
    }

    pub(crate) fn id(seq: u64) -> DeploymentId {
        DeploymentId::new(Timestamp::from_secs(1_000 + seq as i64), seq as u32)
    }

    fn intent(
        seq: u64,
        source: SourceKey,
        kind: IntentKind,
        by: Requester,
        r: GitRef,
        hex: &str,
    ) -> Intent {
        Intent {
            id: id(seq),
            source,
            kind,
            requested_by: by,
            git_ref: r,
            sha: sha(hex),
            created_at: Timestamp::from_secs(1_000 + seq as i64),
            seq,
            status: IntentStatus::Queued,
        }
    }

    /// A push to `branch` at a commit starting with `hex`, `seq`-th in the lane.
    pub(crate) fn push(seq: u64, branch: &str, hex: &str) -> Intent {
        intent(
            seq,
            SourceKey::Branch(branch.into()),
            IntentKind::Push,
            Requester::GitHub(None),
            GitRef::Branch(branch.into()),
            hex,
        )
    }

    /// A manual deploy by Slack user `user` of a commit starting with `hex`.
    pub(crate) fn manual(seq: u64, user: &str, hex: &str) -> Intent {
        let person = SlackUserId::parse(user).expect("valid");
        intent(
            seq,
            SourceKey::Person(person.clone()),
            IntentKind::Manual,
            Requester::Person(person),
            GitRef::Name(format!("{hex:0<40}")),
            hex,
        )
    }

    #[test]
    fn states_partition_and_round_trip() {
        for s in LaneState::ALL {
            let kinds = [s.is_pending(), s.is_running(), s.is_terminal()];
            assert_eq!(kinds.iter().filter(|k| **k).count(), 1, "{s}");
            let json = serde_json::to_string(&s).expect("serialises");
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            if s.is_terminal() {
                assert!(
                    LaneState::ALL.iter().all(|t| !s.can_become(*t)),
                    "{s} is final"
                );
            }
        }
        use LaneState::*;
        let allowed = [
            (Waiting, Queued),
            (Waiting, Dispatched),
            (Queued, Dispatched),
            (Queued, Superseded),
            (Dispatched, Waiting),
            (Dispatched, InProgress),
            (InProgress, Success),
            (Dispatched, Error),
        ];
        for (from, to) in allowed {
            assert!(from.can_become(to), "{from} -> {to}");
        }
        let refused = [
            (Queued, InProgress),
            (InProgress, Queued),
            (InProgress, Superseded),
            (Dispatched, Superseded),
            (Success, Queued),
            (Queued, Success),
        ];
        for (from, to) in refused {
            assert!(!from.can_become(to), "{from} -> {to}");
        }
    }

    #[test]
    fn a_newer_automatic_intent_of_the_same_source_cancels_the_running_one() {
        let at = Timestamp::from_secs(1_000);
        let running = |mut i: Intent| {
            i.status = IntentStatus::InProgress { at };
            i
        };
        let dispatched = |mut i: Intent| {
            i.status = IntentStatus::Dispatched { at };
            i
        };
        let succeeded = |mut i: Intent| {
            i.status = IntentStatus::Success;
            i
        };
        let pr = |seq: u64, number: u64, hex: &str| {
            let mut i = push(seq, "topic", hex);
            i.kind = IntentKind::PullRequest;
            i.source = SourceKey::PullRequest(number);
            i
        };
        let mut rollback = manual(1, "U0ANA", "a");
        rollback.kind = IntentKind::Rollback;
        // (arrived, running, cancels)
        let rows: Vec<(Intent, Intent, bool)> = vec![
            (push(2, "main", "b"), running(push(1, "main", "a")), true),
            (push(2, "main", "b"), dispatched(push(1, "main", "a")), true),
            (pr(2, 42, "b"), running(pr(1, 42, "a")), true),
            // Another source: it waits its turn.
            (pr(2, 43, "b"), running(pr(1, 42, "a")), false),
            (
                push(2, "develop", "b"),
                running(push(1, "main", "a")),
                false,
            ),
            // Older than what runs (a late delivery): never.
            (push(1, "main", "a"), running(push(2, "main", "b")), false),
            // What runs ended already.
            (push(2, "main", "b"), succeeded(push(1, "main", "a")), false),
            // A person's deploys are not cancelled by a push, nor cancel one by arriving.
            (
                push(2, "main", "b"),
                running(manual(1, "U0ANA", "a")),
                false,
            ),
            (
                manual(2, "U0ANA", "b"),
                running(manual(1, "U0ANA", "a")),
                false,
            ),
            (push(2, "main", "b"), running(rollback), false),
            // Itself.
            (
                running(push(1, "main", "a")),
                running(push(1, "main", "a")),
                false,
            ),
        ];
        for (arrived, running, cancels) in rows {
            assert_eq!(
                arrived.cancels_running(&running),
                cancels,
                "{arrived:?} / {running:?}"
            );
        }
    }

    #[test]
    fn order_is_time_then_arrival() {
        let a = push(1, "main", "a");
        let mut b = push(2, "main", "b");
        assert!(b.is_newer_than(&a));
        // A push made earlier but delivered later is older.
        b.created_at = Timestamp::from_secs(900);
        assert!(a.is_newer_than(&b));
        // Equal times: arrival decides.
        b.created_at = a.created_at;
        assert!(b.is_newer_than(&a));
    }

    #[test]
    fn sources_of_each_kind() {
        let ana = Requester::Person(SlackUserId::parse("UANA").expect("valid"));
        let gh = Requester::GitHub(None);
        let main = GitRef::Branch("main".into());
        let v1 = GitRef::Tag("v1".into());
        let cases = [
            (
                IntentKind::Push,
                &main,
                &gh,
                None,
                Some(SourceKey::Branch("main".into())),
            ),
            (
                IntentKind::Tag,
                &v1,
                &gh,
                None,
                Some(SourceKey::Tag("v1".into())),
            ),
            (
                IntentKind::PullRequest,
                &main,
                &gh,
                Some(4),
                Some(SourceKey::PullRequest(4)),
            ),
            (IntentKind::PullRequest, &main, &gh, None, None),
            (
                IntentKind::Manual,
                &main,
                &ana,
                None,
                ana.person().cloned().map(SourceKey::Person),
            ),
            (
                IntentKind::Promotion,
                &main,
                &ana,
                None,
                ana.person().cloned().map(SourceKey::Person),
            ),
            (IntentKind::Manual, &main, &gh, None, None),
        ];
        for (kind, r, by, pr, want) in cases {
            assert_eq!(SourceKey::of(&kind, r, by, pr), want, "{kind:?}");
        }
    }

    #[test]
    fn sentences_for_people() {
        let env = Environment::Staging;
        let hold = Hold::Lock {
            holder: SlackUserId::parse("UANA").expect("valid"),
            until: Timestamp::from_secs(86_400 + 14 * 3600 + 30 * 60),
            reason: Some("testing the migration".into()),
        };
        assert_eq!(
            hold.sentence(&env),
            "waiting: staging is locked by <@UANA> until <!date^138600^{time}|14:30 UTC> — testing the migration"
        );
        let checks = Hold::Checks {
            contexts: vec!["ci/test".into()],
            since: Timestamp::from_secs(0),
        };
        assert_eq!(checks.sentence(&env), "waiting for checks: `ci/test`");
        let s = IntentStatus::Superseded {
            by: id(2),
            by_sha: sha("def4567"),
        };
        assert_eq!(s.sentence(&sha("abc"), &env), "superseded by `def4567`");
        let skip = SkipReason::Outdated {
            running: id(3),
            running_sha: sha("def4567"),
        };
        assert!(
            skip.sentence(&sha("abc1234"), &env).starts_with(
                "skipped: `abc1234` is older than `def4567`, which staging already runs"
            )
        );
        assert_eq!(
            LaneKey {
                repository: Repository::parse("acme/web").expect("valid"),
                environment: env
            }
            .as_key(),
            "acme/web#staging"
        );
    }
}
