//! `workflow` requests: read `.github/deploybot.yml` from the repository's default branch,
//! keep it with the project, then decide the event that was waiting on it (docs/configuration.md,
//! "When the file is read"). A valid file comes into force; an invalid one leaves the last
//! valid one (or the built-in workflow) in force and the channel is told once, with the first
//! error and its line; a removed file brings the built-in workflow back.
//!
//! When GitHub cannot be reached the event is still decided, with the workflow in force, and
//! the file is read again on the next event that needs it.

use super::{deactivate, new_deployment, nothing, refused};
use crate::{AppError, AppState, idempotency, workflow};
use deploybot_core::blocks::Message;
use deploybot_core::invoke::{
    self, DeploymentCreateResponse, HandedEvent, NewDeploymentRequest, SlackMessageRequest,
    WorkflowRequest,
};
use deploybot_core::policy::Decision;
use deploybot_core::workflow_file::{WORKFLOW_PATH, WorkflowFile};
use deploybot_core::{GitRef, Project, RejectedWorkflow, Sha, WorkflowRecord, WorkflowText};

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
    let previous = project.workflow.clone();
    let previous_file = previous.as_ref().and_then(|w| w.file.clone());
    let mut record = WorkflowRecord {
        commit: commit.clone(),
        read_at: state.clock.now(),
        file: previous_file.clone(),
        rejected: None,
    };
    let mut news = None;
    match file {
        None => {
            record.file = None;
            if previous_file.is_some() {
                news = Some(format!(
                    ":gear: `{WORKFLOW_PATH}` is gone from the default branch (commit `{}`): the built-in workflow is in force again.",
                    commit.short()
                ));
            }
        }
        Some(file) => match WorkflowFile::parse(&file.text) {
            Ok(_) => {
                if previous_file.as_ref().map(|f| &f.blob) != Some(&file.blob) {
                    news = Some(format!(
                        ":gear: deploybot now follows `{WORKFLOW_PATH}` as of commit `{}`. `/cimon config` shows what deploys where.",
                        commit.short()
                    ));
                }
                record.file = Some(WorkflowText {
                    blob: file.blob,
                    commit: commit.clone(),
                    text: file.text,
                });
            }
            Err(errors) => {
                let (line, error) = errors
                    .0
                    .first()
                    .map_or((0, "the file is not valid".to_owned()), |e| {
                        (e.line, e.message.clone())
                    });
                let told_before = previous
                    .as_ref()
                    .and_then(|w| w.rejected.as_ref())
                    .is_some_and(|r| r.blob == file.blob);
                if !told_before {
                    let in_force = if record.file.is_some() {
                        "the last valid version stays in force"
                    } else {
                        "the built-in workflow stays in force"
                    };
                    news = Some(format!(
                        ":warning: `{WORKFLOW_PATH}` on the default branch (commit `{}`) is not valid, so {in_force}. Line {line}: {error}",
                        commit.short()
                    ));
                }
                record.rejected = Some(RejectedWorkflow {
                    blob: file.blob,
                    commit,
                    line,
                    error,
                });
            }
        },
    }
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
            let request = NewDeploymentRequest {
                repository: project.repository.clone(),
                deployment_id: state.new_deployment_id(),
                environment,
                git_ref,
                sha,
                trigger: handed.trigger,
                commit_author: handed.commit_author,
                pr_url: handed.pr_url,
                channel: project.channel.clone(),
            };
            new_deployment(state, request).await
        }
        Decision::Deactivate { environment } => {
            deactivate(state, &project.repository, environment).await
        }
        Decision::Decline { reason } => {
            let key = workflow::decline_key(&project.repository, &handed.trigger);
            idempotency::run_once(state, &key, async {
                let request = SlackMessageRequest::Channel {
                    channel: project.channel.clone(),
                    message: Message::text(format!(":no_entry: {reason}")),
                };
                invoke::send(state.invoker()?, &request).await?;
                Ok(())
            })
            .await?;
            Ok(refused(reason))
        }
        Decision::Ignore { reason } => Ok(refused(reason)),
    }
}
