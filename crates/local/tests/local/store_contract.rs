//! The store contract suite run against the redb store (one file in its own temporary
//! directory per test), and what only an on-disk store has to show: data survives closing
//! and reopening the file, and a file that is not a store is refused with an error.

use deploybot_core::lane::{LaneKey, LaneRecord, Lock, LockHistoryEntry, LockHistoryEvent};
use deploybot_core::ports::{BindOutcome, InsertOutcome, LinkOutcome, Store, StoreError};
use deploybot_core::ports::{
    Claim, DeliveryStore, DeploymentStore, LaneSaved, LaneStore, ProjectStore, UserStore,
};
use deploybot_core::{
    Deployment, DeploymentId, DeploymentState, Environment, GitRef, GithubLogin, Project,
    ProjectSettings, Repository, Sha, SlackChannelId, SlackTeamId, SlackUserId, Timestamp, Trigger,
    UserLink,
};
use deploybot_local::store::RedbStore;
use deploybot_testkit::store_contract_tests;
use std::sync::Arc;
use tempfile::TempDir;

/// A fresh store in a directory of its own that does not exist yet (open creates it); the
/// directory is removed when the test ends.
async fn fresh_redb_store() -> (Arc<dyn Store>, TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = RedbStore::open(dir.path().join("state").join("deploybot.redb"))
        .await
        .expect("open a new store");
    (Arc::new(store), dir)
}

store_contract_tests!(fresh_redb_store());

fn sample_project() -> Project {
    Project {
        repository: Repository::parse("acme/web").expect("valid"),
        channel: SlackChannelId::parse("C0WEB").expect("valid"),
        channel_name: Some("web".to_owned()),
        team: Some(SlackTeamId::parse("T0001").expect("valid")),
        settings: ProjectSettings {
            base_domain: Some("example.dev".to_owned()),
            ..ProjectSettings::default()
        },
        created_by: Some(SlackUserId::parse("U0001").expect("valid")),
        workflow: None,
        created_at: Timestamp::from_secs(1_700_000_000),
        github_id: None,
    }
}

fn sample_deployment() -> Deployment {
    let created = Timestamp::from_secs(1_700_000_100);
    let mut deployment = Deployment::new(
        Repository::parse("acme/web").expect("valid"),
        DeploymentId::new(created, 7),
        Environment::Staging,
        GitRef::branch("main").expect("valid"),
        Sha::parse(&"ab".repeat(20)).expect("valid"),
        Trigger::Manual {
            slack_user: SlackUserId::parse("U0001").expect("valid"),
        },
        SlackChannelId::parse("C0WEB").expect("valid"),
        created,
    );
    deployment.state = DeploymentState::WaitingForChecks;
    deployment.waiting_for = vec!["ci/test".to_owned()];
    deployment
}

#[tokio::test]
async fn data_survives_closing_and_reopening() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("deploybot.redb");
    let project = sample_project();
    let link = UserLink {
        github_login: GithubLogin::parse("octocat").expect("valid"),
        slack_user: SlackUserId::parse("U0OCTO").expect("valid"),
        slack_name: Some("Octo".to_owned()),
        linked_at: Timestamp::from_secs(1_700_000_050),
    };
    let team = SlackTeamId::parse("T0001").expect("valid");
    let mut deployment = sample_deployment();
    let now = Timestamp::from_secs(1_700_000_200);
    let staging = LaneKey {
        repository: project.repository.clone(),
        environment: Environment::Staging,
    };
    let lock = Lock {
        holder: link.slack_user.clone(),
        reason: Some("testing the migration".to_owned()),
        since: now,
        until: now.plus_secs(3_600),
        reminded: false,
    };
    let mut lane = LaneRecord::empty(staging.clone(), now);
    lane.lock = Some(lock.clone());
    lane.due_at = Some(now.plus_secs(3_000));
    let entry = LockHistoryEntry {
        lane: staging.clone(),
        at: now,
        by: Some(link.slack_user.clone()),
        event: LockHistoryEvent::Locked { lock },
    };
    {
        let store = RedbStore::open(&path).await.expect("open a new store");
        assert_eq!(
            store.bind_project(&project).await.expect("bind"),
            BindOutcome::Bound
        );
        assert_eq!(
            store.link_user(&link).await.expect("link"),
            LinkOutcome::Linked
        );
        store.set_team_revoked(&team, true).await.expect("revoke");
        assert_eq!(
            store.insert_deployment(&deployment).await.expect("insert"),
            InsertOutcome::Inserted
        );
        deployment.pipeline_id = Some("pipeline-9".to_owned());
        deployment.github_deployment_id = Some(99);
        match store.update_deployment(&deployment).await.expect("update") {
            deploybot_core::ports::UpdateOutcome::Updated(saved) => deployment = *saved,
            other => panic!("expected Updated, got {other:?}"),
        }
        assert_eq!(
            store
                .claim_delivery("delivery-1", now, now.plus_secs(45))
                .await
                .expect("claim"),
            Claim::Claimed
        );
        store
            .finish_delivery("delivery-1", now.plus_secs(3600))
            .await
            .expect("finish");
        match store.save_lane(&lane).await.expect("save_lane") {
            LaneSaved::Saved(saved) => lane = *saved,
            other => panic!("expected Saved, got {other:?}"),
        }
        assert_eq!(store.next_lane_seq(&staging).await.expect("seq"), 1);
        assert_eq!(store.next_lane_seq(&staging).await.expect("seq"), 2);
        store.record_lock_event(&entry).await.expect("record");
        // The store (and with it the database file handle) is dropped here.
    }

    let reopened = RedbStore::open(&path).await.expect("reopen the store");
    assert_eq!(
        reopened
            .project_by_channel(&project.channel)
            .await
            .expect("by channel"),
        Some(project.clone())
    );
    assert_eq!(
        reopened
            .bind_project(&project)
            .await
            .expect("bind after reopening"),
        BindOutcome::AlreadyBound
    );
    assert_eq!(
        reopened
            .user_by_slack(&link.slack_user)
            .await
            .expect("by slack"),
        Some(link.clone())
    );
    assert!(reopened.is_team_revoked(&team).await.expect("revoked"));
    assert_eq!(deployment.version, 1);
    assert_eq!(
        reopened
            .get_deployment(&deployment.repository, &deployment.id)
            .await
            .expect("get"),
        Some(deployment.clone())
    );
    assert_eq!(
        reopened
            .deployment_by_pipeline("pipeline-9")
            .await
            .expect("by pipeline"),
        Some(deployment.clone())
    );
    assert_eq!(
        reopened.deployment_by_github_id(99).await.expect("by id"),
        Some(deployment.clone())
    );
    assert_eq!(
        reopened
            .list_deployments(&deployment.repository, Some(Environment::Staging), 5)
            .await
            .expect("list"),
        vec![deployment.clone()]
    );
    assert_eq!(
        reopened.waiting_deployments(now, 5).await.expect("waiting"),
        vec![deployment.clone()]
    );
    assert_eq!(
        reopened
            .claim_delivery("delivery-1", now.plus_secs(60), now.plus_secs(105))
            .await
            .expect("claim"),
        Claim::Done,
        "a delivery finished before closing is still known as done"
    );
    assert_eq!(
        reopened
            .pending_deployments(&staging, 5)
            .await
            .expect("pending"),
        vec![deployment.clone()]
    );
    assert_eq!(
        reopened.get_lane(&staging).await.expect("get_lane"),
        Some(lane.clone())
    );
    assert_eq!(
        reopened
            .due_lanes(now.plus_secs(3_000), 5)
            .await
            .expect("due"),
        vec![lane]
    );
    assert_eq!(
        reopened.next_lane_seq(&staging).await.expect("seq"),
        3,
        "the arrival counter goes on where it stopped"
    );
    assert_eq!(
        reopened.lock_history(&staging, 5).await.expect("history"),
        vec![entry]
    );
}

#[tokio::test]
async fn a_file_that_is_not_a_store_is_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("not-a-store.redb");
    std::fs::write(
        &path,
        b"this is not a redb database, just some text ".repeat(200),
    )
    .expect("write the file");
    match RedbStore::open(&path).await {
        Err(StoreError::Backend(message)) => assert!(
            message.contains("not-a-store.redb"),
            "the error names the file: {message}"
        ),
        other => panic!("expected a backend error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_file_already_open_is_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("deploybot.redb");
    let _first = RedbStore::open(&path).await.expect("open");
    match RedbStore::open(&path).await {
        Err(StoreError::Backend(message)) => assert!(
            message.contains("deploybot.redb"),
            "the error names the file: {message}"
        ),
        other => panic!("expected a backend error, got {other:?}"),
    }
}
