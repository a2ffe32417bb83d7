//! The HTTP functions, one module each, each exposing `router(state) -> Router`, and the
//! request plumbing they share.

pub mod circleci_webhook;
pub mod freezes;
pub mod github_webhook;
pub mod lane_actions;
pub mod slack_command;
pub mod slack_event;
pub mod slack_interactive;
pub mod slack_request;
pub mod web;

use crate::wiring::Functions;
use crate::{AppError, AppState};
use axum::Router;
use axum::http::HeaderMap;

/// The router of an HTTP function (its routes, served with its state); `None` for the
/// invoked functions, which Lambda runs with their payloads instead
/// (`deploybot_aws::bootstrap::run`).
pub fn function_router(
    function: deploybot_core::invoke::FunctionName,
) -> Option<fn(AppState) -> Router> {
    use deploybot_core::invoke::FunctionName as F;
    match function {
        F::SlackCommand => Some(slack_command::router),
        F::SlackInteractive => Some(slack_interactive::router),
        F::SlackEvent => Some(slack_event::router),
        F::GithubWebhook => Some(github_webhook::router),
        F::CircleciWebhook => Some(circleci_webhook::router),
        F::Web => Some(web::router),
        F::SlackMessage
        | F::GithubCollaborators
        | F::GithubDeploymentCreate
        | F::GithubDeploymentStatus
        | F::CircleciTrigger => None,
    }
}

/// Every HTTP endpoint at its path (`/slack/command`, ...), each served with its own
/// function's state.
pub fn router(functions: &Functions) -> Router {
    use deploybot_core::invoke::FunctionName as F;
    Router::new()
        .merge(slack_command::router(
            functions.state(F::SlackCommand).clone(),
        ))
        .merge(slack_interactive::router(
            functions.state(F::SlackInteractive).clone(),
        ))
        .merge(slack_event::router(functions.state(F::SlackEvent).clone()))
        .merge(github_webhook::router(
            functions.state(F::GithubWebhook).clone(),
        ))
        .merge(circleci_webhook::router(
            functions.state(F::CircleciWebhook).clone(),
        ))
        .merge(web::router(functions.state(F::Web).clone()))
}

/// Why a request was refused (a 4xx answer), kept on the response by [`AppError`]'s
/// conversion for [`log_refusals`]. Never holds a secret or a signature: it is the error's
/// own sentence ("unauthorized: the signature does not match").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

/// The layer of every HTTP route, for the route at `route`: a refused request is logged at
/// `warn` with its route, status and reason, and a signature refusal (401) is counted as the
/// `SignatureFailures` metric of its route (docs/operations.md, "Metrics").
///
/// A mapping of the response, not a middleware function: axum's `from_fn` boxes the inner
/// service and the future on every request, this adds nothing to a request that is not
/// refused (docs/performance.md, "Keys read as bytes").
pub fn log_refusals(
    route: &'static str,
) -> tower::util::MapResponseLayer<
    impl Fn(axum::response::Response) -> axum::response::Response + Clone + Send + Sync + 'static,
> {
    tower::util::MapResponseLayer::new(move |response: axum::response::Response| {
        log_refusal(route, &response);
        response
    })
}

/// [`log_refusals`] of one response: logged and counted when it is a refusal.
pub fn log_refusal(route: &'static str, response: &axum::response::Response) {
    if let Some(Refusal(reason)) = response.extensions().get::<Refusal>() {
        let status = response.status().as_u16();
        tracing::warn!(%route, status, %reason, "request refused");
        if response.status() == axum::http::StatusCode::UNAUTHORIZED {
            deploybot_core::metrics::emit(deploybot_core::metrics::Metric::SignatureFailure {
                route: route.to_owned(),
            });
        }
    }
}

/// A header's value as text, when present and valid UTF-8.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Refuses bodies over the configured limit (413) before anything else looks at them.
pub fn check_body_size(state: &AppState, body: &[u8]) -> Result<(), AppError> {
    check_body_limit(state.config.max_body_bytes, body)
}

/// Refuses bodies over `limit` bytes (413).
pub fn check_body_limit(limit: usize, body: &[u8]) -> Result<(), AppError> {
    if body.len() > limit {
        Err(AppError::PayloadTooLarge)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deploybot_core::invoke::FunctionName;
    use deploybot_core::profile::profile;

    #[test]
    fn exactly_the_functions_with_a_route_have_a_router() {
        for function in FunctionName::ALL {
            assert_eq!(
                function_router(function).is_some(),
                profile(function).route.is_some(),
                "{function}"
            );
        }
    }
}
