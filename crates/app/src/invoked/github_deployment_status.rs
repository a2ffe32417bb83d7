//! `github-deployment-status`: not built yet.

use crate::{AppError, AppState};
use deploybot_core::invoke::{DeploymentStatusRequest, DeploymentStatusResponse};

pub async fn handle(
    _state: &AppState,
    _request: DeploymentStatusRequest,
) -> Result<DeploymentStatusResponse, AppError> {
    Err(AppError::Internal(
        "github-deployment-status is not built yet".into(),
    ))
}
