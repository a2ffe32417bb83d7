//! `slack-interactive` (`POST /slack/interactive`): Block Kit button presses — claim a GitHub
//! login, "Deploy to staging" on a successful test deployment, "Retry" on a failed one, and a
//! lock's [Unlock], [Unlock anyway] and [Extend 1h] (on the channel's lock message, the
//! confirmation offered to someone else, the holder's reminder). Button values are ids resolved
//! here on the server, never state parsed back out of text.
//!
//! It is also the app's options load URL: a claim offer too long for buttons is a type-ahead
//! select, whose options Slack asks for with a `block_suggestion` (answered with
//! `{"options": [...]}`, see [`suggest`]); the login picked arrives as a `block_actions`
//! with `selected_option` and is claimed exactly like a pressed button.
//!
//! Latency budget: Slack wants HTTP 200 within 3 seconds. The handler reads and writes the
//! store and makes `Event` invokes; answers to the presser go through `response_url` by
//! `slack-message`, deployments are created by `github-deployment-create`.
//!
//! Idempotency key: `slack-action:<trigger_id>` (unique per press), so a redelivered press
//! has one effect. Pressing a button twice is two presses: claiming is idempotent in the
//! store, a second promotion or retry is a second deployment, as with the slash command.

use crate::http::lane_actions::{self, Answer};
use crate::http::slack_request;
use crate::render::notify as direct;
use crate::render::{
    ACTION_CLAIM_LOGIN, ACTION_EXTEND, ACTION_PROMOTE, ACTION_RETRY, ACTION_UNLOCK,
    ACTION_UNLOCK_CONFIRMED, replies,
};
use crate::{AppError, AppState, idempotency};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use deploybot_core::blocks::{Message, OptionsAnswer};
use deploybot_core::invoke::{
    CollaboratorsRequest, DeploymentCreateRequest, ManualDeploymentRequest, NewDeploymentRequest,
    SlackMessageRequest, call, send,
};
use deploybot_core::lane::LaneEvent;
use deploybot_core::lane::lock::EXTEND_BY;
use deploybot_core::ports::{LinkOutcome, ResponseMessage};
use deploybot_core::{
    DeploymentId, DeploymentState, Environment, GitRef, GithubLogin, SlackChannelId, SlackUserId,
    Trigger, UserLink,
};
use serde::Deserialize;
use std::collections::BTreeSet;
use tracing::Instrument;

/// The route's path.
const PATH: &str = "/slack/interactive";

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(PATH, post(handle))
        .layer(super::log_refusals(PATH))
        .with_state(state)
}

/// The form Slack posts: one field, `payload`, holding JSON.
#[derive(Debug, Deserialize)]
struct Form {
    payload: Option<String>,
}

/// The parts of an interaction payload deploybot reads.
#[derive(Debug, Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: String,
    user: Option<IdAndName>,
    channel: Option<IdAndName>,
    response_url: Option<String>,
    trigger_id: Option<String>,
    #[serde(default)]
    actions: Vec<Action>,
    /// `block_suggestion`: the select being typed in, and what was typed.
    #[serde(default)]
    action_id: Option<String>,
    #[serde(default)]
    block_id: Option<String>,
    #[serde(default)]
    value: Option<String>,
    /// The message's input fields as they were when the button was pressed.
    #[serde(default)]
    state: Option<InputState>,
}

/// `state.values`: block id → action id → the field's value.
#[derive(Debug, Default, Deserialize)]
struct InputState {
    #[serde(default)]
    values: std::collections::HashMap<String, std::collections::HashMap<String, InputValue>>,
}

#[derive(Debug, Deserialize)]
struct InputValue {
    #[serde(default)]
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
struct IdAndName {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Action {
    action_id: String,
    /// A button's value.
    #[serde(default)]
    value: Option<String>,
    /// A select's choice.
    #[serde(default)]
    selected_option: Option<SelectedOption>,
}

#[derive(Debug, Deserialize)]
struct SelectedOption {
    value: String,
}

/// A validated button press.
#[derive(Debug)]
struct Press {
    user: SlackUserId,
    user_name: Option<String>,
    channel: Option<SlackChannelId>,
    response_url: Option<String>,
    action_id: String,
    value: String,
    /// The reason field beside Reject, when the message has one and it was filled in.
    reason: Option<String>,
}

/// The payload, and the press when it is a `block_actions` with an action.
fn parse(body: &[u8]) -> Result<(Payload, Option<Press>), AppError> {
    let form: Form = serde_urlencoded::from_bytes(body)
        .map_err(|e| AppError::bad_request(format!("interaction form: {e}")))?;
    let payload = form
        .payload
        .ok_or_else(|| AppError::bad_request("missing form field: payload"))?;
    let payload: Payload = serde_json::from_str(&payload)
        .map_err(|e| AppError::bad_request(format!("interaction payload: {e}")))?;
    if payload.kind != "block_actions" {
        return Ok((payload, None));
    }
    let Some(action) = payload.actions.first() else {
        return Ok((payload, None));
    };
    let user = payload
        .user
        .as_ref()
        .ok_or_else(|| AppError::bad_request("block_actions payload without a user"))?;
    let user_id =
        SlackUserId::parse(&user.id).map_err(|e| AppError::bad_request(format!("user.id: {e}")))?;
    let channel = match &payload.channel {
        Some(c) => Some(
            SlackChannelId::parse(&c.id)
                .map_err(|e| AppError::bad_request(format!("channel.id: {e}")))?,
        ),
        None => None,
    };
    let press = Press {
        user: user_id,
        user_name: user.name.clone().or_else(|| user.username.clone()),
        channel,
        response_url: payload.response_url.clone().filter(|u| !u.is_empty()),
        action_id: action.action_id.clone(),
        value: action
            .value
            .clone()
            .or_else(|| action.selected_option.as_ref().map(|o| o.value.clone()))
            .unwrap_or_default(),
        reason: payload
            .state
            .as_ref()
            .and_then(|st| st.values.get(crate::render::APPROVAL_REASON))
            .and_then(|block| block.get(crate::render::APPROVAL_REASON))
            .and_then(|v| v.value.clone()),
    };
    Ok((payload, Some(press)))
}

/// The buttons handled here.
const ACTIONS: &[&str] = &[
    crate::render::ACTION_APPROVE,
    crate::render::ACTION_REJECT,
    ACTION_CLAIM_LOGIN,
    ACTION_PROMOTE,
    ACTION_RETRY,
    ACTION_UNLOCK,
    ACTION_UNLOCK_CONFIRMED,
    ACTION_EXTEND,
    crate::render::ACTION_ROLLBACK,
    crate::render::ACTION_ROLLBACK_CANCEL,
    crate::render::ACTION_CANCEL_DEPLOYMENT,
    direct::ACTION_DIRECT_RETRY,
    direct::ACTION_DIRECT_ROLLBACK,
    direct::ACTION_DIRECT_LOCK,
    crate::render::home::ACTION_HOME_PROMOTE,
    crate::render::ACTION_DEPLOY_BAD,
    crate::render::ACTION_FREEZE_OVERRIDE,
    crate::render::ACTION_DEPLOY_BAD_CANCEL,
];

async fn handle(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(error) = slack_request::verify(&state, &headers, &body) {
        return error.into_response();
    }
    let (payload, press) = match parse(&body) {
        Ok(parsed) => parsed,
        Err(error) => return error.into_response(),
    };
    if payload.kind == "block_suggestion" {
        return match suggest(&state, &payload).await {
            Ok(options) => Json(options).into_response(),
            Err(error) => error.into_response(),
        };
    }
    let Some(press) = press else {
        tracing::debug!(kind = %payload.kind, "interaction ignored");
        return StatusCode::OK.into_response();
    };
    if !ACTIONS.contains(&press.action_id.as_str()) {
        tracing::debug!(action = %press.action_id, "unknown action ignored");
        return StatusCode::OK.into_response();
    }
    let key = payload
        .trigger_id
        .as_ref()
        .map(|t| format!("slack-action:{t}"));
    let correlation =
        crate::correlation::slack(payload.trigger_id.as_deref().unwrap_or_else(|| {
            crate::http::header(&headers, "x-slack-request-timestamp").unwrap_or("unknown")
        }));
    let span = tracing::info_span!(
        "slack-interactive",
        correlation_id = %correlation,
        action = %press.action_id,
        user = %press.user,
        trigger = payload.trigger_id.as_deref().unwrap_or(""),
    );
    let ran = crate::correlation::scope(
        &correlation,
        run_once(&state, key.as_deref(), &press).instrument(span.clone()),
    );
    match ran.await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => {
            span.in_scope(|| tracing::error!(%error, value = %press.value, "button press failed"));
            // Tell the presser, if possible; Slack shows nothing for a button's HTTP answer.
            if let Err(error) = reply(&state, &press, replies::internal_error(), false).await {
                span.in_scope(|| tracing::error!(%error, "could not apologise either"));
            }
            StatusCode::OK.into_response()
        }
    }
}

/// Runs the press unless its idempotency key was claimed before; releases the key when the
/// press fails, so a redelivery tries again.
async fn run_once(state: &AppState, key: Option<&str>, press: &Press) -> Result<(), AppError> {
    let Some(key) = key else {
        return run(state, press).await;
    };
    match idempotency::run_once(state, key, run(state, press)).await? {
        idempotency::Once::Ran(()) => {}
        idempotency::Once::InProgress => tracing::info!(key, "button press being handled"),
        idempotency::Once::Done => tracing::info!(key, "button press already handled"),
    }
    Ok(())
}

async fn run(state: &AppState, press: &Press) -> Result<(), AppError> {
    match press.action_id.as_str() {
        ACTION_CLAIM_LOGIN => claim(state, press).await,
        ACTION_PROMOTE => redeploy(state, press, Redeploy::Promote).await,
        ACTION_RETRY => redeploy(state, press, Redeploy::Retry).await,
        ACTION_UNLOCK => {
            let event = LaneEvent::Unlock {
                by: press.user.clone(),
                confirmed: false,
            };
            lane_button(state, press, &event).await
        }
        ACTION_UNLOCK_CONFIRMED => {
            let event = LaneEvent::Unlock {
                by: press.user.clone(),
                confirmed: true,
            };
            lane_button(state, press, &event).await
        }
        ACTION_EXTEND => {
            let event = LaneEvent::Extend {
                by: press.user.clone(),
                by_duration: EXTEND_BY,
            };
            lane_button(state, press, &event).await
        }
        crate::render::ACTION_APPROVE | crate::render::ACTION_REJECT => {
            approval(state, press).await
        }
        crate::render::ACTION_ROLLBACK => rollback(state, press).await,
        crate::render::ACTION_CANCEL_DEPLOYMENT => cancel(state, press).await,
        direct::ACTION_DIRECT_RETRY => redeploy(state, press, Redeploy::Retry).await,
        crate::render::home::ACTION_HOME_PROMOTE => home_promote(state, press).await,
        direct::ACTION_DIRECT_ROLLBACK | direct::ACTION_DIRECT_LOCK => {
            direct_lane_button(state, press).await
        }
        crate::render::ACTION_DEPLOY_BAD => deploy_anyway(state, press).await,
        crate::render::ACTION_FREEZE_OVERRIDE => freeze_override(state, press).await,
        crate::render::ACTION_DEPLOY_BAD_CANCEL => {
            let text = format!("Nothing was deployed to {}.", press.value);
            reply(state, press, Message::text(text), true).await
        }
        crate::render::ACTION_ROLLBACK_CANCEL => {
            let text = format!("Rollback of {} cancelled; nothing changed.", press.value);
            reply(state, press, Message::text(text), true).await
        }
        _ => Ok(()),
    }
}

/// [Override…] on the refusal of a deploy into a frozen environment: with a reason, the deploy
/// as it was asked goes to `github-deployment-create` marked as overriding the freeze (which
/// tells the channel who and why); without one, the person is asked for it and nothing
/// happens.
async fn freeze_override(state: &AppState, press: &Press) -> Result<(), AppError> {
    let asked: crate::render::freezes::FreezeOverride = match serde_json::from_str(&press.value) {
        Ok(asked) => asked,
        Err(error) => {
            tracing::warn!(%error, "override button with a value deploybot did not write");
            let text = "That button is from an older message; run the deploy command again.";
            return reply(state, press, Message::text(text), true).await;
        }
    };
    let reason = press
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let Some(reason) = reason else {
        let text = format!(
            "Write why {} cannot wait in the reason field, then press Override… again. Nothing was deployed.",
            asked.environment
        );
        return reply(state, press, Message::text(text), false).await;
    };
    let Some(channel) = press.channel.clone() else {
        tracing::warn!("override button without a channel");
        return Ok(());
    };
    // As long as the field takes (the reason of a rejection is cut the same way).
    let reason: String = reason.chars().take(300).collect();
    let environment = asked.environment.clone();
    let what = match &asked.git_ref {
        Some(_) => format!(
            "{} to {environment}",
            crate::render::freezes::deployed_what(asked.git_ref.as_ref(), &environment)
        ),
        None => format!("to {environment}"),
    };
    let create = DeploymentCreateRequest::Manual(ManualDeploymentRequest {
        repository: asked.repository,
        deployment_id: state.new_deployment_id(),
        environment: asked.environment,
        git_ref: asked.git_ref,
        trigger: Trigger::Manual {
            slack_user: press.user.clone(),
        },
        channel,
        response_url: press.response_url.clone(),
        confirmed_bad: false,
        promotion: asked.promotion,
        freeze_override: Some(reason),
    });
    send(state.invoker()?, &create).await?;
    let text = format!(":snowflake: Deploying {what} past the freeze, as you asked.");
    reply(state, press, Message::text(text), true).await
}

/// [Roll back] on a preview: the choice goes to `github-deployment-create`, which checks that
/// the environment still runs what the preview showed and stores the rollback; the preview is
/// replaced by what happens.
async fn rollback(state: &AppState, press: &Press) -> Result<(), AppError> {
    let choice: deploybot_core::invoke::RollbackChoice = match serde_json::from_str(&press.value) {
        Ok(choice) => choice,
        Err(error) => {
            tracing::warn!(%error, "rollback button with a value deploybot did not write");
            let text = "That button is from an older preview; run the rollback command again.";
            return reply(state, press, Message::text(text), true).await;
        }
    };
    // The rollback's progress goes to the repository's channel, also when the preview was
    // shown in a direct message.
    let bound = state
        .projects()?
        .project_by_repository(&choice.repository)
        .await?
        .map(|p| p.channel);
    let Some(channel) = bound.or_else(|| press.channel.clone()) else {
        tracing::warn!("rollback button without a channel");
        return Ok(());
    };
    let environment = choice.environment.clone();
    let create = DeploymentCreateRequest::Rollback(deploybot_core::invoke::RollbackConfirmed {
        choice,
        deployment_id: state.new_deployment_id(),
        user: press.user.clone(),
        channel,
        response_url: press.response_url.clone(),
    });
    send(state.invoker()?, &create).await?;
    let text = format!(
        ":rewind: Rolling back {environment}: it goes first in line; its progress is posted in this channel."
    );
    reply(state, press, Message::text(text), true).await
}

/// The deployment a button on its channel message names (the value: its id, in the channel's
/// repository), with the channel; `None` once the presser was told why there is none.
async fn pressed_deployment(
    state: &AppState,
    press: &Press,
) -> Result<
    Option<(
        SlackChannelId,
        deploybot_core::Project,
        deploybot_core::Deployment,
    )>,
    AppError,
> {
    let grammar = &state.config.grammar;
    let Some(channel) = press.channel.clone() else {
        reply(state, press, replies::deployment_not_found(grammar), false).await?;
        return Ok(None);
    };
    // A button outside the bound channel (an approver's copy in their direct messages) names
    // the repository too: `acme/web:<id>`.
    let (project, id) = match crate::render::split_deployment_value(&press.value) {
        Some((repository, id)) => (
            state.projects()?.project_by_repository(&repository).await?,
            id,
        ),
        None => (
            state.projects()?.project_by_channel(&channel).await?,
            press.value.as_str(),
        ),
    };
    let Some(project) = project else {
        reply(state, press, replies::not_set_up(grammar), false).await?;
        return Ok(None);
    };
    let found = match DeploymentId::parse(id) {
        Ok(id) => {
            state
                .deployments()?
                .get_deployment(&project.repository, &id)
                .await?
        }
        Err(_) => None,
    };
    let Some(deployment) = found else {
        reply(state, press, replies::deployment_not_found(grammar), false).await?;
        return Ok(None);
    };
    Ok(Some((channel, project, deployment)))
}

/// [Cancel] on a running deployment's message (after its confirm dialog): done by
/// `github-deployment-create`, as `cancel <environment>` is, but only while that deployment is
/// still the one running — a press on an older message cancels nothing else.
async fn cancel(state: &AppState, press: &Press) -> Result<(), AppError> {
    let Some((channel, _, deployment)) = pressed_deployment(state, press).await? else {
        return Ok(());
    };
    if deployment.state.is_finished() {
        let text = format!(
            "`{}` is {} already; there is nothing to cancel.",
            deployment.id,
            deployment.state.label()
        );
        return reply(state, press, Message::text(text), false).await;
    }
    let create = DeploymentCreateRequest::CancelRunning {
        repository: deployment.repository.clone(),
        environment: deployment.environment.clone(),
        all: false,
        by: press.user.clone(),
        channel,
        only: Some(deployment.id.clone()),
    };
    send(state.invoker()?, &create).await?;
    let text = format!(
        "Cancelling the deployment of `{}` to {}…",
        deployment.sha.short(),
        deployment.environment
    );
    reply(state, press, Message::text(text), false).await
}

/// [Deploy anyway] on the question about a rolled-back commit: the person confirmed, so the
/// manual deployment goes ahead as if asked again, confirmed.
async fn deploy_anyway(state: &AppState, press: &Press) -> Result<(), AppError> {
    use crate::invoked::github_deployment_create::manual::DeployAnyway;
    let choice: DeployAnyway = match serde_json::from_str(&press.value) {
        Ok(choice) => choice,
        Err(error) => {
            tracing::warn!(%error, "deploy-anyway button with a value deploybot did not write");
            let text = "That button is from an older question; run the deploy command again.";
            return reply(state, press, Message::text(text), true).await;
        }
    };
    let Some(channel) = press.channel.clone() else {
        tracing::warn!("deploy-anyway button without a channel");
        return Ok(());
    };
    let environment = choice.environment.clone();
    let short = choice
        .git_ref
        .short_name()
        .chars()
        .take(7)
        .collect::<String>();
    let create = DeploymentCreateRequest::Manual(ManualDeploymentRequest {
        repository: choice.repository,
        deployment_id: state.new_deployment_id(),
        environment: choice.environment,
        git_ref: Some(choice.git_ref),
        trigger: Trigger::Manual {
            slack_user: press.user.clone(),
        },
        channel,
        response_url: press.response_url.clone(),
        confirmed_bad: true,
        promotion: false,
        freeze_override: None,
    });
    send(state.invoker()?, &create).await?;
    let text = format!(":rocket: Deploying `{short}` to {environment} as you confirmed.");
    reply(state, press, Message::text(text), true).await
}

/// Most logins looked up in the user table for one `block_suggestion` (those matching what
/// was typed, before the linked ones are left out).
const SUGGESTION_CANDIDATES: usize = 400;

/// A `block_suggestion` (Slack's options load URL, which is this endpoint): the unlinked
/// collaborators matching what was typed into a claim offer's select, at most 100. The list
/// comes from `github-collaborators`, which answers from a copy at most a minute old, so
/// typing does not call GitHub at every keystroke. A select deploybot does not know gets no
/// options; a payload without the select's ids or the user is a 400.
async fn suggest(state: &AppState, payload: &Payload) -> Result<OptionsAnswer, AppError> {
    let (Some(action_id), Some(block_id), Some(_user)) =
        (&payload.action_id, &payload.block_id, &payload.user)
    else {
        return Err(AppError::bad_request(
            "block_suggestion payload without action_id, block_id or user",
        ));
    };
    let repository = match (
        action_id.as_str(),
        replies::claim_select_repository(block_id),
    ) {
        (ACTION_CLAIM_LOGIN, Some(repository)) => repository,
        _ => {
            tracing::debug!(%action_id, %block_id, "options for an unknown select");
            return Ok(OptionsAnswer::default());
        }
    };
    if state
        .projects()?
        .project_by_repository(&repository)
        .await?
        .is_none()
    {
        return Ok(OptionsAnswer::default());
    }
    let request = CollaboratorsRequest {
        repository: repository.clone(),
        cached: true,
    };
    let logins = match call(state.invoker()?, &request).await {
        Ok(answer) => answer.logins,
        Err(error) => {
            tracing::warn!(%repository, %error, "listing collaborators for a select failed");
            return Ok(OptionsAnswer::default());
        }
    };
    let query = payload
        .value
        .as_deref()
        .unwrap_or("")
        .trim()
        .trim_start_matches('@')
        .to_ascii_lowercase();
    let matching: Vec<GithubLogin> = logins
        .into_iter()
        .filter(|login| login.as_str().contains(&query))
        .take(SUGGESTION_CANDIDATES)
        .collect();
    let linked: BTreeSet<GithubLogin> = if matching.is_empty() {
        BTreeSet::new()
    } else {
        state
            .users()?
            .users_by_logins(&matching)
            .await?
            .into_iter()
            .map(|link| link.github_login)
            .collect()
    };
    let unclaimed: Vec<GithubLogin> = matching
        .into_iter()
        .filter(|login| !linked.contains(login))
        .collect();
    Ok(replies::claim_options(&unclaimed, &query))
}

/// Answers the presser through `response_url` (by `slack-message`). `replace` replaces the
/// message the button was on (the claim offer); otherwise the answer is a new ephemeral
/// message, so a deployment's channel message is never overwritten.
async fn reply(
    state: &AppState,
    press: &Press,
    message: Message,
    replace: bool,
) -> Result<(), AppError> {
    let request = match (&press.response_url, &press.channel) {
        (Some(url), _) => SlackMessageRequest::Respond {
            response_url: url.clone(),
            response: ResponseMessage {
                message,
                ephemeral: true,
                replace_original: replace,
            },
        },
        (None, Some(channel)) => SlackMessageRequest::Ephemeral {
            channel: channel.clone(),
            user: press.user.clone(),
            message,
        },
        (None, None) => {
            tracing::warn!("button press with neither response_url nor channel: no answer");
            return Ok(());
        }
    };
    send(state.invoker()?, &request).await?;
    Ok(())
}

async fn claim(state: &AppState, press: &Press) -> Result<(), AppError> {
    let grammar = &state.config.grammar;
    let login = match GithubLogin::parse(&press.value) {
        Ok(login) => login,
        Err(e) => return reply(state, press, replies::usage(&format!("{e}.")), false).await,
    };
    let link = UserLink {
        github_login: login.clone(),
        slack_user: press.user.clone(),
        slack_name: press.user_name.clone(),
        linked_at: state.clock.now(),
    };
    let (message, replace) = match state.users()?.link_user(&link).await? {
        LinkOutcome::Linked | LinkOutcome::AlreadyLinked => {
            (replies::claim_linked(&login, &press.user), true)
        }
        LinkOutcome::LoginTaken { slack_user } => (
            replies::claim_login_taken(grammar, &login, &slack_user),
            false,
        ),
        LinkOutcome::SlackUserTaken { github_login } => {
            (replies::claim_already_linked(grammar, &github_login), false)
        }
    };
    reply(state, press, message, replace).await
}

#[derive(Debug, Clone, Copy)]
enum Redeploy {
    /// "Deploy to staging": the commit of a test deployment that succeeded goes to staging.
    Promote,
    /// "Retry": a failed deployment's environment, ref and commit, again.
    Retry,
}

async fn redeploy(state: &AppState, press: &Press, kind: Redeploy) -> Result<(), AppError> {
    let grammar = &state.config.grammar;
    // [Retry] in a direct message names its repository (`acme/web@<id>`); a channel's buttons
    // are about the channel's repository.
    let (project, id_text) = match direct::from_retry_value(&press.value) {
        Some((repository, id)) => (
            state.projects()?.project_by_repository(&repository).await?,
            id.to_string(),
        ),
        None => {
            let Some(channel) = press.channel.clone() else {
                return reply(state, press, replies::deployment_not_found(grammar), false).await;
            };
            (
                state.projects()?.project_by_channel(&channel).await?,
                press.value.clone(),
            )
        }
    };
    let Some(project) = project else {
        return reply(state, press, replies::not_set_up(grammar), false).await;
    };
    let channel = project.channel.clone();
    let found = match DeploymentId::parse(&id_text) {
        Ok(id) => {
            state
                .deployments()?
                .get_deployment(&project.repository, &id)
                .await?
        }
        Err(_) => None,
    };
    let Some(deployment) = found else {
        return reply(state, press, replies::deployment_not_found(grammar), false).await;
    };
    let (create, ack) = match kind {
        Redeploy::Promote => {
            // A test deployment a newer one superseded (inactive after succeeding) still
            // passed test: a press on its message before that was edited promotes it too.
            if deployment.environment != Environment::Test || !deployment.has_succeeded() {
                let refusal = replies::promote_not_eligible(grammar, &deployment);
                return reply(state, press, refusal, false).await;
            }
            let create = DeploymentCreateRequest::Manual(ManualDeploymentRequest {
                repository: project.repository,
                deployment_id: state.new_deployment_id(),
                environment: Environment::Staging,
                git_ref: Some(GitRef::Name(deployment.sha.as_str().to_owned())),
                trigger: Trigger::Manual {
                    slack_user: press.user.clone(),
                },
                channel,
                response_url: press.response_url.clone(),
                confirmed_bad: false,
                promotion: true,
                freeze_override: None,
            });
            (create, replies::promote_ack(&deployment))
        }
        Redeploy::Retry => {
            if !matches!(
                deployment.state,
                DeploymentState::Failure | DeploymentState::Error
            ) {
                let refusal = replies::retry_not_eligible(grammar, &deployment);
                return reply(state, press, refusal, false).await;
            }
            if let Some(text) = crate::lanes::retry_refusal(state, &deployment).await? {
                return reply(state, press, Message::text(text), false).await;
            }
            let trigger = Trigger::Retry {
                slack_user: press.user.clone(),
                of: deployment.id.clone(),
            };
            // Exactly what failed: the same environment, ref and commit, even when the branch
            // has moved on since. That commit passed the policy when it was first deployed,
            // so it is not resolved or checked again (a pull request's environment could not
            // be deployed by hand anyway).
            let pr_url = match &deployment.trigger {
                Trigger::PullRequest { url, .. } => url.clone(),
                _ => None,
            };
            let create = DeploymentCreateRequest::New(NewDeploymentRequest {
                repository: project.repository,
                deployment_id: state.new_deployment_id(),
                environment: deployment.environment.clone(),
                git_ref: deployment.git_ref.clone(),
                sha: deployment.sha.clone(),
                trigger,
                commit_author: deployment.commit_author.clone(),
                pr_url,
                channel,
                check_workflow_file: None,
            });
            (create, replies::retry_ack(&deployment))
        }
    };
    send(state.invoker()?, &create).await?;
    reply(state, press, ack, false).await
}

/// Approve or Reject on a deployment waiting for approval (the value: its id, in the
/// channel's repository). The presser is told what their press did, or why it did nothing;
/// the deployment's message is edited by the lane.
async fn approval(state: &AppState, press: &Press) -> Result<(), AppError> {
    let Some((_, project, deployment)) = pressed_deployment(state, press).await? else {
        return Ok(());
    };
    let threads = state.policy_of(&project).workflow().notify.threads;
    let pressed = if press.action_id == crate::render::ACTION_APPROVE {
        crate::approvals::vote(state, &press.user, &deployment, threads).await?
    } else {
        let reason = press.reason.clone().unwrap_or_default();
        crate::approvals::reject(state, &press.user, &deployment, &reason, threads).await?
    };
    let sentence = match pressed {
        crate::approvals::Pressed::Done(s) => format!(":white_check_mark: {s}"),
        crate::approvals::Pressed::Refused(s) => format!(":no_entry: {s}"),
    };
    reply(state, press, Message::text(sentence), false).await
}

/// A lock's button: the lane it names (its value, `acme/web#staging`) gets the event, with its
/// notices to the channel of the repository's project. The presser gets the lane's answer for
/// them (a refusal, the offer to take someone else's lock); a confirmation only when they
/// pressed outside that channel (the holder's reminder), where the channel's notice is not in
/// sight.
async fn lane_button(state: &AppState, press: &Press, event: &LaneEvent) -> Result<(), AppError> {
    let grammar = &state.config.grammar;
    let Some(key) = lane_actions::lane_from_value(&press.value) else {
        return reply(state, press, replies::lane_not_found(grammar), false).await;
    };
    let Some(project) = state
        .projects()?
        .project_by_repository(&key.repository)
        .await?
    else {
        return reply(state, press, replies::lane_not_found(grammar), false).await;
    };
    match lane_actions::act(state, &key, event, &project.channel).await? {
        Answer::Reply(message) => reply(state, press, message, false).await,
        Answer::Done(message) if press.channel.as_ref() != Some(&project.channel) => {
            reply(state, press, message, false).await
        }
        Answer::Done(_) => Ok(()),
    }
}

/// [Roll back] and [Lock] in a failure's direct message: the rollback preview (shown to the
/// person where they pressed, the rollback itself posted in the repository's channel), or
/// the lock of the environment, as `rollback <environment>` and `lock <environment>` do.
async fn direct_lane_button(state: &AppState, press: &Press) -> Result<(), AppError> {
    let grammar = &state.config.grammar;
    let Some(key) = lane_actions::lane_from_value(&press.value) else {
        return reply(state, press, replies::lane_not_found(grammar), false).await;
    };
    let Some(project) = state
        .projects()?
        .project_by_repository(&key.repository)
        .await?
    else {
        return reply(state, press, replies::lane_not_found(grammar), false).await;
    };
    if press.action_id == direct::ACTION_DIRECT_ROLLBACK {
        let preview =
            DeploymentCreateRequest::RollbackPreview(deploybot_core::invoke::RollbackRequest {
                repository: project.repository.clone(),
                environment: key.environment.clone(),
                target: None,
                reason: None,
                user: press.user.clone(),
                channel: project.channel.clone(),
                response_url: press.response_url.clone(),
            });
        send(state.invoker()?, &preview).await?;
        return reply(state, press, replies::rollback_ack(&key.environment), false).await;
    }
    let event = LaneEvent::Lock {
        by: press.user.clone(),
        duration: None,
        reason: Some("locked from a failure's direct message".to_owned()),
        production: state.policy_of(&project).is_production(&key.environment),
    };
    let answer = lane_actions::act(state, &key, &event, &project.channel).await?;
    reply(state, press, answer.into_message(), false).await
}

/// [Promote] on the Home tab: the commit it showed goes to the environment, as `deploy
/// <commit> to <environment>` in the repository's channel would (the workflow's rules
/// apply: `promote_from`, freezes, locks).
async fn home_promote(state: &AppState, press: &Press) -> Result<(), AppError> {
    let grammar = &state.config.grammar;
    let parsed = crate::render::home::from_promote_value(&press.value)
        .and_then(|(lane, sha)| Some((lane_actions::lane_from_value(lane)?, sha)));
    let Some((key, sha)) = parsed else {
        return reply(state, press, replies::lane_not_found(grammar), false).await;
    };
    let Some(project) = state
        .projects()?
        .project_by_repository(&key.repository)
        .await?
    else {
        return reply(state, press, replies::lane_not_found(grammar), false).await;
    };
    let create = DeploymentCreateRequest::Manual(ManualDeploymentRequest {
        repository: project.repository,
        deployment_id: state.new_deployment_id(),
        environment: key.environment,
        git_ref: Some(GitRef::Name(sha.as_str().to_owned())),
        trigger: Trigger::Manual {
            slack_user: press.user.clone(),
        },
        channel: project.channel,
        response_url: press.response_url.clone(),
        confirmed_bad: false,
        promotion: true,
        freeze_override: None,
    });
    send(state.invoker()?, &create).await?;
    Ok(())
}
