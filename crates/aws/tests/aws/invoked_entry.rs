//! The invoked functions' Lambda entry (`bootstrap::handle_invocation`, what
//! `bootstrap::run_invoked` runs per event): typed answers as JSON, refused payloads as
//! `InvalidPayload` function errors.

use deploybot_app::wiring::{Functions, Parts};
use deploybot_app::{AppConfig, AppState};
use deploybot_aws::bootstrap::handle_invocation;
use deploybot_core::invoke::{DeploymentCreateResponse, FunctionName};
use deploybot_core::ports::SystemClock;
use deploybot_testkit::MemoryStore;
use serde_json::json;
use std::sync::Arc;

/// `function`'s state over an empty store.
fn state(function: FunctionName) -> AppState {
    let parts = Parts::new(Arc::new(SystemClock), AppConfig::default())
        .with_store(Arc::new(MemoryStore::new()));
    Functions::wire(parts)
        .expect("wires")
        .state(function)
        .clone()
}

#[tokio::test]
async fn a_request_is_answered_with_the_handlers_json() {
    let answer = handle_invocation(
        &state(FunctionName::GithubDeploymentCreate),
        FunctionName::GithubDeploymentCreate,
        json!({"kind": "watchdog"}),
    )
    .await
    .expect("nothing is waiting, nothing fails");
    let response: DeploymentCreateResponse =
        serde_json::from_value(answer).expect("the typed response");
    assert_eq!(response.deployment_id, None);
}

#[tokio::test]
async fn a_payload_the_function_cannot_read_is_an_invalid_payload_error() {
    let error = handle_invocation(
        &state(FunctionName::GithubDeploymentCreate),
        FunctionName::GithubDeploymentCreate,
        json!({"kind": "no_such_request"}),
    )
    .await
    .expect_err("refused");
    assert_eq!(error.error_type, "InvalidPayload");
    assert!(
        error.error_message.contains("github-deployment-create"),
        "{}",
        error.error_message
    );
}

#[tokio::test]
async fn http_functions_cannot_be_invoked() {
    let error = handle_invocation(
        &state(FunctionName::SlackCommand),
        FunctionName::SlackCommand,
        json!({}),
    )
    .await
    .expect_err("not invokable");
    assert_eq!(error.error_type, "InvalidPayload");
}

#[tokio::test]
async fn a_missing_adapter_is_a_function_error() {
    // github-collaborators needs the GitHub client, which this state lacks.
    let error = handle_invocation(
        &state(FunctionName::GithubCollaborators),
        FunctionName::GithubCollaborators,
        json!({"repository": "acme/web"}),
    )
    .await
    .expect_err("no GitHub client");
    assert_eq!(error.error_type, "FunctionError");
    assert!(
        error.error_message.contains("GitHub"),
        "{}",
        error.error_message
    );
}
