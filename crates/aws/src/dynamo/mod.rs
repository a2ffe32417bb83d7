//! `DynamoStore`: the store port on five DynamoDB tables. Every call is a
//! key read, a key-ordered query on the table or a global secondary index, a conditional
//! write or a transaction — never a `Scan`. The design is in `docs/data-model.md` and
//! `docs/adr/` ("DynamoDB table design").

mod approvals;
mod claims;
mod codec;
mod deliveries;
mod deployments;
mod lanes;
mod projects;
pub mod schema;
mod tables;
mod users;

pub use schema::{TABLE_SPECS, TableNames, TableNamesError, TableRole, TableSpec, TableSpecOf};
pub use tables::{CreateTablesError, create_tables};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, KeysAndAttributes, Put, TransactWriteItem};
use codec::Item;
use deploybot_core::lane::{LaneKey, LaneRecord, LockHistoryEntry};
use deploybot_core::ports::{
    BindOutcome, Claim, DeliveryStore, DeploymentStore, InsertOutcome, LaneSaved, LaneStore,
    LinkOutcome, MoveOutcome, ProjectStore, StoreError, UpdateOutcome, UserStore,
};
use deploybot_core::{
    Deployment, DeploymentId, Environment, GithubLogin, Project, Repository, Sha, SlackChannelId,
    SlackTeamId, SlackUserId, Timestamp, Unbinding, UserLink,
};
use std::time::Duration;

/// Attempts per request, the first included, for the SDK's standard retry strategy
/// (throttling, 5xx and transient network errors, with exponential backoff and jitter).
pub const SDK_MAX_ATTEMPTS: u32 = 4;

/// How often a transaction cancelled by a conflicting concurrent transaction, a read-back that
/// found the conflicting record gone, or a batch read with unprocessed keys is tried again
/// before the call fails.
const CONTENTION_ATTEMPTS: u32 = 6;

/// The store port on DynamoDB. Cheap to clone (the SDK client is reference counted).
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    tables: TableNames,
}

impl DynamoStore {
    /// A store on `tables` through `client` (configure retries with [`retry_config`]).
    pub fn new(client: Client, tables: TableNames) -> Self {
        Self { client, tables }
    }

    /// A store whose client is built from a loaded SDK configuration, with [`retry_config`].
    pub fn from_sdk_config(config: &aws_config::SdkConfig, tables: TableNames) -> Self {
        Self::new(client_from_sdk_config(config), tables)
    }

    /// The SDK client (shared with anything else that talks to the same tables).
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn tables(&self) -> &TableNames {
        &self.tables
    }

    // ---- request helpers ----------------------------------------------------------------------

    /// One item by key, strongly consistent.
    async fn get(
        &self,
        operation: &'static str,
        table: &str,
        key: Item,
    ) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| sdk_error(operation, table, error))?;
        Ok(output.item)
    }

    /// Runs `request` (a query with its table, index and key condition set) page by page until
    /// `limit` items are collected or the results end.
    async fn query(
        &self,
        operation: &'static str,
        table: &str,
        request: QueryFluentBuilder,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items: Vec<Item> = Vec::new();
        let mut start: Option<Item> = None;
        while items.len() < limit {
            let page = i32::try_from(limit - items.len()).unwrap_or(i32::MAX);
            let output = request
                .clone()
                .limit(page)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|error| sdk_error(operation, table, error))?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        items.truncate(limit);
        Ok(items)
    }

    /// Runs `request` page by page to the end of its results (for queries bounded by their
    /// key condition, not by a limit).
    async fn query_all(
        &self,
        operation: &'static str,
        table: &str,
        request: QueryFluentBuilder,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items: Vec<Item> = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = request
                .clone()
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|error| sdk_error(operation, table, error))?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// Reads `keys` with `BatchGetItem` (strongly consistent), 100 keys per request, asking
    /// again for unprocessed keys. Missing items are simply absent from the answer.
    async fn batch_get(
        &self,
        operation: &'static str,
        table: &str,
        keys: Vec<Item>,
    ) -> Result<Vec<Item>, StoreError> {
        const BATCH_GET_MAX_KEYS: usize = 100;
        let mut found = Vec::new();
        for chunk in keys.chunks(BATCH_GET_MAX_KEYS) {
            let mut pending: Vec<Item> = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .consistent_read(true)
                    .build()
                    .map_err(|error| build_error(operation, error))?;
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(table, request)
                    .send()
                    .await
                    .map_err(|error| sdk_error(operation, table, error))?;
                if let Some(mut responses) = output.responses {
                    found.extend(responses.remove(table).unwrap_or_default());
                }
                pending = output
                    .unprocessed_keys
                    .and_then(|mut unprocessed| unprocessed.remove(table))
                    .map(|keys| keys.keys)
                    .unwrap_or_default();
                if !pending.is_empty() {
                    attempt += 1;
                    if attempt >= CONTENTION_ATTEMPTS {
                        return Err(StoreError::Backend(format!(
                            "{operation} on table {table}: {} keys still unprocessed after {attempt} attempts",
                            pending.len()
                        )));
                    }
                    contention_backoff(attempt).await;
                }
            }
        }
        Ok(found)
    }

    /// Runs a transaction. A cancellation caused by a conflicting concurrent transaction is
    /// tried again; one caused by a failed condition is returned as
    /// [`Transaction::ConditionFailed`] with the reason code of every write (in order).
    async fn transact(
        &self,
        operation: &'static str,
        table: &str,
        writes: Vec<TransactWriteItem>,
    ) -> Result<Transaction, StoreError> {
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes.clone()))
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(Transaction::Committed),
                Err(error) => error,
            };
            if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
                error.as_service_error()
            {
                let codes: Vec<String> = cancelled
                    .cancellation_reasons()
                    .iter()
                    .map(|reason| reason.code().unwrap_or("None").to_owned())
                    .collect();
                if codes.iter().any(|code| code == CONDITION_FAILED) {
                    return Ok(Transaction::ConditionFailed(codes));
                }
                if codes.iter().any(|code| code == TRANSACTION_CONFLICT)
                    && attempt + 1 < CONTENTION_ATTEMPTS
                {
                    attempt += 1;
                    contention_backoff(attempt).await;
                    continue;
                }
            }
            return Err(sdk_error(operation, table, error));
        }
    }
}

/// A cancellation reason code.
const CONDITION_FAILED: &str = "ConditionalCheckFailed";
const TRANSACTION_CONFLICT: &str = "TransactionConflict";

/// How a transaction ended (other than with an error).
#[derive(Debug)]
enum Transaction {
    Committed,
    /// Cancelled because a condition failed; one reason code per write.
    ConditionFailed(Vec<String>),
}

impl Transaction {
    /// Whether the write at `index` failed its condition.
    fn failed(codes: &[String], index: usize) -> bool {
        codes
            .get(index)
            .is_some_and(|code| code == CONDITION_FAILED)
    }
}

/// The retry configuration every DynamoDB client of deploybot uses: the SDK's standard
/// strategy with [`SDK_MAX_ATTEMPTS`] attempts.
pub fn retry_config() -> aws_sdk_dynamodb::config::retry::RetryConfig {
    aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(SDK_MAX_ATTEMPTS)
}

/// A DynamoDB client from a loaded SDK configuration, with [`retry_config`]. An endpoint
/// override (`AWS_ENDPOINT_URL_DYNAMODB`) in the configuration is honoured.
pub fn client_from_sdk_config(config: &aws_config::SdkConfig) -> Client {
    let dynamodb_config = aws_sdk_dynamodb::config::Builder::from(config)
        .retry_config(retry_config())
        .build();
    Client::from_conf(dynamodb_config)
}

/// Waits a little longer on each attempt (25 ms, 50 ms, 100 ms, ...).
async fn contention_backoff(attempt: u32) {
    let millis = 25u64.saturating_mul(1u64 << attempt.min(8));
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

/// An SDK failure, with what was being done and on which table.
fn sdk_error<E, R>(operation: &str, table: &str, error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Backend(format!(
        "{operation} on table {table}: {}",
        DisplayErrorContext(&error)
    ))
}

/// A request that could not be built (a required field was missing).
fn build_error(operation: &str, error: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Backend(format!("{operation}: building the request: {error}"))
}

/// A transactional put of a new item: fails its condition when the key exists.
fn put_new(
    operation: &str,
    table: &str,
    partition_key: &str,
    item: Item,
) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", partition_key)
        .build()
        .map_err(|error| build_error(operation, error))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// A transactional delete of an existing item.
fn delete_existing(
    operation: &str,
    table: &str,
    partition_key: &str,
    key: Item,
) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key))
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", partition_key)
        .build()
        .map_err(|error| build_error(operation, error))?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// A transactional delete of a claim item, only while it is held by `claimed_by`.
fn delete_claim(
    operation: &str,
    table: &str,
    key: Item,
    claimed_by: &str,
) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key))
        .condition_expression("#claimed_by = :claimed_by")
        .expression_attribute_names("#claimed_by", schema::CLAIMED_BY)
        .expression_attribute_values(":claimed_by", codec::string(claimed_by))
        .build()
        .map_err(|error| build_error(operation, error))?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// A transactional put of a claim item that replaces the claim while it is held by
/// `claimed_by` (the channel's claim following its repository's new name).
fn replace_claim(
    operation: &str,
    table: &str,
    item: Item,
    claimed_by: &str,
) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("#claimed_by = :claimed_by")
        .expression_attribute_names("#claimed_by", schema::CLAIMED_BY)
        .expression_attribute_values(":claimed_by", codec::string(claimed_by))
        .build()
        .map_err(|error| build_error(operation, error))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Whether an SDK error is a failed condition expression.
fn is_condition_failed<E, R>(error: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    error
        .as_service_error()
        .and_then(|service| service.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

#[async_trait]
impl ProjectStore for DynamoStore {
    async fn bind_project(&self, project: &Project) -> Result<BindOutcome, StoreError> {
        projects::bind(self, project).await
    }

    async fn project_by_channel(
        &self,
        channel: &SlackChannelId,
    ) -> Result<Option<Project>, StoreError> {
        projects::by_channel(self, channel).await
    }

    async fn project_by_repository(
        &self,
        repository: &Repository,
    ) -> Result<Option<Project>, StoreError> {
        projects::by_repository(self, repository).await
    }

    async fn update_project(&self, project: &Project) -> Result<bool, StoreError> {
        projects::update(self, project).await
    }

    async fn project_by_github_id(&self, github_id: u64) -> Result<Option<Project>, StoreError> {
        projects::by_github_id(self, github_id).await
    }

    async fn set_project_github_id(
        &self,
        project: &Project,
        github_id: u64,
    ) -> Result<bool, StoreError> {
        projects::set_github_id(self, project, github_id).await
    }

    async fn move_project(
        &self,
        from: &Repository,
        to: &Repository,
        github_id: Option<u64>,
    ) -> Result<MoveOutcome, StoreError> {
        projects::move_binding(self, from, to, github_id).await
    }

    async fn unbind_project(
        &self,
        channel: &SlackChannelId,
    ) -> Result<Option<Project>, StoreError> {
        projects::unbind(self, channel).await
    }

    async fn set_team_revoked(&self, team: &SlackTeamId, revoked: bool) -> Result<(), StoreError> {
        projects::set_team_revoked(self, team, revoked).await
    }

    async fn is_team_revoked(&self, team: &SlackTeamId) -> Result<bool, StoreError> {
        projects::is_team_revoked(self, team).await
    }

    async fn record_unbinding(&self, record: &Unbinding) -> Result<(), StoreError> {
        projects::record_unbinding(self, record).await
    }

    async fn last_unbinding(
        &self,
        repository: &Repository,
    ) -> Result<Option<Unbinding>, StoreError> {
        projects::last_unbinding(self, repository).await
    }
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn link_user(&self, link: &UserLink) -> Result<LinkOutcome, StoreError> {
        users::link(self, link).await
    }

    async fn user_by_login(&self, login: &GithubLogin) -> Result<Option<UserLink>, StoreError> {
        users::by_login(self, login).await
    }

    async fn user_by_slack(&self, user: &SlackUserId) -> Result<Option<UserLink>, StoreError> {
        users::by_slack(self, user).await
    }

    async fn users_by_logins(&self, logins: &[GithubLogin]) -> Result<Vec<UserLink>, StoreError> {
        users::by_logins(self, logins).await
    }

    async fn unlink_user(&self, user: &SlackUserId) -> Result<Option<UserLink>, StoreError> {
        users::unlink(self, user).await
    }

    async fn direct_preference(
        &self,
        user: &SlackUserId,
    ) -> Result<deploybot_core::notify::DirectPreference, StoreError> {
        users::direct_preference(self, user).await
    }

    async fn set_direct_preference(
        &self,
        user: &SlackUserId,
        preference: deploybot_core::notify::DirectPreference,
    ) -> Result<(), StoreError> {
        users::set_direct_preference(self, user, preference).await
    }

    async fn claim_home_publish(
        &self,
        user: &SlackUserId,
        now: Timestamp,
        min_gap_secs: i64,
    ) -> Result<bool, StoreError> {
        users::claim_home_publish(self, user, now, min_gap_secs).await
    }

    async fn note_home_viewer(
        &self,
        channel: &SlackChannelId,
        user: &SlackUserId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        users::note_home_viewer(self, channel, user, at).await
    }

    async fn home_viewers(
        &self,
        channel: &SlackChannelId,
        since: Timestamp,
        limit: usize,
    ) -> Result<Vec<SlackUserId>, StoreError> {
        users::home_viewers(self, channel, since, limit).await
    }
}

#[async_trait]
impl DeploymentStore for DynamoStore {
    async fn insert_deployment(
        &self,
        deployment: &Deployment,
    ) -> Result<InsertOutcome, StoreError> {
        deployments::insert(self, deployment).await
    }

    async fn get_deployment(
        &self,
        repository: &Repository,
        id: &DeploymentId,
    ) -> Result<Option<Deployment>, StoreError> {
        deployments::get(self, repository, id).await
    }

    async fn update_deployment(
        &self,
        deployment: &Deployment,
    ) -> Result<UpdateOutcome, StoreError> {
        deployments::update(self, deployment).await
    }

    async fn deployment_by_github_id(
        &self,
        github_deployment_id: u64,
    ) -> Result<Option<Deployment>, StoreError> {
        deployments::by_github_id(self, github_deployment_id).await
    }

    async fn deployment_by_pipeline(
        &self,
        pipeline_id: &str,
    ) -> Result<Option<Deployment>, StoreError> {
        deployments::by_pipeline(self, pipeline_id).await
    }

    async fn deployments_by_sha(
        &self,
        repository: &Repository,
        sha: &Sha,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        deployments::by_sha(self, repository, sha, limit).await
    }

    async fn list_deployments(
        &self,
        repository: &Repository,
        environment: Option<Environment>,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        deployments::list(self, repository, environment, limit).await
    }

    async fn list_deployments_older(
        &self,
        repository: &Repository,
        older_than: &DeploymentId,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        deployments::older(self, repository, older_than, limit).await
    }

    async fn waiting_deployments(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        deployments::waiting(self, before, limit).await
    }

    async fn pending_deployments(
        &self,
        lane: &LaneKey,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        deployments::pending(self, lane, limit).await
    }

    async fn succeeded_deployments(
        &self,
        lane: &LaneKey,
        oldest_first: bool,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        deployments::succeeded(self, lane, oldest_first, limit).await
    }

    async fn put_shipping(
        &self,
        record: &deploybot_core::shipping::ShippingRecord,
    ) -> Result<bool, StoreError> {
        deployments::put_shipping(self, record).await
    }

    async fn shipping(
        &self,
        repository: &Repository,
        deployment: &DeploymentId,
    ) -> Result<Option<deploybot_core::shipping::ShippingRecord>, StoreError> {
        deployments::shipping(self, repository, deployment).await
    }

    async fn take_notice(
        &self,
        repository: &Repository,
        key: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        deployments::take_notice(self, repository, key, at).await
    }
}

#[async_trait]
impl LaneStore for DynamoStore {
    async fn get_lane(&self, lane: &LaneKey) -> Result<Option<LaneRecord>, StoreError> {
        lanes::get(self, lane).await
    }

    async fn lanes_of(&self, repository: &Repository) -> Result<Vec<LaneRecord>, StoreError> {
        lanes::of_repository(self, repository).await
    }

    async fn save_lane(&self, record: &LaneRecord) -> Result<LaneSaved, StoreError> {
        lanes::save(self, record).await
    }

    async fn delete_lane(&self, record: &LaneRecord) -> Result<bool, StoreError> {
        lanes::delete(self, record).await
    }

    async fn next_lane_seq(&self, lane: &LaneKey) -> Result<u64, StoreError> {
        lanes::next_seq(self, lane).await
    }

    async fn record_lock_event(&self, entry: &LockHistoryEntry) -> Result<(), StoreError> {
        lanes::record(self, entry).await
    }

    async fn lock_history(
        &self,
        lane: &LaneKey,
        limit: usize,
    ) -> Result<Vec<LockHistoryEntry>, StoreError> {
        lanes::history(self, lane, limit).await
    }

    async fn due_lanes(&self, now: Timestamp, limit: usize) -> Result<Vec<LaneRecord>, StoreError> {
        lanes::due(self, now, limit).await
    }

    async fn record_bad_range(
        &self,
        range: &deploybot_core::rollback::BadRange,
    ) -> Result<(), StoreError> {
        lanes::record_bad_range(self, range).await
    }

    async fn bad_ranges(
        &self,
        lane: &LaneKey,
        limit: usize,
    ) -> Result<Vec<deploybot_core::rollback::BadRange>, StoreError> {
        lanes::bad_ranges(self, lane, limit).await
    }

    async fn get_approval(
        &self,
        key: &deploybot_core::approval::ApprovalKey,
    ) -> Result<Option<deploybot_core::approval::ApprovalRequest>, StoreError> {
        approvals::get(self, key).await
    }

    async fn save_approval(
        &self,
        request: &deploybot_core::approval::ApprovalRequest,
    ) -> Result<deploybot_core::ports::ApprovalSaved, StoreError> {
        approvals::save(self, request).await
    }
}

#[async_trait]
impl DeliveryStore for DynamoStore {
    async fn claim_delivery(
        &self,
        key: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claim, StoreError> {
        deliveries::claim(self, key, now, lease_until).await
    }

    async fn finish_delivery(&self, key: &str, keep_until: Timestamp) -> Result<(), StoreError> {
        deliveries::finish(self, key, keep_until).await
    }

    async fn forget_delivery(&self, key: &str) -> Result<(), StoreError> {
        deliveries::forget(self, key).await
    }
}
