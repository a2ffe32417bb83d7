//! The project table: channel ↔ repository bindings kept one to one by two claim items written
//! in the same transaction as the binding, lookups by repository (a partition query) and by
//! channel (the channel index), and the Slack workspaces' "tokens revoked" flags.

use super::codec;
use super::schema::project;
use super::{
    CONTENTION_ATTEMPTS, DynamoStore, Transaction, delete_claim, delete_existing,
    is_condition_failed, put_new, sdk_error,
};
use deploybot_core::ports::{BindOutcome, StoreError};
use deploybot_core::{Project, Repository, SlackChannelId, SlackTeamId};

/// Positions of the writes in the bind transaction (cancellation reasons follow this order).
const REPOSITORY_CLAIM: usize = 0;
const CHANNEL_CLAIM: usize = 1;

pub(super) async fn bind(store: &DynamoStore, record: &Project) -> Result<BindOutcome, StoreError> {
    const OPERATION: &str = "bind_project";
    let table = store.tables.project.as_str();
    let writes = vec![
        put_new(
            OPERATION,
            table,
            project::PARTITION_KEY,
            codec::claim_item(
                codec::repository_claim_key(&record.repository),
                record.channel.as_str(),
            ),
        )?,
        put_new(
            OPERATION,
            table,
            project::PARTITION_KEY,
            codec::claim_item(
                codec::channel_claim_key(&record.channel),
                record.repository.as_str(),
            ),
        )?,
        put_new(
            OPERATION,
            table,
            project::PARTITION_KEY,
            codec::binding_item(record)?,
        )?,
    ];
    for _ in 0..CONTENTION_ATTEMPTS {
        match store.transact(OPERATION, table, writes.clone()).await? {
            Transaction::Committed => return Ok(BindOutcome::Bound),
            Transaction::ConditionFailed(codes) => {
                if let Some(outcome) = refusal(store, record, &codes).await? {
                    return Ok(outcome);
                }
                // The claim that refused us was released meanwhile (a concurrent unbind).
            }
        }
    }
    Err(StoreError::Backend(format!(
        "{OPERATION} on table {table}: the binding kept changing during {CONTENTION_ATTEMPTS} attempts"
    )))
}

/// Why a bind transaction was refused, read back from the claims whose condition failed (the
/// repository's first). `None` when those claims are gone by now.
async fn refusal(
    store: &DynamoStore,
    record: &Project,
    codes: &[String],
) -> Result<Option<BindOutcome>, StoreError> {
    const OPERATION: &str = "bind_project (read back)";
    let table = store.tables.project.as_str();
    // Without usable reasons (an emulator may omit them), look at both claims.
    let unknown =
        !Transaction::failed(codes, REPOSITORY_CLAIM) && !Transaction::failed(codes, CHANNEL_CLAIM);
    if unknown || Transaction::failed(codes, REPOSITORY_CLAIM) {
        let key = codec::repository_claim_key(&record.repository);
        if let Some(claim) = store.get(OPERATION, table, key).await? {
            let channel = codec::claimed_by(table, &claim)?;
            if channel == record.channel.as_str() {
                return Ok(Some(BindOutcome::AlreadyBound));
            }
            let channel = codec::parse_claimed(table, &channel, SlackChannelId::parse)?;
            return Ok(Some(BindOutcome::RepositoryTaken { channel }));
        }
    }
    if unknown || Transaction::failed(codes, CHANNEL_CLAIM) {
        let key = codec::channel_claim_key(&record.channel);
        if let Some(claim) = store.get(OPERATION, table, key).await? {
            let repository = codec::claimed_by(table, &claim)?;
            if repository == record.repository.as_str() {
                return Ok(Some(BindOutcome::AlreadyBound));
            }
            let repository = codec::parse_claimed(table, &repository, Repository::parse)?;
            return Ok(Some(BindOutcome::ChannelTaken { repository }));
        }
    }
    Ok(None)
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
    // At most two items live in a repository's partition: its claim and its binding.
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
    const OPERATION: &str = "unbind_project";
    let table = store.tables.project.as_str();
    for _ in 0..CONTENTION_ATTEMPTS {
        let Some(claim) = store
            .get(OPERATION, table, codec::channel_claim_key(channel))
            .await?
        else {
            return Ok(None);
        };
        let repository = codec::claimed_by(table, &claim)?;
        let repository = codec::parse_claimed(table, &repository, Repository::parse)?;
        let Some(item) = store
            .get(OPERATION, table, codec::binding_key(&repository, channel))
            .await?
        else {
            return Err(StoreError::Corrupt(format!(
                "table {table}: channel {channel} is claimed by {repository} but has no binding item"
            )));
        };
        let bound: Project = codec::decode(table, item)?;
        let writes = vec![
            delete_existing(
                OPERATION,
                table,
                project::PARTITION_KEY,
                codec::binding_key(&repository, channel),
            )?,
            delete_claim(
                OPERATION,
                table,
                codec::repository_claim_key(&repository),
                channel.as_str(),
            )?,
            delete_claim(
                OPERATION,
                table,
                codec::channel_claim_key(channel),
                repository.as_str(),
            )?,
        ];
        match store.transact(OPERATION, table, writes).await? {
            Transaction::Committed => return Ok(Some(bound)),
            // Unbound (and maybe bound again) meanwhile: look again.
            Transaction::ConditionFailed(_) => continue,
        }
    }
    Err(StoreError::Backend(format!(
        "{OPERATION} on table {table}: the binding kept changing during {CONTENTION_ATTEMPTS} attempts"
    )))
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
