//! `LambdaInvoker`: the [`Invoker`] port over the Lambda `Invoke` API (`aws-sdk-lambda`).
//! The deployed name of each function comes from `FUNCTION_<NAME>` environment variables
//! (`FunctionName::env_var`), which `template.yaml` fills with `!Ref`; a function may only
//! invoke the functions whose variable it has (and whose ARN its role may invoke).

use async_trait::async_trait;
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{DisplayErrorContext, SdkError};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use deploybot_core::invoke::FunctionName;
use deploybot_core::ports::{InvokeError, InvokeMode, Invoker};
use serde_json::Value;
use std::collections::HashMap;

/// The deployed name (or ARN) of each function this one may invoke.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionNames {
    names: HashMap<FunctionName, String>,
}

impl FunctionNames {
    /// Reads `FUNCTION_SLACK_MESSAGE`, `FUNCTION_GITHUB_COLLABORATORS`, ... from the process
    /// environment; absent or empty variables are left out.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`FunctionNames::from_env`], reading variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let names = FunctionName::ALL
            .into_iter()
            .filter_map(|function| {
                let value = lookup(&function.env_var())?;
                let value = value.trim();
                (!value.is_empty()).then(|| (function, value.to_owned()))
            })
            .collect();
        Self { names }
    }

    /// Sets one function's deployed name.
    pub fn with(mut self, function: FunctionName, deployed_name: impl Into<String>) -> Self {
        self.names.insert(function, deployed_name.into());
        self
    }

    /// The deployed name of `function`, or an error naming the variable that is missing.
    pub fn get(&self, function: FunctionName) -> Result<&str, InvokeError> {
        self.names
            .get(&function)
            .map(String::as_str)
            .ok_or_else(|| InvokeError::Transport {
                function,
                message: format!(
                    "environment variable {} is not set: this function is not configured to \
                     invoke {function} (template.yaml sets it, with the permission, only for \
                     the functions that call it)",
                    function.env_var()
                ),
            })
    }
}

/// Invokes the other functions through the Lambda API.
#[derive(Debug, Clone)]
pub struct LambdaInvoker {
    client: aws_sdk_lambda::Client,
    names: FunctionNames,
}

impl LambdaInvoker {
    pub fn new(client: aws_sdk_lambda::Client, names: FunctionNames) -> Self {
        Self { client, names }
    }

    /// A client from the shared AWS configuration and names from the environment.
    pub fn from_env(sdk_config: &aws_config::SdkConfig) -> Self {
        Self::new(
            aws_sdk_lambda::Client::new(sdk_config),
            FunctionNames::from_env(),
        )
    }
}

/// The message of a Lambda function error payload (`{"errorType": ..., "errorMessage": ...}`),
/// or the payload as text when it has another shape.
fn function_error_message(payload: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(payload).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match (field("errorType"), field("errorMessage")) {
        (Some(kind), Some(message)) => format!("{message} ({kind})"),
        (None, Some(message)) => message,
        _ => {
            let text = String::from_utf8_lossy(payload);
            let text = text.trim();
            if text.is_empty() {
                "the function failed without an error payload".to_owned()
            } else {
                text.chars().take(1000).collect()
            }
        }
    }
}

#[async_trait]
impl Invoker for LambdaInvoker {
    async fn invoke(
        &self,
        function: FunctionName,
        mode: InvokeMode,
        payload: Vec<u8>,
    ) -> Result<Value, InvokeError> {
        let deployed_name = self.names.get(function)?;
        let body = payload;
        let invocation_type = match mode {
            InvokeMode::RequestResponse => InvocationType::RequestResponse,
            InvokeMode::Event => InvocationType::Event,
        };
        tracing::debug!(%function, deployed_name, ?mode, "invoking");
        let result = self
            .client
            .invoke()
            .function_name(deployed_name)
            .invocation_type(invocation_type)
            .payload(Blob::new(body))
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(error) => return Err(sdk_error(function, error)),
        };
        let answer = output.payload().map(Blob::as_ref).unwrap_or_default();
        if output.function_error().is_some() {
            return Err(InvokeError::Function {
                function,
                message: function_error_message(answer),
            });
        }
        match mode {
            InvokeMode::Event => Ok(Value::Null),
            InvokeMode::RequestResponse if answer.is_empty() => Ok(Value::Null),
            InvokeMode::RequestResponse => {
                serde_json::from_slice(answer).map_err(|e| InvokeError::Payload {
                    function,
                    message: format!("the answer is not JSON: {e}"),
                })
            }
        }
    }
}

/// An SDK failure as an [`InvokeError`]. A local emulator (`cargo lambda watch`) reports a
/// function error as HTTP 500 with the error payload as the body instead of Lambda's
/// 200 + `X-Amz-Function-Error`; that shape is recognised as a function error too.
fn sdk_error(
    function: FunctionName,
    error: SdkError<aws_sdk_lambda::operation::invoke::InvokeError, HttpResponse>,
) -> InvokeError {
    if let Some(body) = error.raw_response().and_then(|raw| raw.body().bytes())
        && let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body)
        && fields.contains_key("errorMessage")
        && fields.contains_key("errorType")
    {
        return InvokeError::Function {
            function,
            message: function_error_message(body),
        };
    }
    InvokeError::Transport {
        function,
        message: DisplayErrorContext(&error).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_function_env_vars() {
        let names = FunctionNames::from_lookup(|var| match var {
            "FUNCTION_SLACK_MESSAGE" => Some("deploybot-SlackMessage-abc".into()),
            "FUNCTION_CIRCLECI_TRIGGER" => Some("  ".into()),
            _ => None,
        });
        assert_eq!(
            names.get(FunctionName::SlackMessage).ok(),
            Some("deploybot-SlackMessage-abc")
        );
        // Blank counts as missing.
        assert!(names.get(FunctionName::CircleciTrigger).is_err());
    }

    #[test]
    fn a_missing_name_is_an_error_naming_the_variable() {
        let error = FunctionNames::default()
            .get(FunctionName::GithubDeploymentCreate)
            .expect_err("nothing configured");
        let InvokeError::Transport { function, message } = error else {
            panic!("expected a transport error, got {error:?}");
        };
        assert_eq!(function, FunctionName::GithubDeploymentCreate);
        assert!(
            message.contains("FUNCTION_GITHUB_DEPLOYMENT_CREATE"),
            "{message}"
        );
    }

    #[test]
    fn function_error_messages() {
        assert_eq!(
            function_error_message(
                br#"{"errorType":"AppError","errorMessage":"bad request: no such deployment"}"#
            ),
            "bad request: no such deployment (AppError)"
        );
        assert_eq!(
            function_error_message(br#"{"errorMessage":"boom"}"#),
            "boom"
        );
        assert_eq!(function_error_message(b"Task timed out"), "Task timed out");
        assert_eq!(
            function_error_message(b""),
            "the function failed without an error payload"
        );
    }
}
