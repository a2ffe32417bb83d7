//! Freezes end to end, through the routers and the invoked functions with the fakes: a freeze
//! set from Slack holds pushes in the lane until `unfreeze`, then the newest deploys; a
//! workflow file's window holds them until it ends, when the watchdog lets them go; a
//! deployment by hand is refused with until when and why; `status` and `freezes` show it.

use crate::workflow_support::*;
use deploybot_core::invoke::DeploymentCreateRequest;
use deploybot_core::lane::Hold;
use deploybot_core::ports::Clock;
use deploybot_core::{DeploymentState, Environment};
use serde_json::Value;

const ANA: &str = "U0ANA";

fn text_of(answer: &Value) -> String {
    answer["text"].as_str().expect("a text").to_owned()
}

fn channel_texts(world: &World) -> Vec<String> {
    world
        .messages()
        .iter()
        .filter_map(|m| m.latest().map(message_text))
        .collect()
}

/// Pushes `hex` repeated to `main` (deployed to preview by the built-in workflow).
async fn push_main(world: &World, hex: char) {
    let sha = sha(hex);
    world.github.set_branch(&repo(), "main", &sha, Some(AUTHOR));
    world
        .github_event("push", &push_event("refs/heads/main", &sha))
        .await;
}

fn states(deployments: &[deploybot_core::Deployment]) -> Vec<(String, DeploymentState)> {
    let mut v: Vec<(String, DeploymentState)> = deployments
        .iter()
        .map(|d| (d.sha.short().to_owned(), d.state))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_freeze_set_from_slack_holds_pushes_until_unfreeze_then_the_newest_deploys() {
    let world = World::new().await;
    let answer = world
        .slash(ANA, "freeze preview for 2h release party")
        .await;
    assert_eq!(answer["response_type"], "in_channel", "{answer}");
    let said = text_of(&answer);
    assert!(
        said.contains(":snowflake: <@U0ANA> froze *preview* until"),
        "{said}"
    );
    assert!(said.contains("(2h) — release party"), "{said}");

    push_main(&world, 'a').await;
    push_main(&world, 'b').await;
    // Nothing reached GitHub: the pushes wait in the lane, the newest one only.
    assert!(world.github.deployments(&repo()).is_empty());
    let preview = world.deployments_in(Environment::Preview).await;
    assert_eq!(
        states(&preview),
        [
            ("aaaaaaa".to_owned(), DeploymentState::Superseded),
            ("bbbbbbb".to_owned(), DeploymentState::Waiting),
        ]
    );
    let waiting = preview
        .iter()
        .find(|d| d.state == DeploymentState::Waiting)
        .expect("one waits");
    assert!(
        matches!(waiting.hold, Some(Hold::Freeze { .. })),
        "{:?}",
        waiting.hold
    );
    let why = waiting.description.clone().unwrap_or_default();
    assert!(why.contains("preview is frozen until"), "{why}");
    assert!(why.contains("frozen by <@U0ANA> — release party"), "{why}");
    // The lane is not due for a thaw: a freeze set by hand ends by hand or at its end.
    let lane = world.lane(Environment::Preview).await;
    let two_hours = world.clock.now().plus_secs(7200);
    assert_eq!(lane.thaw_at, Some(two_hours));
    assert_eq!(lane.due_at, Some(two_hours));

    // A deployment by hand is refused, saying until when and why.
    let refused = text_of(&world.slash(ANA, "deploy main to preview").await);
    assert!(refused.contains("*preview* is frozen until"), "{refused}");
    assert!(
        refused.contains("(2h from now): frozen by <@U0ANA> — release party"),
        "{refused}"
    );
    // `status` and `freezes` show it.
    let status = text_of(&world.slash(ANA, "status").await);
    assert!(
        status.contains(":snowflake: frozen for 2h more"),
        "{status}"
    );
    let freezes = text_of(&world.slash(ANA, "freezes").await);
    assert!(
        freezes.contains("• *preview* :snowflake: frozen for 2h more"),
        "{freezes}"
    );
    assert!(
        freezes.contains("No freeze starts in the next 7 days."),
        "{freezes}"
    );

    world.clock.advance_secs(600);
    let answer = world.slash(ANA, "unfreeze preview").await;
    assert_eq!(answer["response_type"], "in_channel", "{answer}");
    assert!(text_of(&answer).contains(":sunny: <@U0ANA> unfroze *preview*"));
    world.settle().await;
    let preview = world.deployments_in(Environment::Preview).await;
    assert_eq!(
        states(&preview),
        [
            ("aaaaaaa".to_owned(), DeploymentState::Superseded),
            ("bbbbbbb".to_owned(), DeploymentState::Created),
        ]
    );
    let told = channel_texts(&world);
    assert!(
        told.iter()
            .any(|t| t.contains("deploying `bbbbbbb`, which came while it was frozen")),
        "{told:#?}"
    );
    assert_eq!(world.lane(Environment::Preview).await.thaw_at, None);
    // Unfreezing again says there is nothing to lift.
    let again = world.slash(ANA, "unfreeze preview").await;
    assert_eq!(again["response_type"], "ephemeral");
    assert!(text_of(&again).contains("*preview* has no freeze set from Slack"));
    world.assert_no_failures();
}

const WINDOW: &str = "\
version: 1
environments:
  preview:
    on: { push: [default] }
  production:
    production: true
freezes:
  - name: maintenance
    environments: [preview]
    timezone: Europe/London
    from: \"2024-05-14T09:00\"
    until: \"2024-05-14T11:00\"
    reason: database upgrade
";

#[tokio::test]
async fn a_window_of_the_workflow_file_holds_pushes_and_the_watchdog_lets_them_go_at_its_end() {
    let world = World::new().await;
    // 2024-05-14 09:00 UTC is 10:00 in London (BST): the window ends at 10:00 UTC.
    world.use_workflow_file(&sha('1'), Some(WINDOW)).await;
    push_main(&world, 'c').await;
    let waiting = world.only_deployment(Environment::Preview).await;
    assert_eq!(waiting.state, DeploymentState::Waiting);
    let why = waiting.description.clone().unwrap_or_default();
    assert!(why.contains("(maintenance — database upgrade)"), "{why}");
    let end = deploybot_core::Timestamp::from_secs(NOW_SECS + 3600);
    assert_eq!(world.lane(Environment::Preview).await.due_at, Some(end));
    // `unfreeze` cannot lift a window of the file, and says so.
    let answer = text_of(&world.slash(ANA, "unfreeze preview").await);
    assert!(
        answer.contains("frozen by the workflow file until"),
        "{answer}"
    );

    // Before the end the watchdog leaves it waiting; at the end it deploys.
    world.clock.advance_secs(1800);
    world.call(&DeploymentCreateRequest::Watchdog).await;
    assert_eq!(
        world.only_deployment(Environment::Preview).await.state,
        DeploymentState::Waiting
    );
    world.clock.advance_secs(1800);
    world.call(&DeploymentCreateRequest::Watchdog).await;
    world.settle().await;
    let deployed = world.only_deployment(Environment::Preview).await;
    assert_eq!(deployed.state, DeploymentState::Created, "{deployed:?}");
    assert!(
        channel_texts(&world)
            .iter()
            .any(|t| t.contains("deploying `ccccccc`, which came while it was frozen")),
        "{:#?}",
        channel_texts(&world)
    );
    let lane = world.lane(Environment::Preview).await;
    assert_eq!(lane.thaw_at, None);
    world.assert_no_failures();
}

/// A window that starts an hour after the tests' clock (10:00 UTC is 11:00 in London).
const LATER: &str = "\
version: 1
environments:
  preview:
    on: { push: [default] }
freezes:
  - name: maintenance
    environments: [preview]
    timezone: Europe/London
    from: \"2024-05-14T11:00\"
    until: \"2024-05-14T12:00\"
    reason: database upgrade
";

#[tokio::test]
async fn the_channel_is_told_thirty_minutes_before_a_window_starts_with_what_is_queued() {
    let world = World::new().await;
    world.use_workflow_file(&sha('1'), Some(LATER)).await;
    push_main(&world, 'c').await;
    push_main(&world, 'd').await;
    let start = deploybot_core::Timestamp::from_secs(NOW_SECS + 3600);
    let lane = world.lane(Environment::Preview).await;
    assert_eq!(lane.freeze_warn_at, Some(start.plus_secs(-1800)));
    assert!(lane.due_at.is_some_and(|d| d <= start.plus_secs(-1800)));

    // Before the warning's time the watchdog says nothing about it.
    world.clock.advance_secs(1700);
    world.call(&DeploymentCreateRequest::Watchdog).await;
    world.settle().await;
    let warned = |texts: &[String]| {
        texts
            .iter()
            .filter(|t| t.contains("freezes at"))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert!(warned(&channel_texts(&world)).is_empty());

    world.clock.advance_secs(100);
    world.call(&DeploymentCreateRequest::Watchdog).await;
    world.settle().await;
    let told = warned(&channel_texts(&world));
    assert_eq!(told.len(), 1, "{told:#?}");
    let said = &told[0];
    assert!(said.contains(":snowflake: *preview* freezes at"), "{said}");
    assert!(said.contains("(maintenance — database upgrade)"), "{said}");
    assert!(
        said.contains("Queued now: `ccccccc` is deploying and will finish; `ddddddd` (main) is"),
        "{said}"
    );
    let lane = world.lane(Environment::Preview).await;
    assert_eq!(lane.freeze_warned, Some(start));
    assert_eq!(lane.freeze_warn_at, None, "no other window to warn about");

    // Told once.
    world.clock.advance_secs(60);
    world.call(&DeploymentCreateRequest::Watchdog).await;
    world.settle().await;
    assert_eq!(warned(&channel_texts(&world)).len(), 1);
    world.assert_no_failures();
}

/// The value of the [Override…] button in `blocks` (a refusal's blocks as JSON).
fn override_value(blocks: &Value) -> String {
    blocks
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["elements"].as_array())
        .flatten()
        .find(|e| e["action_id"] == deploybot_app::render::ACTION_FREEZE_OVERRIDE)
        .and_then(|e| e["value"].as_str())
        .expect("an Override… button")
        .to_owned()
}

/// A deploy by hand into a frozen environment — typed, or from the [Deploy to staging]
/// button — is refused with [Override…]; pressed without a reason it asks for one and
/// changes nothing; with a reason that one deployment goes, the channel is told who and why,
/// and the freeze stays for the next push.
#[tokio::test]
async fn override_lets_one_deploy_by_hand_through_a_freeze_with_a_reason() {
    use deploybot_app::render::{ACTION_FREEZE_OVERRIDE, ACTION_PROMOTE};
    let world = World::new().await;
    world
        .github
        .set_branch(&repo(), "release-1.4", &sha('c'), Some(AUTHOR));
    world
        .github_event("push", &push_event("refs/heads/release-1.4", &sha('c')))
        .await;
    assert_eq!(world.finish_everything("success").await, 1);
    let tested = world.only_deployment(Environment::Test).await;
    world
        .slash(ANA, "freeze staging for 2h release party")
        .await;

    // Typed: the refusal carries the button.
    let answer = world.slash(ANA, "deploy release-1.4 to staging").await;
    assert!(text_of(&answer).contains("*staging* is frozen until"));
    let typed: deploybot_app::render::freezes::FreezeOverride =
        serde_json::from_str(&override_value(&answer["blocks"])).expect("parses");
    assert_eq!(typed.environment, Environment::Staging);

    // From the button: refused the same way, through the press's response_url.
    let answers = world
        .press(ANA, &channel(), ACTION_PROMOTE, tested.id.as_str())
        .await;
    let refusal = answers
        .iter()
        .find(|m| m.text.contains("*staging* is frozen until"))
        .unwrap_or_else(|| panic!("a refusal: {answers:?}"));
    let value = override_value(&serde_json::to_value(&refusal.blocks).expect("serialises"));
    let asked: deploybot_app::render::freezes::FreezeOverride =
        serde_json::from_str(&value).expect("parses");
    assert!(asked.promotion, "{value}");
    assert!(world.deployments_in(Environment::Staging).await.is_empty());

    // No reason: asked for one; nothing deployed.
    let answers = world
        .press_with_reason(ANA, &channel(), ACTION_FREEZE_OVERRIDE, &value, Some("  "))
        .await;
    assert!(
        answers
            .iter()
            .any(|m| m.text.contains("Write why staging cannot wait")),
        "{answers:?}"
    );
    assert!(world.deployments_in(Environment::Staging).await.is_empty());

    // With a reason: this one goes, and the channel is told.
    world
        .press_with_reason(
            ANA,
            &channel(),
            ACTION_FREEZE_OVERRIDE,
            &value,
            Some("hotfix for the checkout"),
        )
        .await;
    let staging = world.only_deployment(Environment::Staging).await;
    assert_eq!(staging.sha, sha('c'));
    assert_eq!(staging.state, DeploymentState::Created, "{staging:?}");
    assert!(
        channel_texts(&world).iter().any(|t| t.contains(
            ":snowflake: <@U0ANA> overrode the freeze of *staging* to deploy `ccccccc`: hotfix for the checkout"
        )),
        "{:?}",
        channel_texts(&world)
    );
    assert_eq!(world.finish_everything("success").await, 1);

    // The freeze stays: the next deploy by hand is refused again.
    let answer = world.slash(ANA, "deploy release-1.4 to staging").await;
    assert!(text_of(&answer).contains("*staging* is frozen until"));
    assert_eq!(world.deployments_in(Environment::Staging).await.len(), 1);
    world.assert_no_failures();
}
