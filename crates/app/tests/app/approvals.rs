//! Approvals end to end, through the routers and the invoked functions with the fakes: a
//! production tag waits for its approvals; the pusher cannot approve their own deployment;
//! somebody without a linked login is told to link it; each approver counts once; the last
//! approval lets the deployment go by itself, with its approvers in the GitHub deployment; a
//! rejection (with its reason) cancels it; a newer commit supersedes the request; a request
//! nobody approves expires through the watchdog; a rule nobody can satisfy fails at once.

use crate::workflow_support::*;
use deploybot_app::render::{ACTION_APPROVE, ACTION_REJECT, APPROVAL_REASON};
use deploybot_core::approval::{ApprovalKey, ApprovalStatus};
use deploybot_core::invoke::DeploymentCreateRequest;
use deploybot_core::lane::{Hold, LaneKey};
use deploybot_core::ports::{LaneStore, UserStore};
use deploybot_core::{
    Deployment, DeploymentState, Environment, GithubLogin, SlackUserId, Timestamp, UserLink,
};

/// Production deploys `v{semver}` tags once a lead and someone from QA approve.
const FILE: &str = "\
version: 1
environments:
  preview:
    on: { push: [default] }
  production:
    production: true
    on:
      tag: [\"v{semver}\"]
    approvals:
      rules:
        - name: leads
          from: { users: [ada-l, grace-h] }
          count: 1
        - name: qa
          from: { teams: [acme/qa] }
          count: 1
      expires_after: 4h
";

const GRACE: &str = "U0GRACE";
const CY: &str = "U0CY";
const EVE: &str = "U0EVE";

async fn link(world: &World, login: &str, slack: &str) {
    let link = UserLink {
        github_login: GithubLogin::parse(login).expect("valid login"),
        slack_user: SlackUserId::parse(slack).expect("valid user"),
        slack_name: None,
        linked_at: Timestamp::from_secs(NOW_SECS - 3600),
    };
    world.store.link_user(&link).await.expect("links");
}

/// The file in force, ada-l (the pusher) linked, grace-h and cy linked, cy and ada-l in
/// acme/qa.
async fn world_with_approvals() -> World {
    let world = World::new().await;
    world.use_workflow_file(&sha('1'), Some(FILE)).await;
    world.link_author().await;
    link(&world, "grace-h", GRACE).await;
    link(&world, "cy", CY).await;
    world.github.add_team_members("acme/qa", ["cy", "ada-l"]);
    world
}

/// ada-l pushes tag `tag` at a commit of `hex`.
async fn push_tag(world: &World, tag: &str, hex: char) {
    let sha = sha(hex);
    world.github.set_tag(&repo(), tag, &sha, Some(AUTHOR));
    world.github_event("push", &tag_event(tag, &sha)).await;
}

/// `user` presses `action` on deployment `d`'s message, with `reason` in its reason field.
async fn press(world: &World, user: &str, action: &str, d: &Deployment, reason: &str) -> String {
    world
        .press_with_reason(user, &channel(), action, d.id.as_str(), Some(reason))
        .await
        .iter()
        .map(message_text)
        .collect::<Vec<_>>()
        .join("\n")
}

fn progress(d: &Deployment) -> String {
    match &d.hold {
        Some(Hold::Approval { progress, .. }) => progress.clone(),
        other => panic!("not waiting for approval: {:?} {other:?}", d.state),
    }
}

async fn request_of(world: &World, d: &Deployment) -> deploybot_core::approval::ApprovalRequest {
    let Some(Hold::Approval { workflow, .. }) = &d.hold else {
        panic!("not waiting for approval: {d:?}");
    };
    world
        .store
        .get_approval(&ApprovalKey {
            lane: LaneKey {
                repository: repo(),
                environment: Environment::Production,
            },
            sha: d.sha.clone(),
            workflow: workflow.clone(),
        })
        .await
        .expect("reads")
        .expect("a request")
}

#[tokio::test]
async fn a_tag_waits_for_approval_the_pusher_cannot_give_it_and_two_others_let_it_go() {
    let world = world_with_approvals().await;
    push_tag(&world, "v1.2.0", 'e').await;
    let waiting = world.only_deployment(Environment::Production).await;
    assert_eq!(waiting.state, DeploymentState::Waiting, "{waiting:?}");
    assert_eq!(progress(&waiting), "leads 0/1 · qa 0/1");
    assert!(world.github.deployments(&repo()).is_empty());
    // The message says so, with the buttons and the reason field.
    let shown = world
        .messages()
        .iter()
        .filter_map(|m| m.latest().map(message_text))
        .find(|t| t.contains("Waiting for approval"))
        .expect("the deployment's message");
    assert!(
        shown.contains(
            "Waiting for approval — leads 0/1 · qa 0/1 — requested by <@U0ADA> — expires in 4h"
        ),
        "{shown}"
    );
    for part in [
        ACTION_APPROVE,
        ACTION_REJECT,
        APPROVAL_REASON,
        "\"confirm\"",
    ] {
        assert!(shown.contains(part), "{part}: {shown}");
    }
    // The lane is due when the request expires.
    let lane = world.lane(Environment::Production).await;
    assert_eq!(lane.due_at, Some(Timestamp::from_secs(NOW_SECS + 4 * 3600)));

    // The pusher is self: a sentence, and nothing changes.
    let said = press(&world, AUTHOR_SLACK, ACTION_APPROVE, &waiting, "").await;
    assert!(
        said.contains("You can't approve this deployment: you asked for it."),
        "{said}"
    );
    // Somebody without a linked login is told to link it.
    let said = press(&world, EVE, ACTION_APPROVE, &waiting, "").await;
    assert!(said.contains("/cimon hello"), "{said}");
    let d = world.store_get(&waiting.id).await;
    assert_eq!(progress(&d), "leads 0/1 · qa 0/1");

    // A lead approves; pressing again (or Slack delivering it twice) counts once.
    let said = press(&world, GRACE, ACTION_APPROVE, &waiting, "").await;
    assert!(
        said.contains("Your approval counts towards leads"),
        "{said}"
    );
    let said = press(&world, GRACE, ACTION_APPROVE, &waiting, "").await;
    assert!(said.contains("counted already (leads)"), "{said}");
    let d = world.store_get(&waiting.id).await;
    assert_eq!(d.state, DeploymentState::Waiting);
    assert_eq!(progress(&d), "leads 1/1 · qa 0/1");
    assert_eq!(request_of(&world, &d).await.votes.len(), 1);

    // QA approves: the deployment goes out by itself.
    let said = press(&world, CY, ACTION_APPROVE, &waiting, "").await;
    assert!(said.contains("was the last one needed"), "{said}");
    let d = world.store_get(&waiting.id).await;
    assert_eq!(d.state, DeploymentState::Created, "{d:?}");
    let on_github = world.github_deployment(&d);
    let description = on_github.description.clone().unwrap_or_default();
    assert!(
        description.contains("approved by @grace-h (leads), @cy (qa)"),
        "{description}"
    );
    let approvals = on_github.payload["approvals"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(approvals.len(), 2, "{}", on_github.payload);
    assert_eq!(approvals[0]["login"], "grace-h");
    assert_eq!(approvals[1]["rule"], "qa");
    assert!(matches!(
        request_of_key(&world, &d).await.status,
        ApprovalStatus::Approved { .. }
    ));
    // The record keeps its course: waiting for approval, then on once approved, to success.
    assert_eq!(world.finish_everything("success").await, 1);
    let done = world.store_get(&d.id).await;
    let states: Vec<DeploymentState> = done.history.iter().map(|c| c.state).collect();
    assert_eq!(
        states.first(),
        Some(&DeploymentState::Waiting),
        "{states:?}"
    );
    assert_eq!(states.last(), Some(&DeploymentState::Success), "{states:?}");
    assert!(
        done.history[0]
            .why
            .as_deref()
            .is_some_and(|w| w.contains("Waiting for approval")),
        "{:?}",
        done.history
    );
    assert!(
        done.history.iter().any(|c| c
            .why
            .as_deref()
            .is_some_and(|w| w.contains("approved by @grace-h (leads), @cy (qa)"))),
        "{:?}",
        done.history
    );
    world.assert_no_failures();
}

async fn request_of_key(
    world: &World,
    d: &Deployment,
) -> deploybot_core::approval::ApprovalRequest {
    let workflow = deploybot_app::approvals::workflow_version(Some(&world.project().await));
    world
        .store
        .get_approval(&deploybot_app::approvals::key_of(d, &workflow))
        .await
        .expect("reads")
        .expect("a request")
}

#[tokio::test]
async fn reject_needs_a_reason_and_cancels_the_deployment() {
    let world = world_with_approvals().await;
    push_tag(&world, "v1.2.0", 'e').await;
    let waiting = world.only_deployment(Environment::Production).await;
    let said = press(&world, CY, ACTION_REJECT, &waiting, "  ").await;
    assert!(said.contains("Say why in the reason field"), "{said}");
    // Somebody no rule names may not reject.
    link(&world, "eve", EVE).await;
    let said = press(&world, EVE, ACTION_REJECT, &waiting, "no").await;
    assert!(said.contains("Only someone who may approve"), "{said}");
    assert_eq!(
        world.store_get(&waiting.id).await.state,
        DeploymentState::Waiting
    );
    let said = press(
        &world,
        CY,
        ACTION_REJECT,
        &waiting,
        "the migration is not ready",
    )
    .await;
    assert!(said.contains("You rejected the deployment"), "{said}");
    let d = world.store_get(&waiting.id).await;
    assert_eq!(d.state, DeploymentState::Cancelled);
    assert_eq!(
        d.description.as_deref(),
        Some("rejected by <@U0CY> — the migration is not ready")
    );
    // Approving a closed request changes nothing.
    let said = press(&world, GRACE, ACTION_APPROVE, &waiting, "").await;
    assert!(said.contains("not waiting for approval any more"), "{said}");
    assert!(world.github.deployments(&repo()).is_empty());
    world.assert_no_failures();
}

#[tokio::test]
async fn a_newer_commit_supersedes_the_request_and_an_unanswered_one_expires() {
    let world = world_with_approvals().await;
    push_tag(&world, "v1.2.0", 'e').await;
    let old = world.only_deployment(Environment::Production).await;
    press(&world, GRACE, ACTION_APPROVE, &old, "").await;
    // The tag moves to another commit: a new request; the approvals do not carry over.
    world.clock.advance_secs(60);
    push_tag(&world, "v1.2.0", 'f').await;
    let old = world.store_get(&old.id).await;
    assert_eq!(old.state, DeploymentState::Superseded);
    assert!(matches!(
        request_of_key(&world, &old).await.status,
        ApprovalStatus::Superseded { .. }
    ));
    let new = world
        .deployments_in(Environment::Production)
        .await
        .into_iter()
        .find(|d| d.state == DeploymentState::Waiting)
        .expect("the new commit waits");
    assert_eq!(progress(&new), "leads 0/1 · qa 0/1");

    // Nobody approves it: four hours after it was asked the watchdog ends it.
    world.clock.advance_secs(4 * 3600 - 1);
    world.call(&DeploymentCreateRequest::Watchdog).await;
    assert_eq!(
        world.store_get(&new.id).await.state,
        DeploymentState::Waiting
    );
    world.clock.advance_secs(1);
    world.call(&DeploymentCreateRequest::Watchdog).await;
    world.settle().await;
    let expired = world.store_get(&new.id).await;
    assert_eq!(expired.state, DeploymentState::Expired, "{expired:?}");
    let why = expired.description.clone().unwrap_or_default();
    assert!(why.contains("nobody approved it within 4h"), "{why}");
    assert_eq!(world.lane(Environment::Production).await.due_at, None);
    assert!(world.github.deployments(&repo()).is_empty());
    world.assert_no_failures();
}

#[tokio::test]
async fn a_rule_nobody_can_satisfy_fails_the_deployment_at_once() {
    let world = World::new().await;
    world.use_workflow_file(&sha('1'), Some(FILE)).await;
    world.link_author().await;
    // acme/qa has only the pusher, who is self.
    world.github.add_team_members("acme/qa", ["ada-l"]);
    push_tag(&world, "v1.2.0", 'e').await;
    let d = world.only_deployment(Environment::Production).await;
    assert_eq!(d.state, DeploymentState::Failure, "{d:?}");
    let why = d.description.clone().unwrap_or_default();
    assert!(why.contains("rule `qa` needs 1 approval"), "{why}");
    world.assert_no_failures();
}

/// With `exclude: [authors]`, everyone who wrote a commit between what production runs and
/// the new tag is self — not only the tag's own commit author: GitHub's comparison names
/// them. An author pressing Approve gets the sentence why and nothing changes; another member
/// of the same team approves.
#[tokio::test]
async fn with_authors_excluded_every_author_in_the_compared_range_is_self() {
    const DAN: &str = "U0DAN";
    let file = FILE.replace(
        "      expires_after: 4h\n",
        "      exclude: [requester, authors]\n      expires_after: 4h\n",
    );
    let world = World::new().await;
    world.use_workflow_file(&sha('1'), Some(&file)).await;
    world.link_author().await;
    link(&world, "grace-h", GRACE).await;
    link(&world, "cy", CY).await;
    link(&world, "dan", DAN).await;
    world
        .github
        .add_team_members("acme/qa", ["cy", "ada-l", "dan"]);

    // Production runs v1.0.0 at `a`.
    push_tag(&world, "v1.0.0", 'a').await;
    let first = world.only_deployment(Environment::Production).await;
    press(&world, GRACE, ACTION_APPROVE, &first, "").await;
    press(&world, CY, ACTION_APPROVE, &first, "").await;
    assert_eq!(world.finish_everything("success").await, 1);

    // cy wrote `b`; ada-l wrote `c` and tags it v1.1.0.
    world.github.add_commit(&repo(), &sha('b'), Some("cy"));
    world.github.set_parent(&repo(), &sha('b'), &sha('a'));
    world.github.add_commit(&repo(), &sha('c'), Some(AUTHOR));
    world.github.set_parent(&repo(), &sha('c'), &sha('b'));
    push_tag(&world, "v1.1.0", 'c').await;
    let waiting = world
        .deployments_in(Environment::Production)
        .await
        .into_iter()
        .find(|d| d.sha == sha('c'))
        .expect("v1.1.0 waits");
    assert_eq!(waiting.state, DeploymentState::Waiting, "{waiting:?}");
    let request = request_of(&world, &waiting).await;
    let authors: Vec<&str> = request.authors.iter().map(|a| a.as_str()).collect();
    assert!(
        authors.contains(&"cy") && authors.contains(&AUTHOR),
        "{authors:?}"
    );

    let said = press(&world, CY, ACTION_APPROVE, &waiting, "").await;
    assert!(
        said.contains("You can't approve this deployment: you wrote a commit in it."),
        "{said}"
    );
    let d = world.store_get(&waiting.id).await;
    assert_eq!(progress(&d), "leads 0/1 · qa 0/1");
    assert!(request_of(&world, &d).await.votes.is_empty());

    press(&world, GRACE, ACTION_APPROVE, &waiting, "").await;
    let said = press(&world, DAN, ACTION_APPROVE, &waiting, "").await;
    assert!(said.contains("was the last one needed"), "{said}");
    assert_eq!(
        world.store_get(&waiting.id).await.state,
        DeploymentState::Created
    );
    world.assert_no_failures();
}

/// A tag moved to another commit invalidates the request of a deploy that named it: grace's
/// `deploy v1.2.0 to production` waits for approval at `e`; the tag is moved to `f` and
/// pushed; grace's deployment is superseded by the push's, its request with it, and the
/// approval given for `e` does not carry over.
#[tokio::test]
async fn a_tag_moved_after_a_deploy_named_it_supersedes_that_deploy_and_its_request() {
    let world = world_with_approvals().await;
    world
        .github
        .set_tag(&repo(), "v1.2.0", &sha('e'), Some(AUTHOR));
    world.slash(GRACE, "deploy v1.2.0 to production").await;
    let asked = world.only_deployment(Environment::Production).await;
    assert_eq!(asked.sha, sha('e'));
    assert_eq!(asked.state, DeploymentState::Waiting, "{asked:?}");
    press(&world, CY, ACTION_APPROVE, &asked, "").await;
    assert_eq!(
        progress(&world.store_get(&asked.id).await),
        "leads 0/1 · qa 1/1"
    );

    world.clock.advance_secs(60);
    push_tag(&world, "v1.2.0", 'f').await;
    let asked = world.store_get(&asked.id).await;
    assert_eq!(asked.state, DeploymentState::Superseded, "{asked:?}");
    assert!(matches!(
        request_of_key(&world, &asked).await.status,
        ApprovalStatus::Superseded { .. }
    ));
    let pushed = world
        .deployments_in(Environment::Production)
        .await
        .into_iter()
        .find(|d| d.sha == sha('f'))
        .expect("the moved tag's deployment");
    assert_eq!(pushed.state, DeploymentState::Waiting);
    assert_eq!(progress(&pushed), "leads 0/1 · qa 0/1");
    assert!(world.github.deployments(&repo()).is_empty());
    world.assert_no_failures();
}

/// A deploy from Slack in a project whose file was never read reads it first, so production's
/// approvals hold for it (the test above waits for approval that way); when GitHub does not
/// answer then, the deploy is refused — never decided with the built-in workflow, which has no
/// approvals — and nothing is stored.
#[tokio::test]
async fn a_deploy_before_the_file_was_ever_read_is_refused_when_github_cannot_read_it() {
    let world = world_with_approvals().await;
    world
        .github
        .set_tag(&repo(), "v1.2.0", &sha('e'), Some(AUTHOR));
    world.github.fail_next(1, 502);
    world.slash(GRACE, "deploy v1.2.0 to production").await;
    let said: Vec<String> = world
        .slack
        .responses()
        .into_iter()
        .filter(|r| r.id == format!("cmd-{GRACE}"))
        .map(|r| message_text(&r.response.message))
        .collect();
    assert!(
        said.iter().any(|t| t
            .contains("GitHub did not answer while reading `.github/deploybot.yml`")
            && t.contains("Nothing was deployed")),
        "{said:?}"
    );
    assert!(
        world
            .deployments_in(Environment::Production)
            .await
            .is_empty()
    );
    assert!(world.project().await.workflow.is_none());

    // GitHub is back: the same command reads the file and waits for approval.
    world.slash(GRACE, "deploy v1.2.0 to production").await;
    let d = world.only_deployment(Environment::Production).await;
    assert_eq!(d.state, DeploymentState::Waiting, "{d:?}");
    assert!(world.project().await.workflow.is_some());
}

/// [Override…] during a freeze of an environment with approvals: the deployment that passes
/// the freeze still waits for approvals from someone else — the person who overrode is self.
#[tokio::test]
async fn an_override_of_a_freeze_still_needs_someone_else_to_approve() {
    use deploybot_app::render::ACTION_FREEZE_OVERRIDE;
    let world = world_with_approvals().await;
    world
        .github
        .set_tag(&repo(), "v1.2.0", &sha('e'), Some(AUTHOR));
    world.slash(GRACE, "freeze production for 2h launch").await;
    let answer = world.slash(GRACE, "deploy v1.2.0 to production").await;
    let value = answer["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["elements"].as_array())
        .flatten()
        .find(|e| e["action_id"] == ACTION_FREEZE_OVERRIDE)
        .and_then(|e| e["value"].as_str())
        .unwrap_or_else(|| panic!("an Override… button: {answer}"))
        .to_owned();
    world
        .press_with_reason(
            GRACE,
            &channel(),
            ACTION_FREEZE_OVERRIDE,
            &value,
            Some("security fix"),
        )
        .await;
    let d = world.only_deployment(Environment::Production).await;
    assert_eq!(d.state, DeploymentState::Waiting, "{d:?}");
    assert_eq!(progress(&d), "leads 0/1 · qa 0/1");
    let said = press(&world, GRACE, ACTION_APPROVE, &d, "").await;
    assert!(said.contains("you asked for it"), "{said}");
    press(&world, CY, ACTION_APPROVE, &d, "").await;
    assert_eq!(
        progress(&world.store_get(&d.id).await),
        "leads 0/1 · qa 1/1"
    );
    world.assert_no_failures();
}

/// The last approval racing a new commit: cy's vote has read the request and is about to save
/// it when the tag moves to a new commit, which supersedes the request. The vote's save then
/// loses (the request changed), it reads again, finds it superseded and counts nowhere: the new
/// request is pending with no votes, the old one superseded with grace's vote only, and nothing
/// reached GitHub. The pause proves the interleaving happened: the push ran while the vote was
/// held between its read and its write.
#[tokio::test]
async fn the_last_approval_racing_a_new_commit_ends_with_the_new_request_pending() {
    let world = world_with_approvals().await;
    push_tag(&world, "v1.2.0", 'e').await;
    let old = world.only_deployment(Environment::Production).await;
    press(&world, GRACE, ACTION_APPROVE, &old, "").await;

    let pause = world.counting.pause_next("save_approval");
    let before = world.counting.counts().get("save_approval").copied();
    let (said, ()) = tokio::join!(press(&world, CY, ACTION_APPROVE, &old, ""), async {
        pause.arrived().await;
        world.clock.advance_secs(60);
        push_tag(&world, "v1.2.0", 'f').await;
        // The push saved requests while the vote was held.
        let during = world.counting.counts().get("save_approval").copied();
        assert!(during > before.map(|n| n + 1), "{before:?} {during:?}");
        pause.release();
    });
    assert!(
        said.contains("This approval request is superseded already; nothing changed."),
        "{said}"
    );

    let old = world.store_get(&old.id).await;
    assert_eq!(old.state, DeploymentState::Superseded, "{old:?}");
    let old_request = request_of_key(&world, &old).await;
    assert!(
        matches!(old_request.status, ApprovalStatus::Superseded { .. }),
        "{old_request:?}"
    );
    assert_eq!(old_request.votes.len(), 1);
    let new = world
        .deployments_in(Environment::Production)
        .await
        .into_iter()
        .find(|d| d.sha == sha('f'))
        .expect("the new commit's deployment");
    assert_eq!(new.state, DeploymentState::Waiting, "{new:?}");
    assert_eq!(progress(&new), "leads 0/1 · qa 0/1");
    assert!(world.github.deployments(&repo()).is_empty());
    world.assert_no_failures();
}

/// `notify_approvers: true`: each eligible approver with a linked Slack user — not the pusher,
/// who is self — gets the message with its buttons by direct message; a vote pressed there
/// counts like one in the channel, and every copy is edited in place as votes come in, until
/// the last one takes the buttons away.
#[tokio::test]
async fn approvers_get_the_buttons_by_direct_message_and_every_copy_follows_the_votes() {
    use deploybot_testkit::fakes::slack::FakeSlack;
    let file = FILE.replace(
        "      expires_after: 4h\n",
        "      expires_after: 4h\n      notify_approvers: true\n",
    );
    let world = World::new().await;
    world.use_workflow_file(&sha('1'), Some(&file)).await;
    world.link_author().await;
    link(&world, "grace-h", GRACE).await;
    link(&world, "cy", CY).await;
    world
        .github
        .add_team_members("acme/qa", ["cy", "ada-l", "nobody-linked"]);
    push_tag(&world, "v1.2.0", 'e').await;
    let waiting = world.only_deployment(Environment::Production).await;
    assert_eq!(waiting.state, DeploymentState::Waiting, "{waiting:?}");

    let user = |id: &str| SlackUserId::parse(id).expect("valid");
    let copy = |id: &str| {
        let dms = world.slack.direct_messages(&user(id));
        assert_eq!(dms.len(), 1, "{id}: one copy, edited in place: {dms:?}");
        dms[0].clone()
    };
    assert!(world.slack.direct_messages(&user(AUTHOR_SLACK)).is_empty());
    for id in [GRACE, CY] {
        let text = message_text(copy(id).latest().expect("posted"));
        assert!(text.contains("leads 0/1 · qa 0/1"), "{id}: {text}");
        assert!(
            text.contains(deploybot_app::render::ACTION_APPROVE),
            "{text}"
        );
    }

    // cy approves from the direct message: the button's value names the repository.
    let value = serde_json::to_value(&copy(CY).latest().expect("posted").blocks)
        .expect("serialises")
        .to_string();
    let qualified = format!("acme/web:{}", waiting.id);
    assert!(value.contains(&qualified), "{value}");
    let answers = world
        .press(
            CY,
            &FakeSlack::direct_channel(&user(CY)),
            ACTION_APPROVE,
            &qualified,
        )
        .await;
    assert!(
        answers
            .iter()
            .any(|m| m.text.contains("Your approval counts towards qa")),
        "{answers:?}"
    );
    for id in [GRACE, CY] {
        let text = message_text(copy(id).latest().expect("edited"));
        assert!(text.contains("leads 0/1 · qa 1/1"), "{id}: {text}");
    }

    // grace approves from hers: the deployment goes, and no copy keeps the buttons.
    world
        .press(
            GRACE,
            &FakeSlack::direct_channel(&user(GRACE)),
            ACTION_APPROVE,
            &qualified,
        )
        .await;
    assert_eq!(
        world.store_get(&waiting.id).await.state,
        DeploymentState::Created
    );
    for id in [GRACE, CY] {
        let text = message_text(copy(id).latest().expect("edited"));
        assert!(
            !text.contains(deploybot_app::render::ACTION_APPROVE),
            "{id}: {text}"
        );
    }
    world.assert_no_failures();
}

/// `notify.threads: true`: each vote, and a rejection with its reason, is also a reply in the
/// thread of the deployment's message; without it, nothing is posted besides the edit.
#[tokio::test]
async fn with_threads_each_vote_and_a_rejection_reply_under_the_message() {
    for threads in [true, false] {
        let file = if threads {
            format!("{FILE}notify:\n  threads: true\n")
        } else {
            FILE.to_owned()
        };
        let world = World::new().await;
        world.use_workflow_file(&sha('1'), Some(&file)).await;
        world.link_author().await;
        link(&world, "grace-h", GRACE).await;
        link(&world, "cy", CY).await;
        world.github.add_team_members("acme/qa", ["cy", "ada-l"]);
        push_tag(&world, "v1.2.0", 'e').await;
        let waiting = world.only_deployment(Environment::Production).await;
        press(&world, GRACE, ACTION_APPROVE, &waiting, "").await;
        press(
            &world,
            CY,
            ACTION_REJECT,
            &waiting,
            "the changelog is wrong",
        )
        .await;
        let ts = waiting.slack_ts.clone().expect("posted");
        let replies: Vec<String> = world
            .messages()
            .iter()
            .filter(|m| m.thread_ts.as_deref() == Some(ts.as_str()))
            .filter_map(|m| m.latest().map(message_text))
            .collect();
        if threads {
            assert_eq!(replies.len(), 2, "{replies:?}");
            assert!(
                replies[0].contains("<@U0GRACE> approved (leads) — leads 1/1 · qa 0/1"),
                "{replies:?}"
            );
            assert!(
                replies[1].contains("<@U0CY> rejected it — the changelog is wrong"),
                "{replies:?}"
            );
        } else {
            assert!(replies.is_empty(), "{replies:?}");
        }
        assert_eq!(
            world.store_get(&waiting.id).await.state,
            DeploymentState::Cancelled
        );
    }
}
