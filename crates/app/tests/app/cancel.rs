//! `/cimon cancel <environment> [--all]` on both CI backends: the running deployment is
//! cancelled on its CI and ends `error` "cancelled by @x" at once, a later "cancelled"
//! webhook changes nothing, the lane drains; `--all` drops the queued deployments too;
//! nothing to cancel is told to the person.

use crate::workflow_support::*;
use deploybot_core::{DeploymentState, Environment};

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
