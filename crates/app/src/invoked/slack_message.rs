//! `slack-message`: posts or edits the one message of a deployment (rendered from the stored
//! record, its `ts` stored on the record), and delivers the other functions' channel
//! messages, ephemeral replies, `response_url` follow-ups and claim offers, and finishes
//! `setup` and `hello <login>` once GitHub has confirmed them (`crate::invoked::setup`). Nothing is posted
//! to a workspace whose tokens were revoked. A deployment message someone deleted is posted
//! again. The workflow file's `notify:` routes (`crate::notify`) follow the canonical message:
//! its mirrors, direct messages and mentions, or, for `channel: none`, instead of it.

use crate::lifecycle::{self, Saved};
use crate::render::deployment::deployment_message;
use crate::render::shipping::{live_message, with_shipping};
use crate::{AppError, AppState};
use deploybot_core::blocks::Message;
use deploybot_core::invoke::{SlackMessageRequest, SlackMessageResponse};
use deploybot_core::ports::{Slack, SlackError};
use deploybot_core::{
    Deployment, DeploymentId, GithubLogin, Project, Repository, SlackChannelId, Trigger, UserLink,
};

/// How often the deployment message is re-rendered when the record changed while it was being
/// sent (two updates racing): the last render always shows the latest stored state.
const MAX_RENDERS: usize = 4;

pub async fn handle(
    state: &AppState,
    request: SlackMessageRequest,
) -> Result<SlackMessageResponse, AppError> {
    match request {
        SlackMessageRequest::Deployment {
            repository,
            deployment_id,
        } => deployment(state, &repository, &deployment_id).await,
        SlackMessageRequest::Channel { channel, message } => {
            if channel_revoked(state, &channel).await? {
                return Ok(SlackMessageResponse::default());
            }
            let ts = state.slack()?.post_message(&channel, &message).await?;
            Ok(SlackMessageResponse { ts: Some(ts) })
        }
        SlackMessageRequest::ThreadReply {
            channel,
            thread_ts,
            message,
        } => {
            if channel_revoked(state, &channel).await? {
                return Ok(SlackMessageResponse::default());
            }
            let posted = state
                .slack()?
                .post_to(channel.as_str(), Some(&thread_ts), &message)
                .await?;
            Ok(SlackMessageResponse {
                ts: Some(posted.ts),
            })
        }
        SlackMessageRequest::Ephemeral {
            channel,
            user,
            message,
        } => {
            if channel_revoked(state, &channel).await? {
                return Ok(SlackMessageResponse::default());
            }
            state
                .slack()?
                .post_ephemeral(&channel, &user, &message)
                .await?;
            Ok(SlackMessageResponse::default())
        }
        SlackMessageRequest::Respond {
            response_url,
            response,
        } => {
            state.slack()?.respond(&response_url, &response).await?;
            Ok(SlackMessageResponse::default())
        }
        SlackMessageRequest::ClaimOffer {
            repository,
            channel,
            user,
            response_url,
            intro,
        } => {
            crate::invoked::claim_offer::handle(
                state,
                &repository,
                &channel,
                &user,
                response_url.as_deref(),
                intro.as_deref(),
            )
            .await
        }
        SlackMessageRequest::Setup {
            repository,
            channel,
            channel_name,
            team,
            user,
            response_url,
        } => {
            let asker = crate::invoked::setup::Asker {
                channel,
                user,
                response_url,
            };
            crate::invoked::setup::setup(state, &repository, channel_name, team, &asker).await
        }
        SlackMessageRequest::Home { user, opened } => {
            crate::home::publish(state, &user, opened).await
        }
        SlackMessageRequest::LaneNotice {
            lane,
            channel,
            message,
        } => lane_notice(state, &lane, &channel, &message).await,
        SlackMessageRequest::ClaimLogin {
            repository,
            channel,
            user,
            user_name,
            login,
            response_url,
        } => {
            let asker = crate::invoked::setup::Asker {
                channel,
                user,
                response_url,
            };
            crate::invoked::setup::claim_login(state, &repository, &login, user_name, &asker).await
        }
    }
}

async fn team_revoked(state: &AppState, project: Option<Project>) -> Result<bool, AppError> {
    match project.and_then(|p| p.team) {
        Some(team) => Ok(state.projects()?.is_team_revoked(&team).await?),
        None => Ok(false),
    }
}

async fn channel_revoked(state: &AppState, channel: &SlackChannelId) -> Result<bool, AppError> {
    let project = state.projects()?.project_by_channel(channel).await?;
    team_revoked(state, project).await
}

/// The GitHub logins a deployment message names (commit author, pusher).
fn named_logins(d: &Deployment) -> Vec<GithubLogin> {
    let mut logins: Vec<GithubLogin> = d.commit_author.iter().cloned().collect();
    if let Trigger::Push { pusher: Some(p) } | Trigger::Tag { pusher: Some(p) } = &d.trigger
        && !logins.contains(p)
    {
        logins.push(p.clone());
    }
    logins
}

/// Posts the deployment's message and stores its `ts` on the record, replacing `replacing`
/// (the `ts` of a message that no longer exists) or nothing. When another invocation stored a
/// message first, that one is kept (the duplicate is logged) and its `ts` returned.
async fn post_and_store(
    state: &AppState,
    slack: &dyn Slack,
    record: &Deployment,
    message: &Message,
    replacing: Option<&str>,
) -> Result<String, AppError> {
    let posted = match crate::notify::thread_of(state, record).await {
        Some(thread) => {
            slack
                .post_to(record.slack_channel.as_str(), Some(&thread), message)
                .await?
                .ts
        }
        None => slack.post_message(&record.slack_channel, message).await?,
    };
    let saved = lifecycle::update_from(state, record.clone(), |d| {
        if d.slack_ts.as_deref() != replacing {
            return false;
        }
        d.slack_ts = Some(posted.clone());
        true
    })
    .await?;
    if let Saved::Unchanged(current) = &saved {
        tracing::warn!(
            deployment = %record.id,
            duplicate_ts = %posted,
            kept_ts = ?current.slack_ts,
            "another invocation posted this deployment's message first"
        );
    }
    Ok(saved.deployment().slack_ts.clone().unwrap_or(posted))
}

async fn deployment(
    state: &AppState,
    repository: &Repository,
    id: &DeploymentId,
) -> Result<SlackMessageResponse, AppError> {
    let slack = state.slack()?;
    let mut record = lifecycle::load(state, repository, id).await?;
    let project = state.projects()?.project_by_repository(repository).await?;
    let routing = crate::notify::routing_of(state, project.as_ref(), &record);
    if team_revoked(state, project).await? {
        tracing::info!(deployment = %id, "workspace tokens revoked: not posting");
        return Ok(SlackMessageResponse::default());
    }
    let shipping = crate::shipping::stored(state, &record).await;
    let mut logins = named_logins(&record);
    if let Some(deploybot_core::shipping::Shipping::Listed(comparison)) =
        shipping.as_ref().map(|s| &s.shipping)
    {
        for login in comparison.authors() {
            if !logins.contains(&login) {
                logins.push(login);
            }
        }
    }
    let links: Vec<UserLink> = if logins.is_empty() {
        Vec::new()
    } else {
        state.users()?.users_by_logins(&logins).await?
    };
    let render =
        |d: &Deployment| with_shipping(deployment_message(d, &links), d, shipping.as_ref(), &links);
    if !routing.bound_channel {
        // `channel: none`: no message in the bound channel; mirrors and direct messages
        // still go (docs/notifications.md).
        crate::home::refresh_for(state, &record).await;
        if let Some(shipping) = &shipping {
            live_notices(state, &record, shipping, &links).await;
        }
        let copy = render(&record);
        crate::notify::deliver(state, record, &routing, &copy, shipping.as_ref()).await;
        return Ok(SlackMessageResponse::default());
    }

    let mut answer = None;
    let mut shown = None;
    for _ in 0..MAX_RENDERS {
        let message = render(&record);
        let ts = match record.slack_ts.clone() {
            Some(ts) => match slack
                .update_message(&record.slack_channel, &ts, &message)
                .await
            {
                Ok(()) => ts,
                Err(SlackError::Api(code)) if code == "message_not_found" => {
                    tracing::info!(deployment = %id, %ts, "the message was deleted: posting it again");
                    post_and_store(state, slack, &record, &message, Some(&ts)).await?
                }
                Err(e) => return Err(e.into()),
            },
            None => post_and_store(state, slack, &record, &message, None).await?,
        };
        // Another transition may have been saved while this one was sent: if the latest
        // record renders differently, send again so the last edit shows the latest state.
        let latest = lifecycle::load(state, repository, id).await?;
        let latest_message = render(&latest);
        let settled = latest_message == message && latest.slack_ts.as_deref() == Some(ts.as_str());
        record = latest;
        if settled {
            answer = Some(ts);
            shown = Some(latest_message);
            break;
        }
    }
    if let Some(shipping) = &shipping {
        live_notices(state, &record, shipping, &links).await;
    }
    let ts = answer.or(record.slack_ts.clone());
    if ts.is_some() {
        // The canonical message shows the latest state: mirrors and direct messages follow.
        crate::home::refresh_for(state, &record).await;
        let copy = shown.unwrap_or_else(|| render(&record));
        crate::notify::deliver(state, record, &routing, &copy, shipping.as_ref()).await;
    }
    Ok(SlackMessageResponse { ts })
}

/// A lane's notice: a reply in the thread of the lane's latest deployment message when the
/// workflow file says `notify.threads: true` and there is one, else a channel message.
async fn lane_notice(
    state: &AppState,
    lane: &deploybot_core::lane::LaneKey,
    channel: &SlackChannelId,
    message: &Message,
) -> Result<SlackMessageResponse, AppError> {
    let project = state.projects()?.project_by_channel(channel).await?;
    let threads = project
        .as_ref()
        .is_some_and(|p| state.policy_of(p).workflow().notify.threads);
    if team_revoked(state, project).await? {
        return Ok(SlackMessageResponse::default());
    }
    let slack = state.slack()?;
    let thread = if threads {
        state
            .deployments()?
            .list_deployments(&lane.repository, Some(lane.environment.clone()), 1)
            .await?
            .into_iter()
            .next()
            .and_then(|d| d.slack_ts)
    } else {
        None
    };
    let ts = match thread {
        Some(thread) => {
            slack
                .post_to(channel.as_str(), Some(&thread), message)
                .await?
                .ts
        }
        None => slack.post_message(channel, message).await?,
    };
    Ok(SlackMessageResponse { ts: Some(ts) })
}

/// A production deployment succeeded: each author of a pull request it shipped who linked
/// their Slack user hears it once, directly — once per pull request and environment, taken
/// with a conditional write by key, so no repeated render, retry or later deployment sends
/// it again. A failed send is logged, not retried (never twice beats always).
async fn live_notices(
    state: &AppState,
    d: &Deployment,
    shipping: &deploybot_core::shipping::ShippingRecord,
    links: &[UserLink],
) {
    if d.state != deploybot_core::DeploymentState::Success || !d.is_production() {
        return;
    }
    for pr in crate::shipping::shipped_pull_requests(shipping) {
        let Some(user) = pr
            .author
            .as_ref()
            .and_then(|a| links.iter().find(|l| &l.github_login == a))
            .map(|l| l.slack_user.clone())
        else {
            continue;
        };
        let key =
            deploybot_core::shipping::live_notice_key(&d.repository, &d.environment, pr.number);
        let taken = match state.deployments() {
            Ok(store) => {
                store
                    .take_notice(&d.repository, &key, state.clock.now())
                    .await
            }
            Err(error) => {
                tracing::warn!(%error, "live notices: no deployment table");
                return;
            }
        };
        match taken {
            Ok(true) => {
                let message = live_message(d, pr.number, &pr.title, &pr.url);
                if let Err(error) = crate::direct_message::send(state, &user, &message).await {
                    tracing::warn!(deployment = %d.id, pr = pr.number, %error, "live notice not sent");
                }
            }
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(deployment = %d.id, pr = pr.number, %error, "live notice not taken");
            }
        }
    }
}
