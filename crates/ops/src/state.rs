//! What the installer has done, kept in a small JSON file beside the operator (no secret in
//! it: ids and URLs only), so a run that stopped half-way resumes where it stopped.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallState {
    #[serde(default)]
    pub slack: SlackDone,
    #[serde(default)]
    pub github: GithubDone,
    /// CircleCI project slug → the id of its webhook to this stack.
    #[serde(default)]
    pub circleci_webhooks: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackDone {
    pub app_id: Option<String>,
    #[serde(default)]
    pub signing_secret_stored: bool,
    /// SHA-256 of the full manifest Slack last accepted (events and interactivity on).
    pub manifest_sha256: Option<String>,
    #[serde(default)]
    pub bot_token_stored: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubDone {
    pub app_id: Option<u64>,
    pub slug: Option<String>,
    pub html_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("reading {path}: {message}")]
    Read { path: String, message: String },
    #[error("writing {path}: {message}")]
    Write { path: String, message: String },
}

impl InstallState {
    /// The saved state, or a fresh one when the file does not exist.
    pub fn load(path: &Path) -> Result<Self, StateError> {
        let error = |message: String| StateError::Read {
            path: path.display().to_string(),
            message,
        };
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| error(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(error(e.to_string())),
        }
    }

    /// Writes the state (a temporary file renamed over the old one: never half-written).
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let error = |message: String| StateError::Write {
            path: path.display().to_string(),
            message,
        };
        let text = serde_json::to_vec_pretty(self).map_err(|e| error(e.to_string()))?;
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(".tmp");
        std::fs::write(&temporary, text).map_err(|e| error(e.to_string()))?;
        std::fs::rename(&temporary, path).map_err(|e| error(e.to_string()))
    }
}
