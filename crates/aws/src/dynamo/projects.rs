//! The project table: channel ↔ repository bindings kept one to one by two claim items written
//! in the same transaction as the binding, lookups by repository (a partition query) and by
//! channel (the channel index), each repository's last unbinding, and the Slack workspaces'
//! "tokens revoked" flags.

use super::claims::{self, ClaimPair, Pairing};
use super::codec::{self, Item};
use super::schema::project;
use super::{DynamoStore, is_condition_failed, sdk_error};
use deploybot_core::ports::{BindOutcome, StoreError};
use deploybot_core::{Project, Repository, SlackChannelId, SlackTeamId, Unbinding};

/// The project table's one-to-one relation: repository (partition) ↔ channel.
struct Bindings;

impl ClaimPair for Bindings {
    type Left = Repository;
    type Right = SlackChannelId;
    type Record = Project;

    const PAIR_OPERATION: &'static str = "bind_project";
    const READ_BACK_OPERATION: &'static str = "bind_project (read back)";
    const UNPAIR_OPERATION: &'static str = "unbind_project";
    const RECORD_NOUN: &'static str = "binding";
    const RIGHT_NOUN: &'static str = "channel";
    const PARTITION_KEY: &'static str = project::PARTITION_KEY;

    fn table(store: &DynamoStore) -> &str {
        store.tables.project.as_str()
    }
    fn sides(record: &Project) -> (&Repository, &SlackChannelId) {
        (&record.repository, &record.channel)
    }
    fn left_claim_key(repository: &Repository) -> Item {
        codec::repository_claim_key(repository)
    }
    fn right_claim_key(channel: &SlackChannelId) -> Item {
        codec::channel_claim_key(channel)
    }
    fn record_key(repository: &Repository, channel: &SlackChannelId) -> Item {
        codec::binding_key(repository, channel)
    }
    fn record_item(record: &Project) -> Result<Item, StoreError> {
        codec::binding_item(record)
    }
}

pub(super) async fn bind(store: &DynamoStore, record: &Project) -> Result<BindOutcome, StoreError> {
    Ok(match claims::pair::<Bindings>(store, record).await? {
        Pairing::Paired => BindOutcome::Bound,
        Pairing::AlreadyPaired => BindOutcome::AlreadyBound,
        Pairing::LeftTaken(channel) => BindOutcome::RepositoryTaken { channel },
        Pairing::RightTaken(repository) => BindOutcome::ChannelTaken { repository },
    })
}

/// The channel index: one query, eventually consistent like every global secondary index.
pub(super) async fn by_channel(
    store: &DynamoStore,
    channel: &SlackChannelId,
) -> Result<Option<Project>, StoreError> {
    const OPERATION: &str = "project_by_channel";
    let table = store.tables.project.as_str();
    let request = store
        .client
        .query()
        .table_name(table)
        .index_name(project::CHANNEL_INDEX)
        .key_condition_expression("#channel = :channel")
        .expression_attribute_names("#channel", project::CHANNEL_INDEX_KEY)
        .expression_attribute_values(":channel", codec::string(channel.as_str()));
    let items = store.query(OPERATION, table, request, 1).await?;
    items
        .into_iter()
        .next()
        .map(|item| codec::decode(table, item))
        .transpose()
}

/// The repository's partition (its binding and its claim), strongly consistent.
pub(super) async fn by_repository(
    store: &DynamoStore,
    repository: &Repository,
) -> Result<Option<Project>, StoreError> {
    const OPERATION: &str = "project_by_repository";
    let table = store.tables.project.as_str();
    let request = store
        .client
        .query()
        .table_name(table)
        .key_condition_expression("#pk = :repository")
        .expression_attribute_names("#pk", project::PARTITION_KEY)
        .expression_attribute_values(":repository", codec::string(repository.as_str()))
        .consistent_read(true);
    // At most three items live in a repository's partition: its claim, its binding and its
    // last unbinding.
    let items = store.query(OPERATION, table, request, 4).await?;
    items
        .into_iter()
        .find(codec::is_binding)
        .map(|item| codec::decode(table, item))
        .transpose()
}

/// Replaces `channel_name`, `team` and `settings` of the binding, if it still exists.
pub(super) async fn update(store: &DynamoStore, record: &Project) -> Result<bool, StoreError> {
    const OPERATION: &str = "update_project";
    let table = store.tables.project.as_str();
    let mut set = vec!["#settings = :settings"];
    let mut remove = Vec::new();
    let mut request = store
        .client
        .update_item()
        .table_name(table)
        .set_key(Some(codec::binding_key(
            &record.repository,
            &record.channel,
        )))
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", project::PARTITION_KEY)
        .expression_attribute_names("#settings", "settings")
        .expression_attribute_names("#channel_name", "channel_name")
        .expression_attribute_names("#team", "team")
        .expression_attribute_values(
            ":settings",
            codec::attribute_value("project settings", &record.settings)?,
        );
    match &record.channel_name {
        Some(name) => {
            set.push("#channel_name = :channel_name");
            request = request.expression_attribute_values(":channel_name", codec::string(name));
        }
        None => remove.push("#channel_name"),
    }
    match &record.team {
        Some(team) => {
            set.push("#team = :team");
            request = request.expression_attribute_values(":team", codec::string(team.as_str()));
        }
        None => remove.push("#team"),
    }
    request = request.expression_attribute_names("#workflow", "workflow");
    match &record.workflow {
        Some(workflow) => {
            set.push("#workflow = :workflow");
            request = request.expression_attribute_values(
                ":workflow",
                codec::attribute_value("project workflow", workflow)?,
            );
        }
        None => remove.push("#workflow"),
    }
    let mut expression = format!("SET {}", set.join(", "));
    if !remove.is_empty() {
        expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
    }
    match request.update_expression(expression).send().await {
        Ok(_) => Ok(true),
        Err(error) if is_condition_failed(&error) => Ok(false),
        Err(error) => Err(sdk_error(OPERATION, table, error)),
    }
}

/// Removes the binding and both claims in one transaction; returns the binding.
pub(super) async fn unbind(
    store: &DynamoStore,
    channel: &SlackChannelId,
) -> Result<Option<Project>, StoreError> {
    claims::unpair::<Bindings>(store, channel).await
}

/// The repository's last unbinding is one item in its partition, replaced by the next.
pub(super) async fn record_unbinding(
    store: &DynamoStore,
    record: &Unbinding,
) -> Result<(), StoreError> {
    const OPERATION: &str = "record_unbinding";
    let table = store.tables.project.as_str();
    store
        .client
        .put_item()
        .table_name(table)
        .set_item(Some(codec::unbinding_item(record)?))
        .send()
        .await
        .map_err(|error| sdk_error(OPERATION, table, error))?;
    Ok(())
}

pub(super) async fn last_unbinding(
    store: &DynamoStore,
    repository: &Repository,
) -> Result<Option<Unbinding>, StoreError> {
    let table = store.tables.project.as_str();
    store
        .get("last_unbinding", table, codec::unbinding_key(repository))
        .await?
        .map(|item| codec::decode(table, item))
        .transpose()
}

/// A revoked workspace is one flag item in the project table; an active one has none.
pub(super) async fn set_team_revoked(
    store: &DynamoStore,
    team: &SlackTeamId,
    revoked: bool,
) -> Result<(), StoreError> {
    const OPERATION: &str = "set_team_revoked";
    let table = store.tables.project.as_str();
    let key = codec::team_flag_key(team);
    if revoked {
        let mut item = key;
        item.insert("team".to_owned(), codec::string(team.as_str()));
        store
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|error| sdk_error(OPERATION, table, error))?;
    } else {
        store
            .client
            .delete_item()
            .table_name(table)
            .set_key(Some(key))
            .send()
            .await
            .map_err(|error| sdk_error(OPERATION, table, error))?;
    }
    Ok(())
}

pub(super) async fn is_team_revoked(
    store: &DynamoStore,
    team: &SlackTeamId,
) -> Result<bool, StoreError> {
    let table = store.tables.project.as_str();
    Ok(store
        .get("is_team_revoked", table, codec::team_flag_key(team))
        .await?
        .is_some())
}
