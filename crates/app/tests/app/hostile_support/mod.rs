//! The harness the hostile-input tests share: every HTTP endpoint behind
//! `deploybot_app::http::router`, all three secrets (and the legacy CircleCI token)
//! configured, the in-memory store wrapped in a [`CountingStore`], an invoker that counts what
//! handlers hand on, and the fakes used directly as ports. A project, a linked user and a
//! queued deployment are stored up front, so that "the store is unchanged" compares real
//! data. [`Harness::snapshot`] is the whole store as text (the in-memory store's `Debug`
//! shows every table and index), so two snapshots are equal only if nothing was written.

use async_trait::async_trait;
use axum::Router;
use axum::http::StatusCode;
use deploybot_app::AppConfig;
use deploybot_app::dispatch::InProcessInvoker;
use deploybot_app::wiring::{Functions, Parts};
use deploybot_core::invoke::FunctionName;
use deploybot_core::ports::{Clock, InvokeError, InvokeMode, Invoker};
use deploybot_core::ports::{DeploymentStore, ProjectStore, UserStore};
use deploybot_core::signature::SigningSecret;
use deploybot_core::{
    Deployment, DeploymentId, DeploymentState, Environment, GitRef, GithubLogin, Project,
    ProjectSettings, Repository, Sha, SlackChannelId, SlackTeamId, SlackUserId, Timestamp, Trigger,
    UserLink,
};
use deploybot_testkit::counting_store::CountingStore;
use deploybot_testkit::fakes::circleci::FakeCircleCi;
use deploybot_testkit::fakes::github::FakeGitHub;
use deploybot_testkit::fakes::slack::FakeSlack;
use deploybot_testkit::memory_store::MemoryStore;
use deploybot_testkit::signing::{SignedRequest, send_to_router};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub const NOW_SECS: i64 = 1_715_677_200;
pub const REPO: &str = "acme/web";
pub const CHANNEL: &str = "C0WEB";
pub const UNBOUND_CHANNEL: &str = "C0NEW";
pub const TEAM: &str = "T0ACME";
pub const USER: &str = "U0ALICE";
pub const LINKED_USER: &str = "U0ADA";
pub const LINKED_LOGIN: &str = "ada-l";
pub const SLACK_SECRET: &str = "slack-signing-secret-for-tests";
pub const GITHUB_SECRET: &str = "github-webhook-secret-for-tests";
pub const CIRCLECI_SECRET: &str = "circleci-webhook-secret-for-tests";
pub const NOTIFY_TOKEN: &str = "legacy-notify-token-for-tests";
/// A secret nobody configured: what a forger signs with.
pub const WRONG_SECRET: &str = "not-the-secret";
/// The pipeline of the stored, queued deployment.
pub const PIPELINE: &str = "1285fe1d-d3a6-44fc-8886-8979558254c4";
/// The commit of the stored deployment.
pub const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
/// The largest body the harness's handlers accept (a small limit keeps the tests quick; the
/// check is the same whatever the number).
pub const MAX_BODY: usize = 64 * 1024;

/// The store methods that write. A hostile request calls none of them, except
/// `claim_delivery` for a replayed delivery — which then must refuse (the snapshot shows it).
pub const WRITES: [&str; 14] = [
    "bind_project",
    "update_project",
    "set_project_github_id",
    "move_project",
    "unbind_project",
    "record_unbinding",
    "set_team_revoked",
    "link_user",
    "unlink_user",
    "insert_deployment",
    "update_deployment",
    "claim_delivery",
    "finish_delivery",
    "forget_delivery",
];

#[derive(Debug)]
pub struct FixedClock(Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// The in-process invoker, counting every invocation before running it.
#[derive(Debug, Default)]
pub struct CountingInvoker {
    pub inner: InProcessInvoker,
    count: AtomicUsize,
}

#[async_trait]
impl Invoker for CountingInvoker {
    async fn invoke(
        &self,
        function: FunctionName,
        mode: InvokeMode,
        payload: Vec<u8>,
    ) -> Result<Value, InvokeError> {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.inner.invoke(function, mode, payload).await
    }
}

/// An answer as a test sees it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub raw: String,
    pub json: Value,
}

impl Answer {
    /// The `text` of a slash-command reply, or "".
    pub fn text(&self) -> &str {
        self.json["text"].as_str().unwrap_or("")
    }
}

pub struct Harness {
    pub memory: Arc<MemoryStore>,
    pub counting: Arc<CountingStore>,
    pub invoker: Arc<CountingInvoker>,
    pub slack: FakeSlack,
    pub github: FakeGitHub,
    pub ci: FakeCircleCi,
    pub slack_secret: SigningSecret,
    pub github_secret: SigningSecret,
    pub circleci_secret: SigningSecret,
    pub wrong_secret: SigningSecret,
    router: Router,
}

pub fn repo() -> Repository {
    Repository::parse(REPO).expect("valid repository")
}

pub fn sha() -> Sha {
    Sha::parse(SHA).expect("valid sha")
}

impl Harness {
    /// A bound project, a linked user and a queued deployment with a pipeline.
    pub async fn new() -> Self {
        let memory = Arc::new(MemoryStore::new());
        let counting = Arc::new(CountingStore::new(memory.clone()));
        let clock = Arc::new(FixedClock(Timestamp::from_secs(NOW_SECS)));
        let slack_secret = SigningSecret::new(SLACK_SECRET);
        let github_secret = SigningSecret::new(GITHUB_SECRET);
        let circleci_secret = SigningSecret::new(CIRCLECI_SECRET);
        let config = AppConfig {
            slack_signing_secret: Some(slack_secret.clone()),
            github_webhook_secret: Some(github_secret.clone()),
            circleci_webhook_secret: Some(circleci_secret.clone()),
            circleci_notify_token: Some(NOTIFY_TOKEN.to_owned().into()),
            max_body_bytes: MAX_BODY,
            ..AppConfig::default()
        };
        let slack = FakeSlack::new();
        let github = FakeGitHub::new();
        let ci = FakeCircleCi::new();
        let invoker = Arc::new(CountingInvoker::default());
        let parts = Parts::new(clock, config)
            .with_store(counting.clone())
            .with_invoker(invoker.clone())
            .with_slack(Arc::new(slack.clone()))
            .with_github(Arc::new(github.clone()))
            .with_ci(Arc::new(ci.clone()));
        let functions = Functions::wire_with(parts, invoker.inner.clone()).expect("wires");
        github.add_repository(&repo(), "main");

        let project = Project {
            repository: repo(),
            channel: SlackChannelId::parse(CHANNEL).expect("valid channel"),
            channel_name: Some("web".into()),
            team: Some(SlackTeamId::parse(TEAM).expect("valid team")),
            settings: ProjectSettings {
                base_domain: Some("example.com".into()),
                ..ProjectSettings::default()
            },
            created_by: None,
            // Read at setup: no workflow file, the built-in workflow is in force.
            workflow: Some(deploybot_testkit::fixtures::workflow_read_without_file(
                deploybot_core::Sha::parse(&"1".repeat(40)).expect("a sha"),
                Timestamp::from_secs(NOW_SECS - 86_400),
            )),
            created_at: Timestamp::from_secs(NOW_SECS - 86_400),
            github_id: Some(598_245_713),
        };
        memory.bind_project(&project).await.expect("binds");
        let link = UserLink {
            github_login: GithubLogin::parse(LINKED_LOGIN).expect("valid login"),
            slack_user: SlackUserId::parse(LINKED_USER).expect("valid user"),
            slack_name: Some("Ada".into()),
            linked_at: Timestamp::from_secs(NOW_SECS - 3600),
        };
        memory.link_user(&link).await.expect("links");
        let created = Timestamp::from_secs(NOW_SECS - 600);
        let mut deployment = Deployment::new(
            repo(),
            DeploymentId::new(created, 7),
            Environment::Test,
            GitRef::Branch("release-2024-05".into()),
            sha(),
            Trigger::Push { pusher: None },
            project.channel.clone(),
            created,
        );
        deployment.state = DeploymentState::Queued;
        deployment.pipeline_id = Some(PIPELINE.into());
        memory
            .insert_deployment(&deployment)
            .await
            .expect("inserts");

        let router = functions.router();
        Self {
            memory,
            counting,
            invoker,
            slack,
            github,
            ci,
            slack_secret,
            github_secret,
            circleci_secret,
            wrong_secret: SigningSecret::new(WRONG_SECRET),
            router,
        }
    }

    /// Everything the store holds, as text.
    pub fn snapshot(&self) -> String {
        format!("{:?}", self.memory)
    }

    /// The write methods called since the last [`Harness::reset_counts`].
    pub fn writes(&self) -> Vec<(&'static str, u64)> {
        self.counting
            .counts()
            .into_iter()
            .filter(|(method, _)| WRITES.contains(method))
            .collect()
    }

    pub fn invocations(&self) -> usize {
        self.invoker.count.load(Ordering::SeqCst)
    }

    /// Outbound calls the fake services saw.
    pub fn outbound_calls(&self) -> usize {
        self.slack.calls().len() + self.github.calls().len() + self.ci.calls().len()
    }

    /// Starts counting store calls and invocations from zero.
    pub fn reset_counts(&self) {
        self.counting.reset();
        self.invoker.count.store(0, Ordering::SeqCst);
    }

    /// Lets every `Event` invocation started so far finish.
    pub async fn settle(&self) {
        self.invoker.inner.wait_idle().await;
    }

    /// Sends a request through the router and reads the answer.
    pub async fn send(&self, path: &str, request: SignedRequest) -> Answer {
        let request = request.into_http_request(path).expect("valid request");
        let answer = send_to_router(&self.router, request).await;
        Answer {
            status: answer.status,
            raw: answer.text(),
            json: answer.json(),
        }
    }
}
