//! `slack-event` (`POST /slack/event`): the Events API — the `url_verification` challenge,
//! `member_joined_channel` (an ephemeral invitation to `hello` in a bound channel),
//! `channel_rename` / `group_rename` (the stored channel name follows), the channel archived
//! (`channel_archive`, `group_archive`), deleted (`channel_deleted`, `group_deleted`) or left
//! by deploybot itself (`member_left_channel` of the bot user, `channel_left`, `group_left`):
//! the repository is unbound and why is recorded, and `app_uninstalled` / `tokens_revoked`
//! (stop posting to that workspace), and `app_home_opened` (the person's Home tab is
//! published by `slack-message`, docs/notifications.md). Other events, `channel_unarchive` and `group_unarchive`
//! among them (the binding is gone by then; `setup` ties the channel again), are answered 200
//! and ignored.
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
use deploybot_core::{SlackChannelId, SlackTeamId, SlackUserId, UnbindReason, Unbinding};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::Instrument;

/// The route's path.
const PATH: &str = "/slack/event";

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(PATH, post(handle))
        .layer(super::log_refusals(PATH))
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
        /// Who the event was delivered for: deploybot's bot user (`is_bot`).
        #[serde(default)]
        authorizations: Vec<Authorization>,
        /// The older form of the same (deprecated by Slack, still sent to some apps).
        #[serde(default)]
        authed_users: Vec<String>,
    },
    #[serde(other)]
    Other,
}

/// One installation the event was delivered for.
#[derive(Debug, Deserialize)]
struct Authorization {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    is_bot: bool,
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
    GroupRename {
        channel: RenamedChannel,
    },
    ChannelArchive {
        channel: String,
    },
    GroupArchive {
        channel: String,
    },
    ChannelDeleted {
        channel: String,
    },
    GroupDeleted {
        channel: String,
    },
    /// Someone left a channel; deploybot acts only when it is its own bot user.
    MemberLeftChannel {
        user: String,
        channel: String,
    },
    /// deploybot's bot user left (or was removed from) a public channel.
    ChannelLeft {
        channel: String,
    },
    /// deploybot's bot user left (or was removed from) a private channel.
    GroupLeft {
        channel: String,
    },
    AppUninstalled,
    TokensRevoked,
    /// Someone opened one of the app's tabs; the Home tab gets its grid
    /// (docs/notifications.md, "App Home").
    AppHomeOpened {
        user: String,
        #[serde(default)]
        tab: Option<String>,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct RenamedChannel {
    id: String,
    name: String,
}

impl Event {
    /// The event's Slack type.
    fn kind(&self) -> &'static str {
        match self {
            Event::MemberJoinedChannel { .. } => "member_joined_channel",
            Event::ChannelRename { .. } => "channel_rename",
            Event::GroupRename { .. } => "group_rename",
            Event::ChannelArchive { .. } => "channel_archive",
            Event::GroupArchive { .. } => "group_archive",
            Event::ChannelDeleted { .. } => "channel_deleted",
            Event::GroupDeleted { .. } => "group_deleted",
            Event::MemberLeftChannel { .. } => "member_left_channel",
            Event::ChannelLeft { .. } => "channel_left",
            Event::GroupLeft { .. } => "group_left",
            Event::AppUninstalled => "app_uninstalled",
            Event::TokensRevoked => "tokens_revoked",
            Event::AppHomeOpened { .. } => "app_home_opened",
            Event::Other => "other",
        }
    }
}

/// deploybot's own Slack user ids as the envelope names them: the bot users among
/// `authorizations`, or, when Slack sent none, the `authed_users` (deploybot holds only a bot
/// token, so those are its bot user).
fn bot_users(authorizations: &[Authorization], authed_users: &[String]) -> Vec<String> {
    if authorizations.is_empty() {
        return authed_users.to_vec();
    }
    authorizations
        .iter()
        .filter(|a| a.is_bot)
        .filter_map(|a| a.user_id.clone())
        .collect()
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
            authorizations,
            authed_users,
        } => {
            let correlation = crate::correlation::slack(&event_id);
            let span = tracing::info_span!(
                "slack-event",
                correlation_id = %correlation,
                %event_id,
                retry = header(&headers, "X-Slack-Retry-Num").unwrap_or("0"),
            );
            let bots = bot_users(&authorizations, &authed_users);
            let ran = crate::correlation::scope(
                &correlation,
                callback(&state, &event_id, team_id.as_deref(), &bots, event)
                    .instrument(span.clone()),
            );
            match ran.await {
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
    bots: &[String],
    event: Value,
) -> Result<(), AppError> {
    // Parse before recording the key: a malformed event is a 400 and has no effect.
    let event: Event =
        serde_json::from_value(event).map_err(|e| AppError::bad_request(format!("event: {e}")))?;
    if matches!(event, Event::Other) {
        return Ok(());
    }
    // Someone else leaving a channel concerns deploybot no more than an unknown event.
    if let Event::MemberLeftChannel { user, .. } = &event
        && !bots.iter().any(|bot| bot == user)
    {
        if bots.is_empty() {
            tracing::warn!("member_left_channel without deploybot's user id ignored");
        }
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
    let kind = event.kind();
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
        Event::ChannelRename { channel } | Event::GroupRename { channel } => {
            let Ok(id) = SlackChannelId::parse(&channel.id) else {
                tracing::warn!(event = kind, "rename with a malformed channel id ignored");
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
        Event::ChannelArchive { channel } | Event::GroupArchive { channel } => {
            unbind(state, &channel, UnbindReason::ChannelArchived, kind).await
        }
        Event::ChannelDeleted { channel } | Event::GroupDeleted { channel } => {
            unbind(state, &channel, UnbindReason::ChannelDeleted, kind).await
        }
        // `callback` passes only the bot's own `member_left_channel` on.
        Event::MemberLeftChannel { channel, .. }
        | Event::ChannelLeft { channel }
        | Event::GroupLeft { channel } => {
            unbind(state, &channel, UnbindReason::BotRemoved, kind).await
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
        Event::AppHomeOpened { user, tab } => {
            // The Messages tab opens too; only the Home tab has a view to publish.
            if tab.as_deref().is_some_and(|t| t != "home") {
                return Ok(());
            }
            let Ok(user) = SlackUserId::parse(&user) else {
                tracing::warn!("app_home_opened with a malformed user id ignored");
                return Ok(());
            };
            let request = SlackMessageRequest::Home { user, opened: true };
            send(state.invoker()?, &request).await?;
            Ok(())
        }
        Event::Other => Ok(()),
    }
}

/// The channel cannot be posted to any more: records why its repository stops following it,
/// then unbinds it, so that `setup` can tie the repository to another channel. A channel
/// that follows nothing changes nothing.
///
/// The record is written first: when unbinding fails, the event is forgotten and Slack's
/// retry finds the binding still there and does both again; the other way round, a retry
/// would find nothing to record.
async fn unbind(
    state: &AppState,
    channel: &str,
    reason: UnbindReason,
    kind: &'static str,
) -> Result<(), AppError> {
    let Ok(channel) = SlackChannelId::parse(channel) else {
        tracing::warn!(event = kind, "event with a malformed channel id ignored");
        return Ok(());
    };
    let projects = state.projects()?;
    let Some(project) = projects.project_by_channel(&channel).await? else {
        return Ok(());
    };
    let record = Unbinding {
        repository: project.repository.clone(),
        channel: channel.clone(),
        channel_name: project.channel_name.clone(),
        reason,
        event: Some(kind.to_owned()),
        at: state.clock.now(),
    };
    projects.record_unbinding(&record).await?;
    if projects.unbind_project(&channel).await?.is_some() {
        tracing::warn!(
            event = kind,
            %channel,
            repository = %project.repository,
            "the channel cannot be posted to any more: its repository is unbound"
        );
    }
    Ok(())
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
