//! A fake CircleCI (API v2): keeps pipelines (uuid-like id, number counting up per project,
//! branch or tag, parameters) and their workflows, and can be told to complete a pipeline by
//! sending a signed `workflow-completed` webhook. It implements the `CiBackend` port directly
//! and serves the same state over HTTP on 127.0.0.1, with scripted failures on both paths.
//!
//! It speaks as CircleCI does: a failure carries CircleCI's own `message` (over HTTP in the
//! JSON body, directly as the payload of the `CiError` kind the adapter maps that answer to).
//! The advice the adapter adds for people (check `CIRCLECI_TOKEN`, declare the parameter in
//! `.circleci/config.yml`) is the adapter's, so only the adapter's callers see it.

use super::server::{FakeServer, Faults, SeenRequest, rfc3339, uuid_like};
use crate::signing::{SignedRequest, circleci_request_bytes};
use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use deploybot_core::ports::{
    CiBackend, CiError, CiRun, Clock, PipelineRequest, PipelineStarted, SystemClock, WorkflowInfo,
};
use deploybot_core::signature::SigningSecret;
use deploybot_core::{GitRef, Timestamp};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

mod webhooks;
pub use webhooks::FakeWebhook;

/// Where people open pipelines by default.
pub const DEFAULT_APP_URL: &str = "https://app.circleci.com";

/// Call names as recorded by [`FakeCircleCi::calls`].
pub mod call {
    pub const START_PIPELINE: &str = "start_pipeline";
    pub const PIPELINE_WORKFLOWS: &str = "pipeline_workflows";
    pub const CANCEL_WORKFLOW: &str = "cancel_workflow";
}

/// A failure scripted with [`FakeCircleCi::fail_next_with`]. A direct call returns the kind
/// of error the adapter maps the HTTP answer to, with CircleCI's `message` as its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CircleCiFailure {
    /// This HTTP status (a direct call: `CiError::Server { status }`).
    Status(u16),
    /// 429 with `Retry-After`.
    RateLimited { retry_after_secs: u64 },
    /// 401 `{"message": "Invalid token provided."}`.
    Unauthorized,
    /// 404 `{"message": "Project not found"}` (or `Pipeline not found`).
    NotFound,
    /// 400 with this `message`, e.g. `Unexpected argument(s): environment`.
    Rejected(String),
}

impl CircleCiFailure {
    /// The 400 CircleCI answers when a pipeline parameter is not declared in the config.
    pub fn parameter_not_declared(name: &str) -> Self {
        Self::Rejected(format!("Unexpected argument(s): {name}"))
    }
}

/// What a pipeline was started on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineTarget {
    Branch(String),
    Tag(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeWorkflow {
    pub id: String,
    pub name: String,
    /// `running` until completed, then what [`FakeCircleCi::complete`] was given.
    pub status: String,
    pub created_at: Timestamp,
    pub stopped_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePipeline {
    pub id: String,
    pub number: u64,
    /// `gh/<owner>/<repo>`, `bb/...`, `circleci/<org-id>/<project-id>`.
    pub project_slug: String,
    pub target: PipelineTarget,
    /// The pipeline definition it was started through (`/pipeline/run`), if any.
    pub definition_id: Option<String>,
    /// The pipeline parameters exactly as received.
    pub parameters: serde_json::Map<String, Value>,
    pub created_at: Timestamp,
    pub workflows: Vec<FakeWorkflow>,
}

impl FakePipeline {
    /// A parameter as text (strings as is, other JSON values printed).
    pub fn parameter(&self, name: &str) -> Option<String> {
        self.parameters.get(name).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
}

/// Why a webhook could not be built or sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the fake CircleCI has no pipeline {0}")]
    UnknownPipeline(String),
    #[error("sending the webhook: {0}")]
    Transport(String),
}

#[derive(Debug)]
struct CircleCiState {
    pipelines: Vec<FakePipeline>,
    next_number: HashMap<String, u64>,
    stable_ids: HashMap<String, String>,
    next_job_number: u64,
    workflow_name: String,
    app_url: String,
    webhook_id: String,
    calls: Vec<String>,
    requests: Vec<SeenRequest>,
    faults: Faults<CircleCiFailure>,
    required_token: Option<String>,
    /// Pipeline definitions per project slug; a project not listed accepts any.
    definitions: HashMap<String, Vec<String>>,
    /// Outbound webhooks created through `POST /webhook` (see [`webhooks`]).
    webhooks: Vec<webhooks::FakeWebhook>,
}

impl Default for CircleCiState {
    fn default() -> Self {
        Self {
            pipelines: Vec::new(),
            next_number: HashMap::new(),
            stable_ids: HashMap::new(),
            // Job numbers are not pipeline numbers: start elsewhere so nobody confuses them.
            next_job_number: 4186,
            workflow_name: "deploy".into(),
            app_url: DEFAULT_APP_URL.into(),
            webhook_id: uuid_like(),
            calls: Vec::new(),
            requests: Vec::new(),
            faults: Faults::default(),
            required_token: None,
            definitions: HashMap::new(),
            webhooks: Vec::new(),
        }
    }
}

/// The fake CircleCI. Clones share one state.
#[derive(Debug, Clone, Default)]
pub struct FakeCircleCi {
    state: Arc<Mutex<CircleCiState>>,
}

/// CircleCI's `message` for an unknown project or pipeline.
const PROJECT_NOT_FOUND: &str = "Project not found";
const PIPELINE_NOT_FOUND: &str = "Pipeline not found";

impl CircleCiFailure {
    /// The `message` CircleCI answers with (`not_found`: the 404's, which names the thing).
    fn message<'a>(&'a self, not_found: &'a str) -> &'a str {
        match self {
            Self::Status(_) => "Internal server error",
            Self::RateLimited { .. } => "Rate limit exceeded",
            Self::Unauthorized => "Invalid token provided.",
            Self::NotFound => not_found,
            Self::Rejected(text) => text,
        }
    }

    /// A direct call's error.
    fn to_error(&self, not_found: &str) -> CiError {
        let message = self.message(not_found).to_owned();
        match self {
            Self::Status(status) => CiError::Server { status: *status },
            Self::RateLimited { retry_after_secs } => CiError::RateLimited {
                retry_after_secs: *retry_after_secs,
            },
            Self::Unauthorized => CiError::Unauthorized(message),
            Self::NotFound => CiError::NotFound(message),
            Self::Rejected(_) => CiError::Rejected(message),
        }
    }
}

impl FakeCircleCi {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, CircleCiState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    // ---- setup ------------------------------------------------------------------------------

    /// The web app base for the links the fake returns (default [`DEFAULT_APP_URL`]).
    pub fn set_app_url(&self, url: &str) {
        self.state().app_url = url.trim_end_matches('/').to_owned();
    }

    /// The name of the one workflow each new pipeline gets (default `deploy`).
    pub fn set_workflow_name(&self, name: &str) {
        self.state().workflow_name = name.to_owned();
    }

    /// Over HTTP, only this `Circle-Token` is accepted (others answer 401). By default any
    /// non-empty token is.
    pub fn require_token(&self, token: &str) {
        self.state().required_token = Some(token.to_owned());
    }

    // ---- scripted failures ------------------------------------------------------------------

    /// The next `times` calls answer HTTP `status`.
    pub fn fail_next(&self, times: usize, status: u16) {
        self.fail_next_with(times, CircleCiFailure::Status(status));
    }

    /// The next `times` calls answer 429 with `Retry-After: retry_after_secs`.
    pub fn rate_limit_next(&self, times: usize, retry_after_secs: u64) {
        self.fail_next_with(times, CircleCiFailure::RateLimited { retry_after_secs });
    }

    pub fn fail_next_with(&self, times: usize, failure: CircleCiFailure) {
        self.state().faults.push(times, failure);
    }

    /// Every answer (direct or HTTP) waits this long first; `None` answers at once.
    pub fn set_delay(&self, delay: Option<Duration>) {
        self.state().faults.delay = delay;
    }

    // ---- what happened ----------------------------------------------------------------------

    /// Every pipeline, in the order started.
    pub fn pipelines(&self) -> Vec<FakePipeline> {
        self.state().pipelines.clone()
    }

    pub fn pipeline(&self, id: &str) -> Option<FakePipeline> {
        self.state().pipelines.iter().find(|p| p.id == id).cloned()
    }

    /// Call names in order, including failed calls (see [`call`]).
    pub fn calls(&self) -> Vec<String> {
        self.state().calls.clone()
    }

    /// The HTTP requests the fake received, in order.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.state().requests.clone()
    }

    // ---- completion -------------------------------------------------------------------------

    /// Finishes the pipeline's workflow with `status` (`success`, `failed`, `error`,
    /// `canceled`, `unauthorized`) and POSTs the signed `workflow-completed` webhook to
    /// `webhook_url`. Returns the HTTP status the receiver answered.
    pub async fn complete(
        &self,
        pipeline_id: &str,
        status: &str,
        webhook_url: &str,
        secret: &SigningSecret,
    ) -> Result<u16, WebhookError> {
        let request = self.completion_payload(pipeline_id, status, secret)?;
        let client = reqwest::Client::new();
        let mut builder = client.post(webhook_url).body(request.body);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let response = builder
            .send()
            .await
            .map_err(|e| WebhookError::Transport(e.to_string()))?;
        Ok(response.status().as_u16())
    }

    /// Like [`FakeCircleCi::complete`] (the workflow is finished with `status`), but returns
    /// the signed webhook instead of sending it, for in-process router tests.
    pub fn completion_payload(
        &self,
        pipeline_id: &str,
        status: &str,
        secret: &SigningSecret,
    ) -> Result<SignedRequest, WebhookError> {
        let body = self.finish(pipeline_id, status, |state, pipeline, workflow| {
            workflow_completed(state, pipeline, workflow)
        })?;
        Ok(circleci_request_bytes(
            secret,
            "workflow-completed",
            body.to_string().into_bytes(),
        ))
    }

    /// One job of the pipeline's (still running) workflow finished: the signed `job-completed`
    /// webhook CircleCI sends then (shaped like its published example), for in-process router
    /// tests. The workflow keeps running.
    pub fn job_completed_payload(
        &self,
        pipeline_id: &str,
        job: &str,
        secret: &SigningSecret,
    ) -> Result<SignedRequest, WebhookError> {
        let mut state = self.state();
        let pipeline = state
            .pipelines
            .iter()
            .find(|p| p.id == pipeline_id)
            .cloned()
            .ok_or_else(|| WebhookError::UnknownPipeline(pipeline_id.to_owned()))?;
        let workflow = pipeline
            .workflows
            .first()
            .cloned()
            .ok_or_else(|| WebhookError::UnknownPipeline(pipeline_id.to_owned()))?;
        state.next_job_number += 1;
        let number = state.next_job_number;
        let mut body = workflow_completed(&mut state, &pipeline, &workflow);
        body["type"] = json!("job-completed");
        body["job"] = json!({
            "id": uuid_like(),
            "name": job,
            "number": number,
            "status": "success",
            "started_at": rfc3339(workflow.created_at),
            "stopped_at": rfc3339(SystemClock.now()),
        });
        Ok(circleci_request_bytes(
            secret,
            "job-completed",
            body.to_string().into_bytes(),
        ))
    }

    /// Finishes the pipeline's workflow with `outcome` and returns the legacy per-job
    /// `notify` body (`{"payload": {build_num, build_url, outcome, status, vcs_revision,
    /// reponame, username, branch, ...}}`), which CircleCI sent unsigned.
    pub fn legacy_notify_payload(
        &self,
        pipeline_id: &str,
        outcome: &str,
    ) -> Result<Value, WebhookError> {
        self.finish(pipeline_id, outcome, |state, pipeline, workflow| {
            legacy_notify(state, pipeline, workflow, outcome)
        })
    }

    fn finish(
        &self,
        pipeline_id: &str,
        status: &str,
        render: impl FnOnce(&mut CircleCiState, &FakePipeline, &FakeWorkflow) -> Value,
    ) -> Result<Value, WebhookError> {
        let now = SystemClock.now();
        let mut state = self.state();
        let pipeline = state
            .pipelines
            .iter_mut()
            .find(|p| p.id == pipeline_id)
            .ok_or_else(|| WebhookError::UnknownPipeline(pipeline_id.to_owned()))?;
        let workflow = pipeline
            .workflows
            .first_mut()
            .ok_or_else(|| WebhookError::UnknownPipeline(pipeline_id.to_owned()))?;
        workflow.status = status.to_owned();
        workflow.stopped_at = Some(now);
        let workflow = workflow.clone();
        let pipeline = pipeline.clone();
        Ok(render(&mut state, &pipeline, &workflow))
    }

    /// The project `slug` has exactly these pipeline definitions (others answer 404).
    pub fn set_definitions(&self, slug: &str, ids: &[&str]) {
        self.state().definitions.insert(
            slug.to_owned(),
            ids.iter().map(|id| (*id).to_owned()).collect(),
        );
    }

    /// Someone re-ran the pipeline's workflow: CircleCI adds a new workflow of the same name,
    /// running, to the same pipeline. False for an unknown pipeline.
    pub fn rerun(&self, pipeline_id: &str) -> bool {
        let now = SystemClock.now();
        let mut state = self.state();
        let Some(pipeline) = state.pipelines.iter_mut().find(|p| p.id == pipeline_id) else {
            return false;
        };
        let name = pipeline
            .workflows
            .first()
            .map_or_else(|| "deploy".to_owned(), |w| w.name.clone());
        pipeline.workflows.push(FakeWorkflow {
            id: uuid_like(),
            name,
            status: "running".into(),
            created_at: now,
            stopped_at: None,
        });
        true
    }

    // ---- HTTP -------------------------------------------------------------------------------

    /// Serves this fake's state on 127.0.0.1 until the returned server is dropped (point
    /// `CIRCLECI_API_URL` at `base_url`): `POST /project/{vcs}/{org}/{repo}/pipeline` and
    /// `GET /pipeline/{id}/workflow`.
    pub async fn try_serve(&self) -> std::io::Result<FakeServer> {
        let router = Router::new()
            .route("/project/{vcs}/{org}/{repo}/pipeline", post(http_start))
            .route("/project/{vcs}/{org}/{repo}/pipeline/run", post(http_run))
            .route("/pipeline/{id}/workflow", get(http_workflows))
            .route("/workflow/{id}/cancel", post(http_cancel_workflow))
            .route("/project/{vcs}/{org}/{repo}", get(webhooks::http_project))
            .route(
                "/webhook",
                get(webhooks::http_list_webhooks).post(webhooks::http_create_webhook),
            )
            .with_state(self.clone());
        FakeServer::start(router).await
    }

    /// [`FakeCircleCi::try_serve`] for tests.
    ///
    /// # Panics
    /// When 127.0.0.1 cannot be bound.
    pub async fn serve(&self) -> FakeServer {
        self.try_serve()
            .await
            .expect("binding 127.0.0.1:0 for the fake CircleCI")
    }

    // ---- the shared behaviour of both paths -------------------------------------------------

    async fn gate(&self, call: &str) -> Result<(), CircleCiFailure> {
        let (failure, delay) = {
            let mut state = self.state();
            state.calls.push(call.to_owned());
            (state.faults.next(), state.faults.delay)
        };
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        failure.map_or(Ok(()), Err)
    }

    async fn do_start(
        &self,
        project_slug: &str,
        target: PipelineTarget,
        definition_id: Option<String>,
        parameters: serde_json::Map<String, Value>,
    ) -> Result<FakePipeline, CircleCiFailure> {
        self.gate(call::START_PIPELINE).await?;
        let now = SystemClock.now();
        let mut state = self.state();
        if let (Some(id), Some(known)) = (&definition_id, state.definitions.get(project_slug))
            && !known.contains(id)
        {
            return Err(CircleCiFailure::NotFound);
        }
        let number = state
            .next_number
            .entry(project_slug.to_owned())
            .and_modify(|n| *n += 1)
            .or_insert(1);
        let number = *number;
        let workflow = FakeWorkflow {
            id: uuid_like(),
            name: state.workflow_name.clone(),
            status: "running".into(),
            created_at: now,
            stopped_at: None,
        };
        let pipeline = FakePipeline {
            id: uuid_like(),
            number,
            project_slug: project_slug.to_owned(),
            target,
            definition_id,
            parameters,
            created_at: now,
            workflows: vec![workflow],
        };
        state.pipelines.push(pipeline.clone());
        Ok(pipeline)
    }

    /// `POST /workflow/{id}/cancel`: a workflow still going becomes `canceled`; one that
    /// ended stays as it is (CircleCI accepts the request either way).
    async fn do_cancel_workflow(&self, workflow_id: &str) -> Result<(), CircleCiFailure> {
        self.gate(call::CANCEL_WORKFLOW).await?;
        let now = SystemClock.now();
        let mut state = self.state();
        let workflow = state
            .pipelines
            .iter_mut()
            .flat_map(|p| p.workflows.iter_mut())
            .find(|w| w.id == workflow_id)
            .ok_or(CircleCiFailure::NotFound)?;
        if matches!(workflow.status.as_str(), "running" | "on_hold" | "failing") {
            workflow.status = "canceled".into();
            workflow.stopped_at = Some(now);
        }
        Ok(())
    }

    async fn do_workflows(&self, pipeline_id: &str) -> Result<FakePipeline, CircleCiFailure> {
        self.gate(call::PIPELINE_WORKFLOWS).await?;
        self.pipeline(pipeline_id).ok_or(CircleCiFailure::NotFound)
    }

    fn app_url(&self) -> String {
        self.state().app_url.clone()
    }
}

fn pipeline_url(app_url: &str, pipeline: &FakePipeline) -> String {
    format!(
        "{app_url}/pipelines/{}/{}",
        pipeline.project_slug, pipeline.number
    )
}

fn workflow_url(app_url: &str, pipeline: &FakePipeline, workflow: &FakeWorkflow) -> String {
    format!(
        "{}/workflows/{}",
        pipeline_url(app_url, pipeline),
        workflow.id
    )
}

/// The parameters as the adapter sends them: strings, `subdomain` and `url` only when set,
/// and the boolean `rollback`.
fn parameters_of(request: &PipelineRequest) -> serde_json::Map<String, Value> {
    let p = &request.parameters;
    let mut map = serde_json::Map::new();
    map.insert("environment".into(), p.environment.to_string().into());
    map.insert("version".into(), p.version.clone().into());
    if let Some(subdomain) = &p.subdomain {
        map.insert("subdomain".into(), subdomain.clone().into());
    }
    if let Some(url) = &p.url {
        map.insert("url".into(), url.clone().into());
    }
    map.insert("sha".into(), p.sha.to_string().into());
    map.insert("deployment_id".into(), p.deployment_id.to_string().into());
    map.insert("rollback".into(), p.rollback.into());
    map
}

#[async_trait]
impl CiBackend for FakeCircleCi {
    fn name(&self) -> &'static str {
        "CircleCI"
    }

    async fn start_pipeline(&self, request: &PipelineRequest) -> Result<PipelineStarted, CiError> {
        let (slug, definition_id) = match &request.target {
            deploybot_core::ci::CiTarget::CircleCi {
                project_slug,
                definition_id,
            } => (
                project_slug.clone().unwrap_or_else(|| {
                    format!(
                        "gh/{}/{}",
                        request.repository.owner(),
                        request.repository.name()
                    )
                }),
                definition_id.clone(),
            ),
            other => {
                return Err(CiError::Rejected(format!(
                    "{other} is not a CircleCI project"
                )));
            }
        };
        let target = match &request.git_ref {
            GitRef::Tag(tag) => PipelineTarget::Tag(tag.clone()),
            GitRef::Branch(name) | GitRef::Name(name) => PipelineTarget::Branch(name.clone()),
        };
        let pipeline = self
            .do_start(&slug, target, definition_id.clone(), parameters_of(request))
            .await
            .map_err(|f| match (&f, &definition_id) {
                // As the adapter words CircleCI's 404 for a definition.
                (CircleCiFailure::NotFound, Some(id)) => CiError::NotFound(format!(
                    "CircleCI knows no pipeline definition {id} in project {slug} (or the token cannot see them): check `definition_id` under Project Settings → Pipelines and `project_slug` in .github/deploybot.yml"
                )),
                _ => f.to_error(PROJECT_NOT_FOUND),
            })?;
        Ok(PipelineStarted {
            url: Some(pipeline_url(&self.app_url(), &pipeline)),
            id: pipeline.id,
            number: pipeline.number,
        })
    }

    async fn cancel_run(&self, run: &CiRun) -> Result<(), CiError> {
        let pipeline = self
            .do_workflows(&run.id)
            .await
            .map_err(|f| f.to_error(PIPELINE_NOT_FOUND))?;
        for w in &pipeline.workflows {
            if matches!(w.status.as_str(), "running" | "on_hold" | "failing") {
                self.do_cancel_workflow(&w.id)
                    .await
                    .map_err(|f| f.to_error(PIPELINE_NOT_FOUND))?;
            }
        }
        Ok(())
    }

    async fn pipeline_workflows(&self, run: &CiRun) -> Result<Vec<WorkflowInfo>, CiError> {
        let pipeline_id = run.id.as_str();
        let pipeline = self
            .do_workflows(pipeline_id)
            .await
            .map_err(|f| f.to_error(PIPELINE_NOT_FOUND))?;
        let app_url = self.app_url();
        Ok(pipeline
            .workflows
            .iter()
            .map(|w| WorkflowInfo {
                id: w.id.clone(),
                name: w.name.clone(),
                status: w.status.clone(),
                url: workflow_url(&app_url, &pipeline, w),
            })
            .collect())
    }
}

// =============================================================================================
// Webhook bodies

fn slug_parts(slug: &str) -> (&str, &str) {
    let mut parts = slug.splitn(3, '/').skip(1);
    (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    )
}

/// A stable uuid-like id per project slug or organisation name.
fn stable_id(state: &mut CircleCiState, key: &str) -> String {
    state
        .stable_ids
        .entry(key.to_owned())
        .or_insert_with(uuid_like)
        .clone()
}

fn workflow_completed(
    state: &mut CircleCiState,
    pipeline: &FakePipeline,
    workflow: &FakeWorkflow,
) -> Value {
    let (org, repo) = slug_parts(&pipeline.project_slug);
    let repository_url = format!("https://github.com/{org}/{repo}");
    let mut vcs = json!({
        "provider_name": "github",
        "origin_repository_url": repository_url,
        "target_repository_url": repository_url,
        "revision": pipeline.parameter("sha").unwrap_or_default(),
        "commit": {
            "subject": "Deploy",
            "body": "",
            "author": {"name": "Ada Lovelace", "email": "ada@example.com"},
            "authored_at": rfc3339(pipeline.created_at),
            "committer": {"name": "Ada Lovelace", "email": "ada@example.com"},
            "committed_at": rfc3339(pipeline.created_at),
        },
    });
    match &pipeline.target {
        PipelineTarget::Branch(branch) => vcs["branch"] = json!(branch),
        PipelineTarget::Tag(tag) => vcs["tag"] = json!(tag),
    }
    let project_id = stable_id(state, &pipeline.project_slug);
    let organization_id = stable_id(state, &format!("org:{org}"));
    json!({
        "type": "workflow-completed",
        "id": uuid_like(),
        "happened_at": rfc3339(workflow.stopped_at.unwrap_or(workflow.created_at)),
        "webhook": {"id": state.webhook_id, "name": "deploybot"},
        "workflow": {
            "id": workflow.id,
            "name": workflow.name,
            "created_at": rfc3339(workflow.created_at),
            "stopped_at": workflow.stopped_at.map(rfc3339),
            "url": workflow_url(&state.app_url, pipeline, workflow),
            "status": workflow.status,
        },
        "pipeline": {
            "id": pipeline.id,
            "number": pipeline.number,
            "created_at": rfc3339(pipeline.created_at),
            "trigger": {"type": "api"},
            "vcs": vcs,
        },
        "project": {"id": project_id, "name": repo, "slug": pipeline.project_slug},
        "organization": {"id": organization_id, "name": org},
    })
}

fn legacy_notify(
    state: &mut CircleCiState,
    pipeline: &FakePipeline,
    workflow: &FakeWorkflow,
    outcome: &str,
) -> Value {
    let (org, repo) = slug_parts(&pipeline.project_slug);
    state.next_job_number += 1;
    let build_num = state.next_job_number;
    let (branch, tag) = match &pipeline.target {
        PipelineTarget::Branch(b) => (Some(b.clone()), None),
        PipelineTarget::Tag(t) => (None, Some(t.clone())),
    };
    let stop = workflow.stopped_at.unwrap_or(workflow.created_at);
    json!({
        "payload": {
            "vcs_url": format!("https://github.com/{org}/{repo}"),
            "build_url": format!("https://circleci.com/gh/{org}/{repo}/{build_num}"),
            "build_num": build_num,
            "branch": branch,
            "vcs_tag": tag,
            "vcs_revision": pipeline.parameter("sha").unwrap_or_default(),
            "committer_name": "Ada Lovelace",
            "committer_email": "ada@example.com",
            "subject": "Deploy",
            "body": "",
            "why": "api",
            "reponame": repo,
            "username": org,
            "lifecycle": "finished",
            "outcome": outcome,
            "status": outcome,
            "queued_at": rfc3339(workflow.created_at),
            "start_time": rfc3339(workflow.created_at),
            "stop_time": rfc3339(stop),
            "build_time_millis": stop.millis().saturating_sub(workflow.created_at.millis()),
            "workflows": {
                "workflow_id": workflow.id,
                "workflow_name": workflow.name,
                "job_name": workflow.name,
            },
        }
    })
}

// =============================================================================================
// HTTP

fn message(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(json!({"message": text}))).into_response()
}

fn failure_response(failure: &CircleCiFailure, not_found_text: &str) -> Response {
    let text = failure.message(not_found_text);
    match failure {
        CircleCiFailure::Status(status) => message(
            StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            text,
        ),
        CircleCiFailure::RateLimited { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", retry_after_secs.to_string())],
            axum::Json(json!({"message": text})),
        )
            .into_response(),
        CircleCiFailure::Unauthorized => message(StatusCode::UNAUTHORIZED, text),
        CircleCiFailure::NotFound => message(StatusCode::NOT_FOUND, text),
        CircleCiFailure::Rejected(_) => message(StatusCode::BAD_REQUEST, text),
    }
}

impl FakeCircleCi {
    fn record(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) {
        self.state()
            .requests
            .push(SeenRequest::from_parts(method, uri, headers, body));
    }

    /// 401 for a missing token, or one other than the required token.
    fn token_refused(&self, headers: &HeaderMap) -> bool {
        let token = headers
            .get("circle-token")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty());
        match (token, &self.state().required_token) {
            (None, _) => true,
            (Some(given), Some(required)) => given != required,
            (Some(_), None) => false,
        }
    }
}

/// `/pipeline/run`'s body.
#[derive(serde::Deserialize)]
struct RunBody {
    definition_id: String,
    config: RunSource,
    checkout: RunSource,
    #[serde(default)]
    parameters: serde_json::Map<String, Value>,
}

#[derive(serde::Deserialize, PartialEq, Eq)]
struct RunSource {
    branch: Option<String>,
    tag: Option<String>,
}

/// `POST /project/{slug}/pipeline/run`: any integration's project; the checkout's branch or
/// tag is the pipeline's (config and checkout must agree here: deploybot sends both alike).
async fn http_run(
    State(fake): State<FakeCircleCi>,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    fake.record(&method, &uri, &headers, &body);
    if fake.token_refused(&headers) {
        fake.state().calls.push(call::START_PIPELINE.to_owned());
        return failure_response(&CircleCiFailure::Unauthorized, "");
    }
    let refuse = |text: &str| {
        fake.state().calls.push(call::START_PIPELINE.to_owned());
        message(StatusCode::BAD_REQUEST, text)
    };
    let Ok(run) = serde_json::from_slice::<RunBody>(&body) else {
        return refuse("Invalid JSON body.");
    };
    if run.config != run.checkout {
        return refuse("config and checkout name different sources");
    }
    let target = match (run.checkout.branch, run.checkout.tag) {
        (Some(branch), None) => PipelineTarget::Branch(branch),
        (None, Some(tag)) => PipelineTarget::Tag(tag),
        _ => return refuse("checkout needs exactly one of branch and tag"),
    };
    let slug = format!("{vcs}/{org}/{repo}");
    match fake
        .do_start(&slug, target, Some(run.definition_id), run.parameters)
        .await
    {
        Ok(pipeline) => (
            StatusCode::CREATED,
            axum::Json(json!({
                "id": pipeline.id,
                "state": "created",
                "number": pipeline.number,
                "created_at": rfc3339(pipeline.created_at),
            })),
        )
            .into_response(),
        Err(failure) => failure_response(&failure, "Pipeline definition not found"),
    }
}

#[derive(serde::Deserialize)]
struct StartBody {
    branch: Option<String>,
    tag: Option<String>,
    #[serde(default)]
    parameters: serde_json::Map<String, Value>,
}

async fn http_start(
    State(fake): State<FakeCircleCi>,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    fake.record(&method, &uri, &headers, &body);
    if fake.token_refused(&headers) {
        fake.state().calls.push(call::START_PIPELINE.to_owned());
        return failure_response(&CircleCiFailure::Unauthorized, "");
    }
    let vcs = match vcs.as_str() {
        "gh" | "github" => "gh",
        "bb" | "bitbucket" => "bb",
        _ => {
            fake.state().calls.push(call::START_PIPELINE.to_owned());
            return message(StatusCode::NOT_FOUND, PROJECT_NOT_FOUND);
        }
    };
    let start: StartBody = match serde_json::from_slice(&body) {
        Ok(start) => start,
        Err(_) => {
            fake.state().calls.push(call::START_PIPELINE.to_owned());
            return message(StatusCode::BAD_REQUEST, "Invalid JSON body.");
        }
    };
    let target = match (start.branch, start.tag) {
        (Some(_), Some(_)) => {
            fake.state().calls.push(call::START_PIPELINE.to_owned());
            return message(
                StatusCode::BAD_REQUEST,
                "You cannot specify both a branch and a tag.",
            );
        }
        (_, Some(tag)) => PipelineTarget::Tag(tag),
        (Some(branch), None) => PipelineTarget::Branch(branch),
        (None, None) => PipelineTarget::Branch("main".into()),
    };
    let slug = format!("{vcs}/{org}/{repo}").to_ascii_lowercase();
    match fake.do_start(&slug, target, None, start.parameters).await {
        Ok(pipeline) => (
            StatusCode::CREATED,
            axum::Json(json!({
                "id": pipeline.id,
                "state": "created",
                "number": pipeline.number,
                "created_at": rfc3339(pipeline.created_at),
            })),
        )
            .into_response(),
        Err(failure) => failure_response(&failure, PROJECT_NOT_FOUND),
    }
}

async fn http_cancel_workflow(
    State(fake): State<FakeCircleCi>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    fake.record(&method, &uri, &headers, &[]);
    if fake.token_refused(&headers) {
        fake.state().calls.push(call::CANCEL_WORKFLOW.to_owned());
        return failure_response(&CircleCiFailure::Unauthorized, "");
    }
    match fake.do_cancel_workflow(&id).await {
        Ok(()) => (
            StatusCode::ACCEPTED,
            axum::Json(json!({"message": "Accepted."})),
        )
            .into_response(),
        Err(failure) => failure_response(&failure, "Workflow not found"),
    }
}

async fn http_workflows(
    State(fake): State<FakeCircleCi>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    fake.record(&method, &uri, &headers, &[]);
    if fake.token_refused(&headers) {
        fake.state().calls.push(call::PIPELINE_WORKFLOWS.to_owned());
        return failure_response(&CircleCiFailure::Unauthorized, "");
    }
    match fake.do_workflows(&id).await {
        Ok(pipeline) => {
            let items: Vec<Value> = pipeline
                .workflows
                .iter()
                .map(|w| {
                    json!({
                        "pipeline_id": pipeline.id,
                        "id": w.id,
                        "name": w.name,
                        "project_slug": pipeline.project_slug,
                        "status": w.status,
                        "started_by": "5e8a2f8c-1234-4c3b-9d6e-000000000000",
                        "pipeline_number": pipeline.number,
                        "created_at": rfc3339(w.created_at),
                        "stopped_at": w.stopped_at.map(rfc3339),
                    })
                })
                .collect();
            axum::Json(json!({"items": items, "next_page_token": null})).into_response()
        }
        Err(failure) => failure_response(&failure, PIPELINE_NOT_FOUND),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deploybot_core::ports::PipelineParameters;
    use deploybot_core::signature::verify_circleci;
    use deploybot_core::{DeploymentId, Environment, Repository, Sha};

    fn request(git_ref: GitRef, environment: Environment) -> PipelineRequest {
        PipelineRequest {
            repository: Repository::parse("acme/web").expect("repository"),
            git_ref,
            parameters: PipelineParameters {
                environment: environment.clone(),
                version: "test-0123456789".into(),
                subdomain: (environment != Environment::Production)
                    .then(|| environment.to_string()),
                url: None,
                sha: Sha::parse("0123456789abcdef0123456789abcdef01234567").expect("sha"),
                deployment_id: DeploymentId::new(Timestamp::from_secs(1_700_000_000), 7),
                rollback: false,
            },
            target: Default::default(),
        }
    }

    #[tokio::test]
    async fn numbers_pipelines_per_project_and_completes_them() {
        let ci = FakeCircleCi::new();
        let first = ci
            .start_pipeline(&request(
                GitRef::branch("release-1").expect("branch"),
                Environment::Test,
            ))
            .await
            .expect("started");
        let second = ci
            .start_pipeline(&request(
                GitRef::tag("v1.0").expect("tag"),
                Environment::Production,
            ))
            .await
            .expect("started");
        assert_eq!((first.number, second.number), (1, 2));
        assert_eq!(
            first.url.as_deref(),
            Some("https://app.circleci.com/pipelines/gh/acme/web/1")
        );
        let stored = ci.pipeline(&second.id).expect("stored");
        assert_eq!(stored.target, PipelineTarget::Tag("v1.0".into()));
        assert_eq!(stored.parameter("subdomain"), None);
        assert_eq!(
            ci.pipeline(&first.id)
                .expect("stored")
                .parameter("subdomain"),
            Some("test".into())
        );

        let secret = SigningSecret::new("hook");
        let signed = ci
            .completion_payload(&first.id, "success", &secret)
            .expect("known pipeline");
        assert_eq!(
            verify_circleci(&secret, signed.header("circleci-signature"), &signed.body),
            Ok(())
        );
        let body: Value = serde_json::from_slice(&signed.body).expect("json");
        assert_eq!(body["type"], "workflow-completed");
        assert_eq!(body["pipeline"]["id"], json!(first.id));
        assert_eq!(body["pipeline"]["vcs"]["branch"], "release-1");
        assert_eq!(body["workflow"]["status"], "success");
        let run = CiRun {
            backend: deploybot_core::ci::CiKind::CircleCi,
            repository: Repository::parse("acme/web").expect("repository"),
            id: first.id.clone(),
        };
        let workflows = ci.pipeline_workflows(&run).await.expect("workflows");
        assert_eq!(workflows[0].status, "success");
        assert!(
            workflows[0]
                .url
                .starts_with("https://app.circleci.com/pipelines/gh/acme/web/1/workflows/")
        );

        let legacy = ci
            .legacy_notify_payload(&second.id, "failed")
            .expect("known pipeline");
        assert_eq!(legacy["payload"]["outcome"], "failed");
        assert_eq!(legacy["payload"]["vcs_tag"], "v1.0");
        assert_eq!(
            ci.completion_payload("nope", "success", &secret),
            Err(WebhookError::UnknownPipeline("nope".into()))
        );
    }

    #[tokio::test]
    async fn scripted_failures_map_to_typed_errors() {
        let ci = FakeCircleCi::new();
        ci.fail_next_with(1, CircleCiFailure::parameter_not_declared("environment"));
        ci.fail_next_with(1, CircleCiFailure::NotFound);
        ci.fail_next_with(1, CircleCiFailure::Unauthorized);
        let req = request(
            GitRef::branch("main").expect("branch"),
            Environment::Preview,
        );
        assert_eq!(
            ci.start_pipeline(&req).await,
            Err(CiError::Rejected(
                "Unexpected argument(s): environment".into()
            ))
        );
        assert_eq!(
            ci.start_pipeline(&req).await,
            Err(CiError::NotFound("Project not found".into()))
        );
        assert_eq!(
            ci.start_pipeline(&req).await,
            Err(CiError::Unauthorized("Invalid token provided.".into()))
        );
        assert!(ci.start_pipeline(&req).await.is_ok());
        assert_eq!(ci.pipelines().len(), 1);
        assert_eq!(ci.calls().len(), 4);
    }
}
