//! GitHub Actions as a CI backend (implements `CiBackend`), through the GitHub App's
//! installation: a deployment's workflow is dispatched (`workflow_dispatch`) on the default
//! branch — the workflow's own version — with the deployment's facts as `inputs`, and a run is
//! read back for the watchdog. docs/github-actions.md is the workflow this expects.
//!
//! Latency budget: called from `circleci-trigger` (an asynchronous invoke): the default
//! branch (cached by GitHub's answer only), the dispatch, and one read of the run; each request
//! bounded by the GitHub adapter's `HttpPolicy`.
//!
//! Idempotency: a dispatch starts a run each time it is sent, so it is never retried once it
//! may have reached GitHub (the caller holds an idempotency key per deployment); reads are.
//! The run is asked for in the dispatch's answer (`return_run_details`); a GitHub that does
//! not know that parameter (older GitHub Enterprise Server) is asked again without it, and the
//! run is then found by its name, `deploy <deployment id>`.

use super::GitHubClient;
use super::request::Answer;
use crate::http::Idempotency;
use async_trait::async_trait;
use deploybot_core::Repository;
use deploybot_core::ci::{CiKind, CiTarget, actions_run_name, actions_run_status};
use deploybot_core::ports::{
    CiBackend, CiError, CiRun, GitHub, GitHubError, PipelineRequest, PipelineStarted, WorkflowInfo,
};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// The inputs every dispatch carries (docs/github-actions.md declares exactly these).
pub const DISPATCH_INPUTS: [&str; 7] = [
    "environment",
    "sha",
    "ref",
    "deployment_id",
    "version",
    "url",
    "rollback",
];

/// How often the runs are listed for a run named after the deployment, when GitHub did not
/// answer the dispatch with its run, and how long apart.
const FIND_RUN_ATTEMPTS: usize = 5;
const FIND_RUN_PAUSE: Duration = Duration::from_secs(2);

/// The GitHub Actions backend: the GitHub adapter's App authentication, its HTTP policy.
#[derive(Debug, Clone)]
pub struct GitHubActions {
    github: Arc<GitHubClient>,
}

impl GitHubActions {
    pub fn new(github: Arc<GitHubClient>) -> Self {
        Self { github }
    }
}

/// The dispatch's answer with `return_run_details: true`.
#[derive(Deserialize)]
struct Dispatched {
    workflow_run_id: u64,
    #[serde(default)]
    html_url: Option<String>,
}

/// A workflow run, as far as deploybot reads it.
#[derive(Deserialize)]
struct Run {
    id: u64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    display_title: Option<String>,
    #[serde(default)]
    run_number: u64,
    status: Option<String>,
    conclusion: Option<String>,
    html_url: String,
}

#[derive(Deserialize)]
struct Runs {
    #[serde(default)]
    workflow_runs: Vec<Run>,
}

/// A GitHub error as the CI port's, worded for the person who has to act.
fn ci_error(error: GitHubError) -> CiError {
    match error {
        GitHubError::NotFound(m) => CiError::NotFound(m),
        GitHubError::Validation(m) => CiError::Rejected(m),
        GitHubError::Unauthorized(m) | GitHubError::Forbidden(m) => CiError::Unauthorized(m),
        GitHubError::NotInstalled(r) => {
            CiError::Unauthorized(format!("the GitHub App is not installed for {r}"))
        }
        GitHubError::RateLimited { retry_after_secs } => CiError::RateLimited { retry_after_secs },
        GitHubError::Server { status } => CiError::Server { status },
        GitHubError::Transport(m) => CiError::Transport(m),
        GitHubError::InvalidResponse(m) | GitHubError::Config(m) => CiError::InvalidResponse(m),
        GitHubError::AutoMerged => CiError::InvalidResponse(error.to_string()),
    }
}

/// A refused dispatch, with what to change.
fn dispatch_refused(
    answer: &Answer,
    workflow: &str,
    repository: &Repository,
    branch: &str,
) -> CiError {
    let message = answer.message();
    match answer.status.as_u16() {
        404 => CiError::NotFound(format!(
            "there is no workflow `.github/workflows/{workflow}` on `{branch}`, the default branch of {repository} (or the GitHub App cannot see it): add it there, or name another under `backend: github_actions: workflow:` in .github/deploybot.yml"
        )),
        403 => CiError::Unauthorized(format!(
            "GitHub refused to dispatch `{workflow}` ({message}): the GitHub App needs the `actions: write` permission (docs/github-app.md)"
        )),
        422 => CiError::Rejected(format!(
            "GitHub refused to dispatch `{workflow}` on `{branch}`: {message}. The workflow on the default branch must run `on: workflow_dispatch` and declare the inputs {} (docs/github-actions.md)",
            DISPATCH_INPUTS.join(", ")
        )),
        _ => ci_error(answer.refused(&format!("workflow {workflow} of {repository}"))),
    }
}

impl GitHubActions {
    /// `GET /repos/{o}/{r}/actions/runs/{id}`.
    async fn run(&self, repository: &Repository, id: &str) -> Result<Run, CiError> {
        let url = self.github.repo_url(repository, &["actions", "runs", id]);
        let answer = self
            .github
            .call(repository, Idempotency::Idempotent, Method::GET, &url, None)
            .await
            .map_err(ci_error)?;
        match answer.status {
            StatusCode::OK => answer.json().map_err(ci_error),
            StatusCode::NOT_FOUND => Err(CiError::NotFound(format!(
                "workflow run {id} of {repository} is not known to GitHub, or the GitHub App cannot see it"
            ))),
            _ => Err(ci_error(
                answer.refused(&format!("workflow run {id} of {repository}")),
            )),
        }
    }

    /// The dispatched run named `deploy <deployment id>`, for a GitHub that did not answer the
    /// dispatch with it: its runs of `workflow` started by `workflow_dispatch` on `branch`.
    async fn find_run(
        &self,
        repository: &Repository,
        workflow: &str,
        branch: &str,
        name: &str,
    ) -> Result<Run, CiError> {
        let mut url = self
            .github
            .repo_url(repository, &["actions", "workflows", workflow, "runs"]);
        url.query_pairs_mut()
            .append_pair("event", "workflow_dispatch")
            .append_pair("branch", branch)
            .append_pair("per_page", "50");
        for attempt in 0..FIND_RUN_ATTEMPTS {
            if attempt > 0 {
                self.github.sleeper.sleep(FIND_RUN_PAUSE).await;
            }
            let answer = self
                .github
                .call(repository, Idempotency::Idempotent, Method::GET, &url, None)
                .await
                .map_err(ci_error)?;
            if answer.status != StatusCode::OK {
                return Err(ci_error(
                    answer.refused(&format!("the runs of {workflow} in {repository}")),
                ));
            }
            let runs: Runs = answer.json().map_err(ci_error)?;
            if let Some(run) = runs
                .workflow_runs
                .into_iter()
                .find(|r| r.display_title.as_deref() == Some(name))
            {
                return Ok(run);
            }
        }
        Err(CiError::InvalidResponse(format!(
            "GitHub accepted the dispatch of `{workflow}` but shows no run named `{name}`: give the workflow `run-name: deploy ${{{{ inputs.deployment_id }}}}` (docs/github-actions.md) so deploybot can follow it"
        )))
    }
}

#[async_trait]
impl CiBackend for GitHubActions {
    fn name(&self) -> &'static str {
        CiKind::GitHubActions.label()
    }

    async fn start_pipeline(&self, request: &PipelineRequest) -> Result<PipelineStarted, CiError> {
        let CiTarget::GitHubActions { workflow } = &request.target else {
            return Err(CiError::Rejected(format!(
                "{} is not a GitHub Actions target",
                request.target
            )));
        };
        let repository = &request.repository;
        let branch = self
            .github
            .default_branch(repository)
            .await
            .map_err(ci_error)?;
        let p = &request.parameters;
        let inputs = serde_json::json!({
            "environment": p.environment.to_string(),
            "sha": p.sha.as_str(),
            "ref": request.git_ref.to_string(),
            "deployment_id": p.deployment_id.to_string(),
            "version": p.version,
            "url": p.url.clone().unwrap_or_default(),
            // A `boolean` input, sent as GitHub's own forms send it.
            "rollback": if p.rollback { "true" } else { "false" },
        });
        let url = self.github.repo_url(
            repository,
            &["actions", "workflows", workflow, "dispatches"],
        );
        let mut body = serde_json::json!({
            "ref": branch,
            "inputs": inputs,
            "return_run_details": true,
        });
        let mut answer = self
            .github
            .call(
                repository,
                Idempotency::NotIdempotent,
                Method::POST,
                &url,
                Some(&body),
            )
            .await
            .map_err(ci_error)?;
        let unknown_parameter = matches!(answer.status.as_u16(), 400 | 422)
            && answer.message().contains("return_run_details");
        if unknown_parameter {
            // An older GitHub Enterprise Server: nothing was dispatched; ask without it.
            if let Some(map) = body.as_object_mut() {
                map.remove("return_run_details");
            }
            answer = self
                .github
                .call(
                    repository,
                    Idempotency::NotIdempotent,
                    Method::POST,
                    &url,
                    Some(&body),
                )
                .await
                .map_err(ci_error)?;
        }
        let run = match answer.status {
            StatusCode::OK => {
                let dispatched: Dispatched = answer.json().map_err(ci_error)?;
                let id = dispatched.workflow_run_id.to_string();
                match self.run(repository, &id).await {
                    Ok(run) => run,
                    // The run exists: its number is only for people; its page is known.
                    Err(error) => {
                        tracing::warn!(%error, run = %id, "could not read the dispatched run");
                        Run {
                            id: dispatched.workflow_run_id,
                            name: None,
                            display_title: None,
                            run_number: 0,
                            status: None,
                            conclusion: None,
                            html_url: dispatched.html_url.unwrap_or_default(),
                        }
                    }
                }
            }
            StatusCode::NO_CONTENT => {
                let name = actions_run_name(p.deployment_id.as_str());
                self.find_run(repository, workflow, &branch, &name).await?
            }
            _ => return Err(dispatch_refused(&answer, workflow, repository, &branch)),
        };
        tracing::info!(run = run.id, number = run.run_number, %workflow, %repository, "workflow dispatched");
        Ok(PipelineStarted {
            id: run.id.to_string(),
            number: run.run_number,
            url: Some(run.html_url).filter(|u| !u.is_empty()),
        })
    }

    async fn pipeline_workflows(&self, run: &CiRun) -> Result<Vec<WorkflowInfo>, CiError> {
        let found = self.run(&run.repository, &run.id).await?;
        Ok(vec![WorkflowInfo {
            id: found.id.to_string(),
            name: found
                .name
                .unwrap_or_else(|| format!("run {}", found.run_number)),
            status: actions_run_status(
                found.status.as_deref().unwrap_or("queued"),
                found.conclusion.as_deref(),
            ),
            url: found.html_url,
        }])
    }

    /// `POST /repos/{o}/{r}/actions/runs/{id}/cancel` (GitHub answers 202); a run that has
    /// finished (409) has nothing to stop.
    async fn cancel_run(&self, run: &CiRun) -> Result<(), CiError> {
        let url = self
            .github
            .repo_url(&run.repository, &["actions", "runs", &run.id, "cancel"]);
        let answer = self
            .github
            .call(
                &run.repository,
                Idempotency::Idempotent,
                Method::POST,
                &url,
                None,
            )
            .await
            .map_err(ci_error)?;
        match answer.status.as_u16() {
            200..=299 | 409 => Ok(()),
            404 => Err(CiError::NotFound(format!(
                "workflow run {} of {} is not known to GitHub, or the GitHub App cannot see it",
                run.id, run.repository
            ))),
            403 => Err(CiError::Unauthorized(format!(
                "GitHub refused to cancel workflow run {} ({}): the GitHub App needs the `actions: write` permission",
                run.id,
                answer.message()
            ))),
            _ => Err(ci_error(answer.refused(&format!(
                "workflow run {} of {}",
                run.id, run.repository
            )))),
        }
    }
}
