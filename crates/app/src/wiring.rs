//! The one way a function's state is built: [`function_state`] takes the parts a process has
//! (its store, clock, configuration, clients, invoker) and keeps exactly what the function's
//! profile (`deploybot_core::profile`) grants — its tables' role ports, its clients, and an
//! invoker that refuses any function the profile does not name. The Lambda bootstrap builds
//! one function's state with it; the local server, the demo, the benchmarks and the test
//! harnesses build all ten with [`Functions::wire`], whose in-process invoker runs each
//! invocation with the target function's own state, as Lambda would.

use crate::dispatch::InProcessInvoker;
use crate::state::FunctionState;
use crate::workflow::WorkflowCache;
use crate::{AppConfig, AppState, http};
use axum::Router;
use deploybot_core::invoke::FunctionName;
use deploybot_core::ports::{
    CiBackend, Clock, DeliveryStore, DeploymentStore, GitHub, GitHubUser, InvokeError, InvokeMode,
    Invoker, LaneStore, ProjectStore, Slack, Store, UserStore,
};
use deploybot_core::profile::{FunctionProfile, Table, profile};
use serde_json::Value;
use std::sync::Arc;

/// A part a profile asks for is missing from what the process built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{function} needs {what}, which was not built")]
pub struct WiringError {
    pub function: FunctionName,
    pub what: String,
}

/// Everything a process has built, for any of its functions to take from.
#[derive(Clone)]
pub struct Parts {
    pub clock: Arc<dyn Clock>,
    pub config: Arc<AppConfig>,
    /// Parsed workflow files, shared by every function of the process.
    pub workflows: Arc<WorkflowCache>,
    pub projects: Option<Arc<dyn ProjectStore>>,
    pub users: Option<Arc<dyn UserStore>>,
    pub deployments: Option<Arc<dyn DeploymentStore>>,
    pub deliveries: Option<Arc<dyn DeliveryStore>>,
    pub lanes: Option<Arc<dyn LaneStore>>,
    /// What the functions call to invoke each other (each state wraps it in its profile's
    /// limits). [`Functions::wire`] defaults it to its in-process invoker.
    pub invoker: Option<Arc<dyn Invoker>>,
    pub slack: Option<Arc<dyn Slack>>,
    pub github: Option<Arc<dyn GitHub>>,
    pub ci: Option<Arc<dyn CiBackend>>,
    /// GitHub on a person's behalf (the board's sign-in).
    pub github_user: Option<Arc<dyn GitHubUser>>,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts")
            .field("config", &self.config)
            .field("invoker", &self.invoker.is_some())
            .field("slack", &self.slack.is_some())
            .field("github", &self.github.is_some())
            .field("ci", &self.ci.is_some())
            .field("github_user", &self.github_user.is_some())
            .finish_non_exhaustive()
    }
}

impl Parts {
    /// No store, no clients, no invoker yet.
    pub fn new(clock: Arc<dyn Clock>, config: AppConfig) -> Self {
        Self {
            clock,
            config: Arc::new(config),
            workflows: Arc::new(WorkflowCache::default()),
            projects: None,
            users: None,
            deployments: None,
            deliveries: None,
            lanes: None,
            invoker: None,
            slack: None,
            github: None,
            ci: None,
            github_user: None,
        }
    }

    /// One backend that keeps every table serves as each table's role port.
    pub fn with_store<S: Store + 'static>(self, store: Arc<S>) -> Self {
        self.with_dyn_store(store)
    }

    /// As [`Parts::with_store`], for a backend already behind `dyn Store`.
    pub fn with_dyn_store(mut self, store: Arc<dyn Store>) -> Self {
        self.projects = Some(store.clone());
        self.users = Some(store.clone());
        self.deployments = Some(store.clone());
        self.deliveries = Some(store.clone());
        self.lanes = Some(store);
        self
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

    pub fn with_github_user(mut self, github_user: Arc<dyn GitHubUser>) -> Self {
        self.github_user = Some(github_user);
        self
    }
}

/// `function`'s state: exactly the tables, clients and invoke targets its profile grants,
/// taken from `parts`. A granted table that `parts` lacks is an error naming it; a granted
/// client or invoker that `parts` lacks stays absent (a process that runs only part of the
/// workflow, such as a test of the routers alone), and a handler that asks for it gets an
/// error saying it is not configured.
pub fn function_state(function: FunctionName, parts: &Parts) -> Result<AppState, WiringError> {
    let profile = profile(function);
    fn required<T: ?Sized>(
        function: FunctionName,
        wanted: bool,
        part: &Option<Arc<T>>,
        table: Table,
    ) -> Result<Option<Arc<T>>, WiringError> {
        if !wanted {
            return Ok(None);
        }
        part.clone().map(Some).ok_or_else(|| WiringError {
            function,
            what: format!("the {table} table"),
        })
    }
    fn optional<T: ?Sized>(wanted: bool, part: &Option<Arc<T>>) -> Option<Arc<T>> {
        if wanted { part.clone() } else { None }
    }
    let invoker = if profile.invokes.is_empty() {
        None
    } else {
        parts
            .invoker
            .clone()
            .map(|inner| Arc::new(ProfileInvoker { profile, inner }) as Arc<dyn Invoker>)
    };
    let has = |t: Table| profile.has_table(t);
    Ok(FunctionState {
        profile,
        clock: parts.clock.clone(),
        config: parts.config.clone(),
        workflows: parts.workflows.clone(),
        projects: required(
            function,
            has(Table::Project),
            &parts.projects,
            Table::Project,
        )?,
        users: required(function, has(Table::User), &parts.users, Table::User)?,
        deployments: required(
            function,
            has(Table::Deployment),
            &parts.deployments,
            Table::Deployment,
        )?,
        deliveries: required(
            function,
            has(Table::Delivery),
            &parts.deliveries,
            Table::Delivery,
        )?,
        lanes: required(function, has(Table::Lane), &parts.lanes, Table::Lane)?,
        invoker,
        slack: optional(profile.clients.slack, &parts.slack),
        github: optional(profile.clients.github, &parts.github),
        ci: optional(profile.clients.ci, &parts.ci),
        github_user: optional(profile.clients.github_user, &parts.github_user),
        collaborators_cache: Arc::default(),
        board_access: Arc::default(),
    }
    .into())
}

/// An invoker that reaches only the functions a profile invokes.
struct ProfileInvoker {
    profile: &'static FunctionProfile,
    inner: Arc<dyn Invoker>,
}

#[async_trait::async_trait]
impl Invoker for ProfileInvoker {
    async fn invoke(
        &self,
        function: FunctionName,
        mode: InvokeMode,
        payload: Vec<u8>,
    ) -> Result<Value, InvokeError> {
        if !self.profile.may_invoke(function) {
            return Err(InvokeError::OutsideProfile {
                function,
                message: self.profile.outside(&format!("the function {function}")),
            });
        }
        // The story's id rides along (docs/operations.md, "Following one delivery").
        let mut payload = payload;
        crate::correlation::add_to(&mut payload);
        self.inner.invoke(function, mode, payload).await
    }
}

/// The functions of one process, each with its own state, connected through an
/// in-process invoker (the local server, the demo, benchmarks and tests).
#[derive(Clone, Debug)]
pub struct Functions {
    states: Arc<[AppState]>,
    invoker: InProcessInvoker,
}

impl Functions {
    /// Builds every function's state from `parts` and connects a new in-process invoker to
    /// them. When `parts.invoker` is set (a test's recording wrapper around
    /// [`Functions::wire_with`]'s invoker), the functions call that; otherwise they call the
    /// in-process invoker directly.
    pub fn wire(parts: Parts) -> Result<Self, WiringError> {
        Self::wire_with(parts, InProcessInvoker::new())
    }

    /// As [`Functions::wire`], with a given in-process invoker (one a caller wrapped before
    /// putting the wrapper into `parts.invoker`).
    pub fn wire_with(mut parts: Parts, invoker: InProcessInvoker) -> Result<Self, WiringError> {
        if parts.invoker.is_none() {
            parts.invoker = Some(Arc::new(invoker.clone()));
        }
        let states = FunctionName::ALL
            .into_iter()
            .map(|function| function_state(function, &parts))
            .collect::<Result<Vec<_>, _>>()?;
        let functions = Self {
            states: states.into(),
            invoker,
        };
        functions.invoker.attach(functions.clone());
        Ok(functions)
    }

    /// `function`'s state.
    pub fn state(&self, function: FunctionName) -> &AppState {
        let index = FunctionName::ALL
            .iter()
            .position(|f| *f == function)
            .unwrap_or_default();
        &self.states[index]
    }

    /// The configuration every function shares.
    pub fn config(&self) -> &AppConfig {
        &self.states[0].config
    }

    /// The in-process invoker the functions reach each other through.
    pub fn invoker(&self) -> &InProcessInvoker {
        &self.invoker
    }

    /// Every HTTP endpoint, each served with its own function's state.
    pub fn router(&self) -> Router {
        http::router(self)
    }
}
