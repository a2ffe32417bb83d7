//! The local server as the harness runs it (127.0.0.1, the fakes behind the real adapters):
//! what the demo scenario does not show — the `ExpireWaiting` schedule, refused signatures,
//! redelivered webhooks, the health check and shutdown.

use deploybot_core::DeploymentState;
use deploybot_core::signature::SigningSecret;
use deploybot_local::github_events;
use deploybot_local::harness::{AppOptions, LocalApp, StoreSetup, try_spawn_app};
use deploybot_local::world::{self, GRACE};
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

#[tokio::test]
async fn parked_deployments_are_failed_on_the_servers_schedule() {
    let mut app = app_with(AppOptions {
        store: StoreSetup::Memory,
        expire_every: Some(Duration::from_millis(20)),
        checks_timeout_secs: Some(0),
        ..AppOptions::default()
    })
    .await;
    set_up(&app).await;
    let sha = world::sha(world::MAIN_SHA).expect("valid");
    app.fakes
        .github
        .require_checks(&app.repository, &sha, &[("ci/tests", "pending")]);
    let push = github_events::push(
        world::REPOSITORY,
        world::DEFAULT_BRANCH,
        world::MAIN_SHA,
        GRACE.github_login,
    );
    let reply = app.github_event("push", &push).await.expect("delivered");
    assert_eq!(reply.status, 202, "{}", reply.body);
    app.settle().await.expect("settles");
    let parked = app.deployments().await.expect("lists");
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].state, DeploymentState::WaitingForChecks);

    // Two more runs: at least one of them started after the deployment was parked.
    let expiry = app.expiry().expect("the schedule runs");
    let runs = expiry.runs();
    tokio::time::timeout(Duration::from_secs(30), expiry.wait_for_runs(runs + 2))
        .await
        .expect("the schedule keeps running");
    app.settle().await.expect("settles");
    let failed = app.deployments().await.expect("lists");
    assert_eq!(failed[0].state, DeploymentState::Failure);
    assert!(
        failed[0]
            .description
            .as_deref()
            .is_some_and(|d| d.contains("ci/tests")),
        "{:?}",
        failed[0].description
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
