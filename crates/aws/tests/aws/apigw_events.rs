//! Recorded API Gateway HTTP API v2 events (`tests/fixtures/apigw/*.json`, payload format
//! 2.0, form bodies base64-encoded as API Gateway sends them) pushed through each HTTP
//! function's Lambda entry (`bootstrap::http_entry`, what `bootstrap::run_http` runs) give the
//! same answer as the same request through the router directly, and signatures verify over
//! the decoded body.
//!
//! The fixtures are signed with the secrets below at [`SIGNED_AT`]; the handlers' clock is
//! fixed 30 seconds later.

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use deploybot_app::wiring::{Functions, Parts};
use deploybot_app::{AppConfig, http};
use deploybot_aws::bootstrap::http_entry;
use deploybot_core::Timestamp;
use deploybot_core::invoke::FunctionName;
use deploybot_core::ports::Clock;
use deploybot_core::signature::SigningSecret;
use deploybot_testkit::MemoryStore;
use http_body_util::BodyExt;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::request::LambdaRequest;
use lambda_http::{Context, LambdaEvent};
use serde_json::Value;
use std::sync::Arc;
use tower::{Service, ServiceExt};

const SIGNED_AT: i64 = 1_700_000_000;
const SLACK_SIGNING_SECRET: &str = "apigw-test-slack-signing-secret";
const GITHUB_WEBHOOK_SECRET: &str = "apigw-test-github-webhook-secret";
const CIRCLECI_WEBHOOK_SECRET: &str = "apigw-test-circleci-webhook-secret";

#[derive(Debug)]
struct FixedClock(Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// Fresh functions (empty store) per request, so that both paths start from the same place.
fn functions() -> Functions {
    let config = AppConfig {
        slack_signing_secret: Some(SigningSecret::new(SLACK_SIGNING_SECRET)),
        github_webhook_secret: Some(SigningSecret::new(GITHUB_WEBHOOK_SECRET)),
        circleci_webhook_secret: Some(SigningSecret::new(CIRCLECI_WEBHOOK_SECRET)),
        ..AppConfig::default()
    };
    let parts = Parts::new(
        Arc::new(FixedClock(Timestamp::from_secs(SIGNED_AT + 30))),
        config,
    )
    .with_store(Arc::new(MemoryStore::new()));
    Functions::wire(parts).expect("wires")
}

/// The router of the function the fixture's route belongs to.
fn router_for(route_key: &str) -> Router {
    let functions = functions();
    let state = |f: FunctionName| functions.state(f).clone();
    match route_key {
        "POST /slack/command" => http::slack_command::router(state(FunctionName::SlackCommand)),
        "POST /slack/interactive" => {
            http::slack_interactive::router(state(FunctionName::SlackInteractive))
        }
        "POST /slack/event" => http::slack_event::router(state(FunctionName::SlackEvent)),
        "POST /github/webhook" => http::github_webhook::router(state(FunctionName::GithubWebhook)),
        "POST /circleci/webhook" => {
            http::circleci_webhook::router(state(FunctionName::CircleciWebhook))
        }
        other => panic!("no HTTP function serves {other}"),
    }
}

const FIXTURES: [&str; 5] = [
    "slack_command_help.json",
    "slack_interactive_unknown_action.json",
    "slack_event_url_verification.json",
    "github_webhook_ping.json",
    "circleci_webhook_workflow_completed.json",
];

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/apigw/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("fixture is readable");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// What came back: status, content type and the body as sent to the client.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// Through the Lambda entry, as the runtime would: the event deserialised exactly as Lambda
/// delivers it, the API Gateway response serialised exactly as Lambda returns it.
async fn through_lambda(event: &Value) -> Answer {
    let request: ApiGatewayV2httpRequest =
        serde_json::from_value(event.clone()).expect("an API Gateway HTTP API v2 event");
    let route_key = request.route_key.clone().expect("fixture has a routeKey");
    let mut entry = http_entry(router_for(&route_key));
    let response = entry
        .call(LambdaEvent::new(
            LambdaRequest::ApiGatewayV2(request),
            Context::default(),
        ))
        .await
        .expect("the router is infallible");
    let response = serde_json::to_value(&response).expect("the response serialises");
    let body_text = response["body"].as_str().unwrap_or_default();
    let body = if response["isBase64Encoded"].as_bool().unwrap_or(false) {
        BASE64.decode(body_text).expect("base64 response body")
    } else {
        body_text.as_bytes().to_vec()
    };
    Answer {
        status: u16::try_from(response["statusCode"].as_i64().expect("statusCode"))
            .expect("a status code"),
        content_type: response["headers"]["content-type"]
            .as_str()
            .map(str::to_owned),
        body,
    }
}

/// The same request built by hand from the event and sent to the router directly.
async fn through_router(event: &Value) -> Answer {
    let body_text = event["body"].as_str().unwrap_or_default();
    let body = if event["isBase64Encoded"].as_bool().unwrap_or(false) {
        BASE64.decode(body_text).expect("base64 request body")
    } else {
        body_text.as_bytes().to_vec()
    };
    let mut builder = Request::builder()
        .method(
            event["requestContext"]["http"]["method"]
                .as_str()
                .expect("method"),
        )
        .uri(event["rawPath"].as_str().expect("rawPath"));
    for (name, value) in event["headers"].as_object().expect("headers") {
        builder = builder.header(name.as_str(), value.as_str().expect("header value"));
    }
    let request = builder.body(Body::from(body)).expect("a valid request");
    let route_key = event["routeKey"].as_str().expect("routeKey");
    let response = router_for(route_key)
        .oneshot(request)
        .await
        .expect("the router is infallible");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("the body is readable")
        .to_bytes()
        .to_vec();
    Answer {
        status,
        content_type,
        body,
    }
}

#[tokio::test]
async fn every_http_function_answers_the_same_through_its_lambda_entry_and_its_router() {
    for name in FIXTURES {
        let event = fixture(name);
        let lambda = through_lambda(&event).await;
        let direct = through_router(&event).await;
        assert_eq!(lambda, direct, "{name}");
        assert_ne!(lambda.status, 404, "{name}: the route is not mounted");
    }
}

#[test]
fn the_fixtures_are_http_api_v2_events_for_the_five_routes() {
    let mut routes = Vec::new();
    for name in FIXTURES {
        let event = fixture(name);
        assert_eq!(event["version"], "2.0", "{name}");
        assert_eq!(event["requestContext"]["stage"], "$default", "{name}");
        let route_key = event["routeKey"].as_str().expect("routeKey");
        assert_eq!(
            route_key,
            format!("POST {}", event["rawPath"].as_str().expect("rawPath")),
            "{name}"
        );
        routes.push(route_key.to_owned());
    }
    routes.sort();
    assert_eq!(
        routes,
        [
            "POST /circleci/webhook",
            "POST /github/webhook",
            "POST /slack/command",
            "POST /slack/event",
            "POST /slack/interactive",
        ]
    );
}

#[tokio::test]
async fn a_signed_base64_slash_command_verifies_over_the_decoded_body() {
    let event = fixture("slack_command_help.json");
    assert_eq!(
        event["isBase64Encoded"], true,
        "API Gateway base64-encodes forms"
    );
    let answer = through_lambda(&event).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
}

#[tokio::test]
async fn a_tampered_base64_slash_command_is_refused_with_401() {
    let mut event = fixture("slack_command_help.json");
    let body = BASE64
        .decode(event["body"].as_str().expect("body"))
        .expect("base64");
    let tampered = String::from_utf8(body)
        .expect("a form is text")
        .replace("text=help", "text=reset");
    event["body"] = Value::from(BASE64.encode(tampered));
    let answer = through_lambda(&event).await;
    assert_eq!(answer.status, 401);
}

#[tokio::test]
async fn a_signed_base64_button_press_verifies_over_the_decoded_body() {
    let event = fixture("slack_interactive_unknown_action.json");
    assert_eq!(event["isBase64Encoded"], true);
    let answer = through_lambda(&event).await;
    assert_ne!(answer.status, 401);
    assert!(answer.status < 500, "status {}", answer.status);
}

#[tokio::test]
async fn url_verification_echoes_the_challenge_through_the_lambda_entry() {
    let event = fixture("slack_event_url_verification.json");
    let answer = through_lambda(&event).await;
    assert_eq!(answer.status, 200);
    let body = String::from_utf8(answer.body).expect("text");
    assert!(
        body.contains("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"),
        "{body}"
    );
}

#[tokio::test]
async fn webhooks_with_a_wrong_signature_are_refused_with_401() {
    for (name, header) in [
        ("slack_event_url_verification.json", "x-slack-signature"),
        ("github_webhook_ping.json", "x-hub-signature-256"),
        (
            "circleci_webhook_workflow_completed.json",
            "circleci-signature",
        ),
    ] {
        let mut event = fixture(name);
        let signature = event["headers"][header]
            .as_str()
            .expect("signed")
            .to_owned();
        // Flip the last hex digit.
        let flipped = if signature.ends_with('0') { '1' } else { '0' };
        let mut wrong = signature[..signature.len() - 1].to_owned();
        wrong.push(flipped);
        event["headers"][header] = Value::from(wrong);
        let answer = through_lambda(&event).await;
        assert_eq!(answer.status, 401, "{name}");
    }
}
