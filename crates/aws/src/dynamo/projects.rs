//! The project table: channel ↔ repository bindings kept one to one by two claim items written
//! in the same transaction as the binding, lookups by repository (a partition query) and by
//! channel (the channel index), each repository's last unbinding, and the Slack workspaces'
//! "tokens revoked" flags.

use super::claims::{self, ClaimPair, Pairing};
use super::codec::{self, Item};
use super::schema::project;
use super::{
    CONTENTION_ATTEMPTS, DynamoStore, Transaction, delete_claim, delete_existing,
    is_condition_failed, put_new, replace_claim, sdk_error,
};
use deploybot_core::ports::{BindOutcome, MoveOutcome, StoreError};
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

/// The GitHub id index: one query, eventually consistent like every global secondary index.
pub(super) async fn by_github_id(
    store: &DynamoStore,
    github_id: u64,
) -> Result<Option<Project>, StoreError> {
    const OPERATION: &str = "project_by_github_id";
    let table = store.tables.project.as_str();
    let request = store
        .client
        .query()
        .table_name(table)
        .index_name(project::GITHUB_ID_INDEX)
        .key_condition_expression("#github_id = :github_id")
        .expression_attribute_names("#github_id", project::GITHUB_ID_INDEX_KEY)
        .expression_attribute_values(":github_id", codec::number(github_id));
    let items = store.query(OPERATION, table, request, 1).await?;
    items
        .into_iter()
        .next()
        .map(|item| codec::decode(table, item))
        .transpose()
}

/// Records the GitHub id on the binding (and in the index) when the binding exists and has
/// none: one conditional `UpdateItem`.
pub(super) async fn set_github_id(
    store: &DynamoStore,
    record: &Project,
    github_id: u64,
) -> Result<bool, StoreError> {
    const OPERATION: &str = "set_project_github_id";
    let table = store.tables.project.as_str();
    let result = store
        .client
        .update_item()
        .table_name(table)
        .set_key(Some(codec::binding_key(
            &record.repository,
            &record.channel,
        )))
        .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#github_id)")
        .update_expression("SET #github_id = :github_id, #index = :github_id")
        .expression_attribute_names("#pk", project::PARTITION_KEY)
        .expression_attribute_names("#github_id", "github_id")
        .expression_attribute_names("#index", project::GITHUB_ID_INDEX_KEY)
        .expression_attribute_values(":github_id", codec::number(github_id))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(error) if is_condition_failed(&error) => Ok(false),
        Err(error) => Err(sdk_error(OPERATION, table, error)),
    }
}

/// Moves the binding of `from` to `to` in one transaction: the binding and the repository
/// claim are deleted under the old name and put under the new one (only if it is free), and
/// the channel's claim is replaced to name `to` (only while it names `from`). A refused
/// transaction is read back: the new name taken, the old one no longer bound, or else (a
/// concurrent change) tried again.
pub(super) async fn move_binding(
    store: &DynamoStore,
    from: &Repository,
    to: &Repository,
    github_id: Option<u64>,
) -> Result<MoveOutcome, StoreError> {
    const OPERATION: &str = "move_project";
    let table = store.tables.project.as_str();
    let pk = project::PARTITION_KEY;
    for _ in 0..CONTENTION_ATTEMPTS {
        let Some(old) = by_repository(store, from).await? else {
            return Ok(MoveOutcome::NotBound);
        };
        if let Some(taken) = by_repository(store, to).await? {
            return Ok(MoveOutcome::Taken {
                channel: taken.channel,
            });
        }
        let mut moved = old.clone();
        moved.repository = to.clone();
        if moved.github_id.is_none() {
            moved.github_id = github_id;
        }
        let channel = old.channel.as_str();
        let writes = vec![
            delete_existing(
                OPERATION,
                table,
                pk,
                codec::binding_key(&old.repository, &old.channel),
            )?,
            delete_claim(OPERATION, table, codec::repository_claim_key(from), channel)?,
            put_new(
                OPERATION,
                table,
                pk,
                codec::claim_item(codec::repository_claim_key(to), channel),
            )?,
            put_new(OPERATION, table, pk, codec::binding_item(&moved)?)?,
            replace_claim(
                OPERATION,
                table,
                codec::claim_item(codec::channel_claim_key(&old.channel), to.as_str()),
                from.as_str(),
            )?,
        ];
        match store.transact(OPERATION, table, writes).await? {
            Transaction::Committed => return Ok(MoveOutcome::Moved(Box::new(moved))),
            // Bound, unbound or moved meanwhile: look again.
            Transaction::ConditionFailed(_) => continue,
        }
    }
    Err(StoreError::Backend(format!(
        "{OPERATION} on table {table}: the binding kept changing during {CONTENTION_ATTEMPTS} \
         attempts"
    )))
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
