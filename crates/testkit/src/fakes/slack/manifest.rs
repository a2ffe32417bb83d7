//! The fake Slack's app manifest API: `apps.manifest.create` answers with the new app's id,
//! credentials and OAuth authorize URL; `apps.manifest.update` replaces an app's manifest.
//! As on Slack, a manifest whose event subscriptions name a request URL is refused unless
//! that URL answers Slack's `url_verification` challenge, signed with the app's signing
//! secret, with the challenge (`invalid_manifest`, the error pointing at the URL).

use super::{FakeSlack, SlackFailure, api};
use crate::signing::slack_json_request;
use deploybot_core::ports::{Clock, SystemClock};
use deploybot_core::signature::SigningSecret;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};

pub(super) const CREATE: &str = "apps.manifest.create";
pub(super) const UPDATE: &str = "apps.manifest.update";

/// One app created from a manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeSlackApp {
    pub app_id: String,
    /// The manifest in force (the last accepted one).
    pub manifest: Value,
    pub client_id: String,
    pub signing_secret: String,
    /// How many updates were accepted.
    pub updates: usize,
}

impl FakeSlack {
    /// The apps created through `apps.manifest.create`, oldest first.
    pub fn apps(&self) -> Vec<FakeSlackApp> {
        self.state().apps.clone()
    }

    pub(super) async fn manifest_call(
        &self,
        name: &str,
        args: &serde_json::Map<String, Value>,
    ) -> Result<Value, SlackFailure> {
        self.gate(name, false).await?;
        let manifest = match args.get("manifest") {
            Some(Value::String(text)) => serde_json::from_str::<Value>(text).ok(),
            Some(value @ Value::Object(_)) => Some(value.clone()),
            _ => None,
        }
        .filter(|m| m.get("display_information").is_some())
        .ok_or_else(|| api("invalid_manifest"))?;
        if name == CREATE {
            static NEXT: AtomicU64 = AtomicU64::new(1);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let app = FakeSlackApp {
                app_id: format!("A0FAKE{n:05}"),
                manifest: manifest.clone(),
                client_id: format!("1234567890.{:012}", 100_000 + n),
                signing_secret: format!("{:032x}", u128::from(n) << 64 | 0x5eed),
                updates: 0,
            };
            if let Some(refusal) = verify_event_url(&manifest, &app.signing_secret).await {
                return Ok(refusal);
            }
            let answer = json!({
                "ok": true,
                "app_id": app.app_id,
                "credentials": {
                    "client_id": app.client_id,
                    "client_secret": format!("{:032x}", u128::from(n) << 32 | 0xc1),
                    "verification_token": format!("fakeverification{n:08}"),
                    "signing_secret": app.signing_secret,
                },
                "oauth_authorize_url": format!(
                    "https://slack.com/oauth/v2/authorize?client_id={}&scope=commands,chat:write",
                    app.client_id
                ),
            });
            self.state().apps.push(app);
            return Ok(answer);
        }
        let app_id = args
            .get("app_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let secret = self
            .state()
            .apps
            .iter()
            .find(|a| a.app_id == app_id)
            .map(|a| a.signing_secret.clone())
            .ok_or_else(|| api("app_not_found"))?;
        if let Some(refusal) = verify_event_url(&manifest, &secret).await {
            return Ok(refusal);
        }
        let mut state = self.state();
        let app = state
            .apps
            .iter_mut()
            .find(|a| a.app_id == app_id)
            .ok_or_else(|| api("app_not_found"))?;
        app.manifest = manifest;
        app.updates += 1;
        Ok(json!({"ok": true, "app_id": app_id, "permissions_updated": false}))
    }
}

/// Sends the `url_verification` challenge to the manifest's event request URL, if any; Slack's
/// refusal when the URL does not answer it.
async fn verify_event_url(manifest: &Value, signing_secret: &str) -> Option<Value> {
    let url = manifest
        .pointer("/settings/event_subscriptions/request_url")
        .and_then(Value::as_str)?;
    let challenge = format!("challenge{:x}", SystemClock.now().millis());
    let body = json!({
        "token": "fakeverification",
        "challenge": challenge,
        "type": "url_verification",
    });
    let signed = slack_json_request(
        &SigningSecret::new(signing_secret),
        SystemClock.now().secs(),
        &body,
    );
    let mut request = reqwest::Client::new().post(url).body(signed.body);
    for (name, value) in signed.headers {
        request = request.header(name, value);
    }
    let answered = match request.send().await {
        Ok(response) if response.status().is_success() => {
            response.json::<Value>().await.ok().and_then(|v| {
                v.get("challenge")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
        }
        _ => None,
    };
    if answered.as_deref() == Some(challenge.as_str()) {
        return None;
    }
    Some(json!({
        "ok": false,
        "error": "invalid_manifest",
        "errors": [{
            "message": "Your URL didn't respond with the value of the challenge parameter.",
            "pointer": "/settings/event_subscriptions/request_url",
        }],
    }))
}
