//! The Slack adapter against the fake Slack over HTTP (and wiremock for answers the fake does
//! not give): every call, every error mapping, retries and what is never retried.

use deploybot_core::blocks::{Block, Element, Message};
use deploybot_core::ports::{ResponseMessage, Slack, SlackError};
use deploybot_core::{SlackChannelId, SlackUserId};
use deploybot_integrations::http::{HttpPolicy, RecordingSleeper};
use deploybot_integrations::slack::{SlackClient, SlackConfig};
use deploybot_testkit::fakes::slack::{FakeSlack, SlackProfile, method};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use wiremock::matchers::{header, method as http_method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "xoxb-test-token-123";

fn channel() -> SlackChannelId {
    SlackChannelId::parse("C0DEPLOY").expect("channel id")
}

fn user() -> SlackUserId {
    SlackUserId::parse("U0ADA").expect("user id")
}

fn quick_policy() -> HttpPolicy {
    HttpPolicy {
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        attempts: 3,
        backoff: Duration::from_millis(10),
        max_retry_after: Duration::from_secs(5),
    }
}

fn client_for(base_url: &str, policy: HttpPolicy) -> (SlackClient, Arc<RecordingSleeper>) {
    let sleeper = Arc::new(RecordingSleeper::default());
    let config = SlackConfig::new(SecretString::from(TOKEN))
        .with_api_url(base_url)
        .with_policy(policy);
    let client = SlackClient::new(config)
        .expect("client builds")
        .with_sleeper(sleeper.clone());
    (client, sleeper)
}

fn deploy_message(state: &str) -> Message {
    Message {
        text: format!("pr12 is {state}"),
        blocks: vec![
            Block::section(format!("*pr12* is {state}")),
            Block::actions(vec![Element::button("Retry", "retry", "d-1")]),
        ],
    }
}

#[tokio::test]
async fn posts_and_updates_keep_every_version() {
    let fake = FakeSlack::new();
    let server = fake.serve().await;
    let (slack, _) = client_for(server.base_url(), quick_policy());

    let ts = slack
        .post_message(&channel(), &deploy_message("queued"))
        .await
        .expect("posted");
    slack
        .update_message(&channel(), &ts, &deploy_message("in progress"))
        .await
        .expect("updated");
    slack
        .update_message(&channel(), &ts, &deploy_message("done"))
        .await
        .expect("updated");

    assert_eq!(
        fake.message(&channel(), &ts).expect("the message exists"),
        vec![
            deploy_message("queued"),
            deploy_message("in progress"),
            deploy_message("done")
        ]
    );
    assert_eq!(
        fake.calls(),
        vec![method::POST_MESSAGE, method::UPDATE, method::UPDATE]
    );
    let requests = fake.requests();
    assert_eq!(requests[0].path_and_query, "/chat.postMessage");
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(requests[0].header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_slice(&requests[0].body).expect("JSON body");
    assert_eq!(body["channel"], "C0DEPLOY");
    assert_eq!(body["text"], "pr12 is queued");
    assert_eq!(body["blocks"][1]["elements"][0]["action_id"], "retry");
    for request in &requests {
        assert!(
            !request.path_and_query.contains(TOKEN),
            "token in URL: {}",
            request.path_and_query
        );
    }
    assert!(
        !format!("{slack:?}").contains(TOKEN),
        "Debug shows no token"
    );
}

#[tokio::test]
async fn a_message_to_a_user_id_goes_to_the_direct_conversation() {
    let fake = FakeSlack::new();
    let server = fake.serve().await;
    let (slack, _) = client_for(server.base_url(), quick_policy());

    let direct = SlackChannelId::direct(&user());
    slack
        .post_message(&direct, &Message::text("your lock expires soon"))
        .await
        .expect("Slack takes a user id as the channel of chat.postMessage");

    let body: Value = serde_json::from_slice(&fake.requests()[0].body).expect("JSON body");
    assert_eq!(body["channel"], "U0ADA");
    let dms = fake.direct_messages(&user());
    assert_eq!(dms.len(), 1, "{dms:#?}");
    assert_eq!(dms[0].channel, FakeSlack::direct_channel(&user()));
    assert_eq!(
        dms[0].latest(),
        Some(&Message::text("your lock expires soon"))
    );
    assert!(
        fake.messages(&direct).is_empty(),
        "not a channel of its own"
    );
}

#[tokio::test]
async fn update_without_blocks_clears_them() {
    let fake = FakeSlack::new();
    let server = fake.serve().await;
    let (slack, _) = client_for(server.base_url(), quick_policy());
    let ts = slack
        .post_message(&channel(), &deploy_message("queued"))
        .await
        .expect("posted");
    let bare = Message {
        text: "superseded".into(),
        blocks: Vec::new(),
    };
    slack
        .update_message(&channel(), &ts, &bare)
        .await
        .expect("updated");
    let update: Value = serde_json::from_slice(&fake.requests()[1].body).expect("JSON body");
    assert_eq!(update["blocks"], json!([]));
    assert_eq!(update["ts"], json!(ts));
}

#[tokio::test]
async fn ephemerals_and_user_names() {
    let fake = FakeSlack::new();
    let server = fake.serve().await;
    let (slack, _) = client_for(server.base_url(), quick_policy());
    fake.add_user_profile(
        &user(),
        SlackProfile {
            name: "ada".into(),
            real_name: "Ada Lovelace".into(),
            display_name: "ada.l".into(),
        },
    );
    let no_display = SlackUserId::parse("U0BOB").expect("user id");
    fake.add_user_profile(
        &no_display,
        SlackProfile {
            name: "bob".into(),
            real_name: "Bob Builder".into(),
            display_name: String::new(),
        },
    );

    slack
        .post_ephemeral(&channel(), &user(), &Message::text("only you"))
        .await
        .expect("ephemeral");
    assert_eq!(slack.user_name(&user()).await, Ok(Some("ada.l".to_owned())));
    assert_eq!(
        slack.user_name(&no_display).await,
        Ok(Some("Bob Builder".to_owned()))
    );
    assert_eq!(
        slack
            .user_name(&SlackUserId::parse("U0NOBODY").expect("user id"))
            .await,
        Err(SlackError::Api("user_not_found".into()))
    );

    let ephemerals = fake.ephemerals();
    assert_eq!(ephemerals.len(), 1);
    assert_eq!(ephemerals[0].user, user());
    assert_eq!(ephemerals[0].message, Message::text("only you"));
    assert!(
        fake.messages(&channel()).is_empty(),
        "not a channel message"
    );
    let info = &fake.requests()[1];
    assert_eq!(info.method, "GET");
    assert_eq!(info.path_and_query, "/users.info?user=U0ADA");
}

#[tokio::test]
async fn respond_posts_to_the_response_url_without_the_token() {
    let fake = FakeSlack::new();
    let server = fake.serve().await;
    let (slack, _) = client_for(server.base_url(), quick_policy());
    let url = fake.response_url("cmd-1");
    assert!(url.starts_with(server.base_url()), "{url}");

    slack
        .respond(
            &url,
            &ResponseMessage {
                message: Message::text("Set up acme/web here"),
                ephemeral: false,
                replace_original: true,
            },
        )
        .await
        .expect("responded");
    slack
        .respond(
            &url,
            &ResponseMessage {
                message: Message::text("psst"),
                ephemeral: true,
                replace_original: false,
            },
        )
        .await
        .expect("responded");

    let responses = fake.responses();
    assert_eq!(responses.len(), 2);
    assert_eq!(responses[0].id, "cmd-1");
    assert!(!responses[0].response.ephemeral);
    assert!(responses[0].response.replace_original);
    assert!(responses[1].response.ephemeral);
    let request = &fake.requests()[0];
    let body: Value = serde_json::from_slice(&request.body).expect("JSON body");
    assert_eq!(body["response_type"], "in_channel");
    assert_eq!(body["replace_original"], true);
    assert_eq!(body["text"], "Set up acme/web here");
    assert_eq!(
        request.header("authorization"),
        None,
        "the bot token is never sent to a response URL"
    );
}

#[tokio::test]
async fn ok_false_answers_become_api_errors() {
    let fake = FakeSlack::new();
    let server = fake.serve().await;
    let (slack, _) = client_for(server.base_url(), quick_policy());

    assert_eq!(
        slack
            .update_message(&channel(), "1700000000.999999", &Message::text("x"))
            .await,
        Err(SlackError::Api("message_not_found".into()))
    );
    fake.fail_next_api(1, "invalid_blocks");
    assert_eq!(
        slack.post_message(&channel(), &Message::text("x")).await,
        Err(SlackError::Api("invalid_blocks".into()))
    );
    let archived = SlackChannelId::parse("C0OLD").expect("channel id");
    fake.archive(&archived);
    assert_eq!(
        slack.post_message(&archived, &Message::text("x")).await,
        Err(SlackError::Api("is_archived".into()))
    );
    let gone = SlackChannelId::parse("C0GONE").expect("channel id");
    fake.delete_channel(&gone);
    assert_eq!(
        slack.post_message(&gone, &Message::text("x")).await,
        Err(SlackError::Api("channel_not_found".into()))
    );
    fake.set_revoked(true);
    assert_eq!(
        slack.post_message(&channel(), &Message::text("x")).await,
        Err(SlackError::Api("token_revoked".into()))
    );
    assert_eq!(
        slack.user_name(&user()).await,
        Err(SlackError::Api("token_revoked".into()))
    );
    fake.set_revoked(false);

    // A wrong token is refused like Slack refuses it.
    fake.require_token("xoxb-another");
    assert_eq!(
        slack.post_message(&channel(), &Message::text("x")).await,
        Err(SlackError::Api("invalid_auth".into()))
    );
    // ok:false answers are final: never retried.
    assert_eq!(fake.calls().len(), 7);
    assert!(fake.all_messages().is_empty());

    // A response URL used more than five times.
    let url = fake.response_url("used");
    let response = ResponseMessage {
        message: Message::text("again"),
        ephemeral: true,
        replace_original: false,
    };
    for _ in 0..5 {
        slack.respond(&url, &response).await.expect("within limit");
    }
    assert_eq!(
        slack.respond(&url, &response).await,
        Err(SlackError::Api("used_url".into()))
    );
}

#[tokio::test]
async fn rate_limit_waits_retry_after_then_succeeds() {
    let fake = FakeSlack::new();
    let server = fake.serve().await;
    let (slack, sleeper) = client_for(server.base_url(), quick_policy());
    fake.rate_limit_next(1, 1);

    let ts = slack
        .post_message(&channel(), &Message::text("hello"))
        .await
        .expect("posted after the rate limit");

    assert_eq!(
        fake.calls(),
        vec![method::POST_MESSAGE, method::POST_MESSAGE]
    );
    assert_eq!(sleeper.waits(), vec![Duration::from_secs(1)]);
    assert_eq!(fake.messages(&channel()).len(), 1);
    assert_eq!(fake.messages(&channel())[0].ts, ts);
}

#[tokio::test]
async fn rate_limit_really_waits_with_the_real_sleeper() {
    let fake = FakeSlack::new();
    let server = fake.serve().await;
    let config = SlackConfig::new(SecretString::from(TOKEN))
        .with_api_url(server.base_url())
        .with_policy(quick_policy());
    let slack = SlackClient::new(config).expect("client builds");
    let ts = fake_post(&fake).await;
    fake.rate_limit_next(1, 1);
    slack
        .update_message(&channel(), &ts, &Message::text("after the limit"))
        .await
        .expect("updated after the rate limit");
    assert_eq!(
        fake.calls(),
        vec![method::POST_MESSAGE, method::UPDATE, method::UPDATE]
    );
}

/// Posts through the fake's direct port and returns the ts.
async fn fake_post(fake: &FakeSlack) -> String {
    fake.post_message(&channel(), &Message::text("first"))
        .await
        .expect("direct post")
}

#[tokio::test]
async fn rate_limit_longer_than_allowed_is_a_typed_error() {
    let fake = FakeSlack::new();
    let server = fake.serve().await;
    let (slack, sleeper) = client_for(server.base_url(), quick_policy());
    fake.rate_limit_next(1, 30);
    assert_eq!(
        slack.post_message(&channel(), &Message::text("x")).await,
        Err(SlackError::RateLimited {
            retry_after_secs: 30
        })
    );
    assert!(sleeper.waits().is_empty(), "did not wait 30 s");
    assert_eq!(fake.calls().len(), 1);

    fake.rate_limit_next(5, 1);
    assert_eq!(
        slack.user_name(&user()).await,
        Err(SlackError::RateLimited {
            retry_after_secs: 1
        })
    );
    assert_eq!(fake.calls().len(), 1 + 3, "three attempts, then give up");
}

#[tokio::test]
async fn server_errors_are_retried_for_idempotent_calls_only() {
    let fake = FakeSlack::new();
    let server = fake.serve().await;
    let (slack, sleeper) = client_for(server.base_url(), quick_policy());
    let ts = fake_post(&fake).await;

    fake.fail_next(2, 503);
    slack
        .update_message(&channel(), &ts, &Message::text("edited"))
        .await
        .expect("third attempt succeeds");
    assert_eq!(
        fake.calls(),
        vec![
            method::POST_MESSAGE,
            method::UPDATE,
            method::UPDATE,
            method::UPDATE
        ]
    );
    assert_eq!(
        sleeper.waits(),
        vec![Duration::from_millis(10), Duration::from_millis(20)]
    );
    assert_eq!(fake.message(&channel(), &ts).map(|v| v.len()), Some(2));

    fake.fail_next(1, 500);
    assert_eq!(
        slack.post_message(&channel(), &Message::text("x")).await,
        Err(SlackError::Transport("Slack answered HTTP 500".into())),
        "a post is not repeated after a 5xx: it may have happened"
    );
    assert_eq!(fake.calls().len(), 5);

    let metrics = deploybot_testkit::metrics::captured().expect("the test's metric sink");
    let counted = || {
        metrics
            .lines("ProviderApiErrors", "Provider", "slack")
            .iter()
            .filter(|l| l["Status"] == "502")
            .count()
    };
    let before = counted();
    fake.fail_next(3, 502);
    assert_eq!(
        slack.user_name(&user()).await,
        Err(SlackError::Transport("Slack answered HTTP 502".into()))
    );
    assert!(
        counted() > before,
        "the 502 is counted by provider and status"
    );
    assert_eq!(fake.calls().len(), 8);
}

#[tokio::test]
async fn timeouts_retry_updates_but_not_posts() {
    let fake = FakeSlack::new();
    let server = fake.serve().await;
    let policy = HttpPolicy {
        timeout: Duration::from_millis(200),
        ..quick_policy()
    };
    let (slack, _) = client_for(server.base_url(), policy);
    let ts = fake_post(&fake).await;
    fake.set_delay(Some(Duration::from_secs(3)));

    assert_eq!(
        slack.post_message(&channel(), &Message::text("slow")).await,
        Err(SlackError::Transport("chat.postMessage: timed out".into()))
    );
    assert_eq!(
        slack
            .update_message(&channel(), &ts, &Message::text("slow"))
            .await,
        Err(SlackError::Transport("chat.update: timed out".into()))
    );
    assert_eq!(
        fake.calls(),
        vec![
            method::POST_MESSAGE, // the direct post
            method::POST_MESSAGE, // once: a timed-out post is not repeated
            method::UPDATE,
            method::UPDATE,
            method::UPDATE,
        ]
    );
}

#[tokio::test]
async fn connection_refused_is_retried_even_for_posts() {
    // A port nobody listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let (slack, sleeper) = client_for(&format!("http://127.0.0.1:{port}"), quick_policy());
    let error = slack
        .post_message(&channel(), &Message::text("x"))
        .await
        .expect_err("nobody listens");
    assert!(
        matches!(&error, SlackError::Transport(text) if text.starts_with("chat.postMessage: ")),
        "{error:?}"
    );
    assert_eq!(
        sleeper.waits().len(),
        2,
        "the request never left: safe to try three times"
    );
}

#[tokio::test]
async fn direct_port_and_http_agree() {
    async fn script(slack: &dyn Slack, fake: &FakeSlack) -> Vec<Result<String, SlackError>> {
        let mut results = Vec::new();
        let ts = slack
            .post_message(&channel(), &deploy_message("queued"))
            .await;
        results.push(ts.clone());
        let ts = ts.unwrap_or_default();
        results.push(
            slack
                .update_message(&channel(), &ts, &deploy_message("done"))
                .await
                .map(|()| "updated".into()),
        );
        results.push(
            slack
                .update_message(&channel(), "1.1", &deploy_message("x"))
                .await
                .map(|()| "updated".into()),
        );
        results.push(
            slack
                .post_ephemeral(&channel(), &user(), &Message::text("psst"))
                .await
                .map(|()| "ephemeral".into()),
        );
        results.push(
            slack
                .respond(
                    &fake.response_url("r-1"),
                    &ResponseMessage {
                        message: Message::text("ok"),
                        ephemeral: true,
                        replace_original: false,
                    },
                )
                .await
                .map(|()| "responded".into()),
        );
        results.push(
            slack
                .user_name(&user())
                .await
                .map(|n| n.unwrap_or_default()),
        );
        fake.fail_next(1, 500);
        results.push(slack.post_message(&channel(), &Message::text("x")).await);
        fake.rate_limit_next(1, 30);
        results.push(slack.post_message(&channel(), &Message::text("x")).await);
        fake.fail_next_api(1, "not_in_channel");
        results.push(slack.post_message(&channel(), &Message::text("x")).await);
        fake.set_revoked(true);
        results.push(
            slack
                .user_name(&user())
                .await
                .map(|n| n.unwrap_or_default()),
        );
        results
    }

    let direct = FakeSlack::new();
    direct.add_user(&user(), "Ada");
    let direct_results = script(&direct, &direct).await;

    let served = FakeSlack::new();
    served.add_user(&user(), "Ada");
    let server = served.serve().await;
    let (client, _) = client_for(server.base_url(), quick_policy());
    let http_results = script(&client, &served).await;

    assert_eq!(direct_results, http_results);
    assert_eq!(direct.all_messages(), served.all_messages());
    assert_eq!(direct.ephemerals(), served.ephemerals());
    assert_eq!(direct.responses(), served.responses());
    assert_eq!(direct.calls(), served.calls());
}

#[tokio::test]
async fn answers_the_fake_cannot_give() {
    let mock = MockServer::start().await;
    Mock::given(http_method("POST"))
        .and(path("/chat.postMessage"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>oops</html>"))
        .up_to_n_times(1)
        .mount(&mock)
        .await;
    Mock::given(http_method("POST"))
        .and(path("/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .mount(&mock)
        .await;
    Mock::given(http_method("GET"))
        .and(path("/users.info"))
        .and(query_param("user", "U0ADA"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": false})))
        .mount(&mock)
        .await;
    Mock::given(http_method("POST"))
        .and(path("/response/plain"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&mock)
        .await;
    Mock::given(http_method("POST"))
        .and(path("/response/expired"))
        .respond_with(ResponseTemplate::new(404).set_body_string("expired_url"))
        .mount(&mock)
        .await;
    let (slack, _) = client_for(&mock.uri(), quick_policy());

    assert!(matches!(
        slack.post_message(&channel(), &Message::text("x")).await,
        Err(SlackError::InvalidResponse(text)) if text.contains("not JSON")
    ));
    assert!(matches!(
        slack.post_message(&channel(), &Message::text("x")).await,
        Err(SlackError::InvalidResponse(text)) if text.contains("`ts`")
    ));
    assert_eq!(
        slack.user_name(&user()).await,
        Err(SlackError::Api("unknown_error".into()))
    );
    let response = ResponseMessage {
        message: Message::text("x"),
        ephemeral: true,
        replace_original: false,
    };
    assert_eq!(
        slack
            .respond(&format!("{}/response/plain", mock.uri()), &response)
            .await,
        Ok(()),
        "a plain `ok` answer is success"
    );
    assert_eq!(
        slack
            .respond(&format!("{}/response/expired", mock.uri()), &response)
            .await,
        Err(SlackError::Api("expired_url".into()))
    );
    assert!(matches!(
        slack.respond("not a url", &response).await,
        Err(SlackError::InvalidResponse(_))
    ));
}

#[tokio::test]
async fn posts_by_name_in_threads_and_to_people_and_reads_groups_channels_and_homes() {
    let fake = FakeSlack::new();
    let server = fake.serve().await;
    let (client, _) = client_for(server.base_url(), quick_policy());
    let prod = SlackChannelId::parse("C0PROD").expect("id");
    fake.add_channel(&prod, "prod-deploys");
    fake.add_user_group("oncall", "S0ONCALL");
    fake.add_member(&channel(), &user());

    let posted = client
        .post_to("#prod-deploys", None, &deploy_message("queued"))
        .await
        .expect("posted by name");
    assert_eq!(posted.channel, prod, "Slack answers the channel's id");
    client
        .update_message(&posted.channel, &posted.ts, &deploy_message("done"))
        .await
        .expect("edited by id");
    let reply = client
        .post_to(prod.as_str(), Some(&posted.ts), &Message::text("under it"))
        .await
        .expect("a thread reply");
    let replies = fake.messages(&prod);
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[1].ts, reply.ts);
    assert_eq!(replies[1].thread_ts.as_deref(), Some(posted.ts.as_str()));
    assert_eq!(
        client.post_to("#nowhere", None, &Message::text("x")).await,
        Err(SlackError::Api("channel_not_found".into()))
    );
    fake.remove_bot(&prod);
    assert_eq!(
        client
            .post_to("#prod-deploys", None, &Message::text("x"))
            .await,
        Err(SlackError::Api("not_in_channel".into()))
    );

    let dm = client
        .post_to(user().as_str(), None, &Message::text("yours failed"))
        .await
        .expect("a direct message");
    assert_eq!(dm.channel, FakeSlack::direct_channel(&user()));

    assert_eq!(
        client.user_group("oncall").await,
        Ok(Some("S0ONCALL".to_owned()))
    );
    assert_eq!(client.user_group("ghosts").await, Ok(None));
    assert_eq!(client.user_channels(&user()).await, Ok(vec![channel()]));
    let view = json!({"type": "home", "blocks": []});
    client
        .publish_home(&user(), &view)
        .await
        .expect("published");
    assert_eq!(fake.homes(&user()), vec![view]);
    for m in [
        method::USERGROUPS_LIST,
        method::USERS_CONVERSATIONS,
        method::VIEWS_PUBLISH,
    ] {
        assert!(fake.calls().iter().any(|c| c == m), "{m}");
    }
}
