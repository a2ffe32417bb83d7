//! Lanes in practice (docs/workflow.md, "Lanes"): reads a lane's snapshot from the store,
//! asks `deploybot_core::lane::decide` what an event means, answers its ancestry questions
//! through GitHub's compare API, and applies the effects — the lane record first, with one
//! conditional write (a conflict means another decision won: read again, decide again), then
//! each changed deployment record (version-guarded), the lock history, and the messages.
//!
//! The intents of a lane are its deployment records while they are pending (`waiting`,
//! `ready`, `waiting_for_checks`); the record's `seq` is the lane's arrival counter. The lane
//! record holds the slot (`running`, dispatched at `dispatched_at`), what the lane runs
//! (`current`), the lock and `due_at`, the watchdog's next look.
//!
//! A `Dispatch` effect fills the slot in the lane record; the caller then carries it out
//! ([`Applied::dispatch`]): `github-deployment-create` creates the GitHub deployment, and any
//! other function asks it to with a `dispatch` invoke.

use crate::lifecycle::{self, Transition};
use crate::{AppError, AppState};
use deploybot_core::invoke::{self, DeploymentCreateRequest, SlackMessageRequest};
use deploybot_core::lane::{
    Ancestry, Decision, Effect, Gates, Hold, InFlight, Intent, IntentKind, IntentStatus, LaneEvent,
    LaneKey, LaneRecord, LaneSnapshot, Lock, LockEnd, LockHistoryEntry, LockHistoryEvent, Notice,
    Outcome, Requester, SourceKey, WatchdogConfig, decide_gated,
};
use deploybot_core::policy::Policy;
use deploybot_core::ports::LaneSaved;
use deploybot_core::{Deployment, DeploymentId, DeploymentState, SlackChannelId, Trigger};
use std::sync::Arc;

/// How many pending intents a decision reads (a lane's queue is short: newest wins per
/// source; more than this many sources waiting at once is not a lane people can follow).
pub const PENDING_LIMIT: usize = 100;

/// How often a decision is taken again after another one was saved first.
const MAX_ATTEMPTS: usize = 8;

/// The lane a deployment belongs to.
pub fn lane_of(d: &Deployment) -> LaneKey {
    LaneKey {
        repository: d.repository.clone(),
        environment: d.environment.clone(),
    }
}

/// The watchdog's timing, from the configuration.
pub fn watchdog_config(state: &AppState) -> WatchdogConfig {
    WatchdogConfig {
        start_timeout: state.config.start_timeout,
        deployment_timeout: state.config.deployment_timeout,
        interval: state.config.watchdog_interval,
    }
}

/// What kind of wish a deployment record is, who asked, and its source.
fn kind_of(d: &Deployment) -> (IntentKind, Requester) {
    match &d.trigger {
        Trigger::PullRequest { .. } => (
            IntentKind::PullRequest,
            Requester::GitHub(d.commit_author.clone()),
        ),
        Trigger::Push { pusher } => (IntentKind::Push, Requester::GitHub(pusher.clone())),
        Trigger::Tag { pusher } => (IntentKind::Tag, Requester::GitHub(pusher.clone())),
        Trigger::Manual { slack_user } => {
            (IntentKind::Manual, Requester::Person(slack_user.clone()))
        }
        Trigger::Retry { slack_user, of } => (
            IntentKind::Retry { of: of.clone() },
            Requester::Person(slack_user.clone()),
        ),
        Trigger::Rollback { slack_user, .. } => {
            (IntentKind::Rollback, Requester::Person(slack_user.clone()))
        }
    }
}

/// A deployment record as the lane model sees it, given the lane record (which says whether
/// it holds the slot, and since when).
pub fn intent_of(d: &Deployment, lane: &LaneRecord) -> Intent {
    let (kind, requested_by) = kind_of(d);
    let source = SourceKey::of(&kind, &d.git_ref, &requested_by, d.pr_number)
        .unwrap_or_else(|| SourceKey::Branch(d.git_ref.short_name().to_owned()));
    let holds_slot = lane.running.as_ref() == Some(&d.id);
    let at = lane.dispatched_at.unwrap_or(d.updated_at);
    let why = || d.description.clone().unwrap_or_default();
    let status = match d.state {
        // The slot's holder runs until the lane hears that it ended, whatever its record
        // says already: the record is written first (parked, failed, succeeded), then the
        // lane is told.
        DeploymentState::InProgress if holds_slot => IntentStatus::InProgress { at },
        _ if holds_slot => IntentStatus::Dispatched { at },
        DeploymentState::Ready => IntentStatus::Queued,
        DeploymentState::Waiting => IntentStatus::Waiting {
            hold: d.hold.clone().unwrap_or(Hold::Checks {
                contexts: Vec::new(),
                since: d.updated_at,
            }),
        },
        DeploymentState::WaitingForChecks => IntentStatus::Waiting {
            hold: Hold::Checks {
                contexts: d.waiting_for.clone(),
                since: d.updated_at,
            },
        },
        DeploymentState::Created | DeploymentState::Queued => IntentStatus::Dispatched { at },
        DeploymentState::InProgress => IntentStatus::InProgress { at },
        DeploymentState::Success => IntentStatus::Success,
        DeploymentState::Inactive if d.has_succeeded() => IntentStatus::Success,
        DeploymentState::Failure => IntentStatus::Failure { why: why() },
        DeploymentState::Error => IntentStatus::Error { why: why() },
        DeploymentState::Superseded
        | DeploymentState::Skipped
        | DeploymentState::Inactive
        | DeploymentState::Cancelled => IntentStatus::Cancelled { why: why() },
        DeploymentState::Expired => IntentStatus::Expired { why: why() },
    };
    Intent {
        id: d.id.clone(),
        source,
        kind,
        requested_by,
        git_ref: d.git_ref.clone(),
        sha: d.sha.clone(),
        // When the wish was made: the id is taken when the push, the pull-request event or
        // the command arrives, before any invoke that may run late or out of order.
        created_at: d.id.created(),
        seq: d.seq,
        status,
    }
}

/// A lane as read for one decision.
#[derive(Debug, Clone)]
pub struct LaneView {
    pub record: LaneRecord,
    pub running: Option<Deployment>,
    pub current: Option<Deployment>,
    pub pending: Vec<Deployment>,
    /// The lane's rolled-back ranges, newest first (read after the lane record: a range is
    /// recorded before the lane hears that its rollback succeeded, so a decision that sees
    /// the slot free sees the range).
    pub bad: Vec<deploybot_core::rollback::BadRange>,
}

impl LaneView {
    fn snapshot(&self, state: &AppState) -> LaneSnapshot {
        let r = &self.record;
        LaneSnapshot {
            lane: r.lane.clone(),
            version: r.version,
            running: self.running.as_ref().map(|d| intent_of(d, r)),
            pending: self.pending.iter().map(|d| intent_of(d, r)).collect(),
            current: self.current.as_ref().map(|d| intent_of(d, r)),
            lock: r.lock.clone(),
            bad: self.bad.clone(),
            now: state.clock.now(),
        }
    }

    fn deployment(&self, id: &DeploymentId) -> Option<&Deployment> {
        self.pending
            .iter()
            .chain(self.running.iter())
            .chain(self.current.iter())
            .find(|d| &d.id == id)
    }
}

/// Reads a lane: its record, the deployments it runs and ran, and its pending ones — four
/// key or index reads, issued together.
pub async fn read(state: &AppState, key: &LaneKey) -> Result<LaneView, AppError> {
    let lanes = state.lanes()?;
    let deployments = state.deployments()?;
    let (record, pending) = tokio::join!(
        lanes.get_lane(key),
        deployments.pending_deployments(key, PENDING_LIMIT)
    );
    let record = record?.unwrap_or_else(|| LaneRecord::empty(key.clone(), state.clock.now()));
    let get = |id: Option<DeploymentId>| async move {
        match id {
            Some(id) => deployments.get_deployment(&key.repository, &id).await,
            None => Ok(None),
        }
    };
    let (running, current, bad) = tokio::join!(
        get(record.running.clone()),
        get(record.current.clone()),
        lanes.bad_ranges(key, deploybot_core::rollback::RANGES_READ)
    );
    Ok(LaneView {
        running: running?,
        current: current?,
        pending: pending?,
        bad: bad?,
        record,
    })
}

/// Why the Retry of `failed` may not go, if it may not: once a newer deployment succeeded in
/// its environment, retrying the older failure would take the environment backwards; the
/// sentence names the newer deployment. (Retrying what did not fail is refused before.)
pub async fn retry_refusal(
    state: &AppState,
    failed: &Deployment,
) -> Result<Option<String>, AppError> {
    let key = lane_of(failed);
    let lane = state
        .lanes()?
        .get_lane(&key)
        .await?
        .unwrap_or_else(|| LaneRecord::empty(key, state.clock.now()));
    let current = match &lane.current {
        Some(id) => {
            state
                .deployments()?
                .get_deployment(&failed.repository, id)
                .await?
        }
        None => None,
    };
    let current = current.map(|c| intent_of(&c, &lane));
    Ok(deploybot_core::lane::check_retry(
        &intent_of(failed, &lane),
        current.as_ref(),
        failed.environment.clone(),
    )
    .err()
    .map(|refusal| refusal.to_string()))
}

/// What applying an event did.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The lane record as saved (or as read, when nothing about it changed).
    pub lane: LaneRecord,
    /// The effects applied.
    pub effects: Vec<Effect>,
    /// The deployment that took the slot, to be dispatched by the caller.
    pub dispatch: Option<Deployment>,
    /// The answers for the person who acted ([`Notice::Reply`], [`Notice::ConfirmUnlock`]),
    /// held back for the caller to give ([`apply_in`]); empty when they were sent.
    pub replies: Vec<Notice>,
}

/// Decides, answering ancestry questions through GitHub. Without a GitHub client (a function
/// whose profile has none) a question cannot be answered here: `None`, and the caller hands
/// the event to `github-deployment-create`.
async fn decide_answering(
    state: &AppState,
    snapshot: &LaneSnapshot,
    event: &LaneEvent,
    gates: &Gates,
) -> Result<Option<Vec<Effect>>, AppError> {
    let mut ancestry = Ancestry::new();
    // Each answer settles one question; a lane has at most one question per pending intent.
    for _ in 0..=PENDING_LIMIT {
        match decide_gated(snapshot, event, &ancestry, gates) {
            Decision::Apply(effects) => return Ok(Some(effects)),
            Decision::Ask(question) => {
                let Ok(github) = state.github() else {
                    return Ok(None);
                };
                let status = github
                    .compare_commits(&snapshot.lane.repository, &question.commit, &question.of)
                    .await?;
                // An answer GitHub does not give (a status it added later) counts as "not an
                // ancestor": the intent deploys rather than being skipped.
                let is_ancestor =
                    deploybot_core::lane::AncestryQuestion::answer_from_compare_status(&status)
                        .unwrap_or(false);
                ancestry.record(&question, is_ancestor);
            }
        }
    }
    Err(AppError::Internal(format!(
        "deciding for {} kept asking about ancestry",
        snapshot.lane
    )))
}

/// Applies `event` to the lane `key`: decide, save the lane record, then the deployments,
/// the lock history and the messages. The caller dispatches [`Applied::dispatch`]. The lane's
/// notices go to the channel its deployments post to.
pub async fn apply(
    state: &AppState,
    key: &LaneKey,
    event: &LaneEvent,
) -> Result<Applied, AppError> {
    apply_with(state, key, event, None, false, None).await
}

/// As [`apply`], right after `fresh` was stored as a new intent of the lane: the index of
/// pending deployments may not show it yet (DynamoDB's indexes are eventually consistent), so
/// it is read by key and counted in when the index misses it.
pub async fn apply_after_storing(
    state: &AppState,
    key: &LaneKey,
    event: &LaneEvent,
    fresh: &DeploymentId,
) -> Result<Applied, AppError> {
    apply_with(state, key, event, None, false, Some(fresh)).await
}

/// As [`apply`], for a person's command or button: the lane's notices go to `channel` when
/// given (a lane with no deployment at hand has no other), and the answers for that person
/// are not sent but returned in [`Applied::replies`], for the caller to give as its own answer
/// (a slash command's reply, a button's `response_url`).
pub async fn apply_in(
    state: &AppState,
    key: &LaneKey,
    event: &LaneEvent,
    channel: Option<&SlackChannelId>,
) -> Result<Applied, AppError> {
    apply_with(state, key, event, channel, true, None).await
}

/// The workflow policy of the lane's repository: one key read of its project. The built-in
/// workflow when the repository has no project (any more).
pub async fn policy_of_repository(
    state: &AppState,
    key: &LaneKey,
) -> Result<Arc<Policy>, AppError> {
    let project = state
        .projects()?
        .project_by_repository(&key.repository)
        .await?;
    Ok(match project {
        Some(project) => state.policy_of(&project),
        None => state.workflows.builtin(),
    })
}

/// The lane's gates at `now`: the freeze in force (the workflow file's windows and the freeze
/// set from Slack on the lane record), from the stored windows and the clock.
pub fn gates(policy: &Policy, record: &LaneRecord, now: deploybot_core::Timestamp) -> Gates {
    Gates {
        freeze: policy.frozen(&record.lane.environment, record.freeze.as_ref(), now),
        ..Gates::none()
    }
}

async fn apply_with(
    state: &AppState,
    key: &LaneKey,
    event: &LaneEvent,
    channel: Option<&SlackChannelId>,
    replies_to_caller: bool,
    fresh: Option<&DeploymentId>,
) -> Result<Applied, AppError> {
    // One key read of the project, whatever the lane's history: the freeze's only store call
    // (approvals add one key read per pending deployment that needs one).
    let project = state
        .projects()?
        .project_by_repository(&key.repository)
        .await?;
    let policy = match &project {
        Some(project) => state.policy_of(project),
        None => state.workflows.builtin(),
    };
    let workflow = crate::approvals::workflow_version(project.as_ref());
    for _ in 0..MAX_ATTEMPTS {
        let mut view = read(state, key).await?;
        if let Some(id) = fresh
            && !view.pending.iter().any(|d| &d.id == id)
            && let Some(d) = state
                .deployments()?
                .get_deployment(&key.repository, id)
                .await?
            && d.state.is_pending()
            && view.record.running.as_ref() != Some(id)
        {
            view.pending.push(d);
        }
        let snapshot = view.snapshot(state);
        let mut gates = gates(&policy, &view.record, snapshot.now);
        let approvals =
            crate::approvals::gates(state, &policy, &workflow, &view.pending, snapshot.now).await?;
        let Some(approvals) = approvals else {
            // A request to make needs GitHub's teams: `github-deployment-create` decides.
            forward(state, key, event).await?;
            return Ok(Applied {
                lane: view.record,
                effects: Vec::new(),
                dispatch: None,
                replies: Vec::new(),
            });
        };
        gates.approvals = approvals;
        let Some(effects) = decide_answering(state, &snapshot, event, &gates).await? else {
            forward(state, key, event).await?;
            return Ok(Applied {
                lane: view.record,
                effects: Vec::new(),
                dispatch: None,
                replies: Vec::new(),
            });
        };
        let now = snapshot.now;
        let mut next = view.record.clone();
        for effect in &effects {
            apply_to_record(&mut next, effect, now);
        }
        next.thaw_at = thaw_at(&gates, &view, &effects);
        next.freeze_warn_at =
            crate::freeze_warnings::next(&policy, &key.environment, now, next.freeze_warned)
                .map(|w| w.at);
        next.due_at = due_at(state, &next, &view, &effects)
            .into_iter()
            .chain(crate::approvals::due_at(&view.pending, &effects))
            .chain(next.freeze_warn_at)
            .min();
        let lane = if next != view.record {
            next.updated_at = now;
            match state.lanes()?.save_lane(&next).await? {
                LaneSaved::Saved(saved) => *saved,
                LaneSaved::Conflict(_) => continue,
            }
        } else {
            view.record.clone()
        };
        let dispatch = apply_to_deployments(state, &view, &effects).await?;
        crate::approvals::after_effects(state, &workflow, &view.pending, &effects).await;
        // The deployments that waited in the lane when it was decided (docs/operations.md,
        // "Metrics").
        deploybot_core::metrics::emit(deploybot_core::metrics::Metric::LaneQueueDepth {
            environment: key.environment.to_string(),
            depth: u64::try_from(view.pending.len()).unwrap_or(u64::MAX),
        });
        record_history(state, key, view.record.lock.as_ref(), &effects, now).await;
        let replies: Vec<Notice> = effects
            .iter()
            .filter_map(|e| match e {
                Effect::Notify(n) if replies_to_caller && is_reply(n) => Some(n.clone()),
                _ => None,
            })
            .collect();
        notify(state, &view, channel, &effects, replies_to_caller).await;
        return Ok(Applied {
            lane,
            effects,
            dispatch,
            replies,
        });
    }
    Err(AppError::Internal(format!(
        "lane {key} kept changing while a decision was saved"
    )))
}

/// Sets (or, with `None`, lifts) the freeze set from Slack on the lane record, with a
/// conditional write (read again on a conflict). Returns the freeze it replaced (none when
/// there was none, or nothing changed). The caller drains the lane afterwards.
pub async fn set_freeze(
    state: &AppState,
    key: &LaneKey,
    freeze: Option<deploybot_core::freeze::ManualFreeze>,
) -> Result<Option<deploybot_core::freeze::ManualFreeze>, AppError> {
    let lanes = state.lanes()?;
    for _ in 0..MAX_ATTEMPTS {
        let now = state.clock.now();
        let mut record = lanes
            .get_lane(key)
            .await?
            .unwrap_or_else(|| LaneRecord::empty(key.clone(), now));
        if record.freeze == freeze {
            return Ok(None);
        }
        let before = std::mem::replace(&mut record.freeze, freeze.clone());
        record.updated_at = now;
        match lanes.save_lane(&record).await? {
            LaneSaved::Saved(_) => return Ok(before),
            LaneSaved::Conflict(_) => continue,
        }
    }
    Err(AppError::Internal(format!(
        "lane {key} kept changing while its freeze was saved"
    )))
}

/// Hands an event this function cannot decide (it needs GitHub's answer) to
/// `github-deployment-create`, without waiting.
async fn forward(state: &AppState, key: &LaneKey, event: &LaneEvent) -> Result<(), AppError> {
    let request = DeploymentCreateRequest::Lane {
        lane: key.clone(),
        event: event.clone(),
    };
    invoke::send(state.invoker()?, &request).await?;
    Ok(())
}

/// The lane-record part of an effect.
fn apply_to_record(r: &mut LaneRecord, effect: &Effect, now: deploybot_core::Timestamp) {
    match effect {
        Effect::Dispatch { intent } => {
            r.running = Some(intent.clone());
            r.dispatched_at = Some(now);
            r.dispatches += 1;
            r.start_attempted = false;
        }
        Effect::Finish { intent, outcome } if r.running.as_ref() == Some(intent) => {
            r.running = None;
            r.dispatched_at = None;
            r.start_attempted = false;
            if *outcome == Outcome::Success {
                r.current = Some(intent.clone());
            }
        }
        Effect::Park { intent, .. } if r.running.as_ref() == Some(intent) => {
            r.running = None;
            r.dispatched_at = None;
            r.start_attempted = false;
        }
        Effect::TakeLock(lock) => r.lock = Some(lock.clone()),
        Effect::ReleaseLock { .. } => r.lock = None,
        Effect::MarkReminded => {
            if let Some(lock) = r.lock.as_mut() {
                lock.reminded = true;
            }
        }
        _ => {}
    }
}

/// When the watchdog should look at the lane next: the running deployment's start or
/// deployment timeout, the lock's reminder or expiry, whichever is first.
fn due_at(
    state: &AppState,
    r: &LaneRecord,
    view: &LaneView,
    effects: &[Effect],
) -> Option<deploybot_core::Timestamp> {
    let config = watchdog_config(state);
    let running = r.running.as_ref().zip(r.dispatched_at).map(|(id, at)| {
        let started = effects
            .iter()
            .any(|e| matches!(e, Effect::MarkInProgress { intent } if intent == id))
            || view
                .running
                .as_ref()
                .filter(|d| &d.id == id)
                .is_some_and(|d| d.pipeline_id.is_some() || d.state == DeploymentState::InProgress);
        config.due_at(&InFlight {
            dispatched_at: at,
            ci_started: started,
            start_attempted: r.start_attempted,
        })
    });
    let lock = r.lock.as_ref().map(|l| l.due_at());
    running.into_iter().chain(lock).chain(r.thaw_at).min()
}

/// When the freeze that holds some of the lane's intents ends, if one does after `effects`:
/// the watchdog drains the lane then.
fn thaw_at(
    gates: &Gates,
    view: &LaneView,
    effects: &[Effect],
) -> Option<deploybot_core::Timestamp> {
    let frozen = gates.freeze.as_ref()?;
    let is_freeze = |hold: &Hold| matches!(hold, Hold::Freeze { .. });
    let held_before = view
        .pending
        .iter()
        .filter(|d| d.state == DeploymentState::Waiting && d.hold.as_ref().is_some_and(is_freeze));
    let moved = |id: &DeploymentId| {
        effects.iter().any(|e| {
            e.intent() == Some(id) && !matches!(e, Effect::Wait { hold, .. } if is_freeze(hold))
        })
    };
    let still_held = held_before.map(|d| &d.id).any(|id| !moved(id));
    let newly_held = effects
        .iter()
        .any(|e| matches!(e, Effect::Wait { hold, .. } if is_freeze(hold)));
    (still_held || newly_held).then_some(frozen.until)
}

/// The deployment-record part of the effects, in order. Returns the deployment that took the
/// slot.
async fn apply_to_deployments(
    state: &AppState,
    view: &LaneView,
    effects: &[Effect],
) -> Result<Option<Deployment>, AppError> {
    let mut dispatch = None;
    for effect in effects {
        let Some(id) = effect.intent() else { continue };
        let Some(d) = view.deployment(id).cloned() else {
            continue;
        };
        let environment = d.environment.clone();
        let sha = d.sha.clone();
        let sentence = |status: IntentStatus| status.sentence(&sha, &environment);
        let transition = match effect {
            Effect::Wait { hold, .. } => {
                let hold = hold.clone();
                let saved = lifecycle::update_from(state, d, |r| {
                    if !r.state.is_pending()
                        || (r.state == DeploymentState::Waiting && r.hold.as_ref() == Some(&hold))
                    {
                        return false;
                    }
                    r.state = DeploymentState::Waiting;
                    r.description = Some(hold.sentence(&r.environment));
                    r.hold = Some(hold.clone());
                    true
                })
                .await?;
                if saved.changed() {
                    lifecycle::notify_slack(state, saved.deployment()).await;
                }
                continue;
            }
            Effect::Queue { .. } => {
                let saved = lifecycle::update_from(state, d, |r| {
                    if !matches!(
                        r.state,
                        DeploymentState::Waiting | DeploymentState::WaitingForChecks
                    ) {
                        return false;
                    }
                    r.state = DeploymentState::Ready;
                    r.hold = None;
                    r.waiting_for.clear();
                    // Evaluated again when it is dispatched.
                    r.required_checks = None;
                    r.description = None;
                    true
                })
                .await?;
                if saved.changed() {
                    lifecycle::notify_slack(state, saved.deployment()).await;
                }
                continue;
            }
            Effect::Dispatch { .. } => {
                // A deployment held by a lock goes as soon as the lock is gone, without being
                // queued first: it is `ready` again, which is what the dispatcher creates.
                let saved = lifecycle::update_from(state, d, |r| {
                    if r.state != DeploymentState::Waiting {
                        return false;
                    }
                    r.state = DeploymentState::Ready;
                    r.hold = None;
                    r.description = None;
                    true
                })
                .await?;
                dispatch = Some(saved.into_deployment());
                continue;
            }
            Effect::Supersede { by, by_sha, .. } => Transition::to(DeploymentState::Superseded)
                .description(sentence(IntentStatus::Superseded {
                    by: by.clone(),
                    by_sha: by_sha.clone(),
                })),
            Effect::Skip { why, .. } => Transition::to(DeploymentState::Skipped)
                .description(sentence(IntentStatus::Skipped { why: why.clone() })),
            Effect::Fail { why, .. } => {
                Transition::to(DeploymentState::Failure).description(why.clone())
            }
            Effect::Cancel { why, .. } => {
                Transition::to(DeploymentState::Cancelled).description(why.clone())
            }
            Effect::Expire { why, .. } => {
                Transition::to(DeploymentState::Expired).description(why.clone())
            }
            Effect::MarkInProgress { .. } => Transition::to(DeploymentState::InProgress),
            // The outcome and the parking are written by whoever reported them (the status
            // function, the dispatcher) before the lane hears of them.
            Effect::Finish { .. } | Effect::Park { .. } => continue,
            Effect::TakeLock(_)
            | Effect::ReleaseLock { .. }
            | Effect::MarkReminded
            | Effect::Notify(_) => continue,
        };
        lifecycle::transition(state, d, &transition).await?;
    }
    Ok(dispatch)
}

/// Keeps every lock change in the lane's history: a lock taken, extended (the same lock, held
/// longer), released. A failure is logged: the lock itself is saved already.
async fn record_history(
    state: &AppState,
    key: &LaneKey,
    before: Option<&Lock>,
    effects: &[Effect],
    now: deploybot_core::Timestamp,
) {
    let Ok(lanes) = state.lanes() else { return };
    let mut held = before.cloned();
    for effect in effects {
        let (by, event) = match effect {
            Effect::TakeLock(lock) => {
                let same = held
                    .as_ref()
                    .is_some_and(|h| h.holder == lock.holder && h.since == lock.since);
                held = Some(lock.clone());
                let event = if same {
                    LockHistoryEvent::Extended { lock: lock.clone() }
                } else {
                    LockHistoryEvent::Locked { lock: lock.clone() }
                };
                (Some(lock.holder.clone()), event)
            }
            Effect::ReleaseLock { lock, end } => {
                held = None;
                let by = match end {
                    LockEnd::Unlocked { by } | LockEnd::TakenOver { by } => Some(by.clone()),
                    LockEnd::Expired => None,
                };
                (
                    by,
                    LockHistoryEvent::Released {
                        lock: lock.clone(),
                        end: end.clone(),
                    },
                )
            }
            _ => continue,
        };
        let entry = LockHistoryEntry {
            lane: key.clone(),
            at: now,
            by,
            event,
        };
        if let Err(error) = lanes.record_lock_event(&entry).await {
            tracing::warn!(lane = %key, %error, "recording the lock history failed");
        }
    }
}

/// Sends the decision's messages through `slack-message`, without waiting: to `channel` when
/// given, else to the channel the lane's deployments post to. The answers for the person who
/// acted are left to the caller when `replies_to_caller`.
async fn notify(
    state: &AppState,
    view: &LaneView,
    channel: Option<&SlackChannelId>,
    effects: &[Effect],
    replies_to_caller: bool,
) {
    let channel = channel.cloned().or_else(|| {
        view.pending
            .iter()
            .chain(view.running.iter())
            .chain(view.current.iter())
            .map(|d| d.slack_channel.clone())
            .next()
    });
    for effect in effects {
        let Effect::Notify(notice) = effect else {
            continue;
        };
        if replies_to_caller && is_reply(notice) {
            continue;
        }
        let Some(channel) = channel.clone() else {
            tracing::info!(lane = %view.record.lane, "no channel known for a lane notice");
            continue;
        };
        let _ = send_notice(state, &view.record.lane, &channel, notice).await;
    }
}

/// Whether a notice is the answer for the person who acted.
fn is_reply(notice: &Notice) -> bool {
    matches!(notice, Notice::Reply { .. } | Notice::ConfirmUnlock { .. })
}

/// Sends one notice to `channel` (or to the person it is for).
pub async fn send_notice(
    state: &AppState,
    lane: &LaneKey,
    channel: &SlackChannelId,
    notice: &Notice,
) -> Result<(), AppError> {
    let message = crate::render::lanes::notice_message(lane, notice);
    let request = match notice {
        Notice::Reply { to, .. } | Notice::ConfirmUnlock { to, .. } => {
            SlackMessageRequest::Ephemeral {
                channel: channel.clone(),
                user: to.clone(),
                message,
            }
        }
        Notice::LockTakenOver { lock, .. } | Notice::LockExpiringSoon { lock } => {
            SlackMessageRequest::Channel {
                channel: SlackChannelId::direct(&lock.holder),
                message,
            }
        }
        // Lock changes go under the lane's latest message when the workflow file says
        // `notify.threads: true` (slack-message decides).
        Notice::Locked { .. } | Notice::Extended { .. } | Notice::Unlocked { .. } => {
            SlackMessageRequest::LaneNotice {
                lane: lane.clone(),
                channel: channel.clone(),
                message,
            }
        }
        Notice::NextUp { .. } => SlackMessageRequest::Channel {
            channel: channel.clone(),
            message,
        },
    };
    let result = invoke::send(state.invoker()?, &request).await;
    if let Err(error) = &result {
        tracing::warn!(lane = %lane, %error, "asking slack-message to send a lane notice failed");
    }
    result.map_err(AppError::from)
}
