//! `check_workflow_file` requests: a pull request was opened, reopened or pushed to. When it
//! changes `.github/deploybot.yml`, the file at its head is checked and the verdict posted as
//! the `deploybot/config` check run on the head commit (docs/configuration.md, "The check on
//! pull requests"); otherwise nothing is posted. The verdict itself is
//! `deploybot_core::config_check`'s; this reads and writes through the GitHub port.
//!
//! Idempotency: once per `(repository, head commit)` (key `config-check:<repository>:<sha>`),
//! so a redelivered event, a reopened pull request or a retried invoke posts no second check
//! run for the same commit.

use super::{nothing, refused};
use crate::{AppError, AppState, idempotency};
use deploybot_core::config_check::{self, CHECK_NAME};
use deploybot_core::invoke::DeploymentCreateResponse;
use deploybot_core::ports::{GitHubError, NewCheckRun};
use deploybot_core::workflow_file::WORKFLOW_PATH;
use deploybot_core::{Project, Repository, Sha};

/// The idempotency key of the check of one commit.
pub(crate) fn check_key(repository: &Repository, head: &Sha) -> String {
    format!("config-check:{repository}:{head}")
}

pub(super) async fn handle(
    state: &AppState,
    repository: &Repository,
    number: u64,
    base: &Sha,
    head: &Sha,
) -> Result<DeploymentCreateResponse, AppError> {
    let Some(project) = state.projects()?.project_by_repository(repository).await? else {
        return Ok(refused(format!("no channel follows {repository} any more")));
    };
    let key = check_key(repository, head);
    let outcome = idempotency::run_once(state, &key, check(state, &project, base, head)).await?;
    match outcome {
        idempotency::Once::Ran(Some(id)) => {
            tracing::info!(%repository, pr = number, head = %head.short(), check_run = id, "workflow file checked");
            Ok(nothing())
        }
        idempotency::Once::Ran(None) => Ok(refused(format!(
            "pull request #{number} does not change {WORKFLOW_PATH}"
        ))),
        idempotency::Once::InProgress | idempotency::Once::Done => Ok(refused(format!(
            "{WORKFLOW_PATH} at {} is checked already",
            head.short()
        ))),
    }
}

/// Checks the file at `head` when `base...head` changes it; the check run's id, or `None`
/// when the file is not changed.
async fn check(
    state: &AppState,
    project: &Project,
    base: &Sha,
    head: &Sha,
) -> Result<Option<u64>, AppError> {
    let github = state.github()?;
    let repository = &project.repository;
    let changed = match github.changed_files(repository, base, head).await {
        Ok(changed) => changed,
        // A commit GitHub no longer has (a force-push moved the branch on): a newer event
        // brings the commit to check.
        Err(GitHubError::NotFound(what)) => {
            tracing::info!(%repository, %what, "nothing to compare; no check run");
            return Ok(None);
        }
        Err(error) => return Err(error.into()),
    };
    let mut touched = changed.paths.iter().any(|p| p == WORKFLOW_PATH);
    if !touched && !changed.complete {
        // GitHub's list was cut short: compare the file itself.
        let before = github.file_at(repository, WORKFLOW_PATH, base).await?;
        let after = github.file_at(repository, WORKFLOW_PATH, head).await?;
        touched = before.map(|f| f.blob) != after.map(|f| f.blob);
    }
    if !touched {
        return Ok(None);
    }
    let file = github.file_at(repository, WORKFLOW_PATH, head).await?;
    let policy = state.policy_of(project);
    let verdict = config_check::verdict(&policy, file.as_ref().map(|f| f.text.as_str()));
    let run = NewCheckRun {
        repository: repository.clone(),
        name: CHECK_NAME.to_owned(),
        head_sha: head.clone(),
        conclusion: verdict.conclusion,
        title: verdict.title,
        summary: verdict.summary,
        annotations: verdict.annotations,
    };
    Ok(Some(github.create_check_run(&run).await?))
}
