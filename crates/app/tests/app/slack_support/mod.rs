//! The harness the Slack handler tests share: an `AppState` on the in-memory store (wrapped to
//! count calls per method), the fake Slack, GitHub and CircleCI used directly as ports, the
//! in-process invoker (wrapped so a test can see what each handler invoked), a settable clock,
//! and signed requests sent through `deploybot_app::http::router` with `oneshot`.

use async_trait::async_trait;
use axum::Router;
use axum::http::StatusCode;
use deploybot_app::AppConfig;
use deploybot_app::dispatch::InProcessInvoker;
use deploybot_app::wiring::{Functions, Parts};
use deploybot_core::invoke::{DeploymentCreateRequest, FunctionName, SlackMessageRequest};
use deploybot_core::ports::{Clock, InvokeError, InvokeMode, Invoker};
use deploybot_core::ports::{DeploymentStore, ProjectStore, UserStore};
use deploybot_core::signature::SigningSecret;
use deploybot_core::{
    Deployment, DeploymentId, DeploymentState, Environment, GitRef, Project, Repository, Sha,
    SlackChannelId, SlackUserId, Timestamp, Trigger, UserLink,
};
use deploybot_testkit::counting_store::CountingStore;
use deploybot_testkit::fakes::circleci::FakeCircleCi;
use deploybot_testkit::fakes::github::FakeGitHub;
use deploybot_testkit::fakes::slack::FakeSlack;
use deploybot_testkit::memory_store::MemoryStore;
use deploybot_testkit::signing::{
    SignedRequest, send_to_router, slack_form_request, slack_interactive_request,
    slack_json_request,
};
use serde_json::Value;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// When the tests happen (the clock the signature check and the handlers see).
pub const NOW_SECS: i64 = 1_700_000_000;
pub const CHANNEL: &str = "C0WEB";
pub const OTHER_CHANNEL: &str = "C0API";
pub const USER: &str = "U0ALICE";
pub const OTHER_USER: &str = "U0BOB";
pub const TEAM: &str = "T0ACME";
pub const REPO: &str = "acme/web";
const SECRET: &str = "slack-signing-secret-for-tests";

/// A clock tests set by hand.
#[derive(Debug)]
pub struct TestClock(AtomicI64);

impl TestClock {
    /// A clock showing `t`.
    pub fn at(t: Timestamp) -> Self {
        Self(AtomicI64::new(t.millis()))
    }

    pub fn set(&self, t: Timestamp) {
        self.0.store(t.millis(), Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst))
    }
}

/// One invocation a handler made.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub function: FunctionName,
    pub mode: InvokeMode,
    pub payload: Value,
}

/// The in-process invoker, recording every invocation before running it.
#[derive(Debug, Default)]
pub struct RecordingInvoker {
    pub inner: InProcessInvoker,
    seen: Mutex<Vec<Invocation>>,
}

#[async_trait]
impl Invoker for RecordingInvoker {
    async fn invoke(
        &self,
        function: FunctionName,
        mode: InvokeMode,
        payload: Vec<u8>,
    ) -> Result<Value, InvokeError> {
        self.seen
            .lock()
            .expect("invocation log lock")
            .push(Invocation {
                function,
                mode,
                payload: serde_json::from_slice(&payload).expect("an invoke payload is JSON"),
            });
        self.inner.invoke(function, mode, payload).await
    }
}

impl RecordingInvoker {
    /// Every invocation so far.
    pub fn invocations(&self) -> Vec<Invocation> {
        self.seen.lock().expect("invocation log lock").clone()
    }
}

/// A reply as the test sees it: status and JSON body (`Null` when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub raw: String,
}

impl Reply {
    /// The reply's `text` (slash commands) — panics with the body when there is none.
    pub fn text(&self) -> &str {
        self.body["text"]
            .as_str()
            .unwrap_or_else(|| panic!("no text in {}", self.raw))
    }

    pub fn response_type(&self) -> &str {
        self.body["response_type"].as_str().unwrap_or("")
    }

    /// Asserts a friendly ephemeral 200 mentioning every needle.
    pub fn assert_ephemeral(&self, needles: &[&str]) {
        assert_eq!(self.status, StatusCode::OK, "{}", self.raw);
        assert_eq!(self.response_type(), "ephemeral", "{}", self.raw);
        for needle in needles {
            assert!(
                self.text().contains(needle),
                "{:?} should contain {needle:?}",
                self.text()
            );
        }
    }
}

pub struct Harness {
    /// What the functions were wired from (to wire them again with one part changed).
    pub parts: Parts,
    pub store: Arc<MemoryStore>,
    /// The store the handlers use: [`Harness::store`], counting calls per method.
    pub counting: Arc<CountingStore>,
    pub slack: FakeSlack,
    pub github: FakeGitHub,
    pub invoker: Arc<RecordingInvoker>,
    pub clock: Arc<TestClock>,
    pub secret: SigningSecret,
    router: Router,
    next_trigger: AtomicU32,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    pub fn new() -> Self {
        Self::with_config(AppConfig::default())
    }

    pub fn with_config(mut config: AppConfig) -> Self {
        let secret = SigningSecret::new(SECRET);
        config.slack_signing_secret = Some(secret.clone());
        let store = Arc::new(MemoryStore::new());
        let counting = Arc::new(CountingStore::new(store.clone()));
        let clock = Arc::new(TestClock(AtomicI64::new(NOW_SECS * 1000)));
        let slack = FakeSlack::new();
        let github = FakeGitHub::new();
        let circleci = FakeCircleCi::new();
        let invoker = Arc::new(RecordingInvoker::default());
        let parts = Parts::new(clock.clone(), config)
            .with_store(counting.clone())
            .with_invoker(invoker.clone())
            .with_slack(Arc::new(slack.clone()))
            .with_github(Arc::new(github.clone()))
            .with_ci(Arc::new(circleci));
        let functions = Functions::wire_with(parts.clone(), invoker.inner.clone()).expect("wires");
        github.add_repository(&repo(), "main");
        let router = functions.router();
        Self {
            parts,
            store,
            counting,
            slack,
            github,
            invoker,
            clock,
            secret,
            router,
            next_trigger: AtomicU32::new(1),
        }
    }

    /// Lets the `Event` invocations started so far (and the ones they start) finish.
    pub async fn settle(&self) {
        self.invoker.inner.wait_idle().await;
    }

    /// Every invocation so far.
    pub fn invocations(&self) -> Vec<Invocation> {
        self.invoker.invocations()
    }

    /// The `github-deployment-create` requests handlers sent.
    pub fn deployment_requests(&self) -> Vec<DeploymentCreateRequest> {
        self.invocations()
            .into_iter()
            .filter(|i| i.function == FunctionName::GithubDeploymentCreate)
            .map(|i| serde_json::from_value(i.payload).expect("a create request"))
            .collect()
    }

    /// The `slack-message` requests handlers sent.
    pub fn message_requests(&self) -> Vec<SlackMessageRequest> {
        self.invocations()
            .into_iter()
            .filter(|i| i.function == FunctionName::SlackMessage)
            .map(|i| serde_json::from_value(i.payload).expect("a slack-message request"))
            .collect()
    }

    /// Sends a request through the router and reads the answer.
    pub async fn send(&self, request: SignedRequest, uri: &str) -> Reply {
        let request = request.into_http_request(uri).expect("valid request");
        let answer = send_to_router(&self.router, request).await;
        Reply {
            status: answer.status,
            body: answer.json(),
            raw: answer.text(),
        }
    }

    fn now_secs(&self) -> i64 {
        self.clock.now().secs()
    }

    /// The form Slack sends for `command text` from `user` in `channel`.
    pub fn slash_request(
        &self,
        command: &str,
        channel: &str,
        user: &str,
        text: &str,
    ) -> SignedRequest {
        let response_url = self.slack.response_url(&format!("cmd-{channel}-{user}"));
        slack_form_request(
            &self.secret,
            self.now_secs(),
            &[
                ("token", "deprecated-verification-token"),
                ("team_id", TEAM),
                ("team_domain", "acme"),
                ("channel_id", channel),
                ("channel_name", "web"),
                ("user_id", user),
                ("user_name", "alice"),
                ("command", command),
                ("text", text),
                ("api_app_id", "A0APP"),
                ("response_url", &response_url),
                ("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
            ],
        )
    }

    /// `/cimon <text>` from [`USER`] in [`CHANNEL`].
    pub async fn slash(&self, text: &str) -> Reply {
        self.slash_as("/cimon", CHANNEL, USER, text).await
    }

    pub async fn slash_as(&self, command: &str, channel: &str, user: &str, text: &str) -> Reply {
        let request = self.slash_request(command, channel, user, text);
        self.send(request, "/slack/command").await
    }

    /// The response URL the fake hands out for commands of `user` in `channel`.
    pub fn command_response_url(&self, channel: &str, user: &str) -> String {
        self.slack.response_url(&format!("cmd-{channel}-{user}"))
    }

    /// A `block_actions` payload: `user` pressed `action_id` with `value` in `channel`.
    pub fn press_payload(&self, user: &str, channel: &str, action_id: &str, value: &str) -> Value {
        let n = self.next_trigger.fetch_add(1, Ordering::SeqCst);
        serde_json::json!({
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "acme"},
            "user": {"id": user, "username": "alice", "name": "alice", "team_id": TEAM},
            "api_app_id": "A0APP",
            "token": "deprecated",
            "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": channel, "is_ephemeral": true},
            "trigger_id": format!("trigger-{n}"),
            "channel": {"id": channel, "name": "web"},
            "response_url": self.slack.response_url(&format!("press-{n}")),
            "actions": [{
                "action_id": action_id,
                "block_id": "b1",
                "text": {"type": "plain_text", "text": value},
                "value": value,
                "type": "button",
                "action_ts": "1700000001.000200"
            }]
        })
    }

    pub async fn interact(&self, payload: &Value) -> Reply {
        let request = slack_interactive_request(&self.secret, self.now_secs(), payload);
        self.send(request, "/slack/interactive").await
    }

    /// `user` pressed `action_id` with `value` in [`CHANNEL`].
    pub async fn press(&self, user: &str, action_id: &str, value: &str) -> Reply {
        let payload = self.press_payload(user, CHANNEL, action_id, value);
        self.interact(&payload).await
    }

    /// An Events API request, optionally marked as Slack's `retry`-th retry.
    pub async fn event(&self, body: &Value, retry: Option<u32>) -> Reply {
        let mut request = slack_json_request(&self.secret, self.now_secs(), body);
        if let Some(n) = retry {
            request = request
                .with_header("x-slack-retry-num", n.to_string())
                .with_header("x-slack-retry-reason", "http_timeout");
        }
        self.send(request, "/slack/event").await
    }

    /// Binds [`CHANNEL`] to [`REPO`] directly in the store (for tests about other commands).
    pub async fn bind(&self) -> Project {
        let project = Project {
            repository: repo(),
            channel: channel(CHANNEL),
            channel_name: Some("web".into()),
            team: Some(deploybot_core::SlackTeamId::parse(TEAM).expect("valid")),
            settings: Default::default(),
            created_by: Some(user(USER)),
            // Read at setup: no workflow file, the built-in workflow is in force.
            workflow: Some(deploybot_testkit::fixtures::workflow_read_without_file(
                deploybot_core::Sha::parse(&"1".repeat(40)).expect("a sha"),
                self.clock.now(),
            )),
            created_at: self.clock.now(),
            github_id: None,
        };
        self.store.bind_project(&project).await.expect("bind");
        project
    }

    /// The project bound to `channel_id`, if any.
    pub async fn project(&self, channel_id: &str) -> Option<Project> {
        self.store
            .project_by_channel(&channel(channel_id))
            .await
            .expect("store answers")
    }

    /// The link of Slack user `user_id`, if any.
    pub async fn link_of(&self, user_id: &str) -> Option<UserLink> {
        self.store
            .user_by_slack(&user(user_id))
            .await
            .expect("store answers")
    }

    /// Stores a deployment of [`REPO`] created `minutes_ago`.
    pub async fn deployment(
        &self,
        n: u32,
        environment: Environment,
        git_ref: GitRef,
        state: DeploymentState,
        minutes_ago: i64,
    ) -> Deployment {
        let created = self.clock.now().plus_secs(-60 * minutes_ago);
        let mut d = Deployment::new(
            repo(),
            DeploymentId::new(created, n),
            environment,
            git_ref,
            sha(n),
            Trigger::Manual {
                slack_user: user(USER),
            },
            channel(CHANNEL),
            created,
        );
        d.state = state;
        self.store.insert_deployment(&d).await.expect("insert");
        d
    }
}

pub fn repo() -> Repository {
    Repository::parse(REPO).expect("valid")
}

pub fn channel(id: &str) -> SlackChannelId {
    SlackChannelId::parse(id).expect("valid")
}

pub fn user(id: &str) -> SlackUserId {
    SlackUserId::parse(id).expect("valid")
}

/// A SHA made of one hex digit (`n` modulo 16) repeated: `sha(4)` is `4444…`.
pub fn sha(n: u32) -> Sha {
    Sha::parse(&format!("{:x}", n % 16).repeat(40)).expect("valid")
}

/// Every text in a Block Kit message (fallback text and blocks) as one JSON string, for
/// "mentions X" assertions.
pub fn message_json(message: &deploybot_core::blocks::Message) -> String {
    serde_json::to_string(message).expect("serialises")
}
