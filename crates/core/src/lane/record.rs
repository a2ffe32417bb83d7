//! What a lane keeps in the store: its record (slot, what it runs, lock, when the watchdog
//! should look at it next) and the history of its locks. The intents themselves are
//! deployment records (`crate::Deployment`, pending while `waiting`, `ready` or
//! `waiting_for_checks`); `docs/data-model.md` has the items and indexes.

use super::decide::LockEnd;
use super::{LaneKey, Lock};
use crate::{DeploymentId, SlackUserId, Timestamp};
use serde::{Deserialize, Serialize};

/// One lane's stored record. A lane nothing was stored for reads as [`LaneRecord::empty`]
/// (version 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaneRecord {
    /// The lane.
    pub lane: LaneKey,
    /// Optimistic-concurrency counter: every save is conditional on it and bumps it.
    pub version: u64,
    /// The slot: the deployment dispatched to the lane and not finished yet.
    #[serde(default)]
    pub running: Option<DeploymentId>,
    /// When the running deployment was dispatched (the watchdog counts from here).
    #[serde(default)]
    pub dispatched_at: Option<Timestamp>,
    /// How many dispatches the lane has made: each dispatch's number guards the creation of
    /// its GitHub deployment (a deployment parked for checks is dispatched again later).
    #[serde(default)]
    pub dispatches: u64,
    /// Whether the watchdog already started the running deployment's pipeline itself (set
    /// with a conditional save before it does, so it happens once).
    #[serde(default)]
    pub start_attempted: bool,
    /// What the lane runs: its newest successful deployment.
    #[serde(default)]
    pub current: Option<DeploymentId>,
    /// The lock, if any.
    #[serde(default)]
    pub lock: Option<Lock>,
    /// When the watchdog should look at the lane next (the running deployment's start or
    /// deployment timeout, the lock's reminder or expiry, whichever comes first); `None` when
    /// nothing about the lane is due. The store indexes it (a sparse index), so a sweep reads
    /// only due lanes.
    #[serde(default)]
    pub due_at: Option<Timestamp>,
    /// A freeze set from Slack (`freeze <environment> …`), until it is lifted or replaced;
    /// it may be over already (it freezes only until its `until`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze: Option<crate::freeze::ManualFreeze>,
    /// When the freeze that holds some of the lane's intents ends: the watchdog drains the
    /// lane then (it counts towards `due_at`). `None` when no intent waits for a freeze.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thaw_at: Option<Timestamp>,
    /// When the channel should be told that a freeze window of the workflow file starts in
    /// thirty minutes (`crate::freeze::warning`); counts towards `due_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze_warn_at: Option<Timestamp>,
    /// The start of the window the channel was last told about (so it is told once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze_warned: Option<Timestamp>,
    /// When the record was last saved.
    pub updated_at: Timestamp,
}

impl LaneRecord {
    /// The record of a lane nothing was stored for.
    pub fn empty(lane: LaneKey, now: Timestamp) -> Self {
        Self {
            lane,
            version: 0,
            running: None,
            dispatched_at: None,
            dispatches: 0,
            start_attempted: false,
            current: None,
            lock: None,
            due_at: None,
            freeze: None,
            thaw_at: None,
            freeze_warn_at: None,
            freeze_warned: None,
            updated_at: now,
        }
    }
}

/// What happened to a lane's lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LockHistoryEvent {
    /// Taken (or taken again by its holder).
    Locked {
        /// The lock.
        lock: Lock,
    },
    /// Extended by its holder.
    Extended {
        /// The lock as it is now.
        lock: Lock,
    },
    /// Ended: unlocked, taken over, or expired.
    Released {
        /// The lock that ended.
        lock: Lock,
        /// How.
        end: LockEnd,
    },
}

/// One entry of a lane's lock history: every lock, extension, unlock and takeover is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHistoryEntry {
    /// The lane.
    pub lane: LaneKey,
    /// When it happened.
    pub at: Timestamp,
    /// Who did it (`None` when the lock expired on its own).
    #[serde(default)]
    pub by: Option<SlackUserId>,
    /// What happened.
    pub event: LockHistoryEvent,
}
