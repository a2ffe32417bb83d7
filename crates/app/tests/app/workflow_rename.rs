//! Renamed and transferred repositories (docs/workflow.md, "Renamed repositories"): the
//! `repository` event moves the binding to the new name and tells the channel once; an event
//! under a new name whose numeric repository id is known moves it too (the rename event was
//! lost); a repository that merely took a bound repository's old name is not mistaken for it;
//! and the id is recorded once, not written on every event.

use crate::workflow_support::*;
use axum::http::StatusCode;
use deploybot_core::ports::{DeploymentStore, ProjectStore};
use deploybot_core::{Environment, Repository};
use serde_json::{Value, json};

/// GitHub's id of the fixtures' repository.
const GITHUB_ID: u64 = 598_245_713;

fn named(name: &str) -> Repository {
    Repository::parse(name).expect("valid repository")
}

/// Moves an event's `repository` to another `owner/name`.
fn under(mut event: Value, full_name: &str) -> Value {
    event["repository"]["full_name"] = json!(full_name);
    if let Some((owner, name)) = full_name.split_once('/') {
        event["repository"]["name"] = json!(name);
        event["repository"]["owner"]["login"] = json!(owner);
    }
    event
}

/// The channel's messages, as text.
fn channel_texts(world: &World) -> Vec<String> {
    world
        .messages()
        .iter()
        .filter_map(|m| m.latest().map(message_text))
        .collect()
}

fn moved_notices(world: &World, text: &str) -> usize {
    channel_texts(world)
        .iter()
        .filter(|t| t.contains(text))
        .count()
}

#[tokio::test]
async fn a_renamed_repository_keeps_its_binding_and_the_channel_hears_it_once() {
    let world = World::new().await;
    let website = named("acme/website");
    world.github.add_repository(&website, "main");
    // A push handled before the rename.
    let before = push_event("refs/heads/main", &sha('b'));
    let (status, body) = world.github_delivery("push", "d-before", &before).await;
    world.settle().await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let renamed = github_fixture("repository.renamed.json");
    let delivery = world.delivery_id();
    let (status, body) = world
        .github_delivery("repository", &delivery, &renamed)
        .await;
    world.settle().await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert!(body.contains("acme/web is now acme/website"), "{body}");

    let moved = world
        .store
        .project_by_repository(&website)
        .await
        .expect("reads")
        .expect("the binding moved");
    assert_eq!(moved.channel, channel());
    assert_eq!(moved.github_id, Some(GITHUB_ID));
    assert_eq!(
        moved.settings.base_domain.as_deref(),
        Some("example.com"),
        "the channel's settings came along"
    );
    assert_eq!(
        world
            .store
            .project_by_repository(&repo())
            .await
            .expect("reads"),
        None,
        "the old name is free"
    );
    let notice = "acme/web is now acme/website; deploybot follows it.";
    assert_eq!(
        moved_notices(&world, notice),
        1,
        "{:?}",
        channel_texts(&world)
    );

    // GitHub redelivers the event: nothing moves again, nothing is said again.
    let (status, body) = world
        .github_delivery("repository", &delivery, &renamed)
        .await;
    world.settle().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(moved_notices(&world, notice), 1);

    // Events under the new name work: a push to main deploys preview, recorded under it.
    let push = under(push_event("refs/heads/main", &sha('a')), "acme/website");
    let (status, body) = world.github_event("push", &push).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert!(body.contains("to preview"), "{body}");
    let deployed = world
        .store
        .list_deployments(&website, Some(Environment::Preview), 10)
        .await
        .expect("lists");
    assert_eq!(deployed.len(), 1, "{deployed:#?}");
    assert_eq!(deployed[0].slack_channel, channel());
    // GitHub redelivers the push from before the rename, under the old name: it was handled
    // already, so the binding does not move back.
    let (status, body) = world.github_delivery("push", "d-before", &before).await;
    world.settle().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("already handled"), "{body}");
    assert_eq!(
        world
            .store
            .project_by_channel(&channel())
            .await
            .expect("reads")
            .map(|p| p.repository),
        Some(website)
    );
    assert_eq!(moved_notices(&world, notice), 1);
}

#[tokio::test]
async fn a_transferred_repository_keeps_its_binding() {
    let world = World::new().await;
    let transferred = github_fixture("repository.transferred.json");
    let (status, body) = world.github_event("repository", &transferred).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let moved = world
        .store
        .project_by_channel(&channel())
        .await
        .expect("reads")
        .expect("still bound");
    assert_eq!(moved.repository, named("globex/web"));
    assert_eq!(
        moved_notices(&world, "acme/web is now globex/web; deploybot follows it."),
        1,
        "{:?}",
        channel_texts(&world)
    );
    // A transfer from a user names the user (`changes.owner.from.user`).
    let mut from_user = transferred.clone();
    from_user["changes"]["owner"]["from"] = json!({"user": {"login": "Ada-L", "id": 1}});
    from_user["repository"]["id"] = json!(5);
    from_user = under(from_user, "acme/web");
    let (status, body) = world.github_event("repository", &from_user).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains("no channel follows acme/web"),
        "ada-l/web was never bound, and repository 5 is not globex/web: {body}"
    );
}

#[tokio::test]
async fn an_event_under_a_new_name_is_recognised_by_the_repository_id() {
    let world = World::new().await;
    // Any event records the repository's id, once.
    let (status, body) = world
        .github_event("status", &status_event(&sha('a'), "ci", "pending"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = world
        .github_event("status", &status_event(&sha('a'), "ci", "pending"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        world
            .store
            .project_by_repository(&repo())
            .await
            .expect("reads")
            .and_then(|p| p.github_id),
        Some(GITHUB_ID)
    );
    let counts = world.counting.counts();
    assert_eq!(
        counts.get("set_project_github_id"),
        Some(&1),
        "recorded once, not on every event: {counts:?}"
    );

    // The rename event was lost: the next push arrives under the new name.
    let website = named("acme/website");
    world.github.add_repository(&website, "main");
    let push = under(push_event("refs/heads/main", &sha('c')), "acme/website");
    let (status, body) = world.github_event("push", &push).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert!(body.contains("to preview"), "{body}");
    assert_eq!(
        world
            .store
            .project_by_channel(&channel())
            .await
            .expect("reads")
            .map(|p| p.repository),
        Some(website)
    );
    assert_eq!(
        moved_notices(
            &world,
            "acme/web is now acme/website; deploybot follows it."
        ),
        1,
        "{:?}",
        channel_texts(&world)
    );
}

#[tokio::test]
async fn a_repository_that_took_an_old_name_is_not_mistaken_for_it() {
    let world = World::new().await;
    // The binding knows its repository's id.
    let (status, _) = world
        .github_event("status", &status_event(&sha('a'), "ci", "pending"))
        .await;
    assert_eq!(status, StatusCode::OK);
    // Another repository (another id) is renamed from... nothing bound; and one that was
    // called `acme/web` once but is not the bound repository does not take the binding.
    let mut impostor = github_fixture("repository.renamed.json");
    impostor["repository"]["id"] = json!(111);
    let (status, body) = world.github_event("repository", &impostor).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("no channel follows acme/website"), "{body}");
    assert_eq!(
        world
            .store
            .project_by_repository(&repo())
            .await
            .expect("reads")
            .map(|p| p.channel),
        Some(channel())
    );
    assert!(channel_texts(&world).is_empty());
    // Other repository actions change nothing.
    let mut archived = github_fixture("repository.renamed.json");
    archived["action"] = json!("archived");
    archived = under(archived, "acme/web");
    let (status, body) = world.github_event("repository", &archived).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A rename without its `changes` is a malformed payload.
    let mut broken = github_fixture("repository.renamed.json");
    broken["changes"] = json!({});
    let (status, body) = world.github_event("repository", &broken).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("changes.repository.name.from"), "{body}");
}
