//! `circleci-webhook` on Lambda: `POST /circleci/webhook` from API Gateway (HTTP API v2 events), handled
//! by `deploybot_app::http::circleci_webhook`.

use anyhow::Context;
use deploybot_app::http::circleci_webhook;
use deploybot_aws::bootstrap;
use deploybot_core::invoke::FunctionName;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bootstrap::init_tracing();
    let state = bootstrap::app_state(FunctionName::CircleciWebhook)
        .await
        .context("starting circleci-webhook")?;
    bootstrap::run_http(
        FunctionName::CircleciWebhook,
        state,
        circleci_webhook::router,
    )
    .await
    .map_err(anyhow::Error::from_boxed)
}
