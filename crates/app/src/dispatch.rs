//! Routes a function-to-function invoke (function name + JSON payload) to the handler Lambda
//! would run for it. Used by the in-process invoker locally and by the invoked functions'
//! Lambda entry points.

use crate::wiring::Functions;
use crate::{AppError, AppState, invoked};
use deploybot_core::invoke::FunctionName;
use deploybot_core::ports::{InvokeError, InvokeMode, Invoker};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::Notify;

fn parse<T: DeserializeOwned>(function: FunctionName, payload: Value) -> Result<T, AppError> {
    serde_json::from_value(payload)
        .map_err(|e| AppError::bad_request(format!("payload for {function}: {e}")))
}

fn answer<T: Serialize>(value: T) -> Result<Value, AppError> {
    serde_json::to_value(value).map_err(|e| AppError::Internal(format!("serialising answer: {e}")))
}

/// Runs the invoked function `function` on `payload`. HTTP functions are not invokable.
/// Everything it logs is in a span naming the function and the payload's correlation id, and
/// the invokes it sends carry that id on ([`crate::correlation`]); a payload without one (a
/// schedule's) goes on under the id in hand, if any.
pub async fn dispatch(
    state: &AppState,
    function: FunctionName,
    payload: Value,
) -> Result<Value, AppError> {
    let correlation = deploybot_core::invoke::correlation_of(&payload);
    // The span is made when the work first runs, inside the correlation's scope, so that the
    // correlation span is its parent (a span's parent is the span current at its creation).
    let work = async move {
        let span = tracing::info_span!("invoked", %function);
        let work = async move {
            let answer = run(state, function, payload).await;
            // One line per invocation, so a search for the correlation id lists every function
            // the story went through (failures are logged by the caller with their error).
            tracing::info!(ok = answer.is_ok(), "invocation handled");
            answer
        };
        tracing::Instrument::instrument(work, span).await
    };
    match correlation {
        // Already in that story (an in-process `RequestResponse` call): its span is the parent.
        Some(id) if crate::correlation::current().as_deref() != Some(id.as_str()) => {
            crate::correlation::scope(&id, work).await
        }
        _ => work.await,
    }
}

/// Each handler's future is boxed: together they would make this one as large as the largest,
/// and an in-process `RequestResponse` call nests it inside its caller's.
async fn run(state: &AppState, function: FunctionName, payload: Value) -> Result<Value, AppError> {
    match function {
        FunctionName::SlackMessage => answer(
            Box::pin(invoked::slack_message::handle(
                state,
                parse(function, payload)?,
            ))
            .await?,
        ),
        // Two requests: a `RepositoryRequest` says `"kind": "repository"`.
        FunctionName::GithubCollaborators => {
            if payload.get("kind").and_then(Value::as_str) == Some("repository") {
                answer(
                    Box::pin(invoked::github_collaborators::repository(
                        state,
                        parse(function, payload)?,
                    ))
                    .await?,
                )
            } else {
                answer(
                    Box::pin(invoked::github_collaborators::handle(
                        state,
                        parse(function, payload)?,
                    ))
                    .await?,
                )
            }
        }
        FunctionName::GithubDeploymentCreate => answer(
            Box::pin(invoked::github_deployment_create::handle(
                state,
                parse(function, payload)?,
            ))
            .await?,
        ),
        FunctionName::GithubDeploymentStatus => answer(
            Box::pin(invoked::github_deployment_status::handle(
                state,
                parse(function, payload)?,
            ))
            .await?,
        ),
        FunctionName::CircleciTrigger => answer(
            Box::pin(invoked::circleci_trigger::handle(
                state,
                parse(function, payload)?,
            ))
            .await?,
        ),
        FunctionName::SlackCommand
        | FunctionName::SlackInteractive
        | FunctionName::SlackEvent
        | FunctionName::GithubWebhook
        | FunctionName::CircleciWebhook
        | FunctionName::Web => Err(AppError::bad_request(format!(
            "{function} is an HTTP function and cannot be invoked"
        ))),
    }
}

/// An [`Invoker`] that runs the target function's handler in this process: the local server
/// and tests use it so that what runs on a laptop is the code that runs on Lambda.
/// `RequestResponse` waits for the answer; `Event` runs in the background (a failure is
/// logged and kept in [`InProcessInvoker::failures`], as Lambda's on-failure queue would
/// keep it).
#[derive(Clone, Default)]
pub struct InProcessInvoker {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    functions: OnceLock<Functions>,
    in_flight: AtomicUsize,
    idle: Notify,
    failures: Mutex<Vec<FailedInvocation>>,
}

/// An `Event` invocation that failed (what would land in the on-failure queue).
#[derive(Debug, Clone)]
pub struct FailedInvocation {
    pub function: FunctionName,
    pub payload: Value,
    pub error: String,
}

impl std::fmt::Debug for InProcessInvoker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessInvoker")
            .field("in_flight", &self.inner.in_flight.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

impl InProcessInvoker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Connects the invoker to the functions whose handlers it runs (each invocation runs with
    /// its target function's own state). [`Functions::wire`] calls this once.
    pub(crate) fn attach(&self, functions: Functions) {
        // A second attach is ignored: the first functions stay in charge.
        let _ = self.inner.functions.set(functions);
    }

    /// Waits until no `Event` invocation is running (tests and the demo use it to let the
    /// background work settle).
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.inner.idle.notified();
            if self.inner.in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// `Event` invocations that failed so far.
    pub fn failures(&self) -> Vec<FailedInvocation> {
        self.inner
            .failures
            .lock()
            .map(|f| f.clone())
            .unwrap_or_default()
    }

    fn state(&self, function: FunctionName) -> Result<AppState, InvokeError> {
        self.inner
            .functions
            .get()
            .map(|functions| functions.state(function).clone())
            .ok_or_else(|| InvokeError::Transport {
                function,
                message: "the in-process invoker is not attached to functions".into(),
            })
    }
}

#[async_trait::async_trait]
impl Invoker for InProcessInvoker {
    async fn invoke(
        &self,
        function: FunctionName,
        mode: InvokeMode,
        payload: Vec<u8>,
    ) -> Result<Value, InvokeError> {
        let state = self.state(function)?;
        // As the Lambda runtime does: the JSON text becomes the function's event.
        let payload: Value =
            serde_json::from_slice(&payload).map_err(|e| InvokeError::Payload {
                function,
                message: e.to_string(),
            })?;
        match mode {
            InvokeMode::RequestResponse => {
                dispatch(&state, function, payload)
                    .await
                    .map_err(|e| InvokeError::Function {
                        function,
                        message: e.to_string(),
                    })
            }
            InvokeMode::Event => {
                let inner = Arc::clone(&self.inner);
                inner.in_flight.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    if let Err(e) = dispatch(&state, function, payload.clone()).await {
                        tracing::error!(%function, error = %e, "event invocation failed");
                        if let Ok(mut failures) = inner.failures.lock() {
                            failures.push(FailedInvocation {
                                function,
                                payload,
                                error: e.to_string(),
                            });
                        }
                    }
                    if inner.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
                        inner.idle.notify_waiters();
                    }
                });
                Ok(Value::Null)
            }
        }
    }
}
