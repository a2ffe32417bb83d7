//! One-to-one pairs kept by two claim items (ADR 0005), shared by the project table (repository
//! ↔ channel) and the user table (login ↔ Slack user): pairing is one transaction of both
//! claims and the record, a refusal is read back from the claim that refused; unpairing deletes
//! the record and both claims in one transaction.

use super::codec::{self, Item};
use super::{
    CONTENTION_ATTEMPTS, DynamoStore, Transaction, delete_claim, delete_existing, put_new,
};
use deploybot_core::ParseError;
use deploybot_core::ports::StoreError;
use serde::de::DeserializeOwned;
use std::fmt::Display;
use std::str::FromStr;

/// Positions of the claims in the pairing transaction (cancellation reasons follow this order).
const LEFT_CLAIM: usize = 0;
const RIGHT_CLAIM: usize = 1;

/// What one table's one-to-one relation looks like. The left side is the record's partition
/// (repository, login), the right side the other id (channel, Slack user); each side's claim
/// item names the other side in `claimed_by` (written with `Display`, read with `FromStr`).
pub(super) trait ClaimPair {
    type Left: Display + FromStr<Err = ParseError>;
    type Right: Display + FromStr<Err = ParseError>;
    type Record: DeserializeOwned;

    /// Operation names for errors: the pairing, its read-back, the unpairing.
    const PAIR_OPERATION: &'static str;
    const READ_BACK_OPERATION: &'static str;
    const UNPAIR_OPERATION: &'static str;
    /// What the record and the right side are called in errors ("binding", "channel").
    const RECORD_NOUN: &'static str;
    const RIGHT_NOUN: &'static str;
    /// The table's partition key attribute.
    const PARTITION_KEY: &'static str;

    fn table(store: &DynamoStore) -> &str;
    fn sides(record: &Self::Record) -> (&Self::Left, &Self::Right);
    fn left_claim_key(left: &Self::Left) -> Item;
    fn right_claim_key(right: &Self::Right) -> Item;
    fn record_key(left: &Self::Left, right: &Self::Right) -> Item;
    /// The record item: the record, its key and its index attribute.
    fn record_item(record: &Self::Record) -> Result<Item, StoreError>;
}

/// How a pairing ended (other than with an error).
#[derive(Debug)]
pub(super) enum Pairing<Left, Right> {
    Paired,
    /// Both sides are already paired with each other.
    AlreadyPaired,
    /// The left side is paired with this other right side.
    LeftTaken(Right),
    /// The right side is paired with this other left side.
    RightTaken(Left),
}

/// Writes both claims and the record in one transaction, each only if new.
pub(super) async fn pair<P: ClaimPair>(
    store: &DynamoStore,
    record: &P::Record,
) -> Result<Pairing<P::Left, P::Right>, StoreError> {
    let operation = P::PAIR_OPERATION;
    let table = P::table(store);
    let (left, right) = P::sides(record);
    let writes = vec![
        put_new(
            operation,
            table,
            P::PARTITION_KEY,
            codec::claim_item(P::left_claim_key(left), &right.to_string()),
        )?,
        put_new(
            operation,
            table,
            P::PARTITION_KEY,
            codec::claim_item(P::right_claim_key(right), &left.to_string()),
        )?,
        put_new(operation, table, P::PARTITION_KEY, P::record_item(record)?)?,
    ];
    for _ in 0..CONTENTION_ATTEMPTS {
        match store.transact(operation, table, writes.clone()).await? {
            Transaction::Committed => return Ok(Pairing::Paired),
            Transaction::ConditionFailed(codes) => {
                if let Some(outcome) = refusal::<P>(store, left, right, &codes).await? {
                    return Ok(outcome);
                }
                // The claim that refused us was released meanwhile (a concurrent unpairing).
            }
        }
    }
    Err(StoreError::Backend(format!(
        "{operation} on table {table}: the {} kept changing during {CONTENTION_ATTEMPTS} attempts",
        P::RECORD_NOUN
    )))
}

/// Why a pairing transaction was refused, read back from the claims whose condition failed (the
/// left side's first). `None` when those claims are gone by now.
async fn refusal<P: ClaimPair>(
    store: &DynamoStore,
    left: &P::Left,
    right: &P::Right,
    codes: &[String],
) -> Result<Option<Pairing<P::Left, P::Right>>, StoreError> {
    let operation = P::READ_BACK_OPERATION;
    let table = P::table(store);
    // Without usable reasons (an emulator may omit them), look at both claims.
    let unknown =
        !Transaction::failed(codes, LEFT_CLAIM) && !Transaction::failed(codes, RIGHT_CLAIM);
    if unknown || Transaction::failed(codes, LEFT_CLAIM) {
        let key = P::left_claim_key(left);
        if let Some(claim) = store.get(operation, table, key).await? {
            let holder = codec::claimed_by(table, &claim)?;
            if holder == right.to_string() {
                return Ok(Some(Pairing::AlreadyPaired));
            }
            let holder = codec::parse_claimed(table, &holder, P::Right::from_str)?;
            return Ok(Some(Pairing::LeftTaken(holder)));
        }
    }
    if unknown || Transaction::failed(codes, RIGHT_CLAIM) {
        let key = P::right_claim_key(right);
        if let Some(claim) = store.get(operation, table, key).await? {
            let holder = codec::claimed_by(table, &claim)?;
            if holder == left.to_string() {
                return Ok(Some(Pairing::AlreadyPaired));
            }
            let holder = codec::parse_claimed(table, &holder, P::Left::from_str)?;
            return Ok(Some(Pairing::RightTaken(holder)));
        }
    }
    Ok(None)
}

/// Removes the record and both claims of `right`'s pair in one transaction; returns the record.
pub(super) async fn unpair<P: ClaimPair>(
    store: &DynamoStore,
    right: &P::Right,
) -> Result<Option<P::Record>, StoreError> {
    let operation = P::UNPAIR_OPERATION;
    let table = P::table(store);
    for _ in 0..CONTENTION_ATTEMPTS {
        let Some(claim) = store
            .get(operation, table, P::right_claim_key(right))
            .await?
        else {
            return Ok(None);
        };
        let left = codec::claimed_by(table, &claim)?;
        let left = codec::parse_claimed(table, &left, P::Left::from_str)?;
        let Some(item) = store
            .get(operation, table, P::record_key(&left, right))
            .await?
        else {
            return Err(StoreError::Corrupt(format!(
                "table {table}: {} {right} is claimed by {left} but has no {} item",
                P::RIGHT_NOUN,
                P::RECORD_NOUN
            )));
        };
        let record: P::Record = codec::decode(table, item)?;
        let writes = vec![
            delete_existing(
                operation,
                table,
                P::PARTITION_KEY,
                P::record_key(&left, right),
            )?,
            delete_claim(
                operation,
                table,
                P::left_claim_key(&left),
                &right.to_string(),
            )?,
            delete_claim(
                operation,
                table,
                P::right_claim_key(right),
                &left.to_string(),
            )?,
        ];
        match store.transact(operation, table, writes).await? {
            Transaction::Committed => return Ok(Some(record)),
            // Unpaired (and maybe paired again) meanwhile: look again.
            Transaction::ConditionFailed(_) => continue,
        }
    }
    Err(StoreError::Backend(format!(
        "{operation} on table {table}: the {} kept changing during {CONTENTION_ATTEMPTS} attempts",
        P::RECORD_NOUN
    )))
}
