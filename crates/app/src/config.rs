//! Handler configuration: secrets, the command name and time limits. Built by the function
//! entry points (from SSM / Secrets Manager) or the local server (from the environment).

use deploybot_core::command::Grammar;
use deploybot_core::signature::SigningSecret;
use secrecy::SecretString;

/// Everything handlers are configured with. Secrets a function does not need stay `None`;
/// a handler that needs a missing one fails with an internal error naming it.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The slash command grammar for `COMMAND` (default `/cimon`).
    pub grammar: Grammar,
    pub slack_signing_secret: Option<SigningSecret>,
    pub github_webhook_secret: Option<SigningSecret>,
    pub circleci_webhook_secret: Option<SigningSecret>,
    /// Shared token for CircleCI's legacy `notify` payloads (`CIRCLECI_NOTIFY_TOKEN`).
    pub circleci_notify_token: Option<SecretString>,
    /// How long idempotency keys are kept.
    pub delivery_ttl_secs: i64,
    /// How long a deployment may wait for checks before it is failed (default one hour).
    pub checks_timeout_secs: i64,
    /// Largest request body an HTTP endpoint accepts.
    pub max_body_bytes: usize,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            grammar: Grammar::default(),
            slack_signing_secret: None,
            github_webhook_secret: None,
            circleci_webhook_secret: None,
            circleci_notify_token: None,
            delivery_ttl_secs: 7 * 24 * 3600,
            checks_timeout_secs: 3600,
            max_body_bytes: 1024 * 1024,
        }
    }
}
