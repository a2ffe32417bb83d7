//! `github-webhook` on Lambda: `POST /github/webhook` from API Gateway (HTTP API v2 events), handled
//! by `deploybot_app::http::github_webhook`.

use anyhow::Context;
use deploybot_app::http::github_webhook;
use deploybot_aws::bootstrap;
use deploybot_core::invoke::FunctionName;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bootstrap::init_tracing();
    let state = bootstrap::app_state(FunctionName::GithubWebhook)
        .await
        .context("starting github-webhook")?;
    bootstrap::run_http(FunctionName::GithubWebhook, state, github_webhook::router)
        .await
        .map_err(anyhow::Error::from_boxed)
}
