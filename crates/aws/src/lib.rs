//! deploybot-aws.

pub mod invoker;
pub use invoker::{FunctionNames, LambdaInvoker};

pub mod secrets;
pub use secrets::{SecretLoader, Secrets};
