//! `circleci-trigger`: not built yet.

use crate::{AppError, AppState};
use deploybot_core::invoke::{CircleciTriggerRequest, CircleciTriggerResponse};

pub async fn handle(
    _state: &AppState,
    _request: CircleciTriggerRequest,
) -> Result<CircleciTriggerResponse, AppError> {
    Err(AppError::Internal(
        "circleci-trigger is not built yet".into(),
    ))
}
