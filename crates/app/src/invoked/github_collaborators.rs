//! `github-collaborators`: the function that reads who and what a repository is on GitHub
//! for the Slack side, which has no GitHub client of its own.
//!
//! - [`CollaboratorsRequest`]: every login with access to a repository (all pages), for the
//!   claim-your-login offers, `hello <login>` and the type-ahead select. A request that
//!   accepts a cached answer (the select asks on every keystroke) gets the list this function
//!   read at most [`COLLABORATORS_CACHE_SECS`] ago, kept in the warm process; every other
//!   request asks GitHub and refreshes that copy.
//! - [`RepositoryRequest`]: is the repository there, with the App installed on it, before
//!   `setup` binds it ([`RepositoryCheck`]).

use crate::{AppError, AppState};
use deploybot_core::invoke::{
    COLLABORATORS_CACHE_SECS, CollaboratorsRequest, CollaboratorsResponse, RepositoryCheck,
    RepositoryRequest, WorkflowRead,
};
use deploybot_core::workflow_file::WORKFLOW_PATH;
use deploybot_core::{GitRef, GithubLogin, Repository, Timestamp};
use std::collections::HashMap;
use std::sync::Mutex;

/// Repositories' collaborator lists as last read, with when (one per function state, so a
/// warm Lambda keeps it between invocations and each test harness has its own).
#[derive(Debug, Default)]
pub struct CollaboratorsCache {
    lists: Mutex<HashMap<Repository, (Timestamp, Vec<GithubLogin>)>>,
}

/// Repositories kept at most; the oldest entry goes first.
const CACHE_ENTRIES: usize = 256;

impl CollaboratorsCache {
    fn get(&self, repository: &Repository, now: Timestamp) -> Option<Vec<GithubLogin>> {
        let lists = self.lists.lock().unwrap_or_else(|e| e.into_inner());
        lists
            .get(repository)
            .filter(|(at, _)| now.millis() - at.millis() <= COLLABORATORS_CACHE_SECS * 1000)
            .map(|(_, logins)| logins.clone())
    }

    fn put(&self, repository: &Repository, now: Timestamp, logins: &[GithubLogin]) {
        let mut lists = self.lists.lock().unwrap_or_else(|e| e.into_inner());
        if lists.len() >= CACHE_ENTRIES && !lists.contains_key(repository) {
            let oldest = lists
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(r, _)| r.clone());
            if let Some(oldest) = oldest {
                lists.remove(&oldest);
            }
        }
        lists.insert(repository.clone(), (now, logins.to_vec()));
    }
}

pub async fn handle(
    state: &AppState,
    request: CollaboratorsRequest,
) -> Result<CollaboratorsResponse, AppError> {
    let now = state.clock.now();
    if request.cached
        && let Some(logins) = state.collaborators_cache.get(&request.repository, now)
    {
        return Ok(CollaboratorsResponse { logins });
    }
    let mut logins = state.github()?.collaborators(&request.repository).await?;
    logins.sort();
    logins.dedup();
    state
        .collaborators_cache
        .put(&request.repository, now, &logins);
    Ok(CollaboratorsResponse { logins })
}

/// Checks the repository on GitHub. Every answer GitHub gives is a verdict (found, or why
/// not), so the invoke succeeds and the caller words it for the person.
pub async fn repository(
    state: &AppState,
    request: RepositoryRequest,
) -> Result<RepositoryCheck, AppError> {
    let github = state.github()?;
    let answer = github.repository(&request.repository).await;
    if let Err(error) = &answer {
        tracing::info!(repository = %request.repository, %error, "repository check refused");
    }
    let mut check = RepositoryCheck::from_lookup(answer);
    // A repository that is there: read its workflow file from the default branch's head too,
    // so it is in force from the first event. Failing that, the first event reads it.
    if let RepositoryCheck::Found { info, workflow } = &mut check {
        let read = async {
            let head = github
                .resolve_ref(
                    &info.full_name,
                    &GitRef::Branch(info.default_branch.clone()),
                )
                .await?
                .sha;
            let file = github
                .file_at(&info.full_name, WORKFLOW_PATH, &head)
                .await?;
            Ok::<_, deploybot_core::ports::GitHubError>(WorkflowRead { commit: head, file })
        };
        match read.await {
            Ok(read) => *workflow = Some(read),
            Err(error) => {
                tracing::warn!(repository = %info.full_name, %error, "could not read the workflow file at setup");
            }
        }
    }
    Ok(check)
}
