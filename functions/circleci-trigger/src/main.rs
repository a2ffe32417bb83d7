//! The `circleci-trigger` Lambda function.

fn main() {}
