//! The rollback preview names what the rollback removes — the pull requests and commits
//! between its target and what runs, as GitHub compares them — and warns when they change
//! paths the workflow file lists as `rollback: { warn_paths }`, which a rollback does not
//! undo.

use crate::workflow_support::*;
use deploybot_core::blocks::Message;

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
        preview.contains("pull/812|#812> Split the users table — grace-h"),
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
