//! The embedded on-disk store: the role ports on one redb file, one Rust file per table
//! (`projects`, `users`, `deployments`, `deliveries`, `lanes`, as the DynamoDB adapter has
//! them), with
//! the same tables and indexes as DynamoDB (see docs/adr/0003-store-tables-and-indexes.md). Records are JSON
//! values; every index is its own table whose ordered key answers one query with a range, so
//! no call reads more than it returns. Each write runs in one redb write transaction, and redb
//! runs one write transaction at a time: a uniqueness check and the writes that follow it are
//! atomic. redb blocks, so every call runs on tokio's blocking pool.

mod deliveries;
mod deployments;
mod lanes;
mod projects;
mod users;

use async_trait::async_trait;
use deploybot_core::lane::{LaneKey, LaneRecord, LockHistoryEntry};
use deploybot_core::ports::{
    BindOutcome, Claim, DeliveryStore, DeploymentStore, InsertOutcome, LaneSaved, LaneStore,
    LinkOutcome, MoveOutcome, ProjectStore, StoreError, UpdateOutcome, UserStore,
};
use deploybot_core::{
    Deployment, DeploymentId, DeploymentState, Environment, GithubLogin, Project, Repository, Sha,
    SlackChannelId, SlackTeamId, SlackUserId, Timestamp, Unbinding, UserLink,
};
use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, Table, TableDefinition,
    WriteTransaction,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::Arc;

// ---- tables ---------------------------------------------------------------------------------

/// repository → project JSON.
const PROJECTS: TableDefinition<&str, &str> = TableDefinition::new("projects");
/// channel → repository (the project table's channel index).
const PROJECT_BY_CHANNEL: TableDefinition<&str, &str> = TableDefinition::new("project_by_channel");
/// repository → its last unbinding JSON.
const UNBINDINGS: TableDefinition<&str, &str> = TableDefinition::new("unbindings");
/// (GitHub repository id, repository) of bindings with a `github_id` (the project table's
/// GitHub id index).
const PROJECT_BY_GITHUB_ID: TableDefinition<(u64, &str), ()> =
    TableDefinition::new("project_by_github_id");
/// Slack workspaces whose tokens were revoked.
const REVOKED_TEAMS: TableDefinition<&str, ()> = TableDefinition::new("revoked_teams");
/// GitHub login → user link JSON.
const USERS: TableDefinition<&str, &str> = TableDefinition::new("users");
/// Slack user → GitHub login (the user table's Slack index).
const USER_BY_SLACK: TableDefinition<&str, &str> = TableDefinition::new("user_by_slack");
/// Slack user → the person's own settings JSON (direct-message preference, Home tab).
const PEOPLE: TableDefinition<&str, &str> = TableDefinition::new("people");
/// (repository, deployment id) → deployment JSON; ids sort newest first.
const DEPLOYMENTS: TableDefinition<(&str, &str), &str> = TableDefinition::new("deployments");
/// GitHub deployment id → (repository, deployment id).
const DEPLOYMENT_BY_GITHUB_ID: TableDefinition<u64, (&str, &str)> =
    TableDefinition::new("deployment_by_github_id");
/// CI pipeline id → (repository, deployment id).
const DEPLOYMENT_BY_PIPELINE: TableDefinition<&str, (&str, &str)> =
    TableDefinition::new("deployment_by_pipeline");
/// (repository, sha, deployment id), newest first per commit.
const DEPLOYMENTS_BY_SHA: TableDefinition<(&str, &str, &str), ()> =
    TableDefinition::new("deployments_by_sha");
/// (repository, environment, deployment id), newest first per environment.
const DEPLOYMENTS_BY_ENVIRONMENT: TableDefinition<(&str, &str, &str), ()> =
    TableDefinition::new("deployments_by_environment");
/// (created_at, repository, deployment id) of deployments in `waiting_for_checks` only.
const WAITING_DEPLOYMENTS: TableDefinition<(i64, &str, &str), ()> =
    TableDefinition::new("waiting_deployments");
/// (repository, environment, seq, deployment id) of pending deployments (`waiting`, `ready`,
/// `waiting_for_checks`) only: each lane's queue in `seq` order.
const PENDING_DEPLOYMENTS: TableDefinition<(&str, &str, u64, &str), ()> =
    TableDefinition::new("pending_deployments");
/// (repository, environment, deployment id) of deployments that succeeded (`succeeded_at`
/// set) only, newest first per lane: a rollback's history.
const SUCCEEDED_DEPLOYMENTS: TableDefinition<(&str, &str, &str), ()> =
    TableDefinition::new("succeeded_deployments");
/// (repository, environment, rollback deployment id) → rolled-back range JSON, newest
/// rollback first per lane.
const BAD_RANGES: TableDefinition<(&str, &str, &str), &str> = TableDefinition::new("bad_ranges");
/// (repository, approval sort key `approval#<environment>#<sha>#<workflow>`) → approval
/// request JSON.
const APPROVALS: TableDefinition<(&str, &str), &str> = TableDefinition::new("approvals");
/// (repository, deployment id) → "What's shipping" record JSON, written once.
const SHIPPING: TableDefinition<(&str, &str), &str> = TableDefinition::new("shipping");
/// (channel, Slack user) → when the person last opened a Home tab showing the channel's
/// repository (milliseconds).
const HOME_VIEWERS: TableDefinition<(&str, &str), i64> = TableDefinition::new("home_viewers");
/// (repository, key) → when a one-time notice was taken (milliseconds).
const NOTICES: TableDefinition<(&str, &str), i64> = TableDefinition::new("notices");
/// (repository, environment) → lane record JSON.
const LANES: TableDefinition<(&str, &str), &str> = TableDefinition::new("lanes");
/// (repository, environment) → the lane's last arrival number handed out.
const LANE_SEQ: TableDefinition<(&str, &str), u64> = TableDefinition::new("lane_seq");
/// (repository, environment, at, number) → lock history entry JSON; `number` orders the
/// entries of one instant as they were recorded.
const LOCK_HISTORY: TableDefinition<(&str, &str, i64, u64), &str> =
    TableDefinition::new("lock_history");
/// (due_at, repository, environment) of lanes with a `due_at` only, earliest first.
const LANES_DUE: TableDefinition<(i64, &str, &str), ()> = TableDefinition::new("lanes_due");
/// idempotency key → expires_at (milliseconds): the lease's end while leased, the end of the
/// keep time once done.
const DELIVERIES: TableDefinition<&str, i64> = TableDefinition::new("deliveries");
/// idempotency keys whose work is done (absent: leased).
const DELIVERIES_DONE: TableDefinition<&str, ()> = TableDefinition::new("deliveries_done");
/// (expires_at, key): expiry order, so expired deliveries are dropped without a scan.
const DELIVERY_EXPIRY: TableDefinition<(i64, &str), ()> = TableDefinition::new("delivery_expiry");

/// At most this many expired deliveries are dropped per `claim_delivery` (the local
/// counterpart of DynamoDB's background TTL deletion, kept small so no call does much more
/// work than the others).
const EXPIRED_DELIVERIES_PER_CALL: usize = 32;

/// The store port on a redb file. Cloning shares the open database.
#[derive(Clone)]
pub struct RedbStore {
    database: Arc<Database>,
    path: PathBuf,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Maps any redb error to [`StoreError::Backend`] with what was being done.
trait OrBackend<T> {
    fn or_backend(self, context: &str) -> Result<T, StoreError>;
}

impl<T, E: Display> OrBackend<T> for Result<T, E> {
    fn or_backend(self, context: &str) -> Result<T, StoreError> {
        self.map_err(|error| StoreError::Backend(format!("{context}: {error}")))
    }
}

fn encode<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|error| StoreError::Backend(format!("encoding a record: {error}")))
}

fn decode<T: DeserializeOwned>(table: &str, key: &str, json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json)
        .map_err(|error| StoreError::Corrupt(format!("{table} {key}: {error}")))
}

impl RedbStore {
    /// Opens the store at `path`, creating the file (and its parent directories) when it does
    /// not exist. Blocks on file I/O: call it from a blocking context, or use
    /// [`RedbStore::open`].
    pub fn open_blocking(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).or_backend(&format!(
                "creating the store directory {}",
                parent.display()
            ))?;
        }
        let database = Database::create(&path)
            .or_backend(&format!("opening the store file {}", path.display()))?;
        // Create every table once, so readers never meet a missing one.
        let transaction = database.begin_write().or_backend("starting a write")?;
        transaction.open_table(PROJECTS).or_backend("projects")?;
        transaction
            .open_table(PROJECT_BY_CHANNEL)
            .or_backend("project_by_channel")?;
        transaction
            .open_table(UNBINDINGS)
            .or_backend("unbindings")?;
        transaction
            .open_table(PROJECT_BY_GITHUB_ID)
            .or_backend("project_by_github_id")?;
        transaction
            .open_table(REVOKED_TEAMS)
            .or_backend("revoked_teams")?;
        transaction.open_table(USERS).or_backend("users")?;
        transaction
            .open_table(USER_BY_SLACK)
            .or_backend("user_by_slack")?;
        transaction.open_table(PEOPLE).or_backend("people")?;
        DeploymentTables::open(&transaction)?;
        transaction
            .open_table(DELIVERIES)
            .or_backend("deliveries")?;
        transaction
            .open_table(DELIVERY_EXPIRY)
            .or_backend("delivery_expiry")?;
        transaction
            .open_table(DELIVERIES_DONE)
            .or_backend("deliveries_done")?;
        transaction.open_table(LANES).or_backend("lanes")?;
        transaction.open_table(LANE_SEQ).or_backend("lane_seq")?;
        transaction
            .open_table(LOCK_HISTORY)
            .or_backend("lock_history")?;
        transaction.open_table(LANES_DUE).or_backend("lanes_due")?;
        transaction
            .open_table(BAD_RANGES)
            .or_backend("bad_ranges")?;
        transaction.open_table(APPROVALS).or_backend("approvals")?;
        transaction.open_table(SHIPPING).or_backend("shipping")?;
        transaction.open_table(NOTICES).or_backend("notices")?;
        transaction
            .open_table(HOME_VIEWERS)
            .or_backend("home_viewers")?;
        transaction.commit().or_backend("creating the tables")?;
        Ok(Self {
            database: Arc::new(database),
            path,
        })
    }

    /// [`RedbStore::open_blocking`] on tokio's blocking pool.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        tokio::task::spawn_blocking(move || Self::open_blocking(path))
            .await
            .map_err(|error| StoreError::Backend(format!("opening the store: {error}")))?
    }

    /// The file this store keeps its data in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `operation` in a read transaction on the blocking pool.
    async fn read<T, F>(&self, operation: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        let database = Arc::clone(&self.database);
        tokio::task::spawn_blocking(move || {
            let transaction = database.begin_read().or_backend("starting a read")?;
            operation(&transaction)
        })
        .await
        .map_err(|error| StoreError::Backend(format!("store task: {error}")))?
    }

    /// Runs `operation` in a write transaction on the blocking pool and commits it when it
    /// succeeds (an error drops the transaction, which aborts it).
    async fn write<T, F>(&self, operation: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        let database = Arc::clone(&self.database);
        tokio::task::spawn_blocking(move || {
            let transaction = database.begin_write().or_backend("starting a write")?;
            let result = operation(&transaction)?;
            transaction.commit().or_backend("committing")?;
            Ok(result)
        })
        .await
        .map_err(|error| StoreError::Backend(format!("store task: {error}")))?
    }
}

// ---- reading helpers ------------------------------------------------------------------------

/// The JSON record under `key` in a `&str → JSON` table, decoded.
fn get_json<T: DeserializeOwned>(
    table: &impl ReadableTable<&'static str, &'static str>,
    table_name: &str,
    key: &str,
) -> Result<Option<T>, StoreError> {
    match table.get(key).or_backend(table_name)? {
        Some(json) => decode(table_name, key, json.value()).map(Some),
        None => Ok(None),
    }
}

/// The string under `key` in a `&str → &str` table.
fn get_string(
    table: &impl ReadableTable<&'static str, &'static str>,
    table_name: &str,
    key: &str,
) -> Result<Option<String>, StoreError> {
    Ok(table
        .get(key)
        .or_backend(table_name)?
        .map(|value| value.value().to_owned()))
}

fn get_deployment_in(
    deployments: &impl ReadableTable<(&'static str, &'static str), &'static str>,
    repository: &str,
    id: &str,
) -> Result<Option<Deployment>, StoreError> {
    match deployments
        .get((repository, id))
        .or_backend("deployments")?
    {
        Some(json) => decode("deployments", &format!("{repository} {id}"), json.value()).map(Some),
        None => Ok(None),
    }
}

/// The deployment an index entry `(repository, id)` points to.
fn deployment_by_index_entry(
    transaction: &ReadTransaction,
    entry: Option<(String, String)>,
) -> Result<Option<Deployment>, StoreError> {
    let Some((repository, id)) = entry else {
        return Ok(None);
    };
    let deployments = transaction
        .open_table(DEPLOYMENTS)
        .or_backend("deployments")?;
    get_deployment_in(&deployments, &repository, &id)
}

/// The deployments of `repository` whose ids an index range yields, in that order.
fn deployments_by_ids(
    transaction: &ReadTransaction,
    repository: &str,
    ids: Vec<String>,
) -> Result<Vec<Deployment>, StoreError> {
    let deployments = transaction
        .open_table(DEPLOYMENTS)
        .or_backend("deployments")?;
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        match get_deployment_in(&deployments, repository, &id)? {
            Some(deployment) => found.push(deployment),
            None => {
                return Err(StoreError::Corrupt(format!(
                    "an index points to the missing deployment {repository} {id}"
                )));
            }
        }
    }
    Ok(found)
}

/// The ids of the first `limit` entries of a `(repository, part, id)` index for one
/// `(repository, part)` prefix, in key order (newest first).
fn index_ids(
    transaction: &ReadTransaction,
    index: TableDefinition<(&'static str, &'static str, &'static str), ()>,
    index_name: &str,
    repository: &str,
    part: &str,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    let table = transaction.open_table(index).or_backend(index_name)?;
    let mut ids = Vec::new();
    if limit == 0 {
        return Ok(ids);
    }
    for entry in table
        .range((repository, part, "")..)
        .or_backend(index_name)?
    {
        let (key, _) = entry.or_backend(index_name)?;
        let (entry_repository, entry_part, id) = key.value();
        if entry_repository != repository || entry_part != part {
            break;
        }
        ids.push(id.to_owned());
        if ids.len() == limit {
            break;
        }
    }
    Ok(ids)
}

// ---- deployment tables in a write ------------------------------------------------------------

/// The deployment table and its indexes, opened in one write transaction.
struct DeploymentTables<'txn> {
    deployments: Table<'txn, (&'static str, &'static str), &'static str>,
    by_github_id: Table<'txn, u64, (&'static str, &'static str)>,
    by_pipeline: Table<'txn, &'static str, (&'static str, &'static str)>,
    by_sha: Table<'txn, (&'static str, &'static str, &'static str), ()>,
    by_environment: Table<'txn, (&'static str, &'static str, &'static str), ()>,
    waiting: Table<'txn, (i64, &'static str, &'static str), ()>,
    pending: Table<'txn, (&'static str, &'static str, u64, &'static str), ()>,
    succeeded: Table<'txn, (&'static str, &'static str, &'static str), ()>,
}

impl<'txn> DeploymentTables<'txn> {
    fn open(transaction: &'txn WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            deployments: transaction
                .open_table(DEPLOYMENTS)
                .or_backend("deployments")?,
            by_github_id: transaction
                .open_table(DEPLOYMENT_BY_GITHUB_ID)
                .or_backend("deployment_by_github_id")?,
            by_pipeline: transaction
                .open_table(DEPLOYMENT_BY_PIPELINE)
                .or_backend("deployment_by_pipeline")?,
            by_sha: transaction
                .open_table(DEPLOYMENTS_BY_SHA)
                .or_backend("deployments_by_sha")?,
            by_environment: transaction
                .open_table(DEPLOYMENTS_BY_ENVIRONMENT)
                .or_backend("deployments_by_environment")?,
            waiting: transaction
                .open_table(WAITING_DEPLOYMENTS)
                .or_backend("waiting_deployments")?,
            pending: transaction
                .open_table(PENDING_DEPLOYMENTS)
                .or_backend("pending_deployments")?,
            succeeded: transaction
                .open_table(SUCCEEDED_DEPLOYMENTS)
                .or_backend("succeeded_deployments")?,
        })
    }

    /// Writes the record and every index entry its attributes call for.
    fn put(&mut self, deployment: &Deployment) -> Result<(), StoreError> {
        let repository = deployment.repository.as_str();
        let id = deployment.id.as_str();
        let key = (repository, id);
        self.deployments
            .insert(key, encode(deployment)?.as_str())
            .or_backend("deployments")?;
        if let Some(github_id) = deployment.github_deployment_id {
            self.by_github_id
                .insert(github_id, key)
                .or_backend("deployment_by_github_id")?;
        }
        if let Some(pipeline) = &deployment.pipeline_id {
            self.by_pipeline
                .insert(pipeline.as_str(), key)
                .or_backend("deployment_by_pipeline")?;
        }
        self.by_sha
            .insert((repository, deployment.sha.as_str(), id), ())
            .or_backend("deployments_by_sha")?;
        let environment = deployment.environment.to_string();
        self.by_environment
            .insert((repository, environment.as_str(), id), ())
            .or_backend("deployments_by_environment")?;
        if deployment.state == DeploymentState::WaitingForChecks {
            self.waiting
                .insert((deployment.created_at.millis(), repository, id), ())
                .or_backend("waiting_deployments")?;
        }
        if deployment.state.is_pending() {
            self.pending
                .insert((repository, environment.as_str(), deployment.seq, id), ())
                .or_backend("pending_deployments")?;
        }
        if deployment.succeeded_at.is_some() {
            self.succeeded
                .insert((repository, environment.as_str(), id), ())
                .or_backend("succeeded_deployments")?;
        }
        Ok(())
    }

    /// Removes the index entries of `deployment` as it was stored (the record itself is
    /// overwritten by the following `put`).
    fn unindex(&mut self, deployment: &Deployment) -> Result<(), StoreError> {
        let repository = deployment.repository.as_str();
        let id = deployment.id.as_str();
        if let Some(github_id) = deployment.github_deployment_id {
            let points_here = self
                .by_github_id
                .get(github_id)
                .or_backend("deployment_by_github_id")?
                .is_some_and(|entry| entry.value() == (repository, id));
            if points_here {
                self.by_github_id
                    .remove(github_id)
                    .or_backend("deployment_by_github_id")?;
            }
        }
        if let Some(pipeline) = &deployment.pipeline_id {
            let points_here = self
                .by_pipeline
                .get(pipeline.as_str())
                .or_backend("deployment_by_pipeline")?
                .is_some_and(|entry| entry.value() == (repository, id));
            if points_here {
                self.by_pipeline
                    .remove(pipeline.as_str())
                    .or_backend("deployment_by_pipeline")?;
            }
        }
        self.by_sha
            .remove((repository, deployment.sha.as_str(), id))
            .or_backend("deployments_by_sha")?;
        let environment = deployment.environment.to_string();
        self.by_environment
            .remove((repository, environment.as_str(), id))
            .or_backend("deployments_by_environment")?;
        self.waiting
            .remove((deployment.created_at.millis(), repository, id))
            .or_backend("waiting_deployments")?;
        self.pending
            .remove((repository, environment.as_str(), deployment.seq, id))
            .or_backend("pending_deployments")?;
        self.succeeded
            .remove((repository, environment.as_str(), id))
            .or_backend("succeeded_deployments")?;
        Ok(())
    }
}

// ---- the port -------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_record_that_does_not_decode_is_corrupt() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = RedbStore::open(dir.path().join("deploybot.redb"))
            .await
            .expect("open");
        let transaction = store.database.begin_write().expect("write");
        {
            let mut projects = transaction.open_table(PROJECTS).expect("projects");
            projects
                .insert("acme/web", "{\"repository\": 42}")
                .expect("insert");
        }
        transaction.commit().expect("commit");
        let repository = Repository::parse("acme/web").expect("valid");
        match store.project_by_repository(&repository).await {
            Err(StoreError::Corrupt(message)) => {
                assert!(message.contains("acme/web"), "names the key: {message}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
}
