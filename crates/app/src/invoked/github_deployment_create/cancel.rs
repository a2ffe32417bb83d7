//! `cancel <environment> [--all]` (docs/workflow.md, "Cancelling"): with `--all` the lane's
//! queued deployments are dropped first (the lane's own `Cancel`); then the running one is
//! cancelled on its CI (every workflow of a CircleCI pipeline still going, a GitHub Actions
//! run) and, once the CI accepted, ends `error` "cancelled by @x" through
//! `github-deployment-status`, which frees the lane — so a later "cancelled" webhook from the
//! CI changes nothing. A deployment CI never started ends the same way without a CI call. A
//! CI that refuses, or nothing to cancel, is told to the person.

use super::{nothing, run_lane};
use crate::{AppError, AppState};
use deploybot_core::blocks::Message;
use deploybot_core::invoke::{
    self, DeploymentCreateResponse, DeploymentStatusRequest, SlackMessageRequest,
};
use deploybot_core::lane::{LaneEvent, LaneKey};
use deploybot_core::{
    Deployment, DeploymentId, DeploymentState, Environment, Repository, SlackChannelId, SlackUserId,
};

/// The description of a deployment someone cancelled.
pub fn cancelled_by(user: &SlackUserId) -> String {
    format!("cancelled by <@{user}>")
}

async fn tell(
    state: &AppState,
    channel: &SlackChannelId,
    user: &SlackUserId,
    text: String,
) -> Result<DeploymentCreateResponse, AppError> {
    let request = SlackMessageRequest::Ephemeral {
        channel: channel.clone(),
        user: user.clone(),
        message: Message::text(text),
    };
    invoke::send(state.invoker()?, &request).await?;
    Ok(nothing())
}

/// Who asked to cancel, and how.
pub(super) struct Asked {
    /// Also drop the lane's queued deployments.
    pub all: bool,
    pub by: SlackUserId,
    pub channel: SlackChannelId,
    /// Only this deployment (the [Cancel] button of its message).
    pub only: Option<DeploymentId>,
}

pub(super) async fn handle(
    state: &AppState,
    repository: Repository,
    environment: Environment,
    asked: Asked,
) -> Result<DeploymentCreateResponse, AppError> {
    let Asked {
        all,
        by,
        channel,
        only,
    } = asked;
    let key = LaneKey {
        repository,
        environment,
    };
    let why = cancelled_by(&by);
    if all {
        run_lane(
            state,
            &key,
            LaneEvent::Cancel {
                intent: None,
                why: why.clone(),
            },
        )
        .await?;
    }
    let running = state
        .lanes()?
        .get_lane(&key)
        .await?
        .and_then(|lane| lane.running);
    if let Some(only) = &only
        && running.as_ref() != Some(only)
    {
        let text = format!(
            "`{only}` is no longer running in `{}`, so nothing was cancelled.",
            key.environment
        );
        return tell(state, &channel, &by, text).await;
    }
    let Some(id) = running else {
        let text = if all {
            format!(
                "Nothing is running in `{}`; its queued deployments were dropped.",
                key.environment
            )
        } else {
            format!(
                "Nothing is running in `{}`, so there is nothing to cancel.",
                key.environment
            )
        };
        return tell(state, &channel, &by, text).await;
    };
    let Some(d) = state
        .deployments()?
        .get_deployment(&key.repository, &id)
        .await?
    else {
        return tell(
            state,
            &channel,
            &by,
            format!(
                "The deployment running in `{}` was not found.",
                key.environment
            ),
        )
        .await;
    };
    if d.state.is_finished() {
        return tell(
            state,
            &channel,
            &by,
            format!("`{}` is {} already.", d.id, d.state.label()),
        )
        .await;
    }
    if let Err(error) = cancel_deployment(state, &d, why).await? {
        return tell(
            state,
            &channel,
            &by,
            format!(
                "{} did not cancel the deployment to `{}`: {error}. It keeps running.",
                d.ci_target().kind().label(),
                key.environment
            ),
        )
        .await;
    }
    tracing::info!(deployment = %d.id, by = %by, "deployment cancelled");
    Ok(nothing())
}

/// `queue: { running: cancel }`: when `arrived` (just stored) is a newer automatic
/// deployment of the same source as its lane's running one
/// ([`deploybot_core::lane::Intent::cancels_running`]), the running one is cancelled on its CI
/// and ends `error` "cancelled: superseded by `abc1234`", which frees the lane for `arrived`.
/// A CI that refuses leaves it running: `arrived` then waits for it, as it would by default.
pub(super) async fn superseded_running(
    state: &AppState,
    arrived: &Deployment,
) -> Result<(), AppError> {
    let key = crate::lanes::lane_of(arrived);
    let Some(lane) = state.lanes()?.get_lane(&key).await? else {
        return Ok(());
    };
    let Some(running_id) = lane.running.clone() else {
        return Ok(());
    };
    let deployments = state.deployments()?;
    let (running, arrived) = tokio::try_join!(
        deployments.get_deployment(&key.repository, &running_id),
        deployments.get_deployment(&key.repository, &arrived.id),
    )?;
    let (Some(running), Some(arrived)) = (running, arrived) else {
        return Ok(());
    };
    let cancels = crate::lanes::intent_of(&arrived, &lane)
        .cancels_running(&crate::lanes::intent_of(&running, &lane));
    if !cancels {
        return Ok(());
    }
    let why = format!("cancelled: superseded by `{}`", arrived.sha.short());
    match cancel_deployment(state, &running, why).await? {
        Ok(()) => {
            tracing::info!(deployment = %running.id, by = %arrived.id, "running deployment cancelled by a newer one of its source");
        }
        Err(error) => {
            tracing::warn!(deployment = %running.id, %error, "the CI refused to cancel; the newer deployment waits for it");
        }
    }
    Ok(())
}

/// Cancels `d`'s CI run (when it has one) and, once the CI accepted, ends it `error` with
/// `why` through `github-deployment-status`, which frees its lane. `Err(why)` (the CI's
/// refusal, for people) when the CI refused: the deployment keeps running.
pub(super) async fn cancel_deployment(
    state: &AppState,
    d: &Deployment,
    why: String,
) -> Result<Result<(), String>, AppError> {
    if let Some(run) = d.ci_run()
        && let Err(error) = state.ci()?.cancel_run(&run).await
    {
        tracing::warn!(deployment = %d.id, %error, "the CI refused to cancel");
        return Ok(Err(error.to_string()));
    }
    let request = DeploymentStatusRequest {
        repository: d.repository.clone(),
        deployment_id: d.id.clone(),
        state: DeploymentState::Error,
        log_url: None,
        environment_url: d.environment_url.clone(),
        description: Some(why),
        from_github: false,
        finished_workflow: None,
    };
    invoke::call(state.invoker()?, &request).await?;
    Ok(Ok(()))
}
