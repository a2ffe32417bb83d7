//! What the board shows, gathered from the store by key and index only: a repository's
//! environments (what runs, what is dispatched, the lock, the freeze, how many wait) and the
//! commits waiting to be promoted between adjacent environments. Kept apart from the web
//! pages so other views of the same grid (a Slack App Home) can reuse it; also the short-lived
//! cache of which bound repositories each signed-in person may read.

use crate::{AppError, AppState};
use deploybot_core::board::{ACCESS_CACHE_SECS, compare_url};
use deploybot_core::freeze::ManualFreeze;
use deploybot_core::lane::{LaneKey, Lock};
use deploybot_core::{
    Deployment, DeploymentId, Environment, GithubLogin, Project, Repository, SlackUserId, Timestamp,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How many of a lane's pending deployments are counted (a longer queue shows as `50+`).
pub const QUEUE_COUNT_LIMIT: usize = 50;

/// One environment of one repository, as the grid shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneView {
    pub environment: Environment,
    /// Its newest successful deployment (what runs there).
    pub current: Option<Deployment>,
    /// The deployment dispatched and not finished yet.
    pub running: Option<Deployment>,
    pub lock: Option<Lock>,
    /// A freeze set from Slack that still holds at the time of reading.
    pub freeze: Option<ManualFreeze>,
    /// Pending deployments (waiting, ready, waiting for checks), counted up to
    /// [`QUEUE_COUNT_LIMIT`].
    pub queued: usize,
    /// GitHub's comparison of what the next environment runs with what this one runs: the
    /// commits waiting to be promoted there (`None` when either runs nothing or both the same).
    pub promote_compare: Option<String>,
}

/// A repository's environments in the workflow's order.
#[derive(Debug, Clone, PartialEq)]
pub struct RepositoryView {
    pub project: Project,
    pub lanes: Vec<LaneView>,
}

/// The repository's environments as the workflow in force lists them, each read from its lane
/// record (one query for all lanes) and the deployments it names (by key), with its queue
/// length (a sparse index per lane).
pub async fn repository_view(
    state: &AppState,
    project: &Project,
) -> Result<RepositoryView, AppError> {
    let now = state.clock.now();
    let policy = state.policy_of(project);
    let repository = &project.repository;
    let records: HashMap<Environment, _> = state
        .lanes()?
        .lanes_of(repository)
        .await?
        .into_iter()
        .map(|record| (record.lane.environment.clone(), record))
        .collect();
    let deployments = state.deployments()?;
    let mut lanes = Vec::new();
    for environment in policy.environments() {
        let record = records.get(&environment);
        let get = async |id: Option<&DeploymentId>| -> Result<Option<Deployment>, AppError> {
            match id {
                Some(id) => Ok(deployments.get_deployment(repository, id).await?),
                None => Ok(None),
            }
        };
        let current = get(record.and_then(|r| r.current.as_ref())).await?;
        let running = get(record.and_then(|r| r.running.as_ref())).await?;
        let lane = LaneKey {
            repository: repository.clone(),
            environment: environment.clone(),
        };
        let queued = deployments
            .pending_deployments(&lane, QUEUE_COUNT_LIMIT)
            .await?
            .len();
        lanes.push(LaneView {
            environment,
            current,
            running,
            lock: record.and_then(|r| r.lock.clone()),
            freeze: record
                .and_then(|r| r.freeze.clone())
                .filter(|f| f.until > now),
            queued,
            promote_compare: None,
        });
    }
    // Adjacent environments: what the earlier one runs and the later one does not yet.
    for index in 1..lanes.len() {
        let ahead = lanes[index - 1].current.as_ref().map(|d| d.sha.clone());
        let behind = lanes[index].current.as_ref().map(|d| d.sha.clone());
        if let (Some(ahead), Some(behind)) = (ahead, behind) {
            lanes[index - 1].promote_compare =
                compare_url(&state.config.github_web_url, repository, &behind, &ahead);
        }
    }
    Ok(RepositoryView {
        project: project.clone(),
        lanes,
    })
}

/// The grid: each of `projects` with its environments.
pub async fn grid(state: &AppState, projects: &[Project]) -> Result<Vec<RepositoryView>, AppError> {
    let mut rows = Vec::with_capacity(projects.len());
    for project in projects {
        rows.push(repository_view(state, project).await?);
    }
    Ok(rows)
}

/// The GitHub login linked to a Slack user, for showing who did something (user table by
/// key); `None` when the person never linked one.
pub async fn github_login_of(
    state: &AppState,
    user: &SlackUserId,
) -> Result<Option<GithubLogin>, AppError> {
    Ok(state
        .users()?
        .user_by_slack(user)
        .await?
        .map(|link| link.github_login))
}

/// Which bound repositories each signed-in person may read, as learnt from GitHub with their
/// own token, kept [`ACCESS_CACHE_SECS`].
#[derive(Debug, Default)]
pub struct AccessCache {
    entries: Mutex<HashMap<GithubLogin, Checked>>,
}

/// When a person's projects were learnt, and the projects.
type Checked = (Timestamp, Arc<Vec<Project>>);

impl AccessCache {
    fn fresh(&self, login: &GithubLogin, now: Timestamp) -> Option<Arc<Vec<Project>>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(login)
            .filter(|(at, _)| now < at.plus_secs(ACCESS_CACHE_SECS))
            .map(|(_, projects)| Arc::clone(projects))
    }

    fn put(&self, login: &GithubLogin, now: Timestamp, projects: Arc<Vec<Project>>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        // Forget the stale ones so the cache holds only people active in the last minutes.
        entries.retain(|_, (at, _)| now < at.plus_secs(ACCESS_CACHE_SECS));
        entries.insert(login.clone(), (now, projects));
    }
}

/// The projects `login` may see: the repositories their `token` can read on GitHub that are
/// bound to a channel (each looked up by key), sorted by name; from the cache when it is
/// fresh.
pub async fn readable_projects(
    state: &AppState,
    login: &GithubLogin,
    token: &str,
) -> Result<Arc<Vec<Project>>, AppError> {
    let now = state.clock.now();
    if let Some(projects) = state.board_access.fresh(login, now) {
        return Ok(projects);
    }
    let repositories = state.github_user()?.readable_repositories(token).await?;
    let store = state.projects()?;
    let mut projects = Vec::new();
    for repository in &repositories {
        if let Some(project) = store.project_by_repository(repository).await? {
            projects.push(project);
        }
    }
    projects.sort_by(|a, b| a.repository.as_str().cmp(b.repository.as_str()));
    let projects = Arc::new(projects);
    state.board_access.put(login, now, Arc::clone(&projects));
    Ok(projects)
}

/// `repository`'s project when `projects` (a person's) holds it.
pub fn find_project<'a>(projects: &'a [Project], repository: &Repository) -> Option<&'a Project> {
    projects.iter().find(|p| &p.repository == repository)
}

/// How many of a repository's newest deployments the delivery charts read (one query).
pub const CHART_DEPLOYMENTS: usize = 500;
/// How many weeks the charts show.
pub const CHART_WEEKS: usize = 12;

/// The repository's delivery numbers for the last [`CHART_WEEKS`] weeks, from its newest
/// [`CHART_DEPLOYMENTS`] deployments (one key-ordered query).
pub async fn delivery_weeks(
    state: &AppState,
    repository: &Repository,
) -> Result<Vec<deploybot_core::delivery_metrics::Week>, AppError> {
    let deployments = state
        .deployments()?
        .list_deployments(repository, None, CHART_DEPLOYMENTS)
        .await?;
    Ok(deploybot_core::delivery_metrics::weekly(
        &deployments,
        state.clock.now(),
        CHART_WEEKS,
    ))
}
