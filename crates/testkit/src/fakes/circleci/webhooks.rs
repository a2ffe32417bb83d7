//! The fake CircleCI's project lookup and outbound-webhook API, as an installer uses them:
//! `GET /project/{slug}` (the project's id), `POST /webhook` (scope `project`) and
//! `GET /webhook?scope-id=…&scope-type=project`. Shapes follow CircleCI's API v2 reference;
//! like CircleCI, a listed webhook never shows its signing secret.

use super::{FakeCircleCi, stable_id};
use crate::fakes::server::{rfc3339, uuid_like};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use deploybot_core::Timestamp;
use deploybot_core::ports::{Clock, SystemClock};
use serde_json::{Value, json};

/// One outbound webhook, as created through the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeWebhook {
    pub id: String,
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    pub scope_id: String,
    pub scope_type: String,
    pub signing_secret: String,
    pub verify_tls: bool,
    pub created_at: Timestamp,
}

impl FakeWebhook {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "events": self.events,
            "scope": {"id": self.scope_id, "type": self.scope_type},
            "verify-tls": self.verify_tls,
            "created-at": rfc3339(self.created_at),
            "updated-at": rfc3339(self.created_at),
        })
    }
}

impl FakeCircleCi {
    /// The outbound webhooks created so far, oldest first.
    pub fn webhooks(&self) -> Vec<FakeWebhook> {
        self.state().webhooks.clone()
    }

    /// The id `GET /project/{slug}` answers for `slug` (stable per fake).
    pub fn project_id(&self, slug: &str) -> String {
        stable_id(&mut self.state(), slug)
    }
}

fn message(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(json!({"message": text}))).into_response()
}

pub(super) async fn http_project(
    State(fake): State<FakeCircleCi>,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    fake.record(&method, &uri, &headers, &[]);
    fake.state().calls.push("GET /project".to_owned());
    if fake.token_refused(&headers) {
        return message(StatusCode::UNAUTHORIZED, "You must log in first.");
    }
    let slug = format!("{vcs}/{org}/{repo}");
    let id = fake.project_id(&slug);
    let org_id = fake.project_id(&format!("{vcs}/{org}"));
    let vcs_url = format!("https://github.com/{org}/{repo}");
    axum::Json(json!({
        "slug": slug,
        "name": repo,
        "id": id,
        "organization_name": org,
        "organization_slug": format!("{vcs}/{org}"),
        "organization_id": org_id,
        "vcs_info": {"vcs_url": vcs_url, "provider": "GitHub", "default_branch": "main"},
    }))
    .into_response()
}

pub(super) async fn http_create_webhook(
    State(fake): State<FakeCircleCi>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    fake.record(&method, &uri, &headers, &body);
    fake.state().calls.push("POST /webhook".to_owned());
    if fake.token_refused(&headers) {
        return message(StatusCode::UNAUTHORIZED, "You must log in first.");
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return message(StatusCode::BAD_REQUEST, "Invalid JSON body.");
    };
    let text = |key: &str| request.get(key).and_then(Value::as_str).map(str::to_owned);
    let scope = request.get("scope");
    let scope_id = scope
        .and_then(|s| s.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let scope_type = scope
        .and_then(|s| s.get("type"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let events: Option<Vec<String>> = request.get("events").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    });
    let (Some(name), Some(url), Some(secret), Some(scope_id), Some(scope_type), Some(events)) = (
        text("name"),
        text("url"),
        text("signing-secret"),
        scope_id,
        scope_type,
        events,
    ) else {
        return message(
            StatusCode::BAD_REQUEST,
            "name, url, events, scope and signing-secret are required.",
        );
    };
    if scope_type != "project"
        || events.is_empty()
        || events
            .iter()
            .any(|e| e != "workflow-completed" && e != "job-completed")
    {
        return message(StatusCode::BAD_REQUEST, "Invalid scope type or event.");
    }
    let mut state = fake.state();
    if !state.stable_ids.values().any(|id| id == &scope_id) {
        return message(StatusCode::NOT_FOUND, "Project not found.");
    }
    let webhook = FakeWebhook {
        id: uuid_like(),
        name,
        url,
        events,
        scope_id,
        scope_type,
        signing_secret: secret,
        verify_tls: request
            .get("verify-tls")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        created_at: SystemClock.now(),
    };
    let answer = webhook.to_json();
    state.webhooks.push(webhook);
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

pub(super) async fn http_list_webhooks(
    State(fake): State<FakeCircleCi>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    fake.record(&method, &uri, &headers, &[]);
    fake.state().calls.push("GET /webhook".to_owned());
    if fake.token_refused(&headers) {
        return message(StatusCode::UNAUTHORIZED, "You must log in first.");
    }
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(uri.query().unwrap_or_default()).unwrap_or_default();
    let get = |key: &str| query.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let (Some(scope_id), Some(scope_type)) = (get("scope-id"), get("scope-type")) else {
        return message(
            StatusCode::BAD_REQUEST,
            "scope-id and scope-type are required.",
        );
    };
    let items: Vec<Value> = fake
        .state()
        .webhooks
        .iter()
        .filter(|w| w.scope_id == scope_id && w.scope_type == scope_type)
        .map(FakeWebhook::to_json)
        .collect();
    axum::Json(json!({"items": items, "next_page_token": null})).into_response()
}
