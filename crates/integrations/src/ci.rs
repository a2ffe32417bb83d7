//! The CI port over every CI deploybot can run deployments on: each call goes to the adapter
//! of the CI the deployment names (`PipelineRequest::target`, `CiRun::backend`) — CircleCI
//! ([`crate::circleci`]) or GitHub Actions ([`crate::github::GitHubActions`]). Which CI an
//! environment uses is configuration (its `backend` in `.github/deploybot.yml`, else
//! `DEPLOYBOT_CI_BACKEND`); this only routes.
//!
//! Latency budget and idempotency: those of the adapter called; routing adds nothing.

use async_trait::async_trait;
use deploybot_core::ci::CiKind;
use deploybot_core::ports::{
    CiBackend, CiError, CiRun, PipelineRequest, PipelineStarted, WorkflowInfo,
};
use std::sync::Arc;

/// Every CI a process has credentials for.
#[derive(Clone, Default)]
pub struct CiBackends {
    circleci: Option<Arc<dyn CiBackend>>,
    github_actions: Option<Arc<dyn CiBackend>>,
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

    pub fn with_circleci(mut self, backend: Arc<dyn CiBackend>) -> Self {
        self.circleci = Some(backend);
        self
    }

    pub fn with_github_actions(mut self, backend: Arc<dyn CiBackend>) -> Self {
        self.github_actions = Some(backend);
        self
    }

    /// The adapter of `kind`, or a sentence saying what to set up.
    fn backend(&self, kind: CiKind) -> Result<&dyn CiBackend, CiError> {
        let found = match kind {
            CiKind::CircleCi => self.circleci.as_deref(),
            CiKind::GitHubActions => self.github_actions.as_deref(),
        };
        found.ok_or_else(|| {
            CiError::Unauthorized(match kind {
                CiKind::CircleCi => "this deploybot has no CircleCI token (CIRCLECI_TOKEN): set one, or give the environment `backend: { github_actions: }` in .github/deploybot.yml".to_owned(),
                CiKind::GitHubActions => "this deploybot has no GitHub App credentials to dispatch GitHub Actions workflows with".to_owned(),
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
}
