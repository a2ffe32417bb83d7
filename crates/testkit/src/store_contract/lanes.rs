//! Store contract: the lane table — lane records saved on their version, the arrival
//! counter, the lock history and the due-time index.

use super::*;

/// Nothing stored: no record, no lanes, no history, nothing due, nothing pending.
pub async fn an_unknown_lane_has_nothing(store: Arc<dyn Store>) {
    let staging = lane("acme/web", Environment::Staging);
    assert_eq!(store.get_lane(&staging).await.expect("get_lane"), None);
    assert_eq!(
        store
            .lanes_of(&repository("acme/web"))
            .await
            .expect("lanes_of"),
        Vec::new()
    );
    assert_eq!(
        store
            .lock_history(&staging, 10)
            .await
            .expect("lock_history"),
        Vec::new()
    );
    assert_eq!(
        store
            .due_lanes(Timestamp::from_millis(i64::MAX), 10)
            .await
            .expect("due_lanes"),
        Vec::new()
    );
    assert_eq!(
        store
            .pending_deployments(&staging, 10)
            .await
            .expect("pending_deployments"),
        Vec::new()
    );
}

/// `save_lane` of version 0 creates the record (stored as version 1); a stale or future
/// version is a `Conflict` with the current record and changes nothing; the saved record is
/// the base of the next save, which can clear fields; a conflict on a lane with no record
/// answers the empty record (version 0). Lanes are keyed by repository and environment.
pub async fn save_lane_creates_then_is_optimistic(store: Arc<dyn Store>) {
    let staging = lane("acme/web", Environment::Staging);
    let record = busy_lane(&staging, 10);
    let saved = save_lane(&*store, &record).await;
    assert_eq!(
        saved,
        LaneRecord {
            version: 1,
            ..record.clone()
        }
    );
    assert_eq!(
        store.get_lane(&staging).await.expect("get_lane"),
        Some(saved.clone())
    );

    // Creating again (version 0) is stale now.
    let mut again = record.clone();
    again.current = None;
    assert_eq!(
        store.save_lane(&again).await.expect("save_lane"),
        LaneSaved::Conflict(Box::new(saved.clone()))
    );
    // A version from the future is stale too.
    let mut future = saved.clone();
    future.version = 7;
    future.start_attempted = false;
    assert_eq!(
        store.save_lane(&future).await.expect("save_lane"),
        LaneSaved::Conflict(Box::new(saved.clone()))
    );
    assert_eq!(
        store.get_lane(&staging).await.expect("get_lane"),
        Some(saved.clone()),
        "the refused saves changed nothing"
    );

    // The next save, from the saved record, clears what it no longer has.
    let mut idle = saved.clone();
    idle.running = None;
    idle.dispatched_at = None;
    idle.start_attempted = false;
    idle.lock = None;
    idle.due_at = None;
    idle.freeze = None;
    idle.thaw_at = None;
    idle.updated_at = at(20);
    let idle_saved = save_lane(&*store, &idle).await;
    assert_eq!(
        idle_saved,
        LaneRecord {
            version: 2,
            ..idle.clone()
        }
    );
    assert_eq!(
        store.get_lane(&staging).await.expect("get_lane"),
        Some(idle_saved.clone())
    );

    // A conflict on a lane nothing was saved for answers its empty record.
    let production = lane("acme/web", Environment::Production);
    let mut ahead = busy_lane(&production, 30);
    ahead.version = 3;
    assert_eq!(
        store.save_lane(&ahead).await.expect("save_lane"),
        LaneSaved::Conflict(Box::new(LaneRecord::empty(
            production.clone(),
            ahead.updated_at
        )))
    );
    assert_eq!(store.get_lane(&production).await.expect("get_lane"), None);

    // The same environment of another repository, and another environment of the same
    // repository, are other lanes.
    let elsewhere = lane("acme/api", Environment::Staging);
    let elsewhere_saved = save_lane(&*store, &busy_lane(&elsewhere, 40)).await;
    assert_eq!(elsewhere_saved.version, 1);
    let production_saved = save_lane(&*store, &LaneRecord::empty(production.clone(), at(50))).await;
    assert_eq!(production_saved.version, 1);
    assert_eq!(
        store.get_lane(&staging).await.expect("get_lane"),
        Some(idle_saved)
    );
    assert_eq!(
        store.get_lane(&elsewhere).await.expect("get_lane"),
        Some(elsewhere_saved)
    );
    assert_eq!(
        store.get_lane(&production).await.expect("get_lane"),
        Some(production_saved)
    );
}

/// Ten writers save the same version of one lane at once — first the creating version 0,
/// then an existing version: exactly one `Saved`, every other one a `Conflict` with the
/// winner's record, which is what the store holds.
pub async fn concurrent_saves_of_one_lane_version_have_one_winner(store: Arc<dyn Store>) {
    let staging = lane("acme/web", Environment::Staging);
    let mut base = LaneRecord::empty(staging.clone(), at(0));
    for round in 0..5u64 {
        let writers = 10;
        let barrier = Arc::new(Barrier::new(writers));
        let tasks: Vec<_> = (0..writers)
            .map(|writer| {
                let store = Arc::clone(&store);
                let barrier = Arc::clone(&barrier);
                let mut record = base.clone();
                record.running = Some(DeploymentId::new(at(100), writer as u32));
                record.due_at = Some(at(1_000 + writer as i64));
                record.updated_at = at(round as i64);
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.save_lane(&record).await.expect("save_lane")
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("save task finished"));
        }
        let winners: Vec<&LaneRecord> = outcomes
            .iter()
            .filter_map(|outcome| match outcome {
                LaneSaved::Saved(saved) => Some(&**saved),
                LaneSaved::Conflict(_) => None,
            })
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: outcomes {outcomes:?}");
        let winner = winners[0].clone();
        assert_eq!(winner.version, round + 1, "round {round}");
        for outcome in &outcomes {
            if let LaneSaved::Conflict(current) = outcome {
                assert_eq!(**current, winner, "round {round}");
            }
        }
        assert_eq!(
            store.get_lane(&staging).await.expect("get_lane"),
            Some(winner.clone()),
            "round {round}"
        );
        base = winner;
    }
}

/// `lanes_of`: every lane record of one repository, ordered by environment (pull requests by
/// number, then preview, test, staging, production), never another repository's, and only
/// lane records (not the counters or lock history kept beside them).
pub async fn lanes_of_lists_one_repository_by_environment(store: Arc<dyn Store>) {
    let environments = [
        Environment::Staging,
        Environment::PullRequest(12),
        Environment::Production,
        Environment::PullRequest(4),
        Environment::Test,
        Environment::Preview,
    ];
    let mut web = Vec::new();
    for (i, environment) in environments.iter().enumerate() {
        let key = lane("acme/web", environment.clone());
        // Counters and history beside the records must not show up as lanes.
        store.next_lane_seq(&key).await.expect("next_lane_seq");
        store
            .record_lock_event(&history_entry(&key, 5, "U0ANA", "lock"))
            .await
            .expect("record_lock_event");
        web.push(save_lane(&*store, &busy_lane(&key, i as i64)).await);
    }
    // A lane with a counter but no record is no lane yet.
    let unsaved = lane("acme/web", Environment::PullRequest(7));
    store.next_lane_seq(&unsaved).await.expect("next_lane_seq");
    let neighbours = [
        lane("acme/web2", Environment::Staging),
        lane("acme/we", Environment::Test),
        lane("acme/api", Environment::Production),
    ];
    for key in &neighbours {
        save_lane(&*store, &busy_lane(key, 90)).await;
    }

    web.sort_by_key(|record| record.lane.environment.clone());
    assert_eq!(
        store
            .lanes_of(&repository("acme/web"))
            .await
            .expect("lanes_of"),
        web
    );
    let web2 = store
        .lanes_of(&repository("acme/web2"))
        .await
        .expect("lanes_of");
    assert_eq!(
        web2.iter().map(|r| r.lane.clone()).collect::<Vec<_>>(),
        vec![neighbours[0].clone()]
    );
    assert_eq!(
        store
            .lanes_of(&repository("acme/nothing"))
            .await
            .expect("lanes_of"),
        Vec::new()
    );

    // A saved record is listed as saved.
    let mut changed = web[0].clone();
    changed.current = None;
    let changed = save_lane(&*store, &changed).await;
    let listed = store
        .lanes_of(&repository("acme/web"))
        .await
        .expect("lanes_of");
    assert_eq!(listed.len(), web.len());
    assert_eq!(listed[0], changed);
}

/// `next_lane_seq` counts 1, 2, 3, ... per lane: other lanes, other repositories' lanes
/// and other environments count on their own.
pub async fn next_lane_seq_counts_per_lane(store: Arc<dyn Store>) {
    let staging = lane("acme/web", Environment::Staging);
    let production = lane("acme/web", Environment::Production);
    let other = lane("acme/api", Environment::Staging);
    let pr = lane("acme/web", Environment::PullRequest(1));
    let pr_longer = lane("acme/web", Environment::PullRequest(12));
    let mut got = Vec::new();
    for key in [
        &staging,
        &staging,
        &production,
        &staging,
        &other,
        &pr,
        &pr_longer,
        &pr,
        &production,
    ] {
        got.push(store.next_lane_seq(key).await.expect("next_lane_seq"));
    }
    assert_eq!(got, vec![1, 2, 1, 3, 1, 1, 1, 2, 2]);
}

/// Twenty callers ask one lane for its next number at once (and others another lane's):
/// every number is handed out once, and together they are 1..=20.
pub async fn concurrent_next_lane_seq_never_repeats(store: Arc<dyn Store>) {
    let staging = lane("acme/web", Environment::Staging);
    let test = lane("acme/web", Environment::Test);
    let callers = 20;
    let barrier = Arc::new(Barrier::new(callers + callers / 2));
    let tasks: Vec<_> = (0..callers + callers / 2)
        .map(|caller| {
            let store = Arc::clone(&store);
            let barrier = Arc::clone(&barrier);
            let key = if caller < callers {
                staging.clone()
            } else {
                test.clone()
            };
            tokio::spawn(async move {
                barrier.wait().await;
                (
                    key.environment.clone(),
                    store.next_lane_seq(&key).await.expect("next_lane_seq"),
                )
            })
        })
        .collect();
    let mut staging_numbers = Vec::new();
    let mut test_numbers = Vec::new();
    for task in tasks {
        let (environment, number) = task.await.expect("seq task finished");
        if environment == Environment::Staging {
            staging_numbers.push(number);
        } else {
            test_numbers.push(number);
        }
    }
    staging_numbers.sort_unstable();
    test_numbers.sort_unstable();
    assert_eq!(staging_numbers, (1..=callers as u64).collect::<Vec<_>>());
    assert_eq!(test_numbers, (1..=(callers / 2) as u64).collect::<Vec<_>>());
    assert_eq!(
        store.next_lane_seq(&staging).await.expect("next_lane_seq"),
        callers as u64 + 1
    );
}

/// The counter and the record live side by side: counting does not create, change or
/// version the record, and saving the record does not reset or move the counter.
pub async fn lane_seq_and_lane_saves_do_not_disturb_each_other(store: Arc<dyn Store>) {
    let staging = lane("acme/web", Environment::Staging);
    assert_eq!(store.next_lane_seq(&staging).await.expect("seq"), 1);
    assert_eq!(
        store.get_lane(&staging).await.expect("get_lane"),
        None,
        "counting created no record"
    );
    // The record is still created from version 0.
    let first = save_lane(&*store, &busy_lane(&staging, 10)).await;
    assert_eq!(first.version, 1);
    assert_eq!(store.next_lane_seq(&staging).await.expect("seq"), 2);
    assert_eq!(store.next_lane_seq(&staging).await.expect("seq"), 3);
    assert_eq!(
        store.get_lane(&staging).await.expect("get_lane"),
        Some(first.clone()),
        "counting changed nothing in the record"
    );
    let mut next = first.clone();
    next.lock = None;
    let second = save_lane(&*store, &next).await;
    assert_eq!(second.version, 2);
    assert_eq!(store.next_lane_seq(&staging).await.expect("seq"), 4);
    assert_eq!(
        store
            .lanes_of(&repository("acme/web"))
            .await
            .expect("lanes_of"),
        vec![second]
    );
}

/// `lock_history`: the lane's entries newest first, at most `limit`; entries of the same
/// instant are all kept (even identical ones); other lanes' entries stay out.
pub async fn lock_history_newest_first_per_lane(store: Arc<dyn Store>) {
    let staging = lane("acme/web", Environment::Staging);
    let entries = [
        history_entry(&staging, 10, "U0ANA", "lock"),
        history_entry(&staging, 20, "U0ANA", "extend"),
        history_entry(&staging, 20, "U0BOB", "take over"),
        history_entry(&staging, 20, "U0BOB", "lock"),
        history_entry(&staging, 5, "U0CAT", "lock"),
        history_entry(&staging, 30, "U0BOB", "unlock"),
        // The same entry twice: both are kept.
        history_entry(&staging, 40, "U0DAN", "lock"),
        history_entry(&staging, 40, "U0DAN", "lock"),
        LockHistoryEntry {
            by: None,
            ..history_entry(&staging, 50, "U0DAN", "expire")
        },
    ];
    let others = [
        history_entry(
            &lane("acme/web", Environment::Production),
            25,
            "U0ANA",
            "lock",
        ),
        history_entry(&lane("acme/api", Environment::Staging), 35, "U0ANA", "lock"),
        history_entry(
            &lane("acme/web", Environment::PullRequest(1)),
            45,
            "U0ANA",
            "lock",
        ),
        history_entry(
            &lane("acme/web", Environment::PullRequest(12)),
            45,
            "U0ANA",
            "lock",
        ),
        // Names may hold `#` and `%`: `staging#2` is not `staging`'s.
        history_entry(
            &lane(
                "acme/web",
                Environment::parse("staging#2").expect("a name with a #"),
            ),
            45,
            "U0ANA",
            "lock",
        ),
        history_entry(
            &lane(
                "acme/web",
                Environment::parse("staging%232").expect("a name with a %"),
            ),
            46,
            "U0ANA",
            "lock",
        ),
    ];
    for entry in entries.iter().chain(&others) {
        store
            .record_lock_event(entry)
            .await
            .expect("record_lock_event");
    }

    let mut newest_first: Vec<LockHistoryEntry> = entries.to_vec();
    newest_first.sort_by_key(|entry| std::cmp::Reverse(entry.at));
    for limit in [0, 1, 2, 3, 4, 8, 9, 100] {
        let got = store
            .lock_history(&staging, limit)
            .await
            .expect("lock_history");
        let want: Vec<LockHistoryEntry> = newest_first.iter().take(limit).cloned().collect();
        // Newest first; entries of one instant in any order among themselves.
        assert_eq!(
            got.iter().map(|e| e.at).collect::<Vec<_>>(),
            want.iter().map(|e| e.at).collect::<Vec<_>>(),
            "limit {limit}"
        );
        assert_same_entries(&got, &newest_first, limit);
    }
    let all = store
        .lock_history(&staging, 100)
        .await
        .expect("lock_history");
    assert_same_entries(&all, &newest_first, 100);
    for (i, other) in others.iter().enumerate() {
        assert_eq!(
            store
                .lock_history(&other.lane, 10)
                .await
                .expect("lock_history"),
            vec![other.clone()],
            "other lane {i}"
        );
    }
}

/// `due_lanes`: lanes whose `due_at` is at or before `now`, earliest first, at most `limit`,
/// across repositories; a lane whose `due_at` is cleared or moved later drops out, and one
/// moved earlier comes in, with its current record.
pub async fn due_lanes_earliest_first_across_repositories(store: Arc<dyn Store>) {
    let table: [(&str, Environment, Option<i64>); 7] = [
        ("acme/web", Environment::Staging, Some(30)),
        ("acme/web", Environment::Production, Some(10)),
        ("acme/api", Environment::Test, Some(20)),
        ("acme/docs", Environment::PullRequest(3), Some(50)),
        ("acme/web", Environment::Preview, None),
        ("acme/api", Environment::Staging, Some(40)),
        ("acme/api", Environment::Production, None),
    ];
    let mut saved = Vec::new();
    for (repo, environment, due) in table {
        let mut record = busy_lane(&lane(repo, environment), 0);
        record.due_at = due.map(at);
        saved.push(save_lane(&*store, &record).await);
    }
    let expected = |records: &[LaneRecord], now: Timestamp, limit: usize| -> Vec<LaneRecord> {
        let mut due: Vec<LaneRecord> = records
            .iter()
            .filter(|r| r.due_at.is_some_and(|d| d <= now))
            .cloned()
            .collect();
        due.sort_by_key(|r| r.due_at);
        due.truncate(limit);
        due
    };
    let cases = [
        (at(0), 10, 0),
        (at(9), 10, 0),
        (at(10), 10, 1),
        (at(25), 10, 2),
        (at(30), 10, 3),
        (at(1_000), 10, 5),
        (at(1_000), 2, 2),
        (at(1_000), 0, 0),
    ];
    for (now, limit, count) in cases {
        let got = store.due_lanes(now, limit).await.expect("due_lanes");
        let want = expected(&saved, now, limit);
        assert_eq!(want.len(), count, "now {now} limit {limit}: test table");
        assert_eq!(got, want, "now {now} limit {limit}");
    }

    // web production (due at 10) moves to 60; api test (due at 20) is no longer due; the
    // web preview lane becomes due at 5.
    let mut moved = saved[1].clone();
    moved.due_at = Some(at(60));
    saved[1] = save_lane(&*store, &moved).await;
    let mut cleared = saved[2].clone();
    cleared.due_at = None;
    saved[2] = save_lane(&*store, &cleared).await;
    let mut earlier = saved[4].clone();
    earlier.due_at = Some(at(5));
    saved[4] = save_lane(&*store, &earlier).await;
    assert_eq!(
        store.due_lanes(at(25), 10).await.expect("due_lanes"),
        vec![saved[4].clone()]
    );
    let all = store.due_lanes(at(1_000), 10).await.expect("due_lanes");
    assert_eq!(all, expected(&saved, at(1_000), 10));
    assert_eq!(
        all.iter().map(|r| r.due_at).collect::<Vec<_>>(),
        vec![
            Some(at(5)),
            Some(at(30)),
            Some(at(40)),
            Some(at(50)),
            Some(at(60))
        ]
    );
    // A save that keeps the due time lists the lane once, with the current version.
    let mut kept = saved[0].clone();
    kept.start_attempted = false;
    saved[0] = save_lane(&*store, &kept).await;
    assert_eq!(
        store.due_lanes(at(30), 10).await.expect("due_lanes"),
        vec![saved[4].clone(), saved[0].clone()]
    );
}

// =============================================================================================
// Samples

/// `offset_secs` after T0.
pub(super) fn at(offset_secs: i64) -> Timestamp {
    Timestamp::from_millis(T0).plus_secs(offset_secs)
}

pub(super) fn lane(repo: &str, environment: Environment) -> LaneKey {
    LaneKey {
        repository: repository(repo),
        environment,
    }
}

/// A lane record with every field set (version 0), updated `offset_secs` after T0.
fn busy_lane(key: &LaneKey, offset_secs: i64) -> LaneRecord {
    LaneRecord {
        lane: key.clone(),
        version: 0,
        running: Some(DeploymentId::new(at(offset_secs), 1)),
        dispatched_at: Some(at(offset_secs)),
        dispatches: 3,
        start_attempted: true,
        current: Some(DeploymentId::new(at(offset_secs - 100), 2)),
        lock: Some(Lock {
            holder: slack_user("U0ANA"),
            reason: Some("testing the migration".to_owned()),
            since: at(offset_secs),
            until: at(offset_secs + 3_600),
            reminded: false,
        }),
        due_at: Some(at(offset_secs + 120)),
        // Every field set, so the stores show they keep each one.
        freeze: Some(deploybot_core::freeze::ManualFreeze {
            by: slack_user("U0BOB"),
            from: at(offset_secs),
            until: at(offset_secs + 7_200),
            reason: Some("incident review".to_owned()),
        }),
        thaw_at: Some(at(offset_secs + 7_200)),
        freeze_warn_at: Some(at(offset_secs + 600)),
        freeze_warned: Some(at(offset_secs - 600)),
        updated_at: at(offset_secs),
    }
}

/// A lock history entry of `key` at `offset_secs` after T0, by `by`, of a kind named by
/// `what` (`lock`, `extend`, `take over`, `unlock`, `expire`).
fn history_entry(key: &LaneKey, offset_secs: i64, by: &str, what: &str) -> LockHistoryEntry {
    let lock = Lock {
        holder: slack_user(by),
        reason: Some(format!("{what} at {offset_secs}")),
        since: at(offset_secs),
        until: at(offset_secs + 3_600),
        reminded: false,
    };
    let event = match what {
        "extend" => LockHistoryEvent::Extended { lock },
        "take over" => LockHistoryEvent::Released {
            lock,
            end: LockEnd::TakenOver { by: slack_user(by) },
        },
        "unlock" => LockHistoryEvent::Released {
            lock,
            end: LockEnd::Unlocked { by: slack_user(by) },
        },
        "expire" => LockHistoryEvent::Released {
            lock,
            end: LockEnd::Expired,
        },
        _ => LockHistoryEvent::Locked { lock },
    };
    LockHistoryEntry {
        lane: key.clone(),
        at: at(offset_secs),
        by: Some(slack_user(by)),
        event,
    }
}

/// Saves `record` (whose version must be current) and returns the stored record.
async fn save_lane(store: &dyn Store, record: &LaneRecord) -> LaneRecord {
    match store.save_lane(record).await.expect("save_lane") {
        LaneSaved::Saved(saved) => *saved,
        other => panic!("expected Saved for {}, got {other:?}", record.lane),
    }
}

/// `got` is the first `limit` of `newest_first` up to the order of entries of one instant:
/// the same entries, each as many times as there.
fn assert_same_entries(got: &[LockHistoryEntry], newest_first: &[LockHistoryEntry], limit: usize) {
    let count = limit.min(newest_first.len());
    assert_eq!(got.len(), count, "limit {limit}");
    // Whole groups of one instant within the limit must match as multisets; a group cut by
    // the limit must be a sub-multiset of its group.
    let mut remaining: Vec<&LockHistoryEntry> = newest_first.iter().collect();
    for entry in got {
        let position = remaining
            .iter()
            .position(|candidate| *candidate == entry)
            .unwrap_or_else(|| panic!("limit {limit}: {entry:?} was never recorded (or twice)"));
        let taken = remaining.remove(position);
        assert!(
            newest_first[..count].iter().any(|e| e.at == taken.at),
            "limit {limit}: {taken:?} is older than the newest {count}"
        );
    }
}

/// `delete_lane`: only at the stored version; the record leaves `get_lane`, `lanes_of` and
/// the due index; the arrival counter goes on; a later save creates the lane afresh.
pub async fn delete_lane_is_optimistic_and_leaves_the_counter(store: Arc<dyn Store>) {
    let pr = lane("acme/web", Environment::PullRequest(7));
    let staging = lane("acme/web", Environment::Staging);
    let mut record = busy_lane(&pr, 10);
    record.due_at = Some(at(15));
    let saved = save_lane(&*store, &record).await;
    let kept = save_lane(&*store, &busy_lane(&staging, 10)).await;
    assert_eq!(store.next_lane_seq(&pr).await.expect("seq"), 1);

    // Nothing to delete, or a stale version: nothing changes.
    let absent = busy_lane(&lane("acme/web", Environment::PullRequest(8)), 10);
    assert!(!store.delete_lane(&absent).await.expect("delete_lane"));
    let mut stale = saved.clone();
    stale.version = 0;
    assert!(!store.delete_lane(&stale).await.expect("delete_lane"));
    assert_eq!(
        store.get_lane(&pr).await.expect("get_lane"),
        Some(saved.clone())
    );

    // At the stored version it goes, and only it.
    assert!(store.delete_lane(&saved).await.expect("delete_lane"));
    assert_eq!(store.get_lane(&pr).await.expect("get_lane"), None);
    assert_eq!(
        store
            .lanes_of(&repository("acme/web"))
            .await
            .expect("lanes_of"),
        vec![kept]
    );
    assert!(
        store
            .due_lanes(at(100), 10)
            .await
            .expect("due_lanes")
            .iter()
            .all(|r| r.lane != pr),
        "the due index lost it too"
    );
    assert!(!store.delete_lane(&saved).await.expect("delete_lane"));
    // The arrival counter is not reset, and the lane can be created again.
    assert_eq!(store.next_lane_seq(&pr).await.expect("seq"), 2);
    let again = save_lane(&*store, &busy_lane(&pr, 20)).await;
    assert_eq!(again.version, 1);
}

pub async fn bad_ranges_newest_rollback_first_per_lane(store: Arc<dyn Store>) {
    use deploybot_core::rollback::BadRange;
    let production = lane("acme/web", Environment::Production);
    let staging = lane("acme/web", Environment::Staging);
    let range = |key: &LaneKey, offset_secs: i64, target: char, from: char| BadRange {
        lane: key.clone(),
        rollback: DeploymentId::new(at(offset_secs), 7),
        target: sha(target),
        from: sha(from),
        from_deployment: DeploymentId::new(at(offset_secs - 5), 3),
        commits: vec![sha('d'), sha(from)],
        complete: offset_secs % 2 == 0,
        by: slack_user("U0ANA"),
        reason: Some(format!("bad release {offset_secs}")),
        at: at(offset_secs + 60),
    };
    assert_eq!(
        store.bad_ranges(&production, 10).await.expect("bad_ranges"),
        Vec::new()
    );
    let (older, newer) = (
        range(&production, 100, 'a', 'b'),
        range(&production, 200, 'c', 'e'),
    );
    let elsewhere = range(&staging, 300, 'a', 'b');
    for r in [&older, &newer, &elsewhere] {
        store.record_bad_range(r).await.expect("record_bad_range");
    }
    // The same rollback recorded again replaces its range.
    store
        .record_bad_range(&newer)
        .await
        .expect("record_bad_range");
    assert_eq!(
        store.bad_ranges(&production, 10).await.expect("bad_ranges"),
        vec![newer.clone(), older.clone()]
    );
    assert_eq!(
        store.bad_ranges(&production, 1).await.expect("bad_ranges"),
        vec![newer]
    );
    assert_eq!(
        store.bad_ranges(&staging, 10).await.expect("bad_ranges"),
        vec![elsewhere]
    );
    assert_eq!(
        store
            .bad_ranges(&lane("acme/api", Environment::Production), 10)
            .await
            .expect("bad_ranges"),
        Vec::new()
    );
}
