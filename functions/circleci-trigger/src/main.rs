//! `circleci-trigger` on Lambda: invoked by the other functions; starts CircleCI pipelines
//! (`deploybot_app::invoked`, reached through `deploybot_app::dispatch`).

use anyhow::Context;
use deploybot_aws::bootstrap;
use deploybot_core::invoke::FunctionName;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bootstrap::init_tracing();
    let state = bootstrap::app_state(FunctionName::CircleciTrigger)
        .await
        .context("starting circleci-trigger")?;
    bootstrap::run_invoked(state, FunctionName::CircleciTrigger)
        .await
        .map_err(anyhow::Error::from_boxed)
}
