//! Builds signed requests the way Slack, GitHub and CircleCI send them, for tests, the fakes
//! and the local `poke` command. Plain types (body bytes + header pairs) so callers can hand
//! them to reqwest or to an axum router alike.

use deploybot_core::signature::{SigningSecret, sign_circleci, sign_github, sign_slack};

/// A request body with the headers that go with it (names in lower case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl SignedRequest {
    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Replaces (or adds) a header, e.g. to tamper with a signature in a test.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.into()));
        self
    }

    /// A `POST` to `uri` for in-process router tests (`router.oneshot(...)`); fails only when
    /// `uri` or a header is not valid HTTP.
    pub fn into_http_request(
        self,
        uri: &str,
    ) -> Result<axum::http::Request<axum::body::Body>, axum::http::Error> {
        let mut builder = axum::http::Request::builder().method("POST").uri(uri);
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder.body(axum::body::Body::from(self.body))
    }
}

/// What an in-process router answered: its status and whole body.
#[derive(Debug, Clone)]
pub struct RouterAnswer {
    pub status: axum::http::StatusCode,
    pub body: axum::body::Bytes,
}

impl RouterAnswer {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON, `Null` when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Sends `request` through `router` in process (as the tests of every handler do) and reads
/// the whole answer. Panics only if the body cannot be read, which an axum router's body
/// never does.
pub async fn send_to_router(
    router: &axum::Router,
    request: axum::http::Request<axum::body::Body>,
) -> RouterAnswer {
    use tower::ServiceExt as _;
    let response = match router.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("the body reads");
    RouterAnswer { status, body }
}

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// A Slack request with `body` of `content_type`, signed for `timestamp` (Unix seconds).
pub fn slack_request(
    secret: &SigningSecret,
    timestamp: i64,
    content_type: &str,
    body: Vec<u8>,
) -> SignedRequest {
    let signature = sign_slack(secret, timestamp, &body);
    SignedRequest {
        headers: vec![
            ("content-type".into(), content_type.into()),
            ("x-slack-request-timestamp".into(), timestamp.to_string()),
            ("x-slack-signature".into(), signature),
        ],
        body,
    }
}

/// A slash command (or any form post) from Slack: `fields` form-encoded, signed.
pub fn slack_form_request(
    secret: &SigningSecret,
    timestamp: i64,
    fields: &[(&str, &str)],
) -> SignedRequest {
    let body = serde_urlencoded::to_string(fields).unwrap_or_default();
    slack_request(secret, timestamp, FORM, body.into_bytes())
}

/// An Events API request from Slack: a JSON body, signed.
pub fn slack_json_request(
    secret: &SigningSecret,
    timestamp: i64,
    json: &serde_json::Value,
) -> SignedRequest {
    slack_request(secret, timestamp, JSON, json.to_string().into_bytes())
}

/// An interactivity request from Slack (a button press): `payload=<json>` form-encoded,
/// signed.
pub fn slack_interactive_request(
    secret: &SigningSecret,
    timestamp: i64,
    payload: &serde_json::Value,
) -> SignedRequest {
    slack_form_request(secret, timestamp, &[("payload", &payload.to_string())])
}

/// A GitHub webhook delivery with a raw body.
pub fn github_request_bytes(
    secret: &SigningSecret,
    event: &str,
    delivery_id: &str,
    body: Vec<u8>,
) -> SignedRequest {
    let signature = sign_github(secret, &body);
    SignedRequest {
        headers: vec![
            ("content-type".into(), JSON.into()),
            ("user-agent".into(), "GitHub-Hookshot/deploybot-test".into()),
            ("x-github-event".into(), event.into()),
            ("x-github-delivery".into(), delivery_id.into()),
            ("x-hub-signature-256".into(), signature),
        ],
        body,
    }
}

/// A GitHub webhook delivery: `X-GitHub-Event`, `X-GitHub-Delivery`, `X-Hub-Signature-256`.
pub fn github_request(
    secret: &SigningSecret,
    event: &str,
    delivery_id: &str,
    json: &serde_json::Value,
) -> SignedRequest {
    github_request_bytes(secret, event, delivery_id, json.to_string().into_bytes())
}

/// A CircleCI webhook with a raw body; `event_type` goes into `circleci-event-type`.
pub fn circleci_request_bytes(
    secret: &SigningSecret,
    event_type: &str,
    body: Vec<u8>,
) -> SignedRequest {
    let signature = sign_circleci(secret, &body);
    SignedRequest {
        headers: vec![
            ("content-type".into(), JSON.into()),
            ("user-agent".into(), "CircleCI-Webhook/1.0".into()),
            ("circleci-event-type".into(), event_type.into()),
            ("circleci-signature".into(), signature),
        ],
        body,
    }
}

/// A CircleCI webhook (`circleci-signature: v1=<hex>`); the event type header is taken from
/// the body's `type`.
pub fn circleci_request(secret: &SigningSecret, json: &serde_json::Value) -> SignedRequest {
    let event_type = json
        .get("type")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    circleci_request_bytes(secret, &event_type, json.to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use deploybot_core::Timestamp;
    use deploybot_core::signature::{verify_circleci, verify_github, verify_slack};
    use serde_json::json;

    #[test]
    fn slack_requests_verify() {
        let secret = SigningSecret::new("slack-secret");
        let form = slack_form_request(
            &secret,
            1_700_000_000,
            &[("command", "/cimon"), ("text", "setup acme/web")],
        );
        assert_eq!(form.body, b"command=%2Fcimon&text=setup+acme%2Fweb");
        assert_eq!(form.header("Content-Type"), Some(FORM));
        let now = Timestamp::from_secs(1_700_000_010);
        assert_eq!(
            verify_slack(
                &secret,
                form.header("X-Slack-Request-Timestamp"),
                form.header("X-Slack-Signature"),
                &form.body,
                now
            ),
            Ok(())
        );
        let interactive =
            slack_interactive_request(&secret, 1_700_000_000, &json!({"type": "block_actions"}));
        let fields: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&interactive.body).expect("form body");
        assert_eq!(fields[0].0, "payload");
        assert_eq!(fields[0].1, r#"{"type":"block_actions"}"#);
        assert!(
            verify_slack(
                &SigningSecret::new("other"),
                interactive.header("x-slack-request-timestamp"),
                interactive.header("x-slack-signature"),
                &interactive.body,
                now
            )
            .is_err()
        );
        let event = slack_json_request(&secret, 1_700_000_000, &json!({"type": "event_callback"}));
        assert_eq!(event.header("content-type"), Some(JSON));
    }

    #[test]
    fn github_and_circleci_requests_verify() {
        let secret = SigningSecret::new("hook-secret");
        let gh = github_request(&secret, "push", "d-1", &json!({"ref": "refs/heads/main"}));
        assert_eq!(gh.header("x-github-event"), Some("push"));
        assert_eq!(gh.header("X-GitHub-Delivery"), Some("d-1"));
        assert_eq!(
            verify_github(&secret, gh.header("x-hub-signature-256"), &gh.body),
            Ok(())
        );
        let ci = circleci_request(&secret, &json!({"type": "workflow-completed"}));
        assert_eq!(ci.header("circleci-event-type"), Some("workflow-completed"));
        assert_eq!(
            verify_circleci(&secret, ci.header("circleci-signature"), &ci.body),
            Ok(())
        );
        let tampered = ci.clone().with_header("circleci-signature", "v1=00");
        assert!(
            verify_circleci(
                &secret,
                tampered.header("circleci-signature"),
                &tampered.body
            )
            .is_err()
        );
        let request = gh
            .into_http_request("/github/webhook")
            .expect("valid request");
        assert_eq!(request.uri(), "/github/webhook");
        assert_eq!(
            request
                .headers()
                .get("x-github-event")
                .and_then(|v| v.to_str().ok()),
            Some("push")
        );
    }
}
