//! The lane's approval gate: an intent waits while its request is pending, goes on through
//! lock, freeze and slot once approved, and ends with its request.

use super::*;
use crate::Repository;
use crate::freeze::Frozen;
use crate::lane::tests::{manual, push};
use crate::lane::{LaneKey, Lock};

const NOW: Timestamp = Timestamp::from_secs(2_000_000);
const EXPIRES: Timestamp = Timestamp::from_secs(2_000_000 + 4 * 3600);

fn snapshot(running: Option<Intent>, pending: Vec<Intent>) -> LaneSnapshot {
    LaneSnapshot {
        lane: LaneKey {
            repository: Repository::parse("acme/web").expect("valid"),
            environment: Environment::Production,
        },
        version: 3,
        running,
        pending,
        current: None,
        lock: None,
        bad: Vec::new(),
        now: NOW,
    }
}

fn effects(snapshot: &LaneSnapshot, gates: &Gates) -> Vec<Effect> {
    match decide_gated(snapshot, &LaneEvent::Drain, &Ancestry::new(), gates) {
        Decision::Apply(fx) => fx,
        Decision::Ask(q) => panic!("asked {q:?}"),
    }
}

fn gate(id: &DeploymentId, g: ApprovalGate) -> Gates {
    Gates {
        approvals: BTreeMap::from([(id.clone(), g)]),
        ..Gates::none()
    }
}

fn hold() -> Hold {
    Hold::Approval {
        expires_at: EXPIRES,
        progress: "leads 0/1".into(),
        requested_by: "<@UANA>".into(),
        workflow: "builtin".into(),
        notify: Vec::new(),
    }
}

fn pending() -> ApprovalGate {
    ApprovalGate::Pending { hold: hold() }
}

fn awaiting(i: Intent) -> Intent {
    Intent {
        status: IntentStatus::Waiting { hold: hold() },
        ..i
    }
}

#[test]
fn a_pending_request_holds_its_intent_and_not_the_ones_behind_it() {
    let tag = push(1, "main", "a");
    let other = manual(2, "UBO", "b");
    let fx = effects(
        &snapshot(None, vec![tag.clone(), other.clone()]),
        &gate(&tag.id, pending()),
    );
    assert_eq!(
        fx,
        vec![
            Effect::Wait {
                intent: tag.id.clone(),
                hold: hold(),
            },
            Effect::Dispatch {
                intent: other.id.clone()
            },
        ]
    );
    // Drained again while still pending: nothing moves (no rewrite of the same hold).
    let fx = effects(
        &snapshot(None, vec![awaiting(tag.clone())]),
        &gate(&tag.id, pending()),
    );
    assert!(fx.is_empty(), "{fx:?}");
}

#[test]
fn once_approved_the_intent_goes_on_by_itself() {
    let tag = awaiting(push(1, "main", "a"));
    // Approved: the request is no longer in the gates.
    let fx = effects(&snapshot(None, vec![tag.clone()]), &Gates::none());
    assert_eq!(
        fx,
        vec![Effect::Dispatch {
            intent: tag.id.clone()
        }]
    );
}

#[test]
fn once_approved_it_still_meets_the_lock_the_freeze_and_the_slot() {
    let tag = awaiting(push(1, "main", "a"));
    // The slot is taken: it queues.
    let running = Intent {
        status: IntentStatus::Dispatched { at: NOW },
        ..manual(0, "UBO", "9")
    };
    let fx = effects(&snapshot(Some(running), vec![tag.clone()]), &Gates::none());
    assert_eq!(
        fx,
        vec![Effect::Queue {
            intent: tag.id.clone()
        }]
    );
    // Frozen: it waits for the freeze.
    let frozen = Frozen {
        name: "weekend".into(),
        reason: None,
        since: NOW.plus_secs(-60),
        until: NOW.plus_secs(3600),
    };
    let gates = Gates {
        freeze: Some(frozen.clone()),
        ..Gates::none()
    };
    let fx = effects(&snapshot(None, vec![tag.clone()]), &gates);
    assert_eq!(
        fx,
        vec![Effect::Wait {
            intent: tag.id.clone(),
            hold: Hold::from_freeze(&frozen),
        }]
    );
    // Locked: it waits for the lock.
    let lock = Lock {
        holder: crate::SlackUserId::parse("UCY").expect("valid"),
        since: NOW,
        until: NOW.plus_secs(3600),
        reason: None,
        reminded: false,
    };
    let mut snap = snapshot(None, vec![tag.clone()]);
    snap.lock = Some(lock.clone());
    let fx = effects(&snap, &Gates::none());
    assert_eq!(
        fx,
        vec![Effect::Wait {
            intent: tag.id.clone(),
            hold: Hold::from_lock(&lock),
        }]
    );
}

#[test]
fn a_request_that_ends_ends_its_intent() {
    let tag = awaiting(push(1, "main", "a"));
    let cases = [
        (
            ApprovalGate::Rejected {
                why: "rejected by <@UCY>: not today".into(),
            },
            Effect::Cancel {
                intent: tag.id.clone(),
                why: "rejected by <@UCY>: not today".into(),
            },
        ),
        (
            ApprovalGate::Expired {
                why: "nobody approved it in 4h".into(),
            },
            Effect::Expire {
                intent: tag.id.clone(),
                why: "nobody approved it in 4h".into(),
            },
        ),
        (
            ApprovalGate::Unsatisfiable {
                why: "rule `qa` cannot be satisfied".into(),
            },
            Effect::Fail {
                intent: tag.id.clone(),
                why: "rule `qa` cannot be satisfied".into(),
            },
        ),
    ];
    for (g, want) in cases {
        let fx = effects(&snapshot(None, vec![tag.clone()]), &gate(&tag.id, g));
        assert_eq!(fx, vec![want]);
    }
}

#[test]
fn a_newer_commit_supersedes_the_one_waiting_for_approval() {
    let old = awaiting(push(1, "main", "a"));
    let new = push(2, "main", "b");
    let gates = Gates {
        approvals: BTreeMap::from([(old.id.clone(), pending()), (new.id.clone(), pending())]),
        ..Gates::none()
    };
    let fx = effects(&snapshot(None, vec![old.clone(), new.clone()]), &gates);
    assert_eq!(
        fx,
        vec![
            Effect::Supersede {
                intent: old.id.clone(),
                by: new.id.clone(),
                by_sha: new.sha.clone(),
            },
            Effect::Wait {
                intent: new.id.clone(),
                hold: hold(),
            },
        ]
    );
}
