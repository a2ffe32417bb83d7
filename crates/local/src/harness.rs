//! A whole deploybot on 127.0.0.1 for the demo and the end-to-end tests ([`try_spawn_app`]):
//! the local server on port 0 with the chosen store, the three fakes behind the real adapters,
//! and typed helpers that send exactly what Slack, GitHub and CircleCI send, signed —
//! `app.slash(ADA, "setup acme/web")`, `app.github_event("push", &json)`,
//! `app.circleci_complete(pipeline, "success")` — plus [`LocalApp::settle`] to wait for the
//! background work a request started.

use crate::config::{self, LocalConfig, StoreChoice};
use crate::github_events;
use crate::wiring::{
    self, DynamoSettings, FakeServices, OpenedStore, RunningServer, WatchdogTask, WebhookSecrets,
    WiringError,
};
use crate::world::{self, Person};
use deploybot_app::dispatch::{FailedInvocation, InProcessInvoker};
use deploybot_app::wiring::Functions;
use deploybot_core::blocks::Message;
use deploybot_core::ports::{Clock, Store, SystemClock};
use deploybot_core::{Deployment, Repository};
use deploybot_testkit::fakes::github::{FakeDeployment, FakeGitHub};
use deploybot_testkit::signing::{
    SignedRequest, github_request, slack_form_request, slack_interactive_request,
};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long [`LocalApp::settle`] waits for background work before it reports a hang.
pub const DEFAULT_SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error(transparent)]
    Wiring(#[from] WiringError),
    #[error("{what}: {message}")]
    Http { what: String, message: String },
    #[error("background work did not settle within {0:?} (a handler hangs or retries forever)")]
    NotSettled(Duration),
    #[error("{0}")]
    Setup(String),
}

/// Where the app keeps its data.
#[derive(Debug, Clone)]
pub enum StoreSetup {
    Memory,
    /// A redb file in a fresh temporary directory (removed with the app).
    TempFile,
    /// A redb file at this path.
    File(PathBuf),
    DynamoDb(DynamoSettings),
}

/// The demo's `DEPLOYBOT_START_TIMEOUT` and `DEPLOYBOT_DEPLOYMENT_TIMEOUT`.
pub const DEMO_WATCHDOG_TIMEOUTS: (&str, &str) = ("1s", "2s");

/// What to spawn.
#[derive(Debug, Clone)]
pub struct AppOptions {
    pub store: StoreSetup,
    /// Run the watchdog's sweep this often (the server's background task); `None`: never
    /// (a test or the demo sweeps when it means to).
    pub watchdog_every: Option<Duration>,
    /// `DEPLOYBOT_CHECKS_TIMEOUT_SECS`; `None`: the default.
    pub checks_timeout_secs: Option<i64>,
    /// `DEPLOYBOT_START_TIMEOUT` and `DEPLOYBOT_DEPLOYMENT_TIMEOUT` (like `2s`); `None`: the
    /// defaults.
    pub watchdog_timeouts: Option<(&'static str, &'static str)>,
    pub settle_timeout: Duration,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            store: StoreSetup::TempFile,
            watchdog_every: None,
            checks_timeout_secs: None,
            watchdog_timeouts: None,
            settle_timeout: DEFAULT_SETTLE_TIMEOUT,
        }
    }
}

impl AppOptions {
    pub fn with_store(store: StoreSetup) -> Self {
        Self {
            store,
            ..Self::default()
        }
    }

    /// What the demo runs with: the watchdog's timeouts in seconds, so its chapter can show
    /// a lost webhook made good without waiting 45 minutes.
    pub fn for_demo(store: StoreSetup) -> Self {
        Self {
            watchdog_timeouts: Some(DEMO_WATCHDOG_TIMEOUTS),
            ..Self::with_store(store)
        }
    }
}

/// An HTTP answer of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// A slash command's immediate answer as a message, with whether everyone sees it.
    pub fn slash_message(&self) -> Option<(Message, bool)> {
        let json = self.json()?;
        let in_channel = json.get("response_type").and_then(Value::as_str) == Some("in_channel");
        let message: Message = serde_json::from_value(json).ok()?;
        Some((message, in_channel))
    }
}

/// Sends signed requests to the server over HTTP.
#[derive(Debug, Clone)]
pub struct Sender {
    http: reqwest::Client,
    base_url: String,
}

impl Sender {
    pub fn new(base_url: &str) -> Result<Self, HarnessError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| HarnessError::Http {
                what: "building the HTTP client".into(),
                message: e.to_string(),
            })?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// POSTs a signed request to `path` and reads the answer.
    pub async fn post(&self, path: &str, request: SignedRequest) -> Result<Reply, HarnessError> {
        let url = format!("{}{path}", self.base_url);
        let mut builder = self.http.post(&url).body(request.body);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let failed = |e: reqwest::Error| HarnessError::Http {
            what: format!("POST {url}"),
            message: e.to_string(),
        };
        let response = builder.send().await.map_err(failed)?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(failed)?;
        Ok(Reply { status, body })
    }
}

/// A delivery id the way GitHub writes them (a GUID): random per run (`seed`), counting up.
fn delivery_id(seed: u64, n: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (seed >> 32) as u32,
        (seed >> 16) as u16,
        (seed >> 4) & 0xfff,
        seed & 0xfff,
        n & 0xffff_ffff_ffff
    )
}

/// Plays the part of GitHub that the fake's API does not: webhook deliveries, signed with the
/// webhook secret — the events a test or person causes, and the `deployment` event GitHub
/// sends by itself once a deployment was created.
#[derive(Debug)]
pub struct GitHubSide {
    github: FakeGitHub,
    repository: Repository,
    sender: Sender,
    secret: deploybot_core::signature::SigningSecret,
    announced: Mutex<HashSet<u64>>,
    deliveries: AtomicU64,
    delivery_seed: u64,
}

/// A `deployment` event GitHub sent, and the server's answer.
#[derive(Debug, Clone)]
pub struct Announced {
    pub deployment: FakeDeployment,
    pub reply: Reply,
}

impl GitHubSide {
    pub fn new(
        github: FakeGitHub,
        repository: Repository,
        sender: Sender,
        secret: deploybot_core::signature::SigningSecret,
    ) -> Self {
        Self {
            github,
            repository,
            sender,
            secret,
            announced: Mutex::new(HashSet::new()),
            deliveries: AtomicU64::new(1),
            delivery_seed: u64::from_str_radix(&wiring::random_hex(8), 16).unwrap_or(0),
        }
    }

    /// Delivers `event` with a fresh `X-GitHub-Delivery`.
    pub async fn deliver(&self, event: &str, body: &Value) -> Result<Reply, HarnessError> {
        let n = self.deliveries.fetch_add(1, Ordering::Relaxed);
        let id = delivery_id(self.delivery_seed, n);
        let request = github_request(&self.secret, event, &id, body);
        self.sender.post("/github/webhook", request).await
    }

    /// Sends the `deployment` event of every deployment created on the fake GitHub since the
    /// last call, oldest first.
    pub async fn announce_new(&self) -> Result<Vec<Announced>, HarnessError> {
        let fresh: Vec<FakeDeployment> = {
            let mut announced = self
                .announced
                .lock()
                .map_err(|_| HarnessError::Setup("the announcement record is poisoned".into()))?;
            self.github
                .deployments(&self.repository)
                .into_iter()
                .filter(|d| announced.insert(d.id))
                .collect()
        };
        let mut sent = Vec::with_capacity(fresh.len());
        for deployment in fresh {
            let reply = self
                .deliver("deployment", &github_events::deployment(&deployment))
                .await?;
            sent.push(Announced { deployment, reply });
        }
        Ok(sent)
    }
}

/// deploybot running locally with the fakes.
pub struct LocalApp {
    pub functions: Functions,
    pub invoker: InProcessInvoker,
    pub store: std::sync::Arc<dyn Store>,
    pub fakes: FakeServices,
    pub secrets: WebhookSecrets,
    pub store_description: String,
    pub repository: Repository,
    pub github_side: GitHubSide,
    sender: Sender,
    server: RunningServer,
    watchdog: Option<WatchdogTask>,
    settle_timeout: Duration,
    counter: AtomicU64,
    _temp_dir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for LocalApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalApp")
            .field("base_url", &self.base_url())
            .field("store", &self.store_description)
            .finish_non_exhaustive()
    }
}

/// Spawns deploybot with `options`.
pub async fn try_spawn_app(options: AppOptions) -> Result<LocalApp, HarnessError> {
    let (choice, dynamo, temp_dir) = match options.store {
        StoreSetup::Memory => (StoreChoice::Memory, None, None),
        StoreSetup::TempFile => {
            let dir = tempfile::Builder::new()
                .prefix("deploybot-")
                .tempdir()
                .map_err(|e| HarnessError::Setup(format!("creating a temporary directory: {e}")))?;
            let path = dir.path().join("deploybot.redb");
            (StoreChoice::File(path), None, Some(dir))
        }
        StoreSetup::File(path) => (StoreChoice::File(path), None, None),
        StoreSetup::DynamoDb(settings) => (StoreChoice::DynamoDb, Some(settings), None),
    };
    let mut env: Vec<(&str, String)> = vec![("DEPLOYBOT_LISTEN", "127.0.0.1:0".into())];
    if let Some(secs) = options.checks_timeout_secs {
        env.push(("DEPLOYBOT_CHECKS_TIMEOUT_SECS", secs.to_string()));
    }
    if let Some((start, deployment)) = options.watchdog_timeouts {
        env.push(("DEPLOYBOT_START_TIMEOUT", start.to_owned()));
        env.push(("DEPLOYBOT_DEPLOYMENT_TIMEOUT", deployment.to_owned()));
    }
    let mut config: LocalConfig = config::from_env(
        |name| env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()),
        true,
    )
    .map_err(|e| HarnessError::Setup(e.to_string()))?;
    config.store = choice.clone();
    let dynamo = dynamo.unwrap_or_else(|| DynamoSettings::emulator("http://127.0.0.1:9", "unused"));
    let opened: OpenedStore = wiring::open_store(&choice, &dynamo).await?;
    let store = opened.store.clone();
    let wired = wiring::wire(&config, opened, |_| None).await?;
    let (Some(fakes), Some(secrets)) = (wired.fakes, wired.secrets) else {
        return Err(HarnessError::Setup(
            "the harness always runs with the fakes".into(),
        ));
    };
    let server = wiring::start_server(config.listen, &wired.functions).await?;
    let sender = Sender::new(&server.base_url())?;
    let ids = world::ids().map_err(HarnessError::Setup)?;
    let github_side = GitHubSide::new(
        fakes.github.clone(),
        ids.repository.clone(),
        sender.clone(),
        secrets.github(),
    );
    let watchdog = options
        .watchdog_every
        .map(|every| WatchdogTask::spawn(wired.invoker.clone(), every));
    Ok(LocalApp {
        functions: wired.functions,
        invoker: wired.invoker,
        store,
        fakes,
        secrets,
        store_description: wired.store_description,
        repository: ids.repository,
        github_side,
        sender,
        server,
        watchdog,
        settle_timeout: options.settle_timeout,
        counter: AtomicU64::new(1),
        _temp_dir: temp_dir,
    })
}

impl LocalApp {
    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        self.sender.base_url()
    }

    fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    fn now_secs(&self) -> i64 {
        SystemClock.now().secs()
    }

    /// A response URL on the fake Slack, attributed to `who` in the transcript.
    pub fn response_url(&self, kind: &str, who: Person) -> String {
        let n = self.next();
        self.fakes
            .slack
            .response_url(&format!("{kind}-{}-{n}", who.slack_user))
    }

    /// `/cimon <text>` from `who` in the demo channel.
    pub async fn slash(&self, who: Person, text: &str) -> Result<Reply, HarnessError> {
        let command = self.functions.config().grammar.command().to_owned();
        self.slash_as(&command, world::CHANNEL, who, text).await
    }

    /// A slash command exactly as Slack posts it.
    pub async fn slash_as(
        &self,
        command: &str,
        channel: &str,
        who: Person,
        text: &str,
    ) -> Result<Reply, HarnessError> {
        let response_url = self.response_url("cmd", who);
        let trigger = format!("{}.{}.local", self.now_secs(), self.next());
        let request = slack_form_request(
            &self.secrets.slack(),
            self.now_secs(),
            &[
                ("token", "deprecated-verification-token"),
                ("team_id", world::TEAM),
                ("team_domain", "acme"),
                ("channel_id", channel),
                ("channel_name", world::CHANNEL_NAME),
                ("user_id", who.slack_user),
                ("user_name", who.first_name()),
                ("command", command),
                ("text", text),
                ("api_app_id", "A0DEPLOYBOT"),
                ("response_url", &response_url),
                ("trigger_id", &trigger),
            ],
        );
        self.sender.post("/slack/command", request).await
    }

    /// `who` pressed the button `action_id` with `value` on a message in the demo channel.
    pub async fn press(
        &self,
        who: Person,
        action_id: &str,
        value: &str,
    ) -> Result<Reply, HarnessError> {
        self.press_in(who, world::CHANNEL, action_id, value).await
    }

    /// As [`LocalApp::press`], on a message in `channel` (a direct conversation with the app,
    /// say).
    pub async fn press_in(
        &self,
        who: Person,
        channel: &str,
        action_id: &str,
        value: &str,
    ) -> Result<Reply, HarnessError> {
        let n = self.next();
        let payload = json!({
            "type": "block_actions",
            "team": {"id": world::TEAM, "domain": "acme"},
            "user": {"id": who.slack_user, "username": who.first_name(), "name": who.first_name(), "team_id": world::TEAM},
            "api_app_id": "A0DEPLOYBOT",
            "token": "deprecated-verification-token",
            "container": {"type": "message", "channel_id": channel, "is_ephemeral": false},
            "trigger_id": format!("{}.{n}.local", self.now_secs()),
            "channel": {"id": channel},
            "response_url": self.response_url("press", who),
            "actions": [{
                "action_id": action_id,
                "block_id": format!("block-{n}"),
                "value": value,
                "type": "button",
                "action_ts": format!("{}.000{n}", self.now_secs()),
            }],
        });
        let request = slack_interactive_request(&self.secrets.slack(), self.now_secs(), &payload);
        self.sender.post("/slack/interactive", request).await
    }

    /// `who` opened the app's Home tab: Slack's `app_home_opened` event, signed.
    pub async fn app_home_opened(&self, who: Person) -> Result<Reply, HarnessError> {
        let n = self.next();
        let body = json!({
            "token": "deprecated-verification-token",
            "team_id": world::TEAM,
            "api_app_id": "A0DEPLOYBOT",
            "type": "event_callback",
            "event_id": format!("Ev0HOME{n}"),
            "event_time": self.now_secs(),
            "event": {
                "type": "app_home_opened",
                "user": who.slack_user,
                "channel": format!("D{}", who.slack_user),
                "tab": "home",
                "event_ts": format!("{}.000{n}", self.now_secs()),
            },
        });
        let request = deploybot_testkit::signing::slack_json_request(
            &self.secrets.slack(),
            self.now_secs(),
            &body,
        );
        self.sender.post("/slack/event", request).await
    }

    /// A GitHub webhook delivery (fresh delivery id), signed.
    pub async fn github_event(&self, event: &str, body: &Value) -> Result<Reply, HarnessError> {
        self.github_side.deliver(event, body).await
    }

    /// Plays GitHub: the `deployment` event of every deployment created since the last call.
    pub async fn announce_deployments(&self) -> Result<Vec<Announced>, HarnessError> {
        self.github_side.announce_new().await
    }

    /// The fake CircleCI finishes the pipeline's workflow with `status` (`success`, `failed`,
    /// ...) and sends its signed `workflow-completed` webhook to the server. Returns the HTTP
    /// status the server answered.
    pub async fn circleci_complete(
        &self,
        pipeline_id: &str,
        status: &str,
    ) -> Result<u16, HarnessError> {
        let url = format!("{}/circleci/webhook", self.base_url());
        self.fakes
            .ci
            .complete(pipeline_id, status, &url, &self.secrets.circleci())
            .await
            .map_err(|e| HarnessError::Http {
                what: format!("the fake CircleCI completing pipeline {pipeline_id}"),
                message: e.to_string(),
            })
    }

    /// The fake CircleCI reports that one job of the pipeline's running workflow finished:
    /// its signed `job-completed` webhook, posted to the server.
    pub async fn circleci_job_completed(
        &self,
        pipeline_id: &str,
        job: &str,
    ) -> Result<Reply, HarnessError> {
        let request = self
            .fakes
            .ci
            .job_completed_payload(pipeline_id, job, &self.secrets.circleci())
            .map_err(|e| HarnessError::Http {
                what: format!("the fake CircleCI's job-completed of pipeline {pipeline_id}"),
                message: e.to_string(),
            })?;
        self.post_signed("/circleci/webhook", request).await
    }

    /// Posts any signed request (e.g. a tampered one) to `path`.
    pub async fn post_signed(
        &self,
        path: &str,
        request: SignedRequest,
    ) -> Result<Reply, HarnessError> {
        self.sender.post(path, request).await
    }

    /// Waits until no background invocation runs.
    pub async fn settle(&self) -> Result<(), HarnessError> {
        tokio::time::timeout(self.settle_timeout, self.invoker.wait_idle())
            .await
            .map_err(|_| HarnessError::NotSettled(self.settle_timeout))
    }

    /// Background invocations that failed so far (Lambda's on-failure queue).
    pub fn failures(&self) -> Vec<FailedInvocation> {
        self.invoker.failures()
    }

    /// The repository's deployments, newest first.
    pub async fn deployments(&self) -> Result<Vec<Deployment>, HarnessError> {
        self.store
            .list_deployments(&self.repository, None, 200)
            .await
            .map_err(|e| HarnessError::Setup(format!("listing deployments: {e}")))
    }

    /// The watchdog task, when [`AppOptions::watchdog_every`] was set.
    pub fn watchdog(&mut self) -> Option<&mut WatchdogTask> {
        self.watchdog.as_mut()
    }

    /// Stops the server (requests in flight finish) and the fakes.
    pub async fn shutdown(self) -> Result<(), HarnessError> {
        drop(self.watchdog);
        self.server
            .shutdown()
            .await
            .map_err(|e| HarnessError::Http {
                what: "stopping the server".into(),
                message: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_ids_look_like_guids() {
        let id = delivery_id(0x0123_4567_89ab_cdef, 7);
        let parts: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12], "{id}");
        assert!(id.ends_with("000000000007"));
    }
}
