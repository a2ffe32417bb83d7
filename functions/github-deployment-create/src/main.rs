//! `github-deployment-create` under the local Lambda emulator (`cargo lambda watch` runs each function as the
//! binary of its name). On AWS every function runs the one binary `deploybot-lambda`
//! (ADR 0022), which starts the same [`bootstrap::run`] for the function `DEPLOYBOT_FUNCTION`
//! names.

use deploybot_aws::bootstrap;
use deploybot_core::invoke::FunctionName;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bootstrap::init_tracing();
    bootstrap::run(FunctionName::GithubDeploymentCreate)
        .await
        .map_err(anyhow::Error::from_boxed)
}
