//! The `circleci-webhook` Lambda function.

fn main() {}
