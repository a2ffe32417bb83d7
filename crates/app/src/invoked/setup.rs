//! The `Setup` and `ClaimLogin` requests of `slack-message`: the halves of `/cimon setup
//! owner/repo` and `/cimon hello <login>` that need GitHub. `slack-command` acknowledges the
//! command at once (Slack's 3 seconds) and hands over; this asks GitHub through
//! `github-collaborators` (the function with the GitHub client), acts only on what GitHub
//! confirmed, and answers the person through the command's `response_url` (or, without one,
//! the channel).
//!
//! Every answer GitHub gives ends in a sentence for the person, so the invoke succeeds (a
//! retry would only repeat it); a failure to reach Slack is an error, so it is retried.

use crate::render::replies;
use crate::{AppError, AppState, workflow};
use deploybot_core::blocks::Message;
use deploybot_core::invoke::{
    CollaboratorsRequest, RepositoryCheck, RepositoryRequest, SlackMessageResponse, call,
};
use deploybot_core::ports::{BindOutcome, LinkOutcome, ResponseMessage};
use deploybot_core::{
    GithubLogin, Project, Repository, SlackChannelId, SlackTeamId, SlackUserId, UserLink,
};

/// Who asked, and where to answer.
#[derive(Debug, Clone)]
pub struct Asker {
    pub channel: SlackChannelId,
    pub user: SlackUserId,
    pub response_url: Option<String>,
}

impl Asker {
    /// Answers the person only (ephemeral), or everyone in the channel.
    async fn answer(
        &self,
        state: &AppState,
        message: &Message,
        ephemeral: bool,
    ) -> Result<(), AppError> {
        let slack = state.slack()?;
        match (&self.response_url, ephemeral) {
            (Some(url), _) => {
                let response = ResponseMessage {
                    message: message.clone(),
                    ephemeral,
                    replace_original: false,
                };
                slack.respond(url, &response).await?;
            }
            (None, true) => {
                slack
                    .post_ephemeral(&self.channel, &self.user, message)
                    .await?
            }
            (None, false) => {
                slack.post_message(&self.channel, message).await?;
            }
        }
        Ok(())
    }
}

/// `setup`: the repository is checked on GitHub; only a repository GitHub confirms, with the
/// App installed on it, is bound (under GitHub's own spelling of its name). Then the channel
/// is told and the asker gets the claim offer, as before the check existed.
pub async fn setup(
    state: &AppState,
    repository: &Repository,
    channel_name: Option<String>,
    team: Option<SlackTeamId>,
    asker: &Asker,
) -> Result<SlackMessageResponse, AppError> {
    let grammar = &state.config.grammar;
    let check = match call(
        state.invoker()?,
        &RepositoryRequest::new(repository.clone()),
    )
    .await
    {
        Ok(check) => check,
        Err(error) => {
            tracing::warn!(%repository, %error, "checking a repository for setup failed");
            RepositoryCheck::Unavailable {
                reason: error.to_string(),
            }
        }
    };
    let (info, read) = match check {
        RepositoryCheck::Found { info, workflow } => (info, workflow),
        refused => {
            let message = match refused {
                RepositoryCheck::NotFound => replies::setup_not_found(grammar, repository),
                RepositoryCheck::NotInstalled => replies::setup_not_installed(grammar, repository),
                RepositoryCheck::Forbidden => replies::setup_forbidden(grammar, repository),
                RepositoryCheck::Unavailable { .. } | RepositoryCheck::Found { .. } => {
                    replies::setup_github_unavailable(grammar, repository)
                }
            };
            asker.answer(state, &message, true).await?;
            return Ok(SlackMessageResponse::default());
        }
    };
    let repository = info.full_name;
    tracing::info!(%repository, github_id = info.id, "repository confirmed by GitHub");
    let (workflow, news) = match read {
        Some(read) => {
            let (record, news) =
                workflow::record_read(None, read.commit, read.file, state.clock.now());
            (Some(record), news)
        }
        None => (None, None),
    };
    let project = Project {
        repository: repository.clone(),
        channel: asker.channel.clone(),
        channel_name,
        team,
        settings: Default::default(),
        created_by: Some(asker.user.clone()),
        // GitHub's id, so a rename or transfer is followed from the first event.
        github_id: Some(info.id),
        workflow,
        created_at: state.clock.now(),
    };
    let refusal = match state.projects()?.bind_project(&project).await? {
        BindOutcome::Bound => None,
        BindOutcome::AlreadyBound => Some(replies::setup_already(grammar, &repository)),
        BindOutcome::RepositoryTaken { channel } => Some(replies::setup_repository_taken(
            grammar,
            &repository,
            &channel,
        )),
        BindOutcome::ChannelTaken {
            repository: current,
        } => Some(replies::setup_channel_taken(grammar, &current, &repository)),
    };
    if let Some(refusal) = refusal {
        asker.answer(state, &refusal, true).await?;
        return Ok(SlackMessageResponse::default());
    }
    // Where the repository was followed before, when that was another channel.
    let previous = state
        .projects()?
        .last_unbinding(&repository)
        .await?
        .filter(|previous| previous.channel != asker.channel);
    let done = match previous {
        Some(previous) => replies::setup_done_moved(grammar, &repository, &asker.user, &previous),
        None => replies::setup_done(grammar, &repository, &asker.user),
    };
    asker.answer(state, &done, false).await?;
    if let Some(news) = news {
        state
            .slack()?
            .post_message(&asker.channel, &Message::text(news))
            .await?;
    }
    let intro = replies::setup_claim_intro(&repository);
    crate::invoked::claim_offer::handle(
        state,
        &repository,
        &asker.channel,
        &asker.user,
        asker.response_url.as_deref(),
        Some(&intro),
    )
    .await
}

/// `hello <login>`: links the asker to `login` when it is one of the repository's
/// collaborators (read from GitHub now) and nobody else holds it.
pub async fn claim_login(
    state: &AppState,
    repository: &Repository,
    login: &GithubLogin,
    user_name: Option<String>,
    asker: &Asker,
) -> Result<SlackMessageResponse, AppError> {
    let grammar = &state.config.grammar;
    let request = CollaboratorsRequest {
        repository: repository.clone(),
        cached: false,
    };
    let message = match call(state.invoker()?, &request).await {
        Err(error) => {
            tracing::warn!(%repository, %error, "listing collaborators for hello failed");
            replies::collaborators_unavailable(grammar, repository)
        }
        Ok(answer) if !answer.logins.contains(login) => {
            replies::hello_not_collaborator(grammar, login, repository)
        }
        Ok(_) => {
            let link = UserLink {
                github_login: login.clone(),
                slack_user: asker.user.clone(),
                slack_name: user_name,
                linked_at: state.clock.now(),
            };
            match state.users()?.link_user(&link).await? {
                LinkOutcome::Linked => replies::claim_linked(login, &asker.user),
                LinkOutcome::AlreadyLinked => replies::hello_already_yours(login),
                LinkOutcome::LoginTaken { slack_user } => {
                    replies::claim_login_taken(grammar, login, &slack_user)
                }
                LinkOutcome::SlackUserTaken { github_login } => {
                    replies::hello_already_linked(grammar, &github_login)
                }
            }
        }
    };
    asker.answer(state, &message, true).await?;
    Ok(SlackMessageResponse::default())
}
