//! The watchdog (docs/workflow.md, "The watchdog"): nothing stays in flight forever. Runs on
//! a schedule (every `DEPLOYBOT_WATCHDOG_INTERVAL`; on Lambda an EventBridge schedule, in the
//! local server a background task) and reads only the lanes that are due (the lane table's
//! due-time index), at most [`SWEEP_BATCH`] per run, earliest first:
//!
//! - a lane whose lock's reminder or expiry is due gets a `Tick` (the reminder goes out once;
//!   an expired lock is released and the lane drains);
//! - a lane whose freeze ended while intents waited for it (`thaw_at`) is drained: the newest
//!   of each source deploys, and the channel is told what waited;
//! - a lane whose workflow file has a freeze window starting in thirty minutes
//!   (`freeze_warn_at`) has the channel told, with what is queued;
//! - a lane whose deployment waits for an approval request that expires now is drained: the
//!   request and the deployment end expired;
//! - a dispatched deployment that CI has not started `DEPLOYBOT_START_TIMEOUT` after its
//!   dispatch (the GitHub `deployment` event was lost) has its pipeline started by the
//!   watchdog, once: the lane record is marked first with a conditional write, so of two
//!   sweeps only one starts it; one whose GitHub deployment was never created is dispatched
//!   again (guarded the same way as every dispatch);
//! - a deployment with no outcome `DEPLOYBOT_DEPLOYMENT_TIMEOUT` after its dispatch is
//!   reconciled with what CI says: finished → that outcome, recorded by
//!   `github-deployment-status` exactly as a webhook would; still running → it keeps waiting
//!   (marked `in_progress`); unknown to CI → `error` with a sentence. The lane is freed either
//!   way;
//! - a deployment whose outcome was recorded but whose lane never heard of it (a failure
//!   between the two writes) frees the lane.
//!
//! Then the deployments parked for checks too long are failed, as before.

use super::{checks, nothing, run_lane};
use crate::{AppError, AppState, lanes};
use deploybot_core::invoke::{
    self, CircleciTriggerRequest, DeploymentCreateResponse, DeploymentStatusRequest,
};
use deploybot_core::lane::{
    CiReport, InFlight, LaneEvent, LaneRecord, Outcome, Reconciliation, WatchdogAction,
};
use deploybot_core::ports::LaneSaved;
use deploybot_core::{Deployment, DeploymentState};
use std::time::Duration;

/// How many due lanes one run looks at; the rest are still due at the next run.
pub const SWEEP_BATCH: usize = 100;

/// One run of the watchdog.
pub(super) async fn sweep(state: &AppState) -> Result<DeploymentCreateResponse, AppError> {
    let now = state.clock.now();
    let due = state.lanes()?.due_lanes(now, SWEEP_BATCH).await?;
    tracing::info!(due = due.len(), "watchdog sweep");
    for lane in due {
        let key = lane.lane.clone();
        // Boxed: a lane's look drives whole lane decisions, too big for a caller's frame.
        if let Err(error) = Box::pin(look(state, lane)).await {
            // One lane's trouble does not stop the others; it is still due next time.
            tracing::warn!(lane = %key, %error, "the watchdog could not settle a lane");
        }
    }
    checks::expire_waiting(state).await?;
    Ok(nothing())
}

/// What the watchdog does about one due lane.
async fn look(state: &AppState, lane: LaneRecord) -> Result<(), AppError> {
    let key = lane.lane.clone();
    let now = state.clock.now();
    let checks_timeout = Duration::from_secs(state.config.checks_timeout_secs.unsigned_abs());
    if lane.lock.as_ref().is_some_and(|l| l.due_at() <= now) {
        run_lane(state, &key, LaneEvent::Tick { checks_timeout }).await?;
    } else if lane.thaw_at.is_some_and(|t| t <= now) {
        // The freeze that held intents is over: they go (or wait for the next window).
        run_lane(state, &key, LaneEvent::Drain).await?;
    } else if lane.freeze_warn_at.is_some_and(|t| t <= now) {
        // A window of the workflow file starts in thirty minutes: the channel is told, and
        // the drain stores the next warning's time.
        crate::freeze_warnings::warn(state, lane.clone()).await?;
        run_lane(state, &key, LaneEvent::Drain).await?;
    } else if lane.running.is_none() && lane.due_at.is_some_and(|t| t <= now) {
        // An approval request's expiry (`crate::approvals::due_at`): the drain expires it,
        // and its deployment with it.
        run_lane(state, &key, LaneEvent::Drain).await?;
    }
    let (Some(id), Some(dispatched_at)) = (lane.running.clone(), lane.dispatched_at) else {
        return Ok(());
    };
    let found = state
        .deployments()?
        .get_deployment(&key.repository, &id)
        .await?;
    let d = match found {
        Some(d) => d,
        None => {
            let why = "its record was not found".to_owned();
            return free(state, &key, id, Outcome::Error { why }).await;
        }
    };
    if let Some(outcome) = recorded_outcome(&d) {
        return free(state, &key, id, outcome).await;
    }
    let config = lanes::watchdog_config(state);
    let in_flight = InFlight {
        dispatched_at,
        ci_started: d.pipeline_id.is_some(),
        start_attempted: lane.start_attempted,
    };
    match config.watch(&in_flight, now) {
        // Its due time moved on (CI started it since): the lane is saved with the new one.
        WatchdogAction::Nothing => run_lane(state, &key, LaneEvent::Drain).await,
        WatchdogAction::StartPipeline => {
            reconciled("start_pipeline");
            start(state, lane, d).await
        }
        WatchdogAction::Reconcile => {
            reconciled("reconcile");
            reconcile(state, &d).await
        }
    }
}

/// Counts one thing the watchdog settled that the events did not (the
/// `WatchdogReconciliations` metric; its alarm is in template.yaml).
fn reconciled(action: &str) {
    deploybot_core::metrics::emit(deploybot_core::metrics::Metric::WatchdogReconciliation {
        action: action.to_owned(),
    });
}

/// Frees a lane whose slot names a deployment that ended (or does not exist) without the lane
/// hearing of it — a failure between the record's write and the lane's.
async fn free(
    state: &AppState,
    key: &deploybot_core::lane::LaneKey,
    intent: deploybot_core::DeploymentId,
    outcome: Outcome,
) -> Result<(), AppError> {
    tracing::info!(lane = %key, deployment = %intent, "the lane had not heard that its deployment ended");
    reconciled("free_lane");
    run_lane(state, key, LaneEvent::Finished { intent, outcome }).await
}

/// The outcome a deployment's record already has, if it ended.
fn recorded_outcome(d: &Deployment) -> Option<Outcome> {
    let why = || {
        d.description
            .clone()
            .unwrap_or_else(|| d.state.label().to_owned())
    };
    match d.state {
        DeploymentState::Success | DeploymentState::Inactive => Some(Outcome::Success),
        DeploymentState::Failure => Some(Outcome::Failure { why: why() }),
        DeploymentState::Error => Some(Outcome::Error { why: why() }),
        _ => None,
    }
}

/// Starts a dispatched deployment's pipeline that CI never started: marks the attempt on the
/// lane record first (a conditional write: of two sweeps, one goes on), then asks
/// `circleci-trigger`, as the GitHub `deployment` event would have. A deployment that never
/// reached GitHub is dispatched again instead.
async fn start(state: &AppState, lane: LaneRecord, d: Deployment) -> Result<(), AppError> {
    let key = lane.lane.clone();
    let mut marked = lane;
    marked.start_attempted = true;
    let running_due = marked.dispatched_at.map(|at| {
        lanes::watchdog_config(state).due_at(&InFlight {
            dispatched_at: at,
            ci_started: false,
            start_attempted: true,
        })
    });
    // What else the lane is due for stays due (the lock, a thaw, a freeze warning).
    marked.due_at = running_due
        .into_iter()
        .chain(marked.lock.as_ref().map(|l| l.due_at()))
        .chain(marked.thaw_at)
        .chain(marked.freeze_warn_at)
        .min();
    marked.updated_at = state.clock.now();
    match state.lanes()?.save_lane(&marked).await? {
        LaneSaved::Saved(_) => {}
        LaneSaved::Conflict(_) => {
            tracing::info!(lane = %key, "another sweep or event moved the lane first");
            return Ok(());
        }
    }
    if d.github_deployment_id.is_none() {
        tracing::warn!(deployment = %d.id, "dispatched but never created on GitHub: dispatching again");
        return run_lane(state, &key, LaneEvent::Drain).await;
    }
    tracing::warn!(deployment = %d.id, "CI did not start it in time: the watchdog starts its pipeline");
    let request = CircleciTriggerRequest {
        repository: d.repository.clone(),
        deployment_id: d.id.clone(),
    };
    invoke::send(state.invoker()?, &request).await?;
    Ok(())
}

/// Asks CI what became of a deployment that has had no outcome for too long, and has
/// `github-deployment-status` record the answer as a webhook would.
async fn reconcile(state: &AppState, d: &Deployment) -> Result<(), AppError> {
    let report = match d.ci_run() {
        None => CiReport::Unknown,
        Some(run) => {
            let workflows = state.ci()?.pipeline_workflows(&run).await?;
            CiReport::from_workflows(
                workflows
                    .iter()
                    .map(|w| (w.name.as_str(), w.status.as_str())),
            )
        }
    };
    let lane_state = if d.state == DeploymentState::InProgress {
        deploybot_core::lane::LaneState::InProgress
    } else {
        deploybot_core::lane::LaneState::Dispatched
    };
    let config = lanes::watchdog_config(state);
    let ci_name = d.ci_target().kind().label();
    let now = state.clock.now();
    let (to, description) = match config.reconcile(lane_state, report, &d.environment, ci_name, now)
    {
        Reconciliation::Finish(Outcome::Success) => (DeploymentState::Success, None),
        Reconciliation::Finish(Outcome::Failure { why }) => (DeploymentState::Failure, Some(why)),
        Reconciliation::Finish(Outcome::Error { why }) => (DeploymentState::Error, Some(why)),
        Reconciliation::KeepWaiting {
            mark_in_progress, ..
        } => {
            if !mark_in_progress {
                return Ok(());
            }
            (DeploymentState::InProgress, None)
        }
    };
    tracing::warn!(deployment = %d.id, %to, "the watchdog reconciled a deployment with CI");
    let request = DeploymentStatusRequest {
        repository: d.repository.clone(),
        deployment_id: d.id.clone(),
        state: to,
        log_url: None,
        environment_url: d.environment_url.clone(),
        description,
        from_github: false,
        finished_workflow: None,
    };
    invoke::call(state.invoker()?, &request).await?;
    Ok(())
}
