//! Contract: a rollback's success racing a lane decision (docs/adr/0018-rollback.md,
//! decision 5). The status handler records the rolled-back range, then frees the lane's slot;
//! a decision reads the lane record, then the ranges. Whatever the interleaving, a reader that
//! sees the slot free also sees the range — so a queued automatic deployment of the bad
//! commit is never dispatched between the rollback's success and its marking. Both
//! interleavings (the reader before the writer's save, and after it) are checked to occur.

use super::*;
use deploybot_core::rollback::BadRange;

/// Rounds of the race; both outcomes occur within them on every store.
const ROUNDS: usize = 40;

pub async fn a_lane_seen_free_after_a_rollback_shows_its_range(store: Arc<dyn Store>) {
    let mut saw_busy = 0;
    let mut saw_free = 0;
    for round in 0..ROUNDS {
        let key = LaneKey {
            repository: repository("acme/web"),
            environment: Environment::parse(&format!("race{round}")).expect("valid environment"),
        };
        let rollback = DeploymentId::new(Timestamp::from_millis(T0).plus_secs(round as i64), 9);
        let mut busy = LaneRecord::empty(key.clone(), Timestamp::from_millis(T0));
        busy.running = Some(rollback.clone());
        let busy = match store.save_lane(&busy).await.expect("save_lane") {
            LaneSaved::Saved(saved) => *saved,
            LaneSaved::Conflict(current) => panic!("a fresh lane conflicted: {current:?}"),
        };
        let range = BadRange {
            lane: key.clone(),
            rollback: rollback.clone(),
            target: sha('a'),
            from: sha('b'),
            from_deployment: DeploymentId::new(Timestamp::from_millis(T0), 3),
            commits: vec![sha('b')],
            complete: true,
            by: slack_user("U0ANA"),
            reason: None,
            at: Timestamp::from_millis(T0),
        };
        let barrier = Arc::new(Barrier::new(2));
        let writer = {
            let (store, barrier, key) = (Arc::clone(&store), Arc::clone(&barrier), key.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                // Staggered starts, so that the reader lands before, between and after.
                for _ in 0..(round % 4) * 3 {
                    tokio::task::yield_now().await;
                }
                // The status handler's order: the range first, then the slot freed.
                store
                    .record_bad_range(&range)
                    .await
                    .expect("record_bad_range");
                let mut free = busy.clone();
                free.running = None;
                free.current = Some(rollback);
                let saved = store.save_lane(&free).await.expect("save_lane");
                assert!(matches!(saved, LaneSaved::Saved(_)), "{key:?}: {saved:?}");
            })
        };
        let reader = {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                // Lane decisions one after the other until one sees the slot free: each in
                // the decision's order, the lane record first, then the ranges.
                let mut seen = Vec::new();
                for _ in 0..10_000 {
                    let lane = store.get_lane(&key).await.expect("get_lane");
                    let ranges = store.bad_ranges(&key, 20).await.expect("bad_ranges");
                    let free = lane.is_some_and(|l| l.running.is_none());
                    seen.push((free, ranges.len()));
                    if free {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
                seen
            })
        };
        writer.await.expect("writer finished");
        for (free, ranges) in reader.await.expect("reader finished") {
            if free {
                saw_free += 1;
                assert_eq!(
                    ranges, 1,
                    "round {round}: the slot was free but the range missing"
                );
            } else {
                saw_busy += 1;
            }
        }
    }
    assert!(
        saw_busy > 0 && saw_free > 0,
        "both interleavings must occur: busy {saw_busy}, free {saw_free}"
    );
}
