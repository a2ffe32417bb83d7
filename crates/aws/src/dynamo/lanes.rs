//! The lane table: each lane's record, saved whole on condition of its `version`
//! (optimistic concurrency); each lane's arrival counter, an atomic `ADD` on an item of its
//! own; the lock history, one item per entry under a time-ordered sort key; and the sparse
//! due index, which holds only records with a `due_at`.

use super::codec;
use super::schema::lane;
use super::{CONTENTION_ATTEMPTS, DynamoStore, is_condition_failed, sdk_error};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::ReturnValue;
use deploybot_core::Repository;
use deploybot_core::Timestamp;
use deploybot_core::lane::{LaneKey, LaneRecord, LockHistoryEntry};
use deploybot_core::ports::{LaneSaved, StoreError};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

pub(super) async fn get(
    store: &DynamoStore,
    key: &LaneKey,
) -> Result<Option<LaneRecord>, StoreError> {
    let table = store.tables.lane.as_str();
    store
        .get("get_lane", table, codec::lane_key(key))
        .await?
        .map(|item| codec::decode(table, item))
        .transpose()
}

/// The repository's partition, lane records only (`begins_with(key, "lane#")`), ordered by
/// environment.
pub(super) async fn of_repository(
    store: &DynamoStore,
    repository: &Repository,
) -> Result<Vec<LaneRecord>, StoreError> {
    let table = store.tables.lane.as_str();
    let request =
        partition_query(store, repository, lane::RECORD_PREFIX.to_owned()).scan_index_forward(true);
    let mut records: Vec<LaneRecord> = store
        .query_all("lanes_of", table, request)
        .await?
        .into_iter()
        .map(|item| codec::decode(table, item))
        .collect::<Result<_, _>>()?;
    // The sort key orders environments by name (`pr12` before `pr4`); the port orders them as
    // `Environment` does.
    records.sort_by_key(|record| record.lane.environment.clone());
    Ok(records)
}

/// Puts the whole record (so a `due_at` that became `None` takes the lane out of the due
/// index) with `version + 1`, on condition that the stored version is the one the caller
/// read — or, for version 0, that there is no record yet.
pub(super) async fn save(
    store: &DynamoStore,
    record: &LaneRecord,
) -> Result<LaneSaved, StoreError> {
    const OPERATION: &str = "save_lane";
    let table = store.tables.lane.as_str();
    let mut saved = record.clone();
    saved.version = record
        .version
        .checked_add(1)
        .ok_or_else(|| StoreError::Corrupt(format!("lane {} version overflow", record.lane)))?;
    let request = store
        .client
        .put_item()
        .table_name(table)
        .set_item(Some(codec::lane_item(&saved)?));
    let request = if record.version == 0 {
        request
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", lane::PARTITION_KEY)
    } else {
        request
            .condition_expression("#version = :expected")
            .expression_attribute_names("#version", lane::VERSION)
            .expression_attribute_values(":expected", codec::number(record.version))
    };
    match request.send().await {
        Ok(_) => Ok(LaneSaved::Saved(Box::new(saved))),
        Err(error) if is_condition_failed(&error) => {
            let current = get(store, &record.lane)
                .await?
                .unwrap_or_else(|| LaneRecord::empty(record.lane.clone(), record.updated_at));
            Ok(LaneSaved::Conflict(Box::new(current)))
        }
        Err(error) => Err(sdk_error(OPERATION, table, error)),
    }
}

/// `DeleteItem` of the lane record, conditional on its version (a lane with no record has
/// nothing to delete); its `due` index entry goes with it.
pub(super) async fn delete(store: &DynamoStore, record: &LaneRecord) -> Result<bool, StoreError> {
    const OPERATION: &str = "delete_lane";
    let table = store.tables.lane.as_str();
    let request = store
        .client
        .delete_item()
        .table_name(table)
        .set_key(Some(codec::lane_key(&record.lane)))
        .condition_expression("#version = :expected")
        .expression_attribute_names("#version", lane::VERSION)
        .expression_attribute_values(":expected", codec::number(record.version));
    match request.send().await {
        Ok(_) => Ok(true),
        Err(error) if is_condition_failed(&error) => Ok(false),
        Err(error) => Err(sdk_error(OPERATION, table, error)),
    }
}

/// `ADD next_seq :one` on the lane's counter item, which creates it at 1: atomic, and the
/// lane record is another item.
pub(super) async fn next_seq(store: &DynamoStore, key: &LaneKey) -> Result<u64, StoreError> {
    const OPERATION: &str = "next_lane_seq";
    let table = store.tables.lane.as_str();
    let output = store
        .client
        .update_item()
        .table_name(table)
        .set_key(Some(codec::lane_seq_key(key)))
        .update_expression("ADD #next_seq :one")
        .expression_attribute_names("#next_seq", lane::NEXT_SEQ)
        .expression_attribute_values(":one", codec::number(1))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(|error| sdk_error(OPERATION, table, error))?;
    codec::next_seq(table, key, &output.attributes.unwrap_or_default())
}

/// One new item per entry; the sort key's unique suffix keeps entries of one instant apart,
/// and the put never replaces an item (a suffix that was somehow taken is drawn again).
pub(super) async fn record(
    store: &DynamoStore,
    entry: &LockHistoryEntry,
) -> Result<(), StoreError> {
    const OPERATION: &str = "record_lock_event";
    let table = store.tables.lane.as_str();
    for _ in 0..CONTENTION_ATTEMPTS {
        let result = store
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(codec::lock_history_item(entry, &unique_suffix())?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", lane::PARTITION_KEY)
            .send()
            .await;
        match result {
            Ok(_) => return Ok(()),
            Err(error) if is_condition_failed(&error) => continue,
            Err(error) => return Err(sdk_error(OPERATION, table, error)),
        }
    }
    Err(StoreError::Backend(format!(
        "{OPERATION} on table {table}: no free history key for {} after {CONTENTION_ATTEMPTS} attempts",
        entry.lane
    )))
}

/// The lane's history items, descending on the time-ordered sort key.
pub(super) async fn history(
    store: &DynamoStore,
    key: &LaneKey,
    limit: usize,
) -> Result<Vec<LockHistoryEntry>, StoreError> {
    let table = store.tables.lane.as_str();
    let request = partition_query(store, &key.repository, codec::lock_history_prefix(key))
        .scan_index_forward(false);
    store
        .query("lock_history", table, request, limit)
        .await?
        .into_iter()
        .map(|item| codec::decode(table, item))
        .collect()
}

/// Puts the range's item (the same rollback's range again replaces it).
pub(super) async fn record_bad_range(
    store: &DynamoStore,
    range: &deploybot_core::rollback::BadRange,
) -> Result<(), StoreError> {
    const OPERATION: &str = "record_bad_range";
    let table = store.tables.lane.as_str();
    store
        .client
        .put_item()
        .table_name(table)
        .set_item(Some(codec::bad_range_item(range)?))
        .send()
        .await
        .map_err(|error| sdk_error(OPERATION, table, error))?;
    Ok(())
}

/// The lane's rolled-back ranges, ascending on the sort key: the newest rollback first.
pub(super) async fn bad_ranges(
    store: &DynamoStore,
    key: &LaneKey,
    limit: usize,
) -> Result<Vec<deploybot_core::rollback::BadRange>, StoreError> {
    let table = store.tables.lane.as_str();
    let request = partition_query(store, &key.repository, codec::bad_range_prefix(key))
        .scan_index_forward(true);
    store
        .query("bad_ranges", table, request, limit)
        .await?
        .into_iter()
        .map(|item| codec::decode(table, item))
        .collect()
}

/// The sparse due index: `idx_due = due AND due_at <= :now`, earliest first.
pub(super) async fn due(
    store: &DynamoStore,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<LaneRecord>, StoreError> {
    let table = store.tables.lane.as_str();
    let request = store
        .client
        .query()
        .table_name(table)
        .index_name(lane::DUE_INDEX)
        .key_condition_expression("#due = :due AND #due_at <= :now")
        .expression_attribute_names("#due", lane::DUE_INDEX_KEY)
        .expression_attribute_names("#due_at", lane::DUE_AT)
        .expression_attribute_values(":due", codec::string(lane::DUE_PARTITION))
        .expression_attribute_values(":now", codec::number(now.millis()))
        .scan_index_forward(true);
    store
        .query("due_lanes", table, request, limit)
        .await?
        .into_iter()
        .map(|item| codec::decode(table, item))
        .collect()
}

/// A strongly consistent query of the repository's partition, sort keys starting with
/// `prefix`.
fn partition_query(
    store: &DynamoStore,
    repository: &Repository,
    prefix: String,
) -> QueryFluentBuilder {
    store
        .client
        .query()
        .table_name(store.tables.lane.as_str())
        .key_condition_expression("#pk = :repository AND begins_with(#sk, :prefix)")
        .expression_attribute_names("#pk", lane::PARTITION_KEY)
        .expression_attribute_names("#sk", lane::SORT_KEY)
        .expression_attribute_values(":repository", codec::string(repository.as_str()))
        .expression_attribute_values(":prefix", codec::string(prefix))
        .consistent_read(true)
}

/// 32 hex digits: this host's clock in nanoseconds, then 64 unpredictable bits. Unique in
/// practice (the put is conditional besides), and entries of one instant recorded one after
/// the other by one host sort in the order they were recorded.
fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    // RandomState is seeded per process; hashing a counter gives cheap, unpredictable bits
    // without a random-number crate.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{nanos:016x}{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_are_distinct_and_fixed_width() {
        let suffixes: Vec<String> = (0..100).map(|_| unique_suffix()).collect();
        let distinct: std::collections::BTreeSet<&String> = suffixes.iter().collect();
        assert_eq!(distinct.len(), suffixes.len());
        assert!(suffixes.iter().all(|s| s.len() == 32));
    }
}
