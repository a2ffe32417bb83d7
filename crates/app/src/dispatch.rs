//! Routes a function-to-function invoke (function name + JSON payload) to the handler Lambda
//! would run for it. Used by the in-process invoker locally and by the invoked functions'
//! Lambda entry points.

use crate::{AppError, AppState, invoked};
use deploybot_core::invoke::FunctionName;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn parse<T: DeserializeOwned>(function: FunctionName, payload: Value) -> Result<T, AppError> {
    serde_json::from_value(payload)
        .map_err(|e| AppError::bad_request(format!("payload for {function}: {e}")))
}

fn answer<T: Serialize>(value: T) -> Result<Value, AppError> {
    serde_json::to_value(value).map_err(|e| AppError::Internal(format!("serialising answer: {e}")))
}

/// Runs the invoked function `function` on `payload`. HTTP functions are not invokable.
pub async fn dispatch(
    state: &AppState,
    function: FunctionName,
    payload: Value,
) -> Result<Value, AppError> {
    match function {
        FunctionName::SlackMessage => {
            answer(invoked::slack_message::handle(state, parse(function, payload)?).await?)
        }
        FunctionName::GithubCollaborators => {
            answer(invoked::github_collaborators::handle(state, parse(function, payload)?).await?)
        }
        FunctionName::GithubDeploymentCreate => answer(
            invoked::github_deployment_create::handle(state, parse(function, payload)?).await?,
        ),
        FunctionName::GithubDeploymentStatus => answer(
            invoked::github_deployment_status::handle(state, parse(function, payload)?).await?,
        ),
        FunctionName::CircleciTrigger => {
            answer(invoked::circleci_trigger::handle(state, parse(function, payload)?).await?)
        }
        FunctionName::SlackCommand
        | FunctionName::SlackInteractive
        | FunctionName::SlackEvent
        | FunctionName::GithubWebhook
        | FunctionName::CircleciWebhook => Err(AppError::bad_request(format!(
            "{function} is an HTTP function and cannot be invoked"
        ))),
    }
}
