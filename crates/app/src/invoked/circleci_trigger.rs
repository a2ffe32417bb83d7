//! `circleci-trigger`: starts the deployment's pipeline on the CI its environment names
//! (`backend`, else `DEPLOYBOT_CI_BACKEND`; CircleCI on its branch or tag, GitHub Actions by
//! dispatching the workflow) with the parameters of docs/workflow.md ("The CircleCI pipeline"), stores the pipeline id, number and
//! link on the record, and moves the deployment to `queued` (log_url = pipeline link). A CircleCI
//! refusal becomes an `error` status with a message a person can act on. A retried invoke starts at
//! most one pipeline (idempotency key `circleci-trigger:<repository>:<deployment id>`).

use crate::lifecycle::{self, Transition};
use crate::{AppError, AppState, idempotency};
use deploybot_core::ci::CiKind;
use deploybot_core::invoke::{
    self, CircleciTriggerRequest, CircleciTriggerResponse, DeploymentStatusRequest,
};
use deploybot_core::ports::{CiError, PipelineParameters, PipelineRequest};
use deploybot_core::urls::{pipeline_subdomain, pipeline_version};
use deploybot_core::{Deployment, DeploymentState, GitRef, Sha};

fn answer(d: &Deployment) -> CircleciTriggerResponse {
    CircleciTriggerResponse {
        pipeline_id: d.pipeline_id.clone(),
        state: d.state,
    }
}

/// Words for a person about why the CI did not start the deployment's pipeline or run.
pub fn ci_error_message(kind: CiKind, error: &CiError) -> String {
    let detail = match error {
        CiError::Rejected(m) | CiError::NotFound(m) | CiError::Unauthorized(m) => m.clone(),
        other => other.to_string(),
    };
    match kind {
        CiKind::CircleCi => format!("CircleCI did not start the pipeline: {detail}"),
        CiKind::GitHubActions => format!("GitHub Actions did not start the workflow: {detail}"),
    }
}

/// The branch or tag the pipeline runs on. CircleCI takes a branch or a tag, never a SHA (the
/// SHA travels as the `sha` parameter). A name typed in Slack that is not a SHA is taken as a
/// branch. A bare SHA borrows the branch or tag of another deployment of the same commit,
/// else the repository's default branch.
async fn pipeline_ref(state: &AppState, d: &Deployment) -> Result<GitRef, AppError> {
    match &d.git_ref {
        GitRef::Branch(_) | GitRef::Tag(_) => Ok(d.git_ref.clone()),
        GitRef::Name(name) if !Sha::looks_like_sha(name) => Ok(GitRef::Branch(name.clone())),
        GitRef::Name(_) => {
            let others = state
                .deployments()?
                .deployments_by_sha(&d.repository, &d.sha, 20)
                .await?;
            if let Some(known) = others
                .into_iter()
                .map(|o| o.git_ref)
                .find(|r| matches!(r, GitRef::Branch(_) | GitRef::Tag(_)))
            {
                return Ok(known);
            }
            let default = state.github()?.default_branch(&d.repository).await?;
            Ok(GitRef::Branch(default))
        }
    }
}

pub async fn handle(
    state: &AppState,
    request: CircleciTriggerRequest,
) -> Result<CircleciTriggerResponse, AppError> {
    let current = lifecycle::load(state, &request.repository, &request.deployment_id).await?;
    if current.pipeline_id.is_some() || current.state != DeploymentState::Created {
        return Ok(answer(&current));
    }
    let key = format!(
        "circleci-trigger:{}:{}",
        request.repository, request.deployment_id
    );
    let lease = match idempotency::claim(state, &key).await? {
        idempotency::Claimed::Lease(lease) => lease,
        idempotency::Claimed::InProgress | idempotency::Claimed::Done => {
            return Ok(answer(&current));
        }
    };

    let git_ref = match pipeline_ref(state, &current).await {
        Ok(r) => r,
        Err(AppError::GitHub(e)) => {
            let t = Transition::to(DeploymentState::Error).description(format!(
                "Could not find a branch to run the pipeline on: {e}"
            ));
            let saved = lifecycle::transition(state, current, &t).await;
            let saved = idempotency::settle(state, lease, saved).await?;
            return Ok(answer(saved.deployment()));
        }
        Err(e) => {
            lease.release(state).await;
            return Err(e);
        }
    };
    let pipeline = PipelineRequest {
        repository: current.repository.clone(),
        git_ref: git_ref.clone(),
        parameters: PipelineParameters {
            environment: current.environment.clone(),
            version: pipeline_version(
                &current.environment,
                current.is_production(),
                &current.git_ref,
                &current.sha,
            ),
            subdomain: pipeline_subdomain(&current.environment, current.is_production()),
            url: current.environment_url.clone(),
            sha: current.sha.clone(),
            deployment_id: current.id.clone(),
            rollback: current.trigger.is_rollback(),
        },
        target: current.ci_target(),
    };
    let ci = match state.ci() {
        Ok(ci) => ci,
        Err(e) => {
            lease.release(state).await;
            return Err(e);
        }
    };
    let started = ci.start_pipeline(&pipeline).await;
    // CI has answered: from here on the key stays done, whatever fails, so no retry starts a
    // second pipeline.
    let _ = idempotency::settle(state, lease, Ok(())).await;
    match started {
        Ok(started) => {
            let with_pipeline = lifecycle::update_from(state, current, |d| {
                d.pipeline_id = Some(started.id.clone());
                d.pipeline_number = Some(started.number);
                d.ci = Some(pipeline.target.clone());
                if started.url.is_some() {
                    d.build_url = started.url.clone();
                }
                true
            })
            .await?
            .into_deployment();
            tracing::info!(deployment = %with_pipeline.id, pipeline = %started.id, git_ref = %git_ref, "pipeline started");
            let t = Transition::to(DeploymentState::Queued).log_url(started.url.clone());
            let saved = lifecycle::transition(state, with_pipeline, &t).await?;
            Ok(answer(saved.deployment()))
        }
        Err(error) => {
            tracing::warn!(deployment = %current.id, %error, "starting the pipeline failed");
            // Through `github-deployment-status`, like every outcome: the record, GitHub and
            // Slack are told, and the lane is freed for the next deployment.
            let request = DeploymentStatusRequest {
                repository: current.repository.clone(),
                deployment_id: current.id.clone(),
                state: DeploymentState::Error,
                log_url: None,
                environment_url: current.environment_url.clone(),
                description: Some(ci_error_message(pipeline.target.kind(), &error)),
                from_github: false,
                finished_workflow: None,
            };
            let recorded = invoke::call(state.invoker()?, &request).await?;
            Ok(CircleciTriggerResponse {
                pipeline_id: None,
                state: recorded.state,
            })
        }
    }
}
