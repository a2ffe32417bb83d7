//! The `deploybot/config` check run on pull requests that change `.github/deploybot.yml`
//! (docs/configuration.md, "The check on pull requests"): a broken file fails with an
//! annotation on its line, a valid one passes with what would change per environment, a
//! removed one passes naming the built-in workflow, a pull request that leaves the file alone
//! gets no check run, and one commit is checked once however often its events arrive.

use crate::workflow_support::*;
use axum::http::StatusCode;
use deploybot_core::invoke::{DeploymentCreateRequest, FunctionName, WorkflowRequest};
use deploybot_core::workflow_file::WORKFLOW_PATH;
use deploybot_testkit::fakes::github::FakeCheckRun;
use serde_json::{Value, json};

const IN_FORCE: &str = "\
version: 1
environments:
  pr:
    name: \"pr{number}\"
    on: pull_request
  preview:
    on: { push: [default] }
  qa:
    on: { push: [develop] }
";

/// `IN_FORCE` with an unknown key on line 8.
const BROKEN: &str = "\
version: 1
environments:
  pr:
    name: \"pr{number}\"
    on: pull_request
  preview:
    on: { push: [default] }
  qa:
    onn: { push: [develop] }
";

/// `IN_FORCE` with `qa` following `release*` and a new `staging`.
const CHANGED: &str = "\
version: 1
environments:
  pr:
    name: \"pr{number}\"
    on: pull_request
  preview:
    on: { push: [default] }
  qa:
    on: { push: [\"release*\"] }
  staging:
    promote_from: qa
";

/// A world whose default branch holds `IN_FORCE`, already read and in force.
async fn world_with_file_in_force() -> World {
    let world = World::new().await;
    world.use_workflow_file(&sha('1'), Some(IN_FORCE)).await;
    let read = DeploymentCreateRequest::Workflow(Box::new(WorkflowRequest {
        repository: repo(),
        at: None,
        event: None,
    }));
    world.call(&read).await;
    let project = world.project().await;
    assert!(
        project.workflow.as_ref().is_some_and(|w| w.file.is_some()),
        "the file is in force: {project:?}"
    );
    world
}

/// The pull request #7 changes the file to `text` (`None`: removes it) at its head.
fn pr_changes_file(world: &World, text: Option<&str>) {
    world
        .github
        .set_file(&repo(), WORKFLOW_PATH, &pr_sha(), text);
}

fn only_check_run(world: &World) -> FakeCheckRun {
    let runs = world.github.check_runs(&repo());
    assert_eq!(runs.len(), 1, "one check run: {runs:#?}");
    let run = runs.into_iter().next().expect("one");
    assert_eq!(run.name, "deploybot/config");
    assert_eq!(run.head_sha, pr_sha());
    assert_eq!(run.status, "completed");
    run
}

#[tokio::test]
async fn a_broken_file_fails_the_check_with_an_annotation_on_its_line() {
    let world = world_with_file_in_force().await;
    pr_changes_file(&world, Some(BROKEN));
    let (status, body) = world
        .github_event("pull_request", &pr_event("opened", 7, "config", &pr_sha()))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let run = only_check_run(&world);
    assert_eq!(run.conclusion.as_deref(), Some("failure"), "{run:#?}");
    assert_eq!(run.annotations.len(), 1, "{run:#?}");
    let annotation = &run.annotations[0];
    assert_eq!(annotation.path, WORKFLOW_PATH);
    assert_eq!((annotation.start_line, annotation.end_line), (9, 9));
    assert_eq!(annotation.annotation_level, "failure");
    assert!(
        annotation.message.contains("`onn`"),
        "{}",
        annotation.message
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn a_valid_changed_file_passes_naming_the_environments_that_change() {
    let world = world_with_file_in_force().await;
    pr_changes_file(&world, Some(CHANGED));
    world
        .github_event(
            "pull_request",
            &pr_event("synchronize", 7, "config", &pr_sha()),
        )
        .await;
    let run = only_check_run(&world);
    assert_eq!(run.conclusion.as_deref(), Some("success"), "{run:#?}");
    assert!(run.annotations.is_empty());
    let summary = run.summary.expect("a summary");
    assert!(summary.contains("**changed** `qa`"), "{summary}");
    assert!(summary.contains("release*"), "{summary}");
    assert!(summary.contains("**added** `staging`"), "{summary}");
    assert!(!summary.contains("`preview`"), "unchanged: {summary}");
    // The file in force is still the default branch's.
    let project = world.project().await;
    let in_force = project.workflow.and_then(|w| w.file).expect("a file");
    assert_eq!(in_force.text, IN_FORCE);
    world.assert_no_failures();
}

#[tokio::test]
async fn a_removed_file_passes_with_the_builtin_workflow() {
    let world = world_with_file_in_force().await;
    pr_changes_file(&world, None);
    world
        .github_event("pull_request", &pr_event("opened", 7, "config", &pr_sha()))
        .await;
    let run = only_check_run(&world);
    assert_eq!(run.conclusion.as_deref(), Some("success"));
    let summary = run.summary.expect("a summary");
    assert!(
        summary.contains("the built-in workflow would be in force"),
        "{summary}"
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn a_pull_request_that_leaves_the_file_alone_gets_no_check_run() {
    let world = world_with_file_in_force().await;
    for action in ["opened", "synchronize", "reopened", "closed", "edited"] {
        let (status, body) = world
            .github_event("pull_request", &pr_event(action, 7, "feature", &pr_sha()))
            .await;
        assert!(status.is_success(), "{action}: {body}");
    }
    assert!(world.github.check_runs(&repo()).is_empty());
    // Asked once per action that brings commits, not for the others.
    let compares = world
        .github
        .calls()
        .iter()
        .filter(|c| c.contains("/compare/"))
        .count();
    assert_eq!(
        compares,
        1,
        "asked once for the commit: {:#?}",
        world.github.calls()
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn one_commit_is_checked_once_however_often_its_events_arrive() {
    let world = world_with_file_in_force().await;
    pr_changes_file(&world, Some(BROKEN));
    let event = pr_event("opened", 7, "config", &pr_sha());
    let delivery = world.delivery_id();
    for _ in 0..2 {
        world
            .github_delivery("pull_request", &delivery, &event)
            .await;
        world.settle().await;
    }
    // Closed and reopened at the same commit: a new delivery, the same commit.
    world
        .github_event(
            "pull_request",
            &pr_event("reopened", 7, "config", &pr_sha()),
        )
        .await;
    assert_eq!(world.github.check_runs(&repo()).len(), 1);
    let posts = world
        .github
        .calls()
        .iter()
        .filter(|c| c.starts_with("POST") && c.ends_with("/check-runs"))
        .count();
    assert_eq!(posts, 1);

    // A new commit is checked again.
    let next = sha('9');
    world
        .github
        .set_file(&repo(), WORKFLOW_PATH, &next, Some(CHANGED));
    world
        .github_event("pull_request", &pr_event("synchronize", 7, "config", &next))
        .await;
    let runs = world.github.check_runs(&repo());
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1].head_sha, next);
    assert_eq!(runs[1].conclusion.as_deref(), Some("success"));
    world.assert_no_failures();
}

#[tokio::test]
async fn a_forks_pull_request_is_checked_too() {
    let world = world_with_file_in_force().await;
    pr_changes_file(&world, Some(BROKEN));
    let mut event = pr_event("opened", 9, "patch-1", &pr_sha());
    event["pull_request"]["head"]["repo"]["full_name"] = json!("mallory/web");
    let (status, body) = world.github_event("pull_request", &event).await;
    assert!(status.is_success(), "{body}");
    let run = only_check_run(&world);
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    // The fork's pull request itself is still declined, not deployed.
    assert!(world.github.deployments(&repo()).is_empty());
    world.assert_no_failures();
}

/// The `github-deployment-create` requests of the webhook's and the functions' invocations,
/// by their `kind`.
fn create_kinds(world: &World) -> Vec<(String, Value)> {
    world
        .invocations()
        .into_iter()
        .filter(|i| i.function == FunctionName::GithubDeploymentCreate)
        .map(|i| {
            (
                i.payload["kind"].as_str().unwrap_or("").to_owned(),
                i.payload,
            )
        })
        .collect()
}

/// A pull request that deploys hands its check over with the deployment, in one invoke (two
/// before); one that does not (a fork's, declined: below) hands the check over on its own.
#[tokio::test]
async fn the_check_rides_with_the_deployment_in_one_invoke() {
    let world = world_with_file_in_force().await;
    pr_changes_file(&world, Some(BROKEN));
    let before = create_kinds(&world).len();
    let (status, body) = world
        .github_event("pull_request", &pr_event("opened", 7, "config", &pr_sha()))
        .await;
    assert!(status.is_success(), "{body}");
    assert!(body.contains("check handed over"), "{body}");
    let sent = create_kinds(&world).split_off(before);
    let kinds: Vec<&str> = sent.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(kinds, ["new"], "{sent:#?}");
    let check = &sent[0].1["check_workflow_file"];
    assert_eq!(check["number"], 7);
    assert_eq!(check["head_sha"], pr_sha().as_str());
    assert_eq!(
        only_check_run(&world).conclusion.as_deref(),
        Some("failure")
    );
    assert_eq!(world.deployments().await.len(), 1, "pr7 deployed");

    // Lambda retries the invoke (as after a failing check): the stored deployment is continued
    // and the commit is not checked a second time.
    let retried: DeploymentCreateRequest =
        serde_json::from_value(sent[0].1.clone()).expect("a create request");
    world.call(&retried).await;
    world.settle().await;
    assert_eq!(world.deployments().await.len(), 1);
    assert_eq!(world.github.check_runs(&repo()).len(), 1);
    world.assert_no_failures();
}

/// Nothing is deployed — a fork's pull request is declined, a draft waits for
/// `ready_for_review` (the file says nothing of `drafts`) — and the check goes alone.
#[tokio::test]
async fn the_check_goes_alone_when_nothing_is_deployed() {
    let mut fork = pr_event("opened", 9, "patch-1", &pr_sha());
    fork["pull_request"]["head"]["repo"]["full_name"] = json!("mallory/web");
    let mut draft = pr_event("opened", 7, "config", &pr_sha());
    draft["pull_request"]["draft"] = json!(true);
    for (event, why) in [(fork, "the fork's is declined"), (draft, "the draft waits")] {
        let world = world_with_file_in_force().await;
        pr_changes_file(&world, Some(BROKEN));
        let before = create_kinds(&world).len();
        let (status, body) = world.github_event("pull_request", &event).await;
        assert!(status.is_success(), "{why}: {body}");
        assert!(body.contains("check handed over"), "{why}: {body}");
        let sent = create_kinds(&world).split_off(before);
        let kinds: Vec<&str> = sent.iter().map(|(kind, _)| kind.as_str()).collect();
        assert_eq!(kinds, ["check_workflow_file"], "{why}: {sent:#?}");
        assert_eq!(
            only_check_run(&world).conclusion.as_deref(),
            Some("failure")
        );
        assert!(world.deployments().await.is_empty(), "{why}");
        world.assert_no_failures();
    }
}

#[tokio::test]
async fn a_comparison_cut_short_is_settled_by_the_file_itself() {
    let world = world_with_file_in_force().await;
    world.github.cut_compared_files();
    // The pull request's base holds the file in force.
    let base = sha('9');
    world
        .github
        .set_file(&repo(), WORKFLOW_PATH, &base, Some(IN_FORCE));
    let mut leaves_it = pr_event("opened", 7, "feature", &sha('7'));
    leaves_it["pull_request"]["base"]["sha"] = json!(base.as_str());
    world
        .github
        .set_file(&repo(), WORKFLOW_PATH, &sha('7'), Some(IN_FORCE));
    world.github_event("pull_request", &leaves_it).await;
    assert!(
        world.github.check_runs(&repo()).is_empty(),
        "the same file: no check run"
    );

    pr_changes_file(&world, Some(BROKEN));
    let mut breaks_it = pr_event("opened", 8, "config", &pr_sha());
    breaks_it["pull_request"]["base"]["sha"] = json!(base.as_str());
    world.github_event("pull_request", &breaks_it).await;
    let run = only_check_run(&world);
    assert_eq!(run.conclusion.as_deref(), Some("failure"));
    world.assert_no_failures();
}
