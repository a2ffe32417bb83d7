//! Hostile requests against every HTTP endpoint (docs/security.md, "Hostile requests"), as one
//! table: no signature, wrong signature, replayed old and future timestamps, replayed deliveries,
//! bodies over the size limit, invalid UTF-8, JSON of the wrong shape, forms with missing fields,
//! unknown commands and events, 10 000-character input and `owner/repo` forms that are not
//! repositories. Each row names the answer it must get (400, 401, 413, "acknowledged and ignored",
//! or a friendly ephemeral Slack reply), never a 5xx; and for every row the store is unchanged (no
//! write method called and the same snapshot before and after), nothing was invoked and no outside
//! service was called.

use crate::hostile_support::{
    CHANNEL, Harness, LINKED_USER, MAX_BODY, NOTIFY_TOKEN, NOW_SECS, PIPELINE, SHA, TEAM,
    UNBOUND_CHANNEL, USER,
};
use axum::http::StatusCode;
use deploybot_app::config::GITHUB_MAX_PAYLOAD_BYTES;
use deploybot_core::signature::{SigningSecret, sign_slack};
use deploybot_testkit::fixtures::fixture_json;
use deploybot_testkit::signing::{
    SignedRequest, circleci_request_bytes, github_request_bytes, slack_request,
};
use serde_json::{Value, json};

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// What a row must be answered with.
#[derive(Debug, Clone)]
enum Expect {
    /// Exactly this status (400, 401 or 413).
    Status(StatusCode),
    /// Acknowledged (200) and nothing done.
    Ignored,
    /// HTTP 200 with an ephemeral reply whose text holds every needle.
    Friendly(Vec<&'static str>),
}

struct Case {
    endpoint: &'static str,
    /// The URI sent to: the endpoint, with a query string for the legacy CircleCI token.
    path: String,
    what: String,
    /// Sent (and settled) before the snapshot: what a replay repeats.
    seed: Option<SignedRequest>,
    request: SignedRequest,
    expect: Expect,
}

fn case(
    endpoint: &'static str,
    what: impl Into<String>,
    request: SignedRequest,
    expect: Expect,
) -> Case {
    Case {
        endpoint,
        path: endpoint.to_owned(),
        what: what.into(),
        seed: None,
        request,
        expect,
    }
}

fn replay(endpoint: &'static str, what: &str, request: SignedRequest) -> Case {
    Case {
        endpoint,
        path: endpoint.to_owned(),
        what: what.into(),
        seed: Some(request.clone()),
        request,
        expect: Expect::Ignored,
    }
}

const UNAUTHORIZED: Expect = Expect::Status(StatusCode::UNAUTHORIZED);
const BAD_REQUEST: Expect = Expect::Status(StatusCode::BAD_REQUEST);
const TOO_LARGE: Expect = Expect::Status(StatusCode::PAYLOAD_TOO_LARGE);

fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    serde_urlencoded::to_string(fields)
        .expect("form encodes")
        .into_bytes()
}

/// A signed slash command body from [`USER`] in `channel`.
fn slash_body(channel: &str, text: &str) -> Vec<u8> {
    form(&[
        ("token", "deprecated"),
        ("team_id", TEAM),
        ("channel_id", channel),
        ("channel_name", "new"),
        ("user_id", USER),
        ("user_name", "alice"),
        ("command", "/cimon"),
        ("text", text),
        (
            "response_url",
            "https://hooks.slack.invalid/commands/T0ACME/1/abc",
        ),
        ("trigger_id", "1.2.3"),
    ])
}

fn press_payload(action_id: &str, value: &str) -> Value {
    json!({
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": USER, "username": "alice", "name": "alice"},
        "trigger_id": "trigger-1",
        "channel": {"id": CHANNEL, "name": "web"},
        "response_url": "https://hooks.slack.invalid/actions/T0ACME/1/abc",
        "actions": [{"action_id": action_id, "value": value, "type": "button"}]
    })
}

fn interactive_body(payload: &Value) -> Vec<u8> {
    form(&[("payload", &payload.to_string())])
}

fn joined_event(event_id: &str) -> Value {
    json!({
        "type": "event_callback",
        "team_id": TEAM,
        "event_id": event_id,
        "event_time": NOW_SECS,
        "event": {"type": "member_joined_channel", "user": USER, "channel": CHANNEL, "channel_type": "C", "team": TEAM}
    })
}

/// Grows a form or JSON body with filler until it is `size` bytes; it stays a valid body of
/// its kind.
fn padded(body: &[u8], content_type: &str, size: usize) -> Vec<u8> {
    let mut out = body.to_vec();
    if content_type == FORM {
        out.extend_from_slice(b"&pad=");
    }
    let filler = if content_type == FORM { b'x' } else { b' ' };
    out.resize(size.max(out.len()), filler);
    out
}

/// The rows every Slack endpoint shares, around a body that would have an effect if it were
/// accepted.
fn slack_rows(h: &Harness, endpoint: &'static str, content_type: &str, good: &[u8]) -> Vec<Case> {
    let secret = &h.slack_secret;
    let signed_at = |ts: i64| slack_request(secret, ts, content_type, good.to_vec());
    let mut unsigned = signed_at(NOW_SECS);
    unsigned
        .headers
        .retain(|(name, _)| !name.starts_with("x-slack-"));
    let mut no_timestamp = signed_at(NOW_SECS);
    no_timestamp
        .headers
        .retain(|(name, _)| name != "x-slack-request-timestamp");
    let mut tampered = signed_at(NOW_SECS);
    tampered.body.extend_from_slice(b" ");
    vec![
        case(endpoint, "no signature", unsigned, UNAUTHORIZED),
        case(
            endpoint,
            "signature without a timestamp",
            no_timestamp,
            UNAUTHORIZED,
        ),
        case(
            endpoint,
            "signed with the wrong secret",
            slack_request(&h.wrong_secret, NOW_SECS, content_type, good.to_vec()),
            UNAUTHORIZED,
        ),
        case(
            endpoint,
            "signature of another body",
            tampered,
            UNAUTHORIZED,
        ),
        case(
            endpoint,
            "malformed signature",
            signed_at(NOW_SECS).with_header("x-slack-signature", "v0=not-hex"),
            UNAUTHORIZED,
        ),
        case(
            endpoint,
            "signature with another scheme",
            signed_at(NOW_SECS).with_header(
                "x-slack-signature",
                sign_slack(secret, NOW_SECS, good).replace("v0=", "v1="),
            ),
            UNAUTHORIZED,
        ),
        case(
            endpoint,
            "timestamp that is not a number",
            signed_at(NOW_SECS).with_header("x-slack-request-timestamp", "yesterday"),
            UNAUTHORIZED,
        ),
        case(
            endpoint,
            "replayed: signed an hour ago",
            signed_at(NOW_SECS - 3600),
            UNAUTHORIZED,
        ),
        case(
            endpoint,
            "replayed: signed 5 minutes and 1 second ago",
            signed_at(NOW_SECS - 301),
            UNAUTHORIZED,
        ),
        case(
            endpoint,
            "future timestamp: 5 minutes and 1 second ahead",
            signed_at(NOW_SECS + 301),
            UNAUTHORIZED,
        ),
        case(
            endpoint,
            "future timestamp: a year ahead",
            signed_at(NOW_SECS + 365 * 86_400),
            UNAUTHORIZED,
        ),
        case(
            endpoint,
            "correctly signed body one byte over the limit",
            slack_request(
                secret,
                NOW_SECS,
                content_type,
                padded(good, content_type, MAX_BODY + 1),
            ),
            TOO_LARGE,
        ),
        case(
            endpoint,
            "3 MB body",
            slack_request(
                secret,
                NOW_SECS,
                content_type,
                padded(good, content_type, 3 * 1024 * 1024),
            ),
            TOO_LARGE,
        ),
    ]
}

fn slash_command_rows(h: &Harness) -> Vec<Case> {
    const EP: &str = "/slack/command";
    // Accepted, this would bind the unbound channel.
    let good = slash_body(UNBOUND_CHANNEL, "setup acme/api");
    let mut rows = slack_rows(h, EP, FORM, &good);
    let signed = |body: Vec<u8>, content_type: &str| {
        slack_request(&h.slack_secret, NOW_SECS, content_type, body)
    };
    let slash = |text: &str| signed(slash_body(UNBOUND_CHANNEL, text), FORM);
    let mut raw_utf8 =
        b"command=%2Fcimon&channel_id=C0NEW&user_id=U0ALICE&team_id=T0ACME&text=setup+".to_vec();
    raw_utf8.extend_from_slice(b"\xff\xfe/web");
    let mut bad_channel =
        b"command=%2Fcimon&user_id=U0ALICE&text=setup+acme%2Fapi&channel_id=C0".to_vec();
    bad_channel.extend_from_slice(b"\xc3\x28");
    rows.extend([
        case(
            EP,
            "invalid UTF-8 in the text",
            signed(raw_utf8, FORM),
            Expect::Friendly(vec!["is not a repository", "owner/name"]),
        ),
        case(
            EP,
            "percent-encoded invalid UTF-8 in the text",
            signed(
                b"command=%2Fcimon&channel_id=C0NEW&user_id=U0ALICE&text=%FF%FE".to_vec(),
                FORM,
            ),
            Expect::Friendly(vec!["I don't know the command", "/cimon help"]),
        ),
        case(EP, "invalid UTF-8 in channel_id", signed(bad_channel, FORM), BAD_REQUEST),
        case(
            EP,
            "JSON instead of a form",
            signed(
                json!({"command": "/cimon", "text": "setup acme/api", "channel_id": UNBOUND_CHANNEL, "user_id": USER})
                    .to_string()
                    .into_bytes(),
                JSON,
            ),
            BAD_REQUEST,
        ),
        case(EP, "empty body", signed(Vec::new(), FORM), BAD_REQUEST),
        case(
            EP,
            "form without command and channel_id",
            signed(form(&[("text", "setup acme/api"), ("user_id", USER)]), FORM),
            BAD_REQUEST,
        ),
        case(
            EP,
            "form without user_id",
            signed(
                form(&[("command", "/cimon"), ("channel_id", UNBOUND_CHANNEL), ("text", "reset")]),
                FORM,
            ),
            BAD_REQUEST,
        ),
        case(
            EP,
            "user_id that is not a Slack id",
            signed(
                form(&[("command", "/cimon"), ("channel_id", UNBOUND_CHANNEL), ("user_id", "'; drop table"), ("text", "setup acme/api")]),
                FORM,
            ),
            BAD_REQUEST,
        ),
        case(
            EP,
            "unknown command",
            slash("frobnicate acme/api"),
            Expect::Friendly(vec!["`frobnicate`", "/cimon help"]),
        ),
        case(
            EP,
            "10 000-character command text",
            slash(&format!("setup {}", "a".repeat(9_994))),
            Expect::Friendly(vec!["too long", "at most 1000"]),
        ),
        case(
            EP,
            "10 000 characters of one unknown word",
            slash(&"x".repeat(10_000)),
            Expect::Friendly(vec!["too long"]),
        ),
        case(
            EP,
            "10 000 multi-byte characters",
            slash(&"é".repeat(10_000)),
            Expect::Friendly(vec!["too long"]),
        ),
    ]);
    for not_a_repository in [
        "acme",
        "acme/",
        "/api",
        "acme/api/extra",
        "acme//api",
        "../../etc/passwd",
        "acme/..",
        "-acme/api",
        "acme-/api",
        "ac_me/api",
        "acme/a;pi",
        "acme/api%2F..",
        "https://gitlab.com/acme/api",
        "git@github.com:acme/api",
        "<https://github.com/acme/api|acme/api>x",
        "ácme/api",
        "acme/ápi",
        "acme/api\u{0000}",
    ] {
        rows.push(case(
            EP,
            format!("setup {not_a_repository:?}"),
            slash(&format!("setup {not_a_repository}")),
            Expect::Friendly(vec!["owner/name"]),
        ));
    }
    let long_owner = format!("setup {}/api", "a".repeat(40));
    let long_name = format!("setup acme/{}", "a".repeat(101));
    rows.push(case(
        EP,
        "setup with a 40-character owner",
        slash(&long_owner),
        Expect::Friendly(vec!["owner/name"]),
    ));
    rows.push(case(
        EP,
        "setup with a 101-character name",
        slash(&long_name),
        Expect::Friendly(vec!["owner/name"]),
    ));
    rows.push(case(
        EP,
        "setup with two repositories",
        slash("setup acme/api acme/web"),
        Expect::Friendly(vec!["one repository"]),
    ));
    rows.push(case(
        EP,
        "setup with nothing",
        slash("setup"),
        Expect::Friendly(vec!["which GitHub repository"]),
    ));
    rows
}

fn interactive_rows(h: &Harness) -> Vec<Case> {
    const EP: &str = "/slack/interactive";
    // Accepted, this would link USER to `grace-h`.
    let good = interactive_body(&press_payload("claim_login", "grace-h"));
    let mut rows = slack_rows(h, EP, FORM, &good);
    let signed = |body: Vec<u8>, content_type: &str| {
        slack_request(&h.slack_secret, NOW_SECS, content_type, body)
    };
    let with_payload = |payload: &str| signed(form(&[("payload", payload)]), FORM);
    let mut no_user = press_payload("claim_login", "grace-h");
    no_user.as_object_mut().expect("object").remove("user");
    let mut bad_user = press_payload("claim_login", "grace-h");
    bad_user["user"]["id"] = json!("not a user");
    let mut raw_utf8 = b"payload=".to_vec();
    raw_utf8.extend_from_slice(b"\xff\xfe{\"type\":\"block_actions\"}");
    rows.extend([
        case(EP, "invalid UTF-8", signed(raw_utf8, FORM), BAD_REQUEST),
        case(
            EP,
            "payload that is not JSON",
            with_payload("not json"),
            BAD_REQUEST,
        ),
        case(
            EP,
            "payload of the wrong shape: a list",
            with_payload("[1,2,3]"),
            BAD_REQUEST,
        ),
        case(
            EP,
            "payload of the wrong shape: type is a number",
            with_payload(r#"{"type":5}"#),
            BAD_REQUEST,
        ),
        case(
            EP,
            "payload of the wrong shape: actions is a string",
            with_payload(r#"{"type":"block_actions","actions":"claim"}"#),
            BAD_REQUEST,
        ),
        case(
            EP,
            "JSON body instead of a form",
            signed(
                press_payload("claim_login", "grace-h")
                    .to_string()
                    .into_bytes(),
                JSON,
            ),
            BAD_REQUEST,
        ),
        case(
            EP,
            "form without payload",
            signed(form(&[("token", "x")]), FORM),
            BAD_REQUEST,
        ),
        case(
            EP,
            "button press without a user",
            with_payload(&no_user.to_string()),
            BAD_REQUEST,
        ),
        case(
            EP,
            "button press with a bad user id",
            with_payload(&bad_user.to_string()),
            BAD_REQUEST,
        ),
        case(
            EP,
            "unknown action",
            signed(
                interactive_body(&press_payload("frobnicate", "grace-h")),
                FORM,
            ),
            Expect::Ignored,
        ),
        case(
            EP,
            "10 000-character action id",
            signed(
                interactive_body(&press_payload(&"x".repeat(10_000), "v")),
                FORM,
            ),
            Expect::Ignored,
        ),
        case(
            EP,
            "unknown interaction type",
            with_payload(r#"{"type":"view_submission","user":{"id":"U0ALICE"}}"#),
            Expect::Ignored,
        ),
    ]);
    rows
}

fn event_rows(h: &Harness) -> Vec<Case> {
    const EP: &str = "/slack/event";
    // Accepted, this would record the event and invite USER to `hello`.
    let good = joined_event("Ev0001").to_string().into_bytes();
    let mut rows = slack_rows(h, EP, JSON, &good);
    let signed = |body: Vec<u8>, content_type: &str| {
        slack_request(&h.slack_secret, NOW_SECS, content_type, body)
    };
    let with_json = |value: &Value| signed(value.to_string().into_bytes(), JSON);
    let mut raw_utf8 = br#"{"type":"event_callback","event_id":"Ev1","event":{"type":"member_joined_channel","user":""#.to_vec();
    raw_utf8.extend_from_slice(b"\xff\xfe\",\"channel\":\"C0WEB\"}}");
    let mut no_user = joined_event("Ev0002");
    no_user["event"]
        .as_object_mut()
        .expect("object")
        .remove("user");
    let mut retried = signed(good.clone(), JSON);
    retried = retried
        .with_header("x-slack-retry-num", "1")
        .with_header("x-slack-retry-reason", "http_timeout");
    rows.extend([
        replay(EP, "replayed event id (a Slack retry)", retried),
        case(EP, "invalid UTF-8", signed(raw_utf8, JSON), BAD_REQUEST),
        case(EP, "not JSON", signed(b"{\"type\":".to_vec(), JSON), BAD_REQUEST),
        case(EP, "JSON of the wrong shape: a list", with_json(&json!([1, 2])), BAD_REQUEST),
        case(EP, "JSON of the wrong shape: type is a number", with_json(&json!({"type": 7})), BAD_REQUEST),
        case(
            EP,
            "event_callback without event_id and event",
            with_json(&json!({"type": "event_callback"})),
            BAD_REQUEST,
        ),
        case(EP, "member_joined_channel without user", with_json(&no_user), BAD_REQUEST),
        case(
            EP,
            "uninstall without team_id",
            with_json(&json!({"type": "event_callback", "event_id": "Ev0003", "event": {"type": "app_uninstalled"}})),
            BAD_REQUEST,
        ),
        case(
            EP,
            "form body instead of JSON",
            signed(form(&[("type", "url_verification"), ("challenge", "x")]), FORM),
            BAD_REQUEST,
        ),
        case(
            EP,
            "unknown inner event",
            with_json(&json!({"type": "event_callback", "event_id": "Ev0004", "team_id": TEAM, "event": {"type": "reaction_added", "user": USER}})),
            Expect::Ignored,
        ),
        case(
            EP,
            "unknown envelope type",
            with_json(&json!({"type": "app_rate_limited", "minute_rate_limited": 1})),
            Expect::Ignored,
        ),
        case(
            EP,
            "url_verification with a 10 000-character challenge",
            with_json(&json!({"type": "url_verification", "challenge": "c".repeat(10_000)})),
            Expect::Ignored,
        ),
    ]);
    rows
}

fn push_to_main() -> Value {
    let mut push = fixture_json("github/push.json").expect("push fixture");
    push["ref"] = json!("refs/heads/main");
    push
}

fn github_rows(h: &Harness) -> Vec<Case> {
    const EP: &str = "/github/webhook";
    let secret = &h.github_secret;
    let body = |value: &Value| value.to_string().into_bytes();
    let delivery =
        |event: &str, id: &str, bytes: Vec<u8>| github_request_bytes(secret, event, id, bytes);
    // Accepted, this would record the delivery and start a preview deployment.
    let good_body = body(&push_to_main());
    let good = delivery("push", "d-0001", good_body.clone());
    let mut unsigned = good.clone();
    unsigned
        .headers
        .retain(|(name, _)| name != "x-hub-signature-256");
    let mut tampered = good.clone();
    tampered.body.extend_from_slice(b" ");
    let mut no_event = good.clone();
    no_event
        .headers
        .retain(|(name, _)| name != "x-github-event");
    let mut no_delivery = good.clone();
    no_delivery
        .headers
        .retain(|(name, _)| name != "x-github-delivery");
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut v = push_to_main();
        edit(&mut v);
        delivery("push", "d-0002", body(&v))
    };
    let mut raw_utf8 = br#"{"ref":"refs/heads/main","after":""#.to_vec();
    raw_utf8.extend_from_slice(b"\xff\xfe\"}");
    let mut pull_request = push_to_main();
    pull_request["action"] = json!("opened");
    vec![
        case(EP, "no signature", unsigned, UNAUTHORIZED),
        case(
            EP,
            "signed with the wrong secret",
            github_request_bytes(&h.wrong_secret, "push", "d-0001", good_body.clone()),
            UNAUTHORIZED,
        ),
        case(EP, "signature of another body", tampered, UNAUTHORIZED),
        case(
            EP,
            "signature with another scheme",
            good.clone().with_header(
                "x-hub-signature-256",
                good.header("x-hub-signature-256")
                    .unwrap_or_default()
                    .replace("sha256=", "sha1="),
            ),
            UNAUTHORIZED,
        ),
        case(
            EP,
            "truncated signature",
            good.clone()
                .with_header("x-hub-signature-256", "sha256=0123"),
            UNAUTHORIZED,
        ),
        replay(
            EP,
            "replayed delivery (same X-GitHub-Delivery)",
            good.clone(),
        ),
        // GitHub's route takes GitHub's own maximum (the 3 MB push it accepts is in
        // `the_github_route_takes_githubs_largest_payloads`).
        case(
            EP,
            "correctly signed body one byte over GitHub's maximum",
            delivery(
                "push",
                "d-0003",
                padded(&good_body, JSON, GITHUB_MAX_PAYLOAD_BYTES + 1),
            ),
            TOO_LARGE,
        ),
        case(
            EP,
            "invalid UTF-8",
            delivery("push", "d-0005", raw_utf8),
            BAD_REQUEST,
        ),
        case(
            EP,
            "not JSON",
            delivery("push", "d-0006", b"ref=main".to_vec()),
            BAD_REQUEST,
        ),
        case(
            EP,
            "a raw control character in a key (not JSON; keys are read as bytes)",
            delivery(
                "push",
                "d-0010",
                String::from_utf8(good_body.clone())
                    .expect("text")
                    .replacen("\"private\"", "\"pri\tvate\"", 1)
                    .into_bytes(),
            ),
            BAD_REQUEST,
        ),
        case(
            EP,
            "JSON of the wrong shape: a list",
            delivery("push", "d-0007", b"[]".to_vec()),
            BAD_REQUEST,
        ),
        case(
            EP,
            "JSON of the wrong shape: ref is a number",
            with(&|v| v["ref"] = json!(5)),
            BAD_REQUEST,
        ),
        case(
            EP,
            "JSON of the wrong shape: no repository",
            with(&|v| {
                v.as_object_mut().expect("object").remove("repository");
            }),
            BAD_REQUEST,
        ),
        case(
            EP,
            "a push body sent as pull_request",
            delivery("pull_request", "d-0008", body(&pull_request)),
            BAD_REQUEST,
        ),
        case(EP, "no X-GitHub-Event", no_event, BAD_REQUEST),
        case(EP, "no X-GitHub-Delivery", no_delivery, BAD_REQUEST),
        case(
            EP,
            "a 10 000-character X-GitHub-Delivery",
            delivery("push", &"d".repeat(10_000), good_body.clone()),
            BAD_REQUEST,
        ),
        case(
            EP,
            "unknown event type",
            delivery("fork", "d-0009", good_body.clone()),
            Expect::Ignored,
        ),
        case(
            EP,
            "repository full_name that is not a repository",
            with(&|v| v["repository"]["full_name"] = json!("not a repository")),
            BAD_REQUEST,
        ),
        case(
            EP,
            "repository full_name with a path",
            with(&|v| v["repository"]["full_name"] = json!("../../etc/passwd")),
            BAD_REQUEST,
        ),
        case(
            EP,
            "repository nobody follows (another name and another id)",
            with(&|v| {
                v["repository"]["full_name"] = json!("acme/unknown");
                v["repository"]["id"] = json!(1);
            }),
            Expect::Ignored,
        ),
        case(
            EP,
            "a 10 000-character ref",
            with(&|v| v["ref"] = json!(format!("refs/heads/{}", "r".repeat(10_000)))),
            BAD_REQUEST,
        ),
        case(
            EP,
            "head commit that is not a SHA",
            with(&|v| v["head_commit"]["id"] = json!("HEAD~1")),
            BAD_REQUEST,
        ),
    ]
}

fn workflow_completed(event_id: &str, pipeline: &str) -> Value {
    let mut v = fixture_json("circleci/workflow-completed.json").expect("fixture");
    v["id"] = json!(event_id);
    v["pipeline"]["id"] = json!(pipeline);
    v["pipeline"]["vcs"]["revision"] = json!(SHA);
    v
}

fn circleci_rows(h: &Harness) -> Vec<Case> {
    const EP: &str = "/circleci/webhook";
    let secret = &h.circleci_secret;
    let signed = |bytes: Vec<u8>| circleci_request_bytes(secret, "workflow-completed", bytes);
    let body = |value: &Value| value.to_string().into_bytes();
    // Accepted, this would record the event and move the queued deployment to success.
    let good_body = body(&workflow_completed("e-0001", PIPELINE));
    let good = signed(good_body.clone());
    let mut unsigned = good.clone();
    unsigned
        .headers
        .retain(|(name, _)| name != "circleci-signature");
    let mut tampered = good.clone();
    tampered.body.extend_from_slice(b" ");
    let legacy = fixture_json("circleci/legacy-notify.json").expect("fixture");
    let mut legacy_bad_repo = legacy.clone();
    legacy_bad_repo["payload"]["reponame"] = json!("not a repo!");
    let mut raw_utf8 = br#"{"type":"workflow-completed","id":""#.to_vec();
    raw_utf8.extend_from_slice(b"\xff\xfe\"}");
    let mut rows = vec![
        case(EP, "no signature and no token", unsigned, UNAUTHORIZED),
        case(
            EP,
            "signed with the wrong secret",
            circleci_request_bytes(&h.wrong_secret, "workflow-completed", good_body.clone()),
            UNAUTHORIZED,
        ),
        case(EP, "signature of another body", tampered, UNAUTHORIZED),
        case(
            EP,
            "only a signature version deploybot does not know",
            good.clone()
                .with_header("circleci-signature", format!("v9={}", "0".repeat(64))),
            UNAUTHORIZED,
        ),
        case(
            EP,
            "malformed signature",
            good.clone().with_header("circleci-signature", "garbage"),
            UNAUTHORIZED,
        ),
        replay(EP, "replayed event id", good.clone()),
        case(
            EP,
            "correctly signed body one byte over the limit",
            signed(padded(&good_body, JSON, MAX_BODY + 1)),
            TOO_LARGE,
        ),
        case(
            EP,
            "3 MB body",
            signed(padded(&good_body, JSON, 3 * 1024 * 1024)),
            TOO_LARGE,
        ),
        case(EP, "invalid UTF-8", signed(raw_utf8), BAD_REQUEST),
        case(
            EP,
            "not JSON",
            signed(b"type=workflow-completed".to_vec()),
            BAD_REQUEST,
        ),
        case(
            EP,
            "JSON of the wrong shape: a list",
            signed(b"[]".to_vec()),
            BAD_REQUEST,
        ),
        case(
            EP,
            "JSON of the wrong shape: type is a number",
            signed(body(&json!({"type": 5}))),
            BAD_REQUEST,
        ),
        case(
            EP,
            "workflow-completed without workflow and pipeline",
            signed(body(&json!({"type": "workflow-completed", "id": "e-0002"}))),
            BAD_REQUEST,
        ),
        case(
            EP,
            "unknown webhook type",
            signed(body(
                &fixture_json("circleci/job-completed.json").expect("fixture"),
            )),
            Expect::Ignored,
        ),
        case(
            EP,
            "a pipeline deploybot did not start",
            signed(body(&workflow_completed(
                "e-0003",
                "00000000-0000-0000-0000-000000000000",
            ))),
            Expect::Ignored,
        ),
        case(
            EP,
            "a 10 000-character pipeline id",
            signed(body(&workflow_completed("e-0004", &"p".repeat(10_000)))),
            Expect::Ignored,
        ),
    ];
    // The legacy payload travels unsigned, with a token in the query string.
    for (what, token, payload, expect) in [
        (
            "legacy notify with the wrong token",
            "not-the-token",
            &legacy,
            UNAUTHORIZED,
        ),
        (
            "legacy notify with an empty token",
            "",
            &legacy,
            UNAUTHORIZED,
        ),
        (
            "legacy notify with a repository that is not one",
            NOTIFY_TOKEN,
            &legacy_bad_repo,
            BAD_REQUEST,
        ),
    ] {
        let request = SignedRequest {
            body: body(payload),
            headers: vec![("content-type".into(), JSON.into())],
        };
        rows.push(Case {
            path: format!("{EP}?token={token}"),
            ..case(EP, what, request, expect)
        });
    }
    rows
}

#[tokio::test]
async fn every_hostile_request_gets_a_4xx_or_a_friendly_reply_and_changes_nothing() {
    let rows = {
        let h = Harness::new().await;
        let mut rows = slash_command_rows(&h);
        rows.extend(interactive_rows(&h));
        rows.extend(event_rows(&h));
        rows.extend(github_rows(&h));
        rows.extend(circleci_rows(&h));
        rows
    };
    let mut failures = Vec::new();
    let mut per_endpoint = std::collections::BTreeMap::<&str, usize>::new();
    for row in rows {
        let h = Harness::new().await;
        if let Some(seed) = row.seed.clone() {
            let answer = h.send(&row.path, seed).await;
            assert!(
                answer.status.is_success(),
                "{} {}: the seed must be accepted: {} {}",
                row.endpoint,
                row.what,
                answer.status,
                answer.raw
            );
            h.settle().await;
        }
        let before = h.snapshot();
        let calls_before = h.outbound_calls();
        h.reset_counts();

        let answer = h.send(&row.path, row.request.clone()).await;
        h.settle().await;

        let label = format!("{} — {}", row.endpoint, row.what);
        let mut problems = Vec::new();
        if answer.status.is_server_error() {
            problems.push(format!("server error {}", answer.status));
        }
        match &row.expect {
            Expect::Status(want) if answer.status != *want => {
                problems.push(format!("status {} instead of {want}", answer.status));
            }
            Expect::Ignored if answer.status != StatusCode::OK => {
                problems.push(format!("status {} instead of 200", answer.status));
            }
            Expect::Friendly(needles) => {
                if answer.status != StatusCode::OK || answer.json["response_type"] != "ephemeral" {
                    problems.push(format!("not an ephemeral 200: {}", answer.status));
                }
                for needle in needles {
                    if !answer.text().contains(needle) {
                        problems.push(format!("reply lacks {needle:?}"));
                    }
                }
            }
            _ => {}
        }
        // A replay may ask for its idempotency key (and be refused); a payload that is only
        // found wrong after the key was taken gives it back (`claim_delivery` then
        // `forget_delivery`). Any other write is a failure, and the snapshot must not move.
        let written = h.writes();
        let count = |name: &str| {
            written
                .iter()
                .find(|(method, _)| *method == name)
                .map_or(0, |(_, n)| *n)
        };
        let key_given_back = count("claim_delivery") == count("forget_delivery");
        let writes: Vec<_> = written
            .iter()
            .filter(|(method, _)| match *method {
                "claim_delivery" => row.seed.is_none() && !key_given_back,
                "forget_delivery" => !key_given_back,
                _ => true,
            })
            .collect();
        if !writes.is_empty() {
            problems.push(format!("store writes {writes:?}"));
        }
        if h.snapshot() != before {
            problems.push("the store changed".into());
        }
        if h.invocations() != 0 {
            problems.push(format!("{} invocation(s)", h.invocations()));
        }
        if h.outbound_calls() != calls_before {
            problems.push("an outside service was called".into());
        }
        *per_endpoint.entry(row.endpoint).or_default() += 1;
        if !problems.is_empty() {
            failures.push(format!(
                "{label}: {} (answer {} {})",
                problems.join("; "),
                answer.status,
                answer.raw.chars().take(200).collect::<String>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "hostile rows that failed:\n{}",
        failures.join("\n")
    );
    // Every endpoint was attacked, each with a real table.
    for endpoint in [
        "/slack/command",
        "/slack/interactive",
        "/slack/event",
        "/github/webhook",
        "/circleci/webhook",
    ] {
        let n = per_endpoint.get(endpoint).copied().unwrap_or(0);
        assert!(n >= 15, "{endpoint}: only {n} hostile rows");
    }
}

/// The linked user runs `goodbye` with a bad signature, then a good one: the table above
/// shows refusals change nothing; this shows the same request does change the store once it
/// is signed, so "unchanged" above is not an accident of the harness.
#[tokio::test]
async fn the_harness_sees_writes_when_a_request_is_accepted() {
    let h = Harness::new().await;
    let body = form(&[
        ("command", "/cimon"),
        ("channel_id", CHANNEL),
        ("user_id", LINKED_USER),
        ("text", "goodbye"),
    ]);
    let forged = slack_request(&SigningSecret::new("forged"), NOW_SECS, FORM, body.clone());
    let before = h.snapshot();
    let refused = h.send("/slack/command", forged).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.snapshot(), before);
    let signed = slack_request(&h.slack_secret, NOW_SECS, FORM, body);
    let accepted = h.send("/slack/command", signed).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.raw);
    assert_ne!(h.snapshot(), before, "goodbye removed the link");
    assert_eq!(h.writes(), vec![("unlink_user", 1)]);
}

/// A push of `commits` commits as GitHub sends it, each with a long message: a real payload
/// grown to size (every byte is parsed, not skipped as trailing space).
fn push_with_commits(commits: usize) -> Vec<u8> {
    let mut push = push_to_main();
    let mut commit = push["commits"][0].clone();
    commit["message"] = json!("a long commit message ".repeat(460));
    push["commits"] = Value::Array(vec![commit; commits]);
    push.to_string().into_bytes()
}

/// GitHub sends payloads up to 25 MB: on its route a signed 3 MB push is handled like any
/// other (a preview deployment starts), one byte over GitHub's maximum is refused with 413
/// before anything is written, and the Slack and CircleCI routes keep their own, smaller limit.
#[tokio::test]
async fn the_github_route_takes_githubs_largest_payloads() {
    let h = Harness::new().await;
    let body = push_with_commits(300);
    assert!(
        body.len() > 3 * 1024 * 1024 && body.len() < 4 * 1024 * 1024,
        "a 3 MB push: {} bytes",
        body.len()
    );
    let accepted = h
        .send(
            "/github/webhook",
            github_request_bytes(&h.github_secret, "push", "d-big-1", body),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.raw);
    assert!(accepted.raw.contains("to preview"), "{}", accepted.raw);
    h.settle().await;
    assert!(h.invocations() > 0, "the deployment was handed on");

    let before = h.snapshot();
    h.reset_counts();
    let over = padded(&push_with_commits(1), JSON, GITHUB_MAX_PAYLOAD_BYTES + 1);
    let refused = h
        .send(
            "/github/webhook",
            github_request_bytes(&h.github_secret, "push", "d-big-2", over),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        refused.raw
    );
    assert_eq!(h.snapshot(), before);
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    assert_eq!(h.invocations(), 0);

    // The other routes keep their limit: a 3 MB body is still too large for them.
    let three_mb = 3 * 1024 * 1024;
    let slash = padded(&slash_body(CHANNEL, "list"), FORM, three_mb);
    let answer = h
        .send(
            "/slack/command",
            slack_request(&h.slack_secret, NOW_SECS, FORM, slash),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        answer.raw
    );
    let event = padded(
        joined_event("Ev-big").to_string().as_bytes(),
        JSON,
        MAX_BODY + 1,
    );
    let answer = h
        .send(
            "/slack/event",
            slack_request(&h.slack_secret, NOW_SECS, JSON, event),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        answer.raw
    );
    let completed = padded(
        workflow_completed("e-big", PIPELINE).to_string().as_bytes(),
        JSON,
        three_mb,
    );
    let answer = h
        .send(
            "/circleci/webhook",
            circleci_request_bytes(&h.circleci_secret, "workflow-completed", completed),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        answer.raw
    );
    assert_eq!(h.snapshot(), before);
}
