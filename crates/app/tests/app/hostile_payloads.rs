//! Properties of the webhook and Slack payload parsers, through the router with correct
//! signatures (so every body reaches the parsers): arbitrary bytes, arbitrary JSON and real
//! fixtures with fields replaced by arbitrary JSON or removed never panic and never get a
//! 5xx or a 401 — a malformed body is a 400 with a short reason, anything else is handled or
//! acknowledged (docs/security.md, "Hostile requests": nothing a caller sends reaches a 500).
//! The fuzz targets in `fuzz/` explore the same entry points for longer.

use crate::hostile_support;
use crate::hostile_support::{CHANNEL, Harness, NOW_SECS, PIPELINE, SHA, TEAM, USER};
use axum::http::StatusCode;
use deploybot_app::render::{ACTION_CLAIM_LOGIN, ACTION_PROMOTE, ACTION_RETRY};
use deploybot_testkit::fixtures::fixture_json;
use deploybot_testkit::signing::{
    SignedRequest, circleci_request_bytes, github_request_bytes, slack_request,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Arbitrary JSON, with leaves that look like what the payloads hold (SHAs, refs, ids).
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        "\\PC{0,40}".prop_map(Value::from),
        "[0-9a-f]{40}".prop_map(Value::from),
        "refs/(heads|tags)/[a-z0-9./_-]{0,20}".prop_map(Value::from),
        "(opened|closed|synchronize|reopened|completed|created|success|failure|error|pending)"
            .prop_map(Value::from),
        "[A-Z][A-Z0-9]{2,10}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every JSON pointer inside `value` (objects, arrays and leaves; not the root).
fn pointers(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                let path = format!("{at}/{escaped}");
                out.push(path.clone());
                pointers(child, &path, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let path = format!("{at}/{i}");
                out.push(path.clone());
                pointers(child, &path, out);
            }
        }
        _ => {}
    }
}

/// One change to a document: replace the value at the `pick`-th pointer, or remove it.
#[derive(Debug, Clone)]
struct Mutation {
    pick: usize,
    replacement: Option<Value>,
}

fn any_mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(
        (any::<usize>(), prop::option::weighted(0.8, any_json()))
            .prop_map(|(pick, replacement)| Mutation { pick, replacement }),
        1..4,
    )
}

fn mutate(mut doc: Value, mutations: &[Mutation]) -> Value {
    for m in mutations {
        let mut all = Vec::new();
        pointers(&doc, "", &mut all);
        if all.is_empty() {
            break;
        }
        let path = &all[m.pick % all.len()];
        match &m.replacement {
            Some(value) => {
                if let Some(slot) = doc.pointer_mut(path) {
                    *slot = value.clone();
                }
            }
            None => {
                let (parent, last) = path.rsplit_once('/').unwrap_or(("", path));
                let key = last.replace("~1", "/").replace("~0", "~");
                match doc.pointer_mut(parent) {
                    Some(Value::Object(map)) => {
                        map.remove(&key);
                    }
                    Some(Value::Array(items)) => {
                        if let Ok(i) = key.parse::<usize>()
                            && i < items.len()
                        {
                            items.remove(i);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    doc
}

/// Sends one correctly signed request to a fresh harness; the status and body text.
fn answer(path: &str, request: SignedRequest) -> (StatusCode, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let h = Harness::new().await;
        let answer = h.send(path, request).await;
        (answer.status, answer.raw)
    })
}

/// The property every endpoint keeps for a correctly signed body.
fn check(path: &str, request: SignedRequest) -> Result<(), TestCaseError> {
    let (status, body) = answer(path, request);
    prop_assert!(
        !status.is_server_error(),
        "{path}: {status} {}",
        body.chars().take(300).collect::<String>()
    );
    prop_assert_ne!(
        status,
        StatusCode::UNAUTHORIZED,
        "{}: signed correctly",
        path
    );
    if status == StatusCode::BAD_REQUEST {
        prop_assert!(body.starts_with("bad request: "), "{path}: {body}");
        prop_assert!(
            body.len() < 2_000,
            "{path}: a short reason, not {} bytes",
            body.len()
        );
    }
    Ok(())
}

fn github(event: &str, body: Vec<u8>) -> SignedRequest {
    github_request_bytes(
        &deploybot_core::signature::SigningSecret::new(hostile_support::GITHUB_SECRET),
        event,
        "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        body,
    )
}

fn circleci(body: Vec<u8>) -> SignedRequest {
    circleci_request_bytes(
        &deploybot_core::signature::SigningSecret::new(hostile_support::CIRCLECI_SECRET),
        "workflow-completed",
        body,
    )
}

fn slack(content_type: &str, body: Vec<u8>) -> SignedRequest {
    slack_request(
        &deploybot_core::signature::SigningSecret::new(hostile_support::SLACK_SECRET),
        NOW_SECS,
        content_type,
        body,
    )
}

const GITHUB_FIXTURES: [(&str, &str); 9] = [
    ("push", "github/push.json"),
    ("push", "github/push.tag.json"),
    ("pull_request", "github/pull_request.opened.json"),
    ("pull_request", "github/pull_request.closed.json"),
    ("status", "github/status.json"),
    ("check_suite", "github/check_suite.completed.json"),
    ("check_run", "github/check_run.completed.json"),
    ("deployment", "github/deployment.json"),
    ("deployment_status", "github/deployment_status.json"),
];

fn circleci_fixture(which: usize) -> Value {
    let mut v = match which % 3 {
        0 => fixture_json("circleci/workflow-completed.json"),
        1 => fixture_json("circleci/job-completed.json"),
        _ => fixture_json("circleci/legacy-notify.json"),
    }
    .expect("fixture");
    if v.get("pipeline").is_some() {
        // The stored, queued deployment's pipeline: the handler goes all the way.
        v["pipeline"]["id"] = json!(PIPELINE);
        v["pipeline"]["vcs"]["revision"] = json!(SHA);
    }
    v
}

fn slack_event(which: usize) -> Value {
    let event = match which % 4 {
        0 => json!({"type": "member_joined_channel", "user": USER, "channel": CHANNEL}),
        1 => {
            json!({"type": "channel_rename", "channel": {"id": CHANNEL, "name": "web-2", "created": 1}})
        }
        2 => json!({"type": "tokens_revoked", "tokens": {"bot": ["U0BOT"]}}),
        _ => json!({"type": "app_uninstalled"}),
    };
    json!({"type": "event_callback", "team_id": TEAM, "event_id": "Ev0PROP", "event_time": NOW_SECS, "event": event})
}

fn slack_press(which: usize) -> Value {
    // The stored deployment (see the harness), so promote and retry look it up for real.
    let stored =
        deploybot_core::DeploymentId::new(deploybot_core::Timestamp::from_secs(NOW_SECS - 600), 7)
            .to_string();
    let (action, value) = match which % 3 {
        0 => (ACTION_CLAIM_LOGIN, "grace-h".to_owned()),
        1 => (ACTION_PROMOTE, stored.clone()),
        _ => (ACTION_RETRY, stored),
    };
    json!({
        "type": "block_actions",
        "user": {"id": USER, "name": "alice"},
        "trigger_id": "trigger-prop",
        "channel": {"id": CHANNEL, "name": "web"},
        "response_url": "https://hooks.slack.invalid/actions/1",
        "actions": [{"action_id": action, "value": value}]
    })
}

fn interactive_form(payload: &Value) -> Vec<u8> {
    serde_urlencoded::to_string([("payload", payload.to_string())])
        .expect("form")
        .into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn github_webhook_survives_mutated_payloads(which in 0..GITHUB_FIXTURES.len(), mutations in any_mutations()) {
        let (event, path) = GITHUB_FIXTURES[which];
        let doc = mutate(fixture_json(path).expect("fixture"), &mutations);
        check("/github/webhook", github(event, doc.to_string().into_bytes()))?;
    }

    #[test]
    fn github_webhook_survives_arbitrary_json(which in 0..GITHUB_FIXTURES.len(), doc in any_json()) {
        check("/github/webhook", github(GITHUB_FIXTURES[which].0, doc.to_string().into_bytes()))?;
    }

    #[test]
    fn circleci_webhook_survives_mutated_payloads(which in 0usize..3, mutations in any_mutations()) {
        let doc = mutate(circleci_fixture(which), &mutations);
        let body = doc.to_string().into_bytes();
        if which % 3 == 2 {
            // The legacy payload: unsigned, with the shared token.
            let request = SignedRequest {
                body,
                headers: vec![("content-type".into(), "application/json".into())],
            };
            check(&format!("/circleci/webhook?token={}", hostile_support::NOTIFY_TOKEN), request)?;
        } else {
            check("/circleci/webhook", circleci(body))?;
        }
    }

    #[test]
    fn slack_event_survives_mutated_payloads(which in 0usize..4, mutations in any_mutations()) {
        let doc = mutate(slack_event(which), &mutations);
        check("/slack/event", slack("application/json", doc.to_string().into_bytes()))?;
    }

    #[test]
    fn slack_interactive_survives_mutated_payloads(which in 0usize..3, mutations in any_mutations()) {
        let doc = mutate(slack_press(which), &mutations);
        check("/slack/interactive", slack("application/x-www-form-urlencoded", interactive_form(&doc)))?;
    }

    #[test]
    fn slack_command_survives_arbitrary_form_fields(
        fields in prop::collection::vec(
            ("(command|text|channel_id|user_id|team_id|channel_name|response_url|[a-z_]{1,8})", "\\PC{0,60}"),
            0..8,
        ),
    ) {
        let body = serde_urlencoded::to_string(&fields).expect("form").into_bytes();
        check("/slack/command", slack("application/x-www-form-urlencoded", body))?;
    }

    #[test]
    fn every_endpoint_survives_arbitrary_bytes(
        endpoint in 0usize..5,
        body in prop::collection::vec(any::<u8>(), 0..2_000),
    ) {
        let (path, request) = match endpoint {
            0 => ("/slack/command", slack("application/x-www-form-urlencoded", body)),
            1 => ("/slack/interactive", slack("application/x-www-form-urlencoded", body)),
            2 => ("/slack/event", slack("application/json", body)),
            3 => ("/github/webhook", github("push", body)),
            _ => ("/circleci/webhook", circleci(body)),
        };
        check(path, request)?;
    }
}
