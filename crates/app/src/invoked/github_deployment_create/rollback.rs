//! Rollback (docs/workflow.md, "Rolling back"; docs/adr/0018-rollback.md): the preview a
//! person sees after `rollback <environment> [to <ref|commit>] [<reason…>]`, and the rollback
//! itself once they press [Roll back] — a new deployment of the target commit, stored as an
//! intent of kind `rollback` (the head of its lane, past every lock). The choice is
//! `deploybot_core::rollback`'s; the records are read by key or index only.

use super::{refused, start};
use crate::render::{ACTION_ROLLBACK, ACTION_ROLLBACK_CANCEL};
use crate::{AppError, AppState};
use deploybot_core::blocks::{Block, ButtonStyle, Element, Message};
use deploybot_core::invoke::{
    self, DeploymentCreateResponse, RollbackChoice, RollbackConfirmed, RollbackRequest,
    SlackMessageRequest,
};
use deploybot_core::lane::{LaneKey, slack_time};
use deploybot_core::ports::{GitHubError, ResponseMessage};
use deploybot_core::rollback::{RANGES_READ, TARGET_CANDIDATES, choose_target, named_target};
use deploybot_core::{Deployment, GitRef, SlackChannelId, SlackUserId, Trigger};

/// How many deployments of a named commit are read to find its success there.
const BY_SHA: usize = 50;

/// Chooses the target and answers the person with the preview (or why not).
pub(super) async fn preview(
    state: &AppState,
    request: RollbackRequest,
) -> Result<DeploymentCreateResponse, AppError> {
    let answer = match choose(state, &request).await? {
        Ok((from, to)) => {
            let removed = removed(state, &request, &from, &to).await;
            // The removed commits' authors who linked Slack are mentioned, not just named.
            let logins = match &removed.shipping.shipping {
                deploybot_core::shipping::Shipping::Listed(comparison) => comparison.authors(),
                _ => Vec::new(),
            };
            let links = if logins.is_empty() {
                Vec::new()
            } else {
                state.users()?.users_by_logins(&logins).await?
            };
            preview_message(&request, &from, &to, state, &removed, &links)
        }
        Err(text) => Message::text(text),
    };
    let refusal = answer.blocks.is_empty().then(|| answer.text.clone());
    tell(
        state,
        &request.channel,
        &request.user,
        request.response_url.as_deref(),
        answer,
    )
    .await;
    Ok(match refusal {
        Some(text) => refused(text),
        None => super::nothing(),
    })
}

/// The deployments the rollback goes from and to, or the sentence refusing it.
async fn choose(
    state: &AppState,
    request: &RollbackRequest,
) -> Result<Result<(Deployment, Deployment), String>, AppError> {
    let command = state.config.grammar.command().to_owned();
    let key = LaneKey {
        repository: request.repository.clone(),
        environment: request.environment.clone(),
    };
    let deployments = state.deployments()?;
    let lane = state.lanes()?.get_lane(&key).await?;
    let current = match lane.and_then(|l| l.current) {
        Some(id) => deployments.get_deployment(&key.repository, &id).await?,
        None => None,
    };
    let ranges = state.lanes()?.bad_ranges(&key, RANGES_READ).await?;
    let chosen = match &request.target {
        None => {
            let successes = deployments
                .succeeded_deployments(&key, false, TARGET_CANDIDATES)
                .await?;
            choose_target(
                current.as_ref(),
                &successes,
                &ranges,
                &request.environment,
                &command,
            )
            .cloned()
        }
        Some(git_ref) => {
            let sha = match resolve(state, request, git_ref).await? {
                Ok(sha) => sha,
                Err(text) => return Ok(Err(text)),
            };
            let records = deployments
                .deployments_by_sha(&key.repository, &sha, BY_SHA)
                .await?;
            let oldest = deployments.succeeded_deployments(&key, true, 1).await?;
            named_target(
                current.as_ref(),
                &sha,
                &records,
                oldest.first(),
                &ranges,
                &request.environment,
                &command,
                state.clock.now(),
            )
            .cloned()
        }
    };
    Ok(match (chosen, current) {
        (Ok(to), Some(from)) => Ok((from, to)),
        (Ok(_), None) => Err(format!(
            "{} has nothing running to roll back from.",
            request.environment
        )),
        (Err(refusal), _) => Err(refusal.to_string()),
    })
}

/// The named ref's commit, or the sentence for the person.
async fn resolve(
    state: &AppState,
    request: &RollbackRequest,
    git_ref: &GitRef,
) -> Result<Result<deploybot_core::Sha, String>, AppError> {
    let github = state.github()?;
    let mut candidates = vec![git_ref.clone()];
    if let GitRef::Name(name) = git_ref {
        candidates = vec![
            GitRef::Branch(name.clone()),
            GitRef::Tag(name.clone()),
            git_ref.clone(),
        ];
    }
    for candidate in candidates {
        match github.resolve_ref(&request.repository, &candidate).await {
            Ok(resolved) => return Ok(Ok(resolved.sha)),
            Err(GitHubError::NotFound(_)) => continue,
            Err(e) => {
                return Ok(Err(format!(
                    "GitHub did not answer while looking up `{}` ({e}). Nothing was rolled back; try again in a minute.",
                    git_ref.short_name()
                )));
            }
        }
    }
    Ok(Err(format!(
        "I could not find `{}` in {}. Name a branch, a tag or a commit that deployed to {} before.",
        git_ref.short_name(),
        request.repository,
        request.environment
    )))
}

/// "deployed by @ana 3 h ago" / "from PR #12".
fn who_when(d: &Deployment, state: &AppState) -> String {
    let at = d.succeeded_at.unwrap_or(d.created_at);
    let who = match &d.trigger {
        Trigger::Manual { slack_user }
        | Trigger::Retry { slack_user, .. }
        | Trigger::Rollback { slack_user, .. } => slack_user.mention(),
        Trigger::Push { pusher } | Trigger::Tag { pusher } => pusher
            .as_ref()
            .or(d.commit_author.as_ref())
            .map_or_else(|| "a push".to_owned(), |l| format!("`{l}`")),
        Trigger::PullRequest { number, .. } => format!("PR #{number}"),
    };
    format!(
        "deployed by {who} {} ({})",
        at.ago(state.clock.now()),
        slack_time(at)
    )
}

fn ref_text(d: &Deployment) -> String {
    let short = d.sha.short();
    let name = d.git_ref.short_name();
    if d.sha.as_str().starts_with(name) {
        format!("`{short}`")
    } else {
        format!("`{name}` @ `{short}`")
    }
}

/// What the rollback would take out, as GitHub compares its target with what runs: the
/// commits and pull requests (`None` when GitHub did not answer within the budget) and the
/// changed paths the workflow file's `rollback: { warn_paths }` matches.
struct Removed {
    shipping: deploybot_core::shipping::ShippingRecord,
    /// (path, pattern) pairs.
    warned: Vec<(String, String)>,
    /// GitHub listed at most its limit of files: more may match.
    files_cut: bool,
}

/// Asks GitHub, within the "What's shipping" budget, for the commits `to...from` and, when
/// the workflow file lists `warn_paths`, the paths they change. Never fails: what GitHub did
/// not answer is said in the preview.
async fn removed(
    state: &AppState,
    request: &RollbackRequest,
    from: &Deployment,
    to: &Deployment,
) -> Removed {
    use deploybot_core::shipping::{BUDGET_MILLIS, Shipping, ShippingRecord};
    let budget = std::time::Duration::from_millis(BUDGET_MILLIS);
    let patterns = match state
        .projects()
        .ok()
        .map(|p| p.project_by_repository(&request.repository))
    {
        Some(lookup) => match lookup.await {
            Ok(Some(project)) => state.policy_of(&project).workflow().rollback.clone(),
            _ => Default::default(),
        },
        None => Default::default(),
    };
    let (shipping, files) = match state.github() {
        Ok(github) => {
            let compare = tokio::time::timeout(
                budget,
                github.comparison(&request.repository, &to.sha, &from.sha),
            );
            let changed = async {
                if patterns.warn_paths.is_empty() {
                    return None;
                }
                tokio::time::timeout(
                    budget,
                    github.changed_files(&request.repository, &to.sha, &from.sha),
                )
                .await
                .ok()
                .and_then(Result::ok)
            };
            let (compared, files) = tokio::join!(compare, changed);
            let shipping = match compared {
                Ok(Ok(comparison)) => Shipping::Listed(comparison),
                Ok(Err(error)) => Shipping::Unavailable {
                    why: format!("GitHub did not compare the commits ({error})"),
                },
                Err(_) => Shipping::Unavailable {
                    why: format!(
                        "GitHub did not compare the commits within {} seconds",
                        BUDGET_MILLIS / 1000
                    ),
                },
            };
            (shipping, files)
        }
        Err(error) => (
            Shipping::Unavailable {
                why: error.to_string(),
            },
            None,
        ),
    };
    let (warned, files_cut) = match &files {
        Some(files) => (
            patterns
                .warned(&files.paths)
                .into_iter()
                .map(|(path, pattern)| (path.to_owned(), pattern.to_owned()))
                .collect(),
            !files.complete,
        ),
        None => (Vec::new(), false),
    };
    let unchecked = !patterns.warn_paths.is_empty() && files.is_none();
    Removed {
        shipping: ShippingRecord {
            repository: request.repository.clone(),
            deployment: from.id.clone(),
            removes: true,
            shipping,
            at: state.clock.now(),
        },
        warned,
        files_cut: files_cut || unchecked,
    }
}

/// The warning about paths a rollback does not undo, when the removed commits touch any (or
/// when GitHub's list of changed files may be incomplete).
fn warning(removed: &Removed) -> Option<String> {
    const SHOWN: usize = 5;
    if removed.warned.is_empty() {
        return removed.files_cut.then(|| {
            ":warning: GitHub's list of changed files is incomplete: check by hand whether the removed commits change paths a rollback does not undo (`rollback: warn_paths`).".to_owned()
        });
    }
    let mut paths: Vec<String> = removed
        .warned
        .iter()
        .take(SHOWN)
        .map(|(path, pattern)| format!("`{path}` (`{pattern}`)"))
        .collect();
    if removed.warned.len() > SHOWN {
        paths.push(format!("and {} more", removed.warned.len() - SHOWN));
    }
    Some(format!(
        ":warning: *A rollback does not undo these:* the commits it removes change {}. Check that the older code works with them before you press [Roll back].",
        paths.join(", ")
    ))
}

/// The ephemeral preview: from → to, who deployed each and when, what it removes, the
/// warning about paths it does not undo, and the buttons.
fn preview_message(
    request: &RollbackRequest,
    from: &Deployment,
    to: &Deployment,
    state: &AppState,
    removed: &Removed,
    links: &[deploybot_core::UserLink],
) -> Message {
    let env = &request.environment;
    let mut text = format!(
        ":rewind: *Roll back {env}?*\n• from {} — {}\n• to {} — {}",
        ref_text(from),
        who_when(from, state),
        ref_text(to),
        who_when(to, state),
    );
    if let Some(reason) = &request.reason {
        text.push_str(&format!("\n• why: {reason}"));
    }
    text.push_str(&format!(
        "\nThe rollback goes first in line and past any lock. Once it succeeds, {env} is locked by you and `{}` (and whatever came after `{}`) will not deploy there again unless named.",
        from.sha.short(),
        to.sha.short()
    ));
    let choice = RollbackChoice {
        repository: request.repository.clone(),
        environment: env.clone(),
        from: from.id.clone(),
        to: to.id.clone(),
        reason: request.reason.clone(),
    };
    let value = serde_json::to_string(&choice).unwrap_or_default();
    let mut blocks = vec![Block::section(text.clone())];
    blocks.extend(crate::render::shipping::shipping_blocks(
        &removed.shipping,
        &request.repository,
        env,
        links,
    ));
    if let Some(warning) = warning(removed) {
        blocks.push(Block::section(warning.clone()));
        text.push('\n');
        text.push_str(&warning);
    }
    blocks.push(Block::actions(vec![
        Element::button("Roll back", ACTION_ROLLBACK, value).with_style(ButtonStyle::Danger),
        Element::button("Cancel", ACTION_ROLLBACK_CANCEL, env.to_string()),
    ]));
    Message { text, blocks }
}

/// The [Roll back] button: the environment must still run what the preview showed; then the
/// rollback is stored as a new deployment of the target commit and its lane drained.
pub(super) async fn confirmed(
    state: &AppState,
    request: RollbackConfirmed,
) -> Result<DeploymentCreateResponse, AppError> {
    let choice = &request.choice;
    let deployments = state.deployments()?;
    if let Some(existing) = deployments
        .get_deployment(&choice.repository, &request.deployment_id)
        .await?
    {
        return super::continue_existing(state, existing).await;
    }
    let key = LaneKey {
        repository: choice.repository.clone(),
        environment: choice.environment.clone(),
    };
    let command = state.config.grammar.command().to_owned();
    let current = state.lanes()?.get_lane(&key).await?.and_then(|l| l.current);
    let (from, to) = tokio::join!(
        deployments.get_deployment(&key.repository, &choice.from),
        deployments.get_deployment(&key.repository, &choice.to)
    );
    let refusal = match (from?, to?) {
        (Some(from), Some(to)) if current.as_ref() == Some(&from.id) => {
            let project = state
                .projects()?
                .project_by_repository(&key.repository)
                .await?;
            let Some(project) = project else {
                let text = format!("This channel no longer follows {}.", key.repository);
                return refuse(state, &request, text).await;
            };
            let mut record = Deployment::new(
                key.repository.clone(),
                request.deployment_id.clone(),
                key.environment.clone(),
                to.git_ref.clone(),
                to.sha.clone(),
                Trigger::Rollback {
                    slack_user: request.user.clone(),
                    from: from.id.clone(),
                    from_sha: from.sha.clone(),
                    to: to.id.clone(),
                    reason: choice.reason.clone(),
                },
                request.channel.clone(),
                state.clock.now(),
            );
            record.commit_author = to.commit_author.clone();
            let policy = state.policy_of(&project);
            record.environment_url = policy.environment_url(&project.settings, &record.environment);
            record.production = Some(policy.is_production(&record.environment));
            record.gated = policy.approvals(&record.environment).is_some();
            record.description = Some(match &choice.reason {
                Some(reason) => format!("rollback from `{}`: {reason}", from.sha.short()),
                None => format!("rollback from `{}`", from.sha.short()),
            });
            return start(state, record).await;
        }
        (Some(_), Some(_)) => format!(
            "{} changed since the preview. Run `{command} rollback {}` again to see what a rollback would do now.",
            key.environment, key.environment
        ),
        _ => format!(
            "The deployments of that preview are gone. Run `{command} rollback {}` again.",
            key.environment
        ),
    };
    refuse(state, &request, refusal).await
}

async fn refuse(
    state: &AppState,
    request: &RollbackConfirmed,
    text: String,
) -> Result<DeploymentCreateResponse, AppError> {
    tell(
        state,
        &request.channel,
        &request.user,
        request.response_url.as_deref(),
        Message::text(text.clone()),
    )
    .await;
    Ok(refused(text))
}

/// Answers the person: through `response_url` (replacing the preview), else ephemerally.
async fn tell(
    state: &AppState,
    channel: &SlackChannelId,
    user: &SlackUserId,
    response_url: Option<&str>,
    message: Message,
) {
    let reply = match response_url {
        Some(url) => SlackMessageRequest::Respond {
            response_url: url.to_owned(),
            response: ResponseMessage {
                message,
                ephemeral: true,
                replace_original: false,
            },
        },
        None => SlackMessageRequest::Ephemeral {
            channel: channel.clone(),
            user: user.clone(),
            message,
        },
    };
    let sent = match state.invoker() {
        Ok(invoker) => invoke::send(invoker, &reply).await.map_err(AppError::from),
        Err(e) => Err(e),
    };
    if let Err(error) = sent {
        tracing::warn!(%error, "answering the rollback failed");
    }
}
