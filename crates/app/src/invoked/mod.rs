//! The invoked functions, one module each, each exposing
//! `async fn handle(&AppState, Request) -> Result<Response, AppError>`.

pub mod circleci_trigger;
pub mod claim_offer;
pub mod github_collaborators;
pub mod github_deployment_create;
pub mod github_deployment_status;
pub mod setup;
pub mod slack_message;
