//! deploybot-aws's integration tests, in one test binary (one link instead of one per file).
//! The DynamoDB and Secrets Manager / SSM modules need the emulator scripts/moto.sh starts
//! (`DEPLOYBOT_DYNAMODB_URL`). The Lambda smoke test stays a binary of its own
//! (`tests/lambda_smoke.rs`): scripts/lambda-smoke.sh runs it by name, with the emulator up.

mod apigw_events;
mod dynamo_store_contract;
mod invoked_entry;
mod lambda_invoker;
mod secrets_moto;
mod template;
