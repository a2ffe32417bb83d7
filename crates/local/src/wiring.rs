//! Builds the local server's `AppState` from a [`LocalConfig`]: the store (in memory, a redb
//! file, or DynamoDB through the standard AWS configuration), the in-process invoker, and the
//! real Slack, GitHub and CircleCI adapters — pointed at the real services, or at the built-in
//! fakes started on 127.0.0.1 (`--fake-services`), so that even the demo exercises the real
//! adapters over HTTP. Also the server task and the watchdog's periodic sweep that Lambda
//! gets from an EventBridge schedule.

use crate::config::{LocalConfig, ServiceCredentials, ServiceUrls, StoreChoice};
use crate::store::RedbStore;
use crate::world;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use deploybot_app::AppConfig;
use deploybot_app::dispatch::InProcessInvoker;
use deploybot_app::wiring::{Functions, Parts};
use deploybot_aws::{DynamoStore, TableNames, create_tables};
use deploybot_core::board::CookieKey;
use deploybot_core::invoke::{self, DeploymentCreateRequest};
use deploybot_core::ports::{
    CiError, Clock, GitHubError, SlackError, Store, StoreError, SystemClock,
};
use deploybot_core::signature::SigningSecret;
use deploybot_integrations::ci::CiBackends;
use deploybot_integrations::circleci::{CircleCiClient, CircleCiConfig};
use deploybot_integrations::github::{GitHubActions, GitHubClient, GitHubConfig};
use deploybot_integrations::github_user::{GitHubUserClient, GitHubUserConfig};
use deploybot_integrations::slack::{SlackClient, SlackConfig};
use deploybot_testkit::MemoryStore;
use deploybot_testkit::fakes::circleci::FakeCircleCi;
use deploybot_testkit::fakes::github::{
    FAKE_APP_ID, FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, FakeGitHub, TEST_ONLY_APP_PRIVATE_KEY_PEM,
};
use deploybot_testkit::fakes::github_actions::FakeActions;
use deploybot_testkit::fakes::server::FakeServer;
use deploybot_testkit::fakes::slack::FakeSlack;
use secrecy::{ExposeSecret, SecretString};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// The table prefix when neither `DYNAMODB_TABLE_*` nor `DEPLOYBOT_TABLE_PREFIX` is set.
pub const DEFAULT_TABLE_PREFIX: &str = "deploybot";

#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error("opening the store: {0}")]
    Store(#[from] StoreError),
    #[error("DynamoDB: {0}")]
    DynamoDb(String),
    #[error("starting the fake {service}: {source}")]
    Fake {
        service: &'static str,
        source: std::io::Error,
    },
    #[error("the Slack adapter: {0}")]
    Slack(#[from] SlackError),
    #[error("the GitHub adapter: {0}")]
    GitHub(#[from] GitHubError),
    #[error("the CircleCI adapter: {0}")]
    CircleCi(#[from] CiError),
    #[error("listening on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

// =============================================================================================
// The store

/// How to reach DynamoDB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DynamoConnection {
    /// The standard AWS configuration from the environment: credentials, region,
    /// `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_DYNAMODB`.
    FromEnvironment,
    /// A DynamoDB-compatible emulator at this URL, with dummy credentials (tests).
    Emulator(String),
}

/// Where `DEPLOYBOT_STORE=dynamodb` keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamoSettings {
    pub connection: DynamoConnection,
    pub tables: TableNames,
    /// Create missing tables at start (`DEPLOYBOT_CREATE_TABLES=1`).
    pub create_tables: bool,
}

impl DynamoSettings {
    /// Tables named by `DYNAMODB_TABLE_PROJECT`, `_USER`, `_DEPLOYMENT`, `_DELIVERY` and `_LANE`
    /// (as on Lambda) when any is set, else `<DEPLOYBOT_TABLE_PREFIX>-project`, ... (prefix
    /// default `deploybot`).
    pub fn from_env(
        get: impl Fn(&str) -> Option<String>,
        create_tables: bool,
    ) -> Result<Self, WiringError> {
        let set = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let named = deploybot_aws::dynamo::TableRole::ALL
            .iter()
            .any(|role| set(role.env_var()).is_some());
        let tables = if named {
            TableNames::from_lookup(set).map_err(|e| WiringError::Invalid(e.to_string()))?
        } else {
            let prefix = set("DEPLOYBOT_TABLE_PREFIX")
                .map(|p| p.trim().to_owned())
                .unwrap_or_else(|| DEFAULT_TABLE_PREFIX.to_owned());
            TableNames::with_prefix(&prefix)
        };
        Ok(Self {
            connection: DynamoConnection::FromEnvironment,
            tables,
            create_tables,
        })
    }

    /// Fresh tables under `prefix` on the emulator at `endpoint`, created at start.
    pub fn emulator(endpoint: &str, prefix: &str) -> Self {
        Self {
            connection: DynamoConnection::Emulator(endpoint.trim().to_owned()),
            tables: TableNames::with_prefix(prefix),
            create_tables: true,
        }
    }
}

/// A store, and words for where it keeps its data.
#[derive(Clone)]
pub struct OpenedStore {
    pub store: Arc<dyn Store>,
    pub description: String,
}

impl std::fmt::Debug for OpenedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedStore")
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

/// Opens the store `choice` names (`dynamo` is used for [`StoreChoice::DynamoDb`]).
pub async fn open_store(
    choice: &StoreChoice,
    dynamo: &DynamoSettings,
) -> Result<OpenedStore, WiringError> {
    match choice {
        StoreChoice::Memory => Ok(OpenedStore {
            store: Arc::new(MemoryStore::new()),
            description: "in memory (gone when the process stops)".into(),
        }),
        StoreChoice::File(path) => {
            let store = RedbStore::open(path).await?;
            Ok(OpenedStore {
                store: Arc::new(store),
                description: format!("redb file {}", path.display()),
            })
        }
        StoreChoice::DynamoDb => open_dynamo(dynamo).await,
    }
}

async fn open_dynamo(settings: &DynamoSettings) -> Result<OpenedStore, WiringError> {
    let (store, place) = match &settings.connection {
        DynamoConnection::FromEnvironment => {
            let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .load()
                .await;
            let place = sdk
                .endpoint_url()
                .map(str::to_owned)
                .or_else(|| std::env::var("AWS_ENDPOINT_URL_DYNAMODB").ok())
                .unwrap_or_else(|| "AWS".to_owned());
            (
                DynamoStore::from_sdk_config(&sdk, settings.tables.clone()),
                place,
            )
        }
        DynamoConnection::Emulator(endpoint) => {
            let config = aws_sdk_dynamodb::Config::builder()
                .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                    "testing",
                    "testing",
                    None,
                    None,
                    "deploybot-local-emulator",
                ))
                .endpoint_url(endpoint)
                .retry_config(deploybot_aws::dynamo::retry_config())
                .build();
            let client = aws_sdk_dynamodb::Client::from_conf(config);
            (
                DynamoStore::new(client, settings.tables.clone()),
                endpoint.clone(),
            )
        }
    };
    let tables = &settings.tables;
    if settings.create_tables {
        create_tables(store.client(), tables)
            .await
            .map_err(|e| WiringError::DynamoDb(e.to_string()))?;
    } else {
        for name in [
            &tables.project,
            &tables.user,
            &tables.deployment,
            &tables.delivery,
            &tables.lane,
        ] {
            store
                .client()
                .describe_table()
                .table_name(name)
                .send()
                .await
                .map_err(|e| {
                    let problem = match e.as_service_error() {
                        Some(s) if s.is_resource_not_found_exception() => {
                            "does not exist".to_owned()
                        }
                        Some(s) => s.meta().message().unwrap_or("was refused").to_owned(),
                        None => format!("could not be reached: {}", DisplayErrorContext(&e)),
                    };
                    WiringError::DynamoDb(format!(
                        "table {name} at {place} {problem}. Set DEPLOYBOT_CREATE_TABLES=1 to \
                         create missing tables, or name existing ones with \
                         DYNAMODB_TABLE_PROJECT, _USER, _DEPLOYMENT, _DELIVERY and _LANE"
                    ))
                })?;
        }
    }
    Ok(OpenedStore {
        store: Arc::new(store),
        description: format!(
            "DynamoDB at {place}, tables {}, {}, {}, {}",
            tables.project, tables.user, tables.deployment, tables.delivery
        ),
    })
}

// =============================================================================================
// The fakes

/// The three fakes, served on 127.0.0.1 and seeded with the demo world
/// ([`crate::world`]). Dropping this stops them.
#[derive(Debug)]
pub struct FakeServices {
    pub slack: FakeSlack,
    pub github: FakeGitHub,
    /// GitHub Actions' runs, served by the fake GitHub's API.
    pub actions: FakeActions,
    pub ci: FakeCircleCi,
    slack_server: FakeServer,
    github_server: FakeServer,
    ci_server: FakeServer,
}

impl FakeServices {
    /// Starts the fakes on 127.0.0.1 (ports chosen by the kernel).
    ///
    /// # Panics
    /// The fake GitHub panics when no local port can be bound (a broken machine).
    pub async fn start() -> Result<Self, WiringError> {
        let slack = FakeSlack::new();
        let github = FakeGitHub::new();
        let actions = FakeActions::new();
        actions.set_default_branch(world::DEFAULT_BRANCH);
        github.attach_actions(&actions);
        let ci = FakeCircleCi::new();
        world::seed_github(&github).map_err(WiringError::Invalid)?;
        world::seed_slack(&slack);
        let slack_server = slack
            .try_serve()
            .await
            .map_err(|source| WiringError::Fake {
                service: "Slack",
                source,
            })?;
        let ci_server = ci.try_serve().await.map_err(|source| WiringError::Fake {
            service: "CircleCI",
            source,
        })?;
        let github_server = github.serve().await;
        Ok(Self {
            slack,
            github,
            actions,
            ci,
            slack_server,
            github_server,
            ci_server,
        })
    }

    /// Point `SLACK_API_URL` here.
    pub fn slack_url(&self) -> &str {
        self.slack_server.base_url()
    }

    /// Point `GITHUB_API_URL` here.
    pub fn github_url(&self) -> &str {
        self.github_server.base_url()
    }

    /// Point `CIRCLECI_API_URL` here.
    pub fn circleci_url(&self) -> &str {
        self.ci_server.base_url()
    }
}

/// A hex string of `bytes` random bytes, for secrets of the local fakes (not for production:
/// it comes from the standard library's per-process hash seeds and the clock).
pub fn random_hex(bytes: usize) -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = String::with_capacity(bytes * 2);
    while out.len() < bytes * 2 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        hasher.write_i64(SystemClock.now().millis());
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out.truncate(bytes * 2);
    out
}

/// The webhook secrets the server checks, as text (what `poke` and the harness sign with).
/// Secrets that were configured keep their configured (first) value.
#[derive(Clone)]
pub struct WebhookSecrets {
    pub slack_signing: SecretString,
    pub github_webhook: SecretString,
    pub circleci_webhook: SecretString,
}

impl std::fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecrets([redacted])")
    }
}

impl WebhookSecrets {
    pub fn slack(&self) -> SigningSecret {
        SigningSecret::new(self.slack_signing.expose_secret())
    }

    pub fn github(&self) -> SigningSecret {
        SigningSecret::new(self.github_webhook.expose_secret())
    }

    pub fn circleci(&self) -> SigningSecret {
        SigningSecret::new(self.circleci_webhook.expose_secret())
    }
}

/// The first value of a configured secret (`new,old` during rotation), or a fresh one.
fn secret_or_generated(configured: Option<String>) -> SecretString {
    let first = configured
        .as_deref()
        .and_then(|v| v.split(',').map(str::trim).find(|v| !v.is_empty()))
        .map(str::to_owned);
    SecretString::from(first.unwrap_or_else(|| random_hex(32)))
}

// =============================================================================================
// The state

/// deploybot's state wired for one process.
#[derive(Debug)]
pub struct Wired {
    /// The functions, each with its profile's state.
    pub functions: Functions,
    pub invoker: InProcessInvoker,
    pub store_description: String,
    /// The fakes, with `--fake-services`.
    pub fakes: Option<FakeServices>,
    /// With `--fake-services`: the secrets the server checks (generated where not configured).
    pub secrets: Option<WebhookSecrets>,
}

/// Wires `store` and the adapters `config` asks for: the real services with its credentials,
/// or (no credentials) the fakes, started here. `env` reads the secrets' configured text for
/// the fakes (`SLACK_SIGNING_SECRET`, ...; missing ones are generated).
pub async fn wire(
    config: &LocalConfig,
    store: OpenedStore,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Wired, WiringError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (parts, fakes, secrets) = match &config.credentials {
        Some(credentials) => {
            let parts = Parts::new(clock.clone(), config.app.clone()).with_dyn_store(store.store);
            let mut parts = with_real_adapters(parts, credentials, &config.urls, clock)?;
            // The board's sign-in, when the App's client id and secret are configured.
            if let Ok(user) = GitHubUserConfig::from_lookup(&env) {
                parts = parts.with_github_user(Arc::new(GitHubUserClient::new(user)?));
            }
            (parts, None, None)
        }
        None => {
            let fakes = FakeServices::start().await?;
            let secrets = WebhookSecrets {
                slack_signing: secret_or_generated(env("SLACK_SIGNING_SECRET")),
                github_webhook: secret_or_generated(env("GITHUB_WEBHOOK_SECRET")),
                circleci_webhook: secret_or_generated(env("CIRCLECI_WEBHOOK_SECRET")),
            };
            let app = AppConfig {
                slack_signing_secret: Some(secrets.slack()),
                github_webhook_secret: Some(secrets.github()),
                circleci_webhook_secret: Some(secrets.circleci()),
                // The fake GitHub is also its web side (the board's sign-in and links).
                github_web_url: fakes.github_url().trim_end_matches('/').to_owned(),
                board_cookie_key: Some(CookieKey::derive(FAKE_CLIENT_SECRET)),
                ..config.app.clone()
            };
            let parts = Parts::new(clock.clone(), app).with_dyn_store(store.store);
            let parts = with_fake_adapters(parts, &fakes, clock)?;
            (parts, Some(fakes), Some(secrets))
        }
    };
    let functions = Functions::wire(parts).map_err(|e| WiringError::Invalid(e.to_string()))?;
    Ok(Wired {
        invoker: functions.invoker().clone(),
        functions,
        store_description: store.description,
        fakes,
        secrets,
    })
}

fn with_real_adapters(
    parts: Parts,
    credentials: &ServiceCredentials,
    urls: &ServiceUrls,
    clock: Arc<dyn Clock>,
) -> Result<Parts, WiringError> {
    let mut slack = SlackConfig::new(credentials.slack_bot_token.clone());
    if let Some(url) = &urls.slack_api {
        slack = slack.with_api_url(url);
    }
    // Keys pasted into one line carry literal `\n`s (as GitHubConfig::from_lookup accepts).
    let key = credentials
        .github_app_private_key
        .expose_secret()
        .trim()
        .replace("\\n", "\n");
    let mut github = GitHubConfig::new(
        credentials.github_app_id.to_string(),
        SecretString::from(key),
    );
    if let Some(url) = &urls.github_api {
        github = github.with_api_url(url)?;
    }
    let github = Arc::new(GitHubClient::new(github, clock)?);
    let mut ci =
        CiBackends::new().with_github_actions(Arc::new(GitHubActions::new(Arc::clone(&github))));
    if let Some(token) = &credentials.circleci_token {
        let mut circleci = CircleCiConfig::new(token.clone());
        if let Some(url) = &urls.circleci_api {
            circleci = circleci.with_api_url(url);
        }
        ci = ci.with_circleci(Arc::new(CircleCiClient::new(circleci)?));
    }
    Ok(parts
        .with_slack(Arc::new(SlackClient::new(slack)?))
        .with_github(github)
        .with_ci(Arc::new(ci)))
}

fn with_fake_adapters(
    parts: Parts,
    fakes: &FakeServices,
    clock: Arc<dyn Clock>,
) -> Result<Parts, WiringError> {
    let slack = SlackConfig::new(SecretString::from(format!("xoxb-local-{}", random_hex(12))))
        .with_api_url(fakes.slack_url());
    let github = GitHubConfig::new(
        FAKE_APP_ID,
        SecretString::from(TEST_ONLY_APP_PRIVATE_KEY_PEM.to_owned()),
    )
    .with_api_url(fakes.github_url())?;
    let circleci =
        CircleCiConfig::new(SecretString::from(random_hex(20))).with_api_url(fakes.circleci_url());
    let github = Arc::new(GitHubClient::new(github, clock)?);
    let ci = CiBackends::new()
        .with_circleci(Arc::new(CircleCiClient::new(circleci)?))
        .with_github_actions(Arc::new(GitHubActions::new(Arc::clone(&github))));
    let user = GitHubUserConfig::from_lookup(|name| match name {
        "GITHUB_WEB_URL" | "GITHUB_API_URL" => Some(fakes.github_url().to_owned()),
        "GITHUB_APP_CLIENT_ID" => Some(FAKE_CLIENT_ID.to_owned()),
        "GITHUB_APP_CLIENT_SECRET" => Some(FAKE_CLIENT_SECRET.to_owned()),
        _ => None,
    })?;
    Ok(parts
        .with_slack(Arc::new(SlackClient::new(slack)?))
        .with_github(github)
        .with_ci(Arc::new(ci))
        .with_github_user(Arc::new(GitHubUserClient::new(user)?)))
}

// =============================================================================================
// Running

/// The local server, serving on a background task until [`RunningServer::shutdown`] (or drop).
#[derive(Debug)]
pub struct RunningServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets requests in flight finish, and waits.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(result) => result,
            Err(join) => Err(std::io::Error::other(join.to_string())),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `addr` and serves every route of [`crate::server::router`] for `functions`.
pub async fn start_server(
    addr: SocketAddr,
    functions: &Functions,
) -> Result<RunningServer, WiringError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| WiringError::Listen {
            addr: addr.to_string(),
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| WiringError::Listen {
            addr: addr.to_string(),
            source,
        })?;
    let (stop, stopped) = oneshot::channel::<()>();
    let router = crate::server::router(functions);
    let task = tokio::spawn(crate::server::serve(listener, router, async move {
        let _ = stopped.await;
    }));
    Ok(RunningServer {
        addr,
        stop: Some(stop),
        task,
    })
}

/// The watchdog's periodic sweep (docs/workflow.md, "The watchdog"; on AWS an EventBridge
/// schedule invokes `github-deployment-create` with `{"kind": "watchdog"}` every minute).
/// Stops when dropped.
#[derive(Debug)]
pub struct WatchdogTask {
    runs: watch::Receiver<u64>,
    task: JoinHandle<()>,
}

impl WatchdogTask {
    /// Invokes `github-deployment-create` with `Watchdog` now and then every `every`
    /// (`DEPLOYBOT_WATCHDOG_INTERVAL`).
    pub fn spawn(invoker: InProcessInvoker, every: Duration) -> Self {
        let (count, runs) = watch::channel(0u64);
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let run = format!("local-{}-{}", std::process::id(), *count.borrow() + 1);
                let sweep = invoke::call(&invoker, &DeploymentCreateRequest::Watchdog);
                match deploybot_app::correlation::scope(
                    &deploybot_app::correlation::watchdog(&run),
                    sweep,
                )
                .await
                {
                    Ok(answer) => tracing::debug!(?answer, "watchdog sweep"),
                    Err(error) => tracing::warn!(%error, "the watchdog's sweep failed"),
                }
                count.send_modify(|n| *n += 1);
            }
        });
        Self { runs, task }
    }

    /// Waits until at least `n` runs have finished.
    pub async fn wait_for_runs(&mut self, n: u64) {
        // The sender lives as long as the task; if it ended, no more runs come.
        let _ = self.runs.wait_for(|runs| *runs >= n).await;
    }

    /// Runs finished so far.
    pub fn runs(&self) -> u64 {
        *self.runs.borrow()
    }
}

impl Drop for WatchdogTask {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::env;

    #[test]
    fn table_names_come_from_the_environment() {
        let default = DynamoSettings::from_env(env(&[]), false).expect("defaults");
        assert_eq!(default.tables, TableNames::with_prefix("deploybot"));
        assert_eq!(default.connection, DynamoConnection::FromEnvironment);
        let prefixed = DynamoSettings::from_env(env(&[("DEPLOYBOT_TABLE_PREFIX", "dev")]), true)
            .expect("prefix");
        assert_eq!(prefixed.tables.deployment, "dev-deployment");
        assert!(prefixed.create_tables);
        let named = DynamoSettings::from_env(
            env(&[
                ("DYNAMODB_TABLE_PROJECT", "p"),
                ("DYNAMODB_TABLE_USER", "u"),
                ("DYNAMODB_TABLE_DEPLOYMENT", "d"),
                ("DYNAMODB_TABLE_DELIVERY", "x"),
                ("DYNAMODB_TABLE_LANE", "l"),
            ]),
            false,
        )
        .expect("named");
        assert_eq!(named.tables, TableNames::new("p", "u", "d", "x", "l"));
        let partial = DynamoSettings::from_env(env(&[("DYNAMODB_TABLE_PROJECT", "p")]), false)
            .expect_err("four names missing");
        assert!(
            partial.to_string().contains("DYNAMODB_TABLE_USER"),
            "{partial}"
        );
    }

    #[test]
    fn configured_secrets_win_and_missing_ones_are_generated() {
        let configured = secret_or_generated(Some("new, old".into()));
        assert_eq!(configured.expose_secret(), "new");
        let a = secret_or_generated(None);
        let b = secret_or_generated(Some(" , ".into()));
        assert_eq!(a.expose_secret().len(), 64);
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(a.expose_secret().chars().all(|c| c.is_ascii_hexdigit()));
    }
}
