//! The user table: GitHub login ↔ Slack user links kept one to one by two claim items written
//! in the same transaction as the link, lookups by login (a partition query or batched claim
//! reads) and by Slack user (the Slack user index).

use super::claims::{self, ClaimPair, Pairing};
use super::codec::{self, Item};
use super::schema::user;
use super::{DynamoStore, is_condition_failed, sdk_error};
use deploybot_core::Timestamp;
use deploybot_core::home::HOME_VIEWER_SECS;
use deploybot_core::notify::DirectPreference;
use deploybot_core::ports::{LinkOutcome, StoreError};
use deploybot_core::{GithubLogin, SlackChannelId, SlackUserId, UserLink};
use std::collections::BTreeSet;

/// The user table's one-to-one relation: GitHub login (partition) ↔ Slack user.
struct Links;

impl ClaimPair for Links {
    type Left = GithubLogin;
    type Right = SlackUserId;
    type Record = UserLink;

    const PAIR_OPERATION: &'static str = "link_user";
    const READ_BACK_OPERATION: &'static str = "link_user (read back)";
    const UNPAIR_OPERATION: &'static str = "unlink_user";
    const RECORD_NOUN: &'static str = "link";
    const RIGHT_NOUN: &'static str = "Slack user";
    const PARTITION_KEY: &'static str = user::PARTITION_KEY;

    fn table(store: &DynamoStore) -> &str {
        store.tables.user.as_str()
    }
    fn sides(record: &UserLink) -> (&GithubLogin, &SlackUserId) {
        (&record.github_login, &record.slack_user)
    }
    fn left_claim_key(login: &GithubLogin) -> Item {
        codec::login_claim_key(login)
    }
    fn right_claim_key(slack_user: &SlackUserId) -> Item {
        codec::slack_claim_key(slack_user)
    }
    fn record_key(login: &GithubLogin, slack_user: &SlackUserId) -> Item {
        codec::link_key(login, slack_user)
    }
    fn record_item(record: &UserLink) -> Result<Item, StoreError> {
        codec::link_item(record)
    }
}

pub(super) async fn link(
    store: &DynamoStore,
    record: &UserLink,
) -> Result<LinkOutcome, StoreError> {
    Ok(match claims::pair::<Links>(store, record).await? {
        Pairing::Paired => LinkOutcome::Linked,
        Pairing::AlreadyPaired => LinkOutcome::AlreadyLinked,
        Pairing::LeftTaken(slack_user) => LinkOutcome::LoginTaken { slack_user },
        Pairing::RightTaken(github_login) => LinkOutcome::SlackUserTaken { github_login },
    })
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
    claims::unpair::<Links>(store, slack_user).await
}

fn preference_word(preference: DirectPreference) -> Option<&'static str> {
    match preference {
        DirectPreference::Routed => None,
        DirectPreference::All => Some("all"),
        DirectPreference::Failures => Some("failures"),
        DirectPreference::None => Some("none"),
    }
}

/// The person's settings item, strongly consistent: their preference.
pub(super) async fn direct_preference(
    store: &DynamoStore,
    slack_user: &SlackUserId,
) -> Result<DirectPreference, StoreError> {
    let table = store.tables.user.as_str();
    let item = store
        .get("direct_preference", table, codec::person_key(slack_user))
        .await?;
    Ok(item
        .as_ref()
        .and_then(|item| codec::string_attribute(item, user::DIRECT_PREFERENCE))
        .and_then(DirectPreference::parse)
        .unwrap_or_default())
}

/// Sets (or, for `Routed`, removes) the preference attribute of the person's item.
pub(super) async fn set_direct_preference(
    store: &DynamoStore,
    slack_user: &SlackUserId,
    preference: DirectPreference,
) -> Result<(), StoreError> {
    const OPERATION: &str = "set_direct_preference";
    let table = store.tables.user.as_str();
    let update = store
        .client
        .update_item()
        .table_name(table)
        .set_key(Some(codec::person_key(slack_user)))
        .expression_attribute_names("#p", user::DIRECT_PREFERENCE);
    let update = match preference_word(preference) {
        Some(word) => update
            .update_expression("SET #p = :p")
            .expression_attribute_values(":p", codec::string(word)),
        None => update.update_expression("REMOVE #p"),
    };
    update
        .send()
        .await
        .map_err(|error| sdk_error(OPERATION, table, error))?;
    Ok(())
}

/// Records `now` as the Home tab's last publish when the last one is `min_gap_secs` old or
/// there was none: one conditional update.
pub(super) async fn claim_home_publish(
    store: &DynamoStore,
    slack_user: &SlackUserId,
    now: Timestamp,
    min_gap_secs: i64,
) -> Result<bool, StoreError> {
    const OPERATION: &str = "claim_home_publish";
    let table = store.tables.user.as_str();
    let result = store
        .client
        .update_item()
        .table_name(table)
        .set_key(Some(codec::person_key(slack_user)))
        .update_expression("SET #h = :now")
        .condition_expression("attribute_not_exists(#h) OR #h <= :cutoff")
        .expression_attribute_names("#h", user::HOME_PUBLISHED_AT)
        .expression_attribute_values(":now", codec::number(now.millis()))
        .expression_attribute_values(
            ":cutoff",
            codec::number(now.plus_secs(-min_gap_secs).millis()),
        )
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(error) if is_condition_failed(&error) => Ok(false),
        Err(error) => Err(sdk_error(OPERATION, table, error)),
    }
}

/// One item per (channel, person): replaced at each opening, and expired by the table's TTL
/// once the opening no longer counts ([`HOME_VIEWER_SECS`]).
pub(super) async fn note_home_viewer(
    store: &DynamoStore,
    channel: &SlackChannelId,
    slack_user: &SlackUserId,
    at: Timestamp,
) -> Result<(), StoreError> {
    const OPERATION: &str = "note_home_viewer";
    let table = store.tables.user.as_str();
    let mut item = codec::home_viewer_key(channel, slack_user);
    item.insert(user::HOME_OPENED_AT.to_owned(), codec::number(at.millis()));
    item.insert(
        user::TTL_ATTRIBUTE.to_owned(),
        codec::number(codec::ttl_seconds(at.plus_secs(HOME_VIEWER_SECS))),
    );
    store
        .client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .map_err(|error| sdk_error(OPERATION, table, error))?;
    Ok(())
}

/// The channel's viewers partition, those who opened at or after `since`.
pub(super) async fn home_viewers(
    store: &DynamoStore,
    channel: &SlackChannelId,
    since: Timestamp,
    limit: usize,
) -> Result<Vec<SlackUserId>, StoreError> {
    const OPERATION: &str = "home_viewers";
    let table = store.tables.user.as_str();
    let request = store
        .client
        .query()
        .table_name(table)
        .key_condition_expression("#pk = :channel")
        .filter_expression("#at >= :since")
        .expression_attribute_names("#pk", user::PARTITION_KEY)
        .expression_attribute_names("#at", user::HOME_OPENED_AT)
        .expression_attribute_values(
            ":channel",
            codec::string(format!("{}{}", user::HOME_VIEWERS_PREFIX, channel.as_str())),
        )
        .expression_attribute_values(":since", codec::number(since.millis()));
    let items = store.query(OPERATION, table, request, limit).await?;
    items
        .iter()
        .map(|item| {
            let id = item
                .get(user::SORT_KEY)
                .and_then(|v| v.as_s().ok())
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("{table}: a Home viewer without a user"))
                })?;
            SlackUserId::parse(id)
                .map_err(|e| StoreError::Corrupt(format!("{table}: Home viewer {id}: {e}")))
        })
        .collect()
}
