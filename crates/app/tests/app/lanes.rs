//! Lanes through the router: one deployment at a time per environment, newest wins per
//! source, nothing dropped, and racing events end in one consistent lane.

use crate::workflow_support::*;
use axum::http::StatusCode;
use deploybot_core::{DeploymentState, Environment};

/// Pushes `sha` to `main` (preview) as GitHub would, a minute after the previous one.
async fn push_main(world: &World, sha: &deploybot_core::Sha) {
    world.github.set_branch(&repo(), "main", sha, Some(AUTHOR));
    world.clock.advance_secs(60);
    let (status, body) = world
        .github_event("push", &push_event("refs/heads/main", sha))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

/// `a` pushed to main and running (its pipeline started), `b` (which follows it) pushed after
/// and waiting in line. Returns `a`'s pipeline.
async fn one_running_one_waiting(world: &World) -> String {
    let (a, b) = (sha('a'), sha('b'));
    world.github.set_parent(&repo(), &b, &a);
    push_main(world, &a).await;
    world.announce_deployments().await;
    push_main(world, &b).await;
    let all = world.deployments_in(Environment::Preview).await;
    assert_eq!(all[0].state, DeploymentState::Ready, "b waits");
    all[1].pipeline_id.clone().expect("a's pipeline started")
}

#[tokio::test]
async fn two_pushes_while_one_deploys_the_middle_one_is_superseded_and_the_newest_goes_after() {
    let world = World::new().await;
    let (a, b, c) = (sha('a'), sha('b'), sha('c'));
    world.github.set_parent(&repo(), &b, &a);
    world.github.set_parent(&repo(), &c, &b);
    push_main(&world, &a).await;
    world.announce_deployments().await;
    push_main(&world, &b).await;
    push_main(&world, &c).await;

    let all = world.deployments_in(Environment::Preview).await;
    let states: Vec<_> = all
        .iter()
        .map(|d| (d.sha.short().to_owned(), d.state))
        .collect();
    assert_eq!(
        states,
        [
            ("ccccccc".to_owned(), DeploymentState::Ready),
            ("bbbbbbb".to_owned(), DeploymentState::Superseded),
            ("aaaaaaa".to_owned(), DeploymentState::Queued),
        ]
    );
    // Only what runs reached GitHub and CircleCI.
    assert_eq!(world.github.deployments(&repo()).len(), 1);
    assert_eq!(world.ci.pipelines().len(), 1);
    let superseded = &all[1];
    let text = message_text(
        world
            .messages()
            .iter()
            .find(|m| Some(m.ts.as_str()) == superseded.slack_ts.as_deref())
            .and_then(|m| m.latest())
            .expect("the superseded one has its message"),
    );
    assert!(text.contains("superseded by `ccccccc`"), "{text}");

    world.finish_everything("success").await;
    let all = world.deployments_in(Environment::Preview).await;
    assert_eq!(all[0].state, DeploymentState::Success, "c deployed last");
    assert_eq!(
        all[2].state,
        DeploymentState::Inactive,
        "a deployed, then c replaced it"
    );
    let lane = world.lane(Environment::Preview).await;
    assert_eq!(lane.current, Some(all[0].id.clone()));
    assert_eq!(lane.running, None);
    assert_eq!(lane.due_at, None, "nothing about the lane is due any more");
    assert_eq!(world.ci.pipelines().len(), 2);
    world.assert_no_failures();
}

#[tokio::test]
async fn a_failed_deployment_frees_the_lane_for_the_next_one() {
    let world = World::new().await;
    let pipeline = one_running_one_waiting(&world).await;
    world.complete_pipeline(&pipeline, "failed").await;
    let all = world.deployments_in(Environment::Preview).await;
    assert_eq!(all[1].state, DeploymentState::Failure);
    assert_eq!(
        all[0].state,
        DeploymentState::Created,
        "the next one was dispatched"
    );
    assert_eq!(
        world.lane(Environment::Preview).await.running,
        Some(all[0].id.clone())
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn the_completion_webhook_delivered_twice_at_once_frees_the_lane_once() {
    let world = World::new().await;
    let pipeline = one_running_one_waiting(&world).await;
    let request = world
        .ci
        .completion_payload(
            &pipeline,
            "success",
            &deploybot_core::signature::SigningSecret::new(CIRCLECI_SECRET),
        )
        .expect("known pipeline");
    let (x, y) = tokio::join!(
        world.send_signed("/circleci/webhook", request.clone()),
        world.send_signed("/circleci/webhook", request),
    );
    world.settle().await;
    assert!(x.0.is_success() && y.0.is_success(), "{x:?} {y:?}");
    // One dispatch of the next one: one more GitHub deployment, one lane slot.
    assert_eq!(world.github.deployments(&repo()).len(), 2);
    let all = world.deployments_in(Environment::Preview).await;
    assert_eq!(all[0].state, DeploymentState::Created);
    assert_eq!(
        world.lane(Environment::Preview).await.running,
        Some(all[0].id.clone())
    );
    world.assert_no_failures();
}

/// DynamoDB's index of pending deployments is eventually consistent: the drain right after a
/// new intent is stored may not find it there. It is dispatched all the same.
#[tokio::test]
async fn a_new_intent_the_pending_index_does_not_show_yet_is_dispatched() {
    use deploybot_testkit::Fault;
    let world = World::new().await;
    world
        .counting
        .fault_next("pending_deployments", Fault::Lagging);
    push_main(&world, &sha('a')).await;
    let d = world.only_deployment(Environment::Preview).await;
    assert!(world.counting.counts()["pending_deployments"] >= 1);
    assert_eq!(d.state, DeploymentState::Created, "{d:#?}");
    assert_eq!(world.github.deployments(&repo()).len(), 1);
    world.assert_no_failures();
}

/// GitHub fails at dispatch (a 5xx, after the adapter's retries): the deployment is `error` with
/// the reason, the lane is free, and the next push deploys.
#[tokio::test]
async fn github_failing_at_dispatch_ends_in_a_stated_error_and_frees_the_lane() {
    let world = World::new().await;
    world.github.fail_next(1, 502);
    push_main(&world, &sha('a')).await;
    let failed = world.only_deployment(Environment::Preview).await;
    assert_eq!(failed.state, DeploymentState::Error);
    assert!(
        failed
            .description
            .as_deref()
            .is_some_and(|d| d.contains("GitHub did not create the deployment")),
        "{:?}",
        failed.description
    );
    assert_eq!(world.lane(Environment::Preview).await.running, None);
    world.github.set_parent(&repo(), &sha('b'), &sha('a'));
    push_main(&world, &sha('b')).await;
    let next = world.deployments_in(Environment::Preview).await.remove(0);
    assert_eq!(next.state, DeploymentState::Created);
}

/// The store fails right after the lane's slot was taken, before GitHub was asked: the
/// deployment holds the slot without a GitHub deployment. The watchdog's sweep after the
/// start timeout dispatches it again, once.
#[tokio::test]
async fn a_store_failure_after_the_slot_is_taken_is_repaired_by_the_watchdog() {
    use deploybot_core::invoke::DeploymentCreateRequest;
    use deploybot_testkit::Fault;
    let world = World::new().await;
    // The dispatch's claim is the first delivery claim after the lane was saved.
    world
        .counting
        .fault_next_after("save_lane", "claim_delivery", Fault::Fail);
    world.github.set_branch(&repo(), "main", &sha('a'), None);
    world.clock.advance_secs(60);
    world
        .github_event("push", &push_event("refs/heads/main", &sha('a')))
        .await;
    let stuck = world.only_deployment(Environment::Preview).await;
    assert_eq!(stuck.state, DeploymentState::Ready);
    assert_eq!(
        world.lane(Environment::Preview).await.running,
        Some(stuck.id.clone())
    );
    assert!(
        world.github.deployments(&repo()).is_empty(),
        "the bad interleaving happened"
    );

    world.clock.advance_secs(3 * 60);
    world.call(&DeploymentCreateRequest::Watchdog).await;
    world.settle().await;
    world.call(&DeploymentCreateRequest::Watchdog).await;
    world.settle().await;
    let d = world.store_get(&stuck.id).await;
    assert_eq!(d.state, DeploymentState::Created, "{d:#?}");
    assert_eq!(world.github.deployments(&repo()).len(), 1, "once");
}

/// CircleCI's `job-completed` for a job of a workflow that still runs is the first sign the
/// deployment's work runs: it is `in_progress` at once, and its workflow link is shown. A
/// job of a finished workflow changes nothing (its `workflow-completed` decides).
#[tokio::test]
async fn a_job_finishing_while_its_workflow_runs_makes_the_deployment_in_progress() {
    use deploybot_core::signature::SigningSecret;
    use deploybot_testkit::fixtures::fixture_json;
    use deploybot_testkit::signing::circleci_request;
    let world = World::new().await;
    push_main(&world, &sha('a')).await;
    world.announce_deployments().await;
    let d = world.only_deployment(Environment::Preview).await;
    assert_eq!(d.state, DeploymentState::Queued);
    let pipeline = d.pipeline_id.clone().expect("started");

    let job = |status: &str, id: &str| {
        let mut event = fixture_json("circleci/job-completed.json").expect("fixture");
        event["id"] = id.into();
        event["pipeline"]["id"] = pipeline.clone().into();
        event["workflow"]["status"] = status.into();
        circleci_request(&SigningSecret::new(CIRCLECI_SECRET), &event)
    };
    let (status, body) = world
        .send_signed("/circleci/webhook", job("success", "job-1"))
        .await;
    world.settle().await;
    assert!(status.is_success(), "{body}");
    assert_eq!(world.store_get(&d.id).await.state, DeploymentState::Queued);

    let (status, body) = world
        .send_signed("/circleci/webhook", job("running", "job-2"))
        .await;
    world.settle().await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let running = world.store_get(&d.id).await;
    assert_eq!(running.state, DeploymentState::InProgress);
    assert_eq!(
        world.github_states(&running).last().map(String::as_str),
        Some("in_progress")
    );
    assert!(running.build_url.is_some_and(|u| u.contains("/workflows/")));
    world.assert_no_failures();
}

/// Everything at once on one lane: the running deployment's completion delivered twice, the
/// watchdog reconciling the same deployment (it is past its timeout), and a new push. However
/// they interleave, the lane ends with one dispatched deployment, the others consistent, and
/// one GitHub deployment for each that ran.
#[tokio::test]
async fn completions_a_watchdog_and_a_push_racing_on_one_lane_end_with_one_dispatched() {
    use deploybot_core::invoke::DeploymentCreateRequest;
    use deploybot_core::signature::SigningSecret;
    for round in 0..5 {
        let world = World::new().await;
        let c = sha('c');
        world.github.set_parent(&repo(), &c, &sha('b'));
        let pipeline = one_running_one_waiting(&world).await;
        let completion = world
            .ci
            .completion_payload(&pipeline, "success", &SigningSecret::new(CIRCLECI_SECRET))
            .expect("known pipeline");
        world.clock.advance_secs(46 * 60);
        world.github.set_branch(&repo(), "main", &c, Some(AUTHOR));
        let push = push_event("refs/heads/main", &c);
        let sweep = DeploymentCreateRequest::Watchdog;
        let delivery = world.delivery_id();
        let (x, y, _, z) = tokio::join!(
            world.send_signed("/circleci/webhook", completion.clone()),
            world.send_signed("/circleci/webhook", completion),
            world.call(&sweep),
            world.github_delivery("push", &delivery, &push),
        );
        world.settle().await;
        assert!(
            x.0.is_success() && y.0.is_success() && z.0.is_success(),
            "round {round}: {x:?} {y:?} {z:?}"
        );

        let all = world.deployments_in(Environment::Preview).await;
        let states: Vec<_> = all.iter().map(|d| d.state).collect();
        // Either c was stored before the lane was freed (it supersedes b and goes), or the
        // lane dispatched b first and c waits behind it.
        assert!(
            states
                == [
                    DeploymentState::Created,
                    DeploymentState::Superseded,
                    DeploymentState::Success
                ]
                || states
                    == [
                        DeploymentState::Ready,
                        DeploymentState::Created,
                        DeploymentState::Success
                    ],
            "round {round}: {states:?}"
        );
        let dispatched = all
            .iter()
            .find(|d| d.state == DeploymentState::Created)
            .expect("one dispatched");
        let lane = world.lane(Environment::Preview).await;
        assert_eq!(lane.running, Some(dispatched.id.clone()), "round {round}");
        assert_eq!(lane.current, Some(all[2].id.clone()), "round {round}");
        assert_eq!(
            world.github.deployments(&repo()).len(),
            2,
            "round {round}: a and the dispatched one on GitHub, once each"
        );
        world.assert_no_failures();
    }
}
