//! `github-webhook` (`POST /github/webhook`): GitHub events → workflow decisions (docs/workflow.md,
//! "Events from GitHub"). Verifies `X-Hub-Signature-256` over the raw body before anything else,
//! parses the event into typed structs, asks the policy, and hands slow work to other functions by
//! `Event` invoke.
//!
//! Latency budget: GitHub gives up after 10 s; this answers after the signature check, at
//! most a few key/index lookups and one or more `Event` invokes — well under a second.
//! Idempotency key: `github:<X-GitHub-Delivery>` (forgotten again when handling fails
//! internally, so GitHub's redelivery is processed).
//!
//! Body size: up to `github_max_body_bytes` (GitHub's own 25 MB maximum), not the smaller
//! limit of the other routes; every step over the body (signature, JSON parsing into the
//! typed payload, commits skipped as `IgnoredAny`) is one linear pass.

use crate::webhook_payloads::github::{
    CheckRunEvent, CheckSuiteEvent, DeploymentEvent, DeploymentStatusEvent, GithubDeployment,
    PullRequestEvent, PushEvent, RepositoryEvent, RepositoryInfo, StatusEvent, WorkflowJobEvent,
    WorkflowRunEvent,
};
use crate::webhook_payloads::parse_json;
use crate::{AppError, AppState};
use crate::{idempotency, lifecycle, workflow};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use deploybot_core::blocks::Message;
use deploybot_core::invoke::{
    self, CircleciTriggerRequest, DeploymentCreateRequest, DeploymentStatusRequest, HandedEvent,
    SlackMessageRequest, WorkflowFileCheck, WorkflowRequest,
};
use deploybot_core::policy::{Decision, PullRequestAction, WorkflowEvent};
use deploybot_core::ports::MoveOutcome;
use deploybot_core::repository_move;
use deploybot_core::signature::verify_github;
use deploybot_core::{Deployment, DeploymentState, GitRef, Project, Repository, Sha, Trigger};
use std::future::Future;
use std::pin::Pin;
use tracing::Instrument;

mod actions_runs;

/// The events this function acts on; anything else is acknowledged and ignored.
const HANDLED: [&str; 10] = [
    "repository",
    "pull_request",
    "push",
    "status",
    "check_suite",
    "check_run",
    "deployment",
    "deployment_status",
    "workflow_run",
    "workflow_job",
];

/// How many deployments of one commit are looked at for parked ones.
const PARKED_LOOKUP: usize = 20;

/// The route's path.
const PATH: &str = "/github/webhook";

/// The route has no layers: the most frequent delivery of all skips the per-request boxing of
/// each one (docs/performance.md, "Keys read as bytes"). The handler reads the body within
/// its own limit and logs its refusals as the other routes' layer does.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(PATH, post(receive_and_log))
        .with_state(state)
}

async fn receive_and_log(State(state): State<AppState>, request: Request) -> Response {
    // Boxed: axum boxes this future, and with `receive`'s state inside it would be over the
    // kilobyte that glibc's per-thread cache serves (docs/performance.md, "Leading fields").
    let response = Box::pin(receive(state, request)).await.into_response();
    super::log_refusal(PATH, &response);
    response
}

/// The three headers a delivery is read by, found in one pass over the request's headers
/// (a lookup by name parses and hashes the name: three of them cost more than the pass). Each
/// is the first value of its name, when that is text, as `HeaderMap::get` would answer.
#[derive(Debug, PartialEq)]
struct DeliveryHeaders<'a> {
    event: Option<&'a str>,
    delivery: Option<&'a str>,
    signature: Option<&'a str>,
}

impl<'a> DeliveryHeaders<'a> {
    fn of(headers: &'a axum::http::HeaderMap) -> Self {
        let (mut event, mut delivery, mut signature) = (None, None, None);
        for (name, value) in headers {
            let slot = match name.as_str() {
                "x-github-event" => &mut event,
                "x-github-delivery" => &mut delivery,
                "x-hub-signature-256" => &mut signature,
                _ => continue,
            };
            slot.get_or_insert_with(|| value.to_str().ok());
        }
        Self {
            event: event.flatten(),
            delivery: delivery.flatten(),
            signature: signature.flatten(),
        }
    }
}

/// What the handler did, as the short text GitHub shows in the delivery log.
#[derive(Debug)]
enum Handled {
    /// Work was handed on.
    Accepted(String),
    /// Nothing to do.
    Ignored(String),
}

impl IntoResponse for Handled {
    fn into_response(self) -> Response {
        match self {
            Self::Accepted(text) => (StatusCode::ACCEPTED, text).into_response(),
            Self::Ignored(text) => (StatusCode::OK, ["ignored: ", &text].concat()).into_response(),
        }
    }
}

/// One parsed event.
#[derive(Debug)]
enum Event {
    /// Checked and turned into the workflow's terms while parsing, like a push.
    PullRequest(Box<PullRequest>),
    /// Checked and turned into the workflow's terms while parsing (nothing is parsed twice).
    Push(Box<Push>),
    Status(StatusEvent),
    CheckSuite(CheckSuiteEvent),
    CheckRun(CheckRunEvent),
    Deployment(DeploymentEvent),
    DeploymentStatus(DeploymentStatusEvent),
    WorkflowRun(WorkflowRunEvent),
    WorkflowJob(WorkflowJobEvent),
    Repository(RepositoryEvent),
}

impl Event {
    /// Parses the payload and checks every value the handler will need, so that a malformed
    /// event is refused (400) before anything is written.
    fn parse(name: &str, body: &[u8]) -> Result<Option<Self>, AppError> {
        let event = match Self::parse_payload(name, body)? {
            Some(event) => event,
            None => return Ok(None),
        };
        event.validate()?;
        Ok(Some(event))
    }

    fn validate(&self) -> Result<(), AppError> {
        match self {
            Self::PullRequest(_) | Self::Push(_) => Ok(()),
            Self::Status(e) => parse_sha("sha", &e.sha).map(drop),
            Self::CheckSuite(e) => {
                parse_sha("check_suite.head_sha", &e.check_suite.head_sha).map(drop)
            }
            Self::CheckRun(e) => parse_sha("check_run.head_sha", &e.check_run.head_sha).map(drop),
            Self::Deployment(_)
            | Self::DeploymentStatus(_)
            | Self::WorkflowRun(_)
            | Self::WorkflowJob(_) => Ok(()),
            Self::Repository(e) => {
                let current = e.repository.repository()?;
                match e.former_name()? {
                    Some(former) => former_repository(&former, &current).map(drop),
                    None => Ok(()),
                }
            }
        }
    }

    /// The repository's previous name, when the event is a rename or a transfer.
    fn former_repository(&self, current: &Repository) -> Result<Option<Repository>, AppError> {
        match self {
            Self::Repository(e) => match e.former_name()? {
                Some(former) => former_repository(&former, current).map(Some),
                None => Ok(None),
            },
            _ => Ok(None),
        }
    }

    fn parse_payload(name: &str, body: &[u8]) -> Result<Option<Self>, AppError> {
        Ok(Some(match name {
            "pull_request" => {
                Self::PullRequest(Box::new(PullRequest::new(parse_json(name, body)?)?))
            }
            "push" => Self::Push(Box::new(Push::new(PushEvent::parse(body)?)?)),
            "status" => Self::Status(parse_json(name, body)?),
            "check_suite" => Self::CheckSuite(parse_json(name, body)?),
            "check_run" => Self::CheckRun(parse_json(name, body)?),
            "deployment" => Self::Deployment(parse_json(name, body)?),
            "deployment_status" => Self::DeploymentStatus(parse_json(name, body)?),
            "workflow_run" => Self::WorkflowRun(parse_json(name, body)?),
            "workflow_job" => Self::WorkflowJob(parse_json(name, body)?),
            "repository" => Self::Repository(parse_json(name, body)?),
            _ => return Ok(None),
        }))
    }

    fn repository(&self) -> &RepositoryInfo {
        match self {
            Self::PullRequest(e) => &e.repository,
            Self::Push(push) => &push.repository,
            Self::Status(e) => &e.repository,
            Self::CheckSuite(e) => &e.repository,
            Self::CheckRun(e) => &e.repository,
            Self::Deployment(e) => &e.repository,
            Self::DeploymentStatus(e) => &e.repository,
            Self::WorkflowRun(e) => &e.repository,
            Self::WorkflowJob(e) => &e.repository,
            Self::Repository(e) => &e.repository,
        }
    }
}

fn former_repository(
    former: &repository_move::FormerName,
    current: &Repository,
) -> Result<Repository, AppError> {
    former
        .repository(current)
        .map_err(|e| AppError::bad_request(format!("repository payload: changes: {e}")))
}

async fn receive(state: AppState, request: Request) -> Result<Response, AppError> {
    // The headers are moved out of the request, not copied (axum's `HeaderMap` extractor
    // clones them); the body is read within the route's own limit (GitHub's maximum), not
    // an outer router's.
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    let body = read_body(body, state.config.github_max_body_bytes).await?;
    let secret = state
        .config
        .github_webhook_secret
        .as_ref()
        .ok_or(AppError::NotConfigured("GITHUB_WEBHOOK_SECRET"))?;
    let read = DeliveryHeaders::of(&headers);
    verify_github(secret, read.signature, &body)?;

    let name = read
        .event
        .ok_or_else(|| AppError::bad_request("missing X-GitHub-Event header"))?;
    if name == "ping" {
        return Ok((StatusCode::OK, "pong").into_response());
    }
    if !HANDLED.contains(&name) {
        return Ok(Handled::Ignored(format!("{name} events are not used")).into_response());
    }
    let delivery = read
        .delivery
        .map(str::trim)
        .filter(|d| !d.is_empty() && d.len() <= 100)
        .ok_or_else(|| AppError::bad_request("missing X-GitHub-Delivery header"))?;
    let Some(event) = Event::parse(name, &body)? else {
        return Ok(Handled::Ignored(format!("{name} events are not used")).into_response());
    };
    let repository = event.repository().repository()?;
    let github_id = event.repository().id;
    let former = event.former_repository(&repository)?;
    let correlation = crate::correlation::github(delivery);
    let span = tracing::info_span!(
        "github_webhook",
        correlation_id = %correlation,
        %delivery,
        event = %name,
        %repository
    );
    // The delivery's idempotency key is its correlation id: `github:<delivery>`.
    let key = correlation.as_str();
    let work = async move {
        let Some(found) = find(&state, &repository, github_id, former.as_ref()).await? else {
            return Ok(Handled::Ignored(format!("no channel follows {repository}")).into_response());
        };
        if let (Found::Bound(_), Event::Repository(e)) = (&found, &event) {
            return Ok(Handled::Ignored(format!(
                "repository {}: the binding is under {repository} already",
                e.action
            ))
            .into_response());
        }
        // A move happens under the delivery's idempotency key, so a delivery from before a
        // rename that GitHub redelivers after it (handled already) does not move the binding
        // back.
        let work = async {
            let project = match found {
                Found::Bound(project) => *project,
                Found::Renamed { from } => {
                    // Boxed: a rename is rare, and its state would otherwise sit in every
                    // delivery's work beside `act`'s.
                    let Some(project) =
                        Box::pin(follow(&state, &from, &repository, github_id)).await?
                    else {
                        return Ok(Handled::Ignored(format!("no channel follows {repository}")));
                    };
                    if matches!(event, Event::Repository(_)) {
                        return Ok(Handled::Accepted(format!(
                            "{from} is now {repository}; following"
                        )));
                    }
                    project
                }
            };
            // Boxed by `act`: awaited inline, its future would sit in this block's state, which
            // `run_once` moves.
            act(&state, &project, event).await
        };
        Ok(match idempotency::run_once(&state, key, work).await? {
            idempotency::Once::Ran(handled) => {
                tracing::info!(?handled, "handled");
                handled.into_response()
            }
            idempotency::Once::InProgress => {
                Handled::Ignored("delivery being handled".into()).into_response()
            }
            idempotency::Once::Done => {
                Handled::Ignored("delivery already handled".into()).into_response()
            }
        })
    }
    .instrument(span);
    // Boxed: the work is kilobytes of state, which axum's layers would otherwise copy with
    // this future on every hand-over (docs/performance.md, "Futures").
    crate::correlation::scope(&correlation, Box::pin(work)).await
}

/// The body, refused with 413 when it is longer than `limit` bytes (read no further than
/// that) and with 400 when it cannot be read.
async fn read_body(body: axum::body::Body, limit: usize) -> Result<Bytes, AppError> {
    use http_body_util::BodyExt;
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            Err(AppError::PayloadTooLarge)
        }
        Err(error) => Err(AppError::bad_request(format!(
            "the request body could not be read: {error}"
        ))),
    }
}

/// The work of acting on one event, boxed.
type Acting<'a> = Pin<Box<dyn Future<Output = Result<Handled, AppError>> + Send + 'a>>;

/// Acts on an event for its project. A push — most deliveries — is decided, a pull request
/// handled; every other event goes to [`act_on_other`]. Each in a box of its own size: a push's
/// work does not carry the state of the largest other event's (docs/performance.md, "The fixed
/// path cut again"), and a push's and a pull request's stay under the kilobyte glibc's
/// per-thread cache serves ("Leading fields").
fn act<'a>(state: &'a AppState, project: &'a Project, event: Event) -> Acting<'a> {
    match event {
        Event::Push(push) => Box::pin(decide(state, project, push.handed, push.reread_at, None)),
        Event::PullRequest(e) => Box::pin(pull_request(state, project, *e)),
        other => Box::pin(act_on_other(state, project, other)),
    }
}

/// [`act`] for every event but a push.
async fn act_on_other(
    state: &AppState,
    project: &Project,
    event: Event,
) -> Result<Handled, AppError> {
    match event {
        // `act` handles a pull request and a push before they get here; answered the same way
        // all the same.
        Event::PullRequest(e) => pull_request(state, project, *e).await,
        Event::Push(push) => decide(state, project, push.handed, push.reread_at, None).await,
        Event::Status(e) => {
            let sha = parse_sha("sha", &e.sha)?;
            if e.state == "pending" {
                // A pending status only moves a required check from missing to pending: only
                // deployments waiting for deploybot's own required checks look again.
                return recheck_parked(state, &project.repository, &sha, Parked::OnRequired).await;
            }
            recheck_parked(state, &project.repository, &sha, Parked::Any).await
        }
        Event::CheckSuite(e) => {
            if e.action != "completed" {
                return Ok(Handled::Ignored(format!(
                    "check_suite {} changes nothing",
                    e.action
                )));
            }
            let sha = parse_sha("check_suite.head_sha", &e.check_suite.head_sha)?;
            recheck_parked(state, &project.repository, &sha, Parked::Any).await
        }
        Event::CheckRun(e) => {
            // One check run, by name: what an environment's `required_checks` may name. Only
            // deployments waiting for those look again (GitHub's own verdict follows the
            // check suite).
            let sha = parse_sha("check_run.head_sha", &e.check_run.head_sha)?;
            match e.action.as_str() {
                "created" | "completed" => {
                    recheck_parked(state, &project.repository, &sha, Parked::OnRequired).await
                }
                other => Ok(Handled::Ignored(format!(
                    "check_run {other} changes nothing"
                ))),
            }
        }
        Event::Deployment(e) => deployment(state, &project.repository, e).await,
        Event::DeploymentStatus(e) => deployment_status(state, &project.repository, e).await,
        Event::WorkflowRun(e) => actions_runs::workflow_run(state, &project.repository, e).await,
        Event::WorkflowJob(e) => actions_runs::workflow_job(state, &project.repository, e).await,
        Event::Repository(e) => Ok(Handled::Ignored(format!(
            "repository {} changes nothing",
            e.action
        ))),
    }
}

/// Whom an event belongs to.
enum Found {
    /// The project bound to the event's repository name.
    Bound(Box<Project>),
    /// The binding under `from`, which is this repository under its former name.
    Renamed { from: Repository },
}

/// Finds whom an event under `repository` belongs to: the binding of that name (recording the
/// repository's GitHub id on it when it has none yet); else, when the repository was renamed
/// or transferred — the `repository` event says so, or the event's numeric repository id names
/// a binding under another name (the rename event was lost) — the binding to move
/// (docs/workflow.md, "Renamed repositories"). Reads only.
async fn find(
    state: &AppState,
    repository: &Repository,
    github_id: Option<u64>,
    former: Option<&Repository>,
) -> Result<Option<Found>, AppError> {
    let projects = state.projects()?;
    // Boxed at once: only the box is held across the await below.
    if let Some(mut project) = projects
        .project_by_repository(repository)
        .await?
        .map(Box::new)
    {
        if let (Some(id), None) = (github_id, project.github_id) {
            // Once per binding: boxed, so that its state is not in every delivery's future.
            Box::pin(remember_github_id(state, &mut project, id)).await?;
        }
        return Ok(Some(Found::Bound(project)));
    }
    let by_id = match github_id {
        Some(id) => projects.project_by_github_id(id).await?,
        None => None,
    };
    let by_former_name = match (former, &by_id) {
        (Some(former), None) => projects.project_by_repository(former).await?,
        _ => None,
    };
    Ok(repository_move::moved_from(
        repository,
        github_id,
        by_id.as_ref(),
        by_former_name.as_ref(),
    )
    .map(|from| Found::Renamed { from }))
}

/// Moves the binding of `from` to `to` and tells the channel; the project as it is now bound
/// to `to`, if any.
async fn follow(
    state: &AppState,
    from: &Repository,
    to: &Repository,
    github_id: Option<u64>,
) -> Result<Option<Project>, AppError> {
    let projects = state.projects()?;
    match projects.move_project(from, to, github_id).await? {
        MoveOutcome::Moved(project) => {
            tracing::info!(%from, %to, channel = %project.channel, "binding moved");
            let request = SlackMessageRequest::Channel {
                channel: project.channel.clone(),
                message: Message::text(repository_move::moved_text(from, to)),
            };
            invoke::send(state.invoker()?, &request).await?;
            Ok(Some(*project))
        }
        // Moved by a concurrent delivery, or the new name was bound meanwhile: whatever is
        // bound to the new name now is the project.
        MoveOutcome::NotBound | MoveOutcome::Taken { .. } => {
            Ok(projects.project_by_repository(to).await?)
        }
    }
}

/// Records the event's repository id `id` on a binding that has none yet (one conditional
/// write, once per binding). Failing to record it does not fail the event: a later one records
/// it.
async fn remember_github_id(
    state: &AppState,
    project: &mut Project,
    id: u64,
) -> Result<(), AppError> {
    let projects = state.projects()?;
    let holder = match projects.project_by_github_id(id).await {
        Ok(holder) => holder,
        Err(error) => {
            tracing::warn!(%error, "looking up the repository id failed; not recorded");
            return Ok(());
        }
    };
    if !repository_move::should_record_github_id(project, Some(id), holder.as_ref()) {
        return Ok(());
    }
    match projects.set_project_github_id(project, id).await {
        Ok(true) => project.github_id = Some(id),
        Ok(false) => {}
        Err(error) => tracing::warn!(%error, "recording the repository id failed"),
    }
    Ok(())
}

fn parse_sha(field: &str, value: &str) -> Result<Sha, AppError> {
    Sha::parse(value).map_err(|e| AppError::bad_request(format!("{field}: {e}")))
}

fn push_ref(e: &PushEvent) -> Result<GitRef, AppError> {
    GitRef::parse(&e.git_ref).map_err(|err| AppError::bad_request(format!("ref: {err}")))
}

/// The repository's default branch, taken out of the payload (nothing else reads it).
fn default_branch(e: &mut PushEvent) -> Result<String, AppError> {
    e.repository.default_branch.take().ok_or_else(|| {
        AppError::bad_request("push payload: missing field `repository.default_branch`")
    })
}

/// Carries out a policy decision for the project; a pull request's workflow file `check` rides
/// with the deployment decided (`decide` hands it over on its own for any other decision).
async fn decided(
    state: &AppState,
    project: &Project,
    decision: Decision,
    handed: HandedEvent,
    check: Option<Box<WorkflowFileCheck>>,
) -> Result<Handled, AppError> {
    let invoker = state.invoker()?;
    match decision {
        Decision::Deploy {
            environment,
            git_ref,
            sha,
        } => {
            let deployment_id = state.new_deployment_id();
            let accepted = [
                "deploying ",
                git_ref.short_name(),
                " (",
                sha.short(),
                ") to ",
                &environment.name(),
                " as ",
                deployment_id.as_str(),
            ]
            .concat();
            // The request is a temporary: written to text by `send`, it is not held across
            // the await.
            let sending = {
                let mut request = handed.into_deployment(
                    project.repository.clone(),
                    deployment_id,
                    environment,
                    git_ref,
                    sha,
                    project.channel.clone(),
                );
                request.check_workflow_file = check.map(|check| *check);
                invoke::send(invoker, &DeploymentCreateRequest::New(request))
            };
            sending.await?;
            Ok(Handled::Accepted(accepted))
        }
        Decision::Deactivate { environment } => {
            let sending = invoke::send(
                invoker,
                &DeploymentCreateRequest::Deactivate {
                    repository: project.repository.clone(),
                    environment: environment.clone(),
                },
            );
            sending.await?;
            Ok(Handled::Accepted(format!("deactivating {environment}")))
        }
        Decision::Decline { reason } => Ok(
            // Boxed: rare, and its state would otherwise sit in every decision's future.
            if Box::pin(workflow::tell_declined_once(
                state,
                project,
                &handed.trigger,
                &reason,
            ))
            .await?
            {
                Handled::Accepted("declined; the channel was told why".into())
            } else {
                Handled::Ignored("declined; the channel was told already".into())
            },
        ),
        Decision::Ignore { reason } => Ok(Handled::Ignored(reason)),
    }
}

/// Decides `handed` with the project's workflow — or, when the workflow file must be read
/// first (never read yet, or this push changed it on the default branch), hands the event to
/// `github-deployment-create`, which reads the file and then decides. A pull request's
/// workflow file `check` goes with the deployment decided, else on its own first.
async fn decide(
    state: &AppState,
    project: &Project,
    handed: HandedEvent,
    reread_at: Option<Sha>,
    check: Option<Box<WorkflowFileCheck>>,
) -> Result<Handled, AppError> {
    if project.workflow.is_none() || reread_at.is_some() {
        if let Some(check) = check {
            Box::pin(check_workflow_file(state, project, check)).await?;
        }
        let sending = invoke::send(
            state.invoker()?,
            &DeploymentCreateRequest::Workflow(Box::new(WorkflowRequest {
                repository: project.repository.clone(),
                at: reread_at,
                event: Some(handed),
            })),
        );
        sending.await?;
        return Ok(Handled::Accepted(
            "reading the workflow file, then deciding".into(),
        ));
    }
    let decision = state.policy_of(project).decide(&handed.event);
    let check = match (&decision, check) {
        (Decision::Deploy { .. }, check) => check,
        (_, Some(check)) => {
            // Boxed: inline, its state would take this future over a kilobyte.
            Box::pin(check_workflow_file(state, project, check)).await?;
            None
        }
        (_, None) => None,
    };
    // Boxed: inline, its state would take `act`'s future (which every delivery boxes) over the
    // kilobyte glibc's per-thread cache serves (docs/performance.md, "Leading fields").
    Box::pin(decided(state, project, decision, handed, check)).await
}

async fn pull_request(
    state: &AppState,
    project: &Project,
    e: PullRequest,
) -> Result<Handled, AppError> {
    let check = workflow_file_check(&e);
    let checking = check.is_some();
    // Boxed: inline, its state would take this future over the kilobyte glibc's per-thread
    // cache serves.
    let handled = Box::pin(decide(state, project, e.handed, None, check)).await?;
    // The answer stays the decision's (a declined or ignored event is still answered 200).
    const CHECKING: &str = "; the workflow file's check handed over";
    Ok(match (checking, handled) {
        (false, handled) => handled,
        (true, Handled::Accepted(text)) => Handled::Accepted(text + CHECKING),
        (true, Handled::Ignored(text)) => Handled::Ignored(text + CHECKING),
    })
}

/// The pull-request actions that bring new commits: they get the `deploybot/config` check.
const CHECKED_ACTIONS: [&str; 3] = ["opened", "synchronize", "reopened"];

/// The `deploybot/config` check a pull request gets — for the actions in [`CHECKED_ACTIONS`]
/// only — which `github-deployment-create` carries out when the pull request changes the
/// workflow file.
///
/// Boxed: it rides through the decision's futures, which stay under a kilobyte.
fn workflow_file_check(e: &PullRequest) -> Option<Box<WorkflowFileCheck>> {
    let (Some(base_sha), true) = (&e.base_sha, CHECKED_ACTIONS.contains(&e.action.as_str())) else {
        return None;
    };
    // Always a pull request's event (`PullRequest::new` builds it), which holds the number
    // and the head commit the check needs.
    let WorkflowEvent::PullRequest {
        number, head_sha, ..
    } = &e.handed.event
    else {
        return None;
    };
    Some(Box::new(WorkflowFileCheck {
        number: *number,
        base_sha: base_sha.clone(),
        head_sha: head_sha.clone(),
    }))
}

/// Hands a pull request's workflow file `check` to `github-deployment-create` on its own (one
/// `Event` invoke), when no deployment carries it. Handed over before what the event decided:
/// if the invoke fails, nothing was done yet and GitHub's redelivery does both.
async fn check_workflow_file(
    state: &AppState,
    project: &Project,
    check: Box<WorkflowFileCheck>,
) -> Result<(), AppError> {
    let WorkflowFileCheck {
        number,
        base_sha,
        head_sha,
    } = *check;
    // The request is a temporary: written to text by `send`, it is not held across the await.
    let sending = invoke::send(
        state.invoker()?,
        &DeploymentCreateRequest::CheckWorkflowFile {
            repository: project.repository.clone(),
            number,
            base_sha,
            head_sha,
        },
    );
    sending.await?;
    Ok(())
}

/// A `pull_request` in the workflow's terms.
#[derive(Debug)]
struct PullRequest {
    /// Whom the event belongs to.
    repository: RepositoryInfo,
    /// As GitHub names it (`opened`, `synchronize`, ...).
    action: String,
    /// The base branch's head when the event was sent, when the payload names it.
    base_sha: Option<Sha>,
    handed: HandedEvent,
}

impl PullRequest {
    /// Checks every value the decision and the workflow file's check need (a malformed one
    /// is a 400); each SHA is parsed once.
    fn new(e: PullRequestEvent) -> Result<Self, AppError> {
        let head_sha = e.head_sha()?;
        let base_sha = e.base_sha()?;
        let from_fork = e.from_fork();
        let PullRequestEvent {
            action,
            number,
            pull_request,
            repository,
        } = e;
        // The pull request's author stands for the commits' author: the payload names no
        // commit author, and this function makes no slow GitHub calls.
        let commit_author = pull_request.user.as_ref().and_then(|u| u.github_login());
        let event = WorkflowEvent::PullRequest {
            action: PullRequestAction::parse(&action),
            number,
            head_branch: pull_request.head.branch,
            head_sha,
            from_fork,
            draft: pull_request.draft,
        };
        let url = pull_request.html_url;
        Ok(Self {
            repository,
            action,
            base_sha,
            handed: HandedEvent {
                event,
                trigger: Trigger::PullRequest {
                    number,
                    url: url.clone(),
                },
                commit_author,
                pr_url: url,
            },
        })
    }
}

/// A `push` in the workflow's terms.
#[derive(Debug)]
struct Push {
    /// Whom the event belongs to (its default branch has moved into `handed`).
    repository: RepositoryInfo,
    handed: HandedEvent,
    /// A push to the default branch that changed the workflow file: the commit to read it at.
    reread_at: Option<Sha>,
}

impl Push {
    /// Checks every value the decision needs (a malformed one is a 400).
    fn new(mut e: PushEvent) -> Result<Self, AppError> {
        let git_ref = push_ref(&e)?;
        let default_branch = default_branch(&mut e)?;
        let after = e.after_sha()?;
        let reread_at = after.clone().filter(|_| e.touches_workflow_file());
        let pusher = e.sender.as_ref().and_then(|s| s.github_login());
        let trigger = if git_ref.is_tag() {
            Trigger::Tag { pusher }
        } else {
            Trigger::Push { pusher }
        };
        let commit_author = e.commit_author();
        let event = WorkflowEvent::Push {
            git_ref,
            after,
            deleted: e.deleted,
            created: e.created,
            forced: e.forced,
            commit_count: e.commits.len(),
            default_branch,
        };
        Ok(Self {
            repository: e.repository.info(),
            handed: HandedEvent {
                event,
                trigger,
                commit_author,
                pr_url: None,
            },
            reread_at,
        })
    }
}

/// Which parked deployments a change of a commit's checks concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parked {
    /// Every deployment waiting for checks.
    Any,
    /// Those waiting for the environment's `required_checks` (some not passing yet).
    OnRequired,
}

/// A commit's checks changed: every deployment parked on that commit (of the kind `which`)
/// looks again.
async fn recheck_parked(
    state: &AppState,
    repository: &Repository,
    sha: &Sha,
    which: Parked,
) -> Result<Handled, AppError> {
    let parked: Vec<Deployment> = state
        .deployments()?
        .deployments_by_sha(repository, sha, PARKED_LOOKUP)
        .await?
        .into_iter()
        .filter(|d| d.state == DeploymentState::WaitingForChecks)
        .filter(|d| which == Parked::Any || d.waits_for_required_checks())
        .collect();
    if parked.is_empty() {
        return Ok(Handled::Ignored(format!(
            "no deployment waits for checks on {}",
            sha.short()
        )));
    }
    let invoker = state.invoker()?;
    for d in &parked {
        let request = DeploymentCreateRequest::Recheck {
            repository: repository.clone(),
            deployment_id: d.id.clone(),
        };
        invoke::send(invoker, &request).await?;
    }
    Ok(Handled::Accepted(format!(
        "rechecking {} parked deployment(s)",
        parked.len()
    )))
}

/// Our record of a GitHub deployment: by the id in its payload, else by its GitHub id.
async fn our_deployment(
    state: &AppState,
    repository: &Repository,
    github: &GithubDeployment,
) -> Result<Option<Deployment>, AppError> {
    if let Some(id) = github.deployment_id()
        && let Some(d) = state.deployments()?.get_deployment(repository, &id).await?
    {
        return Ok(Some(d));
    }
    let by_github_id = state
        .deployments()?
        .deployment_by_github_id(github.id)
        .await?;
    Ok(by_github_id.filter(|d| &d.repository == repository))
}

/// GitHub created one of our deployments: start its pipeline.
async fn deployment(
    state: &AppState,
    repository: &Repository,
    e: DeploymentEvent,
) -> Result<Handled, AppError> {
    if e.action.as_deref().is_some_and(|a| a != "created") {
        return Ok(Handled::Ignored(
            "only created deployments start pipelines".into(),
        ));
    }
    let Some(record) = our_deployment(state, repository, &e.deployment).await? else {
        return Ok(Handled::Ignored(format!(
            "GitHub deployment {} was not created by deploybot",
            e.deployment.id
        )));
    };
    // The event can overtake github-deployment-create saving the GitHub id: save it here too.
    let github_id = e.deployment.id;
    let record = lifecycle::update_from(state, record, |d| {
        if d.github_deployment_id.is_some() {
            return false;
        }
        d.github_deployment_id = Some(github_id);
        true
    })
    .await?
    .into_deployment();
    if record.state != DeploymentState::Created {
        return Ok(Handled::Ignored(format!(
            "deployment {} is {}; nothing to start",
            record.id, record.state
        )));
    }
    let request = CircleciTriggerRequest {
        repository: repository.clone(),
        deployment_id: record.id.clone(),
    };
    invoke::send(state.invoker()?, &request).await?;
    Ok(Handled::Accepted(format!(
        "starting the pipeline of {}",
        record.id
    )))
}

/// A status on one of our deployments: keep the record and Slack in step when someone else
/// wrote it (our own statuses come back here too and change nothing).
async fn deployment_status(
    state: &AppState,
    repository: &Repository,
    e: DeploymentStatusEvent,
) -> Result<Handled, AppError> {
    let Some(to) = DeploymentState::parse(&e.deployment_status.state) else {
        return Ok(Handled::Ignored(format!(
            "unknown deployment status `{}`",
            e.deployment_status.state
        )));
    };
    let Some(record) = our_deployment(state, repository, &e.deployment).await? else {
        return Ok(Handled::Ignored(format!(
            "GitHub deployment {} was not created by deploybot",
            e.deployment.id
        )));
    };
    if !record.state.can_become(to) {
        return Ok(Handled::Ignored(format!(
            "deployment {} is {} already",
            record.id, record.state
        )));
    }
    let request = DeploymentStatusRequest {
        repository: repository.clone(),
        deployment_id: record.id.clone(),
        state: to,
        log_url: e.deployment_status.log_url(),
        environment_url: e.deployment_status.environment_url(),
        description: e.deployment_status.description(),
        from_github: true,
        finished_workflow: None,
    };
    invoke::send(state.invoker()?, &request).await?;
    Ok(Handled::Accepted(format!(
        "deployment {} follows GitHub to {to}",
        record.id
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    /// One pass over the headers answers what a lookup by name answers: the first value of
    /// each name, when it is text, whatever else the request carries.
    #[test]
    fn the_delivery_headers_are_the_first_of_their_names() {
        let maps: [&[(&str, &[u8])]; 4] = [
            &[],
            &[
                ("content-type", b"application/json"),
                ("X-GitHub-Event", b"push"),
                ("x-github-delivery", b"d-1"),
                ("x-hub-signature-256", b"sha256=ab"),
                ("x-hub-signature", b"sha1=cd"),
            ],
            // Repeated names: the first value counts.
            &[
                ("x-github-event", b"push"),
                ("x-github-event", b"ping"),
                ("x-github-delivery", b"d-1"),
                ("x-github-delivery", b"d-2"),
            ],
            // A first value that is not text is no value, even with a later one that is.
            &[
                ("x-hub-signature-256", b"\xff"),
                ("x-hub-signature-256", b"sha256=ab"),
            ],
        ];
        for pairs in maps {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                let name = axum::http::HeaderName::from_bytes(name.as_bytes()).expect("name");
                headers.append(name, HeaderValue::from_bytes(value).expect("value"));
            }
            let read = DeliveryHeaders::of(&headers);
            assert_eq!(
                read,
                DeliveryHeaders {
                    event: crate::http::header(&headers, "x-github-event"),
                    delivery: crate::http::header(&headers, "x-github-delivery"),
                    signature: crate::http::header(&headers, "x-hub-signature-256"),
                },
                "{pairs:?}"
            );
        }
        let mut headers = HeaderMap::new();
        headers.insert("x-github-event", HeaderValue::from_static("push"));
        assert_eq!(DeliveryHeaders::of(&headers).event, Some("push"));
    }

    /// The size of the future an async fn taking two arguments returns.
    fn future_size<A, B, F: Future, G: Fn(A, B) -> F>(_: &G) -> usize {
        std::mem::size_of::<F>()
    }

    /// The route's future is what axum's layers move on every hand-over: its work is boxed, so
    /// it stays small (it was 21 KB before `run_once` and `correlation::scope` stopped holding
    /// the work twice and the work was boxed; docs/performance.md, "Futures").
    #[test]
    fn the_route_future_stays_small() {
        let size = future_size(&receive);
        // Boxed by the handler: under the 1 032 bytes glibc's per-thread cache serves.
        assert!(size <= 1024, "the GitHub route's future is {size} bytes");
    }

    /// `act` boxes a push's and a pull request's work apart from the other events' (3 552 bytes
    /// when it held them all), each under the 1 032 bytes glibc's per-thread cache serves: a
    /// larger box costs 1–2 K instructions more per delivery (docs/performance.md, "Leading
    /// fields").
    #[test]
    fn acting_on_a_push_stays_small() {
        fn size5<A, B, C, D, E, F: Future, G: Fn(A, B, C, D, E) -> F>(_: &G) -> usize {
            std::mem::size_of::<F>()
        }
        fn size3<A, B, C, F: Future, G: Fn(A, B, C) -> F>(_: &G) -> usize {
            std::mem::size_of::<F>()
        }
        let size = size5(&decide);
        assert!(size <= 1024, "a push's work is {size} bytes");
        let size = size5(&decided);
        assert!(size <= 1024, "a decision's work is {size} bytes");
        let size = size3(&pull_request);
        assert!(size <= 1024, "a pull request's work is {size} bytes");
    }
}
