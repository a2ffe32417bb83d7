//! The delivery table: idempotency keys with a lease. A claim is one conditional put that
//! treats a key whose expiry has passed as absent — a lease that ran out, or a done key past
//! its keep time (DynamoDB's TTL deletes expired items lazily, often hours later, so the
//! condition cannot rely on them being gone). A refused claim reads the stored record
//! (strongly consistent) to say whether it is held or done.

use super::codec;
use super::schema::delivery;
use super::{DynamoStore, is_condition_failed, sdk_error};
use aws_sdk_dynamodb::types::AttributeValue;
use deploybot_core::Timestamp;
use deploybot_core::ports::{Claim, StoreError};

pub(super) async fn claim(
    store: &DynamoStore,
    key: &str,
    now: Timestamp,
    lease_until: Timestamp,
) -> Result<Claim, StoreError> {
    const OPERATION: &str = "claim_delivery";
    let table = store.tables.delivery.as_str();
    let result = store
        .client
        .put_item()
        .table_name(table)
        .set_item(Some(codec::delivery_item(key, lease_until, false)))
        .condition_expression("attribute_not_exists(#id) OR #expires_at_ms <= :now")
        .expression_attribute_names("#id", delivery::PARTITION_KEY)
        .expression_attribute_names("#expires_at_ms", delivery::EXPIRES_AT_MILLIS)
        .expression_attribute_values(":now", codec::number(now.millis()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(Claim::Claimed),
        Err(error) if is_condition_failed(&error) => {
            let stored = store
                .get(OPERATION, table, codec::delivery_key(key))
                .await?;
            Ok(match stored {
                Some(item) => refused_claim(table, &item)?,
                // Forgotten between the put and the read: held by nobody now, but this
                // attempt did not claim it; the caller treats it like a live lease.
                None => Claim::Held { until: now },
            })
        }
        Err(error) => Err(sdk_error(OPERATION, table, error)),
    }
}

/// What a stored record that refused a claim says.
fn refused_claim(table: &str, item: &codec::Item) -> Result<Claim, StoreError> {
    let done = matches!(item.get(delivery::DONE), Some(AttributeValue::Bool(true)));
    if done {
        return Ok(Claim::Done);
    }
    let until = item
        .get(delivery::EXPIRES_AT_MILLIS)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .ok_or_else(|| {
            StoreError::Corrupt(format!(
                "{table}: delivery without a numeric {}",
                delivery::EXPIRES_AT_MILLIS
            ))
        })?;
    Ok(Claim::Held {
        until: Timestamp::from_millis(until),
    })
}

pub(super) async fn finish(
    store: &DynamoStore,
    key: &str,
    keep_until: Timestamp,
) -> Result<(), StoreError> {
    const OPERATION: &str = "finish_delivery";
    let table = store.tables.delivery.as_str();
    store
        .client
        .put_item()
        .table_name(table)
        .set_item(Some(codec::delivery_item(key, keep_until, true)))
        .send()
        .await
        .map_err(|error| sdk_error(OPERATION, table, error))?;
    Ok(())
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
