//! deploybot-integrations.
