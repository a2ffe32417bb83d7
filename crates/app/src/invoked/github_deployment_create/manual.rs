//! Manual deployments asked for in Slack (`deploy [<ref> to] <environment>`, the "Deploy to
//! staging" and "Retry" buttons): plan with the policy, resolve the ref through GitHub, check
//! the policy's requirement ("already deployed successfully to test"), then create like any
//! other deployment. Refusals go back to the person through `response_url` (or ephemerally)
//! with the policy's words.

use super::{Prelude, prelude, refused, start};
use crate::render::freezes::{FreezeOverride, deploy_frozen, deployed_what, freeze_overridden};
use crate::render::{ACTION_DEPLOY_BAD, ACTION_DEPLOY_BAD_CANCEL};
use crate::{AppError, AppState};
use deploybot_core::blocks::{Block, ButtonStyle, Element, Message};
use deploybot_core::invoke::{
    self, DeploymentCreateResponse, ManualDeploymentRequest, SlackMessageRequest,
};
use deploybot_core::lane::{Ancestry, AncestryQuestion, LaneKey};
use deploybot_core::policy::{ManualPlan, Refusal};
use deploybot_core::ports::{GitHubError, ResolvedRef, ResponseMessage};
use deploybot_core::rollback::{
    BadCommitAnswer, BadRange, RANGES_READ, WishKind, bad_commit_answer, bad_range,
};
use deploybot_core::{Deployment, GitRef, GithubLogin, Sha, SlackUserId, Trigger};

/// How many deployments of a commit / an environment are looked at for the requirement and
/// for promotion.
const LOOKBACK: usize = 50;

/// What a manual deployment deploys, once resolved.
struct Source {
    git_ref: GitRef,
    sha: Sha,
    author: Option<GithubLogin>,
}

pub(super) async fn handle(
    state: &AppState,
    request: ManualDeploymentRequest,
) -> Result<DeploymentCreateResponse, AppError> {
    let mut project = match prelude(state, &request.repository, &request.deployment_id).await? {
        Prelude::Continued(answer) => return Ok(answer),
        Prelude::Unbound => {
            let text = format!(
                "This channel no longer follows {}. Run `setup {}` to follow it again.",
                request.repository, request.repository
            );
            return refuse(state, &request, text).await;
        }
        Prelude::Bound(project) => *project,
    };
    if project.workflow.is_none() {
        // The file was never read (GitHub did not answer at setup): read it now, as the
        // first webhook would, so its gates (approvals, freezes) hold for this deploy too.
        // Deciding with the built-in workflow instead could let a deploy past them.
        if let Err(error) = super::workflow::read(state, &mut project, None).await {
            tracing::warn!(repository = %project.repository, %error, "workflow file not read");
            let text = format!(
                "GitHub did not answer while reading `{}` ({error}). Nothing was deployed; try again in a minute.",
                deploybot_core::workflow_file::WORKFLOW_PATH
            );
            return refuse(state, &request, text).await;
        }
    }
    let policy = state.policy_of(&project);
    let plan = match policy.plan_manual(&request.environment, request.git_ref.as_ref()) {
        Ok(plan) => plan,
        Err(refusal) => return refuse(state, &request, refusal.to_string()).await,
    };
    // A freeze refuses deploys by hand — those from buttons too — with [Override…]; an
    // override passes it, and the channel is told who and why once the deployment exists.
    let mut overrode: Option<(&SlackUserId, &String)> = None;
    if let Some(frozen) = frozen(state, &policy, &request).await? {
        match &request.freeze_override {
            None => {
                let asked = FreezeOverride {
                    repository: request.repository.clone(),
                    environment: request.environment.clone(),
                    git_ref: request.git_ref.clone(),
                    promotion: request.promotion,
                };
                let now = state.clock.now();
                let message = deploy_frozen(&state.config.grammar, &frozen, now, &asked);
                tell(state, &request, message).await;
                return Ok(refused(format!(
                    "{} is frozen ({})",
                    request.environment,
                    frozen.why()
                )));
            }
            Some(reason) => {
                if let Trigger::Manual { slack_user: user }
                | Trigger::Retry {
                    slack_user: user, ..
                } = &request.trigger
                {
                    overrode = Some((user, reason));
                }
            }
        }
    }
    let source = match resolve(state, &request, plan).await? {
        Ok(source) => source,
        Err(text) => return refuse(state, &request, text).await,
    };
    if !request.confirmed_bad
        && let Some(range) = bad_range_of(state, &request, &source.sha).await?
    {
        // A promotion (no ref named, or a promotion button) of a rolled-back commit is
        // refused; a person naming it is asked to confirm (docs/workflow.md, "Rolling back").
        let kind = if request.git_ref.is_some() && !request.promotion {
            WishKind::Manual
        } else {
            WishKind::Promotion
        };
        return match bad_commit_answer(&source.sha, &range, kind) {
            BadCommitAnswer::Refused(text) => refuse(state, &request, text).await,
            BadCommitAnswer::Confirm(question) => {
                let message = confirm_bad_message(&request, &source, &question);
                tell(state, &request, message).await;
                Ok(refused(question))
            }
        };
    }
    let mut record = Deployment::new(
        request.repository.clone(),
        request.deployment_id.clone(),
        request.environment.clone(),
        source.git_ref,
        source.sha,
        request.trigger.clone(),
        request.channel.clone(),
        state.clock.now(),
    );
    record.commit_author = source.author;
    record.environment_url = policy.environment_url(&project.settings, &record.environment);
    record.production = Some(policy.is_production(&record.environment));
    record.gated = policy.approvals(&record.environment).is_some();
    record.ci = Some(policy.ci_target(&record.environment, state.config.ci_backend));
    let answer = start(state, record).await?;
    if let Some((user, reason)) = overrode {
        let what = deployed_what(request.git_ref.as_ref(), &request.environment);
        let note = SlackMessageRequest::Channel {
            channel: request.channel.clone(),
            message: freeze_overridden(user, &request.environment, &what, reason),
        };
        invoke::send(state.invoker()?, &note).await?;
    }
    Ok(answer)
}

fn github_trouble(what: &str, error: &GitHubError) -> String {
    format!(
        "GitHub did not answer while {what} ({error}). Nothing was deployed; try again in a minute."
    )
}

/// Resolves a ref as typed: a name that is not a commit SHA is looked up as a branch, then as a
/// tag, so the deployment (and the pipeline, which runs on a branch or a tag) records what it
/// really is — `deploy v1.3.0 to preview` runs on the tag `v1.3.0`, not on a branch of that
/// name. Returns the ref as found, with GitHub's answer.
async fn resolve_typed(
    state: &AppState,
    repository: &deploybot_core::Repository,
    git_ref: GitRef,
) -> Result<(GitRef, Result<ResolvedRef, GitHubError>), AppError> {
    let github = state.github()?;
    let GitRef::Name(name) = &git_ref else {
        let answer = github.resolve_ref(repository, &git_ref).await;
        return Ok((git_ref, answer));
    };
    if !Sha::looks_like_sha(name) {
        for typed in [GitRef::Branch(name.clone()), GitRef::Tag(name.clone())] {
            match github.resolve_ref(repository, &typed).await {
                Err(GitHubError::NotFound(_)) => continue,
                answer => return Ok((typed, answer)),
            }
        }
    }
    let answer = github.resolve_ref(repository, &git_ref).await;
    Ok((git_ref, answer))
}

/// Resolves the plan to a commit; `Ok(Err(text))` is a refusal for the person.
async fn resolve(
    state: &AppState,
    request: &ManualDeploymentRequest,
    plan: ManualPlan,
) -> Result<Result<Source, String>, AppError> {
    let repository = &request.repository;
    let environment = &request.environment;
    match plan {
        ManualPlan::Ref {
            git_ref,
            requires_success_in,
        } => {
            let (git_ref, resolved) = match resolve_typed(state, repository, git_ref).await? {
                (git_ref, Ok(r)) => (git_ref, r),
                (git_ref, Err(GitHubError::NotFound(_))) => {
                    return Ok(Err(format!(
                        "I could not find `{}` in {repository}. Give a branch, a tag or a commit SHA that exists there.",
                        git_ref.short_name()
                    )));
                }
                (git_ref, Err(e)) => {
                    let what = format!("looking up `{}`", git_ref.short_name());
                    return Ok(Err(github_trouble(&what, &e)));
                }
            };
            if let Some(required) = requires_success_in {
                let passed = state
                    .deployments()?
                    .deployments_by_sha(repository, &resolved.sha, LOOKBACK)
                    .await?
                    .iter()
                    .any(|d| d.environment == required && d.has_succeeded());
                if !passed {
                    return Ok(Err(Refusal::NotPassed {
                        environment: environment.clone(),
                        required,
                        sha: resolved.sha,
                    }
                    .to_string()));
                }
            }
            Ok(Ok(Source {
                git_ref,
                sha: resolved.sha,
                author: resolved.author,
            }))
        }
        ManualPlan::DefaultBranch => {
            let github = state.github()?;
            let branch = match github.default_branch(repository).await {
                Ok(b) => b,
                Err(e) => return Ok(Err(github_trouble("looking up the default branch", &e))),
            };
            let git_ref = match GitRef::branch(&branch) {
                Ok(r) => r,
                Err(e) => return Ok(Err(e.to_string())),
            };
            match github.resolve_ref(repository, &git_ref).await {
                Ok(resolved) => Ok(Ok(Source {
                    git_ref,
                    sha: resolved.sha,
                    author: resolved.author,
                })),
                Err(e) => {
                    let what = format!("looking up `{branch}`");
                    Ok(Err(github_trouble(&what, &e)))
                }
            }
        }
        ManualPlan::PromoteLatest { from } => {
            let latest = state
                .deployments()?
                .list_deployments(repository, Some(from.clone()), LOOKBACK)
                .await?
                .into_iter()
                .find(|d| d.has_succeeded());
            match latest {
                Some(d) => Ok(Ok(Source {
                    git_ref: d.git_ref,
                    sha: d.sha,
                    author: d.commit_author,
                })),
                None => Ok(Err(Refusal::NothingToPromote {
                    environment: environment.clone(),
                    from,
                }
                .to_string())),
            }
        }
    }
}

/// Whether the environment is frozen now: the file's windows and the freeze set from Slack
/// (one key read of the lane record).
async fn frozen(
    state: &AppState,
    policy: &deploybot_core::policy::Policy,
    request: &ManualDeploymentRequest,
) -> Result<Option<deploybot_core::freeze::Frozen>, AppError> {
    let lane = state
        .lanes()?
        .get_lane(&LaneKey {
            repository: request.repository.clone(),
            environment: request.environment.clone(),
        })
        .await?;
    Ok(policy.frozen(
        &request.environment,
        lane.as_ref().and_then(|l| l.freeze.as_ref()),
        state.clock.now(),
    ))
}

/// What [Deploy anyway] deploys: the commit, named, to the environment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeployAnyway {
    pub repository: deploybot_core::Repository,
    pub environment: deploybot_core::Environment,
    pub git_ref: GitRef,
}

/// The rolled-back range of the environment that holds `sha`, if any. A range GitHub cut
/// short is decided by ancestry, asked through the compare API (a failing GitHub answers
/// "not known to be bad": the lane still refuses automatic deployments).
async fn bad_range_of(
    state: &AppState,
    request: &ManualDeploymentRequest,
    sha: &Sha,
) -> Result<Option<BadRange>, AppError> {
    let key = LaneKey {
        repository: request.repository.clone(),
        environment: request.environment.clone(),
    };
    let ranges = state.lanes()?.bad_ranges(&key, RANGES_READ).await?;
    if ranges.is_empty() {
        return Ok(None);
    }
    let mut ancestry = Ancestry::new();
    for _ in 0..=2 * ranges.len() {
        match bad_range(sha, &ranges, &ancestry) {
            Ok(found) => return Ok(found.cloned()),
            Err(question) => {
                let status = state
                    .github()?
                    .compare_commits(&key.repository, &question.commit, &question.of)
                    .await;
                match status
                    .ok()
                    .and_then(|s| AncestryQuestion::answer_from_compare_status(&s))
                {
                    Some(answer) => ancestry.record(&question, answer),
                    None => return Ok(None),
                }
            }
        }
    }
    Ok(None)
}

/// The question with [Deploy anyway] / [Cancel].
fn confirm_bad_message(
    request: &ManualDeploymentRequest,
    source: &Source,
    question: &str,
) -> Message {
    let choice = DeployAnyway {
        repository: request.repository.clone(),
        environment: request.environment.clone(),
        git_ref: GitRef::Name(source.sha.as_str().to_owned()),
    };
    let value = serde_json::to_string(&choice).unwrap_or_default();
    let text = format!(":warning: {question}");
    Message {
        text: text.clone(),
        blocks: vec![
            Block::section(text),
            Block::actions(vec![
                Element::button("Deploy anyway", ACTION_DEPLOY_BAD, value)
                    .with_style(ButtonStyle::Danger),
                Element::button(
                    "Cancel",
                    ACTION_DEPLOY_BAD_CANCEL,
                    request.environment.to_string(),
                ),
            ]),
        ],
    }
}

/// Tells the person why nothing was deployed: through `response_url`, else ephemerally in the
/// channel, else (no person known) in the channel.
async fn refuse(
    state: &AppState,
    request: &ManualDeploymentRequest,
    text: String,
) -> Result<DeploymentCreateResponse, AppError> {
    tracing::info!(deployment = %request.deployment_id, reason = %text, "manual deployment refused");
    tell(state, request, Message::text(text.clone())).await;
    Ok(refused(text))
}

/// Answers the person who asked: through `response_url`, else ephemerally in the channel,
/// else (no person known) in the channel.
async fn tell(state: &AppState, request: &ManualDeploymentRequest, message: Message) {
    let reply = match (&request.response_url, &request.trigger) {
        (Some(url), _) => SlackMessageRequest::Respond {
            response_url: url.clone(),
            response: ResponseMessage {
                message,
                ephemeral: true,
                replace_original: false,
            },
        },
        (None, Trigger::Manual { slack_user } | Trigger::Retry { slack_user, .. }) => {
            SlackMessageRequest::Ephemeral {
                channel: request.channel.clone(),
                user: slack_user.clone(),
                message,
            }
        }
        (None, _) => SlackMessageRequest::Channel {
            channel: request.channel.clone(),
            message,
        },
    };
    let sent = match state.invoker() {
        Ok(invoker) => invoke::send(invoker, &reply).await.map_err(AppError::from),
        Err(e) => Err(e),
    };
    if let Err(error) = sent {
        tracing::warn!(deployment = %request.deployment_id, %error, "answering the person failed");
    }
}
