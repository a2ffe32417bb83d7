//! The state every handler receives: the ports (as `Arc<dyn Port>`), the policy and the
//! configuration. Cheap to clone.

use crate::{AppConfig, AppError};
use deploybot_core::DeploymentId;
use deploybot_core::policy::Policy;
use deploybot_core::ports::{CiBackend, Clock, GitHub, Invoker, Slack, Store};
use std::sync::Arc;

/// The ports and configuration of one function (or of the whole local server). A function
/// only builds the adapters it uses; the others stay `None` and asking for one is an
/// internal error naming it.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<AppConfig>,
    pub policy: Arc<Policy>,
    invoker: Option<Arc<dyn Invoker>>,
    slack: Option<Arc<dyn Slack>>,
    github: Option<Arc<dyn GitHub>>,
    ci: Option<Arc<dyn CiBackend>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .field("invoker", &self.invoker.is_some())
            .field("slack", &self.slack.is_some())
            .field("github", &self.github.is_some())
            .field("ci", &self.ci.is_some())
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: AppConfig) -> Self {
        Self {
            store,
            clock,
            config: Arc::new(config),
            policy: Arc::new(Policy::default()),
            invoker: None,
            slack: None,
            github: None,
            ci: None,
        }
    }

    pub fn with_invoker(mut self, invoker: Arc<dyn Invoker>) -> Self {
        self.invoker = Some(invoker);
        self
    }

    pub fn with_slack(mut self, slack: Arc<dyn Slack>) -> Self {
        self.slack = Some(slack);
        self
    }

    pub fn with_github(mut self, github: Arc<dyn GitHub>) -> Self {
        self.github = Some(github);
        self
    }

    pub fn with_ci(mut self, ci: Arc<dyn CiBackend>) -> Self {
        self.ci = Some(ci);
        self
    }

    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = Arc::new(policy);
        self
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

    pub fn invoker(&self) -> Result<&dyn Invoker, AppError> {
        self.invoker
            .as_deref()
            .ok_or(AppError::NotConfigured("invoker"))
    }

    pub fn slack(&self) -> Result<&dyn Slack, AppError> {
        self.slack
            .as_deref()
            .ok_or(AppError::NotConfigured("Slack client"))
    }

    pub fn github(&self) -> Result<&dyn GitHub, AppError> {
        self.github
            .as_deref()
            .ok_or(AppError::NotConfigured("GitHub client"))
    }

    pub fn ci(&self) -> Result<&dyn CiBackend, AppError> {
        self.ci
            .as_deref()
            .ok_or(AppError::NotConfigured("CI client"))
    }
}
