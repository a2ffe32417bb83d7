//! The deployment state machine (docs/workflow.md, "Lifecycle"): which state may follow which.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a deployment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentState {
    /// In its lane's queue, held back by the lane's lock (`Deployment::hold` says by what).
    Waiting,
    /// In its lane's queue, ready: it is dispatched when the lane's slot is free and it is
    /// first in line. A `ready` deployment that holds the slot is being dispatched (its GitHub
    /// deployment is being created).
    Ready,
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
    /// Replaced, while it waited in its lane, by a newer deployment of the same source.
    Superseded,
    /// Not deployed: it was older than what its lane already ran from the same source.
    Skipped,
    /// Cancelled while it waited (by a person, or its pull request closed).
    Cancelled,
    /// Waited too long (for its required checks).
    Expired,
}

/// A transition the state machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a deployment cannot go from {from} to {to}")]
pub struct InvalidTransition {
    pub from: DeploymentState,
    pub to: DeploymentState,
}

impl DeploymentState {
    pub const ALL: [DeploymentState; 14] = [
        Self::Waiting,
        Self::Ready,
        Self::WaitingForChecks,
        Self::Created,
        Self::Queued,
        Self::InProgress,
        Self::Success,
        Self::Failure,
        Self::Error,
        Self::Inactive,
        Self::Superseded,
        Self::Skipped,
        Self::Cancelled,
        Self::Expired,
    ];

    /// The outcome states: the pipeline has finished (or never will).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            Self::Success
                | Self::Failure
                | Self::Error
                | Self::Inactive
                | Self::Superseded
                | Self::Skipped
                | Self::Cancelled
                | Self::Expired
        )
    }

    /// Waiting in its lane's queue: not dispatched yet, no GitHub deployment.
    pub fn is_pending(self) -> bool {
        matches!(self, Self::Waiting | Self::Ready | Self::WaitingForChecks)
    }

    /// Ended before it ran: superseded, skipped, cancelled or expired while it waited.
    pub fn never_ran(self) -> bool {
        matches!(
            self,
            Self::Superseded | Self::Skipped | Self::Cancelled | Self::Expired
        )
    }

    /// Still heading somewhere: a newer deployment to the same environment supersedes these.
    pub fn is_in_flight(self) -> bool {
        matches!(
            self,
            Self::Waiting
                | Self::Ready
                | Self::WaitingForChecks
                | Self::Created
                | Self::Queued
                | Self::InProgress
        )
    }

    /// Whether `self → to` is allowed. Progress only moves forward; a pending deployment
    /// (`waiting`, `ready`, `waiting_for_checks`) moves between those and may end without
    /// running (`superseded`, `skipped`, `cancelled`, `expired`, which are final); any state
    /// that ran can become `inactive`; an outcome is final except for becoming `inactive`.
    /// Moving to the same state is not a transition (callers treat it as "already done").
    pub fn can_become(self, to: DeploymentState) -> bool {
        use DeploymentState::*;
        match (self, to) {
            (Inactive | Superseded | Skipped | Cancelled | Expired, _) => false,
            (Waiting | Ready | WaitingForChecks, Superseded | Skipped | Cancelled | Expired) => {
                true
            }
            (_, Superseded | Skipped | Cancelled | Expired) => false,
            (_, Inactive) => true,
            (Waiting, Ready | WaitingForChecks) => true,
            // Failure: a required check fails when it is dispatched (docs/workflow.md,
            // "Required checks").
            (Ready, Waiting | WaitingForChecks | Created | Failure | Error) => true,
            (WaitingForChecks, Waiting | Ready | Created | Failure | Error) => true,
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
            Self::Waiting => "waiting",
            Self::Ready => "ready",
            Self::WaitingForChecks => "waiting_for_checks",
            Self::Created => "created",
            Self::Queued => "queued",
            Self::InProgress => "in_progress",
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Error => "error",
            Self::Inactive => "inactive",
            Self::Superseded => "superseded",
            Self::Skipped => "skipped",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }

    /// Parses the stored / GitHub name. GitHub's `pending` maps to `queued`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "waiting" => Self::Waiting,
            "ready" => Self::Ready,
            "waiting_for_checks" => Self::WaitingForChecks,
            "created" => Self::Created,
            "queued" | "pending" => Self::Queued,
            "in_progress" => Self::InProgress,
            "success" => Self::Success,
            "failure" => Self::Failure,
            "error" => Self::Error,
            "inactive" => Self::Inactive,
            "superseded" => Self::Superseded,
            "skipped" => Self::Skipped,
            "cancelled" => Self::Cancelled,
            "expired" => Self::Expired,
            _ => return None,
        })
    }

    /// The GitHub deployment status this state is written as, if any (a pending deployment
    /// has no GitHub deployment yet, one that never ran never gets one, and `created` has no
    /// status of its own).
    pub fn github_status(self) -> Option<&'static str> {
        if self.is_pending() || self.never_ran() || self == Self::Created {
            None
        } else {
            Some(self.as_str())
        }
    }

    /// A short emoji for people scanning a channel.
    pub fn emoji(self) -> &'static str {
        match self {
            Self::Waiting => ":lock:",
            Self::Ready => ":hourglass_flowing_sand:",
            Self::WaitingForChecks => ":hourglass:",
            Self::Created => ":new:",
            Self::Queued => ":inbox_tray:",
            Self::InProgress => ":hammer_and_wrench:",
            Self::Success => ":white_check_mark:",
            Self::Failure => ":x:",
            Self::Error => ":warning:",
            Self::Inactive => ":zzz:",
            Self::Superseded => ":fast_forward:",
            Self::Skipped => ":leftwards_arrow_with_hook:",
            Self::Cancelled => ":no_entry_sign:",
            Self::Expired => ":hourglass:",
        }
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Ready => "in line",
            Self::WaitingForChecks => "waiting for checks",
            Self::Created => "created",
            Self::Queued => "queued",
            Self::InProgress => "in progress",
            Self::Success => "succeeded",
            Self::Failure => "failed",
            Self::Error => "errored",
            Self::Inactive => "inactive",
            Self::Superseded => "superseded",
            Self::Skipped => "skipped",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
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
            (Waiting, Ready),
            (Waiting, WaitingForChecks),
            (Waiting, Superseded),
            (Waiting, Skipped),
            (Waiting, Cancelled),
            (Waiting, Expired),
            (Waiting, Inactive),
            (Ready, Waiting),
            (Ready, WaitingForChecks),
            (Ready, Created),
            (Ready, Failure),
            (Ready, Error),
            (Ready, Superseded),
            (Ready, Skipped),
            (Ready, Cancelled),
            (Ready, Expired),
            (Ready, Inactive),
            (WaitingForChecks, Waiting),
            (WaitingForChecks, Ready),
            (WaitingForChecks, Superseded),
            (WaitingForChecks, Skipped),
            (WaitingForChecks, Cancelled),
            (WaitingForChecks, Expired),
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
