//! The `ClaimOffer` request of `slack-message`: list the repository's collaborators (through
//! `github-collaborators`) and offer the ones not yet linked as "claim your GitHub login"
//! buttons, to the person who asked only. Runs after `setup` / `hello` were acknowledged, so
//! GitHub's latency never delays a slash command's answer.

use crate::render::replies;
use crate::{AppError, AppState};
use deploybot_core::blocks::Message;
use deploybot_core::invoke::{CollaboratorsRequest, SlackMessageResponse, call};
use deploybot_core::ports::ResponseMessage;
use deploybot_core::{GithubLogin, Repository, SlackChannelId, SlackUserId};
use std::collections::BTreeSet;

/// Handles `SlackMessageRequest::ClaimOffer`: replies through `response_url` when there is
/// one, else ephemerally to `user` in `channel`.
///
/// When GitHub cannot list the collaborators the person is told so (and the invoke
/// succeeds: a retry would only repeat the apology). A failure to reach Slack is an error, so
/// the invoke is retried.
pub async fn handle(
    state: &AppState,
    repository: &Repository,
    channel: &SlackChannelId,
    user: &SlackUserId,
    response_url: Option<&str>,
    intro: Option<&str>,
) -> Result<SlackMessageResponse, AppError> {
    let message = offer(state, repository, user, intro).await?;
    let slack = state.slack()?;
    match response_url {
        Some(url) => {
            let response = ResponseMessage {
                message,
                ephemeral: true,
                replace_original: false,
            };
            slack.respond(url, &response).await?;
        }
        None => slack.post_ephemeral(channel, user, &message).await?,
    }
    Ok(SlackMessageResponse { ts: None })
}

/// The offer for `user`: the buttons, "nobody left", "you are already linked", or an
/// apology when GitHub did not answer.
async fn offer(
    state: &AppState,
    repository: &Repository,
    user: &SlackUserId,
    intro: Option<&str>,
) -> Result<Message, AppError> {
    let grammar = &state.config.grammar;
    if let Some(link) = state.users()?.user_by_slack(user).await? {
        return Ok(replies::claim_offer(
            grammar,
            repository,
            intro,
            &[],
            Some(&link.github_login),
        ));
    }
    let request = CollaboratorsRequest {
        repository: repository.clone(),
        cached: false,
    };
    let logins = match call(state.invoker()?, &request).await {
        Ok(answer) => answer.logins,
        Err(error) => {
            tracing::warn!(%repository, %error, "listing collaborators for a claim offer failed");
            return Ok(replies::collaborators_unavailable(grammar, repository));
        }
    };
    let logins: BTreeSet<GithubLogin> = logins.into_iter().collect();
    let logins: Vec<GithubLogin> = logins.into_iter().collect();
    let linked: BTreeSet<GithubLogin> = state
        .users()?
        .users_by_logins(&logins)
        .await?
        .into_iter()
        .map(|link| link.github_login)
        .collect();
    let unclaimed: Vec<GithubLogin> = logins
        .into_iter()
        .filter(|login| !linked.contains(login))
        .collect();
    Ok(replies::claim_offer(
        grammar, repository, intro, &unclaimed, None,
    ))
}
