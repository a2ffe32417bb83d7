//! The CircleCI webhook payloads `circleci-webhook` acts on: the signed `workflow-completed`
//! webhook (API v2 webhooks) and the legacy per-job `notify` payload.

use deploybot_core::{DeploymentId, Repository, Sha};
use serde::Deserialize;

/// What every signed CircleCI webhook carries: the event id (idempotency key) and its type.
#[derive(Debug, Deserialize)]
pub struct WebhookEnvelope {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// `workflow-completed`.
#[derive(Debug, Deserialize)]
pub struct WorkflowCompleted {
    pub id: String,
    pub workflow: Workflow,
    pub pipeline: Pipeline,
}

#[derive(Debug, Deserialize)]
pub struct Workflow {
    pub id: String,
    pub name: String,
    /// `success`, `failed`, `error`, `canceled`, `unauthorized`, ...
    pub status: String,
    pub url: String,
}

#[derive(Debug, Deserialize)]
pub struct Pipeline {
    pub id: String,
    #[serde(default)]
    pub number: Option<u64>,
}

/// The legacy `notify` webhook: `{"payload": {...one finished job...}}`.
#[derive(Debug, Deserialize)]
pub struct LegacyNotify {
    pub payload: LegacyBuild,
}

#[derive(Debug, Deserialize)]
pub struct LegacyBuild {
    pub build_num: u64,
    #[serde(default)]
    pub build_url: Option<String>,
    /// `success`, `failed`, `canceled`, `infrastructure_fail`, `timedout`, `no_tests`.
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub vcs_revision: Option<String>,
    /// The repository owner.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub reponame: Option<String>,
    /// Parameters the job ran with; deploybot's pipelines pass `deployment_id`.
    #[serde(default)]
    pub build_parameters: Option<serde_json::Map<String, serde_json::Value>>,
}

impl LegacyBuild {
    /// The job's result (`outcome`, else `status`).
    pub fn outcome(&self) -> &str {
        self.outcome
            .as_deref()
            .or(self.status.as_deref())
            .unwrap_or("")
    }

    pub fn repository(&self) -> Option<Repository> {
        let owner = self.username.as_deref()?;
        let name = self.reponame.as_deref()?;
        Repository::parse(&format!("{owner}/{name}")).ok()
    }

    pub fn sha(&self) -> Option<Sha> {
        self.vcs_revision
            .as_deref()
            .and_then(|s| Sha::parse(s).ok())
    }

    /// The `deployment_id` parameter, when the job received one.
    pub fn deployment_id(&self) -> Option<DeploymentId> {
        let params = self.build_parameters.as_ref()?;
        ["deployment_id", "DEPLOYMENT_ID"]
            .iter()
            .find_map(|key| params.get(*key))
            .and_then(|v| v.as_str())
            .and_then(|s| DeploymentId::parse(s).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook_payloads::parse_json;
    use serde_json::json;

    #[test]
    fn legacy_builds_name_their_deployment_and_outcome() {
        let body = json!({"payload": {
            "build_num": 42, "outcome": "failed", "status": "failed",
            "username": "acme", "reponame": "web", "vcs_revision": "c".repeat(40),
            "build_parameters": {"deployment_id": "000000000000000100000002"}
        }});
        let notify: LegacyNotify =
            parse_json("notify", body.to_string().as_bytes()).expect("parses");
        assert_eq!(notify.payload.outcome(), "failed");
        assert_eq!(
            notify
                .payload
                .repository()
                .map(|r| r.to_string())
                .as_deref(),
            Some("acme/web")
        );
        assert!(notify.payload.deployment_id().is_some());
        assert!(notify.payload.sha().is_some());
    }
}
