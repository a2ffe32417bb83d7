//! Rollback end to end, through the routers and the invoked functions with the fakes:
//! `rollback <environment>` answers with a preview (from → to, who deployed each and when)
//! and [Roll back] / [Cancel]; [Roll back] deploys the earlier commit first in line, past a
//! lock someone else holds, as a GitHub deployment with the rollback task and no required
//! contexts, and a pipeline told it is a rollback; rolling back a rollback is refused with
//! the command to use instead.

use crate::workflow_support::*;
use deploybot_app::render::{ACTION_ROLLBACK, ACTION_ROLLBACK_CANCEL};
use deploybot_core::blocks::{Block, Element, Message};
use deploybot_core::ports::Clock;
use deploybot_core::{DeploymentState, Environment, Trigger};

const ANA: &str = "U0ANA";
const BOB: &str = "U0BOB";

/// Pushes `hex` repeated to `main` (deployed to preview by the built-in workflow), after
/// `parent` when given.
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

/// The buttons of a message: `(action_id, value)`.
fn buttons(message: &Message) -> Vec<(String, String)> {
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

/// What was posted to a slash command's `response_url` by `user`, latest last.
fn command_responses(world: &World, user: &str) -> Vec<Message> {
    world
        .slack
        .responses()
        .into_iter()
        .filter(|r| r.id == format!("cmd-{user}"))
        .map(|r| r.response.message)
        .collect()
}

#[tokio::test]
async fn a_rollback_previews_then_deploys_the_earlier_commit_first_and_past_a_lock() {
    let world = World::new().await;
    push_main(&world, 'a', None).await;
    assert_eq!(world.finish_everything("success").await, 1);
    push_main(&world, 'b', Some('a')).await;
    assert_eq!(world.finish_everything("success").await, 1);

    // Bob holds preview; a push waits for him.
    world.slash(BOB, "lock preview for 1h testing").await;
    push_main(&world, 'c', Some('b')).await;
    let waiting = world
        .deployments_in(Environment::Preview)
        .await
        .into_iter()
        .find(|d| d.sha == sha('c'))
        .expect("the push's intent");
    assert_eq!(waiting.state, DeploymentState::Waiting);

    // The command is acknowledged; the preview follows through response_url.
    let answer = world
        .slash(ANA, "rollback preview the login page is blank")
        .await;
    let ack = answer["text"].as_str().unwrap_or_default();
    assert!(ack.contains("rollback preview follows"), "{ack}");
    let previews = command_responses(&world, ANA);
    let preview = previews.last().expect("a preview");
    assert!(
        preview.text.contains("*Roll back preview?*"),
        "{}",
        preview.text
    );
    assert!(
        preview.text.contains("from `main` @ `bbbbbbb`"),
        "{}",
        preview.text
    );
    assert!(
        preview.text.contains("to `main` @ `aaaaaaa`"),
        "{}",
        preview.text
    );
    assert!(
        preview.text.contains("why: the login page is blank"),
        "{}",
        preview.text
    );
    let shown = buttons(preview);
    assert_eq!(
        shown.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(),
        vec![ACTION_ROLLBACK, ACTION_ROLLBACK_CANCEL]
    );
    assert!(
        world.github.deployments(&repo()).len() == 2,
        "a preview deploys nothing"
    );

    // [Cancel] changes nothing.
    let answers = world
        .press(ANA, &channel(), ACTION_ROLLBACK_CANCEL, &shown[1].1)
        .await;
    assert!(answers[0].text.contains("cancelled"), "{answers:?}");
    assert_eq!(world.github.deployments(&repo()).len(), 2);

    // [Roll back]: a new deployment of `aaaaaaa`, past Bob's lock and before the push.
    let answers = world
        .press(ANA, &channel(), ACTION_ROLLBACK, &shown[0].1)
        .await;
    assert!(
        answers[0].text.contains("Rolling back preview"),
        "{answers:?}"
    );
    let rollback = world
        .deployments_in(Environment::Preview)
        .await
        .into_iter()
        .find(|d| d.trigger.is_rollback())
        .expect("the rollback's record");
    assert_eq!(rollback.sha, sha('a'));
    assert_eq!(rollback.state, DeploymentState::Created);
    let Trigger::Rollback {
        from_sha, reason, ..
    } = &rollback.trigger
    else {
        panic!("a rollback trigger");
    };
    assert_eq!(from_sha, &sha('b'));
    assert_eq!(reason.as_deref(), Some("the login page is blank"));
    let on_github = world.github_deployment(&rollback);
    assert_eq!(
        on_github.git_ref,
        sha('a').to_string(),
        "the commit, never a branch head"
    );
    assert_eq!(on_github.auto_merge, Some(false));
    assert_eq!(on_github.required_contexts, Some(Vec::new()));
    assert_eq!(on_github.task.as_deref(), Some("deploy:rollback"));
    assert_eq!(
        on_github.payload["rollback"]["from_sha"],
        sha('b').to_string()
    );
    assert_eq!(on_github.payload["rollback"]["by_slack_user"], ANA);
    assert_eq!(
        world.store_get(&waiting.id).await.state,
        DeploymentState::Waiting,
        "the push still waits for Bob's lock"
    );

    // The pipeline is told it is a rollback; the others were not.
    world.announce_deployments().await;
    let pipelines = world.ci.pipelines();
    let flags: Vec<Option<String>> = pipelines.iter().map(|p| p.parameter("rollback")).collect();
    assert_eq!(
        flags,
        vec![
            Some("false".to_owned()),
            Some("false".to_owned()),
            Some("true".to_owned())
        ]
    );
    assert_eq!(world.finish_everything("success").await, 1);
    assert_eq!(
        world.store_get(&rollback.id).await.state,
        DeploymentState::Success
    );

    // Rolling back the rollback is refused with the command to use instead.
    world.slash(ANA, "rollback preview").await;
    let refusal = command_responses(&world, ANA);
    let refusal = &refusal.last().expect("an answer").text;
    assert!(refusal.contains("runs a rollback already"), "{refusal}");
    assert!(
        refusal.contains("`/cimon deploy <ref> to preview`"),
        "{refusal}"
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn a_rollback_with_nothing_earlier_or_an_unknown_target_says_why() {
    let world = World::new().await;
    world.slash(ANA, "rollback preview").await;
    let said = command_responses(&world, ANA);
    assert!(
        said.last()
            .expect("an answer")
            .text
            .contains("nothing to roll back"),
        "{said:?}"
    );
    push_main(&world, 'a', None).await;
    assert_eq!(world.finish_everything("success").await, 1);
    push_main(&world, 'b', Some('a')).await;
    assert_eq!(world.finish_everything("failure").await, 1);
    world.slash(ANA, "rollback preview to bbbbbbb").await;
    let said = command_responses(&world, ANA);
    let text = &said.last().expect("an answer").text;
    // `bbbbbbb` failed there: not in the records of successes; the oldest kept is named.
    assert!(
        text.contains("no successful deployment of `bbbbbbb` to preview"),
        "{text}"
    );
    assert!(text.contains("The oldest it keeps is `aaaaaaa`"), "{text}");
    world.assert_no_failures();
}

#[tokio::test]
async fn after_a_rollback_the_environment_is_locked_and_the_bad_commit_stays_out() {
    let world = World::new().await;
    push_main(&world, 'a', None).await;
    assert_eq!(world.finish_everything("success").await, 1);
    push_main(&world, 'b', Some('a')).await;
    assert_eq!(world.finish_everything("success").await, 1);
    let bad = world
        .deployments_in(Environment::Preview)
        .await
        .into_iter()
        .find(|d| d.sha == sha('b'))
        .expect("the bad release");

    // Minutes later (deployment ids order deployments by their creation time).
    world.clock.advance_secs(600);
    world.slash(ANA, "rollback preview login broken").await;
    let preview = command_responses(&world, ANA);
    let value = buttons(preview.last().expect("a preview"))[0].1.clone();
    world.press(ANA, &channel(), ACTION_ROLLBACK, &value).await;
    assert_eq!(world.finish_everything("success").await, 1);

    // Locked by Ana, with the reason, for the default time.
    let lock = world.lane(Environment::Preview).await.lock.expect("locked");
    assert_eq!(lock.holder.as_str(), ANA);
    assert_eq!(
        lock.reason.as_deref(),
        Some("rolled back from `bbbbbbb`: login broken")
    );
    assert_eq!(lock.until, world.clock.now().plus_secs(7200));
    // The release rolled away from says so, in the store and on GitHub.
    world.settle().await;
    let away = world.store_get(&bad.id).await;
    assert_eq!(away.state, DeploymentState::Inactive);
    assert_eq!(away.description.as_deref(), Some("rolled back by <@U0ANA>"));
    assert_eq!(
        world.github_states(&away).last().map(String::as_str),
        Some("inactive")
    );

    // The bad commit pushed again is refused at once, saying why; nothing reaches GitHub.
    let on_github = world.github.deployments(&repo()).len();
    world
        .github_event("push", &push_event("refs/heads/main", &sha('b')))
        .await;
    let refused = world
        .deployments_in(Environment::Preview)
        .await
        .into_iter()
        .filter(|d| d.sha == sha('b'))
        .find(|d| d.id != bad.id)
        .expect("the push's intent");
    assert_eq!(refused.state, DeploymentState::Skipped);
    let why = refused.description.clone().unwrap_or_default();
    assert!(
        why.starts_with("not deployed: `bbbbbbb` was rolled back from preview by <@U0ANA>"),
        "{why}"
    );
    assert!(why.contains("login broken"), "{why}");
    assert_eq!(world.github.deployments(&repo()).len(), on_github);

    // A fix on top of the bad commit waits for the lock, then deploys after unlock.
    push_main(&world, 'c', Some('b')).await;
    let fix = world
        .deployments_in(Environment::Preview)
        .await
        .into_iter()
        .find(|d| d.sha == sha('c'))
        .expect("the fix");
    assert_eq!(fix.state, DeploymentState::Waiting);
    world.slash(ANA, "unlock preview").await;
    assert_eq!(
        world.store_get(&fix.id).await.state,
        DeploymentState::Created
    );
    assert_eq!(world.finish_everything("success").await, 1);
    world.assert_no_failures();
}
