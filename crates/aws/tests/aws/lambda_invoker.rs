//! `LambdaInvoker` against a fake Lambda Invoke API on 127.0.0.1: invocation types, the
//! deployed names from `FUNCTION_*`, JSON answers, and function errors in both the AWS shape
//! (200 + `X-Amz-Function-Error`) and the local emulator's (HTTP 500 + error payload).

use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use deploybot_aws::{FunctionNames, LambdaInvoker};
use deploybot_core::Repository;
use deploybot_core::invoke::{CollaboratorsRequest, FunctionName, call};
use deploybot_core::ports::{InvokeError, InvokeMode, Invoker};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// One request the fake Lambda received.
#[derive(Debug, Clone)]
struct Seen {
    function: String,
    invocation_type: Option<String>,
    payload: Value,
}

#[derive(Clone, Default)]
struct FakeLambda {
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn invoke(
    State(fake): State<FakeLambda>,
    Path(function): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let invocation_type = headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    fake.seen.lock().expect("lock").push(Seen {
        function: function.clone(),
        invocation_type: invocation_type.clone(),
        payload: payload.clone(),
    });
    if invocation_type.as_deref() == Some("Event") {
        return StatusCode::ACCEPTED.into_response();
    }
    let error_body =
        || json!({"errorType": "FunctionError", "errorMessage": "no such deployment"}).to_string();
    match function.as_str() {
        // AWS: the function failed, the Invoke call did not.
        "deploybot-Fails" => (
            StatusCode::OK,
            [("x-amz-function-error", "Unhandled")],
            error_body(),
        )
            .into_response(),
        // cargo lambda watch: a function error is an HTTP 500 with the same payload.
        "emulator-fails" => (StatusCode::INTERNAL_SERVER_ERROR, error_body()).into_response(),
        "deploybot-Collaborators" => (
            StatusCode::OK,
            json!({"logins": ["alice", "bob"]}).to_string(),
        )
            .into_response(),
        _ => (StatusCode::OK, json!({"echo": payload}).to_string()).into_response(),
    }
}

async fn start_fake() -> (String, FakeLambda) {
    let fake = FakeLambda::default();
    let app = Router::new()
        .route("/2015-03-31/functions/{function}/invocations", post(invoke))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{address}"), fake)
}

fn invoker(endpoint: &str, names: FunctionNames) -> LambdaInvoker {
    let config = aws_sdk_lambda::Config::builder()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .behavior_version(BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
        .build();
    LambdaInvoker::new(aws_sdk_lambda::Client::from_conf(config), names)
}

fn names() -> FunctionNames {
    FunctionNames::from_lookup(|variable| match variable {
        "FUNCTION_SLACK_MESSAGE" => Some("deploybot-SlackMessage-1A2B".into()),
        "FUNCTION_GITHUB_COLLABORATORS" => Some("deploybot-Collaborators".into()),
        "FUNCTION_GITHUB_DEPLOYMENT_STATUS" => Some("deploybot-Fails".into()),
        "FUNCTION_CIRCLECI_TRIGGER" => Some("emulator-fails".into()),
        _ => None,
    })
}

#[tokio::test]
async fn request_response_returns_the_json_answer_of_the_deployed_function() {
    let (endpoint, fake) = start_fake().await;
    let answer = invoker(&endpoint, names())
        .invoke(
            FunctionName::SlackMessage,
            InvokeMode::RequestResponse,
            payload(json!({"kind": "channel"})),
        )
        .await
        .expect("the fake answers");
    assert_eq!(answer, json!({"echo": {"kind": "channel"}}));
    let seen = fake.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].function, "deploybot-SlackMessage-1A2B");
    assert_eq!(seen[0].invocation_type.as_deref(), Some("RequestResponse"));
    assert_eq!(seen[0].payload, json!({"kind": "channel"}));
}

#[tokio::test]
async fn event_invocations_are_sent_as_event_and_answer_null() {
    let (endpoint, fake) = start_fake().await;
    let answer = invoker(&endpoint, names())
        .invoke(
            FunctionName::SlackMessage,
            InvokeMode::Event,
            payload(json!({"n": 1})),
        )
        .await
        .expect("accepted");
    assert_eq!(answer, Value::Null);
    let seen = fake.seen.lock().expect("lock").clone();
    assert_eq!(seen[0].invocation_type.as_deref(), Some("Event"));
    assert_eq!(seen[0].payload, json!({"n": 1}));
}

#[tokio::test]
async fn typed_calls_go_through_the_invoker() {
    let (endpoint, _fake) = start_fake().await;
    let invoker = invoker(&endpoint, names());
    let request = CollaboratorsRequest {
        repository: Repository::parse("acme/web").expect("valid repository"),
        cached: false,
    };
    let response = call(&invoker, &request).await.expect("typed answer");
    let logins: Vec<String> = response.logins.iter().map(|l| l.to_string()).collect();
    assert_eq!(logins, ["alice", "bob"]);
}

#[tokio::test]
async fn a_function_error_in_the_answer_is_a_typed_function_error() {
    let (endpoint, _fake) = start_fake().await;
    let error = invoker(&endpoint, names())
        .invoke(
            FunctionName::GithubDeploymentStatus,
            InvokeMode::RequestResponse,
            payload(json!({})),
        )
        .await
        .expect_err("the function failed");
    match error {
        InvokeError::Function { function, message } => {
            assert_eq!(function, FunctionName::GithubDeploymentStatus);
            assert!(message.contains("no such deployment"), "{message}");
        }
        other => panic!("expected a function error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_emulators_http_500_function_error_is_a_function_error_too() {
    let (endpoint, _fake) = start_fake().await;
    let error = invoker(&endpoint, names())
        .invoke(
            FunctionName::CircleciTrigger,
            InvokeMode::RequestResponse,
            payload(json!({})),
        )
        .await
        .expect_err("the function failed");
    assert!(
        matches!(&error, InvokeError::Function { message, .. } if message.contains("no such deployment")),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_unconfigured_function_is_refused_before_any_request() {
    let (endpoint, fake) = start_fake().await;
    let error = invoker(&endpoint, names())
        .invoke(
            FunctionName::GithubDeploymentCreate,
            InvokeMode::Event,
            payload(json!({})),
        )
        .await
        .expect_err("no FUNCTION_GITHUB_DEPLOYMENT_CREATE");
    assert!(
        matches!(&error, InvokeError::Transport { message, .. } if message.contains("FUNCTION_GITHUB_DEPLOYMENT_CREATE")),
        "{error:?}"
    );
    assert!(fake.seen.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn an_unreachable_lambda_endpoint_is_a_transport_error() {
    // Bind and drop: the port is closed when the invoker tries it.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
        .local_addr()
        .expect("address");
    let error = invoker(&format!("http://{closed}"), names())
        .invoke(
            FunctionName::SlackMessage,
            InvokeMode::Event,
            payload(json!({})),
        )
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(
            error,
            InvokeError::Transport {
                function: FunctionName::SlackMessage,
                ..
            }
        ),
        "{error:?}"
    );
}

/// A request as the invoker takes it: JSON text.
fn payload(value: serde_json::Value) -> Vec<u8> {
    value.to_string().into_bytes()
}
