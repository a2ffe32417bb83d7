//! Creating the five tables from [`TABLE_SPECS`]: keys, global secondary indexes (all
//! attributes projected), on-demand billing and TTL on the delivery table. Idempotent, for
//! tests and the local server (`DEPLOYBOT_CREATE_TABLES=1`); on AWS the SAM template creates
//! the same tables.

use super::schema::{KeyAttribute, KeyType, TABLE_SPECS, TableNames, TableRole, TableSpec};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType as KeyRole,
    Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus,
};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long to wait for a new table to become active (DynamoDB takes seconds; emulators none).
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

/// A table could not be created or configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setting up the {role} table {table}: {message}")]
pub struct CreateTablesError {
    pub role: TableRole,
    pub table: String,
    pub message: String,
}

/// Creates the five tables named by `names` (an existing table is left as it is), waits until
/// each is active and enables TTL where the schema asks for it.
pub async fn create_tables(client: &Client, names: &TableNames) -> Result<(), CreateTablesError> {
    for spec in &TABLE_SPECS {
        create_table(client, names.name(spec.role), spec).await?;
    }
    Ok(())
}

async fn create_table(
    client: &Client,
    name: &str,
    spec: &TableSpec,
) -> Result<(), CreateTablesError> {
    let fail = |message: String| CreateTablesError {
        role: spec.role,
        table: name.to_owned(),
        message,
    };
    let built = |error: aws_sdk_dynamodb::error::BuildError| fail(error.to_string());

    let mut attributes: BTreeMap<&str, KeyType> = BTreeMap::new();
    let mut remember = |key: &KeyAttribute| {
        attributes.insert(key.name, key.kind);
    };
    remember(&spec.partition_key);
    spec.sort_key.iter().for_each(&mut remember);
    for index in spec.indexes {
        remember(&index.partition_key);
        index.sort_key.iter().for_each(&mut remember);
    }
    let definitions = attributes
        .into_iter()
        .map(|(attribute, kind)| {
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(match kind {
                    KeyType::String => ScalarAttributeType::S,
                    KeyType::Number => ScalarAttributeType::N,
                })
                .build()
                .map_err(built)
        })
        .collect::<Result<Vec<_>, _>>()?;

    let mut indexes = Vec::with_capacity(spec.indexes.len());
    for index in spec.indexes {
        indexes.push(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .set_key_schema(Some(
                    key_schema(&index.partition_key, index.sort_key.as_ref()).map_err(built)?,
                ))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(built)?,
        );
    }

    let result = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(definitions))
        .set_key_schema(Some(
            key_schema(&spec.partition_key, spec.sort_key.as_ref()).map_err(built)?,
        ))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .send()
        .await;
    match result {
        Ok(_) => {}
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|service| service.is_resource_in_use_exception()) => {}
        Err(error) => return Err(fail(describe(error))),
    }

    client
        .wait_until_table_exists()
        .table_name(name)
        .wait(ACTIVE_TIMEOUT)
        .await
        .map_err(|error| {
            fail(format!(
                "waiting until active: {}",
                DisplayErrorContext(&error)
            ))
        })?;

    if let Some(attribute) = spec.ttl_attribute {
        let current = client
            .describe_time_to_live()
            .table_name(name)
            .send()
            .await
            .map_err(|error| fail(describe(error)))?;
        let enabled = current.time_to_live_description().is_some_and(|ttl| {
            matches!(
                ttl.time_to_live_status(),
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            ) && ttl.attribute_name() == Some(attribute)
        });
        if !enabled {
            let ttl = TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(attribute)
                .build()
                .map_err(built)?;
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(ttl)
                .send()
                .await
                .map_err(|error| fail(describe(error)))?;
        }
    }
    Ok(())
}

fn key_schema(
    partition: &KeyAttribute,
    sort: Option<&KeyAttribute>,
) -> Result<Vec<KeySchemaElement>, aws_sdk_dynamodb::error::BuildError> {
    let mut schema = vec![
        KeySchemaElement::builder()
            .attribute_name(partition.name)
            .key_type(KeyRole::Hash)
            .build()?,
    ];
    if let Some(sort) = sort {
        schema.push(
            KeySchemaElement::builder()
                .attribute_name(sort.name)
                .key_type(KeyRole::Range)
                .build()?,
        );
    }
    Ok(schema)
}

fn describe<E, R>(error: SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    DisplayErrorContext(&error).to_string()
}
