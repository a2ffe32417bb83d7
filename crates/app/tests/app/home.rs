//! The App Home tab end to end: `app_home_opened` through the signed Events API publishes
//! the person's grid (their channels' repositories × environments, with [Promote] where it
//! applies); a deployment they asked for refreshes it at most once a minute; [Promote]
//! deploys; thread replies for retries and lock changes with `notify.threads`.

use crate::workflow_support::*;
use deploybot_app::render::home::ACTION_HOME_PROMOTE;
use deploybot_core::ports::Clock;
use deploybot_core::{Environment, SlackChannelId, SlackUserId};
use deploybot_testkit::signing::slack_json_request;
use serde_json::{Value, json};

const ANA: &str = "U0ANA";

const PROMOTING: &str = r##"version: 1
environments:
  staging:
    on: { push: [default] }
  production:
    production: true
    promote_from: staging
notify:
  threads: true
"##;

fn user(text: &str) -> SlackUserId {
    SlackUserId::parse(text).expect("a user id")
}

/// Slack's `app_home_opened` (its documented example, our ids), signed.
async fn open_home(world: &World, event_id: &str, tab: &str) {
    let body = json!({
        "token": "verification-token-unused",
        "team_id": TEAM,
        "api_app_id": "A0DEPLOYBOT",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": NOW_SECS,
        "event": {
            "type": "app_home_opened",
            "user": ANA,
            "channel": "D0LAN2Q65",
            "event_ts": "1515449522000016",
            "tab": tab,
        },
    });
    let request = slack_json_request(
        &deploybot_core::signature::SigningSecret::new(SLACK_SECRET),
        world.clock.now().secs(),
        &body,
    );
    let (status, answer) = world.send_signed("/slack/event", request).await;
    assert_eq!(status.as_u16(), 200, "{answer}");
    world.settle().await;
}

async fn promoting_world() -> World {
    let world = World::new().await;
    world.slack.add_member(&channel(), &user(ANA));
    world.use_workflow_file(&sha('a'), Some(PROMOTING)).await;
    world
        .github
        .set_branch(&repo(), "main", &sha('a'), Some(AUTHOR));
    world
        .github_event("push", &push_event("refs/heads/main", &sha('a')))
        .await;
    world.finish_everything("success").await;
    world
}

fn text(view: &Value) -> String {
    view.to_string()
}

#[tokio::test]
async fn opening_the_home_tab_publishes_the_grid_with_promote() {
    let world = promoting_world().await;
    // A channel that follows nothing is left out; the Messages tab publishes nothing.
    world
        .slack
        .add_member(&SlackChannelId::parse("C0RANDOM").expect("id"), &user(ANA));
    open_home(&world, "Ev0HOME1", "messages").await;
    assert!(world.slack.homes(&user(ANA)).is_empty());

    open_home(&world, "Ev0HOME2", "home").await;
    let homes = world.slack.homes(&user(ANA));
    assert_eq!(homes.len(), 1);
    let view = text(&homes[0]);
    assert!(view.contains("acme/web"), "{view}");
    assert!(
        view.contains("*staging*") && view.contains("*production*"),
        "{view}"
    );
    assert!(view.contains("aaaaaaa"), "{view}");
    assert!(view.contains(ACTION_HOME_PROMOTE), "{view}");
    assert!(
        view.contains(&format!("acme/web#production@{}", sha('a').as_str())),
        "{view}"
    );
    assert!(!view.contains("C0RANDOM"), "{view}");

    // Opened again at once: published again (the debounce is for refreshes).
    open_home(&world, "Ev0HOME3", "home").await;
    assert_eq!(world.slack.homes(&user(ANA)).len(), 2);

    // [Promote] from the Home tab deploys the commit to production, in the channel.
    let value = format!("acme/web#production@{}", sha('a').as_str());
    let dm = SlackChannelId::parse("D0LAN2Q65").expect("id");
    world.press(ANA, &dm, ACTION_HOME_PROMOTE, &value).await;
    world.finish_everything("success").await;
    let production = world.only_deployment(Environment::Production).await;
    assert_eq!(production.sha, sha('a'));
    assert_eq!(production.slack_channel, channel());
}

#[tokio::test]
async fn a_deployment_refreshes_the_home_tab_at_most_once_a_minute() {
    let world = promoting_world().await;
    // Ana deploys by hand: her tab follows, once a minute at most, however many edits.
    world.slash(ANA, "deploy main to staging").await;
    world.finish_everything("success").await;
    let after_first = world.slack.homes(&user(ANA)).len();
    assert_eq!(after_first, 1, "edits within a minute publish once");
    world.clock.advance_secs(61);
    world.slash(ANA, "deploy main to staging").await;
    world.finish_everything("success").await;
    assert_eq!(world.slack.homes(&user(ANA)).len(), 2);
}

#[tokio::test]
async fn with_threads_a_retry_and_a_lock_reply_under_the_message() {
    let world = promoting_world().await;
    world
        .github
        .set_branch(&repo(), "main", &sha('b'), Some(AUTHOR));
    world
        .github_event("push", &push_event("refs/heads/main", &sha('b')))
        .await;
    world.finish_everything("failed").await;
    let failed = world
        .deployments_in(Environment::Staging)
        .await
        .into_iter()
        .find(|d| d.sha == sha('b'))
        .expect("the failed push");
    world
        .press(
            ANA,
            &channel(),
            deploybot_app::render::ACTION_RETRY,
            failed.id.as_str(),
        )
        .await;
    let retry = world
        .deployments_in(Environment::Staging)
        .await
        .into_iter()
        .find(
            |d| matches!(&d.trigger, deploybot_core::Trigger::Retry { of, .. } if *of == failed.id),
        )
        .expect("the retry");
    let posted = world
        .messages()
        .into_iter()
        .find(|m| Some(&m.ts) == retry.slack_ts.as_ref())
        .expect("the retry's message");
    assert_eq!(
        posted.thread_ts, failed.slack_ts,
        "under the failed deployment's message"
    );

    world.finish_everything("success").await;
    world.slash(ANA, "lock staging for 1h looking").await;
    let latest = world
        .deployments_in(Environment::Staging)
        .await
        .into_iter()
        .next()
        .expect("a deployment");
    let lock_notice = world
        .messages()
        .into_iter()
        .rev()
        .find(|m| m.latest().is_some_and(|v| message_text(v).contains("lock")))
        .expect("the lock notice");
    assert_eq!(lock_notice.thread_ts, latest.slack_ts, "{lock_notice:?}");
}

/// A deployment Ana did not ask for or write still refreshes her tab once she has opened it
/// with its repository on it (within a day): the tab shows what she can see, not only what
/// names her. A day after her last opening it no longer follows.
#[tokio::test]
async fn a_change_refreshes_the_tab_of_whoever_opened_it_with_that_repository() {
    let world = promoting_world().await;
    let pushed_by_someone_else = |hex: char| {
        let world = &world;
        async move {
            world
                .github
                .set_branch(&repo(), "main", &sha(hex), Some(AUTHOR));
            world
                .github_event("push", &push_event("refs/heads/main", &sha(hex)))
                .await;
            world.finish_everything("success").await;
        }
    };
    world.clock.advance_secs(61);
    pushed_by_someone_else('b').await;
    assert!(
        world.slack.homes(&user(ANA)).is_empty(),
        "never opened: nothing published"
    );

    open_home(&world, "Ev0HOME1", "home").await;
    assert_eq!(world.slack.homes(&user(ANA)).len(), 1);
    world.clock.advance_secs(61);
    pushed_by_someone_else('c').await;
    let homes = world.slack.homes(&user(ANA));
    assert_eq!(homes.len(), 2, "the push refreshed her tab");
    assert!(text(&homes[1]).contains("ccccccc"), "{}", text(&homes[1]));

    world.clock.advance_secs(24 * 3600);
    pushed_by_someone_else('d').await;
    assert_eq!(
        world.slack.homes(&user(ANA)).len(),
        2,
        "a day later: not followed"
    );
}
