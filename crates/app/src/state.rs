//! The state every handler receives: its function's profile, the ports that profile grants
//! (as `Arc<dyn Port>`), the workflow cache and the configuration. Built only by
//! [`crate::wiring::function_state`]; cheap to clone.
//!
//! A port outside the profile is absent, and asking for it is an internal error that names the
//! function, its profile and what it tried to reach — in the local server and in tests exactly
//! as on Lambda, where the same reach would be an access-denied error.

use crate::workflow::WorkflowCache;
use crate::{AppConfig, AppError};
use deploybot_core::DeploymentId;
use deploybot_core::Project;
use deploybot_core::policy::Policy;
use deploybot_core::ports::{
    CiBackend, Clock, DeliveryStore, DeploymentStore, GitHub, GitHubUser, Invoker, LaneStore,
    ProjectStore, Slack, UserStore,
};
use deploybot_core::profile::{Client, FunctionProfile, Table};
use std::sync::Arc;

/// The ports and configuration of one function, shared: a clone is one reference count, not
/// one per port (axum clones the state for every request; docs/performance.md, "The fixed
/// path cut again").
#[derive(Clone)]
pub struct AppState {
    inner: Arc<FunctionState>,
}

impl std::ops::Deref for AppState {
    type Target = FunctionState;

    fn deref(&self) -> &FunctionState {
        &self.inner
    }
}

impl From<FunctionState> for AppState {
    fn from(state: FunctionState) -> Self {
        Self {
            inner: Arc::new(state),
        }
    }
}

/// What [`AppState`] shares.
pub struct FunctionState {
    pub profile: &'static FunctionProfile,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<AppConfig>,
    /// Parsed workflow files, shared by the process.
    pub workflows: Arc<WorkflowCache>,
    pub(crate) projects: Option<Arc<dyn ProjectStore>>,
    pub(crate) users: Option<Arc<dyn UserStore>>,
    pub(crate) deployments: Option<Arc<dyn DeploymentStore>>,
    pub(crate) deliveries: Option<Arc<dyn DeliveryStore>>,
    pub(crate) lanes: Option<Arc<dyn LaneStore>>,
    pub(crate) invoker: Option<Arc<dyn Invoker>>,
    pub(crate) slack: Option<Arc<dyn Slack>>,
    pub(crate) github: Option<Arc<dyn GitHub>>,
    pub(crate) ci: Option<Arc<dyn CiBackend>>,
    pub(crate) github_user: Option<Arc<dyn GitHubUser>>,
    /// The board's short-lived copy of what each signed-in person may read (`web`).
    pub(crate) board_access: Arc<crate::board::AccessCache>,
    /// `github-collaborators`' short-lived copy of collaborator lists (its own per state).
    pub(crate) collaborators_cache: Arc<crate::invoked::github_collaborators::CollaboratorsCache>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl std::fmt::Debug for FunctionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("function", &self.profile.function)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl FunctionState {
    /// The workflow policy in force for `project` (its file, or the built-in workflow).
    pub fn policy_of(&self, project: &Project) -> Arc<Policy> {
        self.workflows.policy_of(project)
    }

    /// A fresh deployment id for now (time-ordered, newest first).
    pub fn new_deployment_id(&self) -> DeploymentId {
        use std::hash::{BuildHasher, Hasher};
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        // RandomState is seeded per process; hashing a counter gives cheap, unpredictable
        // entropy without a random-number crate.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        let entropy = (hasher.finish() & 0xffff_ffff) as u32;
        DeploymentId::new(self.clock.now(), entropy)
    }

    fn outside(&self, what: String) -> AppError {
        AppError::OutsideProfile(self.profile.outside(&what))
    }

    fn table<'a, T: ?Sized>(
        &self,
        port: &'a Option<Arc<T>>,
        table: Table,
    ) -> Result<&'a T, AppError> {
        port.as_deref()
            .ok_or_else(|| self.outside(format!("the {table} table")))
    }

    fn client<'a, T: ?Sized>(
        &self,
        port: &'a Option<Arc<T>>,
        client: Client,
    ) -> Result<&'a T, AppError> {
        port.as_deref().ok_or_else(|| {
            if self.profile.clients.has(client) {
                AppError::NotConfigured(client.as_str())
            } else {
                self.outside(format!("the {client}"))
            }
        })
    }

    /// The project table.
    pub fn projects(&self) -> Result<&dyn ProjectStore, AppError> {
        self.table(&self.projects, Table::Project)
    }

    /// The user table.
    pub fn users(&self) -> Result<&dyn UserStore, AppError> {
        self.table(&self.users, Table::User)
    }

    /// The deployment table.
    pub fn deployments(&self) -> Result<&dyn DeploymentStore, AppError> {
        self.table(&self.deployments, Table::Deployment)
    }

    /// The delivery table (only `crate::idempotency` uses it).
    pub(crate) fn deliveries(&self) -> Result<&dyn DeliveryStore, AppError> {
        self.table(&self.deliveries, Table::Delivery)
    }

    /// The lane table.
    pub fn lanes(&self) -> Result<&dyn LaneStore, AppError> {
        self.table(&self.lanes, Table::Lane)
    }

    /// The invoker, limited to the functions the profile invokes.
    pub fn invoker(&self) -> Result<&dyn Invoker, AppError> {
        self.invoker.as_deref().ok_or_else(|| {
            if self.profile.invokes.is_empty() {
                self.outside("the invoker (it invokes no function)".to_owned())
            } else {
                AppError::NotConfigured("invoker")
            }
        })
    }

    pub fn slack(&self) -> Result<&dyn Slack, AppError> {
        self.client(&self.slack, Client::Slack)
    }

    pub fn github(&self) -> Result<&dyn GitHub, AppError> {
        self.client(&self.github, Client::GitHub)
    }

    pub fn ci(&self) -> Result<&dyn CiBackend, AppError> {
        self.client(&self.ci, Client::Ci)
    }

    /// GitHub on a signed-in person's behalf (the board).
    pub fn github_user(&self) -> Result<&dyn GitHubUser, AppError> {
        self.client(&self.github_user, Client::GitHubUser)
    }
}
