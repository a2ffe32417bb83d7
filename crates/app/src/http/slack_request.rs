//! What the three Slack endpoints share: request verification (size, then the `v0` signature
//! and timestamp, before anything parses the body) and the JSON reply a slash command answers
//! with.

use crate::http::{check_body_size, header};
use crate::{AppError, AppState};
use axum::Json;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use deploybot_core::blocks::Message;
use deploybot_core::signature::verify_slack;
use serde::Serialize;

/// Slack's timestamp header.
pub const TIMESTAMP_HEADER: &str = "X-Slack-Request-Timestamp";
/// Slack's signature header (`v0=<hex>`).
pub const SIGNATURE_HEADER: &str = "X-Slack-Signature";

/// Refuses a request that is too large (413) or not signed by Slack within five minutes of
/// now (401). Runs before the body is parsed, so a refused request has no effect at all.
pub fn verify(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(), AppError> {
    check_body_size(state, body)?;
    let secret = state
        .config
        .slack_signing_secret
        .as_ref()
        .ok_or(AppError::NotConfigured("Slack signing secret"))?;
    verify_slack(
        secret,
        header(headers, TIMESTAMP_HEADER),
        header(headers, SIGNATURE_HEADER),
        body,
        state.clock.now(),
    )?;
    Ok(())
}

/// Who sees a slash-command reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    /// Only the person who ran the command.
    Ephemeral,
    /// Everyone in the channel.
    InChannel,
}

/// The immediate answer to a slash command: `{"response_type", "text", "blocks"}` with
/// HTTP 200 (Slack shows any other status as an ugly failure).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlashReply {
    pub response_type: ResponseType,
    #[serde(flatten)]
    pub message: Message,
}

impl SlashReply {
    pub fn ephemeral(message: Message) -> Self {
        Self {
            response_type: ResponseType::Ephemeral,
            message,
        }
    }

    pub fn in_channel(message: Message) -> Self {
        Self {
            response_type: ResponseType::InChannel,
            message,
        }
    }
}

impl IntoResponse for SlashReply {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reply_shape_is_what_slack_expects() {
        let reply = SlashReply::in_channel(Message::text("hi"));
        assert_eq!(
            serde_json::to_value(&reply).expect("serialises"),
            json!({
                "response_type": "in_channel",
                "text": "hi",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]
            })
        );
        let reply = SlashReply::ephemeral(Message::default());
        assert_eq!(
            serde_json::to_value(&reply).expect("serialises"),
            json!({"response_type": "ephemeral", "text": ""})
        );
    }
}
