//! The whole workflow end to end, through the local server over real HTTP on 127.0.0.1 with
//! the fakes of Slack, GitHub and CircleCI behind the real adapters: the demo's scenario
//! (`deploybot_local::demo::run_scenario`, the code `deploybot-local demo` runs, so the two
//! cannot drift), once on the embedded store and once on the DynamoDB-compatible server
//! `scripts/test` starts. Without that server the DynamoDB test FAILS; it never skips.

use deploybot_core::DeploymentState;
use deploybot_local::demo::{ScenarioReport, run_scenario};
use deploybot_local::harness::{AppOptions, LocalApp, StoreSetup, try_spawn_app};
use deploybot_local::wiring::{DynamoSettings, random_hex};

/// The titles of the scenario's steps, in order: what the demo promises to show.
const STEPS: [&str; 25] = [
    "Grace binds #web to acme/web and claims her GitHub login",
    "Grace sets the base domain for environment URLs",
    "Ada says hello and claims her GitHub login",
    "Ada opens pull request #42: a pr42 environment, its pipeline, a PR comment",
    "Grace merges to main: preview",
    "Ada pushes the release branch: test",
    "Grace tries to put main on staging: refused, main never passed test",
    "Ada promotes the tested commit: deploy <sha> to staging",
    "Ada tags v1.4.0: production",
    "Linus pushes a hotfix to main; its pipeline fails",
    "Grace presses Retry; this time the pipeline passes",
    "Pull request #42 is merged and closed: pr42 goes inactive",
    "Ada asks what runs where: /cimon list",
    "Three pushes to main in a row: one deploys at a time, the newest goes next",
    "Grace locks preview to test a migration; a push waits and deploys on unlock",
    "CircleCI's completion webhook is lost; the watchdog finds out and moves on",
    "A bad release is rolled back: a preview, the rollback, a lock, the bad commit kept out (preview, then production)",
    "Behind the scenes: each function holds only what its profile grants",
    "The team writes .github/deploybot.yml: develop deploys qa",
    "Linus freezes preview for the release party; pushes wait until unfreeze",
    "preview moves to GitHub Actions, production to CircleCI's GitHub App; a run is cancelled from Slack, then re-run",
    "Production needs an approval: Ada tags v1.6.0, Grace approves, it goes out by itself",
    "Notifications: production mirrored in #prod-deploys, a quiet pull request, a failure's direct message, the Home tab",
    "Ada opens the board: every environment at a glance, signed in with GitHub",
    "Looking back",
];

async fn run(store: StoreSetup) -> (LocalApp, ScenarioReport) {
    let app = try_spawn_app(AppOptions::for_demo(store))
        .await
        .expect("the local server and the fakes start");
    let report = run_scenario(&app, false).await;
    assert!(
        report.passed(),
        "the scenario failed: {:?}\n\n{}",
        report.failure,
        report.transcript
    );
    (app, report)
}

/// What must hold after any store: every step ran and its facts are in the fakes and store.
async fn assert_outcome(app: &LocalApp, report: &ScenarioReport) {
    let titles: Vec<&str> = report.steps.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, STEPS);
    assert!(report.steps.iter().all(|s| !s.checks.is_empty()));
    assert!(report.checks() > 100, "{} checks", report.checks());

    let deployments = app.deployments().await.expect("lists deployments");
    let states: Vec<(String, DeploymentState)> = deployments
        .iter()
        .map(|d| (d.environment.to_string(), d.state))
        .collect();
    let pairs: Vec<(&str, DeploymentState)> =
        states.iter().map(|(e, s)| (e.as_str(), *s)).collect();
    assert_eq!(
        pairs,
        [
            // The notifications' chapter: pr44 (kept out of #web), the failed release, the
            // push that brought `notify:`.
            ("pr44", DeploymentState::Success),
            ("production", DeploymentState::Failure),
            ("preview", DeploymentState::Success),
            // The approvals' chapter: the release waited for Grace's approval, then deployed;
            // the push that brought `approvals:` deployed preview (on CircleCI again).
            ("production", DeploymentState::Success),
            ("preview", DeploymentState::Inactive),
            // The CI backends' chapter: a tag through CircleCI's /pipeline/run; a push on
            // GitHub Actions cancelled from Slack, then re-run on GitHub (it succeeded); the push
            // on Actions that brought the file.
            ("production", DeploymentState::Inactive),
            ("preview", DeploymentState::Inactive),
            ("preview", DeploymentState::Inactive),
            // The freeze's chapter: the newest push deployed once preview was unfrozen
            // (inactive since); the push before it was superseded while it waited.
            ("preview", DeploymentState::Inactive),
            ("preview", DeploymentState::Superseded),
            // The workflow file's chapter: the push that brought a broken version of the file
            // still deployed preview (inactive once the next one succeeded); develop deployed
            // qa; the push that added the file.
            ("preview", DeploymentState::Inactive),
            ("qa", DeploymentState::Success),
            ("preview", DeploymentState::Inactive),
            // The rollback's chapter, production: the fix v1.5.1 (inactive once later releases
            // succeeded), v1.5.0 tagged again and refused, the rollback to v1.4.0 (inactive
            // once the fix succeeded), the bad release rolled away from.
            ("production", DeploymentState::Inactive),
            ("production", DeploymentState::Skipped),
            ("production", DeploymentState::Inactive),
            ("production", DeploymentState::Inactive),
            // Preview: the fix, the bad commit's push refused, the rollback.
            ("preview", DeploymentState::Inactive),
            ("preview", DeploymentState::Skipped),
            ("preview", DeploymentState::Inactive),
            // The lanes' chapters: each success became inactive when the next one succeeded;
            // the middle push of three never ran.
            ("preview", DeploymentState::Inactive),
            ("preview", DeploymentState::Inactive),
            ("preview", DeploymentState::Inactive),
            ("preview", DeploymentState::Superseded),
            ("preview", DeploymentState::Inactive),
            // The retried hotfix, then the failure it retried.
            ("preview", DeploymentState::Inactive),
            ("preview", DeploymentState::Failure),
            ("production", DeploymentState::Inactive),
            ("staging", DeploymentState::Success),
            ("test", DeploymentState::Success),
            ("preview", DeploymentState::Inactive),
            ("pr42", DeploymentState::Inactive),
        ],
        "newest first"
    );
    assert_eq!(
        app.fakes.ci.pipelines().len(),
        26,
        "the superseded pushes and the refused ones never ran; two preview deployments ran on GitHub Actions"
    );
    assert_eq!(app.fakes.actions.runs().len(), 2, "GitHub Actions ran two");
    assert!(app.failures().is_empty(), "{:#?}", app.failures());
    assert_notifications(app, &deployments);
    // The transcript a person reads names what happened.
    for expected in [
        "Grace in #web: /cimon setup acme/web",
        "Deployment to pr42 succeeded",
        "[Deploy to staging]",
        "[Retry]",
        "Deployment to production succeeded",
        "[Roll back]",
        "You can't approve this deployment: you asked for it.",
        "Waiting for approval — release 0/1",
        "not deployed: `e5e5e5e` was rolled back from preview",
        "What the rollback removes (2 commits",
        "not deployed: `b2c3d4e` was rolled back from production",
        "Your pull request #812",
        "GitHub API   ← POST /repos/acme/web/deployments",
        "CircleCI API ← POST /project/gh/acme/web/pipeline",
        "GitHub API   ← POST /repos/acme/web/actions/workflows/deploy.yml/dispatches",
        "GitHub API   ← POST /repos/acme/web/actions/runs/30433643/cancel",
        "/pipeline/run",
        "acme/web → production failed: `v1.7.0`",
        "[Retry] [Roll back] [Lock]",
        "@subteam^S0ONCALL",
        "The demo worked",
    ] {
        assert!(
            report.transcript.contains(expected),
            "the transcript lacks {expected:?}:\n{}",
            report.transcript
        );
    }
}

/// The notifications' chapter as the store and the fakes keep it: the failed release's
/// mirror, direct message and mention stored with it (channel and ts each, read back from
/// this store), pr44 without a message in #web, Ada's Home tab published.
fn assert_notifications(app: &LocalApp, deployments: &[deploybot_core::Deployment]) {
    use deploybot_core::notify::NoticeKind;
    use deploybot_core::{Environment, SlackChannelId, SlackUserId};
    let release = deployments
        .iter()
        .find(|d| d.environment == Environment::Production && d.state == DeploymentState::Failure)
        .expect("the failed release");
    let mirror = release
        .notices
        .iter()
        .find(|n| matches!(&n.kind, NoticeKind::Mirror { target } if target.as_str() == "#prod-deploys"))
        .expect("the mirror is stored");
    let prod = SlackChannelId::parse("C0PRODDEPLOYS").expect("id");
    assert_eq!(mirror.channel.as_ref(), Some(&prod));
    let mirrored = app
        .fakes
        .slack
        .message(&prod, mirror.ts.as_deref().expect("its ts"))
        .expect("the stored pair names the mirror");
    assert!(mirrored.len() >= 2, "edited in place: {mirrored:?}");
    let ada = SlackUserId::parse("U0ADA").expect("id");
    assert!(release.notices.iter().any(
        |n| matches!(&n.kind, NoticeKind::Direct { user, .. } if *user == ada) && n.ts.is_some()
    ));
    assert!(
        release
            .notices
            .iter()
            .any(|n| n.kind == NoticeKind::Mention && n.ts.is_some())
    );
    // Her pull requests going live (the rollback's chapter), then the failed release.
    assert_eq!(app.fakes.slack.direct_messages(&ada).len(), 2);
    let pr44 = deployments
        .iter()
        .find(|d| d.environment.to_string() == "pr44")
        .expect("pr44");
    assert_eq!(pr44.slack_ts, None, "kept out of #web");
    let home = app.fakes.slack.homes(&ada);
    assert!(
        home.last()
            .is_some_and(|v| v.to_string().contains("v1.7.0")),
        "{home:?}"
    );
}

#[tokio::test]
async fn the_whole_workflow_runs_on_the_embedded_store() {
    let metrics = deploybot_testkit::metrics::captured().expect("the test's metric sink");
    let (app, report) = run(StoreSetup::TempFile).await;
    assert!(app.store_description.starts_with("redb file"));
    assert_outcome(&app, &report).await;
    assert_metrics(&metrics);
    app.shutdown().await.expect("stops");
}

/// The in-memory store (what `deploybot-local serve` uses with `DEPLOYBOT_STORE=memory`): the
/// third of the three stores the whole workflow runs on.
#[tokio::test]
async fn the_whole_workflow_runs_on_the_memory_store() {
    let (app, report) = run(StoreSetup::Memory).await;
    assert!(
        app.store_description.contains("memory"),
        "{}",
        app.store_description
    );
    assert_outcome(&app, &report).await;
    app.shutdown().await.expect("stops");
}

/// The metric lines the scenario reported (docs/operations.md, "Metrics"): deployments by
/// environment and outcome, the lanes' queue depth (three pushes in a row queue), the
/// watchdog's reconciliation of the lost completion webhook.
fn assert_metrics(metrics: &deploybot_testkit::metrics::CapturedMetrics) {
    let deployments = |environment: &str, outcome: &str| {
        metrics
            .lines("Deployments", "Environment", environment)
            .into_iter()
            .filter(|l| l["Outcome"] == outcome)
            .count()
    };
    assert!(deployments("production", "success") >= 1);
    assert!(deployments("staging", "success") >= 1);
    assert!(deployments("preview", "failure") >= 1);
    // The notifications' chapter's release fails.
    assert_eq!(deployments("production", "failure"), 1);
    let line = metrics
        .lines("Deployments", "Environment", "production")
        .pop()
        .expect("a production line");
    assert_eq!(
        line["_aws"]["CloudWatchMetrics"][0],
        serde_json::json!({
            "Namespace": "deploybot",
            "Dimensions": [["Environment", "Outcome"], []],
            "Metrics": [{"Name": "Deployments", "Unit": "Count"}],
        })
    );
    let deepest = metrics
        .lines("LaneQueueDepth", "Environment", "preview")
        .iter()
        .filter_map(|l| l["LaneQueueDepth"].as_u64())
        .max();
    assert!(
        deepest.is_some_and(|d| d >= 2),
        "deepest preview queue: {deepest:?}"
    );
    assert!(
        !metrics
            .lines("WatchdogReconciliations", "Action", "reconcile")
            .is_empty(),
        "the watchdog's reconciliation is counted"
    );
}

#[tokio::test]
async fn the_whole_workflow_runs_on_dynamodb() {
    let endpoint = match std::env::var("DEPLOYBOT_DYNAMODB_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "DEPLOYBOT_DYNAMODB_URL is not set: this test needs the DynamoDB-compatible server \
             that `scripts/test` starts (moto_server on 127.0.0.1). Run it through \
             `scripts/test`, or `scripts/moto.sh cargo test -p deploybot-e2e --test e2e \
             local_workflow::`."
        ),
    };
    // Tables of its own, so it runs beside every other test on the one server.
    let prefix = format!("e2e-{}", random_hex(6));
    let (app, report) = run(StoreSetup::DynamoDb(DynamoSettings::emulator(
        &endpoint, &prefix,
    )))
    .await;
    assert!(
        app.store_description
            .contains(&format!("{prefix}-deployment")),
        "{}",
        app.store_description
    );
    assert_outcome(&app, &report).await;
    app.shutdown().await.expect("stops");
}
