//! Deployments parked *waiting for checks*: look at the commit's checks again (after a
//! `status` or `check_suite` event) and resume, fail or keep waiting; fail those that waited
//! longer than the configured time.

use super::{about, create_on_github, nothing, shown_message};
use crate::lifecycle::{self, Saved, Transition};
use crate::{AppError, AppState};
use deploybot_core::invoke::DeploymentCreateResponse;
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

/// Re-evaluates a parked deployment. Green resumes it exactly once (a version-guarded
/// `waiting_for_checks → created` write that only one attempt wins), red fails it, pending
/// keeps it waiting with the contexts still pending.
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
            // The message shows the deployment waiting until the resumed one is announced.
            let shown = shown_message(&current);
            let resumed = lifecycle::update_from(state, current, |d| {
                if d.state != DeploymentState::WaitingForChecks {
                    return false;
                }
                d.state = DeploymentState::Created;
                d.waiting_for.clear();
                d.description = None;
                true
            })
            .await?;
            match resumed {
                Saved::Changed(d) => {
                    tracing::info!(deployment = %d.id, "checks are green: resuming");
                    let d = create_on_github(state, d, shown.as_ref(), None).await?;
                    Ok(about(&d))
                }
                Saved::Unchanged(d) => Ok(about(&d)),
            }
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
