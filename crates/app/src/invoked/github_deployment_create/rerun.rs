//! A re-run of a finished deployment's GitHub Actions run (`run_attempt` > 1; docs/workflow.md,
//! "Re-runs"). The re-run deploys the deployment's commit again, so deploybot either follows
//! it — the deployment is `in_progress` again, holds its environment's slot, and the re-run's
//! outcome is its outcome — or, when the environment has moved on (something newer ran, it is
//! busy, locked or frozen), cancels it and tells the channel why. The decision is
//! `core::ci::rerun`; this gathers its facts (the lane record, the environment's newest
//! deployments, the gates: key and index reads) and carries it out. The lane record is
//! written with its version guard, so a re-run and a dispatch racing for the slot end with one.

use super::nothing;
use crate::lifecycle::{self, Transition};
use crate::{AppError, AppState, lanes};
use deploybot_core::blocks::Message;
use deploybot_core::ci::{self, RerunFacts};
use deploybot_core::invoke::{
    self, DeploymentCreateResponse, DeploymentStatusRequest, SlackMessageRequest,
};
use deploybot_core::lane::{Hold, InFlight, LaneRecord};
use deploybot_core::ports::LaneSaved;
use deploybot_core::{DeploymentId, DeploymentState, Repository};

/// How many of the environment's newest deployments are read to tell whether the re-run one
/// is the last that reached GitHub (an index query; more never-run ones in between make it
/// "not the latest", which cancels the re-run: the safe side).
const RECENT: usize = 10;

/// How often the lane is read again when another decision saved it first.
const MAX_ATTEMPTS: usize = 5;

/// The re-run GitHub told of.
pub(super) struct Rerun {
    pub attempt: u64,
    /// The run's page.
    pub log_url: Option<String>,
    /// Its outcome when it had ended already.
    pub outcome: Option<(DeploymentState, Option<String>)>,
}

pub(super) async fn handle(
    state: &AppState,
    repository: &Repository,
    id: &DeploymentId,
    asked: Rerun,
) -> Result<DeploymentCreateResponse, AppError> {
    let Rerun {
        attempt,
        log_url,
        outcome,
    } = asked;
    let key = {
        let d = lifecycle::load(state, repository, id).await?;
        lanes::lane_of(&d)
    };
    let policy = lanes::policy_of_repository(state, &key).await?;
    for _ in 0..MAX_ATTEMPTS {
        let now = state.clock.now();
        let (d, record, recent) = tokio::try_join!(
            lifecycle::load(state, repository, id),
            async {
                Ok::<_, AppError>(
                    state
                        .lanes()?
                        .get_lane(&key)
                        .await?
                        .unwrap_or_else(|| LaneRecord::empty(key.clone(), now)),
                )
            },
            async {
                Ok::<_, AppError>(
                    state
                        .deployments()?
                        .list_deployments(repository, Some(key.environment.clone()), RECENT)
                        .await?,
                )
            },
        )?;
        let env = &key.environment;
        let latest = recent
            .iter()
            .find(|r| r.github_deployment_id.is_some())
            .is_some_and(|r| r.id == d.id);
        let gates = lanes::gates(&policy, &record, now);
        let facts = RerunFacts {
            environment: env.to_string(),
            finished: matches!(
                d.state,
                DeploymentState::Success
                    | DeploymentState::Failure
                    | DeploymentState::Error
                    | DeploymentState::Inactive
            ),
            inactive: d.state == DeploymentState::Inactive,
            attempt,
            recorded_attempt: d.ci_attempt.unwrap_or(1),
            latest_dispatched: latest,
            running_other: record
                .running
                .as_ref()
                .filter(|r| *r != &d.id)
                .map(|r| format!("`{r}`")),
            locked: record
                .lock
                .as_ref()
                .filter(|l| !l.is_expired(now))
                .map(|l| l.sentence(env)),
            frozen: gates
                .freeze
                .as_ref()
                .map(|f| Hold::from_freeze(f).sentence(env)),
        };
        match ci::rerun(&facts) {
            ci::Rerun::Ignore => return Ok(nothing()),
            ci::Rerun::Cancel { why } => {
                if let Some(run) = d.ci_run()
                    && let Err(error) = state.ci()?.cancel_run(&run).await
                {
                    tracing::warn!(deployment = %d.id, %error, "could not cancel the re-run");
                }
                tracing::info!(deployment = %d.id, attempt, %why, "re-run cancelled");
                let text = format!(
                    ":no_entry: A re-run of the deployment of `{}` to {env} on GitHub Actions (attempt {attempt}) was cancelled: {why}.",
                    d.sha.short()
                );
                let request = SlackMessageRequest::Channel {
                    channel: d.slack_channel.clone(),
                    message: Message::text(text),
                };
                invoke::send(state.invoker()?, &request).await?;
                return Ok(nothing());
            }
            ci::Rerun::Reopen => {
                let mut next = record.clone();
                next.running = Some(d.id.clone());
                next.dispatched_at = Some(now);
                // Its CI run exists: the watchdog waits for its end, not for a start.
                next.start_attempted = true;
                if next.current.as_ref() == Some(&d.id) {
                    // What the environment runs is being deployed again: unknown until the
                    // re-run ends (a success makes it current again).
                    next.current = None;
                }
                let running = lanes::watchdog_config(state).due_at(&InFlight {
                    dispatched_at: now,
                    ci_started: true,
                    start_attempted: true,
                });
                next.due_at = Some(next.due_at.map_or(running, |due| due.min(running)));
                next.updated_at = now;
                match state.lanes()?.save_lane(&next).await? {
                    LaneSaved::Saved(_) => {}
                    LaneSaved::Conflict(_) => continue,
                }
                let transition = Transition::to(DeploymentState::InProgress)
                    .reopening(attempt)
                    .log_url(log_url.clone())
                    .description(format!("re-run on GitHub Actions (attempt {attempt})"));
                let reopened = lifecycle::transition(state, d, &transition).await?;
                tracing::info!(deployment = %id, attempt, "deployment reopened by a re-run");
                if let Some((to, description)) = outcome {
                    let d = reopened.deployment();
                    let request = DeploymentStatusRequest {
                        repository: d.repository.clone(),
                        deployment_id: d.id.clone(),
                        state: to,
                        log_url: log_url.clone(),
                        environment_url: d.environment_url.clone(),
                        description,
                        from_github: false,
                        finished_workflow: None,
                    };
                    invoke::call(state.invoker()?, &request).await?;
                }
                return Ok(nothing());
            }
        }
    }
    Err(AppError::Internal(format!(
        "lane {key} kept changing while a re-run was decided"
    )))
}
