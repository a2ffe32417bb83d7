//! deploybot-local.
