//! `github-deployment-create`: creates a deployment's record and its GitHub Deployment
//! (docs/workflow.md; the choices in docs/workflow-decisions.md, "Creating deployments"), parks it
//! as *waiting for checks* when GitHub answers 409 and resumes or fails it later, carries out
//! manual deployments asked for in Slack, supersedes older in-flight deployments of the same
//! environment, and deactivates a closed pull request's environment.
//!
//! Idempotency: the caller chooses the deployment id, so a retried invoke finds the record it
//! inserted and continues from its stored state; the GitHub Deployment is created at most once
//! (key `github-deployment:<repository>:<id>`; a parked deployment resumes through a
//! version-guarded `waiting_for_checks → created` write that exactly one attempt wins).

mod checks;
mod manual;

use crate::lifecycle::{self, Transition};
use crate::render::deployment::deployment_message;
use crate::{AppError, AppState, idempotency};
use deploybot_core::blocks::Message;
use deploybot_core::invoke::{
    DeploymentCreateRequest, DeploymentCreateResponse, NewDeploymentRequest,
};
use deploybot_core::ports::InsertOutcome;
use deploybot_core::ports::{CreateDeploymentOutcome, NewGithubDeployment};
use deploybot_core::urls::environment_url;
use deploybot_core::{
    Deployment, DeploymentId, DeploymentState, Environment, Project, Repository, Trigger,
};

pub async fn handle(
    state: &AppState,
    request: DeploymentCreateRequest,
) -> Result<DeploymentCreateResponse, AppError> {
    match request {
        DeploymentCreateRequest::New(request) => new_deployment(state, request).await,
        DeploymentCreateRequest::Manual(request) => manual::handle(state, request).await,
        DeploymentCreateRequest::Recheck {
            repository,
            deployment_id,
        } => checks::recheck(state, &repository, &deployment_id).await,
        DeploymentCreateRequest::ExpireWaiting => checks::expire_waiting(state).await,
        DeploymentCreateRequest::Deactivate {
            repository,
            environment,
        } => deactivate(state, &repository, environment).await,
    }
}

/// The answer about one deployment.
fn about(d: &Deployment) -> DeploymentCreateResponse {
    DeploymentCreateResponse {
        deployment_id: Some(d.id.clone()),
        state: Some(d.state),
        refused: None,
    }
}

fn refused(reason: impl Into<String>) -> DeploymentCreateResponse {
    DeploymentCreateResponse {
        deployment_id: None,
        state: None,
        refused: Some(reason.into()),
    }
}

fn nothing() -> DeploymentCreateResponse {
    DeploymentCreateResponse {
        deployment_id: None,
        state: None,
        refused: None,
    }
}

/// Where a create request stands before anything is decided.
enum Prelude {
    /// A retried invoke: the record exists and was continued; this is the answer.
    Continued(DeploymentCreateResponse),
    /// The repository is no longer bound to a channel.
    Unbound,
    Bound(Project),
}

/// Continues a retried invoke whose record exists, else looks up the bound project.
async fn prelude(
    state: &AppState,
    repository: &Repository,
    id: &DeploymentId,
) -> Result<Prelude, AppError> {
    if let Some(existing) = state.deployments()?.get_deployment(repository, id).await? {
        return Ok(Prelude::Continued(
            continue_existing(state, existing).await?,
        ));
    }
    Ok(
        match state.projects()?.project_by_repository(repository).await? {
            Some(project) => Prelude::Bound(project),
            None => Prelude::Unbound,
        },
    )
}

async fn new_deployment(
    state: &AppState,
    request: NewDeploymentRequest,
) -> Result<DeploymentCreateResponse, AppError> {
    let project = match prelude(state, &request.repository, &request.deployment_id).await? {
        Prelude::Continued(answer) => return Ok(answer),
        Prelude::Unbound => {
            return Ok(refused(format!(
                "no channel follows {} any more",
                request.repository
            )));
        }
        Prelude::Bound(project) => project,
    };
    let mut record = Deployment::new(
        request.repository,
        request.deployment_id,
        request.environment,
        request.git_ref,
        request.sha,
        request.trigger,
        request.channel,
        state.clock.now(),
    );
    record.commit_author = request.commit_author;
    record.environment_url = environment_url(&project.settings, record.environment);
    start(state, record).await
}

/// Inserts a new record (state `created`, no GitHub deployment yet), posts its Slack message
/// and creates the GitHub Deployment. A record that exists already (a retried invoke) is
/// continued from its stored state instead.
pub(crate) async fn start(
    state: &AppState,
    record: Deployment,
) -> Result<DeploymentCreateResponse, AppError> {
    match state.deployments()?.insert_deployment(&record).await? {
        InsertOutcome::Inserted => {
            lifecycle::post_slack_now(state, &record).await;
            create_once(state, record).await
        }
        InsertOutcome::AlreadyExists(stored) => continue_existing(state, *stored).await,
    }
}

/// A retried invoke: carry on where the first attempt stopped, never creating a second
/// GitHub Deployment.
async fn continue_existing(
    state: &AppState,
    stored: Deployment,
) -> Result<DeploymentCreateResponse, AppError> {
    if stored.slack_ts.is_none() {
        lifecycle::post_slack_now(state, &stored).await;
    }
    if stored.state == DeploymentState::Created && stored.github_deployment_id.is_none() {
        return create_once(state, stored).await;
    }
    Ok(about(&stored))
}

/// Creates the GitHub Deployment of a freshly inserted record, guarded by an idempotency key
/// so that no retry creates a second one. The key is released when anything before the GitHub
/// request fails (the store reads), so the retry does the work; it is marked done as soon as
/// GitHub has answered, so a store failure after that never leads to a second GitHub
/// deployment. A killed attempt's lease runs out and the retry after it does the work.
async fn create_once(
    state: &AppState,
    record: Deployment,
) -> Result<DeploymentCreateResponse, AppError> {
    let key = format!("github-deployment:{}:{}", record.repository, record.id);
    let lease = match idempotency::claim(state, &key).await? {
        idempotency::Claimed::Lease(lease) => lease,
        idempotency::Claimed::InProgress | idempotency::Claimed::Done => {
            tracing::info!(deployment = %record.id, "GitHub deployment already requested by an earlier attempt");
            let current = lifecycle::load(state, &record.repository, &record.id).await?;
            return Ok(about(&current));
        }
    };
    let before = async {
        let record = lifecycle::load(state, &record.repository, &record.id).await?;
        let newer = newer_in_environment(state, &record).await?;
        Ok::<_, AppError>((record, newer))
    };
    let (record, newer) = match before.await {
        Ok(found) => found,
        Err(error) => {
            lease.release(state).await;
            return Err(error);
        }
    };
    if let Some(newer) = newer {
        // This invoke arrived after a newer deployment of the environment was handled:
        // deploying it now would put the older commit live last.
        tracing::info!(deployment = %record.id, newer = %newer.id, "superseded before it reached GitHub");
        let t =
            Transition::to(DeploymentState::Inactive).description(lifecycle::superseded_by(&newer));
        let result = lifecycle::transition(state, record, &t)
            .await
            .map(|saved| about(&saved.into_deployment()));
        return idempotency::settle(state, lease, result).await;
    }
    let shown = shown_message(&record);
    let d = create_on_github(state, record, shown.as_ref(), Some(lease)).await?;
    Ok(about(&d))
}

/// A newer deployment of the same environment that is under way or succeeded, if any (one
/// index query): it replaces `record`.
async fn newer_in_environment(
    state: &AppState,
    record: &Deployment,
) -> Result<Option<Deployment>, AppError> {
    let recent = state
        .deployments()?
        .list_deployments(
            &record.repository,
            Some(record.environment),
            lifecycle::SUPERSEDE_LOOKBACK,
        )
        .await?;
    // Ids sort newest first, so a newer deployment's id is smaller.
    Ok(recent
        .into_iter()
        .find(|d| d.id < record.id && (d.state.is_in_flight() || d.has_succeeded())))
}

/// What GitHub is asked to create for a record.
fn github_request(d: &Deployment) -> NewGithubDeployment {
    let pr_url = match &d.trigger {
        Trigger::PullRequest { url, .. } => url.clone(),
        _ => None,
    };
    NewGithubDeployment {
        repository: d.repository.clone(),
        // The exact commit: GitHub checks the required contexts of this SHA, and the branch
        // moving on cannot change what gets deployed.
        git_ref: d.sha.to_string(),
        environment: d.environment,
        description: format!(
            "deploybot: {} ({}) to {}",
            d.git_ref.short_name(),
            d.sha.short(),
            d.environment
        ),
        payload: serde_json::json!({
            "deployment_id": d.id,
            "pr_number": d.pr_number,
            "pr_url": pr_url,
        }),
        transient_environment: d.environment.is_transient(),
        production_environment: d.environment.is_production(),
    }
}

/// Asks GitHub for the deployment of a record in `created` without a GitHub deployment, and
/// records the answer: the GitHub id, a parking spot while checks are not green, or an error.
/// `shown` is the deployment's Slack message as last sent (see [`shown_message`]): the message
/// is edited only when the saved record renders differently, or posted when there is none.
/// `lease`, the claim guarding the creation, is marked done once GitHub has answered.
pub(crate) async fn create_on_github(
    state: &AppState,
    record: Deployment,
    shown: Option<&Message>,
    lease: Option<idempotency::Lease>,
) -> Result<Deployment, AppError> {
    let request = github_request(&record);
    let outcome = match state.github() {
        Ok(github) => github
            .create_deployment(&request)
            .await
            .map_err(AppError::from),
        Err(e) => Err(e),
    };
    if let Some(lease) = lease {
        let _ = idempotency::settle(state, lease, Ok(())).await;
    }
    match outcome {
        Ok(CreateDeploymentOutcome::Created { id }) => {
            let saved = lifecycle::update_from(state, record, |d| {
                if d.github_deployment_id.is_some() {
                    return false;
                }
                d.github_deployment_id = Some(id);
                d.waiting_for.clear();
                true
            })
            .await?
            .into_deployment();
            tracing::info!(deployment = %saved.id, github_deployment = id, "GitHub deployment created");
            // The GitHub id is not shown in the message: edit it only when something that is
            // shown changed (a resumed deployment no longer waits; a retried invoke may find a
            // record that moved on).
            notify_slack_if_changed(state, &saved, shown).await;
            supersede_older(state, &saved).await;
            Ok(saved)
        }
        Ok(CreateDeploymentOutcome::ChecksNotGreen { contexts }) => {
            let saved = lifecycle::update_from(state, record, |d| {
                if d.state != DeploymentState::Created || d.github_deployment_id.is_some() {
                    return false;
                }
                // Parking is the outcome of the creation attempt, not a move of an existing
                // GitHub deployment: nothing exists on GitHub yet.
                d.state = DeploymentState::WaitingForChecks;
                d.waiting_for = contexts.clone();
                d.description = None;
                true
            })
            .await?
            .into_deployment();
            tracing::info!(deployment = %saved.id, contexts = ?saved.waiting_for, "parked until checks are green");
            notify_slack_if_changed(state, &saved, shown).await;
            supersede_older(state, &saved).await;
            Ok(saved)
        }
        Err(error) => {
            tracing::warn!(deployment = %record.id, %error, "GitHub did not create the deployment");
            let description = match &error {
                AppError::GitHub(e) => format!("GitHub did not create the deployment: {e}"),
                other => format!("The deployment could not be created: {other}"),
            };
            let t = Transition::to(DeploymentState::Error).description(description);
            Ok(lifecycle::transition(state, record, &t)
                .await?
                .into_deployment())
        }
    }
}

/// The deployment's Slack message as it reads in the channel when `record` is what was last
/// sent (rendered without people's links, which do not change here); `None` when no message
/// was posted yet (the post failed).
pub(crate) fn shown_message(record: &Deployment) -> Option<Message> {
    record
        .slack_ts
        .is_some()
        .then(|| deployment_message(record, &[]))
}

/// Asks `slack-message` to edit the deployment's message when the saved record renders
/// differently from `shown`, and to post it when there is no message yet.
async fn notify_slack_if_changed(state: &AppState, saved: &Deployment, shown: Option<&Message>) {
    if shown != Some(&deployment_message(saved, &[])) {
        lifecycle::notify_slack(state, saved).await;
    }
}

/// Marks the environment's older deployments that are still in flight inactive: the newer
/// one replaces them.
async fn supersede_older(state: &AppState, newer: &Deployment) {
    let Some(older) = lifecycle::recent_in_environment(state, newer).await else {
        return;
    };
    // Ids sort newest first, so an older deployment's id is greater.
    for old in older
        .into_iter()
        .filter(|o| o.id > newer.id && o.state.is_in_flight())
    {
        let t =
            Transition::to(DeploymentState::Inactive).description(lifecycle::superseded_by(newer));
        if let Err(error) = lifecycle::transition(state, old, &t).await {
            tracing::warn!(deployment = %newer.id, %error, "superseding an older deployment failed");
        }
    }
}

/// A closed pull request: every deployment of its environment becomes inactive on GitHub,
/// in the record and in Slack.
async fn deactivate(
    state: &AppState,
    repository: &Repository,
    environment: Environment,
) -> Result<DeploymentCreateResponse, AppError> {
    let deployments = state
        .deployments()?
        .list_deployments(repository, Some(environment), 100)
        .await?;
    let reason = if environment.is_transient() {
        "pull request closed"
    } else {
        "deactivated"
    };
    for d in deployments
        .into_iter()
        .filter(|d| d.state != DeploymentState::Inactive)
    {
        let t = Transition::to(DeploymentState::Inactive).description(reason);
        lifecycle::transition(state, d, &t).await?;
    }
    Ok(DeploymentCreateResponse {
        state: Some(DeploymentState::Inactive),
        ..nothing()
    })
}
