//! deploybot-aws.

pub mod dynamo;
pub use dynamo::{DynamoStore, TableNames, create_tables};

pub mod invoker;
pub use invoker::{FunctionNames, LambdaInvoker};

pub mod bootstrap;
pub mod secrets;
pub use secrets::{SecretLoader, Secrets};
