//! Slack messages (Block Kit) for deployments, lists, offers and replies.
