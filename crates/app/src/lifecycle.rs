//! The deployment lifecycle shared by every function that moves a deployment (docs/workflow.md,
//! "Lifecycle"; docs/workflow-decisions.md, "Order and shape of a transition"):
//! each transition is written to the record first (optimistic version guard, retried on
//! conflict), then to GitHub as a deployment status, then `slack-message` is asked to edit the
//! deployment's one message. A successful pull-request deployment also gets its PR comment; a
//! successful deployment supersedes the environment's older successful ones (`inactive`).

use crate::render::deployment::{PR_COMMENT_MARKER, pr_comment_body};
use crate::{AppError, AppState};
use deploybot_core::invoke::{self, SlackMessageRequest};
use deploybot_core::ports::{NewDeploymentStatus, UpdateOutcome};
use deploybot_core::{Deployment, DeploymentId, DeploymentState, Repository, Timestamp};

/// How often a save is retried when someone else saved the record first.
const MAX_SAVE_ATTEMPTS: usize = 8;

/// What a guarded save did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    /// The change was saved; the record as stored now.
    Changed(Deployment),
    /// Nothing needed saving (already in that state, or not allowed); the current record.
    Unchanged(Deployment),
}

impl Saved {
    pub fn deployment(&self) -> &Deployment {
        match self {
            Self::Changed(d) | Self::Unchanged(d) => d,
        }
    }

    pub fn into_deployment(self) -> Deployment {
        match self {
            Self::Changed(d) | Self::Unchanged(d) => d,
        }
    }

    pub fn changed(&self) -> bool {
        matches!(self, Self::Changed(_))
    }
}

/// The error for an invoke that names a deployment deploybot does not have.
pub fn unknown_deployment(repository: &Repository, id: &DeploymentId) -> AppError {
    AppError::bad_request(format!("no deployment {id} in {repository}"))
}

/// Loads a deployment; a missing one is the caller's mistake (400).
pub async fn load(
    state: &AppState,
    repository: &Repository,
    id: &DeploymentId,
) -> Result<Deployment, AppError> {
    state
        .deployments()?
        .get_deployment(repository, id)
        .await?
        .ok_or_else(|| unknown_deployment(repository, id))
}

/// Applies `change` to `current` and saves it with the version guard. On a conflict the stored
/// record is handed to `change` again, so the decision is always taken on the latest state.
/// `change` returns false when there is nothing to save.
pub async fn update_from<F>(
    state: &AppState,
    mut current: Deployment,
    mut change: F,
) -> Result<Saved, AppError>
where
    F: FnMut(&mut Deployment) -> bool + Send,
{
    for _ in 0..MAX_SAVE_ATTEMPTS {
        let mut next = current.clone();
        if !change(&mut next) {
            return Ok(Saved::Unchanged(current));
        }
        next.updated_at = state.clock.now();
        next.note_state_change(current.state, next.updated_at);
        match state.deployments()?.update_deployment(&next).await? {
            UpdateOutcome::Updated(saved) => return Ok(Saved::Changed(*saved)),
            UpdateOutcome::Conflict(stored) => current = *stored,
            UpdateOutcome::NotFound => {
                return Err(unknown_deployment(&current.repository, &current.id));
            }
        }
    }
    Err(AppError::Internal(format!(
        "deployment {} kept changing while being saved",
        current.id
    )))
}

/// A state change and what comes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub to: DeploymentState,
    /// The build / workflow link (kept as the record's `build_url`).
    pub log_url: Option<String>,
    pub environment_url: Option<String>,
    /// Why, in a few words; replaces the record's description (none clears it).
    pub description: Option<String>,
    /// GitHub already has this status (someone else wrote it): skip writing it again.
    pub from_github: bool,
    /// A re-run reopens a finished deployment: back to `in_progress`, following the CI run's
    /// attempt `n` from now on ([`deploybot_core::ci::rerun`]).
    pub reopen_attempt: Option<u64>,
}

impl Transition {
    pub fn to(to: DeploymentState) -> Self {
        Self {
            to,
            log_url: None,
            environment_url: None,
            description: None,
            from_github: false,
            reopen_attempt: None,
        }
    }

    /// Reopens a finished deployment whose CI run was re-run (attempt `attempt`).
    pub fn reopening(mut self, attempt: u64) -> Self {
        self.reopen_attempt = Some(attempt);
        self
    }

    pub fn log_url(mut self, url: Option<String>) -> Self {
        self.log_url = url;
        self
    }

    pub fn environment_url(mut self, url: Option<String>) -> Self {
        self.environment_url = url;
        self
    }

    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    pub fn maybe_description(mut self, text: Option<String>) -> Self {
        self.description = text;
        self
    }

    pub fn from_github(mut self, from_github: bool) -> Self {
        self.from_github = from_github;
        self
    }

    /// Applies the transition to a record; false when the state machine says no or the record
    /// is already there (moving to the same state is "already done").
    fn apply(&self, d: &mut Deployment, now: Timestamp) -> bool {
        // A running deployment may say more about what it does without changing state
        // ("waiting on GitHub reviewers", then "job deploy running").
        if d.state == DeploymentState::InProgress
            && self.to == DeploymentState::InProgress
            && self.description.is_some()
            && d.description != self.description
        {
            d.description = self.description.clone();
            if let Some(url) = &self.log_url {
                d.build_url = Some(url.clone());
            }
            return true;
        }
        let reopens = self.reopen_attempt.is_some_and(|attempt| {
            self.to == DeploymentState::InProgress
                && matches!(
                    d.state,
                    DeploymentState::Success | DeploymentState::Failure | DeploymentState::Error
                )
                && d.ci_attempt.unwrap_or(1) < attempt
        });
        if reopens {
            d.ci_attempt = self.reopen_attempt;
        } else if d.state == self.to || !d.state.can_become(self.to) {
            return false;
        }
        d.state = self.to;
        if self.to == DeploymentState::Success && d.succeeded_at.is_none() {
            d.succeeded_at = Some(now);
        }
        if let Some(url) = &self.log_url {
            d.build_url = Some(url.clone());
        }
        if let Some(url) = &self.environment_url {
            d.environment_url = Some(url.clone());
        }
        d.description = self.description.clone();
        if self.to != DeploymentState::WaitingForChecks {
            d.waiting_for.clear();
        }
        true
    }
}

/// Moves `current` (re-read on conflict) through `transition`: record, then GitHub status,
/// then Slack. Does nothing beyond the record when the state did not change. A deployment
/// that succeeds supersedes the environment's older successful deployments.
pub async fn transition(
    state: &AppState,
    current: Deployment,
    transition: &Transition,
) -> Result<Saved, AppError> {
    let saved = save_and_announce(state, current, transition).await?;
    if let Saved::Changed(d) = &saved
        && matches!(
            d.state,
            DeploymentState::Success | DeploymentState::Failure | DeploymentState::Error
        )
    {
        deploybot_core::metrics::emit(deploybot_core::metrics::Metric::Deployment {
            environment: d.environment.to_string(),
            outcome: d.state.to_string(),
        });
    }
    if let Saved::Changed(d) = &saved
        && d.state == DeploymentState::Success
    {
        supersede_older_successes(state, d).await;
    }
    Ok(saved)
}

/// The transition itself: record, GitHub status (and PR comment), Slack.
async fn save_and_announce(
    state: &AppState,
    current: Deployment,
    transition: &Transition,
) -> Result<Saved, AppError> {
    let now = state.clock.now();
    let saved = update_from(state, current, |d| transition.apply(d, now)).await?;
    if let Saved::Changed(d) = &saved {
        write_github_status(state, d, transition.from_github).await;
        if d.state == DeploymentState::Success {
            upsert_pr_comment(state, d).await;
        }
        notify_slack(state, d).await;
    }
    Ok(saved)
}

/// How many of an environment's newest deployments are looked at to find the ones a newer
/// deployment supersedes (an index query; older ones were superseded in their time).
pub const SUPERSEDE_LOOKBACK: usize = 25;

/// The description of a deployment a newer one superseded.
pub fn superseded_by(newer: &Deployment) -> String {
    format!("superseded by {}", newer.id)
}

/// The newest [`SUPERSEDE_LOOKBACK`] deployments of `newer`'s environment, for superseding
/// older ones; `None` (logged) when they cannot be listed, since `newer` is saved already.
pub(crate) async fn recent_in_environment(
    state: &AppState,
    newer: &Deployment,
) -> Option<Vec<Deployment>> {
    let listed = async {
        state
            .deployments()?
            .list_deployments(
                &newer.repository,
                Some(newer.environment.clone()),
                SUPERSEDE_LOOKBACK,
            )
            .await
            .map_err(AppError::from)
    };
    match listed.await {
        Ok(list) => Some(list),
        Err(error) => {
            tracing::warn!(deployment = %newer.id, %error, "listing deployments to supersede failed");
            None
        }
    }
}

/// `newer` succeeded: the environment's older deployments that are `success` become
/// `inactive` — in the record (keeping `succeeded_at`, so the commit still counts as deployed
/// there), on GitHub (statuses are written with `auto_inactive: false`, so GitHub does not do
/// it) and in their Slack messages. Failures are logged: `newer` is saved already.
async fn supersede_older_successes(state: &AppState, newer: &Deployment) {
    let Some(recent) = recent_in_environment(state, newer).await else {
        return;
    };
    // Ids sort newest first, so an older deployment's id is greater.
    for old in recent
        .into_iter()
        .filter(|o| o.id > newer.id && o.state == DeploymentState::Success)
    {
        let why = match &newer.trigger {
            // The deployment a rollback went away from says so (docs/workflow.md, "Rolling
            // back").
            deploybot_core::Trigger::Rollback {
                slack_user, from, ..
            } if from == &old.id => format!("rolled back by {}", slack_user.mention()),
            _ => superseded_by(newer),
        };
        let t = Transition::to(DeploymentState::Inactive).description(why);
        if let Err(error) = save_and_announce(state, old, &t).await {
            tracing::warn!(deployment = %newer.id, %error, "superseding an older success failed");
        }
    }
}

/// Writes the record's state to GitHub as a deployment status, when the record has a GitHub
/// deployment and the state has a GitHub status. A GitHub failure is logged: the record is
/// already saved and Slack still follows.
async fn write_github_status(state: &AppState, d: &Deployment, from_github: bool) {
    let (Some(github_id), Some(_)) = (d.github_deployment_id, d.state.github_status()) else {
        return;
    };
    if from_github {
        return;
    }
    let status = NewDeploymentStatus {
        state: d.state,
        log_url: d.build_url.clone(),
        environment_url: d.environment_url.clone(),
        description: Some(
            d.description
                .clone()
                .unwrap_or_else(|| format!("{} {}", d.environment, d.state.label())),
        ),
    };
    let result = match state.github() {
        Ok(github) => github
            .create_deployment_status(&d.repository, github_id, &status)
            .await
            .map_err(AppError::from),
        Err(e) => Err(e),
    };
    if let Err(error) = result {
        tracing::warn!(deployment = %d.id, state = %d.state, %error, "writing the GitHub deployment status failed");
    }
}

/// The pull request's one comment with the environment link (edited, never repeated).
async fn upsert_pr_comment(state: &AppState, d: &Deployment) {
    let (Some(pr_number), Some(body)) = (d.pr_number, pr_comment_body(d)) else {
        return;
    };
    let result = match state.github() {
        Ok(github) => github
            .upsert_pr_comment(&d.repository, pr_number, PR_COMMENT_MARKER, &body)
            .await
            .map(|_| ())
            .map_err(AppError::from),
        Err(e) => Err(e),
    };
    if let Err(error) = result {
        tracing::warn!(deployment = %d.id, pr = pr_number, %error, "updating the pull request comment failed");
    }
}

fn message_request(d: &Deployment) -> SlackMessageRequest {
    SlackMessageRequest::Deployment {
        repository: d.repository.clone(),
        deployment_id: d.id.clone(),
    }
}

/// Asks `slack-message` (without waiting) to post or edit the deployment's message.
pub async fn notify_slack(state: &AppState, d: &Deployment) {
    let result = match state.invoker() {
        Ok(invoker) => invoke::send(invoker, &message_request(d))
            .await
            .map_err(AppError::from),
        Err(e) => Err(e),
    };
    if let Err(error) = result {
        tracing::warn!(deployment = %d.id, %error, "asking slack-message to update failed");
    }
}

/// Asks `slack-message` to post the deployment's message and waits, so the message `ts` is on
/// the record before any later transition edits it.
pub async fn post_slack_now(state: &AppState, d: &Deployment) {
    let result = match state.invoker() {
        Ok(invoker) => invoke::call(invoker, &message_request(d))
            .await
            .map(|_| ())
            .map_err(AppError::from),
        Err(e) => Err(e),
    };
    if let Err(error) = result {
        tracing::warn!(deployment = %d.id, %error, "posting the deployment message failed");
    }
}
