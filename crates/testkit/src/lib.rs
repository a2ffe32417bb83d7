//! deploybot-testkit.
