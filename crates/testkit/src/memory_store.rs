//! The in-memory store: the store port kept in `Mutex`-protected maps, with one index per
//! access pattern mirroring the DynamoDB tables, so every call is a key lookup or an ordered
//! range and none iterates over all records. For handler tests and `DEPLOYBOT_STORE=memory`.

use async_trait::async_trait;
use deploybot_core::lane::{LaneKey, LaneRecord, LockHistoryEntry};
use deploybot_core::ports::{
    BindOutcome, Claim, DeliveryStore, DeploymentStore, InsertOutcome, LaneSaved, LaneStore,
    LinkOutcome, MoveOutcome, ProjectStore, StoreError, UpdateOutcome, UserStore,
};
use deploybot_core::{
    Deployment, DeploymentId, DeploymentState, Environment, GithubLogin, Project, Repository, Sha,
    SlackChannelId, SlackTeamId, SlackUserId, Timestamp, Unbinding, UserLink,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

/// The key of a deployment record: its repository (partition) and id (sort key).
type DeploymentKey = (Repository, DeploymentId);

/// Every table and index, behind one lock so each operation is atomic.
#[derive(Debug, Default)]
struct Tables {
    /// project table, keyed by repository.
    projects: HashMap<Repository, Project>,
    /// channel index of the project table.
    project_by_channel: HashMap<SlackChannelId, Repository>,
    /// The last unbinding of each repository.
    unbindings: HashMap<Repository, Unbinding>,
    /// GitHub repository id index of the project table (sparse: bindings with an id).
    project_by_github_id: HashMap<u64, BTreeSet<Repository>>,
    /// Slack workspaces whose tokens were revoked.
    revoked_teams: HashSet<SlackTeamId>,
    /// user table, keyed by GitHub login.
    users: HashMap<GithubLogin, UserLink>,
    /// Slack user index of the user table.
    user_by_slack: HashMap<SlackUserId, GithubLogin>,
    /// user table: each person's own settings, by Slack user.
    people: HashMap<SlackUserId, deploybot_core::notify::PersonSettings>,
    home_viewers: HashMap<SlackChannelId, BTreeMap<SlackUserId, Timestamp>>,
    /// deployment table: one partition per repository, ids in key order (newest first).
    deployments: HashMap<Repository, BTreeMap<DeploymentId, Deployment>>,
    /// GitHub deployment id index.
    by_github_id: HashMap<u64, DeploymentKey>,
    /// pipeline id index.
    by_pipeline: HashMap<String, DeploymentKey>,
    /// (repository, sha) index, ids newest first.
    by_sha: HashMap<(Repository, Sha), BTreeSet<DeploymentId>>,
    /// (repository, environment) index, ids newest first.
    by_environment: HashMap<(Repository, Environment), BTreeSet<DeploymentId>>,
    /// Sparse index of deployments in `waiting_for_checks`, oldest first.
    waiting: BTreeSet<(Timestamp, Repository, DeploymentId)>,
    /// Sparse index of pending deployments (`waiting`, `ready`, `waiting_for_checks`) per
    /// lane, in `seq` order.
    pending: HashMap<LaneKey, BTreeSet<(u64, DeploymentId)>>,
    /// Sparse index of deployments that succeeded, per lane, ids newest first.
    succeeded: HashMap<LaneKey, BTreeSet<DeploymentId>>,
    /// Each deployment's "What's shipping" record.
    shipping: HashMap<DeploymentKey, deploybot_core::shipping::ShippingRecord>,
    /// One-time notices taken, by (repository, key).
    notices: HashSet<(Repository, String)>,
    /// Each lane's rolled-back ranges, by rollback deployment id (newest first).
    bad_ranges: HashMap<LaneKey, BTreeMap<DeploymentId, deploybot_core::rollback::BadRange>>,
    /// Approval requests (in the lane table, by their key).
    approvals:
        HashMap<deploybot_core::approval::ApprovalKey, deploybot_core::approval::ApprovalRequest>,
    /// lane table: one record per lane, one partition per repository (environments in order).
    lanes: HashMap<Repository, BTreeMap<Environment, LaneRecord>>,
    /// Each lane's arrival counter.
    lane_seq: HashMap<LaneKey, u64>,
    /// Each lane's lock history, oldest first (by `at`; entries of one instant in the order
    /// they were recorded).
    lock_history: HashMap<LaneKey, Vec<LockHistoryEntry>>,
    /// Sparse index of lanes with a `due_at`, earliest first.
    due: BTreeSet<(Timestamp, LaneKey)>,
    /// delivery table: idempotency key → when it expires.
    deliveries: HashMap<String, Delivery>,
    /// Expiry order of the delivery table, so expired keys are dropped without a scan (what
    /// DynamoDB's TTL does in the background).
    delivery_expiry: BTreeSet<(Timestamp, String)>,
}

/// The store port in memory. Cheap to create; every instance is empty and independent.
#[derive(Debug, Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Tables>, StoreError> {
        self.tables
            .lock()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".to_owned()))
    }
}

impl Tables {
    fn index_github_id(&mut self, github_id: u64, repository: &Repository) {
        self.project_by_github_id
            .entry(github_id)
            .or_default()
            .insert(repository.clone());
    }

    fn unindex_github_id(&mut self, github_id: u64, repository: &Repository) {
        if let Some(repositories) = self.project_by_github_id.get_mut(&github_id) {
            repositories.remove(repository);
            if repositories.is_empty() {
                self.project_by_github_id.remove(&github_id);
            }
        }
    }

    fn deployment(&self, key: &DeploymentKey) -> Option<&Deployment> {
        self.deployments.get(&key.0)?.get(&key.1)
    }

    /// Adds `deployment` to every index its attributes put it in.
    fn index(&mut self, deployment: &Deployment) {
        let key = (deployment.repository.clone(), deployment.id.clone());
        if let Some(github_id) = deployment.github_deployment_id {
            self.by_github_id.insert(github_id, key.clone());
        }
        if let Some(pipeline) = &deployment.pipeline_id {
            self.by_pipeline.insert(pipeline.clone(), key.clone());
        }
        self.by_sha
            .entry((deployment.repository.clone(), deployment.sha.clone()))
            .or_default()
            .insert(deployment.id.clone());
        self.by_environment
            .entry((
                deployment.repository.clone(),
                deployment.environment.clone(),
            ))
            .or_default()
            .insert(deployment.id.clone());
        if deployment.state.is_pending() {
            self.pending
                .entry(lane_of(deployment))
                .or_default()
                .insert((deployment.seq, deployment.id.clone()));
        }
        if deployment.succeeded_at.is_some() {
            self.succeeded
                .entry(lane_of(deployment))
                .or_default()
                .insert(deployment.id.clone());
        }
        if deployment.state == DeploymentState::WaitingForChecks {
            self.waiting.insert((deployment.created_at, key.0, key.1));
        }
    }

    /// Removes `deployment` (as it was stored) from every index.
    fn unindex(&mut self, deployment: &Deployment) {
        let key = (deployment.repository.clone(), deployment.id.clone());
        if let Some(github_id) = deployment.github_deployment_id
            && self.by_github_id.get(&github_id) == Some(&key)
        {
            self.by_github_id.remove(&github_id);
        }
        if let Some(pipeline) = &deployment.pipeline_id
            && self.by_pipeline.get(pipeline) == Some(&key)
        {
            self.by_pipeline.remove(pipeline);
        }
        let sha_key = (deployment.repository.clone(), deployment.sha.clone());
        if let Some(ids) = self.by_sha.get_mut(&sha_key) {
            ids.remove(&deployment.id);
            if ids.is_empty() {
                self.by_sha.remove(&sha_key);
            }
        }
        let environment_key = (
            deployment.repository.clone(),
            deployment.environment.clone(),
        );
        if let Some(ids) = self.by_environment.get_mut(&environment_key) {
            ids.remove(&deployment.id);
            if ids.is_empty() {
                self.by_environment.remove(&environment_key);
            }
        }
        let lane = lane_of(deployment);
        if let Some(succeeded) = self.succeeded.get_mut(&lane) {
            succeeded.remove(&deployment.id);
            if succeeded.is_empty() {
                self.succeeded.remove(&lane);
            }
        }
        if let Some(pending) = self.pending.get_mut(&lane) {
            pending.remove(&(deployment.seq, deployment.id.clone()));
            if pending.is_empty() {
                self.pending.remove(&lane);
            }
        }
        self.waiting.remove(&(deployment.created_at, key.0, key.1));
    }

    /// Drops deliveries that expired at or before `now`.
    fn expire_deliveries(&mut self, now: Timestamp) {
        while let Some((expires_at, key)) = self.delivery_expiry.first().cloned() {
            if expires_at > now {
                break;
            }
            self.delivery_expiry.pop_first();
            if self.deliveries.get(&key).map(|d| d.expires_at) == Some(expires_at) {
                self.deliveries.remove(&key);
            }
        }
    }
}

#[async_trait]
impl ProjectStore for MemoryStore {
    async fn bind_project(&self, project: &Project) -> Result<BindOutcome, StoreError> {
        let mut tables = self.lock()?;
        if let Some(existing) = tables.projects.get(&project.repository) {
            return Ok(if existing.channel == project.channel {
                BindOutcome::AlreadyBound
            } else {
                BindOutcome::RepositoryTaken {
                    channel: existing.channel.clone(),
                }
            });
        }
        if let Some(repository) = tables.project_by_channel.get(&project.channel) {
            return Ok(BindOutcome::ChannelTaken {
                repository: repository.clone(),
            });
        }
        tables
            .project_by_channel
            .insert(project.channel.clone(), project.repository.clone());
        if let Some(id) = project.github_id {
            tables.index_github_id(id, &project.repository);
        }
        tables
            .projects
            .insert(project.repository.clone(), project.clone());
        Ok(BindOutcome::Bound)
    }

    async fn project_by_github_id(&self, github_id: u64) -> Result<Option<Project>, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .project_by_github_id
            .get(&github_id)
            .and_then(|repositories| repositories.first())
            .and_then(|repository| tables.projects.get(repository))
            .cloned())
    }

    async fn set_project_github_id(
        &self,
        project: &Project,
        github_id: u64,
    ) -> Result<bool, StoreError> {
        let mut tables = self.lock()?;
        match tables.projects.get_mut(&project.repository) {
            Some(stored) if stored.channel == project.channel && stored.github_id.is_none() => {
                stored.github_id = Some(github_id);
                tables.index_github_id(github_id, &project.repository);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn move_project(
        &self,
        from: &Repository,
        to: &Repository,
        github_id: Option<u64>,
    ) -> Result<MoveOutcome, StoreError> {
        let mut tables = self.lock()?;
        if !tables.projects.contains_key(from) {
            return Ok(MoveOutcome::NotBound);
        }
        if let Some(existing) = tables.projects.get(to) {
            return Ok(MoveOutcome::Taken {
                channel: existing.channel.clone(),
            });
        }
        let Some(mut project) = tables.projects.remove(from) else {
            return Ok(MoveOutcome::NotBound);
        };
        if let Some(id) = project.github_id {
            tables.unindex_github_id(id, from);
        }
        project.repository = to.clone();
        if project.github_id.is_none() {
            project.github_id = github_id;
        }
        if let Some(id) = project.github_id {
            tables.index_github_id(id, to);
        }
        tables
            .project_by_channel
            .insert(project.channel.clone(), to.clone());
        tables.projects.insert(to.clone(), project.clone());
        Ok(MoveOutcome::Moved(Box::new(project)))
    }

    async fn project_by_channel(
        &self,
        channel: &SlackChannelId,
    ) -> Result<Option<Project>, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .project_by_channel
            .get(channel)
            .and_then(|repository| tables.projects.get(repository))
            .cloned())
    }

    async fn project_by_repository(
        &self,
        repository: &Repository,
    ) -> Result<Option<Project>, StoreError> {
        Ok(self.lock()?.projects.get(repository).cloned())
    }

    async fn update_project(&self, project: &Project) -> Result<bool, StoreError> {
        let mut tables = self.lock()?;
        match tables.projects.get_mut(&project.repository) {
            Some(stored) if stored.channel == project.channel => {
                stored.channel_name = project.channel_name.clone();
                stored.team = project.team.clone();
                stored.settings = project.settings.clone();
                stored.workflow = project.workflow.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn unbind_project(
        &self,
        channel: &SlackChannelId,
    ) -> Result<Option<Project>, StoreError> {
        let mut tables = self.lock()?;
        let Some(repository) = tables.project_by_channel.remove(channel) else {
            return Ok(None);
        };
        let removed = tables.projects.remove(&repository);
        if let Some(id) = removed.as_ref().and_then(|p| p.github_id) {
            tables.unindex_github_id(id, &repository);
        }
        Ok(removed)
    }

    async fn record_unbinding(&self, record: &Unbinding) -> Result<(), StoreError> {
        self.lock()?
            .unbindings
            .insert(record.repository.clone(), record.clone());
        Ok(())
    }

    async fn last_unbinding(
        &self,
        repository: &Repository,
    ) -> Result<Option<Unbinding>, StoreError> {
        Ok(self.lock()?.unbindings.get(repository).cloned())
    }

    async fn set_team_revoked(&self, team: &SlackTeamId, revoked: bool) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        if revoked {
            tables.revoked_teams.insert(team.clone());
        } else {
            tables.revoked_teams.remove(team);
        }
        Ok(())
    }

    async fn is_team_revoked(&self, team: &SlackTeamId) -> Result<bool, StoreError> {
        Ok(self.lock()?.revoked_teams.contains(team))
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn link_user(&self, link: &UserLink) -> Result<LinkOutcome, StoreError> {
        let mut tables = self.lock()?;
        if let Some(existing) = tables.users.get(&link.github_login) {
            return Ok(if existing.slack_user == link.slack_user {
                LinkOutcome::AlreadyLinked
            } else {
                LinkOutcome::LoginTaken {
                    slack_user: existing.slack_user.clone(),
                }
            });
        }
        if let Some(login) = tables.user_by_slack.get(&link.slack_user) {
            return Ok(LinkOutcome::SlackUserTaken {
                github_login: login.clone(),
            });
        }
        tables
            .user_by_slack
            .insert(link.slack_user.clone(), link.github_login.clone());
        tables.users.insert(link.github_login.clone(), link.clone());
        Ok(LinkOutcome::Linked)
    }

    async fn user_by_login(&self, login: &GithubLogin) -> Result<Option<UserLink>, StoreError> {
        Ok(self.lock()?.users.get(login).cloned())
    }

    async fn user_by_slack(&self, user: &SlackUserId) -> Result<Option<UserLink>, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .user_by_slack
            .get(user)
            .and_then(|login| tables.users.get(login))
            .cloned())
    }

    async fn users_by_logins(&self, logins: &[GithubLogin]) -> Result<Vec<UserLink>, StoreError> {
        let tables = self.lock()?;
        let unique: BTreeSet<&GithubLogin> = logins.iter().collect();
        Ok(unique
            .into_iter()
            .filter_map(|login| tables.users.get(login).cloned())
            .collect())
    }

    async fn unlink_user(&self, user: &SlackUserId) -> Result<Option<UserLink>, StoreError> {
        let mut tables = self.lock()?;
        let Some(login) = tables.user_by_slack.remove(user) else {
            return Ok(None);
        };
        Ok(tables.users.remove(&login))
    }

    async fn direct_preference(
        &self,
        user: &SlackUserId,
    ) -> Result<deploybot_core::notify::DirectPreference, StoreError> {
        Ok(self
            .lock()?
            .people
            .get(user)
            .map(|p| p.direct)
            .unwrap_or_default())
    }

    async fn set_direct_preference(
        &self,
        user: &SlackUserId,
        preference: deploybot_core::notify::DirectPreference,
    ) -> Result<(), StoreError> {
        self.lock()?.people.entry(user.clone()).or_default().direct = preference;
        Ok(())
    }

    async fn claim_home_publish(
        &self,
        user: &SlackUserId,
        now: Timestamp,
        min_gap_secs: i64,
    ) -> Result<bool, StoreError> {
        let mut tables = self.lock()?;
        let person = tables.people.entry(user.clone()).or_default();
        match person.home_published_at {
            Some(at) if at > now.plus_secs(-min_gap_secs) => Ok(false),
            _ => {
                person.home_published_at = Some(now);
                Ok(true)
            }
        }
    }

    async fn note_home_viewer(
        &self,
        channel: &SlackChannelId,
        user: &SlackUserId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.lock()?
            .home_viewers
            .entry(channel.clone())
            .or_default()
            .insert(user.clone(), at);
        Ok(())
    }

    async fn home_viewers(
        &self,
        channel: &SlackChannelId,
        since: Timestamp,
        limit: usize,
    ) -> Result<Vec<SlackUserId>, StoreError> {
        Ok(self
            .lock()?
            .home_viewers
            .get(channel)
            .map(|viewers| {
                viewers
                    .iter()
                    .filter(|(_, at)| **at >= since)
                    .map(|(user, _)| user.clone())
                    .take(limit)
                    .collect()
            })
            .unwrap_or_default())
    }
}

#[async_trait]
impl DeploymentStore for MemoryStore {
    async fn insert_deployment(
        &self,
        deployment: &Deployment,
    ) -> Result<InsertOutcome, StoreError> {
        let mut tables = self.lock()?;
        let partition = tables
            .deployments
            .entry(deployment.repository.clone())
            .or_default();
        if let Some(existing) = partition.get(&deployment.id) {
            return Ok(InsertOutcome::AlreadyExists(Box::new(existing.clone())));
        }
        partition.insert(deployment.id.clone(), deployment.clone());
        tables.index(deployment);
        Ok(InsertOutcome::Inserted)
    }

    async fn get_deployment(
        &self,
        repository: &Repository,
        id: &DeploymentId,
    ) -> Result<Option<Deployment>, StoreError> {
        Ok(self
            .lock()?
            .deployment(&(repository.clone(), id.clone()))
            .cloned())
    }

    async fn update_deployment(
        &self,
        deployment: &Deployment,
    ) -> Result<UpdateOutcome, StoreError> {
        let mut tables = self.lock()?;
        let key = (deployment.repository.clone(), deployment.id.clone());
        let Some(stored) = tables.deployment(&key).cloned() else {
            return Ok(UpdateOutcome::NotFound);
        };
        if stored.version != deployment.version {
            return Ok(UpdateOutcome::Conflict(Box::new(stored)));
        }
        let mut saved = deployment.clone();
        saved.version = stored.version.checked_add(1).ok_or_else(|| {
            StoreError::Corrupt(format!("deployment {} version overflow", deployment.id))
        })?;
        tables.unindex(&stored);
        tables
            .deployments
            .entry(key.0)
            .or_default()
            .insert(key.1, saved.clone());
        tables.index(&saved);
        Ok(UpdateOutcome::Updated(Box::new(saved)))
    }

    async fn deployment_by_github_id(
        &self,
        github_deployment_id: u64,
    ) -> Result<Option<Deployment>, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .by_github_id
            .get(&github_deployment_id)
            .and_then(|key| tables.deployment(key))
            .cloned())
    }

    async fn deployment_by_pipeline(
        &self,
        pipeline_id: &str,
    ) -> Result<Option<Deployment>, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .by_pipeline
            .get(pipeline_id)
            .and_then(|key| tables.deployment(key))
            .cloned())
    }

    async fn deployments_by_sha(
        &self,
        repository: &Repository,
        sha: &Sha,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        let tables = self.lock()?;
        let Some(ids) = tables.by_sha.get(&(repository.clone(), sha.clone())) else {
            return Ok(Vec::new());
        };
        Ok(ids
            .iter()
            .take(limit)
            .filter_map(|id| {
                tables
                    .deployment(&(repository.clone(), id.clone()))
                    .cloned()
            })
            .collect())
    }

    async fn list_deployments_older(
        &self,
        repository: &Repository,
        older_than: &DeploymentId,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        use std::ops::Bound;
        let tables = self.lock()?;
        Ok(tables
            .deployments
            .get(repository)
            .map(|partition| {
                partition
                    .range((Bound::Excluded(older_than.clone()), Bound::Unbounded))
                    .take(limit)
                    .map(|(_, d)| d.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn list_deployments(
        &self,
        repository: &Repository,
        environment: Option<Environment>,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        let tables = self.lock()?;
        match environment {
            None => Ok(tables
                .deployments
                .get(repository)
                .map(|partition| partition.values().take(limit).cloned().collect())
                .unwrap_or_default()),
            Some(environment) => {
                let (Some(ids), Some(partition)) = (
                    tables
                        .by_environment
                        .get(&(repository.clone(), environment)),
                    tables.deployments.get(repository),
                ) else {
                    return Ok(Vec::new());
                };
                Ok(ids
                    .iter()
                    .take(limit)
                    .filter_map(|id| partition.get(id).cloned())
                    .collect())
            }
        }
    }

    async fn waiting_deployments(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .waiting
            .iter()
            .take_while(|(created_at, _, _)| *created_at < before)
            .take(limit)
            .filter_map(|(_, repository, id)| {
                tables
                    .deployment(&(repository.clone(), id.clone()))
                    .cloned()
            })
            .collect())
    }

    async fn pending_deployments(
        &self,
        lane: &LaneKey,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        let tables = self.lock()?;
        let Some(pending) = tables.pending.get(lane) else {
            return Ok(Vec::new());
        };
        Ok(pending
            .iter()
            .take(limit)
            .filter_map(|(_, id)| {
                tables
                    .deployment(&(lane.repository.clone(), id.clone()))
                    .cloned()
            })
            .collect())
    }

    async fn succeeded_deployments(
        &self,
        lane: &LaneKey,
        oldest_first: bool,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        let tables = self.lock()?;
        let Some(ids) = tables.succeeded.get(lane) else {
            return Ok(Vec::new());
        };
        let get = |id: &DeploymentId| {
            tables
                .deployment(&(lane.repository.clone(), id.clone()))
                .cloned()
        };
        Ok(if oldest_first {
            ids.iter().rev().take(limit).filter_map(get).collect()
        } else {
            ids.iter().take(limit).filter_map(get).collect()
        })
    }

    async fn put_shipping(
        &self,
        record: &deploybot_core::shipping::ShippingRecord,
    ) -> Result<bool, StoreError> {
        let mut tables = self.lock()?;
        let key = (record.repository.clone(), record.deployment.clone());
        if tables.shipping.contains_key(&key) {
            return Ok(false);
        }
        tables.shipping.insert(key, record.clone());
        Ok(true)
    }

    async fn shipping(
        &self,
        repository: &Repository,
        deployment: &DeploymentId,
    ) -> Result<Option<deploybot_core::shipping::ShippingRecord>, StoreError> {
        Ok(self
            .lock()?
            .shipping
            .get(&(repository.clone(), deployment.clone()))
            .cloned())
    }

    async fn take_notice(
        &self,
        repository: &Repository,
        key: &str,
        _at: Timestamp,
    ) -> Result<bool, StoreError> {
        Ok(self
            .lock()?
            .notices
            .insert((repository.clone(), key.to_owned())))
    }
}

#[async_trait]
impl LaneStore for MemoryStore {
    async fn get_lane(&self, lane: &LaneKey) -> Result<Option<LaneRecord>, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .lanes
            .get(&lane.repository)
            .and_then(|p| p.get(&lane.environment))
            .cloned())
    }

    async fn lanes_of(&self, repository: &Repository) -> Result<Vec<LaneRecord>, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .lanes
            .get(repository)
            .map(|p| p.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn save_lane(&self, record: &LaneRecord) -> Result<LaneSaved, StoreError> {
        let mut tables = self.lock()?;
        let lane = record.lane.clone();
        let stored = tables
            .lanes
            .get(&lane.repository)
            .and_then(|p| p.get(&lane.environment))
            .cloned();
        let stored_version = stored.as_ref().map_or(0, |s| s.version);
        if stored_version != record.version {
            let current = stored.unwrap_or_else(|| LaneRecord::empty(lane, record.updated_at));
            return Ok(LaneSaved::Conflict(Box::new(current)));
        }
        if let Some(due) = stored.as_ref().and_then(|s| s.due_at) {
            tables.due.remove(&(due, lane.clone()));
        }
        let mut saved = record.clone();
        saved.version = record.version + 1;
        if let Some(due) = saved.due_at {
            tables.due.insert((due, lane.clone()));
        }
        tables
            .lanes
            .entry(lane.repository.clone())
            .or_default()
            .insert(lane.environment, saved.clone());
        Ok(LaneSaved::Saved(Box::new(saved)))
    }

    async fn delete_lane(&self, record: &LaneRecord) -> Result<bool, StoreError> {
        let mut tables = self.lock()?;
        let lane = &record.lane;
        let stored = tables
            .lanes
            .get(&lane.repository)
            .and_then(|p| p.get(&lane.environment))
            .map(|s| (s.version, s.due_at));
        let Some((version, due_at)) = stored.filter(|(v, _)| *v == record.version) else {
            return Ok(false);
        };
        debug_assert_eq!(version, record.version);
        if let Some(due) = due_at {
            tables.due.remove(&(due, lane.clone()));
        }
        if let Some(lanes) = tables.lanes.get_mut(&lane.repository) {
            lanes.remove(&lane.environment);
        }
        Ok(true)
    }

    async fn next_lane_seq(&self, lane: &LaneKey) -> Result<u64, StoreError> {
        let mut tables = self.lock()?;
        let seq = tables.lane_seq.entry(lane.clone()).or_default();
        *seq += 1;
        Ok(*seq)
    }

    async fn record_lock_event(&self, entry: &LockHistoryEntry) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        let history = tables.lock_history.entry(entry.lane.clone()).or_default();
        // Usually appended at the end; an entry recorded late (its `at` older than the last
        // one's) goes to its place in time, after the entries of its instant.
        let place = history.partition_point(|stored| stored.at <= entry.at);
        history.insert(place, entry.clone());
        Ok(())
    }

    async fn lock_history(
        &self,
        lane: &LaneKey,
        limit: usize,
    ) -> Result<Vec<LockHistoryEntry>, StoreError> {
        let tables = self.lock()?;
        let Some(history) = tables.lock_history.get(lane) else {
            return Ok(Vec::new());
        };
        Ok(history.iter().rev().take(limit).cloned().collect())
    }

    async fn record_bad_range(
        &self,
        range: &deploybot_core::rollback::BadRange,
    ) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        tables
            .bad_ranges
            .entry(range.lane.clone())
            .or_default()
            .insert(range.rollback.clone(), range.clone());
        Ok(())
    }

    async fn bad_ranges(
        &self,
        lane: &LaneKey,
        limit: usize,
    ) -> Result<Vec<deploybot_core::rollback::BadRange>, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .bad_ranges
            .get(lane)
            .map(|ranges| ranges.values().take(limit).cloned().collect())
            .unwrap_or_default())
    }

    async fn get_approval(
        &self,
        key: &deploybot_core::approval::ApprovalKey,
    ) -> Result<Option<deploybot_core::approval::ApprovalRequest>, StoreError> {
        Ok(self.lock()?.approvals.get(key).cloned())
    }

    async fn save_approval(
        &self,
        request: &deploybot_core::approval::ApprovalRequest,
    ) -> Result<deploybot_core::ports::ApprovalSaved, StoreError> {
        use deploybot_core::ports::ApprovalSaved;
        let mut tables = self.lock()?;
        let stored = tables.approvals.get(&request.key).cloned();
        if stored.as_ref().map_or(0, |s| s.version) != request.version {
            return Ok(ApprovalSaved::Conflict(stored.map(Box::new)));
        }
        let mut saved = request.clone();
        saved.version = request.version + 1;
        tables.approvals.insert(saved.key.clone(), saved.clone());
        Ok(ApprovalSaved::Saved(Box::new(saved)))
    }

    async fn due_lanes(&self, now: Timestamp, limit: usize) -> Result<Vec<LaneRecord>, StoreError> {
        let tables = self.lock()?;
        Ok(tables
            .due
            .iter()
            .take_while(|(due, _)| *due <= now)
            .take(limit)
            .filter_map(|(_, lane)| {
                tables
                    .lanes
                    .get(&lane.repository)
                    .and_then(|p| p.get(&lane.environment))
                    .cloned()
            })
            .collect())
    }
}

/// The lane a deployment belongs to.
fn lane_of(deployment: &Deployment) -> LaneKey {
    LaneKey {
        repository: deployment.repository.clone(),
        environment: deployment.environment.clone(),
    }
}

/// A delivery record: until when it counts, and whether its work is done (else leased).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Delivery {
    expires_at: Timestamp,
    done: bool,
}

impl Tables {
    /// Puts `key`'s record, keeping the expiry order in step.
    fn put_delivery(&mut self, key: &str, delivery: Delivery) {
        if let Some(previous) = self.deliveries.insert(key.to_owned(), delivery) {
            self.delivery_expiry
                .remove(&(previous.expires_at, key.to_owned()));
        }
        self.delivery_expiry
            .insert((delivery.expires_at, key.to_owned()));
    }
}

#[async_trait]
impl DeliveryStore for MemoryStore {
    async fn claim_delivery(
        &self,
        key: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claim, StoreError> {
        let mut tables = self.lock()?;
        tables.expire_deliveries(now);
        match tables.deliveries.get(key) {
            Some(d) if d.expires_at > now && d.done => return Ok(Claim::Done),
            Some(d) if d.expires_at > now => {
                return Ok(Claim::Held {
                    until: d.expires_at,
                });
            }
            _ => {}
        }
        tables.put_delivery(
            key,
            Delivery {
                expires_at: lease_until,
                done: false,
            },
        );
        Ok(Claim::Claimed)
    }

    async fn finish_delivery(&self, key: &str, keep_until: Timestamp) -> Result<(), StoreError> {
        self.lock()?.put_delivery(
            key,
            Delivery {
                expires_at: keep_until,
                done: true,
            },
        );
        Ok(())
    }

    async fn forget_delivery(&self, key: &str) -> Result<(), StoreError> {
        let mut tables = self.lock()?;
        if let Some(d) = tables.deliveries.remove(key) {
            tables
                .delivery_expiry
                .remove(&(d.expires_at, key.to_owned()));
        }
        Ok(())
    }
}
