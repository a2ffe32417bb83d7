//! Notification routing end to end, through the routers and the invoked functions with the
//! fakes (docs/notifications.md): a production deployment mirrored in `#prod-deploys` and
//! edited there with its message; a channel deploybot is not in told once; a failure's direct
//! messages with [Retry] [Roll back] [Lock] that work from the direct conversation; the
//! user group mention, an unknown group told once; a quiet pull-request environment; a
//! person's own `notify me none`.

use crate::workflow_support::*;
use deploybot_app::render::notify::{
    ACTION_DIRECT_LOCK, ACTION_DIRECT_RETRY, ACTION_DIRECT_ROLLBACK,
};
use deploybot_core::notify::{NoticeKind, Outcome};
use deploybot_core::{DeploymentState, Environment, SlackChannelId, SlackUserId, Trigger};
use deploybot_testkit::fakes::slack::FakeSlack;

const ANA: &str = "U0ANA";

const ROUTED: &str = r##"version: 1
environments:
  pr:
    on: pull_request
  staging:
    on: { push: [default] }
  production:
    production: true
notify:
  routes:
    - environments: [production]
      channels: ["#prod-deploys", "#secret"]
    - environments: ["pr*"]
      channel: none
      direct: { on: [failure], to: [requester, author] }
    - environments: [production, staging]
      direct: { on: [failure], to: [requester, authors] }
      mention_on_failure: ["@oncall", "@ghosts"]
  threads: true
"##;

fn id(text: &str) -> SlackChannelId {
    SlackChannelId::parse(text).expect("a channel id")
}

fn user(text: &str) -> SlackUserId {
    SlackUserId::parse(text).expect("a user id")
}

fn texts(messages: &[deploybot_testkit::fakes::slack::PostedMessage]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|m| m.latest().map(message_text))
        .collect()
}

/// A world following [`ROUTED`], with `#prod-deploys` (C0PROD), `#secret` (C0SECRET, the bot
/// not in it) and the user group `@oncall`, `main` at `a…` by the linked author.
async fn routed_world() -> World {
    let world = World::new().await;
    world.slack.add_channel(&id("C0PROD"), "prod-deploys");
    world.slack.add_channel(&id("C0SECRET"), "secret");
    world.slack.remove_bot(&id("C0SECRET"));
    world.slack.add_user_group("oncall", "S0ONCALL");
    world.link_author().await;
    world.use_workflow_file(&sha('a'), Some(ROUTED)).await;
    world
        .github
        .set_branch(&repo(), "main", &sha('a'), Some(AUTHOR));
    // The push reads the file (and deploys staging, which succeeds).
    world
        .github_event("push", &push_event("refs/heads/main", &sha('a')))
        .await;
    world.finish_everything("success").await;
    world
}

async fn deploy_production_and_fail(world: &World) -> deploybot_core::Deployment {
    let answer = world.slash(ANA, "deploy main to production").await;
    world.finish_everything("failed").await;
    let responses: Vec<String> = world
        .slack
        .responses()
        .into_iter()
        .map(|r| message_text(&r.response.message))
        .collect();
    world
        .deployments_in(Environment::Production)
        .await
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("a production deployment: {answer} {responses:?}"))
}

#[tokio::test]
async fn a_production_failure_is_mirrored_messaged_directly_and_mentioned() {
    let world = routed_world().await;
    let d = deploy_production_and_fail(&world).await;
    assert_eq!(d.state, DeploymentState::Failure);

    // The canonical message in the bound channel, and its compact mirror, edited with it.
    let canonical = world
        .slack
        .message(&channel(), d.slack_ts.as_deref().expect("posted"));
    assert!(canonical.is_some());
    let mirrors = world.slack.messages(&id("C0PROD"));
    assert_eq!(mirrors.len(), 1, "one mirror, edited in place");
    assert!(mirrors[0].edits() >= 1, "edited with the message");
    let mirror = message_text(mirrors[0].latest().expect("a version"));
    assert!(
        mirror.contains("acme/web") && mirror.contains("failed"),
        "{mirror}"
    );

    // #secret: told once in the bound channel, recorded, not retried.
    let told: Vec<String> = texts(&world.messages())
        .into_iter()
        .filter(|t| t.contains("#secret"))
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].contains("/invite"), "{}", told[0]);
    assert!(world.slack.messages(&id("C0SECRET")).is_empty());
    let failed_mirror = d
        .notices
        .iter()
        .find(|n| matches!(&n.kind, NoticeKind::Mirror { target } if target.as_str() == "#secret"));
    assert_eq!(
        failed_mirror.and_then(|n| n.failed.as_deref()),
        Some("not_in_channel")
    );

    // Direct messages: the requester (who typed deploy) and the linked commit author.
    for person in [ANA, AUTHOR_SLACK] {
        let dms = world.slack.direct_messages(&user(person));
        assert_eq!(dms.len(), 1, "{person}");
        let text = message_text(dms[0].latest().expect("a version"));
        for needle in [
            ACTION_DIRECT_RETRY,
            ACTION_DIRECT_ROLLBACK,
            ACTION_DIRECT_LOCK,
        ] {
            assert!(text.contains(needle), "{person}: {needle} in {text}");
        }
    }
    let stored = world.store_get(&d.id).await;
    let directs: Vec<&SlackUserId> = stored
        .notices
        .iter()
        .filter_map(|n| match &n.kind {
            NoticeKind::Direct { user, outcome } if *outcome == Outcome::Failure => {
                assert!(n.ts.is_some(), "{n:?}");
                Some(user)
            }
            _ => None,
        })
        .collect();
    assert_eq!(directs.len(), 2, "{:?}", stored.notices);

    // The mention, in the message's thread, by the group's id; the unknown group told once.
    let mention = world
        .messages()
        .into_iter()
        .find(|m| {
            m.latest()
                .is_some_and(|v| message_text(v).contains("<!subteam^S0ONCALL>"))
        })
        .expect("the on-call group is mentioned");
    assert_eq!(mention.thread_ts, d.slack_ts);
    let unknown: Vec<String> = texts(&world.messages())
        .into_iter()
        .filter(|t| t.contains("@ghosts"))
        .collect();
    assert_eq!(unknown.len(), 1, "{unknown:?}");

    // Edited again (a retry notice, a later transition): nothing is sent twice.
    world
        .call(&deploybot_core::invoke::SlackMessageRequest::Deployment {
            repository: repo(),
            deployment_id: d.id.clone(),
        })
        .await;
    assert_eq!(world.slack.direct_messages(&user(ANA)).len(), 1);
    assert_eq!(world.slack.messages(&id("C0PROD")).len(), 1);
    assert_eq!(
        texts(&world.messages())
            .iter()
            .filter(|t| t.contains("#secret"))
            .count(),
        1
    );

    // A second failure: mirrored and messaged again, but #secret and @ghosts are not told
    // again.
    world
        .github
        .set_branch(&repo(), "main", &sha('b'), Some(AUTHOR));
    world.clock.advance_secs(600);
    world.slash(ANA, "deploy main to production").await;
    world.finish_everything("failed").await;
    assert_eq!(world.slack.messages(&id("C0PROD")).len(), 2);
    assert_eq!(world.slack.direct_messages(&user(ANA)).len(), 2);
    let all = texts(&world.messages());
    assert_eq!(all.iter().filter(|t| t.contains("#secret")).count(), 1);
    assert_eq!(all.iter().filter(|t| t.contains("@ghosts")).count(), 1);
}

#[tokio::test]
async fn the_buttons_of_a_direct_message_retry_lock_and_preview_a_rollback() {
    let world = routed_world().await;
    let d = deploy_production_and_fail(&world).await;
    let dm = FakeSlack::direct_channel(&user(ANA));
    let value = deploybot_app::render::notify::retry_value(&d);

    world.press(ANA, &dm, ACTION_DIRECT_RETRY, &value).await;
    let retry = world
        .deployments_in(Environment::Production)
        .await
        .into_iter()
        .find(|r| matches!(&r.trigger, Trigger::Retry { of, .. } if *of == d.id))
        .expect("a retry of the failed deployment");
    assert_eq!(
        retry.slack_channel,
        channel(),
        "posted in the repository's channel"
    );

    let lane = format!("{}#production", repo());
    world.finish_everything("failed").await;
    world.press(ANA, &dm, ACTION_DIRECT_LOCK, &lane).await;
    let locked = world.lane(Environment::Production).await;
    assert_eq!(
        locked.lock.as_ref().map(|l| l.holder.clone()),
        Some(user(ANA)),
        "{locked:?}"
    );

    let answers = world.press(ANA, &dm, ACTION_DIRECT_ROLLBACK, &lane).await;
    assert!(!answers.is_empty(), "the rollback is acknowledged");
}

#[tokio::test]
async fn a_pull_request_environment_stays_out_of_the_channel() {
    let world = routed_world().await;
    world
        .github
        .set_branch(&repo(), "feature", &pr_sha(), Some(AUTHOR));
    world
        .github_event(
            "pull_request",
            &pr_event("opened", 42, "feature", &pr_sha()),
        )
        .await;
    world.finish_everything("failed").await;
    let pr = world
        .deployments()
        .await
        .into_iter()
        .find(|d| d.pr_number == Some(42))
        .expect("the pull request deployed");
    assert_eq!(pr.state, DeploymentState::Failure);
    assert_eq!(pr.slack_ts, None, "no message in the bound channel");
    let all = texts(&world.messages());
    assert!(!all.iter().any(|t| t.contains("pr42")), "{all:?}");
    // Its author hears of the failure directly.
    assert_eq!(world.slack.direct_messages(&user(AUTHOR_SLACK)).len(), 1);
}

#[tokio::test]
async fn notify_me_none_stops_direct_messages_and_channel_posts_stay() {
    let world = routed_world().await;
    let answer = world.slash(ANA, "notify me none").await;
    assert!(
        answer["text"]
            .as_str()
            .unwrap_or_default()
            .contains("no direct messages"),
        "{answer}"
    );
    let asked = world.slash(ANA, "notify me").await;
    assert!(
        asked["text"]
            .as_str()
            .unwrap_or_default()
            .contains("no direct messages"),
        "{asked}"
    );
    let refused = world.slash(ANA, "notify me sometimes").await;
    assert!(
        refused["text"]
            .as_str()
            .unwrap_or_default()
            .contains("notify me all"),
        "{refused}"
    );
    let d = deploy_production_and_fail(&world).await;
    assert!(world.slack.direct_messages(&user(ANA)).is_empty());
    assert_eq!(world.slack.direct_messages(&user(AUTHOR_SLACK)).len(), 1);
    assert!(d.slack_ts.is_some());
    assert_eq!(world.slack.messages(&id("C0PROD")).len(), 1);
}

/// `to: [authors]` reaches everyone whose commits the failed deployment brought — GitHub's
/// comparison from what production ran — not only the head commit's author.
#[tokio::test]
async fn authors_are_everyone_the_comparison_names() {
    const GRACE: &str = "U0GRACE";
    let world = routed_world().await;
    world.slash(ANA, "deploy main to production").await;
    world.finish_everything("success").await;
    let link = deploybot_core::UserLink {
        github_login: deploybot_core::GithubLogin::parse("grace-h").expect("valid"),
        slack_user: user(GRACE),
        slack_name: None,
        linked_at: world.clock.now(),
    };
    use deploybot_core::ports::{Clock, UserStore};
    world.store.link_user(&link).await.expect("links");
    // grace-h wrote `b`; the linked author wrote `c`, the head.
    world.github.add_commit(&repo(), &sha('b'), Some("grace-h"));
    world.github.set_parent(&repo(), &sha('b'), &sha('a'));
    world.github.add_commit(&repo(), &sha('c'), Some(AUTHOR));
    world.github.set_parent(&repo(), &sha('c'), &sha('b'));
    world
        .github
        .set_branch(&repo(), "main", &sha('c'), Some(AUTHOR));
    world
        .github_event("push", &push_event("refs/heads/main", &sha('c')))
        .await;
    world.finish_everything("success").await;
    world.slash(ANA, "deploy main to production").await;
    world.finish_everything("failed").await;
    let failed = world
        .deployments_in(Environment::Production)
        .await
        .into_iter()
        .find(|d| d.sha == sha('c'))
        .expect("the second production deployment");
    assert_eq!(failed.state, DeploymentState::Failure);
    for person in [ANA, AUTHOR_SLACK, GRACE] {
        let failures: Vec<String> = texts(&world.slack.direct_messages(&user(person)))
            .into_iter()
            .filter(|t| t.contains("ccccccc"))
            .collect();
        assert_eq!(failures.len(), 1, "{person}: {failures:?}");
    }
}
