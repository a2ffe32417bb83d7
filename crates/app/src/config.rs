//! Handler configuration: secrets, the command name and time limits, read in one place
//! ([`AppConfig::from_lookup`]) by both the Lambda bootstrap (secrets from SSM / Secrets
//! Manager) and the local server (everything from the environment), with one set of defaults
//! and one wording for mistakes (`VARIABLE is invalid: ...`).

use deploybot_core::ci::{CI_BACKEND_VAR, CiKind};
use deploybot_core::command::Grammar;
use deploybot_core::duration::parse_duration;
use deploybot_core::lane::WatchdogConfig;
use deploybot_core::signature::SigningSecret;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

/// The slash command (default `/cimon`).
pub const COMMAND: &str = "COMMAND";
/// Seconds a deployment may wait for required checks (default 3600).
pub const CHECKS_TIMEOUT_SECS: &str = "DEPLOYBOT_CHECKS_TIMEOUT_SECS";
/// How long a pipeline may take to start (default `2m`).
pub const START_TIMEOUT: &str = "DEPLOYBOT_START_TIMEOUT";
/// How long a deployment may run (default `45m`).
pub const DEPLOYMENT_TIMEOUT: &str = "DEPLOYBOT_DEPLOYMENT_TIMEOUT";
/// How often the watchdog looks at running deployments (default `1m`).
pub const WATCHDOG_INTERVAL: &str = "DEPLOYBOT_WATCHDOG_INTERVAL";
/// Slack request signing secret.
pub const SLACK_SIGNING_SECRET: &str = "SLACK_SIGNING_SECRET";
/// GitHub webhook secret.
pub const GITHUB_WEBHOOK_SECRET: &str = "GITHUB_WEBHOOK_SECRET";
/// CircleCI webhook signing secret.
pub const CIRCLECI_WEBHOOK_SECRET: &str = "CIRCLECI_WEBHOOK_SECRET";
/// Shared token of CircleCI's legacy `notify` payloads (optional).
pub const CIRCLECI_NOTIFY_TOKEN: &str = "CIRCLECI_NOTIFY_TOKEN";
/// GitHub's web address (sign-in, links to commits and comparisons); GitHub Enterprise
/// Server: `https://host`.
pub const GITHUB_WEB_URL: &str = "GITHUB_WEB_URL";
/// [`GITHUB_WEB_URL`]'s default.
pub const DEFAULT_GITHUB_WEB_URL: &str = "https://github.com";
/// The GitHub App's client secret: keys the board's cookies (`web`).
pub const GITHUB_APP_CLIENT_SECRET: &str = "GITHUB_APP_CLIENT_SECRET";

/// The largest webhook payload GitHub sends: it caps deliveries at 25 MB and sends nothing for
/// an event whose payload would be larger (taken as 25 MiB, which covers both readings of
/// "MB"). docs/operations.md, "Request size limits", says what AWS accepts in front of it.
pub const GITHUB_MAX_PAYLOAD_BYTES: usize = 25 * 1024 * 1024;

/// The three signing secrets, in the order a missing one is reported.
pub const SIGNING_SECRETS: [&str; 3] = [
    SLACK_SIGNING_SECRET,
    GITHUB_WEBHOOK_SECRET,
    CIRCLECI_WEBHOOK_SECRET,
];

/// A setting that is missing or cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{variable} is not set; see .env.sample")]
    Missing { variable: &'static str },
    #[error("{variable} is invalid: {reason}")]
    Invalid {
        variable: &'static str,
        reason: String,
    },
}

/// Reads a plain (non-secret) variable through `lookup`; blank counts as unset.
pub fn var(lookup: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A variable that must be set.
pub fn required(
    lookup: &dyn Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<String, ConfigError> {
    var(lookup, variable).ok_or(ConfigError::Missing { variable })
}

/// A variable read with `parse` when set; `parse` explains a bad value (the error then reads
/// `VARIABLE is invalid: <explanation>`).
pub fn parsed<T>(
    lookup: &dyn Fn(&str) -> Option<String>,
    variable: &'static str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, ConfigError> {
    var(lookup, variable)
        .map(|text| parse(&text).map_err(|reason| ConfigError::Invalid { variable, reason }))
        .transpose()
}

/// Parses a whole number, explaining a bad value as "`text` is not <what>".
pub fn number<T: std::str::FromStr>(what: &str) -> impl FnOnce(&str) -> Result<T, String> + '_ {
    move |text| text.parse().map_err(|_| format!("`{text}` is not {what}"))
}

/// A duration variable (`30s`, `45m`, `2h`, `1d`), `default` when unset.
fn duration(
    lookup: &dyn Fn(&str) -> Option<String>,
    variable: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    Ok(parsed(lookup, variable, |text| {
        parse_duration(text).map_err(|e| e.to_string())
    })?
    .unwrap_or(default))
}

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
    /// Largest request body an HTTP endpoint accepts (all but `/github/webhook`).
    pub max_body_bytes: usize,
    /// Largest request body `/github/webhook` accepts: GitHub's own maximum by default.
    pub github_max_body_bytes: usize,
    /// `DEPLOYBOT_START_TIMEOUT`: how long a pipeline may take to start (default 2 minutes).
    pub start_timeout: Duration,
    /// `DEPLOYBOT_DEPLOYMENT_TIMEOUT`: how long a deployment may run (default 45 minutes).
    pub deployment_timeout: Duration,
    /// `DEPLOYBOT_WATCHDOG_INTERVAL`: how often running deployments are looked at (default
    /// one minute).
    pub watchdog_interval: Duration,
    /// `DEPLOYBOT_CI_BACKEND`: the CI of environments whose `backend` the workflow file does
    /// not set (`circleci`, the default, or `github_actions`).
    pub ci_backend: CiKind,
    /// `GITHUB_WEB_URL` without a trailing `/` (default `https://github.com`).
    pub github_web_url: String,
    /// The key of the board's cookies, derived from `GITHUB_APP_CLIENT_SECRET` (`web`).
    pub board_cookie_key: Option<deploybot_core::board::CookieKey>,
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
            github_max_body_bytes: GITHUB_MAX_PAYLOAD_BYTES,
            start_timeout: WatchdogConfig::default().start_timeout,
            deployment_timeout: WatchdogConfig::default().deployment_timeout,
            watchdog_interval: WatchdogConfig::default().interval,
            ci_backend: CiKind::default(),
            github_web_url: DEFAULT_GITHUB_WEB_URL.to_owned(),
            board_cookie_key: None,
        }
    }
}

impl AppConfig {
    /// The configuration from plain variables (`lookup`: `COMMAND`, `DEPLOYBOT_*`) and secrets
    /// (`secret`: the signing secrets and `CIRCLECI_NOTIFY_TOKEN`); what is unset keeps its
    /// default, an absent secret stays `None`. A signing secret may hold two values separated
    /// by a comma while it is rotated ([`SigningSecret::from_config`]).
    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
        secret: &dyn Fn(&str) -> Option<SecretString>,
    ) -> Result<Self, ConfigError> {
        let secret = |name: &str| secret(name).filter(|v| !v.expose_secret().trim().is_empty());
        let signing = |variable: &'static str| {
            secret(variable)
                .map(|value| {
                    SigningSecret::from_config(value.expose_secret()).ok_or_else(|| {
                        ConfigError::Invalid {
                            variable,
                            reason: "no value (one value, or two separated by a comma while \
                                     rotating)"
                                .into(),
                        }
                    })
                })
                .transpose()
        };
        let defaults = Self::default();
        Ok(Self {
            grammar: var(lookup, COMMAND)
                .map(|command| Grammar::new(&command))
                .unwrap_or(defaults.grammar),
            slack_signing_secret: signing(SLACK_SIGNING_SECRET)?,
            github_webhook_secret: signing(GITHUB_WEBHOOK_SECRET)?,
            circleci_webhook_secret: signing(CIRCLECI_WEBHOOK_SECRET)?,
            circleci_notify_token: secret(CIRCLECI_NOTIFY_TOKEN),
            checks_timeout_secs: parsed(
                lookup,
                CHECKS_TIMEOUT_SECS,
                number("a number of seconds"),
            )?
            .unwrap_or(defaults.checks_timeout_secs),
            start_timeout: duration(lookup, START_TIMEOUT, defaults.start_timeout)?,
            deployment_timeout: duration(lookup, DEPLOYMENT_TIMEOUT, defaults.deployment_timeout)?,
            watchdog_interval: duration(lookup, WATCHDOG_INTERVAL, defaults.watchdog_interval)?,
            ci_backend: parsed(lookup, CI_BACKEND_VAR, CiKind::parse)?
                .unwrap_or(defaults.ci_backend),
            github_web_url: var(lookup, GITHUB_WEB_URL)
                .map(|url| url.trim().trim_end_matches('/').to_owned())
                .unwrap_or(defaults.github_web_url),
            board_cookie_key: secret(GITHUB_APP_CLIENT_SECRET).map(|value| {
                deploybot_core::board::CookieKey::derive(value.expose_secret().trim())
            }),
            ..defaults
        })
    }

    /// All three signing secrets are set (the local server against real services); the error
    /// names the first missing one.
    pub fn require_signing_secrets(&self) -> Result<(), ConfigError> {
        let present = [
            self.slack_signing_secret.is_some(),
            self.github_webhook_secret.is_some(),
            self.circleci_webhook_secret.is_some(),
        ];
        match SIGNING_SECRETS.iter().zip(present).find(|(_, set)| !set) {
            Some((variable, _)) => Err(ConfigError::Missing { variable }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deploybot_core::signature::sign_github;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn secrets(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<SecretString> {
        let vars = vars(pairs);
        move |name| vars(name).map(SecretString::from)
    }

    fn error(pairs: &[(&str, &str)], secret_pairs: &[(&str, &str)]) -> String {
        AppConfig::from_lookup(&vars(pairs), &secrets(secret_pairs))
            .expect_err("invalid")
            .to_string()
    }

    #[test]
    fn nothing_set_is_the_defaults() {
        let config =
            AppConfig::from_lookup(&vars(&[("COMMAND", "  ")]), &secrets(&[])).expect("defaults");
        let defaults = AppConfig::default();
        assert_eq!(config.grammar.command(), "/cimon");
        assert_eq!(config.checks_timeout_secs, 3600);
        assert_eq!(config.delivery_ttl_secs, defaults.delivery_ttl_secs);
        assert_eq!(config.max_body_bytes, defaults.max_body_bytes);
        assert_eq!(config.github_max_body_bytes, GITHUB_MAX_PAYLOAD_BYTES);
        assert_eq!(config.start_timeout, Duration::from_secs(120));
        assert_eq!(config.deployment_timeout, Duration::from_secs(45 * 60));
        assert_eq!(config.watchdog_interval, Duration::from_secs(60));
        assert!(config.slack_signing_secret.is_none());
        assert!(config.circleci_notify_token.is_none());
        assert_eq!(config.ci_backend, CiKind::CircleCi);
        assert_eq!(
            config.require_signing_secrets(),
            Err(ConfigError::Missing {
                variable: SLACK_SIGNING_SECRET
            })
        );
    }

    #[test]
    fn every_setting_is_read() {
        let config = AppConfig::from_lookup(
            &vars(&[
                ("COMMAND", "/ship"),
                ("DEPLOYBOT_CHECKS_TIMEOUT_SECS", " 600 "),
                ("DEPLOYBOT_START_TIMEOUT", "30s"),
                ("DEPLOYBOT_DEPLOYMENT_TIMEOUT", "2h"),
                ("DEPLOYBOT_WATCHDOG_INTERVAL", "1d"),
                ("DEPLOYBOT_CI_BACKEND", "github_actions"),
            ]),
            &secrets(&[
                ("SLACK_SIGNING_SECRET", "s1"),
                ("GITHUB_WEBHOOK_SECRET", "new, old"),
                ("CIRCLECI_WEBHOOK_SECRET", "w1"),
                ("CIRCLECI_NOTIFY_TOKEN", "n1"),
            ]),
        )
        .expect("valid");
        assert_eq!(config.grammar.command(), "/ship");
        assert_eq!(config.checks_timeout_secs, 600);
        assert_eq!(config.start_timeout, Duration::from_secs(30));
        assert_eq!(config.deployment_timeout, Duration::from_secs(7200));
        assert_eq!(config.watchdog_interval, Duration::from_secs(86400));
        assert_eq!(config.ci_backend, CiKind::GitHubActions);
        let rotating = config.github_webhook_secret.as_ref().expect("set");
        assert_eq!(
            sign_github(rotating, b"body"),
            sign_github(&SigningSecret::new("new"), b"body"),
            "two values while rotating, the first one signs"
        );
        assert_eq!(
            config
                .circleci_notify_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            Some("n1".into())
        );
        assert_eq!(config.require_signing_secrets(), Ok(()));
        assert!(!format!("{config:?}").contains("s1"), "no secret in Debug");
    }

    #[test]
    fn mistakes_name_the_variable_in_one_wording() {
        assert_eq!(
            error(&[("DEPLOYBOT_CHECKS_TIMEOUT_SECS", "an hour")], &[]),
            "DEPLOYBOT_CHECKS_TIMEOUT_SECS is invalid: `an hour` is not a number of seconds"
        );
        assert_eq!(
            error(&[("DEPLOYBOT_START_TIMEOUT", "120")], &[]),
            "DEPLOYBOT_START_TIMEOUT is invalid: `120` has no unit: write it like `30s`, `45m`, \
             `2h` or `1d`"
        );
        assert_eq!(
            error(&[("DEPLOYBOT_CI_BACKEND", "jenkins")], &[]),
            "DEPLOYBOT_CI_BACKEND is invalid: `jenkins` is not a CI backend; the backends are \
             circleci, github_actions"
        );
        assert_eq!(
            error(&[("DEPLOYBOT_WATCHDOG_INTERVAL", "soon")], &[]),
            "DEPLOYBOT_WATCHDOG_INTERVAL is invalid: `soon` is not a duration: write it like \
             `30m`, `2h` or `1d` (s, m, h and d can be combined: `1h30m`)"
        );
        assert_eq!(
            error(&[], &[("SLACK_SIGNING_SECRET", " , ")]),
            "SLACK_SIGNING_SECRET is invalid: no value (one value, or two separated by a comma \
             while rotating)"
        );
        assert_eq!(
            ConfigError::Missing {
                variable: "GITHUB_APP_ID"
            }
            .to_string(),
            "GITHUB_APP_ID is not set; see .env.sample"
        );
    }

    #[test]
    fn the_first_missing_signing_secret_is_named() {
        for missing in SIGNING_SECRETS {
            let present: Vec<(&str, &str)> = SIGNING_SECRETS
                .iter()
                .filter(|name| **name != missing)
                .map(|name| (*name, "value"))
                .collect();
            let config =
                AppConfig::from_lookup(&vars(&[]), &secrets(&present)).expect("valid secrets");
            assert_eq!(
                config.require_signing_secrets(),
                Err(ConfigError::Missing { variable: missing })
            );
        }
    }
}
