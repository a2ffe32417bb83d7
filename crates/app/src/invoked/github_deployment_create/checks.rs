//! Deployments parked *waiting for checks*: look at the commit's checks again (after a
//! `status` or `check_suite` event) and resume, fail or keep waiting; fail those that waited
//! longer than the configured time.

use super::{about, nothing, run_lane};
use crate::lifecycle::{self, Saved, Transition};
use crate::{AppError, AppState, lanes};
use deploybot_core::invoke::DeploymentCreateResponse;
use deploybot_core::lane::{ChecksResult, LaneEvent};
use deploybot_core::ports::ChecksState;
use deploybot_core::{DeploymentId, DeploymentState, Repository};

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
        ChecksState::Green => {
            // Every intent of the lane waiting for this commit's checks is queued again, and
            // the lane drains: the dispatch checks again with GitHub.
            tracing::info!(deployment = %current.id, "checks are green: back in line");
            let key = lanes::lane_of(&current);
            let event = LaneEvent::ChecksChanged {
                sha: current.sha.clone(),
                result: ChecksResult::Green,
            };
            run_lane(state, &key, event).await?;
            let d = lifecycle::load(state, repository, id).await?;
            Ok(about(&d))
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
