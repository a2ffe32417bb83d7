//! The `slack-message` Lambda function.

fn main() {}
