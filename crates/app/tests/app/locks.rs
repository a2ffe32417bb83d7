//! Locks end to end, through the routers and the invoked functions with the fakes: `lock`,
//! `unlock` and `status` typed in the channel, the [Unlock], [Unlock anyway] and [Extend 1h]
//! buttons (in the channel and in the holder's direct messages), deployments that wait for a
//! lock and go when it ends, and the lane's lock history.

use crate::workflow_support::*;
use deploybot_app::render::{ACTION_EXTEND, ACTION_UNLOCK, ACTION_UNLOCK_CONFIRMED};
use deploybot_core::blocks::{Block, Element, Message};
use deploybot_core::lane::{LaneKey, LockEnd, LockHistoryEntry, LockHistoryEvent, slack_time};
use deploybot_core::ports::{Clock, LaneStore};
use deploybot_core::{DeploymentState, Environment, SlackUserId, Timestamp};
use deploybot_testkit::fakes::slack::FakeSlack;
use serde_json::Value;

const ANA: &str = "U0ANA";
const BOB: &str = "U0BOB";

fn ana() -> SlackUserId {
    SlackUserId::parse(ANA).expect("valid user")
}

fn bob() -> SlackUserId {
    SlackUserId::parse(BOB).expect("valid user")
}

fn lane(environment: Environment) -> LaneKey {
    LaneKey {
        repository: repo(),
        environment,
    }
}

/// The button value of a lane's lock buttons.
fn value(environment: Environment) -> String {
    lane(environment).as_key()
}

/// A slash command's answer: asserts it is ephemeral and returns its text.
fn ephemeral_text(answer: &Value) -> String {
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
    answer["text"].as_str().expect("a text").to_owned()
}

/// The buttons of a message: `(action_id, value, asks to confirm)`.
fn buttons(message: &Message) -> Vec<(String, String, bool)> {
    message
        .blocks
        .iter()
        .flat_map(|b| match b {
            Block::Actions { elements, .. } => elements.clone(),
            _ => Vec::new(),
        })
        .filter_map(|element| match element {
            Element::Button {
                action_id,
                value,
                confirm,
                ..
            } => Some((action_id, value.unwrap_or_default(), confirm.is_some())),
            Element::ExternalSelect { .. } | Element::PlainTextInput { .. } => None,
        })
        .collect()
}

/// The buttons of a slash command's JSON answer.
fn answer_buttons(answer: &Value) -> Vec<(String, String, bool)> {
    let message: Message = serde_json::from_value(answer.clone()).expect("a message");
    buttons(&message)
}

/// The channel's messages (latest versions) that are not a deployment's own: the lane's
/// notices, in the order posted.
async fn notices(world: &World) -> Vec<Message> {
    let deployment_messages: Vec<String> = world
        .deployments()
        .await
        .into_iter()
        .filter_map(|d| d.slack_ts)
        .collect();
    world
        .messages()
        .into_iter()
        .filter(|m| !deployment_messages.contains(&m.ts))
        .filter_map(|m| m.latest().cloned())
        .collect()
}

/// When the lock on staging ends, if there is one.
async fn until(world: &World) -> Option<Timestamp> {
    world.lane(Environment::Staging).await.lock.map(|l| l.until)
}

async fn history(world: &World, environment: Environment) -> Vec<LockHistoryEntry> {
    world
        .store
        .lock_history(&lane(environment), 50)
        .await
        .expect("the store answers")
}

/// A history entry as `(what, by)`: `locked`, `extended`, `unlocked`, `taken over`,
/// `expired`.
fn kind(entry: &LockHistoryEntry) -> (&'static str, Option<SlackUserId>) {
    let what = match &entry.event {
        LockHistoryEvent::Locked { .. } => "locked",
        LockHistoryEvent::Extended { .. } => "extended",
        LockHistoryEvent::Released { end, .. } => match end {
            LockEnd::Unlocked { .. } => "unlocked",
            LockEnd::TakenOver { .. } => "taken over",
            LockEnd::Expired => "expired",
        },
    };
    (what, entry.by.clone())
}

/// Pushes `hex` repeated to `main` (deployed to preview by the policy).
async fn push_main(world: &World, hex: char) {
    let sha = sha(hex);
    world.github.set_branch(&repo(), "main", &sha, Some(AUTHOR));
    world
        .github_event("push", &push_event("refs/heads/main", &sha))
        .await;
}

#[tokio::test]
async fn lock_tells_the_channel_and_answers_refusals_to_the_person() {
    let world = World::new().await;
    let now = world.clock.now();

    let answer = world
        .slash(ANA, "lock preview for 1h testing the migration")
        .await;
    let text = ephemeral_text(&answer);
    assert!(text.contains("You hold *preview* until"), "{text}");

    // The channel sees who holds it, why, until when, and the buttons.
    let until = now.plus_secs(3600);
    let shown = notices(&world).await;
    assert_eq!(shown.len(), 1, "{shown:#?}");
    assert_eq!(
        shown[0].text,
        format!(
            ":lock: preview is locked by <@U0ANA> until {} — testing the migration",
            slack_time(until)
        )
    );
    assert_eq!(
        buttons(&shown[0]),
        vec![
            (ACTION_UNLOCK.to_owned(), value(Environment::Preview), false),
            (ACTION_EXTEND.to_owned(), value(Environment::Preview), false),
        ]
    );
    let lock = world.lane(Environment::Preview).await.lock.expect("locked");
    assert_eq!((lock.holder.clone(), lock.until), (ana(), until));

    // Someone else is refused in the command's own answer; nothing else changes.
    let answer = world.slash(BOB, "lock preview for 30m").await;
    let text = ephemeral_text(&answer);
    assert!(
        text.contains("preview is already locked by <@U0ANA>"),
        "{text}"
    );
    assert_eq!(notices(&world).await.len(), 1);
    assert_eq!(world.lane(Environment::Preview).await.lock, Some(lock));

    // Mistakes get the grammar's sentence, never an error.
    for (text, needle) in [
        ("lock preview for 2d", "at most 1 day"),
        ("lock preview for 30s", "at least 1 minute"),
        ("lock prevew", "no `prevew` environment"),
        ("lock", "Say which environment to lock"),
        ("unlock", "Say which environment to unlock"),
        ("lok preview", "I don't know the command `lok`"),
    ] {
        let answer = world.slash(BOB, text).await;
        let said = ephemeral_text(&answer);
        assert!(said.contains(needle), "{text}: {said}");
    }

    // Defaults: 1 h for production, 2 h elsewhere.
    world.slash(BOB, "lock production").await;
    world.slash(BOB, "lock test").await;
    for (environment, secs) in [(Environment::Production, 3600), (Environment::Test, 7200)] {
        let lock = world.lane(environment.clone()).await.lock.expect("locked");
        assert_eq!(lock.until, now.plus_secs(secs), "{environment}");
    }

    let history = history(&world, Environment::Preview).await;
    assert_eq!(
        history.iter().map(kind).collect::<Vec<_>>(),
        vec![("locked", Some(ana()))]
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn a_push_waits_for_the_lock_and_deploys_when_the_holder_unlocks() {
    let world = World::new().await;
    world.link_author().await;
    world
        .slash(ANA, "lock preview for 1h testing the migration")
        .await;

    push_main(&world, 'a').await;
    let waiting = world.only_deployment(Environment::Preview).await;
    assert_eq!(waiting.state, DeploymentState::Waiting);
    let until = slack_time(world.clock.now().plus_secs(3600));
    let sentence =
        format!("waiting: preview is locked by <@U0ANA> until {until} — testing the migration");
    assert_eq!(waiting.description.as_deref(), Some(sentence.as_str()));
    let message = world
        .slack
        .message(&channel(), waiting.slack_ts.as_deref().expect("posted"))
        .expect("the deployment's message");
    let latest = message_text(message.last().expect("a version"));
    assert!(latest.contains(&sentence), "{latest}");
    assert!(
        world.github.deployments(&repo()).is_empty(),
        "nothing is created on GitHub while the lock holds"
    );

    let answer = world.slash(ANA, "unlock preview").await;
    let text = ephemeral_text(&answer);
    assert!(text.contains("*preview* is unlocked"), "{text}");

    // It goes now: created on GitHub, its pipeline runs, it succeeds.
    let deployed = world.store_get(&waiting.id).await;
    assert_eq!(deployed.state, DeploymentState::Created);
    assert_eq!(world.github.deployments(&repo()).len(), 1);
    assert_eq!(world.finish_everything("success").await, 1);
    assert_eq!(
        world.store_get(&waiting.id).await.state,
        DeploymentState::Success
    );

    let shown: Vec<String> = notices(&world).await.into_iter().map(|m| m.text).collect();
    assert_eq!(
        shown[1..],
        [
            ":unlock: preview was unlocked by <@U0ANA>".to_owned(),
            "preview: deploying `aaaaaaa`, which came while it was locked".to_owned(),
        ],
        "{shown:#?}"
    );
    let history = history(&world, Environment::Preview).await;
    assert_eq!(
        history.iter().map(kind).collect::<Vec<_>>(),
        vec![("unlocked", Some(ana())), ("locked", Some(ana()))]
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn the_holders_own_deploy_goes_through_while_pushes_wait() {
    let world = World::new().await;
    world.slash(ANA, "lock preview").await;
    push_main(&world, 'a').await;
    assert!(world.github.deployments(&repo()).is_empty());

    // The holder deploys by hand: it goes at once.
    world.github.set_branch(&repo(), "hotfix", &sha('b'), None);
    let answer = world.slash(ANA, "deploy hotfix to preview").await;
    ephemeral_text(&answer);
    let on_github = world.github.deployments(&repo());
    assert_eq!(on_github.len(), 1, "{on_github:#?}");
    assert_eq!(on_github[0].sha, sha('b'));
    assert_eq!(world.finish_everything("success").await, 1);

    // Someone else's deploy waits like the push.
    world.github.set_branch(&repo(), "other", &sha('c'), None);
    world.slash(BOB, "deploy other to preview").await;
    let mut waiting: Vec<_> = world
        .deployments_in(Environment::Preview)
        .await
        .into_iter()
        .filter(|d| d.state == DeploymentState::Waiting)
        .map(|d| d.sha)
        .collect();
    waiting.sort();
    assert_eq!(waiting, vec![sha('a'), sha('c')]);
    assert_eq!(world.github.deployments(&repo()).len(), 1);

    // Unlocked, the first in line goes, then the next.
    world.slash(ANA, "unlock preview").await;
    assert_eq!(world.finish_everything("success").await, 2);
    let deployed: Vec<_> = world
        .github
        .deployments(&repo())
        .into_iter()
        .map(|d| d.sha)
        .collect();
    assert_eq!(deployed, vec![sha('b'), sha('a'), sha('c')]);
    world.assert_no_failures();
}

#[tokio::test]
async fn someone_else_unlocks_after_confirming_and_the_holder_is_told() {
    let world = World::new().await;
    world
        .slash(ANA, "lock preview for 1h testing the migration")
        .await;
    push_main(&world, 'a').await;

    // Bob is asked to confirm, in his command's answer; nothing changes yet.
    let answer = world.slash(BOB, "unlock preview").await;
    let text = ephemeral_text(&answer);
    assert!(
        text.contains("preview is locked by <@U0ANA>")
            && text.contains("Unlock it anyway? <@U0ANA> will be told."),
        "{text}"
    );
    assert_eq!(
        answer_buttons(&answer),
        vec![(
            ACTION_UNLOCK_CONFIRMED.to_owned(),
            value(Environment::Preview),
            true
        )]
    );
    assert!(world.lane(Environment::Preview).await.lock.is_some());
    assert!(world.github.deployments(&repo()).is_empty());

    // He confirms: the lock is his to end; the channel and Ana are told; the push goes.
    let answers = world
        .press(
            BOB,
            &channel(),
            ACTION_UNLOCK_CONFIRMED,
            &value(Environment::Preview),
        )
        .await;
    assert!(answers.is_empty(), "the channel says it: {answers:#?}");
    assert_eq!(world.lane(Environment::Preview).await.lock, None);
    assert_eq!(world.github.deployments(&repo()).len(), 1);
    let shown: Vec<String> = notices(&world).await.into_iter().map(|m| m.text).collect();
    assert!(
        shown.contains(
            &":unlock: preview was unlocked by <@U0BOB> (it was locked by <@U0ANA>)".to_owned()
        ),
        "{shown:#?}"
    );
    let dms = world.slack.direct_messages(&ana());
    assert_eq!(dms.len(), 1, "{dms:#?}");
    assert_eq!(
        dms[0].latest().map(|m| m.text.as_str()),
        Some("<@U0BOB> unlocked preview, which you had locked (testing the migration)")
    );
    assert_eq!(dms[0].channel, FakeSlack::direct_channel(&ana()));

    let history = history(&world, Environment::Preview).await;
    assert_eq!(
        history.iter().map(kind).collect::<Vec<_>>(),
        vec![("taken over", Some(bob())), ("locked", Some(ana()))]
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn lock_buttons_in_the_channel_and_in_the_reminder() {
    let world = World::new().await;
    let now = world.clock.now();
    world.slash(ANA, "lock staging for 30m demo").await;
    let dm = FakeSlack::direct_channel(&ana());
    let staging = value(Environment::Staging);

    // [Extend 1h] is the holder's: anyone else is told so, to them only.
    let answers = world.press(BOB, &channel(), ACTION_EXTEND, &staging).await;
    assert_eq!(answers.len(), 1);
    assert_eq!(
        answers[0].text,
        "only <@U0ANA>, who holds the lock on staging, can extend it"
    );
    assert_eq!(until(&world).await, Some(now.plus_secs(1800)));

    // The holder extends from the reminder in her direct messages: the channel is told, and
    // she gets a confirmation there.
    let answers = world.press(ANA, &dm, ACTION_EXTEND, &staging).await;
    assert_eq!(until(&world).await, Some(now.plus_secs(1800 + 3600)));
    assert_eq!(answers.len(), 1, "{answers:#?}");
    assert!(answers[0].text.contains("You hold *staging* until"));
    let last = notices(&world).await.pop().expect("a notice");
    assert_eq!(
        last.text,
        format!(
            ":lock: staging stays locked by <@U0ANA> until {}",
            slack_time(now.plus_secs(5400))
        )
    );
    assert_eq!(buttons(&last).len(), 2, "[Unlock] [Extend 1h] again");

    // [Unlock] pressed by someone else offers the confirmation.
    let answers = world.press(BOB, &channel(), ACTION_UNLOCK, &staging).await;
    assert_eq!(answers.len(), 1);
    assert_eq!(
        buttons(&answers[0]),
        vec![(ACTION_UNLOCK_CONFIRMED.to_owned(), staging.clone(), true)]
    );
    assert!(until(&world).await.is_some());

    // [Unlock] pressed by the holder in the channel unlocks; the channel says so.
    let answers = world.press(ANA, &channel(), ACTION_UNLOCK, &staging).await;
    assert!(answers.is_empty(), "{answers:#?}");
    assert_eq!(until(&world).await, None);
    let shown: Vec<String> = notices(&world).await.into_iter().map(|m| m.text).collect();
    assert_eq!(
        shown[shown.len() - 2..],
        [
            ":unlock: staging was unlocked by <@U0ANA>".to_owned(),
            "staging: nothing was waiting".to_owned()
        ]
    );

    // An old button of a lock that ended, or one naming nothing we know.
    let answers = world.press(ANA, &channel(), ACTION_UNLOCK, &staging).await;
    assert_eq!(answers[0].text, "staging is not locked.");
    let answers = world.press(ANA, &channel(), ACTION_EXTEND, &staging).await;
    assert!(answers[0].text.contains("not locked any more"));
    // An environment the repository does not have is not locked, and nothing is written.
    let answers = world
        .press(ANA, &channel(), ACTION_UNLOCK, "acme/web#qa")
        .await;
    assert_eq!(answers[0].text, "qa is not locked.");
    for nonsense in ["", "acme/web#q\u{7}a", "nobody/else#staging", "<script>"] {
        let answers = world.press(ANA, &channel(), ACTION_UNLOCK, nonsense).await;
        assert_eq!(answers.len(), 1, "{nonsense:?}");
        assert!(
            answers[0].text.contains("no channel follows"),
            "{nonsense:?}: {}",
            answers[0].text
        );
    }

    let history = history(&world, Environment::Staging).await;
    assert_eq!(
        history.iter().map(kind).collect::<Vec<_>>(),
        vec![
            ("unlocked", Some(ana())),
            ("extended", Some(ana())),
            ("locked", Some(ana()))
        ]
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn a_lock_that_ran_out_is_released_by_the_next_command() {
    let world = World::new().await;
    world.slash(ANA, "lock preview for 10m").await;
    push_main(&world, 'a').await;
    world.clock.advance_secs(11 * 60);

    // Bob's lock takes the lane at once: the old one ran out.
    let answer = world.slash(BOB, "lock preview for 5m").await;
    assert!(ephemeral_text(&answer).contains("You hold *preview*"));
    let lock = world.lane(Environment::Preview).await.lock.expect("locked");
    assert_eq!(lock.holder, bob());
    let history = history(&world, Environment::Preview).await;
    assert_eq!(
        history.iter().map(kind).collect::<Vec<_>>(),
        vec![
            ("locked", Some(bob())),
            ("expired", None),
            ("locked", Some(ana()))
        ]
    );
    // The push waits on Bob's lock now, and says so.
    let waiting = world.only_deployment(Environment::Preview).await;
    assert_eq!(waiting.state, DeploymentState::Waiting);
    assert!(
        waiting
            .description
            .as_deref()
            .is_some_and(|d| d.contains("locked by <@U0BOB>")),
        "{:?}",
        waiting.description
    );
    world.clock.advance_secs(6 * 60);
    let answer = world.slash(BOB, "unlock preview").await;
    assert!(ephemeral_text(&answer).contains("had run out already"));
    assert_eq!(world.github.deployments(&repo()).len(), 1);
    world.assert_no_failures();
}

#[tokio::test]
async fn a_deployment_that_waited_goes_first_when_the_next_one_finds_the_lock_ran_out() {
    let world = World::new().await;
    world.slash(ANA, "lock preview for 10m").await;
    push_main(&world, 'a').await;
    world.clock.advance_secs(11 * 60);

    // Bob's deploy arrives after the lock ran out: the push that waited goes first, recorded
    // as created on GitHub; Bob's waits for it.
    world.github.set_branch(&repo(), "other", &sha('c'), None);
    world.slash(BOB, "deploy other to preview").await;
    let deployments = world.deployments_in(Environment::Preview).await;
    let pushed = deployments
        .iter()
        .find(|d| d.sha == sha('a'))
        .expect("the push");
    assert_eq!(pushed.state, DeploymentState::Created);
    let on_github = world.github.deployments(&repo());
    assert_eq!(on_github.len(), 1, "{on_github:#?}");
    assert_eq!(Some(on_github[0].id), pushed.github_deployment_id);
    assert_eq!(world.finish_everything("success").await, 2);
    let history = history(&world, Environment::Preview).await;
    assert_eq!(
        history.iter().map(kind).collect::<Vec<_>>(),
        vec![("expired", None), ("locked", Some(ana()))]
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn status_shows_every_environment_at_a_glance() {
    let world = World::new().await;
    world.link_author().await;

    // preview runs main; a second push is deploying.
    push_main(&world, 'a').await;
    world.finish_everything("success").await;
    world.clock.advance_secs(600);
    push_main(&world, 'b').await;
    world.announce_deployments().await;
    // test is locked, two release branches wait.
    world
        .slash(ANA, "lock test for 2h checking the release")
        .await;
    for (branch, hex) in [("release-1.2", 'c'), ("release-1.3", 'd')] {
        world.github.set_branch(&repo(), branch, &sha(hex), None);
        world
            .github_event(
                "push",
                &push_event(&format!("refs/heads/{branch}"), &sha(hex)),
            )
            .await;
    }
    // A pull request is deploying.
    world
        .github
        .set_branch(&repo(), "feature/login", &pr_sha(), Some(AUTHOR));
    world
        .github_event(
            "pull_request",
            &pr_event("opened", 12, "feature/login", &pr_sha()),
        )
        .await;

    world.counting.reset();
    let answer = world.slash(BOB, "status").await;
    let text = ephemeral_text(&answer);
    let lines: Vec<&str> = text.lines().collect();
    let line_of = |start: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no {start:?} in {text}"))
    };
    let preview = line_of("*preview*");
    assert!(
        lines[preview + 1].starts_with("• runs `main` `aaaaaaa` :white_check_mark:"),
        "{text}"
    );
    assert!(
        lines[preview + 1].contains("<@U0ADA> · 10 min ago"),
        "{text}"
    );
    assert!(
        lines[preview + 2].starts_with("• deploying `main` `bbbbbbb`"),
        "{text}"
    );
    let test = line_of("*test*");
    assert_eq!(lines[test + 1], "• runs _nothing yet_");
    assert_eq!(
        lines[test + 2],
        format!(
            "• :lock: locked by <@U0ANA> until {} (2h left) — checking the release",
            slack_time(world.clock.now().plus_secs(7200))
        )
    );
    assert_eq!(
        lines[test + 3],
        "• :hourglass_flowing_sand: 2 deployments wait in line"
    );
    assert!(text.contains("*staging* _nothing deployed yet_"), "{text}");
    assert!(
        text.contains("*production* _nothing deployed yet_"),
        "{text}"
    );
    let pr = line_of("*pr12*");
    assert!(
        lines[pr + 2].starts_with("• deploying `feature/login` `4f3c2a1`"),
        "{text}"
    );

    // The store: one read of the lanes, key reads of what they run, one queue count each.
    let counts = world.counting.counts();
    let count = |m: &str| counts.get(m).copied().unwrap_or(0);
    assert_eq!(count("lanes_of"), 1, "{counts:?}");
    assert_eq!(count("project_by_channel"), 1, "{counts:?}");
    assert!(count("pending_deployments") <= 3, "{counts:?}");
    assert!(count("get_deployment") <= 4, "{counts:?}");
    assert_eq!(count("list_deployments"), 0, "{counts:?}");

    // `list` still lists deployments.
    let answer = world.slash(BOB, "list").await;
    let text = ephemeral_text(&answer);
    assert!(
        text.contains(":scroll: *Newest deployments of acme/web*"),
        "{text}"
    );
    world.assert_no_failures();
}

#[tokio::test]
async fn status_shows_a_few_busy_pull_requests_and_names_the_others() {
    let world = World::new().await;
    let lanes = world.store.clone();
    // Twelve pull-request lanes locked, two idle ones; older changes first.
    for n in 1..=14u64 {
        let mut record = deploybot_core::lane::LaneRecord::empty(
            lane(Environment::PullRequest(n)),
            Timestamp::from_secs(NOW_SECS),
        );
        if n <= 12 {
            record.lock = Some(deploybot_core::lane::Lock {
                holder: ana(),
                reason: None,
                since: world.clock.now(),
                until: world.clock.now().plus_secs(3600),
                reminded: false,
            });
        }
        record.updated_at = Timestamp::from_secs(NOW_SECS + n as i64);
        let saved = lanes.save_lane(&record).await.expect("saves");
        assert!(matches!(saved, deploybot_core::ports::LaneSaved::Saved(_)));
    }

    world.counting.reset();
    let answer = world.slash(BOB, "status").await;
    let text = ephemeral_text(&answer);
    for shown in ["*pr12*", "*pr11*", "*pr10*", "*pr9*", "*pr8*"] {
        assert!(text.contains(shown), "{shown}: {text}");
    }
    assert!(
        !text.contains("*pr7*") && !text.contains("*pr13*"),
        "{text}"
    );
    assert!(
        text.contains(
            "…and 7 more pull-request environments with a deployment going or a lock: `pr7`, `pr6`, `pr5`, `pr4`, `pr3`, `pr2`, `pr1`."
        ),
        "{text}"
    );
    let counts = world.counting.counts();
    assert_eq!(counts.get("lanes_of"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("pending_deployments"), Some(&5), "{counts:?}");
    world.assert_no_failures();
}

/// Nothing else happens on the lane: the watchdog's sweep alone reminds the holder ten minutes
/// before the end (once, with [Extend 1h] and [Unlock now]), then ends the lock, and the push
/// that waited deploys.
#[tokio::test]
async fn the_watchdog_reminds_the_holder_then_ends_the_lock_and_the_waiting_push_goes() {
    use deploybot_core::invoke::DeploymentCreateRequest;
    let world = World::new().await;
    world
        .slash(ANA, "lock preview for 30m testing the migration")
        .await;
    push_main(&world, 'a').await;
    let waiting = world.only_deployment(Environment::Preview).await;
    assert_eq!(waiting.state, DeploymentState::Waiting);
    let sweep = || async {
        world.call(&DeploymentCreateRequest::Watchdog).await;
        world.settle().await;
    };

    // 19 minutes in: nothing is due yet.
    world.clock.advance_secs(19 * 60);
    sweep().await;
    assert!(world.slack.direct_messages(&ana()).is_empty());

    // 21 minutes in: the reminder, once.
    world.clock.advance_secs(2 * 60);
    sweep().await;
    sweep().await;
    let dms = world.slack.direct_messages(&ana());
    assert_eq!(dms.len(), 1, "one reminder: {dms:#?}");
    let reminder = dms[0].latest().expect("a version");
    assert!(
        reminder.text.contains("Your lock on preview expires at"),
        "{}",
        reminder.text
    );
    let actions: Vec<String> = buttons(reminder).into_iter().map(|b| b.0).collect();
    assert_eq!(actions, [ACTION_EXTEND, ACTION_UNLOCK]);
    assert_eq!(
        world.only_deployment(Environment::Preview).await.state,
        DeploymentState::Waiting
    );

    // 31 minutes in: the lock ends, the channel is told, the push deploys.
    world.clock.advance_secs(10 * 60);
    sweep().await;
    assert_eq!(world.lane(Environment::Preview).await.lock, None);
    let shown: Vec<String> = notices(&world).await.into_iter().map(|m| m.text).collect();
    assert!(
        shown.iter().any(|t| t.contains("lock by <@U0ANA> expired")),
        "{shown:#?}"
    );
    assert_eq!(
        world.store_get(&waiting.id).await.state,
        DeploymentState::Created
    );
    assert_eq!(
        history(&world, Environment::Preview)
            .await
            .iter()
            .map(kind)
            .collect::<Vec<_>>(),
        vec![("expired", None), ("locked", Some(ana()))]
    );
    world.assert_no_failures();
}
