//! `DynamoStore` on a real DynamoDB-compatible server: the store contract suite every store
//! runs, plus what only DynamoDB has (claim items, cancellation reasons, lazy TTL, sparse
//! indexes, batching, no `Scan`).
//!
//! The server is `moto_server` at `DEPLOYBOT_DYNAMODB_URL`, which `scripts/test` starts on
//! 127.0.0.1 and exports. Without it every test here FAILS (it never skips). Each test creates
//! its own four tables under a unique prefix, so tests run in parallel against one server and
//! the server is never reset.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use deploybot_aws::dynamo::schema::{self, TableRole};
use deploybot_aws::dynamo::{TABLE_SPECS, retry_config};
use deploybot_aws::{DynamoStore, TableNames, create_tables};
use deploybot_core::ports::{BindOutcome, InsertOutcome, Store, StoreError, UpdateOutcome};
use deploybot_core::{
    Deployment, DeploymentId, DeploymentState, Environment, GitRef, GithubLogin, Project,
    ProjectSettings, Repository, Sha, SlackChannelId, SlackUserId, Timestamp, Trigger, UserLink,
};
use deploybot_testkit::store_contract;
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
             Run them through `scripts/test` (it starts moto_server on 127.0.0.1 and exports the \
             variable), or start `moto_server -H 127.0.0.1 -p 5000` yourself and export \
             DEPLOYBOT_DYNAMODB_URL=http://127.0.0.1:5000"
        ),
    }
}

/// Records the name of every DynamoDB operation the client sends and refuses `Scan`, so a
/// store call that scans fails whichever test makes it.
#[derive(Debug, Clone, Default)]
struct OperationLog {
    operations: Arc<Mutex<Vec<String>>>,
}

impl OperationLog {
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

impl Intercept for OperationLog {
    fn name(&self) -> &'static str {
        "OperationLog"
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
        let is_scan = operation == "Scan";
        self.operations
            .lock()
            .map_err(|_| "operation log lock poisoned")?
            .push(operation);
        if is_scan {
            return Err("DynamoStore must never Scan a table (SPEC section 6)".into());
        }
        Ok(())
    }
}

/// A client for the emulator (static test credentials, us-east-1) that logs operations.
fn client(log: &OperationLog) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
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
        .retry_config(retry_config())
        .interceptor(log.clone())
        .build();
    Client::from_conf(config)
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

/// A store on fresh tables, with its client and operation log.
struct Harness {
    store: DynamoStore,
    client: Client,
    tables: TableNames,
    log: OperationLog,
}

async fn harness() -> Harness {
    let log = OperationLog::default();
    let client = client(&log);
    let tables = unique_tables();
    create_tables(&client, &tables)
        .await
        .expect("creating the test tables on the emulator");
    log.clear();
    Harness {
        store: DynamoStore::new(client.clone(), tables.clone()),
        client,
        tables,
        log,
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
        created_at: Timestamp::from_millis(T0),
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
    let claim = raw_item(&h.client, table, &repository_claim)
        .await
        .expect("repository claim exists");
    assert_eq!(claim.get(schema::CLAIMED_BY), Some(&s("C0WEB")));
    assert!(
        !claim.contains_key(schema::project::CHANNEL_INDEX_KEY),
        "claims stay out of the channel index"
    );
    let claim = raw_item(&h.client, table, &channel_claim)
        .await
        .expect("channel claim exists");
    assert_eq!(claim.get(schema::CLAIMED_BY), Some(&s("acme/web")));
    let item = raw_item(&h.client, table, &binding)
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
        assert_eq!(raw_item(&h.client, table, key).await, None, "{key:?}");
    }
}

/// A refused bind is one cancelled transaction whose reasons are read back into the outcome;
/// nothing is written.
#[tokio::test]
async fn cancelled_bind_transactions_map_to_outcomes() {
    let h = harness().await;
    let web = project("acme/web", "C0WEB");
    h.store.bind_project(&web).await.expect("bind");
    h.log.clear();

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
    let counts = h.log.counts();
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
        &h.client,
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

/// DynamoDB's TTL deletes lazily: an expired item can still be in the table. Recording the
/// key again must treat it as absent, and the TTL attribute is whole seconds, rounded up.
#[tokio::test]
async fn expired_delivery_still_in_the_table_counts_as_absent() {
    let h = harness().await;
    let table = h.tables.delivery.as_str();
    let now = Timestamp::from_millis(T0);
    let expires = Timestamp::from_millis(T0 + 1_500);
    assert!(
        h.store
            .record_delivery("evt-1", now, expires)
            .await
            .expect("record")
    );
    let item = raw_item(
        &h.client,
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
    assert!(
        !h.store
            .record_delivery("evt-1", Timestamp::from_millis(T0 + 1_499), expires)
            .await
            .expect("record")
    );
    // The item is still stored (the emulator, like DynamoDB, has not deleted it)...
    assert!(
        raw_item(
            &h.client,
            table,
            &[(schema::delivery::PARTITION_KEY, s("evt-1"))]
        )
        .await
        .is_some()
    );
    // ...yet once its expiry has passed the key is new again.
    assert!(
        h.store
            .record_delivery("evt-1", expires, expires.plus_secs(60))
            .await
            .expect("record")
    );

    let ttl = h
        .client
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
    let item = raw_item(&h.client, table, &key).await.expect("stored");
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
    let item = raw_item(&h.client, table, &key).await.expect("stored");
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

/// `users_by_logins` reads in batches of at most 100 keys and answers each existing link
/// once, whatever duplicates and unknown logins it is given.
#[tokio::test]
async fn users_by_logins_batches_large_requests() {
    let h = harness().await;
    let linked = 130;
    for i in 0..linked {
        h.store
            .link_user(&user_link(&format!("dev{i}"), &format!("U0DEV{i}")))
            .await
            .expect("link_user");
    }
    let mut asked: Vec<GithubLogin> = (0..250)
        .map(|i| GithubLogin::parse(&format!("dev{i}")).expect("valid login"))
        .collect();
    asked.extend(asked.clone());
    h.log.clear();
    let mut found = h
        .store
        .users_by_logins(&asked)
        .await
        .expect("users_by_logins");
    found.sort_by(|a, b| a.github_login.cmp(&b.github_login));
    found.dedup();
    assert_eq!(found.len(), linked);
    assert!(
        found
            .iter()
            .all(|link| link.slack_user.as_str()
                == format!("U0DEV{}", &link.github_login.as_str()[3..])),
        "each login comes with its own Slack user"
    );
    let counts = h.log.counts();
    // 250 distinct logins: 3 claim batches (100 + 100 + 50), then 2 link batches (100 + 30).
    assert_eq!(counts.get("BatchGetItem"), Some(&5), "{counts:?}");
    assert_eq!(counts.len(), 1, "only BatchGetItem: {counts:?}");
}

/// Running every sequential property of the contract through one logging client: the store
/// uses only key, query, conditional-write, batch and transaction operations — never `Scan`.
#[tokio::test]
async fn store_operations_are_key_and_index_operations_only() {
    type Property =
        fn(Arc<dyn Store>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
    let properties: Vec<(&str, Property)> = vec![
        ("bind_project_binds_both_sides", |s| {
            Box::pin(store_contract::bind_project_binds_both_sides(s))
        }),
        ("bind_project_outcomes", |s| {
            Box::pin(store_contract::bind_project_outcomes(s))
        }),
        ("update_project_only_while_bound", |s| {
            Box::pin(store_contract::update_project_only_while_bound(s))
        }),
        ("unbind_project_returns_record_and_frees_both_sides", |s| {
            Box::pin(store_contract::unbind_project_returns_record_and_frees_both_sides(s))
        }),
        ("team_revoked_flag", |s| {
            Box::pin(store_contract::team_revoked_flag(s))
        }),
        ("link_user_outcomes", |s| {
            Box::pin(store_contract::link_user_outcomes(s))
        }),
        ("users_by_logins_returns_existing_links", |s| {
            Box::pin(store_contract::users_by_logins_returns_existing_links(s))
        }),
        ("unlink_user_frees_both_sides", |s| {
            Box::pin(store_contract::unlink_user_frees_both_sides(s))
        }),
        ("insert_deployment_is_conditional", |s| {
            Box::pin(store_contract::insert_deployment_is_conditional(s))
        }),
        ("update_deployment_is_optimistic", |s| {
            Box::pin(store_contract::update_deployment_is_optimistic(s))
        }),
        ("lookups_by_github_id_and_pipeline_follow_updates", |s| {
            Box::pin(store_contract::lookups_by_github_id_and_pipeline_follow_updates(s))
        }),
        ("deployments_by_sha_newest_first", |s| {
            Box::pin(store_contract::deployments_by_sha_newest_first(s))
        }),
        ("list_deployments_newest_first_per_repository", |s| {
            Box::pin(store_contract::list_deployments_newest_first_per_repository(s))
        }),
        ("list_deployments_per_environment", |s| {
            Box::pin(store_contract::list_deployments_per_environment(s))
        }),
        ("waiting_deployments_oldest_first_before_time", |s| {
            Box::pin(store_contract::waiting_deployments_oldest_first_before_time(s))
        }),
        ("waiting_deployment_leaves_index_when_state_changes", |s| {
            Box::pin(store_contract::waiting_deployment_leaves_index_when_state_changes(s))
        }),
        ("record_delivery_until_expiry", |s| {
            Box::pin(store_contract::record_delivery_until_expiry(s))
        }),
        ("forget_delivery_allows_again", |s| {
            Box::pin(store_contract::forget_delivery_allows_again(s))
        }),
    ];
    let log = OperationLog::default();
    let client = client(&log);
    for (name, property) in properties {
        let tables = unique_tables();
        create_tables(&client, &tables)
            .await
            .expect("create tables");
        log.clear();
        property(Arc::new(DynamoStore::new(client.clone(), tables))).await;
        let counts = log.counts();
        assert!(!counts.is_empty(), "{name} sent no request");
        let allowed = [
            "GetItem",
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "Query",
            "BatchGetItem",
            "TransactWriteItems",
        ];
        for operation in counts.keys() {
            assert!(
                allowed.contains(&operation.as_str()),
                "{name} used {operation}: {counts:?}"
            );
        }
        assert_eq!(counts.get("Scan"), None, "{name}: {counts:?}");
    }
}

/// The guard that makes the contract tests fail on a `Scan` really refuses one.
#[tokio::test]
async fn scan_guard_refuses_scans() {
    let h = harness().await;
    let result = h.client.scan().table_name(&h.tables.project).send().await;
    assert!(result.is_err(), "the interceptor must refuse Scan");
    assert_eq!(h.log.operations(), vec!["Scan".to_owned()]);
}

/// No code path in the store can issue a `Scan`: the SDK's scan builder is never named.
#[test]
fn store_source_never_names_a_scan() {
    let sources = [
        ("mod.rs", include_str!("../src/dynamo/mod.rs")),
        ("codec.rs", include_str!("../src/dynamo/codec.rs")),
        ("projects.rs", include_str!("../src/dynamo/projects.rs")),
        ("users.rs", include_str!("../src/dynamo/users.rs")),
        (
            "deployments.rs",
            include_str!("../src/dynamo/deployments.rs"),
        ),
        ("deliveries.rs", include_str!("../src/dynamo/deliveries.rs")),
        ("schema.rs", include_str!("../src/dynamo/schema.rs")),
        ("tables.rs", include_str!("../src/dynamo/tables.rs")),
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
    create_tables(&h.client, &h.tables)
        .await
        .expect("second create_tables is fine");
    for spec in &TABLE_SPECS {
        let described = h
            .client
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
    h.client
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

    let missing = DynamoStore::new(h.client.clone(), TableNames::with_prefix("dbt-missing"));
    match missing.project_by_channel(&channel("C0WEB")).await {
        Err(StoreError::Backend(message)) => {
            assert!(message.contains("dbt-missing-project"), "{message}");
            assert!(message.contains("project_by_channel"), "{message}");
        }
        other => panic!("expected Backend, got {other:?}"),
    }
}
