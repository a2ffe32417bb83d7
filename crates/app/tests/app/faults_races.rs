//! Repetition and races (docs/security.md, "Faults"): a webhook redelivered five times — one after
//! the other and all at once — has one effect; an async invoke delivered twice at the same time
//! creates one GitHub Deployment; two deployments to one environment racing end with the newer one
//! current and the older one `inactive` (superseded), whichever finishes first. Two `setup`s racing
//! are in `slack_command.rs` (`two_simultaneous_setups_of_one_repository_have_one_winner`), a
//! repeated Slack event id in `slack_event.rs` (`retried_and_repeated_event_ids_have_one_effect`),
//! a redelivered button press in `slack_interactive.rs` (`a_redelivered_press_has_one_effect`).

use crate::workflow_support::*;
use axum::http::StatusCode;
use deploybot_core::invoke::{DeploymentCreateRequest, NewDeploymentRequest};
use deploybot_core::signature::SigningSecret;
use deploybot_core::{DeploymentId, DeploymentState, Environment, GitRef, Sha, Timestamp, Trigger};

const PR: u64 = 42;

#[tokio::test]
async fn a_github_delivery_redelivered_five_times_has_one_effect() {
    for at_once in [false, true] {
        let world = World::new().await;
        world
            .github
            .set_branch(&repo(), "feature/login", &pr_sha(), Some(AUTHOR));
        let event = pr_event("opened", PR, "feature/login", &pr_sha());
        let delivery = world.delivery_id();
        let send = || world.github_delivery("pull_request", &delivery, &event);
        let answers: Vec<(StatusCode, String)> = if at_once {
            let (a, b, c, d, e) = tokio::join!(send(), send(), send(), send(), send());
            vec![a, b, c, d, e]
        } else {
            let mut answers = Vec::new();
            for _ in 0..5 {
                answers.push(send().await);
            }
            answers
        };
        world.settle().await;
        let accepted = answers
            .iter()
            .filter(|(s, _)| *s == StatusCode::ACCEPTED)
            .count();
        assert_eq!(accepted, 1, "at once: {at_once}: {answers:?}");
        assert!(
            answers
                .iter()
                .all(|(s, b)| *s == StatusCode::ACCEPTED || b.contains("already handled")),
            "{answers:?}"
        );
        assert_eq!(world.deployments().await.len(), 1, "at once: {at_once}");
        assert_eq!(world.github.deployments(&repo()).len(), 1);
        assert_eq!(world.messages().len(), 1);
        world.assert_no_failures();
    }
}

#[tokio::test]
async fn a_circleci_completion_redelivered_five_times_has_one_effect() {
    for at_once in [false, true] {
        let world = World::new().await;
        world
            .github
            .set_branch(&repo(), "feature/login", &pr_sha(), Some(AUTHOR));
        world
            .github_event(
                "pull_request",
                &pr_event("opened", PR, "feature/login", &pr_sha()),
            )
            .await;
        world.announce_deployments().await;
        let d = world.only_deployment(Environment::PullRequest(PR)).await;
        let pipeline = d.pipeline_id.clone().expect("pipeline");
        let request = world
            .ci
            .completion_payload(&pipeline, "success", &SigningSecret::new(CIRCLECI_SECRET))
            .expect("known pipeline");
        let send = || world.send_signed("/circleci/webhook", request.clone());
        let answers: Vec<(StatusCode, String)> = if at_once {
            let (a, b, c, d, e) = tokio::join!(send(), send(), send(), send(), send());
            vec![a, b, c, d, e]
        } else {
            let mut answers = Vec::new();
            for _ in 0..5 {
                answers.push(send().await);
            }
            answers
        };
        world.settle().await;
        let accepted = answers
            .iter()
            .filter(|(s, _)| *s == StatusCode::ACCEPTED)
            .count();
        assert_eq!(accepted, 1, "at once: {at_once}: {answers:?}");
        let d = world.store_get(&d.id).await;
        assert_eq!(d.state, DeploymentState::Success);
        let successes = world
            .github_states(&d)
            .into_iter()
            .filter(|s| s == "success")
            .count();
        assert_eq!(successes, 1, "one success status on GitHub");
        assert_eq!(
            world.github.comments(&repo(), PR).len(),
            1,
            "one PR comment"
        );
        world.assert_no_failures();
    }
}

fn new_request(id: DeploymentId, sha: Sha) -> DeploymentCreateRequest {
    DeploymentCreateRequest::New(NewDeploymentRequest {
        repository: repo(),
        deployment_id: id,
        environment: Environment::Preview,
        git_ref: GitRef::Branch("main".into()),
        sha,
        trigger: Trigger::Push { pusher: None },
        commit_author: None,
        pr_url: None,
        channel: channel(),
        check_workflow_file: None,
    })
}

#[tokio::test]
async fn an_async_invoke_delivered_twice_at_once_creates_one_github_deployment() {
    let world = World::new().await;
    world.github.add_commit(&repo(), &sha('a'), None);
    let request = new_request(world.state.new_deployment_id(), sha('a'));
    let (first, second) = tokio::join!(world.call(&request), world.call(&request));
    assert_eq!(first.deployment_id, second.deployment_id);
    assert_eq!(world.github.deployments(&repo()).len(), 1);
    assert_eq!(world.deployments().await.len(), 1);
    assert_eq!(world.messages().len(), 1);
    world.assert_no_failures();
}

/// Two pushes to the default branch a second apart (`b` follows `a`): their intents race
/// into the lane. Whatever the order, one deployment runs at a time, and when everything has
/// finished the lane runs `b`, which deployed last; `a` either deployed before it or never
/// (superseded while it waited, or skipped when it arrived after `b` ran).
async fn race(orders: &[&str]) {
    for &order in orders {
        let world = World::new().await;
        world.github.set_parent(&repo(), &sha('b'), &sha('a'));
        let t0 = Timestamp::from_secs(NOW_SECS);
        let older = new_request(DeploymentId::new(t0, 1), sha('a'));
        let newer = new_request(DeploymentId::new(t0.plus_secs(1), 2), sha('b'));
        match order {
            "older first" => {
                world.call(&older).await;
                world.call(&newer).await;
            }
            "newer first" => {
                world.call(&newer).await;
                world.call(&older).await;
            }
            _ => {
                tokio::join!(world.call(&older), world.call(&newer));
            }
        }
        let in_flight = world
            .deployments_in(Environment::Preview)
            .await
            .into_iter()
            .filter(|d| d.github_deployment_id.is_some())
            .count();
        assert_eq!(in_flight, 1, "{order}: one deployment at a time");
        world.finish_everything("success").await;

        let all = world.deployments_in(Environment::Preview).await;
        assert_eq!(all.len(), 2, "{order}");
        let (b, a) = (&all[0], &all[1]);
        assert_eq!(b.sha, sha('b'), "{order}: ids sort newest first");
        assert_eq!(b.state, DeploymentState::Success, "{order}");
        assert_eq!(
            world.lane(Environment::Preview).await.current,
            Some(b.id.clone())
        );
        match a.state {
            // It deployed first, and b replaced it.
            DeploymentState::Inactive => {
                assert!(a.succeeded_at <= b.succeeded_at, "{order}: {a:#?}");
            }
            DeploymentState::Superseded | DeploymentState::Skipped => {
                assert!(
                    a.github_deployment_id.is_none(),
                    "{order}: never reached GitHub"
                );
            }
            other => panic!("{order}: the older one ended {other}: {a:#?}"),
        }
        if order == "newer first" {
            assert_eq!(a.state, DeploymentState::Skipped, "{order}");
            assert_eq!(
                a.description.as_deref(),
                Some(
                    "skipped: `aaaaaaa` is older than `bbbbbbb`, which preview already runs; deploy it by name if you mean to go back"
                ),
                "{order}"
            );
        }
        world.assert_no_failures();
    }
}

#[tokio::test]
async fn racing_deployments_to_one_environment_end_with_the_newer_one_current() {
    race(&["older first", "at once"]).await;
}

/// The older push's invoke is handled after the newer one's (Lambda runs `Event` invokes in
/// no particular order): the late older deployment waits while the newer one runs, and is
/// then skipped as outdated (its commit is an ancestor of what runs) — it never reaches GitHub,
/// or its pipeline would deploy the older commit last.
#[tokio::test]
async fn a_late_older_deployment_does_not_replace_the_newer_one() {
    race(&["newer first"]).await;
}
