//! Approval requests (kept in the lane table): read by key, saved on their version, so two
//! presses of Approve at once — or one press delivered twice — count once.

use super::lanes::{at, lane};
use super::*;
use deploybot_core::approval::{
    ApprovalKey, ApprovalPolicy, ApprovalRequest, ApprovalRule, ApprovalStatus, Exclude, Requester,
    Vote,
};
use deploybot_core::ports::ApprovalSaved;
use std::time::Duration;

fn approval_key(repo: &str, environment: Environment, fill: char, workflow: &str) -> ApprovalKey {
    ApprovalKey {
        lane: lane(repo, environment),
        sha: sha(fill),
        workflow: workflow.to_owned(),
    }
}

fn request(key: ApprovalKey) -> ApprovalRequest {
    ApprovalRequest::new(
        key,
        DeploymentId::new(at(10), 1),
        Requester {
            slack: Some(slack_user("U0ANA")),
            login: Some(login("ana")),
        },
        vec![login("ana")],
        ApprovalPolicy {
            rules: vec![ApprovalRule {
                name: "leads".into(),
                users: vec![login("ada-l"), login("grace-h")],
                teams: Vec::new(),
                count: 2,
            }],
            exclude: Exclude::default(),
            expires_after: Duration::from_secs(4 * 3600),
            notify_approvers: false,
        },
        at(10),
    )
}

fn vote(request: &mut ApprovalRequest, by: &str, who: &str) {
    request.votes.push(Vote {
        by: slack_user(by),
        login: login(who),
        rule: "leads".into(),
        at: at(20),
    });
}

async fn save(store: &dyn Store, request: &ApprovalRequest) -> ApprovalSaved {
    store.save_approval(request).await.expect("save_approval")
}

/// `get_approval` / `save_approval`: absent until saved; the first save (version 0) creates
/// it at version 1 and a second first save conflicts with what is stored; later saves are
/// conditional on the version read. Requests of another commit, workflow version,
/// environment or repository are other requests, and none of them shows in `lanes_of`.
pub async fn approval_requests_by_key_and_optimistic(store: Arc<dyn Store>) {
    let production = approval_key("acme/web", Environment::Production, 'a', "blob1");
    assert_eq!(store.get_approval(&production).await.expect("get"), None);
    let fresh = request(production.clone());
    let ApprovalSaved::Saved(v1) = save(&*store, &fresh).await else {
        panic!("the first save creates the request");
    };
    assert_eq!(v1.version, 1);
    assert_eq!(
        store.get_approval(&production).await.expect("get"),
        Some((*v1).clone())
    );
    // Another first save (a second request made for the same commit at once) loses.
    let mut other = fresh.clone();
    other.authors.clear();
    assert_eq!(
        save(&*store, &other).await,
        ApprovalSaved::Conflict(Some(v1.clone()))
    );
    // A vote on the version read.
    let mut voted = (*v1).clone();
    vote(&mut voted, "U0ADA", "ada-l");
    let ApprovalSaved::Saved(v2) = save(&*store, &voted).await else {
        panic!("saved on its version");
    };
    assert_eq!(v2.version, 2);
    assert_eq!(v2.votes.len(), 1);
    // The same vote on the old version (Slack delivering the press twice) conflicts.
    assert_eq!(
        save(&*store, &voted).await,
        ApprovalSaved::Conflict(Some(v2.clone()))
    );
    // A request that ends keeps its story.
    let mut ended = (*v2).clone();
    ended.status = ApprovalStatus::Rejected {
        by: slack_user("U0GRACE"),
        reason: "not during the sale".into(),
        at: at(30),
    };
    let ApprovalSaved::Saved(v3) = save(&*store, &ended).await else {
        panic!("saved");
    };
    assert_eq!(
        store.get_approval(&production).await.expect("get"),
        Some(*v3)
    );
    // Neighbours are other requests.
    let neighbours = [
        approval_key("acme/web", Environment::Production, 'b', "blob1"),
        approval_key("acme/web", Environment::Production, 'a', "blob2"),
        approval_key("acme/web", Environment::Staging, 'a', "blob1"),
        approval_key(
            "acme/web",
            Environment::parse("production#2").expect("a name with #"),
            'a',
            "blob1",
        ),
        approval_key("acme/api", Environment::Production, 'a', "blob1"),
    ];
    for key in &neighbours {
        assert_eq!(store.get_approval(key).await.expect("get"), None, "{key:?}");
        assert!(matches!(
            save(&*store, &request(key.clone())).await,
            ApprovalSaved::Saved(_)
        ));
    }
    assert_eq!(
        store
            .get_approval(&production)
            .await
            .expect("get")
            .map(|r| r.version),
        Some(3)
    );
    // The lane records of the repository are lane records only.
    let lanes = store
        .lanes_of(&repository("acme/web"))
        .await
        .expect("lanes_of");
    assert!(lanes.is_empty(), "{lanes:?}");
}

/// Ten approvers press at once on one version of a request: exactly one save wins, and the
/// stored request holds that one vote.
pub async fn concurrent_votes_on_one_version_count_once(store: Arc<dyn Store>) {
    let key = approval_key("acme/web", Environment::Production, 'c', "blob1");
    let ApprovalSaved::Saved(base) = save(&*store, &request(key.clone())).await else {
        panic!("created");
    };
    let writers = 10;
    let barrier = Arc::new(Barrier::new(writers));
    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let store = Arc::clone(&store);
            let barrier = Arc::clone(&barrier);
            let mut voted = (*base).clone();
            vote(&mut voted, &format!("U0W{writer}"), &format!("w{writer}"));
            tokio::spawn(async move {
                barrier.wait().await;
                store.save_approval(&voted).await.expect("save_approval")
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        if let ApprovalSaved::Saved(saved) = task.await.expect("task finished") {
            winners.push(saved);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let stored = store
        .get_approval(&key)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(stored.version, 2);
    assert_eq!(stored.votes.len(), 1);
    assert_eq!(stored, *winners[0]);
}
