//! A fake Slack: keeps every channel message with all its versions (the post and each
//! `chat.update`), ephemerals, `response_url` posts and users. It implements the `Slack` port
//! directly (in-process handler tests) and serves the same state as a Web API over HTTP on
//! 127.0.0.1 (adapter and end-to-end tests), with scripted failures applied to both paths.
//!
//! Behaviour copied from Slack: `chat.postMessage` to a user id posts to the app's direct
//! conversation with that user ([`FakeSlack::direct_channel`]); `chat.update` of an unknown
//! `ts` → `message_not_found`; a message to an archived channel → `is_archived`, to a deleted
//! one → `channel_not_found`;
//! a revoked token → `token_revoked` on every Web API call; a `response_url` accepts at most
//! five posts (then `used_url`); a missing bearer token → `not_authed`.

use super::server::{FakeServer, Faults, SeenRequest};
use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use deploybot_core::blocks::{Block, Message};
use deploybot_core::ports::{Posted, ResponseMessage, Slack, SlackError};
use deploybot_core::{SlackChannelId, SlackUserId};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

mod manifest;
pub use manifest::FakeSlackApp;

/// How many posts Slack accepts on one `response_url`.
pub const RESPONSE_URL_MAX_POSTS: usize = 5;

/// Method names as recorded by [`FakeSlack::calls`].
pub mod method {
    pub const POST_MESSAGE: &str = "chat.postMessage";
    pub const UPDATE: &str = "chat.update";
    pub const POST_EPHEMERAL: &str = "chat.postEphemeral";
    pub const USERS_INFO: &str = "users.info";
    pub const USERGROUPS_LIST: &str = "usergroups.list";
    pub const USERS_CONVERSATIONS: &str = "users.conversations";
    pub const VIEWS_PUBLISH: &str = "views.publish";
    /// A post to a `response_url`.
    pub const RESPONSE_URL: &str = "response_url";
}

/// A failure scripted with [`FakeSlack::fail_next_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackFailure {
    /// Answer with this HTTP status. A direct call returns
    /// `SlackError::Transport("Slack answered HTTP <status>")`, as the adapter does once it
    /// stops retrying.
    Status(u16),
    /// HTTP 429 with `Retry-After: <secs>`; a direct call returns `SlackError::RateLimited`.
    RateLimited { retry_after_secs: u64 },
    /// HTTP 200 with `"ok": false` and this error code; a direct call returns
    /// `SlackError::Api(code)`.
    Api(String),
}

impl SlackFailure {
    /// The typed error the adapter maps this failure to.
    pub fn to_error(&self) -> SlackError {
        match self {
            Self::Status(status) => SlackError::Transport(format!("Slack answered HTTP {status}")),
            Self::RateLimited { retry_after_secs } => SlackError::RateLimited {
                retry_after_secs: *retry_after_secs,
            },
            Self::Api(code) => SlackError::Api(code.clone()),
        }
    }
}

/// A channel message with every version it had: the post first, then each update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedMessage {
    pub channel: SlackChannelId,
    pub ts: String,
    pub versions: Vec<Message>,
    /// The `ts` of the message it replies to, for a thread reply.
    pub thread_ts: Option<String>,
}

impl PostedMessage {
    /// The message as it reads now (the last version).
    pub fn latest(&self) -> Option<&Message> {
        self.versions.last()
    }

    /// How many times it was edited.
    pub fn edits(&self) -> usize {
        self.versions.len().saturating_sub(1)
    }
}

/// A `chat.postEphemeral`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ephemeral {
    pub channel: SlackChannelId,
    pub user: SlackUserId,
    pub message: Message,
}

/// A post to one of the fake's response URLs (see [`FakeSlack::response_url`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponsePost {
    /// The id the URL was built with.
    pub id: String,
    pub response: ResponseMessage,
}

/// A user's names as `users.info` returns them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlackProfile {
    /// The handle (`users.info` `user.name`).
    pub name: String,
    pub real_name: String,
    /// May be empty: Slack then shows the real name.
    pub display_name: String,
}

#[derive(Debug, Default)]
struct SlackState {
    messages: Vec<PostedMessage>,
    ephemerals: Vec<Ephemeral>,
    responses: Vec<ResponsePost>,
    users: HashMap<SlackUserId, SlackProfile>,
    archived: HashSet<SlackChannelId>,
    deleted: HashSet<SlackChannelId>,
    /// Channel names (without `#`) → ids, for posts by name.
    channel_names: HashMap<String, SlackChannelId>,
    /// Channels the bot was not invited to (`not_in_channel`).
    outside: HashSet<SlackChannelId>,
    /// Channel members, for `users.conversations`.
    members: HashMap<SlackChannelId, Vec<SlackUserId>>,
    /// User group handles → ids.
    user_groups: HashMap<String, String>,
    /// `views.publish` calls: whose Home tab, and the view.
    homes: Vec<(SlackUserId, Value)>,
    revoked: bool,
    calls: Vec<String>,
    requests: Vec<SeenRequest>,
    faults: Faults<SlackFailure>,
    next_ts: u64,
    base_url: Option<String>,
    required_token: Option<String>,
    /// Apps created through the app manifest API (see [`manifest`]).
    apps: Vec<manifest::FakeSlackApp>,
}

/// The fake Slack. Clones share one state.
#[derive(Debug, Clone, Default)]
pub struct FakeSlack {
    state: Arc<Mutex<SlackState>>,
}

/// Where response URLs point before the fake is served (direct calls only parse the id).
const UNSERVED_BASE: &str = "http://fake-slack.invalid";

impl FakeSlack {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, SlackState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // ---- setup ------------------------------------------------------------------------------

    /// Adds a user whose display name, real name and handle are all `display_name`.
    pub fn add_user(&self, user: &SlackUserId, display_name: &str) {
        self.add_user_profile(
            user,
            SlackProfile {
                name: display_name.to_ascii_lowercase().replace(' ', "."),
                real_name: display_name.to_owned(),
                display_name: display_name.to_owned(),
            },
        );
    }

    /// Adds (or replaces) a user with these names.
    pub fn add_user_profile(&self, user: &SlackUserId, profile: SlackProfile) {
        self.state().users.insert(user.clone(), profile);
    }

    /// Archives a channel: posts and updates in it answer `is_archived`.
    pub fn archive(&self, channel: &SlackChannelId) {
        self.state().archived.insert(channel.clone());
    }

    /// Gives a channel a name, so posts to `#name` land in it.
    pub fn add_channel(&self, channel: &SlackChannelId, name: &str) {
        self.state()
            .channel_names
            .insert(name.trim_start_matches('#').to_owned(), channel.clone());
    }

    /// The bot is not in the channel: posts and updates there answer `not_in_channel`
    /// (until [`FakeSlack::invite_bot`]).
    pub fn remove_bot(&self, channel: &SlackChannelId) {
        self.state().outside.insert(channel.clone());
    }

    pub fn invite_bot(&self, channel: &SlackChannelId) {
        self.state().outside.remove(channel);
    }

    /// `user` is a member of `channel` (as `users.conversations` tells).
    pub fn add_member(&self, channel: &SlackChannelId, user: &SlackUserId) {
        let mut state = self.state();
        let members = state.members.entry(channel.clone()).or_default();
        if !members.contains(user) {
            members.push(user.clone());
        }
    }

    /// A user group with this handle (without `@`) and id exists.
    pub fn add_user_group(&self, handle: &str, id: &str) {
        self.state()
            .user_groups
            .insert(handle.to_owned(), id.to_owned());
    }

    /// The views published to `user`'s Home tab, in order.
    pub fn homes(&self, user: &SlackUserId) -> Vec<Value> {
        self.state()
            .homes
            .iter()
            .filter(|(u, _)| u == user)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Deletes a channel: posts and updates in it answer `channel_not_found`.
    pub fn delete_channel(&self, channel: &SlackChannelId) {
        self.state().deleted.insert(channel.clone());
    }

    /// While true, every Web API call answers `token_revoked` (response URLs keep working,
    /// as they need no token).
    pub fn set_revoked(&self, revoked: bool) {
        self.state().revoked = revoked;
    }

    /// Over HTTP, only this bearer token is accepted (others answer `invalid_auth`). By
    /// default any non-empty bearer token is.
    pub fn require_token(&self, token: &str) {
        self.state().required_token = Some(token.to_owned());
    }

    // ---- scripted failures ------------------------------------------------------------------

    /// The next `times` calls (Web API or response URL) answer HTTP `status`.
    pub fn fail_next(&self, times: usize, status: u16) {
        self.fail_next_with(times, SlackFailure::Status(status));
    }

    /// The next `times` calls answer 429 with `Retry-After: retry_after_secs`.
    pub fn rate_limit_next(&self, times: usize, retry_after_secs: u64) {
        self.fail_next_with(times, SlackFailure::RateLimited { retry_after_secs });
    }

    /// The next `times` calls answer `"ok": false` with `code`.
    pub fn fail_next_api(&self, times: usize, code: &str) {
        self.fail_next_with(times, SlackFailure::Api(code.to_owned()));
    }

    pub fn fail_next_with(&self, times: usize, failure: SlackFailure) {
        self.state().faults.push(times, failure);
    }

    /// Every answer (direct or HTTP) waits this long first; `None` answers at once.
    pub fn set_delay(&self, delay: Option<Duration>) {
        self.state().faults.delay = delay;
    }

    // ---- what happened ----------------------------------------------------------------------

    /// The channel's messages in the order they were posted.
    pub fn messages(&self, channel: &SlackChannelId) -> Vec<PostedMessage> {
        self.state()
            .messages
            .iter()
            .filter(|m| &m.channel == channel)
            .cloned()
            .collect()
    }

    /// The app's direct conversation with `user` (`D` and the user id): where
    /// `chat.postMessage` puts a message whose channel is the user's id, as Slack does.
    pub fn direct_channel(user: &SlackUserId) -> SlackChannelId {
        SlackChannelId::parse(&format!("D{}", user.as_str()))
            .unwrap_or_else(|_| SlackChannelId::direct(user))
    }

    /// The direct messages the app sent `user`, in the order posted.
    pub fn direct_messages(&self, user: &SlackUserId) -> Vec<PostedMessage> {
        self.messages(&Self::direct_channel(user))
    }

    /// Every channel message, in the order posted.
    pub fn all_messages(&self) -> Vec<PostedMessage> {
        self.state().messages.clone()
    }

    /// Every version of one message (post first), or `None` when there is no such message.
    pub fn message(&self, channel: &SlackChannelId, ts: &str) -> Option<Vec<Message>> {
        self.state()
            .messages
            .iter()
            .find(|m| &m.channel == channel && m.ts == ts)
            .map(|m| m.versions.clone())
    }

    pub fn ephemerals(&self) -> Vec<Ephemeral> {
        self.state().ephemerals.clone()
    }

    pub fn responses(&self) -> Vec<ResponsePost> {
        self.state().responses.clone()
    }

    /// Method names called, in order, including failed calls (see [`method`]).
    pub fn calls(&self) -> Vec<String> {
        self.state().calls.clone()
    }

    /// The HTTP requests the fake received, in order.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.state().requests.clone()
    }

    /// A response URL that lands in this fake: `{base}/response/<id>`. Build it after
    /// [`FakeSlack::serve`] when the URL will be called over HTTP.
    pub fn response_url(&self, id: &str) -> String {
        let state = self.state();
        let base = state.base_url.as_deref().unwrap_or(UNSERVED_BASE);
        format!("{base}/response/{id}")
    }

    // ---- HTTP -------------------------------------------------------------------------------

    /// Serves this fake's state on 127.0.0.1 until the returned server is dropped: the Web API
    /// at `{base_url}/<method>` (point `SLACK_API_URL` at `base_url`) and response URLs at
    /// `{base_url}/response/<id>`.
    pub async fn try_serve(&self) -> std::io::Result<FakeServer> {
        let router = Router::new()
            .route("/response/{id}", post(http_response_url))
            .route("/{method}", any(http_api))
            .with_state(self.clone());
        let server = FakeServer::start(router).await?;
        self.state().base_url = Some(server.base_url().to_owned());
        Ok(server)
    }

    /// [`FakeSlack::try_serve`] for tests.
    ///
    /// # Panics
    /// When 127.0.0.1 cannot be bound.
    pub async fn serve(&self) -> FakeServer {
        self.try_serve()
            .await
            .expect("binding 127.0.0.1:0 for the fake Slack")
    }

    // ---- the shared behaviour of both paths -------------------------------------------------

    /// Records the call, waits the scripted delay, then yields the next scripted failure or
    /// `token_revoked`.
    async fn gate(&self, method: &str, needs_token: bool) -> Result<(), SlackFailure> {
        let (failure, delay) = {
            let mut state = self.state();
            state.calls.push(method.to_owned());
            (state.faults.next(), state.faults.delay)
        };
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        if let Some(failure) = failure {
            return Err(failure);
        }
        if needs_token && self.state().revoked {
            return Err(SlackFailure::Api("token_revoked".into()));
        }
        Ok(())
    }

    /// Posts `message` to `channel`, or to the app's direct conversation with a user when
    /// `channel` is a user id; the message's conversation and `ts`.
    async fn do_post(
        &self,
        channel: &SlackChannelId,
        message: Message,
    ) -> Result<(SlackChannelId, String), SlackFailure> {
        self.gate(method::POST_MESSAGE, true).await?;
        let channel = match SlackUserId::parse(channel.as_str()) {
            Ok(user) => Self::direct_channel(&user),
            Err(_) => channel.clone(),
        };
        let mut state = self.state();
        state.writable(&channel)?;
        let ts = state.new_ts();
        state.messages.push(PostedMessage {
            channel: channel.clone(),
            ts: ts.clone(),
            versions: vec![message],
            thread_ts: None,
        });
        Ok((channel, ts))
    }

    /// `chat.postMessage` to a channel id, `#name` or user id, in a thread when given.
    async fn do_post_to(
        &self,
        target: &str,
        thread_ts: Option<&str>,
        message: Message,
    ) -> Result<(SlackChannelId, String), SlackFailure> {
        self.gate(method::POST_MESSAGE, true).await?;
        let mut state = self.state();
        let channel = if let Some(name) = target.strip_prefix('#') {
            state
                .channel_names
                .get(name)
                .cloned()
                .ok_or_else(|| api("channel_not_found"))?
        } else if let Ok(user) = SlackUserId::parse(target) {
            Self::direct_channel(&user)
        } else {
            SlackChannelId::parse(target).map_err(|_| api("channel_not_found"))?
        };
        state.writable(&channel)?;
        if let Some(parent) = thread_ts
            && !state
                .messages
                .iter()
                .any(|m| m.channel == channel && m.ts == parent)
        {
            return Err(api("thread_not_found"));
        }
        let ts = state.new_ts();
        state.messages.push(PostedMessage {
            channel: channel.clone(),
            ts: ts.clone(),
            versions: vec![message],
            thread_ts: thread_ts.map(str::to_owned),
        });
        Ok((channel, ts))
    }

    async fn do_user_group(&self, handle: &str) -> Result<Option<String>, SlackFailure> {
        self.gate(method::USERGROUPS_LIST, true).await?;
        Ok(self.state().user_groups.get(handle).cloned())
    }

    async fn do_user_channels(
        &self,
        user: &SlackUserId,
    ) -> Result<Vec<SlackChannelId>, SlackFailure> {
        self.gate(method::USERS_CONVERSATIONS, true).await?;
        let state = self.state();
        let mut channels: Vec<SlackChannelId> = state
            .members
            .iter()
            .filter(|(c, members)| members.contains(user) && !state.deleted.contains(*c))
            .map(|(c, _)| c.clone())
            .collect();
        channels.sort();
        Ok(channels)
    }

    async fn do_publish_home(&self, user: &SlackUserId, view: Value) -> Result<(), SlackFailure> {
        self.gate(method::VIEWS_PUBLISH, true).await?;
        if view.get("type").and_then(Value::as_str) != Some("home") {
            return Err(api("invalid_arguments"));
        }
        self.state().homes.push((user.clone(), view));
        Ok(())
    }

    async fn do_update(
        &self,
        channel: &SlackChannelId,
        ts: &str,
        message: Message,
    ) -> Result<(), SlackFailure> {
        self.gate(method::UPDATE, true).await?;
        let mut state = self.state();
        state.writable(channel)?;
        let posted = state
            .messages
            .iter_mut()
            .find(|m| &m.channel == channel && m.ts == ts)
            .ok_or_else(|| api("message_not_found"))?;
        posted.versions.push(message);
        Ok(())
    }

    async fn do_ephemeral(
        &self,
        channel: &SlackChannelId,
        user: &SlackUserId,
        message: Message,
    ) -> Result<String, SlackFailure> {
        self.gate(method::POST_EPHEMERAL, true).await?;
        let mut state = self.state();
        state.writable(channel)?;
        let ts = state.new_ts();
        state.ephemerals.push(Ephemeral {
            channel: channel.clone(),
            user: user.clone(),
            message,
        });
        Ok(ts)
    }

    async fn do_respond(&self, id: &str, response: ResponseMessage) -> Result<(), SlackFailure> {
        self.gate(method::RESPONSE_URL, false).await?;
        let mut state = self.state();
        let used = state.responses.iter().filter(|r| r.id == id).count();
        if used >= RESPONSE_URL_MAX_POSTS {
            return Err(api("used_url"));
        }
        state.responses.push(ResponsePost {
            id: id.to_owned(),
            response,
        });
        Ok(())
    }

    async fn do_user(&self, user: &SlackUserId) -> Result<SlackProfile, SlackFailure> {
        self.gate(method::USERS_INFO, true).await?;
        self.state()
            .users
            .get(user)
            .cloned()
            .ok_or_else(|| api("user_not_found"))
    }
}

fn api(code: &str) -> SlackFailure {
    SlackFailure::Api(code.to_owned())
}

impl SlackState {
    fn writable(&self, channel: &SlackChannelId) -> Result<(), SlackFailure> {
        if self.deleted.contains(channel) {
            return Err(api("channel_not_found"));
        }
        if self.archived.contains(channel) {
            return Err(api("is_archived"));
        }
        if self.outside.contains(channel) {
            return Err(api("not_in_channel"));
        }
        Ok(())
    }

    fn new_ts(&mut self) -> String {
        self.next_ts += 1;
        format!("1700000000.{:06}", self.next_ts)
    }
}

/// The name `users.info` callers show: display name, else real name, else handle.
pub fn shown_name(profile: &SlackProfile) -> Option<String> {
    [&profile.display_name, &profile.real_name, &profile.name]
        .into_iter()
        .find(|n| !n.trim().is_empty())
        .cloned()
}

fn response_id(response_url: &str) -> Option<&str> {
    let (_, id) = response_url.rsplit_once("/response/")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

#[async_trait]
impl Slack for FakeSlack {
    async fn post_message(
        &self,
        channel: &SlackChannelId,
        message: &Message,
    ) -> Result<String, SlackError> {
        self.do_post(channel, message.clone())
            .await
            .map(|(_, ts)| ts)
            .map_err(|f| f.to_error())
    }

    async fn update_message(
        &self,
        channel: &SlackChannelId,
        ts: &str,
        message: &Message,
    ) -> Result<(), SlackError> {
        self.do_update(channel, ts, message.clone())
            .await
            .map_err(|f| f.to_error())
    }

    async fn post_ephemeral(
        &self,
        channel: &SlackChannelId,
        user: &SlackUserId,
        message: &Message,
    ) -> Result<(), SlackError> {
        self.do_ephemeral(channel, user, message.clone())
            .await
            .map(drop)
            .map_err(|f| f.to_error())
    }

    async fn respond(
        &self,
        response_url: &str,
        response: &ResponseMessage,
    ) -> Result<(), SlackError> {
        let id = response_id(response_url).ok_or_else(|| {
            SlackError::Transport(format!(
                "{response_url} is not a response URL of the fake Slack"
            ))
        })?;
        self.do_respond(id, response.clone())
            .await
            .map_err(|f| f.to_error())
    }

    async fn user_name(&self, user: &SlackUserId) -> Result<Option<String>, SlackError> {
        self.do_user(user)
            .await
            .map(|profile| shown_name(&profile))
            .map_err(|f| f.to_error())
    }

    async fn post_to(
        &self,
        target: &str,
        thread_ts: Option<&str>,
        message: &Message,
    ) -> Result<Posted, SlackError> {
        self.do_post_to(target, thread_ts, message.clone())
            .await
            .map(|(channel, ts)| Posted { channel, ts })
            .map_err(|f| f.to_error())
    }

    async fn user_group(&self, handle: &str) -> Result<Option<String>, SlackError> {
        self.do_user_group(handle).await.map_err(|f| f.to_error())
    }

    async fn user_channels(&self, user: &SlackUserId) -> Result<Vec<SlackChannelId>, SlackError> {
        self.do_user_channels(user).await.map_err(|f| f.to_error())
    }

    async fn publish_home(&self, user: &SlackUserId, view: &Value) -> Result<(), SlackError> {
        self.do_publish_home(user, view.clone())
            .await
            .map_err(|f| f.to_error())
    }
}

// =============================================================================================
// HTTP

fn ok_json(value: Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

fn failure_response(failure: SlackFailure) -> Response {
    match failure {
        SlackFailure::Status(status) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            axum::Json(json!({"ok": false, "error": "fatal_error"})),
        )
            .into_response(),
        SlackFailure::RateLimited { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", retry_after_secs.to_string())],
            axum::Json(json!({"ok": false, "error": "ratelimited"})),
        )
            .into_response(),
        SlackFailure::Api(code) => ok_json(json!({"ok": false, "error": code})),
    }
}

/// The call's arguments: a JSON body, or form fields and query parameters (as Slack accepts
/// both). Form-encoded `blocks` hold JSON text.
fn arguments(
    headers: &HeaderMap,
    uri: &Uri,
    body: &[u8],
) -> Option<serde_json::Map<String, Value>> {
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return match serde_json::from_slice(body) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        };
    }
    let mut map = serde_json::Map::new();
    let query = uri.query().unwrap_or_default();
    for part in [query.as_bytes(), body] {
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(part).ok()?;
        for (name, value) in fields {
            let value = if name == "blocks" {
                serde_json::from_str(&value).unwrap_or(Value::String(value))
            } else {
                Value::String(value)
            };
            map.insert(name, value);
        }
    }
    Some(map)
}

fn message_from(args: &serde_json::Map<String, Value>) -> Result<Message, SlackFailure> {
    let text = args
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let blocks: Vec<Block> = match args.get("blocks") {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => serde_json::from_value(value.clone()).map_err(|_| api("invalid_blocks"))?,
    };
    if text.is_empty() && blocks.is_empty() {
        return Err(api("no_text"));
    }
    Ok(Message { text, blocks })
}

fn channel_arg(args: &serde_json::Map<String, Value>) -> Result<SlackChannelId, SlackFailure> {
    args.get("channel")
        .and_then(Value::as_str)
        .and_then(|c| SlackChannelId::parse(c).ok())
        .ok_or_else(|| api("channel_not_found"))
}

/// `chat.postMessage`'s `channel`: a channel id, or a user id for a direct message.
fn post_channel_arg(args: &serde_json::Map<String, Value>) -> Result<SlackChannelId, SlackFailure> {
    let text = args
        .get("channel")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match SlackUserId::parse(text) {
        Ok(user) => Ok(SlackChannelId::direct(&user)),
        Err(_) => channel_arg(args),
    }
}

fn user_arg(args: &serde_json::Map<String, Value>) -> Result<SlackUserId, SlackFailure> {
    args.get("user")
        .and_then(Value::as_str)
        .and_then(|u| SlackUserId::parse(u).ok())
        .ok_or_else(|| api("user_not_found"))
}

impl FakeSlack {
    fn bearer_refusal(&self, headers: &HeaderMap) -> Option<&'static str> {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty());
        match (token, &self.state().required_token) {
            (None, _) => Some("not_authed"),
            (Some(given), Some(required)) if given != required => Some("invalid_auth"),
            _ => None,
        }
    }

    async fn http_call(
        &self,
        name: &str,
        args: &serde_json::Map<String, Value>,
    ) -> Result<Value, SlackFailure> {
        match name {
            method::POST_MESSAGE => {
                let message = message_from(args)?;
                let thread_ts = args.get("thread_ts").and_then(Value::as_str);
                let target = args
                    .get("channel")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let (channel, ts) = if thread_ts.is_some() || target.starts_with('#') {
                    self.do_post_to(target, thread_ts, message.clone()).await?
                } else {
                    let channel = post_channel_arg(args)?;
                    self.do_post(&channel, message.clone()).await?
                };
                Ok(json!({
                    "ok": true,
                    "channel": channel,
                    "ts": ts,
                    "message": {"type": "message", "text": message.text, "blocks": message.blocks, "ts": ts},
                }))
            }
            method::UPDATE => {
                let channel = channel_arg(args)?;
                let ts = args
                    .get("ts")
                    .and_then(Value::as_str)
                    .ok_or_else(|| api("message_not_found"))?
                    .to_owned();
                let message = message_from(args)?;
                self.do_update(&channel, &ts, message.clone()).await?;
                Ok(json!({"ok": true, "channel": channel, "ts": ts, "text": message.text}))
            }
            method::POST_EPHEMERAL => {
                let channel = channel_arg(args)?;
                let user = user_arg(args)?;
                let message = message_from(args)?;
                let ts = self.do_ephemeral(&channel, &user, message).await?;
                Ok(json!({"ok": true, "message_ts": ts}))
            }
            method::USERS_INFO => {
                let user = user_arg(args)?;
                let profile = self.do_user(&user).await?;
                Ok(json!({
                    "ok": true,
                    "user": {
                        "id": user,
                        "name": profile.name,
                        "real_name": profile.real_name,
                        "profile": {
                            "display_name": profile.display_name,
                            "real_name": profile.real_name,
                        },
                    },
                }))
            }
            method::USERGROUPS_LIST => {
                let groups: Vec<Value> = {
                    self.gate(method::USERGROUPS_LIST, true).await?;
                    let state = self.state();
                    let mut groups: Vec<(&String, &String)> = state.user_groups.iter().collect();
                    groups.sort();
                    groups
                        .into_iter()
                        .map(|(handle, id)| json!({"id": id, "handle": handle, "name": handle}))
                        .collect()
                };
                Ok(json!({"ok": true, "usergroups": groups}))
            }
            method::USERS_CONVERSATIONS => {
                let user = user_arg(args)?;
                let channels = self.do_user_channels(&user).await?;
                let channels: Vec<Value> = channels.iter().map(|c| json!({"id": c})).collect();
                Ok(
                    json!({"ok": true, "channels": channels, "response_metadata": {"next_cursor": ""}}),
                )
            }
            method::VIEWS_PUBLISH => {
                let user = args
                    .get("user_id")
                    .and_then(Value::as_str)
                    .and_then(|u| SlackUserId::parse(u).ok())
                    .ok_or_else(|| api("user_not_found"))?;
                let view = match args.get("view") {
                    Some(Value::String(text)) => serde_json::from_str(text).unwrap_or(Value::Null),
                    Some(v) => v.clone(),
                    None => Value::Null,
                };
                self.do_publish_home(&user, view.clone()).await?;
                Ok(json!({"ok": true, "view": view}))
            }
            manifest::CREATE | manifest::UPDATE => self.manifest_call(name, args).await,
            _ => Err(api("unknown_method")),
        }
    }
}

async fn http_api(
    State(fake): State<FakeSlack>,
    Path(name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    fake.state()
        .requests
        .push(SeenRequest::from_parts(&method, &uri, &headers, &body));
    if let Some(code) = fake.bearer_refusal(&headers) {
        fake.state().calls.push(name);
        return ok_json(json!({"ok": false, "error": code}));
    }
    let Some(args) = arguments(&headers, &uri, &body) else {
        fake.state().calls.push(name);
        return ok_json(json!({"ok": false, "error": "invalid_json"}));
    };
    match fake.http_call(&name, &args).await {
        Ok(value) => ok_json(value),
        Err(failure) => failure_response(failure),
    }
}

#[derive(serde::Deserialize)]
struct ResponseBody {
    #[serde(default)]
    text: String,
    #[serde(default)]
    blocks: Vec<Block>,
    #[serde(default)]
    response_type: Option<String>,
    #[serde(default)]
    replace_original: bool,
}

async fn http_response_url(
    State(fake): State<FakeSlack>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    fake.state()
        .requests
        .push(SeenRequest::from_parts(&method, &uri, &headers, &body));
    let parsed: ResponseBody = match serde_json::from_slice(&body) {
        Ok(parsed) => parsed,
        Err(_) => {
            fake.state().calls.push(method::RESPONSE_URL.to_owned());
            return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
        }
    };
    let response = ResponseMessage {
        message: Message {
            text: parsed.text,
            blocks: parsed.blocks,
        },
        ephemeral: parsed.response_type.as_deref() != Some("in_channel"),
        replace_original: parsed.replace_original,
    };
    match fake.do_respond(&id, response).await {
        Ok(()) => ok_json(json!({"ok": true})),
        Err(SlackFailure::Api(code)) => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"ok": false, "error": code})),
        )
            .into_response(),
        Err(failure) => failure_response(failure),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel() -> SlackChannelId {
        SlackChannelId::parse("C0DEPLOY").expect("channel id")
    }

    #[tokio::test]
    async fn a_post_to_a_user_id_is_a_direct_message() {
        let slack = FakeSlack::new();
        let user = SlackUserId::parse("U0ANA").expect("user id");
        slack
            .post_message(&SlackChannelId::direct(&user), &Message::text("hi"))
            .await
            .expect("post");
        let dms = slack.direct_messages(&user);
        assert_eq!(dms.len(), 1);
        assert_eq!(dms[0].channel.as_str(), "DU0ANA");
        assert_eq!(slack.all_messages().len(), 1);
    }

    #[tokio::test]
    async fn keeps_every_version_of_a_message() {
        let slack = FakeSlack::new();
        let ts = slack
            .post_message(&channel(), &Message::text("queued"))
            .await
            .expect("post");
        slack
            .update_message(&channel(), &ts, &Message::text("success"))
            .await
            .expect("update");
        let versions = slack.message(&channel(), &ts).expect("message exists");
        assert_eq!(
            versions,
            vec![Message::text("queued"), Message::text("success")]
        );
        assert_eq!(slack.messages(&channel())[0].edits(), 1);
        assert_eq!(
            slack
                .update_message(&channel(), "1.2", &Message::text("x"))
                .await,
            Err(SlackError::Api("message_not_found".into()))
        );
        assert_eq!(
            slack.calls(),
            vec![method::POST_MESSAGE, method::UPDATE, method::UPDATE]
        );
    }

    #[tokio::test]
    async fn scripted_failures_then_recovery() {
        let slack = FakeSlack::new();
        slack.rate_limit_next(1, 3);
        slack.fail_next(1, 503);
        let msg = Message::text("hi");
        assert_eq!(
            slack.post_message(&channel(), &msg).await,
            Err(SlackError::RateLimited {
                retry_after_secs: 3
            })
        );
        assert_eq!(
            slack.post_message(&channel(), &msg).await,
            Err(SlackError::Transport("Slack answered HTTP 503".into()))
        );
        assert!(slack.post_message(&channel(), &msg).await.is_ok());
        slack.set_revoked(true);
        assert_eq!(
            slack.post_message(&channel(), &msg).await,
            Err(SlackError::Api("token_revoked".into()))
        );
        slack.set_revoked(false);
        slack.archive(&channel());
        assert_eq!(
            slack.post_message(&channel(), &msg).await,
            Err(SlackError::Api("is_archived".into()))
        );
        assert_eq!(slack.messages(&channel()).len(), 1);
    }

    #[tokio::test]
    async fn response_urls_take_five_posts() {
        let slack = FakeSlack::new();
        let url = slack.response_url("r1");
        let response = ResponseMessage {
            message: Message::text("done"),
            ephemeral: true,
            replace_original: false,
        };
        for _ in 0..RESPONSE_URL_MAX_POSTS {
            slack.respond(&url, &response).await.expect("within limit");
        }
        assert_eq!(
            slack.respond(&url, &response).await,
            Err(SlackError::Api("used_url".into()))
        );
        assert_eq!(slack.responses().len(), RESPONSE_URL_MAX_POSTS);
        assert!(matches!(
            slack.respond("https://example.com/hook", &response).await,
            Err(SlackError::Transport(_))
        ));
    }

    #[tokio::test]
    async fn user_names_fall_back() {
        let slack = FakeSlack::new();
        let user = SlackUserId::parse("U1").expect("user id");
        assert_eq!(
            slack.user_name(&user).await,
            Err(SlackError::Api("user_not_found".into()))
        );
        slack.add_user_profile(
            &user,
            SlackProfile {
                name: "ada".into(),
                real_name: "Ada Lovelace".into(),
                display_name: String::new(),
            },
        );
        assert_eq!(
            slack.user_name(&user).await,
            Ok(Some("Ada Lovelace".into()))
        );
    }
}
