//! The `github-collaborators` Lambda function.

fn main() {}
