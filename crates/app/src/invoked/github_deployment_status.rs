//! `github-deployment-status`: moves a deployment to a new state in the order docs/workflow.md
//! gives ("Lifecycle") — record (version guard), GitHub deployment status (unless GitHub already
//! has it), Slack message — then tells the deployment's lane, which frees its slot when the
//! deployment ended and dispatches the next one. Idempotent: a repeated or out-of-order request
//! changes nothing.

use crate::lifecycle::{self, Transition};
use crate::{AppError, AppState, lanes};
use deploybot_core::invoke::{
    self, DeploymentCreateRequest, DeploymentStatusRequest, DeploymentStatusResponse,
    FinishedWorkflow,
};
use deploybot_core::lane::{LaneEvent, Outcome};
use deploybot_core::rollback::BadRange;
use deploybot_core::{Deployment, DeploymentState, Trigger};

/// Workflow statuses of a pipeline that is still going.
const STILL_RUNNING: [&str; 3] = ["running", "on_hold", "failing"];

pub async fn handle(
    state: &AppState,
    request: DeploymentStatusRequest,
) -> Result<DeploymentStatusResponse, AppError> {
    let current = lifecycle::load(state, &request.repository, &request.deployment_id).await?;
    let mut to = request.state;
    let mut log_url = request.log_url;
    if let Some(finished) = &request.finished_workflow
        && to == DeploymentState::Success
        && others_still_running(state, &current, finished).await
    {
        // One workflow of several finished: the deployment is under way, not done.
        to = DeploymentState::InProgress;
        log_url = None;
    }
    let transition = Transition::to(to)
        .log_url(log_url)
        .environment_url(request.environment_url)
        .maybe_description(request.description)
        .from_github(request.from_github);
    let saved = lifecycle::transition(state, current, &transition).await?;
    if !saved.changed() {
        tracing::info!(
            deployment = %request.deployment_id,
            current = %saved.deployment().state,
            requested = %to,
            "deployment status unchanged"
        );
    }
    tell_lane(state, saved.deployment()).await?;
    Ok(DeploymentStatusResponse {
        state: saved.deployment().state,
        changed: saved.changed(),
    })
}

/// Tells the deployment's lane that CI runs it (`in_progress`) or that it ended (an outcome):
/// the lane frees its slot and drains, and the deployment it dispatches next is handed to
/// `github-deployment-create`. Told again for a repeated status (the lane ignores what it
/// knows), so a retry after a failure here completes the lane's part.
async fn tell_lane(state: &AppState, d: &Deployment) -> Result<(), AppError> {
    let intent = d.id.clone();
    let why = || {
        d.description
            .clone()
            .unwrap_or_else(|| d.state.label().to_owned())
    };
    let event = match d.state {
        DeploymentState::InProgress => LaneEvent::Started { intent },
        DeploymentState::Success => LaneEvent::Finished {
            intent,
            outcome: Outcome::Success,
        },
        DeploymentState::Failure => LaneEvent::Finished {
            intent,
            outcome: Outcome::Failure { why: why() },
        },
        DeploymentState::Error => LaneEvent::Finished {
            intent,
            outcome: Outcome::Error { why: why() },
        },
        _ => return Ok(()),
    };
    if d.state == DeploymentState::Success && d.trigger.is_rollback() {
        after_rollback(state, d).await?;
    }
    let applied = lanes::apply(state, &lanes::lane_of(d), &event).await?;
    if let Some(next) = applied.dispatch {
        let request = DeploymentCreateRequest::Dispatch {
            repository: next.repository.clone(),
            deployment_id: next.id.clone(),
        };
        invoke::send(state.invoker()?, &request).await?;
    }
    Ok(())
}

/// A rollback succeeded (docs/workflow.md, "Rolling back"): before its lane hears it, the
/// commits it took out are recorded as bad for the environment, and the environment is locked
/// by the person who rolled back, with the reason, for the environment's default time — so a
/// lane decision that sees the slot free sees both (docs/adr/0018-rollback.md). Both steps
/// are idempotent (the range is keyed by the rollback; a lock taken again by its holder is
/// the same lock), so a repeated status repeats them harmlessly.
async fn after_rollback(state: &AppState, d: &Deployment) -> Result<(), AppError> {
    let Trigger::Rollback {
        slack_user,
        from,
        from_sha,
        reason,
        ..
    } = &d.trigger
    else {
        return Ok(());
    };
    let key = lanes::lane_of(d);
    let from_record = state
        .deployments()?
        .get_deployment(&d.repository, from)
        .await?;
    let range = match &from_record {
        // The end is listed; every other commit of the range is told apart by ancestry
        // (GitHub's compare API, asked by the lane's decisions), so no commit list is needed.
        Some(from_record) => BadRange::of(
            d,
            from_record,
            slack_user.clone(),
            reason.clone(),
            vec![from_sha.clone()],
            false,
            d.succeeded_at.unwrap_or(d.updated_at),
        ),
        None => {
            tracing::warn!(deployment = %d.id, from = %from, "the rolled-back deployment is gone; only its commit is marked");
            BadRange {
                lane: key.clone(),
                rollback: d.id.clone(),
                target: d.sha.clone(),
                from: from_sha.clone(),
                from_deployment: from.clone(),
                commits: vec![from_sha.clone()],
                complete: false,
                by: slack_user.clone(),
                reason: reason.clone(),
                at: d.succeeded_at.unwrap_or(d.updated_at),
            }
        }
    };
    state.lanes()?.record_bad_range(&range).await?;
    let lock_reason = match reason {
        Some(reason) => format!("rolled back from `{}`: {reason}", from_sha.short()),
        None => format!("rolled back from `{}`", from_sha.short()),
    };
    let lock = LaneEvent::Lock {
        by: slack_user.clone(),
        duration: None,
        reason: Some(lock_reason),
        production: d.is_production(),
    };
    lanes::apply(state, &key, &lock).await?;
    Ok(())
}

/// Whether another workflow of the finished one's pipeline is still running (then its success
/// does not finish the deployment). When the CI cannot answer, the finished workflow decides.
async fn others_still_running(
    state: &AppState,
    current: &deploybot_core::Deployment,
    finished: &FinishedWorkflow,
) -> bool {
    let ci = match state.ci() {
        Ok(ci) => ci,
        Err(error) => {
            tracing::error!(%error, "no CI client; the finished workflow decides");
            return false;
        }
    };
    let run = deploybot_core::ports::CiRun {
        backend: current.ci_target().kind(),
        repository: current.repository.clone(),
        id: finished.pipeline_id.clone(),
    };
    match ci.pipeline_workflows(&run).await {
        Ok(workflows) => workflows
            .iter()
            .any(|w| w.id != finished.workflow_id && STILL_RUNNING.contains(&w.status.as_str())),
        Err(error) => {
            tracing::warn!(%error, "could not list the pipeline's workflows; the finished one decides");
            false
        }
    }
}
