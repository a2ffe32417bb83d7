//! The `ClaimOffer` request of `slack-message`: list the repository's collaborators and offer
//! the ones not yet linked as "claim your GitHub login" buttons.

use crate::{AppError, AppState};
use deploybot_core::invoke::SlackMessageResponse;
use deploybot_core::{Repository, SlackChannelId, SlackUserId};

/// Handles `SlackMessageRequest::ClaimOffer`.
pub async fn handle(
    _state: &AppState,
    _repository: &Repository,
    _channel: &SlackChannelId,
    _user: &SlackUserId,
    _response_url: Option<&str>,
    _intro: Option<&str>,
) -> Result<SlackMessageResponse, AppError> {
    Err(AppError::Internal("claim offers are not built yet".into()))
}
