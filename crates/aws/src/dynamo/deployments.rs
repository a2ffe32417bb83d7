//! The deployment table: conditional inserts, whole-item saves guarded by the `version`
//! counter (optimistic concurrency), key reads, and key-ordered queries on the table and its
//! seven indexes (SHA, environment, pipeline id, GitHub deployment id, waiting, pending,
//! succeeded).

use super::codec;
use super::schema::deployment;
use super::{DynamoStore, is_condition_failed, sdk_error};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use deploybot_core::lane::LaneKey;
use deploybot_core::ports::{InsertOutcome, StoreError, UpdateOutcome};
use deploybot_core::{Deployment, DeploymentId, Environment, Repository, Sha, Timestamp};

pub(super) async fn insert(
    store: &DynamoStore,
    record: &Deployment,
) -> Result<InsertOutcome, StoreError> {
    const OPERATION: &str = "insert_deployment";
    let table = store.tables.deployment.as_str();
    let result = store
        .client
        .put_item()
        .table_name(table)
        .set_item(Some(codec::deployment_item(record)?))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", deployment::PARTITION_KEY)
        .send()
        .await;
    match result {
        Ok(_) => Ok(InsertOutcome::Inserted),
        Err(error) if is_condition_failed(&error) => {
            match get(store, &record.repository, &record.id).await? {
                Some(stored) => Ok(InsertOutcome::AlreadyExists(Box::new(stored))),
                None => Err(StoreError::Backend(format!(
                    "{OPERATION} on table {table}: deployment {} existed, then vanished",
                    record.id
                ))),
            }
        }
        Err(error) => Err(sdk_error(OPERATION, table, error)),
    }
}

pub(super) async fn get(
    store: &DynamoStore,
    repository: &Repository,
    id: &DeploymentId,
) -> Result<Option<Deployment>, StoreError> {
    let table = store.tables.deployment.as_str();
    store
        .get(
            "get_deployment",
            table,
            codec::deployment_key(repository, id),
        )
        .await?
        .map(|item| codec::decode(table, item))
        .transpose()
}

/// Puts the whole item (so index attributes of fields that became `None` disappear) on
/// condition that the stored `version` is the one the caller read.
pub(super) async fn update(
    store: &DynamoStore,
    record: &Deployment,
) -> Result<UpdateOutcome, StoreError> {
    const OPERATION: &str = "update_deployment";
    let table = store.tables.deployment.as_str();
    let mut saved = record.clone();
    saved.version = record
        .version
        .checked_add(1)
        .ok_or_else(|| StoreError::Corrupt(format!("deployment {} version overflow", record.id)))?;
    let result = store
        .client
        .put_item()
        .table_name(table)
        .set_item(Some(codec::deployment_item(&saved)?))
        .condition_expression("#version = :expected")
        .expression_attribute_names("#version", deployment::VERSION)
        .expression_attribute_values(":expected", codec::number(record.version))
        .send()
        .await;
    match result {
        Ok(_) => Ok(UpdateOutcome::Updated(Box::new(saved))),
        Err(error) if is_condition_failed(&error) => {
            Ok(match get(store, &record.repository, &record.id).await? {
                Some(current) => UpdateOutcome::Conflict(Box::new(current)),
                None => UpdateOutcome::NotFound,
            })
        }
        Err(error) => Err(sdk_error(OPERATION, table, error)),
    }
}

/// A query on one of the deployment table's indexes, equality on its partition key.
fn index_query(
    store: &DynamoStore,
    index: &str,
    partition_key: &str,
    value: aws_sdk_dynamodb::types::AttributeValue,
) -> QueryFluentBuilder {
    store
        .client
        .query()
        .table_name(store.tables.deployment.as_str())
        .index_name(index)
        .key_condition_expression("#pk = :pk")
        .expression_attribute_names("#pk", partition_key)
        .expression_attribute_values(":pk", value)
        .scan_index_forward(true)
}

async fn run(
    store: &DynamoStore,
    operation: &'static str,
    request: QueryFluentBuilder,
    limit: usize,
) -> Result<Vec<Deployment>, StoreError> {
    let table = store.tables.deployment.as_str();
    store
        .query(operation, table, request, limit)
        .await?
        .into_iter()
        .map(|item| codec::decode(table, item))
        .collect()
}

pub(super) async fn by_github_id(
    store: &DynamoStore,
    github_deployment_id: u64,
) -> Result<Option<Deployment>, StoreError> {
    let request = index_query(
        store,
        deployment::GITHUB_DEPLOYMENT_INDEX,
        deployment::GITHUB_DEPLOYMENT_INDEX_KEY,
        codec::number(github_deployment_id),
    );
    Ok(run(store, "deployment_by_github_id", request, 1)
        .await?
        .into_iter()
        .next())
}

pub(super) async fn by_pipeline(
    store: &DynamoStore,
    pipeline_id: &str,
) -> Result<Option<Deployment>, StoreError> {
    if pipeline_id.is_empty() {
        // Never indexed (an empty string cannot be an index key).
        return Ok(None);
    }
    let request = index_query(
        store,
        deployment::PIPELINE_INDEX,
        deployment::PIPELINE_INDEX_KEY,
        codec::string(pipeline_id),
    );
    Ok(run(store, "deployment_by_pipeline", request, 1)
        .await?
        .into_iter()
        .next())
}

/// Ids sort newest first, so an ascending query on the id gives the newest first.
pub(super) async fn by_sha(
    store: &DynamoStore,
    repository: &Repository,
    sha: &Sha,
    limit: usize,
) -> Result<Vec<Deployment>, StoreError> {
    let request = index_query(
        store,
        deployment::SHA_INDEX,
        deployment::SHA_INDEX_KEY,
        codec::string(codec::repository_scoped(repository, sha.as_str())),
    );
    run(store, "deployments_by_sha", request, limit).await
}

pub(super) async fn list(
    store: &DynamoStore,
    repository: &Repository,
    environment: Option<Environment>,
    limit: usize,
) -> Result<Vec<Deployment>, StoreError> {
    let request = match environment {
        Some(environment) => index_query(
            store,
            deployment::ENVIRONMENT_INDEX,
            deployment::ENVIRONMENT_INDEX_KEY,
            codec::string(codec::repository_scoped(
                repository,
                &environment.to_string(),
            )),
        ),
        None => store
            .client
            .query()
            .table_name(store.tables.deployment.as_str())
            .key_condition_expression("#pk = :repository")
            .expression_attribute_names("#pk", deployment::PARTITION_KEY)
            .expression_attribute_values(":repository", codec::string(repository.as_str()))
            .scan_index_forward(true)
            .consistent_read(true),
    };
    run(store, "list_deployments", request, limit).await
}

/// The repository's deployments after `older_than` in the table's newest-first sort order:
/// a key condition on the sort key, so a page deep in a history is one query like the first.
pub(super) async fn older(
    store: &DynamoStore,
    repository: &Repository,
    older_than: &DeploymentId,
    limit: usize,
) -> Result<Vec<Deployment>, StoreError> {
    let request = store
        .client
        .query()
        .table_name(store.tables.deployment.as_str())
        .key_condition_expression("#pk = :repository AND #sk > :older_than")
        .expression_attribute_names("#pk", deployment::PARTITION_KEY)
        .expression_attribute_names("#sk", deployment::SORT_KEY)
        .expression_attribute_values(":repository", codec::string(repository.as_str()))
        .expression_attribute_values(":older_than", codec::string(older_than.as_str()))
        .scan_index_forward(true)
        .consistent_read(true);
    run(store, "list_deployments_older", request, limit).await
}

/// The sparse waiting index, oldest first.
pub(super) async fn waiting(
    store: &DynamoStore,
    before: Timestamp,
    limit: usize,
) -> Result<Vec<Deployment>, StoreError> {
    let request = store
        .client
        .query()
        .table_name(store.tables.deployment.as_str())
        .index_name(deployment::WAITING_INDEX)
        .key_condition_expression("#waiting = :waiting AND #created_at < :before")
        .expression_attribute_names("#waiting", deployment::WAITING_INDEX_KEY)
        .expression_attribute_names("#created_at", deployment::CREATED_AT)
        .expression_attribute_values(":waiting", codec::string(deployment::WAITING_PARTITION))
        .expression_attribute_values(":before", codec::number(before.millis()))
        .scan_index_forward(true);
    run(store, "waiting_deployments", request, limit).await
}

/// The sparse pending index: the lane's queue, in `seq` order.
pub(super) async fn pending(
    store: &DynamoStore,
    lane: &LaneKey,
    limit: usize,
) -> Result<Vec<Deployment>, StoreError> {
    let request = index_query(
        store,
        deployment::PENDING_INDEX,
        deployment::PENDING_INDEX_KEY,
        codec::string(codec::repository_scoped(
            &lane.repository,
            &lane.environment.to_string(),
        )),
    );
    run(store, "pending_deployments", request, limit).await
}

/// The sparse succeeded index: the lane's successes, newest first (ids sort newest first) or
/// oldest first.
pub(super) async fn succeeded(
    store: &DynamoStore,
    lane: &LaneKey,
    oldest_first: bool,
    limit: usize,
) -> Result<Vec<Deployment>, StoreError> {
    let request = index_query(
        store,
        deployment::SUCCEEDED_INDEX,
        deployment::SUCCEEDED_INDEX_KEY,
        codec::string(codec::repository_scoped(
            &lane.repository,
            &lane.environment.to_string(),
        )),
    )
    .scan_index_forward(!oldest_first);
    run(store, "succeeded_deployments", request, limit).await
}

/// Puts a deployment's "What's shipping" item unless one exists: `true` when this call put it.
pub(super) async fn put_shipping(
    store: &DynamoStore,
    record: &deploybot_core::shipping::ShippingRecord,
) -> Result<bool, StoreError> {
    put_once(store, "put_shipping", codec::shipping_item(record)?).await
}

/// A deployment's "What's shipping" item, by key.
pub(super) async fn shipping(
    store: &DynamoStore,
    repository: &Repository,
    id: &DeploymentId,
) -> Result<Option<deploybot_core::shipping::ShippingRecord>, StoreError> {
    let table = store.tables.deployment.as_str();
    store
        .get("shipping", table, codec::shipping_key(repository, id))
        .await?
        .map(|item| codec::shipping_record(table, &item))
        .transpose()
}

/// Takes a one-time notice: `true` for the one call whose conditional put succeeded.
pub(super) async fn take_notice(
    store: &DynamoStore,
    repository: &Repository,
    key: &str,
    at: Timestamp,
) -> Result<bool, StoreError> {
    put_once(
        store,
        "take_notice",
        codec::notice_item(repository, key, at),
    )
    .await
}

/// Puts `item` on condition that no item has its key.
async fn put_once(
    store: &DynamoStore,
    operation: &'static str,
    item: codec::Item,
) -> Result<bool, StoreError> {
    let table = store.tables.deployment.as_str();
    let result = store
        .client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", deployment::PARTITION_KEY)
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(error) if is_condition_failed(&error) => Ok(false),
        Err(error) => Err(sdk_error(operation, table, error)),
    }
}
