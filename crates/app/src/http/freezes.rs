//! `freeze`, `unfreeze` and `freezes` (docs/workflow.md, "Freezes"): a freeze set from Slack
//! is kept on the lane record of each environment it freezes (one conditional write per
//! environment), then the lane is drained, so what waits there is held (or, once unfrozen,
//! goes). `freezes` reads the repository's lane records in one query and computes the rest
//! from the workflow file's windows and the clock.

use crate::http::lane_actions;
use crate::lanes;
use crate::render::freezes::{self as words, Upcoming};
use crate::render::replies;
use crate::{AppError, AppState};
use deploybot_core::blocks::Message;
use deploybot_core::command::FreezeTarget;
use deploybot_core::freeze::{FreezeEnd, ManualFreeze, starting_between};
use deploybot_core::lane::{LaneEvent, LaneKey};
use deploybot_core::policy::{Policy, Refusal};
use deploybot_core::{Environment, Project, SlackChannelId, SlackUserId};

/// How far ahead `freezes` looks.
pub const FREEZES_AHEAD_SECS: i64 = 7 * 86_400;

/// What an answer to a freeze command is: for the channel, or for the person only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FreezeAnswer {
    /// Everyone should know (a freeze set or lifted).
    Channel(Message),
    /// For the person who asked.
    Person(Message),
}

/// The environments `target` names, or the refusal for one the workflow does not have.
fn environments(policy: &Policy, target: &FreezeTarget) -> Result<Vec<Environment>, Message> {
    match target {
        FreezeTarget::All => Ok(policy.environments()),
        FreezeTarget::Environment(e) if policy.spec(e).is_some() => Ok(vec![e.clone()]),
        FreezeTarget::Environment(e) => {
            Err(replies::deploy_refused(&Refusal::UnknownEnvironment {
                environment: e.clone(),
                known: policy.environments(),
            }))
        }
    }
}

fn key(project: &Project, environment: &Environment) -> LaneKey {
    LaneKey {
        repository: project.repository.clone(),
        environment: environment.clone(),
    }
}

/// `freeze <environment|all> for <duration>|until <time> [<reason…>]`.
pub async fn freeze(
    state: &AppState,
    project: &Project,
    channel: &SlackChannelId,
    by: &SlackUserId,
    target: &FreezeTarget,
    end: &FreezeEnd,
    reason: Option<String>,
) -> Result<FreezeAnswer, AppError> {
    let grammar = &state.config.grammar;
    let policy = state.policy_of(project);
    let targets = match environments(&policy, target) {
        Ok(t) => t,
        Err(refusal) => return Ok(FreezeAnswer::Person(refusal)),
    };
    let now = state.clock.now();
    let until = end.resolve(now);
    if until <= now {
        return Ok(FreezeAnswer::Person(replies::usage(
            "That time has passed already; say a time to come, like `until 18:00` or `for 2h`.",
        )));
    }
    let freeze = ManualFreeze {
        by: by.clone(),
        from: now,
        until,
        reason,
    };
    for environment in &targets {
        let key = key(project, environment);
        lanes::set_freeze(state, &key, Some(freeze.clone())).await?;
        // What waits there is held now (its message says until when).
        lane_actions::act(state, &key, &LaneEvent::Drain, channel).await?;
    }
    Ok(FreezeAnswer::Channel(words::freeze_set(
        grammar,
        &targets,
        &freeze,
        matches!(target, FreezeTarget::All),
    )))
}

/// `unfreeze <environment|all>`: lifts the freezes set from Slack; the workflow file's
/// windows stay (the answer says which still hold).
pub async fn unfreeze(
    state: &AppState,
    project: &Project,
    channel: &SlackChannelId,
    by: &SlackUserId,
    target: &FreezeTarget,
) -> Result<FreezeAnswer, AppError> {
    let policy = state.policy_of(project);
    let targets = match environments(&policy, target) {
        Ok(t) => t,
        Err(refusal) => return Ok(FreezeAnswer::Person(refusal)),
    };
    let now = state.clock.now();
    let mut lifted = Vec::new();
    let mut still = Vec::new();
    for environment in &targets {
        let key = key(project, environment);
        if let Some(before) = lanes::set_freeze(state, &key, None).await? {
            if !before.is_over(now) {
                lifted.push(environment.clone());
            }
            // What the freeze held goes now, and the channel is told what deploys.
            lane_actions::act(state, &key, &LaneEvent::Drain, channel).await?;
        }
        if let Some(frozen) = policy.frozen(environment, None, now) {
            still.push((environment.clone(), frozen));
        }
    }
    if lifted.is_empty() {
        let mut text = match target {
            FreezeTarget::All => "No environment has a freeze set from Slack".to_owned(),
            FreezeTarget::Environment(e) => words::not_frozen_by_hand(e),
        };
        for (environment, frozen) in &still {
            text.push_str(&format!(
                "; *{environment}* is frozen by the workflow file until {} ({}), which only a change of the file lifts",
                deploybot_core::lane::slack_date_time(frozen.until),
                frozen.why()
            ));
        }
        text.push('.');
        return Ok(FreezeAnswer::Person(Message::text(format!(
            ":sunny: {text}"
        ))));
    }
    Ok(FreezeAnswer::Channel(words::freeze_lifted(
        by, &lifted, &still,
    )))
}

/// `freezes`: the freezes in force now, and the file's windows that start in the next seven
/// days.
pub async fn freezes(state: &AppState, project: &Project) -> Result<Message, AppError> {
    let policy = state.policy_of(project);
    let now = state.clock.now();
    let records = state.lanes()?.lanes_of(&project.repository).await?;
    let active: Vec<(Environment, deploybot_core::freeze::Frozen)> = policy
        .environments()
        .into_iter()
        .filter_map(|environment| {
            let manual = records
                .iter()
                .find(|r| r.lane.environment == environment)
                .and_then(|r| r.freeze.as_ref());
            let frozen = policy.frozen(&environment, manual, now)?;
            Some((environment, frozen))
        })
        .collect();
    let windows = &policy.workflow().freezes;
    let upcoming: Vec<Upcoming> = starting_between(
        windows,
        None,
        now.plus_millis(1),
        now.plus_secs(FREEZES_AHEAD_SECS),
    )
    .into_iter()
    .map(|u| Upcoming {
        name: u.window.name.clone(),
        reason: u.window.reason.clone(),
        environments: u
            .window
            .environments
            .iter()
            .filter_map(|e| Environment::parse(e).ok())
            .collect(),
        start: u.occurrence.start,
        end: u.occurrence.end,
    })
    .collect();
    Ok(words::freezes_view(
        &state.config.grammar,
        &active,
        &upcoming,
        now,
    ))
}
