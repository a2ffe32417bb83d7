//! deploybot-core: the pure domain of deploybot — identifiers, records, the workflow policy,
//! the slash-command grammar, the deployment state machine, webhook signature checks, the
//! typed payloads functions send each other, and the ports adapters implement.
//!
//! Nothing in here performs I/O or depends on an async runtime, an HTTP client or the AWS SDK.

pub mod approval;
pub mod blocks;
pub mod board;
pub mod ci;
pub mod command;
pub mod config_check;
pub mod delivery_metrics;
pub mod duration;
pub mod freeze;
pub mod home;
pub mod ids;
pub mod invoke;
pub mod lane;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod policy;
pub mod ports;
pub mod profile;
pub mod repository_move;
pub mod required_checks;
pub mod rollback;
pub mod shipping;
pub mod signature;
pub mod state;
pub mod time;
pub mod urls;
pub mod workflow_file;

pub use ids::{
    DeploymentId, Environment, GitRef, GithubLogin, ParseError, Repository, Sha, SlackChannelId,
    SlackTeamId, SlackUserId,
};
pub use model::{
    Deployment, Project, ProjectSettings, RejectedWorkflow, StateChange, Trigger, UnbindReason,
    Unbinding, UserLink, WorkflowRecord, WorkflowText,
};
pub use state::DeploymentState;
pub use time::Timestamp;
