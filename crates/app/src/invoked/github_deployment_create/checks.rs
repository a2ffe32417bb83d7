//! Deployments parked *waiting for checks*: look at the commit's checks again (after a
//! `status` or `check_suite` event) and resume, fail or keep waiting; fail those that waited
//! longer than the configured time.

use super::{about, nothing, required, run_lane};
use crate::lifecycle::{self, Saved, Transition};
use crate::{AppError, AppState, lanes};
use deploybot_core::invoke::DeploymentCreateResponse;
use deploybot_core::lane::{ChecksResult, LaneEvent};
use deploybot_core::ports::ChecksState;
use deploybot_core::required_checks::Verdict;
use deploybot_core::{Deployment, DeploymentId, DeploymentState, Repository};

/// How many parked deployments one `ExpireWaiting` run fails at most.
const EXPIRE_BATCH: usize = 100;

fn list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Re-evaluates a parked deployment. Green puts it back in its lane's line (the lane drains
/// and dispatches it when it is first), red fails it, pending keeps it waiting with the
/// contexts still pending.
pub(super) async fn recheck(
    state: &AppState,
    repository: &Repository,
    id: &DeploymentId,
) -> Result<DeploymentCreateResponse, AppError> {
    let current = lifecycle::load(state, repository, id).await?;
    if current.state != DeploymentState::WaitingForChecks {
        return Ok(about(&current));
    }
    if current.waits_for_required_checks() {
        return recheck_required(state, current).await;
    }
    let checks = state
        .github()?
        .commit_checks(repository, &current.sha)
        .await?;
    match checks.state {
        ChecksState::Pending => {
            let pending = if checks.pending.is_empty() {
                current.waiting_for.clone()
            } else {
                checks.pending
            };
            let saved = lifecycle::update_from(state, current, |d| {
                if d.state != DeploymentState::WaitingForChecks || d.waiting_for == pending {
                    return false;
                }
                d.waiting_for = pending.clone();
                true
            })
            .await?;
            if let Saved::Changed(d) = &saved {
                lifecycle::notify_slack(state, d).await;
            }
            Ok(about(saved.deployment()))
        }
        ChecksState::Red => {
            let failing = if checks.failing.is_empty() {
                "a required check".to_owned()
            } else {
                list(&checks.failing)
            };
            let t = Transition::to(DeploymentState::Failure).description(format!(
                "Not deployed: {failing} failed on this commit. Fix it and push again."
            ));
            let saved = lifecycle::transition(state, current, &t).await?;
            Ok(about(saved.deployment()))
        }
        ChecksState::Green => back_in_line(state, current).await,
    }
}

/// Every intent of the lane waiting for this commit's checks is queued again, and the lane
/// drains: the dispatch checks again (deploybot's required checks, then GitHub).
async fn back_in_line(
    state: &AppState,
    current: Deployment,
) -> Result<DeploymentCreateResponse, AppError> {
    tracing::info!(deployment = %current.id, "checks are green: back in line");
    let key = lanes::lane_of(&current);
    let event = LaneEvent::ChecksChanged {
        sha: current.sha.clone(),
        result: ChecksResult::Green,
    };
    run_lane(state, &key, event).await?;
    let d = lifecycle::load(state, &current.repository, &current.id).await?;
    Ok(about(&d))
}

/// A deployment waiting for the environment's `required_checks`: evaluated again by name.
/// All passing puts it back in line, any failing fails it naming them, otherwise it keeps
/// waiting with each check's state brought up to date.
async fn recheck_required(
    state: &AppState,
    current: Deployment,
) -> Result<DeploymentCreateResponse, AppError> {
    let names = required::required_names(state, &current).await?;
    if names.is_empty() {
        // The workflow in force requires nothing any more.
        return back_in_line(state, current).await;
    }
    let evaluation = required::evaluate_for(state, &current, &names).await?;
    let checks = evaluation.checks;
    match evaluation.verdict {
        Verdict::Go => back_in_line(state, current).await,
        Verdict::Wait(waiting) => {
            let saved = lifecycle::update_from(state, current, |d| {
                if d.state != DeploymentState::WaitingForChecks
                    || (d.waiting_for == waiting && d.required_checks.as_ref() == Some(&checks))
                {
                    return false;
                }
                d.waiting_for = waiting.clone();
                d.required_checks = Some(checks.clone());
                true
            })
            .await?;
            if let Saved::Changed(d) = &saved {
                lifecycle::notify_slack(state, d).await;
            }
            Ok(about(saved.deployment()))
        }
        Verdict::Fail(failing) => {
            let current = lifecycle::update_from(state, current, |d| {
                if d.state != DeploymentState::WaitingForChecks {
                    return false;
                }
                d.required_checks = Some(checks.clone());
                true
            })
            .await?
            .into_deployment();
            let t = Transition::to(DeploymentState::Failure)
                .description(required::failed_sentence(&failing));
            let saved = lifecycle::transition(state, current, &t).await?;
            Ok(about(saved.deployment()))
        }
    }
}

fn human_duration(secs: i64) -> String {
    match secs {
        s if s % 3600 == 0 && s >= 3600 => {
            let h = s / 3600;
            if h == 1 {
                "1 hour".into()
            } else {
                format!("{h} hours")
            }
        }
        s if s % 60 == 0 && s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// Fails the deployments that have waited for checks longer than `checks_timeout_secs`.
pub(super) async fn expire_waiting(state: &AppState) -> Result<DeploymentCreateResponse, AppError> {
    let timeout = state.config.checks_timeout_secs;
    let before = state.clock.now().plus_secs(-timeout);
    let expired = state
        .deployments()?
        .waiting_deployments(before, EXPIRE_BATCH)
        .await?;
    for d in expired {
        let waited_for = if d.waiting_for.is_empty() {
            "the required checks".to_owned()
        } else {
            list(&d.waiting_for)
        };
        let t = Transition::to(DeploymentState::Failure).description(format!(
            "Not deployed: gave up after waiting {} for {waited_for}.",
            human_duration(timeout)
        ));
        lifecycle::transition(state, d, &t).await?;
    }
    Ok(nothing())
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(3600), "1 hour");
        assert_eq!(human_duration(7200), "2 hours");
        assert_eq!(human_duration(900), "15 min");
        assert_eq!(human_duration(45), "45 s");
    }
}
