//! Lambda glue shared by every entry point (the deployed `deploybot-lambda` binary, ADR 0022,
//! and the per-function `functions/*` binaries the local emulator runs): building a function's
//! [`AppState`] once per cold start ([`app_state`]: the adapters its profile names, handed to
//! `deploybot_app::wiring::function_state`, the one builder of every function's state), and
//! running it as Lambda runs it ([`run_http`] for API Gateway HTTP API v2 events,
//! [`run_invoked`] for function-to-function invokes), with its secrets read again every
//! [`SECRETS_TTL`] ([`Refreshing`]).
//!
//! [`profile`] (`deploybot_core::profile`) is the single list of the tables, secrets, outside
//! clients, invoke targets and time limits of every function; `template.yaml` grants each
//! function exactly that (a test checks it).

use crate::dynamo::{DynamoStore, TableNames, TableNamesError};
use crate::invoker::LambdaInvoker;
use crate::secrets::{self, SecretError, SecretLoader, Secrets};
use deploybot_app::config::var;
use deploybot_app::wiring::{Parts, WiringError, function_state};
use deploybot_app::{AppConfig, AppState, ConfigError};
use deploybot_core::invoke::FunctionName;
use deploybot_core::ports::SystemClock;
use deploybot_integrations::ci::CiBackends;
use deploybot_integrations::circleci::{CircleCiClient, CircleCiConfig};
use deploybot_integrations::github::{GitHubActions, GitHubClient, GitHubConfig};
use deploybot_integrations::github_user::{GitHubUserClient, GitHubUserConfig};
use deploybot_integrations::slack::{SlackClient, SlackConfig};
use lambda_runtime::{Diagnostic, LambdaEvent};
use secrecy::ExposeSecret;
use serde_json::Value;
use std::sync::Arc;

pub use deploybot_core::profile::{Clients, FunctionProfile, PROFILES, profile};

/// Why a function could not start. Shown in the init error Lambda logs.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Tables(#[from] TableNamesError),
    #[error(transparent)]
    Wiring(#[from] WiringError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("building the {client} client: {message}")]
    Client {
        client: &'static str,
        message: String,
    },
    #[error("{FUNCTION_VAR} is not set; set it to one of: {}", function_names())]
    NoFunction,
    #[error(
        "{FUNCTION_VAR} is `{given}`, which names no function; set it to one of: {}",
        function_names()
    )]
    UnknownFunction { given: String },
}

/// The environment variable that tells the one Lambda binary (`deploybot-lambda`, ADR 0022)
/// which function it is: `slack-event`, `github-webhook`, ... (`template.yaml` sets it on
/// every function).
pub const FUNCTION_VAR: &str = "DEPLOYBOT_FUNCTION";

fn function_names() -> String {
    FunctionName::ALL.map(FunctionName::as_str).join(", ")
}

/// The function [`FUNCTION_VAR`]'s value names; unset, empty or unknown is an error naming
/// the functions there are (the function then fails its start, with that message in its log).
pub fn function_named(value: Option<&str>) -> Result<FunctionName, BootstrapError> {
    let given = value.map(str::trim).unwrap_or_default();
    if given.is_empty() {
        return Err(BootstrapError::NoFunction);
    }
    FunctionName::parse(given).ok_or_else(|| BootstrapError::UnknownFunction {
        given: given.to_owned(),
    })
}

/// Runs `function` as Lambda runs it, for as long as Lambda sends it events: builds its state
/// ([`app_state`]), then [`run_http`] with its router when it has a route, [`run_invoked`]
/// otherwise. What every entry point calls — `deploybot-lambda` (the binary that is deployed)
/// and the per-function binaries the local Lambda emulator runs — so that they differ only in
/// where the function's name comes from.
pub async fn run(function: FunctionName) -> Result<(), lambda_runtime::Error> {
    let state = app_state(function)
        .await
        .map_err(|error| format!("starting {function}: {error}"))?;
    match deploybot_app::http::function_router(function) {
        Some(router) => run_http(function, state, router).await,
        None => run_invoked(state, function).await,
    }
}

/// Logging as Lambda expects it: JSON lines when the function's log format is JSON
/// (`AWS_LAMBDA_LOG_FORMAT`), level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`; and metrics as
/// embedded-metric-format lines on standard output ([`EmfStdout`]).
pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
    deploybot_core::metrics::install(Arc::new(EmfStdout));
}

/// The Lambda metric sink: each metric is one embedded-metric-format JSON line on standard
/// output, which CloudWatch Logs turns into a metric (no API call, no added latency).
#[derive(Debug, Clone, Copy, Default)]
pub struct EmfStdout;

impl deploybot_core::metrics::MetricSink for EmfStdout {
    fn record(&self, metric: &deploybot_core::metrics::Metric) {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or_default();
        println!("{}", metric.to_emf_line(now_ms));
    }
}

/// The correlation id of an invocation whose payload has none (an EventBridge schedule, a
/// hand-made test event): the watchdog's run or the invocation, by Lambda's request id.
pub fn fallback_correlation(payload: &Value, request_id: &str) -> String {
    if payload.get("kind").and_then(Value::as_str) == Some("watchdog") {
        format!("watchdog:{request_id}")
    } else {
        format!("invoke:{request_id}")
    }
}

/// The handler configuration from loaded secrets and plain variables, read as everywhere
/// else by [`AppConfig::from_lookup`].
pub fn app_config(
    secrets: &Secrets,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<AppConfig, BootstrapError> {
    Ok(AppConfig::from_lookup(lookup, &|name| {
        secrets.get(name).cloned()
    })?)
}

/// The AWS SDK configuration of a function on Lambda: credentials and region from the
/// variables Lambda sets (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
/// `AWS_REGION`), endpoint overrides from `AWS_ENDPOINT_URL_<SERVICE>` / `AWS_ENDPOINT_URL`
/// (the local emulators). Deliberately not `aws_config::load_defaults`: its credential chain
/// (profile files, IMDS, ECS, web identity through STS) is never used on Lambda and made every
/// binary about 1 MB larger (docs/deployment.md, "Measured").
pub fn lambda_sdk_config(lookup: &dyn Fn(&str) -> Option<String>) -> aws_config::SdkConfig {
    let region = var(lookup, "AWS_REGION").or_else(|| var(lookup, "AWS_DEFAULT_REGION"));
    let endpoints = EndpointOverrides {
        urls: ENDPOINT_SERVICES
            .iter()
            .filter_map(|service| {
                let variable = format!("AWS_ENDPOINT_URL_{}", service.to_ascii_uppercase());
                var(lookup, &variable).map(|url| (*service, url))
            })
            .collect(),
        global: var(lookup, "AWS_ENDPOINT_URL"),
    };
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(region.map(aws_config::Region::new))
        .credentials_provider(aws_sdk_lambda::config::SharedCredentialsProvider::new(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        ))
        .service_config(endpoints)
        .build()
}

/// The SDK service ids whose endpoint can be overridden (`AWS_ENDPOINT_URL_DYNAMODB`, ...).
const ENDPOINT_SERVICES: [&str; 4] = ["DynamoDB", "Lambda", "SSM", "Secrets_Manager"];

/// Endpoint URLs from `AWS_ENDPOINT_URL_<SERVICE>` and `AWS_ENDPOINT_URL`, read once.
#[derive(Debug)]
struct EndpointOverrides {
    urls: Vec<(&'static str, String)>,
    global: Option<String>,
}

impl aws_types::service_config::LoadServiceConfig for EndpointOverrides {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        if key.env() != "AWS_ENDPOINT_URL" {
            return None;
        }
        let service = key.service_id().replace(' ', "_");
        self.urls
            .iter()
            .find(|(id, _)| id.eq_ignore_ascii_case(&service))
            .map(|(_, url)| url.clone())
            .or_else(|| self.global.clone())
    }
}

/// Builds `function`'s state once per cold start: the AWS configuration, its secrets (one
/// round trip to SSM), the DynamoDB store, the Lambda invoker when it invokes anything and
/// only the outside clients its [`profile`] lists.
pub async fn app_state(function: FunctionName) -> Result<AppState, BootstrapError> {
    let profile = profile(function);
    let sdk_config = lambda_sdk_config(&|name| std::env::var(name).ok());
    let lookup = |name: &str| std::env::var(name).ok();

    let names: Vec<&str> = profile.all_secrets().collect();
    let secrets = SecretLoader::new(&sdk_config).load(&names).await?;
    for name in profile.secrets {
        secrets.require(name)?;
    }
    let config = app_config(&secrets, &lookup)?;

    let store = DynamoStore::from_sdk_config(&sdk_config, TableNames::from_env()?);
    let mut parts = Parts::new(Arc::new(SystemClock), config).with_store(Arc::new(store));
    if !profile.invokes.is_empty() {
        parts = parts.with_invoker(Arc::new(LambdaInvoker::from_env(&sdk_config)));
    }
    parts = attach_clients(parts, profile.clients, &secrets, &lookup)?;
    let state = function_state(function, &parts)?;
    tracing::info!(%function, secrets = ?secrets, "function initialised");
    Ok(state)
}

/// Adds the Slack, GitHub and CircleCI clients `clients` asks for, configured from
/// `secrets` (`GITHUB_APP_ID` among them) and the plain variables (`SLACK_API_URL`, `GITHUB_API_URL`,
/// `CIRCLECI_API_URL`, `CIRCLECI_APP_URL`).
fn attach_clients(
    mut parts: Parts,
    clients: Clients,
    secrets: &Secrets,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Parts, BootstrapError> {
    let failed = |client: &'static str, error: &dyn std::fmt::Display| BootstrapError::Client {
        client,
        message: error.to_string(),
    };
    let mut github_client = None;
    if clients.slack {
        let token = secrets.require(secrets::SLACK_BOT_TOKEN)?.clone();
        let slack = SlackClient::new(SlackConfig::from_lookup(token, lookup))
            .map_err(|e| failed("Slack", &e))?;
        parts = parts.with_slack(Arc::new(slack));
    }
    if clients.github {
        let key = secrets.require(secrets::GITHUB_APP_PRIVATE_KEY)?;
        let app_id = secrets.require(secrets::GITHUB_APP_ID)?;
        let config = GitHubConfig::from_lookup(|name| {
            if name == secrets::GITHUB_APP_PRIVATE_KEY {
                Some(key.expose_secret().to_owned())
            } else if name == secrets::GITHUB_APP_ID {
                Some(app_id.expose_secret().to_owned())
            } else {
                lookup(name)
            }
        })
        .map_err(|e| failed("GitHub", &e))?;
        let github = Arc::new(
            GitHubClient::new(config, Arc::clone(&parts.clock))
                .map_err(|e| failed("GitHub", &e))?,
        );
        github_client = Some(Arc::clone(&github));
        parts = parts.with_github(github);
    }
    if clients.github_user {
        let id = secrets.require(secrets::GITHUB_APP_CLIENT_ID)?;
        let secret = secrets.require(secrets::GITHUB_APP_CLIENT_SECRET)?;
        let config = GitHubUserConfig::from_lookup(|name| {
            if name == secrets::GITHUB_APP_CLIENT_ID {
                Some(id.expose_secret().to_owned())
            } else if name == secrets::GITHUB_APP_CLIENT_SECRET {
                Some(secret.expose_secret().to_owned())
            } else {
                lookup(name)
            }
        })
        .map_err(|e| failed("GitHub sign-in", &e))?;
        let user = GitHubUserClient::new(config).map_err(|e| failed("GitHub sign-in", &e))?;
        parts = parts.with_github_user(Arc::new(user));
    }
    if clients.ci {
        let mut backends = CiBackends::new();
        // Optional: an installation whose environments all deploy with GitHub Actions has no
        // CircleCI token, and a CircleCI environment there fails with a sentence saying so.
        if let Some(token) = secrets.get(secrets::CIRCLECI_TOKEN) {
            let circleci = CircleCiClient::new(CircleCiConfig::from_lookup(token.clone(), lookup))
                .map_err(|e| failed("CircleCI", &e))?;
            backends = backends.with_circleci(Arc::new(circleci));
        }
        // GitHub Actions runs through the GitHub App: every function with the CI client has
        // the GitHub one too (core::profile).
        if let Some(github) = github_client {
            backends = backends.with_github_actions(Arc::new(GitHubActions::new(github)));
        }
        parts = parts.with_ci(Arc::new(backends));
    }
    Ok(parts)
}

/// The service the Lambda runtime runs for an HTTP function: an API Gateway event becomes an
/// `http::Request` (a base64-encoded body decoded), goes through `router`, and the answer
/// becomes an API Gateway response. This is exactly what `lambda_http::run` wraps around a
/// router; tests push recorded events through it.
pub fn http_entry(
    router: axum::Router,
) -> lambda_http::Adapter<'static, axum::response::Response, axum::Router> {
    lambda_http::Adapter::from(router)
}

/// Runs an HTTP function: API Gateway HTTP API v2 events into the router `router` makes of
/// `state`, its responses back. The state is rebuilt with freshly read secrets once they are
/// [`SECRETS_TTL`] old ([`Refreshing`]), so a rotated secret is used without a redeploy.
pub async fn run_http(
    function: FunctionName,
    state: AppState,
    router: fn(AppState) -> axum::Router,
) -> Result<(), lambda_runtime::Error> {
    use tower::ServiceExt;
    let routers = Arc::new(Refreshing::new(
        router(state),
        SECRETS_TTL,
        Arc::new(SystemClock),
        move || Box::pin(async move { app_state(function).await.map(router) }),
    ));
    lambda_http::run(tower::service_fn(move |request: lambda_http::Request| {
        let routers = Arc::clone(&routers);
        async move {
            let router = routers.get().await;
            router
                .oneshot(request)
                .await
                .map_err(|never| -> lambda_http::Error { match never {} })
        }
    }))
    .await
}

/// How long a function uses the secrets it read before reading them again (docs/operations.md,
/// "Rotating a secret").
pub const SECRETS_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// The future a [`Refreshing`] value is rebuilt with.
pub type Rebuild<T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, BootstrapError>> + Send>>;

/// A value built from secrets (a function's state, or the router made of it), rebuilt by
/// `rebuild` at the first use after it is `ttl` old. A rebuild that fails (SSM unreachable, a
/// parameter deleted) keeps the value in use, logs a warning and is tried again after
/// another `ttl`: a rotation never stops a running function.
pub struct Refreshing<T> {
    ttl_ms: i64,
    clock: Arc<dyn deploybot_core::ports::Clock>,
    rebuild: Box<dyn Fn() -> Rebuild<T> + Send + Sync>,
    current: tokio::sync::Mutex<(T, deploybot_core::Timestamp)>,
}

impl<T> std::fmt::Debug for Refreshing<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refreshing")
            .field("ttl_ms", &self.ttl_ms)
            .finish_non_exhaustive()
    }
}

impl<T: Clone> Refreshing<T> {
    /// `first`, built now, rebuilt with `rebuild` once `ttl` has passed on `clock`.
    pub fn new(
        first: T,
        ttl: std::time::Duration,
        clock: Arc<dyn deploybot_core::ports::Clock>,
        rebuild: impl Fn() -> Rebuild<T> + Send + Sync + 'static,
    ) -> Self {
        let now = clock.now();
        Self {
            ttl_ms: i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX),
            clock,
            rebuild: Box::new(rebuild),
            current: tokio::sync::Mutex::new((first, now)),
        }
    }

    /// The value to use now (rebuilt first when it is due).
    pub async fn get(&self) -> T {
        let mut current = self.current.lock().await;
        let now = self.clock.now();
        if now.0.saturating_sub(current.1.0) >= self.ttl_ms {
            match (self.rebuild)().await {
                Ok(fresh) => {
                    tracing::info!("secrets read again");
                    current.0 = fresh;
                }
                Err(error) => {
                    tracing::warn!(%error, "reading the secrets again failed; the ones in use stay");
                }
            }
            current.1 = now;
        }
        current.0.clone()
    }
}

/// Runs an invoked function: each event's payload goes to the app's handler for
/// `function`; its answer is the invoke's JSON answer, its error a Lambda function error.
/// The state is rebuilt with freshly read secrets as [`run_http`]'s is.
pub async fn run_invoked(
    state: AppState,
    function: FunctionName,
) -> Result<(), lambda_runtime::Error> {
    let states = Arc::new(Refreshing::new(
        state,
        SECRETS_TTL,
        Arc::new(SystemClock),
        move || Box::pin(app_state(function)),
    ));
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: LambdaEvent<Value>| {
            let states = Arc::clone(&states);
            let mut payload = event.payload;
            if deploybot_core::invoke::correlation_of(&payload).is_none() {
                let id = fallback_correlation(&payload, &event.context.request_id);
                payload = deploybot_core::invoke::with_correlation(payload, &id);
            }
            async move {
                let state = states.get().await;
                handle_invocation(&state, function, payload).await
            }
        },
    ))
    .await
}

/// One invocation of an invoked function (what [`run_invoked`] runs per event). A payload
/// the handler refuses is an `InvalidPayload` error (retrying will not help); anything else
/// is a `FunctionError`.
pub async fn handle_invocation(
    state: &AppState,
    function: FunctionName,
    payload: Value,
) -> Result<Value, Diagnostic> {
    deploybot_app::dispatch::dispatch(state, function, payload)
        .await
        .map_err(|error| {
            let caller = error.is_caller_error();
            if caller {
                tracing::warn!(%function, %error, "invocation refused");
            } else {
                tracing::error!(%function, %error, "invocation failed");
            }
            Diagnostic {
                error_type: if caller {
                    "InvalidPayload"
                } else {
                    "FunctionError"
                }
                .to_owned(),
                error_message: error.to_string(),
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        move |name| map.get(name).map(|v| (*v).to_owned())
    }

    #[test]
    fn the_function_is_named_by_its_variable() {
        for function in FunctionName::ALL {
            assert_eq!(
                function_named(Some(function.as_str())).expect("a function"),
                function
            );
        }
        assert_eq!(
            function_named(Some(" slack-event\n")).expect("trimmed"),
            FunctionName::SlackEvent
        );
        for (value, says) in [
            (None, "DEPLOYBOT_FUNCTION is not set; set it to one of: "),
            (
                Some(" "),
                "DEPLOYBOT_FUNCTION is not set; set it to one of: ",
            ),
            (
                Some("slack_event"),
                "DEPLOYBOT_FUNCTION is `slack_event`, which names no function; set it to one of: ",
            ),
        ] {
            let error = function_named(value).expect_err("no such function");
            let text = error.to_string();
            assert!(text.starts_with(says), "{text}");
            assert!(
                text.ends_with("slack-command, slack-interactive, slack-event, slack-message, github-webhook, github-collaborators, github-deployment-create, github-deployment-status, circleci-trigger, circleci-webhook, web"),
                "{text}"
            );
        }
    }

    fn endpoint_for(config: &aws_config::SdkConfig, service_id: &str) -> Option<String> {
        let key = aws_types::service_config::ServiceConfigKey::builder()
            .service_id(service_id)
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .expect("a complete key");
        config.service_config().and_then(|c| c.load_config(key))
    }

    #[test]
    fn the_sdk_config_takes_region_and_endpoints_from_the_environment() {
        let config = lambda_sdk_config(&lookup(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:5000"),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:5001"),
        ]));
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert!(config.credentials_provider().is_some());
        assert_eq!(
            endpoint_for(&config, "DynamoDB").as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(
            endpoint_for(&config, "Secrets Manager").as_deref(),
            Some("http://127.0.0.1:5001")
        );
        assert_eq!(endpoint_for(&config, "Lambda"), None);

        let global = lambda_sdk_config(&lookup(&[
            ("AWS_DEFAULT_REGION", "us-east-2"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        ]));
        assert_eq!(global.region().map(|r| r.as_ref()), Some("us-east-2"));
        assert_eq!(
            endpoint_for(&global, "Lambda").as_deref(),
            Some("http://127.0.0.1:4566")
        );
    }

    #[test]
    fn a_payload_without_correlation_gets_the_request_id() {
        let watchdog = serde_json::json!({"kind": "watchdog"});
        assert_eq!(fallback_correlation(&watchdog, "r-1"), "watchdog:r-1");
        let other = serde_json::json!({"kind": "recheck"});
        assert_eq!(fallback_correlation(&other, "r-2"), "invoke:r-2");
    }

    #[test]
    fn app_config_takes_command_and_timeout() {
        let config = app_config(
            &Secrets::default(),
            &lookup(&[
                ("COMMAND", "/ship"),
                ("DEPLOYBOT_CHECKS_TIMEOUT_SECS", "600"),
            ]),
        )
        .expect("valid");
        assert_eq!(config.grammar.command(), "/ship");
        assert_eq!(config.checks_timeout_secs, 600);
        assert!(config.slack_signing_secret.is_none());

        let bad = app_config(
            &Secrets::default(),
            &lookup(&[("DEPLOYBOT_CHECKS_TIMEOUT_SECS", "an hour")]),
        )
        .expect_err("not a number");
        assert_eq!(
            bad.to_string(),
            "DEPLOYBOT_CHECKS_TIMEOUT_SECS is invalid: `an hour` is not a number of seconds"
        );
    }
}
