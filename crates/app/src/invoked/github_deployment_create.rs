//! `github-deployment-create`: not built yet.

use crate::{AppError, AppState};
use deploybot_core::invoke::{DeploymentCreateRequest, DeploymentCreateResponse};

pub async fn handle(
    _state: &AppState,
    _request: DeploymentCreateRequest,
) -> Result<DeploymentCreateResponse, AppError> {
    Err(AppError::Internal(
        "github-deployment-create is not built yet".into(),
    ))
}
