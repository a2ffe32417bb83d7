//! `circleci-webhook` (`POST /circleci/webhook`): CircleCI completion → deployment status. The
//! signed `workflow-completed` webhook (`circleci-signature: v1=...`) finds the deployment by
//! pipeline id and maps the outcome (docs/workflow.md, "The CircleCI pipeline"); other webhook
//! types are acknowledged and ignored. The legacy per-job `notify` payload is accepted only with
//! the shared `CIRCLECI_NOTIFY_TOKEN` as the `token` query parameter.
//!
//! Latency budget: well under a second whatever CircleCI's API does (CircleCI waits 10
//! seconds) — the signature check, the pipeline lookup and the idempotency claim issued
//! together, and an `Event` invoke of `github-deployment-status`, which asks CircleCI whether
//! the pipeline's other workflows are done. Idempotency keys (leased, see
//! `crate::idempotency`): `circleci:<event id>`; legacy
//! `circleci-notify:<repository>:<build_num>`.

use crate::http::{check_body_size, header};
use crate::webhook_payloads::circleci::{LegacyNotify, WebhookEnvelope, WorkflowCompleted};
use crate::webhook_payloads::parse_json;
use crate::{AppError, AppState, idempotency};
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use deploybot_core::invoke::{self, DeploymentStatusRequest, FinishedWorkflow};
use deploybot_core::ports::ci_outcome_state;
use deploybot_core::signature::{SignatureError, verify_circleci};
use deploybot_core::{Deployment, DeploymentState};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;
use tracing::Instrument;

/// The route's path.
const PATH: &str = "/circleci/webhook";

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(PATH, post(receive))
        .layer(super::log_refusals(PATH))
        .with_state(state)
}

fn ignored(text: impl std::fmt::Display) -> Response {
    (StatusCode::OK, format!("ignored: {text}")).into_response()
}

fn accepted(text: impl Into<String>) -> Response {
    (StatusCode::ACCEPTED, text.into()).into_response()
}

#[derive(Debug, serde::Deserialize)]
struct NotifyQuery {
    #[serde(default)]
    token: Option<String>,
}

async fn receive(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    check_body_size(&state, &body)?;
    if let Some(signature) = header(&headers, "circleci-signature") {
        let secret = state
            .config
            .circleci_webhook_secret
            .as_ref()
            .ok_or(AppError::NotConfigured("CIRCLECI_WEBHOOK_SECRET"))?;
        verify_circleci(secret, Some(signature), &body)?;
        return signed(&state, &body).await;
    }
    let token = query
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str::<NotifyQuery>(q).ok())
        .and_then(|q| q.token);
    match token {
        Some(token) => {
            check_notify_token(&state, &token)?;
            legacy(&state, &body).await
        }
        None => Err(AppError::Unauthorized(SignatureError::Missing)),
    }
}

/// The legacy token, compared in constant time. Not configured: nothing is accepted.
fn check_notify_token(state: &AppState, token: &str) -> Result<(), AppError> {
    let Some(expected) = &state.config.circleci_notify_token else {
        return Err(AppError::Unauthorized(SignatureError::Mismatch));
    };
    let expected = expected.expose_secret().as_bytes();
    if expected.is_empty() || !bool::from(expected.ct_eq(token.as_bytes())) {
        return Err(AppError::Unauthorized(SignatureError::Mismatch));
    }
    Ok(())
}

/// Runs `work` once per `key` (see [`idempotency::run_once`]).
async fn once<F>(state: &AppState, key: &str, work: F) -> Result<Response, AppError>
where
    F: std::future::Future<Output = Result<Response, AppError>>,
{
    Ok(match idempotency::run_once(state, key, work).await? {
        idempotency::Once::Ran(response) => response,
        idempotency::Once::InProgress => ignored("event being handled"),
        idempotency::Once::Done => ignored("event already handled"),
    })
}

/// Workflow statuses of a workflow that is still going.
const STILL_RUNNING: [&str; 3] = ["running", "on_hold", "failing"];

async fn signed(state: &AppState, body: &[u8]) -> Result<Response, AppError> {
    let envelope: WebhookEnvelope = parse_json("webhook", body)?;
    let started = match envelope.kind.as_str() {
        "workflow-completed" => false,
        // A job finished while its workflow still runs: the first sign that the deployment's
        // work is running (a workflow's own end is its `workflow-completed` event).
        "job-completed" => true,
        other => return Ok(ignored(format!("{other} events are not used"))),
    };
    // Both events carry the workflow (with its status now) and the pipeline.
    let event: WorkflowCompleted = parse_json(&envelope.kind, body)?;
    if started && !STILL_RUNNING.contains(&event.workflow.status.as_str()) {
        return Ok(ignored(
            "job-completed of a finished workflow: its workflow-completed event tells the outcome",
        ));
    }
    let correlation = crate::correlation::circleci(&event.id);
    let span = tracing::info_span!(
        "circleci_webhook",
        correlation_id = %correlation,
        event = %event.id,
        pipeline = %event.pipeline.id
    );
    let work = async move {
        let key = format!("circleci:{}", event.id);
        // Two independent round trips, issued together: which deployment, and the claim.
        let lookup = async {
            state
                .deployments()?
                .deployment_by_pipeline(&event.pipeline.id)
                .await
                .map_err(AppError::from)
        };
        let (record, claimed) = tokio::join!(lookup, idempotency::claim(state, &key));
        let lease = match claimed? {
            idempotency::Claimed::Lease(lease) => lease,
            idempotency::Claimed::InProgress => return Ok(ignored("event being handled")),
            idempotency::Claimed::Done => return Ok(ignored("event already handled")),
        };
        let record = match record {
            Ok(Some(record)) => record,
            Ok(None) => {
                // Not ours (or not recorded yet): the claim is forgotten — a request deploybot
                // has no use for changes nothing — and a redelivery looks again.
                lease.release(state).await;
                return Ok(ignored(format!(
                    "pipeline {} was not started by deploybot",
                    event.pipeline.id
                )));
            }
            Err(error) => {
                lease.release(state).await;
                return Err(error);
            }
        };
        // The hand-over is an `Event` invoke of an idempotent function: the key is marked
        // done at the same time.
        let work = async {
            if started {
                work_started(state, record, &event).await
            } else {
                workflow_completed(state, record, &event).await
            }
        };
        idempotency::work_while_finishing(state, lease, work).await
    }
    .instrument(span);
    crate::correlation::scope(&correlation, work).await
}

/// The deployment's work runs: `in_progress`, when it is not already (or done).
async fn work_started(
    state: &AppState,
    record: Deployment,
    event: &WorkflowCompleted,
) -> Result<Response, AppError> {
    if !matches!(
        record.state,
        DeploymentState::Created | DeploymentState::Queued
    ) {
        return Ok(accepted(format!(
            "deployment {} is {} already",
            record.id, record.state
        )));
    }
    let workflow = &event.workflow;
    let request = DeploymentStatusRequest {
        repository: record.repository.clone(),
        deployment_id: record.id.clone(),
        state: DeploymentState::InProgress,
        log_url: Some(workflow.url.clone()),
        environment_url: record.environment_url.clone(),
        description: Some(format!("workflow {} {}", workflow.name, workflow.status)),
        from_github: false,
        finished_workflow: None,
    };
    invoke::send(state.invoker()?, &request).await?;
    Ok(accepted(format!(
        "deployment {} → {}",
        record.id,
        DeploymentState::InProgress
    )))
}

async fn workflow_completed(
    state: &AppState,
    record: Deployment,
    event: &WorkflowCompleted,
) -> Result<Response, AppError> {
    let workflow = &event.workflow;
    let to = ci_outcome_state(&workflow.status);
    let request = DeploymentStatusRequest {
        repository: record.repository.clone(),
        deployment_id: record.id.clone(),
        state: to,
        log_url: Some(workflow.url.clone()),
        environment_url: record.environment_url.clone(),
        description: Some(format!("workflow {} {}", workflow.name, workflow.status)),
        from_github: false,
        finished_workflow: Some(FinishedWorkflow {
            pipeline_id: event.pipeline.id.clone(),
            workflow_id: workflow.id.clone(),
        }),
    };
    invoke::send(state.invoker()?, &request).await?;
    Ok(accepted(format!("deployment {} → {to}", record.id)))
}

/// The legacy per-job `notify` payload.
async fn legacy(state: &AppState, body: &[u8]) -> Result<Response, AppError> {
    let notify: LegacyNotify = parse_json("notify", body)?;
    let build = notify.payload;
    let Some(repository) = build.repository() else {
        return Err(AppError::bad_request(
            "notify payload: missing field `username` or `reponame`",
        ));
    };
    let record = match build.deployment_id() {
        Some(id) => {
            state
                .deployments()?
                .get_deployment(&repository, &id)
                .await?
        }
        None => match build.sha() {
            Some(sha) => state
                .deployments()?
                .deployments_by_sha(&repository, &sha, 20)
                .await?
                .into_iter()
                .find(|d| {
                    matches!(
                        d.state,
                        DeploymentState::Created
                            | DeploymentState::Queued
                            | DeploymentState::InProgress
                    )
                }),
            None => None,
        },
    };
    let Some(record) = record else {
        return Ok(ignored(format!(
            "build {} belongs to no deployment in flight",
            build.build_num
        )));
    };
    let key = format!("circleci-notify:{repository}:{}", build.build_num);
    let work = async {
        let to = ci_outcome_state(build.outcome());
        let request = DeploymentStatusRequest {
            repository: record.repository.clone(),
            deployment_id: record.id.clone(),
            state: to,
            log_url: build.build_url.clone(),
            environment_url: record.environment_url.clone(),
            description: Some(format!("job #{} {}", build.build_num, build.outcome())),
            from_github: false,
            finished_workflow: None,
        };
        invoke::send(state.invoker()?, &request).await?;
        Ok(accepted(format!("deployment {} → {to}", record.id)))
    };
    once(state, &key, work).await
}
