//! The rollback preview names what the rollback removes — the pull requests and commits
//! between its target and what runs, as GitHub compares them — and warns when they change
//! paths the workflow file lists as `rollback: { warn_paths }`, which a rollback does not
//! undo.

use crate::workflow_support::*;
use deploybot_core::blocks::Message;
use deploybot_core::ports::UserStore;

const ANA: &str = "U0ANA";

const WORKFLOW: &str = r#"version: 1
environments:
  production:
    on: { push: [default] }
    production: true
rollback:
  warn_paths: ["db/migrations/**"]
"#;

/// Pushes `hex` repeated to `main` after `parent` (production deploys it).
async fn push_main(world: &World, hex: char, parent: Option<char>) {
    let sha = sha(hex);
    world.github.set_branch(&repo(), "main", &sha, Some(AUTHOR));
    if let Some(parent) = parent {
        world.github.set_parent(&repo(), &sha, &self::sha(parent));
    }
    world
        .github_event("push", &push_event("refs/heads/main", &sha))
        .await;
}

fn last_preview(world: &World) -> Message {
    world
        .slack
        .responses()
        .into_iter()
        .filter(|r| r.id == format!("cmd-{ANA}"))
        .map(|r| r.response.message)
        .next_back()
        .expect("a preview")
}

#[tokio::test]
async fn the_preview_lists_the_removed_pull_requests_and_warns_about_migrations() {
    let world = World::new().await;
    world.use_workflow_file(&sha('1'), Some(WORKFLOW)).await;
    world.github.set_file(
        &repo(),
        deploybot_core::workflow_file::WORKFLOW_PATH,
        &sha('a'),
        Some(WORKFLOW),
    );
    push_main(&world, 'a', None).await;
    assert_eq!(world.finish_everything("success").await, 1);

    // The bad release: a pull request, and a commit on top with its migration (the fake
    // GitHub compares the files set at the newer commit).
    world.github.merge_pull_request(
        &repo(),
        &sha('b'),
        812,
        "Split the users table",
        Some("grace-h"),
    );
    world.github.set_parent(&repo(), &sha('b'), &sha('a'));
    world.github.set_file(
        &repo(),
        "db/migrations/20240514_split_users.sql",
        &sha('c'),
        Some("ALTER TABLE users ..."),
    );
    world.github.set_file(
        &repo(),
        deploybot_core::workflow_file::WORKFLOW_PATH,
        &sha('c'),
        Some(WORKFLOW),
    );
    push_main(&world, 'c', Some('b')).await;
    assert_eq!(world.finish_everything("success").await, 1);

    // The pull request's author linked Slack: the preview mentions her.
    world
        .store
        .link_user(&deploybot_core::UserLink {
            github_login: deploybot_core::GithubLogin::parse("grace-h").expect("valid"),
            slack_user: deploybot_core::SlackUserId::parse("U0GRACE").expect("valid"),
            slack_name: Some("Grace".into()),
            linked_at: deploybot_core::Timestamp::from_secs(NOW_SECS - 60),
        })
        .await
        .expect("links");
    world.clock.advance_secs(600);
    world
        .slash(ANA, "rollback production users cannot log in")
        .await;
    let preview = message_text(&last_preview(&world));
    assert!(
        preview.contains("*What the rollback removes* (2 commits"),
        "{preview}"
    );
    assert!(
        preview.contains("pull/812|#812> Split the users table — <@U0GRACE>"),
        "{preview}"
    );
    assert!(preview.contains("`ccccccc`> Commit ccccccc"), "{preview}");
    assert!(
        preview.contains(
            "*A rollback does not undo these:* the commits it removes change `db/migrations/20240514_split_users.sql` (`db/migrations/**`)"
        ),
        "{preview}"
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn a_preview_of_commits_that_touch_no_listed_path_has_no_warning() {
    let world = World::new().await;
    world.use_workflow_file(&sha('1'), Some(WORKFLOW)).await;
    push_main(&world, 'a', None).await;
    assert_eq!(world.finish_everything("success").await, 1);
    world
        .github
        .set_file(&repo(), "app/login.rb", &sha('b'), Some("def login; end"));
    push_main(&world, 'b', Some('a')).await;
    assert_eq!(world.finish_everything("success").await, 1);
    world.clock.advance_secs(600);
    world.slash(ANA, "rollback production").await;
    let preview = message_text(&last_preview(&world));
    assert!(
        preview.contains("*What the rollback removes* (1 commit"),
        "{preview}"
    );
    assert!(!preview.contains("does not undo"), "{preview}");
}

/// The buttons of a message: `(action_id, value)`.
fn buttons(message: &Message) -> Vec<(String, String)> {
    use deploybot_core::blocks::{Block, Element};
    message
        .blocks
        .iter()
        .flat_map(|b| match b {
            Block::Actions { elements, .. } => elements.clone(),
            _ => Vec::new(),
        })
        .filter_map(|element| match element {
            Element::Button {
                action_id, value, ..
            } => Some((action_id, value.unwrap_or_default())),
            Element::ExternalSelect { .. } | Element::PlainTextInput { .. } => None,
        })
        .collect()
}

#[tokio::test]
async fn deploying_a_rolled_back_commit_by_name_asks_first() {
    use deploybot_app::render::{ACTION_DEPLOY_BAD, ACTION_DEPLOY_BAD_CANCEL, ACTION_ROLLBACK};
    use deploybot_core::{DeploymentState, Environment};
    let world = World::new().await;
    push_main(&world, 'a', None).await;
    assert_eq!(world.finish_everything("success").await, 1);
    push_main(&world, 'b', Some('a')).await;
    assert_eq!(world.finish_everything("success").await, 1);
    world.clock.advance_secs(600);
    world.slash(ANA, "rollback preview broken").await;
    let value = buttons(&last_preview(&world))[0].1.clone();
    world.press(ANA, &channel(), ACTION_ROLLBACK, &value).await;
    assert_eq!(world.finish_everything("success").await, 1);
    let of_b = |all: Vec<deploybot_core::Deployment>| {
        all.into_iter().filter(|d| d.sha == sha('b')).count()
    };
    let before = of_b(world.deployments_in(Environment::Preview).await);

    // Named: a question with [Deploy anyway] / [Cancel]; nothing is stored yet.
    world
        .slash(ANA, &format!("deploy {} to preview", sha('b').short()))
        .await;
    let question = last_preview(&world);
    assert!(
        question
            .text
            .contains("`bbbbbbb` was rolled back from preview by <@U0ANA>"),
        "{}",
        question.text
    );
    assert!(
        question.text.contains("Deploy it to preview anyway?"),
        "{}",
        question.text
    );
    let shown = buttons(&question);
    assert_eq!(
        shown.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(),
        vec![ACTION_DEPLOY_BAD, ACTION_DEPLOY_BAD_CANCEL]
    );
    assert_eq!(
        of_b(world.deployments_in(Environment::Preview).await),
        before
    );

    // [Cancel] deploys nothing.
    let answers = world
        .press(ANA, &channel(), ACTION_DEPLOY_BAD_CANCEL, &shown[1].1)
        .await;
    assert!(
        answers[0].text.contains("Nothing was deployed to preview"),
        "{answers:?}"
    );
    assert_eq!(
        of_b(world.deployments_in(Environment::Preview).await),
        before
    );

    // [Deploy anyway] deploys it (Ana holds the lock the rollback took).
    let answers = world
        .press(ANA, &channel(), ACTION_DEPLOY_BAD, &shown[0].1)
        .await;
    assert!(
        answers[0].text.contains("Deploying `bbbbbbb` to preview"),
        "{answers:?}"
    );
    let again = world
        .deployments_in(Environment::Preview)
        .await
        .into_iter()
        .filter(|d| d.sha == sha('b'))
        .max_by_key(|d| d.created_at)
        .expect("the confirmed deployment");
    assert_eq!(
        of_b(world.deployments_in(Environment::Preview).await),
        before + 1
    );
    assert_eq!(again.state, DeploymentState::Created);

    // Without naming it (`deploy preview`: the default branch, still at the bad commit) it
    // is refused, saying why.
    world.slash(ANA, "deploy preview").await;
    let refusal = last_preview(&world);
    assert!(
        refusal
            .text
            .contains("Not promoted: `bbbbbbb` was rolled back"),
        "{}",
        refusal.text
    );
}

/// [Deploy to staging] on the test deployment of a commit rolled back from staging is a
/// promotion: refused with the sentence why, not asked about — and nothing is stored.
#[tokio::test]
async fn deploy_to_staging_on_a_commit_rolled_back_from_staging_is_refused() {
    use deploybot_app::render::{ACTION_PROMOTE, ACTION_ROLLBACK};
    use deploybot_core::Environment;
    let world = World::new().await;
    let tested = |hex: char| {
        let world = &world;
        async move {
            world
                .deployments_in(Environment::Test)
                .await
                .into_iter()
                .find(|d| d.sha == sha(hex) && d.has_succeeded())
                .expect("a successful test deployment")
        }
    };
    for (hex, parent) in [('a', None), ('b', Some('a'))] {
        world
            .github
            .set_branch(&repo(), "release-1.4", &sha(hex), Some(AUTHOR));
        if let Some(parent) = parent {
            world.github.set_parent(&repo(), &sha(hex), &sha(parent));
        }
        world
            .github_event("push", &push_event("refs/heads/release-1.4", &sha(hex)))
            .await;
        assert_eq!(world.finish_everything("success").await, 1, "test {hex}");
        let id = tested(hex).await.id;
        world
            .press(ANA, &channel(), ACTION_PROMOTE, id.as_str())
            .await;
        assert_eq!(world.finish_everything("success").await, 1, "staging {hex}");
    }
    world.clock.advance_secs(600);
    world.slash(ANA, "rollback staging broken").await;
    let value = buttons(&last_preview(&world))[0].1.clone();
    world.press(ANA, &channel(), ACTION_ROLLBACK, &value).await;
    assert_eq!(world.finish_everything("success").await, 1);
    let before = world.deployments_in(Environment::Staging).await.len();

    let id = tested('b').await.id;
    let answers = world
        .press(ANA, &channel(), ACTION_PROMOTE, id.as_str())
        .await;
    let said: Vec<String> = answers.iter().map(message_text).collect();
    assert!(
        said.iter()
            .any(|t| t.contains("Not promoted: `bbbbbbb` was rolled back")),
        "{said:?}"
    );
    assert!(
        !said.iter().any(|t| t.contains("anyway")),
        "a promotion is not asked about: {said:?}"
    );
    assert_eq!(
        world.deployments_in(Environment::Staging).await.len(),
        before
    );
}

/// A rollback racing an automatic deployment of the commit it rolls back: whether the push
/// of the bad commit arrives before the rollback is confirmed (queued behind a lock), while
/// the rollback runs (queued behind it), or after it succeeded, the rollback goes first and
/// the bad commit is refused with the sentence why. Each order is checked to have happened:
/// the push's intent is seen queued before the rollback finishes.
#[tokio::test]
async fn a_rollback_racing_a_push_of_the_bad_commit_goes_first_in_every_order() {
    use deploybot_app::render::ACTION_ROLLBACK;
    use deploybot_core::{DeploymentState, Environment};
    const BOB: &str = "U0BOB";
    for order in [
        "push before confirm",
        "push while rolling back",
        "push after success",
    ] {
        let world = World::new().await;
        push_main(&world, 'a', None).await;
        assert_eq!(world.finish_everything("success").await, 1);
        push_main(&world, 'b', Some('a')).await;
        assert_eq!(world.finish_everything("success").await, 1);
        world.clock.advance_secs(600);
        let push_bad = || async {
            world
                .github_event("push", &push_event("refs/heads/main", &sha('b')))
                .await;
        };
        let bad_intent = || async {
            world
                .deployments_in(Environment::Preview)
                .await
                .into_iter()
                .filter(|d| d.sha == sha('b') && !d.has_succeeded())
                .max_by_key(|d| d.created_at)
        };

        if order == "push before confirm" {
            world.slash(BOB, "lock preview for 1h checking").await;
            push_bad().await;
            let queued = bad_intent().await.expect("the push's intent");
            assert_eq!(queued.state, DeploymentState::Waiting, "{order}: queued");
        }
        world.slash(ANA, "rollback preview broken").await;
        let value = buttons(&last_preview(&world))[0].1.clone();
        world.press(ANA, &channel(), ACTION_ROLLBACK, &value).await;
        let rollback = world
            .deployments_in(Environment::Preview)
            .await
            .into_iter()
            .find(|d| d.trigger.is_rollback())
            .expect("the rollback");
        assert_eq!(
            rollback.state,
            DeploymentState::Created,
            "{order}: dispatched first"
        );
        if order == "push while rolling back" {
            push_bad().await;
            let queued = bad_intent().await.expect("the push's intent");
            assert!(
                matches!(
                    queued.state,
                    DeploymentState::Ready | DeploymentState::Waiting
                ),
                "{order}: queued behind the rollback, {:?}",
                queued.state
            );
        }
        assert_eq!(
            world.finish_everything("success").await,
            1,
            "{order}: only the rollback ran"
        );
        if order == "push after success" {
            push_bad().await;
        }
        world.settle().await;
        let refused = bad_intent().await.expect("the push's intent");
        assert_eq!(refused.state, DeploymentState::Skipped, "{order}");
        let why = refused.description.unwrap_or_default();
        assert!(
            why.starts_with("not deployed: `bbbbbbb` was rolled back from preview by <@U0ANA>"),
            "{order}: {why}"
        );
        assert_eq!(
            world.store_get(&rollback.id).await.state,
            DeploymentState::Success,
            "{order}"
        );
        world.assert_no_failures();
    }
}
