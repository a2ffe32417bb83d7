//! The Slack app and GitHub App manifests of `docs/`, with the deployed URLs filled in.

use serde_json::Value;

/// `docs/slack-app-manifest.yaml`, as committed.
pub const SLACK_MANIFEST_YAML: &str = include_str!("../../../docs/slack-app-manifest.yaml");
/// `docs/github-app-manifest.json`, as committed.
pub const GITHUB_MANIFEST_JSON: &str = include_str!("../../../docs/github-app-manifest.json");
/// The GitHub Actions workflow example whose trigger lines the installer prints.
pub const ACTIONS_EXAMPLE: &str = include_str!("../../../docs/github-actions/deploy.example.yml");

/// The placeholder the committed manifests use for the HTTP API's host.
pub const API_HOST_PLACEHOLDER: &str = "https://<api-host>";

#[derive(Debug, thiserror::Error)]
#[error("the committed {which} manifest does not parse: {message}")]
pub struct ManifestError {
    pub which: &'static str,
    pub message: String,
}

fn fill(value: &mut Value, api_url: &str) {
    match value {
        Value::String(text) if text.contains(API_HOST_PLACEHOLDER) => {
            *text = text.replace(API_HOST_PLACEHOLDER, api_url);
        }
        Value::Array(items) => items.iter_mut().for_each(|v| fill(v, api_url)),
        Value::Object(map) => map.values_mut().for_each(|v| fill(v, api_url)),
        _ => {}
    }
}

/// The Slack manifest as JSON with `api_url` (`https://<id>.execute-api.<region>.amazonaws.com`)
/// for every `https://<api-host>`. Without `events`, the event subscriptions are left out and
/// interactivity is off: Slack verifies the events URL as soon as it is saved, which succeeds
/// only once the app's signing secret is stored where the function reads it.
pub fn slack_manifest(api_url: &str, events: bool) -> Result<Value, ManifestError> {
    let mut manifest: Value =
        serde_yaml_ng::from_str(SLACK_MANIFEST_YAML).map_err(|e| ManifestError {
            which: "Slack app",
            message: e.to_string(),
        })?;
    fill(&mut manifest, api_url.trim_end_matches('/'));
    if !events && let Some(settings) = manifest.get_mut("settings").and_then(Value::as_object_mut) {
        settings.remove("event_subscriptions");
        settings.insert(
            "interactivity".into(),
            serde_json::json!({"is_enabled": false}),
        );
    }
    Ok(manifest)
}

/// The GitHub App manifest with the webhook URL filled in, redirecting to `redirect_url`,
/// public or not, its home page the organisation's (or the GitHub web root).
pub fn github_manifest(
    api_url: &str,
    redirect_url: &str,
    home_url: &str,
    public: bool,
) -> Result<Value, ManifestError> {
    let mut manifest: Value =
        serde_json::from_str(GITHUB_MANIFEST_JSON).map_err(|e| ManifestError {
            which: "GitHub App",
            message: e.to_string(),
        })?;
    fill(&mut manifest, api_url.trim_end_matches('/'));
    if let Some(map) = manifest.as_object_mut() {
        map.insert("redirect_url".into(), redirect_url.into());
        map.insert("url".into(), home_url.into());
        map.insert("public".into(), public.into());
    }
    Ok(manifest)
}

/// The lines of the Actions example a repository's deploy workflow needs: the run name and
/// the `workflow_dispatch` trigger with its inputs (everything before `jobs:`, comments out).
pub fn actions_trigger_lines() -> Vec<&'static str> {
    ACTIONS_EXAMPLE
        .lines()
        .skip_while(|l| !l.starts_with("run-name:"))
        .take_while(|l| !l.starts_with("jobs:") && !l.starts_with("permissions:"))
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect()
}
