//! The redb store's deployment table and its indexes.

use super::*;

#[async_trait]
impl DeploymentStore for RedbStore {
    async fn insert_deployment(
        &self,
        deployment: &Deployment,
    ) -> Result<InsertOutcome, StoreError> {
        let deployment = deployment.clone();
        self.write(move |transaction| {
            let mut tables = DeploymentTables::open(transaction)?;
            if let Some(existing) = get_deployment_in(
                &tables.deployments,
                deployment.repository.as_str(),
                deployment.id.as_str(),
            )? {
                return Ok(InsertOutcome::AlreadyExists(Box::new(existing)));
            }
            tables.put(&deployment)?;
            Ok(InsertOutcome::Inserted)
        })
        .await
    }

    async fn get_deployment(
        &self,
        repository: &Repository,
        id: &DeploymentId,
    ) -> Result<Option<Deployment>, StoreError> {
        let entry = Some((repository.as_str().to_owned(), id.as_str().to_owned()));
        self.read(move |transaction| deployment_by_index_entry(transaction, entry))
            .await
    }

    async fn update_deployment(
        &self,
        deployment: &Deployment,
    ) -> Result<UpdateOutcome, StoreError> {
        let deployment = deployment.clone();
        self.write(move |transaction| {
            let mut tables = DeploymentTables::open(transaction)?;
            let Some(stored) = get_deployment_in(
                &tables.deployments,
                deployment.repository.as_str(),
                deployment.id.as_str(),
            )?
            else {
                return Ok(UpdateOutcome::NotFound);
            };
            if stored.version != deployment.version {
                return Ok(UpdateOutcome::Conflict(Box::new(stored)));
            }
            let mut saved = deployment;
            saved.version = stored.version.checked_add(1).ok_or_else(|| {
                StoreError::Corrupt(format!("deployment {} version overflow", stored.id))
            })?;
            tables.unindex(&stored)?;
            tables.put(&saved)?;
            Ok(UpdateOutcome::Updated(Box::new(saved)))
        })
        .await
    }

    async fn deployment_by_github_id(
        &self,
        github_deployment_id: u64,
    ) -> Result<Option<Deployment>, StoreError> {
        self.read(move |transaction| {
            let index = transaction
                .open_table(DEPLOYMENT_BY_GITHUB_ID)
                .or_backend("deployment_by_github_id")?;
            let entry = index
                .get(github_deployment_id)
                .or_backend("deployment_by_github_id")?
                .map(|entry| {
                    let (repository, id) = entry.value();
                    (repository.to_owned(), id.to_owned())
                });
            deployment_by_index_entry(transaction, entry)
        })
        .await
    }

    async fn deployment_by_pipeline(
        &self,
        pipeline_id: &str,
    ) -> Result<Option<Deployment>, StoreError> {
        let pipeline_id = pipeline_id.to_owned();
        self.read(move |transaction| {
            let index = transaction
                .open_table(DEPLOYMENT_BY_PIPELINE)
                .or_backend("deployment_by_pipeline")?;
            let entry = index
                .get(pipeline_id.as_str())
                .or_backend("deployment_by_pipeline")?
                .map(|entry| {
                    let (repository, id) = entry.value();
                    (repository.to_owned(), id.to_owned())
                });
            deployment_by_index_entry(transaction, entry)
        })
        .await
    }

    async fn deployments_by_sha(
        &self,
        repository: &Repository,
        sha: &Sha,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        let repository = repository.clone();
        let sha = sha.clone();
        self.read(move |transaction| {
            let ids = index_ids(
                transaction,
                DEPLOYMENTS_BY_SHA,
                "deployments_by_sha",
                repository.as_str(),
                sha.as_str(),
                limit,
            )?;
            deployments_by_ids(transaction, repository.as_str(), ids)
        })
        .await
    }

    async fn list_deployments(
        &self,
        repository: &Repository,
        environment: Option<Environment>,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        let repository = repository.clone();
        self.read(move |transaction| {
            if let Some(environment) = environment {
                let ids = index_ids(
                    transaction,
                    DEPLOYMENTS_BY_ENVIRONMENT,
                    "deployments_by_environment",
                    repository.as_str(),
                    &environment.to_string(),
                    limit,
                )?;
                return deployments_by_ids(transaction, repository.as_str(), ids);
            }
            partition_after(transaction, repository.as_str(), None, limit)
        })
        .await
    }

    async fn list_deployments_older(
        &self,
        repository: &Repository,
        older_than: &DeploymentId,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        let repository = repository.clone();
        let older_than = older_than.clone();
        self.read(move |transaction| {
            partition_after(
                transaction,
                repository.as_str(),
                Some(older_than.as_str()),
                limit,
            )
        })
        .await
    }

    async fn waiting_deployments(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        self.read(move |transaction| {
            let waiting = transaction
                .open_table(WAITING_DEPLOYMENTS)
                .or_backend("waiting_deployments")?;
            let mut entries = Vec::new();
            if limit > 0 {
                for entry in waiting
                    .range(..(before.millis(), "", ""))
                    .or_backend("waiting_deployments")?
                {
                    let (key, _) = entry.or_backend("waiting_deployments")?;
                    let (_, repository, id) = key.value();
                    entries.push((repository.to_owned(), id.to_owned()));
                    if entries.len() == limit {
                        break;
                    }
                }
            }
            let deployments = transaction
                .open_table(DEPLOYMENTS)
                .or_backend("deployments")?;
            let mut found = Vec::with_capacity(entries.len());
            for (repository, id) in entries {
                match get_deployment_in(&deployments, &repository, &id)? {
                    Some(deployment) => found.push(deployment),
                    None => {
                        return Err(StoreError::Corrupt(format!(
                            "waiting_deployments points to the missing deployment {repository} {id}"
                        )));
                    }
                }
            }
            Ok(found)
        })
        .await
    }

    async fn pending_deployments(
        &self,
        lane: &LaneKey,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        let lane = lane.clone();
        self.read(move |transaction| {
            let pending = transaction
                .open_table(PENDING_DEPLOYMENTS)
                .or_backend("pending_deployments")?;
            let repository = lane.repository.as_str();
            let environment = lane.environment.to_string();
            let mut ids = Vec::new();
            if limit > 0 {
                for entry in pending
                    .range((repository, environment.as_str(), 0, "")..)
                    .or_backend("pending_deployments")?
                {
                    let (key, _) = entry.or_backend("pending_deployments")?;
                    let (entry_repository, entry_environment, _, id) = key.value();
                    if entry_repository != repository || entry_environment != environment {
                        break;
                    }
                    ids.push(id.to_owned());
                    if ids.len() == limit {
                        break;
                    }
                }
            }
            deployments_by_ids(transaction, repository, ids)
        })
        .await
    }

    async fn succeeded_deployments(
        &self,
        lane: &LaneKey,
        oldest_first: bool,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        let lane = lane.clone();
        self.read(move |transaction| {
            let succeeded = transaction
                .open_table(SUCCEEDED_DEPLOYMENTS)
                .or_backend("succeeded_deployments")?;
            let repository = lane.repository.as_str();
            let environment = lane.environment.to_string();
            let mut ids = Vec::new();
            if limit > 0 {
                let range = succeeded
                    .range(
                        (repository, environment.as_str(), "")
                            ..(repository, environment.as_str(), "\u{10FFFF}"),
                    )
                    .or_backend("succeeded_deployments")?;
                let entries: Box<dyn Iterator<Item = _>> = if oldest_first {
                    Box::new(range.rev())
                } else {
                    Box::new(range)
                };
                for entry in entries {
                    let (key, _) = entry.or_backend("succeeded_deployments")?;
                    ids.push(key.value().2.to_owned());
                    if ids.len() == limit {
                        break;
                    }
                }
            }
            deployments_by_ids(transaction, repository, ids)
        })
        .await
    }

    async fn put_shipping(
        &self,
        record: &deploybot_core::shipping::ShippingRecord,
    ) -> Result<bool, StoreError> {
        let record = record.clone();
        self.write(move |transaction| {
            let mut table = transaction.open_table(SHIPPING).or_backend("shipping")?;
            let key = (record.repository.as_str(), record.deployment.as_str());
            if table.get(key).or_backend("shipping")?.is_some() {
                return Ok(false);
            }
            table
                .insert(key, encode(&record)?.as_str())
                .or_backend("shipping")?;
            Ok(true)
        })
        .await
    }

    async fn shipping(
        &self,
        repository: &Repository,
        deployment: &DeploymentId,
    ) -> Result<Option<deploybot_core::shipping::ShippingRecord>, StoreError> {
        let repository = repository.as_str().to_owned();
        let deployment = deployment.as_str().to_owned();
        self.read(move |transaction| {
            let table = transaction.open_table(SHIPPING).or_backend("shipping")?;
            match table
                .get((repository.as_str(), deployment.as_str()))
                .or_backend("shipping")?
            {
                Some(json) => Ok(Some(decode(
                    "shipping",
                    &format!("{repository} {deployment}"),
                    json.value(),
                )?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn take_notice(
        &self,
        repository: &Repository,
        key: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let repository = repository.as_str().to_owned();
        let key = key.to_owned();
        self.write(move |transaction| {
            let mut table = transaction.open_table(NOTICES).or_backend("notices")?;
            let entry = (repository.as_str(), key.as_str());
            if table.get(entry).or_backend("notices")?.is_some() {
                return Ok(false);
            }
            table.insert(entry, at.millis()).or_backend("notices")?;
            Ok(true)
        })
        .await
    }
}

/// The repository's deployments in key order (newest first), after the id `after` when
/// given, at most `limit`.
fn partition_after(
    transaction: &redb::ReadTransaction,
    repository: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<Deployment>, StoreError> {
    let deployments = transaction
        .open_table(DEPLOYMENTS)
        .or_backend("deployments")?;
    let mut found = Vec::new();
    if limit == 0 {
        return Ok(found);
    }
    for entry in deployments
        .range((repository, after.unwrap_or(""))..)
        .or_backend("deployments")?
    {
        let (key, json) = entry.or_backend("deployments")?;
        let (entry_repository, id) = key.value();
        if entry_repository != repository {
            break;
        }
        if Some(id) == after {
            continue;
        }
        found.push(decode(
            "deployments",
            &format!("{entry_repository} {id}"),
            json.value(),
        )?);
        if found.len() == limit {
            break;
        }
    }
    Ok(found)
}
