//! The fake GitHub's App manifest flow: the web form (`POST /settings/apps/new` or
//! `/organizations/{org}/settings/apps/new`, field `manifest`, query `state`) registers the
//! App and redirects the browser to the manifest's `redirect_url` with a one-time `code` and
//! the `state`; `POST /app-manifests/{code}/conversions` exchanges the code, once, for the App
//! with its `id`, `pem` and `webhook_secret` (GitHub's 201 answer). The web form and the API
//! share the fake's one base URL (`GITHUB_WEB_URL` = `GITHUB_API_URL` in tests).

use super::{Failure, FakeGitHub, TEST_ONLY_APP_PRIVATE_KEY_PEM};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// An App registered through the manifest flow.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeRegisteredApp {
    pub id: u64,
    pub slug: String,
    /// The account that owns it: the organisation of the form's URL, else `octocat`.
    pub owner: String,
    pub manifest: Value,
    pub webhook_secret: String,
    /// Whether its code was converted (a code converts once).
    pub converted: bool,
}

#[derive(Debug, Default)]
pub(super) struct AppManifests {
    /// code → the App it registered.
    by_code: BTreeMap<String, FakeRegisteredApp>,
    next: u64,
}

impl FakeGitHub {
    /// The Apps registered through the manifest flow, by code order.
    pub fn registered_apps(&self) -> Vec<FakeRegisteredApp> {
        self.lock()
            .app_manifests
            .by_code
            .values()
            .cloned()
            .collect()
    }

    pub(super) fn register_from_manifest(
        &self,
        segments: &[&str],
        query: &HashMap<String, String>,
        body: &[u8],
    ) -> Response {
        let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        let manifest = form
            .iter()
            .find(|(k, _)| k == "manifest")
            .and_then(|(_, v)| serde_json::from_str::<Value>(v).ok());
        let Some(manifest) = manifest else {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid GitHub App configuration",
            )
                .into_response();
        };
        let Some(redirect) = manifest
            .get("redirect_url")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return (StatusCode::UNPROCESSABLE_ENTITY, "redirect_url is required").into_response();
        };
        let owner = match segments {
            ["organizations", org, ..] => (*org).to_owned(),
            _ => "octocat".to_owned(),
        };
        let name = manifest
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("app")
            .to_owned();
        let mut state = self.lock();
        state.app_manifests.next += 1;
        let n = state.app_manifests.next;
        let code = format!("fakecode{n:04}{:08x}", n.wrapping_mul(0x9e37_79b9));
        let app = FakeRegisteredApp {
            id: 900_000 + n,
            slug: format!("{}-{n}", name.to_lowercase().replace(' ', "-")),
            owner,
            manifest,
            webhook_secret: format!(
                "fakewebhooksecret{n:04}{:016x}",
                n.wrapping_mul(0x5851_f42d)
            ),
            converted: false,
        };
        state.app_manifests.by_code.insert(code.clone(), app);
        let mut location = format!("{redirect}?code={code}");
        if let Some(given) = query.get("state") {
            let encoded = serde_urlencoded::to_string([("state", given)]).unwrap_or_default();
            location.push('&');
            location.push_str(&encoded);
        }
        let mut response = StatusCode::FOUND.into_response();
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert("location", value);
        }
        response
    }

    pub(super) fn convert_manifest_code(&self, code: &str) -> Result<Value, Failure> {
        let mut state = self.lock();
        let app = state
            .app_manifests
            .by_code
            .get_mut(code)
            .filter(|app| !app.converted)
            .ok_or_else(|| Failure::with_message(404, "Not Found"))?;
        app.converted = true;
        let name = app.manifest.get("name").cloned().unwrap_or(Value::Null);
        Ok(json!({
            "id": app.id,
            "slug": app.slug,
            "node_id": format!("MDM6QXBwOTAw{}", app.id),
            "owner": {"login": app.owner, "id": 1, "type": "Organization"},
            "name": name,
            "description": app.manifest.get("description").cloned().unwrap_or(Value::Null),
            "external_url": app.manifest.get("url").cloned().unwrap_or(Value::Null),
            "html_url": format!("https://github.com/apps/{}", app.slug),
            "created_at": "2026-12-07T05:00:00Z",
            "updated_at": "2026-12-07T05:00:00Z",
            "permissions": app.manifest.get("default_permissions").cloned().unwrap_or(Value::Null),
            "events": app.manifest.get("default_events").cloned().unwrap_or(Value::Null),
            "client_id": format!("Iv1.fake{:08x}", app.id),
            "client_secret": format!("fakeclientsecret{:024x}", app.id),
            "webhook_secret": app.webhook_secret,
            "pem": TEST_ONLY_APP_PRIVATE_KEY_PEM,
        }))
    }
}
