//! `slack-command` (`POST /slack/command`): the slash command (`/cimon ...` and the `/deploy`
//! alias; the grammar is `deploybot_core::command`, deployments by hand are in
//! docs/workflow.md, "Deploying by hand", and the answers in docs/slack-decisions.md).
//!
//! Latency budget: Slack wants the answer within 3 seconds. This handler only reads and
//! writes the store and makes `Event` invokes; nothing here calls GitHub. Work that needs
//! GitHub (checking the repository before `setup` binds it, collaborator lists, `hello
//! <login>`, deployments) is acknowledged at once and finished by another function, which
//! answers through `response_url` or the channel.
//!
//! Idempotency: Slack does not retry slash commands. Repeating a command is harmless by the
//! store's semantics (`setup` twice is "already set up", `goodbye` twice "not linked"),
//! except `deploy`, where each request is a new deployment, as a person repeating it expects.
//!
//! Answers: a person's mistake is a friendly ephemeral reply saying how to do it right; an
//! internal failure is logged and answered with a short apology. Both with HTTP 200, because
//! Slack shows any other status as an ugly failure. Only an unsigned (401), oversized (413) or
//! malformed (400) request gets another status.

use crate::http::lane_actions;
use crate::http::slack_request::{self, SlashReply};
use crate::render::replies;
use crate::{AppError, AppState};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use deploybot_core::blocks::Message;
use deploybot_core::command::{Command, SettingName, SettingValue};
use deploybot_core::invoke::{
    DeploymentCreateRequest, ManualDeploymentRequest, RollbackRequest, SlackMessageRequest, send,
};
use deploybot_core::lane::{LaneEvent, LaneKey, LaneRecord};
use deploybot_core::policy::{Policy, Refusal};
use deploybot_core::{
    Deployment, DeploymentId, Environment, GitRef, GithubLogin, Project, Repository,
    SlackChannelId, SlackTeamId, SlackUserId, Timestamp, Trigger, UnbindReason, Unbinding,
};
use serde::Deserialize;
use std::sync::Arc;
use tracing::Instrument;

/// The route's path.
const PATH: &str = "/slack/command";

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(PATH, post(handle))
        .layer(super::log_refusals(PATH))
        .with_state(state)
}

/// The form fields of a slash command that deploybot reads.
#[derive(Debug, Default, Deserialize)]
struct RawForm {
    command: Option<String>,
    text: Option<String>,
    channel_id: Option<String>,
    channel_name: Option<String>,
    user_id: Option<String>,
    user_name: Option<String>,
    team_id: Option<String>,
    response_url: Option<String>,
    trigger_id: Option<String>,
}

/// A validated slash command request.
#[derive(Debug, Clone)]
struct SlashCommand {
    command: String,
    text: String,
    channel: SlackChannelId,
    channel_name: Option<String>,
    user: SlackUserId,
    user_name: Option<String>,
    team: Option<SlackTeamId>,
    response_url: Option<String>,
    /// Slack's id of this request (the story's correlation id).
    trigger_id: Option<String>,
}

impl SlashCommand {
    /// Parses the form body; missing or malformed fields are a 400 that names them.
    fn parse(body: &[u8]) -> Result<Self, AppError> {
        let raw: RawForm = serde_urlencoded::from_bytes(body)
            .map_err(|e| AppError::bad_request(format!("slash command form: {e}")))?;
        let missing: Vec<&str> = [
            ("command", raw.command.is_none()),
            ("channel_id", raw.channel_id.is_none()),
            ("user_id", raw.user_id.is_none()),
        ]
        .into_iter()
        .filter_map(|(name, absent)| absent.then_some(name))
        .collect();
        let (Some(command), Some(channel_id), Some(user_id)) =
            (raw.command, raw.channel_id, raw.user_id)
        else {
            return Err(AppError::bad_request(format!(
                "missing form fields: {}",
                missing.join(", ")
            )));
        };
        let channel = SlackChannelId::parse(&channel_id)
            .map_err(|e| AppError::bad_request(format!("channel_id: {e}")))?;
        let user = SlackUserId::parse(&user_id)
            .map_err(|e| AppError::bad_request(format!("user_id: {e}")))?;
        let team = match raw.team_id.as_deref().filter(|t| !t.is_empty()) {
            Some(t) => Some(
                SlackTeamId::parse(t)
                    .map_err(|e| AppError::bad_request(format!("team_id: {e}")))?,
            ),
            None => None,
        };
        Ok(Self {
            command,
            text: raw.text.unwrap_or_default(),
            channel,
            channel_name: raw.channel_name.filter(|n| !n.is_empty()),
            user,
            user_name: raw.user_name.filter(|n| !n.is_empty()),
            team,
            response_url: raw.response_url.filter(|u| !u.is_empty()),
            trigger_id: raw.trigger_id.filter(|t| !t.is_empty()),
        })
    }
}

async fn handle(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(error) = slack_request::verify(&state, &headers, &body) {
        return error.into_response();
    }
    let request = match SlashCommand::parse(&body) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let correlation =
        crate::correlation::slack(request.trigger_id.as_deref().unwrap_or_else(|| {
            crate::http::header(&headers, "x-slack-request-timestamp").unwrap_or("unknown")
        }));
    let span = tracing::info_span!(
        "slack-command",
        correlation_id = %correlation,
        command = %request.command,
        channel = %request.channel,
        user = %request.user,
    );
    let ran =
        crate::correlation::scope(&correlation, run(&state, &request).instrument(span.clone()));
    match ran.await {
        Ok(reply) => reply.into_response(),
        Err(error) => {
            span.in_scope(|| {
                tracing::error!(%error, text = %request.text, "slash command failed");
            });
            SlashReply::ephemeral(replies::internal_error()).into_response()
        }
    }
}

/// Runs one command. `Ok` holds every answer meant for the person, mistakes included; `Err`
/// is an internal failure.
async fn run(state: &AppState, request: &SlashCommand) -> Result<SlashReply, AppError> {
    let grammar = &state.config.grammar;
    if let Some(team) = &request.team {
        reinstate_team(state, team).await?;
    }
    let command = match grammar.parse(&request.command, &request.text) {
        Ok(command) => command,
        Err(mistake) => return Ok(SlashReply::ephemeral(replies::usage(&mistake.message))),
    };
    match command {
        Command::Help => {
            let project = state
                .projects()?
                .project_by_channel(&request.channel)
                .await?;
            let policy = project.as_ref().map(|p| state.policy_of(p));
            Ok(SlashReply::ephemeral(replies::help(
                grammar,
                policy.as_deref(),
            )))
        }
        Command::SetHelp => Ok(SlashReply::ephemeral(replies::settings_help(grammar))),
        Command::Setup { repository } => setup(state, request, repository).await,
        Command::Reset => reset(state, request).await,
        Command::Set(value) => set(state, request, value).await,
        Command::Unset {
            setting,
            environment,
        } => unset(state, request, setting, environment).await,
        Command::Config => {
            let reply = match state
                .projects()?
                .project_by_channel(&request.channel)
                .await?
            {
                Some(project) => {
                    let policy = state.policy_of(&project);
                    replies::config_view(grammar, &project, &policy)
                }
                None => replies::not_set_up(grammar),
            };
            Ok(SlashReply::ephemeral(reply))
        }
        Command::Hello { login: None } => hello(state, request).await,
        Command::Hello { login: Some(login) } => hello_login(state, request, login).await,
        Command::Goodbye => {
            let reply = match state.users()?.unlink_user(&request.user).await? {
                Some(link) => replies::goodbye_done(grammar, &link.github_login),
                None => replies::goodbye_not_linked(grammar),
            };
            Ok(SlashReply::ephemeral(reply))
        }
        Command::Deploy {
            git_ref,
            environment,
        } => deploy(state, request, git_ref, environment).await,
        Command::List { environment } => list(state, request, environment).await,
        Command::Lock {
            environment,
            duration,
            reason,
        } => {
            let event = LaneEvent::Lock {
                by: request.user.clone(),
                duration,
                reason,
                // Set from the workflow once the project is read.
                production: false,
            };
            lane_command(state, request, environment, event).await
        }
        Command::Unlock { environment } => {
            let event = LaneEvent::Unlock {
                by: request.user.clone(),
                confirmed: false,
            };
            lane_command(state, request, environment, event).await
        }
        Command::Status => status(state, request).await,
        Command::Cancel { environment, all } => cancel(state, request, environment, all).await,
        Command::Freeze { .. } | Command::Unfreeze { .. } | Command::Freezes => {
            freeze_command(state, request, command).await
        }
        Command::Rollback {
            environment,
            target,
            reason,
        } => rollback(state, request, environment, target, reason).await,
        Command::NotifyMe { preference } => {
            let users = state.users()?;
            let reply = match preference {
                Some(preference) => {
                    users
                        .set_direct_preference(&request.user, preference)
                        .await?;
                    crate::render::notify::preference_reply(preference, true)
                }
                None => crate::render::notify::preference_reply(
                    users.direct_preference(&request.user).await?,
                    false,
                ),
            };
            Ok(SlashReply::ephemeral(reply))
        }
    }
}

/// `rollback <environment> [to <ref|commit>] [<reason…>]`: acknowledged at once; the preview
/// (which may ask GitHub what a ref is) comes from `github-deployment-create` through
/// `response_url` (docs/workflow.md, "Rolling back").
async fn rollback(
    state: &AppState,
    request: &SlashCommand,
    environment: Environment,
    target: Option<GitRef>,
    reason: Option<String>,
) -> Result<SlashReply, AppError> {
    let (project, _) = match project_with(state, request, &environment).await? {
        Ok(found) => found,
        Err(answer) => return Ok(answer),
    };
    let preview = DeploymentCreateRequest::RollbackPreview(RollbackRequest {
        repository: project.repository,
        environment: environment.clone(),
        target,
        reason,
        user: request.user.clone(),
        channel: request.channel.clone(),
        response_url: request.response_url.clone(),
    });
    send(state.invoker()?, &preview).await?;
    Ok(SlashReply::ephemeral(replies::rollback_ack(&environment)))
}

/// `freeze`, `unfreeze`, `freezes` (`crate::http::freezes`): a freeze set or lifted is
/// announced in the channel as the command's answer; anything else is for the person.
async fn freeze_command(
    state: &AppState,
    request: &SlashCommand,
    command: Command,
) -> Result<SlashReply, AppError> {
    use crate::http::freezes::{self, FreezeAnswer};
    let Some(project) = state
        .projects()?
        .project_by_channel(&request.channel)
        .await?
    else {
        return Ok(SlashReply::ephemeral(replies::not_set_up(
            &state.config.grammar,
        )));
    };
    let answer = match command {
        Command::Freeze {
            target,
            end,
            reason,
        } => {
            freezes::freeze(
                state,
                &project,
                &request.channel,
                &request.user,
                &target,
                &end,
                reason,
            )
            .await?
        }
        Command::Unfreeze { target } => {
            freezes::unfreeze(state, &project, &request.channel, &request.user, &target).await?
        }
        _ => FreezeAnswer::Person(freezes::freezes(state, &project).await?),
    };
    Ok(match answer {
        FreezeAnswer::Channel(m) => SlashReply::in_channel(m),
        FreezeAnswer::Person(m) => SlashReply::ephemeral(m),
    })
}

/// Slack only sends slash commands for an installed app: a workspace marked revoked by
/// `app_uninstalled` / `tokens_revoked` that sends one has reinstalled deploybot, so posting
/// resumes.
async fn reinstate_team(state: &AppState, team: &SlackTeamId) -> Result<(), AppError> {
    if state.projects()?.is_team_revoked(team).await? {
        state.projects()?.set_team_revoked(team, false).await?;
        tracing::info!(%team, "workspace sent a command after being revoked: posting resumes");
    }
    Ok(())
}

/// `setup`: what the store already says is answered at once (this channel follows a
/// repository, the repository is followed elsewhere); otherwise the repository is checked on
/// GitHub and bound by `slack-message` (`invoked::setup`), which answers through
/// `response_url`. Nothing is bound before GitHub confirmed the repository.
async fn setup(
    state: &AppState,
    request: &SlashCommand,
    repository: Repository,
) -> Result<SlashReply, AppError> {
    let grammar = &state.config.grammar;
    let projects = state.projects()?;
    if let Some(current) = projects.project_by_channel(&request.channel).await? {
        let reply = if current.repository == repository {
            replies::setup_already(grammar, &repository)
        } else {
            replies::setup_channel_taken(grammar, &current.repository, &repository)
        };
        return Ok(SlashReply::ephemeral(reply));
    }
    if let Some(other) = projects.project_by_repository(&repository).await? {
        return Ok(SlashReply::ephemeral(replies::setup_repository_taken(
            grammar,
            &repository,
            &other.channel,
        )));
    }
    let check = SlackMessageRequest::Setup {
        repository: repository.clone(),
        channel: request.channel.clone(),
        channel_name: request.channel_name.clone(),
        team: request.team.clone(),
        user: request.user.clone(),
        response_url: request.response_url.clone(),
    };
    send(state.invoker()?, &check).await?;
    Ok(SlashReply::ephemeral(replies::setup_checking(&repository)))
}

async fn reset(state: &AppState, request: &SlashCommand) -> Result<SlashReply, AppError> {
    let grammar = &state.config.grammar;
    let Some(project) = state.projects()?.unbind_project(&request.channel).await? else {
        return Ok(SlashReply::ephemeral(replies::reset_nothing(grammar)));
    };
    // The repository's last unbinding is this one now (a later `setup` elsewhere mentions
    // it). The binding is gone whatever happens here, so a failure is only logged.
    let record = Unbinding {
        repository: project.repository.clone(),
        channel: project.channel.clone(),
        channel_name: project.channel_name.clone(),
        reason: UnbindReason::Reset {
            by: request.user.clone(),
        },
        event: None,
        at: state.clock.now(),
    };
    if let Err(error) = state.projects()?.record_unbinding(&record).await {
        tracing::warn!(%error, "reset done, but its record was not kept");
    }
    Ok(SlashReply::in_channel(replies::reset_done(
        grammar,
        &project.repository,
        &request.user,
    )))
}

/// Saves `project` (changed settings). The binding can vanish between the read and the
/// write (a concurrent `reset`): then the channel is not set up any more.
async fn save_settings(
    state: &AppState,
    project: &Project,
    done: impl FnOnce() -> String,
) -> Result<SlashReply, AppError> {
    let grammar = &state.config.grammar;
    if state.projects()?.update_project(project).await? {
        Ok(SlashReply::ephemeral(replies::setting_saved(
            grammar,
            &done(),
            project,
            &state.policy_of(project),
        )))
    } else {
        Ok(SlashReply::ephemeral(replies::not_set_up(grammar)))
    }
}

async fn set(
    state: &AppState,
    request: &SlashCommand,
    value: SettingValue,
) -> Result<SlashReply, AppError> {
    let Some(mut project) = state
        .projects()?
        .project_by_channel(&request.channel)
        .await?
    else {
        return Ok(SlashReply::ephemeral(replies::not_set_up(
            &state.config.grammar,
        )));
    };
    let policy = state.policy_of(&project);
    let settings = &mut project.settings;
    let description = match value {
        SettingValue::BaseDomain(domain) => {
            let text = format!("`basedomain` is now `{}`.", replies::escape(&domain));
            settings.base_domain = Some(domain);
            text
        }
        SettingValue::Url(environment, host) => {
            if let Some(refusal) = unknown_environment(&policy, &environment) {
                return Ok(SlashReply::ephemeral(replies::deploy_refused(&refusal)));
            }
            let text = format!(
                "The `url` of {environment} is now `{}`.",
                replies::escape(&host)
            );
            settings.urls.insert(environment, host);
            text
        }
        SettingValue::UrlPattern(pattern) => {
            let text = format!("`urlpattern` is now `{}`.", replies::escape(&pattern));
            settings.url_pattern = Some(pattern);
            text
        }
        SettingValue::UrlSeparator(separator) => {
            let text = format!("`urlseparator` is now `{}`.", replies::escape(&separator));
            settings.url_separator = Some(separator);
            text
        }
    };
    save_settings(state, &project, || description).await
}

async fn unset(
    state: &AppState,
    request: &SlashCommand,
    setting: SettingName,
    environment: Option<Environment>,
) -> Result<SlashReply, AppError> {
    let grammar = &state.config.grammar;
    let Some(mut project) = state
        .projects()?
        .project_by_channel(&request.channel)
        .await?
    else {
        return Ok(SlashReply::ephemeral(replies::not_set_up(grammar)));
    };
    let settings = &mut project.settings;
    let removed = match (setting, environment.clone()) {
        (SettingName::BaseDomain, _) => settings.base_domain.take().is_some(),
        (SettingName::UrlPattern, _) => settings.url_pattern.take().is_some(),
        (SettingName::UrlSeparator, _) => settings.url_separator.take().is_some(),
        (SettingName::Url, Some(env)) => settings.urls.remove(&env).is_some(),
        // The grammar always names the environment for `url`; without one there is nothing
        // to remove.
        (SettingName::Url, None) => false,
    };
    let label = replies::setting_label(setting, environment);
    if !removed {
        return Ok(SlashReply::ephemeral(replies::setting_was_not_set(
            grammar, &label,
        )));
    }
    save_settings(state, &project, || {
        format!("{label} is removed; the default applies again.")
    })
    .await
}

async fn hello(state: &AppState, request: &SlashCommand) -> Result<SlashReply, AppError> {
    let grammar = &state.config.grammar;
    let Some(project) = state
        .projects()?
        .project_by_channel(&request.channel)
        .await?
    else {
        return Ok(SlashReply::ephemeral(replies::not_set_up(grammar)));
    };
    if let Some(link) = state.users()?.user_by_slack(&request.user).await? {
        return Ok(SlashReply::ephemeral(replies::hello_already_linked(
            grammar,
            &link.github_login,
        )));
    }
    let offer = SlackMessageRequest::ClaimOffer {
        repository: project.repository.clone(),
        channel: request.channel.clone(),
        user: request.user.clone(),
        response_url: request.response_url.clone(),
        intro: None,
    };
    send(state.invoker()?, &offer).await?;
    Ok(SlashReply::ephemeral(replies::hello_ack(
        &project.repository,
    )))
}

/// `hello <login>`: what the store already says is answered at once (the asker is linked, the
/// login is someone else's); otherwise `slack-message` checks the login against the
/// repository's collaborators and links it (`invoked::setup::claim_login`).
async fn hello_login(
    state: &AppState,
    request: &SlashCommand,
    login: GithubLogin,
) -> Result<SlashReply, AppError> {
    let grammar = &state.config.grammar;
    let Some(project) = state
        .projects()?
        .project_by_channel(&request.channel)
        .await?
    else {
        return Ok(SlashReply::ephemeral(replies::not_set_up(grammar)));
    };
    let users = state.users()?;
    if let Some(link) = users.user_by_slack(&request.user).await? {
        let reply = if link.github_login == login {
            replies::hello_already_yours(&login)
        } else {
            replies::hello_already_linked(grammar, &link.github_login)
        };
        return Ok(SlashReply::ephemeral(reply));
    }
    if let Some(link) = users.user_by_login(&login).await? {
        return Ok(SlashReply::ephemeral(replies::claim_login_taken(
            grammar,
            &login,
            &link.slack_user,
        )));
    }
    let claim = SlackMessageRequest::ClaimLogin {
        repository: project.repository.clone(),
        channel: request.channel.clone(),
        user: request.user.clone(),
        user_name: request.user_name.clone(),
        login: login.clone(),
        response_url: request.response_url.clone(),
    };
    send(state.invoker()?, &claim).await?;
    Ok(SlashReply::ephemeral(replies::hello_checking(
        &login,
        &project.repository,
    )))
}

async fn deploy(
    state: &AppState,
    request: &SlashCommand,
    git_ref: Option<GitRef>,
    environment: Environment,
) -> Result<SlashReply, AppError> {
    let grammar = &state.config.grammar;
    let Some(project) = state
        .projects()?
        .project_by_channel(&request.channel)
        .await?
    else {
        return Ok(SlashReply::ephemeral(replies::not_set_up(grammar)));
    };
    let policy = state.policy_of(&project);
    if let Err(refusal) = policy.plan_manual(&environment, git_ref.as_ref()) {
        return Ok(SlashReply::ephemeral(replies::deploy_refused(&refusal)));
    }
    // A freeze refuses deployments by hand, saying until when and why (one key read of the
    // lane record, for a freeze set from Slack; the file's windows are in the policy).
    let lane = state
        .lanes()?
        .get_lane(&LaneKey {
            repository: project.repository.clone(),
            environment: environment.clone(),
        })
        .await?;
    let now = state.clock.now();
    if let Some(frozen) = policy.frozen(
        &environment,
        lane.as_ref().and_then(|l| l.freeze.as_ref()),
        now,
    ) {
        let asked = crate::render::freezes::FreezeOverride {
            repository: project.repository.clone(),
            environment: environment.clone(),
            git_ref: git_ref.clone(),
            promotion: false,
        };
        return Ok(SlashReply::ephemeral(
            crate::render::freezes::deploy_frozen(grammar, &frozen, now, &asked),
        ));
    }
    let create = DeploymentCreateRequest::Manual(ManualDeploymentRequest {
        repository: project.repository,
        deployment_id: state.new_deployment_id(),
        environment: environment.clone(),
        git_ref: git_ref.clone(),
        trigger: Trigger::Manual {
            slack_user: request.user.clone(),
        },
        channel: request.channel.clone(),
        response_url: request.response_url.clone(),
        confirmed_bad: false,
        promotion: false,
        freeze_override: None,
    });
    send(state.invoker()?, &create).await?;
    Ok(SlashReply::ephemeral(replies::deploy_ack(
        git_ref.as_ref(),
        &environment,
    )))
}

/// The refusal for an environment the repository's workflow does not have.
fn unknown_environment(
    policy: &deploybot_core::policy::Policy,
    environment: &Environment,
) -> Option<Refusal> {
    policy
        .spec(environment)
        .is_none()
        .then(|| Refusal::UnknownEnvironment {
            environment: environment.clone(),
            known: policy.environments(),
        })
}

/// The channel's project and the workflow in force, when `environment` is one of the
/// workflow's environments or a pull request's; otherwise the answer to give instead (set
/// the channel up first, or the environments there are).
async fn project_with(
    state: &AppState,
    request: &SlashCommand,
    environment: &Environment,
) -> Result<Result<(Project, Arc<Policy>), SlashReply>, AppError> {
    let Some(project) = state
        .projects()?
        .project_by_channel(&request.channel)
        .await?
    else {
        return Ok(Err(SlashReply::ephemeral(replies::not_set_up(
            &state.config.grammar,
        ))));
    };
    let policy = state.policy_of(&project);
    if policy.pull_request_of(environment).is_none()
        && let Some(refusal) = unknown_environment(&policy, environment)
    {
        return Ok(Err(SlashReply::ephemeral(replies::deploy_refused(
            &refusal,
        ))));
    }
    Ok(Ok((project, policy)))
}

/// `lock` and `unlock`: the event goes to the environment's lane, whose notices go to this
/// channel; the answer for the person (a refusal, the offer to take someone else's lock, or
/// what was done) is this command's own ephemeral reply.
async fn lane_command(
    state: &AppState,
    request: &SlashCommand,
    environment: Environment,
    mut event: LaneEvent,
) -> Result<SlashReply, AppError> {
    let (project, policy) = match project_with(state, request, &environment).await? {
        Ok(found) => found,
        Err(answer) => return Ok(answer),
    };
    if let LaneEvent::Lock { production, .. } = &mut event {
        *production = policy.is_production(&environment);
    }
    let event = &event;
    let key = LaneKey {
        repository: project.repository,
        environment,
    };
    let answer = lane_actions::act(state, &key, event, &request.channel).await?;
    Ok(SlashReply::ephemeral(answer.into_message()))
}

/// `cancel <environment> [--all]`: checked here (a followed repository, a known
/// environment), done by `github-deployment-create`, which has the CI client; it answers the
/// person when there is nothing to cancel or the CI refuses, and the deployment's message
/// shows the rest.
async fn cancel(
    state: &AppState,
    request: &SlashCommand,
    environment: Environment,
    all: bool,
) -> Result<SlashReply, AppError> {
    let (project, _) = match project_with(state, request, &environment).await? {
        Ok(found) => found,
        Err(answer) => return Ok(answer),
    };
    let create = DeploymentCreateRequest::CancelRunning {
        repository: project.repository,
        environment: environment.clone(),
        all,
        by: request.user.clone(),
        channel: request.channel.clone(),
        only: None,
    };
    send(state.invoker()?, &create).await?;
    let text = if all {
        format!(
            "Cancelling the deployment running in `{environment}` and dropping its queued ones…"
        )
    } else {
        format!("Cancelling the deployment running in `{environment}`…")
    };
    Ok(SlashReply::ephemeral(Message::text(text)))
}

/// How many pull-request environments `status` shows (the busy ones: a deployment going or a
/// lock); the others are named.
pub const STATUS_PULL_REQUESTS: usize = 5;

/// How many queued deployments `status` counts per environment.
pub const STATUS_QUEUE_COUNT: usize = 10;

/// `status`: every environment of the repository at a glance. One read of the repository's
/// lanes, then for each environment shown (the fixed ones and at most
/// [`STATUS_PULL_REQUESTS`] busy pull-request ones) the deployments its lane runs and ran (key
/// reads) and its queue (one bounded index query), and one lookup of the people named.
async fn status(state: &AppState, request: &SlashCommand) -> Result<SlashReply, AppError> {
    let grammar = &state.config.grammar;
    let Some(project) = state
        .projects()?
        .project_by_channel(&request.channel)
        .await?
    else {
        return Ok(SlashReply::ephemeral(replies::not_set_up(grammar)));
    };
    let repository = &project.repository;
    let now = state.clock.now();
    let lanes = state.lanes()?.lanes_of(repository).await?;
    let record = |environment: &Environment| {
        lanes
            .iter()
            .find(|l| &l.lane.environment == environment)
            .cloned()
    };
    let policy = state.policy_of(&project);
    let mut shown: Vec<(Environment, Option<LaneRecord>)> = policy
        .environments()
        .into_iter()
        .map(|env| {
            let lane = record(&env);
            (env, lane)
        })
        .collect();
    // A pull-request lane is busy while a deployment holds its slot or a lock holds it (a free,
    // unlocked lane dispatches what is in line at once; what waits for checks says so in its
    // own message). The most recently changed come first.
    let mut busy: Vec<&LaneRecord> = lanes
        .iter()
        .filter(|l| policy.pull_request_of(&l.lane.environment).is_some())
        .filter(|l| l.running.is_some() || l.lock.as_ref().is_some_and(|k| !k.is_expired(now)))
        .collect();
    busy.sort_by(|a, b| {
        b.updated_at
            .cmp(&a.updated_at)
            .then(a.lane.environment.cmp(&b.lane.environment))
    });
    let more: Vec<Environment> = busy
        .iter()
        .skip(STATUS_PULL_REQUESTS)
        .map(|l| l.lane.environment.clone())
        .collect();
    shown.extend(
        busy.iter()
            .take(STATUS_PULL_REQUESTS)
            .map(|l| (l.lane.environment.clone(), Some((*l).clone()))),
    );
    let mut environments = Vec::with_capacity(shown.len());
    for (environment, record) in shown {
        let frozen = policy.frozen(
            &environment,
            record.as_ref().and_then(|r| r.freeze.as_ref()),
            now,
        );
        let mut status = environment_status(state, repository, environment, record, now).await?;
        status.frozen = frozen;
        environments.push(status);
    }
    let named = environments
        .iter()
        .flat_map(|e| e.current.iter().chain(e.running.iter()));
    let logins = replies::list_logins(named);
    let links = if logins.is_empty() {
        Vec::new()
    } else {
        state.users()?.users_by_logins(&logins).await?
    };
    Ok(SlashReply::ephemeral(replies::status_view(
        grammar,
        repository,
        &environments,
        &more,
        &links,
        now,
    )))
}

/// One environment for `status`, from its lane record (none: nothing went through its lane
/// yet): the deployments it runs and ran, read by key, and its queue counted, together.
pub(crate) async fn environment_status(
    state: &AppState,
    repository: &Repository,
    environment: Environment,
    record: Option<LaneRecord>,
    now: Timestamp,
) -> Result<replies::EnvironmentStatus, AppError> {
    let Some(record) = record else {
        return Ok(replies::EnvironmentStatus {
            environment,
            current: None,
            running: None,
            lock: None,
            queued: 0,
            queue_more: false,
            frozen: None,
        });
    };
    let deployments = state.deployments()?;
    let get = |id: Option<DeploymentId>| async move {
        match id {
            Some(id) => deployments.get_deployment(repository, &id).await,
            None => Ok(None),
        }
    };
    let (current, running, pending) = tokio::join!(
        get(record.current.clone()),
        get(record.running.clone()),
        deployments.pending_deployments(&record.lane, STATUS_QUEUE_COUNT + 1),
    );
    let pending = pending?;
    Ok(replies::EnvironmentStatus {
        environment,
        current: current?,
        running: running?,
        lock: record.lock.filter(|l| !l.is_expired(now)),
        queued: pending.len().min(STATUS_QUEUE_COUNT),
        queue_more: pending.len() > STATUS_QUEUE_COUNT,
        frozen: None,
    })
}

/// How many deployments of one environment are read to find its current one.
const CURRENT_SCAN_LIMIT: usize = 10;

async fn list(
    state: &AppState,
    request: &SlashCommand,
    environment: Option<Environment>,
) -> Result<SlashReply, AppError> {
    let grammar = &state.config.grammar;
    let Some(project) = state
        .projects()?
        .project_by_channel(&request.channel)
        .await?
    else {
        return Ok(SlashReply::ephemeral(replies::not_set_up(grammar)));
    };
    let repository = &project.repository;
    let policy = state.policy_of(&project);
    if let Some(env) = &environment
        && policy.pull_request_of(env).is_none()
        && let Some(refusal) = unknown_environment(&policy, env)
    {
        return Ok(SlashReply::ephemeral(replies::deploy_refused(&refusal)));
    }
    let recent = state
        .deployments()?
        .list_deployments(repository, environment.clone(), replies::LIST_LIMIT)
        .await?;
    // What each environment runs now. The page is the newest deployments in time order, so
    // an environment's first current-looking deployment on it is that environment's current
    // one (every newer deployment of it is on the page too). Only an environment the page
    // settles nothing about is looked up, and only when the page is full (a short page is the
    // whole history).
    let environments: Vec<Environment> = match &environment {
        Some(env) => vec![env.clone()],
        None => policy.environments(),
    };
    let mut current = Vec::with_capacity(environments.len());
    for env in environments {
        let mut seen = 0;
        let mut on_page = None;
        for d in recent.iter().filter(|d| d.environment == env) {
            if seen == CURRENT_SCAN_LIMIT {
                break;
            }
            seen += 1;
            if is_current(d) {
                on_page = Some(d);
                break;
            }
        }
        if let Some(deployment) = on_page {
            current.push(deployment.clone());
        } else if seen < CURRENT_SCAN_LIMIT
            && recent.len() >= replies::LIST_LIMIT
            && let Some(deployment) = current_deployment(state, repository, env).await?
        {
            current.push(deployment);
        }
    }
    // Everyone the list names, looked up together: no lookup per row.
    let logins = replies::list_logins(current.iter().chain(&recent));
    let links = if logins.is_empty() {
        Vec::new()
    } else {
        state.users()?.users_by_logins(&logins).await?
    };
    Ok(SlashReply::ephemeral(replies::list_view(
        grammar,
        repository,
        environment,
        &current,
        &recent,
        &links,
        state.clock.now(),
    )))
}

/// What an environment runs now: its newest deployment that succeeded or is on its way
/// (an index query over the environment's newest few).
async fn current_deployment(
    state: &AppState,
    repository: &Repository,
    environment: Environment,
) -> Result<Option<Deployment>, AppError> {
    let newest = state
        .deployments()?
        .list_deployments(repository, Some(environment), CURRENT_SCAN_LIMIT)
        .await?;
    Ok(newest.into_iter().find(is_current))
}

/// Whether a deployment can be what its environment runs now: it succeeded or is on its way.
fn is_current(d: &Deployment) -> bool {
    d.state == deploybot_core::DeploymentState::Success || d.state.is_in_flight()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_are_named_when_missing() {
        let error = SlashCommand::parse(b"text=help&user_id=U1").expect_err("missing");
        let text = error.to_string();
        assert!(
            text.contains("command") && text.contains("channel_id"),
            "{text}"
        );
        assert!(!text.contains("user_id"), "{text}");
        let error = SlashCommand::parse(b"command=%2Fcimon&channel_id=nope&user_id=U1")
            .expect_err("bad channel");
        assert!(error.to_string().contains("channel_id"));
        let ok = SlashCommand::parse(b"command=%2Fcimon&channel_id=C1&user_id=U1&team_id=")
            .expect("valid");
        assert_eq!((ok.text.as_str(), ok.team.is_none()), ("", true));
    }
}
