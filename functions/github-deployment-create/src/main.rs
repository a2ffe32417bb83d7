//! The `github-deployment-create` Lambda function.

fn main() {}
