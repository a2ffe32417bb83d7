//! `slack-message`: not built yet.

use crate::{AppError, AppState};
use deploybot_core::invoke::{SlackMessageRequest, SlackMessageResponse};

pub async fn handle(
    _state: &AppState,
    _request: SlackMessageRequest,
) -> Result<SlackMessageResponse, AppError> {
    Err(AppError::Internal("slack-message is not built yet".into()))
}
