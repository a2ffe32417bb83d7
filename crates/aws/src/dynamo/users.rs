//! The user table: GitHub login ↔ Slack user links kept one to one by two claim items written
//! in the same transaction as the link, lookups by login (a partition query or batched claim
//! reads) and by Slack user (the Slack user index).

use super::codec::{self, Item};
use super::schema::user;
use super::{
    CONTENTION_ATTEMPTS, DynamoStore, Transaction, delete_claim, delete_existing, put_new,
};
use deploybot_core::ports::{LinkOutcome, StoreError};
use deploybot_core::{GithubLogin, SlackUserId, UserLink};
use std::collections::BTreeSet;

/// Positions of the writes in the link transaction (cancellation reasons follow this order).
const LOGIN_CLAIM: usize = 0;
const SLACK_CLAIM: usize = 1;

pub(super) async fn link(
    store: &DynamoStore,
    record: &UserLink,
) -> Result<LinkOutcome, StoreError> {
    const OPERATION: &str = "link_user";
    let table = store.tables.user.as_str();
    let writes = vec![
        put_new(
            OPERATION,
            table,
            user::PARTITION_KEY,
            codec::claim_item(
                codec::login_claim_key(&record.github_login),
                record.slack_user.as_str(),
            ),
        )?,
        put_new(
            OPERATION,
            table,
            user::PARTITION_KEY,
            codec::claim_item(
                codec::slack_claim_key(&record.slack_user),
                record.github_login.as_str(),
            ),
        )?,
        put_new(
            OPERATION,
            table,
            user::PARTITION_KEY,
            codec::link_item(record)?,
        )?,
    ];
    for _ in 0..CONTENTION_ATTEMPTS {
        match store.transact(OPERATION, table, writes.clone()).await? {
            Transaction::Committed => return Ok(LinkOutcome::Linked),
            Transaction::ConditionFailed(codes) => {
                if let Some(outcome) = refusal(store, record, &codes).await? {
                    return Ok(outcome);
                }
                // The claim that refused us was released meanwhile (a concurrent unlink).
            }
        }
    }
    Err(StoreError::Backend(format!(
        "{OPERATION} on table {table}: the link kept changing during {CONTENTION_ATTEMPTS} attempts"
    )))
}

/// Why a link transaction was refused, read back from the claims whose condition failed (the
/// login's first). `None` when those claims are gone by now.
async fn refusal(
    store: &DynamoStore,
    record: &UserLink,
    codes: &[String],
) -> Result<Option<LinkOutcome>, StoreError> {
    const OPERATION: &str = "link_user (read back)";
    let table = store.tables.user.as_str();
    let unknown =
        !Transaction::failed(codes, LOGIN_CLAIM) && !Transaction::failed(codes, SLACK_CLAIM);
    if unknown || Transaction::failed(codes, LOGIN_CLAIM) {
        let key = codec::login_claim_key(&record.github_login);
        if let Some(claim) = store.get(OPERATION, table, key).await? {
            let slack_user = codec::claimed_by(table, &claim)?;
            if slack_user == record.slack_user.as_str() {
                return Ok(Some(LinkOutcome::AlreadyLinked));
            }
            let slack_user = codec::parse_claimed(table, &slack_user, SlackUserId::parse)?;
            return Ok(Some(LinkOutcome::LoginTaken { slack_user }));
        }
    }
    if unknown || Transaction::failed(codes, SLACK_CLAIM) {
        let key = codec::slack_claim_key(&record.slack_user);
        if let Some(claim) = store.get(OPERATION, table, key).await? {
            let login = codec::claimed_by(table, &claim)?;
            if login == record.github_login.as_str() {
                return Ok(Some(LinkOutcome::AlreadyLinked));
            }
            let github_login = codec::parse_claimed(table, &login, GithubLogin::parse)?;
            return Ok(Some(LinkOutcome::SlackUserTaken { github_login }));
        }
    }
    Ok(None)
}

/// The login's partition (its link and its claim), strongly consistent.
pub(super) async fn by_login(
    store: &DynamoStore,
    login: &GithubLogin,
) -> Result<Option<UserLink>, StoreError> {
    const OPERATION: &str = "user_by_login";
    let table = store.tables.user.as_str();
    let request = store
        .client
        .query()
        .table_name(table)
        .key_condition_expression("#pk = :login")
        .expression_attribute_names("#pk", user::PARTITION_KEY)
        .expression_attribute_values(":login", codec::string(login.as_str()))
        .consistent_read(true);
    // At most two items live in a login's partition: its claim and its link.
    let items = store.query(OPERATION, table, request, 4).await?;
    items
        .into_iter()
        .find(codec::is_link)
        .map(|item| codec::decode(table, item))
        .transpose()
}

/// The Slack user index: one query, eventually consistent like every global secondary index.
pub(super) async fn by_slack(
    store: &DynamoStore,
    slack_user: &SlackUserId,
) -> Result<Option<UserLink>, StoreError> {
    const OPERATION: &str = "user_by_slack";
    let table = store.tables.user.as_str();
    let request = store
        .client
        .query()
        .table_name(table)
        .index_name(user::SLACK_USER_INDEX)
        .key_condition_expression("#slack = :slack")
        .expression_attribute_names("#slack", user::SLACK_USER_INDEX_KEY)
        .expression_attribute_values(":slack", codec::string(slack_user.as_str()));
    let items = store.query(OPERATION, table, request, 1).await?;
    items
        .into_iter()
        .next()
        .map(|item| codec::decode(table, item))
        .transpose()
}

/// Two batched key reads: the logins' claims (which name their Slack users), then the links.
pub(super) async fn by_logins(
    store: &DynamoStore,
    logins: &[GithubLogin],
) -> Result<Vec<UserLink>, StoreError> {
    const OPERATION: &str = "users_by_logins";
    let table = store.tables.user.as_str();
    let unique: BTreeSet<&GithubLogin> = logins.iter().collect();
    if unique.is_empty() {
        return Ok(Vec::new());
    }
    let claim_keys: Vec<Item> = unique
        .iter()
        .map(|login| codec::login_claim_key(login))
        .collect();
    let claims = store.batch_get(OPERATION, table, claim_keys).await?;
    let mut link_keys = Vec::with_capacity(claims.len());
    for claim in &claims {
        let login = codec::string_attribute(claim, user::PARTITION_KEY).unwrap_or_default();
        let login = codec::parse_claimed(table, login, GithubLogin::parse)?;
        let slack_user = codec::claimed_by(table, claim)?;
        let slack_user = codec::parse_claimed(table, &slack_user, SlackUserId::parse)?;
        link_keys.push(codec::link_key(&login, &slack_user));
    }
    let links = store.batch_get(OPERATION, table, link_keys).await?;
    links
        .into_iter()
        .map(|item| codec::decode(table, item))
        .collect()
}

/// Removes the link and both claims in one transaction; returns the link.
pub(super) async fn unlink(
    store: &DynamoStore,
    slack_user: &SlackUserId,
) -> Result<Option<UserLink>, StoreError> {
    const OPERATION: &str = "unlink_user";
    let table = store.tables.user.as_str();
    for _ in 0..CONTENTION_ATTEMPTS {
        let Some(claim) = store
            .get(OPERATION, table, codec::slack_claim_key(slack_user))
            .await?
        else {
            return Ok(None);
        };
        let login = codec::claimed_by(table, &claim)?;
        let login = codec::parse_claimed(table, &login, GithubLogin::parse)?;
        let Some(item) = store
            .get(OPERATION, table, codec::link_key(&login, slack_user))
            .await?
        else {
            return Err(StoreError::Corrupt(format!(
                "table {table}: Slack user {slack_user} is claimed by {login} but has no link item"
            )));
        };
        let linked: UserLink = codec::decode(table, item)?;
        let writes = vec![
            delete_existing(
                OPERATION,
                table,
                user::PARTITION_KEY,
                codec::link_key(&login, slack_user),
            )?,
            delete_claim(
                OPERATION,
                table,
                codec::login_claim_key(&login),
                slack_user.as_str(),
            )?,
            delete_claim(
                OPERATION,
                table,
                codec::slack_claim_key(slack_user),
                login.as_str(),
            )?,
        ];
        match store.transact(OPERATION, table, writes).await? {
            Transaction::Committed => return Ok(Some(linked)),
            // Unlinked (and maybe linked again) meanwhile: look again.
            Transaction::ConditionFailed(_) => continue,
        }
    }
    Err(StoreError::Backend(format!(
        "{OPERATION} on table {table}: the link kept changing during {CONTENTION_ATTEMPTS} attempts"
    )))
}
