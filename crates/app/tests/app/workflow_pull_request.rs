//! The pull-request workflow end to end through the routers: PR opened → `pr<N>` GitHub
//! Deployment → pipeline → `workflow-completed` → success with both URLs → one Slack message
//! edited through every state → PR comment → PR closed → inactive. Also forks, redeliveries,
//! bad signatures and malformed payloads.

use crate::workflow_support::*;
use axum::http::StatusCode;
use deploybot_core::lane::LaneKey;
use deploybot_core::ports::LaneStore;
use deploybot_core::signature::SigningSecret;
use deploybot_core::{DeploymentState, Environment, GitRef};
use deploybot_testkit::fakes::circleci::PipelineTarget;
use deploybot_testkit::signing::github_request;
use serde_json::json;

#[tokio::test]
async fn a_pull_request_is_deployed_reported_and_retired() {
    let world = World::new().await;
    world.link_author().await;
    let sha = pr_sha();
    world
        .github
        .set_branch(&repo(), "feature/login", &sha, Some(AUTHOR));

    // PR opened → a GitHub Deployment to pr42, transient, with our ids in its payload.
    let (status, body) = world
        .github_event(
            "pull_request",
            &pr_event("opened", 42, "feature/login", &sha),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let created = world.only_deployment(Environment::PullRequest(42)).await;
    assert_eq!(created.state, DeploymentState::Created);
    assert_eq!(created.git_ref, GitRef::Branch("feature/login".into()));
    assert_eq!(created.pr_number, Some(42));
    let on_github = world.github_deployment(&created);
    assert_eq!(on_github.environment, "pr42");
    assert!(on_github.transient_environment);
    assert!(!on_github.production_environment);
    assert_eq!(
        on_github.auto_merge,
        Some(false),
        "auto_merge must be sent as false"
    );
    assert_eq!(
        on_github.required_contexts, None,
        "required_contexts must be omitted so GitHub checks them"
    );
    assert_eq!(on_github.sha, sha);
    assert_eq!(on_github.payload["deployment_id"], created.id.as_str());
    assert_eq!(on_github.payload["pr_number"], 42);
    assert_eq!(
        on_github.payload["pr_url"],
        "https://github.com/acme/web/pull/42"
    );

    // GitHub announces the deployment → the pipeline starts on the PR branch.
    assert_eq!(world.announce_deployments().await, 1);
    let pipelines = world.ci.pipelines();
    assert_eq!(pipelines.len(), 1);
    let pipeline = &pipelines[0];
    assert_eq!(
        pipeline.target,
        PipelineTarget::Branch("feature/login".into())
    );
    assert_eq!(pipeline.parameter("environment").as_deref(), Some("pr42"));
    assert_eq!(
        pipeline.parameter("version").as_deref(),
        Some(format!("pr42-{}", &PR_SHA[..10]).as_str())
    );
    assert_eq!(pipeline.parameter("subdomain").as_deref(), Some("pr42"));
    assert_eq!(
        pipeline.parameter("url").as_deref(),
        Some("https://pr42.example.com/")
    );
    assert_eq!(pipeline.parameter("sha").as_deref(), Some(PR_SHA));
    assert_eq!(
        pipeline.parameter("deployment_id").as_deref(),
        Some(created.id.as_str())
    );
    let queued = world.only_deployment(Environment::PullRequest(42)).await;
    assert_eq!(queued.state, DeploymentState::Queued);
    assert_eq!(queued.pipeline_id.as_deref(), Some(pipeline.id.as_str()));
    assert_eq!(queued.pipeline_number, Some(pipeline.number));
    assert!(queued.build_url.is_some());
    assert_eq!(world.github_states(&queued), ["queued"]);

    // CircleCI reports success → GitHub gets success with both URLs.
    let (status, body) = world.complete_pipeline(&pipeline.id, "success").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let done = world.only_deployment(Environment::PullRequest(42)).await;
    assert_eq!(done.state, DeploymentState::Success);
    let statuses = world
        .github
        .statuses(&repo(), done.github_deployment_id.expect("github id"));
    let last = statuses.last().expect("a status");
    assert_eq!(last.state, "success");
    assert_eq!(
        last.environment_url.as_deref(),
        Some("https://pr42.example.com/")
    );
    let log_url = last.log_url.as_deref().expect("a log url");
    assert!(log_url.contains("/workflows/"), "{log_url}");

    // One Slack message, edited through every state, the author @-mentioned.
    let messages = world.messages();
    assert_eq!(messages.len(), 1, "one message per deployment");
    let versions: Vec<String> = messages[0].versions.iter().map(message_text).collect();
    let position = |label: &str| {
        versions
            .iter()
            .position(|v| v.contains(label))
            .unwrap_or_else(|| panic!("a version says {label}: {versions:#?}"))
    };
    assert!(position("*pr42* created") < position("*pr42* queued"));
    assert!(position("*pr42* queued") < position("*pr42* succeeded"));
    let latest = versions.last().expect("a version");
    assert!(latest.contains("*pr42* succeeded"), "{latest}");
    assert!(latest.contains(&format!("<@{AUTHOR_SLACK}>")), "{latest}");
    assert!(latest.contains("https://pr42.example.com/"), "{latest}");
    assert!(latest.contains(log_url), "{latest}");

    // The PR comment with the environment link.
    let comments = world.github.comments(&repo(), 42);
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0]
            .body
            .contains("<!-- deploybot:pr-environment -->")
    );
    assert!(comments[0].body.contains("https://pr42.example.com/"));

    // GitHub echoes our own statuses back: nothing changes.
    let echo = deployment_status_event(&world.github_deployment(&done), "success");
    let (status, body) = world.github_event("deployment_status", &echo).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        world.messages()[0].versions.len(),
        messages[0].versions.len()
    );

    // PR closed → inactive on GitHub, in the record and in Slack.
    let (status, body) = world
        .github_event(
            "pull_request",
            &pr_event("closed", 42, "feature/login", &sha),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let closed = world.only_deployment(Environment::PullRequest(42)).await;
    assert_eq!(closed.state, DeploymentState::Inactive);
    assert_eq!(
        world.github_states(&closed).last().map(String::as_str),
        Some("inactive")
    );
    let messages = world.messages();
    assert_eq!(messages.len(), 1);
    let latest = message_text(messages[0].latest().expect("a version"));
    assert!(latest.contains("*pr42* inactive"), "{latest}");
    assert!(latest.contains("pull request closed"), "{latest}");
    // Nothing is left in its lane, so the lane is gone: the repository's lanes do not grow
    // with its pull requests.
    let lane_key = LaneKey {
        repository: repo(),
        environment: Environment::PullRequest(42),
    };
    assert_eq!(
        world.store.get_lane(&lane_key).await.expect("get_lane"),
        None
    );
    assert!(
        world
            .store
            .lanes_of(&repo())
            .await
            .expect("lanes_of")
            .iter()
            .all(|l| l.lane.environment != Environment::PullRequest(42))
    );
    // Reopened, it deploys again from a new lane.
    let (status, body) = world
        .github_event(
            "pull_request",
            &pr_event("reopened", 42, "feature/login", &sha),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(world.finish_everything("success").await, 1);
    assert_eq!(
        world
            .deployments_in(Environment::PullRequest(42))
            .await
            .iter()
            .filter(|d| d.state == DeploymentState::Success)
            .count(),
        1
    );
    world.assert_no_failures();
}

/// Pushes to a pull request while its deployment runs: the running one is never cut off —
/// it finishes — the pushes wait in the lane, the newest supersedes the one before it, and it
/// deploys when the lane is free.
#[tokio::test]
async fn new_pushes_to_the_pull_request_wait_for_the_deployment_in_flight_and_the_newest_goes() {
    let world = World::new().await;
    let (first, second, third) = (pr_sha(), sha('e'), sha('f'));
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
    for next in [&second, &third] {
        world
            .github
            .set_branch(&repo(), "feature/login", next, Some(AUTHOR));
        world.clock.advance_secs(60);
        let (status, body) = world
            .github_event(
                "pull_request",
                &pr_event("synchronize", 7, "feature/login", next),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }

    let all = world.deployments_in(Environment::PullRequest(7)).await;
    assert_eq!(all.len(), 3);
    let (newest, middle, running) = (&all[0], &all[1], &all[2]);
    assert_eq!(
        (newest.sha.clone(), middle.sha.clone(), running.sha.clone()),
        (third.clone(), second.clone(), first.clone())
    );
    assert_eq!(running.state, DeploymentState::Queued, "still running");
    assert_eq!(newest.state, DeploymentState::Ready, "in line");
    assert_eq!(middle.state, DeploymentState::Superseded);
    assert_eq!(
        middle.description.as_deref(),
        Some(format!("superseded by `{}`", third.short()).as_str())
    );
    assert!(
        middle.github_deployment_id.is_none(),
        "never reached GitHub"
    );
    assert_eq!(world.github.deployments(&repo()).len(), 1);

    // The running one finishes; then the newest deploys.
    let pipeline = running.pipeline_id.clone().expect("it had started");
    world.complete_pipeline(&pipeline, "success").await;
    assert_eq!(
        world.store_get(&running.id).await.state,
        DeploymentState::Success
    );
    let newest = world.store_get(&newest.id).await;
    assert_eq!(newest.state, DeploymentState::Created);
    assert_eq!(world.github.deployments(&repo()).len(), 2);
    world.finish_everything("success").await;
    assert_eq!(
        world.store_get(&newest.id).await.state,
        DeploymentState::Success
    );
    assert_eq!(
        world.lane(Environment::PullRequest(7)).await.current,
        Some(newest.id.clone())
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn fork_pull_requests_are_declined_in_the_channel() {
    let world = World::new().await;
    let mut event = pr_event("opened", 9, "patch-1", &pr_sha());
    event["pull_request"]["head"]["repo"]["full_name"] = json!("mallory/web");
    event["pull_request"]["head"]["label"] = json!("mallory:patch-1");
    let (status, body) = world.github_event("pull_request", &event).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert!(world.deployments().await.is_empty());
    assert!(world.github.deployments(&repo()).is_empty());
    let messages = world.messages();
    assert_eq!(messages.len(), 1);
    let text = message_text(messages[0].latest().expect("a version"));
    assert!(text.contains("#9") && text.contains("fork"), "{text}");

    // Every later push to the fork's pull request is declined too, without a word more: the
    // channel was told once for this pull request.
    let mut pushed = event.clone();
    pushed["action"] = json!("synchronize");
    pushed["pull_request"]["head"]["sha"] = json!(sha('e').to_string());
    for _ in 0..2 {
        let (status, body) = world.github_event("pull_request", &pushed).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("told already"), "{body}");
    }
    assert_eq!(world.messages().len(), 1, "said once per pull request");

    // A deleted fork (head.repo null) is a fork too.
    event["pull_request"]["head"]["repo"] = json!(null);
    let (status, _) = world.github_event("pull_request", &event).await;
    assert!(status.is_success());
    assert!(world.github.deployments(&repo()).is_empty());

    // Another fork's pull request is told about on its own.
    let mut other = pr_event("opened", 10, "patch-2", &pr_sha());
    other["pull_request"]["head"]["repo"]["full_name"] = json!("eve/web");
    let (status, _) = world.github_event("pull_request", &other).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(world.messages().len(), 2);
    world.assert_no_failures();
}

#[tokio::test]
async fn a_redelivered_webhook_has_one_effect() {
    let world = World::new().await;
    world
        .github
        .set_branch(&repo(), "feature/login", &pr_sha(), None);
    let event = pr_event("opened", 42, "feature/login", &pr_sha());
    let delivery = world.delivery_id();
    let (first, _) = world
        .github_delivery("pull_request", &delivery, &event)
        .await;
    world.settle().await;
    let (second, body) = world
        .github_delivery("pull_request", &delivery, &event)
        .await;
    world.settle().await;
    assert_eq!(first, StatusCode::ACCEPTED);
    assert_eq!(second, StatusCode::OK);
    assert!(body.contains("already handled"), "{body}");
    assert_eq!(world.github.deployments(&repo()).len(), 1);
    assert_eq!(world.deployments().await.len(), 1);
    assert_eq!(world.messages().len(), 1);

    // The same for CircleCI: a repeated workflow-completed event id has one effect.
    world.announce_deployments().await;
    let pipeline = world.ci.pipelines()[0].id.clone();
    let request = world
        .ci
        .completion_payload(&pipeline, "success", &SigningSecret::new(CIRCLECI_SECRET))
        .expect("known pipeline");
    let (first, _) = world
        .send_signed("/circleci/webhook", request.clone())
        .await;
    world.settle().await;
    let (again, body) = world.send_signed("/circleci/webhook", request).await;
    world.settle().await;
    assert_eq!(first, StatusCode::ACCEPTED);
    assert_eq!(again, StatusCode::OK, "{body}");
    let d = world.only_deployment(Environment::PullRequest(42)).await;
    assert_eq!(
        world
            .github_states(&d)
            .iter()
            .filter(|s| *s == "success")
            .count(),
        1
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn bad_github_signatures_are_refused_without_a_trace() {
    let world = World::new().await;
    world
        .github
        .set_branch(&repo(), "feature/login", &pr_sha(), None);
    let event = pr_event("opened", 42, "feature/login", &pr_sha());
    let delivery = world.delivery_id();
    let signed = github_request(
        &SigningSecret::new(GITHUB_SECRET),
        "pull_request",
        &delivery,
        &event,
    );
    let wrong_secret = github_request(
        &SigningSecret::new("not-the-secret"),
        "pull_request",
        &delivery,
        &event,
    );
    let mut tampered = signed.clone();
    tampered.body = pr_event("opened", 43, "feature/login", &pr_sha())
        .to_string()
        .into_bytes();
    let unsigned = signed.clone().with_header("x-hub-signature-256", "");
    let malformed = signed
        .clone()
        .with_header("x-hub-signature-256", "sha1=abc");
    for request in [wrong_secret, tampered, unsigned, malformed] {
        let (status, _) = world.send_signed("/github/webhook", request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    world.settle().await;
    assert!(world.deployments().await.is_empty());
    assert!(world.github.deployments(&repo()).is_empty());
    assert!(world.messages().is_empty());
    // The refused attempts left no delivery record: the genuine delivery goes through.
    let (status, body) = world.send_signed("/github/webhook", signed).await;
    world.settle().await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(world.deployments().await.len(), 1);
}

#[tokio::test]
async fn pings_unknown_events_strangers_and_malformed_payloads() {
    let world = World::new().await;
    let (status, body) = world
        .github_event("ping", &github_fixture("ping.json"))
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "pong"));

    let (status, body) = world
        .github_event(
            "issues",
            &json!({"action": "opened", "repository": {"full_name": REPO}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("ignored"), "{body}");

    let mut stranger = pr_event("opened", 1, "x", &pr_sha());
    stranger["repository"]["full_name"] = json!("someone/else");
    let (status, body) = world.github_event("pull_request", &stranger).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("no channel follows someone/else"), "{body}");

    let mut headless = pr_event("opened", 1, "x", &pr_sha());
    headless["pull_request"]
        .as_object_mut()
        .expect("object")
        .remove("head");
    let (status, body) = world.github_event("pull_request", &headless).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("missing field `head`"), "{body}");

    let mut bad_sha = pr_event("opened", 1, "x", &pr_sha());
    bad_sha["pull_request"]["head"]["sha"] = json!("not-a-sha");
    let (status, body) = world.github_event("pull_request", &bad_sha).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("pull_request.head.sha"), "{body}");

    let (status, _) = world
        .send_signed(
            "/github/webhook",
            github_request(
                &SigningSecret::new(GITHUB_SECRET),
                "push",
                &world.delivery_id(),
                &json!("just a string"),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(world.deployments().await.is_empty());
    world.assert_no_failures();
}

/// The pull request closes while its deployment runs and a newer push waits: the waiting one is
/// `cancelled` ("pull request closed", it never ran), the running one `inactive`, and the lane
/// is free.
#[tokio::test]
async fn closing_the_pull_request_cancels_what_waits_in_its_lane() {
    let world = World::new().await;
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
    world
        .github_event(
            "pull_request",
            &pr_event("closed", 7, "feature/login", &second),
        )
        .await;

    let all = world.deployments_in(Environment::PullRequest(7)).await;
    assert_eq!(all[0].state, DeploymentState::Cancelled, "{:#?}", all[0]);
    assert_eq!(all[0].description.as_deref(), Some("pull request closed"));
    assert!(all[0].github_deployment_id.is_none(), "it never ran");
    assert_eq!(all[1].state, DeploymentState::Inactive);
    let lane = world.lane(Environment::PullRequest(7)).await;
    assert_eq!(lane.running, None);
    world.assert_no_failures();
}
