//! `github-collaborators` on Lambda: invoked by the other functions; lists the logins with access to a repository
//! (`deploybot_app::invoked`, reached through `deploybot_app::dispatch`).

use anyhow::Context;
use deploybot_aws::bootstrap;
use deploybot_core::invoke::FunctionName;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bootstrap::init_tracing();
    let state = bootstrap::app_state(FunctionName::GithubCollaborators)
        .await
        .context("starting github-collaborators")?;
    bootstrap::run_invoked(state, FunctionName::GithubCollaborators)
        .await
        .map_err(anyhow::Error::from_boxed)
}
