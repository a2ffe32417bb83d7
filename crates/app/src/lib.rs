//! deploybot-app: the handlers of deploybot's ten functions, one module per function and
//! named like it (`app::http::slack_command` ↔ `functions/slack-command`), plus the Slack
//! message rendering they share. Handlers see the outside world only through the ports of
//! `deploybot-core`, held in [`AppState`].

pub mod approvals;
pub mod board;
pub mod config;
pub mod correlation;
pub mod direct_message;
pub mod dispatch;
pub mod error;
pub mod freeze_warnings;
pub mod home;
pub mod http;
pub mod idempotency;
pub mod invoked;
pub mod lanes;
pub mod lifecycle;
pub mod notify;
pub mod render;
pub mod shipping;
pub mod state;
pub mod webhook_payloads;
pub mod wiring;
pub mod workflow;

pub use config::{AppConfig, ConfigError};
pub use error::AppError;
pub use state::AppState;
