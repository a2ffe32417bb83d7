//! The harness the workflow tests share: an `AppState` on the in-memory store with the fake
//! GitHub, Slack and CircleCI used directly as ports, the in-process invoker, a settable
//! clock, GitHub payloads built from the fixtures in `crates/testkit/fixtures/github/`, and
//! signed requests sent through `deploybot_app::http::router` with `oneshot`. GitHub's side of
//! the conversation (the `deployment` event after a deployment is created) is played by
//! [`World::announce_deployments`].

use crate::slack_support::{Invocation, RecordingInvoker};
use axum::Router;
use axum::http::{Request, StatusCode};
use deploybot_app::dispatch::InProcessInvoker;
use deploybot_app::wiring::{Functions, Parts};
use deploybot_app::{AppConfig, AppState};
use deploybot_core::blocks::Message;
use deploybot_core::invoke::FunctionName;
use deploybot_core::invoke::{self, InvokeRequest};
use deploybot_core::lane::{LaneKey, LaneRecord};
use deploybot_core::ports::Clock;
use deploybot_core::ports::{DeploymentStore, LaneStore, ProjectStore, UserStore};
use deploybot_core::signature::SigningSecret;
use deploybot_core::{
    Deployment, DeploymentState, Environment, GithubLogin, Project, ProjectSettings, Repository,
    Sha, SlackChannelId, SlackTeamId, SlackUserId, Timestamp, UserLink,
};
use deploybot_testkit::CountingStore;
use deploybot_testkit::fakes::circleci::FakeCircleCi;
use deploybot_testkit::fakes::github::{FakeDeployment, FakeGitHub};
use deploybot_testkit::fakes::slack::{FakeSlack, PostedMessage};
use deploybot_testkit::memory_store::MemoryStore;
use deploybot_testkit::signing::{
    SignedRequest, github_request, send_to_router, slack_form_request, slack_interactive_request,
};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub const NOW_SECS: i64 = 1_715_677_200;
pub const REPO: &str = "acme/web";
pub const CHANNEL: &str = "C0WEB";
pub const TEAM: &str = "T0ACME";
pub const GITHUB_SECRET: &str = "github-webhook-secret-for-tests";
pub const CIRCLECI_SECRET: &str = "circleci-webhook-secret-for-tests";
pub const NOTIFY_TOKEN: &str = "legacy-notify-token-for-tests";
pub const SLACK_SECRET: &str = "slack-signing-secret-for-tests";
/// The commit of the pull request fixture.
pub const PR_SHA: &str = "4f3c2a1b9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b";
/// The author of the fixtures' commits and pull request, and their Slack user once linked.
pub const AUTHOR: &str = "ada-l";
pub const AUTHOR_SLACK: &str = "U0ADA";

/// A clock tests move by hand.
#[derive(Debug)]
pub struct TestClock(AtomicI64);

impl TestClock {
    pub fn advance_secs(&self, secs: i64) {
        self.0.fetch_add(secs * 1000, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst))
    }
}

pub fn repo() -> Repository {
    Repository::parse(REPO).expect("valid repository")
}

pub fn channel() -> SlackChannelId {
    SlackChannelId::parse(CHANNEL).expect("valid channel")
}

pub fn sha(hex_digit: char) -> Sha {
    Sha::parse(&hex_digit.to_string().repeat(40)).expect("valid sha")
}

pub fn pr_sha() -> Sha {
    Sha::parse(PR_SHA).expect("valid sha")
}

/// A GitHub payload fixture from `crates/testkit/fixtures/github/`.
pub fn github_fixture(name: &str) -> Value {
    let path = format!(
        "{}/../testkit/fixtures/github/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("fixture exists");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// `pull_request` with `action`, PR `number`, head `branch` and `sha`.
pub fn pr_event(action: &str, number: u64, branch: &str, sha: &Sha) -> Value {
    let mut e = github_fixture("pull_request.opened.json");
    e["action"] = action.into();
    e["number"] = number.into();
    e["pull_request"]["number"] = number.into();
    e["pull_request"]["html_url"] = format!("https://github.com/acme/web/pull/{number}").into();
    e["pull_request"]["head"]["ref"] = branch.into();
    e["pull_request"]["head"]["sha"] = sha.as_str().into();
    if action == "closed" {
        e["pull_request"]["state"] = "closed".into();
        e["pull_request"]["closed_at"] = "2024-05-14T12:00:00Z".into();
    }
    e
}

/// `push` of `sha` to `git_ref` (`refs/heads/...`), authored by [`AUTHOR`].
pub fn push_event(git_ref: &str, sha: &Sha) -> Value {
    let mut e = github_fixture("push.json");
    e["ref"] = git_ref.into();
    e["after"] = sha.as_str().into();
    e["head_commit"]["id"] = sha.as_str().into();
    e["commits"][0]["id"] = sha.as_str().into();
    e
}

/// `push` of `sha` to `git_ref` whose one commit changed the paths in `modified`.
pub fn push_changing(git_ref: &str, sha: &Sha, modified: &[&str]) -> Value {
    let mut e = push_event(git_ref, sha);
    e["commits"][0]["modified"] = modified.iter().map(|p| Value::from(*p)).collect();
    e
}

/// `push` of an annotated tag pointing at `sha`.
pub fn tag_event(tag: &str, sha: &Sha) -> Value {
    let mut e = github_fixture("push.tag.json");
    e["ref"] = format!("refs/tags/{tag}").into();
    e["head_commit"]["id"] = sha.as_str().into();
    e
}

/// `status` of one context on a commit.
pub fn status_event(sha: &Sha, context: &str, state: &str) -> Value {
    let mut e = github_fixture("status.json");
    e["sha"] = sha.as_str().into();
    e["commit"]["sha"] = sha.as_str().into();
    e["context"] = context.into();
    e["state"] = state.into();
    e
}

/// `check_suite` `completed` on a commit.
pub fn check_suite_event(sha: &Sha, conclusion: &str) -> Value {
    let mut e = github_fixture("check_suite.completed.json");
    e["check_suite"]["head_sha"] = sha.as_str().into();
    e["check_suite"]["conclusion"] = conclusion.into();
    e
}

/// `check_run` `completed` (`conclusion`) of the check run `name` on a commit.
pub fn check_run_event(sha: &Sha, name: &str, conclusion: &str) -> Value {
    let mut e = github_fixture("check_run.completed.json");
    e["check_run"]["head_sha"] = sha.as_str().into();
    e["check_run"]["check_suite"]["head_sha"] = sha.as_str().into();
    e["check_run"]["name"] = name.into();
    e["check_run"]["conclusion"] = conclusion.into();
    e
}

/// The `deployment` event GitHub sends for a deployment the fake holds.
pub fn deployment_event(d: &FakeDeployment) -> Value {
    let mut e = github_fixture("deployment.json");
    let dep = &mut e["deployment"];
    dep["id"] = d.id.into();
    dep["sha"] = d.sha.as_str().into();
    dep["ref"] = d.git_ref.clone().into();
    dep["environment"] = d.environment.clone().into();
    dep["original_environment"] = d.environment.clone().into();
    dep["payload"] = d.payload.clone();
    dep["transient_environment"] = d.transient_environment.into();
    dep["production_environment"] = d.production_environment.into();
    e
}

/// A `deployment_status` event someone else caused on a deployment the fake holds.
pub fn deployment_status_event(d: &FakeDeployment, state: &str) -> Value {
    let mut e = github_fixture("deployment_status.json");
    e["deployment"] = deployment_event(d)["deployment"].clone();
    e["deployment_status"]["state"] = state.into();
    e
}

/// Every text of a message (fallback and blocks), for `contains` checks.
pub fn message_text(message: &Message) -> String {
    serde_json::to_string(message).expect("serialises")
}

pub struct World {
    /// github-deployment-create's state (handlers are called with it directly).
    pub state: AppState,
    /// What the functions were wired from (to wire them again with one part changed).
    pub parts: Parts,
    /// The store the functions use: [`World::store`], counting calls, with faults to arm.
    pub counting: Arc<CountingStore>,
    pub invoker: InProcessInvoker,
    recorder: Arc<RecordingInvoker>,
    pub store: Arc<MemoryStore>,
    pub github: FakeGitHub,
    pub slack: FakeSlack,
    pub ci: FakeCircleCi,
    /// GitHub Actions' runs, for environments whose `backend` is `github_actions`.
    pub actions: deploybot_testkit::fakes::github_actions::FakeActions,
    pub clock: Arc<TestClock>,
    router: Router,
    next_delivery: AtomicU64,
    announced: Mutex<HashSet<u64>>,
}

impl World {
    /// `acme/web` bound to `#web` (team `T0ACME`, base domain `example.com`), known to the fake
    /// GitHub with default branch `main`.
    pub async fn new() -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(TestClock(AtomicI64::new(NOW_SECS * 1000)));
        let github = FakeGitHub::new();
        let slack = FakeSlack::new();
        let ci = FakeCircleCi::new();
        let actions = deploybot_testkit::fakes::github_actions::FakeActions::new();
        let config = AppConfig {
            github_webhook_secret: Some(SigningSecret::new(GITHUB_SECRET)),
            circleci_webhook_secret: Some(SigningSecret::new(CIRCLECI_SECRET)),
            circleci_notify_token: Some(NOTIFY_TOKEN.to_owned().into()),
            slack_signing_secret: Some(SigningSecret::new(SLACK_SECRET)),
            ..AppConfig::default()
        };
        let counting = Arc::new(CountingStore::new(store.clone()));
        let parts = Parts::new(clock.clone(), config)
            .with_store(counting.clone())
            .with_github(Arc::new(github.clone()))
            .with_slack(Arc::new(slack.clone()))
            .with_ci(Arc::new(
                deploybot_core::ports::CiBackends::new()
                    .with_circleci(Arc::new(ci.clone()))
                    .with_github_actions(Arc::new(actions.clone())),
            ));
        // The functions invoke through a recorder (`World::invocations`); `parts` stays without
        // it, for the tests that wire the functions again with one part changed.
        let recorder = Arc::new(RecordingInvoker::default());
        let functions = Functions::wire_with(
            parts.clone().with_invoker(recorder.clone()),
            recorder.inner.clone(),
        )
        .expect("wires");
        let invoker = functions.invoker().clone();
        let state = functions
            .state(FunctionName::GithubDeploymentCreate)
            .clone();
        github.add_repository(&repo(), "main");
        let project = Project {
            repository: repo(),
            channel: channel(),
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
            github_id: None,
        };
        store.bind_project(&project).await.expect("binds");
        let router = functions.router();
        Self {
            state,
            parts,
            counting,
            invoker,
            recorder,
            store,
            github,
            slack,
            ci,
            actions,
            clock,
            router,
            next_delivery: AtomicU64::new(1),
            announced: Mutex::new(HashSet::new()),
        }
    }

    /// Puts `text` as `.github/deploybot.yml` on the default branch at `commit` (`None`:
    /// removes it there) and forgets what the project read, so the next event reads the file
    /// first (as after setup).
    pub async fn use_workflow_file(&self, commit: &Sha, text: Option<&str>) {
        self.github.set_branch(&repo(), "main", commit, None);
        self.github.set_file(
            &repo(),
            deploybot_core::workflow_file::WORKFLOW_PATH,
            commit,
            text,
        );
        let mut project = self.project().await;
        project.workflow = None;
        assert!(self.store.update_project(&project).await.expect("updates"));
    }

    /// The project as stored.
    pub async fn project(&self) -> Project {
        self.store
            .project_by_repository(&repo())
            .await
            .expect("reads")
            .expect("bound")
    }

    /// Links [`AUTHOR`] to [`AUTHOR_SLACK`].
    pub async fn link_author(&self) {
        let link = UserLink {
            github_login: GithubLogin::parse(AUTHOR).expect("valid login"),
            slack_user: SlackUserId::parse(AUTHOR_SLACK).expect("valid user"),
            slack_name: Some("Ada".into()),
            linked_at: Timestamp::from_secs(NOW_SECS - 3600),
        };
        self.store.link_user(&link).await.expect("links");
    }

    /// Sends a request through the router; the status and body text.
    pub async fn send(&self, request: Request<axum::body::Body>) -> (StatusCode, String) {
        let answer = send_to_router(&self.router, request).await;
        (answer.status, answer.text())
    }

    pub async fn send_signed(&self, path: &str, request: SignedRequest) -> (StatusCode, String) {
        self.send(request.into_http_request(path).expect("valid request"))
            .await
    }

    /// `/cimon <text>` typed by Slack user `user` in the project's channel, signed as Slack
    /// signs it; the command's own JSON answer, once the work it started has settled.
    pub async fn slash(&self, user: &str, text: &str) -> Value {
        let response_url = self.slack.response_url(&format!("cmd-{user}"));
        let request = slack_form_request(
            &SigningSecret::new(SLACK_SECRET),
            self.clock.now().secs(),
            &[
                ("team_id", TEAM),
                ("channel_id", CHANNEL),
                ("channel_name", "web"),
                ("user_id", user),
                ("command", "/cimon"),
                ("text", text),
                ("response_url", &response_url),
                ("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
            ],
        );
        let (status, body) = self.send_signed("/slack/command", request).await;
        assert_eq!(status, StatusCode::OK, "/cimon {text}: {body}");
        self.settle().await;
        serde_json::from_str(&body).expect("a slash command answers JSON")
    }

    /// Slack user `user` pressed the button `action_id` with `value` on a message in
    /// `channel` (the project's channel, or a direct message); the answers posted to the
    /// press's `response_url`, once the work it started has settled.
    pub async fn press(
        &self,
        user: &str,
        channel: &SlackChannelId,
        action_id: &str,
        value: &str,
    ) -> Vec<Message> {
        self.press_with_reason(user, channel, action_id, value, None)
            .await
    }

    /// As [`World::press`], with `reason` typed in the message's reason field.
    pub async fn press_with_reason(
        &self,
        user: &str,
        channel: &SlackChannelId,
        action_id: &str,
        value: &str,
        reason: Option<&str>,
    ) -> Vec<Message> {
        let n = self.next_delivery.fetch_add(1, Ordering::SeqCst);
        let id = format!("press-{n}");
        let mut payload = serde_json::json!({
            "type": "block_actions",
            "team": {"id": TEAM},
            "user": {"id": user, "username": user.to_ascii_lowercase()},
            "channel": {"id": channel.as_str()},
            "trigger_id": format!("trigger-{n}"),
            "response_url": self.slack.response_url(&id),
            "actions": [{"action_id": action_id, "value": value, "type": "button"}],
        });
        if let Some(reason) = reason {
            let field = deploybot_app::render::APPROVAL_REASON;
            payload["state"] = serde_json::json!({"values": {field: {field: {
                "type": "plain_text_input", "value": reason
            }}}});
        }
        let request = slack_interactive_request(
            &SigningSecret::new(SLACK_SECRET),
            self.clock.now().secs(),
            &payload,
        );
        let (status, body) = self.send_signed("/slack/interactive", request).await;
        assert_eq!(status, StatusCode::OK, "{action_id}: {body}");
        self.settle().await;
        self.slack
            .responses()
            .into_iter()
            .filter(|r| r.id == id)
            .map(|r| r.response.message)
            .collect()
    }

    /// A new delivery id, as GitHub gives each delivery.
    pub fn delivery_id(&self) -> String {
        format!(
            "72d3162e-cc78-11e3-81ab-{:012}",
            self.next_delivery.fetch_add(1, Ordering::SeqCst)
        )
    }

    /// A GitHub webhook delivery with `delivery` as `X-GitHub-Delivery`.
    pub async fn github_delivery(
        &self,
        event: &str,
        delivery: &str,
        body: &Value,
    ) -> (StatusCode, String) {
        let request = github_request(&SigningSecret::new(GITHUB_SECRET), event, delivery, body);
        self.send_signed("/github/webhook", request).await
    }

    /// A GitHub webhook delivery (fresh delivery id), then lets the work it started settle.
    pub async fn github_event(&self, event: &str, body: &Value) -> (StatusCode, String) {
        let answer = self.github_delivery(event, &self.delivery_id(), body).await;
        self.settle().await;
        answer
    }

    /// Waits until no `Event` invocation runs.
    pub async fn settle(&self) {
        self.invoker.wait_idle().await;
    }

    /// Plays GitHub: sends the `deployment` event of every deployment created since the last
    /// call, then lets the work settle. Returns how many were announced.
    pub async fn announce_deployments(&self) -> usize {
        let fresh: Vec<FakeDeployment> = {
            let mut announced = self.announced.lock().expect("not poisoned");
            self.github
                .deployments(&repo())
                .into_iter()
                .filter(|d| announced.insert(d.id))
                .collect()
        };
        for d in &fresh {
            let (status, body) = self.github_event("deployment", &deployment_event(d)).await;
            assert!(status.is_success(), "deployment event: {status} {body}");
        }
        fresh.len()
    }

    /// Finishes a pipeline's workflow with `status` and delivers CircleCI's signed
    /// `workflow-completed` webhook, then lets the work settle.
    pub async fn complete_pipeline(&self, pipeline_id: &str, status: &str) -> (StatusCode, String) {
        let request = self
            .ci
            .completion_payload(pipeline_id, status, &SigningSecret::new(CIRCLECI_SECRET))
            .expect("the fake CircleCI knows the pipeline");
        let answer = self.send_signed("/circleci/webhook", request).await;
        self.settle().await;
        answer
    }

    /// Plays GitHub and CircleCI until the lanes rest: announces every new GitHub deployment
    /// and finishes every started pipeline with `status`, again and again while the lanes
    /// dispatch more. Returns how many pipelines were finished.
    pub async fn finish_everything(&self, status: &str) -> usize {
        let mut finished = 0;
        for _ in 0..20 {
            self.announce_deployments().await;
            let running: Vec<String> = self
                .deployments()
                .await
                .into_iter()
                .filter(|d| {
                    matches!(
                        d.state,
                        DeploymentState::Queued | DeploymentState::InProgress
                    )
                })
                .filter_map(|d| d.pipeline_id)
                .collect();
            if running.is_empty() {
                return finished;
            }
            for pipeline in running {
                self.complete_pipeline(&pipeline, status).await;
                finished += 1;
            }
        }
        panic!("the lanes never came to rest");
    }

    /// The lane record of `environment` (empty when nothing was stored for it).
    pub async fn lane(&self, environment: Environment) -> LaneRecord {
        let key = LaneKey {
            repository: repo(),
            environment,
        };
        self.store
            .get_lane(&key)
            .await
            .expect("the store answers")
            .unwrap_or_else(|| LaneRecord::empty(key, self.clock.now()))
    }

    /// Invokes a function the way another function would (`RequestResponse`).
    pub async fn call<R: InvokeRequest>(&self, request: &R) -> R::Response {
        let answer = invoke::call(&self.invoker, request)
            .await
            .expect("invoke answers");
        self.settle().await;
        answer
    }

    /// The repository's deployments, newest first.
    pub async fn deployments(&self) -> Vec<Deployment> {
        self.store
            .list_deployments(&repo(), None, 100)
            .await
            .expect("lists")
    }

    /// The deployments of one environment, newest first.
    pub async fn deployments_in(&self, environment: Environment) -> Vec<Deployment> {
        self.store
            .list_deployments(&repo(), Some(environment), 100)
            .await
            .expect("lists")
    }

    /// A deployment as stored now.
    pub async fn store_get(&self, id: &deploybot_core::DeploymentId) -> Deployment {
        self.store
            .get_deployment(&repo(), id)
            .await
            .expect("reads")
            .expect("exists")
    }

    /// The only deployment of an environment.
    pub async fn only_deployment(&self, environment: Environment) -> Deployment {
        let mut all = self.deployments_in(environment.clone()).await;
        assert_eq!(all.len(), 1, "one deployment to {environment}: {all:#?}");
        all.remove(0)
    }

    /// The channel's messages.
    pub fn messages(&self) -> Vec<PostedMessage> {
        self.slack.messages(&channel())
    }

    /// The fake GitHub deployment behind a record.
    pub fn github_deployment(&self, d: &Deployment) -> FakeDeployment {
        let id = d.github_deployment_id.expect("has a GitHub deployment");
        self.github
            .deployments(&repo())
            .into_iter()
            .find(|g| g.id == id)
            .expect("GitHub has it")
    }

    /// The GitHub status names written for a record, in order.
    pub fn github_states(&self, d: &Deployment) -> Vec<String> {
        let id = d.github_deployment_id.expect("has a GitHub deployment");
        self.github
            .statuses(&repo(), id)
            .into_iter()
            .map(|s| s.state)
            .collect()
    }

    /// Every invocation so far, handlers' and functions' alike, in the order they were made.
    pub fn invocations(&self) -> Vec<Invocation> {
        self.recorder.invocations()
    }

    /// No `Event` invocation failed (what Lambda would have sent to its failure queue).
    pub fn assert_no_failures(&self) {
        let failures = self.invoker.failures();
        assert!(failures.is_empty(), "failed invocations: {failures:#?}");
    }
}
