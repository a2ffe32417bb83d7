//! `github-collaborators`: not built yet.

use crate::{AppError, AppState};
use deploybot_core::invoke::{CollaboratorsRequest, CollaboratorsResponse};

pub async fn handle(
    _state: &AppState,
    _request: CollaboratorsRequest,
) -> Result<CollaboratorsResponse, AppError> {
    Err(AppError::Internal(
        "github-collaborators is not built yet".into(),
    ))
}
