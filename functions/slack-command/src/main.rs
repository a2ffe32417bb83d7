//! `slack-command` on Lambda: `POST /slack/command` from API Gateway (HTTP API v2 events), handled
//! by `deploybot_app::http::slack_command`.

use anyhow::Context;
use deploybot_app::http::slack_command;
use deploybot_aws::bootstrap;
use deploybot_core::invoke::FunctionName;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bootstrap::init_tracing();
    let state = bootstrap::app_state(FunctionName::SlackCommand)
        .await
        .context("starting slack-command")?;
    bootstrap::run_http(FunctionName::SlackCommand, state, slack_command::router)
        .await
        .map_err(anyhow::Error::from_boxed)
}
