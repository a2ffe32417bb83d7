//! The `github-deployment-status` Lambda function.

fn main() {}
