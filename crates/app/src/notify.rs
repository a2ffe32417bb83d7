//! Notification routing (docs/notifications.md), run by `slack-message` after it posted or
//! edited a deployment's canonical message: mirrors in other channels (posted once, then
//! edited with it), the direct messages when the deployment ends, and the failure's mention of
//! user groups. The decisions are `deploybot_core::notify`'s; every message sent is recorded on
//! the deployment (`Deployment::notices`) before or as it goes, so none is sent twice. A
//! channel or user group that cannot be reached is told once in the bound channel.
//!
//! [`send_direct_message`] is the one place that sends a person a direct message.

use crate::lifecycle::{self, Saved};
use crate::render::notify::{direct_message, mention_message, mirror_message};
use crate::{AppError, AppState};
use deploybot_core::blocks::Message;
use deploybot_core::notify::{
    ChannelRef, Notice, NoticeKind, Outcome, Recipient, Requester, Routing, direct_due,
    recipient_logins, unknown_user_group_notice, unreachable_channel, unreachable_channel_notice,
};
use deploybot_core::ports::{Posted, Slack, SlackError};
use deploybot_core::shipping::ShippingRecord;
use deploybot_core::{Deployment, GithubLogin, Project, SlackUserId};
use std::collections::BTreeMap;

/// The routing of `d`'s environment under the project's workflow file (the built-in
/// workflow routes nothing elsewhere).
pub fn routing_of(state: &AppState, project: Option<&Project>, d: &Deployment) -> Routing {
    match project {
        Some(project) => state
            .policy_of(project)
            .workflow()
            .notify
            .routing(&d.environment.to_string()),
        None => Routing {
            bound_channel: true,
            ..Routing::default()
        },
    }
}

/// Sends `user` a direct message (`chat.postMessage` to the user's id: Slack posts it in
/// the app's conversation with them). Returns where it went.
pub async fn send_direct_message(
    slack: &dyn Slack,
    user: &SlackUserId,
    message: &Message,
) -> Result<Posted, SlackError> {
    slack.post_to(user.as_str(), None, message).await
}

/// Where a deployment's message goes as a thread reply (`notify.threads: true`): a retry
/// under the message of the deployment it retries. `None`: a channel message.
pub async fn thread_of(state: &AppState, d: &Deployment) -> Option<String> {
    let deploybot_core::Trigger::Retry { of, .. } = &d.trigger else {
        return None;
    };
    let project = state
        .projects()
        .ok()?
        .project_by_repository(&d.repository)
        .await
        .ok()??;
    if !state.policy_of(&project).workflow().notify.threads {
        return None;
    }
    let original = state
        .deployments()
        .ok()?
        .get_deployment(&d.repository, of)
        .await
        .ok()??;
    (original.slack_channel == d.slack_channel)
        .then_some(original.slack_ts)
        .flatten()
}

/// Mirrors, direct messages and mentions for the deployment as stored now. Each failure is
/// logged: the canonical message is posted already.
pub async fn deliver(
    state: &AppState,
    d: Deployment,
    routing: &Routing,
    message: &Message,
    shipping: Option<&ShippingRecord>,
) {
    let repository = d.repository.clone();
    let id = d.id.clone();
    if let Err(error) = deliver_all(state, d, routing, message, shipping).await {
        tracing::warn!(%repository, deployment = %id, %error, "notification routing failed");
    }
}

async fn deliver_all(
    state: &AppState,
    d: Deployment,
    routing: &Routing,
    message: &Message,
    shipping: Option<&ShippingRecord>,
) -> Result<(), AppError> {
    let slack = state.slack()?;
    let mut d = approver_copies(state, slack, d, message).await?;
    if !routing.mirrors.is_empty() {
        let links = links_of(state, &d).await?;
        for target in &routing.mirrors {
            d = mirror(state, slack, d, target, &links).await?;
        }
    }
    if let Some(outcome) = Outcome::of(d.state) {
        d = direct_messages(state, slack, d, routing, outcome, shipping).await?;
        if outcome == Outcome::Failure && !routing.mention_on_failure.is_empty() {
            mention(state, slack, d, routing).await?;
        }
    }
    Ok(())
}

/// `notify_approvers: true`: a copy of the message `message` (the deployment's, as in the
/// channel, with [Approve] and [Reject]) in the direct messages of each approver the hold
/// names, posted once (claimed on the record first) while the deployment waits for approval,
/// then edited in place with the message — so the copies show each vote, and lose their
/// buttons once the request is settled.
async fn approver_copies(
    state: &AppState,
    slack: &dyn Slack,
    d: Deployment,
    message: &Message,
) -> Result<Deployment, AppError> {
    let mut d = d;
    let mut posted_now: Vec<SlackUserId> = Vec::new();
    if let (
        deploybot_core::DeploymentState::Waiting,
        Some(deploybot_core::lane::Hold::Approval { notify, .. }),
    ) = (d.state, d.hold.clone())
    {
        for user in notify {
            let kind = NoticeKind::Approver { user: user.clone() };
            if find(&d, &kind).is_some() {
                continue;
            }
            let (sent, posted) = send_once(state, slack, d, kind, &user, message).await?;
            d = sent;
            if posted {
                posted_now.push(user);
            }
        }
    }
    for notice in &d.notices {
        let (NoticeKind::Approver { user }, Some(channel), Some(ts)) =
            (&notice.kind, &notice.channel, &notice.ts)
        else {
            continue;
        };
        if posted_now.contains(user) {
            continue;
        }
        edit_copy(
            slack,
            &d,
            channel,
            ts,
            message,
            &format!("the copy for {user}"),
        )
        .await?;
    }
    Ok(d)
}

/// Sends `user` the direct message `message` as the notice `kind`, at most once: the notice
/// is claimed on the record first (another invocation that claimed it first sends it), then
/// saved with where it went or why it could not go. Returns the record and whether this
/// call sent it.
async fn send_once(
    state: &AppState,
    slack: &dyn Slack,
    d: Deployment,
    kind: NoticeKind,
    user: &SlackUserId,
    message: &Message,
) -> Result<(Deployment, bool), AppError> {
    let (claimed, changed) = save_notice(state, d, Notice::pending(kind.clone()), true).await?;
    if !changed {
        return Ok((claimed, false));
    }
    let notice = match send_direct_message(slack, user, message).await {
        Ok(posted) => Notice {
            kind,
            channel: Some(posted.channel),
            ts: Some(posted.ts),
            failed: None,
        },
        Err(error) => {
            tracing::warn!(deployment = %claimed.id, %user, %error, "a direct message failed");
            let code = match error {
                SlackError::Api(code) => code,
                other => other.to_string(),
            };
            Notice {
                failed: Some(code),
                ..Notice::pending(kind)
            }
        }
    };
    Ok((save_notice(state, claimed, notice, false).await?.0, true))
}

/// Edits a copy of the deployment's message (a mirror, an approver's copy) in place; a copy
/// Slack can no longer edit (the channel left, the message deleted) is left as it is.
async fn edit_copy(
    slack: &dyn Slack,
    d: &Deployment,
    channel: &deploybot_core::SlackChannelId,
    ts: &str,
    message: &Message,
    what: &str,
) -> Result<(), AppError> {
    match slack.update_message(channel, ts, message).await {
        Ok(()) => Ok(()),
        Err(SlackError::Api(code)) if unreachable_channel(&code) || code == "message_not_found" => {
            tracing::info!(deployment = %d.id, %code, "{what} can no longer be edited");
            Ok(())
        }
        Err(error) => Err(error.into()),
    }
}

async fn links_of(
    state: &AppState,
    d: &Deployment,
) -> Result<Vec<deploybot_core::UserLink>, AppError> {
    let logins = recipient_logins(
        Recipient::Authors,
        &d.trigger,
        d.commit_author.as_ref(),
        &[],
    );
    if logins.is_empty() {
        return Ok(Vec::new());
    }
    Ok(state.users()?.users_by_logins(&logins).await?)
}

fn find<'a>(d: &'a Deployment, kind: &NoticeKind) -> Option<&'a Notice> {
    d.notices.iter().find(|n| &n.kind == kind)
}

/// Saves `notice` in place of the notice of its kind (or adds it); with `only_if_absent`,
/// only when the record has none of that kind yet (a claim). Returns the record as stored
/// and whether this call changed it.
async fn save_notice(
    state: &AppState,
    d: Deployment,
    notice: Notice,
    only_if_absent: bool,
) -> Result<(Deployment, bool), AppError> {
    let saved = lifecycle::update_from(state, d, |d| {
        match d.notices.iter_mut().find(|n| n.kind == notice.kind) {
            Some(_) if only_if_absent => false,
            Some(existing) if *existing == notice => false,
            Some(existing) => {
                *existing = notice.clone();
                true
            }
            None => {
                d.notices.push(notice.clone());
                true
            }
        }
    })
    .await?;
    let changed = matches!(saved, Saved::Changed(_));
    Ok((saved.into_deployment(), changed))
}

/// Tells the bound channel `text` once per `key` (kept as long as idempotency keys are).
async fn tell_once(state: &AppState, project_channel: &Deployment, key: &str, text: String) {
    let slack = match state.slack() {
        Ok(slack) => slack,
        Err(error) => {
            tracing::warn!(%error, "no Slack client to tell the channel");
            return;
        }
    };
    let channel = project_channel.slack_channel.clone();
    let told = crate::idempotency::run_once(state, key, async {
        slack
            .post_message(&channel, &Message::text(text))
            .await
            .map(drop)
            .map_err(AppError::from)
    })
    .await;
    if let Err(error) = told {
        tracing::warn!(key, %error, "telling the channel failed");
    }
}

async fn mirror(
    state: &AppState,
    slack: &dyn Slack,
    d: Deployment,
    target: &ChannelRef,
    links: &[deploybot_core::UserLink],
) -> Result<Deployment, AppError> {
    let kind = NoticeKind::Mirror {
        target: target.clone(),
    };
    let message = mirror_message(&d, links);
    match find(&d, &kind) {
        Some(Notice {
            channel: Some(channel),
            ts: Some(ts),
            ..
        }) => {
            edit_copy(
                slack,
                &d,
                channel,
                ts,
                &message,
                &format!("the mirror in {target}"),
            )
            .await?;
            Ok(d)
        }
        // Could not be posted: not tried again for this deployment.
        Some(Notice {
            failed: Some(_), ..
        }) => Ok(d),
        _ => match slack.post_to(target.as_str(), None, &message).await {
            Ok(posted) => {
                let notice = Notice {
                    kind,
                    channel: Some(posted.channel),
                    ts: Some(posted.ts),
                    failed: None,
                };
                let (d, changed) = save_notice(state, d, notice, true).await?;
                if !changed {
                    tracing::warn!(deployment = %d.id, %target, "another invocation mirrored this deployment first");
                }
                Ok(d)
            }
            Err(SlackError::Api(code)) if unreachable_channel(&code) => {
                let notice = Notice {
                    failed: Some(code.clone()),
                    ..Notice::pending(kind)
                };
                let (d, _) = save_notice(state, d, notice, true).await?;
                let key = format!("notify-unreachable:{}:{target}", d.repository);
                let text = unreachable_channel_notice(target, &code, &d.environment.to_string());
                tell_once(state, &d, &key, text).await;
                Ok(d)
            }
            Err(error) => Err(error.into()),
        },
    }
}

/// The authors GitHub's comparison names (the deployment's stored "What's shipping" record,
/// which `slack-message` read for the message; none for a deployment without one): `authors`
/// means everyone whose commits it deploys, not only the head commit's author.
fn compared_authors(shipping: Option<&ShippingRecord>) -> Vec<GithubLogin> {
    match shipping.map(|r| &r.shipping) {
        Some(deploybot_core::shipping::Shipping::Listed(comparison)) => comparison.authors(),
        _ => Vec::new(),
    }
}

/// Who the routes name for which outcomes, as Slack users.
async fn recipients(
    state: &AppState,
    d: &Deployment,
    routing: &Routing,
    shipping: Option<&ShippingRecord>,
) -> Result<BTreeMap<SlackUserId, Vec<Outcome>>, AppError> {
    let mut by_login: Vec<(GithubLogin, Outcome)> = Vec::new();
    let mut out: BTreeMap<SlackUserId, Vec<Outcome>> = BTreeMap::new();
    let compared = compared_authors(shipping);
    for (on, to) in &routing.direct {
        if *to == Recipient::Requester
            && let Requester::Slack(user) = Requester::of(&d.trigger)
        {
            out.entry(user).or_default().push(*on);
        }
        for login in recipient_logins(*to, &d.trigger, d.commit_author.as_ref(), &compared) {
            by_login.push((login, *on));
        }
    }
    if !by_login.is_empty() {
        let logins: Vec<GithubLogin> = by_login.iter().map(|(l, _)| l.clone()).collect();
        let links = state.users()?.users_by_logins(&logins).await?;
        for (login, on) in by_login {
            if let Some(link) = links.iter().find(|l| l.github_login == login) {
                out.entry(link.slack_user.clone()).or_default().push(on);
            }
        }
    }
    for outcomes in out.values_mut() {
        outcomes.sort();
        outcomes.dedup();
    }
    Ok(out)
}

async fn direct_messages(
    state: &AppState,
    slack: &dyn Slack,
    d: Deployment,
    routing: &Routing,
    outcome: Outcome,
    shipping: Option<&ShippingRecord>,
) -> Result<Deployment, AppError> {
    if routing.direct.is_empty() {
        return Ok(d);
    }
    let mut d = d;
    for (user, routed) in recipients(state, &d, routing, shipping).await? {
        let kind = NoticeKind::Direct {
            user: user.clone(),
            outcome,
        };
        if find(&d, &kind).is_some() {
            continue;
        }
        let preference = state.users()?.direct_preference(&user).await?;
        if !direct_due(&routed, outcome, preference) {
            continue;
        }
        let message = direct_message(&d, outcome);
        d = send_once(state, slack, d, kind, &user, &message).await?.0;
    }
    Ok(d)
}

async fn mention(
    state: &AppState,
    slack: &dyn Slack,
    d: Deployment,
    routing: &Routing,
) -> Result<(), AppError> {
    if find(&d, &NoticeKind::Mention).is_some() {
        return Ok(());
    }
    // Under the canonical message, else under the first mirror; never a new message in a
    // quiet bound channel.
    let place = match (&d.slack_ts, routing.bound_channel) {
        (Some(ts), _) => Some((d.slack_channel.as_str().to_owned(), Some(ts.clone()))),
        (None, true) => Some((d.slack_channel.as_str().to_owned(), None)),
        (None, false) => d
            .notices
            .iter()
            .find_map(|n| match (&n.kind, &n.channel, &n.ts) {
                (NoticeKind::Mirror { .. }, Some(c), Some(ts)) => {
                    Some((c.as_str().to_owned(), Some(ts.clone())))
                }
                _ => None,
            }),
    };
    let Some((target, thread)) = place else {
        return Ok(());
    };
    let (d, changed) = save_notice(state, d, Notice::pending(NoticeKind::Mention), true).await?;
    if !changed {
        return Ok(());
    }
    let mut ids = Vec::new();
    for handle in &routing.mention_on_failure {
        match slack.user_group(handle).await {
            Ok(Some(id)) => ids.push(id),
            Ok(None) => {
                let key = format!("notify-usergroup:{}:{handle}", d.repository);
                tell_once(state, &d, &key, unknown_user_group_notice(handle)).await;
            }
            Err(error) => {
                tracing::warn!(deployment = %d.id, handle, %error, "looking up a user group failed")
            }
        }
    }
    if ids.is_empty() {
        save_notice(
            state,
            d,
            Notice {
                failed: Some("no_user_group".into()),
                ..Notice::pending(NoticeKind::Mention)
            },
            false,
        )
        .await?;
        return Ok(());
    }
    let notice = match slack
        .post_to(&target, thread.as_deref(), &mention_message(&d, &ids))
        .await
    {
        Ok(posted) => Notice {
            kind: NoticeKind::Mention,
            channel: Some(posted.channel),
            ts: Some(posted.ts),
            failed: None,
        },
        Err(error) => Notice {
            failed: Some(error.to_string()),
            ..Notice::pending(NoticeKind::Mention)
        },
    };
    save_notice(state, d, notice, false).await?;
    Ok(())
}
