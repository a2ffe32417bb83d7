//! Store contract: the delivery table (idempotency keys with a lease).

use super::*;

/// Claims of one key in time order: a new key is claimed; a live lease answers `Held` with its
/// end; at the lease's end the key may be claimed again (a killed attempt's claim frees
/// itself); a finished key answers `Done` until its keep time, then is free again. Keys are
/// independent.
pub async fn claim_delivery_lease_and_done(store: Arc<dyn Store>) {
    let at = |secs: i64| Timestamp::from_millis(T0).plus_secs(secs);
    enum Step {
        Claim(&'static str, Timestamp, Timestamp, Claim),
        Finish(&'static str, Timestamp),
    }
    use Step::{Claim as C, Finish as F};
    let steps = [
        C("delivery-1", at(0), at(45), Claim::Claimed),
        C("delivery-1", at(1), at(46), Claim::Held { until: at(45) }),
        C("delivery-2", at(1), at(46), Claim::Claimed),
        // The lease runs out exactly at its end: the key may be taken over.
        C("delivery-1", at(44), at(89), Claim::Held { until: at(45) }),
        C("delivery-1", at(45), at(90), Claim::Claimed),
        C("delivery-1", at(50), at(95), Claim::Held { until: at(90) }),
        // Finished: done until the keep time, whoever asks.
        F("delivery-1", at(1000)),
        C("delivery-1", at(60), at(105), Claim::Done),
        C("delivery-1", at(999), at(1044), Claim::Done),
        // delivery-2 was never finished: its lease ran out.
        C("delivery-2", at(46), at(91), Claim::Claimed),
        C("delivery-1", at(1000), at(1045), Claim::Claimed),
    ];
    for (i, step) in steps.into_iter().enumerate() {
        match step {
            C(key, now, lease_until, want) => assert_eq!(
                store
                    .claim_delivery(key, now, lease_until)
                    .await
                    .expect("claim_delivery"),
                want,
                "step {i}: {key} at {now}"
            ),
            F(key, keep_until) => store
                .finish_delivery(key, keep_until)
                .await
                .expect("finish_delivery"),
        }
    }
}

/// Ten concurrent claims of one key: exactly one `Claimed`, the others `Held` — for a new key
/// and for one whose lease ran out.
pub async fn concurrent_claims_have_one_winner(store: Arc<dyn Store>) {
    async fn race(store: &Arc<dyn Store>, key: &str, now: Timestamp) -> Vec<Claim> {
        let callers = 10;
        let barrier = Arc::new(Barrier::new(callers));
        let tasks: Vec<_> = (0..callers)
            .map(|_| {
                let store = Arc::clone(store);
                let barrier = Arc::clone(&barrier);
                let key = key.to_owned();
                tokio::spawn(async move {
                    barrier.wait().await;
                    store
                        .claim_delivery(&key, now, now.plus_secs(45))
                        .await
                        .expect("claim_delivery")
                })
            })
            .collect();
        let mut claims = Vec::new();
        for task in tasks {
            claims.push(task.await.expect("claim task finished"));
        }
        claims
    }
    let now = Timestamp::from_millis(T0);
    for round in 0..5 {
        let key = format!("delivery-race-{round}");
        let claims = race(&store, &key, now).await;
        let winners = claims.iter().filter(|c| **c == Claim::Claimed).count();
        assert_eq!(winners, 1, "round {round}: {claims:?}");
        assert!(
            claims
                .iter()
                .all(|c| matches!(c, Claim::Claimed | Claim::Held { .. })),
            "round {round}: {claims:?}"
        );
    }
    // The same race once the lease ran out: still exactly one.
    let claims = race(&store, "delivery-race-0", now.plus_secs(45)).await;
    assert_eq!(
        claims.iter().filter(|c| **c == Claim::Claimed).count(),
        1,
        "expired lease: {claims:?}"
    );
}

/// `forget_delivery` frees a leased or finished key at once; forgetting an unknown key is
/// fine; other keys are untouched.
pub async fn forget_delivery_frees_the_key(store: Arc<dyn Store>) {
    let now = Timestamp::from_millis(T0);
    let lease = now.plus_secs(45);
    store
        .forget_delivery("never-seen")
        .await
        .expect("forgetting an unknown key");
    for key in ["kept", "retried", "finished"] {
        assert_eq!(
            store.claim_delivery(key, now, lease).await.expect("claim"),
            Claim::Claimed
        );
    }
    store
        .finish_delivery("finished", now.plus_secs(3600))
        .await
        .expect("finish");
    store.forget_delivery("retried").await.expect("forget");
    store.forget_delivery("finished").await.expect("forget");
    for key in ["retried", "finished"] {
        assert_eq!(
            store.claim_delivery(key, now, lease).await.expect("claim"),
            Claim::Claimed,
            "{key}: a forgotten key is free again"
        );
    }
    assert_eq!(
        store
            .claim_delivery("kept", now, lease)
            .await
            .expect("claim"),
        Claim::Held { until: lease },
        "other keys are untouched"
    );
}
