//! Slack messages (Block Kit): deployment messages (one per deployment, edited in place) and
//! the replies to commands and buttons.

pub mod deployment;
pub mod replies;
