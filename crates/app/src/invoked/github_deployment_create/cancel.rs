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
use deploybot_core::{DeploymentState, Environment, Repository, SlackChannelId, SlackUserId};

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

pub(super) async fn handle(
    state: &AppState,
    repository: Repository,
    environment: Environment,
    all: bool,
    by: SlackUserId,
    channel: SlackChannelId,
) -> Result<DeploymentCreateResponse, AppError> {
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
    if let Some(run) = d.ci_run()
        && let Err(error) = state.ci()?.cancel_run(&run).await
    {
        tracing::warn!(deployment = %d.id, %error, "the CI refused to cancel");
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
    Ok(nothing())
}
