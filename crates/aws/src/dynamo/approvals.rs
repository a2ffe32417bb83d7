//! Approval requests in the lane table: one item per request under
//! `approval#<environment>#<sha>#<workflow version>` in the repository's partition, the
//! request whole in one attribute and its version beside it, saved on condition of that
//! version (a vote pressed twice, or delivered twice, counts once).

use super::codec::{self, Item};
use super::schema::lane;
use super::{DynamoStore, is_condition_failed, sdk_error};
use deploybot_core::approval::{ApprovalKey, ApprovalRequest};
use deploybot_core::ports::{ApprovalSaved, StoreError};

/// The request's key in the lane table.
fn item_key(key: &ApprovalKey) -> Item {
    codec::lane_table_key(
        key.lane.repository.as_str(),
        format!(
            "{}{}#{}#{}",
            lane::APPROVAL_PREFIX,
            codec::key_part(&key.lane.environment),
            key.sha,
            key.workflow
        ),
    )
}

fn item(request: &ApprovalRequest) -> Result<Item, StoreError> {
    let mut item = item_key(&request.key);
    item.insert(
        lane::APPROVAL_REQUEST.to_owned(),
        codec::attribute_value("approval request", request)?,
    );
    item.insert(lane::VERSION.to_owned(), codec::number(request.version));
    Ok(item)
}

fn decode(table: &str, mut item: Item) -> Result<ApprovalRequest, StoreError> {
    let value = item.remove(lane::APPROVAL_REQUEST).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "an approval request item in {table} has no request"
        ))
    })?;
    serde_dynamo::aws_sdk_dynamodb_1::from_attribute_value(value).map_err(|error| {
        StoreError::Corrupt(format!("an approval request in table {table}: {error}"))
    })
}

pub(super) async fn get(
    store: &DynamoStore,
    key: &ApprovalKey,
) -> Result<Option<ApprovalRequest>, StoreError> {
    let table = store.tables.lane.as_str();
    store
        .get("get_approval", table, item_key(key))
        .await?
        .map(|item| decode(table, item))
        .transpose()
}

/// Puts the whole request with `version + 1`, on condition that the stored version is the
/// one the caller read — or, for version 0, that there is none yet.
pub(super) async fn save(
    store: &DynamoStore,
    request: &ApprovalRequest,
) -> Result<ApprovalSaved, StoreError> {
    const OPERATION: &str = "save_approval";
    let table = store.tables.lane.as_str();
    let mut saved = request.clone();
    saved.version = request.version.checked_add(1).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "approval {} version overflow",
            request.key.sort_key()
        ))
    })?;
    let put = store
        .client
        .put_item()
        .table_name(table)
        .set_item(Some(item(&saved)?));
    let put = if request.version == 0 {
        put.condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", lane::PARTITION_KEY)
    } else {
        put.condition_expression("#version = :expected")
            .expression_attribute_names("#version", lane::VERSION)
            .expression_attribute_values(":expected", codec::number(request.version))
    };
    match put.send().await {
        Ok(_) => Ok(ApprovalSaved::Saved(Box::new(saved))),
        Err(error) if is_condition_failed(&error) => Ok(ApprovalSaved::Conflict(
            get(store, &request.key).await?.map(Box::new),
        )),
        Err(error) => Err(sdk_error(OPERATION, table, error)),
    }
}
