//! Pushes, tags and manual deployments through the routers and the invoked functions: push
//! to main → preview, release branch → test, tag → production, branch deletions ignored,
//! `deploy <sha> to staging` refused before test passed and accepted after, promotion of the
//! latest test deployment, and retried invokes that must not repeat their effect.

use crate::workflow_support::*;
use axum::http::StatusCode;
use deploybot_core::invoke::{
    CircleciTriggerRequest, DeploymentCreateRequest, ManualDeploymentRequest, NewDeploymentRequest,
};
use deploybot_core::{DeploymentState, Environment, GitRef, SlackUserId, Trigger};
use deploybot_testkit::fakes::circleci::PipelineTarget;
use serde_json::json;

fn asker() -> SlackUserId {
    SlackUserId::parse("U0OPS").expect("valid user")
}

/// Runs the deployment `GitHub announces → pipeline → CircleCI reports status` cycle.
async fn run_pipeline(world: &World, environment: Environment, outcome: &str) {
    world.announce_deployments().await;
    let d = world.deployments_in(environment).await.remove(0);
    let pipeline = d.pipeline_id.expect("pipeline started");
    let (status, body) = world.complete_pipeline(&pipeline, outcome).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

#[tokio::test]
async fn pushes_and_tags_deploy_per_the_policy() {
    let world = World::new().await;
    world.link_author().await;
    let main = sha('a');
    let release = sha('b');
    let tagged = sha('c');
    world
        .github
        .set_branch(&repo(), "main", &main, Some(AUTHOR));
    world
        .github
        .set_branch(&repo(), "release-1.4", &release, Some(AUTHOR));
    world
        .github
        .set_tag(&repo(), "v1.4.0", &tagged, Some(AUTHOR));

    // main → preview
    let (status, body) = world
        .github_event("push", &push_event("refs/heads/main", &main))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let preview = world.only_deployment(Environment::Preview).await;
    assert_eq!(preview.sha, main);
    assert_eq!(
        preview.trigger,
        Trigger::Push {
            pusher: Some(AUTHOR.parse().expect("login"))
        }
    );
    let on_github = world.github_deployment(&preview);
    assert_eq!(on_github.environment, "preview");
    assert!(!on_github.transient_environment && !on_github.production_environment);

    // release* → test
    world
        .github_event("push", &push_event("refs/heads/release-1.4", &release))
        .await;
    let test = world.only_deployment(Environment::Test).await;
    assert_eq!(test.sha, release);
    assert_eq!(test.git_ref, GitRef::Branch("release-1.4".into()));

    // an annotated tag v* → production, deploying the commit the tag points at
    world
        .github_event("push", &tag_event("v1.4.0", &tagged))
        .await;
    let production = world.only_deployment(Environment::Production).await;
    assert_eq!(production.sha, tagged);
    assert_eq!(production.git_ref, GitRef::Tag("v1.4.0".into()));
    assert!(matches!(production.trigger, Trigger::Tag { .. }));
    assert!(world.github_deployment(&production).production_environment);

    // Each pipeline runs on its branch or tag with the parameters docs/workflow.md lists.
    world.announce_deployments().await;
    let pipelines = world.ci.pipelines();
    assert_eq!(pipelines.len(), 3);
    let by_env = |env: &str| {
        pipelines
            .iter()
            .find(|p| p.parameter("environment").as_deref() == Some(env))
            .unwrap_or_else(|| panic!("a pipeline for {env}"))
    };
    let p = by_env("preview");
    assert_eq!(p.target, PipelineTarget::Branch("main".into()));
    assert_eq!(
        p.parameter("version").as_deref(),
        Some("preview-aaaaaaaaaa")
    );
    assert_eq!(
        p.parameter("url").as_deref(),
        Some("https://preview.example.com/")
    );
    let p = by_env("test");
    assert_eq!(p.target, PipelineTarget::Branch("release-1.4".into()));
    assert_eq!(p.parameter("subdomain").as_deref(), Some("test"));
    let p = by_env("production");
    assert_eq!(p.target, PipelineTarget::Tag("v1.4.0".into()));
    assert_eq!(p.parameter("version").as_deref(), Some("v1.4.0"));
    assert_eq!(
        p.parameter("subdomain"),
        None,
        "no subdomain for production"
    );
    assert_eq!(p.parameter("sha").as_deref(), Some(tagged.as_str()));

    // One message per deployment, the pusher and author @-mentioned.
    let messages = world.messages();
    assert_eq!(messages.len(), 3);
    for m in &messages {
        let text = message_text(m.latest().expect("a version"));
        assert!(text.contains(&format!("<@{AUTHOR_SLACK}>")), "{text}");
    }
    world.assert_no_failures();
}

#[tokio::test]
async fn deletions_empty_pushes_and_other_branches_are_ignored() {
    let world = World::new().await;
    let mut deleted = push_event("refs/heads/release-1.4", &sha('b'));
    deleted["deleted"] = json!(true);
    deleted["after"] = json!("0".repeat(40));
    deleted["head_commit"] = json!(null);
    deleted["commits"] = json!([]);
    let mut empty = push_event("refs/heads/main", &sha('a'));
    empty["commits"] = json!([]);
    for event in [
        deleted,
        empty,
        push_event("refs/heads/feature/x", &sha('d')),
        tag_event("nightly", &sha('e')),
    ] {
        let (status, body) = world.github_event("push", &event).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.starts_with("ignored"), "{body}");
    }
    assert!(world.deployments().await.is_empty());
    assert!(world.messages().is_empty());
}

fn manual(
    world: &World,
    environment: Environment,
    git_ref: Option<&str>,
    reply: &str,
) -> DeploymentCreateRequest {
    DeploymentCreateRequest::Manual(ManualDeploymentRequest {
        repository: repo(),
        deployment_id: world.state.new_deployment_id(),
        environment,
        git_ref: git_ref.map(|r| GitRef::parse(r).expect("valid ref")),
        trigger: Trigger::Manual {
            slack_user: asker(),
        },
        channel: channel(),
        response_url: Some(world.slack.response_url(reply)),
        confirmed_bad: false,
        promotion: false,
        freeze_override: None,
    })
}

#[tokio::test]
async fn staging_takes_only_a_commit_that_passed_test() {
    let world = World::new().await;
    let release = sha('b');
    world
        .github
        .set_branch(&repo(), "release-1.4", &release, Some(AUTHOR));
    world
        .github_event("push", &push_event("refs/heads/release-1.4", &release))
        .await;
    world.announce_deployments().await;

    // Test has not passed yet: refused through response_url with the policy's words.
    let answer = world
        .call(&manual(
            &world,
            Environment::Staging,
            Some("bbbbbbb"),
            "early",
        ))
        .await;
    let refusal = answer.refused.expect("refused");
    assert!(
        refusal.contains("no successful test deployment"),
        "{refusal}"
    );
    let responses = world.slack.responses();
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0].id, "early");
    assert!(responses[0].response.ephemeral);
    assert!(message_text(&responses[0].response.message).contains("bbbbbbb"));
    assert!(world.deployments_in(Environment::Staging).await.is_empty());

    // Test passes: the "Deploy to staging" button appears, and staging is accepted.
    run_pipeline(&world, Environment::Test, "success").await;
    let test = world.only_deployment(Environment::Test).await;
    let test_message = world
        .messages()
        .into_iter()
        .find(|m| Some(&m.ts) == test.slack_ts.as_ref())
        .expect("test's message");
    let text = message_text(test_message.latest().expect("a version"));
    assert!(
        text.contains("Deploy to staging") && text.contains(test.id.as_str()),
        "{text}"
    );

    let answer = world
        .call(&manual(
            &world,
            Environment::Staging,
            Some("bbbbbbb"),
            "later",
        ))
        .await;
    assert_eq!(answer.refused, None);
    let staging = world.only_deployment(Environment::Staging).await;
    assert_eq!(staging.sha, release);
    assert_eq!(answer.deployment_id.as_ref(), Some(&staging.id));
    assert_eq!(
        staging.trigger,
        Trigger::Manual {
            slack_user: asker()
        }
    );
    assert_eq!(
        staging.commit_author.as_ref().map(|a| a.as_str()),
        Some(AUTHOR)
    );
    // The pipeline of a bare SHA runs on the branch the commit was tested from.
    world.announce_deployments().await;
    let pipeline = world
        .ci
        .pipelines()
        .into_iter()
        .find(|p| p.parameter("environment").as_deref() == Some("staging"))
        .expect("a staging pipeline");
    assert_eq!(
        pipeline.target,
        PipelineTarget::Branch("release-1.4".into())
    );
    assert_eq!(pipeline.parameter("sha").as_deref(), Some(release.as_str()));
    world.assert_no_failures();
}

#[tokio::test]
async fn default_sources_and_policy_refusals() {
    let world = World::new().await;
    let release = sha('b');
    let main = sha('a');
    world
        .github
        .set_branch(&repo(), "release-2", &release, None);
    world.github.set_branch(&repo(), "main", &main, None);

    // Nothing to promote yet.
    let answer = world
        .call(&manual(&world, Environment::Staging, None, "promote-early"))
        .await;
    assert!(
        answer
            .refused
            .expect("refused")
            .contains("no successful test deployment to promote")
    );

    // Production only takes tags; unknown refs are named.
    let answer = world
        .call(&manual(
            &world,
            Environment::Production,
            Some("main"),
            "prod",
        ))
        .await;
    assert!(answer.refused.expect("refused").contains("only takes"));
    let answer = world
        .call(&manual(
            &world,
            Environment::Test,
            Some("no-such-branch"),
            "typo",
        ))
        .await;
    assert!(
        answer
            .refused
            .expect("refused")
            .contains("could not find `no-such-branch`")
    );
    assert_eq!(world.slack.responses().len(), 3);
    assert!(world.deployments().await.is_empty());

    // preview with no ref deploys the default branch.
    let answer = world
        .call(&manual(&world, Environment::Preview, None, "preview"))
        .await;
    assert_eq!(answer.refused, None);
    let preview = world.only_deployment(Environment::Preview).await;
    assert_eq!(preview.sha, main);
    assert_eq!(preview.git_ref, GitRef::Branch("main".into()));

    // staging with no ref promotes the latest successful test deployment.
    world
        .github_event("push", &push_event("refs/heads/release-2", &release))
        .await;
    run_pipeline(&world, Environment::Test, "success").await;
    let answer = world
        .call(&manual(&world, Environment::Staging, None, "promote"))
        .await;
    assert_eq!(answer.refused, None);
    let staging = world.only_deployment(Environment::Staging).await;
    assert_eq!(staging.sha, release);
    assert_eq!(staging.git_ref, GitRef::Branch("release-2".into()));
    world.assert_no_failures();
}

#[tokio::test]
async fn retried_invokes_create_one_github_deployment_and_one_pipeline() {
    let world = World::new().await;
    let release = sha('b');
    world
        .github
        .set_branch(&repo(), "release-1.4", &release, None);
    let request = DeploymentCreateRequest::New(NewDeploymentRequest {
        repository: repo(),
        deployment_id: world.state.new_deployment_id(),
        environment: Environment::Test,
        git_ref: GitRef::Branch("release-1.4".into()),
        sha: release.clone(),
        trigger: Trigger::Push { pusher: None },
        commit_author: None,
        pr_url: None,
        channel: channel(),
        check_workflow_file: None,
    });
    let first = world.call(&request).await;
    let second = world.call(&request).await;
    assert_eq!(first.deployment_id, second.deployment_id);
    assert_eq!(second.state, Some(DeploymentState::Created));
    assert_eq!(world.github.deployments(&repo()).len(), 1);
    assert_eq!(world.deployments().await.len(), 1);
    assert_eq!(world.messages().len(), 1);

    let d = world.only_deployment(Environment::Test).await;
    let trigger = CircleciTriggerRequest {
        repository: repo(),
        deployment_id: d.id.clone(),
    };
    let started = world.call(&trigger).await;
    let again = world.call(&trigger).await;
    assert_eq!(started.state, DeploymentState::Queued);
    assert_eq!(again.pipeline_id, started.pipeline_id);
    assert_eq!(world.ci.pipelines().len(), 1);
    // GitHub's own `deployment` event for it arrives too: still one pipeline.
    world.announce_deployments().await;
    assert_eq!(world.ci.pipelines().len(), 1);
    assert_eq!(
        world.github_states(&world.store_get(&d.id).await),
        ["queued"]
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn a_deployment_message_is_edited_only_when_what_it_shows_changes() {
    use deploybot_testkit::fakes::slack::method;
    let world = World::new().await;
    let main = sha('a');
    world
        .github
        .set_branch(&repo(), "main", &main, Some(AUTHOR));

    // in line (posted) → dispatched, GitHub deployment created → queued → success.
    world
        .github_event("push", &push_event("refs/heads/main", &main))
        .await;
    run_pipeline(&world, Environment::Preview, "success").await;

    let calls = world.slack.calls();
    let count = |name: &str| calls.iter().filter(|c| c.as_str() == name).count();
    assert_eq!(count(method::POST_MESSAGE), 1, "{calls:?}");
    assert_eq!(
        count(method::UPDATE),
        3,
        "one edit each for created, queued and success: {calls:?}"
    );
    let messages = world.messages();
    assert_eq!(messages.len(), 1);
    let versions = &messages[0].versions;
    assert!(
        versions.windows(2).all(|pair| pair[0] != pair[1]),
        "no edit repeats the previous version: {versions:#?}"
    );
    assert_eq!(
        world.only_deployment(Environment::Preview).await.state,
        DeploymentState::Success
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn a_newer_success_makes_the_older_success_inactive_everywhere() {
    let world = World::new().await;
    let (first, second) = (sha('a'), sha('d'));

    // Two successive successful preview deployments.
    world
        .github
        .set_branch(&repo(), "main", &first, Some(AUTHOR));
    world
        .github_event("push", &push_event("refs/heads/main", &first))
        .await;
    run_pipeline(&world, Environment::Preview, "success").await;
    world.clock.advance_secs(60);
    world
        .github
        .set_branch(&repo(), "main", &second, Some(AUTHOR));
    world
        .github_event("push", &push_event("refs/heads/main", &second))
        .await;
    // While the newer one runs, the older success is still what preview runs.
    let all = world.deployments_in(Environment::Preview).await;
    assert_eq!(all[1].state, DeploymentState::Success);
    run_pipeline(&world, Environment::Preview, "success").await;

    let all = world.deployments_in(Environment::Preview).await;
    assert_eq!(all.len(), 2);
    let (newer, older) = (&all[0], &all[1]);
    assert_eq!((newer.sha.clone(), older.sha.clone()), (second, first));
    assert_eq!(newer.state, DeploymentState::Success);
    // The record: inactive, superseded by the newer one, still known to have succeeded.
    assert_eq!(older.state, DeploymentState::Inactive);
    assert_eq!(
        older.description.as_deref(),
        Some(format!("superseded by {}", newer.id).as_str())
    );
    assert!(older.succeeded_at.is_some() && older.has_succeeded());
    // GitHub: the older deployment's last status is inactive (statuses are written with
    // auto_inactive false, so deploybot writes it).
    assert_eq!(
        world.github_states(older),
        ["queued", "success", "inactive"]
    );
    assert_eq!(world.github_states(newer), ["queued", "success"]);
    // Slack: the older message shows it inactive and superseded.
    let text_of = |d: &deploybot_core::Deployment| {
        let message = world
            .messages()
            .into_iter()
            .find(|m| Some(&m.ts) == d.slack_ts.as_ref())
            .expect("its message");
        message_text(message.latest().expect("a version"))
    };
    let old_text = text_of(older);
    assert!(
        old_text.contains("inactive") && old_text.contains(&format!("superseded by {}", newer.id)),
        "{old_text}"
    );
    assert!(text_of(newer).contains("succeeded"), "{}", text_of(newer));
    world.assert_no_failures();
}

#[tokio::test]
async fn a_commit_whose_test_deployment_was_superseded_can_still_go_to_staging() {
    let world = World::new().await;
    let (tested, newer) = (sha('b'), sha('c'));
    for commit in [&tested, &newer] {
        world
            .github
            .set_branch(&repo(), "release-1.4", commit, Some(AUTHOR));
        world
            .github_event("push", &push_event("refs/heads/release-1.4", commit))
            .await;
        run_pipeline(&world, Environment::Test, "success").await;
        world.clock.advance_secs(60);
    }
    let all = world.deployments_in(Environment::Test).await;
    assert_eq!(all[1].sha, tested);
    assert_eq!(all[1].state, DeploymentState::Inactive, "superseded");

    let answer = world
        .call(&manual(
            &world,
            Environment::Staging,
            Some("bbbbbbb"),
            "promote-superseded",
        ))
        .await;
    assert_eq!(answer.refused, None);
    let staging = world.only_deployment(Environment::Staging).await;
    assert_eq!(staging.sha, tested);
    world.assert_no_failures();
}

/// A branch created at a commit that already exists (`git push origin main:release-1.5`)
/// brings no commits, and a force-push back to an earlier commit neither: both deploy the
/// branch's head, so the environment shows what the branch now holds.
#[tokio::test]
async fn a_branch_created_at_an_existing_commit_and_a_forced_rewind_deploy_their_head() {
    let world = World::new().await;
    let head = sha('a');
    world
        .github
        .set_branch(&repo(), "release-1.5", &head, Some(AUTHOR));
    let mut created = push_event("refs/heads/release-1.5", &head);
    created["created"] = true.into();
    created["commits"] = serde_json::json!([]);
    let (status, body) = world.github_event("push", &created).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let d = world.only_deployment(Environment::Test).await;
    assert_eq!((d.sha.clone(), d.state), (head, DeploymentState::Created));

    let earlier = sha('9');
    world
        .github
        .set_branch(&repo(), "main", &earlier, Some(AUTHOR));
    let mut forced = push_event("refs/heads/main", &earlier);
    forced["forced"] = true.into();
    forced["commits"] = serde_json::json!([]);
    let (status, body) = world.github_event("push", &forced).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let d = world.only_deployment(Environment::Preview).await;
    assert_eq!(d.sha, earlier);
    world.assert_no_failures();
}

/// A ref typed by its bare name is looked up as a branch, then as a tag: `deploy v1.3.0 to
/// preview` records the tag and its pipeline runs on the tag, not on a branch named `v1.3.0`.
#[tokio::test]
async fn a_tag_typed_by_its_bare_name_deploys_and_runs_as_the_tag() {
    use deploybot_core::GitRef;
    use deploybot_testkit::fakes::circleci::PipelineTarget;
    let world = World::new().await;
    let tagged = sha('c');
    world
        .github
        .set_tag(&repo(), "v1.3.0", &tagged, Some(AUTHOR));
    world.slash("U0ANA", "deploy v1.3.0 to preview").await;
    world.settle().await;
    let d = world.only_deployment(Environment::Preview).await;
    assert_eq!(d.git_ref, GitRef::Tag("v1.3.0".into()), "{d:#?}");
    assert_eq!(d.sha, tagged);
    world.announce_deployments().await;
    let pipeline = world.ci.pipelines().pop().expect("a pipeline");
    assert_eq!(pipeline.target, PipelineTarget::Tag("v1.3.0".into()));
    world.assert_no_failures();
}
