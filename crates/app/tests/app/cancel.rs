//! `/cimon cancel <environment> [--all]` on both CI backends: the running deployment is
//! cancelled on its CI and ends `error` "cancelled by @x" at once, a later "cancelled"
//! webhook changes nothing, the lane drains; `--all` drops the queued deployments too;
//! nothing to cancel is told to the person.

use crate::workflow_support::*;
use deploybot_app::render::{ACTION_CANCEL_DEPLOYMENT, ACTION_RETRY};
use deploybot_core::{DeploymentState, Environment};

/// Someone in the channel other than the author.
const BYSTANDER_SLACK: &str = "U0BOB";

const ON_ACTIONS: &str = "version: 1
environments:
  preview:
    on: { push: [default] }
    backend:
      github_actions:
";

fn slash_text(answer: &serde_json::Value) -> String {
    answer.to_string()
}

#[tokio::test]
async fn cancelling_a_github_actions_run_ends_the_deployment_as_cancelled_by_the_person() {
    let world = World::new().await;
    world.use_workflow_file(&sha('1'), Some(ON_ACTIONS)).await;
    world.github.set_branch(&repo(), "main", &sha('a'), None);
    world
        .github_event("push", &push_event("refs/heads/main", &sha('a')))
        .await;
    world.announce_deployments().await;
    let d = world.only_deployment(Environment::Preview).await;
    let run_id = d.pipeline_id.clone().expect("dispatched");
    world.actions.start(&run_id);

    let answer = world.slash(AUTHOR_SLACK, "cancel preview").await;
    assert!(
        slash_text(&answer).contains("Cancelling the deployment running in `preview`"),
        "{answer}"
    );
    let run = world.actions.run(&run_id).expect("the run");
    assert_eq!(
        run.conclusion.as_deref(),
        Some("cancelled"),
        "cancelled on GitHub"
    );
    let cancelled = world.store_get(&d.id).await;
    assert_eq!(cancelled.state, DeploymentState::Error);
    assert_eq!(
        cancelled.description.as_deref(),
        Some(format!("cancelled by <@{AUTHOR_SLACK}>").as_str())
    );
    assert_eq!(world.lane(Environment::Preview).await.running, None);

    // GitHub's own "cancelled" comes later and changes nothing.
    let body = world
        .actions
        .workflow_run_event(&run_id, "completed")
        .expect("a known run");
    world.github_event("workflow_run", &body).await;
    assert_eq!(
        world.store_get(&d.id).await.description,
        cancelled.description
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn cancel_all_on_circleci_cancels_the_running_pipeline_and_drops_the_queue() {
    let world = World::new().await;
    world.github.set_branch(&repo(), "main", &sha('a'), None);
    world
        .github_event("push", &push_event("refs/heads/main", &sha('a')))
        .await;
    world.announce_deployments().await;
    // A second push waits behind it.
    world.github.set_parent(&repo(), &sha('b'), &sha('a'));
    world.github.set_branch(&repo(), "main", &sha('b'), None);
    world.clock.advance_secs(60);
    world
        .github_event("push", &push_event("refs/heads/main", &sha('b')))
        .await;
    let all = world.deployments_in(Environment::Preview).await;
    assert_eq!(all.len(), 2);
    let running = all
        .iter()
        .find(|d| d.sha == sha('a'))
        .expect("the first")
        .clone();
    let queued = all
        .iter()
        .find(|d| d.sha == sha('b'))
        .expect("the second")
        .clone();
    let pipeline = running.pipeline_id.clone().expect("started");

    world.slash(AUTHOR_SLACK, "cancel preview --all").await;
    let on_circleci = world.ci.pipeline(&pipeline).expect("the pipeline");
    assert_eq!(on_circleci.workflows[0].status, "canceled");
    let running = world.store_get(&running.id).await;
    assert_eq!(running.state, DeploymentState::Error);
    assert_eq!(
        running.description.as_deref(),
        Some(format!("cancelled by <@{AUTHOR_SLACK}>").as_str())
    );
    let queued = world.store_get(&queued.id).await;
    assert_eq!(queued.state, DeploymentState::Cancelled, "{queued:#?}");
    let lane = world.lane(Environment::Preview).await;
    assert_eq!(lane.running, None);
    assert!(world.ci.pipelines().len() == 1, "nothing else was started");
}

#[tokio::test]
async fn nothing_to_cancel_is_told_to_the_person() {
    let world = World::new().await;
    world.slash(AUTHOR_SLACK, "cancel staging").await;
    let told: Vec<String> = world
        .slack
        .ephemerals()
        .iter()
        .map(|e| message_text(&e.message))
        .collect();
    assert!(
        told.iter()
            .any(|t| t.contains("Nothing is running in `staging`")),
        "{told:?}"
    );
    let answer = world.slash(AUTHOR_SLACK, "cancel").await;
    assert!(
        slash_text(&answer).contains("Say which environment"),
        "{answer}"
    );
}

/// The latest version of `d`'s channel message.
async fn latest_message(world: &World, d: &deploybot_core::Deployment) -> String {
    let d = world.store_get(&d.id).await;
    let ts = d.slack_ts.clone().expect("posted");
    let versions = world
        .slack
        .message(&channel(), ts.as_str())
        .expect("the message");
    message_text(versions.last().expect("a version"))
}

#[tokio::test]
async fn the_cancel_button_of_a_running_deployment_cancels_it_after_a_confirm() {
    let world = World::new().await;
    world.use_workflow_file(&sha('1'), Some(ON_ACTIONS)).await;
    world.github.set_branch(&repo(), "main", &sha('a'), None);
    world
        .github_event("push", &push_event("refs/heads/main", &sha('a')))
        .await;
    world.announce_deployments().await;
    let d = world.only_deployment(Environment::Preview).await;
    let run_id = d.pipeline_id.clone().expect("dispatched");
    world.actions.start(&run_id);

    let shown = latest_message(&world, &d).await;
    assert!(shown.contains(ACTION_CANCEL_DEPLOYMENT), "{shown}");
    assert!(
        shown.contains("\"confirm\""),
        "behind a confirm dialog: {shown}"
    );

    let answers = world
        .press(
            BYSTANDER_SLACK,
            &channel(),
            ACTION_CANCEL_DEPLOYMENT,
            d.id.as_str(),
        )
        .await;
    let said: Vec<String> = answers.iter().map(message_text).collect();
    assert!(
        said.iter()
            .any(|t| t.contains("Cancelling the deployment of")),
        "{said:?}"
    );
    let run = world.actions.run(&run_id).expect("the run");
    assert_eq!(run.conclusion.as_deref(), Some("cancelled"));
    let cancelled = world.store_get(&d.id).await;
    assert_eq!(cancelled.state, DeploymentState::Error);
    assert_eq!(
        cancelled.description.as_deref(),
        Some(format!("cancelled by <@{BYSTANDER_SLACK}>").as_str())
    );
    let shown = latest_message(&world, &d).await;
    assert!(
        !shown.contains(ACTION_CANCEL_DEPLOYMENT),
        "a finished deployment has no [Cancel]: {shown}"
    );
    assert!(shown.contains(ACTION_RETRY), "{shown}");
    world.assert_no_failures();
}

#[tokio::test]
async fn the_cancel_button_of_an_older_message_cancels_nothing_else() {
    let world = World::new().await;
    world.github.set_branch(&repo(), "main", &sha('a'), None);
    world
        .github_event("push", &push_event("refs/heads/main", &sha('a')))
        .await;
    world.announce_deployments().await;
    let first = world.only_deployment(Environment::Preview).await;
    // It ends; a newer push runs.
    world
        .complete_pipeline(first.pipeline_id.as_deref().expect("started"), "success")
        .await;
    world.github.set_parent(&repo(), &sha('b'), &sha('a'));
    world.github.set_branch(&repo(), "main", &sha('b'), None);
    world.clock.advance_secs(60);
    world
        .github_event("push", &push_event("refs/heads/main", &sha('b')))
        .await;
    world.announce_deployments().await;
    let second = world
        .deployments_in(Environment::Preview)
        .await
        .into_iter()
        .find(|d| d.sha == sha('b'))
        .expect("the second");
    let pipeline = second.pipeline_id.clone().expect("started");

    // A stale press of the first message's button (sent before it ended).
    let answers = world
        .press(
            AUTHOR_SLACK,
            &channel(),
            ACTION_CANCEL_DEPLOYMENT,
            first.id.as_str(),
        )
        .await;
    let said: Vec<String> = answers.iter().map(message_text).collect();
    assert!(
        said.iter().any(|t| t.contains("nothing to cancel")),
        "{said:?}"
    );
    let second_now = world.store_get(&second.id).await;
    assert!(!second_now.state.is_finished(), "{second_now:#?}");
    let on_circleci = world.ci.pipeline(&pipeline).expect("the pipeline");
    assert_ne!(on_circleci.workflows[0].status, "canceled");
    world.assert_no_failures();
}

const PR_CANCELS_RUNNING: &str = "version: 1
environments:
  pr:
    on: pull_request
    queue: { running: cancel }
  preview:
    on: { push: [default] }
";

/// `queue: { running: cancel }` on the pull-request environments: a push to the pull request
/// while its deployment runs cancels that one on CircleCI, and the newest goes at once.
#[tokio::test]
async fn with_running_cancel_a_newer_push_to_the_pull_request_cancels_the_running_deployment() {
    let world = World::new().await;
    world
        .use_workflow_file(&sha('1'), Some(PR_CANCELS_RUNNING))
        .await;
    let (first, second) = (pr_sha(), sha('e'));
    world
        .github
        .set_branch(&repo(), "feature/login", &first, Some(AUTHOR));
    world
        .github_event(
            "pull_request",
            &pr_event("opened", 7, "feature/login", &first),
        )
        .await;
    world.announce_deployments().await;
    let running = world.only_deployment(Environment::PullRequest(7)).await;
    let pipeline = running.pipeline_id.clone().expect("started");

    world
        .github
        .set_branch(&repo(), "feature/login", &second, Some(AUTHOR));
    world.clock.advance_secs(60);
    world
        .github_event(
            "pull_request",
            &pr_event("synchronize", 7, "feature/login", &second),
        )
        .await;
    world.announce_deployments().await;

    let on_circleci = world.ci.pipeline(&pipeline).expect("the pipeline");
    assert_eq!(on_circleci.workflows[0].status, "canceled");
    let cancelled = world.store_get(&running.id).await;
    assert_eq!(cancelled.state, DeploymentState::Error);
    assert_eq!(
        cancelled.description.as_deref(),
        Some(format!("cancelled: superseded by `{}`", second.short()).as_str())
    );
    let newest = world
        .deployments_in(Environment::PullRequest(7))
        .await
        .into_iter()
        .find(|d| d.sha == second)
        .expect("the newer one");
    assert_eq!(newest.state, DeploymentState::Queued, "it went at once");
    assert!(newest.pipeline_id.is_some(), "its pipeline started");
    // The preview environment, which keeps the default, is not touched by any of this.
    world.assert_no_failures();
}

/// Without the setting a push to the branch waits for the running deployment: `running:
/// cancel` is per environment.
#[tokio::test]
async fn without_running_cancel_the_running_deployment_finishes_first() {
    let world = World::new().await;
    world
        .use_workflow_file(&sha('1'), Some(PR_CANCELS_RUNNING))
        .await;
    world.github.set_branch(&repo(), "main", &sha('a'), None);
    world
        .github_event("push", &push_event("refs/heads/main", &sha('a')))
        .await;
    world.announce_deployments().await;
    world.github.set_parent(&repo(), &sha('b'), &sha('a'));
    world.github.set_branch(&repo(), "main", &sha('b'), None);
    world.clock.advance_secs(60);
    world
        .github_event("push", &push_event("refs/heads/main", &sha('b')))
        .await;
    let all = world.deployments_in(Environment::Preview).await;
    let first = all.iter().find(|d| d.sha == sha('a')).expect("the first");
    let second = all.iter().find(|d| d.sha == sha('b')).expect("the second");
    assert_eq!(first.state, DeploymentState::Queued, "still running");
    assert_eq!(second.state, DeploymentState::Ready, "waits its turn");
    let pipeline = first.pipeline_id.clone().expect("started");
    assert_ne!(
        world
            .ci
            .pipeline(&pipeline)
            .expect("the pipeline")
            .workflows[0]
            .status,
        "canceled"
    );
}
