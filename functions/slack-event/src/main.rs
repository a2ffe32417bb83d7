//! The `slack-event` Lambda function.

fn main() {}
