//! The `slack-command` Lambda function.

fn main() {}
