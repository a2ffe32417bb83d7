//! `slack-event` through the router: the URL challenge, invitations on joining, renames,
//! channels archived, deleted or left by the bot (unbound, and why recorded), uninstalls,
//! redelivered events and request verification.

use crate::slack_support::*;
use axum::http::StatusCode;
use deploybot_core::invoke::SlackMessageRequest;
use deploybot_core::ports::{ProjectStore, UserStore};
use deploybot_core::{GithubLogin, SlackTeamId, Timestamp, UnbindReason, Unbinding, UserLink};
use deploybot_testkit::Fault;
use serde_json::{Value, json};

fn team() -> SlackTeamId {
    SlackTeamId::parse(TEAM).expect("valid")
}

fn callback(event_id: &str, event: Value) -> Value {
    json!({
        "token": "deprecated",
        "team_id": TEAM,
        "api_app_id": "A0APP",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": NOW_SECS,
        "authorizations": [{"team_id": TEAM, "user_id": "U0BOT", "is_bot": true}]
    })
}

fn joined(user_id: &str, channel_id: &str) -> Value {
    json!({
        "type": "member_joined_channel",
        "user": user_id,
        "channel": channel_id,
        "channel_type": "C",
        "team": TEAM,
        "event_ts": "1700000000.000100"
    })
}

#[tokio::test]
async fn the_url_challenge_is_answered_only_when_signed() {
    let h = Harness::new();
    let body = json!({"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"});
    let reply = h.event(&body, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body,
        json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
    );

    let forged = deploybot_testkit::signing::slack_json_request(
        &deploybot_core::signature::SigningSecret::new("wrong"),
        NOW_SECS,
        &body,
    );
    let reply = h.send(forged, "/slack/event").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(!reply.raw.contains("3eZb"));
}

#[tokio::test]
async fn unsigned_or_stale_events_are_401_with_no_effect() {
    let h = Harness::new();
    let body = callback("Ev1", json!({"type": "app_uninstalled"}));
    let mut unsigned = deploybot_testkit::signing::slack_json_request(&h.secret, NOW_SECS, &body);
    unsigned.headers.retain(|(n, _)| n != "x-slack-signature");
    assert_eq!(
        h.send(unsigned, "/slack/event").await.status,
        StatusCode::UNAUTHORIZED
    );
    let stale = deploybot_testkit::signing::slack_json_request(&h.secret, NOW_SECS - 3600, &body);
    assert_eq!(
        h.send(stale, "/slack/event").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(!h.store.is_team_revoked(&team()).await.expect("store"));
    // Nothing was recorded either: the genuine delivery still takes effect.
    assert_eq!(h.event(&body, None).await.status, StatusCode::OK);
    assert!(h.store.is_team_revoked(&team()).await.expect("store"));
}

#[tokio::test]
async fn malformed_events_are_400_and_unknown_ones_200() {
    let h = Harness::new();
    let secret = h.secret.clone();
    let not_json = deploybot_testkit::signing::slack_request(
        &secret,
        NOW_SECS,
        "application/json",
        b"{not json".to_vec(),
    );
    assert_eq!(
        h.send(not_json, "/slack/event").await.status,
        StatusCode::BAD_REQUEST
    );
    let no_id = json!({"type": "event_callback", "event": {"type": "app_uninstalled"}});
    assert_eq!(h.event(&no_id, None).await.status, StatusCode::BAD_REQUEST);
    let bad_join = callback("Ev2", json!({"type": "member_joined_channel", "user": 7}));
    assert_eq!(
        h.event(&bad_join, None).await.status,
        StatusCode::BAD_REQUEST
    );

    for body in [
        json!({"type": "app_rate_limited", "team_id": TEAM, "minute_rate_limited": 1}),
        callback("Ev3", json!({"type": "reaction_added", "user": USER})),
        callback("Ev4", json!({"type": "message", "text": "hi"})),
    ] {
        let reply = h.event(&body, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{body}");
    }
    assert!(h.invocations().is_empty());
}

#[tokio::test]
async fn joining_a_bound_channel_invites_to_hello() {
    let h = Harness::new();
    h.bind().await;
    let reply = h
        .event(&callback("Ev10", joined(OTHER_USER, CHANNEL)), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    h.settle().await;
    let ephemerals = h.slack.ephemerals();
    assert_eq!(ephemerals.len(), 1, "{ephemerals:?}");
    assert_eq!(ephemerals[0].channel, channel(CHANNEL));
    assert_eq!(ephemerals[0].user, user(OTHER_USER));
    let text = message_json(&ephemerals[0].message);
    assert!(
        text.contains("/cimon hello") && text.contains("acme/web"),
        "{text}"
    );
}

#[tokio::test]
async fn joining_is_quiet_in_unbound_channels_and_for_linked_people() {
    let h = Harness::new();
    h.event(&callback("Ev11", joined(OTHER_USER, CHANNEL)), None)
        .await;
    h.bind().await;
    let link = UserLink {
        github_login: GithubLogin::parse("bob").expect("valid"),
        slack_user: user(OTHER_USER),
        slack_name: None,
        linked_at: Timestamp::from_secs(NOW_SECS),
    };
    h.store.link_user(&link).await.expect("link");
    h.event(&callback("Ev12", joined(OTHER_USER, CHANNEL)), None)
        .await;
    h.settle().await;
    assert!(h.slack.ephemerals().is_empty());
    assert!(h.message_requests().is_empty());
}

#[tokio::test]
async fn retried_and_repeated_event_ids_have_one_effect() {
    let h = Harness::new();
    h.bind().await;
    let body = callback("Ev20", joined(OTHER_USER, CHANNEL));
    for retry in [None, Some(1), Some(2)] {
        let reply = h.event(&body, retry).await;
        assert_eq!(reply.status, StatusCode::OK, "retry {retry:?}");
    }
    // The same event_id without a retry header (a duplicate delivery) is also collapsed.
    h.event(&body, None).await;
    h.settle().await;
    assert_eq!(h.slack.ephemerals().len(), 1);
    let invites = h
        .message_requests()
        .into_iter()
        .filter(|r| matches!(r, SlackMessageRequest::Ephemeral { .. }))
        .count();
    assert_eq!(invites, 1);

    // A different event id for the same kind of event is a new event.
    h.event(&callback("Ev21", joined(OTHER_USER, CHANNEL)), None)
        .await;
    h.settle().await;
    assert_eq!(h.slack.ephemerals().len(), 2);
}

#[tokio::test]
async fn a_renamed_channel_keeps_its_stored_name_current() {
    let h = Harness::new();
    h.bind().await;
    let rename = |id: &str, name: &str| {
        callback(
            id,
            json!({"type": "channel_rename", "channel": {"id": CHANNEL, "name": name, "created": 1_600_000_000}}),
        )
    };
    assert_eq!(
        h.event(&rename("Ev30", "web-deploys"), None).await.status,
        StatusCode::OK
    );
    let project = h.project(CHANNEL).await.expect("bound");
    assert_eq!(project.channel_name.as_deref(), Some("web-deploys"));
    assert_eq!(project.repository, repo(), "the binding is unchanged");

    // A rename of a channel that follows nothing changes nothing.
    let other = callback(
        "Ev31",
        json!({"type": "channel_rename", "channel": {"id": OTHER_CHANNEL, "name": "x", "created": 1}}),
    );
    assert_eq!(h.event(&other, None).await.status, StatusCode::OK);
    assert!(h.project(OTHER_CHANNEL).await.is_none());
}

#[tokio::test]
async fn uninstalling_or_revoking_stops_posting_to_the_workspace() {
    for event in [
        json!({"type": "app_uninstalled"}),
        json!({"type": "tokens_revoked", "tokens": {"bot": ["U0BOT"]}}),
    ] {
        let h = Harness::new();
        h.bind().await;
        let reply = h.event(&callback("Ev40", event.clone()), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{event}");
        assert!(
            h.store.is_team_revoked(&team()).await.expect("store"),
            "{event}"
        );

        // Invitations to the revoked workspace are not posted any more.
        h.event(&callback("Ev41", joined(OTHER_USER, CHANNEL)), None)
            .await;
        h.settle().await;
        assert!(h.slack.ephemerals().is_empty(), "{event}");
    }

    // Reinstalling: Slack only sends commands for an installed app, so the next command
    // from the workspace resumes posting.
    let h = Harness::new();
    h.bind().await;
    h.event(&callback("Ev43", json!({"type": "app_uninstalled"})), None)
        .await;
    assert!(h.store.is_team_revoked(&team()).await.expect("store"));
    assert_eq!(h.slash("help").await.status, StatusCode::OK);
    assert!(!h.store.is_team_revoked(&team()).await.expect("store"));
    h.event(&callback("Ev44", joined(OTHER_USER, CHANNEL)), None)
        .await;
    h.settle().await;
    assert_eq!(
        h.slack.ephemerals().len(),
        1,
        "invitations are posted again"
    );

    // Without a team there is no workspace to mark: a short 400.
    let h = Harness::new();
    let mut body = callback("Ev42", json!({"type": "app_uninstalled"}));
    body.as_object_mut().expect("object").remove("team_id");
    assert_eq!(h.event(&body, None).await.status, StatusCode::BAD_REQUEST);
}

/// The bot user of the envelope's `authorizations` (see [`callback`]).
const BOT: &str = "U0BOT";

async fn last_unbinding(h: &Harness) -> Option<Unbinding> {
    h.store.last_unbinding(&repo()).await.expect("store")
}

/// Each way a channel stops being usable, as Slack sends it (public and private channels).
fn channel_gone_events(channel_id: &str) -> Vec<(Value, UnbindReason)> {
    vec![
        (
            json!({"type": "channel_archive", "channel": channel_id, "user": USER, "event_ts": "1700000000.000200"}),
            UnbindReason::ChannelArchived,
        ),
        (
            json!({"type": "group_archive", "channel": channel_id, "user": USER, "event_ts": "1700000000.000200"}),
            UnbindReason::ChannelArchived,
        ),
        (
            json!({"type": "channel_deleted", "channel": channel_id}),
            UnbindReason::ChannelDeleted,
        ),
        (
            json!({"type": "group_deleted", "channel": channel_id}),
            UnbindReason::ChannelDeleted,
        ),
        (
            json!({"type": "member_left_channel", "user": BOT, "channel": channel_id, "channel_type": "C", "team": TEAM, "event_ts": "1700000000.000300"}),
            UnbindReason::BotRemoved,
        ),
        (
            json!({"type": "channel_left", "channel": channel_id, "actor_id": USER, "event_ts": "1700000000.000300"}),
            UnbindReason::BotRemoved,
        ),
        (
            json!({"type": "group_left", "channel": channel_id, "actor_id": USER, "event_ts": "1700000000.000300"}),
            UnbindReason::BotRemoved,
        ),
    ]
}

#[tokio::test]
async fn a_channel_archived_deleted_or_left_by_the_bot_unbinds_and_records_why() {
    for (event, reason) in channel_gone_events(CHANNEL) {
        let kind = event["type"].as_str().expect("type").to_owned();
        let h = Harness::new();
        h.bind().await;
        h.clock.set(Timestamp::from_secs(NOW_SECS + 60));
        let reply = h.event(&callback("Ev50", event.clone()), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{kind}");
        assert!(h.project(CHANNEL).await.is_none(), "{kind}: still bound");
        assert!(
            h.store
                .project_by_repository(&repo())
                .await
                .expect("store")
                .is_none(),
            "{kind}: the repository is free"
        );
        assert_eq!(
            last_unbinding(&h).await,
            Some(Unbinding {
                repository: repo(),
                channel: channel(CHANNEL),
                channel_name: Some("web".into()),
                reason,
                event: Some(kind.clone()),
                at: Timestamp::from_secs(NOW_SECS + 60),
            }),
            "{kind}"
        );
        // Nothing is posted: the channel cannot be posted to any more.
        h.settle().await;
        assert!(h.invocations().is_empty(), "{kind}");

        // Delivered again (Slack's retry, or a duplicate), later, after the channel was set up
        // again (unarchived): nothing changes, not even the record's time.
        h.bind().await;
        h.clock.set(Timestamp::from_secs(NOW_SECS + 600));
        for retry in [Some(1), None] {
            let reply = h.event(&callback("Ev50", event.clone()), retry).await;
            assert_eq!(reply.status, StatusCode::OK, "{kind}");
        }
        let record = last_unbinding(&h).await.expect("kept");
        assert_eq!(record.at, Timestamp::from_secs(NOW_SECS + 60), "{kind}");
        assert_eq!(record.channel, channel(CHANNEL), "{kind}");
        assert!(
            h.project(CHANNEL).await.is_some(),
            "{kind}: bound again, and stays"
        );
    }
}

#[tokio::test]
async fn a_channel_that_follows_nothing_changes_nothing() {
    for (event, _) in channel_gone_events(OTHER_CHANNEL) {
        let kind = event["type"].as_str().expect("type").to_owned();
        let h = Harness::new();
        let project = h.bind().await;
        let reply = h.event(&callback("Ev51", event), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{kind}");
        assert_eq!(h.project(CHANNEL).await, Some(project), "{kind}");
        assert_eq!(last_unbinding(&h).await, None, "{kind}");
    }
    // Nor does a channel id Slack would never send.
    let h = Harness::new();
    h.bind().await;
    let odd = callback(
        "Ev52",
        json!({"type": "channel_archive", "channel": "not a channel"}),
    );
    assert_eq!(h.event(&odd, None).await.status, StatusCode::OK);
    assert!(h.project(CHANNEL).await.is_some());
}

#[tokio::test]
async fn a_person_leaving_the_channel_changes_nothing() {
    let h = Harness::new();
    let project = h.bind().await;
    let left = |id: &str, user_id: &str| {
        callback(
            id,
            json!({"type": "member_left_channel", "user": user_id, "channel": CHANNEL, "channel_type": "C", "team": TEAM}),
        )
    };
    assert_eq!(
        h.event(&left("Ev60", OTHER_USER), None).await.status,
        StatusCode::OK
    );
    assert_eq!(h.project(CHANNEL).await, Some(project.clone()));
    assert_eq!(last_unbinding(&h).await, None);

    // A user token's authorization (not a bot) does not make its user deploybot.
    let mut body = left("Ev61", USER);
    body["authorizations"] = json!([{"team_id": TEAM, "user_id": USER, "is_bot": false}]);
    assert_eq!(h.event(&body, None).await.status, StatusCode::OK);
    // Without any authorization there is no knowing who deploybot is: nothing happens.
    let mut body = left("Ev62", BOT);
    body.as_object_mut()
        .expect("object")
        .remove("authorizations");
    assert_eq!(h.event(&body, None).await.status, StatusCode::OK);
    assert_eq!(h.project(CHANNEL).await, Some(project));
    assert_eq!(last_unbinding(&h).await, None);

    // The older `authed_users` names the bot when `authorizations` is absent.
    let mut body = left("Ev63", BOT);
    body.as_object_mut()
        .expect("object")
        .remove("authorizations");
    body["authed_users"] = json!([BOT]);
    assert_eq!(h.event(&body, None).await.status, StatusCode::OK);
    assert!(h.project(CHANNEL).await.is_none());
    assert_eq!(
        last_unbinding(&h).await.map(|r| r.reason),
        Some(UnbindReason::BotRemoved)
    );
}

#[tokio::test]
async fn channel_gone_events_without_their_fields_are_400() {
    let h = Harness::new();
    h.bind().await;
    for kind in [
        "channel_archive",
        "group_archive",
        "channel_deleted",
        "group_deleted",
        "member_left_channel",
        "channel_left",
        "group_left",
        "group_rename",
    ] {
        let reply = h
            .event(&callback("Ev70", json!({"type": kind})), None)
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{kind}");
    }
    assert!(h.project(CHANNEL).await.is_some());
    // Unarchiving needs nothing: the binding went with the archive.
    let unarchive = callback(
        "Ev71",
        json!({"type": "channel_unarchive", "channel": CHANNEL, "user": USER}),
    );
    assert_eq!(h.event(&unarchive, None).await.status, StatusCode::OK);
    assert!(h.project(CHANNEL).await.is_some());
}

#[tokio::test]
async fn a_failed_unbinding_is_done_again_by_slacks_retry() {
    let h = Harness::new();
    h.bind().await;
    h.counting.fault_next("unbind_project", Fault::Fail);
    let body = callback("Ev80", json!({"type": "group_archive", "channel": CHANNEL}));
    assert_eq!(
        h.event(&body, None).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert!(h.project(CHANNEL).await.is_some(), "not unbound yet");
    assert_eq!(h.event(&body, Some(1)).await.status, StatusCode::OK);
    assert!(h.project(CHANNEL).await.is_none());
    assert_eq!(
        last_unbinding(&h).await.map(|r| r.reason),
        Some(UnbindReason::ChannelArchived)
    );
}

#[tokio::test]
async fn a_renamed_private_channel_keeps_its_stored_name_current() {
    let h = Harness::new();
    h.bind().await;
    let rename = callback(
        "Ev90",
        json!({"type": "group_rename", "channel": {"id": CHANNEL, "name": "web-private", "created": 1_360_782_804, "is_channel": false, "is_mpim": false}, "event_ts": "1700000000.000400"}),
    );
    assert_eq!(h.event(&rename, None).await.status, StatusCode::OK);
    let project = h.project(CHANNEL).await.expect("bound");
    assert_eq!(project.channel_name.as_deref(), Some("web-private"));
    assert_eq!(project.repository, repo());
}

#[tokio::test]
async fn setup_elsewhere_says_where_the_repository_was_followed_and_why() {
    let h = Harness::new();
    h.bind().await;
    h.event(
        &callback(
            "Ev100",
            json!({"type": "channel_archive", "channel": CHANNEL, "user": USER}),
        ),
        None,
    )
    .await;
    let reply = h
        .slash_as("/cimon", OTHER_CHANNEL, USER, "setup acme/web")
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    // GitHub is asked first; the channel is told through the command's response_url.
    h.settle().await;
    let announced = h
        .slack
        .responses()
        .into_iter()
        .find(|r| !r.response.ephemeral)
        .expect("the channel is told");
    let text = announced.response.message.text.clone();
    assert!(text.contains("tied this channel to *acme/web*"), "{text}");
    assert!(
        text.contains("followed in <#C0WEB> until <!date^1700000000^"),
        "{text}"
    );
    assert!(text.contains("that channel was archived"), "{text}");
    assert!(h.project(OTHER_CHANNEL).await.is_some());

    // A reset is recorded too, so the next move tells the latest story.
    let reset = h
        .slash_as("/cimon", OTHER_CHANNEL, OTHER_USER, "reset")
        .await;
    assert_eq!(reset.response_type(), "in_channel");
    let record = last_unbinding(&h).await.expect("recorded");
    assert_eq!(record.channel, channel(OTHER_CHANNEL));
    assert_eq!(
        record.reason,
        UnbindReason::Reset {
            by: user(OTHER_USER)
        }
    );
    assert_eq!(record.event, None);
    let third = "C0THIRD";
    let announcement = |h: &Harness| {
        h.slack
            .responses()
            .into_iter()
            .rev()
            .find(|r| !r.response.ephemeral)
            .map(|r| r.response.message.text.clone())
            .expect("the channel is told")
    };
    h.slash_as("/cimon", third, USER, "setup acme/web").await;
    h.settle().await;
    let text = announcement(&h);
    assert!(text.contains("followed in <#C0API>"), "{text}");
    assert!(text.contains("<@U0BOB> ran `/cimon reset` there"), "{text}");

    // Setting up again in the channel it was last followed in says nothing of the past.
    h.slash_as("/cimon", third, USER, "reset").await;
    h.slash_as("/cimon", third, USER, "setup acme/web").await;
    h.settle().await;
    let text = announcement(&h);
    assert!(
        text.contains("tied this channel") && !text.contains("followed in"),
        "{text}"
    );
}
