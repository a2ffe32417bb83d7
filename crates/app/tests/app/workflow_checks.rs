//! Parking on red or pending checks and resuming, outcomes other than success, CircleCI's
//! webhooks (signed, legacy, refused), statuses written by someone else, and a revoked
//! workspace.

use crate::workflow_support::*;
use axum::http::{Request, StatusCode};
use deploybot_core::invoke::DeploymentCreateRequest;
use deploybot_core::ports::{DeploymentStore, ProjectStore};
use deploybot_core::signature::SigningSecret;
use deploybot_core::{DeploymentState, Environment, SlackTeamId};
use deploybot_testkit::fakes::circleci::CircleCiFailure;
use deploybot_testkit::signing::circleci_request;

const PR: u64 = 42;
const ENV: Environment = Environment::PullRequest(PR);

/// Opens the fixture pull request on a commit whose `ci/test` status is still pending.
async fn parked_world() -> World {
    let world = World::new().await;
    world
        .github
        .set_branch(&repo(), "feature/login", &pr_sha(), Some(AUTHOR));
    world
        .github
        .require_checks(&repo(), &pr_sha(), &[("ci/test", "pending")]);
    let (status, body) = world
        .github_event(
            "pull_request",
            &pr_event("opened", PR, "feature/login", &pr_sha()),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    world
}

#[tokio::test]
async fn a_deployment_waits_for_checks_and_a_green_status_resumes_it_once() {
    let world = parked_world().await;
    let parked = world.only_deployment(ENV).await;
    assert_eq!(parked.state, DeploymentState::WaitingForChecks);
    assert_eq!(parked.github_deployment_id, None);
    assert!(
        parked.waiting_for.iter().any(|c| c.contains("ci/test")),
        "{:?}",
        parked.waiting_for
    );
    assert!(world.github.deployments(&repo()).is_empty());
    let messages = world.messages();
    assert_eq!(messages.len(), 1);
    let text = message_text(messages[0].latest().expect("a version"));
    assert!(
        text.contains("waiting for checks") && text.contains("ci/test"),
        "{text}"
    );

    // A status on another commit, or a pending one, changes nothing.
    let (status, _) = world
        .github_event("status", &status_event(&sha('9'), "ci/test", "success"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = world
        .github_event("status", &status_event(&pr_sha(), "ci/test", "pending"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        world.only_deployment(ENV).await.state,
        DeploymentState::WaitingForChecks
    );

    // Checks turn green; two status deliveries arrive together: one GitHub deployment.
    world
        .github
        .set_status(&repo(), &pr_sha(), "ci/test", "success");
    let green = status_event(&pr_sha(), "ci/test", "success");
    let mut lint = status_event(&pr_sha(), "lint", "success");
    lint["id"] = 22164720852_u64.into();
    let (first, second) = (world.delivery_id(), world.delivery_id());
    let (a, b) = tokio::join!(
        world.github_delivery("status", &first, &green),
        world.github_delivery("status", &second, &lint),
    );
    world.settle().await;
    assert_eq!(
        (a.0, b.0),
        (StatusCode::ACCEPTED, StatusCode::ACCEPTED),
        "{a:?} {b:?}"
    );
    assert_eq!(world.github.deployments(&repo()).len(), 1);
    let resumed = world.only_deployment(ENV).await;
    assert_eq!(resumed.state, DeploymentState::Created);
    assert!(resumed.waiting_for.is_empty());
    assert!(resumed.github_deployment_id.is_some());
    // The message no longer says it waits (the resumption is what changed on screen).
    let text = message_text(world.messages()[0].latest().expect("a version"));
    assert!(!text.contains("waiting for checks"), "{text}");

    // And it carries on as usual, still in its one Slack message.
    world.announce_deployments().await;
    assert_eq!(
        world.only_deployment(ENV).await.state,
        DeploymentState::Queued
    );
    assert_eq!(world.messages().len(), 1);
    world.assert_no_failures();
}

#[tokio::test]
async fn a_completed_check_suite_resumes_a_parked_deployment() {
    let world = World::new().await;
    world
        .github
        .set_branch(&repo(), "feature/login", &pr_sha(), None);
    world
        .github
        .add_check_suite(&repo(), &pr_sha(), "CircleCI Checks", "in_progress", None);
    world
        .github
        .require_checks(&repo(), &pr_sha(), &[("CircleCI Checks", "pending")]);
    world
        .github_event(
            "pull_request",
            &pr_event("opened", PR, "feature/login", &pr_sha()),
        )
        .await;
    assert_eq!(
        world.only_deployment(ENV).await.state,
        DeploymentState::WaitingForChecks
    );

    // A suite that is only requested changes nothing.
    let mut requested = check_suite_event(&pr_sha(), "success");
    requested["action"] = "requested".into();
    let (status, _) = world.github_event("check_suite", &requested).await;
    assert_eq!(status, StatusCode::OK);

    world.github.set_checks_green(&repo(), &pr_sha());
    let (status, body) = world
        .github_event("check_suite", &check_suite_event(&pr_sha(), "success"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(world.github.deployments(&repo()).len(), 1);
    assert_eq!(
        world.only_deployment(ENV).await.state,
        DeploymentState::Created
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn red_checks_fail_a_parked_deployment_and_say_so() {
    let world = parked_world().await;
    world
        .github
        .set_status(&repo(), &pr_sha(), "ci/test", "failure");
    let (status, body) = world
        .github_event("status", &status_event(&pr_sha(), "ci/test", "failure"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let failed = world.only_deployment(ENV).await;
    assert_eq!(failed.state, DeploymentState::Failure);
    let why = failed.description.clone().expect("a reason");
    assert!(why.contains("ci/test") && why.contains("failed"), "{why}");
    assert!(world.github.deployments(&repo()).is_empty());
    let text = message_text(world.messages()[0].latest().expect("a version"));
    assert!(
        text.contains("failed") && text.contains("ci/test"),
        "{text}"
    );
    assert!(text.contains("Retry"), "{text}");
    world.assert_no_failures();
}

#[tokio::test]
async fn a_deployment_waiting_too_long_is_failed() {
    let world = parked_world().await;
    let none = world.call(&DeploymentCreateRequest::ExpireWaiting).await;
    assert_eq!(none.refused, None);
    assert_eq!(
        world.only_deployment(ENV).await.state,
        DeploymentState::WaitingForChecks
    );

    world
        .clock
        .advance_secs(world.state.config.checks_timeout_secs + 1);
    world.call(&DeploymentCreateRequest::ExpireWaiting).await;
    let expired = world.only_deployment(ENV).await;
    assert_eq!(expired.state, DeploymentState::Failure);
    let why = expired.description.expect("a reason");
    assert!(why.contains("gave up after waiting 1 hour"), "{why}");
    let text = message_text(world.messages()[0].latest().expect("a version"));
    assert!(text.contains("gave up"), "{text}");
    world.assert_no_failures();
}

async fn queued_world() -> (World, String) {
    let world = World::new().await;
    world
        .github
        .set_branch(&repo(), "feature/login", &pr_sha(), None);
    world
        .github_event(
            "pull_request",
            &pr_event("opened", PR, "feature/login", &pr_sha()),
        )
        .await;
    world.announce_deployments().await;
    let d = world.only_deployment(ENV).await;
    assert_eq!(d.state, DeploymentState::Queued);
    (world, d.pipeline_id.expect("pipeline"))
}

#[tokio::test]
async fn failed_and_errored_workflows_fail_the_deployment() {
    for (outcome, want, github) in [
        ("failed", DeploymentState::Failure, "failure"),
        ("canceled", DeploymentState::Failure, "failure"),
        ("error", DeploymentState::Error, "error"),
        ("unauthorized", DeploymentState::Error, "error"),
    ] {
        let (world, pipeline) = queued_world().await;
        let (status, body) = world.complete_pipeline(&pipeline, outcome).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{outcome}: {body}");
        let d = world.only_deployment(ENV).await;
        assert_eq!(d.state, want, "{outcome}");
        assert_eq!(
            world.github_states(&d).last().map(String::as_str),
            Some(github),
            "{outcome}"
        );
        let text = message_text(world.messages()[0].latest().expect("a version"));
        assert!(text.contains("Retry"), "{outcome}: {text}");
        assert!(
            world.github.comments(&repo(), PR).is_empty(),
            "no comment unless it succeeded"
        );
        world.assert_no_failures();
    }
}

#[tokio::test]
async fn a_pipeline_circleci_refuses_to_start_is_an_error_a_person_can_act_on() {
    let world = World::new().await;
    world
        .github
        .set_branch(&repo(), "feature/login", &pr_sha(), None);
    world
        .ci
        .fail_next_with(1, CircleCiFailure::parameter_not_declared("environment"));
    world
        .github_event(
            "pull_request",
            &pr_event("opened", PR, "feature/login", &pr_sha()),
        )
        .await;
    world.announce_deployments().await;
    let d = world.only_deployment(ENV).await;
    assert_eq!(d.state, DeploymentState::Error);
    let why = d.description.clone().expect("a reason");
    // CircleCI's own words, as the fake answers them directly; the adapter adds how to fix it
    // (crates/integrations/tests/circleci.rs, and end to end crates/local/tests/local_app.rs).
    assert!(
        why.contains("CircleCI did not start the pipeline")
            && why.contains("Unexpected argument(s): environment"),
        "{why}"
    );
    let statuses = world
        .github
        .statuses(&repo(), d.github_deployment_id.expect("github id"));
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].state, "error");
    assert!(
        statuses[0]
            .description
            .as_deref()
            .unwrap_or("")
            .contains("environment")
    );
    let text = message_text(world.messages()[0].latest().expect("a version"));
    assert!(
        text.contains("Unexpected argument(s): environment"),
        "{text}"
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn circleci_webhooks_that_are_not_ours_or_not_signed() {
    let (world, pipeline) = queued_world().await;
    let genuine = world
        .ci
        .completion_payload(&pipeline, "success", &SigningSecret::new(CIRCLECI_SECRET))
        .expect("known pipeline");

    let wrong_secret = world
        .ci
        .completion_payload(&pipeline, "success", &SigningSecret::new("not-the-secret"))
        .expect("known pipeline");
    let mut tampered = genuine.clone();
    tampered.body = String::from_utf8(tampered.body)
        .expect("utf8")
        .replace("\"success\"", "\"failed\"")
        .into_bytes();
    let unsigned = genuine.clone().with_header("circleci-signature", "v2=abc");
    for request in [wrong_secret, tampered, unsigned] {
        let (status, _) = world.send_signed("/circleci/webhook", request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let bare = Request::post("/circleci/webhook")
        .body(axum::body::Body::from(genuine.body.clone()))
        .expect("request");
    assert_eq!(world.send(bare).await.0, StatusCode::UNAUTHORIZED);
    world.settle().await;
    assert_eq!(
        world.only_deployment(ENV).await.state,
        DeploymentState::Queued
    );

    // job-completed is acknowledged and ignored; so is a pipeline deploybot did not start.
    let job =
        deploybot_testkit::fixtures::fixture_json("circleci/job-completed.json").expect("fixture");
    let (status, body) = world
        .send_signed(
            "/circleci/webhook",
            circleci_request(&SigningSecret::new(CIRCLECI_SECRET), &job),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stranger = deploybot_testkit::fixtures::fixture_json("circleci/workflow-completed.json")
        .expect("fixture");
    let (status, body) = world
        .send_signed(
            "/circleci/webhook",
            circleci_request(&SigningSecret::new(CIRCLECI_SECRET), &stranger),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("not started by deploybot"), "{body}");
    assert_eq!(
        world.only_deployment(ENV).await.state,
        DeploymentState::Queued
    );

    // The genuine one still works.
    let (status, body) = world.send_signed("/circleci/webhook", genuine).await;
    world.settle().await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        world.only_deployment(ENV).await.state,
        DeploymentState::Success
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn the_legacy_notify_payload_needs_the_shared_token() {
    let (world, pipeline) = queued_world().await;
    let body = world
        .ci
        .legacy_notify_payload(&pipeline, "failed")
        .expect("known pipeline")
        .to_string();
    let post = |query: &str| {
        Request::post(format!("/circleci/webhook{query}"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.clone()))
            .expect("request")
    };
    assert_eq!(
        world.send(post("?token=guess")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(world.send(post("")).await.0, StatusCode::UNAUTHORIZED);
    world.settle().await;
    assert_eq!(
        world.only_deployment(ENV).await.state,
        DeploymentState::Queued
    );

    let (status, answer) = world.send(post(&format!("?token={NOTIFY_TOKEN}"))).await;
    world.settle().await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let d = world.only_deployment(ENV).await;
    assert_eq!(d.state, DeploymentState::Failure);
    assert!(
        d.build_url
            .as_deref()
            .unwrap_or("")
            .contains("circleci.com"),
        "{d:?}"
    );
    // The same job reported again has no second effect.
    let (status, _) = world.send(post(&format!("?token={NOTIFY_TOKEN}"))).await;
    assert_eq!(status, StatusCode::OK);
    world.assert_no_failures();
}

#[tokio::test]
async fn statuses_written_by_someone_else_are_followed() {
    let (world, _pipeline) = queued_world().await;
    let d = world.only_deployment(ENV).await;
    let on_github = world.github_deployment(&d);
    let written_by_us = world.github_states(&d).len();
    let (status, body) = world
        .github_event(
            "deployment_status",
            &deployment_status_event(&on_github, "in_progress"),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let d = world.only_deployment(ENV).await;
    assert_eq!(d.state, DeploymentState::InProgress);
    assert_eq!(
        d.build_url.as_deref(),
        Some("https://ci.example.com/rollouts/77")
    );
    assert_eq!(
        world.github_states(&d).len(),
        written_by_us,
        "not written back to GitHub"
    );
    let text = message_text(world.messages()[0].latest().expect("a version"));
    assert!(text.contains("in progress"), "{text}");
    world.assert_no_failures();
}

#[tokio::test]
async fn nothing_is_posted_to_a_revoked_workspace() {
    let world = World::new().await;
    world
        .store
        .set_team_revoked(&SlackTeamId::parse(TEAM).expect("team"), true)
        .await
        .expect("saves");
    world
        .github
        .set_branch(&repo(), "feature/login", &pr_sha(), None);
    world
        .github_event(
            "pull_request",
            &pr_event("opened", PR, "feature/login", &pr_sha()),
        )
        .await;
    assert_eq!(
        world.github.deployments(&repo()).len(),
        1,
        "the workflow goes on"
    );
    assert!(world.messages().is_empty());
    world.assert_no_failures();
}

#[tokio::test]
async fn a_deployment_github_refuses_is_an_error_with_github_s_reason() {
    let world = World::new().await;
    world
        .github
        .set_branch(&repo(), "feature/login", &pr_sha(), None);
    world.github.answer_merge_202_next();
    let (status, body) = world
        .github_event(
            "pull_request",
            &pr_event("opened", PR, "feature/login", &pr_sha()),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let d = world.only_deployment(ENV).await;
    assert_eq!(d.state, DeploymentState::Error);
    assert_eq!(d.github_deployment_id, None);
    let why = d.description.expect("a reason");
    assert!(
        why.contains("GitHub did not create the deployment"),
        "{why}"
    );
    assert!(why.contains("merged the default branch"), "{why}");
    let text = message_text(world.messages()[0].latest().expect("a version"));
    assert!(text.contains("errored") && text.contains("Retry"), "{text}");
    world.assert_no_failures();
}

#[tokio::test]
async fn a_deleted_deployment_message_is_posted_again() {
    let (world, pipeline) = queued_world().await;
    let d = world.only_deployment(ENV).await;
    let mut gone = d.clone();
    gone.slack_ts = Some("1715677200.999999".into());
    world.store.update_deployment(&gone).await.expect("saves");
    world.complete_pipeline(&pipeline, "success").await;
    let messages = world.messages();
    assert_eq!(messages.len(), 2, "the original plus the new post");
    let d = world.only_deployment(ENV).await;
    let reposted = messages
        .iter()
        .find(|m| Some(&m.ts) == d.slack_ts.as_ref())
        .expect("the record points at the new message");
    let text = message_text(reposted.latest().expect("a version"));
    assert!(text.contains("succeeded"), "{text}");
    world.assert_no_failures();
}

// ---- required_checks, evaluated by deploybot ------------------------------------------------

/// `qa` (pushes to `develop`) requires a status and a check run by name; `preview` (pushes to
/// the default branch) requires nothing.
const REQUIRED_CHECKS: &str = "\
version: 1
environments:
  preview:
    on: { push: [default] }
  qa:
    on: { push: [develop] }
    required_checks: [\"ci/circleci: build\", \"lint\"]
";

fn qa() -> Environment {
    Environment::parse("qa").expect("a name")
}

/// The latest text of the deployment's one message.
async fn qa_message(world: &World, d: &deploybot_core::Deployment) -> String {
    let ts = d.slack_ts.clone().expect("posted");
    let message = world
        .messages()
        .into_iter()
        .find(|m| m.ts == ts)
        .expect("the deployment's message");
    message_text(message.latest().expect("a version"))
}

/// How many times GitHub was asked for a commit's check runs.
fn check_run_reads(world: &World) -> usize {
    world
        .github
        .calls()
        .iter()
        .filter(|c| c.contains("/check-runs"))
        .count()
}

async fn required_checks_world() -> World {
    let world = World::new().await;
    world
        .use_workflow_file(&sha('1'), Some(REQUIRED_CHECKS))
        .await;
    world
}

#[tokio::test]
async fn required_checks_wait_while_missing_or_pending_and_dispatch_once_when_passing() {
    let world = required_checks_world().await;
    let commit = sha('d');
    world
        .github
        .set_branch(&repo(), "develop", &commit, Some(AUTHOR));

    // Nothing reported yet: both missing, the deployment waits, nothing on GitHub.
    let (status, body) = world
        .github_event("push", &push_event("refs/heads/develop", &commit))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let waiting = world.only_deployment(qa()).await;
    assert_eq!(waiting.state, DeploymentState::WaitingForChecks);
    assert_eq!(waiting.waiting_for, vec!["ci/circleci: build", "lint"]);
    assert!(world.github.deployments(&repo()).is_empty());
    let text = qa_message(&world, &waiting).await;
    assert!(text.contains("waiting for checks"), "{text}");
    assert!(
        text.contains("`ci/circleci: build` :white_circle: missing")
            && text.contains("`lint` :white_circle: missing"),
        "{text}"
    );

    // Pending: a pending status, a check run in progress. Still waiting, and it says so.
    world
        .github
        .set_status(&repo(), &commit, "ci/circleci: build", "pending");
    world
        .github
        .add_check_run(&repo(), &commit, "lint", "in_progress", None);
    let (status, _) = world
        .github_event(
            "status",
            &status_event(&commit, "ci/circleci: build", "pending"),
        )
        .await;
    assert!(status.is_success(), "{status}");
    world.settle().await;
    let pending = world.only_deployment(qa()).await;
    assert_eq!(pending.state, DeploymentState::WaitingForChecks);
    let text = qa_message(&world, &pending).await;
    assert!(
        text.contains("`ci/circleci: build` :hourglass: pending")
            && text.contains("`lint` :hourglass: pending"),
        "{text}"
    );
    assert!(world.github.deployments(&repo()).is_empty());

    // One passes, the other is still pending: still waiting.
    world
        .github
        .set_status(&repo(), &commit, "ci/circleci: build", "success");
    world
        .github_event(
            "status",
            &status_event(&commit, "ci/circleci: build", "success"),
        )
        .await;
    world.settle().await;
    let half = world.only_deployment(qa()).await;
    assert_eq!(half.state, DeploymentState::WaitingForChecks);
    assert_eq!(half.waiting_for, vec!["lint"]);
    let text = qa_message(&world, &half).await;
    assert!(
        text.contains("`ci/circleci: build` :white_check_mark: passing")
            && text.contains("`lint` :hourglass: pending"),
        "{text}"
    );

    // Both pass: the check run's completion dispatches it, once (the suite's completion
    // arriving too changes nothing more).
    world
        .github
        .add_check_run(&repo(), &commit, "lint", "completed", Some("success"));
    let (status, body) = world
        .github_event("check_run", &check_run_event(&commit, "lint", "success"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    world
        .github_event("check_suite", &check_suite_event(&commit, "success"))
        .await;
    world
        .github_event(
            "status",
            &status_event(&commit, "ci/circleci: build", "success"),
        )
        .await;
    world.settle().await;
    assert_eq!(world.github.deployments(&repo()).len(), 1);
    let created = world.only_deployment(qa()).await;
    assert_eq!(created.state, DeploymentState::Created);
    assert!(created.github_deployment_id.is_some());
    assert!(created.waiting_for.is_empty());
    let text = qa_message(&world, &created).await;
    assert!(!text.contains("waiting for checks"), "{text}");
    assert!(
        text.contains("`ci/circleci: build` :white_check_mark: passing")
            && text.contains("`lint` :white_check_mark: passing"),
        "{text}"
    );
    world.finish_everything("success").await;
    assert_eq!(
        world.only_deployment(qa()).await.state,
        DeploymentState::Success
    );

    // Another commit whose build fails: failed at once, naming the check, nothing on GitHub.
    let broken = sha('e');
    world
        .github
        .set_branch(&repo(), "develop", &broken, Some(AUTHOR));
    world
        .github
        .set_status(&repo(), &broken, "ci/circleci: build", "failure");
    world
        .github
        .add_check_run(&repo(), &broken, "lint", "in_progress", None);
    let (status, body) = world
        .github_event("push", &push_event("refs/heads/develop", &broken))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let failed = world
        .deployments_in(qa())
        .await
        .into_iter()
        .find(|d| d.sha == broken)
        .expect("the broken commit's deployment");
    assert_eq!(failed.state, DeploymentState::Failure);
    let why = failed.description.clone().expect("a reason");
    assert!(
        why.contains("`ci/circleci: build`") && why.contains("fails"),
        "{why}"
    );
    assert!(!why.contains("lint"), "{why}");
    assert_eq!(world.github.deployments(&repo()).len(), 1);
    let text = qa_message(&world, &failed).await;
    assert!(
        text.contains("`ci/circleci: build` :x: failing")
            && text.contains("`lint` :hourglass: pending"),
        "{text}"
    );
    // The lane is free again.
    assert_eq!(world.lane(qa()).await.running, None);
    world.assert_no_failures();
}

#[tokio::test]
async fn a_deployment_waiting_for_required_checks_gives_up_after_the_timeout() {
    let world = required_checks_world().await;
    let commit = sha('d');
    world
        .github
        .set_branch(&repo(), "develop", &commit, Some(AUTHOR));
    world
        .github
        .set_status(&repo(), &commit, "ci/circleci: build", "success");
    world
        .github_event("push", &push_event("refs/heads/develop", &commit))
        .await;
    assert_eq!(
        world.only_deployment(qa()).await.state,
        DeploymentState::WaitingForChecks
    );
    world
        .clock
        .advance_secs(world.state.config.checks_timeout_secs + 1);
    world.call(&DeploymentCreateRequest::ExpireWaiting).await;
    let expired = world.only_deployment(qa()).await;
    assert_eq!(expired.state, DeploymentState::Failure);
    let why = expired.description.expect("a reason");
    assert!(
        why.contains("gave up after waiting 1 hour for `lint`"),
        "{why}"
    );
    assert!(world.github.deployments(&repo()).is_empty());
    world.assert_no_failures();
}

#[tokio::test]
async fn an_environment_without_required_checks_dispatches_at_once_and_says_so() {
    let world = required_checks_world().await;
    let head = sha('2');
    world
        .github
        .set_branch(&repo(), "main", &head, Some(AUTHOR));
    // Its commit's failing status is none of deploybot's business here.
    world
        .github
        .set_status(&repo(), &head, "ci/circleci: build", "failure");
    let (status, body) = world
        .github_event("push", &push_event("refs/heads/main", &head))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let preview = Environment::parse("preview").expect("a name");
    let created = world.only_deployment(preview).await;
    assert_eq!(created.state, DeploymentState::Created);
    assert_eq!(world.github.deployments(&repo()).len(), 1);
    let text = qa_message(&world, &created).await;
    assert!(text.contains("no required checks"), "{text}");
    // No extra GitHub call: the commit's check runs were never read.
    assert_eq!(check_run_reads(&world), 0);
    world.assert_no_failures();
}
