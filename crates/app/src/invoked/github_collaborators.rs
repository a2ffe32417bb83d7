//! `github-collaborators`: every login with access to a repository (all pages), for the
//! claim-your-login offers.

use crate::{AppError, AppState};
use deploybot_core::invoke::{CollaboratorsRequest, CollaboratorsResponse};

pub async fn handle(
    state: &AppState,
    request: CollaboratorsRequest,
) -> Result<CollaboratorsResponse, AppError> {
    let mut logins = state.github()?.collaborators(&request.repository).await?;
    logins.sort();
    logins.dedup();
    Ok(CollaboratorsResponse { logins })
}
