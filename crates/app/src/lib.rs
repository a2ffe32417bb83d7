//! deploybot-app.
