//! Slack Web API adapter (implements `Slack`): `chat.postMessage`, `chat.update`,
//! `chat.postEphemeral`, posts to a `response_url`, `users.info`, `usergroups.list`,
//! `users.conversations` and `views.publish`, with the bot token as a
//! bearer header (never in a URL, never logged).
//!
//! Latency budget: each attempt is bounded by `HttpPolicy::timeout` (10 s by default), a
//! call by `attempts` of those plus the backoffs and at most `max_retry_after` per 429. The
//! functions that call Slack run asynchronously (`slack-message`), never inside Slack's
//! 3-second window.
//!
//! Idempotency: `chat.update` (the message is set to a given content) and `users.info` (a
//! read) are retried after timeouts, connection errors and 5xx. `chat.postMessage` and
//! `chat.postEphemeral` are not idempotent — a timeout may mean the message was posted — so
//! they are retried only when the connection was never made or Slack answered 429. A
//! `response_url` post is retried like an update when it replaces the original message and
//! like a post otherwise. Deduplicating posts across invocations (keeping the message `ts`
//! on the deployment) is the caller's job.

use crate::http::{
    HttpPolicy, Idempotency, Sleeper, TokioSleeper, error_chain, retry_after, secret_header,
    send_with_retries,
};
use async_trait::async_trait;
use deploybot_core::blocks::{Block, Message};
use deploybot_core::ports::{Posted, ResponseMessage, Slack, SlackError};
use deploybot_core::{SlackChannelId, SlackUserId};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

/// Slack's Web API.
pub const DEFAULT_API_URL: &str = "https://slack.com/api";

/// Where the adapter sends requests and with which token.
#[derive(Debug, Clone)]
pub struct SlackConfig {
    /// Web API base without a trailing slash (`SLACK_API_URL`, default [`DEFAULT_API_URL`]).
    pub api_url: String,
    /// The bot token (`xoxb-…`).
    pub bot_token: SecretString,
    pub policy: HttpPolicy,
}

impl SlackConfig {
    /// The public API with the default policy.
    pub fn new(bot_token: SecretString) -> Self {
        Self {
            api_url: DEFAULT_API_URL.into(),
            bot_token,
            policy: HttpPolicy::default(),
        }
    }

    /// `SLACK_API_URL` from the process environment, when set.
    pub fn from_env(bot_token: SecretString) -> Self {
        Self::from_lookup(bot_token, |name| std::env::var(name).ok())
    }

    /// Like [`SlackConfig::from_env`] with the variables read through `lookup`.
    pub fn from_lookup(bot_token: SecretString, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let config = Self::new(bot_token);
        match lookup("SLACK_API_URL").filter(|url| !url.trim().is_empty()) {
            Some(url) => config.with_api_url(&url),
            None => config,
        }
    }

    pub fn with_api_url(mut self, url: &str) -> Self {
        self.api_url = url.trim().trim_end_matches('/').to_owned();
        self
    }

    pub fn with_policy(mut self, policy: HttpPolicy) -> Self {
        self.policy = policy;
        self
    }
}

/// The Slack adapter.
#[derive(Debug, Clone)]
pub struct SlackClient {
    http: reqwest::Client,
    config: SlackConfig,
    sleeper: Arc<dyn Sleeper>,
}

impl SlackClient {
    pub fn new(config: SlackConfig) -> Result<Self, SlackError> {
        let http = crate::http::client(&config.policy)
            .map_err(|e| SlackError::Transport(format!("building the HTTP client: {e}")))?;
        Ok(Self {
            http,
            config,
            sleeper: Arc::new(TokioSleeper),
        })
    }

    /// Replaces how the client waits between attempts (tests record the waits).
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    fn method_url(&self, method: &str) -> String {
        format!("{}/{method}", self.config.api_url)
    }

    /// Calls a Web API method with a JSON body (or, for `users.info`, a query string).
    async fn call(
        &self,
        method: &str,
        idempotency: Idempotency,
        request: ApiRequest<'_>,
    ) -> Result<Value, SlackError> {
        let url = self.method_url(method);
        let authorization =
            secret_header(&format!("Bearer {}", self.config.bot_token.expose_secret()))
                .ok_or_else(|| {
                    SlackError::Transport("the Slack token is not a valid header value".into())
                })?;
        let response = send_with_retries(&self.config.policy, idempotency, &*self.sleeper, || {
            let builder = match &request {
                ApiRequest::Json(body) => self.http.post(&url).json(body),
                ApiRequest::Query(query) => self.http.get(&url).query(query),
            };
            builder.header(reqwest::header::AUTHORIZATION, authorization.clone())
        })
        .await
        .map_err(|e| transport(method, e))?;
        read_answer(method, response).await
    }
}

enum ApiRequest<'a> {
    Json(Value),
    Query(Vec<(&'a str, &'a str)>),
}

fn transport(what: &str, error: reqwest::Error) -> SlackError {
    if error.is_timeout() {
        SlackError::Transport(format!("{what}: timed out"))
    } else {
        // `without_url`: a response URL is a credential of its own.
        SlackError::Transport(format!("{what}: {}", error_chain(&error.without_url())))
    }
}

/// Maps an answer: 429 → `RateLimited`; 5xx → `Transport`; `"ok": false` (with any status)
/// or a non-2xx whose body is a bare error code → `Api(code)`; other non-2xx → `Transport`;
/// a 2xx that is not JSON → `InvalidResponse`.
async fn read_answer(what: &str, response: reqwest::Response) -> Result<Value, SlackError> {
    let status = response.status();
    if !status.is_success() {
        crate::http::provider_error("slack", status.as_u16());
    }
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Err(SlackError::RateLimited {
            retry_after_secs: retry_after(response.headers()).unwrap_or(0),
        });
    }
    if status.is_server_error() {
        return Err(SlackError::Transport(format!(
            "Slack answered HTTP {}",
            status.as_u16()
        )));
    }
    let bytes = response.bytes().await.map_err(|e| transport(what, e))?;
    let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
    if let Some(code) = parsed.as_ref().and_then(api_error) {
        tracing::debug!(method = what, %code, "Slack refused");
        return Err(SlackError::Api(code));
    }
    if !status.is_success() {
        // Response URLs answer errors as a bare code (`expired_url`, `used_url`).
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim();
        let is_code = (1..=64).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        if is_code {
            return Err(SlackError::Api(text.to_owned()));
        }
        return Err(SlackError::Transport(format!(
            "Slack answered HTTP {}",
            status.as_u16()
        )));
    }
    parsed.ok_or_else(|| SlackError::InvalidResponse(format!("{what}: the answer is not JSON")))
}

/// The error code of an `"ok": false` answer.
fn api_error(value: &Value) -> Option<String> {
    if value.get("ok").and_then(Value::as_bool) == Some(false) {
        Some(
            value
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("unknown_error")
                .to_owned(),
        )
    } else {
        None
    }
}

#[derive(Serialize)]
struct PostBody<'a> {
    channel: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(flatten)]
    message: &'a Message,
}

/// `chat.postMessage` to a channel id, `#name` or user id, in a thread when `thread_ts` is
/// given.
#[derive(Serialize)]
struct ThreadedPostBody<'a> {
    channel: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    thread_ts: Option<&'a str>,
    #[serde(flatten)]
    message: &'a Message,
}

/// `chat.update` always sends `blocks` (possibly empty): leaving them out would keep the old
/// blocks under the new text.
#[derive(Serialize)]
struct UpdateBody<'a> {
    channel: &'a str,
    ts: &'a str,
    text: &'a str,
    blocks: &'a [Block],
}

#[derive(Serialize)]
struct RespondBody<'a> {
    #[serde(flatten)]
    message: &'a Message,
    response_type: &'static str,
    replace_original: bool,
}

fn to_json(value: &impl Serialize) -> Result<Value, SlackError> {
    serde_json::to_value(value).map_err(|e| SlackError::InvalidResponse(format!("encoding: {e}")))
}

/// The name to show for a `users.info` user: display name, else real name, else handle.
fn shown_name(user: &Value) -> Option<String> {
    let profile = user.get("profile");
    [
        profile.and_then(|p| p.get("display_name")),
        user.get("real_name"),
        profile.and_then(|p| p.get("real_name")),
        user.get("name"),
    ]
    .into_iter()
    .flatten()
    .filter_map(Value::as_str)
    .map(str::trim)
    .find(|name| !name.is_empty())
    .map(str::to_owned)
}

#[async_trait]
impl Slack for SlackClient {
    async fn post_message(
        &self,
        channel: &SlackChannelId,
        message: &Message,
    ) -> Result<String, SlackError> {
        let body = to_json(&PostBody {
            channel: channel.as_str(),
            user: None,
            message,
        })?;
        let answer = self
            .call(
                "chat.postMessage",
                Idempotency::NotIdempotent,
                ApiRequest::Json(body),
            )
            .await?;
        answer
            .get("ts")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                SlackError::InvalidResponse("chat.postMessage: no `ts` in the answer".into())
            })
    }

    async fn update_message(
        &self,
        channel: &SlackChannelId,
        ts: &str,
        message: &Message,
    ) -> Result<(), SlackError> {
        let body = to_json(&UpdateBody {
            channel: channel.as_str(),
            ts,
            text: &message.text,
            blocks: &message.blocks,
        })?;
        self.call(
            "chat.update",
            Idempotency::Idempotent,
            ApiRequest::Json(body),
        )
        .await
        .map(drop)
    }

    async fn post_ephemeral(
        &self,
        channel: &SlackChannelId,
        user: &SlackUserId,
        message: &Message,
    ) -> Result<(), SlackError> {
        let body = to_json(&PostBody {
            channel: channel.as_str(),
            user: Some(user.as_str()),
            message,
        })?;
        self.call(
            "chat.postEphemeral",
            Idempotency::NotIdempotent,
            ApiRequest::Json(body),
        )
        .await
        .map(drop)
    }

    /// POSTs to the `response_url` without the bot token (the URL is its own credential).
    async fn respond(
        &self,
        response_url: &str,
        response: &ResponseMessage,
    ) -> Result<(), SlackError> {
        let url = reqwest::Url::parse(response_url)
            .map_err(|_| SlackError::InvalidResponse("the response_url is not a URL".into()))?;
        let body = to_json(&RespondBody {
            message: &response.message,
            response_type: if response.ephemeral {
                "ephemeral"
            } else {
                "in_channel"
            },
            replace_original: response.replace_original,
        })?;
        let idempotency = if response.replace_original {
            Idempotency::Idempotent
        } else {
            Idempotency::NotIdempotent
        };
        let answer = send_with_retries(&self.config.policy, idempotency, &*self.sleeper, || {
            self.http.post(url.clone()).json(&body)
        })
        .await
        .map_err(|e| transport("response_url", e))?;
        // A response URL answers `ok` as text or `{"ok": true}`; errors carry a code.
        let status = answer.status();
        if status.is_success() {
            let bytes = answer
                .bytes()
                .await
                .map_err(|e| transport("response_url", e))?;
            return match serde_json::from_slice::<Value>(&bytes)
                .ok()
                .as_ref()
                .and_then(api_error)
            {
                Some(code) => Err(SlackError::Api(code)),
                None => Ok(()),
            };
        }
        match read_answer("response_url", answer).await {
            Err(error) => Err(error),
            Ok(_) => Err(SlackError::Transport(format!(
                "Slack answered HTTP {}",
                status.as_u16()
            ))),
        }
    }

    async fn user_name(&self, user: &SlackUserId) -> Result<Option<String>, SlackError> {
        let answer = self
            .call(
                "users.info",
                Idempotency::Idempotent,
                ApiRequest::Query(vec![("user", user.as_str())]),
            )
            .await?;
        let record = answer.get("user").ok_or_else(|| {
            SlackError::InvalidResponse("users.info: no `user` in the answer".into())
        })?;
        Ok(shown_name(record))
    }

    async fn post_to(
        &self,
        target: &str,
        thread_ts: Option<&str>,
        message: &Message,
    ) -> Result<Posted, SlackError> {
        let body = to_json(&ThreadedPostBody {
            channel: target,
            thread_ts,
            message,
        })?;
        let answer = self
            .call(
                "chat.postMessage",
                Idempotency::NotIdempotent,
                ApiRequest::Json(body),
            )
            .await?;
        let ts = answer.get("ts").and_then(Value::as_str);
        let channel = answer
            .get("channel")
            .and_then(Value::as_str)
            .and_then(|c| SlackChannelId::parse(c).ok());
        match (channel, ts) {
            (Some(channel), Some(ts)) => Ok(Posted {
                channel,
                ts: ts.to_owned(),
            }),
            _ => Err(SlackError::InvalidResponse(
                "chat.postMessage: no `channel` or `ts` in the answer".into(),
            )),
        }
    }

    async fn user_group(&self, handle: &str) -> Result<Option<String>, SlackError> {
        let answer = self
            .call(
                "usergroups.list",
                Idempotency::Idempotent,
                ApiRequest::Query(vec![]),
            )
            .await?;
        let groups = answer
            .get("usergroups")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                SlackError::InvalidResponse("usergroups.list: no `usergroups` in the answer".into())
            })?;
        Ok(groups
            .iter()
            .find(|g| g.get("handle").and_then(Value::as_str) == Some(handle))
            .and_then(|g| g.get("id").and_then(Value::as_str))
            .map(str::to_owned))
    }

    async fn user_channels(&self, user: &SlackUserId) -> Result<Vec<SlackChannelId>, SlackError> {
        let mut channels = Vec::new();
        let mut cursor = String::new();
        // At most 50 pages of 200: a person in more than 10 000 channels sees the first ones.
        for _ in 0..50 {
            let mut query = vec![
                ("user", user.as_str()),
                ("types", "public_channel,private_channel"),
                ("exclude_archived", "true"),
                ("limit", "200"),
            ];
            if !cursor.is_empty() {
                query.push(("cursor", cursor.as_str()));
            }
            let answer = self
                .call(
                    "users.conversations",
                    Idempotency::Idempotent,
                    ApiRequest::Query(query),
                )
                .await?;
            let page = answer
                .get("channels")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    SlackError::InvalidResponse(
                        "users.conversations: no `channels` in the answer".into(),
                    )
                })?;
            channels.extend(
                page.iter()
                    .filter_map(|c| c.get("id").and_then(Value::as_str))
                    .filter_map(|id| SlackChannelId::parse(id).ok()),
            );
            cursor = answer
                .pointer("/response_metadata/next_cursor")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if cursor.is_empty() {
                break;
            }
        }
        Ok(channels)
    }

    async fn publish_home(&self, user: &SlackUserId, view: &Value) -> Result<(), SlackError> {
        let body = serde_json::json!({ "user_id": user.as_str(), "view": view });
        self.call(
            "views.publish",
            Idempotency::Idempotent,
            ApiRequest::Json(body),
        )
        .await
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deploybot_core::blocks::Block;
    use serde_json::json;

    #[test]
    fn config_reads_the_api_url() {
        let token = SecretString::from("xoxb-test");
        let default = SlackConfig::from_lookup(token.clone(), |_| None);
        assert_eq!(default.api_url, DEFAULT_API_URL);
        let local = SlackConfig::from_lookup(token, |name| {
            (name == "SLACK_API_URL").then(|| "http://127.0.0.1:9/api/".to_owned())
        });
        assert_eq!(local.api_url, "http://127.0.0.1:9/api");
        assert!(!format!("{local:?}").contains("xoxb-test"));
    }

    #[test]
    fn bodies_have_slacks_shape() {
        let message = Message::text("hi");
        let post = to_json(&PostBody {
            channel: "C1",
            user: None,
            message: &message,
        })
        .expect("encodes");
        assert_eq!(
            post,
            json!({"channel": "C1", "text": "hi", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]})
        );
        let bare = Message {
            text: "plain".into(),
            blocks: Vec::<Block>::new(),
        };
        let update = to_json(&UpdateBody {
            channel: "C1",
            ts: "1.2",
            text: &bare.text,
            blocks: &bare.blocks,
        })
        .expect("encodes");
        assert_eq!(
            update,
            json!({"channel": "C1", "ts": "1.2", "text": "plain", "blocks": []})
        );
        let respond = to_json(&RespondBody {
            message: &bare,
            response_type: "ephemeral",
            replace_original: true,
        })
        .expect("encodes");
        assert_eq!(
            respond,
            json!({"text": "plain", "response_type": "ephemeral", "replace_original": true})
        );
    }

    #[test]
    fn names_fall_back_in_order() {
        let user = json!({"name": "ada", "real_name": "Ada L", "profile": {"display_name": " ", "real_name": "Ada L"}});
        assert_eq!(shown_name(&user), Some("Ada L".into()));
        let user = json!({"name": "ada", "profile": {"display_name": "ada!"}});
        assert_eq!(shown_name(&user), Some("ada!".into()));
        assert_eq!(shown_name(&json!({"name": ""})), None);
    }
}
