//! `slack-interactive` through the router: claim buttons, "Deploy to staging", "Retry",
//! unknown actions, redelivered presses and request verification.

use crate::slack_support::*;
use axum::http::StatusCode;
use deploybot_app::render::{ACTION_CLAIM_LOGIN, ACTION_PROMOTE, ACTION_RETRY};
use deploybot_core::invoke::{
    DeploymentCreateRequest, ManualDeploymentRequest, NewDeploymentRequest,
};
use deploybot_core::ports::{DeploymentStore, ProjectStore, UserStore};
use deploybot_core::ports::{InvokeMode, LinkOutcome};
use deploybot_core::{
    DeploymentId, DeploymentState, Environment, GitRef, GithubLogin, Timestamp, Trigger, UserLink,
};
use deploybot_testkit::fakes::slack::ResponsePost;

fn login(l: &str) -> GithubLogin {
    GithubLogin::parse(l).expect("valid")
}

/// The answers the presser got through response URLs, after the background work settled.
async fn answers(h: &Harness) -> Vec<ResponsePost> {
    h.settle().await;
    h.slack.responses()
}

fn only_answer(answers: &[ResponsePost]) -> (String, &ResponsePost) {
    assert_eq!(answers.len(), 1, "{answers:?}");
    (message_json(&answers[0].response.message), &answers[0])
}

fn manual_requests(h: &Harness) -> Vec<ManualDeploymentRequest> {
    h.deployment_requests()
        .into_iter()
        .filter_map(|r| match r {
            DeploymentCreateRequest::Manual(m) => Some(m),
            _ => None,
        })
        .collect()
}

// ---- verification ---------------------------------------------------------------------------

#[tokio::test]
async fn unsigned_and_stale_presses_are_401_with_no_effect() {
    let h = Harness::new();
    let payload = h.press_payload(USER, CHANNEL, ACTION_CLAIM_LOGIN, "alice");
    let request = deploybot_testkit::signing::slack_interactive_request(
        &deploybot_core::signature::SigningSecret::new("wrong"),
        NOW_SECS,
        &payload,
    );
    let reply = h.send(request, "/slack/interactive").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    let stale =
        deploybot_testkit::signing::slack_interactive_request(&h.secret, NOW_SECS - 301, &payload);
    assert_eq!(
        h.send(stale, "/slack/interactive").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(h.link_of(USER).await.is_none());
    assert!(h.invocations().is_empty());
}

#[tokio::test]
async fn malformed_payloads_are_400_and_other_interactions_200() {
    let h = Harness::new();
    let secret = h.secret.clone();
    let no_payload =
        deploybot_testkit::signing::slack_form_request(&secret, NOW_SECS, &[("x", "y")]);
    let reply = h.send(no_payload, "/slack/interactive").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.raw.contains("payload"), "{}", reply.raw);
    let not_json =
        deploybot_testkit::signing::slack_form_request(&secret, NOW_SECS, &[("payload", "{")]);
    assert_eq!(
        h.send(not_json, "/slack/interactive").await.status,
        StatusCode::BAD_REQUEST
    );

    // Other interaction types and unknown actions are fine and ignored.
    let shortcut = serde_json::json!({"type": "shortcut", "callback_id": "x", "trigger_id": "t"});
    assert_eq!(h.interact(&shortcut).await.status, StatusCode::OK);
    let reply = h.press(USER, "open_build", "https://ci.example/1").await;
    assert_eq!(reply.status, StatusCode::OK);
    let no_actions =
        serde_json::json!({"type": "block_actions", "user": {"id": USER}, "actions": []});
    assert_eq!(h.interact(&no_actions).await.status, StatusCode::OK);
    assert!(h.invocations().is_empty());
}

// ---- claiming ---------------------------------------------------------------------------------

#[tokio::test]
async fn claiming_a_login_links_the_presser_and_replaces_the_offer() {
    let h = Harness::new();
    let reply = h.press(USER, ACTION_CLAIM_LOGIN, "Alice").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.raw.is_empty(),
        "block_actions answers with an empty 200"
    );

    let link = h.link_of(USER).await.expect("linked");
    assert_eq!(link.github_login, login("alice"));
    assert_eq!(link.slack_name.as_deref(), Some("alice"));
    let answers = answers(&h).await;
    let (text, answer) = only_answer(&answers);
    assert!(answer.response.replace_original, "the offer is replaced");
    assert!(
        text.contains(&format!("<@{USER}> is now linked")) && text.contains("`alice`"),
        "{text}"
    );
}

// ---- the type-ahead select (options load URL) -------------------------------------------------

/// A `block_suggestion`: `user` typed `value` into the claim select of `acme/web`.
fn suggestion(user: &str, block_id: &str, value: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "block_suggestion",
        "user": {"id": user, "username": "alice", "name": "alice", "team_id": TEAM},
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": CHANNEL, "is_ephemeral": true},
        "api_app_id": "A0APP",
        "token": "deprecated",
        "action_id": ACTION_CLAIM_LOGIN,
        "block_id": block_id,
        "value": value,
        "team": {"id": TEAM, "domain": "acme"},
        "channel": {"id": CHANNEL, "name": "web"}
    })
}

fn option_values(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.raw);
    let body: serde_json::Value = serde_json::from_str(&reply.raw).expect("json options");
    body["options"]
        .as_array()
        .expect("an options array")
        .iter()
        .map(|o| {
            assert_eq!(o["text"]["type"], "plain_text");
            assert_eq!(o["text"]["text"], o["value"]);
            o["value"].as_str().expect("value").to_owned()
        })
        .collect()
}

/// A repository with 130 collaborators, `dev012` already linked to someone else.
async fn big_team() -> Harness {
    let h = Harness::new();
    h.bind().await;
    let logins: Vec<String> = (0..130).map(|i| format!("dev{i:03}")).collect();
    h.github
        .add_collaborators(&repo(), logins.iter().map(String::as_str));
    let taken = UserLink {
        github_login: login("dev012"),
        slack_user: user(OTHER_USER),
        slack_name: None,
        linked_at: Timestamp::from_secs(NOW_SECS),
    };
    h.store.link_user(&taken).await.expect("link");
    h
}

#[tokio::test]
async fn block_suggestions_answer_the_unlinked_logins_matching_what_was_typed() {
    let h = big_team().await;
    let block = "claim_select:acme/web";
    let reply = h.interact(&suggestion(USER, block, "DEV01")).await;
    let expected: Vec<String> = (10..20)
        .filter(|i| *i != 12)
        .map(|i| format!("dev{i:03}"))
        .collect();
    assert_eq!(option_values(&reply), expected, "linked dev012 is left out");
    // Prefix matches first, then the others containing it; never more than 100.
    assert_eq!(
        option_values(&h.interact(&suggestion(USER, block, "12")).await)[..2],
        ["dev112".to_owned(), "dev120".to_owned()]
    );
    assert_eq!(
        option_values(&h.interact(&suggestion(USER, block, "dev")).await).len(),
        100
    );
    assert!(option_values(&h.interact(&suggestion(USER, block, "zed")).await).is_empty());

    // Typing does not call GitHub at every keystroke: the list is read once.
    let lists = h
        .github
        .calls()
        .iter()
        .filter(|c| c.as_str() == "GET /repos/acme/web/collaborators")
        .count();
    assert_eq!(lists, 1, "{:?}", h.github.calls());
    // A minute later the list is read again (someone may have been added on GitHub).
    h.github.add_collaborators(&repo(), ["dev999"]);
    h.clock.set(Timestamp::from_secs(NOW_SECS + 61));
    let reply = h.interact(&suggestion(USER, block, "dev99")).await;
    assert_eq!(option_values(&reply), ["dev999"]);
    let lists = h
        .github
        .calls()
        .iter()
        .filter(|c| c.as_str() == "GET /repos/acme/web/collaborators")
        .count();
    assert_eq!(lists, 2, "{:?}", h.github.calls());
    // Nothing was linked or sent by typing.
    assert!(h.link_of(USER).await.is_none());
    assert!(h.slack.responses().is_empty());

    // A select deploybot does not know, or a repository no channel follows, has no options.
    for block in [
        "b1",
        "claim_select:acme/elsewhere",
        "claim_select:not a repo",
    ] {
        assert!(
            option_values(&h.interact(&suggestion(USER, block, "dev")).await).is_empty(),
            "{block}"
        );
    }
}

#[tokio::test]
async fn block_suggestions_are_verified_and_checked() {
    let h = big_team().await;
    let payload = suggestion(USER, "claim_select:acme/web", "dev");
    let unsigned = deploybot_testkit::signing::slack_interactive_request(
        &deploybot_core::signature::SigningSecret::new("wrong"),
        NOW_SECS,
        &payload,
    );
    assert_eq!(
        h.send(unsigned, "/slack/interactive").await.status,
        StatusCode::UNAUTHORIZED
    );
    let stale =
        deploybot_testkit::signing::slack_interactive_request(&h.secret, NOW_SECS - 301, &payload);
    assert_eq!(
        h.send(stale, "/slack/interactive").await.status,
        StatusCode::UNAUTHORIZED
    );
    for field in ["block_id", "action_id", "user"] {
        let mut malformed = payload.clone();
        malformed.as_object_mut().expect("object").remove(field);
        let reply = h.interact(&malformed).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{field}: {}",
            reply.raw
        );
    }
    assert!(h.github.calls().is_empty(), "nothing was looked up");
}

#[tokio::test]
async fn picking_a_login_in_the_select_claims_it_like_a_button() {
    let h = big_team().await;
    let mut payload = h.press_payload(USER, CHANNEL, ACTION_CLAIM_LOGIN, "unused");
    payload["actions"] = serde_json::json!([{
        "type": "external_select",
        "action_id": ACTION_CLAIM_LOGIN,
        "block_id": "claim_select:acme/web",
        "selected_option": {"text": {"type": "plain_text", "text": "dev042"}, "value": "dev042"},
        "placeholder": {"type": "plain_text", "text": "Type your GitHub login"},
        "action_ts": "1700000001.000200"
    }]);
    assert_eq!(h.interact(&payload).await.status, StatusCode::OK);
    assert_eq!(
        h.link_of(USER).await.map(|l| l.github_login),
        Some(login("dev042"))
    );
    let first = answers(&h).await;
    let (text, answer) = only_answer(&first);
    assert!(answer.response.replace_original, "the offer is replaced");
    assert!(text.contains("`dev042`"), "{text}");

    // A login someone else holds, picked from a stale list, is refused like a button.
    let mut again = h.press_payload("U0CAROL", CHANNEL, ACTION_CLAIM_LOGIN, "unused");
    again["actions"] = payload["actions"].clone();
    h.interact(&again).await;
    let all = answers(&h).await;
    let last = message_json(&all.last().expect("answer").response.message);
    assert!(last.contains("already claimed by"), "{last}");
}

#[tokio::test]
async fn claiming_a_taken_login_says_who_has_it_and_how_to_undo() {
    let h = Harness::new();
    let link = UserLink {
        github_login: login("alice"),
        slack_user: user(OTHER_USER),
        slack_name: None,
        linked_at: Timestamp::from_secs(NOW_SECS),
    };
    assert_eq!(
        h.store.link_user(&link).await.expect("link"),
        LinkOutcome::Linked
    );

    h.press(USER, ACTION_CLAIM_LOGIN, "alice").await;
    let answers = answers(&h).await;
    let (text, answer) = only_answer(&answers);
    assert!(
        !answer.response.replace_original,
        "the offer stays for others"
    );
    assert!(
        text.contains(&format!("already claimed by <@{OTHER_USER}>")),
        "{text}"
    );
    assert!(text.contains("/cimon goodbye"), "{text}");
    assert!(h.link_of(USER).await.is_none());
}

#[tokio::test]
async fn claiming_a_second_login_says_to_say_goodbye_first() {
    let h = Harness::new();
    h.press(USER, ACTION_CLAIM_LOGIN, "alice").await;
    h.settle().await;
    h.press(USER, ACTION_CLAIM_LOGIN, "bob").await;
    let answers = answers(&h).await;
    assert_eq!(answers.len(), 2);
    let text = message_json(&answers[1].response.message);
    assert!(
        text.contains("already linked to the GitHub login `alice`"),
        "{text}"
    );
    assert!(text.contains("/cimon goodbye"), "{text}");
    assert!(
        h.store
            .user_by_login(&login("bob"))
            .await
            .expect("store")
            .is_none()
    );
}

#[tokio::test]
async fn a_redelivered_press_has_one_effect() {
    let h = Harness::new();
    h.bind().await;
    let tested = h
        .deployment(
            1,
            Environment::Test,
            GitRef::Branch("release/1".into()),
            DeploymentState::Success,
            5,
        )
        .await;
    let payload = h.press_payload(USER, CHANNEL, ACTION_PROMOTE, tested.id.as_str());
    h.interact(&payload).await;
    h.interact(&payload).await;
    assert_eq!(manual_requests(&h).len(), 1);
    h.settle().await;
}

#[tokio::test]
async fn a_bad_login_value_gets_an_explanation() {
    let h = Harness::new();
    h.press(USER, ACTION_CLAIM_LOGIN, "not a login").await;
    let answers = answers(&h).await;
    let (text, _) = only_answer(&answers);
    assert!(text.contains("is not a GitHub login"), "{text}");
}

// ---- promote ----------------------------------------------------------------------------------

#[tokio::test]
async fn deploy_to_staging_promotes_the_tested_commit() {
    let h = Harness::new();
    h.bind().await;
    let tested = h
        .deployment(
            3,
            Environment::Test,
            GitRef::Branch("release/1".into()),
            DeploymentState::Success,
            5,
        )
        .await;
    let reply = h
        .press(OTHER_USER, ACTION_PROMOTE, tested.id.as_str())
        .await;
    assert_eq!(reply.status, StatusCode::OK);

    let requests = manual_requests(&h);
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.repository, repo());
    assert_eq!(request.environment, Environment::Staging);
    assert_eq!(
        request.git_ref,
        Some(GitRef::Name(sha(3).as_str().to_owned()))
    );
    assert_eq!(
        request.trigger,
        Trigger::Manual {
            slack_user: user(OTHER_USER)
        }
    );
    assert_eq!(request.channel, channel(CHANNEL));
    assert_ne!(request.deployment_id, tested.id);
    let create_modes: Vec<InvokeMode> = h
        .invocations()
        .iter()
        .filter(|i| i.function == deploybot_core::invoke::FunctionName::GithubDeploymentCreate)
        .map(|i| i.mode)
        .collect();
    assert_eq!(create_modes, [InvokeMode::Event]);

    let answers = answers(&h).await;
    let ack = answers
        .iter()
        .find(|a| message_json(&a.response.message).contains("promoting `3333333`"))
        .expect("an acknowledgment");
    assert!(
        !ack.response.replace_original,
        "the deployment message is never replaced"
    );
    assert!(ack.response.ephemeral);
}

#[tokio::test]
async fn deploy_to_staging_on_a_superseded_test_deployment_still_promotes_its_commit() {
    let h = Harness::new();
    h.bind().await;
    // A button pressed on a message not yet edited: the deployment succeeded, then a newer
    // test deployment superseded it. Its commit still passed test.
    let mut superseded = h
        .deployment(
            3,
            Environment::Test,
            GitRef::Branch("release/1".into()),
            DeploymentState::Inactive,
            5,
        )
        .await;
    superseded.succeeded_at = Some(Timestamp::from_secs(NOW_SECS - 120));
    h.store
        .update_deployment(&superseded)
        .await
        .expect("update");
    // Superseded while still running: it never passed test.
    let never_passed = h
        .deployment(
            4,
            Environment::Test,
            GitRef::Branch("release/1".into()),
            DeploymentState::Inactive,
            5,
        )
        .await;
    h.press(OTHER_USER, ACTION_PROMOTE, superseded.id.as_str())
        .await;
    h.press(OTHER_USER, ACTION_PROMOTE, never_passed.id.as_str())
        .await;

    let requests = manual_requests(&h);
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].environment, Environment::Staging);
    assert_eq!(
        requests[0].git_ref,
        Some(GitRef::Name(sha(3).as_str().to_owned()))
    );
    let answers = answers(&h).await;
    assert!(
        answers
            .iter()
            .any(|a| message_json(&a.response.message)
                .contains("Only a successful *test* deployment")),
        "{answers:?}"
    );
}

#[tokio::test]
async fn deploy_to_staging_refuses_what_cannot_be_promoted() {
    let h = Harness::new();
    h.bind().await;
    let failed_test = h
        .deployment(
            1,
            Environment::Test,
            GitRef::Branch("release/1".into()),
            DeploymentState::Failure,
            5,
        )
        .await;
    let ok_preview = h
        .deployment(
            2,
            Environment::Preview,
            GitRef::Branch("main".into()),
            DeploymentState::Success,
            5,
        )
        .await;
    h.press(USER, ACTION_PROMOTE, failed_test.id.as_str()).await;
    h.press(USER, ACTION_PROMOTE, ok_preview.id.as_str()).await;
    // An id that does not exist, and one that is not an id at all.
    let missing = DeploymentId::new(Timestamp::from_secs(NOW_SECS), 9);
    h.press(USER, ACTION_PROMOTE, missing.as_str()).await;
    h.press(USER, ACTION_PROMOTE, "acme/web@main").await;

    let answers = answers(&h).await;
    let texts: Vec<String> = answers
        .iter()
        .map(|a| message_json(&a.response.message))
        .collect();
    assert_eq!(texts.len(), 4, "{texts:?}");
    assert!(
        texts[0].contains("Only a successful *test* deployment") && texts[0].contains("failed"),
        "{}",
        texts[0]
    );
    assert!(
        texts[1].contains("this one is a preview deployment"),
        "{}",
        texts[1]
    );
    assert!(
        texts[2].contains("cannot find that deployment"),
        "{}",
        texts[2]
    );
    assert!(
        texts[3].contains("cannot find that deployment"),
        "{}",
        texts[3]
    );
    assert!(manual_requests(&h).is_empty());
}

#[tokio::test]
async fn buttons_in_a_channel_that_was_reset_say_so() {
    let h = Harness::new();
    h.bind().await;
    let tested = h
        .deployment(
            1,
            Environment::Test,
            GitRef::Branch("release/1".into()),
            DeploymentState::Success,
            5,
        )
        .await;
    h.store
        .unbind_project(&channel(CHANNEL))
        .await
        .expect("unbind");
    h.press(USER, ACTION_PROMOTE, tested.id.as_str()).await;
    let answers = answers(&h).await;
    let (text, _) = only_answer(&answers);
    assert!(text.contains("not set up"), "{text}");
    assert!(manual_requests(&h).is_empty());
}

// ---- retry ------------------------------------------------------------------------------------

fn new_requests(h: &Harness) -> Vec<NewDeploymentRequest> {
    h.deployment_requests()
        .into_iter()
        .filter_map(|r| match r {
            DeploymentCreateRequest::New(n) => Some(n),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn retry_redeploys_the_same_environment_and_ref() {
    let h = Harness::new();
    h.bind().await;
    for (n, state) in [(1, DeploymentState::Failure), (2, DeploymentState::Error)] {
        let mut failed = h
            .deployment(
                n,
                Environment::Preview,
                GitRef::Branch("main".into()),
                state,
                5,
            )
            .await;
        failed.commit_author = Some("carol-gh".parse().expect("login"));
        h.store.update_deployment(&failed).await.expect("update");
        // A fix was pushed since: the branch's head is another commit now.
        h.github.set_branch(&repo(), "main", &sha(9), None);

        h.press(OTHER_USER, ACTION_RETRY, failed.id.as_str()).await;
        h.settle().await;
        let request = new_requests(&h).pop().expect("a new deployment request");
        assert_eq!(request.environment, Environment::Preview);
        assert_eq!(request.git_ref, GitRef::Branch("main".into()));
        assert_eq!(request.sha, failed.sha, "exactly the commit that failed");
        assert_eq!(request.commit_author, failed.commit_author);
        assert_ne!(request.deployment_id, failed.id);
        assert_eq!(
            request.trigger,
            Trigger::Retry {
                slack_user: user(OTHER_USER),
                of: failed.id.clone()
            }
        );
        // And that is what gets deployed, not the branch's new head.
        let retried = h
            .store
            .get_deployment(&repo(), &request.deployment_id)
            .await
            .expect("store")
            .expect("the retry is recorded");
        assert_eq!(retried.sha, failed.sha);
        assert_eq!(retried.git_ref, GitRef::Branch("main".into()));
    }
    assert!(manual_requests(&h).is_empty(), "no ref to resolve again");
    let answers = answers(&h).await;
    for n in [1, 2] {
        let ack = format!(
            "deploying `main` at `{}` to *preview* again",
            sha(n).short()
        );
        assert!(
            answers
                .iter()
                .any(|a| message_json(&a.response.message).contains(&ack)),
            "{ack} in {answers:?}"
        );
    }
}

#[tokio::test]
async fn retry_of_a_pull_request_environment_redeploys_the_same_commit() {
    let h = Harness::new();
    h.bind().await;
    let failed = h
        .deployment(
            7,
            Environment::PullRequest(12),
            GitRef::Branch("feature/login".into()),
            DeploymentState::Failure,
            5,
        )
        .await;
    h.press(OTHER_USER, ACTION_RETRY, failed.id.as_str()).await;
    assert!(
        manual_requests(&h).is_empty(),
        "a pr environment is not deployable by hand, so retry must not ask for it"
    );
    let new: Vec<_> = h
        .deployment_requests()
        .into_iter()
        .filter_map(|r| match r {
            DeploymentCreateRequest::New(n) => Some(n),
            _ => None,
        })
        .collect();
    assert_eq!(new.len(), 1, "{new:?}");
    let request = &new[0];
    assert_eq!(request.environment, Environment::PullRequest(12));
    assert_eq!(request.git_ref, GitRef::Branch("feature/login".into()));
    assert_eq!(request.sha, failed.sha);
    assert_ne!(request.deployment_id, failed.id);
    assert_eq!(
        request.trigger,
        Trigger::Retry {
            slack_user: user(OTHER_USER),
            of: failed.id.clone()
        }
    );
}

#[tokio::test]
async fn retry_refuses_what_did_not_fail() {
    let h = Harness::new();
    h.bind().await;
    for (n, state) in [
        (1, DeploymentState::Success),
        (2, DeploymentState::InProgress),
        (3, DeploymentState::Inactive),
    ] {
        let d = h
            .deployment(
                n,
                Environment::Test,
                GitRef::Branch("release/1".into()),
                state,
                5,
            )
            .await;
        h.press(USER, ACTION_RETRY, d.id.as_str()).await;
    }
    let answers = answers(&h).await;
    assert_eq!(answers.len(), 3);
    for answer in &answers {
        let text = message_json(&answer.response.message);
        assert!(
            text.contains("Only a failed deployment can be retried"),
            "{text}"
        );
        assert!(text.contains("/cimon deploy release/1 to test"), "{text}");
    }
    assert!(manual_requests(&h).is_empty());
}

#[tokio::test]
async fn retry_of_a_failure_a_newer_success_replaced_is_refused_naming_the_newer_one() {
    use deploybot_core::lane::{LaneKey, LaneRecord};
    use deploybot_core::ports::LaneStore;
    let h = Harness::new();
    h.bind().await;
    let main = || GitRef::Branch("main".into());
    let failed = h
        .deployment(
            1,
            Environment::Preview,
            main(),
            DeploymentState::Failure,
            10,
        )
        .await;
    let newer = h
        .deployment(2, Environment::Preview, main(), DeploymentState::Success, 5)
        .await;
    let key = LaneKey {
        repository: repo(),
        environment: Environment::Preview,
    };
    let mut lane = LaneRecord::empty(key, newer.created_at);
    lane.current = Some(newer.id.clone());
    h.store.save_lane(&lane).await.expect("saves");

    h.press(OTHER_USER, ACTION_RETRY, failed.id.as_str()).await;
    h.settle().await;
    assert!(new_requests(&h).is_empty(), "nothing is deployed");
    let answers = answers(&h).await;
    let text = message_json(&answers.last().expect("an answer").response.message);
    assert!(
        text.contains(&format!(
            "`{}` failed before `{}` deployed to preview successfully (deployment {})",
            sha(1).short(),
            sha(2).short(),
            newer.id
        )),
        "{text}"
    );
    assert!(text.contains("would take preview backwards"), "{text}");
}
