//! The embedded on-disk store: the store port on one redb file, with the same tables and
//! indexes as DynamoDB (see docs/adr/0003-store-tables-and-indexes.md). Records are JSON
//! values; every index is its own table whose ordered key answers one query with a range, so
//! no call reads more than it returns. Each write runs in one redb write transaction, and redb
//! runs one write transaction at a time: a uniqueness check and the writes that follow it are
//! atomic. redb blocks, so every call runs on tokio's blocking pool.

use async_trait::async_trait;
use deploybot_core::ports::{
    BindOutcome, Claim, DeliveryStore, DeploymentStore, InsertOutcome, LinkOutcome, ProjectStore,
    StoreError, UpdateOutcome, UserStore,
};
use deploybot_core::{
    Deployment, DeploymentId, DeploymentState, Environment, GithubLogin, Project, Repository, Sha,
    SlackChannelId, SlackTeamId, SlackUserId, Timestamp, UserLink,
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
/// Slack workspaces whose tokens were revoked.
const REVOKED_TEAMS: TableDefinition<&str, ()> = TableDefinition::new("revoked_teams");
/// GitHub login → user link JSON.
const USERS: TableDefinition<&str, &str> = TableDefinition::new("users");
/// Slack user → GitHub login (the user table's Slack index).
const USER_BY_SLACK: TableDefinition<&str, &str> = TableDefinition::new("user_by_slack");
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
            .open_table(REVOKED_TEAMS)
            .or_backend("revoked_teams")?;
        transaction.open_table(USERS).or_backend("users")?;
        transaction
            .open_table(USER_BY_SLACK)
            .or_backend("user_by_slack")?;
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
        Ok(())
    }
}

// ---- the port -------------------------------------------------------------------------------

#[async_trait]
impl ProjectStore for RedbStore {
    async fn bind_project(&self, project: &Project) -> Result<BindOutcome, StoreError> {
        let project = project.clone();
        self.write(move |transaction| {
            let mut projects = transaction.open_table(PROJECTS).or_backend("projects")?;
            let mut by_channel = transaction
                .open_table(PROJECT_BY_CHANNEL)
                .or_backend("project_by_channel")?;
            let repository = project.repository.as_str();
            let channel = project.channel.as_str();
            if let Some(existing) = get_json::<Project>(&projects, "projects", repository)? {
                return Ok(if existing.channel == project.channel {
                    BindOutcome::AlreadyBound
                } else {
                    BindOutcome::RepositoryTaken {
                        channel: existing.channel,
                    }
                });
            }
            if let Some(bound) = get_string(&by_channel, "project_by_channel", channel)? {
                let repository = Repository::parse(&bound).map_err(|error| {
                    StoreError::Corrupt(format!("project_by_channel {channel}: {error}"))
                })?;
                return Ok(BindOutcome::ChannelTaken { repository });
            }
            projects
                .insert(repository, encode(&project)?.as_str())
                .or_backend("projects")?;
            by_channel
                .insert(channel, repository)
                .or_backend("project_by_channel")?;
            Ok(BindOutcome::Bound)
        })
        .await
    }

    async fn project_by_channel(
        &self,
        channel: &SlackChannelId,
    ) -> Result<Option<Project>, StoreError> {
        let channel = channel.clone();
        self.read(move |transaction| {
            let by_channel = transaction
                .open_table(PROJECT_BY_CHANNEL)
                .or_backend("project_by_channel")?;
            let Some(repository) = get_string(&by_channel, "project_by_channel", channel.as_str())?
            else {
                return Ok(None);
            };
            let projects = transaction.open_table(PROJECTS).or_backend("projects")?;
            get_json(&projects, "projects", &repository)
        })
        .await
    }

    async fn project_by_repository(
        &self,
        repository: &Repository,
    ) -> Result<Option<Project>, StoreError> {
        let repository = repository.clone();
        self.read(move |transaction| {
            let projects = transaction.open_table(PROJECTS).or_backend("projects")?;
            get_json(&projects, "projects", repository.as_str())
        })
        .await
    }

    async fn update_project(&self, project: &Project) -> Result<bool, StoreError> {
        let project = project.clone();
        self.write(move |transaction| {
            let mut projects = transaction.open_table(PROJECTS).or_backend("projects")?;
            let repository = project.repository.as_str();
            let Some(mut stored) = get_json::<Project>(&projects, "projects", repository)? else {
                return Ok(false);
            };
            if stored.channel != project.channel {
                return Ok(false);
            }
            stored.channel_name = project.channel_name;
            stored.team = project.team;
            stored.settings = project.settings;
            projects
                .insert(repository, encode(&stored)?.as_str())
                .or_backend("projects")?;
            Ok(true)
        })
        .await
    }

    async fn unbind_project(
        &self,
        channel: &SlackChannelId,
    ) -> Result<Option<Project>, StoreError> {
        let channel = channel.clone();
        self.write(move |transaction| {
            let mut by_channel = transaction
                .open_table(PROJECT_BY_CHANNEL)
                .or_backend("project_by_channel")?;
            let Some(repository) = by_channel
                .remove(channel.as_str())
                .or_backend("project_by_channel")?
                .map(|value| value.value().to_owned())
            else {
                return Ok(None);
            };
            let mut projects = transaction.open_table(PROJECTS).or_backend("projects")?;
            let removed = projects
                .remove(repository.as_str())
                .or_backend("projects")?
                .map(|json| json.value().to_owned());
            removed
                .map(|json| decode("projects", &repository, &json))
                .transpose()
        })
        .await
    }

    async fn set_team_revoked(&self, team: &SlackTeamId, revoked: bool) -> Result<(), StoreError> {
        let team = team.clone();
        self.write(move |transaction| {
            let mut revoked_teams = transaction
                .open_table(REVOKED_TEAMS)
                .or_backend("revoked_teams")?;
            if revoked {
                revoked_teams
                    .insert(team.as_str(), ())
                    .or_backend("revoked_teams")?;
            } else {
                revoked_teams
                    .remove(team.as_str())
                    .or_backend("revoked_teams")?;
            }
            Ok(())
        })
        .await
    }

    async fn is_team_revoked(&self, team: &SlackTeamId) -> Result<bool, StoreError> {
        let team = team.clone();
        self.read(move |transaction| {
            let revoked_teams = transaction
                .open_table(REVOKED_TEAMS)
                .or_backend("revoked_teams")?;
            Ok(revoked_teams
                .get(team.as_str())
                .or_backend("revoked_teams")?
                .is_some())
        })
        .await
    }
}

#[async_trait]
impl UserStore for RedbStore {
    async fn link_user(&self, link: &UserLink) -> Result<LinkOutcome, StoreError> {
        let link = link.clone();
        self.write(move |transaction| {
            let mut users = transaction.open_table(USERS).or_backend("users")?;
            let mut by_slack = transaction
                .open_table(USER_BY_SLACK)
                .or_backend("user_by_slack")?;
            let login = link.github_login.as_str();
            let slack_user = link.slack_user.as_str();
            if let Some(existing) = get_json::<UserLink>(&users, "users", login)? {
                return Ok(if existing.slack_user == link.slack_user {
                    LinkOutcome::AlreadyLinked
                } else {
                    LinkOutcome::LoginTaken {
                        slack_user: existing.slack_user,
                    }
                });
            }
            if let Some(claimed) = get_string(&by_slack, "user_by_slack", slack_user)? {
                let github_login = GithubLogin::parse(&claimed).map_err(|error| {
                    StoreError::Corrupt(format!("user_by_slack {slack_user}: {error}"))
                })?;
                return Ok(LinkOutcome::SlackUserTaken { github_login });
            }
            users
                .insert(login, encode(&link)?.as_str())
                .or_backend("users")?;
            by_slack
                .insert(slack_user, login)
                .or_backend("user_by_slack")?;
            Ok(LinkOutcome::Linked)
        })
        .await
    }

    async fn user_by_login(&self, login: &GithubLogin) -> Result<Option<UserLink>, StoreError> {
        let login = login.clone();
        self.read(move |transaction| {
            let users = transaction.open_table(USERS).or_backend("users")?;
            get_json(&users, "users", login.as_str())
        })
        .await
    }

    async fn user_by_slack(&self, user: &SlackUserId) -> Result<Option<UserLink>, StoreError> {
        let user = user.clone();
        self.read(move |transaction| {
            let by_slack = transaction
                .open_table(USER_BY_SLACK)
                .or_backend("user_by_slack")?;
            let Some(login) = get_string(&by_slack, "user_by_slack", user.as_str())? else {
                return Ok(None);
            };
            let users = transaction.open_table(USERS).or_backend("users")?;
            get_json(&users, "users", &login)
        })
        .await
    }

    async fn users_by_logins(&self, logins: &[GithubLogin]) -> Result<Vec<UserLink>, StoreError> {
        let mut logins = logins.to_vec();
        logins.sort();
        logins.dedup();
        self.read(move |transaction| {
            let users = transaction.open_table(USERS).or_backend("users")?;
            let mut found = Vec::new();
            for login in &logins {
                if let Some(link) = get_json(&users, "users", login.as_str())? {
                    found.push(link);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn unlink_user(&self, user: &SlackUserId) -> Result<Option<UserLink>, StoreError> {
        let user = user.clone();
        self.write(move |transaction| {
            let mut by_slack = transaction
                .open_table(USER_BY_SLACK)
                .or_backend("user_by_slack")?;
            let Some(login) = by_slack
                .remove(user.as_str())
                .or_backend("user_by_slack")?
                .map(|value| value.value().to_owned())
            else {
                return Ok(None);
            };
            let mut users = transaction.open_table(USERS).or_backend("users")?;
            let removed = users
                .remove(login.as_str())
                .or_backend("users")?
                .map(|json| json.value().to_owned());
            removed
                .map(|json| decode("users", &login, &json))
                .transpose()
        })
        .await
    }
}

#[async_trait]
impl DeploymentStore for RedbStore {
    async fn insert_deployment(
        &self,
        deployment: &Deployment,
    ) -> Result<InsertOutcome, StoreError> {
        let deployment = deployment.clone();
        self.write(move |transaction| {
            let mut tables = DeploymentTables::open(transaction)?;
            if let Some(existing) = get_deployment_in(
                &tables.deployments,
                deployment.repository.as_str(),
                deployment.id.as_str(),
            )? {
                return Ok(InsertOutcome::AlreadyExists(Box::new(existing)));
            }
            tables.put(&deployment)?;
            Ok(InsertOutcome::Inserted)
        })
        .await
    }

    async fn get_deployment(
        &self,
        repository: &Repository,
        id: &DeploymentId,
    ) -> Result<Option<Deployment>, StoreError> {
        let entry = Some((repository.as_str().to_owned(), id.as_str().to_owned()));
        self.read(move |transaction| deployment_by_index_entry(transaction, entry))
            .await
    }

    async fn update_deployment(
        &self,
        deployment: &Deployment,
    ) -> Result<UpdateOutcome, StoreError> {
        let deployment = deployment.clone();
        self.write(move |transaction| {
            let mut tables = DeploymentTables::open(transaction)?;
            let Some(stored) = get_deployment_in(
                &tables.deployments,
                deployment.repository.as_str(),
                deployment.id.as_str(),
            )?
            else {
                return Ok(UpdateOutcome::NotFound);
            };
            if stored.version != deployment.version {
                return Ok(UpdateOutcome::Conflict(Box::new(stored)));
            }
            let mut saved = deployment;
            saved.version = stored.version.checked_add(1).ok_or_else(|| {
                StoreError::Corrupt(format!("deployment {} version overflow", stored.id))
            })?;
            tables.unindex(&stored)?;
            tables.put(&saved)?;
            Ok(UpdateOutcome::Updated(Box::new(saved)))
        })
        .await
    }

    async fn deployment_by_github_id(
        &self,
        github_deployment_id: u64,
    ) -> Result<Option<Deployment>, StoreError> {
        self.read(move |transaction| {
            let index = transaction
                .open_table(DEPLOYMENT_BY_GITHUB_ID)
                .or_backend("deployment_by_github_id")?;
            let entry = index
                .get(github_deployment_id)
                .or_backend("deployment_by_github_id")?
                .map(|entry| {
                    let (repository, id) = entry.value();
                    (repository.to_owned(), id.to_owned())
                });
            deployment_by_index_entry(transaction, entry)
        })
        .await
    }

    async fn deployment_by_pipeline(
        &self,
        pipeline_id: &str,
    ) -> Result<Option<Deployment>, StoreError> {
        let pipeline_id = pipeline_id.to_owned();
        self.read(move |transaction| {
            let index = transaction
                .open_table(DEPLOYMENT_BY_PIPELINE)
                .or_backend("deployment_by_pipeline")?;
            let entry = index
                .get(pipeline_id.as_str())
                .or_backend("deployment_by_pipeline")?
                .map(|entry| {
                    let (repository, id) = entry.value();
                    (repository.to_owned(), id.to_owned())
                });
            deployment_by_index_entry(transaction, entry)
        })
        .await
    }

    async fn deployments_by_sha(
        &self,
        repository: &Repository,
        sha: &Sha,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        let repository = repository.clone();
        let sha = sha.clone();
        self.read(move |transaction| {
            let ids = index_ids(
                transaction,
                DEPLOYMENTS_BY_SHA,
                "deployments_by_sha",
                repository.as_str(),
                sha.as_str(),
                limit,
            )?;
            deployments_by_ids(transaction, repository.as_str(), ids)
        })
        .await
    }

    async fn list_deployments(
        &self,
        repository: &Repository,
        environment: Option<Environment>,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        let repository = repository.clone();
        self.read(move |transaction| {
            if let Some(environment) = environment {
                let ids = index_ids(
                    transaction,
                    DEPLOYMENTS_BY_ENVIRONMENT,
                    "deployments_by_environment",
                    repository.as_str(),
                    &environment.to_string(),
                    limit,
                )?;
                return deployments_by_ids(transaction, repository.as_str(), ids);
            }
            let deployments = transaction
                .open_table(DEPLOYMENTS)
                .or_backend("deployments")?;
            let mut found = Vec::new();
            if limit == 0 {
                return Ok(found);
            }
            for entry in deployments
                .range((repository.as_str(), "")..)
                .or_backend("deployments")?
            {
                let (key, json) = entry.or_backend("deployments")?;
                let (entry_repository, id) = key.value();
                if entry_repository != repository.as_str() {
                    break;
                }
                found.push(decode(
                    "deployments",
                    &format!("{entry_repository} {id}"),
                    json.value(),
                )?);
                if found.len() == limit {
                    break;
                }
            }
            Ok(found)
        })
        .await
    }

    async fn waiting_deployments(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        self.read(move |transaction| {
            let waiting = transaction
                .open_table(WAITING_DEPLOYMENTS)
                .or_backend("waiting_deployments")?;
            let mut entries = Vec::new();
            if limit > 0 {
                for entry in waiting
                    .range(..(before.millis(), "", ""))
                    .or_backend("waiting_deployments")?
                {
                    let (key, _) = entry.or_backend("waiting_deployments")?;
                    let (_, repository, id) = key.value();
                    entries.push((repository.to_owned(), id.to_owned()));
                    if entries.len() == limit {
                        break;
                    }
                }
            }
            let deployments = transaction
                .open_table(DEPLOYMENTS)
                .or_backend("deployments")?;
            let mut found = Vec::with_capacity(entries.len());
            for (repository, id) in entries {
                match get_deployment_in(&deployments, &repository, &id)? {
                    Some(deployment) => found.push(deployment),
                    None => {
                        return Err(StoreError::Corrupt(format!(
                            "waiting_deployments points to the missing deployment {repository} {id}"
                        )));
                    }
                }
            }
            Ok(found)
        })
        .await
    }
}

#[async_trait]
impl DeliveryStore for RedbStore {
    async fn claim_delivery(
        &self,
        key: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claim, StoreError> {
        let expires_at = lease_until;
        let key = key.to_owned();
        self.write(move |transaction| {
            let mut deliveries = transaction
                .open_table(DELIVERIES)
                .or_backend("deliveries")?;
            let mut expiry = transaction
                .open_table(DELIVERY_EXPIRY)
                .or_backend("delivery_expiry")?;

            // Drop a few expired deliveries, oldest first.
            let mut expired = Vec::new();
            for entry in expiry
                .range(..(now.millis().saturating_add(1), ""))
                .or_backend("delivery_expiry")?
                .take(EXPIRED_DELIVERIES_PER_CALL)
            {
                let (entry_key, _) = entry.or_backend("delivery_expiry")?;
                let (at, delivery) = entry_key.value();
                expired.push((at, delivery.to_owned()));
            }
            for (at, delivery) in &expired {
                expiry
                    .remove((*at, delivery.as_str()))
                    .or_backend("delivery_expiry")?;
                let same_record = deliveries
                    .get(delivery.as_str())
                    .or_backend("deliveries")?
                    .is_some_and(|stored| stored.value() == *at);
                if same_record {
                    deliveries
                        .remove(delivery.as_str())
                        .or_backend("deliveries")?;
                    transaction
                        .open_table(DELIVERIES_DONE)
                        .or_backend("deliveries_done")?
                        .remove(delivery.as_str())
                        .or_backend("deliveries_done")?;
                }
            }

            let previous = deliveries
                .get(key.as_str())
                .or_backend("deliveries")?
                .map(|stored| stored.value());
            let mut done = transaction
                .open_table(DELIVERIES_DONE)
                .or_backend("deliveries_done")?;
            if let Some(previous) = previous.filter(|previous| *previous > now.millis()) {
                let is_done = done
                    .get(key.as_str())
                    .or_backend("deliveries_done")?
                    .is_some();
                return Ok(if is_done {
                    Claim::Done
                } else {
                    Claim::Held {
                        until: Timestamp::from_millis(previous),
                    }
                });
            }
            done.remove(key.as_str()).or_backend("deliveries_done")?;
            if let Some(previous) = previous {
                expiry
                    .remove((previous, key.as_str()))
                    .or_backend("delivery_expiry")?;
            }
            deliveries
                .insert(key.as_str(), expires_at.millis())
                .or_backend("deliveries")?;
            expiry
                .insert((expires_at.millis(), key.as_str()), ())
                .or_backend("delivery_expiry")?;
            Ok(Claim::Claimed)
        })
        .await
    }

    async fn finish_delivery(&self, key: &str, keep_until: Timestamp) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.write(move |transaction| {
            let mut deliveries = transaction
                .open_table(DELIVERIES)
                .or_backend("deliveries")?;
            let mut expiry = transaction
                .open_table(DELIVERY_EXPIRY)
                .or_backend("delivery_expiry")?;
            let previous = deliveries
                .insert(key.as_str(), keep_until.millis())
                .or_backend("deliveries")?
                .map(|stored| stored.value());
            if let Some(previous) = previous {
                expiry
                    .remove((previous, key.as_str()))
                    .or_backend("delivery_expiry")?;
            }
            expiry
                .insert((keep_until.millis(), key.as_str()), ())
                .or_backend("delivery_expiry")?;
            transaction
                .open_table(DELIVERIES_DONE)
                .or_backend("deliveries_done")?
                .insert(key.as_str(), ())
                .or_backend("deliveries_done")?;
            Ok(())
        })
        .await
    }

    async fn forget_delivery(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.write(move |transaction| {
            let mut deliveries = transaction
                .open_table(DELIVERIES)
                .or_backend("deliveries")?;
            let removed = deliveries
                .remove(key.as_str())
                .or_backend("deliveries")?
                .map(|stored| stored.value());
            if let Some(expires_at) = removed {
                let mut expiry = transaction
                    .open_table(DELIVERY_EXPIRY)
                    .or_backend("delivery_expiry")?;
                expiry
                    .remove((expires_at, key.as_str()))
                    .or_backend("delivery_expiry")?;
            }
            transaction
                .open_table(DELIVERIES_DONE)
                .or_backend("deliveries_done")?
                .remove(key.as_str())
                .or_backend("deliveries_done")?;
            Ok(())
        })
        .await
    }
}

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
