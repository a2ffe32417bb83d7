//! GitHub Actions' `workflow_run` and `workflow_job` events for the runs deploybot dispatched
//! (docs/github-actions.md): a run requested or started → `in_progress`; a run completed → its
//! conclusion's outcome (`core::ci::actions_conclusion`); a job waiting on an environment's
//! protection rules → "waiting on GitHub reviewers" on the deployment's message. The run is
//! found by its id (kept as the deployment's pipeline id), else by its name
//! `deploy <deployment id>`. The log link is the run's page. Recording goes through
//! `github-deployment-status`, as every CI outcome does, which frees the lane.

use super::Handled;
use crate::webhook_payloads::github::{WorkflowJobEvent, WorkflowRunEvent};
use crate::{AppError, AppState};
use deploybot_core::ci::{CiKind, actions_conclusion};
use deploybot_core::invoke::{self, DeploymentCreateRequest, DeploymentStatusRequest};
use deploybot_core::{Deployment, DeploymentId, DeploymentState, Repository};

/// What a waiting job shows on the deployment's message.
pub const WAITING_ON_REVIEWERS: &str = "waiting on GitHub reviewers";

/// The deployment the run `run_id` (named `title`) was dispatched for, if deploybot
/// dispatched it.
async fn deployment_of_run(
    state: &AppState,
    repository: &Repository,
    run_id: u64,
    title: Option<&str>,
) -> Result<Option<Deployment>, AppError> {
    let deployments = state.deployments()?;
    let by_id = deployments
        .deployment_by_pipeline(&run_id.to_string())
        .await?
        .filter(|d| &d.repository == repository);
    let found = match by_id {
        Some(d) => Some(d),
        None => {
            // A GitHub that did not answer the dispatch with its run: the run's name carries
            // the deployment id (`run-name: deploy ${{ inputs.deployment_id }}`).
            let id = title
                .and_then(|t| t.strip_prefix("deploy "))
                .and_then(|id| DeploymentId::parse(id.trim()).ok());
            match id {
                Some(id) => deployments
                    .get_deployment(repository, &id)
                    .await?
                    .filter(|d| d.pipeline_id.is_none()),
                None => None,
            }
        }
    };
    Ok(found.filter(|d| d.ci_target().kind() == CiKind::GitHubActions))
}

async fn record(
    state: &AppState,
    d: &Deployment,
    to: DeploymentState,
    log_url: Option<String>,
    description: Option<String>,
) -> Result<(), AppError> {
    let request = DeploymentStatusRequest {
        repository: d.repository.clone(),
        deployment_id: d.id.clone(),
        state: to,
        log_url,
        environment_url: d.environment_url.clone(),
        description,
        from_github: false,
        finished_workflow: None,
    };
    invoke::send(state.invoker()?, &request).await?;
    Ok(())
}

pub(super) async fn workflow_run(
    state: &AppState,
    repository: &Repository,
    e: WorkflowRunEvent,
) -> Result<Handled, AppError> {
    let run = &e.workflow_run;
    let Some(d) =
        deployment_of_run(state, repository, run.id, run.display_title.as_deref()).await?
    else {
        return Ok(Handled::Ignored(format!(
            "workflow run {} was not dispatched by deploybot",
            run.id
        )));
    };
    let attempt = run.run_attempt.unwrap_or(1);
    let (to, description) = match e.action.as_str() {
        "requested" | "in_progress" => (DeploymentState::InProgress, None),
        "completed" => actions_conclusion(run.conclusion.as_deref().unwrap_or("")),
        other => {
            return Ok(Handled::Ignored(format!(
                "workflow_run `{other}` changes nothing"
            )));
        }
    };
    let followed = d.ci_attempt.unwrap_or(1);
    if attempt < followed {
        return Ok(Handled::Ignored(format!(
            "attempt {attempt} of run {} is older than attempt {followed}, which deployment {} follows",
            run.id, d.id
        )));
    }
    let finished = matches!(
        d.state,
        DeploymentState::Success
            | DeploymentState::Failure
            | DeploymentState::Error
            | DeploymentState::Inactive
    );
    if finished && attempt > followed {
        // A re-run deploys the commit again: reopened, or cancelled when the environment
        // moved on — decided where the lane is (github-deployment-create).
        let request = DeploymentCreateRequest::Rerun {
            repository: d.repository.clone(),
            deployment_id: d.id.clone(),
            attempt,
            log_url: Some(run.html_url.clone()),
            outcome: (e.action == "completed").then(|| (to, description.clone())),
        };
        invoke::send(state.invoker()?, &request).await?;
        return Ok(Handled::Accepted(format!(
            "attempt {attempt} of run {} re-runs deployment {}, which is {}",
            run.id, d.id, d.state
        )));
    }
    if !d.state.can_become(to) {
        return Ok(Handled::Ignored(format!(
            "deployment {} is {} already",
            d.id, d.state
        )));
    }
    record(state, &d, to, Some(run.html_url.clone()), description).await?;
    Ok(Handled::Accepted(format!(
        "deployment {} follows workflow run {} to {to}",
        d.id, run.id
    )))
}

pub(super) async fn workflow_job(
    state: &AppState,
    repository: &Repository,
    e: WorkflowJobEvent,
) -> Result<Handled, AppError> {
    let job = &e.workflow_job;
    let description = match e.action.as_str() {
        "waiting" => format!("{WAITING_ON_REVIEWERS} (job {})", job.name),
        "in_progress" => format!("job {} running", job.name),
        other => {
            return Ok(Handled::Ignored(format!(
                "workflow_job `{other}` changes nothing"
            )));
        }
    };
    let Some(d) = deployment_of_run(state, repository, job.run_id, None).await? else {
        return Ok(Handled::Ignored(format!(
            "workflow run {} was not dispatched by deploybot",
            job.run_id
        )));
    };
    if !matches!(
        d.state,
        DeploymentState::Created | DeploymentState::Queued | DeploymentState::InProgress
    ) || d.description.as_deref() == Some(description.as_str())
    {
        return Ok(Handled::Ignored(format!(
            "deployment {} is {} already",
            d.id, d.state
        )));
    }
    record(
        state,
        &d,
        DeploymentState::InProgress,
        None,
        Some(description),
    )
    .await?;
    Ok(Handled::Accepted(format!(
        "deployment {} follows job {} of run {}",
        d.id, job.name, job.run_id
    )))
}
