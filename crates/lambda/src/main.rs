//! deploybot on AWS Lambda: the one binary every function runs, packaged as each function's
//! `bootstrap` (ADR 0022). `DEPLOYBOT_FUNCTION` (set per function in `template.yaml`) says
//! which function this process is; its profile then decides everything it may touch — its
//! tables, secrets, outside clients and the functions it invokes — exactly as a binary of its
//! own would (`deploybot_aws::bootstrap::run`).

use deploybot_aws::bootstrap::{self, FUNCTION_VAR};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bootstrap::init_tracing();
    let function = bootstrap::function_named(std::env::var(FUNCTION_VAR).ok().as_deref())?;
    bootstrap::run(function)
        .await
        .map_err(anyhow::Error::from_boxed)
}
