//! A repository's `.github/deploybot.yml` in force: read on first use and when a push to the
//! default branch changes it (and at no other time), its environments deployed, an invalid
//! version refused with its line and told once, drafts following `drafts`.

use crate::workflow_support::*;
use axum::http::StatusCode;
use deploybot_core::workflow_file::WORKFLOW_PATH;
use deploybot_core::{DeploymentState, Environment, GitRef};
use serde_json::{Value, json};

const DEVELOP_TO_QA: &str = "\
version: 1
environments:
  pr:
    name: \"pr{number}\"
    on: pull_request
    drafts: false
  preview:
    on: { push: [default] }
  qa:
    on: { push: [develop] }
  live:
    on: { tag: [\"v{semver}\"] }
    production: true
    url: \"https://live.example.com/\"
";

fn qa() -> Environment {
    Environment::parse("qa").expect("a name")
}

fn ephemeral_text(answer: &Value) -> String {
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
    answer["text"].as_str().expect("a text").to_owned()
}

/// How many times GitHub was asked for the workflow file.
fn file_reads(world: &World) -> usize {
    world
        .github
        .calls()
        .iter()
        .filter(|c| c.contains(&format!("/contents/{WORKFLOW_PATH}")))
        .count()
}

fn channel_texts(world: &World) -> Vec<String> {
    world
        .messages()
        .iter()
        .filter_map(|m| m.latest().map(message_text))
        .collect()
}

#[tokio::test]
async fn a_file_that_maps_develop_to_qa_deploys_qa_and_config_shows_it() {
    let world = World::new().await;
    let main_head = sha('1');
    world
        .use_workflow_file(&main_head, Some(DEVELOP_TO_QA))
        .await;
    let develop = sha('d');
    world
        .github
        .set_branch(&repo(), "develop", &develop, Some(AUTHOR));

    // First use: the file is read (once), then the push is decided with it.
    let (status, body) = world
        .github_event("push", &push_event("refs/heads/develop", &develop))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(file_reads(&world), 1);
    let deployed = world.only_deployment(qa()).await;
    assert_eq!(deployed.git_ref, GitRef::Branch("develop".into()));
    assert_eq!(deployed.sha, develop);
    let on_github = world.github_deployment(&deployed);
    assert_eq!(on_github.environment, "qa");
    assert!(
        channel_texts(&world)
            .iter()
            .any(|t| t.contains("now follows `.github/deploybot.yml`"))
    );

    // `/cimon config` shows the workflow in force and where it comes from.
    let config = ephemeral_text(&world.slash(AUTHOR_SLACK, "config").await);
    assert!(
        config.contains(&format!(
            "from `.github/deploybot.yml` at commit `{}`",
            main_head.short()
        )),
        "{config}"
    );
    assert!(
        config.contains("`qa`: deployed by pushes to `develop`"),
        "{config}"
    );
    assert!(
        config.contains("`live`: deployed by tags `v{semver}`; production"),
        "{config}"
    );
    // `help` says what deploys where, from the same workflow.
    let help = ephemeral_text(&world.slash(AUTHOR_SLACK, "help").await);
    assert!(
        help.contains("`qa`: deployed by pushes to `develop`"),
        "{help}"
    );

    // The parse is cached and the file is not read again by events that do not change it:
    // a second push to develop, a push to main that does not touch the file.
    let again = sha('e');
    world
        .github
        .set_branch(&repo(), "develop", &again, Some(AUTHOR));
    world
        .github_event("push", &push_event("refs/heads/develop", &again))
        .await;
    let main_next = sha('2');
    world
        .github
        .set_branch(&repo(), "main", &main_next, Some(AUTHOR));
    world
        .github_event("push", &push_event("refs/heads/main", &main_next))
        .await;
    assert_eq!(file_reads(&world), 1, "no GitHub call per webhook");
    assert_eq!(world.deployments_in(qa()).await.len(), 2);
    assert_eq!(world.deployments_in(Environment::Preview).await.len(), 1);

    // The environments the file does not have are refused by hand, with the ones it has.
    let refused = ephemeral_text(&world.slash(AUTHOR_SLACK, "deploy main to staging").await);
    assert!(
        refused.contains("no `staging` environment") && refused.contains("`qa`"),
        "{refused}"
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn a_production_environment_of_the_file_is_production_on_github_and_in_its_url() {
    let world = World::new().await;
    world
        .use_workflow_file(&sha('1'), Some(DEVELOP_TO_QA))
        .await;
    let tagged = sha('7');
    world
        .github
        .set_tag(&repo(), "v2.0.0", &tagged, Some(AUTHOR));
    let (status, body) = world
        .github_event("push", &tag_event("v2.0.0", &tagged))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let live = Environment::parse("live").expect("a name");
    let deployed = world.only_deployment(live).await;
    assert_eq!(
        deployed.environment_url.as_deref(),
        Some("https://live.example.com/")
    );
    let on_github = world.github_deployment(&deployed);
    assert!(on_github.production_environment, "{on_github:?}");
    // The built-in `production` is not an environment of this repository: the tag went to
    // `live` only.
    assert!(
        world
            .deployments_in(Environment::Production)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_push_to_the_default_branch_that_changes_the_file_brings_it_into_force() {
    let world = World::new().await;
    // Read at setup: no file, the built-in workflow.
    let develop = sha('d');
    world
        .github
        .set_branch(&repo(), "develop", &develop, Some(AUTHOR));
    world
        .github_event("push", &push_event("refs/heads/develop", &develop))
        .await;
    assert!(
        world.deployments().await.is_empty(),
        "develop deploys nothing yet"
    );

    // The file lands on main: this push is read at its own commit and decided with it.
    let landed = sha('2');
    world
        .github
        .set_branch(&repo(), "main", &landed, Some(AUTHOR));
    world
        .github
        .set_file(&repo(), WORKFLOW_PATH, &landed, Some(DEVELOP_TO_QA));
    let (status, body) = world
        .github_event(
            "push",
            &push_changing("refs/heads/main", &landed, &[WORKFLOW_PATH]),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(file_reads(&world), 1);
    let project = world.project().await;
    let file = project
        .workflow
        .as_ref()
        .and_then(|w| w.file.as_ref())
        .expect("a file in force");
    assert_eq!(file.commit, landed);
    assert_eq!(world.deployments_in(Environment::Preview).await.len(), 1);

    let next = sha('e');
    world
        .github
        .set_branch(&repo(), "develop", &next, Some(AUTHOR));
    world
        .github_event("push", &push_event("refs/heads/develop", &next))
        .await;
    assert_eq!(world.deployments_in(qa()).await.len(), 1);

    // A branch other than the default one changing the file changes nothing: the file is
    // read from the default branch only.
    let elsewhere = sha('f');
    world
        .github
        .set_branch(&repo(), "feature/x", &elsewhere, Some(AUTHOR));
    world
        .github_event(
            "push",
            &push_changing("refs/heads/feature/x", &elsewhere, &[WORKFLOW_PATH]),
        )
        .await;
    assert_eq!(file_reads(&world), 1);
}

#[tokio::test]
async fn an_invalid_file_keeps_the_last_valid_one_and_the_channel_is_told_once() {
    let world = World::new().await;
    let good = sha('1');
    world.use_workflow_file(&good, Some(DEVELOP_TO_QA)).await;
    let develop = sha('d');
    world
        .github
        .set_branch(&repo(), "develop", &develop, Some(AUTHOR));
    world
        .github_event("push", &push_event("refs/heads/develop", &develop))
        .await;
    assert_eq!(world.deployments_in(qa()).await.len(), 1);
    let told_before = world.messages().len();

    // A broken version lands on main (an unknown key on line 10).
    let broken_text = DEVELOP_TO_QA.replace(
        "    on: { push: [develop] }",
        "    onn: { push: [develop] }",
    );
    for (i, hex) in ['3', '4'].into_iter().enumerate() {
        let at = sha(hex);
        world.github.set_branch(&repo(), "main", &at, Some(AUTHOR));
        world
            .github
            .set_file(&repo(), WORKFLOW_PATH, &at, Some(&broken_text));
        let (status, body) = world
            .github_event(
                "push",
                &push_changing("refs/heads/main", &at, &[WORKFLOW_PATH]),
            )
            .await;
        assert!(status.is_success(), "{body}");
        assert_eq!(file_reads(&world), 2 + i);
    }
    let texts = channel_texts(&world);
    let warnings: Vec<&String> = texts
        .iter()
        .filter(|t| t.contains("is not valid"))
        .collect();
    assert_eq!(warnings.len(), 1, "told once: {texts:#?}");
    assert!(
        warnings[0].contains("Line 10") && warnings[0].contains("`onn`"),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].contains("the last valid version stays in force"));
    assert!(world.messages().len() > told_before);

    // The last valid file is still in force: develop still deploys qa.
    let again = sha('e');
    world
        .github
        .set_branch(&repo(), "develop", &again, Some(AUTHOR));
    world
        .github_event("push", &push_event("refs/heads/develop", &again))
        .await;
    assert_eq!(world.deployments_in(qa()).await.len(), 2);
    let config = ephemeral_text(&world.slash(AUTHOR_SLACK, "config").await);
    assert!(
        config.contains(&format!("at commit `{}`", good.short()))
            && config.contains("is not valid, so it is not in force: line 10"),
        "{config}"
    );

    // Removing the file brings the built-in workflow back.
    let removed = sha('5');
    world
        .github
        .set_branch(&repo(), "main", &removed, Some(AUTHOR));
    world
        .github
        .set_file(&repo(), WORKFLOW_PATH, &removed, None);
    world
        .github_event(
            "push",
            &push_changing("refs/heads/main", &removed, &[WORKFLOW_PATH]),
        )
        .await;
    let config = ephemeral_text(&world.slash(AUTHOR_SLACK, "config").await);
    assert!(config.contains("the built-in workflow"), "{config}");
    world.assert_no_failures();
}

#[tokio::test]
async fn a_broken_file_never_in_force_leaves_the_builtin_workflow() {
    let world = World::new().await;
    world
        .use_workflow_file(&sha('1'), Some("version: 2\nenvironments: {}\n"))
        .await;
    let head = sha('2');
    world
        .github
        .set_branch(&repo(), "main", &head, Some(AUTHOR));
    let (status, body) = world
        .github_event("push", &push_event("refs/heads/main", &head))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    // The built-in workflow decided: main deploys preview.
    assert_eq!(world.deployments_in(Environment::Preview).await.len(), 1);
    let texts = channel_texts(&world);
    assert!(
        texts
            .iter()
            .any(|t| t.contains("the built-in workflow stays in force") && t.contains("Line 1")),
        "{texts:#?}"
    );
}

#[tokio::test]
async fn draft_pull_requests_wait_for_ready_for_review_when_the_file_says_so() {
    let world = World::new().await;
    world
        .use_workflow_file(&sha('1'), Some(DEVELOP_TO_QA))
        .await;
    world
        .github
        .set_branch(&repo(), "feature/login", &pr_sha(), Some(AUTHOR));
    let mut draft = pr_event("opened", 12, "feature/login", &pr_sha());
    draft["pull_request"]["draft"] = json!(true);
    world.github_event("pull_request", &draft).await;
    let mut pushed = draft.clone();
    pushed["action"] = json!("synchronize");
    world.github_event("pull_request", &pushed).await;
    assert!(world.deployments().await.is_empty(), "a draft waits");

    let mut ready = pr_event("ready_for_review", 12, "feature/login", &pr_sha());
    ready["pull_request"]["draft"] = json!(false);
    let (status, body) = world.github_event("pull_request", &ready).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let deployed = world.only_deployment(Environment::PullRequest(12)).await;
    assert_eq!(deployed.sha, pr_sha());
    assert_ne!(deployed.state, DeploymentState::Error);
}

#[tokio::test]
async fn without_the_file_drafts_deploy_as_they_always_did() {
    let world = World::new().await;
    world
        .github
        .set_branch(&repo(), "feature/login", &pr_sha(), Some(AUTHOR));
    let mut draft = pr_event("opened", 12, "feature/login", &pr_sha());
    draft["pull_request"]["draft"] = json!(true);
    let (status, body) = world.github_event("pull_request", &draft).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        world
            .deployments_in(Environment::PullRequest(12))
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn an_environment_named_with_spaces_deploys_and_commands_name_it_in_quotes() {
    let world = World::new().await;
    world
        .use_workflow_file(
            &sha('1'),
            Some("version: 1\nenvironments:\n  preview:\n    on: { push: [default] }\n  \"EU Frankfurt\":\n    on: { push: [develop] }\n"),
        )
        .await;
    let frankfurt = Environment::parse("eu frankfurt").expect("a name with a space");
    let push_develop = |hex: char| {
        let world = &world;
        async move {
            let head = sha(hex);
            world
                .github
                .set_branch(&repo(), "develop", &head, Some(AUTHOR));
            let (status, body) = world
                .github_event("push", &push_event("refs/heads/develop", &head))
                .await;
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        }
    };

    // The first push reads the file and deploys under the name; GitHub's environment keeps
    // the space.
    push_develop('d').await;
    let first = world.only_deployment(frankfurt.clone()).await;
    assert_eq!(world.github_deployment(&first).environment, "eu frankfurt");
    assert_eq!(world.finish_everything("success").await, 1);

    // Locked by its quoted name (typographic quotes here), with the hint to unlock it quoted
    // the same way.
    let taken = ephemeral_text(
        &world
            .slash(
                AUTHOR_SLACK,
                "lock \u{201C}EU Frankfurt\u{201D} for 1h testing",
            )
            .await,
    );
    assert!(taken.contains("*eu frankfurt*"), "{taken}");
    assert!(taken.contains("unlock \"eu frankfurt\"`"), "{taken}");
    // Unquoted, it is a usage answer that says how to name it.
    let unquoted = ephemeral_text(&world.slash(AUTHOR_SLACK, "unlock eu frankfurt").await);
    assert!(unquoted.contains("goes in quotes"), "{unquoted}");

    // The next push waits for the lock under that name.
    push_develop('e').await;
    let waiting = world
        .deployments_in(frankfurt.clone())
        .await
        .into_iter()
        .find(|d| d.sha == sha('e'))
        .expect("the second push's deployment");
    assert_eq!(waiting.state, DeploymentState::Waiting);
    assert_eq!(world.github.deployments(&repo()).len(), 1);

    // Unlocked by its quoted name, it deploys.
    let unlocked = ephemeral_text(&world.slash(AUTHOR_SLACK, "unlock \"eu frankfurt\"").await);
    assert!(
        unlocked.contains("*eu frankfurt* is unlocked"),
        "{unlocked}"
    );
    assert_eq!(
        world.store_get(&waiting.id).await.state,
        DeploymentState::Created
    );
    assert_eq!(world.finish_everything("success").await, 1);

    // `list` names it too.
    let listed = ephemeral_text(&world.slash(AUTHOR_SLACK, "list \"eu frankfurt\"").await);
    assert!(listed.contains(sha('e').short()), "{listed}");
    world.assert_no_failures();
}
