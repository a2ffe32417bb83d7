//! `github-deployment-status`: moves a deployment to a new state in the order docs/workflow.md
//! gives ("Lifecycle") — record (version guard), GitHub deployment status (unless GitHub already
//! has it), Slack message. Idempotent: a repeated or out-of-order request changes nothing.

use crate::lifecycle::{self, Transition};
use crate::{AppError, AppState};
use deploybot_core::invoke::{DeploymentStatusRequest, DeploymentStatusResponse};

pub async fn handle(
    state: &AppState,
    request: DeploymentStatusRequest,
) -> Result<DeploymentStatusResponse, AppError> {
    let current = lifecycle::load(state, &request.repository, &request.deployment_id).await?;
    let transition = Transition::to(request.state)
        .log_url(request.log_url)
        .environment_url(request.environment_url)
        .maybe_description(request.description)
        .from_github(request.from_github);
    let saved = lifecycle::transition(state, current, &transition).await?;
    if !saved.changed() {
        tracing::info!(
            deployment = %request.deployment_id,
            current = %saved.deployment().state,
            requested = %request.state,
            "deployment status unchanged"
        );
    }
    Ok(DeploymentStatusResponse {
        state: saved.deployment().state,
        changed: saved.changed(),
    })
}
