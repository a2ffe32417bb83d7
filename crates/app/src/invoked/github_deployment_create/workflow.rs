//! `workflow` requests: read `.github/deploybot.yml` from the repository's default branch,
//! keep it with the project, then decide the event that was waiting on it (docs/configuration.md,
//! "When the file is read"). A valid file comes into force; an invalid one leaves the last
//! valid one (or the built-in workflow) in force and the channel is told once, with the first
//! error and its line; a removed file brings the built-in workflow back.
//!
//! When GitHub cannot be reached the event is still decided, with the workflow in force, and
//! the file is read again on the next event that needs it.

use super::{deactivate, new_deployment, nothing, refused};
use crate::{AppError, AppState, workflow};
use deploybot_core::blocks::Message;
use deploybot_core::invoke::{
    self, DeploymentCreateResponse, HandedEvent, SlackMessageRequest, WorkflowRequest,
};
use deploybot_core::policy::Decision;
use deploybot_core::workflow_file::WORKFLOW_PATH;
use deploybot_core::{GitRef, Project, Sha};

pub(super) async fn handle(
    state: &AppState,
    request: WorkflowRequest,
) -> Result<DeploymentCreateResponse, AppError> {
    let Some(mut project) = state
        .projects()?
        .project_by_repository(&request.repository)
        .await?
    else {
        return Ok(refused(format!(
            "no channel follows {} any more",
            request.repository
        )));
    };
    if let Err(error) = read(state, &mut project, request.at.as_ref()).await {
        tracing::warn!(
            repository = %project.repository,
            %error,
            "could not read the workflow file; deciding with the workflow in force"
        );
    }
    match request.event {
        Some(handed) => carry_out(state, &project, handed).await,
        None => Ok(nothing()),
    }
}

/// Reads the file at `at` (the default branch's head when `None`), saves what was read with
/// the project, and tells the channel what changed.
pub(super) async fn read(
    state: &AppState,
    project: &mut Project,
    at: Option<&Sha>,
) -> Result<(), AppError> {
    let github = state.github()?;
    let repository = &project.repository;
    let commit = match at {
        Some(commit) => commit.clone(),
        None => {
            let branch = github.default_branch(repository).await?;
            github
                .resolve_ref(repository, &GitRef::Branch(branch))
                .await?
                .sha
        }
    };
    let file = github.file_at(repository, WORKFLOW_PATH, &commit).await?;
    let (record, news) =
        workflow::record_read(project.workflow.as_ref(), commit, file, state.clock.now());
    project.workflow = Some(record);
    if !state.projects()?.update_project(project).await? {
        // Unbound meanwhile: nobody to tell.
        return Ok(());
    }
    if let Some(text) = news {
        let request = SlackMessageRequest::Channel {
            channel: project.channel.clone(),
            message: Message::text(text),
        };
        invoke::send(state.invoker()?, &request).await?;
    }
    Ok(())
}

/// Decides `handed` with the workflow now in force and carries the decision out here.
async fn carry_out(
    state: &AppState,
    project: &Project,
    handed: HandedEvent,
) -> Result<DeploymentCreateResponse, AppError> {
    let decision = state.policy_of(project).decide(&handed.event);
    match decision {
        Decision::Deploy {
            environment,
            git_ref,
            sha,
        } => {
            let request = handed.into_deployment(
                project.repository.clone(),
                state.new_deployment_id(),
                environment,
                git_ref,
                sha,
                project.channel.clone(),
            );
            new_deployment(state, request).await
        }
        Decision::Deactivate { environment } => {
            deactivate(state, &project.repository, environment).await
        }
        Decision::Decline { reason } => {
            workflow::tell_declined_once(state, project, &handed.trigger, &reason).await?;
            Ok(refused(reason))
        }
        Decision::Ignore { reason } => Ok(refused(reason)),
    }
}
