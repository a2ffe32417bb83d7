//! Approvals in practice (docs/workflow.md, "Approvals"; docs/adr/0017-gates.md): the
//! approval requests of a lane's pending deployments, made when a deployment first needs
//! one and read by key at every decision ([`gates`]); the votes and rejections pressed in
//! Slack ([`vote`], [`reject`]), each a conditional save of the request, after which the lane
//! is drained so an approved deployment goes on by itself.
//!
//! The request's key is (lane, commit, workflow-file version): the same commit asked for
//! twice shares one request; a newer commit makes its own; a new version of the file makes a
//! new request under the new rules.

use crate::{AppError, AppState};
use deploybot_core::approval::{
    ApprovalKey, ApprovalRequest, ApprovalStatus, Requester, Team, Voter, unsatisfiable,
};
use deploybot_core::lane::{ApprovalGate, Effect, Hold, LaneKey};
use deploybot_core::policy::Policy;
use deploybot_core::ports::{ApprovalSaved, GitHubError};
use deploybot_core::{
    Deployment, DeploymentId, GithubLogin, Project, SlackUserId, Timestamp, Trigger,
};
use std::collections::{BTreeMap, BTreeSet};

/// How often a save is tried again after another one came first.
const MAX_ATTEMPTS: usize = 8;

/// The version of the workflow file in force for `project`: its blob, or `builtin`.
pub fn workflow_version(project: Option<&Project>) -> String {
    project
        .and_then(|p| p.workflow.as_ref())
        .and_then(|w| w.file.as_ref())
        .map_or_else(|| "builtin".to_owned(), |f| f.blob.clone())
}

/// Whether `d` needs an approval in an environment that has approvals: everything but a
/// rollback, whose target is always a commit that deployed there successfully before.
pub fn needs_approval(d: &Deployment) -> bool {
    let kind = match d.trigger {
        Trigger::Rollback { .. } => deploybot_core::lane::IntentKind::Rollback,
        _ => deploybot_core::lane::IntentKind::Manual,
    };
    deploybot_core::approval::needs_approval(&kind, true)
}

/// The key of `d`'s request under workflow-file version `workflow`.
pub fn key_of(d: &Deployment, workflow: &str) -> ApprovalKey {
    ApprovalKey {
        lane: crate::lanes::lane_of(d),
        sha: d.sha.clone(),
        workflow: workflow.to_owned(),
    }
}

/// The approval gates of the lane's pending deployments at `now`: each one's request, read
/// by key (one read per pending deployment that needs approval; none in an environment
/// without approvals), made when missing, and expired when its time is up. `None` when a
/// request must be made and this function cannot ask GitHub what the request needs (the
/// teams its rules name, or the commits' authors with `exclude: [authors]`; no GitHub client
/// in its profile): the caller hands the event on.
pub async fn gates(
    state: &AppState,
    policy: &Policy,
    workflow: &str,
    pending: &[Deployment],
    now: Timestamp,
) -> Result<Option<BTreeMap<DeploymentId, ApprovalGate>>, AppError> {
    let mut gates = BTreeMap::new();
    for d in pending {
        let Some(rules) = policy.approvals(&d.environment) else {
            return Ok(Some(gates));
        };
        if !d.state.is_pending() || !needs_approval(d) {
            continue;
        }
        let key = key_of(d, workflow);
        let request = match state.lanes()?.get_approval(&key).await? {
            Some(request) => expire(state, request, now).await?,
            None => {
                let asks_github = !rules.teams().is_empty() || rules.exclude.authors;
                if asks_github && state.github().is_err() {
                    return Ok(None);
                }
                let fresh = new_request(state, d, key, rules.clone(), now).await?;
                match state.lanes()?.save_approval(&fresh).await? {
                    ApprovalSaved::Saved(saved) => *saved,
                    ApprovalSaved::Conflict(Some(stored)) => *stored,
                    ApprovalSaved::Conflict(None) => fresh,
                }
            }
        };
        if let Some(gate) = request.gate() {
            gates.insert(d.id.clone(), gate);
        }
    }
    Ok(Some(gates))
}

/// Saves `request` expired when its time is up (once; a save that loses reads again).
async fn expire(
    state: &AppState,
    mut request: ApprovalRequest,
    now: Timestamp,
) -> Result<ApprovalRequest, AppError> {
    for _ in 0..MAX_ATTEMPTS {
        if !request.expire_if_due(now) {
            return Ok(request);
        }
        match state.lanes()?.save_approval(&request).await? {
            ApprovalSaved::Saved(saved) => return Ok(*saved),
            ApprovalSaved::Conflict(Some(stored)) => request = *stored,
            ApprovalSaved::Conflict(None) => return Ok(request),
        }
    }
    Ok(request)
}

/// A new request for `d`: who asked (and their linked other half), and whether a rule can
/// be satisfied at all once self is excluded.
async fn new_request(
    state: &AppState,
    d: &Deployment,
    key: ApprovalKey,
    policy: deploybot_core::approval::ApprovalPolicy,
    now: Timestamp,
) -> Result<ApprovalRequest, AppError> {
    let requested_by = requester(state, d).await;
    let authors = if policy.exclude.authors {
        authors_of(state, d).await
    } else {
        d.commit_author.iter().cloned().collect()
    };
    let mut request = ApprovalRequest::new(
        key,
        d.id.clone(),
        requested_by,
        authors,
        policy.clone(),
        now,
    );
    let mut members: BTreeMap<Team, Vec<GithubLogin>> = BTreeMap::new();
    for team in policy.teams() {
        let logins = members_of(state, &d.repository, &team).await?;
        members.insert(team, logins);
    }
    let mut excluded: BTreeSet<GithubLogin> = BTreeSet::new();
    if policy.exclude.requester
        && let Some(login) = &request.requested_by.login
    {
        excluded.insert(login.clone());
    }
    if policy.exclude.authors {
        excluded.extend(request.authors.iter().cloned());
    }
    if let Some((rule, why)) = unsatisfiable(&policy, &members, &excluded) {
        request.status = ApprovalStatus::Unsatisfiable { rule, why };
    } else if policy.notify_approvers {
        request.notify = approvers_to_notify(state, &policy, &members, &excluded, &request).await;
    }
    Ok(request)
}

/// `notify_approvers: true`: the people any rule names (its users, its teams' members), self
/// excluded, who linked a Slack user — each gets a copy of the message with its buttons by
/// direct message (`crate::notify`). Nobody when this function cannot read the links.
async fn approvers_to_notify(
    state: &AppState,
    policy: &deploybot_core::approval::ApprovalPolicy,
    members: &BTreeMap<Team, Vec<GithubLogin>>,
    excluded: &BTreeSet<GithubLogin>,
    request: &ApprovalRequest,
) -> Vec<SlackUserId> {
    let mut logins: BTreeSet<GithubLogin> = BTreeSet::new();
    for rule in &policy.rules {
        logins.extend(rule.users.iter().cloned());
        for team in &rule.teams {
            logins.extend(members.get(team).into_iter().flatten().cloned());
        }
    }
    let logins: Vec<GithubLogin> = logins.difference(excluded).cloned().collect();
    if logins.is_empty() {
        return Vec::new();
    }
    let links: Result<_, AppError> =
        async { Ok(state.users()?.users_by_logins(&logins).await?) }.await;
    let links = match links {
        Ok(links) => links,
        Err(error) => {
            tracing::warn!(%error, "approvers not notified: the links were not read");
            return Vec::new();
        }
    };
    let mut users: Vec<SlackUserId> = links
        .into_iter()
        .map(|l| l.slack_user)
        .filter(|u| request.requested_by.slack.as_ref() != Some(u))
        .collect();
    users.sort();
    users.dedup();
    users
}

/// The authors of the commits `d` deploys: its commit's author and everyone GitHub's
/// comparison from what the environment runs now names (the "What's shipping" record, asked
/// once per deployment and stored; `exclude: [authors]`). When GitHub could not compare, the
/// commit's author alone.
async fn authors_of(state: &AppState, d: &Deployment) -> Vec<GithubLogin> {
    let mut authors: Vec<GithubLogin> = d.commit_author.iter().cloned().collect();
    if let Some(record) = crate::shipping::ensure(state, d).await
        && let deploybot_core::shipping::Shipping::Listed(comparison) = &record.shipping
    {
        for login in comparison.authors() {
            if !authors.contains(&login) {
                authors.push(login);
            }
        }
    }
    authors
}

/// The members of `team` as GitHub says; an unknown team has none (its rule then says it
/// cannot be satisfied).
async fn members_of(
    state: &AppState,
    repository: &deploybot_core::Repository,
    team: &Team,
) -> Result<Vec<GithubLogin>, AppError> {
    match state.github()?.team_members(repository, team).await {
        Ok(logins) => Ok(logins),
        Err(GitHubError::NotFound(_)) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// Who asked for `d`: the Slack user who ran the command, or the GitHub user who pushed —
/// with the other half of their link when the function's profile can read the links.
async fn requester(state: &AppState, d: &Deployment) -> Requester {
    let (slack, login) = match &d.trigger {
        Trigger::Manual { slack_user }
        | Trigger::Retry { slack_user, .. }
        | Trigger::Rollback { slack_user, .. } => (Some(slack_user.clone()), None),
        Trigger::Push { pusher } | Trigger::Tag { pusher } => (None, pusher.clone()),
        Trigger::PullRequest { .. } => (None, d.commit_author.clone()),
    };
    let Ok(users) = state.users() else {
        return Requester { slack, login };
    };
    match (&slack, &login) {
        (Some(s), None) => {
            let login = users
                .user_by_slack(s)
                .await
                .ok()
                .flatten()
                .map(|l| l.github_login);
            Requester { slack, login }
        }
        (None, Some(l)) => {
            let slack = users
                .user_by_login(l)
                .await
                .ok()
                .flatten()
                .map(|l| l.slack_user);
            Requester { slack, login }
        }
        _ => Requester { slack, login },
    }
}

/// After a decision: the requests of deployments a newer commit superseded are superseded
/// too (their approvals do not carry over). A failure is logged: the lane is saved already.
pub async fn after_effects(
    state: &AppState,
    workflow: &str,
    pending: &[Deployment],
    effects: &[Effect],
) {
    for effect in effects {
        let Effect::Supersede { intent, by_sha, .. } = effect else {
            continue;
        };
        let Some(d) = pending.iter().find(|d| &d.id == intent) else {
            continue;
        };
        if !matches!(d.hold, Some(Hold::Approval { .. })) || &d.sha == by_sha {
            continue;
        }
        let key = key_of(d, workflow);
        if let Err(error) = supersede(state, &key, intent, by_sha).await {
            tracing::warn!(%error, request = %key.sort_key(), "superseding an approval request failed");
        }
    }
}

async fn supersede(
    state: &AppState,
    key: &ApprovalKey,
    intent: &DeploymentId,
    by: &deploybot_core::Sha,
) -> Result<(), AppError> {
    let lanes = state.lanes()?;
    for _ in 0..MAX_ATTEMPTS {
        let Some(mut request) = lanes.get_approval(key).await? else {
            return Ok(());
        };
        if !request.status.is_pending() || &request.intent != intent {
            return Ok(());
        }
        request.status = ApprovalStatus::Superseded { by: by.clone() };
        if let ApprovalSaved::Saved(_) = lanes.save_approval(&request).await? {
            return Ok(());
        }
    }
    Ok(())
}

/// The earliest expiry of a request that holds one of the lane's deployments after
/// `effects`: the watchdog's due index wakes the lane then.
pub fn due_at(pending: &[Deployment], effects: &[Effect]) -> Option<Timestamp> {
    let expiry = |hold: &Hold| match hold {
        Hold::Approval { expires_at, .. } => Some(*expires_at),
        _ => None,
    };
    let moved = |id: &DeploymentId| {
        effects
            .iter()
            .any(|e| e.intent() == Some(id) && !matches!(e, Effect::Wait { .. }))
    };
    let held = pending
        .iter()
        .filter(|d| !moved(&d.id))
        .filter_map(|d| d.hold.as_ref().and_then(expiry));
    let newly = effects.iter().filter_map(|e| match e {
        Effect::Wait { hold, .. } => expiry(hold),
        _ => None,
    });
    held.chain(newly).min()
}

/// What a press of Approve or Reject came to, for the presser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pressed {
    /// Counted (or rejected): the sentence confirming it.
    Done(String),
    /// Nothing changed: why.
    Refused(String),
}

/// The request of the deployment `d` shows, if it is waiting for one.
fn waiting_key(d: &Deployment) -> Option<ApprovalKey> {
    match (&d.state, &d.hold) {
        (deploybot_core::DeploymentState::Waiting, Some(Hold::Approval { workflow, .. })) => {
            Some(key_of(d, workflow))
        }
        _ => None,
    }
}

/// The voter: the presser's linked login and the teams (of those the rules name) GitHub
/// says they are in. `Err` with the sentence when they have no linked login.
async fn voter(
    state: &AppState,
    user: &SlackUserId,
    d: &Deployment,
    request: &ApprovalRequest,
) -> Result<Result<Voter, String>, AppError> {
    let Some(link) = state.users()?.user_by_slack(user).await? else {
        return Ok(Err(format!(
            "deploybot does not know your GitHub login, so it cannot tell whether you may approve. Run `{} hello <your GitHub login>` to link it, then press the button again.",
            state.config.grammar.command()
        )));
    };
    let login = link.github_login;
    let mut teams = BTreeSet::new();
    for team in request.policy.teams() {
        if members_of(state, &d.repository, &team)
            .await?
            .contains(&login)
        {
            teams.insert(team);
        }
    }
    Ok(Ok(Voter {
        slack: user.clone(),
        login,
        teams,
    }))
}

/// Approve pressed by `user` on deployment `d`'s message: counts their vote (a conditional
/// save; a second press, or the same press delivered twice, counts once), then drains the
/// lane so an approved deployment goes on by itself.
pub async fn vote(
    state: &AppState,
    user: &SlackUserId,
    d: &Deployment,
    threads: bool,
) -> Result<Pressed, AppError> {
    let Some(key) = waiting_key(d) else {
        return Ok(Pressed::Refused(format!(
            "This deployment of `{}` is not waiting for approval any more ({}).",
            d.sha.short(),
            d.state.label()
        )));
    };
    let lanes = state.lanes()?;
    for _ in 0..MAX_ATTEMPTS {
        let Some(request) = lanes.get_approval(&key).await? else {
            return Ok(Pressed::Refused(
                "This approval request is gone; deploy again to ask anew.".to_owned(),
            ));
        };
        let voter = match voter(state, user, d, &request).await? {
            Ok(voter) => voter,
            Err(sentence) => return Ok(Pressed::Refused(sentence)),
        };
        let mut voted = request.clone();
        if let Err(refused) = voted.vote(&voter, state.clock.now()) {
            return Ok(Pressed::Refused(refused.to_string()));
        }
        if let ApprovalSaved::Saved(saved) = lanes.save_approval(&voted).await? {
            drain(state, &key.lane, d).await?;
            let rule = saved
                .votes
                .last()
                .map(|v| v.rule.clone())
                .unwrap_or_default();
            if threads {
                let settled = if matches!(saved.status, ApprovalStatus::Approved { .. }) {
                    " — approved: it goes on by itself"
                } else {
                    ""
                };
                let text = format!(
                    ":white_check_mark: <@{user}> approved ({rule}) — {}{settled}",
                    saved.progress()
                );
                thread_reply(state, d, text).await;
            }
            return Ok(Pressed::Done(match saved.status {
                ApprovalStatus::Approved { .. } => format!(
                    "Your approval ({rule}) was the last one needed: `{}` goes on to {} by itself.",
                    d.sha.short(),
                    d.environment
                ),
                _ => format!(
                    "Your approval counts towards {rule}. Still needed: {}.",
                    saved.progress()
                ),
            }));
        }
    }
    Err(AppError::Internal(format!(
        "approval request {} kept changing while a vote was saved",
        key.sort_key()
    )))
}

/// With `notify.threads: true` (the caller knows the project), a vote or a rejection is also
/// a reply in the thread of the deployment's message (which is edited with the count either
/// way). Best effort: the vote stands whether or not the reply goes.
async fn thread_reply(state: &AppState, d: &Deployment, text: String) {
    let Some(thread_ts) = d.slack_ts.clone() else {
        return;
    };
    let request = deploybot_core::invoke::SlackMessageRequest::ThreadReply {
        channel: d.slack_channel.clone(),
        thread_ts,
        message: deploybot_core::blocks::Message::text(text),
    };
    let sent = match state.invoker() {
        Ok(invoker) => deploybot_core::invoke::send(invoker, &request)
            .await
            .map_err(AppError::from),
        Err(error) => Err(error),
    };
    if let Err(error) = sent {
        tracing::warn!(deployment = %d.id, %error, "the vote's thread reply was not sent");
    }
}

/// Reject pressed by `user` with `reason`: closes the request (an approver or the requester
/// may), then drains the lane, which cancels the deployment.
pub async fn reject(
    state: &AppState,
    user: &SlackUserId,
    d: &Deployment,
    reason: &str,
    threads: bool,
) -> Result<Pressed, AppError> {
    let Some(key) = waiting_key(d) else {
        return Ok(Pressed::Refused(format!(
            "This deployment of `{}` is not waiting for approval any more ({}).",
            d.sha.short(),
            d.state.label()
        )));
    };
    let reason = reason.trim();
    if reason.is_empty() {
        return Ok(Pressed::Refused(
            "Say why in the reason field above the buttons, then press Reject again.".to_owned(),
        ));
    }
    let reason: String = reason.chars().take(300).collect();
    let lanes = state.lanes()?;
    for _ in 0..MAX_ATTEMPTS {
        let Some(mut request) = lanes.get_approval(&key).await? else {
            return Ok(Pressed::Refused(
                "This approval request is gone; nothing to reject.".to_owned(),
            ));
        };
        let voter = match voter(state, user, d, &request).await? {
            Ok(voter) => voter,
            Err(sentence) => return Ok(Pressed::Refused(sentence)),
        };
        let may = request.self_reason(&voter.slack, &voter.login).is_some()
            || request
                .policy
                .rules
                .iter()
                .any(|r| r.admits(&voter.login, &voter.teams));
        if !may {
            return Ok(Pressed::Refused(format!(
                "Only someone who may approve a deployment to {}, or whoever asked for it, can reject it.",
                d.environment
            )));
        }
        if let Err(refused) = request.reject(user, &reason, state.clock.now()) {
            return Ok(Pressed::Refused(refused.to_string()));
        }
        if let ApprovalSaved::Saved(_) = lanes.save_approval(&request).await? {
            drain(state, &key.lane, d).await?;
            if threads {
                let text = format!(
                    ":no_entry: <@{user}> rejected it — {}",
                    crate::render::replies::escape(&reason)
                );
                thread_reply(state, d, text).await;
            }
            return Ok(Pressed::Done(format!(
                "You rejected the deployment of `{}` to {}.",
                d.sha.short(),
                d.environment
            )));
        }
    }
    Err(AppError::Internal(format!(
        "approval request {} kept changing while it was rejected",
        key.sort_key()
    )))
}

/// Drains the lane after a vote; its notices go to the deployment's channel.
async fn drain(state: &AppState, lane: &LaneKey, d: &Deployment) -> Result<(), AppError> {
    let applied = crate::lanes::apply_in(
        state,
        lane,
        &deploybot_core::lane::LaneEvent::Drain,
        Some(&d.slack_channel),
    )
    .await?;
    if let Some(next) = &applied.dispatch {
        let request = deploybot_core::invoke::DeploymentCreateRequest::Dispatch {
            repository: next.repository.clone(),
            deployment_id: next.id.clone(),
        };
        deploybot_core::invoke::send(state.invoker()?, &request).await?;
    }
    Ok(())
}

/// The approvals of the request that let `d` through, for its GitHub deployment's status
/// description ("approved by @bo (leads), @cy (qa)"); `None` when none were needed.
pub async fn approved_by(
    state: &AppState,
    d: &Deployment,
    workflow: &str,
) -> Result<Option<ApprovalRequest>, AppError> {
    let Ok(lanes) = state.lanes() else {
        return Ok(None);
    };
    let request = lanes.get_approval(&key_of(d, workflow)).await?;
    Ok(request.filter(|r| matches!(r.status, ApprovalStatus::Approved { .. })))
}
