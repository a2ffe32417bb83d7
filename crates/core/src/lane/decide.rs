//! The lane's decisions: given a [`LaneSnapshot`], a [`LaneEvent`] and the ancestry answers
//! known so far, [`decide`] returns the [`Effect`]s to apply — or asks one ancestry question
//! first. Pure: the same inputs always give the same decision.
//!
//! # Applying a decision
//!
//! Effects are listed in the order to apply them. Each one changes one record:
//!
//! - effects with [`Effect::writes_lane`] change the lane record (its slot, its lock) and are
//!   written on the condition that the lane's version is still [`LaneSnapshot::version`];
//!   the first such write bumps the version, so the caller writes all of them in one
//!   conditional update (or a transaction with the intent writes). When that condition
//!   fails, another decision got there first: drop the rest, read the lane again and decide
//!   again. That is how two drains of one snapshot end with one dispatch.
//! - the others change one intent ([`Effect::intent`]) to [`Effect::new_state`], on the
//!   condition that the intent is still as the snapshot showed it (its version). A failed
//!   condition means someone else moved it: skip it and drain again.
//! - [`Effect::Notify`] is a message; send it after the writes succeed.
//!
//! Work outside the store follows the writes: after [`Effect::Dispatch`], create the GitHub
//! deployment and start CI (a refusal comes back as [`LaneEvent::DispatchRefused`]); after a
//! change of an intent's state, edit its Slack message with [`IntentStatus::sentence`].

use super::duration::{format_duration, millis};
use super::{
    Environment, Hold, Intent, IntentKind, IntentStatus, LaneSnapshot, LaneState, Lock, Outcome,
    SkipReason, SourceKey, slack_time,
};
use crate::{DeploymentId, GitRef, Sha, SlackUserId, Timestamp};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Something that happened to a lane.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LaneEvent {
    /// Nothing beyond what the snapshot shows: a new intent was stored (queued), or a drain
    /// is wanted for any other reason.
    Drain,
    /// CI says the dispatched deployment's work is running.
    Started {
        /// The deployment.
        intent: DeploymentId,
    },
    /// The dispatched deployment finished (a CI webhook, or the watchdog's reconcile).
    Finished {
        /// The deployment.
        intent: DeploymentId,
        /// How it ended.
        outcome: Outcome,
    },
    /// Dispatch did not go through: GitHub refused to create the deployment, or CI could not
    /// be started.
    DispatchRefused {
        /// The dispatched intent.
        intent: DeploymentId,
        /// Why.
        refusal: DispatchRefusal,
    },
    /// A commit's required checks changed (a `status` or `check_suite` event).
    ChecksChanged {
        /// The commit.
        sha: Sha,
        /// Their result now.
        result: ChecksResult,
    },
    /// `lock <environment> [for <duration>] [<reason…>]`.
    Lock {
        /// Who asks.
        by: SlackUserId,
        /// For how long, when said.
        duration: Option<Duration>,
        /// Why, when said.
        reason: Option<String>,
        /// Whether the environment is a production one (its lock is shorter by default).
        production: bool,
    },
    /// `unlock <environment>` or the [Unlock] button.
    Unlock {
        /// Who asks.
        by: SlackUserId,
        /// Whether someone other than the holder confirmed taking it.
        confirmed: bool,
    },
    /// The [Extend 1h] button.
    Extend {
        /// Who asks.
        by: SlackUserId,
        /// By how much.
        by_duration: Duration,
    },
    /// Cancel one pending intent, or all of them (the pull request closed).
    Cancel {
        /// The intent; `None` for every pending one.
        intent: Option<DeploymentId>,
        /// Why, for people.
        why: String,
    },
    /// The watchdog looks: a lock's reminder or expiry, intents waiting too long for checks.
    Tick {
        /// How long an intent may wait for checks.
        checks_timeout: Duration,
    },
}

/// Why a dispatch did not go through.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DispatchRefusal {
    /// GitHub answered 409: these required checks are pending or failing.
    ChecksPending {
        /// The contexts.
        contexts: Vec<String>,
    },
    /// Anything else (GitHub 5xx after retries, CI down, a store write lost).
    Error {
        /// A sentence for people.
        why: String,
    },
}

/// A commit's required checks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChecksResult {
    /// All green.
    Green,
    /// Some failed.
    Red {
        /// The failed contexts.
        failed: Vec<String>,
    },
    /// Still running.
    Pending,
}

/// How a lock ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LockEnd {
    /// Its holder unlocked it.
    Unlocked {
        /// The holder.
        by: SlackUserId,
    },
    /// Someone else unlocked it, after confirming.
    TakenOver {
        /// Who.
        by: SlackUserId,
    },
    /// It ran out.
    Expired,
}

/// A message to send. [`Notice::text`] words it; the renderer adds buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// To the person who acted only (ephemeral): a refusal or an answer.
    Reply {
        /// The person.
        to: SlackUserId,
        /// What to say.
        text: String,
    },
    /// To the channel: the lane was locked (with [Unlock] and [Extend 1h]).
    Locked {
        /// The lock.
        lock: Lock,
    },
    /// To the channel: the lock was extended.
    Extended {
        /// The lock as it is now.
        lock: Lock,
    },
    /// To someone who is not the holder: confirm taking the lock (Block Kit `confirm`).
    ConfirmUnlock {
        /// The person.
        to: SlackUserId,
        /// The lock.
        lock: Lock,
    },
    /// To the channel: the lock ended.
    Unlocked {
        /// The lock that ended.
        lock: Lock,
        /// How.
        end: LockEnd,
    },
    /// A direct message to the holder: someone else took their lock.
    LockTakenOver {
        /// The lock that ended.
        lock: Lock,
        /// Who took it.
        by: SlackUserId,
    },
    /// A direct message to the holder ten minutes before expiry (with [Extend 1h] and
    /// [Unlock now]).
    LockExpiringSoon {
        /// The lock.
        lock: Lock,
    },
    /// To the channel after a lock ended: what happens next.
    NextUp {
        /// "deploying `def4567`, the newest of 3 pushes that came while it was locked".
        text: String,
    },
}

impl Notice {
    /// The message's words.
    pub fn text(&self, environment: &Environment) -> String {
        match self {
            Self::Reply { text, .. } | Self::NextUp { text } => text.clone(),
            Self::Locked { lock } => format!(":lock: {}", lock.sentence(environment)),
            Self::Extended { lock } => format!(
                ":lock: {environment} stays locked by {} until {}",
                lock.holder.mention(),
                slack_time(lock.until)
            ),
            Self::ConfirmUnlock { lock, .. } => format!(
                "{}. Unlock it anyway? {} will be told.",
                lock.sentence(environment),
                lock.holder.mention()
            ),
            Self::Unlocked { lock, end } => match end {
                LockEnd::Unlocked { by } => {
                    format!(":unlock: {environment} was unlocked by {}", by.mention())
                }
                LockEnd::TakenOver { by } => format!(
                    ":unlock: {environment} was unlocked by {} (it was locked by {})",
                    by.mention(),
                    lock.holder.mention()
                ),
                LockEnd::Expired => format!(
                    ":unlock: {environment}'s lock by {} expired",
                    lock.holder.mention()
                ),
            },
            Self::LockTakenOver { lock, by } => {
                let mut s = format!(
                    "{} unlocked {environment}, which you had locked",
                    by.mention()
                );
                if let Some(r) = &lock.reason {
                    s.push_str(" (");
                    s.push_str(r);
                    s.push(')');
                }
                s
            }
            Self::LockExpiringSoon { lock } => format!(
                "Your lock on {environment} expires at {}.",
                slack_time(lock.until)
            ),
        }
    }
}

/// What to do to a lane. See the module documentation for how to apply each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// A pending intent waits: `hold` holds it back.
    Wait {
        /// The intent.
        intent: DeploymentId,
        /// Why.
        hold: Hold,
    },
    /// A waiting intent is ready again.
    Queue {
        /// The intent.
        intent: DeploymentId,
    },
    /// A pending intent is replaced by a newer one of its source.
    Supersede {
        /// The intent.
        intent: DeploymentId,
        /// The newer intent.
        by: DeploymentId,
        /// Its commit.
        by_sha: Sha,
    },
    /// A pending intent would take the lane backwards by accident.
    Skip {
        /// The intent.
        intent: DeploymentId,
        /// Why.
        why: SkipReason,
    },
    /// The intent takes the lane's slot: create its GitHub deployment and start CI.
    Dispatch {
        /// The intent.
        intent: DeploymentId,
    },
    /// The dispatched deployment is running.
    MarkInProgress {
        /// The deployment.
        intent: DeploymentId,
    },
    /// The dispatched deployment ended; the slot is free.
    Finish {
        /// The deployment.
        intent: DeploymentId,
        /// How.
        outcome: Outcome,
    },
    /// The dispatched intent goes back to waiting (GitHub refused it: checks); the slot is
    /// free.
    Park {
        /// The intent.
        intent: DeploymentId,
        /// Why.
        hold: Hold,
    },
    /// A pending intent failed before it ran (its required checks failed).
    Fail {
        /// The intent.
        intent: DeploymentId,
        /// Why, for people.
        why: String,
    },
    /// A pending intent is cancelled.
    Cancel {
        /// The intent.
        intent: DeploymentId,
        /// Why, for people.
        why: String,
    },
    /// A pending intent waited too long.
    Expire {
        /// The intent.
        intent: DeploymentId,
        /// Why, for people.
        why: String,
    },
    /// Set the lane's lock (new, re-taken or extended). Keep history: record it too.
    TakeLock(Lock),
    /// Remove the lane's lock. Keep history: record it too.
    ReleaseLock {
        /// The lock removed.
        lock: Lock,
        /// How it ended.
        end: LockEnd,
    },
    /// The "expiring soon" reminder went out for the current lock.
    MarkReminded,
    /// Send a message.
    Notify(Notice),
}

impl Effect {
    /// The intent the effect changes, if it changes one.
    pub fn intent(&self) -> Option<&DeploymentId> {
        match self {
            Self::Wait { intent, .. }
            | Self::Queue { intent }
            | Self::Supersede { intent, .. }
            | Self::Skip { intent, .. }
            | Self::Dispatch { intent }
            | Self::MarkInProgress { intent }
            | Self::Finish { intent, .. }
            | Self::Park { intent, .. }
            | Self::Fail { intent, .. }
            | Self::Cancel { intent, .. }
            | Self::Expire { intent, .. } => Some(intent),
            Self::TakeLock(_) | Self::ReleaseLock { .. } | Self::MarkReminded | Self::Notify(_) => {
                None
            }
        }
    }

    /// The intent's state after the effect, if it changes one.
    pub fn new_state(&self) -> Option<LaneState> {
        Some(match self {
            Self::Wait { .. } | Self::Park { .. } => LaneState::Waiting,
            Self::Queue { .. } => LaneState::Queued,
            Self::Supersede { .. } => LaneState::Superseded,
            Self::Skip { .. } => LaneState::Skipped,
            Self::Dispatch { .. } => LaneState::Dispatched,
            Self::MarkInProgress { .. } => LaneState::InProgress,
            Self::Finish { outcome, .. } => outcome.state(),
            Self::Fail { .. } => LaneState::Failure,
            Self::Cancel { .. } => LaneState::Cancelled,
            Self::Expire { .. } => LaneState::Expired,
            Self::TakeLock(_) | Self::ReleaseLock { .. } | Self::MarkReminded | Self::Notify(_) => {
                return None;
            }
        })
    }

    /// Whether the effect writes the lane record (its slot or its lock), conditional on the
    /// snapshot's version.
    pub fn writes_lane(&self) -> bool {
        matches!(
            self,
            Self::Dispatch { .. }
                | Self::Finish { .. }
                | Self::Park { .. }
                | Self::TakeLock(_)
                | Self::ReleaseLock { .. }
                | Self::MarkReminded
        )
    }
}

/// "Is `commit` an ancestor of (or the same as) `of`?" — one GitHub compare call,
/// `GET /repos/{owner}/{repo}/compare/{commit}...{of}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AncestryQuestion {
    /// The older intent's commit.
    pub commit: Sha,
    /// The commit the lane runs.
    pub of: Sha,
}

impl AncestryQuestion {
    /// The answer from the compare API's `status` for `commit...of`: `ahead` (`of` is ahead
    /// of `commit`) and `identical` mean yes; `behind` and `diverged` mean no; anything else
    /// is no answer.
    pub fn answer_from_compare_status(status: &str) -> Option<bool> {
        match status {
            "ahead" | "identical" => Some(true),
            "behind" | "diverged" => Some(false),
            _ => None,
        }
    }
}

/// The ancestry answers the caller knows. Commits never change, so an answer holds forever
/// and may be cached anywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ancestry {
    known: BTreeMap<(Sha, Sha), bool>,
}

impl Ancestry {
    /// No answers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the answer to `question`.
    pub fn record(&mut self, question: &AncestryQuestion, is_ancestor: bool) {
        self.known
            .insert((question.commit.clone(), question.of.clone()), is_ancestor);
    }

    /// The answers plus one more.
    pub fn with(mut self, question: &AncestryQuestion, is_ancestor: bool) -> Self {
        self.record(question, is_ancestor);
        self
    }

    /// Whether `commit` is an ancestor of (or the same as) `of`, if known.
    pub fn get(&self, commit: &Sha, of: &Sha) -> Option<bool> {
        if commit == of {
            return Some(true);
        }
        self.known.get(&(commit.clone(), of.clone())).copied()
    }
}

/// What [`decide`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Apply these, in order.
    Apply(Vec<Effect>),
    /// Answer this first (record it in the [`Ancestry`]), then decide again. Nothing was
    /// decided; apply nothing.
    Ask(AncestryQuestion),
}

impl Decision {
    /// The effects; none when a question is asked.
    pub fn effects(&self) -> &[Effect] {
        match self {
            Self::Apply(fx) => fx,
            Self::Ask(_) => &[],
        }
    }
}

/// What gates the lane beyond its own state, computed by the caller from what it stores and
/// the clock: the freeze in force at [`LaneSnapshot::now`], if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gates {
    /// The environment is frozen: automatic intents wait ([`super::IntentKind::waits_for_freeze`]).
    pub freeze: Option<crate::freeze::Frozen>,
    /// The intents whose approval request is not approved, by id, and where each request is
    /// (`crate::approval`). An intent not in here needs no approval, or has it.
    pub approvals: BTreeMap<DeploymentId, ApprovalGate>,
}

/// Where an intent's approval request is, as the lane's gate needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalGate {
    /// Collecting votes: the intent waits with this hold (a [`Hold::Approval`], which
    /// changes as votes come in, so the intent's message is edited).
    Pending {
        /// The hold.
        hold: Hold,
    },
    /// Someone rejected it: the intent is cancelled.
    Rejected {
        /// Why, for people.
        why: String,
    },
    /// It expired: so does the intent.
    Expired {
        /// Why, for people.
        why: String,
    },
    /// A rule nobody eligible can satisfy: the intent fails.
    Unsatisfiable {
        /// Why, for people.
        why: String,
    },
}

impl Gates {
    /// Nothing gates the lane.
    pub fn none() -> Self {
        Self::default()
    }
}

/// The lane's working copy while a decision is made.
struct Work {
    environment: Environment,
    now: Timestamp,
    gates: Gates,
    running: Option<Intent>,
    pending: Vec<Intent>,
    current: Option<Intent>,
    lock: Option<Lock>,
    bad: Vec<crate::rollback::BadRange>,
}

/// Decides what `event` means for the lane in `snapshot`, then drains it: the event's own
/// effects, then the lane's (supersede, wait, queue, skip, dispatch). An expired lock is
/// released whatever the event. See the module documentation for applying the result.
pub fn decide(snapshot: &LaneSnapshot, event: &LaneEvent, ancestry: &Ancestry) -> Decision {
    decide_gated(snapshot, event, ancestry, &Gates::none())
}

/// As [`decide`], with the lane's gates: while the environment is frozen, the automatic
/// intents wait ([`Hold::Freeze`]); once it is not, the intents a freeze held go on, and the
/// channel is told what was waiting and what deploys now.
pub fn decide_gated(
    snapshot: &LaneSnapshot,
    event: &LaneEvent,
    ancestry: &Ancestry,
    gates: &Gates,
) -> Decision {
    let mut pending: Vec<Intent> = snapshot
        .pending
        .iter()
        .filter(|i| i.status.state().is_pending())
        .cloned()
        .collect();
    pending.sort_by_key(Intent::order);
    let mut w = Work {
        environment: snapshot.lane.environment.clone(),
        now: snapshot.now,
        gates: gates.clone(),
        running: snapshot
            .running
            .clone()
            .filter(|r| r.status.state().is_running()),
        pending,
        current: snapshot.current.clone(),
        lock: snapshot.lock.clone(),
        bad: snapshot.bad.clone(),
    };
    let mut fx = Vec::new();
    let mut lock_ended = false;

    if let Some(lock) = w.lock.clone().filter(|l| l.is_expired(w.now)) {
        end_lock(&mut w, &mut fx, lock, LockEnd::Expired);
        lock_ended = true;
    }

    match event {
        LaneEvent::Drain => {}
        LaneEvent::Started { intent } => {
            let now = w.now;
            if let Some(r) = w
                .running
                .as_mut()
                .filter(|r| &r.id == intent && r.status.state() == LaneState::Dispatched)
            {
                fx.push(Effect::MarkInProgress {
                    intent: intent.clone(),
                });
                r.status = IntentStatus::InProgress {
                    at: r.status.dispatched_at().unwrap_or(now),
                };
            }
        }
        LaneEvent::Finished { intent, outcome } => {
            if let Some(mut r) = w.running.take_if(|r| &r.id == intent) {
                fx.push(Effect::Finish {
                    intent: intent.clone(),
                    outcome: outcome.clone(),
                });
                if *outcome == Outcome::Success {
                    r.status = IntentStatus::Success;
                    w.current = Some(r);
                }
            }
        }
        LaneEvent::DispatchRefused { intent, refusal } => {
            if let Some(mut r) = w.running.take_if(|r| &r.id == intent) {
                match refusal {
                    DispatchRefusal::ChecksPending { contexts } => {
                        let hold = Hold::Checks {
                            contexts: contexts.clone(),
                            since: w.now,
                        };
                        fx.push(Effect::Park {
                            intent: intent.clone(),
                            hold: hold.clone(),
                        });
                        r.status = IntentStatus::Waiting { hold };
                        w.pending.push(r);
                        w.pending.sort_by_key(Intent::order);
                    }
                    DispatchRefusal::Error { why } => fx.push(Effect::Finish {
                        intent: intent.clone(),
                        outcome: Outcome::Error { why: why.clone() },
                    }),
                }
            }
        }
        LaneEvent::ChecksChanged { sha, result } => checks_changed(&mut w, &mut fx, sha, result),
        LaneEvent::Lock {
            by,
            duration,
            reason,
            production,
        } => match Lock::take(
            w.lock.as_ref(),
            &w.environment,
            *production,
            by,
            *duration,
            reason.clone(),
            w.now,
        ) {
            Ok(lock) => {
                fx.push(Effect::TakeLock(lock.clone()));
                fx.push(Effect::Notify(Notice::Locked { lock: lock.clone() }));
                w.lock = Some(lock);
            }
            Err(e) => fx.push(reply(by, e.to_string())),
        },
        LaneEvent::Unlock { by, confirmed } => match w.lock.clone() {
            None if lock_ended => {}
            None => fx.push(reply(by, format!("{} is not locked.", w.environment))),
            Some(lock) if &lock.holder == by => {
                end_lock(&mut w, &mut fx, lock, LockEnd::Unlocked { by: by.clone() });
                lock_ended = true;
            }
            Some(lock) if !confirmed => fx.push(Effect::Notify(Notice::ConfirmUnlock {
                to: by.clone(),
                lock,
            })),
            Some(lock) => {
                end_lock(
                    &mut w,
                    &mut fx,
                    lock.clone(),
                    LockEnd::TakenOver { by: by.clone() },
                );
                fx.push(Effect::Notify(Notice::LockTakenOver {
                    lock,
                    by: by.clone(),
                }));
                lock_ended = true;
            }
        },
        LaneEvent::Extend { by, by_duration } => match w.lock.clone() {
            None => fx.push(reply(
                by,
                format!(
                    "{} is not locked any more; `lock` it again if you need it.",
                    w.environment
                ),
            )),
            Some(lock) => match lock.extended(&w.environment, by, *by_duration, w.now) {
                Ok(lock) => {
                    fx.push(Effect::TakeLock(lock.clone()));
                    fx.push(Effect::Notify(Notice::Extended { lock: lock.clone() }));
                    w.lock = Some(lock);
                }
                Err(e) => fx.push(reply(by, e.to_string())),
            },
        },
        LaneEvent::Cancel { intent, why } => {
            let (gone, kept): (Vec<Intent>, Vec<Intent>) = std::mem::take(&mut w.pending)
                .into_iter()
                .partition(|i| intent.as_ref().is_none_or(|id| &i.id == id));
            w.pending = kept;
            for i in gone {
                fx.push(Effect::Cancel {
                    intent: i.id,
                    why: why.clone(),
                });
            }
        }
        LaneEvent::Tick { checks_timeout } => tick(&mut w, &mut fx, *checks_timeout),
    }

    // Who waited on a lock that ended here: they are announced when they go.
    let waited_on_lock: BTreeSet<DeploymentId> = if lock_ended {
        snapshot
            .pending
            .iter()
            .filter(|i| {
                matches!(
                    i.status,
                    IntentStatus::Waiting {
                        hold: Hold::Lock { .. }
                    }
                )
            })
            .map(|i| i.id.clone())
            .collect()
    } else {
        BTreeSet::new()
    };
    // Who waited on a freeze that is over now: the same.
    let thawed: BTreeSet<DeploymentId> = if w.gates.freeze.is_none() {
        w.pending
            .iter()
            .filter(|i| {
                matches!(
                    i.status,
                    IntentStatus::Waiting {
                        hold: Hold::Freeze { .. }
                    }
                )
            })
            .map(|i| i.id.clone())
            .collect()
    } else {
        BTreeSet::new()
    };
    let thaw_window = snapshot.pending.iter().find_map(|i| match &i.status {
        IntentStatus::Waiting {
            hold: Hold::Freeze { window, .. },
        } if thawed.contains(&i.id) => Some(window.clone()),
        _ => None,
    });
    let (waited, held_by) = if thawed.is_empty() {
        (waited_on_lock, "locked")
    } else {
        (waited_on_lock.union(&thawed).cloned().collect(), "frozen")
    };

    let dispatches_before = fx.len();
    match drain(&mut w, &mut fx, ancestry, &waited, held_by) {
        Ok(()) => {
            if let Some(window) = thaw_window
                && !fx[dispatches_before..]
                    .iter()
                    .any(|e| matches!(e, Effect::Dispatch { .. }))
            {
                let text = match &w.running {
                    Some(r) => format!(
                        "the freeze ({window}) is over; `{}` is still deploying and what waited goes after it",
                        r.short_sha()
                    ),
                    None => format!("the freeze ({window}) is over"),
                };
                fx.push(Effect::Notify(Notice::NextUp { text }));
            }
            if lock_ended && !fx.iter().any(|e| matches!(e, Effect::Dispatch { .. })) {
                if w.running.is_none() && w.pending.is_empty() {
                    fx.push(Effect::Notify(Notice::NextUp {
                        text: "nothing was waiting".to_owned(),
                    }));
                } else if let Some(r) = &w.running {
                    fx.push(Effect::Notify(Notice::NextUp {
                        text: format!(
                            "`{}` is still deploying; the queue goes on after it",
                            r.short_sha()
                        ),
                    }));
                }
            }
            Decision::Apply(fx)
        }
        Err(question) => Decision::Ask(question),
    }
}

fn reply(to: &SlackUserId, text: String) -> Effect {
    Effect::Notify(Notice::Reply {
        to: to.clone(),
        text,
    })
}

fn end_lock(w: &mut Work, fx: &mut Vec<Effect>, lock: Lock, end: LockEnd) {
    fx.push(Effect::ReleaseLock {
        lock: lock.clone(),
        end: end.clone(),
    });
    fx.push(Effect::Notify(Notice::Unlocked { lock, end }));
    w.lock = None;
}

fn checks_changed(w: &mut Work, fx: &mut Vec<Effect>, sha: &Sha, result: &ChecksResult) {
    let waits_for_checks = |i: &Intent| {
        &i.sha == sha
            && matches!(
                i.status,
                IntentStatus::Waiting {
                    hold: Hold::Checks { .. }
                }
            )
    };
    match result {
        ChecksResult::Pending => {}
        ChecksResult::Green => {
            for i in w.pending.iter_mut().filter(|i| waits_for_checks(i)) {
                fx.push(Effect::Queue {
                    intent: i.id.clone(),
                });
                i.status = IntentStatus::Queued;
            }
        }
        ChecksResult::Red { failed } => {
            let list: Vec<String> = failed.iter().map(|c| format!("`{c}`")).collect();
            let why = if list.is_empty() {
                "the commit's required checks failed".to_owned()
            } else {
                format!("required checks failed: {}", list.join(", "))
            };
            let (gone, kept): (Vec<Intent>, Vec<Intent>) = std::mem::take(&mut w.pending)
                .into_iter()
                .partition(waits_for_checks);
            w.pending = kept;
            for i in gone {
                fx.push(Effect::Fail {
                    intent: i.id,
                    why: why.clone(),
                });
            }
        }
    }
}

fn tick(w: &mut Work, fx: &mut Vec<Effect>, checks_timeout: Duration) {
    if let Some(lock) = w.lock.as_mut().filter(|l| l.reminder_due(w.now)) {
        fx.push(Effect::MarkReminded);
        lock.reminded = true;
        fx.push(Effect::Notify(Notice::LockExpiringSoon {
            lock: lock.clone(),
        }));
    }
    let now = w.now;
    let overdue = |i: &Intent| match &i.status {
        IntentStatus::Waiting {
            hold: Hold::Checks { since, .. },
        } => now.millis().saturating_sub(since.millis()) >= millis(checks_timeout),
        _ => false,
    };
    let (gone, kept): (Vec<Intent>, Vec<Intent>) = std::mem::take(&mut w.pending)
        .into_iter()
        .partition(overdue);
    w.pending = kept;
    for i in gone {
        let what = match &i.status {
            IntentStatus::Waiting {
                hold: Hold::Checks { contexts, .. },
            } if !contexts.is_empty() => {
                let list: Vec<String> = contexts.iter().map(|c| format!("`{c}`")).collect();
                format!("checks {}", list.join(", "))
            }
            _ => "the commit's required checks".to_owned(),
        };
        fx.push(Effect::Expire {
            intent: i.id,
            why: format!(
                "waited {} for {what}, which never turned green; deploy again once they pass",
                format_duration(checks_timeout)
            ),
        });
    }
}

/// Where a tag `i` deploys by name (a person's `deploy v1.2.0 to production`) has moved to
/// another commit since: the index in `pending` of the tag's newest push (`newest`: each
/// source's newest pending intent), which supersedes `i` — what `i` would deploy (and any
/// approval asked for it) is no longer what the tag names.
fn moved_tag(
    i: &Intent,
    newest: &BTreeMap<&SourceKey, usize>,
    pending: &[Intent],
) -> Option<usize> {
    let GitRef::Tag(tag) = &i.git_ref else {
        return None;
    };
    if matches!(i.source, SourceKey::Tag(_)) || i.kind == IntentKind::Rollback {
        return None;
    }
    let at = *newest.get(&SourceKey::Tag(tag.clone()))?;
    let j = pending.get(at)?;
    (j.sha != i.sha && j.is_newer_than(i)).then_some(at)
}

/// The lane's own rules, on the working copy: newest wins per source, holds, order, the
/// outdated check, one dispatch.
fn drain(
    w: &mut Work,
    fx: &mut Vec<Effect>,
    ancestry: &Ancestry,
    waited_on_lock: &BTreeSet<DeploymentId>,
    held_by: &str,
) -> Result<(), AncestryQuestion> {
    // Newest wins per source (pending is sorted oldest first, so the last one of a source
    // is its newest).
    // A source keeps the place in line of its oldest pending intent, so a busy branch is not
    // sent to the back of the line by each of its pushes.
    let mut newest: BTreeMap<&SourceKey, usize> = BTreeMap::new();
    let mut place: BTreeMap<&SourceKey, usize> = BTreeMap::new();
    for (n, i) in w.pending.iter().enumerate() {
        newest.insert(&i.source, n);
        place.entry(&i.source).or_insert(n);
    }
    let mut survivors = Vec::new();
    let mut superseded_waiters: BTreeMap<DeploymentId, usize> = BTreeMap::new();
    for (n, i) in w.pending.iter().enumerate() {
        let mut winner = newest.get(&i.source).map_or(n, |&k| k);
        if winner == n
            && let Some(moved) = moved_tag(i, &newest, &w.pending)
        {
            winner = moved;
        }
        if winner == n {
            survivors.push(i.clone());
        } else if let Some(by) = w.pending.get(winner) {
            fx.push(Effect::Supersede {
                intent: i.id.clone(),
                by: by.id.clone(),
                by_sha: by.sha.clone(),
            });
            if waited_on_lock.contains(&i.id) {
                *superseded_waiters.entry(by.id.clone()).or_default() += 1;
            }
        }
    }

    // A rollback goes to the head of the line; the others keep their places.
    survivors.sort_by_key(|i: &Intent| {
        (
            i.kind != IntentKind::Rollback,
            place.get(&i.source).copied().unwrap_or(usize::MAX),
        )
    });
    let mut slot_taken = w.running.is_some();
    let mut kept = Vec::new();
    for mut i in survivors {
        if matches!(
            i.status,
            IntentStatus::Waiting {
                hold: Hold::Checks { .. }
            }
        ) {
            // Only a checks event (or the timeout) moves it.
            kept.push(i);
            continue;
        }
        // Approval first: once approved the intent goes on through lock, freeze and slot.
        match w.gates.approvals.get(&i.id) {
            None => {}
            Some(ApprovalGate::Pending { hold }) => {
                let hold = hold.clone();
                if !matches!(&i.status, IntentStatus::Waiting { hold: h } if *h == hold) {
                    fx.push(Effect::Wait {
                        intent: i.id.clone(),
                        hold: hold.clone(),
                    });
                    i.status = IntentStatus::Waiting { hold };
                }
                kept.push(i);
                continue;
            }
            Some(ApprovalGate::Rejected { why }) => {
                fx.push(Effect::Cancel {
                    intent: i.id.clone(),
                    why: why.clone(),
                });
                continue;
            }
            Some(ApprovalGate::Expired { why }) => {
                fx.push(Effect::Expire {
                    intent: i.id.clone(),
                    why: why.clone(),
                });
                continue;
            }
            Some(ApprovalGate::Unsatisfiable { why }) => {
                fx.push(Effect::Fail {
                    intent: i.id.clone(),
                    why: why.clone(),
                });
                continue;
            }
        }
        // A commit rolled back from this environment goes there again only by name.
        if let Some(wish) = bad_commit_wish(&i.kind)
            && let Some(range) = crate::rollback::bad_range(&i.sha, &w.bad, ancestry)?
        {
            let sentence = match crate::rollback::bad_commit_answer(&i.sha, range, wish) {
                crate::rollback::BadCommitAnswer::Refused(s)
                | crate::rollback::BadCommitAnswer::Confirm(s) => s,
            };
            fx.push(Effect::Skip {
                intent: i.id.clone(),
                why: SkipReason::RolledBack { sentence },
            });
            continue;
        }
        if let Some(lock) = w.lock.as_ref().filter(|l| l.holds(&i)) {
            let hold = Hold::from_lock(lock);
            if !matches!(&i.status, IntentStatus::Waiting { hold: h } if *h == hold) {
                fx.push(Effect::Wait {
                    intent: i.id.clone(),
                    hold: hold.clone(),
                });
                i.status = IntentStatus::Waiting { hold };
            }
            kept.push(i);
            continue;
        }
        if let Some(frozen) = w
            .gates
            .freeze
            .as_ref()
            .filter(|_| i.kind.waits_for_freeze())
        {
            let hold = Hold::from_freeze(frozen);
            if !matches!(&i.status, IntentStatus::Waiting { hold: h } if *h == hold) {
                fx.push(Effect::Wait {
                    intent: i.id.clone(),
                    hold: hold.clone(),
                });
                i.status = IntentStatus::Waiting { hold };
            }
            kept.push(i);
            continue;
        }
        if slot_taken {
            if i.status != IntentStatus::Queued {
                fx.push(Effect::Queue {
                    intent: i.id.clone(),
                });
                i.status = IntentStatus::Queued;
            }
            kept.push(i);
            continue;
        }
        // Never backwards by accident.
        if let Some(cur) = w
            .current
            .as_ref()
            .filter(|c| c.source == i.source && c.is_newer_than(&i))
        {
            let is_ancestor = match ancestry.get(&i.sha, &cur.sha) {
                Some(answer) => answer,
                None => {
                    return Err(AncestryQuestion {
                        commit: i.sha.clone(),
                        of: cur.sha.clone(),
                    });
                }
            };
            if is_ancestor {
                fx.push(Effect::Skip {
                    intent: i.id.clone(),
                    why: SkipReason::Outdated {
                        running: cur.id.clone(),
                        running_sha: cur.sha.clone(),
                    },
                });
                continue;
            }
        }
        fx.push(Effect::Dispatch {
            intent: i.id.clone(),
        });
        if !waited_on_lock.is_empty() {
            let own = usize::from(waited_on_lock.contains(&i.id));
            let count = own + superseded_waiters.get(&i.id).copied().unwrap_or(0);
            let text = match count {
                0 => format!("deploying `{}`", i.short_sha()),
                1 => format!(
                    "deploying `{}`, which came while it was {held_by}",
                    i.short_sha()
                ),
                n => format!(
                    "deploying `{}`, the newest of {n} {} that came while it was {held_by}",
                    i.short_sha(),
                    i.kind.plural()
                ),
            };
            fx.push(Effect::Notify(Notice::NextUp { text }));
        }
        i.status = IntentStatus::Dispatched { at: w.now };
        w.running = Some(i);
        slot_taken = true;
    }
    w.pending = kept;
    Ok(())
}

/// Which wishes a rolled-back commit refuses: automatic ones, promotions and retries (a
/// manual deploy was confirmed when it was asked for; a rollback chose its target).
fn bad_commit_wish(kind: &IntentKind) -> Option<crate::rollback::WishKind> {
    use crate::rollback::WishKind;
    match kind {
        IntentKind::Push | IntentKind::PullRequest | IntentKind::Tag => Some(WishKind::Automatic),
        IntentKind::Promotion => Some(WishKind::Promotion),
        IntentKind::Retry { .. } => Some(WishKind::Retry),
        IntentKind::Manual | IntentKind::Rollback => None,
    }
}

/// Why a retry is refused. The message is for the person who pressed Retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetryRefused {
    /// Only a deployment that failed or errored can be retried.
    #[error("only a deployment that failed can be retried; `{sha}` is {state}")]
    NotFailed {
        /// The commit, short.
        sha: String,
        /// Its state.
        state: LaneState,
    },
    /// A newer deployment already succeeded there.
    #[error(
        "`{failed_sha}` failed before `{newer_sha}` deployed to {environment} successfully (deployment {newer}); retrying it would take {environment} backwards. Deploy it by name if you mean to go back."
    )]
    NewerSuccess {
        /// The failed commit, short.
        failed_sha: String,
        /// The newer deployment.
        newer: DeploymentId,
        /// Its commit, short.
        newer_sha: String,
        /// The environment.
        environment: Environment,
    },
}

/// Whether the Retry button on `failed` may create a retry intent: it must have failed (or
/// errored), and no newer deployment may have succeeded since (`current`, what the lane
/// runs).
pub fn check_retry(
    failed: &Intent,
    current: Option<&Intent>,
    environment: Environment,
) -> Result<(), RetryRefused> {
    let state = failed.status.state();
    if !matches!(state, LaneState::Failure | LaneState::Error) {
        return Err(RetryRefused::NotFailed {
            sha: failed.short_sha().to_owned(),
            state,
        });
    }
    match current.filter(|c| c.is_newer_than(failed)) {
        Some(newer) => Err(RetryRefused::NewerSuccess {
            failed_sha: failed.short_sha().to_owned(),
            newer: newer.id.clone(),
            newer_sha: newer.short_sha().to_owned(),
            environment,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lane::tests::{id, manual, push, sha};
    use crate::lane::{LaneKey, Requester};
    use crate::{GitRef, Repository};

    const NOW: Timestamp = Timestamp::from_secs(2_000_000);

    fn ana() -> SlackUserId {
        SlackUserId::parse("UANA").expect("valid")
    }
    fn bob() -> SlackUserId {
        SlackUserId::parse("UBOB").expect("valid")
    }

    fn lane(
        running: Option<Intent>,
        pending: Vec<Intent>,
        current: Option<Intent>,
        lock: Option<Lock>,
    ) -> LaneSnapshot {
        LaneSnapshot {
            lane: LaneKey {
                repository: Repository::parse("acme/web").expect("valid"),
                environment: Environment::Staging,
            },
            version: 7,
            running,
            pending,
            current,
            lock,
            bad: Vec::new(),
            now: NOW,
        }
    }

    fn pr(seq: u64, number: u64, hex: &str) -> Intent {
        Intent {
            source: SourceKey::PullRequest(number),
            kind: IntentKind::PullRequest,
            ..push(seq, "feature", hex)
        }
    }

    fn tag(seq: u64, name: &str, hex: &str) -> Intent {
        Intent {
            source: SourceKey::Tag(name.into()),
            kind: IntentKind::Tag,
            git_ref: GitRef::Tag(name.into()),
            ..push(seq, "main", hex)
        }
    }
    fn manual_tag(seq: u64, name: &str, hex: &str) -> Intent {
        Intent {
            git_ref: GitRef::Tag(name.into()),
            ..manual(seq, "UANA", hex)
        }
    }

    fn with(mut i: Intent, status: IntentStatus) -> Intent {
        i.status = status;
        i
    }
    fn running(i: Intent) -> Intent {
        with(
            i,
            IntentStatus::Dispatched {
                at: NOW.plus_secs(-60),
            },
        )
    }
    fn succeeded(i: Intent) -> Intent {
        with(i, IntentStatus::Success)
    }
    fn lock_by(holder: SlackUserId, until: Timestamp) -> Lock {
        Lock {
            holder,
            reason: Some("testing the migration".into()),
            since: NOW.plus_secs(-3600),
            until,
            reminded: false,
        }
    }
    fn waiting_on(i: Intent, lock: &Lock) -> Intent {
        with(
            i,
            IntentStatus::Waiting {
                hold: Hold::from_lock(lock),
            },
        )
    }
    fn waiting_for_checks(i: Intent, since: Timestamp) -> Intent {
        with(
            i,
            IntentStatus::Waiting {
                hold: Hold::Checks {
                    contexts: vec!["ci/test".into()],
                    since,
                },
            },
        )
    }

    fn dispatch(i: &Intent) -> Effect {
        Effect::Dispatch {
            intent: i.id.clone(),
        }
    }
    fn supersede(i: &Intent, by: &Intent) -> Effect {
        Effect::Supersede {
            intent: i.id.clone(),
            by: by.id.clone(),
            by_sha: by.sha.clone(),
        }
    }
    fn wait(i: &Intent, lock: &Lock) -> Effect {
        Effect::Wait {
            intent: i.id.clone(),
            hold: Hold::from_lock(lock),
        }
    }
    fn queue(i: &Intent) -> Effect {
        Effect::Queue {
            intent: i.id.clone(),
        }
    }
    fn skip(i: &Intent, cur: &Intent) -> Effect {
        Effect::Skip {
            intent: i.id.clone(),
            why: SkipReason::Outdated {
                running: cur.id.clone(),
                running_sha: cur.sha.clone(),
            },
        }
    }
    fn next_up(text: &str) -> Effect {
        Effect::Notify(Notice::NextUp { text: text.into() })
    }
    fn released(lock: &Lock, end: LockEnd) -> [Effect; 2] {
        [
            Effect::ReleaseLock {
                lock: lock.clone(),
                end: end.clone(),
            },
            Effect::Notify(Notice::Unlocked {
                lock: lock.clone(),
                end,
            }),
        ]
    }
    fn reply(text: &str) -> Effect {
        Effect::Notify(Notice::Reply {
            to: bob(),
            text: text.into(),
        })
    }

    fn apply(s: &LaneSnapshot, e: &LaneEvent) -> Vec<Effect> {
        match decide(s, e, &Ancestry::new()) {
            Decision::Apply(fx) => fx,
            Decision::Ask(q) => panic!("unexpected question {q:?}"),
        }
    }

    #[test]
    fn decision_table() {
        let (p1, p2, p3, p4) = (
            push(1, "main", "a1"),
            push(2, "main", "b2"),
            push(3, "main", "c3"),
            push(4, "main", "def4567"),
        );
        let lock = lock_by(ana(), NOW.plus_secs(600));
        let gone = lock_by(ana(), NOW);
        let finished = |i: &Intent, outcome: Outcome| LaneEvent::Finished {
            intent: i.id.clone(),
            outcome,
        };
        let unlock = |by: SlackUserId, confirmed| LaneEvent::Unlock { by, confirmed };

        let cases: Vec<(&str, LaneSnapshot, LaneEvent, Vec<Effect>)> = vec![
            ("an empty lane does nothing", lane(None, vec![], None, None), LaneEvent::Drain, vec![]),
            (
                "a free lane dispatches its one intent",
                lane(None, vec![p1.clone()], None, None),
                LaneEvent::Drain,
                vec![dispatch(&p1)],
            ),
            (
                "newer pushes while one runs: the older pending ones are superseded, the running one is not",
                lane(Some(running(p1.clone())), vec![p2.clone(), p3.clone(), p4.clone()], None, None),
                LaneEvent::Drain,
                vec![supersede(&p2, &p4), supersede(&p3, &p4)],
            ),
            (
                "the running deployment finishes with newer intents of its source queued: only the newest goes",
                lane(Some(running(p1.clone())), vec![p3.clone(), p2.clone(), p4.clone()], None, None),
                finished(&p1, Outcome::Success),
                vec![
                    Effect::Finish { intent: p1.id.clone(), outcome: Outcome::Success },
                    supersede(&p2, &p4),
                    supersede(&p3, &p4),
                    dispatch(&p4),
                ],
            ),
            (
                "different sources keep their order",
                lane(None, vec![pr(3, 12, "c3"), push(4, "release", "d4"), p2.clone()], None, None),
                LaneEvent::Drain,
                vec![dispatch(&p2)],
            ),
            (
                "a source keeps the place of its oldest pending intent",
                lane(None, vec![pr(2, 12, "b2"), p3.clone(), pr(4, 12, "d4")], None, None),
                LaneEvent::Drain,
                vec![supersede(&pr(2, 12, "b2"), &pr(4, 12, "d4")), dispatch(&pr(4, 12, "d4"))],
            ),
            (
                "a tag moved since a person asked for it by name: the person's intent goes, superseded by the tag's newer push",
                lane(None, vec![manual_tag(1, "v1.2.0", "e1"), tag(2, "v1.2.0", "f2")], None, None),
                LaneEvent::Drain,
                vec![supersede(&manual_tag(1, "v1.2.0", "e1"), &tag(2, "v1.2.0", "f2")), dispatch(&tag(2, "v1.2.0", "f2"))],
            ),
            (
                "a tag pushed again at the same commit leaves the person's intent of it alone",
                lane(None, vec![manual_tag(1, "v1.2.0", "e1"), tag(2, "v1.2.0", "e1")], None, None),
                LaneEvent::Drain,
                vec![dispatch(&manual_tag(1, "v1.2.0", "e1"))],
            ),
            (
                "a tag that moved back to the commit asked for supersedes nothing",
                lane(None, vec![manual_tag(1, "v1.2.0", "e1"), tag(2, "v1.2.0", "f2"), tag(3, "v1.2.0", "e1")], None, None),
                LaneEvent::Drain,
                vec![supersede(&tag(2, "v1.2.0", "f2"), &tag(3, "v1.2.0", "e1")), dispatch(&manual_tag(1, "v1.2.0", "e1"))],
            ),
            (
                "an older push of the tag does not supersede a newer ask for it",
                lane(None, vec![tag(1, "v1.2.0", "f1"), manual_tag(2, "v1.2.0", "e2")], None, None),
                LaneEvent::Drain,
                vec![dispatch(&tag(1, "v1.2.0", "f1"))],
            ),
            (
                "a failure frees the lane too",
                lane(Some(running(p1.clone())), vec![pr(3, 12, "c3")], None, None),
                finished(&p1, Outcome::Failure { why: "tests failed".into() }),
                vec![
                    Effect::Finish { intent: p1.id.clone(), outcome: Outcome::Failure { why: "tests failed".into() } },
                    dispatch(&pr(3, 12, "c3")),
                ],
            ),
            (
                "a late or repeated completion of another deployment changes nothing",
                lane(Some(running(p2.clone())), vec![p3.clone()], None, None),
                finished(&p1, Outcome::Success),
                vec![],
            ),
            (
                "CI started it: in progress, once",
                lane(Some(running(p1.clone())), vec![], None, None),
                LaneEvent::Started { intent: p1.id.clone() },
                vec![Effect::MarkInProgress { intent: p1.id.clone() }],
            ),
            (
                "started again: nothing",
                lane(Some(with(p1.clone(), IntentStatus::InProgress { at: NOW })), vec![], None, None),
                LaneEvent::Started { intent: p1.id.clone() },
                vec![],
            ),
            (
                "locking holds the queued auto-deployments",
                lane(Some(running(p1.clone())), vec![p2.clone()], None, None),
                LaneEvent::Lock { by: ana(), duration: None, reason: None, production: false },
                {
                    let l = Lock { holder: ana(), reason: None, since: NOW, until: NOW.plus_secs(7200), reminded: false };
                    vec![Effect::TakeLock(l.clone()), Effect::Notify(Notice::Locked { lock: l.clone() }), wait(&p2, &l)]
                },
            ),
            (
                "an intent already waiting on the same lock is left alone",
                lane(None, vec![waiting_on(p2.clone(), &lock)], None, Some(lock.clone())),
                LaneEvent::Drain,
                vec![],
            ),
            (
                "the holder's own manual deploy passes the lock; others' wait",
                lane(
                    None,
                    vec![waiting_on(p2.clone(), &lock), manual(3, "UANA", "c3"), manual(4, "UBOB", "d4")],
                    None,
                    Some(lock.clone()),
                ),
                LaneEvent::Drain,
                vec![dispatch(&manual(3, "UANA", "c3")), wait(&manual(4, "UBOB", "d4"), &lock)],
            ),
            (
                "on unlock the newest per source deploys first, in order, and the channel is told",
                lane(
                    None,
                    vec![
                        waiting_on(p2.clone(), &lock),
                        waiting_on(p3.clone(), &lock),
                        waiting_on(p4.clone(), &lock),
                        waiting_on(manual(5, "UBOB", "e5"), &lock),
                    ],
                    None,
                    Some(lock.clone()),
                ),
                unlock(ana(), false),
                {
                    let mut fx = released(&lock, LockEnd::Unlocked { by: ana() }).to_vec();
                    fx.extend([
                        supersede(&p2, &p4),
                        supersede(&p3, &p4),
                        dispatch(&p4),
                        next_up("deploying `def4567`, the newest of 3 pushes that came while it was locked"),
                        queue(&manual(5, "UBOB", "e5")),
                    ]);
                    fx
                },
            ),
            (
                "an expired lock is released whatever the event, and the lane drains",
                lane(None, vec![waiting_on(p2.clone(), &gone)], None, Some(gone.clone())),
                LaneEvent::Tick { checks_timeout: Duration::from_secs(3600) },
                {
                    let mut fx = released(&gone, LockEnd::Expired).to_vec();
                    fx.extend([dispatch(&p2), next_up("deploying `b200000`, which came while it was locked")]);
                    fx
                },
            ),
            (
                "unlock while a deployment runs: the waiting intent is queued behind it",
                lane(Some(running(pr(1, 12, "a1"))), vec![waiting_on(p2.clone(), &lock)], None, Some(lock.clone())),
                unlock(ana(), false),
                {
                    let mut fx = released(&lock, LockEnd::Unlocked { by: ana() }).to_vec();
                    fx.extend([queue(&p2), next_up("`a100000` is still deploying; the queue goes on after it")]);
                    fx
                },
            ),
            (
                "unlock with nothing waiting says so",
                lane(None, vec![], None, Some(lock.clone())),
                unlock(ana(), false),
                {
                    let mut fx = released(&lock, LockEnd::Unlocked { by: ana() }).to_vec();
                    fx.push(next_up("nothing was waiting"));
                    fx
                },
            ),
            (
                "someone else unlocking is asked to confirm",
                lane(None, vec![], None, Some(lock.clone())),
                unlock(bob(), false),
                vec![Effect::Notify(Notice::ConfirmUnlock { to: bob(), lock: lock.clone() })],
            ),
            (
                "confirmed, the lock is taken over and the holder told",
                lane(None, vec![], None, Some(lock.clone())),
                unlock(bob(), true),
                {
                    let mut fx = released(&lock, LockEnd::TakenOver { by: bob() }).to_vec();
                    fx.extend([
                        Effect::Notify(Notice::LockTakenOver { lock: lock.clone(), by: bob() }),
                        next_up("nothing was waiting"),
                    ]);
                    fx
                },
            ),
            (
                "unlocking a lane that is not locked",
                lane(None, vec![], None, None),
                unlock(bob(), false),
                vec![reply("staging is not locked.")],
            ),
            (
                "locking a lane someone else holds is refused",
                lane(None, vec![], None, Some(lock.clone())),
                LaneEvent::Lock { by: bob(), duration: None, reason: None, production: false },
                vec![Effect::Notify(Notice::Reply {
                    to: bob(),
                    text: format!(
                        "staging is already locked by <@UANA> until {}; ask them, or `unlock` it first",
                        slack_time(lock.until)
                    ),
                })],
            ),
            (
                "extending re-words the waiting intents' messages",
                lane(None, vec![waiting_on(p2.clone(), &lock)], None, Some(lock.clone())),
                LaneEvent::Extend { by: ana(), by_duration: Duration::from_secs(3600) },
                {
                    let l = Lock { until: lock.until.plus_secs(3600), ..lock.clone() };
                    vec![Effect::TakeLock(l.clone()), Effect::Notify(Notice::Extended { lock: l.clone() }), wait(&p2, &l)]
                },
            ),
            (
                "the reminder goes out once, ten minutes before",
                lane(None, vec![], None, Some(lock.clone())),
                LaneEvent::Tick { checks_timeout: Duration::from_secs(3600) },
                vec![
                    Effect::MarkReminded,
                    Effect::Notify(Notice::LockExpiringSoon { lock: Lock { reminded: true, ..lock.clone() } }),
                ],
            ),
            (
                "GitHub refuses the dispatch for checks: parked, and the next one goes",
                lane(Some(running(p1.clone())), vec![pr(2, 12, "b2")], None, None),
                LaneEvent::DispatchRefused {
                    intent: p1.id.clone(),
                    refusal: DispatchRefusal::ChecksPending { contexts: vec!["ci/test".into()] },
                },
                vec![
                    Effect::Park { intent: p1.id.clone(), hold: Hold::Checks { contexts: vec!["ci/test".into()], since: NOW } },
                    dispatch(&pr(2, 12, "b2")),
                ],
            ),
            (
                "a parked intent is still superseded by a newer one of its source",
                lane(Some(running(p1.clone())), vec![p2.clone()], None, None),
                LaneEvent::DispatchRefused {
                    intent: p1.id.clone(),
                    refusal: DispatchRefusal::ChecksPending { contexts: vec![] },
                },
                vec![
                    Effect::Park { intent: p1.id.clone(), hold: Hold::Checks { contexts: vec![], since: NOW } },
                    supersede(&p1, &p2),
                    dispatch(&p2),
                ],
            ),
            (
                "dispatch failed outright: an error, and the lane moves on",
                lane(Some(running(p1.clone())), vec![pr(2, 12, "b2")], None, None),
                LaneEvent::DispatchRefused {
                    intent: p1.id.clone(),
                    refusal: DispatchRefusal::Error { why: "GitHub answered 502".into() },
                },
                vec![
                    Effect::Finish { intent: p1.id.clone(), outcome: Outcome::Error { why: "GitHub answered 502".into() } },
                    dispatch(&pr(2, 12, "b2")),
                ],
            ),
            (
                "checks green: queued, revalidated, dispatched",
                lane(None, vec![waiting_for_checks(p1.clone(), NOW)], None, None),
                LaneEvent::ChecksChanged { sha: p1.sha.clone(), result: ChecksResult::Green },
                vec![queue(&p1), dispatch(&p1)],
            ),
            (
                "checks green while locked: it waits on the lock instead",
                lane(None, vec![waiting_for_checks(p1.clone(), NOW)], None, Some(lock.clone())),
                LaneEvent::ChecksChanged { sha: p1.sha.clone(), result: ChecksResult::Green },
                vec![queue(&p1), wait(&p1, &lock)],
            ),
            (
                "checks red: failed, with the contexts",
                lane(None, vec![waiting_for_checks(p1.clone(), NOW)], None, None),
                LaneEvent::ChecksChanged { sha: p1.sha.clone(), result: ChecksResult::Red { failed: vec!["ci/test".into()] } },
                vec![Effect::Fail { intent: p1.id.clone(), why: "required checks failed: `ci/test`".into() }],
            ),
            (
                "checks of another commit change nothing; pending ones leave it waiting",
                lane(None, vec![waiting_for_checks(p1.clone(), NOW)], None, None),
                LaneEvent::ChecksChanged { sha: p2.sha.clone(), result: ChecksResult::Green },
                vec![],
            ),
            (
                "waited for checks too long: expired with a sentence",
                lane(None, vec![waiting_for_checks(p1.clone(), NOW.plus_secs(-3600)), pr(2, 12, "b2")], None, None),
                LaneEvent::Tick { checks_timeout: Duration::from_secs(3600) },
                vec![
                    Effect::Expire {
                        intent: p1.id.clone(),
                        why: "waited 1h for checks `ci/test`, which never turned green; deploy again once they pass".into(),
                    },
                    dispatch(&pr(2, 12, "b2")),
                ],
            ),
            (
                "the pull request closed: every pending intent is cancelled",
                lane(Some(running(pr(1, 12, "a1"))), vec![pr(2, 12, "b2"), pr(3, 12, "c3")], None, None),
                LaneEvent::Cancel { intent: None, why: "pull request #12 was closed".into() },
                vec![
                    Effect::Cancel { intent: pr(2, 12, "b2").id, why: "pull request #12 was closed".into() },
                    Effect::Cancel { intent: pr(3, 12, "c3").id, why: "pull request #12 was closed".into() },
                ],
            ),
            (
                "an older intent with the very commit the lane runs is skipped without asking GitHub",
                lane(None, vec![push(2, "main", "c3")], Some(succeeded(p3.clone())), None),
                LaneEvent::Drain,
                vec![skip(&push(2, "main", "c3"), &p3)],
            ),
            (
                "a newer push that rewinds the branch deploys: backwards on purpose",
                lane(None, vec![push(5, "main", "a1")], Some(succeeded(p3.clone())), None),
                LaneEvent::Drain,
                vec![dispatch(&push(5, "main", "a1"))],
            ),
            (
                "an older intent from another source is not compared",
                lane(None, vec![manual(2, "UBOB", "a1")], Some(succeeded(p3.clone())), None),
                LaneEvent::Drain,
                vec![dispatch(&manual(2, "UBOB", "a1"))],
            ),
        ];
        for (name, snapshot, event, want) in cases {
            assert_eq!(apply(&snapshot, &event), want, "{name}");
        }
    }

    #[test]
    fn never_backwards_by_accident_asks_github_once() {
        // `main` ran push 3 (`c3…`); push 2 (`b2…`), made earlier, arrives late.
        let p2 = push(2, "main", "b2");
        let p3 = succeeded(push(3, "main", "c3"));
        let pr4 = pr(4, 12, "d4");
        let s = lane(None, vec![pr4.clone(), p2.clone()], Some(p3.clone()), None);
        let question = match decide(&s, &LaneEvent::Drain, &Ancestry::new()) {
            Decision::Ask(q) => q,
            Decision::Apply(fx) => panic!("must ask first: {fx:?}"),
        };
        assert_eq!(
            question,
            AncestryQuestion {
                commit: p2.sha.clone(),
                of: p3.sha.clone()
            }
        );
        assert_eq!(
            decide(&s, &LaneEvent::Drain, &Ancestry::new()).effects(),
            &[]
        );
        // An ancestor: skipped as outdated, and the next intent in order goes.
        let yes = Ancestry::new().with(&question, true);
        assert_eq!(
            decide(&s, &LaneEvent::Drain, &yes),
            Decision::Apply(vec![skip(&p2, &p3), dispatch(&pr4)])
        );
        // Not an ancestor (the branch was rewritten): it deploys.
        let no = Ancestry::new().with(&question, false);
        assert_eq!(
            decide(&s, &LaneEvent::Drain, &no),
            Decision::Apply(vec![dispatch(&p2)])
        );
        let statuses = [
            ("ahead", Some(true)),
            ("identical", Some(true)),
            ("behind", Some(false)),
            ("diverged", Some(false)),
            ("", None),
        ];
        for (status, want) in statuses {
            assert_eq!(
                AncestryQuestion::answer_from_compare_status(status),
                want,
                "{status}"
            );
        }
    }

    #[test]
    fn two_drains_of_one_snapshot_dispatch_the_same_single_intent() {
        let mut pending = vec![
            push(2, "main", "b2"),
            pr(3, 12, "c3"),
            push(4, "main", "d4"),
            manual(5, "UBOB", "e5"),
            pr(6, 12, "f6"),
        ];
        let s = lane(None, pending.clone(), None, None);
        let first = decide(&s, &LaneEvent::Drain, &Ancestry::new());
        // Another process read the same lane, its query returning another order.
        pending.reverse();
        let second = decide(
            &lane(None, pending, None, None),
            &LaneEvent::Drain,
            &Ancestry::new(),
        );
        assert_eq!(first, second);
        let dispatches: Vec<&Effect> = first
            .effects()
            .iter()
            .filter(|e| matches!(e, Effect::Dispatch { .. }))
            .collect();
        assert_eq!(dispatches, vec![&dispatch(&push(4, "main", "d4"))]);
        // The winner wrote the lane; the loser re-reads it and finds nothing more to do.
        let after = lane(
            Some(running(push(4, "main", "d4"))),
            vec![pr(6, 12, "f6"), manual(5, "UBOB", "e5")],
            None,
            None,
        );
        assert_eq!(apply(&after, &LaneEvent::Drain), vec![]);
        // Every lane-record write of a decision is conditional on the version it read.
        assert!(first.effects().iter().any(Effect::writes_lane));
    }

    #[test]
    fn effects_name_their_intent_and_new_state() {
        let p = push(1, "main", "a1");
        let cases = [
            (dispatch(&p), Some(LaneState::Dispatched), true),
            (queue(&p), Some(LaneState::Queued), false),
            (supersede(&p, &p), Some(LaneState::Superseded), false),
            (
                Effect::Finish {
                    intent: p.id.clone(),
                    outcome: Outcome::Error { why: "x".into() },
                },
                Some(LaneState::Error),
                true,
            ),
            (Effect::MarkReminded, None, true),
            (next_up("x"), None, false),
        ];
        for (effect, state, lane_write) in cases {
            assert_eq!(effect.new_state(), state, "{effect:?}");
            assert_eq!(effect.intent().is_some(), state.is_some(), "{effect:?}");
            assert_eq!(effect.writes_lane(), lane_write, "{effect:?}");
        }
    }

    #[test]
    fn retry_is_refused_after_a_newer_success() {
        let failed = with(
            push(2, "main", "abc1234"),
            IntentStatus::Failure { why: "x".into() },
        );
        let newer = succeeded(push(3, "main", "def4567"));
        let older = succeeded(push(1, "main", "0123456"));
        let retry_ok = [None, Some(&older)];
        for current in retry_ok {
            assert_eq!(check_retry(&failed, current, Environment::Staging), Ok(()));
        }
        let msg = check_retry(&failed, Some(&newer), Environment::Staging)
            .expect_err("newer success")
            .to_string();
        assert!(
            msg.starts_with(&format!(
                "`abc1234` failed before `def4567` deployed to staging successfully (deployment {}); retrying it would take staging backwards.",
                newer.id
            )),
            "{msg}"
        );
        let msg = check_retry(&newer, None, Environment::Staging)
            .expect_err("not failed")
            .to_string();
        assert!(
            msg.contains("only a deployment that failed can be retried"),
            "{msg}"
        );
        // A retry is an intent of the person who pressed the button.
        let retry = Intent {
            kind: IntentKind::Retry {
                of: failed.id.clone(),
            },
            requested_by: Requester::Person(ana()),
            git_ref: GitRef::Branch("main".into()),
            ..manual(4, "UANA", "abc1234")
        };
        assert!(retry.kind.is_manual());
        assert_eq!(retry.sha, sha("abc1234"));
        assert_eq!(id(4), retry.id);
    }

    /// A rollback by `user` to a commit starting with `hex`.
    fn rollback(seq: u64, user: &str, hex: &str) -> Intent {
        Intent {
            kind: IntentKind::Rollback,
            ..manual(seq, user, hex)
        }
    }

    #[test]
    fn a_rollback_goes_first_and_passes_others_locks() {
        let lock = lock_by(ana(), NOW.plus_secs(600));
        let (p1, p2) = (push(1, "main", "a1"), push(2, "release", "b2"));
        let rb = rollback(3, "UBOB", "c3");
        // Behind two pushes in line, under Ana's lock: Bob's rollback is dispatched.
        let fx = apply(
            &lane(
                None,
                vec![p1.clone(), p2.clone(), rb.clone()],
                None,
                Some(lock.clone()),
            ),
            &LaneEvent::Drain,
        );
        assert_eq!(
            fx,
            vec![dispatch(&rb), wait(&p1, &lock), wait(&p2, &lock)],
            "the pushes wait for the lock, the rollback goes"
        );
        // Unlocked, the rollback still goes first.
        let fx = apply(
            &lane(None, vec![p1.clone(), p2.clone(), rb.clone()], None, None),
            &LaneEvent::Drain,
        );
        assert_eq!(fx, vec![dispatch(&rb)], "the pushes stay queued behind it");
        // A manual deploy by someone other than the holder still waits.
        let m = manual(4, "UBOB", "d4");
        let fx = apply(
            &lane(None, vec![m.clone()], None, Some(lock.clone())),
            &LaneEvent::Drain,
        );
        assert_eq!(fx, vec![wait(&m, &lock)]);
    }

    #[test]
    fn wishes_for_a_rolled_back_commit_are_skipped_with_why_except_by_name() {
        use crate::rollback::BadRange;
        let range = BadRange {
            lane: lane(None, vec![], None, None).lane,
            rollback: id(90),
            target: sha("a0"),
            from: sha("a3"),
            from_deployment: id(80),
            commits: vec![sha("a2"), sha("a3")],
            complete: true,
            by: ana(),
            reason: Some("blank page".into()),
            at: NOW,
        };
        let lock = lock_by(ana(), NOW.plus_secs(600));
        let bad_push = push(1, "main", "a3");
        let fix = push(2, "release", "a4");
        let promotion = Intent {
            kind: IntentKind::Promotion,
            ..manual(3, "UBOB", "a2")
        };
        let by_name = manual(4, "UANA", "a2");
        let mut s = lane(
            None,
            vec![
                bad_push.clone(),
                fix.clone(),
                promotion.clone(),
                by_name.clone(),
            ],
            None,
            Some(lock.clone()),
        );
        s.bad = vec![range];
        let fx = apply(&s, &LaneEvent::Drain);
        let skipped: Vec<(&DeploymentId, String)> = fx
            .iter()
            .filter_map(|e| match e {
                Effect::Skip { intent, why } => {
                    Some((intent, why.sentence(&sha("a3"), &Environment::Staging)))
                }
                _ => None,
            })
            .collect();
        assert_eq!(skipped.len(), 2, "{fx:?}");
        assert_eq!(skipped[0].0, &bad_push.id);
        assert!(
            skipped[0]
                .1
                .starts_with("not deployed: `a300000` was rolled back from staging by <@UANA>"),
            "{}",
            skipped[0].1
        );
        assert!(skipped[0].1.contains("blank page"), "{}", skipped[0].1);
        assert_eq!(skipped[1].0, &promotion.id);
        // Refused at once, even under the lock; the fix waits for the lock like everything
        // else; the holder's deploy by name goes.
        assert!(fx.contains(&wait(&fix, &lock)), "{fx:?}");
        assert!(fx.contains(&dispatch(&by_name)), "{fx:?}");
    }
}

#[cfg(test)]
mod approval_gate_tests;
#[cfg(test)]
mod gate_tests;
