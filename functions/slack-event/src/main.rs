//! `slack-event` on Lambda: `POST /slack/event` from API Gateway (HTTP API v2 events), handled
//! by `deploybot_app::http::slack_event`.

use anyhow::Context;
use deploybot_app::http::slack_event;
use deploybot_aws::bootstrap;
use deploybot_core::invoke::FunctionName;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bootstrap::init_tracing();
    let state = bootstrap::app_state(FunctionName::SlackEvent)
        .await
        .context("starting slack-event")?;
    bootstrap::run_http(FunctionName::SlackEvent, state, slack_event::router)
        .await
        .map_err(anyhow::Error::from_boxed)
}
