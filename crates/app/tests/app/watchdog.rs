//! The watchdog: a lost GitHub `deployment` event, a lost CircleCI completion, a pipeline CI
//! never heard of — each ends with the deployment started or reconciled and the lane free; a
//! sweep reads only the lanes that are due.

use crate::workflow_support::*;
use deploybot_core::invoke::DeploymentCreateRequest;
use deploybot_core::{DeploymentState, Environment};

async fn sweep(world: &World) {
    world.call(&DeploymentCreateRequest::Watchdog).await;
    world.settle().await;
}

/// A push to `main` whose deployment is dispatched (created on GitHub); GitHub's
/// `deployment` event is not delivered.
async fn dispatched_push(world: &World, hex: char) -> deploybot_core::Deployment {
    world.github.set_branch(&repo(), "main", &sha(hex), None);
    world
        .github_event("push", &push_event("refs/heads/main", &sha(hex)))
        .await;
    world.only_deployment(Environment::Preview).await
}

#[tokio::test]
async fn a_lost_deployment_event_is_made_good_by_the_watchdog_once() {
    let world = World::new().await;
    let d = dispatched_push(&world, 'a').await;
    assert_eq!(d.state, DeploymentState::Created);

    // Before the start timeout (2 minutes): nothing.
    world.clock.advance_secs(100);
    sweep(&world).await;
    assert!(world.ci.pipelines().is_empty());

    // After it: the watchdog starts the pipeline; later sweeps do not start another.
    world.clock.advance_secs(30);
    sweep(&world).await;
    sweep(&world).await;
    assert_eq!(world.ci.pipelines().len(), 1);
    let d = world.store_get(&d.id).await;
    assert_eq!(d.state, DeploymentState::Queued);
    world.clock.advance_secs(300);
    sweep(&world).await;
    assert_eq!(world.ci.pipelines().len(), 1, "started exactly once");

    // And it finishes as usual.
    let pipeline = d.pipeline_id.clone().expect("started");
    world.complete_pipeline(&pipeline, "success").await;
    assert_eq!(world.store_get(&d.id).await.state, DeploymentState::Success);
    assert_eq!(world.lane(Environment::Preview).await.running, None);
    world.assert_no_failures();
}

#[tokio::test]
async fn a_lost_completion_is_reconciled_with_ci_and_the_next_deployment_goes() {
    let world = World::new().await;
    let d = dispatched_push(&world, 'a').await;
    world.announce_deployments().await;
    let pipeline = world.store_get(&d.id).await.pipeline_id.expect("started");
    // A second push waits behind it.
    world.github.set_parent(&repo(), &sha('b'), &sha('a'));
    world.github.set_branch(&repo(), "main", &sha('b'), None);
    world.clock.advance_secs(60);
    world
        .github_event("push", &push_event("refs/heads/main", &sha('b')))
        .await;
    // CircleCI finishes the workflow, and its webhook is lost.
    world
        .ci
        .completion_payload(
            &pipeline,
            "success",
            &deploybot_core::signature::SigningSecret::new(CIRCLECI_SECRET),
        )
        .expect("known pipeline");

    // Still running as far as anyone heard, until the deployment timeout (45 minutes).
    world.clock.advance_secs(30 * 60);
    sweep(&world).await;
    assert_eq!(world.store_get(&d.id).await.state, DeploymentState::Queued);

    world.clock.advance_secs(16 * 60);
    sweep(&world).await;
    let done = world.store_get(&d.id).await;
    assert_eq!(done.state, DeploymentState::Success);
    assert_eq!(
        world.github_states(&done).last().map(String::as_str),
        Some("success")
    );
    let next = world.deployments_in(Environment::Preview).await.remove(0);
    assert_eq!(next.sha, sha('b'));
    assert_eq!(next.state, DeploymentState::Created, "the lane moved on");
    world.assert_no_failures();
}

#[tokio::test]
async fn a_deployment_ci_never_heard_of_ends_in_a_stated_error() {
    let world = World::new().await;
    // CircleCI is down when the watchdog starts the pipeline.
    let d = dispatched_push(&world, 'a').await;
    world.clock.advance_secs(3 * 60);
    world.ci.fail_next(3, 503);
    sweep(&world).await;
    let d = world.store_get(&d.id).await;
    assert_eq!(d.state, DeploymentState::Error, "{d:#?}");
    assert!(
        d.description
            .as_deref()
            .is_some_and(|t| t.contains("CircleCI did not start the pipeline")),
        "{:?}",
        d.description
    );
    assert_eq!(
        world.lane(Environment::Preview).await.running,
        None,
        "the lane is free"
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn a_running_pipeline_keeps_its_deployment_waiting_in_progress() {
    let world = World::new().await;
    let d = dispatched_push(&world, 'a').await;
    world.announce_deployments().await;
    world.clock.advance_secs(46 * 60);
    sweep(&world).await;
    // The fake's workflow is running: in progress, still holding the lane.
    let d = world.store_get(&d.id).await;
    assert_eq!(d.state, DeploymentState::InProgress);
    assert_eq!(
        world.lane(Environment::Preview).await.running,
        Some(d.id.clone())
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn a_sweep_reads_only_the_lanes_that_are_due() {
    let world = World::new().await;
    let _ = dispatched_push(&world, 'a').await;
    world.counting.reset();
    sweep(&world).await;
    let counts = world.counting.counts();
    assert_eq!(counts.get("due_lanes"), Some(&1));
    assert_eq!(counts.get("get_deployment"), None, "{counts:?}");
    assert_eq!(counts.get("get_lane"), None, "{counts:?}");
}
