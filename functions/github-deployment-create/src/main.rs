//! `github-deployment-create` on Lambda: invoked by the other functions; creates GitHub Deployments and their records
//! (`deploybot_app::invoked`, reached through `deploybot_app::dispatch`).

use anyhow::Context;
use deploybot_aws::bootstrap;
use deploybot_core::invoke::FunctionName;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bootstrap::init_tracing();
    let state = bootstrap::app_state(FunctionName::GithubDeploymentCreate)
        .await
        .context("starting github-deployment-create")?;
    bootstrap::run_invoked(state, FunctionName::GithubDeploymentCreate)
        .await
        .map_err(anyhow::Error::from_boxed)
}
