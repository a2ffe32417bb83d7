//! `github-deployment-status` on Lambda: invoked by the other functions; writes deployment statuses
//! (`deploybot_app::invoked`, reached through `deploybot_app::dispatch`).

use anyhow::Context;
use deploybot_aws::bootstrap;
use deploybot_core::invoke::FunctionName;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bootstrap::init_tracing();
    let state = bootstrap::app_state(FunctionName::GithubDeploymentStatus)
        .await
        .context("starting github-deployment-status")?;
    bootstrap::run_invoked(state, FunctionName::GithubDeploymentStatus)
        .await
        .map_err(anyhow::Error::from_boxed)
}
