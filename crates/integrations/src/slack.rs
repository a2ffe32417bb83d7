//! Slack Web API adapter (implements `Slack`).
