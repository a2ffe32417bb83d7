//! Contract: a deployment's "What's shipping" record is written once and read by key, out of
//! the way of the deployment queries; a one-time notice is taken by exactly one caller.

use super::*;
use deploybot_core::shipping::{
    Comparison, ShippedCommit, ShippedPullRequest, Shipping, ShippingRecord,
};

fn listed(repo: &str, d: &Deployment) -> ShippingRecord {
    ShippingRecord {
        repository: repository(repo),
        deployment: d.id.clone(),
        removes: false,
        shipping: Shipping::Listed(Comparison {
            base: sha('a'),
            head: sha('b'),
            url: format!("https://github.com/{repo}/compare/a...b"),
            total_commits: 1,
            commits: vec![ShippedCommit {
                sha: sha('b'),
                title: "Fix the login page (#812)".into(),
                author: Some(login("octocat")),
                pull_requests: vec![812],
            }],
            pull_requests: vec![ShippedPullRequest {
                number: 812,
                title: "Fix the login page".into(),
                url: format!("https://github.com/{repo}/pull/812"),
                author: Some(login("octocat")),
            }],
        }),
        at: Timestamp::from_millis(T0),
    }
}

/// The first record of a deployment is kept; a second write changes nothing; other
/// deployments and repositories have none; listing deployments never meets the records.
pub async fn shipping_record_is_written_once_by_key(store: Arc<dyn Store>) {
    let d = deployment("acme/web", 10, Environment::Production, sha('b'));
    let other = deployment("acme/web", 20, Environment::Production, sha('c'));
    insert_all(&*store, &[d.clone(), other.clone()]).await;
    let first = listed("acme/web", &d);
    assert!(store.put_shipping(&first).await.expect("put_shipping"));
    let mut second = first.clone();
    second.shipping = Shipping::Unavailable {
        why: "GitHub answered HTTP 502".into(),
    };
    assert!(
        !store
            .put_shipping(&second)
            .await
            .expect("put_shipping again")
    );
    assert_eq!(
        store
            .shipping(&d.repository, &d.id)
            .await
            .expect("shipping"),
        Some(first)
    );
    assert_eq!(
        store
            .shipping(&other.repository, &other.id)
            .await
            .expect("shipping"),
        None
    );
    assert_eq!(
        store
            .shipping(&repository("acme/api"), &d.id)
            .await
            .expect("shipping"),
        None
    );
    let listed = store
        .list_deployments(&d.repository, None, 10)
        .await
        .expect("list_deployments");
    assert_eq!(ids(&listed), vec![other.id.clone(), d.id.clone()]);
}

/// Of concurrent takers of one notice exactly one gets it, and nobody later; another key or
/// repository is another notice.
pub async fn concurrent_notices_of_one_key_have_one_winner(store: Arc<dyn Store>) {
    let repo = repository("acme/web");
    for round in 0..5 {
        let key = format!("live-notice:acme/web:production:{round}");
        let takers = 8;
        let barrier = Arc::new(Barrier::new(takers));
        let tasks: Vec<_> = (0..takers)
            .map(|_| {
                let store = Arc::clone(&store);
                let barrier = Arc::clone(&barrier);
                let repo = repo.clone();
                let key = key.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    store
                        .take_notice(&repo, &key, Timestamp::from_millis(T0))
                        .await
                        .expect("take_notice")
                })
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            if task.await.expect("taker finished") {
                won += 1;
            }
        }
        assert_eq!(won, 1, "round {round}");
        assert!(
            !store
                .take_notice(&repo, &key, Timestamp::from_millis(T0))
                .await
                .expect("take_notice later")
        );
        assert!(
            store
                .take_notice(&repository("acme/api"), &key, Timestamp::from_millis(T0))
                .await
                .expect("take_notice other repository")
        );
    }
}
