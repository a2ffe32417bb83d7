//! `github-deployment-create`: the lanes' dispatcher (docs/workflow.md, "Lanes"; the choices
//! in docs/workflow-decisions.md, "Creating deployments"). It stores each deployment wish as
//! an intent in its lane (a `ready` record with the lane's next `seq`) and drains the lane:
//! newest wins per source, one dispatched deployment per lane, and the dispatched one gets its
//! GitHub Deployment now — parked as *waiting for checks* when GitHub answers 409 (resumed or
//! failed later), `error` when GitHub fails. It carries out manual deployments asked for in
//! Slack, `dispatch` and `lane` requests from the functions that free a lane, deactivates
//! a closed pull request's environment, and checks a pull request's workflow file
//! (`deploybot/config`).
//!
//! Idempotency: the caller chooses the deployment id, so a retried invoke finds the record it
//! inserted and continues from its stored state; the lane's slot is taken with a conditional
//! write; the GitHub Deployment is created at most once per dispatch (key
//! `github-deployment:<repository>:<id>:<dispatch number>`).

mod cancel;
mod checks;
mod config_check;
pub mod manual;
mod required;
mod rerun;
mod rollback;
pub mod watchdog;
mod workflow;

use crate::lifecycle::{self, Transition};
use crate::render::deployment::deployment_message;
use crate::{AppError, AppState, idempotency, lanes};
use deploybot_core::blocks::Message;
use deploybot_core::invoke::{
    DeploymentCreateRequest, DeploymentCreateResponse, NewDeploymentRequest,
};
use deploybot_core::lane::{DispatchRefusal, LaneEvent, LaneKey, LaneRecord};
use deploybot_core::ports::InsertOutcome;
use deploybot_core::ports::{CreateDeploymentOutcome, NewGithubDeployment};
use deploybot_core::required_checks::{NamedCheck, Verdict};
use deploybot_core::{
    Deployment, DeploymentId, DeploymentState, Environment, Project, Repository, Trigger,
};

pub async fn handle(
    state: &AppState,
    request: DeploymentCreateRequest,
) -> Result<DeploymentCreateResponse, AppError> {
    match request {
        DeploymentCreateRequest::New(mut request) => {
            // The deployment first: a failing check must not hold it up. When the check fails,
            // so does the invoke, and its retry continues the stored deployment and checks
            // again.
            let check = request
                .check_workflow_file
                .take()
                .map(|check| (request.repository.clone(), check));
            let answer = new_deployment(state, request).await?;
            if let Some((repository, c)) = check {
                config_check::handle(state, &repository, c.number, &c.base_sha, &c.head_sha)
                    .await?;
            }
            Ok(answer)
        }
        DeploymentCreateRequest::Manual(request) => manual::handle(state, request).await,
        DeploymentCreateRequest::Recheck {
            repository,
            deployment_id,
        } => checks::recheck(state, &repository, &deployment_id).await,
        DeploymentCreateRequest::ExpireWaiting => checks::expire_waiting(state).await,
        DeploymentCreateRequest::Watchdog => watchdog::sweep(state).await,
        DeploymentCreateRequest::Deactivate {
            repository,
            environment,
        } => deactivate(state, &repository, environment).await,
        DeploymentCreateRequest::Rerun {
            repository,
            deployment_id,
            attempt,
            log_url,
            outcome,
        } => {
            let rerun = rerun::Rerun {
                attempt,
                log_url,
                outcome,
            };
            rerun::handle(state, &repository, &deployment_id, rerun).await
        }
        DeploymentCreateRequest::CancelRunning {
            repository,
            environment,
            all,
            by,
            channel,
            only,
        } => {
            let asked = cancel::Asked {
                all,
                by,
                channel,
                only,
            };
            cancel::handle(state, repository, environment, asked).await
        }
        DeploymentCreateRequest::Dispatch {
            repository,
            deployment_id,
        } => dispatch_request(state, &repository, &deployment_id).await,
        DeploymentCreateRequest::Lane { lane, event } => {
            run_lane(state, &lane, event).await?;
            Ok(nothing())
        }
        DeploymentCreateRequest::Workflow(request) => workflow::handle(state, *request).await,
        DeploymentCreateRequest::CheckWorkflowFile {
            repository,
            number,
            base_sha,
            head_sha,
        } => config_check::handle(state, &repository, number, &base_sha, &head_sha).await,
        DeploymentCreateRequest::RollbackPreview(request) => {
            rollback::preview(state, request).await
        }
        DeploymentCreateRequest::Rollback(request) => rollback::confirmed(state, request).await,
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
    Bound(Box<Project>),
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
            Some(project) => Prelude::Bound(Box::new(project)),
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
        Prelude::Bound(project) => *project,
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
    let policy = state.policy_of(&project);
    record.environment_url = policy.environment_url(&project.settings, &record.environment);
    record.production = Some(policy.is_production(&record.environment));
    record.gated = policy.approvals(&record.environment).is_some();
    record.ci = Some(policy.ci_target(&record.environment, state.config.ci_backend));
    let cancels_running = policy.cancels_running(&record.environment);
    let stored = record.clone();
    let answer = start(state, record).await?;
    if cancels_running && answer.state.is_some_and(|s| s.is_pending()) {
        cancel::superseded_running(state, &stored).await?;
    }
    Ok(answer)
}

/// Stores a new intent in its lane (state `ready`, the lane's next `seq`), posts its Slack
/// message and drains the lane, which dispatches it or another intent when the lane is free.
/// A record that exists already (a retried invoke) is continued from its stored state.
pub(crate) async fn start(
    state: &AppState,
    mut record: Deployment,
) -> Result<DeploymentCreateResponse, AppError> {
    let key = lanes::lane_of(&record);
    record.seq = state.lanes()?.next_lane_seq(&key).await?;
    record.state = DeploymentState::Ready;
    match state.deployments()?.insert_deployment(&record).await? {
        InsertOutcome::Inserted => {
            lifecycle::post_slack_now(state, &record).await;
            run_lane_after_storing(state, &key, &record.id).await?;
            let current = lifecycle::load(state, &record.repository, &record.id).await?;
            Ok(about(&current))
        }
        InsertOutcome::AlreadyExists(stored) => continue_existing(state, *stored).await,
    }
}

/// A retried invoke: carry on where the first attempt stopped — post the message if it is
/// missing, and drain the lane again (idempotent) — never creating a second GitHub
/// deployment.
async fn continue_existing(
    state: &AppState,
    stored: Deployment,
) -> Result<DeploymentCreateResponse, AppError> {
    if stored.slack_ts.is_none() {
        lifecycle::post_slack_now(state, &stored).await;
    }
    if stored.state.is_pending() {
        run_lane(state, &lanes::lane_of(&stored), LaneEvent::Drain).await?;
        let current = lifecycle::load(state, &stored.repository, &stored.id).await?;
        return Ok(about(&current));
    }
    Ok(about(&stored))
}

/// How many times one invocation lets its lane dispatch again after GitHub refused a
/// dispatch (each refusal parks or fails one intent, so the lane moves on).
const MAX_DISPATCHES: usize = 10;

/// Applies `event` to the lane and carries out the dispatch it decides; a dispatch GitHub
/// refuses goes back to the lane (parked for checks, or failed), which drains again. A lane
/// whose slot holds a deployment not yet created on GitHub (an earlier attempt stopped after
/// taking the slot) has it created now: the creation is guarded, so it happens once.
pub(crate) async fn run_lane(
    state: &AppState,
    key: &LaneKey,
    event: LaneEvent,
) -> Result<(), AppError> {
    // Boxed: a decision with its dispatch is a large future, awaited from many places.
    Box::pin(run_lane_from(state, key, event, None)).await
}

async fn run_lane_from(
    state: &AppState,
    key: &LaneKey,
    event: LaneEvent,
    mut fresh: Option<&DeploymentId>,
) -> Result<(), AppError> {
    let mut event = event;
    for _ in 0..MAX_DISPATCHES {
        let applied = match fresh.take() {
            Some(id) => lanes::apply_after_storing(state, key, &event, id).await?,
            None => lanes::apply(state, key, &event).await?,
        };
        let to_dispatch = match applied.dispatch {
            Some(d) => Some(d),
            None => stalled_dispatch(state, &applied.lane).await?,
        };
        let Some(d) = to_dispatch else {
            return Ok(());
        };
        match dispatch(state, d, applied.lane.dispatches).await? {
            Some(refused) => event = refused,
            None => return Ok(()),
        }
    }
    tracing::warn!(lane = %key, "GitHub refused {MAX_DISPATCHES} dispatches in a row; the rest waits for the next event");
    Ok(())
}

/// [`run_lane`] with a drain, right after `fresh` was stored: the drain counts it in even when
/// the index of pending deployments does not show it yet.
async fn run_lane_after_storing(
    state: &AppState,
    key: &LaneKey,
    fresh: &DeploymentId,
) -> Result<(), AppError> {
    run_lane_from(state, key, LaneEvent::Drain, Some(fresh)).await
}

/// The lane's running deployment when it is still `ready` without a GitHub deployment.
async fn stalled_dispatch(
    state: &AppState,
    lane: &LaneRecord,
) -> Result<Option<Deployment>, AppError> {
    let Some(id) = &lane.running else {
        return Ok(None);
    };
    let d = state
        .deployments()?
        .get_deployment(&lane.lane.repository, id)
        .await?;
    Ok(d.filter(|d| d.state == DeploymentState::Ready && d.github_deployment_id.is_none()))
}

/// `dispatch`: a deployment that holds its lane's slot gets its GitHub deployment.
async fn dispatch_request(
    state: &AppState,
    repository: &Repository,
    id: &DeploymentId,
) -> Result<DeploymentCreateResponse, AppError> {
    let d = lifecycle::load(state, repository, id).await?;
    let key = lanes::lane_of(&d);
    let lane = state.lanes()?.get_lane(&key).await?;
    let Some(number) = lane
        .filter(|l| l.running.as_ref() == Some(id))
        .map(|l| l.dispatches)
    else {
        return Ok(about(&d));
    };
    if d.state != DeploymentState::Ready || d.github_deployment_id.is_some() {
        return Ok(about(&d));
    }
    if let Some(refused) = dispatch(state, d, number).await? {
        run_lane(state, &key, refused).await?;
    }
    let d = lifecycle::load(state, repository, id).await?;
    Ok(about(&d))
}

/// Creates the GitHub deployment of the deployment that took its lane's slot as the lane's
/// dispatch number `number`. `None` when it was created (or another attempt is creating it);
/// otherwise the lane event saying why GitHub refused, for the lane to park or fail it and
/// move on. The creation is guarded per dispatch (a deployment parked for checks is
/// dispatched again later, under a new key).
async fn dispatch(
    state: &AppState,
    record: Deployment,
    number: u64,
) -> Result<Option<LaneEvent>, AppError> {
    let key = format!(
        "github-deployment:{}:{}:{number}",
        record.repository, record.id
    );
    let lease = match idempotency::claim(state, &key).await? {
        idempotency::Claimed::Lease(lease) => lease,
        idempotency::Claimed::InProgress | idempotency::Claimed::Done => {
            tracing::info!(deployment = %record.id, "GitHub deployment already requested by an earlier attempt");
            return Ok(None);
        }
    };
    let record = match lifecycle::load(state, &record.repository, &record.id).await {
        Ok(record) => record,
        Err(error) => {
            lease.release(state).await;
            return Err(error);
        }
    };
    let shown = shown_message(&record);
    let intent = record.id.clone();
    Ok(
        match create_on_github(state, record, shown.as_ref(), Some(lease)).await? {
            Created::OnGitHub => None,
            Created::Parked(contexts) => Some(LaneEvent::DispatchRefused {
                intent,
                refusal: DispatchRefusal::ChecksPending { contexts },
            }),
            Created::Failed(why) => Some(LaneEvent::DispatchRefused {
                intent,
                refusal: DispatchRefusal::Error { why },
            }),
        },
    )
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
        environment: d.environment.clone(),
        description: format!(
            "deploybot: {} ({}) to {}",
            d.git_ref.short_name(),
            d.sha.short(),
            d.environment
        ),
        payload: match &d.trigger {
            Trigger::Rollback {
                slack_user,
                from,
                from_sha,
                to,
                reason,
            } => serde_json::json!({
                "deployment_id": d.id,
                "pr_number": d.pr_number,
                "pr_url": pr_url,
                "rollback": {
                    "from_deployment_id": from,
                    "from_sha": from_sha,
                    "to_deployment_id": to,
                    "by_slack_user": slack_user,
                    "reason": reason,
                },
            }),
            _ => serde_json::json!({
                "deployment_id": d.id,
                "pr_number": d.pr_number,
                "pr_url": pr_url,
            }),
        },
        transient_environment: d.pr_number.is_some(),
        production_environment: d.is_production(),
        rollback: d.trigger.is_rollback(),
    }
}

/// The approved request that let `d` through, when its environment needs approvals (a
/// failure to read it is logged: the deployment goes on without naming its approvers).
async fn approved_by(
    state: &AppState,
    d: &Deployment,
) -> Option<deploybot_core::approval::ApprovalRequest> {
    let project = match state.projects() {
        Ok(projects) => projects.project_by_repository(&d.repository).await.ok()?,
        Err(_) => None,
    };
    let policy = project.as_ref().map(|p| state.policy_of(p))?;
    policy.approvals(&d.environment)?;
    let workflow = crate::approvals::workflow_version(project.as_ref());
    match crate::approvals::approved_by(state, d, &workflow).await {
        Ok(found) => found,
        Err(error) => {
            tracing::warn!(deployment = %d.id, %error, "reading the approval request failed");
            None
        }
    }
}

/// The approvals in the GitHub deployment: `approvals` in its payload (login, rule, Slack
/// user, when) and "approved by @bo (leads), @cy (qa)" in its description.
fn with_approvals(
    request: &mut NewGithubDeployment,
    approval: &deploybot_core::approval::ApprovalRequest,
) {
    let votes: Vec<serde_json::Value> = approval
        .votes
        .iter()
        .map(|v| {
            serde_json::json!({
                "login": v.login,
                "rule": v.rule,
                "slack_user": v.by,
                "at": v.at.millis(),
            })
        })
        .collect();
    if let Some(payload) = request.payload.as_object_mut() {
        payload.insert("approvals".to_owned(), serde_json::Value::Array(votes));
    }
    request.description = format!("{} — {}", request.description, approval.approved_by());
}

/// What became of a dispatched deployment at GitHub.
pub(crate) enum Created {
    /// GitHub created it: `created`, with its GitHub id.
    OnGitHub,
    /// GitHub refused it while these required checks are not green: `waiting_for_checks`.
    Parked(Vec<String>),
    /// GitHub could not create it: `error`, with the sentence.
    Failed(String),
}

/// Asks GitHub for the deployment of a dispatched record (`ready`, no GitHub deployment yet)
/// and records the answer: the GitHub id, a parking spot while checks are not green, or an
/// error. When the environment lists `required_checks`, deploybot evaluates them first: all
/// passing goes on to GitHub, any failing fails the deployment, missing or pending parks it.
/// `shown` is the deployment's Slack message as last sent (see [`shown_message`]): the
/// message is edited only when the saved record renders differently, or posted when there is
/// none. `lease`, the claim guarding the creation, is marked done once GitHub has answered.
pub(crate) async fn create_on_github(
    state: &AppState,
    record: Deployment,
    shown: Option<&Message>,
    lease: Option<idempotency::Lease>,
) -> Result<Created, AppError> {
    let names = match required::required_names(state, &record).await {
        Ok(names) => names,
        Err(error) => {
            if let Some(lease) = lease {
                lease.release(state).await;
            }
            return Err(error);
        }
    };
    // The required checks as evaluated (empty: the environment requires none).
    let mut evaluated: Vec<NamedCheck> = Vec::new();
    if !names.is_empty() {
        let evaluation = required::evaluate_for(state, &record, &names).await;
        let verdict = match evaluation {
            Ok(evaluation) => {
                evaluated = evaluation.checks;
                evaluation.verdict
            }
            Err(error) => {
                if let Some(lease) = lease {
                    let _ = idempotency::settle(state, lease, Ok(())).await;
                }
                return not_created(state, record, error).await;
            }
        };
        match verdict {
            Verdict::Go => {}
            Verdict::Wait(waiting) => {
                if let Some(lease) = lease {
                    let _ = idempotency::settle(state, lease, Ok(())).await;
                }
                return park(state, record, waiting, evaluated, shown).await;
            }
            Verdict::Fail(failing) => {
                if let Some(lease) = lease {
                    let _ = idempotency::settle(state, lease, Ok(())).await;
                }
                let record = lifecycle::update_from(state, record, |d| {
                    if d.state != DeploymentState::Ready || d.github_deployment_id.is_some() {
                        return false;
                    }
                    d.required_checks = Some(evaluated.clone());
                    true
                })
                .await?
                .into_deployment();
                let description = required::failed_sentence(&failing);
                tracing::info!(deployment = %record.id, failing = ?failing, "required checks fail: not deployed");
                let t = Transition::to(DeploymentState::Failure).description(description.clone());
                lifecycle::transition(state, record, &t).await?;
                return Ok(Created::Failed(description));
            }
        }
    }
    let mut request = github_request(&record);
    let approved = approved_by(state, &record).await;
    if let Some(approval) = &approved {
        with_approvals(&mut request, approval);
    }
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
                if d.github_deployment_id.is_some() || d.state != DeploymentState::Ready {
                    return false;
                }
                d.github_deployment_id = Some(id);
                d.state = DeploymentState::Created;
                d.waiting_for.clear();
                d.required_checks = Some(evaluated.clone());
                d.description = approved.as_ref().map(|a| a.approved_by());
                true
            })
            .await?
            .into_deployment();
            tracing::info!(deployment = %saved.id, github_deployment = id, "GitHub deployment created");
            // On its way: what it ships is asked now (within its budget), before the message
            // that shows it.
            crate::shipping::ensure(state, &saved).await;
            notify_slack_if_changed(state, &saved, shown).await;
            Ok(Created::OnGitHub)
        }
        Ok(CreateDeploymentOutcome::ChecksNotGreen { contexts }) => {
            park(state, record, contexts, evaluated, shown).await
        }
        Err(error) => not_created(state, record, error).await,
    }
}

/// Parks a dispatched record as *waiting for checks* on `contexts` (GitHub's refused ones, or
/// deploybot's required checks not passing yet), with the required checks as evaluated.
async fn park(
    state: &AppState,
    record: Deployment,
    contexts: Vec<String>,
    evaluated: Vec<NamedCheck>,
    shown: Option<&Message>,
) -> Result<Created, AppError> {
    let saved = lifecycle::update_from(state, record, |d| {
        if d.state != DeploymentState::Ready || d.github_deployment_id.is_some() {
            return false;
        }
        // Parking is the outcome of the creation attempt, not a move of an existing
        // GitHub deployment: nothing exists on GitHub yet.
        d.state = DeploymentState::WaitingForChecks;
        d.waiting_for = contexts.clone();
        d.required_checks = Some(evaluated.clone());
        d.description = None;
        true
    })
    .await?
    .into_deployment();
    tracing::info!(deployment = %saved.id, contexts = ?saved.waiting_for, "parked until checks are green");
    notify_slack_if_changed(state, &saved, shown).await;
    Ok(Created::Parked(contexts))
}

/// GitHub could not be asked or did not answer: the record becomes `error`.
async fn not_created(
    state: &AppState,
    record: Deployment,
    error: AppError,
) -> Result<Created, AppError> {
    tracing::warn!(deployment = %record.id, %error, "GitHub did not create the deployment");
    let description = match &error {
        AppError::GitHub(e) => format!("GitHub did not create the deployment: {e}"),
        other => format!("The deployment could not be created: {other}"),
    };
    let t = Transition::to(DeploymentState::Error).description(description.clone());
    lifecycle::transition(state, record, &t).await?;
    Ok(Created::Failed(description))
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

/// A closed pull request: every deployment of its environment becomes inactive on GitHub,
/// in the record and in Slack.
async fn deactivate(
    state: &AppState,
    repository: &Repository,
    environment: Environment,
) -> Result<DeploymentCreateResponse, AppError> {
    let reason = if environment.is_transient() || environment.pull_request().is_some() {
        "pull request closed"
    } else {
        "deactivated"
    };
    // What still waits in the lane is cancelled first (it never ran); then what ran goes
    // inactive.
    let key = LaneKey {
        repository: repository.clone(),
        environment: environment.clone(),
    };
    let cancel = LaneEvent::Cancel {
        intent: None,
        why: reason.to_owned(),
    };
    lanes::apply(state, &key, &cancel).await?;
    let deployments = state
        .deployments()?
        .list_deployments(repository, Some(environment), 100)
        .await?;
    for d in deployments
        .into_iter()
        .filter(|d| d.state.can_become(DeploymentState::Inactive))
    {
        let t = Transition::to(DeploymentState::Inactive).description(reason);
        lifecycle::transition(state, d, &t).await?;
    }
    // The lane's slot is freed: its deployment is inactive now.
    let lane = state.lanes()?.get_lane(&key).await?;
    if let Some(running) = lane.and_then(|l| l.running) {
        let event = LaneEvent::Finished {
            intent: running,
            outcome: deploybot_core::lane::Outcome::Error {
                why: reason.to_owned(),
            },
        };
        run_lane(state, &key, event).await?;
    }
    forget_closed_lane(state, &key).await?;
    Ok(DeploymentCreateResponse {
        state: Some(DeploymentState::Inactive),
        ..nothing()
    })
}

/// Deletes a closed pull request's lane when nothing is left in it — no deployment in its
/// slot, no live lock, nothing pending — so that reading a repository's lanes (`status`) does
/// not grow with the pull requests it ever had. Deleted at the version read: anything that
/// came meanwhile (the pull request reopened) keeps the lane. A reopened pull request starts
/// a new record; its arrival counter and lock history stay.
async fn forget_closed_lane(state: &AppState, key: &LaneKey) -> Result<(), AppError> {
    let lanes = state.lanes()?;
    let Some(record) = lanes.get_lane(key).await? else {
        return Ok(());
    };
    let now = state.clock.now();
    let locked = record.lock.as_ref().is_some_and(|l| !l.is_expired(now));
    if record.running.is_some() || locked {
        return Ok(());
    }
    if !state
        .deployments()?
        .pending_deployments(key, 1)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    if lanes.delete_lane(&record).await? {
        tracing::info!(lane = %key, "closed pull request's lane deleted");
    }
    Ok(())
}
