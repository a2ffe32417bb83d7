//! Environments that deploy with GitHub Actions (`backend: github_actions`), beside one on
//! CircleCI: the dispatch with the deployment's inputs, progress and outcome from the
//! `workflow_run` and `workflow_job` webhooks (every conclusion as documented), a job waiting
//! on GitHub reviewers, a refused dispatch as a sentence with the lane freed, and the
//! watchdog asking the Actions API about a run whose webhook never came.

use crate::workflow_support::*;
use axum::http::StatusCode;
use deploybot_core::ci::{CiKind, CiTarget};
use deploybot_core::invoke::DeploymentCreateRequest;
use deploybot_core::ports::CiError;
use deploybot_core::{Deployment, DeploymentState, Environment};

const BOTH_BACKENDS: &str = "version: 1
environments:
  preview:
    on: { push: [default] }
    backend:
      github_actions:
        workflow: deploy.yml
  production:
    on: { tag: [\"v{semver}\"] }
    production: true
    backend:
      circleci:
        project_slug: circleci/8d1f3e2a-5c6b-4d7e-9f80-1a2b3c4d5e6f/a7c2b1d0-3e4f-4a5b-8c6d-7e8f9a0b1c2d
        definition_id: 5b0e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b
";

/// A world following [`BOTH_BACKENDS`], with a push to `main` dispatched and announced (its
/// workflow dispatched on GitHub Actions).
async fn dispatched_on_actions(hex: char) -> (World, Deployment) {
    let world = World::new().await;
    world
        .use_workflow_file(&sha('1'), Some(BOTH_BACKENDS))
        .await;
    world.github.set_branch(&repo(), "main", &sha(hex), None);
    let (status, body) = world
        .github_event("push", &push_event("refs/heads/main", &sha(hex)))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    world.announce_deployments().await;
    let d = world.only_deployment(Environment::Preview).await;
    (world, d)
}

async fn run_event(world: &World, run: &str, action: &str) {
    let body = world
        .actions
        .workflow_run_event(run, action)
        .expect("a known run");
    let (status, text) = world.github_event("workflow_run", &body).await;
    assert!(status.is_success(), "{status} {text}");
}

#[tokio::test]
async fn a_push_deploys_preview_with_github_actions_from_dispatch_to_outcome() {
    let (world, d) = dispatched_on_actions('a').await;
    assert_eq!(
        d.ci,
        Some(CiTarget::GitHubActions {
            workflow: "deploy.yml".into()
        })
    );
    let runs = world.actions.runs();
    assert_eq!(runs.len(), 1, "one run dispatched");
    let run = &runs[0];
    assert!(
        world.ci.pipelines().is_empty(),
        "nothing started on CircleCI"
    );
    assert_eq!(run.workflow, "deploy.yml");
    assert_eq!(run.branch, "main");
    assert_eq!(run.inputs["environment"], "preview");
    assert_eq!(run.inputs["sha"], sha('a').to_string());
    assert_eq!(run.inputs["ref"], "main");
    assert_eq!(run.inputs["deployment_id"], d.id.to_string());
    let run_id = run.id.to_string();
    assert_eq!(d.pipeline_id.as_deref(), Some(run_id.as_str()));
    assert_eq!(d.state, DeploymentState::Queued);
    assert_eq!(d.build_url.as_deref(), Some(run.html_url().as_str()));

    // The run starts, then its job waits on the environment's reviewers.
    world.actions.start(&run_id);
    run_event(&world, &run_id, "in_progress").await;
    assert_eq!(
        world.store_get(&d.id).await.state,
        DeploymentState::InProgress
    );
    world.actions.wait_for_reviewers(&run_id);
    let body = world
        .actions
        .workflow_job_event(&run_id, "waiting")
        .expect("a known run");
    world.github_event("workflow_job", &body).await;
    let waiting = world.store_get(&d.id).await;
    assert_eq!(waiting.state, DeploymentState::InProgress);
    assert_eq!(
        waiting.description.as_deref(),
        Some("waiting on GitHub reviewers (job deploy)")
    );
    let shown = world
        .messages()
        .into_iter()
        .find(|m| Some(&m.ts) == waiting.slack_ts.as_ref())
        .and_then(|m| m.latest().map(message_text))
        .unwrap_or_default();
    assert!(shown.contains("waiting on GitHub reviewers"), "{shown}");

    // It finishes: success, and the log link is the run's page.
    world.actions.finish(&run_id, "success");
    run_event(&world, &run_id, "completed").await;
    let done = world.store_get(&d.id).await;
    assert_eq!(done.state, DeploymentState::Success);
    assert_eq!(done.build_url.as_deref(), Some(run.html_url().as_str()));
    assert_eq!(
        world.github_states(&done).last().map(String::as_str),
        Some("success")
    );
    assert_eq!(
        world.lane(Environment::Preview).await.running,
        None,
        "the lane is free"
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn every_conclusion_ends_the_deployment_as_documented() {
    let cases = [
        (
            "failure",
            DeploymentState::Failure,
            "the workflow run ended `failure`",
        ),
        (
            "timed_out",
            DeploymentState::Failure,
            "the workflow run ended `timed_out`",
        ),
        (
            "startup_failure",
            DeploymentState::Failure,
            "the workflow run ended `startup_failure`",
        ),
        ("cancelled", DeploymentState::Error, "cancelled"),
        (
            "skipped",
            DeploymentState::Error,
            "the workflow run ended `skipped`",
        ),
        (
            "neutral",
            DeploymentState::Error,
            "the workflow run ended `neutral`",
        ),
        (
            "stale",
            DeploymentState::Error,
            "the workflow run ended `stale`",
        ),
        (
            "action_required",
            DeploymentState::Error,
            "the workflow run ended `action_required`",
        ),
    ];
    for (conclusion, state, why) in cases {
        let (world, d) = dispatched_on_actions('b').await;
        let run_id = d.pipeline_id.clone().expect("dispatched");
        world.actions.finish(&run_id, conclusion);
        run_event(&world, &run_id, "completed").await;
        let done = world.store_get(&d.id).await;
        assert_eq!(done.state, state, "{conclusion}");
        assert_eq!(done.description.as_deref(), Some(why), "{conclusion}");
        assert_eq!(world.lane(Environment::Preview).await.running, None);
    }
}

/// A re-run on GitHub (`run_attempt` 2) of the environment's latest deployment, which
/// failed: it is in progress again and holds preview's slot, the re-run's outcome is its
/// outcome, and a late event of the first attempt changes nothing.
#[tokio::test]
async fn a_rerun_of_the_latest_deployment_reopens_it_and_the_latest_attempt_decides() {
    let (world, d) = dispatched_on_actions('d').await;
    let run_id = d.pipeline_id.clone().expect("dispatched");
    world.actions.finish(&run_id, "failure");
    run_event(&world, &run_id, "completed").await;
    assert_eq!(world.store_get(&d.id).await.state, DeploymentState::Failure);
    let first_attempt_completed = world
        .actions
        .workflow_run_event(&run_id, "completed")
        .expect("a known run");

    world.actions.rerun(&run_id);
    world.actions.start(&run_id);
    run_event(&world, &run_id, "in_progress").await;
    let reopened = world.store_get(&d.id).await;
    assert_eq!(reopened.state, DeploymentState::InProgress);
    assert_eq!(reopened.ci_attempt, Some(2));
    assert_eq!(
        reopened.description.as_deref(),
        Some("re-run on GitHub Actions (attempt 2)")
    );
    let lane = world.lane(Environment::Preview).await;
    assert_eq!(
        lane.running.as_ref(),
        Some(&d.id),
        "it holds the slot again"
    );
    assert!(lane.due_at.is_some(), "the watchdog keeps an eye on it");

    // The first attempt's `completed`, delivered late, is not the outcome.
    let (status, text) = world
        .github_event("workflow_run", &first_attempt_completed)
        .await;
    assert!(status.is_success(), "{text}");
    assert!(text.contains("older than attempt 2"), "{text}");
    assert_eq!(
        world.store_get(&d.id).await.state,
        DeploymentState::InProgress
    );

    world.actions.finish(&run_id, "success");
    run_event(&world, &run_id, "completed").await;
    let done = world.store_get(&d.id).await;
    assert_eq!(done.state, DeploymentState::Success);
    let lane = world.lane(Environment::Preview).await;
    assert_eq!(lane.running, None);
    assert_eq!(lane.current.as_ref(), Some(&d.id));
    world.assert_no_failures();
}

/// A re-run whose `completed` is the first GitHub tells of it: reopened and finished at once.
#[tokio::test]
async fn a_rerun_that_had_ended_when_github_told_is_reopened_with_its_outcome() {
    let (world, d) = dispatched_on_actions('e').await;
    let run_id = d.pipeline_id.clone().expect("dispatched");
    world.actions.finish(&run_id, "timed_out");
    run_event(&world, &run_id, "completed").await;
    world.actions.rerun(&run_id);
    world.actions.finish(&run_id, "success");
    run_event(&world, &run_id, "completed").await;
    let done = world.store_get(&d.id).await;
    assert_eq!(done.state, DeploymentState::Success);
    assert_eq!(done.ci_attempt, Some(2));
    assert_eq!(world.lane(Environment::Preview).await.running, None);
    world.assert_no_failures();
}

/// A re-run of a deployment something newer replaced would put the old commit back behind
/// deploybot's back: it is cancelled on GitHub and the channel is told why.
#[tokio::test]
async fn a_rerun_of_an_older_deployment_is_cancelled_and_the_channel_told_why() {
    let (world, old) = dispatched_on_actions('f').await;
    let old_run = old.pipeline_id.clone().expect("dispatched");
    world.actions.finish(&old_run, "success");
    run_event(&world, &old_run, "completed").await;
    // A newer push deploys.
    world.github.set_parent(&repo(), &sha('8'), &sha('f'));
    world.github.set_branch(&repo(), "main", &sha('8'), None);
    world.clock.advance_secs(60);
    world
        .github_event("push", &push_event("refs/heads/main", &sha('8')))
        .await;
    world.announce_deployments().await;
    let newer = world
        .deployments_in(Environment::Preview)
        .await
        .into_iter()
        .find(|d| d.sha == sha('8'))
        .expect("the newer one");
    let newer_run = newer.pipeline_id.clone().expect("dispatched");
    world.actions.finish(&newer_run, "success");
    run_event(&world, &newer_run, "completed").await;

    world.actions.rerun(&old_run);
    run_event(&world, &old_run, "requested").await;
    let run = world.actions.run(&old_run).expect("the run");
    assert_eq!(
        run.conclusion.as_deref(),
        Some("cancelled"),
        "cancelled on GitHub"
    );
    let old_now = world.store_get(&old.id).await;
    assert_eq!(
        old_now.state,
        DeploymentState::Inactive,
        "superseded by the newer success, and it stays so"
    );
    assert_eq!(old_now.ci_attempt, None);
    let told: Vec<String> = world
        .slack
        .messages(&channel())
        .iter()
        .filter_map(|m| m.latest().map(message_text))
        .collect();
    assert!(
        told.iter().any(|t| t.contains("was cancelled")
            && t.contains("a newer deployment of preview has run since")),
        "{told:?}"
    );
    let lane = world.lane(Environment::Preview).await;
    assert_eq!(
        lane.current.as_ref(),
        Some(&newer.id),
        "preview still runs the newer one"
    );
    world.assert_no_failures();
}

/// A locked environment takes no re-run either.
#[tokio::test]
async fn a_rerun_into_a_locked_environment_is_cancelled() {
    let (world, d) = dispatched_on_actions('9').await;
    let run_id = d.pipeline_id.clone().expect("dispatched");
    world.actions.finish(&run_id, "failure");
    run_event(&world, &run_id, "completed").await;
    world
        .slash(AUTHOR_SLACK, "lock preview for 1h testing")
        .await;
    world.actions.rerun(&run_id);
    run_event(&world, &run_id, "requested").await;
    assert_eq!(
        world.actions.run(&run_id).and_then(|r| r.conclusion),
        Some("cancelled".to_owned())
    );
    assert_eq!(world.store_get(&d.id).await.state, DeploymentState::Failure);
    assert_eq!(world.lane(Environment::Preview).await.running, None);
}

#[tokio::test]
async fn a_run_found_by_its_name_and_runs_deploybot_did_not_dispatch_change_nothing() {
    let (world, d) = dispatched_on_actions('c').await;
    let run_id = d.pipeline_id.clone().expect("dispatched");
    // Another workflow's run in the same repository.
    let mut other = world
        .actions
        .workflow_run_event(&run_id, "completed")
        .expect("a known run");
    other["workflow_run"]["id"] = 999.into();
    other["workflow_run"]["display_title"] = "Update README.md".into();
    let (status, text) = world.github_event("workflow_run", &other).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("not dispatched by deploybot"), "{text}");
    assert_eq!(world.store_get(&d.id).await.state, DeploymentState::Queued);
}

#[tokio::test]
async fn a_run_github_did_not_name_at_dispatch_is_found_by_its_run_name() {
    let world = World::new().await;
    world
        .use_workflow_file(&sha('1'), Some(BOTH_BACKENDS))
        .await;
    world.github.set_branch(&repo(), "main", &sha('9'), None);
    world
        .github_event("push", &push_event("refs/heads/main", &sha('9')))
        .await;
    // Dispatched to GitHub, but the run id was never recorded (an older GitHub server).
    let d = world.only_deployment(Environment::Preview).await;
    assert_eq!(d.pipeline_id, None);
    let body = serde_json::json!({
        "action": "in_progress",
        "workflow_run": {
            "id": 4242,
            "name": "Deploy",
            "display_title": format!("deploy {}", d.id),
            "run_number": 3,
            "run_attempt": 1,
            "event": "workflow_dispatch",
            "status": "in_progress",
            "conclusion": null,
            "html_url": "https://github.com/acme/web/actions/runs/4242"
        },
        "repository": {"id": 1296269, "full_name": "acme/web", "default_branch": "main"},
        "sender": {"login": "octocat", "id": 1, "type": "User"}
    });
    let (status, text) = world.github_event("workflow_run", &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    let running = world.store_get(&d.id).await;
    assert_eq!(running.state, DeploymentState::InProgress);
    assert_eq!(
        running.build_url.as_deref(),
        Some("https://github.com/acme/web/actions/runs/4242")
    );
}

#[tokio::test]
async fn a_refused_dispatch_is_a_sentence_and_frees_the_lane() {
    let world = World::new().await;
    world
        .use_workflow_file(&sha('1'), Some(BOTH_BACKENDS))
        .await;
    world.actions.fail_next_with(CiError::Rejected(
        "GitHub refused to dispatch `deploy.yml` on `main`: Unexpected inputs provided: [\"deployment_id\"]. The workflow on the default branch must run `on: workflow_dispatch` and declare the inputs environment, sha, ref, deployment_id, version, url (docs/github-actions.md)".into(),
    ));
    world.github.set_branch(&repo(), "main", &sha('d'), None);
    world
        .github_event("push", &push_event("refs/heads/main", &sha('d')))
        .await;
    world.announce_deployments().await;
    let d = world.only_deployment(Environment::Preview).await;
    assert_eq!(d.state, DeploymentState::Error);
    let why = d.description.unwrap_or_default();
    assert!(
        why.starts_with("GitHub Actions did not start the workflow: GitHub refused to dispatch"),
        "{why}"
    );
    assert!(why.contains("declare the inputs"), "{why}");
    assert_eq!(world.lane(Environment::Preview).await.running, None);
}

#[tokio::test]
async fn the_watchdog_asks_github_actions_about_a_run_whose_webhook_never_came() {
    let (world, d) = dispatched_on_actions('e').await;
    let run_id = d.pipeline_id.clone().expect("dispatched");
    world.actions.finish(&run_id, "timed_out");
    // No webhook. Past the deployment timeout (45 minutes), the watchdog looks.
    world.clock.advance_secs(46 * 60);
    world.call(&DeploymentCreateRequest::Watchdog).await;
    world.settle().await;
    let done = world.store_get(&d.id).await;
    assert_eq!(done.state, DeploymentState::Failure, "{done:#?}");
    assert!(
        done.description
            .as_deref()
            .is_some_and(|t| t.contains("workflow Deploy failed")),
        "{:?}",
        done.description
    );
    assert_eq!(world.lane(Environment::Preview).await.running, None);
    assert_eq!(d.ci_target().kind(), CiKind::GitHubActions);
}

#[tokio::test]
async fn a_tag_deploys_production_on_circleci_beside_it() {
    let world = World::new().await;
    world
        .use_workflow_file(&sha('1'), Some(BOTH_BACKENDS))
        .await;
    world
        .github
        .set_tag(&repo(), "v1.2.0", &sha('f'), Some(AUTHOR));
    world
        .github_event("push", &tag_event("v1.2.0", &sha('f')))
        .await;
    world.announce_deployments().await;
    let d = world.only_deployment(Environment::Production).await;
    assert_eq!(d.ci_target().kind(), CiKind::CircleCi);
    let pipelines = world.ci.pipelines();
    assert_eq!(pipelines.len(), 1);
    assert!(world.actions.runs().is_empty());
    assert_eq!(d.state, DeploymentState::Queued);
    // CircleCI's GitHub App project, through its pipeline definition, on the tag.
    assert_eq!(
        pipelines[0].project_slug,
        "circleci/8d1f3e2a-5c6b-4d7e-9f80-1a2b3c4d5e6f/a7c2b1d0-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
    );
    assert_eq!(
        pipelines[0].definition_id.as_deref(),
        Some("5b0e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b")
    );
    // Its completion webhook is matched by pipeline id, whatever the slug.
    let (status, body) = world.complete_pipeline(&pipelines[0].id, "success").await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(world.store_get(&d.id).await.state, DeploymentState::Success);
}

#[tokio::test]
async fn githubs_example_payloads_follow_the_run_deploybot_dispatched() {
    let (world, d) = dispatched_on_actions('7').await;
    let run_id = d.pipeline_id.clone().expect("dispatched");
    let with_run = |name: &str| {
        let mut body = github_fixture(name);
        let key = if name.starts_with("workflow_run") {
            "workflow_run"
        } else {
            "workflow_job"
        };
        let id: u64 = run_id.parse().expect("a numeric run id");
        if key == "workflow_run" {
            body[key]["id"] = id.into();
        } else {
            body[key]["run_id"] = id.into();
        }
        body
    };
    let (status, text) = world
        .github_event("workflow_job", &with_run("workflow_job.waiting.json"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    let waiting = world.store_get(&d.id).await;
    assert_eq!(waiting.state, DeploymentState::InProgress);
    assert!(
        waiting
            .description
            .as_deref()
            .is_some_and(|t| t.starts_with("waiting on GitHub reviewers")),
        "{:?}",
        waiting.description
    );
    let (status, text) = world
        .github_event("workflow_run", &with_run("workflow_run.completed.json"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    assert_eq!(world.store_get(&d.id).await.state, DeploymentState::Success);
    // The same examples for a run deploybot did not dispatch are acknowledged and ignored.
    for (event, name) in [
        ("workflow_run", "workflow_run.completed.json"),
        ("workflow_job", "workflow_job.waiting.json"),
    ] {
        let (status, text) = world.github_event(event, &github_fixture(name)).await;
        assert_eq!(status, StatusCode::OK, "{event}: {text}");
        assert!(text.contains("not dispatched by deploybot"), "{text}");
    }
}

/// A pipeline definition CircleCI does not know: the deployment ends `error` with a sentence
/// that says what to fix, and the lane is free for the next one.
#[tokio::test]
async fn a_definition_circleci_does_not_know_is_a_sentence_and_frees_the_lane() {
    let world = World::new().await;
    world
        .use_workflow_file(&sha('1'), Some(BOTH_BACKENDS))
        .await;
    world.ci.set_definitions(
        "circleci/8d1f3e2a-5c6b-4d7e-9f80-1a2b3c4d5e6f/a7c2b1d0-3e4f-4a5b-8c6d-7e8f9a0b1c2d",
        &["0f0f0f0f-0000-4000-8000-000000000000"],
    );
    world
        .github
        .set_tag(&repo(), "v1.3.0", &sha('e'), Some(AUTHOR));
    world
        .github_event("push", &tag_event("v1.3.0", &sha('e')))
        .await;
    world.announce_deployments().await;
    let d = world.only_deployment(Environment::Production).await;
    assert_eq!(d.state, DeploymentState::Error, "{d:#?}");
    let why = d.description.unwrap_or_default();
    assert!(
        why.starts_with("CircleCI did not start the pipeline"),
        "{why}"
    );
    assert!(
        why.contains("check `definition_id` under Project Settings → Pipelines"),
        "{why}"
    );
    assert!(world.ci.pipelines().is_empty(), "nothing started");
    assert_eq!(world.lane(Environment::Production).await.running, None);
}
