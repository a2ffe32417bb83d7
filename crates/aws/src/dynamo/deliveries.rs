//! The delivery table: idempotency keys written with one conditional put that treats a key
//! whose expiry has passed as absent (DynamoDB's TTL deletes expired items lazily, often
//! hours later, so the condition cannot rely on them being gone).

use super::codec;
use super::schema::delivery;
use super::{DynamoStore, is_condition_failed, sdk_error};
use deploybot_core::Timestamp;
use deploybot_core::ports::StoreError;

pub(super) async fn record(
    store: &DynamoStore,
    key: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<bool, StoreError> {
    const OPERATION: &str = "record_delivery";
    let table = store.tables.delivery.as_str();
    let result = store
        .client
        .put_item()
        .table_name(table)
        .set_item(Some(codec::delivery_item(key, expires_at)))
        .condition_expression("attribute_not_exists(#id) OR #expires_at_ms <= :now")
        .expression_attribute_names("#id", delivery::PARTITION_KEY)
        .expression_attribute_names("#expires_at_ms", delivery::EXPIRES_AT_MILLIS)
        .expression_attribute_values(":now", codec::number(now.millis()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(error) if is_condition_failed(&error) => Ok(false),
        Err(error) => Err(sdk_error(OPERATION, table, error)),
    }
}

pub(super) async fn forget(store: &DynamoStore, key: &str) -> Result<(), StoreError> {
    const OPERATION: &str = "forget_delivery";
    let table = store.tables.delivery.as_str();
    store
        .client
        .delete_item()
        .table_name(table)
        .set_key(Some(codec::delivery_key(key)))
        .send()
        .await
        .map_err(|error| sdk_error(OPERATION, table, error))?;
    Ok(())
}
