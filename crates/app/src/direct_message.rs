//! Direct messages to one person: Slack's `chat.postMessage` with their user id as the
//! channel posts to the app's conversation with them. The one place that sends them.

use crate::{AppError, AppState};
use deploybot_core::blocks::Message;
use deploybot_core::{SlackChannelId, SlackUserId};

/// Sends `message` to `user` directly; returns the message `ts`.
pub async fn send(
    state: &AppState,
    user: &SlackUserId,
    message: &Message,
) -> Result<String, AppError> {
    Ok(state
        .slack()?
        .post_message(&SlackChannelId::direct(user), message)
        .await?)
}
