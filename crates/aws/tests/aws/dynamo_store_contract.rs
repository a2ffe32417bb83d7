//! `DynamoStore` on a real DynamoDB-compatible server: the store contract suite every store
//! runs, plus what only DynamoDB has (claim items, cancellation reasons, lazy TTL, sparse
//! indexes, batching, no `Scan`).
//!
//! The server is `moto_server` at `DEPLOYBOT_DYNAMODB_URL`, which `scripts/test` starts on
//! 127.0.0.1 and exports. Without it every test here FAILS (it never skips). Each test creates
//! its own five tables under a unique prefix, so tests run in parallel against one server and
//! the server is never reset.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use deploybot_aws::dynamo::TableSpecOf;
use deploybot_aws::dynamo::schema::{self, TableRole};
use deploybot_aws::dynamo::{TABLE_SPECS, retry_config};
use deploybot_aws::{DynamoStore, TableNames, create_tables};
use deploybot_core::lane::{LaneKey, LaneRecord, Lock, LockHistoryEntry, LockHistoryEvent};
use deploybot_core::ports::{BindOutcome, InsertOutcome, Store, StoreError, UpdateOutcome};
use deploybot_core::ports::{
    Claim, DeliveryStore, DeploymentStore, LaneSaved, LaneStore, ProjectStore, UserStore,
};
use deploybot_core::{
    Deployment, DeploymentId, DeploymentState, Environment, GitRef, GithubLogin, Project,
    ProjectSettings, Repository, Sha, SlackChannelId, SlackUserId, Timestamp, Trigger,
    UnbindReason, Unbinding, UserLink,
};
use deploybot_testkit::store_contract_tests;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

// =============================================================================================
// Harness

/// The emulator's URL; a clear failure when it is missing.
fn endpoint() -> String {
    match std::env::var("DEPLOYBOT_DYNAMODB_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "DEPLOYBOT_DYNAMODB_URL is not set: these tests need a DynamoDB-compatible server. \
             Run them through `scripts/test`, or alone with \
             `scripts/moto.sh cargo test -p deploybot-aws --test aws dynamo_store_contract::` \
             (both start moto_server on 127.0.0.1 and export the variable)"
        ),
    }
}

/// The only operations a store may send: key reads and writes, queries, batched key reads and
/// transactions. Not `Scan`, and no table management.
const STORE_OPERATIONS: [&str; 7] = [
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "BatchGetItem",
    "TransactWriteItems",
];

/// On the store's client: records the name of every DynamoDB operation sent and refuses any
/// outside [`STORE_OPERATIONS`] — a `Scan` above all — so a store call that scans fails
/// whichever contract test makes it.
#[derive(Debug, Clone, Default)]
struct OperationGuard {
    operations: Arc<Mutex<Vec<String>>>,
}

impl OperationGuard {
    fn operations(&self) -> Vec<String> {
        self.operations
            .lock()
            .expect("operation log lock is not poisoned")
            .clone()
    }

    fn counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for operation in self.operations() {
            *counts.entry(operation).or_insert(0) += 1;
        }
        counts
    }

    fn clear(&self) {
        self.operations
            .lock()
            .expect("operation log lock is not poisoned")
            .clear();
    }
}

impl Intercept for OperationGuard {
    fn name(&self) -> &'static str {
        "OperationGuard"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        // DynamoDB's JSON protocol names the operation in `X-Amz-Target: DynamoDB_20120810.<Op>`.
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("unknown");
        let operation = target.rsplit('.').next().unwrap_or(target).to_owned();
        let allowed = STORE_OPERATIONS.contains(&operation.as_str());
        self.operations
            .lock()
            .map_err(|_| "operation log lock poisoned")?
            .push(operation.clone());
        if allowed {
            Ok(())
        } else {
            Err(format!(
                "DynamoStore sent {operation}: a store only reads and writes by key, queries and \
                 runs transactions (never Scan: docs/data-model.md)"
            )
            .into())
        }
    }
}

/// A client for the emulator (static test credentials, us-east-1), guarded when `guard` is
/// given.
fn client(guard: Option<&OperationGuard>) -> Client {
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "deploybot-tests",
        ))
        .endpoint_url(endpoint())
        .retry_config(retry_config());
    if let Some(guard) = guard {
        config = config.interceptor(guard.clone());
    }
    Client::from_conf(config.build())
}

/// Table names no other test (in this process or any other run) uses.
fn unique_tables() -> TableNames {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    TableNames::with_prefix(&format!(
        "dbt-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// A store on fresh tables. The store's client is guarded; `admin` (unguarded) creates the
/// tables and reads and writes raw items.
struct Harness {
    store: DynamoStore,
    admin: Client,
    tables: TableNames,
    guard: OperationGuard,
}

async fn harness() -> Harness {
    let admin = client(None);
    let tables = unique_tables();
    create_tables(&admin, &tables)
        .await
        .expect("creating the test tables on the emulator");
    let guard = OperationGuard::default();
    Harness {
        store: DynamoStore::new(client(Some(&guard)), tables.clone()),
        admin,
        tables,
        guard,
    }
}

async fn fresh_store() -> Arc<dyn Store> {
    Arc::new(harness().await.store)
}

store_contract_tests!(fresh_store());

// =============================================================================================
// Samples and raw reads

const T0: i64 = 1_700_000_000_000;

fn repository(name: &str) -> Repository {
    Repository::parse(name).expect("sample repository is valid")
}

fn channel(id: &str) -> SlackChannelId {
    SlackChannelId::parse(id).expect("sample channel id is valid")
}

fn project(repo: &str, channel_id: &str) -> Project {
    Project {
        repository: repository(repo),
        channel: channel(channel_id),
        channel_name: Some("deploys".to_owned()),
        team: None,
        settings: ProjectSettings::default(),
        created_by: None,
        workflow: None,
        created_at: Timestamp::from_millis(T0),
        github_id: None,
    }
}

fn user_link(github: &str, slack: &str) -> UserLink {
    UserLink {
        github_login: GithubLogin::parse(github).expect("sample login is valid"),
        slack_user: SlackUserId::parse(slack).expect("sample Slack user is valid"),
        slack_name: None,
        linked_at: Timestamp::from_millis(T0),
    }
}

fn deployment(repo: &str, offset_secs: i64) -> Deployment {
    let created = Timestamp::from_millis(T0).plus_secs(offset_secs);
    Deployment::new(
        repository(repo),
        DeploymentId::new(created, 1),
        Environment::Staging,
        GitRef::branch("main").expect("sample branch is valid"),
        Sha::parse(&"c".repeat(40)).expect("sample SHA is valid"),
        Trigger::Push { pusher: None },
        channel("C0DEPLOY"),
        created,
    )
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

/// One raw item of a table by key.
async fn raw_item(
    client: &Client,
    table: &str,
    key: &[(&str, AttributeValue)],
) -> Option<HashMap<String, AttributeValue>> {
    let key: HashMap<String, AttributeValue> = key
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect();
    client
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .expect("raw GetItem")
        .item
}

// =============================================================================================
// DynamoDB-specific properties

/// A bind writes the binding and two claim items; an unbind removes all three. The claims are
/// what keep the relation one to one, so their layout is part of the design.
#[tokio::test]
async fn binding_writes_and_removes_both_claim_items() {
    let h = harness().await;
    let table = h.tables.project.as_str();
    let web = project("acme/web", "C0WEB");
    assert_eq!(
        h.store.bind_project(&web).await.expect("bind"),
        BindOutcome::Bound
    );
    let repository_claim = [
        (schema::project::PARTITION_KEY, s("acme/web")),
        (schema::project::SORT_KEY, s(schema::CLAIM_SORT_KEY)),
    ];
    let channel_claim = [
        (schema::project::PARTITION_KEY, s("#channel#C0WEB")),
        (schema::project::SORT_KEY, s(schema::CLAIM_SORT_KEY)),
    ];
    let binding = [
        (schema::project::PARTITION_KEY, s("acme/web")),
        (schema::project::SORT_KEY, s("C0WEB")),
    ];
    let claim = raw_item(&h.admin, table, &repository_claim)
        .await
        .expect("repository claim exists");
    assert_eq!(claim.get(schema::CLAIMED_BY), Some(&s("C0WEB")));
    assert!(
        !claim.contains_key(schema::project::CHANNEL_INDEX_KEY),
        "claims stay out of the channel index"
    );
    let claim = raw_item(&h.admin, table, &channel_claim)
        .await
        .expect("channel claim exists");
    assert_eq!(claim.get(schema::CLAIMED_BY), Some(&s("acme/web")));
    let item = raw_item(&h.admin, table, &binding)
        .await
        .expect("binding exists");
    assert_eq!(
        item.get(schema::project::CHANNEL_INDEX_KEY),
        Some(&s("C0WEB"))
    );

    assert_eq!(
        h.store.unbind_project(&web.channel).await.expect("unbind"),
        Some(web.clone())
    );
    for key in [&repository_claim, &channel_claim, &binding] {
        assert_eq!(raw_item(&h.admin, table, key).await, None, "{key:?}");
    }
}

/// A repository's last unbinding is one item beside its binding and claim, `#unbound`, out of
/// the channel index; unbinding leaves it.
#[tokio::test]
async fn the_last_unbinding_is_one_item_in_the_repository_partition() {
    let h = harness().await;
    let table = h.tables.project.as_str();
    let web = project("acme/web", "C0WEB");
    h.store.bind_project(&web).await.expect("bind");
    let record = Unbinding {
        repository: repository("acme/web"),
        channel: web.channel.clone(),
        channel_name: Some("web".to_owned()),
        reason: UnbindReason::ChannelArchived,
        event: Some("channel_archive".to_owned()),
        at: Timestamp::from_millis(T0),
    };
    h.store
        .record_unbinding(&record)
        .await
        .expect("record_unbinding");
    let key = [
        (schema::project::PARTITION_KEY, s("acme/web")),
        (
            schema::project::SORT_KEY,
            s(schema::project::UNBINDING_SORT_KEY),
        ),
    ];
    let item = raw_item(&h.admin, table, &key)
        .await
        .expect("the unbinding item exists");
    assert!(
        !item.contains_key(schema::project::CHANNEL_INDEX_KEY),
        "unbinding records stay out of the channel index"
    );
    assert_eq!(item.get("event"), Some(&s("channel_archive")));
    assert_eq!(
        h.store
            .project_by_repository(&web.repository)
            .await
            .expect("project_by_repository"),
        Some(web.clone()),
        "the record is not taken for the binding"
    );
    h.store.unbind_project(&web.channel).await.expect("unbind");
    assert!(raw_item(&h.admin, table, &key).await.is_some());
    assert_eq!(
        h.store
            .last_unbinding(&web.repository)
            .await
            .expect("last_unbinding"),
        Some(record)
    );
}

/// A refused bind is one cancelled transaction whose reasons are read back into the outcome;
/// nothing is written.
#[tokio::test]
async fn cancelled_bind_transactions_map_to_outcomes() {
    let h = harness().await;
    let web = project("acme/web", "C0WEB");
    h.store.bind_project(&web).await.expect("bind");
    h.guard.clear();

    let outcome = h
        .store
        .bind_project(&project("acme/web", "C0OTHER"))
        .await
        .expect("bind");
    assert_eq!(
        outcome,
        BindOutcome::RepositoryTaken {
            channel: channel("C0WEB")
        }
    );
    let counts = h.guard.counts();
    assert_eq!(counts.get("TransactWriteItems"), Some(&1), "{counts:?}");
    assert!(
        counts.get("GetItem").is_some_and(|n| *n >= 1),
        "reads back the claim: {counts:?}"
    );

    assert_eq!(
        h.store
            .bind_project(&project("acme/api", "C0WEB"))
            .await
            .expect("bind"),
        BindOutcome::ChannelTaken {
            repository: repository("acme/web")
        }
    );
    assert_eq!(
        h.store.bind_project(&web).await.expect("bind"),
        BindOutcome::AlreadyBound
    );
    // The refused attempts left no claim behind.
    let stray = raw_item(
        &h.admin,
        &h.tables.project,
        &[
            (schema::project::PARTITION_KEY, s("#channel#C0OTHER")),
            (schema::project::SORT_KEY, s(schema::CLAIM_SORT_KEY)),
        ],
    )
    .await;
    assert_eq!(stray, None);
    assert_eq!(
        h.store
            .project_by_repository(&repository("acme/api"))
            .await
            .expect("lookup"),
        None
    );
}

/// Crossing binds released together (two repositories × two channels): whatever wins, the
/// result is a one-to-one relation, every `Bound` is in it, and both lookups agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crossing_concurrent_binds_leave_a_one_to_one_relation() {
    let h = harness().await;
    let store: Arc<dyn Store> = Arc::new(h.store.clone());
    for round in 0..4 {
        let pairs: Vec<Project> = [("a", "X"), ("a", "Y"), ("b", "X"), ("b", "Y")]
            .iter()
            .map(|(r, c)| project(&format!("acme/{r}{round}"), &format!("C0{c}{round}")))
            .collect();
        let barrier = Arc::new(tokio::sync::Barrier::new(pairs.len()));
        let tasks: Vec<_> = pairs
            .iter()
            .cloned()
            .map(|p| {
                let store = Arc::clone(&store);
                let barrier = Arc::clone(&barrier);
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.bind_project(&p).await.expect("bind_project")
                })
            })
            .collect();
        let mut bound = Vec::new();
        for (task, p) in tasks.into_iter().zip(&pairs) {
            if task.await.expect("bind task") == BindOutcome::Bound {
                bound.push(p.clone());
            }
        }
        assert!((1..=2).contains(&bound.len()), "round {round}: {bound:?}");
        for winner in &bound {
            assert_eq!(
                store
                    .project_by_repository(&winner.repository)
                    .await
                    .expect("by repository")
                    .map(|p| p.channel),
                Some(winner.channel.clone()),
                "round {round}"
            );
            assert_eq!(
                store
                    .project_by_channel(&winner.channel)
                    .await
                    .expect("by channel")
                    .map(|p| p.repository),
                Some(winner.repository.clone()),
                "round {round}"
            );
        }
        for p in &pairs {
            if let Some(stored) = store
                .project_by_repository(&p.repository)
                .await
                .expect("by repository")
            {
                assert!(
                    bound.contains(&stored),
                    "round {round}: {stored:?} is stored but its bind did not report Bound"
                );
            }
        }
    }
}

/// A Home viewer item carries the user table's TTL, a day after the opening it records, so a
/// channel's viewers partition does not keep everyone who ever opened Home; the table's other
/// items (links, claims) never expire.
#[tokio::test]
async fn home_viewers_expire_a_day_after_opening_and_links_never() {
    let h = harness().await;
    let table = h.tables.user.as_str();
    let web = channel("C0WEB");
    let viewer = SlackUserId::parse("U0ADA").expect("valid");
    h.store
        .note_home_viewer(&web, &viewer, Timestamp::from_millis(T0 + 1))
        .await
        .expect("noted");
    let item = raw_item(
        &h.admin,
        table,
        &[
            (
                schema::user::PARTITION_KEY,
                s(&format!("{}C0WEB", schema::user::HOME_VIEWERS_PREFIX)),
            ),
            (schema::user::SORT_KEY, s("U0ADA")),
        ],
    )
    .await
    .expect("viewer stored");
    assert_eq!(
        item.get(schema::user::TTL_ATTRIBUTE),
        Some(&AttributeValue::N((T0 / 1000 + 86_400 + 1).to_string())),
        "whole seconds, rounded up, one day on"
    );

    h.store
        .link_user(&user_link("ada", "U0ADA"))
        .await
        .expect("linked");
    let link = raw_item(
        &h.admin,
        table,
        &[
            (schema::user::PARTITION_KEY, s("ada")),
            (schema::user::SORT_KEY, s("U0ADA")),
        ],
    )
    .await
    .expect("link stored");
    assert_eq!(link.get(schema::user::TTL_ATTRIBUTE), None);
    assert_eq!(TableRole::User.spec().ttl_attribute, Some("expires_at"));
}

/// DynamoDB's TTL deletes lazily: an expired item can still be in the table. Recording the
/// key again must treat it as absent, and the TTL attribute is whole seconds, rounded up.
#[tokio::test]
async fn expired_delivery_still_in_the_table_counts_as_absent() {
    let h = harness().await;
    let table = h.tables.delivery.as_str();
    let now = Timestamp::from_millis(T0);
    let expires = Timestamp::from_millis(T0 + 1_500);
    assert_eq!(
        h.store
            .claim_delivery("evt-1", now, expires)
            .await
            .expect("claim"),
        Claim::Claimed
    );
    let item = raw_item(
        &h.admin,
        table,
        &[(schema::delivery::PARTITION_KEY, s("evt-1"))],
    )
    .await
    .expect("recorded");
    assert_eq!(
        item.get(schema::delivery::TTL_ATTRIBUTE),
        Some(&AttributeValue::N((T0 / 1000 + 2).to_string()))
    );

    // Within the same second as the expiry, but before it: still seen.
    assert_eq!(
        h.store
            .claim_delivery("evt-1", Timestamp::from_millis(T0 + 1_499), expires)
            .await
            .expect("claim"),
        Claim::Held { until: expires }
    );
    // The item is still stored (the emulator, like DynamoDB, has not deleted it)...
    assert!(
        raw_item(
            &h.admin,
            table,
            &[(schema::delivery::PARTITION_KEY, s("evt-1"))]
        )
        .await
        .is_some()
    );
    // ...yet once its expiry has passed the key is new again.
    assert_eq!(
        h.store
            .claim_delivery("evt-1", expires, expires.plus_secs(60))
            .await
            .expect("claim"),
        Claim::Claimed
    );

    let ttl = h
        .admin
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .expect("DescribeTimeToLive");
    let description = ttl.time_to_live_description().expect("TTL described");
    assert_eq!(
        description.attribute_name(),
        Some(schema::delivery::TTL_ATTRIBUTE)
    );
    assert_eq!(
        description.time_to_live_status(),
        Some(&TimeToLiveStatus::Enabled)
    );
}

/// When a field becomes `None` (or the state leaves `waiting_for_checks`) its index attribute
/// goes too: no lookup finds the record under the old value.
#[tokio::test]
async fn index_attributes_disappear_when_fields_become_none() {
    let h = harness().await;
    let table = h.tables.deployment.as_str();
    let mut record = deployment("acme/web", 0);
    record.state = DeploymentState::WaitingForChecks;
    record.pipeline_id = Some("pipe-1".to_owned());
    record.github_deployment_id = Some(77);
    assert_eq!(
        h.store.insert_deployment(&record).await.expect("insert"),
        InsertOutcome::Inserted
    );
    let key = [
        (schema::deployment::PARTITION_KEY, s("acme/web")),
        (schema::deployment::SORT_KEY, s(record.id.as_str())),
    ];
    let item = raw_item(&h.admin, table, &key).await.expect("stored");
    for attribute in [
        schema::deployment::PIPELINE_INDEX_KEY,
        schema::deployment::GITHUB_DEPLOYMENT_INDEX_KEY,
        schema::deployment::WAITING_INDEX_KEY,
    ] {
        assert!(item.contains_key(attribute), "{attribute} written");
    }
    let later = Timestamp::from_millis(T0 + 60_000);
    assert_eq!(
        h.store
            .waiting_deployments(later, 10)
            .await
            .expect("waiting"),
        vec![record.clone()]
    );
    assert_eq!(
        h.store
            .deployment_by_pipeline("pipe-1")
            .await
            .expect("by pipeline"),
        Some(record.clone())
    );

    record.state = DeploymentState::Created;
    record.pipeline_id = None;
    record.github_deployment_id = None;
    let saved = match h.store.update_deployment(&record).await.expect("update") {
        UpdateOutcome::Updated(saved) => *saved,
        other => panic!("expected Updated, got {other:?}"),
    };
    assert_eq!(saved.version, 1);
    let item = raw_item(&h.admin, table, &key).await.expect("stored");
    for attribute in [
        schema::deployment::PIPELINE_INDEX_KEY,
        schema::deployment::GITHUB_DEPLOYMENT_INDEX_KEY,
        schema::deployment::WAITING_INDEX_KEY,
        "pipeline_id",
        "github_deployment_id",
    ] {
        assert!(!item.contains_key(attribute), "{attribute} removed");
    }
    assert_eq!(
        h.store
            .deployment_by_pipeline("pipe-1")
            .await
            .expect("by pipeline"),
        None
    );
    assert_eq!(
        h.store
            .deployment_by_github_id(77)
            .await
            .expect("by github id"),
        None
    );
    assert_eq!(
        h.store
            .waiting_deployments(later, 10)
            .await
            .expect("waiting"),
        Vec::<Deployment>::new()
    );
    assert_eq!(
        h.store
            .get_deployment(&record.repository, &record.id)
            .await
            .expect("get"),
        Some(saved)
    );
}

/// The pending index attribute is the lane while the deployment is pending and gone once it
/// is not; `seq` is a number.
#[tokio::test]
async fn pending_index_attribute_follows_the_state() {
    let h = harness().await;
    let table = h.tables.deployment.as_str();
    let mut record = deployment("acme/web", 0);
    record.state = DeploymentState::Ready;
    record.seq = 12;
    h.store.insert_deployment(&record).await.expect("insert");
    let key = [
        (schema::deployment::PARTITION_KEY, s("acme/web")),
        (schema::deployment::SORT_KEY, s(record.id.as_str())),
    ];
    let item = raw_item(&h.admin, table, &key).await.expect("stored");
    assert_eq!(
        item.get(schema::deployment::PENDING_INDEX_KEY),
        Some(&s("acme/web#staging"))
    );
    assert_eq!(
        item.get(schema::deployment::SEQ),
        Some(&AttributeValue::N("12".to_owned()))
    );
    let lane = LaneKey {
        repository: repository("acme/web"),
        environment: Environment::Staging,
    };
    h.guard.clear();
    assert_eq!(
        h.store
            .pending_deployments(&lane, 10)
            .await
            .expect("pending"),
        vec![record.clone()]
    );
    assert_eq!(h.guard.operations(), vec!["Query".to_owned()]);

    record.state = DeploymentState::Created;
    h.store.update_deployment(&record).await.expect("update");
    let item = raw_item(&h.admin, table, &key).await.expect("stored");
    assert!(!item.contains_key(schema::deployment::PENDING_INDEX_KEY));
    assert_eq!(
        h.store
            .pending_deployments(&lane, 10)
            .await
            .expect("pending"),
        Vec::<Deployment>::new()
    );
}

/// One partition per repository holds each lane's record (`lane#<environment>`), its
/// counter (`seq#<environment>`) and its history (`history#<environment>#<millis>#<suffix>`);
/// the record carries the due index attributes only while it has a `due_at`. Each call is
/// one request.
#[tokio::test]
async fn lane_items_keep_record_counter_and_history_apart() {
    let h = harness().await;
    let table = h.tables.lane.as_str();
    let staging = LaneKey {
        repository: repository("acme/web"),
        environment: Environment::Staging,
    };
    let now = Timestamp::from_millis(T0);
    let mut record = LaneRecord::empty(staging.clone(), now);
    record.due_at = Some(now.plus_secs(120));

    h.guard.clear();
    let saved = match h.store.save_lane(&record).await.expect("save_lane") {
        LaneSaved::Saved(saved) => *saved,
        other => panic!("expected Saved, got {other:?}"),
    };
    assert_eq!(h.store.next_lane_seq(&staging).await.expect("seq"), 1);
    let lock = Lock {
        holder: SlackUserId::parse("U0ANA").expect("valid"),
        reason: None,
        since: now,
        until: now.plus_secs(3_600),
        reminded: false,
    };
    let entry = LockHistoryEntry {
        lane: staging.clone(),
        at: now,
        by: Some(lock.holder.clone()),
        event: LockHistoryEvent::Locked { lock },
    };
    h.store.record_lock_event(&entry).await.expect("record");
    h.store.record_lock_event(&entry).await.expect("record");
    assert_eq!(
        h.guard.counts(),
        BTreeMap::from([("PutItem".to_owned(), 3), ("UpdateItem".to_owned(), 1)])
    );

    let record_key = [
        (schema::lane::PARTITION_KEY, s("acme/web")),
        (schema::lane::SORT_KEY, s("lane#staging")),
    ];
    let item = raw_item(&h.admin, table, &record_key)
        .await
        .expect("record item");
    assert_eq!(item.get(schema::lane::DUE_INDEX_KEY), Some(&s("due")));
    assert_eq!(
        item.get(schema::lane::DUE_AT),
        Some(&AttributeValue::N((T0 + 120_000).to_string()))
    );
    assert_eq!(
        item.get(schema::lane::VERSION),
        Some(&AttributeValue::N("1".to_owned()))
    );
    let counter = raw_item(
        &h.admin,
        table,
        &[
            (schema::lane::PARTITION_KEY, s("acme/web")),
            (schema::lane::SORT_KEY, s("seq#staging")),
        ],
    )
    .await
    .expect("counter item");
    assert_eq!(
        counter.get(schema::lane::NEXT_SEQ),
        Some(&AttributeValue::N("1".to_owned()))
    );
    assert_eq!(
        counter.len(),
        3,
        "only the key and the counter: {counter:?}"
    );

    let history = h
        .admin
        .query()
        .table_name(table)
        .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
        .expression_attribute_names("#pk", schema::lane::PARTITION_KEY)
        .expression_attribute_names("#sk", schema::lane::SORT_KEY)
        .expression_attribute_values(":pk", s("acme/web"))
        .expression_attribute_values(":prefix", s("history#staging#"))
        .send()
        .await
        .expect("raw Query")
        .items
        .unwrap_or_default();
    assert_eq!(history.len(), 2, "both entries of one instant are kept");
    for item in &history {
        let key = item
            .get(schema::lane::SORT_KEY)
            .and_then(|v| v.as_s().ok())
            .expect("a sort key");
        let rest = key
            .strip_prefix(&format!("history#staging#{T0:019}#"))
            .unwrap_or_else(|| panic!("{key} has the time zero-padded after the lane"));
        assert_eq!(rest.len(), 32, "{key}: a 32-digit suffix");
    }

    // Each read is one request.
    h.guard.clear();
    assert_eq!(
        h.store.get_lane(&staging).await.expect("get"),
        Some(saved.clone())
    );
    assert_eq!(
        h.store
            .lanes_of(&repository("acme/web"))
            .await
            .expect("lanes_of"),
        vec![saved.clone()]
    );
    assert_eq!(
        h.store.lock_history(&staging, 10).await.expect("history"),
        vec![entry.clone(), entry]
    );
    assert_eq!(
        h.store
            .due_lanes(now.plus_secs(120), 10)
            .await
            .expect("due"),
        vec![saved.clone()]
    );
    assert_eq!(
        h.guard.counts(),
        BTreeMap::from([("GetItem".to_owned(), 1), ("Query".to_owned(), 3)])
    );

    // No due time: the index attributes go, and the counter item is untouched.
    let mut idle = saved;
    idle.due_at = None;
    match h.store.save_lane(&idle).await.expect("save_lane") {
        LaneSaved::Saved(stored) => assert_eq!(stored.version, 2),
        other => panic!("expected Saved, got {other:?}"),
    }
    let item = raw_item(&h.admin, table, &record_key)
        .await
        .expect("record item");
    assert!(!item.contains_key(schema::lane::DUE_INDEX_KEY));
    assert!(!item.contains_key(schema::lane::DUE_AT));
    assert_eq!(h.store.next_lane_seq(&staging).await.expect("seq"), 2);

    // A refused save reads the record back, strongly consistent.
    h.guard.clear();
    assert!(matches!(
        h.store.save_lane(&record).await.expect("save_lane"),
        LaneSaved::Conflict(_)
    ));
    assert_eq!(
        h.guard.operations(),
        vec!["PutItem".to_owned(), "GetItem".to_owned()]
    );
}

/// `users_by_logins` reads in batches of at most 100 keys and answers each existing link
/// once, whatever duplicates and unknown logins it is given — including links whose claims
/// fall in different batches.
#[tokio::test]
async fn users_by_logins_batches_large_requests() {
    let h = harness().await;
    // Linked: dev0, dev20, ..., dev240 — some in each batch of 100 asked logins.
    let linked: Vec<usize> = (0..250).step_by(20).collect();
    for i in &linked {
        h.store
            .link_user(&user_link(&format!("dev{i}"), &format!("U0DEV{i}")))
            .await
            .expect("link_user");
    }
    let mut asked: Vec<GithubLogin> = (0..250)
        .map(|i| GithubLogin::parse(&format!("dev{i}")).expect("valid login"))
        .collect();
    asked.extend(asked.clone());
    h.guard.clear();
    let mut found: Vec<(String, String)> = h
        .store
        .users_by_logins(&asked)
        .await
        .expect("users_by_logins")
        .into_iter()
        .map(|link| {
            (
                link.github_login.as_str().to_owned(),
                link.slack_user.as_str().to_owned(),
            )
        })
        .collect();
    found.sort();
    let mut want: Vec<(String, String)> = linked
        .iter()
        .map(|i| (format!("dev{i}"), format!("U0DEV{i}")))
        .collect();
    want.sort();
    assert_eq!(found, want, "each link once, with its own Slack user");
    let counts = h.guard.counts();
    // 250 distinct logins: 3 claim batches (100 + 100 + 50), then 1 batch of 13 links.
    assert_eq!(counts.get("BatchGetItem"), Some(&4), "{counts:?}");
    assert_eq!(counts.len(), 1, "only BatchGetItem: {counts:?}");
}

/// The guard that makes every contract test fail on a `Scan` (or any operation a store has
/// no business sending) really refuses them, and lets the store's own operations through.
#[tokio::test]
async fn guard_refuses_scans_and_table_management() {
    let h = harness().await;
    let guarded = h.store.client();
    let scan = guarded.scan().table_name(&h.tables.project).send().await;
    assert!(scan.is_err(), "the guard must refuse Scan");
    let describe = guarded
        .describe_table()
        .table_name(&h.tables.project)
        .send()
        .await;
    assert!(describe.is_err(), "the guard must refuse DescribeTable");
    h.store
        .is_team_revoked(&deploybot_core::SlackTeamId::parse("T0001").expect("valid team"))
        .await
        .expect("a GetItem passes the guard");
    assert_eq!(
        h.guard.operations(),
        vec![
            "Scan".to_owned(),
            "DescribeTable".to_owned(),
            "GetItem".to_owned()
        ]
    );
}

/// No code path in the store can issue a `Scan`: the SDK's scan builder is never named.
#[test]
fn store_source_never_names_a_scan() {
    let sources = [
        ("mod.rs", include_str!("../../src/dynamo/mod.rs")),
        ("codec.rs", include_str!("../../src/dynamo/codec.rs")),
        ("projects.rs", include_str!("../../src/dynamo/projects.rs")),
        ("users.rs", include_str!("../../src/dynamo/users.rs")),
        (
            "deployments.rs",
            include_str!("../../src/dynamo/deployments.rs"),
        ),
        (
            "deliveries.rs",
            include_str!("../../src/dynamo/deliveries.rs"),
        ),
        ("lanes.rs", include_str!("../../src/dynamo/lanes.rs")),
        ("schema.rs", include_str!("../../src/dynamo/schema.rs")),
        ("tables.rs", include_str!("../../src/dynamo/tables.rs")),
    ];
    for (file, source) in sources {
        for forbidden in [
            ".scan()",
            "operation::scan",
            "ScanFluentBuilder",
            "ScanInput",
        ] {
            assert!(
                !source.contains(forbidden),
                "src/dynamo/{file} names `{forbidden}`"
            );
        }
    }
}

/// `create_tables` is idempotent and builds exactly the schema in `TABLE_SPECS`.
#[tokio::test]
async fn create_tables_is_idempotent_and_matches_the_schema() {
    let h = harness().await;
    create_tables(&h.admin, &h.tables)
        .await
        .expect("second create_tables is fine");
    for spec in &TABLE_SPECS {
        let described = h
            .admin
            .describe_table()
            .table_name(h.tables.name(spec.role))
            .send()
            .await
            .expect("DescribeTable");
        let table = described.table().expect("table described");
        let key_names: Vec<&str> = table
            .key_schema()
            .iter()
            .map(|k| k.attribute_name())
            .collect();
        let mut want = vec![spec.partition_key.name];
        want.extend(spec.sort_key.map(|k| k.name));
        assert_eq!(key_names, want, "{}", spec.role);
        let mut indexes: Vec<(String, Vec<String>)> = table
            .global_secondary_indexes()
            .iter()
            .map(|index| {
                (
                    index.index_name().unwrap_or_default().to_owned(),
                    index
                        .key_schema()
                        .iter()
                        .map(|k| k.attribute_name().to_owned())
                        .collect(),
                )
            })
            .collect();
        indexes.sort();
        let mut want_indexes: Vec<(String, Vec<String>)> = spec
            .indexes
            .iter()
            .map(|index| {
                let mut keys = vec![index.partition_key.name.to_owned()];
                keys.extend(index.sort_key.map(|k| k.name.to_owned()));
                (index.name.to_owned(), keys)
            })
            .collect();
        want_indexes.sort();
        assert_eq!(indexes, want_indexes, "{}", spec.role);
    }
    assert_eq!(TableRole::Delivery.spec().ttl_attribute, Some("expires_at"));
}

/// A stored item that does not decode is `Corrupt`; a missing table is a `Backend` error
/// naming the table — neither panics.
#[tokio::test]
async fn corrupt_items_and_missing_tables_are_typed_errors() {
    let h = harness().await;
    let record = deployment("acme/web", 0);
    h.store.insert_deployment(&record).await.expect("insert");
    h.admin
        .update_item()
        .table_name(&h.tables.deployment)
        .key(schema::deployment::PARTITION_KEY, s("acme/web"))
        .key(schema::deployment::SORT_KEY, s(record.id.as_str()))
        .update_expression("SET sha = :bad")
        .expression_attribute_values(":bad", s("not-a-sha"))
        .send()
        .await
        .expect("raw UpdateItem");
    match h.store.get_deployment(&record.repository, &record.id).await {
        Err(StoreError::Corrupt(message)) => {
            assert!(message.contains(&h.tables.deployment), "{message}")
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }

    let missing = DynamoStore::new(
        h.store.client().clone(),
        TableNames::with_prefix("dbt-missing"),
    );
    match missing.project_by_channel(&channel("C0WEB")).await {
        Err(StoreError::Backend(message)) => {
            assert!(message.contains("dbt-missing-project"), "{message}");
            assert!(message.contains("project_by_channel"), "{message}");
        }
        other => panic!("expected Backend, got {other:?}"),
    }
}
