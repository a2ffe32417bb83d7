//! The verdict on a commit's checks, from GitHub's combined commit status and its check
//! suites (pure: no I/O).

use super::wire::{CheckSuite, CombinedStatus};
use deploybot_core::ports::{ChecksState, ChecksSummary};

/// Red when any status is `failure`/`error` or any completed suite failed, was cancelled,
/// timed out or needs action; Pending when anything is still running (or queued); Green
/// otherwise — including a commit with no statuses and no suites. GitHub's combined state is
/// `pending` for a commit with no statuses at all, so the per-context states decide, not it.
///
/// Suites with `latest_check_runs_count: 0` are ignored: GitHub creates a queued suite for
/// every installed app that *could* run checks and leaves it queued forever when the app has
/// nothing to run on the commit.
pub(crate) fn summarise(status: &CombinedStatus, suites: &[CheckSuite]) -> ChecksSummary {
    let mut failing = Vec::new();
    let mut pending = Vec::new();
    for item in &status.statuses {
        match item.state.as_str() {
            "success" => {}
            "failure" | "error" => failing.push(item.context.clone()),
            _ => pending.push(item.context.clone()),
        }
    }
    for suite in suites {
        if suite.latest_check_runs_count == Some(0) {
            continue;
        }
        let name = suite.name();
        match (suite.status.as_deref(), suite.conclusion.as_deref()) {
            (Some("completed"), Some("success" | "neutral" | "skipped")) => {}
            (
                Some("completed"),
                Some(
                    "failure" | "cancelled" | "timed_out" | "action_required" | "startup_failure"
                    | "stale",
                ),
            ) => failing.push(name),
            _ => pending.push(name),
        }
    }
    let state = if !failing.is_empty() {
        ChecksState::Red
    } else if !pending.is_empty() {
        ChecksState::Pending
    } else {
        ChecksState::Green
    };
    ChecksSummary {
        state,
        failing,
        pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::wire::{CheckSuiteApp, StatusItem};

    fn status(items: &[(&str, &str)]) -> CombinedStatus {
        CombinedStatus {
            statuses: items
                .iter()
                .map(|(context, state)| StatusItem {
                    context: (*context).to_owned(),
                    state: (*state).to_owned(),
                })
                .collect(),
        }
    }

    fn suite(app: &str, status: &str, conclusion: Option<&str>, runs: u64) -> CheckSuite {
        CheckSuite {
            status: Some(status.to_owned()),
            conclusion: conclusion.map(str::to_owned),
            app: Some(CheckSuiteApp {
                name: Some(app.to_owned()),
                slug: None,
            }),
            latest_check_runs_count: Some(runs),
        }
    }

    #[test]
    fn verdicts() {
        use ChecksState::*;
        let cases: Vec<(&str, CombinedStatus, Vec<CheckSuite>, ChecksState)> = vec![
            ("nothing at all", status(&[]), vec![], Green),
            (
                "all statuses green",
                status(&[("ci", "success"), ("lint", "success")]),
                vec![],
                Green,
            ),
            (
                "a pending status",
                status(&[("ci", "pending"), ("lint", "success")]),
                vec![],
                Pending,
            ),
            (
                "a failed status",
                status(&[("ci", "failure"), ("lint", "pending")]),
                vec![],
                Red,
            ),
            ("an errored status", status(&[("ci", "error")]), vec![], Red),
            (
                "suite success",
                status(&[]),
                vec![suite("CircleCI", "completed", Some("success"), 2)],
                Green,
            ),
            (
                "suite neutral and skipped",
                status(&[]),
                vec![
                    suite("A", "completed", Some("neutral"), 1),
                    suite("B", "completed", Some("skipped"), 1),
                ],
                Green,
            ),
            (
                "suite running",
                status(&[("ci", "success")]),
                vec![suite("Actions", "in_progress", None, 1)],
                Pending,
            ),
            (
                "suite queued",
                status(&[]),
                vec![suite("Actions", "queued", None, 1)],
                Pending,
            ),
            (
                "suite failed",
                status(&[("ci", "success")]),
                vec![suite("Actions", "completed", Some("failure"), 3)],
                Red,
            ),
            (
                "suite cancelled",
                status(&[]),
                vec![suite("Actions", "completed", Some("cancelled"), 1)],
                Red,
            ),
            (
                "suite timed out",
                status(&[]),
                vec![suite("Actions", "completed", Some("timed_out"), 1)],
                Red,
            ),
            (
                "suite needs action",
                status(&[]),
                vec![suite("Actions", "completed", Some("action_required"), 1)],
                Red,
            ),
            (
                "empty queued suite ignored",
                status(&[("ci", "success")]),
                vec![suite("Dependabot", "queued", None, 0)],
                Green,
            ),
            (
                "red beats pending",
                status(&[("ci", "pending")]),
                vec![suite("Actions", "completed", Some("failure"), 1)],
                Red,
            ),
        ];
        for (name, status, suites, want) in cases {
            assert_eq!(summarise(&status, &suites).state, want, "{name}");
        }
    }

    #[test]
    fn names_failing_and_pending() {
        let summary = summarise(
            &status(&[
                ("ci/circleci", "failure"),
                ("lint", "pending"),
                ("ok", "success"),
            ]),
            &[suite("GitHub Actions", "in_progress", None, 1)],
        );
        assert_eq!(summary.failing, vec!["ci/circleci"]);
        assert_eq!(summary.pending, vec!["lint", "GitHub Actions"]);
    }
}
