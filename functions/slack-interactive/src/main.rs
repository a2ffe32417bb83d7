//! `slack-interactive` on Lambda: `POST /slack/interactive` from API Gateway (HTTP API v2 events), handled
//! by `deploybot_app::http::slack_interactive`.

use anyhow::Context;
use deploybot_app::http::slack_interactive;
use deploybot_aws::bootstrap;
use deploybot_core::invoke::FunctionName;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bootstrap::init_tracing();
    let state = bootstrap::app_state(FunctionName::SlackInteractive)
        .await
        .context("starting slack-interactive")?;
    bootstrap::run_http(
        FunctionName::SlackInteractive,
        state,
        slack_interactive::router,
    )
    .await
    .map_err(anyhow::Error::from_boxed)
}
