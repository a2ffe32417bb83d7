//! `web` on Lambda: the board, `GET /` and the paths below it from API Gateway (HTTP API v2
//! events), handled by `deploybot_app::http::web`.

use anyhow::Context;
use deploybot_app::http::web;
use deploybot_aws::bootstrap;
use deploybot_core::invoke::FunctionName;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bootstrap::init_tracing();
    let state = bootstrap::app_state(FunctionName::Web)
        .await
        .context("starting web")?;
    bootstrap::run_http(FunctionName::Web, state, web::router)
        .await
        .map_err(anyhow::Error::from_boxed)
}
