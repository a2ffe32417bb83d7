//! The `github-webhook` Lambda function.

fn main() {}
