//! The watchdog's decisions: nothing stays in flight forever. A dispatched deployment that
//! CI has not started within `start_timeout` is started by the watchdog itself, once; one
//! with no outcome `deployment_timeout` after dispatch is reconciled with what CI says.

use super::duration::{format_duration, millis};
use super::{LaneState, Outcome};
use crate::{Environment, Timestamp};
use std::time::Duration;

/// Default of `DEPLOYBOT_START_TIMEOUT`.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(2 * 60);
/// Default of `DEPLOYBOT_DEPLOYMENT_TIMEOUT`.
pub const DEFAULT_DEPLOYMENT_TIMEOUT: Duration = Duration::from_secs(45 * 60);
/// Default of `DEPLOYBOT_WATCHDOG_INTERVAL`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// The watchdog's timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchdogConfig {
    /// How long after dispatch CI must have started the deployment.
    pub start_timeout: Duration,
    /// How long after dispatch the deployment must have an outcome.
    pub deployment_timeout: Duration,
    /// How often the watchdog looks.
    pub interval: Duration,
}

impl Default for WatchdogConfig {
    fn default() -> Self {
        Self {
            start_timeout: DEFAULT_START_TIMEOUT,
            deployment_timeout: DEFAULT_DEPLOYMENT_TIMEOUT,
            interval: DEFAULT_INTERVAL,
        }
    }
}

/// What the watchdog knows about one dispatched deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlight {
    /// When it was dispatched.
    pub dispatched_at: Timestamp,
    /// Whether CI started it (a pipeline exists for it).
    pub ci_started: bool,
    /// Whether the watchdog already tried to start it (set with a conditional write before
    /// it starts CI, so it happens once).
    pub start_attempted: bool,
}

/// What the watchdog does about one deployment now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchdogAction {
    /// Nothing yet; look again at [`WatchdogConfig::due_at`].
    Nothing,
    /// Start its pipeline: the GitHub `deployment` event was lost. Exactly once: mark
    /// `start_attempted` with a conditional write first.
    StartPipeline,
    /// Ask CI what happened, and [`WatchdogConfig::reconcile`] its answer.
    Reconcile,
}

/// What CI says about a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CiReport {
    /// It finished so.
    Finished(Outcome),
    /// It is still running (or waiting for an agent).
    Running,
    /// CI has no pipeline for it.
    Unknown,
}

impl CiReport {
    /// What a pipeline's workflows say, given each workflow's status as the CI reports it
    /// (CircleCI's words: `success`, `running`, `not_run`, `failed`, `error`, `failing`,
    /// `on_hold`, `canceled`, `unauthorized`; a GitHub Actions run is reported in them, its
    /// conclusions other than success and failure as themselves). No workflow: the CI has nothing for it. One
    /// still going (running, failing, on hold): running. Else any that did not succeed decides
    /// the outcome (`why` names it); all succeeded: success.
    pub fn from_workflows<'a>(workflows: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let workflows: Vec<(&str, String)> = workflows
            .into_iter()
            .map(|(name, status)| (name, status.to_ascii_lowercase()))
            .collect();
        if workflows.is_empty() {
            return Self::Unknown;
        }
        if workflows
            .iter()
            .any(|(_, s)| matches!(s.as_str(), "running" | "failing" | "on_hold"))
        {
            return Self::Running;
        }
        let not_succeeded = workflows
            .iter()
            .find(|(_, s)| !matches!(s.as_str(), "success" | "succeeded" | "fixed"));
        Self::Finished(match not_succeeded {
            None => Outcome::Success,
            Some((name, status)) => {
                let why = format!("workflow {name} {status}");
                match status.as_str() {
                    // CircleCI's `canceled`; GitHub Actions' `cancelled` is an error, as its
                    // webhook maps it (the adapter passes Actions' conclusions through).
                    "failed" | "canceled" | "not_run" => Outcome::Failure { why },
                    _ => Outcome::Error { why },
                }
            }
        })
    }
}

/// The reconciled result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reconciliation {
    /// Record this outcome as a webhook would ([`super::LaneEvent::Finished`]); the lane is
    /// freed.
    Finish(Outcome),
    /// Keep waiting; look again at `look_again_at`.
    KeepWaiting {
        /// Whether to mark it `in_progress` now ([`super::LaneEvent::Started`]).
        mark_in_progress: bool,
        /// When to look again.
        look_again_at: Timestamp,
    },
}

impl WatchdogConfig {
    /// What to do about `deployment` at `now`: past `deployment_timeout`, reconcile; past
    /// `start_timeout` and neither started by CI nor tried, start it; otherwise nothing.
    pub fn watch(&self, deployment: &InFlight, now: Timestamp) -> WatchdogAction {
        let since = now
            .millis()
            .saturating_sub(deployment.dispatched_at.millis());
        if since >= millis(self.deployment_timeout) {
            WatchdogAction::Reconcile
        } else if !deployment.ci_started
            && !deployment.start_attempted
            && since >= millis(self.start_timeout)
        {
            WatchdogAction::StartPipeline
        } else {
            WatchdogAction::Nothing
        }
    }

    /// When [`WatchdogConfig::watch`] has something to do about `deployment` next: the
    /// value for the due-time index, so a sweep reads only what is due.
    pub fn due_at(&self, deployment: &InFlight) -> Timestamp {
        let after = if deployment.ci_started || deployment.start_attempted {
            self.deployment_timeout
        } else {
            self.start_timeout
        };
        Timestamp::from_millis(
            deployment
                .dispatched_at
                .millis()
                .saturating_add(millis(after)),
        )
    }

    /// What CI's `report` means for a deployment in `state` (dispatched or in progress),
    /// seen at `now`; `ci` names the backend in sentences (`CircleCI`).
    pub fn reconcile(
        &self,
        state: LaneState,
        report: CiReport,
        environment: &Environment,
        ci: &str,
        now: Timestamp,
    ) -> Reconciliation {
        match report {
            CiReport::Finished(outcome) => Reconciliation::Finish(outcome),
            CiReport::Running => Reconciliation::KeepWaiting {
                mark_in_progress: state != LaneState::InProgress,
                look_again_at: Timestamp::from_millis(
                    now.millis().saturating_add(millis(self.interval)),
                ),
            },
            CiReport::Unknown => Reconciliation::Finish(Outcome::Error {
                why: format!(
                    "{ci} has no pipeline for this deployment {} after it was dispatched, so it never ran; {environment} moves on. Deploy again if it is still wanted.",
                    format_duration(self.deployment_timeout)
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipelines_workflows_say_what_happened() {
        let fail = |why: &str| {
            CiReport::Finished(Outcome::Failure {
                why: why.to_owned(),
            })
        };
        let cases: Vec<(Vec<(&str, &str)>, CiReport)> = vec![
            (vec![], CiReport::Unknown),
            (
                vec![("deploy", "success")],
                CiReport::Finished(Outcome::Success),
            ),
            (
                vec![("deploy", "success"), ("smoke", "SUCCESS")],
                CiReport::Finished(Outcome::Success),
            ),
            (vec![("deploy", "running")], CiReport::Running),
            (
                vec![("deploy", "failed"), ("smoke", "on_hold")],
                CiReport::Running,
            ),
            (vec![("deploy", "failing")], CiReport::Running),
            (
                vec![("deploy", "success"), ("smoke", "failed")],
                fail("workflow smoke failed"),
            ),
            (
                vec![("deploy", "canceled")],
                fail("workflow deploy canceled"),
            ),
            (vec![("deploy", "not_run")], fail("workflow deploy not_run")),
            (
                vec![("deploy", "unauthorized")],
                CiReport::Finished(Outcome::Error {
                    why: "workflow deploy unauthorized".to_owned(),
                }),
            ),
            (
                vec![("deploy", "cancelled")],
                CiReport::Finished(Outcome::Error {
                    why: "workflow deploy cancelled".to_owned(),
                }),
            ),
            (
                vec![("deploy", "error")],
                CiReport::Finished(Outcome::Error {
                    why: "workflow deploy error".to_owned(),
                }),
            ),
        ];
        for (workflows, want) in cases {
            assert_eq!(
                CiReport::from_workflows(workflows.iter().copied()),
                want,
                "{workflows:?}"
            );
        }
    }

    const T0: Timestamp = Timestamp::from_secs(1_000_000);
    fn at(secs: i64) -> Timestamp {
        T0.plus_secs(secs)
    }

    #[test]
    fn watch_table() {
        let cfg = WatchdogConfig::default();
        use WatchdogAction::*;
        // (seconds after dispatch, ci started, start attempted) → action
        let cases = [
            (0, false, false, Nothing),
            (119, false, false, Nothing),
            (120, false, false, StartPipeline),
            (120, true, false, Nothing),
            (120, false, true, Nothing),
            (600, false, true, Nothing),
            (2699, true, false, Nothing),
            (2700, true, false, Reconcile),
            (2700, false, false, Reconcile),
            (2700, false, true, Reconcile),
            (-60, false, false, Nothing),
        ];
        for (secs, ci_started, start_attempted, want) in cases {
            let d = InFlight {
                dispatched_at: T0,
                ci_started,
                start_attempted,
            };
            assert_eq!(
                cfg.watch(&d, at(secs)),
                want,
                "{secs}s {ci_started} {start_attempted}"
            );
        }
    }

    #[test]
    fn due_time_follows_what_is_left_to_do() {
        let cfg = WatchdogConfig::default();
        let mut d = InFlight {
            dispatched_at: T0,
            ci_started: false,
            start_attempted: false,
        };
        assert_eq!(cfg.due_at(&d), at(120));
        d.start_attempted = true;
        assert_eq!(cfg.due_at(&d), at(2700));
        d = InFlight {
            ci_started: true,
            start_attempted: false,
            ..d
        };
        assert_eq!(cfg.due_at(&d), at(2700));
        // At the due time the watchdog has something to do.
        assert_eq!(cfg.watch(&d, cfg.due_at(&d)), WatchdogAction::Reconcile);
    }

    #[test]
    fn reconcile_table() {
        let cfg = WatchdogConfig::default();
        let env = Environment::Staging;
        let now = at(2700);
        let failure = Outcome::Failure {
            why: "the deploy job failed".into(),
        };
        let cases = [
            (
                LaneState::Dispatched,
                CiReport::Finished(Outcome::Success),
                Reconciliation::Finish(Outcome::Success),
            ),
            (
                LaneState::InProgress,
                CiReport::Finished(failure.clone()),
                Reconciliation::Finish(failure),
            ),
            (
                LaneState::Dispatched,
                CiReport::Running,
                Reconciliation::KeepWaiting {
                    mark_in_progress: true,
                    look_again_at: at(2760),
                },
            ),
            (
                LaneState::InProgress,
                CiReport::Running,
                Reconciliation::KeepWaiting {
                    mark_in_progress: false,
                    look_again_at: at(2760),
                },
            ),
        ];
        for (state, report, want) in cases {
            assert_eq!(
                cfg.reconcile(state, report.clone(), &env, "CircleCI", now),
                want,
                "{state} {report:?}"
            );
        }
        match cfg.reconcile(
            LaneState::Dispatched,
            CiReport::Unknown,
            &env,
            "CircleCI",
            now,
        ) {
            Reconciliation::Finish(Outcome::Error { why }) => {
                assert!(
                    why.starts_with(
                        "CircleCI has no pipeline for this deployment 45m after it was dispatched"
                    ),
                    "{why}"
                );
                assert!(why.contains("staging moves on"), "{why}");
            }
            other => panic!("unknown to CI is an error: {other:?}"),
        }
    }
}
