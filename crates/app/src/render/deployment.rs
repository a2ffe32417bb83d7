//! The one Slack message of a deployment, and the pull-request comment.
