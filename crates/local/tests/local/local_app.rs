//! The local server as the harness runs it (127.0.0.1, the fakes behind the real adapters):
//! what the demo scenario does not show — the `ExpireWaiting` schedule, refused signatures,
//! redelivered webhooks, the health check and shutdown.

use deploybot_core::DeploymentState;
use deploybot_core::signature::SigningSecret;
use deploybot_local::github_events;
use deploybot_local::harness::{AppOptions, LocalApp, StoreSetup, try_spawn_app};
use deploybot_local::world::{self, GRACE};
use deploybot_testkit::fakes::circleci::CircleCiFailure;
use deploybot_testkit::signing::{circleci_request, github_request, slack_form_request};
use std::time::Duration;

async fn app_with(options: AppOptions) -> LocalApp {
    try_spawn_app(options).await.expect("the local app starts")
}

async fn set_up(app: &LocalApp) {
    let reply = app
        .slash(GRACE, &format!("setup {}", world::REPOSITORY))
        .await
        .expect("Slack reaches the server");
    assert_eq!(reply.status, 200, "{}", reply.body);
    app.settle().await.expect("settles");
}

/// Grace pushes the default branch; the server takes it in.
async fn push_default_branch(app: &LocalApp) {
    let push = github_events::push(
        world::REPOSITORY,
        world::DEFAULT_BRANCH,
        world::MAIN_SHA,
        GRACE.github_login,
    );
    let reply = app.github_event("push", &push).await.expect("delivered");
    assert_eq!(reply.status, 202, "{}", reply.body);
    app.settle().await.expect("settles");
}

#[tokio::test]
async fn parked_deployments_are_failed_on_the_servers_schedule() {
    let mut app = app_with(AppOptions {
        store: StoreSetup::Memory,
        watchdog_every: Some(Duration::from_millis(20)),
        checks_timeout_secs: Some(0),
        ..AppOptions::default()
    })
    .await;
    set_up(&app).await;
    let sha = world::sha(world::MAIN_SHA).expect("valid");
    app.fakes
        .github
        .require_checks(&app.repository, &sha, &[("ci/tests", "pending")]);
    push_default_branch(&app).await;
    // GitHub refused the deployment (checks pending): it was parked, not created there.
    assert!(app.fakes.github.deployments(&app.repository).is_empty());

    // Two more runs: at least one of them started after the deployment was parked (an
    // earlier one may already have failed it).
    let expiry = app.watchdog().expect("the schedule runs");
    let runs = expiry.runs();
    tokio::time::timeout(Duration::from_secs(30), expiry.wait_for_runs(runs + 2))
        .await
        .expect("the schedule keeps running");
    app.settle().await.expect("settles");
    let failed = app.deployments().await.expect("lists");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].state, DeploymentState::Failure);
    let description = failed[0].description.as_deref().unwrap_or_default();
    assert!(
        description.contains("gave up after waiting") && description.contains("ci/tests"),
        "only ExpireWaiting fails a parked deployment like this: {description:?}"
    );
    assert!(app.failures().is_empty(), "{:#?}", app.failures());
}

#[tokio::test]
async fn requests_signed_with_the_wrong_secret_are_refused_and_change_nothing() {
    let app = app_with(AppOptions::with_store(StoreSetup::Memory)).await;
    let wrong = SigningSecret::new("not-the-configured-secret");
    let now = deploybot_core::ports::Clock::now(&deploybot_core::ports::SystemClock).secs();

    let slash = slack_form_request(
        &wrong,
        now,
        &[
            ("command", "/cimon"),
            ("text", "setup acme/web"),
            ("channel_id", world::CHANNEL),
            ("user_id", GRACE.slack_user),
        ],
    );
    let push = github_events::push(
        world::REPOSITORY,
        world::DEFAULT_BRANCH,
        world::MAIN_SHA,
        GRACE.github_login,
    );
    let github = github_request(
        &wrong,
        "push",
        "3f1b0c9e-0000-4000-8000-000000000001",
        &push,
    );
    let circleci = circleci_request(
        &wrong,
        &deploybot_testkit::fixtures::fixture_json("circleci/workflow-completed.json")
            .expect("fixture"),
    );
    for (path, request) in [
        ("/slack/command", slash),
        ("/github/webhook", github),
        ("/circleci/webhook", circleci),
    ] {
        let reply = app.post_signed(path, request).await.expect("answers");
        assert_eq!(reply.status, 401, "{path}: {}", reply.body);
    }
    app.settle().await.expect("settles");
    let channel = deploybot_core::SlackChannelId::parse(world::CHANNEL).expect("id");
    assert_eq!(
        app.store.project_by_channel(&channel).await.expect("reads"),
        None
    );
    assert!(app.deployments().await.expect("lists").is_empty());
    assert!(app.fakes.slack.calls().is_empty());
    assert!(app.fakes.github.calls().is_empty());
    assert!(app.fakes.ci.calls().is_empty());
}

#[tokio::test]
async fn a_redelivered_github_event_has_one_effect() {
    let app = app_with(AppOptions::default()).await;
    set_up(&app).await;
    let push = github_events::push(
        world::REPOSITORY,
        world::DEFAULT_BRANCH,
        world::MAIN_SHA,
        GRACE.github_login,
    );
    let delivery = "5e1a2b3c-0000-4000-8000-0000000000aa";
    let mut answers = Vec::new();
    for _ in 0..2 {
        let request = github_request(&app.secrets.github(), "push", delivery, &push);
        let reply = app
            .post_signed("/github/webhook", request)
            .await
            .expect("answers");
        app.settle().await.expect("settles");
        answers.push(reply);
    }
    assert_eq!(answers[0].status, 202, "{}", answers[0].body);
    assert_eq!(answers[1].status, 200, "{}", answers[1].body);
    assert!(
        answers[1].body.contains("already handled"),
        "{}",
        answers[1].body
    );
    assert_eq!(app.deployments().await.expect("lists").len(), 1);
    assert_eq!(app.fakes.github.deployments(&app.repository).len(), 1);
}

/// CircleCI refuses the pipeline for an undeclared parameter: through the real adapter the
/// deployment's reason says what CircleCI said and how to fix it.
#[tokio::test]
async fn a_pipeline_circleci_refuses_says_how_to_fix_it() {
    let app = app_with(AppOptions::with_store(StoreSetup::Memory)).await;
    set_up(&app).await;
    push_default_branch(&app).await;
    app.fakes
        .ci
        .fail_next_with(1, CircleCiFailure::parameter_not_declared("environment"));
    assert_eq!(
        app.announce_deployments().await.expect("announced").len(),
        1
    );
    app.settle().await.expect("settles");

    let deployments = app.deployments().await.expect("lists");
    assert_eq!(deployments.len(), 1);
    assert_eq!(deployments[0].state, DeploymentState::Error);
    let why = deployments[0].description.as_deref().unwrap_or_default();
    assert!(
        why.contains("Unexpected argument(s): environment")
            && why.contains("must be declared under `parameters:` in .circleci/config.yml"),
        "{why}"
    );
    assert!(app.fakes.ci.pipelines().is_empty());
}

#[tokio::test]
async fn the_server_answers_health_checks_and_stops_gracefully() {
    let app = app_with(AppOptions::with_store(StoreSetup::Memory)).await;
    let url = format!("{}/healthz", app.base_url());
    let answer = reqwest::get(&url).await.expect("the server answers");
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(answer.text().await.expect("body"), "ok\n");
    app.shutdown().await.expect("stops cleanly");
    assert!(
        reqwest::get(&url).await.is_err(),
        "nothing listens after shutdown"
    );
}

/// `serve` with credentials (no `--fake-services`): the configured secrets, token, App key
/// (pasted on one line with `\n` escapes) and API URLs reach the real adapters. The URLs point
/// at fakes that accept only those credentials.
#[tokio::test]
async fn with_credentials_the_configured_services_and_secrets_are_used() {
    use deploybot_local::config;
    use deploybot_local::harness::{GitHubSide, Sender};
    use deploybot_local::wiring::{self, DynamoSettings, FakeServices};
    use deploybot_testkit::fakes::github::{FAKE_APP_ID, TEST_ONLY_APP_PRIVATE_KEY_PEM};
    use std::collections::HashMap;

    let services = FakeServices::start().await.expect("the fakes start");
    services.slack.require_token("xoxb-configured");
    services.ci.require_token("circle-configured");
    let one_line_key = TEST_ONLY_APP_PRIVATE_KEY_PEM.trim().replace('\n', "\\n");
    let vars: HashMap<&str, String> = [
        ("SLACK_SIGNING_SECRET", "slack-configured".to_owned()),
        ("SLACK_BOT_TOKEN", "xoxb-configured".to_owned()),
        ("GITHUB_WEBHOOK_SECRET", "github-configured".to_owned()),
        ("GITHUB_APP_ID", FAKE_APP_ID.to_owned()),
        ("GITHUB_APP_PRIVATE_KEY", one_line_key),
        ("CIRCLECI_TOKEN", "circle-configured".to_owned()),
        ("CIRCLECI_WEBHOOK_SECRET", "circleci-configured".to_owned()),
        ("SLACK_API_URL", services.slack_url().to_owned()),
        ("GITHUB_API_URL", services.github_url().to_owned()),
        ("CIRCLECI_API_URL", services.circleci_url().to_owned()),
        ("DEPLOYBOT_LISTEN", "127.0.0.1:0".to_owned()),
        ("DEPLOYBOT_STORE", "memory".to_owned()),
    ]
    .into_iter()
    .collect();
    let env = |name: &str| vars.get(name).cloned();
    let config = config::from_env(env, false).expect("complete configuration");
    let dynamo = DynamoSettings::from_env(env, false).expect("unused");
    let store = wiring::open_store(&config.store, &dynamo)
        .await
        .expect("opens");
    let wired = wiring::wire(&config, store, env).await.expect("wires");
    assert!(wired.fakes.is_none() && wired.secrets.is_none());
    let server = wiring::start_server(config.listen, &wired.functions)
        .await
        .expect("listens");
    let sender = Sender::new(&server.base_url()).expect("client");
    let settle = || async {
        tokio::time::timeout(Duration::from_secs(30), wired.invoker.wait_idle())
            .await
            .expect("settles");
    };

    let now = deploybot_core::ports::Clock::now(&deploybot_core::ports::SystemClock).secs();
    let response_url = services.slack.response_url("cmd-U0GRACE-1");
    let setup = slack_form_request(
        &SigningSecret::new("slack-configured"),
        now,
        &[
            ("command", "/cimon"),
            ("text", "setup acme/web"),
            ("channel_id", world::CHANNEL),
            ("user_id", GRACE.slack_user),
            ("response_url", &response_url),
        ],
    );
    let reply = sender.post("/slack/command", setup).await.expect("answers");
    assert_eq!(reply.status, 200, "{}", reply.body);
    settle().await;
    assert_eq!(
        services.slack.responses().len(),
        2,
        "the repository was checked on GitHub, the channel told and the claim offer arrived"
    );
    let jwts = services.github.accepted_app_jwts();
    assert!(
        !jwts.is_empty() && jwts.iter().all(|j| j.iss == FAKE_APP_ID),
        "the App authenticated with the configured id and key: {jwts:?}"
    );

    let repository = deploybot_core::Repository::parse(world::REPOSITORY).expect("valid");
    let github = GitHubSide::new(
        services.github.clone(),
        repository.clone(),
        sender.clone(),
        SigningSecret::new("github-configured"),
    );
    let push = github_events::push(
        world::REPOSITORY,
        world::DEFAULT_BRANCH,
        world::MAIN_SHA,
        GRACE.github_login,
    );
    let reply = github.deliver("push", &push).await.expect("answers");
    assert_eq!(reply.status, 202, "{}", reply.body);
    settle().await;
    let announced = github.announce_new().await.expect("announces");
    assert_eq!(announced.len(), 1);
    assert_eq!(
        announced[0].reply.status, 202,
        "{}",
        announced[0].reply.body
    );
    settle().await;
    let pipelines = services.ci.pipelines();
    assert_eq!(pipelines.len(), 1, "CircleCI took the configured token");
    let url = format!("{}/circleci/webhook", server.base_url());
    let status = services
        .ci
        .complete(
            &pipelines[0].id,
            "success",
            &url,
            &SigningSecret::new("circleci-configured"),
        )
        .await
        .expect("delivers");
    assert_eq!(status, 202);
    settle().await;
    let messages = services
        .slack
        .messages(&deploybot_core::SlackChannelId::parse(world::CHANNEL).expect("id"));
    assert_eq!(messages.len(), 1, "posted with the configured bot token");
    let latest = messages[0].latest().expect("a version");
    assert!(latest.text.contains("preview succeeded"), "{}", latest.text);
    assert!(wired.invoker.failures().is_empty());
    server.shutdown().await.expect("stops");
}
