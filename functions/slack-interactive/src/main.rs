//! The `slack-interactive` Lambda function.

fn main() {}
