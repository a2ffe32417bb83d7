//! Idempotency with a lease (docs/security.md, "Idempotency"): a claim taken, then work that
//! fails or is killed, ends with the retry doing the work exactly once. Each test arms a fault
//! on the store at the exact round trip after the claim (`CountingStore::fault_next`), shows the
//! bad interleaving happened, then retries.

use crate::workflow_support::*;
use deploybot_core::invoke::{self, DeploymentCreateRequest, NewDeploymentRequest};
use deploybot_core::ports::{DeploymentStore, InvokeError};
use deploybot_core::{DeploymentState, Environment, GitRef, Trigger};
use deploybot_testkit::Fault;
use std::time::Duration;

/// The request `github-webhook` sends for a push of `main` to preview.
fn new_preview(world: &World) -> DeploymentCreateRequest {
    world.github.set_branch(&repo(), "main", &sha('a'), None);
    DeploymentCreateRequest::New(NewDeploymentRequest {
        repository: repo(),
        deployment_id: world.state.new_deployment_id(),
        environment: Environment::Preview,
        git_ref: GitRef::Branch("main".into()),
        sha: sha('a'),
        trigger: Trigger::Push { pusher: None },
        commit_author: None,
        pr_url: None,
        channel: channel(),
        check_workflow_file: None,
    })
}

/// Before: the key was claimed, the read after it failed, the key stayed claimed, and the
/// retry answered `created` without ever creating the GitHub deployment (for the key's 7
/// days). Now the failure releases the key and the retry creates it, once.
#[tokio::test]
async fn a_store_failure_after_the_claim_leaves_the_retry_to_create_the_deployment_once() {
    let world = World::new().await;
    let request = new_preview(&world);
    // The dispatch reads the record again right after its claim.
    world
        .counting
        .fault_next_after("claim_delivery", "get_deployment", Fault::Fail);
    let failed = invoke::call(&world.invoker, &request).await;
    assert!(
        matches!(&failed, Err(InvokeError::Function { message, .. }) if message.contains("injected")),
        "the first attempt fails at the armed read: {failed:?}"
    );
    world.settle().await;
    assert!(
        world.github.deployments(&repo()).is_empty(),
        "nothing reached GitHub yet"
    );
    assert_eq!(world.counting.counts()["claim_delivery"], 1);

    let answer = world.call(&request).await;
    assert_eq!(answer.state, Some(DeploymentState::Created));
    let d = world.only_deployment(Environment::Preview).await;
    assert!(
        d.github_deployment_id.is_some(),
        "the retry created it: {d:?}"
    );
    assert_eq!(world.github.deployments(&repo()).len(), 1);

    // A third delivery of the same request changes nothing.
    world.call(&request).await;
    assert_eq!(world.github.deployments(&repo()).len(), 1);
    world.assert_no_failures();
}

/// An attempt killed after its claim (its future dropped while a store read hangs, as Lambda
/// ends an invocation at its time limit) holds the key only until the lease runs out: a retry
/// during the lease does nothing, the retry after it creates the deployment, once.
#[tokio::test]
async fn an_attempt_killed_after_the_claim_is_taken_over_when_its_lease_runs_out() {
    let world = World::new().await;
    let request = new_preview(&world);
    world
        .counting
        .fault_next_after("claim_delivery", "get_deployment", Fault::Hang);
    let killed = tokio::time::timeout(
        Duration::from_millis(200),
        invoke::call(&world.invoker, &request),
    )
    .await;
    assert!(
        killed.is_err(),
        "the attempt hung after its claim and was dropped"
    );
    assert_eq!(world.counting.counts()["claim_delivery"], 1);

    // Within the lease: the key is held, nothing is created twice or early; the deployment
    // holds its lane's slot, still `ready`.
    let answer = world.call(&request).await;
    assert_eq!(answer.state, Some(DeploymentState::Ready));
    assert!(world.github.deployments(&repo()).is_empty());

    // github-deployment-create's lease is three times its 60-second limit.
    world.clock.advance_secs(181);
    world.call(&request).await;
    let d = world.only_deployment(Environment::Preview).await;
    assert!(
        d.github_deployment_id.is_some(),
        "the retry created it: {d:?}"
    );
    assert_eq!(world.github.deployments(&repo()).len(), 1);
    world.call(&request).await;
    assert_eq!(world.github.deployments(&repo()).len(), 1);
}

/// Before: the CircleCI webhook claimed the event, then spent up to 30 s calling CircleCI
/// inside a 15 s function; a webhook killed after the claim left the event "already handled"
/// and the deployment queued forever. Now the look-up and the claim go out together, the
/// CircleCI call happens behind an `Event` invoke, and a killed attempt's claim runs out: the
/// redelivery after it finishes the deployment exactly once.
#[tokio::test]
async fn a_circleci_webhook_killed_after_the_claim_is_finished_by_the_redelivery() {
    let world = World::new().await;
    world.github.set_branch(&repo(), "main", &sha('a'), None);
    let (status, body) = world
        .github_event("push", &push_event("refs/heads/main", &sha('a')))
        .await;
    assert!(status.is_success(), "{status} {body}");
    world.settle().await;
    world.announce_deployments().await;
    let queued = world.only_deployment(Environment::Preview).await;
    assert_eq!(queued.state, DeploymentState::Queued);
    let pipeline = queued.pipeline_id.clone().expect("pipeline started");
    let delivery = world
        .ci
        .completion_payload(
            &pipeline,
            "success",
            &deploybot_core::signature::SigningSecret::new(CIRCLECI_SECRET),
        )
        .expect("the fake CircleCI knows the pipeline");

    // The pipeline look-up hangs; the claim, issued together with it, has gone through.
    world
        .counting
        .fault_next("deployment_by_pipeline", Fault::Hang);
    let claims_before = world.counting.counts()["claim_delivery"];
    let killed = tokio::time::timeout(
        Duration::from_millis(200),
        world.send_signed("/circleci/webhook", delivery.clone()),
    )
    .await;
    assert!(
        killed.is_err(),
        "the webhook hung after its claim and was dropped"
    );
    assert_eq!(world.counting.counts()["claim_delivery"], claims_before + 1);

    // CircleCI redelivers within the lease: answered, nothing done twice.
    let (status, body) = world
        .send_signed("/circleci/webhook", delivery.clone())
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("being handled"), "{body}");
    world.settle().await;
    assert_eq!(
        world.store_get(&queued.id).await.state,
        DeploymentState::Queued
    );

    // After the lease (three times the webhook's 15-second limit) the redelivery does the work.
    world.clock.advance_secs(46);
    let (status, body) = world
        .send_signed("/circleci/webhook", delivery.clone())
        .await;
    assert_eq!(status, 202, "{body}");
    world.settle().await;
    let done = world.store_get(&queued.id).await;
    assert_eq!(done.state, DeploymentState::Success);
    let successes = world
        .github_states(&done)
        .into_iter()
        .filter(|s| s == "success")
        .count();
    assert_eq!(successes, 1);

    // And once done, a late redelivery is acknowledged without effect.
    let (_, body) = world.send_signed("/circleci/webhook", delivery).await;
    assert!(body.contains("already handled"), "{body}");
    world.settle().await;
    assert_eq!(
        world
            .store
            .get_deployment(&repo(), &queued.id)
            .await
            .expect("reads")
            .expect("exists")
            .version,
        done.version
    );
    world.assert_no_failures();
}
