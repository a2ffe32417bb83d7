//! `slack-event` (`POST /slack/event`): the Events API — the `url_verification` challenge,
//! `member_joined_channel` (an ephemeral invitation to `hello` in a bound channel),
//! `channel_rename` (the stored channel name follows) and `app_uninstalled` /
//! `tokens_revoked` (stop posting to that workspace). Other events are answered 200 and
//! ignored.
//!
//! Latency budget: Slack wants HTTP 200 within 3 seconds and retries otherwise. The handler
//! only touches the store and makes `Event` invokes.
//!
//! Idempotency key: `slack:<event_id>`. Slack's retries (`X-Slack-Retry-Num`) carry the same
//! `event_id`, so a retried or repeated event has one effect. When handling fails, the key is
//! forgotten and the answer is 500, so Slack's retry tries again.

use crate::http::{header, slack_request};
use crate::render::replies;
use crate::{AppError, AppState, idempotency};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use deploybot_core::invoke::{SlackMessageRequest, send};
use deploybot_core::{SlackChannelId, SlackTeamId, SlackUserId};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::Instrument;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/slack/event", post(handle))
        .with_state(state)
}

/// The outer envelope of an Events API request.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Envelope {
    UrlVerification {
        challenge: String,
    },
    EventCallback {
        event_id: String,
        #[serde(default)]
        team_id: Option<String>,
        event: Value,
    },
    #[serde(other)]
    Other,
}

/// The inner events deploybot acts on.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    MemberJoinedChannel {
        user: String,
        channel: String,
    },
    ChannelRename {
        channel: RenamedChannel,
    },
    AppUninstalled,
    TokensRevoked,
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct RenamedChannel {
    id: String,
    name: String,
}

async fn handle(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(error) = slack_request::verify(&state, &headers, &body) {
        return error.into_response();
    }
    let envelope: Envelope = match serde_json::from_slice(&body) {
        Ok(envelope) => envelope,
        Err(e) => return AppError::bad_request(format!("event envelope: {e}")).into_response(),
    };
    match envelope {
        Envelope::UrlVerification { challenge } => {
            Json(json!({ "challenge": challenge })).into_response()
        }
        Envelope::EventCallback {
            event_id,
            team_id,
            event,
        } => {
            let span = tracing::info_span!(
                "slack-event",
                %event_id,
                retry = header(&headers, "X-Slack-Retry-Num").unwrap_or("0"),
            );
            match callback(&state, &event_id, team_id.as_deref(), event)
                .instrument(span.clone())
                .await
            {
                Ok(()) => StatusCode::OK.into_response(),
                Err(error) => {
                    if error.is_caller_error() {
                        span.in_scope(|| tracing::warn!(%error, "event refused"));
                    }
                    error.into_response()
                }
            }
        }
        Envelope::Other => StatusCode::OK.into_response(),
    }
}

/// Handles an `event_callback` once per `event_id`.
async fn callback(
    state: &AppState,
    event_id: &str,
    team_id: Option<&str>,
    event: Value,
) -> Result<(), AppError> {
    // Parse before recording the key: a malformed event is a 400 and has no effect.
    let event: Event =
        serde_json::from_value(event).map_err(|e| AppError::bad_request(format!("event: {e}")))?;
    if matches!(event, Event::Other) {
        return Ok(());
    }
    let team = match team_id.filter(|t| !t.is_empty()) {
        Some(t) => Some(
            SlackTeamId::parse(t).map_err(|e| AppError::bad_request(format!("team_id: {e}")))?,
        ),
        None => None,
    };
    if matches!(event, Event::AppUninstalled | Event::TokensRevoked) && team.is_none() {
        return Err(AppError::bad_request(
            "uninstall or revocation event without team_id",
        ));
    }
    let key = format!("slack:{event_id}");
    match idempotency::run_once(state, &key, apply(state, team, event)).await? {
        idempotency::Once::Ran(()) => {}
        idempotency::Once::InProgress => tracing::info!("event being handled"),
        idempotency::Once::Done => tracing::info!("event already handled"),
    }
    Ok(())
}

async fn apply(state: &AppState, team: Option<SlackTeamId>, event: Event) -> Result<(), AppError> {
    match event {
        Event::MemberJoinedChannel { user, channel } => {
            let (Ok(user), Ok(channel)) =
                (SlackUserId::parse(&user), SlackChannelId::parse(&channel))
            else {
                tracing::warn!("member_joined_channel with malformed ids ignored");
                return Ok(());
            };
            invite(state, user, channel).await
        }
        Event::ChannelRename { channel } => {
            let Ok(id) = SlackChannelId::parse(&channel.id) else {
                tracing::warn!("channel_rename with a malformed channel id ignored");
                return Ok(());
            };
            let Some(mut project) = state.projects()?.project_by_channel(&id).await? else {
                return Ok(());
            };
            project.channel_name = Some(channel.name);
            // False means the channel was reset meanwhile: nothing left to rename.
            state.projects()?.update_project(&project).await?;
            Ok(())
        }
        Event::AppUninstalled | Event::TokensRevoked => {
            // `callback` refuses these without a team before recording the key.
            let Some(team) = team else {
                return Ok(());
            };
            tracing::warn!(%team, "Slack workspace uninstalled the app or revoked its tokens");
            state.projects()?.set_team_revoked(&team, true).await?;
            Ok(())
        }
        Event::Other => Ok(()),
    }
}

/// Invites a person who joined a bound channel to link their GitHub login, unless they
/// already have.
async fn invite(
    state: &AppState,
    user: SlackUserId,
    channel: SlackChannelId,
) -> Result<(), AppError> {
    let Some(project) = state.projects()?.project_by_channel(&channel).await? else {
        return Ok(());
    };
    if state.users()?.user_by_slack(&user).await?.is_some() {
        return Ok(());
    }
    let message = replies::join_invitation(&state.config.grammar, &project.repository);
    send(
        state.invoker()?,
        &SlackMessageRequest::Ephemeral {
            channel,
            user,
            message,
        },
    )
    .await?;
    Ok(())
}
