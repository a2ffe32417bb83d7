//! The HTTP functions, one module each, each exposing `router(state) -> Router`, and the
//! request plumbing they share.

pub mod circleci_webhook;
pub mod github_webhook;
pub mod slack_command;
pub mod slack_event;
pub mod slack_interactive;
pub mod slack_request;

use crate::{AppError, AppState};
use axum::Router;
use axum::http::HeaderMap;

/// Every HTTP endpoint, mounted at the path it has on API Gateway (`/slack/command`, ...; the
/// table in docs/deployment.md, "The functions").
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(slack_command::router(state.clone()))
        .merge(slack_interactive::router(state.clone()))
        .merge(slack_event::router(state.clone()))
        .merge(github_webhook::router(state.clone()))
        .merge(circleci_webhook::router(state))
}

/// A header's value as text, when present and valid UTF-8.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Refuses bodies over the configured limit (413) before anything else looks at them.
pub fn check_body_size(state: &AppState, body: &[u8]) -> Result<(), AppError> {
    if body.len() > state.config.max_body_bytes {
        Err(AppError::PayloadTooLarge)
    } else {
        Ok(())
    }
}
