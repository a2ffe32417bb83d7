//! Items ↔ records: the key of every kind of item, how a record becomes an item (through
//! `serde_dynamo`, plus the key and index attributes the schema adds), and back.

use super::schema::{CLAIM_SORT_KEY, CLAIMED_BY, delivery, deployment, lane, project, user};
use aws_sdk_dynamodb::types::AttributeValue;
use deploybot_core::lane::{LaneKey, LaneRecord, LockHistoryEntry};
use deploybot_core::ports::StoreError;
use deploybot_core::{
    Deployment, DeploymentId, DeploymentState, Environment, GithubLogin, Project, Repository,
    SlackChannelId, SlackTeamId, SlackUserId, Timestamp, Unbinding, UserLink,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::borrow::Cow;
use std::collections::HashMap;

/// A DynamoDB item (or key).
pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn string(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn number(value: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A string attribute of an item, if it is one.
pub(crate) fn string_attribute<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value),
        _ => None,
    }
}

/// The record as an item: its fields as attributes, top-level `None`s left out (so that an
/// absent field is an absent attribute, as the sparse indexes need).
fn encode<T: Serialize>(what: &str, record: &T) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::aws_sdk_dynamodb_1::to_item(record)
        .map_err(|error| StoreError::Backend(format!("encoding {what}: {error}")))?;
    item.retain(|_, value| !matches!(value, AttributeValue::Null(_)));
    Ok(item)
}

/// A record read back from `table`; extra (key and index) attributes are ignored.
pub(crate) fn decode<T: DeserializeOwned>(table: &str, item: Item) -> Result<T, StoreError> {
    let description = describe_key(&item);
    serde_dynamo::aws_sdk_dynamodb_1::from_item(item).map_err(|error| {
        StoreError::Corrupt(format!("item {description} in table {table}: {error}"))
    })
}

/// A value to put in an attribute (maps, lists, ...).
pub(crate) fn attribute_value<T: Serialize>(
    what: &str,
    value: &T,
) -> Result<AttributeValue, StoreError> {
    serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(value)
        .map_err(|error| StoreError::Backend(format!("encoding {what}: {error}")))
}

/// A short description of an item's key attributes, for error messages.
fn describe_key(item: &Item) -> String {
    let mut parts: Vec<String> = [
        project::PARTITION_KEY,
        project::SORT_KEY,
        user::PARTITION_KEY,
        user::SORT_KEY,
        deployment::SORT_KEY,
        lane::SORT_KEY,
    ]
    .iter()
    .filter_map(|name| string_attribute(item, name).map(|value| format!("{name}={value}")))
    .collect();
    parts.dedup();
    if parts.is_empty() {
        "(no key)".to_owned()
    } else {
        parts.join(" ")
    }
}

/// Reads a claim item's [`CLAIMED_BY`] value.
pub(crate) fn claimed_by(table: &str, item: &Item) -> Result<String, StoreError> {
    string_attribute(item, CLAIMED_BY)
        .map(str::to_owned)
        .ok_or_else(|| {
            StoreError::Corrupt(format!(
                "claim item {} in table {table} has no {CLAIMED_BY}",
                describe_key(item)
            ))
        })
}

/// A claim item: `key` plus who holds the claim.
pub(crate) fn claim_item(mut key: Item, claimed_by: &str) -> Item {
    key.insert(CLAIMED_BY.to_owned(), string(claimed_by));
    key
}

/// Parses an id read from a claim item.
pub(crate) fn parse_claimed<T>(
    table: &str,
    value: &str,
    parse: impl FnOnce(&str) -> Result<T, deploybot_core::ParseError>,
) -> Result<T, StoreError> {
    parse(value).map_err(|error| {
        StoreError::Corrupt(format!("claim in table {table} holds `{value}`: {error}"))
    })
}

// ---- project table ----------------------------------------------------------------------------

fn project_table_key(partition: String, sort: String) -> Item {
    HashMap::from([
        (project::PARTITION_KEY.to_owned(), string(partition)),
        (project::SORT_KEY.to_owned(), string(sort)),
    ])
}

/// The binding item `(repository, channel)`.
pub(crate) fn binding_key(repository: &Repository, channel: &SlackChannelId) -> Item {
    project_table_key(repository.as_str().to_owned(), channel.as_str().to_owned())
}

/// The repository's claim (`claimed_by` = its channel).
pub(crate) fn repository_claim_key(repository: &Repository) -> Item {
    project_table_key(repository.as_str().to_owned(), CLAIM_SORT_KEY.to_owned())
}

/// The channel's claim (`claimed_by` = its repository).
pub(crate) fn channel_claim_key(channel: &SlackChannelId) -> Item {
    project_table_key(
        format!("{}{}", project::CHANNEL_CLAIM_PREFIX, channel.as_str()),
        CLAIM_SORT_KEY.to_owned(),
    )
}

/// The repository's last-unbinding item.
pub(crate) fn unbinding_key(repository: &Repository) -> Item {
    project_table_key(
        repository.as_str().to_owned(),
        project::UNBINDING_SORT_KEY.to_owned(),
    )
}

/// The last-unbinding item of a repository: the record and its key.
pub(crate) fn unbinding_item(record: &Unbinding) -> Result<Item, StoreError> {
    let mut item = encode("unbinding", record)?;
    item.extend(unbinding_key(&record.repository));
    Ok(item)
}

/// The workspace's "tokens revoked" flag.
pub(crate) fn team_flag_key(team: &SlackTeamId) -> Item {
    project_table_key(
        format!("{}{}", project::TEAM_FLAG_PREFIX, team.as_str()),
        project::TEAM_FLAG_SORT_KEY.to_owned(),
    )
}

/// The binding item of a project: the record, its key, the channel index key and, when the
/// repository's GitHub id is known, the GitHub id index key.
pub(crate) fn binding_item(record: &Project) -> Result<Item, StoreError> {
    let mut item = encode("project", record)?;
    item.extend(binding_key(&record.repository, &record.channel));
    item.insert(
        project::CHANNEL_INDEX_KEY.to_owned(),
        string(record.channel.as_str()),
    );
    if let Some(id) = record.github_id {
        item.insert(project::GITHUB_ID_INDEX_KEY.to_owned(), number(id));
    }
    Ok(item)
}

/// Whether a project-table item is a binding (not a claim or flag).
pub(crate) fn is_binding(item: &Item) -> bool {
    string_attribute(item, project::SORT_KEY).is_some_and(|sort| !sort.starts_with('#'))
}

// ---- user table -------------------------------------------------------------------------------

fn user_table_key(partition: String, sort: String) -> Item {
    HashMap::from([
        (user::PARTITION_KEY.to_owned(), string(partition)),
        (user::SORT_KEY.to_owned(), string(sort)),
    ])
}

/// The key of a person's own settings item.
pub(crate) fn person_key(slack_user: &SlackUserId) -> Item {
    user_table_key(
        format!("{}{}", user::PERSON_PREFIX, slack_user.as_str()),
        user::PERSON_SORT_KEY.to_owned(),
    )
}

/// The item saying `slack_user` opened a Home tab showing `channel`'s repository.
pub(crate) fn home_viewer_key(channel: &SlackChannelId, slack_user: &SlackUserId) -> Item {
    user_table_key(
        format!("{}{}", user::HOME_VIEWERS_PREFIX, channel.as_str()),
        slack_user.as_str().to_owned(),
    )
}

/// The link item `(login, Slack user)`.
pub(crate) fn link_key(login: &GithubLogin, slack_user: &SlackUserId) -> Item {
    user_table_key(login.as_str().to_owned(), slack_user.as_str().to_owned())
}

/// The login's claim (`claimed_by` = its Slack user).
pub(crate) fn login_claim_key(login: &GithubLogin) -> Item {
    user_table_key(login.as_str().to_owned(), CLAIM_SORT_KEY.to_owned())
}

/// The Slack user's claim (`claimed_by` = its login).
pub(crate) fn slack_claim_key(slack_user: &SlackUserId) -> Item {
    user_table_key(
        format!("{}{}", user::SLACK_CLAIM_PREFIX, slack_user.as_str()),
        CLAIM_SORT_KEY.to_owned(),
    )
}

/// The link item of a user link: the record, its key, and the Slack user index key.
pub(crate) fn link_item(record: &UserLink) -> Result<Item, StoreError> {
    let mut item = encode("user link", record)?;
    item.extend(link_key(&record.github_login, &record.slack_user));
    item.insert(
        user::SLACK_USER_INDEX_KEY.to_owned(),
        string(record.slack_user.as_str()),
    );
    Ok(item)
}

/// Whether a user-table item is a link (not a claim).
pub(crate) fn is_link(item: &Item) -> bool {
    string_attribute(item, user::SORT_KEY).is_some_and(|sort| !sort.starts_with('#'))
}

// ---- deployment table -------------------------------------------------------------------------

pub(crate) fn deployment_key(repository: &Repository, id: &DeploymentId) -> Item {
    HashMap::from([
        (
            deployment::PARTITION_KEY.to_owned(),
            string(repository.as_str()),
        ),
        (deployment::SORT_KEY.to_owned(), string(id.as_str())),
    ])
}

/// The key of a deployment's "What's shipping" item: partition `owner/name#shipping` (out
/// of the repository's deployment partition, so listing deployments never meets it), sorted
/// by deployment id.
pub(crate) fn shipping_key(repository: &Repository, id: &DeploymentId) -> Item {
    HashMap::from([
        (
            deployment::PARTITION_KEY.to_owned(),
            string(repository_scoped(repository, "shipping")),
        ),
        (deployment::SORT_KEY.to_owned(), string(id.as_str())),
    ])
}

/// The attribute holding a "What's shipping" record as JSON text (its own `repository`
/// field would collide with the key attribute of the same name).
const SHIPPING_RECORD: &str = "record";

/// A "What's shipping" item: its key and the record as JSON text.
pub(crate) fn shipping_item(
    record: &deploybot_core::shipping::ShippingRecord,
) -> Result<Item, StoreError> {
    let json = serde_json::to_string(record)
        .map_err(|error| StoreError::Backend(format!("encoding a shipping record: {error}")))?;
    let mut item = shipping_key(&record.repository, &record.deployment);
    item.insert(SHIPPING_RECORD.to_owned(), string(json));
    Ok(item)
}

/// The record of a "What's shipping" item.
pub(crate) fn shipping_record(
    table: &str,
    item: &Item,
) -> Result<deploybot_core::shipping::ShippingRecord, StoreError> {
    let corrupt = |why: String| {
        StoreError::Corrupt(format!(
            "item {} in table {table}: {why}",
            describe_key(item)
        ))
    };
    let json = string_attribute(item, SHIPPING_RECORD)
        .ok_or_else(|| corrupt(format!("no `{SHIPPING_RECORD}` text")))?;
    serde_json::from_str(json).map_err(|error| corrupt(error.to_string()))
}

/// A one-time notice item: partition `owner/name#notice`, sorted by the notice's key, with
/// when it was taken.
pub(crate) fn notice_item(repository: &Repository, key: &str, at: Timestamp) -> Item {
    HashMap::from([
        (
            deployment::PARTITION_KEY.to_owned(),
            string(repository_scoped(repository, "notice")),
        ),
        (deployment::SORT_KEY.to_owned(), string(key)),
        ("taken_at".to_owned(), number(at.millis())),
    ])
}

/// `owner/name#<suffix>`: the partition key of the per-repository indexes.
pub(crate) fn repository_scoped(repository: &Repository, suffix: &str) -> String {
    format!("{}#{suffix}", repository.as_str())
}

/// The deployment item: the record plus one `idx_*` attribute per index the record belongs in.
/// A field that is `None` (or empty) leaves its index attribute out, so a whole-item put
/// also removes the record from that index.
pub(crate) fn deployment_item(record: &Deployment) -> Result<Item, StoreError> {
    let mut item = encode("deployment", record)?;
    item.extend(deployment_key(&record.repository, &record.id));
    item.insert(
        deployment::SHA_INDEX_KEY.to_owned(),
        string(repository_scoped(&record.repository, record.sha.as_str())),
    );
    item.insert(
        deployment::ENVIRONMENT_INDEX_KEY.to_owned(),
        string(repository_scoped(
            &record.repository,
            &record.environment.to_string(),
        )),
    );
    if let Some(pipeline) = record.pipeline_id.as_deref().filter(|p| !p.is_empty()) {
        item.insert(deployment::PIPELINE_INDEX_KEY.to_owned(), string(pipeline));
    }
    if let Some(github_id) = record.github_deployment_id {
        item.insert(
            deployment::GITHUB_DEPLOYMENT_INDEX_KEY.to_owned(),
            number(github_id),
        );
    }
    if record.state == DeploymentState::WaitingForChecks {
        item.insert(
            deployment::WAITING_INDEX_KEY.to_owned(),
            string(deployment::WAITING_PARTITION),
        );
    }
    if record.state.is_pending() {
        item.insert(
            deployment::PENDING_INDEX_KEY.to_owned(),
            string(repository_scoped(
                &record.repository,
                &record.environment.to_string(),
            )),
        );
    }
    if record.succeeded_at.is_some() {
        item.insert(
            deployment::SUCCEEDED_INDEX_KEY.to_owned(),
            string(repository_scoped(
                &record.repository,
                &record.environment.to_string(),
            )),
        );
    }
    // The pending index sorts by this attribute: a number, whatever serde did.
    item.insert(deployment::SEQ.to_owned(), number(record.seq));
    // The waiting index sorts by this attribute; make sure it is a number whatever serde did.
    item.insert(
        deployment::CREATED_AT.to_owned(),
        number(record.created_at.millis()),
    );
    Ok(item)
}

// ---- lane table -------------------------------------------------------------------------------

pub(crate) fn lane_table_key(repository: &str, sort: String) -> Item {
    HashMap::from([
        (lane::PARTITION_KEY.to_owned(), string(repository)),
        (lane::SORT_KEY.to_owned(), string(sort)),
    ])
}

/// An environment's name as a part of a sort key: `%` and `#` (the parts' separator) are
/// written `%25` and `%23`, so one name's keys never start with another's (`staging#2`
/// holds a `#`; its history is not `staging`'s).
pub(crate) fn key_part(environment: &Environment) -> Cow<'_, str> {
    let name = environment.name();
    if name.contains(['%', '#']) {
        name.replace('%', "%25").replace('#', "%23").into()
    } else {
        name
    }
}

/// The lane record item `(repository, lane#<environment>)`.
pub(crate) fn lane_key(key: &LaneKey) -> Item {
    lane_table_key(
        key.repository.as_str(),
        format!("{}{}", lane::RECORD_PREFIX, key_part(&key.environment)),
    )
}

/// The lane's arrival counter item `(repository, seq#<environment>)`.
pub(crate) fn lane_seq_key(key: &LaneKey) -> Item {
    lane_table_key(
        key.repository.as_str(),
        format!("{}{}", lane::SEQ_PREFIX, key_part(&key.environment)),
    )
}

/// The sort-key prefix of the lane's lock history entries, `history#<environment>#` (the
/// closing `#` keeps `pr1` from matching `pr12`; [`key_part`] keeps a `#` in a name from
/// doing what that closing one does).
pub(crate) fn lock_history_prefix(key: &LaneKey) -> String {
    format!("{}{}#", lane::HISTORY_PREFIX, key_part(&key.environment))
}

/// The sort key of a lock history entry: the lane's prefix, the entry's time in Unix
/// milliseconds zero-padded to 19 digits (so the keys sort by time; a time before 1970
/// counts as 1970), and `suffix`, which makes entries of one instant distinct.
pub(crate) fn lock_history_sort_key(entry: &LockHistoryEntry, suffix: &str) -> String {
    format!(
        "{}{:019}#{suffix}",
        lock_history_prefix(&entry.lane),
        entry.at.millis().max(0)
    )
}

/// The lane record item: the record, its key, and the due index attributes while it has a
/// `due_at` (absent otherwise, so a whole-item put also takes it out of the index).
pub(crate) fn lane_item(record: &LaneRecord) -> Result<Item, StoreError> {
    let mut item = encode("lane", record)?;
    item.extend(lane_key(&record.lane));
    if let Some(due_at) = record.due_at {
        item.insert(lane::DUE_INDEX_KEY.to_owned(), string(lane::DUE_PARTITION));
        // The due index sorts by this attribute: a number, whatever serde did.
        item.insert(lane::DUE_AT.to_owned(), number(due_at.millis()));
    }
    Ok(item)
}

/// The sort-key prefix of the lane's rolled-back ranges, `bad#<environment>#`.
pub(crate) fn bad_range_prefix(key: &LaneKey) -> String {
    format!("{}{}#", lane::BAD_PREFIX, key.environment)
}

/// A rolled-back range item: the range and its key (`bad#<environment>#<rollback id>`).
pub(crate) fn bad_range_item(
    range: &deploybot_core::rollback::BadRange,
) -> Result<Item, StoreError> {
    let mut item = encode("rolled-back range", range)?;
    item.extend(lane_table_key(
        range.lane.repository.as_str(),
        format!("{}{}", bad_range_prefix(&range.lane), range.rollback),
    ));
    Ok(item)
}

/// A lock history item: the entry and its key.
pub(crate) fn lock_history_item(
    entry: &LockHistoryEntry,
    suffix: &str,
) -> Result<Item, StoreError> {
    let mut item = encode("lock history entry", entry)?;
    item.extend(lane_table_key(
        entry.lane.repository.as_str(),
        lock_history_sort_key(entry, suffix),
    ));
    Ok(item)
}

/// The counter item's value as UpdateItem returned it.
pub(crate) fn next_seq(table: &str, key: &LaneKey, attributes: &Item) -> Result<u64, StoreError> {
    attributes
        .get(lane::NEXT_SEQ)
        .and_then(|value| value.as_n().ok())
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| {
            StoreError::Corrupt(format!(
                "the arrival counter of {key} in table {table} is not a whole number: {:?}",
                attributes.get(lane::NEXT_SEQ)
            ))
        })
}

// ---- delivery table ---------------------------------------------------------------------------

/// Unix seconds, rounded up: DynamoDB's TTL must not delete a key before it expires.
pub(crate) fn ttl_seconds(at: Timestamp) -> i64 {
    at.millis().saturating_add(999).div_euclid(1000)
}

pub(crate) fn delivery_key(key: &str) -> Item {
    HashMap::from([(delivery::PARTITION_KEY.to_owned(), string(key))])
}

/// A delivery record: leased until `expires_at`, or done and kept until then.
pub(crate) fn delivery_item(key: &str, expires_at: Timestamp, done: bool) -> Item {
    let mut item = delivery_key(key);
    item.insert(delivery::DONE.to_owned(), AttributeValue::Bool(done));
    item.insert(
        delivery::TTL_ATTRIBUTE.to_owned(),
        number(ttl_seconds(expires_at)),
    );
    item.insert(
        delivery::EXPIRES_AT_MILLIS.to_owned(),
        number(expires_at.millis()),
    );
    item
}

#[cfg(test)]
mod tests {
    use super::*;
    use deploybot_core::{Environment, GitRef, Sha, Trigger};

    fn sample_deployment() -> Deployment {
        Deployment::new(
            Repository::parse("acme/web").expect("valid"),
            DeploymentId::new(Timestamp::from_millis(1_700_000_000_000), 7),
            Environment::PullRequest(4),
            GitRef::branch("feature").expect("valid"),
            Sha::parse(&"a".repeat(40)).expect("valid"),
            Trigger::PullRequest {
                number: 4,
                url: None,
            },
            SlackChannelId::parse("C123").expect("valid"),
            Timestamp::from_millis(1_700_000_000_000),
        )
    }

    #[test]
    fn deployment_round_trips_and_index_attributes_follow_fields() {
        let mut record = sample_deployment();
        let item = deployment_item(&record).expect("encodes");
        assert_eq!(
            string_attribute(&item, deployment::SHA_INDEX_KEY),
            Some(format!("acme/web#{}", "a".repeat(40)).as_str())
        );
        assert_eq!(
            string_attribute(&item, deployment::ENVIRONMENT_INDEX_KEY),
            Some("acme/web#pr4")
        );
        for absent in [
            deployment::PIPELINE_INDEX_KEY,
            deployment::GITHUB_DEPLOYMENT_INDEX_KEY,
            deployment::WAITING_INDEX_KEY,
            "pipeline_id",
            "slack_ts",
        ] {
            assert!(!item.contains_key(absent), "{absent} should be absent");
        }
        let back: Deployment = decode("t", item).expect("decodes");
        assert_eq!(back, record);

        record.pipeline_id = Some("p-1".to_owned());
        record.github_deployment_id = Some(42);
        record.state = DeploymentState::WaitingForChecks;
        record.waiting_for = vec!["ci/build".to_owned()];
        let item = deployment_item(&record).expect("encodes");
        assert_eq!(
            string_attribute(&item, deployment::PIPELINE_INDEX_KEY),
            Some("p-1")
        );
        assert_eq!(
            item.get(deployment::GITHUB_DEPLOYMENT_INDEX_KEY),
            Some(&AttributeValue::N("42".to_owned()))
        );
        assert_eq!(
            string_attribute(&item, deployment::WAITING_INDEX_KEY),
            Some(deployment::WAITING_PARTITION)
        );
        assert_eq!(
            item.get(deployment::CREATED_AT),
            Some(&AttributeValue::N("1700000000000".to_owned()))
        );
        let back: Deployment = decode("t", item).expect("decodes");
        assert_eq!(back, record);

        record.pipeline_id = Some(String::new());
        let item = deployment_item(&record).expect("encodes");
        assert!(!item.contains_key(deployment::PIPELINE_INDEX_KEY));
    }

    #[test]
    fn corrupt_items_are_reported_with_their_key() {
        let mut item = deployment_item(&sample_deployment()).expect("encodes");
        item.insert("sha".to_owned(), string("not-a-sha"));
        let error = decode::<Deployment>("deployments", item).expect_err("bad sha");
        match error {
            StoreError::Corrupt(message) => {
                assert!(message.contains("deployments"), "{message}");
                assert!(message.contains("repository=acme/web"), "{message}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn pending_deployments_carry_their_lane_in_the_pending_index() {
        let mut record = sample_deployment();
        record.seq = 3;
        for state in DeploymentState::ALL {
            record.state = state;
            let item = deployment_item(&record).expect("encodes");
            assert_eq!(
                string_attribute(&item, deployment::PENDING_INDEX_KEY),
                state.is_pending().then_some("acme/web#pr4"),
                "{state}"
            );
            assert_eq!(
                item.get(deployment::SEQ),
                Some(&AttributeValue::N("3".to_owned()))
            );
            let back: Deployment = decode("t", item).expect("decodes");
            assert_eq!(back, record);
        }
    }

    #[test]
    fn lane_items_round_trip_with_their_keys() {
        let lane = LaneKey {
            repository: Repository::parse("acme/web").expect("valid"),
            environment: deploybot_core::Environment::PullRequest(12),
        };
        let mut record = LaneRecord::empty(lane.clone(), Timestamp::from_millis(5));
        let item = lane_item(&record).expect("encodes");
        assert_eq!(string_attribute(&item, lane::SORT_KEY), Some("lane#pr12"));
        assert_eq!(
            string_attribute(&item, lane::PARTITION_KEY),
            Some("acme/web")
        );
        assert!(!item.contains_key(lane::DUE_INDEX_KEY));
        assert!(!item.contains_key(lane::DUE_AT));
        let back: LaneRecord = decode("t", item).expect("decodes");
        assert_eq!(back, record);

        record.due_at = Some(Timestamp::from_millis(1_700_000_000_000));
        let item = lane_item(&record).expect("encodes");
        assert_eq!(
            string_attribute(&item, lane::DUE_INDEX_KEY),
            Some(lane::DUE_PARTITION)
        );
        assert_eq!(
            item.get(lane::DUE_AT),
            Some(&AttributeValue::N("1700000000000".to_owned()))
        );
        let back: LaneRecord = decode("t", item).expect("decodes");
        assert_eq!(back, record);

        assert_eq!(
            string_attribute(&lane_seq_key(&lane), lane::SORT_KEY),
            Some("seq#pr12")
        );
        assert_eq!(lock_history_prefix(&lane), "history#pr12#");
    }

    #[test]
    fn lock_history_keys_sort_by_time() {
        let lane = LaneKey {
            repository: Repository::parse("acme/web").expect("valid"),
            environment: deploybot_core::Environment::Staging,
        };
        let entry = |millis: i64| LockHistoryEntry {
            lane: lane.clone(),
            at: Timestamp::from_millis(millis),
            by: None,
            event: deploybot_core::lane::LockHistoryEvent::Released {
                lock: deploybot_core::lane::Lock {
                    holder: SlackUserId::parse("U0ANA").expect("valid"),
                    reason: None,
                    since: Timestamp::from_millis(0),
                    until: Timestamp::from_millis(millis),
                    reminded: false,
                },
                end: deploybot_core::lane::LockEnd::Expired,
            },
        };
        assert_eq!(
            lock_history_sort_key(&entry(1_700_000_000_000), "s"),
            "history#staging#0000001700000000000#s"
        );
        let times = [-5, 0, 9, 10, 999_999_999_999, 1_700_000_000_000, i64::MAX];
        let keys: Vec<String> = times
            .iter()
            .map(|t| lock_history_sort_key(&entry(*t), "s"))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        let item = lock_history_item(&entry(42), "abc").expect("encodes");
        let back: LockHistoryEntry = decode("t", item).expect("decodes");
        assert_eq!(back, entry(42));
    }

    #[test]
    fn ttl_rounds_up_to_whole_seconds() {
        assert_eq!(ttl_seconds(Timestamp::from_millis(1_000)), 1);
        assert_eq!(ttl_seconds(Timestamp::from_millis(1_001)), 2);
        assert_eq!(ttl_seconds(Timestamp::from_millis(0)), 0);
        let item = delivery_item("k", Timestamp::from_millis(5_500), false);
        assert_eq!(
            item.get(delivery::TTL_ATTRIBUTE),
            Some(&AttributeValue::N("6".to_owned()))
        );
        assert_eq!(
            item.get(delivery::EXPIRES_AT_MILLIS),
            Some(&AttributeValue::N("5500".to_owned()))
        );
    }

    #[test]
    fn guards_never_look_like_records() {
        let repository = Repository::parse("acme/web").expect("valid");
        let channel = SlackChannelId::parse("C123").expect("valid");
        assert!(!is_binding(&repository_claim_key(&repository)));
        assert!(!is_binding(&channel_claim_key(&channel)));
        assert!(is_binding(&binding_key(&repository, &channel)));
        let login = GithubLogin::parse("octocat").expect("valid");
        let slack = SlackUserId::parse("U123").expect("valid");
        assert!(!is_link(&login_claim_key(&login)));
        assert!(is_link(&link_key(&login, &slack)));
    }
}
