//! The lane's gates: a freeze holds automatic intents and lets them go when it ends.

use super::*;
use crate::Repository;
use crate::freeze::Frozen;
use crate::lane::tests::{manual, push};
use crate::lane::{IntentKind, LaneKey};

const NOW: Timestamp = Timestamp::from_secs(2_000_000);

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

fn weekend() -> Frozen {
    Frozen {
        name: "weekend".into(),
        reason: Some("nobody on call".into()),
        since: NOW.plus_secs(-3600),
        until: NOW.plus_secs(3600),
    }
}

fn frozen() -> Gates {
    Gates {
        freeze: Some(weekend()),
        ..Gates::none()
    }
}

fn effects(snapshot: &LaneSnapshot, event: &LaneEvent, gates: &Gates) -> Vec<Effect> {
    match decide_gated(snapshot, event, &Ancestry::new(), gates) {
        Decision::Apply(fx) => fx,
        Decision::Ask(q) => panic!("asked {q:?}"),
    }
}

fn held(i: Intent) -> Intent {
    Intent {
        status: IntentStatus::Waiting {
            hold: Hold::from_freeze(&weekend()),
        },
        ..i
    }
}

#[test]
fn a_frozen_lane_holds_automatic_intents_newest_wins() {
    let a = push(1, "main", "a");
    let b = push(2, "main", "b");
    let fx = effects(
        &snapshot(None, vec![a.clone(), b.clone()]),
        &LaneEvent::Drain,
        &frozen(),
    );
    assert_eq!(
        fx,
        vec![
            Effect::Supersede {
                intent: a.id.clone(),
                by: b.id.clone(),
                by_sha: b.sha.clone(),
            },
            Effect::Wait {
                intent: b.id.clone(),
                hold: Hold::from_freeze(&weekend()),
            },
        ]
    );
    // Already held by the same freeze: nothing to write.
    let fx = effects(
        &snapshot(None, vec![held(b.clone())]),
        &LaneEvent::Drain,
        &frozen(),
    );
    assert_eq!(fx, vec![]);
    // Without the gate the same lane dispatches: the freeze is what held it.
    let fx = effects(
        &snapshot(None, vec![b.clone()]),
        &LaneEvent::Drain,
        &Gates::none(),
    );
    assert_eq!(fx, vec![Effect::Dispatch { intent: b.id }]);
}

#[test]
fn what_a_person_asked_for_and_what_runs_are_not_held() {
    // A manual deploy was let in at the door (refused there unless overridden).
    let m = manual(1, "UANA", "c");
    let fx = effects(
        &snapshot(None, vec![m.clone()]),
        &LaneEvent::Drain,
        &frozen(),
    );
    assert_eq!(
        fx,
        vec![Effect::Dispatch {
            intent: m.id.clone()
        }]
    );
    // A rollback passes a freeze.
    let r = Intent {
        kind: IntentKind::Rollback,
        ..manual(2, "UBOB", "d")
    };
    let fx = effects(
        &snapshot(None, vec![r.clone()]),
        &LaneEvent::Drain,
        &frozen(),
    );
    assert_eq!(fx, vec![Effect::Dispatch { intent: r.id }]);
    // A deployment dispatched before the window started finishes; the push behind it waits.
    let running = Intent {
        status: IntentStatus::Dispatched {
            at: NOW.plus_secs(-7200),
        },
        ..push(1, "main", "a")
    };
    let next = push(2, "main", "b");
    let fx = effects(
        &snapshot(Some(running.clone()), vec![next.clone()]),
        &LaneEvent::Finished {
            intent: running.id.clone(),
            outcome: Outcome::Success,
        },
        &frozen(),
    );
    assert_eq!(
        fx,
        vec![
            Effect::Finish {
                intent: running.id,
                outcome: Outcome::Success
            },
            Effect::Wait {
                intent: next.id,
                hold: Hold::from_freeze(&weekend()),
            },
        ]
    );
}

#[test]
fn when_the_freeze_ends_the_newest_deploys_and_the_channel_hears_what_waited() {
    let a = held(push(1, "main", "a"));
    let b = held(push(2, "main", "b"));
    let c = held(push(3, "main", "c"));
    let fx = effects(
        &snapshot(None, vec![a.clone(), b.clone(), c.clone()]),
        &LaneEvent::Drain,
        &Gates::none(),
    );
    assert_eq!(
        fx,
        vec![
            Effect::Supersede {
                intent: a.id,
                by: c.id.clone(),
                by_sha: c.sha.clone(),
            },
            Effect::Supersede {
                intent: b.id,
                by: c.id.clone(),
                by_sha: c.sha.clone(),
            },
            Effect::Dispatch {
                intent: c.id.clone()
            },
            Effect::Notify(Notice::NextUp {
                text: "deploying `c000000`, the newest of 3 pushes that came while it was frozen"
                    .into()
            }),
        ]
    );
    // With the slot taken, the freeze's end is told and the intent is queued.
    let running = Intent {
        status: IntentStatus::Dispatched { at: NOW },
        ..manual(4, "UANA", "d")
    };
    let fx = effects(
        &snapshot(Some(running), vec![c.clone()]),
        &LaneEvent::Drain,
        &Gates::none(),
    );
    assert_eq!(
        fx,
        vec![
            Effect::Queue { intent: c.id },
            Effect::Notify(Notice::NextUp {
                text: "the freeze (weekend) is over; `d000000` is still deploying and what waited goes after it".into()
            }),
        ]
    );
}

#[test]
fn a_frozen_intent_says_until_when_and_why() {
    let hold = Hold::from_freeze(&weekend());
    let text = hold.sentence(&Environment::Production);
    assert!(
        text.starts_with("waiting: production is frozen until <!date^2003600^"),
        "{text}"
    );
    assert!(
        text.ends_with("(weekend — nobody on call); it deploys when the freeze ends"),
        "{text}"
    );
    let json = serde_json::to_value(&hold).expect("serialises");
    assert_eq!(json["kind"], "freeze");
    assert_eq!(serde_json::from_value::<Hold>(json).expect("reads"), hold);
}
