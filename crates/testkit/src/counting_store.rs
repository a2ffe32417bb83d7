//! A store wrapper that counts calls per method, so tests can show that the store calls one
//! event costs do not grow with the amount of data kept.

use async_trait::async_trait;
use deploybot_core::ports::{
    BindOutcome, InsertOutcome, LinkOutcome, Store, StoreError, UpdateOutcome,
};
use deploybot_core::{
    Deployment, DeploymentId, Environment, GithubLogin, Project, Repository, Sha, SlackChannelId,
    SlackTeamId, SlackUserId, Timestamp, UserLink,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Implements [`Store`] by delegating to another store and counting each call by method name
/// (`"bind_project"`, `"list_deployments"`, ...), whether it succeeded or not.
pub struct CountingStore {
    inner: Arc<dyn Store>,
    counts: Mutex<BTreeMap<&'static str, u64>>,
}

impl std::fmt::Debug for CountingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountingStore")
            .field("counts", &self.counts())
            .finish_non_exhaustive()
    }
}

impl CountingStore {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            counts: Mutex::new(BTreeMap::new()),
        }
    }

    /// Calls so far per method; methods never called are absent.
    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Calls so far, all methods together.
    pub fn total(&self) -> u64 {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .sum()
    }

    /// Starts counting from zero.
    pub fn reset(&self) {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn count(&self, method: &'static str) {
        *self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(method)
            .or_insert(0) += 1;
    }
}

#[async_trait]
impl Store for CountingStore {
    async fn bind_project(&self, project: &Project) -> Result<BindOutcome, StoreError> {
        self.count("bind_project");
        self.inner.bind_project(project).await
    }

    async fn project_by_channel(
        &self,
        channel: &SlackChannelId,
    ) -> Result<Option<Project>, StoreError> {
        self.count("project_by_channel");
        self.inner.project_by_channel(channel).await
    }

    async fn project_by_repository(
        &self,
        repository: &Repository,
    ) -> Result<Option<Project>, StoreError> {
        self.count("project_by_repository");
        self.inner.project_by_repository(repository).await
    }

    async fn update_project(&self, project: &Project) -> Result<bool, StoreError> {
        self.count("update_project");
        self.inner.update_project(project).await
    }

    async fn unbind_project(
        &self,
        channel: &SlackChannelId,
    ) -> Result<Option<Project>, StoreError> {
        self.count("unbind_project");
        self.inner.unbind_project(channel).await
    }

    async fn set_team_revoked(&self, team: &SlackTeamId, revoked: bool) -> Result<(), StoreError> {
        self.count("set_team_revoked");
        self.inner.set_team_revoked(team, revoked).await
    }

    async fn is_team_revoked(&self, team: &SlackTeamId) -> Result<bool, StoreError> {
        self.count("is_team_revoked");
        self.inner.is_team_revoked(team).await
    }

    async fn link_user(&self, link: &UserLink) -> Result<LinkOutcome, StoreError> {
        self.count("link_user");
        self.inner.link_user(link).await
    }

    async fn user_by_login(&self, login: &GithubLogin) -> Result<Option<UserLink>, StoreError> {
        self.count("user_by_login");
        self.inner.user_by_login(login).await
    }

    async fn user_by_slack(&self, user: &SlackUserId) -> Result<Option<UserLink>, StoreError> {
        self.count("user_by_slack");
        self.inner.user_by_slack(user).await
    }

    async fn users_by_logins(&self, logins: &[GithubLogin]) -> Result<Vec<UserLink>, StoreError> {
        self.count("users_by_logins");
        self.inner.users_by_logins(logins).await
    }

    async fn unlink_user(&self, user: &SlackUserId) -> Result<Option<UserLink>, StoreError> {
        self.count("unlink_user");
        self.inner.unlink_user(user).await
    }

    async fn insert_deployment(
        &self,
        deployment: &Deployment,
    ) -> Result<InsertOutcome, StoreError> {
        self.count("insert_deployment");
        self.inner.insert_deployment(deployment).await
    }

    async fn get_deployment(
        &self,
        repository: &Repository,
        id: &DeploymentId,
    ) -> Result<Option<Deployment>, StoreError> {
        self.count("get_deployment");
        self.inner.get_deployment(repository, id).await
    }

    async fn update_deployment(
        &self,
        deployment: &Deployment,
    ) -> Result<UpdateOutcome, StoreError> {
        self.count("update_deployment");
        self.inner.update_deployment(deployment).await
    }

    async fn deployment_by_github_id(
        &self,
        github_deployment_id: u64,
    ) -> Result<Option<Deployment>, StoreError> {
        self.count("deployment_by_github_id");
        self.inner
            .deployment_by_github_id(github_deployment_id)
            .await
    }

    async fn deployment_by_pipeline(
        &self,
        pipeline_id: &str,
    ) -> Result<Option<Deployment>, StoreError> {
        self.count("deployment_by_pipeline");
        self.inner.deployment_by_pipeline(pipeline_id).await
    }

    async fn deployments_by_sha(
        &self,
        repository: &Repository,
        sha: &Sha,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        self.count("deployments_by_sha");
        self.inner.deployments_by_sha(repository, sha, limit).await
    }

    async fn list_deployments(
        &self,
        repository: &Repository,
        environment: Option<Environment>,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        self.count("list_deployments");
        self.inner
            .list_deployments(repository, environment, limit)
            .await
    }

    async fn waiting_deployments(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        self.count("waiting_deployments");
        self.inner.waiting_deployments(before, limit).await
    }

    async fn record_delivery(
        &self,
        key: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.count("record_delivery");
        self.inner.record_delivery(key, now, expires_at).await
    }

    async fn forget_delivery(&self, key: &str) -> Result<(), StoreError> {
        self.count("forget_delivery");
        self.inner.forget_delivery(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    #[tokio::test]
    async fn counts_each_method_and_resets() {
        let store = CountingStore::new(Arc::new(MemoryStore::new()));
        assert_eq!(store.total(), 0);
        let now = Timestamp::from_millis(1_000);
        assert!(
            store
                .record_delivery("k", now, now.plus_secs(60))
                .await
                .expect("record")
        );
        assert!(
            !store
                .record_delivery("k", now, now.plus_secs(60))
                .await
                .expect("record")
        );
        store.forget_delivery("k").await.expect("forget");
        let repository = Repository::parse("acme/web").expect("valid");
        store
            .list_deployments(&repository, None, 10)
            .await
            .expect("list");
        assert_eq!(
            store.counts(),
            BTreeMap::from([
                ("forget_delivery", 1),
                ("list_deployments", 1),
                ("record_delivery", 2),
            ])
        );
        assert_eq!(store.total(), 4);
        store.reset();
        assert_eq!(store.total(), 0);
        assert!(store.counts().is_empty());
        // The forget went through to the wrapped store: the key is new again.
        assert!(
            store
                .record_delivery("k", now, now.plus_secs(60))
                .await
                .expect("record")
        );
        assert_eq!(store.counts(), BTreeMap::from([("record_delivery", 1)]));
    }
}
