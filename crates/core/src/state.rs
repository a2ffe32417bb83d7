//! The deployment state machine (docs/workflow.md, "Lifecycle"): which state may follow which.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a deployment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentState {
    /// GitHub refused to create the deployment because required checks are not green yet.
    WaitingForChecks,
    /// The GitHub Deployment exists; no pipeline yet.
    Created,
    /// A pipeline was triggered.
    Queued,
    /// The pipeline is running.
    InProgress,
    Success,
    Failure,
    Error,
    /// Superseded by a newer deployment, or its pull request closed.
    Inactive,
}

/// A transition the state machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a deployment cannot go from {from} to {to}")]
pub struct InvalidTransition {
    pub from: DeploymentState,
    pub to: DeploymentState,
}

impl DeploymentState {
    pub const ALL: [DeploymentState; 8] = [
        Self::WaitingForChecks,
        Self::Created,
        Self::Queued,
        Self::InProgress,
        Self::Success,
        Self::Failure,
        Self::Error,
        Self::Inactive,
    ];

    /// The outcome states: the pipeline has finished (or never will).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            Self::Success | Self::Failure | Self::Error | Self::Inactive
        )
    }

    /// Still heading somewhere: a newer deployment to the same environment supersedes these.
    pub fn is_in_flight(self) -> bool {
        matches!(
            self,
            Self::WaitingForChecks | Self::Created | Self::Queued | Self::InProgress
        )
    }

    /// Whether `self → to` is allowed. Progress only moves forward; any state can become
    /// `inactive`; an outcome is final except for becoming `inactive`. Moving to the same
    /// state is not a transition (callers treat it as "already done").
    pub fn can_become(self, to: DeploymentState) -> bool {
        use DeploymentState::*;
        match (self, to) {
            (Inactive, _) => false,
            (_, Inactive) => true,
            (WaitingForChecks, Created | Failure | Error) => true,
            (Created, Queued | InProgress | Success | Failure | Error) => true,
            (Queued, InProgress | Success | Failure | Error) => true,
            (InProgress, Success | Failure | Error) => true,
            _ => false,
        }
    }

    /// `Ok(to)` when allowed, else an [`InvalidTransition`].
    pub fn transition(self, to: DeploymentState) -> Result<DeploymentState, InvalidTransition> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(InvalidTransition { from: self, to })
        }
    }

    /// The snake_case name, as stored and as GitHub spells its statuses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WaitingForChecks => "waiting_for_checks",
            Self::Created => "created",
            Self::Queued => "queued",
            Self::InProgress => "in_progress",
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Error => "error",
            Self::Inactive => "inactive",
        }
    }

    /// Parses the stored / GitHub name. GitHub's `pending` maps to `queued`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "waiting_for_checks" => Self::WaitingForChecks,
            "created" => Self::Created,
            "queued" | "pending" => Self::Queued,
            "in_progress" => Self::InProgress,
            "success" => Self::Success,
            "failure" => Self::Failure,
            "error" => Self::Error,
            "inactive" => Self::Inactive,
            _ => return None,
        })
    }

    /// The GitHub deployment status this state is written as, if any (`waiting_for_checks`
    /// and `created` have no GitHub status of their own).
    pub fn github_status(self) -> Option<&'static str> {
        match self {
            Self::WaitingForChecks | Self::Created => None,
            other => Some(other.as_str()),
        }
    }

    /// A short emoji for people scanning a channel.
    pub fn emoji(self) -> &'static str {
        match self {
            Self::WaitingForChecks => ":hourglass:",
            Self::Created => ":new:",
            Self::Queued => ":inbox_tray:",
            Self::InProgress => ":hammer_and_wrench:",
            Self::Success => ":white_check_mark:",
            Self::Failure => ":x:",
            Self::Error => ":warning:",
            Self::Inactive => ":zzz:",
        }
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::WaitingForChecks => "waiting for checks",
            Self::Created => "created",
            Self::Queued => "queued",
            Self::InProgress => "in progress",
            Self::Success => "succeeded",
            Self::Failure => "failed",
            Self::Error => "errored",
            Self::Inactive => "inactive",
        }
    }
}

impl fmt::Display for DeploymentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::DeploymentState::{self, *};

    #[test]
    fn transition_table() {
        // Every (from, to) pair, spelled out: the allowed ones are listed, all others refused.
        let allowed = [
            (WaitingForChecks, Created),
            (WaitingForChecks, Failure),
            (WaitingForChecks, Error),
            (WaitingForChecks, Inactive),
            (Created, Queued),
            (Created, InProgress),
            (Created, Success),
            (Created, Failure),
            (Created, Error),
            (Created, Inactive),
            (Queued, InProgress),
            (Queued, Success),
            (Queued, Failure),
            (Queued, Error),
            (Queued, Inactive),
            (InProgress, Success),
            (InProgress, Failure),
            (InProgress, Error),
            (InProgress, Inactive),
            (Success, Inactive),
            (Failure, Inactive),
            (Error, Inactive),
        ];
        for from in DeploymentState::ALL {
            for to in DeploymentState::ALL {
                let want = allowed.contains(&(from, to));
                assert_eq!(from.can_become(to), want, "{from} -> {to}");
                assert_eq!(from.transition(to).is_ok(), want);
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for s in DeploymentState::ALL {
            assert_eq!(DeploymentState::parse(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).expect("serialises");
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        assert_eq!(DeploymentState::parse("pending"), Some(Queued));
        assert_eq!(DeploymentState::parse("bogus"), None);
        assert_eq!(Created.github_status(), None);
        assert_eq!(Success.github_status(), Some("success"));
    }

    #[test]
    fn in_flight_and_finished_partition_the_states() {
        for s in DeploymentState::ALL {
            assert_ne!(s.is_in_flight(), s.is_finished(), "{s}");
        }
    }
}
