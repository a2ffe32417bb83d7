//! The entry points of deploybot's fuzz targets, as plain functions: `fuzz_targets/*.rs` hand
//! them libFuzzer's input, and `tests/corpus.rs` replays the saved corpus through them on
//! stable Rust. A panic (including a failed `assert!`) is a finding.
//!
//! - [`command_grammar`]: the slash-command grammar (`Grammar::parse`);
//! - [`signatures`]: the Slack, GitHub and CircleCI signature verifiers;
//! - [`github_payloads`], [`circleci_payloads`]: the typed webhook payloads and their helpers;
//! - [`http_endpoints`]: every HTTP endpoint through the router, with a correct signature, so
//!   the body reaches the Slack form, interactive and event parsers too; nothing may get a
//!   5xx or a 401.

use axum::http::StatusCode;
use deploybot_app::AppConfig;
use deploybot_app::webhook_payloads::circleci::{LegacyNotify, WebhookEnvelope, WorkflowCompleted};
use deploybot_app::webhook_payloads::github::{
    AnyRepositoryEvent, CheckRunEvent, CheckSuiteEvent, DeploymentEvent, DeploymentStatusEvent,
    PullRequestEvent, PushEvent, StatusEvent,
};
use deploybot_app::webhook_payloads::parse_json;
use deploybot_app::wiring::{Functions, Parts};
use deploybot_core::command::{Command, Grammar};
use deploybot_core::invoke::FunctionName;
use deploybot_core::ports::{
    Clock, DeploymentStore, InvokeError, InvokeMode, Invoker, ProjectStore,
};
use deploybot_core::signature::{
    SigningSecret, sign_circleci, sign_github, sign_slack, verify_circleci, verify_github,
    verify_slack,
};
use deploybot_core::{
    Deployment, DeploymentId, DeploymentState, Environment, GitRef, Project, Repository, Sha,
    SlackChannelId, Timestamp, Trigger,
};
use deploybot_testkit::MemoryStore;
use deploybot_testkit::signing::{circleci_request_bytes, github_request_bytes, slack_request};
use http_body_util::BodyExt;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

const NOW_SECS: i64 = 1_715_677_200;

/// The slash-command grammar: never panics; a parsed `setup` names a repository that parses
/// back to itself; a refusal is a short message.
pub fn command_grammar(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let (grammar, invoked) = match selector % 4 {
        0 => (Grammar::default(), "/cimon"),
        1 => (Grammar::default(), "/deploy"),
        2 => (Grammar::new("ship"), "/ship"),
        _ => (Grammar::new("/deploy"), "/deploy"),
    };
    match grammar.parse(invoked, &text) {
        Ok(Command::Setup { repository }) => {
            assert_eq!(Repository::parse(repository.as_str()), Ok(repository));
        }
        Ok(_) => {}
        Err(usage) => {
            assert!(!usage.message.is_empty());
            assert!(
                usage.message.chars().count() < 1_000,
                "a refusal quotes at most a clipped part of the input"
            );
        }
    }
}

/// Splits the input at 0xFF bytes into up to `N` parts (missing parts are empty).
fn parts<const N: usize>(data: &[u8]) -> [&[u8]; N] {
    let mut out = [&data[..0]; N];
    let mut pieces = data.splitn(N, |b| *b == 0xFF);
    for slot in &mut out {
        *slot = pieces.next().unwrap_or(&data[..0]);
    }
    out
}

fn hex_of(header: &str, prefix: &str) -> Option<String> {
    header
        .trim()
        .strip_prefix(prefix)
        .map(|h| h.to_ascii_lowercase())
}

/// The three verifiers: never panic; accept only what the signer produces; what the signer
/// produces verifies, and a changed body does not.
pub fn signatures(data: &[u8]) {
    let [secret, signature, timestamp, body] = parts::<4>(data);
    let secret_text = String::from_utf8_lossy(secret);
    let _ = SigningSecret::from_config(&secret_text);
    let key = if secret.is_empty() {
        b"k".as_slice()
    } else {
        secret
    };
    let secret = SigningSecret::new(key);
    let signature = String::from_utf8_lossy(signature);
    let timestamp = String::from_utf8_lossy(timestamp);
    let now = Timestamp::from_secs(NOW_SECS);

    if verify_slack(&secret, Some(&timestamp), Some(&signature), body, now).is_ok() {
        let ts: i64 = timestamp
            .trim()
            .parse()
            .expect("an accepted timestamp is a number");
        assert!((NOW_SECS - ts).abs() <= 300);
        let expected = sign_slack(&secret, ts, body);
        assert_eq!(hex_of(&signature, "v0="), hex_of(&expected, "v0="));
    }
    if verify_github(&secret, Some(&signature), body).is_ok() {
        let expected = sign_github(&secret, body);
        assert_eq!(hex_of(&signature, "sha256="), hex_of(&expected, "sha256="));
    }
    let _ = verify_circleci(&secret, Some(&signature), body);

    // Round trips, and a flipped byte is refused.
    let github = sign_github(&secret, body);
    assert_eq!(verify_github(&secret, Some(&github), body), Ok(()));
    let circleci = sign_circleci(&secret, body);
    assert_eq!(verify_circleci(&secret, Some(&circleci), body), Ok(()));
    let slack = sign_slack(&secret, NOW_SECS, body);
    assert_eq!(
        verify_slack(
            &secret,
            Some(&NOW_SECS.to_string()),
            Some(&slack),
            body,
            now
        ),
        Ok(())
    );
    if let Some(first) = body.first() {
        let mut changed = body.to_vec();
        changed[0] = first ^ 0x01;
        assert!(verify_github(&secret, Some(&github), &changed).is_err());
        assert!(verify_circleci(&secret, Some(&circleci), &changed).is_err());
    }
}

/// Every GitHub payload type and its helpers: never panic.
pub fn github_payloads(data: &[u8]) {
    if let Ok(e) = parse_json::<AnyRepositoryEvent>("any", data)
        && let Some(r) = e.repository
    {
        let _ = r.repository();
    }
    if let Ok(e) = parse_json::<PushEvent>("push", data) {
        let _ = e.after_sha();
        let _ = e.commit_author();
        let _ = GitRef::parse(&e.git_ref);
        let _ = e.sender.as_ref().and_then(|s| s.github_login());
        let _ = e.repository.info().repository();
    }
    if let Ok(e) = parse_json::<PullRequestEvent>("pull_request", data) {
        let _ = e.head_sha();
        let _ = e.from_fork();
        let _ = e.repository.repository();
        let _ = e.pull_request.user.as_ref().and_then(|u| u.github_login());
    }
    if let Ok(e) = parse_json::<StatusEvent>("status", data) {
        let _ = Sha::parse(&e.sha);
    }
    if let Ok(e) = parse_json::<CheckSuiteEvent>("check_suite", data) {
        let _ = Sha::parse(&e.check_suite.head_sha);
    }
    if let Ok(e) = parse_json::<CheckRunEvent>("check_run", data) {
        let _ = Sha::parse(&e.check_run.head_sha);
    }
    if let Ok(e) = parse_json::<DeploymentEvent>("deployment", data) {
        let _ = e.deployment.deployment_id();
    }
    if let Ok(e) = parse_json::<DeploymentStatusEvent>("deployment_status", data) {
        let _ = e.deployment.deployment_id();
        let _ = DeploymentState::parse(&e.deployment_status.state);
        let _ = e.deployment_status.log_url();
        let _ = e.deployment_status.environment_url();
        let _ = e.deployment_status.description();
    }
}

/// Every CircleCI payload type and its helpers: never panic.
pub fn circleci_payloads(data: &[u8]) {
    let _ = parse_json::<WebhookEnvelope>("webhook", data);
    if let Ok(e) = parse_json::<WorkflowCompleted>("workflow-completed", data) {
        let _ = deploybot_core::ports::ci_outcome_state(&e.workflow.status);
    }
    if let Ok(n) = parse_json::<LegacyNotify>("notify", data) {
        let build = n.payload;
        let _ = build.outcome();
        let _ = build.repository();
        let _ = build.sha();
        let _ = build.deployment_id();
    }
}

/// An invoker that accepts everything at once (the fuzzed handlers' downstream work is not
/// what this target explores, and background tasks would pile up between inputs).
#[derive(Debug)]
struct NullInvoker;

#[async_trait::async_trait]
impl Invoker for NullInvoker {
    async fn invoke(
        &self,
        _function: FunctionName,
        _mode: InvokeMode,
        _payload: Vec<u8>,
    ) -> Result<serde_json::Value, InvokeError> {
        Ok(serde_json::Value::Null)
    }
}

#[derive(Debug)]
struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_secs(NOW_SECS)
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

const SLACK: &str = "fuzz-slack-secret";
const GITHUB: &str = "fuzz-github-secret";
const CIRCLECI: &str = "fuzz-circleci-secret";
const GITHUB_EVENTS: [&str; 9] = [
    "push",
    "pull_request",
    "status",
    "check_suite",
    "check_run",
    "deployment",
    "deployment_status",
    "ping",
    "fork",
];

/// A bound project and a queued deployment with a pipeline, so webhooks find something.
async fn world() -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::new());
    let repository = Repository::parse("acme/web").expect("valid");
    let channel = SlackChannelId::parse("C0WEB").expect("valid");
    let project = Project {
        repository: repository.clone(),
        channel: channel.clone(),
        channel_name: Some("web".into()),
        team: None,
        settings: Default::default(),
        created_by: None,
        workflow: None,
        created_at: Timestamp::from_secs(NOW_SECS - 86_400),
        github_id: None,
    };
    store.bind_project(&project).await.expect("binds");
    let created = Timestamp::from_secs(NOW_SECS - 600);
    let mut d = Deployment::new(
        repository,
        DeploymentId::new(created, 7),
        Environment::Test,
        GitRef::Branch("release-1".into()),
        Sha::parse("0123456789abcdef0123456789abcdef01234567").expect("valid"),
        Trigger::Push { pusher: None },
        channel,
        created,
    );
    d.state = DeploymentState::Queued;
    d.github_deployment_id = Some(42);
    d.pipeline_id = Some("1285fe1d-d3a6-44fc-8886-8979558254c4".into());
    store.insert_deployment(&d).await.expect("inserts");
    store
}

/// One correctly signed request to one endpoint: never a 5xx, never a 401.
pub fn http_endpoints(data: &[u8]) {
    let [selector, event, body @ ..] = data else {
        return;
    };
    let body = body.to_vec();
    let (path, request) = match selector % 5 {
        0 => (
            "/slack/command",
            slack_request(
                &SigningSecret::new(SLACK),
                NOW_SECS,
                "application/x-www-form-urlencoded",
                body,
            ),
        ),
        1 => (
            "/slack/interactive",
            slack_request(
                &SigningSecret::new(SLACK),
                NOW_SECS,
                "application/x-www-form-urlencoded",
                body,
            ),
        ),
        2 => (
            "/slack/event",
            slack_request(
                &SigningSecret::new(SLACK),
                NOW_SECS,
                "application/json",
                body,
            ),
        ),
        3 => (
            "/github/webhook",
            github_request_bytes(
                &SigningSecret::new(GITHUB),
                GITHUB_EVENTS[usize::from(*event) % GITHUB_EVENTS.len()],
                "72d3162e-cc78-11e3-81ab-4c9367dc0958",
                body,
            ),
        ),
        _ => (
            "/circleci/webhook",
            circleci_request_bytes(&SigningSecret::new(CIRCLECI), "workflow-completed", body),
        ),
    };
    runtime().block_on(async {
        let store = world().await;
        let config = AppConfig {
            slack_signing_secret: Some(SigningSecret::new(SLACK)),
            github_webhook_secret: Some(SigningSecret::new(GITHUB)),
            circleci_webhook_secret: Some(SigningSecret::new(CIRCLECI)),
            ..AppConfig::default()
        };
        let parts = Parts::new(Arc::new(FixedClock), config)
            .with_store(store)
            .with_invoker(Arc::new(NullInvoker));
        let router = Functions::wire(parts)
            .expect("the memory store serves every table")
            .router();
        let request = request.into_http_request(path).expect("valid request");
        let response = router.oneshot(request).await.expect("the router answers");
        let status = response.status();
        let text = response.into_body().collect().await.map(|b| b.to_bytes());
        assert!(
            !status.is_server_error() && status != StatusCode::UNAUTHORIZED,
            "{path}: {status} {text:?}"
        );
    });
}
