//! An environment's `required_checks`, evaluated by deploybot itself (docs/workflow.md,
//! "Required checks"): each named check is missing, pending, failing or passing on the
//! commit, from what GitHub reports (commit statuses and check runs), and together they say
//! whether the deployment goes, waits or fails. Pure: the GitHub adapter reads the reports.

use serde::{Deserialize, Serialize};

/// Where one named check stands on a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    /// No status and no check run of that name on the commit yet.
    Missing,
    /// Reported, not finished.
    Pending,
    /// Finished without passing.
    Failing,
    /// Passed.
    Passing,
}

impl CheckState {
    /// A commit status' `state` (`success`, `pending`, `failure`, `error`); anything
    /// unknown is taken as still pending.
    pub fn of_status(state: &str) -> Self {
        match state {
            "success" => Self::Passing,
            "failure" | "error" => Self::Failing,
            _ => Self::Pending,
        }
    }

    /// A check run's `status` and `conclusion`: not `completed` is pending; `success`,
    /// `neutral` and `skipped` pass; any other conclusion (`failure`, `cancelled`,
    /// `timed_out`, `action_required`, `startup_failure`, `stale`) fails; completed without a
    /// conclusion is still pending.
    pub fn of_check_run(status: &str, conclusion: Option<&str>) -> Self {
        match (status, conclusion) {
            ("completed", Some("success" | "neutral" | "skipped")) => Self::Passing,
            ("completed", Some(_)) => Self::Failing,
            _ => Self::Pending,
        }
    }

    /// How the state reads in Slack: an emoji and a word.
    pub fn label(self) -> &'static str {
        match self {
            Self::Missing => ":white_circle: missing",
            Self::Pending => ":hourglass: pending",
            Self::Failing => ":x: failing",
            Self::Passing => ":white_check_mark: passing",
        }
    }

    /// The word alone.
    pub fn word(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Pending => "pending",
            Self::Failing => "failing",
            Self::Passing => "passing",
        }
    }
}

/// One status or check run GitHub reports on a commit, by its name (a status' `context`, a
/// check run's `name`). Its state is never [`CheckState::Missing`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedCheck {
    pub name: String,
    pub state: CheckState,
}

impl ReportedCheck {
    pub fn new(name: impl Into<String>, state: CheckState) -> Self {
        Self {
            name: name.into(),
            state,
        }
    }
}

/// A required check and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedCheck {
    pub name: String,
    pub state: CheckState,
}

/// What the required checks say about deploying the commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every named check passes (or none is named): deploy.
    Go,
    /// None fails, and some are missing or pending: wait for them (their names).
    Wait(Vec<String>),
    /// These fail: do not deploy.
    Fail(Vec<String>),
}

/// The required checks, evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// Each required name with its state, in the order of `required` (a name listed twice
    /// counts once).
    pub checks: Vec<NamedCheck>,
    pub verdict: Verdict,
}

/// Evaluates `required` (exact names) against what GitHub reported on the commit. A name
/// reported more than once (a status and a check run, or a check run re-run) fails when any
/// report fails, else is pending while any report is pending, else passes.
pub fn evaluate(required: &[String], reported: &[ReportedCheck]) -> Evaluation {
    let mut checks: Vec<NamedCheck> = Vec::new();
    for name in required {
        if checks.iter().any(|c| &c.name == name) {
            continue;
        }
        let states = reported.iter().filter(|r| &r.name == name).map(|r| r.state);
        let state = states.fold(CheckState::Missing, |acc, s| match (acc, s) {
            (CheckState::Failing, _) | (_, CheckState::Failing) => CheckState::Failing,
            (CheckState::Pending, _) | (_, CheckState::Pending) => CheckState::Pending,
            (CheckState::Passing, _) | (_, CheckState::Passing) => CheckState::Passing,
            (CheckState::Missing, CheckState::Missing) => CheckState::Missing,
        });
        checks.push(NamedCheck {
            name: name.clone(),
            state,
        });
    }
    let names = |wanted: &dyn Fn(CheckState) -> bool| -> Vec<String> {
        checks
            .iter()
            .filter(|c| wanted(c.state))
            .map(|c| c.name.clone())
            .collect()
    };
    let failing = names(&|s| s == CheckState::Failing);
    let waiting = names(&|s| matches!(s, CheckState::Missing | CheckState::Pending));
    let verdict = if !failing.is_empty() {
        Verdict::Fail(failing)
    } else if !waiting.is_empty() {
        Verdict::Wait(waiting)
    } else {
        Verdict::Go
    };
    Evaluation { checks, verdict }
}

#[cfg(test)]
mod tests {
    use super::CheckState::{Failing, Missing, Passing, Pending};
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn reported(list: &[(&str, CheckState)]) -> Vec<ReportedCheck> {
        list.iter()
            .map(|(n, s)| ReportedCheck::new(*n, *s))
            .collect()
    }

    #[test]
    fn each_name_gets_its_state_and_the_verdict_follows() {
        let build = "ci/circleci: build";
        let lint = "lint";
        #[allow(clippy::type_complexity)]
        let table: &[(&[&str], &[(&str, CheckState)], &[CheckState], Verdict)] = &[
            // No required checks: go, whatever is reported.
            (&[], &[(build, Failing)], &[], Verdict::Go),
            // Nothing reported yet: missing, wait.
            (&[build], &[], &[Missing], Verdict::Wait(names(&[build]))),
            // Another check's report does not count for this name (exact names).
            (
                &[build],
                &[("ci/circleci: build-arm", Passing)],
                &[Missing],
                Verdict::Wait(names(&[build])),
            ),
            (
                &[build],
                &[(build, Pending)],
                &[Pending],
                Verdict::Wait(names(&[build])),
            ),
            (&[build], &[(build, Passing)], &[Passing], Verdict::Go),
            (
                &[build],
                &[(build, Failing)],
                &[Failing],
                Verdict::Fail(names(&[build])),
            ),
            // One failing is enough to fail, even while another is missing.
            (
                &[build, lint],
                &[(lint, Failing)],
                &[Missing, Failing],
                Verdict::Fail(names(&[lint])),
            ),
            // Missing and pending both wait, listed in the file's order.
            (
                &[build, lint],
                &[(lint, Pending)],
                &[Missing, Pending],
                Verdict::Wait(names(&[build, lint])),
            ),
            (
                &[build, lint],
                &[(lint, Passing), (build, Passing), ("other", Failing)],
                &[Passing, Passing],
                Verdict::Go,
            ),
            // Reported twice: failing wins, then pending.
            (
                &[build],
                &[(build, Passing), (build, Failing)],
                &[Failing],
                Verdict::Fail(names(&[build])),
            ),
            (
                &[build],
                &[(build, Passing), (build, Pending)],
                &[Pending],
                Verdict::Wait(names(&[build])),
            ),
            // A name listed twice counts once.
            (
                &[build, build],
                &[(build, Passing)],
                &[Passing],
                Verdict::Go,
            ),
        ];
        for (required, reports, states, verdict) in table {
            let got = evaluate(&names(required), &reported(reports));
            let got_states: Vec<CheckState> = got.checks.iter().map(|c| c.state).collect();
            assert_eq!(&got_states, states, "{required:?} with {reports:?}");
            assert_eq!(&got.verdict, verdict, "{required:?} with {reports:?}");
        }
    }

    #[test]
    fn github_states_map_to_the_four_states() {
        assert_eq!(CheckState::of_status("success"), Passing);
        assert_eq!(CheckState::of_status("pending"), Pending);
        assert_eq!(CheckState::of_status("failure"), Failing);
        assert_eq!(CheckState::of_status("error"), Failing);
        assert_eq!(CheckState::of_check_run("queued", None), Pending);
        assert_eq!(CheckState::of_check_run("in_progress", None), Pending);
        assert_eq!(CheckState::of_check_run("completed", None), Pending);
        for passing in ["success", "neutral", "skipped"] {
            assert_eq!(
                CheckState::of_check_run("completed", Some(passing)),
                Passing
            );
        }
        for failing in [
            "failure",
            "cancelled",
            "timed_out",
            "action_required",
            "startup_failure",
            "stale",
        ] {
            assert_eq!(
                CheckState::of_check_run("completed", Some(failing)),
                Failing
            );
        }
    }
}
