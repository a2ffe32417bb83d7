//! "What's shipping" end to end, through the routers and the invoked functions with the
//! fakes: a production deployment's message lists the pull requests and commits between what
//! runs and what ships (asked of GitHub once, not per edit), with linked authors mentioned;
//! when it succeeds each linked author hears once, directly, that their pull request is live;
//! a GitHub slower than the budget leaves the section out and says so, and the deployment
//! goes on.

use crate::workflow_support::*;
use deploybot_core::invoke::SlackMessageRequest;
use deploybot_core::{DeploymentState, Environment, SlackUserId};
use std::time::Duration;

const GRACE: &str = "grace-h";

/// Tags `hex` repeated as `tag` (production, in the built-in workflow), after `parent`.
async fn release(world: &World, tag: &str, hex: char, parent: Option<char>) {
    let sha = sha(hex);
    let author = match hex {
        'c' => Some(GRACE),
        _ => Some(AUTHOR),
    };
    world.github.set_tag(&repo(), tag, &sha, author);
    if let Some(parent) = parent {
        world.github.set_parent(&repo(), &sha, &self::sha(parent));
    }
    world.github_event("push", &tag_event(tag, &sha)).await;
}

fn production_of(
    deployments: &[deploybot_core::Deployment],
    hex: char,
) -> deploybot_core::Deployment {
    deployments
        .iter()
        .find(|d| d.sha == sha(hex) && d.environment == Environment::Production)
        .cloned()
        .expect("the release's deployment")
}

/// The deployment's Slack message as it reads now.
fn message_of(world: &World, d: &deploybot_core::Deployment) -> String {
    let ts = d.slack_ts.clone().expect("posted");
    let versions = world.slack.message(&channel(), &ts).expect("the message");
    message_text(versions.last().expect("a version"))
}

fn compare_calls(world: &World) -> usize {
    world
        .github
        .calls()
        .iter()
        .filter(|c| c.contains("/compare/"))
        .count()
}

#[tokio::test]
async fn a_release_lists_what_it_ships_and_tells_each_linked_author_once() {
    let world = World::new().await;
    world.link_author().await;
    release(&world, "v1.0.0", 'a', None).await;
    assert_eq!(world.finish_everything("success").await, 1);
    let first = production_of(&world.deployments().await, 'a');
    let text = message_of(&world, &first);
    assert!(
        text.contains("the first deployment to production in deploybot's records"),
        "{text}"
    );

    // Two merged pull requests and a direct commit since v1.0.0.
    world
        .github
        .merge_pull_request(&repo(), &sha('b'), 811, "Faster login page", Some(AUTHOR));
    world.github.set_parent(&repo(), &sha('b'), &sha('a'));
    world.github.add_commit(&repo(), &sha('c'), Some(GRACE));
    world.github.set_parent(&repo(), &sha('c'), &sha('b'));
    world
        .github
        .merge_pull_request(&repo(), &sha('d'), 812, "Billing <export>", Some(GRACE));
    let before = compare_calls(&world);
    release(&world, "v1.1.0", 'd', Some('c')).await;
    world.settle().await;
    let shipping = production_of(&world.deployments().await, 'd');
    let text = message_of(&world, &shipping);
    assert!(text.contains("*What's shipping* (3 commits"), "{text}");
    assert!(
        text.contains("https://github.com/acme/web/compare/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...dddddddddddddddddddddddddddddddddddddddd|compare"),
        "{text}"
    );
    // Newest pull request first, the linked author mentioned, titles escaped, then the
    // commit outside any pull request.
    let p812 = text
        .find("pull/812|#812> Billing &lt;export&gt; — grace-h")
        .expect(&text);
    let p811 = text
        .find("pull/811|#811> Faster login page — <@U0ADA>")
        .expect(&text);
    let direct = text
        .find("|`ccccccc`> Commit ccccccc — grace-h")
        .expect(&text);
    assert!(p812 < p811 && p811 < direct, "{text}");

    // Edits of the message (in progress, success) reuse the stored comparison.
    assert_eq!(world.finish_everything("success").await, 1);
    assert_eq!(
        compare_calls(&world) - before,
        1,
        "asked once per deployment"
    );
    let done = world.store_get(&shipping.id).await;
    assert_eq!(done.state, DeploymentState::Success);
    assert!(
        message_of(&world, &done).contains("#811"),
        "kept after edits"
    );

    // Ada (linked) hears about #811, once; Grace linked no Slack user.
    let ada = SlackUserId::parse(AUTHOR_SLACK).expect("valid");
    let direct = world.slack.direct_messages(&ada);
    assert_eq!(direct.len(), 1, "{direct:?}");
    let dm = message_text(direct[0].latest().expect("a version"));
    assert!(dm.contains("Your pull request"), "{dm}");
    assert!(
        dm.contains("#811> Faster login page is live in production"),
        "{dm}"
    );

    // The message rendered again (a retried invoke) sends nothing twice.
    world
        .call(&SlackMessageRequest::Deployment {
            repository: repo(),
            deployment_id: done.id.clone(),
        })
        .await;
    assert_eq!(world.slack.direct_messages(&ada).len(), 1);
    world.assert_no_failures();
}

#[tokio::test]
async fn a_test_deployment_has_no_section_and_asks_github_nothing() {
    let world = World::new().await;
    world.github.set_parent(&repo(), &sha('b'), &sha('a'));
    world
        .github_event("push", &push_event("refs/heads/release-1", &sha('b')))
        .await;
    assert_eq!(world.finish_everything("success").await, 1);
    let d = world.only_deployment(Environment::Test).await;
    assert!(!message_of(&world, &d).contains("What's shipping"));
    assert_eq!(compare_calls(&world), 0);
}

#[tokio::test(start_paused = true)]
async fn a_github_slower_than_the_budget_leaves_the_section_out_once() {
    let world = World::new().await;
    release(&world, "v1.0.0", 'a', None).await;
    assert_eq!(world.finish_everything("success").await, 1);
    world.github.set_parent(&repo(), &sha('b'), &sha('a'));
    // Every GitHub answer now takes 10 s (virtual time): the comparison's budget is 3 s.
    world.github.delay(Duration::from_secs(10));
    release(&world, "v1.1.0", 'b', None).await;
    world.settle().await;
    let d = production_of(&world.deployments().await, 'b');
    assert_eq!(d.state, DeploymentState::Created, "the deployment went on");
    let text = message_of(&world, &d);
    assert!(
        text.contains(
            "*What's shipping* is not shown: GitHub did not compare the commits within 3 seconds."
        ),
        "{text}"
    );
    let before = compare_calls(&world);
    assert_eq!(world.finish_everything("success").await, 1);
    assert_eq!(compare_calls(&world), before, "never asked again");
    let done = world.store_get(&d.id).await;
    let text = message_of(&world, &done);
    assert_eq!(text.matches("is not shown").count(), 1, "{text}");
}
