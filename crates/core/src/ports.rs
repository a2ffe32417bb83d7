//! Ports: one trait per outside capability (store, invoker, Slack, GitHub, CI backend,
//! clock). `app` handlers depend only on these; `aws`, `integrations`, `local` and `testkit`
//! implement them.

use crate::blocks::Message;
use crate::invoke::FunctionName;
use crate::lane::{LaneKey, LaneRecord, LockHistoryEntry};
use crate::notify::DirectPreference;
use crate::rollback::BadRange;
use crate::{
    Deployment, DeploymentId, DeploymentState, Environment, GitRef, GithubLogin, Project,
    Repository, Sha, SlackChannelId, SlackTeamId, SlackUserId, Timestamp, Unbinding, UserLink,
};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

// =============================================================================================
// Store

/// A store failure that is not a domain outcome (those are typed results).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backend failed (I/O, network, throttling after retries).
    #[error("store backend: {0}")]
    Backend(String),
    /// A stored record could not be read back.
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

/// The result of [`ProjectStore::bind_project`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindOutcome {
    /// The channel and repository are now bound to each other.
    Bound,
    /// This exact binding already existed (setup run twice): nothing changed.
    AlreadyBound,
    /// The repository is bound to another channel: nothing changed.
    RepositoryTaken { channel: SlackChannelId },
    /// This channel is bound to another repository: nothing changed.
    ChannelTaken { repository: Repository },
}

/// The result of [`ProjectStore::move_project`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveOutcome {
    /// The binding now lives under the new name; the record as stored.
    Moved(Box<Project>),
    /// The old name has no binding (never had, unbound, or moved already): nothing changed.
    NotBound,
    /// The old name is bound, but the new name is bound already (to this `channel`): nothing
    /// changed.
    Taken { channel: SlackChannelId },
}

/// The result of [`UserStore::link_user`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkOutcome {
    Linked,
    /// This exact link already existed: nothing changed.
    AlreadyLinked,
    /// The GitHub login is claimed by another Slack user: nothing changed.
    LoginTaken {
        slack_user: SlackUserId,
    },
    /// The Slack user already claimed another login: nothing changed.
    SlackUserTaken {
        github_login: GithubLogin,
    },
}

/// The result of [`DeploymentStore::insert_deployment`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    Inserted,
    /// A deployment with this repository and id exists already (a retried invoke): nothing
    /// changed; the stored record is returned.
    AlreadyExists(Box<Deployment>),
}

/// The result of [`DeploymentStore::update_deployment`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// Saved; the record as stored (its `version` one higher than the one passed in).
    Updated(Box<Deployment>),
    /// The stored version differs from the one passed in: someone else saved first. Nothing
    /// changed; the current record is returned so the caller can decide again.
    Conflict(Box<Deployment>),
    NotFound,
}

/// The result of [`DeliveryStore::claim_delivery`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The key was free (new, released, or its earlier lease ran out): the caller does the
    /// work and then finishes or releases the claim.
    Claimed,
    /// Another attempt holds the key and its lease runs until `until`: the caller does
    /// nothing now (once the lease has run out a retry may take it over).
    Held { until: Timestamp },
    /// The work was done by an earlier attempt: the caller does nothing.
    Done,
}

/// The result of [`LaneStore::save_lane`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaneSaved {
    /// Saved; the record as stored (its `version` one higher than the one passed in).
    Saved(Box<LaneRecord>),
    /// The stored version differs from the one passed in: another decision was saved first.
    /// Nothing changed; the current record is returned so the caller can decide again.
    Conflict(Box<LaneRecord>),
}

// The store is split along its tables: one role port per table, so a function's state holds
// only the ports of the tables its profile names (`crate::profile`). Every method is a key or
// index lookup: none scans, so the cost of a call does not grow with the number of projects,
// users or deployments. Implementations must give exactly these semantics (the contract suite
// in `deploybot-testkit`, one part per table, checks them for every implementation).

/// The project table: channel ↔ repository bindings, the last unbinding of each repository and
/// revoked Slack workspaces.
#[async_trait]
pub trait ProjectStore: Send + Sync {
    /// Binds `project.channel` ↔ `project.repository` **atomically**: one channel has at most
    /// one repository and one repository at most one channel. Of two concurrent calls that
    /// would break this, exactly one returns `Bound`.
    async fn bind_project(&self, project: &Project) -> Result<BindOutcome, StoreError>;

    /// The project bound to a channel (index lookup).
    async fn project_by_channel(
        &self,
        channel: &SlackChannelId,
    ) -> Result<Option<Project>, StoreError>;

    /// The project bound to a repository (key lookup).
    async fn project_by_repository(
        &self,
        repository: &Repository,
    ) -> Result<Option<Project>, StoreError>;

    /// Replaces the stored project's `channel_name`, `team` and `settings` when the binding
    /// `repository` ↔ `channel` still exists. Returns false (and changes nothing) otherwise.
    async fn update_project(&self, project: &Project) -> Result<bool, StoreError>;

    /// The project whose repository has GitHub's numeric id `github_id` (index lookup; the
    /// index may lag a write by a moment, like every secondary index). Should two bindings
    /// carry the id, either may be returned.
    async fn project_by_github_id(&self, github_id: u64) -> Result<Option<Project>, StoreError>;

    /// Records GitHub's numeric id of the binding `project.repository` ↔ `project.channel`
    /// when it still exists and has none yet. Returns false (and changes nothing) otherwise.
    async fn set_project_github_id(
        &self,
        project: &Project,
        github_id: u64,
    ) -> Result<bool, StoreError>;

    /// Moves the binding of `from` to the repository name `to` **atomically** (the repository
    /// was renamed or transferred): the channel, its settings and everything else stay, the
    /// channel's claim names `to`, and `from` is free to be bound again. `github_id` is
    /// recorded on the way when the binding has none. Deployments and lanes are not touched.
    async fn move_project(
        &self,
        from: &Repository,
        to: &Repository,
        github_id: Option<u64>,
    ) -> Result<MoveOutcome, StoreError>;

    /// Removes the channel's binding and settings; returns what was removed. User links stay.
    async fn unbind_project(&self, channel: &SlackChannelId)
    -> Result<Option<Project>, StoreError>;

    /// Keeps `record` as its repository's last unbinding, replacing any earlier one (a key
    /// write). The binding itself is removed by [`ProjectStore::unbind_project`].
    async fn record_unbinding(&self, record: &Unbinding) -> Result<(), StoreError>;

    /// The repository's last recorded unbinding (key lookup), bound again since or not.
    async fn last_unbinding(
        &self,
        repository: &Repository,
    ) -> Result<Option<Unbinding>, StoreError>;

    /// Marks a Slack workspace as uninstalled / tokens revoked (true) or active again.
    async fn set_team_revoked(&self, team: &SlackTeamId, revoked: bool) -> Result<(), StoreError>;

    /// Whether the workspace's tokens were revoked (no more posting).
    async fn is_team_revoked(&self, team: &SlackTeamId) -> Result<bool, StoreError>;
}

/// The user table: GitHub login ↔ Slack user links.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Links a GitHub login to a Slack user **atomically**, one ↔ one both ways.
    async fn link_user(&self, link: &UserLink) -> Result<LinkOutcome, StoreError>;

    async fn user_by_login(&self, login: &GithubLogin) -> Result<Option<UserLink>, StoreError>;

    /// The link of a Slack user (index lookup).
    async fn user_by_slack(&self, user: &SlackUserId) -> Result<Option<UserLink>, StoreError>;

    /// The links that exist for these logins (key lookups, batched), in any order.
    async fn users_by_logins(&self, logins: &[GithubLogin]) -> Result<Vec<UserLink>, StoreError>;

    /// Removes the Slack user's link; returns what was removed. The person's own settings
    /// (direct-message preference, Home tab) stay.
    async fn unlink_user(&self, user: &SlackUserId) -> Result<Option<UserLink>, StoreError>;

    /// A person's own direct-message preference (`/cimon notify me …`; key lookup),
    /// [`DirectPreference::Routed`] when never set. Linked or not.
    async fn direct_preference(&self, user: &SlackUserId) -> Result<DirectPreference, StoreError>;

    /// Sets a person's direct-message preference (a key write; the person's other settings
    /// stay).
    async fn set_direct_preference(
        &self,
        user: &SlackUserId,
        preference: DirectPreference,
    ) -> Result<(), StoreError>;

    /// The Home tab's debounce, **atomically**: when the person's Home tab was never
    /// published, or last at or before `now - min_gap_secs`, records `now` and returns true;
    /// otherwise changes nothing and returns false. Of concurrent claims of one person at one
    /// time exactly one is true.
    async fn claim_home_publish(
        &self,
        user: &SlackUserId,
        now: Timestamp,
        min_gap_secs: i64,
    ) -> Result<bool, StoreError>;

    /// Notes that `user` opened their Home tab at `at`, and it shows the repository of
    /// `channel` (one item per channel and person, replaced).
    async fn note_home_viewer(
        &self,
        channel: &SlackChannelId,
        user: &SlackUserId,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// The people who opened their Home tab showing `channel`'s repository at or after
    /// `since`, at most `limit`, in no particular order (one key-ordered read of the channel's
    /// viewers: as many as the channel has people who use the Home tab).
    async fn home_viewers(
        &self,
        channel: &SlackChannelId,
        since: Timestamp,
        limit: usize,
    ) -> Result<Vec<SlackUserId>, StoreError>;
}

/// The deployment table and its indexes.
#[async_trait]
pub trait DeploymentStore: Send + Sync {
    /// Stores a new deployment (its `version` is stored as given, normally 0). Conditional on
    /// no record with the same repository and id existing.
    async fn insert_deployment(&self, deployment: &Deployment)
    -> Result<InsertOutcome, StoreError>;

    async fn get_deployment(
        &self,
        repository: &Repository,
        id: &DeploymentId,
    ) -> Result<Option<Deployment>, StoreError>;

    /// Saves `deployment` when the stored record's `version` equals `deployment.version`
    /// (optimistic concurrency); the stored copy gets `version + 1`.
    async fn update_deployment(&self, deployment: &Deployment)
    -> Result<UpdateOutcome, StoreError>;

    /// By GitHub deployment id (index lookup).
    async fn deployment_by_github_id(
        &self,
        github_deployment_id: u64,
    ) -> Result<Option<Deployment>, StoreError>;

    /// By CI pipeline id (index lookup).
    async fn deployment_by_pipeline(
        &self,
        pipeline_id: &str,
    ) -> Result<Option<Deployment>, StoreError>;

    /// The repository's deployments of one commit, newest first, at most `limit` (index).
    async fn deployments_by_sha(
        &self,
        repository: &Repository,
        sha: &Sha,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError>;

    /// The repository's deployments, newest first, at most `limit`; only `environment`'s
    /// when given (key-ordered query on the table or the environment index).
    async fn list_deployments(
        &self,
        repository: &Repository,
        environment: Option<Environment>,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError>;

    /// The repository's deployments older than `older_than` (after it in the newest-first
    /// order), newest first, at most `limit`: the next page of a history, one key-ordered
    /// query starting after the cursor whatever the page's depth.
    async fn list_deployments_older(
        &self,
        repository: &Repository,
        older_than: &DeploymentId,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError>;

    /// Deployments in `waiting_for_checks` created before `before`, oldest first, at most
    /// `limit`, across repositories (a sparse index holding only waiting deployments).
    async fn waiting_deployments(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError>;

    /// The lane's pending deployments (`waiting`, `ready`, `waiting_for_checks`), in `seq`
    /// order, at most `limit` (a sparse index holding only pending deployments, keyed by
    /// lane: the cost does not grow with the lane's history or with other lanes).
    async fn pending_deployments(
        &self,
        lane: &LaneKey,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError>;

    /// The lane's deployments that succeeded (`succeeded_at` set, whatever their state now),
    /// newest first — or oldest first when `oldest_first` — at most `limit` (a sparse index
    /// keyed by lane: a rollback's history, docs/adr/0018-rollback.md).
    async fn succeeded_deployments(
        &self,
        lane: &LaneKey,
        oldest_first: bool,
        limit: usize,
    ) -> Result<Vec<Deployment>, StoreError>;

    /// Stores a deployment's "What's shipping" record unless one exists (conditional on its
    /// key, repository and deployment id): `true` when this call stored it. The record is
    /// written once and never changed.
    async fn put_shipping(
        &self,
        record: &crate::shipping::ShippingRecord,
    ) -> Result<bool, StoreError>;

    /// A deployment's "What's shipping" record, by key.
    async fn shipping(
        &self,
        repository: &Repository,
        deployment: &DeploymentId,
    ) -> Result<Option<crate::shipping::ShippingRecord>, StoreError>;

    /// Takes the one-time notice `key` of the repository (a conditional write by key):
    /// `true` for the one call that took it, `false` ever after.
    async fn take_notice(
        &self,
        repository: &Repository,
        key: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
}

/// The lane table: one record per (repository, environment) — its slot, what it runs, its
/// lock, when the watchdog is due — a counter that orders the lane's arrivals, and the
/// history of its locks.
#[async_trait]
pub trait LaneStore: Send + Sync {
    /// The lane's record; `None` when nothing was saved for it yet.
    async fn get_lane(&self, lane: &LaneKey) -> Result<Option<LaneRecord>, StoreError>;

    /// Every lane record of one repository, ordered by environment (one partition).
    async fn lanes_of(&self, repository: &Repository) -> Result<Vec<LaneRecord>, StoreError>;

    /// Saves `record` when the stored record's `version` equals `record.version` (a lane
    /// with no record has version 0); the stored copy gets `version + 1`. Of concurrent saves
    /// of one version exactly one is `Saved`.
    async fn save_lane(&self, record: &LaneRecord) -> Result<LaneSaved, StoreError>;

    /// Deletes the lane's record when the stored record's `version` equals
    /// `record.version`: `true` when it was deleted, `false` when another save came first (or
    /// there is no record). A pull request's lane goes this way when the pull request closes
    /// with nothing left in it, so a repository's lanes do not grow with its pull requests.
    /// The arrival counter and the lock history stay.
    async fn delete_lane(&self, record: &LaneRecord) -> Result<bool, StoreError>;

    /// The lane's next arrival number, atomically: 1, 2, 3, … per lane, never repeated, even
    /// under concurrent calls. It does not touch the lane record (nor its version).
    async fn next_lane_seq(&self, lane: &LaneKey) -> Result<u64, StoreError>;

    /// Appends one entry to the lane's lock history (entries of the same instant are all
    /// kept).
    async fn record_lock_event(&self, entry: &LockHistoryEntry) -> Result<(), StoreError>;

    /// The lane's lock history, newest first, at most `limit`.
    async fn lock_history(
        &self,
        lane: &LaneKey,
        limit: usize,
    ) -> Result<Vec<LockHistoryEntry>, StoreError>;

    /// Lane records whose `due_at` is at or before `now`, earliest first, at most `limit`,
    /// across repositories (a sparse index holding only lanes with a `due_at`).
    async fn due_lanes(&self, now: Timestamp, limit: usize) -> Result<Vec<LaneRecord>, StoreError>;

    /// Keeps the commits a rollback took out of its lane, keyed by the rollback's deployment
    /// id: recording the same rollback again replaces its range (the same content).
    async fn record_bad_range(&self, range: &BadRange) -> Result<(), StoreError>;

    /// The lane's rolled-back ranges, newest rollback first, at most `limit`.
    async fn bad_ranges(&self, lane: &LaneKey, limit: usize) -> Result<Vec<BadRange>, StoreError>;

    /// The approval request with `key` (one lane, commit and workflow-file version), if any.
    async fn get_approval(
        &self,
        key: &crate::approval::ApprovalKey,
    ) -> Result<Option<crate::approval::ApprovalRequest>, StoreError>;

    /// Saves `request` when the stored request's `version` equals `request.version` (a
    /// request not stored yet has version 0); the stored copy gets `version + 1`. Of
    /// concurrent saves of one version exactly one is `Saved`: two presses of Approve at once,
    /// or one press delivered twice, count once.
    async fn save_approval(
        &self,
        request: &crate::approval::ApprovalRequest,
    ) -> Result<ApprovalSaved, StoreError>;
}

/// The result of [`LaneStore::save_approval`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalSaved {
    /// Saved; the request as stored (its `version` one higher than the one passed in).
    Saved(Box<crate::approval::ApprovalRequest>),
    /// Another save came first: nothing changed. The stored request, when there is one.
    Conflict(Option<Box<crate::approval::ApprovalRequest>>),
}

/// The delivery table: idempotency keys with a lease (see `deploybot_app::idempotency`, the
/// only code that calls these).
#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Claims `key` until `lease_until` **atomically**: `Claimed` when the key is absent, or
    /// held by an attempt whose lease ended at or before `now`, or kept done past its expiry;
    /// otherwise `Held` (a live lease) or `Done`. Of concurrent claims of one key exactly one
    /// gets `Claimed`.
    async fn claim_delivery(
        &self,
        key: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Claim, StoreError>;

    /// Marks `key` done, kept until `keep_until` (later claims answer `Done` until then).
    async fn finish_delivery(&self, key: &str, keep_until: Timestamp) -> Result<(), StoreError>;

    /// Forgets a key, so that a retry after a failed attempt is processed again.
    async fn forget_delivery(&self, key: &str) -> Result<(), StoreError>;
}

/// A backend that keeps every table (memory, redb, DynamoDB): one value that serves as each
/// role port (`Arc<dyn Store>` converts to `Arc<dyn ProjectStore>` and the others).
pub trait Store: ProjectStore + UserStore + DeploymentStore + DeliveryStore + LaneStore {}

impl<T: ProjectStore + UserStore + DeploymentStore + DeliveryStore + LaneStore + ?Sized> Store
    for T
{
}

// =============================================================================================
// Invoker

/// How a function is invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvokeMode {
    /// Wait for the answer.
    RequestResponse,
    /// Fire and forget (Lambda retries failures and sends what still fails to a queue).
    Event,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// The function ran and failed.
    #[error("{function} failed: {message}")]
    Function {
        function: FunctionName,
        message: String,
    },
    /// The function could not be reached.
    #[error("invoking {function}: {message}")]
    Transport {
        function: FunctionName,
        message: String,
    },
    /// The caller's profile does not name `function` (`crate::profile`).
    #[error("{message}")]
    OutsideProfile {
        function: FunctionName,
        message: String,
    },
    /// The request or answer did not (de)serialise.
    #[error("payload for {function}: {message}")]
    Payload {
        function: FunctionName,
        message: String,
    },
}

/// Calls another function. See [`crate::invoke::call`] and [`crate::invoke::send`] for the
/// typed front doors.
#[async_trait]
pub trait Invoker: Send + Sync {
    /// Invokes `function` with a payload of JSON text (the request serialised once, as it
    /// goes on the wire). `RequestResponse` returns the function's JSON answer; `Event`
    /// returns `Null` once the invocation is accepted.
    async fn invoke(
        &self,
        function: FunctionName,
        mode: InvokeMode,
        payload: Vec<u8>,
    ) -> Result<serde_json::Value, InvokeError>;
}

// =============================================================================================
// Slack

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackError {
    /// Slack answered `"ok": false` with this error code (`channel_not_found`, ...).
    #[error("Slack API error: {0}")]
    Api(String),
    /// Still rate limited after honouring `Retry-After`.
    #[error("Slack rate limit; retry after {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64 },
    #[error("Slack unreachable: {0}")]
    Transport(String),
    #[error("unexpected answer from Slack: {0}")]
    InvalidResponse(String),
}

/// A reply through a slash command's or button's `response_url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseMessage {
    pub message: Message,
    /// Only the person who asked sees it.
    pub ephemeral: bool,
    /// Replace the message the button was on.
    pub replace_original: bool,
}

#[async_trait]
pub trait Slack: Send + Sync {
    /// `chat.postMessage`; returns the message `ts`.
    async fn post_message(
        &self,
        channel: &SlackChannelId,
        message: &Message,
    ) -> Result<String, SlackError>;

    /// `chat.update` of the message at `ts`.
    async fn update_message(
        &self,
        channel: &SlackChannelId,
        ts: &str,
        message: &Message,
    ) -> Result<(), SlackError>;

    /// `chat.postEphemeral`.
    async fn post_ephemeral(
        &self,
        channel: &SlackChannelId,
        user: &SlackUserId,
        message: &Message,
    ) -> Result<(), SlackError>;

    /// POST to a `response_url`.
    async fn respond(
        &self,
        response_url: &str,
        response: &ResponseMessage,
    ) -> Result<(), SlackError>;

    /// `users.info`: the user's display name, if Slack knows one.
    async fn user_name(&self, user: &SlackUserId) -> Result<Option<String>, SlackError>;

    /// `chat.postMessage` to `target` — a channel id, a `#channel-name` or a user id (the
    /// app's direct conversation with that person) — as a reply in the thread of
    /// `thread_ts` when given. Returns the conversation Slack posted in, by id (what
    /// `chat.update` takes), and the message `ts`.
    async fn post_to(
        &self,
        target: &str,
        thread_ts: Option<&str>,
        message: &Message,
    ) -> Result<Posted, SlackError>;

    /// `usergroups.list`: the id of the workspace's user group with this handle (without
    /// `@`), `None` when there is none.
    async fn user_group(&self, handle: &str) -> Result<Option<String>, SlackError>;

    /// `users.conversations`: the channels (public and private) `user` is a member of, as
    /// far as the bot can see them (all pages).
    async fn user_channels(&self, user: &SlackUserId) -> Result<Vec<SlackChannelId>, SlackError>;

    /// `views.publish`: replaces `user`'s Home tab of the app with `view` (a Block Kit
    /// `home` view).
    async fn publish_home(
        &self,
        user: &SlackUserId,
        view: &serde_json::Value,
    ) -> Result<(), SlackError>;
}

/// Where [`Slack::post_to`] posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posted {
    pub channel: SlackChannelId,
    pub ts: String,
}

// =============================================================================================
// GitHub

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitHubError {
    #[error("not found on GitHub: {0}")]
    NotFound(String),
    /// GitHub merged the default branch into the ref instead of deploying (HTTP 202).
    #[error("GitHub merged the default branch into the ref instead of creating a deployment")]
    AutoMerged,
    /// HTTP 422 with GitHub's message.
    #[error("GitHub refused: {0}")]
    Validation(String),
    #[error("GitHub credentials were refused: {0}")]
    Unauthorized(String),
    /// The GitHub App is not installed on the repository's account, or not given the
    /// repository (`GET /repos/{owner}/{repo}/installation` answered 404).
    #[error("the GitHub App is not installed for {0}")]
    NotInstalled(String),
    /// HTTP 403 that is not a rate limit: the App may not read it.
    #[error("GitHub refused access: {0}")]
    Forbidden(String),
    #[error("GitHub rate limit; retry after {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64 },
    #[error("GitHub answered HTTP {status}")]
    Server { status: u16 },
    #[error("GitHub unreachable: {0}")]
    Transport(String),
    #[error("unexpected answer from GitHub: {0}")]
    InvalidResponse(String),
    #[error("GitHub App configuration: {0}")]
    Config(String),
}

/// A deployment to create on GitHub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewGithubDeployment {
    pub repository: Repository,
    /// The ref GitHub records (branch, tag or SHA).
    pub git_ref: String,
    pub environment: Environment,
    pub description: String,
    /// Carried on the GitHub deployment (our deployment id, PR number and URL).
    pub payload: serde_json::Value,
    pub transient_environment: bool,
    pub production_environment: bool,
    /// A rollback (`crate::rollback`): created with the task `deploy:rollback` and no required
    /// contexts (the target's checks passed when it deployed there before; they may be stale
    /// now).
    #[serde(default)]
    pub rollback: bool,
}

/// What GitHub did with a deployment request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateDeploymentOutcome {
    Created {
        id: u64,
    },
    /// HTTP 409: required status checks are failing or pending.
    ChecksNotGreen {
        contexts: Vec<String>,
    },
}

/// A deployment status to write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDeploymentStatus {
    pub state: DeploymentState,
    pub log_url: Option<String>,
    pub environment_url: Option<String>,
    /// At most 140 characters (adapters truncate).
    pub description: Option<String>,
}

/// A repository as GitHub knows it (`GET /repos/{owner}/{repo}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryInfo {
    /// GitHub's numeric id: it stays the same when the repository is renamed or moved.
    pub id: u64,
    /// `owner/name` as GitHub spells it now (it may differ in case from what was typed, or
    /// name where a renamed repository went).
    pub full_name: Repository,
    pub default_branch: String,
}

/// A ref resolved to its commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedRef {
    pub sha: Sha,
    /// The commit's GitHub author, when it maps to a GitHub account.
    pub author: Option<GithubLogin>,
}

/// The combined verdict of a commit's statuses and check suites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksState {
    Green,
    Pending,
    Red,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecksSummary {
    pub state: ChecksState,
    /// Names of failing contexts / check suites.
    pub failing: Vec<String>,
    /// Names of pending ones.
    pub pending: Vec<String>,
}

/// A file read from a repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryFile {
    /// Git's blob SHA of the file.
    pub blob: String,
    /// Its text (invalid UTF-8 replaced).
    pub text: String,
}

/// The paths a comparison of two commits changes (GitHub's compare API, `base...head`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedFiles {
    /// Every path added, modified or removed, and the old path of a renamed file.
    pub paths: Vec<String>,
    /// False when GitHub cut the list short (it lists at most 300 files): a path missing from
    /// `paths` may still have changed.
    pub complete: bool,
}

/// How a completed check run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckConclusion {
    Success,
    Failure,
}

impl CheckConclusion {
    /// GitHub's name for it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

/// One annotation of a check run: a `failure` on lines of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckAnnotation {
    pub path: String,
    /// 1-based.
    pub start_line: u32,
    pub end_line: u32,
    pub message: String,
}

/// A completed check run to create on a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCheckRun {
    pub repository: Repository,
    pub name: String,
    pub head_sha: Sha,
    pub conclusion: CheckConclusion,
    pub title: String,
    /// Markdown.
    pub summary: String,
    /// At most 50 (GitHub's limit per request; adapters send no more).
    pub annotations: Vec<CheckAnnotation>,
}

#[async_trait]
pub trait GitHub: Send + Sync {
    /// Every login with access to the repository (all pages).
    async fn collaborators(&self, repository: &Repository)
    -> Result<Vec<GithubLogin>, GitHubError>;

    /// The members of a GitHub team (`GET /orgs/{org}/teams/{team_slug}/members`, all pages),
    /// asked with `repository`'s installation: who may approve for a rule naming the team.
    /// An unknown team (or one the installation may not see) is [`GitHubError::NotFound`].
    async fn team_members(
        &self,
        repository: &Repository,
        team: &crate::approval::Team,
    ) -> Result<Vec<GithubLogin>, GitHubError>;

    /// A branch, tag or (abbreviated) SHA → the commit.
    async fn resolve_ref(
        &self,
        repository: &Repository,
        git_ref: &GitRef,
    ) -> Result<ResolvedRef, GitHubError>;

    async fn default_branch(&self, repository: &Repository) -> Result<String, GitHubError>;

    /// The file at `path` in commit `commit` (GitHub's contents API); `None` when the commit
    /// has no such file.
    async fn file_at(
        &self,
        repository: &Repository,
        path: &str,
        commit: &Sha,
    ) -> Result<Option<RepositoryFile>, GitHubError>;

    /// The repository, checked the way deploybot will use it: the App must be installed on
    /// it (else [`GitHubError::NotInstalled`]), and it must exist and be readable through
    /// that installation (else [`GitHubError::NotFound`] or [`GitHubError::Forbidden`]).
    async fn repository(&self, repository: &Repository) -> Result<RepositoryInfo, GitHubError>;

    /// How `head` relates to `base` (GitHub's compare API, `base...head`): `ahead` (base is
    /// an ancestor of head), `behind`, `identical` or `diverged`.
    async fn compare_commits(
        &self,
        repository: &Repository,
        base: &Sha,
        head: &Sha,
    ) -> Result<String, GitHubError>;

    /// The paths changed from `base` to `head` (GitHub's compare API, `base...head`: what a
    /// pull request with these two commits changes).
    async fn changed_files(
        &self,
        repository: &Repository,
        base: &Sha,
        head: &Sha,
    ) -> Result<ChangedFiles, GitHubError>;

    /// The commits of `base...head` with their authors and the pull requests GitHub
    /// associates with them (the compare API, then `GET /commits/{sha}/pulls` for the newest
    /// [`crate::shipping::MAX_LINES`] commits): "What's shipping".
    async fn comparison(
        &self,
        repository: &Repository,
        base: &Sha,
        head: &Sha,
    ) -> Result<crate::shipping::Comparison, GitHubError>;

    /// Creates a completed check run (`POST /repos/{owner}/{repo}/check-runs`); returns its
    /// id. Not idempotent: the caller guards against creating it twice.
    async fn create_check_run(&self, run: &NewCheckRun) -> Result<u64, GitHubError>;

    /// Creates a deployment with `auto_merge: false` and GitHub's default required contexts.
    async fn create_deployment(
        &self,
        deployment: &NewGithubDeployment,
    ) -> Result<CreateDeploymentOutcome, GitHubError>;

    async fn create_deployment_status(
        &self,
        repository: &Repository,
        github_deployment_id: u64,
        status: &NewDeploymentStatus,
    ) -> Result<(), GitHubError>;

    /// Combined commit status and check suites of a commit.
    async fn commit_checks(
        &self,
        repository: &Repository,
        sha: &Sha,
    ) -> Result<ChecksSummary, GitHubError>;

    /// Creates the pull request's comment holding `marker` (a hidden HTML comment), or edits
    /// it when it exists; returns the comment id.
    async fn upsert_pr_comment(
        &self,
        repository: &Repository,
        pr_number: u64,
        marker: &str,
        body: &str,
    ) -> Result<u64, GitHubError>;

    /// Every commit status (by `context`, its latest state) and every check run (by `name`,
    /// the latest of each) on the commit, for deploybot's own `required_checks`
    /// (`GET /commits/{sha}/status` and `GET /commits/{sha}/check-runs`).
    async fn named_checks(
        &self,
        repository: &Repository,
        sha: &Sha,
    ) -> Result<Vec<crate::required_checks::ReportedCheck>, GitHubError>;
}

/// GitHub on a person's behalf: the board's sign-in through the GitHub App's user
/// authorisation (the OAuth web flow) and what the person's own token may read.
#[async_trait]
pub trait GitHubUser: Send + Sync {
    /// Where to send a person to sign in (`{GITHUB_WEB_URL}/login/oauth/authorize` with the
    /// App's client id, `state` and the callback `redirect_uri`).
    fn authorize_url(&self, state: &str, redirect_uri: &str) -> String;
    /// Exchanges the callback's `code` for the person's user-to-server token.
    async fn exchange_code(&self, code: &str, redirect_uri: &str) -> Result<String, GitHubError>;
    /// Who the token belongs to (`GET /user`).
    async fn login(&self, token: &str) -> Result<GithubLogin, GitHubError>;
    /// The repositories the token may read (`GET /user/repos`, every page up to the adapter's
    /// limit): for an App's user token, those both the person and the App can read.
    async fn readable_repositories(&self, token: &str) -> Result<Vec<Repository>, GitHubError>;
}

// =============================================================================================
// CI backend

/// Why a CI call failed. The adapter words the first three for the person who has to act
/// (which credential to check, what to change in the pipeline configuration); the payload
/// is that message, shown as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CiError {
    /// The CI refused the adapter's credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// The project or pipeline is unknown to the CI, or hidden from the credentials.
    #[error("{0}")]
    NotFound(String),
    /// The CI refused the request, e.g. a pipeline parameter its configuration does not
    /// declare.
    #[error("{0}")]
    Rejected(String),
    #[error("CI rate limit; retry after {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64 },
    #[error("CI answered HTTP {status}")]
    Server { status: u16 },
    #[error("CI unreachable: {0}")]
    Transport(String),
    #[error("unexpected answer from CI: {0}")]
    InvalidResponse(String),
}

/// The parameters every deployment pipeline receives (docs/workflow.md, "The CircleCI
/// pipeline").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineParameters {
    pub environment: Environment,
    pub version: String,
    pub subdomain: Option<String>,
    pub url: Option<String>,
    pub sha: Sha,
    pub deployment_id: DeploymentId,
    /// Whether the deployment is a rollback (the pipeline may skip its build); `false` for
    /// every other deployment.
    #[serde(default)]
    pub rollback: bool,
}

/// Start a pipeline on a branch or tag (CI systems take those, not SHAs; the SHA travels as
/// a parameter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineRequest {
    pub repository: Repository,
    pub git_ref: GitRef,
    pub parameters: PipelineParameters,
    /// Which CI, and where in it (the environment's `backend`, else the default).
    #[serde(default)]
    pub target: crate::ci::CiTarget,
}

/// A pipeline (CircleCI) or workflow run (GitHub Actions) that was started for a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CiRun {
    pub backend: crate::ci::CiKind,
    pub repository: Repository,
    /// The pipeline id (CircleCI) or the workflow run id (GitHub Actions).
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineStarted {
    pub id: String,
    pub number: u64,
    /// A link people can open.
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowInfo {
    pub id: String,
    pub name: String,
    pub status: String,
    pub url: String,
}

/// A CI system that runs deployment pipelines.
#[async_trait]
pub trait CiBackend: Send + Sync {
    /// The CI system's name for people ("CircleCI").
    fn name(&self) -> &'static str;

    /// Starts the deployment pipeline for a deployment.
    async fn start_pipeline(&self, request: &PipelineRequest) -> Result<PipelineStarted, CiError>;

    /// The run's workflows and their links (for `log_url`): a CircleCI pipeline's workflows;
    /// a GitHub Actions run as one workflow, its status in CircleCI's words.
    async fn pipeline_workflows(&self, run: &CiRun) -> Result<Vec<WorkflowInfo>, CiError>;

    /// Cancels the run: a CircleCI pipeline's workflows still going, a GitHub Actions run.
    /// `Ok` once the CI accepted; a run that already finished is `Ok` too (nothing to stop).
    async fn cancel_run(&self, run: &CiRun) -> Result<(), CiError>;
}

/// The CI port over every CI a process can run deployments on: each call goes to the
/// backend of the CI the deployment names (`PipelineRequest::target`, `CiRun::backend`).
/// Which CI an environment uses is configuration (its `backend`, else
/// `DEPLOYBOT_CI_BACKEND`); this only routes (docs/adr/0016-ci-backends.md).
#[derive(Clone, Default)]
pub struct CiBackends {
    circleci: Option<std::sync::Arc<dyn CiBackend>>,
    github_actions: Option<std::sync::Arc<dyn CiBackend>>,
}

impl std::fmt::Debug for CiBackends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CiBackends")
            .field("circleci", &self.circleci.is_some())
            .field("github_actions", &self.github_actions.is_some())
            .finish()
    }
}

impl CiBackends {
    /// No CI yet.
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_circleci(mut self, backend: std::sync::Arc<dyn CiBackend>) -> Self {
        self.circleci = Some(backend);
        self
    }

    pub fn with_github_actions(mut self, backend: std::sync::Arc<dyn CiBackend>) -> Self {
        self.github_actions = Some(backend);
        self
    }

    /// The adapter of `kind`, or a sentence saying what to set up.
    fn backend(&self, kind: crate::ci::CiKind) -> Result<&dyn CiBackend, CiError> {
        let found = match kind {
            crate::ci::CiKind::CircleCi => self.circleci.as_deref(),
            crate::ci::CiKind::GitHubActions => self.github_actions.as_deref(),
        };
        found.ok_or_else(|| {
            CiError::Unauthorized(match kind {
                crate::ci::CiKind::CircleCi => "this deploybot has no CircleCI token (CIRCLECI_TOKEN): set one, or give the environment `backend: { github_actions: }` in .github/deploybot.yml".to_owned(),
                crate::ci::CiKind::GitHubActions => "this deploybot has no GitHub App credentials to dispatch GitHub Actions workflows with".to_owned(),
            })
        })
    }
}

#[async_trait]
impl CiBackend for CiBackends {
    fn name(&self) -> &'static str {
        "CI"
    }

    async fn start_pipeline(&self, request: &PipelineRequest) -> Result<PipelineStarted, CiError> {
        self.backend(request.target.kind())?
            .start_pipeline(request)
            .await
    }

    async fn pipeline_workflows(&self, run: &CiRun) -> Result<Vec<WorkflowInfo>, CiError> {
        self.backend(run.backend)?.pipeline_workflows(run).await
    }

    async fn cancel_run(&self, run: &CiRun) -> Result<(), CiError> {
        self.backend(run.backend)?.cancel_run(run).await
    }
}

/// Maps a CI outcome to a deployment state (docs/workflow.md, "The CircleCI pipeline"): `success` →
/// success; failed, canceled, timed out, infrastructure failure → failure; anything else → error.
pub fn ci_outcome_state(outcome: &str) -> DeploymentState {
    match outcome.to_ascii_lowercase().as_str() {
        "success" | "succeeded" | "fixed" => DeploymentState::Success,
        "failed"
        | "failure"
        | "canceled"
        | "cancelled"
        | "timedout"
        | "timed_out"
        | "infrastructure_fail"
        | "infrastructure_failure" => DeploymentState::Failure,
        _ => DeploymentState::Error,
    }
}

// =============================================================================================
// Clock

/// The time, injectable so tests control it.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp::from_millis(millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_outcomes_map_per_spec() {
        let cases = [
            ("success", DeploymentState::Success),
            ("failed", DeploymentState::Failure),
            ("canceled", DeploymentState::Failure),
            ("timedout", DeploymentState::Failure),
            ("infrastructure_fail", DeploymentState::Failure),
            ("error", DeploymentState::Error),
            ("not_run", DeploymentState::Error),
            ("", DeploymentState::Error),
        ];
        for (outcome, want) in cases {
            assert_eq!(ci_outcome_state(outcome), want, "{outcome}");
        }
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now() > Timestamp::from_secs(1_577_836_800));
    }
}
