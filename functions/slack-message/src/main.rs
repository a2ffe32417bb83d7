//! `slack-message` on Lambda: invoked by the other functions; posts or edits Slack messages
//! (`deploybot_app::invoked`, reached through `deploybot_app::dispatch`).

use anyhow::Context;
use deploybot_aws::bootstrap;
use deploybot_core::invoke::FunctionName;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bootstrap::init_tracing();
    let state = bootstrap::app_state(FunctionName::SlackMessage)
        .await
        .context("starting slack-message")?;
    bootstrap::run_invoked(state, FunctionName::SlackMessage)
        .await
        .map_err(anyhow::Error::from_boxed)
}
