//! A store wrapper that counts calls per method, so tests can show that the store calls one
//! event costs do not grow with the amount of data kept.

use async_trait::async_trait;
use deploybot_core::lane::{LaneKey, LaneRecord, LockHistoryEntry};
use deploybot_core::ports::{
    BindOutcome, Claim, DeliveryStore, DeploymentStore, InsertOutcome, LaneSaved, LaneStore,
    LinkOutcome, MoveOutcome, ProjectStore, Store, StoreError, UpdateOutcome, UserStore,
};
use deploybot_core::{
    Deployment, DeploymentId, Environment, GithubLogin, Project, Repository, Sha, SlackChannelId,
    SlackTeamId, SlackUserId, Timestamp, Unbinding, UserLink,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Implements every role port by delegating to another store and counting each call by method
/// name (`"bind_project"`, `"list_deployments"`, ...), whether it succeeded or not; a call can
/// be made to fail or hang once ([`CountingStore::fault_next`]).
pub struct CountingStore {
    inner: Arc<dyn Store>,
    counts: Mutex<BTreeMap<&'static str, u64>>,
    faults: Mutex<BTreeMap<&'static str, Fault>>,
    /// Faults armed by a call of another method: `after` → (`method`, fault).
    armed_after: Mutex<BTreeMap<&'static str, (&'static str, Fault)>>,
    /// Calls held until the test lets them go: `method` → its pause.
    pauses: Mutex<BTreeMap<&'static str, Arc<Pause>>>,
}

/// A call held at the store's door ([`CountingStore::pause_next`]): the test waits until it
/// [`arrived`](Pause::arrived), does what must happen meanwhile, then
/// [`releases`](Pause::release) it, and the call goes on to the wrapped store.
#[derive(Debug, Default)]
pub struct Pause {
    arrived: tokio::sync::Notify,
    release: tokio::sync::Notify,
}

impl Pause {
    /// Returns once the held call has reached the store.
    pub async fn arrived(&self) {
        self.arrived.notified().await;
    }

    /// Lets the held call go on.
    pub fn release(&self) {
        self.release.notify_one();
    }
}

/// The marker of a [`Fault::Lagging`] call, turned into an empty answer by the index queries.
const LAGGING: &str = "index lagging";

/// What an armed call does instead of reaching the wrapped store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answers a backend error.
    Fail,
    /// Never answers.
    Hang,
    /// Answers as an index that has not caught up with the latest writes: nothing (for the
    /// index queries that return a list; others fail).
    Lagging,
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
            faults: Mutex::new(BTreeMap::new()),
            armed_after: Mutex::new(BTreeMap::new()),
            pauses: Mutex::new(BTreeMap::new()),
        }
    }

    /// Holds the next call of `method` until the returned pause is released: race tests use
    /// it to put another handler's work exactly between a read and the write that follows.
    pub fn pause_next(&self, method: &'static str) -> Arc<Pause> {
        let pause = Arc::new(Pause::default());
        self.pauses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(method, pause.clone());
        pause
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

    /// Makes the next call of `method` fail (or hang) instead of reaching the wrapped store:
    /// fault tests use it to fail a store round trip at an exact point of a handler.
    pub fn fault_next(&self, method: &'static str, fault: Fault) {
        self.faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(method, fault);
    }

    /// Makes the first call of `method` that follows the next call of `after` fail (or hang):
    /// for a round trip that a handler makes many times, the one right after a given step.
    pub fn fault_next_after(&self, after: &'static str, method: &'static str, fault: Fault) {
        self.armed_after
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(after, (method, fault));
    }

    /// Counts a call of `method` and applies its armed fault, if any.
    async fn enter(&self, method: &'static str) -> Result<(), StoreError> {
        let arms = self
            .armed_after
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(method);
        *self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(method)
            .or_insert(0) += 1;
        let fault = self
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(method);
        if let Some((later, fault)) = arms {
            self.fault_next(later, fault);
        }
        let pause = self
            .pauses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(method);
        if let Some(pause) = pause {
            pause.arrived.notify_one();
            pause.release.notified().await;
        }
        match fault {
            None => Ok(()),
            Some(Fault::Fail) => Err(StoreError::Backend(format!("{method}: injected failure"))),
            // The call never answers: the caller's future is dropped by the test (a handler
            // killed mid-request, as Lambda kills one at its time limit).
            Some(Fault::Hang) => std::future::pending().await,
            Some(Fault::Lagging) => Err(StoreError::Backend(LAGGING.to_owned())),
        }
    }
}

#[async_trait]
impl ProjectStore for CountingStore {
    async fn bind_project(&self, project: &Project) -> Result<BindOutcome, StoreError> {
        self.enter("bind_project").await?;
        self.inner.bind_project(project).await
    }

    async fn project_by_channel(
        &self,
        channel: &SlackChannelId,
    ) -> Result<Option<Project>, StoreError> {
        self.enter("project_by_channel").await?;
        self.inner.project_by_channel(channel).await
    }

    async fn project_by_repository(
        &self,
        repository: &Repository,
    ) -> Result<Option<Project>, StoreError> {
        self.enter("project_by_repository").await?;
        self.inner.project_by_repository(repository).await
    }

    async fn update_project(&self, project: &Project) -> Result<bool, StoreError> {
        self.enter("update_project").await?;
        self.inner.update_project(project).await
    }

    async fn project_by_github_id(&self, github_id: u64) -> Result<Option<Project>, StoreError> {
        self.enter("project_by_github_id").await?;
        self.inner.project_by_github_id(github_id).await
    }

    async fn set_project_github_id(
        &self,
        project: &Project,
        github_id: u64,
    ) -> Result<bool, StoreError> {
        self.enter("set_project_github_id").await?;
        self.inner.set_project_github_id(project, github_id).await
    }

    async fn move_project(
        &self,
        from: &Repository,
        to: &Repository,
        github_id: Option<u64>,
    ) -> Result<MoveOutcome, StoreError> {
        self.enter("move_project").await?;
        self.inner.move_project(from, to, github_id).await
    }

    async fn unbind_project(
        &self,
        channel: &SlackChannelId,
    ) -> Result<Option<Project>, StoreError> {
        self.enter("unbind_project").await?;
        self.inner.unbind_project(channel).await
    }

    async fn record_unbinding(&self, record: &Unbinding) -> Result<(), StoreError> {
        self.enter("record_unbinding").await?;
        self.inner.record_unbinding(record).await
    }

    async fn last_unbinding(
        &self,
        repository: &Repository,
    ) -> Result<Option<Unbinding>, StoreError> {
        self.enter("last_unbinding").await?;
        self.inner.last_unbinding(repository).await
    }

    async fn set_team_revoked(&self, team: &SlackTeamId, revoked: bool) -> Result<(), StoreError> {
        self.enter("set_team_revoked").await?;
        self.inner.set_team_revoked(team, revoked).await
    }

    async fn is_team_revoked(&self, team: &SlackTeamId) -> Result<bool, StoreError> {
        self.enter("is_team_revoked").await?;
        self.inner.is_team_revoked(team).await
    }
}

#[async_trait]
impl UserStore for CountingStore {
    async fn link_user(&self, link: &UserLink) -> Result<LinkOutcome, StoreError> {
        self.enter("link_user").await?;
        self.inner.link_user(link).await
    }

    async fn user_by_login(&self, login: &GithubLogin) -> Result<Option<UserLink>, StoreError> {
        self.enter("user_by_login").await?;
        self.inner.user_by_login(login).await
    }

    async fn user_by_slack(&self, user: &SlackUserId) -> Result<Option<UserLink>, StoreError> {
        self.enter("user_by_slack").await?;
        self.inner.user_by_slack(user).await
    }

    async fn users_by_logins(&self, logins: &[GithubLogin]) -> Result<Vec<UserLink>, StoreError> {
        self.enter("users_by_logins").await?;
        self.inner.users_by_logins(logins).await
    }

    async fn unlink_user(&self, user: &SlackUserId) -> Result<Option<UserLink>, StoreError> {
        self.enter("unlink_user").await?;
        self.inner.unlink_user(user).await
    }

    async fn direct_preference(
        &self,
        user: &SlackUserId,
    ) -> Result<deploybot_core::notify::DirectPreference, StoreError> {
        self.enter("direct_preference").await?;
        self.inner.direct_preference(user).await
    }

    async fn set_direct_preference(
        &self,
        user: &SlackUserId,
        preference: deploybot_core::notify::DirectPreference,
    ) -> Result<(), StoreError> {
        self.enter("set_direct_preference").await?;
        self.inner.set_direct_preference(user, preference).await
    }

    async fn claim_home_publish(
        &self,
        user: &SlackUserId,
        now: Timestamp,
        min_gap_secs: i64,
    ) -> Result<bool, StoreError> {
        self.enter("claim_home_publish").await?;
        self.inner.claim_home_publish(user, now, min_gap_secs).await
    }

    async fn note_home_viewer(
        &self,
        channel: &SlackChannelId,
        user: &SlackUserId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.enter("note_home_viewer").await?;
        self.inner.note_home_viewer(channel, user, at).await
    }

    async fn home_viewers(
        &self,
        channel: &SlackChannelId,
        since: Timestamp,
        limit: usize,
    ) -> Result<Vec<SlackUserId>, StoreError> {
        self.enter("home_viewers").await?;
        self.inner.home_viewers(channel, since, limit).await
    }
}

#[async_trait]
impl DeploymentStore for CountingStore {
    async fn insert_deployment(
        &self,
        deployment: &Deployment,
    ) -> Result<InsertOutcome, StoreError> {
        self.enter("insert_deployment").await?;
        self.inner.insert_deployment(deployment).await
    }

    async fn get_deployment(
        &self,
        repository: &Repository,
        id: &DeploymentId,
    ) -> Result<Option<Deployment>, StoreError> {
        self.enter("get_deployment").await?;
        self.inner.get_deployment(repository, id).await
    }

    async fn update_deployment(
        &self,
        deployment: &Deployment,
    ) -> Result<UpdateOutcome, StoreError> {
        self.enter("update_deployment").await?;
        self.inner.update_deployment(deployment).await
    }

    async fn deployment_by_github_id(
        &self,
        github_deployment_id: u64,
    ) -> Result<Option<Deployment>, StoreError> {
        self.enter("deployment_by_github_id").await?;
        self.inner
            .deployment_by_github_id(github_deployment_id)
            .await
    }

    async fn deployment_by_pipeline(
        &self,
        pipeline_id: &str,
    ) -> Result<Option<Deployment>, StoreError> {
        self.enter("deployment_by_pipeline").await?;
        self.inner.deployment_by_pipeline(pipeline_id).await
    }

    async fn deployments_by_sha(
        &self,
        repository: &Repository,
        sha: &Sha,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        self.enter("deployments_by_sha").await?;
        self.inner.deployments_by_sha(repository, sha, limit).await
    }

    async fn list_deployments_older(
        &self,
        repository: &Repository,
        older_than: &DeploymentId,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        self.enter("list_deployments_older").await?;
        self.inner
            .list_deployments_older(repository, older_than, limit)
            .await
    }

    async fn list_deployments(
        &self,
        repository: &Repository,
        environment: Option<Environment>,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        self.enter("list_deployments").await?;
        self.inner
            .list_deployments(repository, environment, limit)
            .await
    }

    async fn waiting_deployments(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        self.enter("waiting_deployments").await?;
        self.inner.waiting_deployments(before, limit).await
    }

    async fn pending_deployments(
        &self,
        lane: &LaneKey,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        match self.enter("pending_deployments").await {
            Err(StoreError::Backend(m)) if m == LAGGING => return Ok(Vec::new()),
            other => other?,
        }
        self.inner.pending_deployments(lane, limit).await
    }

    async fn succeeded_deployments(
        &self,
        lane: &LaneKey,
        oldest_first: bool,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError> {
        self.enter("succeeded_deployments").await?;
        self.inner
            .succeeded_deployments(lane, oldest_first, limit)
            .await
    }

    async fn put_shipping(
        &self,
        record: &deploybot_core::shipping::ShippingRecord,
    ) -> Result<bool, StoreError> {
        self.enter("put_shipping").await?;
        self.inner.put_shipping(record).await
    }

    async fn shipping(
        &self,
        repository: &Repository,
        deployment: &DeploymentId,
    ) -> Result<Option<deploybot_core::shipping::ShippingRecord>, StoreError> {
        self.enter("shipping").await?;
        self.inner.shipping(repository, deployment).await
    }

    async fn take_notice(
        &self,
        repository: &Repository,
        key: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.enter("take_notice").await?;
        self.inner.take_notice(repository, key, at).await
    }
}

#[async_trait]
impl LaneStore for CountingStore {
    async fn get_lane(&self, lane: &LaneKey) -> Result<Option<LaneRecord>, StoreError> {
        self.enter("get_lane").await?;
        self.inner.get_lane(lane).await
    }

    async fn lanes_of(&self, repository: &Repository) -> Result<Vec<LaneRecord>, StoreError> {
        self.enter("lanes_of").await?;
        self.inner.lanes_of(repository).await
    }

    async fn save_lane(&self, record: &LaneRecord) -> Result<LaneSaved, StoreError> {
        self.enter("save_lane").await?;
        self.inner.save_lane(record).await
    }

    async fn delete_lane(&self, record: &LaneRecord) -> Result<bool, StoreError> {
        self.enter("delete_lane").await?;
        self.inner.delete_lane(record).await
    }

    async fn next_lane_seq(&self, lane: &LaneKey) -> Result<u64, StoreError> {
        self.enter("next_lane_seq").await?;
        self.inner.next_lane_seq(lane).await
    }

    async fn record_lock_event(&self, entry: &LockHistoryEntry) -> Result<(), StoreError> {
        self.enter("record_lock_event").await?;
        self.inner.record_lock_event(entry).await
    }

    async fn lock_history(
        &self,
        lane: &LaneKey,
        limit: usize,
    ) -> Result<Vec<LockHistoryEntry>, StoreError> {
        self.enter("lock_history").await?;
        self.inner.lock_history(lane, limit).await
    }

    async fn due_lanes(&self, now: Timestamp, limit: usize) -> Result<Vec<LaneRecord>, StoreError> {
        self.enter("due_lanes").await?;
        self.inner.due_lanes(now, limit).await
    }

    async fn record_bad_range(
        &self,
        range: &deploybot_core::rollback::BadRange,
    ) -> Result<(), StoreError> {
        self.enter("record_bad_range").await?;
        self.inner.record_bad_range(range).await
    }

    async fn bad_ranges(
        &self,
        lane: &LaneKey,
        limit: usize,
    ) -> Result<Vec<deploybot_core::rollback::BadRange>, StoreError> {
        self.enter("bad_ranges").await?;
        self.inner.bad_ranges(lane, limit).await
    }

    async fn get_approval(
        &self,
        key: &deploybot_core::approval::ApprovalKey,
    ) -> Result<Option<deploybot_core::approval::ApprovalRequest>, StoreError> {
        self.enter("get_approval").await?;
        self.inner.get_approval(key).await
    }

    async fn save_approval(
        &self,
        request: &deploybot_core::approval::ApprovalRequest,
    ) -> Result<deploybot_core::ports::ApprovalSaved, StoreError> {
        self.enter("save_approval").await?;
        self.inner.save_approval(request).await
    }
}

#[async_trait]
impl DeliveryStore for CountingStore {
    async fn claim_delivery(
        &self,
        key: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claim, StoreError> {
        self.enter("claim_delivery").await?;
        self.inner.claim_delivery(key, now, lease_until).await
    }

    async fn finish_delivery(&self, key: &str, keep_until: Timestamp) -> Result<(), StoreError> {
        self.enter("finish_delivery").await?;
        self.inner.finish_delivery(key, keep_until).await
    }

    async fn forget_delivery(&self, key: &str) -> Result<(), StoreError> {
        self.enter("forget_delivery").await?;
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
        let later = now.plus_secs(60);
        assert_eq!(
            store.claim_delivery("k", now, later).await.expect("claim"),
            Claim::Claimed
        );
        assert_eq!(
            store.claim_delivery("k", now, later).await.expect("claim"),
            Claim::Held { until: later }
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
                ("claim_delivery", 2),
                ("forget_delivery", 1),
                ("list_deployments", 1),
            ])
        );
        assert_eq!(store.total(), 4);
        store.reset();
        assert_eq!(store.total(), 0);
        assert!(store.counts().is_empty());
        // The forget went through to the wrapped store: the key is free again.
        assert_eq!(
            store.claim_delivery("k", now, later).await.expect("claim"),
            Claim::Claimed
        );
        assert_eq!(store.counts(), BTreeMap::from([("claim_delivery", 1)]));
    }

    #[tokio::test]
    async fn an_armed_fault_fails_the_next_call_only() {
        let store = CountingStore::new(Arc::new(MemoryStore::new()));
        let repository = Repository::parse("acme/web").expect("valid");
        store.fault_next("list_deployments", Fault::Fail);
        let error = store
            .list_deployments(&repository, None, 10)
            .await
            .expect_err("armed");
        assert!(error.to_string().contains("injected"), "{error}");
        assert!(store.list_deployments(&repository, None, 10).await.is_ok());

        store.fault_next("get_deployment", Fault::Hang);
        let id = deploybot_core::DeploymentId::new(Timestamp::from_millis(1), 1);
        let hung = tokio::time::timeout(
            std::time::Duration::from_millis(20),
            store.get_deployment(&repository, &id),
        )
        .await;
        assert!(hung.is_err(), "the armed call never answers");
        assert_eq!(store.counts()["list_deployments"], 2);
    }
}
