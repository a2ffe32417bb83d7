//! Configuration of the local server, read from environment variables with the same names
//! operators set on Lambda (`.env.sample` lists them). A missing required value is a startup
//! error naming the variable, never a panic.

pub use deploybot_app::config::ConfigError;
use deploybot_app::{AppConfig, config};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Where the local server keeps its data (`DEPLOYBOT_STORE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// `memory`: gone when the process stops.
    Memory,
    /// `dynamodb`: `DynamoStore` with the standard AWS configuration.
    DynamoDb,
    /// Any other value: a redb file at this path.
    File(PathBuf),
}

pub const DEFAULT_STORE_PATH: &str = ".deploybot/deploybot.redb";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";

/// Credentials for the real services (`serve` without `--fake-services`).
#[derive(Debug, Clone)]
pub struct ServiceCredentials {
    pub slack_bot_token: SecretString,
    pub github_app_id: u64,
    pub github_app_private_key: SecretString,
    /// Absent when every environment deploys with GitHub Actions.
    pub circleci_token: Option<SecretString>,
}

/// Outbound base URLs; `None` means the public API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceUrls {
    pub slack_api: Option<String>,
    pub github_api: Option<String>,
    pub circleci_api: Option<String>,
}

/// Everything `deploybot-local serve` needs.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    pub listen: SocketAddr,
    pub store: StoreChoice,
    /// `DEPLOYBOT_CREATE_TABLES=1`: create missing DynamoDB tables at start.
    pub create_tables: bool,
    pub app: AppConfig,
    pub urls: ServiceUrls,
    /// `None` with `--fake-services`.
    pub credentials: Option<ServiceCredentials>,
}

/// Reads configuration through `get` (the process environment in `main`, a map in tests).
/// The handler settings (command, secrets, timeouts) are read by [`AppConfig::from_lookup`],
/// as on Lambda; this adds what only the local server has. With `fake_services`, secrets and
/// credentials are optional (the fakes generate their own).
pub fn from_env(
    get: impl Fn(&str) -> Option<String>,
    fake_services: bool,
) -> Result<LocalConfig, ConfigError> {
    let get: &dyn Fn(&str) -> Option<String> = &get;
    let var = |name: &str| config::var(get, name);
    let required = |name: &'static str| config::required(get, name);

    let listen_text = var("DEPLOYBOT_LISTEN").unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
    let listen = listen_text.parse().map_err(|e| ConfigError::Invalid {
        variable: "DEPLOYBOT_LISTEN",
        reason: format!("`{listen_text}` is not an address like {DEFAULT_LISTEN} ({e})"),
    })?;
    let store = match var("DEPLOYBOT_STORE").as_deref() {
        None => StoreChoice::File(PathBuf::from(DEFAULT_STORE_PATH)),
        Some("memory") => StoreChoice::Memory,
        Some("dynamodb") => StoreChoice::DynamoDb,
        Some(path) => StoreChoice::File(PathBuf::from(path)),
    };
    let create_tables = matches!(
        var("DEPLOYBOT_CREATE_TABLES").as_deref(),
        Some("1" | "true")
    );

    let app = AppConfig::from_lookup(get, &|name| var(name).map(SecretString::from))?;
    let credentials = if fake_services {
        None
    } else {
        app.require_signing_secrets()?;
        Some(ServiceCredentials {
            github_app_id: config::parsed(get, "GITHUB_APP_ID", config::number("a number"))?
                .ok_or(ConfigError::Missing {
                    variable: "GITHUB_APP_ID",
                })?,
            slack_bot_token: SecretString::from(required("SLACK_BOT_TOKEN")?),
            github_app_private_key: SecretString::from(required("GITHUB_APP_PRIVATE_KEY")?),
            circleci_token: var("CIRCLECI_TOKEN").map(SecretString::from),
        })
    };

    Ok(LocalConfig {
        listen,
        store,
        create_tables,
        app,
        urls: ServiceUrls {
            slack_api: var("SLACK_API_URL"),
            github_api: var("GITHUB_API_URL"),
            circleci_api: var("CIRCLECI_API_URL"),
        },
        credentials,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    const FULL: [(&str, &str); 8] = [
        ("SLACK_SIGNING_SECRET", "s1"),
        ("SLACK_BOT_TOKEN", "xoxb-1"),
        ("GITHUB_WEBHOOK_SECRET", "g1"),
        ("GITHUB_APP_ID", "1234"),
        ("GITHUB_APP_PRIVATE_KEY", "-----BEGIN RSA PRIVATE KEY-----"),
        ("CIRCLECI_TOKEN", "c1"),
        ("CIRCLECI_WEBHOOK_SECRET", "w1"),
        ("COMMAND", "/ship"),
    ];

    /// An environment of `pairs`, as the configuration reads one (shared with the wiring's
    /// tests).
    pub(crate) fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn full_configuration() {
        let cfg = from_env(env(&FULL), false).expect("complete");
        assert_eq!(cfg.listen, "127.0.0.1:3000".parse().expect("addr"));
        assert_eq!(
            cfg.store,
            StoreChoice::File(PathBuf::from(DEFAULT_STORE_PATH))
        );
        assert_eq!(cfg.app.grammar.command(), "/ship");
        assert_eq!(
            cfg.credentials.as_ref().map(|c| c.github_app_id),
            Some(1234)
        );
        assert!(cfg.app.slack_signing_secret.is_some());
        assert!(
            !format!("{cfg:?}").contains("xoxb-1"),
            "secrets never in Debug output"
        );
    }

    #[test]
    fn each_missing_value_is_named() {
        // COMMAND has a default; CIRCLECI_TOKEN is only for environments on CircleCI.
        for (name, _) in FULL
            .iter()
            .filter(|(n, _)| !["COMMAND", "CIRCLECI_TOKEN"].contains(n))
        {
            let without: Vec<(&str, &str)> =
                FULL.iter().copied().filter(|(n, _)| n != name).collect();
            let err = from_env(env(&without), false).expect_err("missing value");
            assert_eq!(err, ConfigError::Missing { variable: name }, "{name}");
            assert!(err.to_string().contains(name));
        }
    }

    #[test]
    fn an_installation_on_github_actions_alone_needs_no_circleci_token() {
        let without: Vec<(&str, &str)> = FULL
            .iter()
            .copied()
            .filter(|(n, _)| *n != "CIRCLECI_TOKEN")
            .collect();
        let cfg = from_env(env(&without), false).expect("complete without it");
        assert!(
            cfg.credentials
                .expect("credentials")
                .circleci_token
                .is_none()
        );
    }

    #[test]
    fn fake_services_need_no_credentials() {
        let cfg = from_env(env(&[("DEPLOYBOT_STORE", "memory")]), true).expect("fakes");
        assert_eq!(cfg.store, StoreChoice::Memory);
        assert!(cfg.credentials.is_none());
        assert_eq!(cfg.app.grammar.command(), "/cimon");
    }

    #[test]
    fn invalid_values_are_explained() {
        let bad_listen =
            from_env(env(&[("DEPLOYBOT_LISTEN", "localhost")]), true).expect_err("bad");
        assert!(matches!(
            bad_listen,
            ConfigError::Invalid {
                variable: "DEPLOYBOT_LISTEN",
                ..
            }
        ));
        let mut pairs = FULL.to_vec();
        pairs.retain(|(n, _)| *n != "GITHUB_APP_ID");
        pairs.push(("GITHUB_APP_ID", "abc"));
        let bad_id = from_env(env(&pairs), false).expect_err("bad id");
        assert!(matches!(
            bad_id,
            ConfigError::Invalid {
                variable: "GITHUB_APP_ID",
                ..
            }
        ));
        let dynamo = from_env(
            env(&[
                ("DEPLOYBOT_STORE", "dynamodb"),
                ("DEPLOYBOT_CREATE_TABLES", "1"),
            ]),
            true,
        )
        .expect("valid");
        assert_eq!(dynamo.store, StoreChoice::DynamoDb);
        assert!(dynamo.create_tables);
    }
}
