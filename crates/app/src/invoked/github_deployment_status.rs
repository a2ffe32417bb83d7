//! `github-deployment-status`: moves a deployment to a new state in the order docs/workflow.md
//! gives ("Lifecycle") — record (version guard), GitHub deployment status (unless GitHub already
//! has it), Slack message. Idempotent: a repeated or out-of-order request changes nothing.

use crate::lifecycle::{self, Transition};
use crate::{AppError, AppState};
use deploybot_core::DeploymentState;
use deploybot_core::invoke::{DeploymentStatusRequest, DeploymentStatusResponse, FinishedWorkflow};

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
        && others_still_running(state, finished).await
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
    Ok(DeploymentStatusResponse {
        state: saved.deployment().state,
        changed: saved.changed(),
    })
}

/// Whether another workflow of the finished one's pipeline is still running (then its success
/// does not finish the deployment). When the CI cannot answer, the finished workflow decides.
async fn others_still_running(state: &AppState, finished: &FinishedWorkflow) -> bool {
    let ci = match state.ci() {
        Ok(ci) => ci,
        Err(error) => {
            tracing::error!(%error, "no CI client; the finished workflow decides");
            return false;
        }
    };
    match ci.pipeline_workflows(&finished.pipeline_id).await {
        Ok(workflows) => workflows
            .iter()
            .any(|w| w.id != finished.workflow_id && STILL_RUNNING.contains(&w.status.as_str())),
        Err(error) => {
            tracing::warn!(%error, "could not list the pipeline's workflows; the finished one decides");
            false
        }
    }
}
