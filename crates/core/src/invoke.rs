//! The functions (docs/deployment.md, "The functions") and the typed request/response of every
//! function-to-function invoke, serialised as JSON.

use crate::blocks::Message;
use crate::ports::{
    GitHubError, InvokeError, InvokeMode, Invoker, RepositoryInfo, ResponseMessage,
};
use crate::{
    DeploymentId, DeploymentState, Environment, GitRef, GithubLogin, Repository, Sha,
    SlackChannelId, SlackUserId, Trigger,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The ten functions, one Lambda each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FunctionName {
    SlackCommand,
    SlackInteractive,
    SlackEvent,
    SlackMessage,
    GithubWebhook,
    GithubCollaborators,
    GithubDeploymentCreate,
    GithubDeploymentStatus,
    CircleciTrigger,
    CircleciWebhook,
    /// The board: read-only web pages (`GET /` and below).
    Web,
}

impl FunctionName {
    pub const ALL: [FunctionName; 11] = [
        Self::SlackCommand,
        Self::SlackInteractive,
        Self::SlackEvent,
        Self::SlackMessage,
        Self::GithubWebhook,
        Self::GithubCollaborators,
        Self::GithubDeploymentCreate,
        Self::GithubDeploymentStatus,
        Self::CircleciTrigger,
        Self::CircleciWebhook,
        Self::Web,
    ];

    /// `slack-message`, as in `functions/slack-message`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SlackCommand => "slack-command",
            Self::SlackInteractive => "slack-interactive",
            Self::SlackEvent => "slack-event",
            Self::SlackMessage => "slack-message",
            Self::GithubWebhook => "github-webhook",
            Self::GithubCollaborators => "github-collaborators",
            Self::GithubDeploymentCreate => "github-deployment-create",
            Self::GithubDeploymentStatus => "github-deployment-status",
            Self::CircleciTrigger => "circleci-trigger",
            Self::CircleciWebhook => "circleci-webhook",
            Self::Web => "web",
        }
    }

    /// The environment variable that holds the deployed function's name or ARN
    /// (`FUNCTION_SLACK_MESSAGE`).
    pub fn env_var(self) -> String {
        format!(
            "FUNCTION_{}",
            self.as_str().replace('-', "_").to_ascii_uppercase()
        )
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

impl fmt::Display for FunctionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request to an invoked function: which function takes it and what it answers.
pub trait InvokeRequest: Serialize + DeserializeOwned + Send + Sync {
    const FUNCTION: FunctionName;
    type Response: Serialize + DeserializeOwned + Send;
}

/// Invokes and waits for the typed answer (`RequestResponse`).
pub async fn call<R: InvokeRequest>(
    invoker: &dyn Invoker,
    request: &R,
) -> Result<R::Response, InvokeError> {
    let function = R::FUNCTION;
    let payload = serde_json::to_vec(request).map_err(|e| InvokeError::Payload {
        function,
        message: e.to_string(),
    })?;
    let answer = invoker
        .invoke(function, InvokeMode::RequestResponse, payload)
        .await?;
    serde_json::from_value(answer).map_err(|e| InvokeError::Payload {
        function,
        message: e.to_string(),
    })
}

/// Invokes without waiting for the function to finish (`Event`).
///
/// The request is written to JSON text when `send` is called, and the returned future holds
/// only that text: a caller's request need not live across the await, so it does not grow the
/// caller's future (docs/performance.md, "The fixed path cut again").
pub fn send<'a, R: InvokeRequest>(
    invoker: &'a dyn Invoker,
    request: &R,
) -> impl Future<Output = Result<(), InvokeError>> + use<'a, R> {
    let function = R::FUNCTION;
    // Straight to JSON text: no `serde_json::Value` tree on the way, and room for a typical
    // request from the start (docs/performance.md).
    let mut payload = Vec::with_capacity(1024);
    let written = serde_json::to_writer(&mut payload, request)
        .map(|()| payload)
        .map_err(|e| InvokeError::Payload {
            function,
            message: e.to_string(),
        });
    async move {
        invoker
            .invoke(function, InvokeMode::Event, written?)
            .await
            .map(|_| ())
    }
}

// ---- correlation ---------------------------------------------------------------------------

/// The field every invoke payload carries beside its own fields: the id of what started the
/// story — `github:<X-GitHub-Delivery>`, `slack:<trigger or event id>`, `circleci:<event id>`,
/// `watchdog:<run>` — so that one search finds every function's lines about it
/// (docs/operations.md, "Following one delivery"). It sits at the payload's top level, outside
/// the typed requests, so adding it changed none of them; a payload without it (an older
/// caller, a schedule) is accepted as before.
pub const CORRELATION_FIELD: &str = "correlation_id";

/// Finds [`CORRELATION_FIELD`] in a payload's text (built once per process).
static CORRELATION_FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(CORRELATION_FIELD.as_bytes()));

/// The longest correlation id kept (longer ones are cut at a character boundary).
pub const CORRELATION_MAX_LEN: usize = 120;

/// `payload` carrying `correlation`, unless it carries one already (the first id of a story
/// wins) or is not a JSON object.
pub fn with_correlation(mut payload: serde_json::Value, correlation: &str) -> serde_json::Value {
    if let serde_json::Value::Object(fields) = &mut payload
        && !fields.contains_key(CORRELATION_FIELD)
    {
        fields.insert(
            CORRELATION_FIELD.to_owned(),
            serde_json::Value::String(bounded_correlation(correlation)),
        );
    }
    payload
}

/// [`with_correlation`] on a payload of JSON text, as invokers take it, in place: the field is
/// inserted after the opening brace, without reading the rest (the rest of the text moves once;
/// nothing else is allocated when the payload has room). A payload that is not an object, or
/// that names the field anywhere already, is left as it is.
pub fn add_correlation_text(payload: &mut Vec<u8>, correlation: &str) {
    let Some(open) = payload.iter().position(|b| !b.is_ascii_whitespace()) else {
        return;
    };
    if payload[open] != b'{' || CORRELATION_FINDER.find(payload).is_some() {
        return;
    }
    let empty = payload[open + 1..]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'}');
    // Written at the end of the text and rotated into place: no second buffer.
    let end = payload.len();
    payload.push(b'"');
    payload.extend_from_slice(CORRELATION_FIELD.as_bytes());
    payload.extend_from_slice(b"\":");
    let bounded =
        correlation.len() <= CORRELATION_MAX_LEN && !correlation.chars().any(char::is_control);
    // A string's JSON text cannot fail to be written to a `Vec`.
    let _ = if bounded {
        serde_json::to_writer(&mut *payload, correlation)
    } else {
        serde_json::to_writer(&mut *payload, &bounded_correlation(correlation))
    };
    if !empty {
        payload.push(b',');
    }
    let field = payload.len() - end;
    payload[open + 1..].rotate_right(field);
}

/// The correlation id a payload carries, when it carries a usable one.
pub fn correlation_of(payload: &serde_json::Value) -> Option<String> {
    payload
        .get(CORRELATION_FIELD)
        .and_then(serde_json::Value::as_str)
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(bounded_correlation)
}

/// `id` cut to [`CORRELATION_MAX_LEN`] bytes, with control characters dropped (it goes into
/// log lines).
pub fn bounded_correlation(id: &str) -> String {
    // Ids are ASCII in practice (`github:<uuid>`): copied whole when nothing is cut or
    // dropped, rather than character by character.
    if id.len() <= CORRELATION_MAX_LEN && id.bytes().all(|b| (b' '..0x7f).contains(&b)) {
        return id.to_owned();
    }
    let mut out = String::new();
    for c in id.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > CORRELATION_MAX_LEN {
            break;
        }
        out.push(c);
    }
    out
}

// ---- slack-message ------------------------------------------------------------------------

/// What `slack-message` should post or edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SlackMessageRequest {
    /// Post the deployment's one message, or edit it in place when it exists, from the
    /// stored record; stores the message `ts` on the record.
    Deployment {
        repository: Repository,
        deployment_id: DeploymentId,
    },
    /// A message to a channel that is not about one deployment.
    Channel {
        channel: SlackChannelId,
        message: Message,
    },
    /// `chat.postEphemeral`.
    Ephemeral {
        channel: SlackChannelId,
        user: SlackUserId,
        message: Message,
    },
    /// A reply through a `response_url`.
    Respond {
        response_url: String,
        response: ResponseMessage,
    },
    /// Lists the repository's collaborators (through `github-collaborators`) and offers the
    /// ones not yet linked as "claim your GitHub login" buttons, replying through
    /// `response_url` (ephemeral) or, without one, to the user ephemerally in the channel.
    ClaimOffer {
        repository: Repository,
        channel: SlackChannelId,
        user: SlackUserId,
        response_url: Option<String>,
        /// Text to put above the buttons (e.g. "This channel now follows acme/web.").
        intro: Option<String>,
    },
    /// `/cimon setup owner/repo` after the command was acknowledged: checks the repository
    /// on GitHub (through `github-collaborators`), and only when GitHub confirms it binds the
    /// channel, announces it and offers the claim buttons; otherwise tells `user` why
    /// nothing was bound. Answers through `response_url`, or the channel without one.
    Setup {
        repository: Repository,
        channel: SlackChannelId,
        channel_name: Option<String>,
        team: Option<crate::SlackTeamId>,
        user: SlackUserId,
        response_url: Option<String>,
    },
    /// A reply in the thread of a message of the channel (`notify.threads: true`: a vote
    /// under the deployment's message).
    ThreadReply {
        channel: SlackChannelId,
        thread_ts: String,
        message: Message,
    },
    /// A lane's notice (locked, extended, unlocked) for the repository's channel: a thread
    /// reply under the message of the lane's latest deployment when the workflow file says
    /// `notify.threads: true`, else a channel message.
    LaneNotice {
        lane: crate::lane::LaneKey,
        channel: SlackChannelId,
        message: Message,
    },
    /// Publishes `user`'s Home tab of the app (docs/notifications.md, "App Home") unless it
    /// was published less than a minute ago; `opened`: the person opened it (always
    /// published then).
    Home {
        user: SlackUserId,
        #[serde(default)]
        opened: bool,
    },
    /// `/cimon hello <login>` after the command was acknowledged: links `user` to `login`
    /// when it is one of the repository's collaborators (through `github-collaborators`)
    /// and nobody else holds it; answers `user` either way.
    ClaimLogin {
        repository: Repository,
        channel: SlackChannelId,
        user: SlackUserId,
        user_name: Option<String>,
        login: GithubLogin,
        response_url: Option<String>,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackMessageResponse {
    /// The `ts` of the message posted or edited, when there is one.
    pub ts: Option<String>,
}

impl InvokeRequest for SlackMessageRequest {
    const FUNCTION: FunctionName = FunctionName::SlackMessage;
    type Response = SlackMessageResponse;
}

// ---- github-collaborators -----------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollaboratorsRequest {
    pub repository: Repository,
    /// A list up to [`COLLABORATORS_CACHE_SECS`] old will do (the type-ahead select asks on
    /// every keystroke); otherwise GitHub is asked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
}

/// How long `github-collaborators` keeps a repository's list for [`CollaboratorsRequest`]s
/// that accept a cached answer.
pub const COLLABORATORS_CACHE_SECS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollaboratorsResponse {
    pub logins: Vec<GithubLogin>,
}

impl InvokeRequest for CollaboratorsRequest {
    const FUNCTION: FunctionName = FunctionName::GithubCollaborators;
    type Response = CollaboratorsResponse;
}

/// `github-collaborators`' other request: is the repository there, with the App installed on
/// it? Serialised with `"kind": "repository"`, which tells it from a [`CollaboratorsRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryRequest {
    pub kind: RepositoryRequestKind,
    pub repository: Repository,
}

impl RepositoryRequest {
    pub fn new(repository: Repository) -> Self {
        Self {
            kind: RepositoryRequestKind::Repository,
            repository,
        }
    }
}

/// The tag of a [`RepositoryRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepositoryRequestKind {
    Repository,
}

/// `.github/deploybot.yml` as read at a commit of the default branch (`file: None`: there is
/// none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowRead {
    pub commit: Sha,
    pub file: Option<crate::ports::RepositoryFile>,
}

impl HandedEvent {
    /// The deployment this event was decided to make: `environment` at `git_ref` (`sha`), as
    /// deployment `id`, reported to `channel`.
    pub fn into_deployment(
        self,
        repository: Repository,
        id: DeploymentId,
        environment: Environment,
        git_ref: GitRef,
        sha: Sha,
        channel: SlackChannelId,
    ) -> NewDeploymentRequest {
        NewDeploymentRequest {
            repository,
            deployment_id: id,
            environment,
            git_ref,
            sha,
            trigger: self.trigger,
            commit_author: self.commit_author,
            pr_url: self.pr_url,
            channel,
            check_workflow_file: None,
        }
    }
}

/// What GitHub said about a repository someone wants to set up: found, or why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RepositoryCheck {
    Found {
        info: RepositoryInfo,
        /// The workflow file as read from the default branch's head, when it could be read
        /// (else the first event reads it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        workflow: Option<WorkflowRead>,
    },
    /// No such repository, or the App cannot see it (a typo, most often).
    NotFound,
    /// The GitHub App is not installed on the repository (or its account).
    NotInstalled,
    /// The App is installed but may not read the repository.
    Forbidden,
    /// GitHub did not answer usefully (down, timing out, rate limited, refusing
    /// deploybot's own credentials): try again later.
    Unavailable { reason: String },
}

impl RepositoryCheck {
    /// The verdict on GitHub's answer.
    pub fn from_lookup(answer: Result<RepositoryInfo, GitHubError>) -> Self {
        match answer {
            Ok(info) => Self::Found {
                info,
                workflow: None,
            },
            Err(GitHubError::NotFound(_)) => Self::NotFound,
            Err(GitHubError::NotInstalled(_)) => Self::NotInstalled,
            Err(GitHubError::Forbidden(_)) => Self::Forbidden,
            Err(error) => Self::Unavailable {
                reason: error.to_string(),
            },
        }
    }
}

impl InvokeRequest for RepositoryRequest {
    const FUNCTION: FunctionName = FunctionName::GithubCollaborators;
    type Response = RepositoryCheck;
}

// ---- github-deployment-create -------------------------------------------------------------

/// A deployment the workflow decided on (an event) with everything already known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDeploymentRequest {
    pub repository: Repository,
    /// Chosen by the caller so that a retried invoke finds the same record.
    pub deployment_id: DeploymentId,
    pub environment: Environment,
    pub git_ref: GitRef,
    pub sha: Sha,
    pub trigger: Trigger,
    pub commit_author: Option<GithubLogin>,
    pub pr_url: Option<String>,
    pub channel: SlackChannelId,
    /// The deployment is a pull request's that may change the workflow file: check it as
    /// [`DeploymentCreateRequest::CheckWorkflowFile`] does, once the deployment is stored —
    /// one invoke for both instead of two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_workflow_file: Option<WorkflowFileCheck>,
}

/// The pull request whose workflow file is to be checked (docs/configuration.md, "The check on
/// pull requests").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowFileCheck {
    pub number: u64,
    pub base_sha: Sha,
    pub head_sha: Sha,
}

/// A deployment a person asked for in Slack; the ref still has to be resolved and the
/// policy's requirements checked, so refusals go back through `response_url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualDeploymentRequest {
    pub repository: Repository,
    pub deployment_id: DeploymentId,
    pub environment: Environment,
    /// `None`: the environment's default source.
    pub git_ref: Option<GitRef>,
    pub trigger: Trigger,
    pub channel: SlackChannelId,
    pub response_url: Option<String>,
    /// The person confirmed deploying a commit rolled back from the environment ([Deploy
    /// anyway]); without it such a commit is asked about first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub confirmed_bad: bool,
    /// A promotion button ([Deploy to staging], the Home tab's [Promote]) named the commit:
    /// a commit rolled back from the environment is then refused, as for `deploy
    /// <environment>`, rather than asked about.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub promotion: bool,
    /// The person pressed [Override…] on the refusal of a deploy into a frozen environment,
    /// with this reason: this one deployment passes the freeze (the freeze stays; approvals,
    /// where the environment has them, still apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze_override: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeploymentCreateRequest {
    New(NewDeploymentRequest),
    Manual(ManualDeploymentRequest),
    /// The checks of a parked deployment's commit changed: look again and resume or fail it.
    Recheck {
        repository: Repository,
        deployment_id: DeploymentId,
    },
    /// Fail deployments parked for longer than the configured time.
    ExpireWaiting,
    /// The watchdog's sweep (scheduled): every lane that is due — a dispatched deployment not
    /// started in time or without an outcome in time, a lock's reminder or expiry — and the
    /// deployments parked for checks too long.
    Watchdog,
    /// `cancel <environment> [--all]`: cancel the environment's running deployment on its CI
    /// and end it `error` "cancelled by @x"; with `all`, drop its queued deployments first.
    /// Refusals go to `by` in `channel`.
    CancelRunning {
        repository: Repository,
        environment: Environment,
        all: bool,
        by: SlackUserId,
        channel: SlackChannelId,
        /// The [Cancel] button of one deployment's message: cancel only when that deployment
        /// is the one running (an older message's button cancels nothing else).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        only: Option<DeploymentId>,
    },
    /// GitHub Actions re-ran the finished deployment's run (attempt `attempt`): reopen it, or
    /// cancel the re-run when the environment moved on (`core::ci::rerun`).
    Rerun {
        repository: Repository,
        deployment_id: DeploymentId,
        attempt: u64,
        /// The run's page.
        log_url: Option<String>,
        /// The re-run had ended already when GitHub told (its `completed` event): its outcome
        /// and why, recorded once the deployment is reopened.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        outcome: Option<(DeploymentState, Option<String>)>,
    },
    /// Mark every deployment of an environment inactive (pull request closed).
    Deactivate {
        repository: Repository,
        environment: Environment,
    },
    /// Create the GitHub deployment of a deployment that took its lane's slot.
    Dispatch {
        repository: Repository,
        deployment_id: DeploymentId,
    },
    /// Decide and apply something that happened to a lane (sent by a function that cannot
    /// answer the decision's questions itself: it has no GitHub client).
    Lane {
        lane: crate::lane::LaneKey,
        event: crate::lane::LaneEvent,
    },
    /// Read the repository's workflow file (`.github/deploybot.yml`) from its default branch
    /// — at `at`, or at the branch's head — keep it with the project, and then decide `event`
    /// with it. Sent when the file was never read (setup, first use) or a push to the
    /// default branch touched it.
    Workflow(Box<WorkflowRequest>),
    /// A pull request was opened, reopened or pushed to: when it changes the workflow file
    /// (`base...head`), check the file at `head_sha` and create the `deploybot/config` check
    /// run on it (docs/configuration.md, "The check on pull requests"). Once per
    /// `(repository, head_sha)`.
    CheckWorkflowFile {
        repository: Repository,
        number: u64,
        base_sha: Sha,
        head_sha: Sha,
    },
    /// `rollback <environment> …` in Slack: choose the target and show the person the
    /// preview with [Roll back] / [Cancel] (docs/workflow.md, "Rolling back").
    RollbackPreview(RollbackRequest),
    /// The [Roll back] button: store the rollback as an intent at the head of its lane.
    Rollback(RollbackConfirmed),
}

/// See [`DeploymentCreateRequest::RollbackPreview`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackRequest {
    pub repository: Repository,
    pub environment: Environment,
    /// `to <ref|commit>`, when said.
    pub target: Option<GitRef>,
    pub reason: Option<String>,
    pub user: SlackUserId,
    pub channel: SlackChannelId,
    pub response_url: Option<String>,
}

/// What the preview showed, carried in the [Roll back] button's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackChoice {
    pub repository: Repository,
    pub environment: Environment,
    /// The deployment running when the preview was shown.
    pub from: DeploymentId,
    /// The successful deployment of the target commit.
    pub to: DeploymentId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// See [`DeploymentCreateRequest::Rollback`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackConfirmed {
    pub choice: RollbackChoice,
    /// The rollback's own deployment id (chosen by the caller: a retried invoke finds it).
    pub deployment_id: DeploymentId,
    pub user: SlackUserId,
    pub channel: SlackChannelId,
    pub response_url: Option<String>,
}

/// See [`DeploymentCreateRequest::Workflow`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowRequest {
    pub repository: Repository,
    /// The default branch's commit to read the file at; `None`: its head.
    pub at: Option<Sha>,
    /// The event to decide once the file is read, if any.
    pub event: Option<HandedEvent>,
}

/// A GitHub event handed over to be decided where the workflow file can be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandedEvent {
    pub event: crate::policy::WorkflowEvent,
    pub trigger: Trigger,
    pub commit_author: Option<GithubLogin>,
    pub pr_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentCreateResponse {
    /// The deployment the request concerned, when there was one.
    pub deployment_id: Option<DeploymentId>,
    pub state: Option<DeploymentState>,
    /// Why nothing was created, in words for people.
    pub refused: Option<String>,
}

impl InvokeRequest for DeploymentCreateRequest {
    const FUNCTION: FunctionName = FunctionName::GithubDeploymentCreate;
    type Response = DeploymentCreateResponse;
}

// ---- github-deployment-status -------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentStatusRequest {
    pub repository: Repository,
    pub deployment_id: DeploymentId,
    pub state: DeploymentState,
    pub log_url: Option<String>,
    pub environment_url: Option<String>,
    pub description: Option<String>,
    /// The status was already written to GitHub by someone else (a `deployment_status`
    /// event): only the record and Slack follow.
    #[serde(default)]
    pub from_github: bool,
    /// A CI workflow finished with `state`: when that is a success, the pipeline's other
    /// workflows are looked up first, and while one still runs the deployment is under way
    /// (`in_progress`), not done. The CI webhook hands this look-up over so that it answers
    /// CI at once, whatever the CI API does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_workflow: Option<FinishedWorkflow>,
}

/// One finished workflow of a CI pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishedWorkflow {
    pub pipeline_id: String,
    pub workflow_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentStatusResponse {
    pub state: DeploymentState,
    /// False when the record already had that state or the transition was not allowed.
    pub changed: bool,
}

impl InvokeRequest for DeploymentStatusRequest {
    const FUNCTION: FunctionName = FunctionName::GithubDeploymentStatus;
    type Response = DeploymentStatusResponse;
}

// ---- circleci-trigger ---------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircleciTriggerRequest {
    pub repository: Repository,
    pub deployment_id: DeploymentId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircleciTriggerResponse {
    pub pipeline_id: Option<String>,
    pub state: DeploymentState,
}

impl InvokeRequest for CircleciTriggerRequest {
    const FUNCTION: FunctionName = FunctionName::CircleciTrigger;
    type Response = CircleciTriggerResponse;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_rides_beside_the_typed_request() {
        let repo = Repository::parse("acme/web").expect("valid");
        let id = DeploymentId::parse("000000000000000100000002").expect("valid");
        let request = CircleciTriggerRequest {
            repository: repo,
            deployment_id: id,
        };
        let plain = serde_json::to_value(&request).expect("json");
        assert_eq!(correlation_of(&plain), None);
        let carried = with_correlation(plain, "github:72d3162e-cc78-11e3-81ab-4c9367dc0958");
        assert_eq!(
            correlation_of(&carried).as_deref(),
            Some("github:72d3162e-cc78-11e3-81ab-4c9367dc0958")
        );
        // The first id of a story wins.
        let again = with_correlation(carried.clone(), "watchdog:other");
        assert_eq!(again, carried);
        // The typed request still reads the payload.
        let back: CircleciTriggerRequest = serde_json::from_value(carried).expect("reads");
        assert_eq!(back, request);
        // Tagged requests too.
        let tagged = with_correlation(
            serde_json::to_value(DeploymentCreateRequest::Watchdog).expect("json"),
            "watchdog:1",
        );
        assert_eq!(
            serde_json::from_value::<DeploymentCreateRequest>(tagged).ok(),
            Some(DeploymentCreateRequest::Watchdog)
        );
        // Not an object: left alone.
        assert_eq!(
            with_correlation(serde_json::json!(null), "x"),
            serde_json::json!(null)
        );
        let cases = [
            (serde_json::json!({"correlation_id": "  "}), None),
            (serde_json::json!({"correlation_id": 7}), None),
            (
                serde_json::json!({"correlation_id": "slack:a\nb"}),
                Some("slack:ab".to_owned()),
            ),
            (
                serde_json::json!({"correlation_id": "x".repeat(500)}),
                Some("x".repeat(CORRELATION_MAX_LEN)),
            ),
        ];
        for (payload, want) in cases {
            assert_eq!(correlation_of(&payload), want, "{payload}");
        }
    }

    #[test]
    fn correlation_ids_are_cut_and_cleaned_whatever_their_characters() {
        let max = CORRELATION_MAX_LEN;
        let cases: Vec<(String, String)> = vec![
            ("github:72d3162e".into(), "github:72d3162e".into()),
            ("x".repeat(max), "x".repeat(max)),
            ("x".repeat(max + 1), "x".repeat(max)),
            ("a\u{7f}b\tc".into(), "abc".into()),
            ("a\u{85}b".into(), "ab".into()),
            ("café".into(), "café".into()),
            // A character that would straddle the limit is left out whole.
            (
                ["x".repeat(max - 1), "é".into()].concat(),
                "x".repeat(max - 1),
            ),
            // Dropped characters do not count against the limit.
            (["\n".repeat(10), "y".repeat(max)].concat(), "y".repeat(max)),
        ];
        for (id, want) in cases {
            assert_eq!(bounded_correlation(&id), want, "{id:?}");
        }
    }

    fn with_correlation_text(mut payload: Vec<u8>, correlation: &str) -> Vec<u8> {
        add_correlation_text(&mut payload, correlation);
        payload
    }

    #[test]
    fn correlation_goes_into_json_text_the_same_way() {
        let read = |text: &[u8]| -> serde_json::Value {
            serde_json::from_slice(text).expect("still JSON")
        };
        let id = "github:72d3162e-cc78-11e3-81ab-4c9367dc0958";
        let request = DeploymentCreateRequest::Watchdog;
        let text = serde_json::to_vec(&request).expect("json");
        let carried = with_correlation_text(text.clone(), id);
        let value = read(&carried);
        assert_eq!(correlation_of(&value).as_deref(), Some(id));
        assert_eq!(value, with_correlation(read(&text), id));
        assert_eq!(
            serde_json::from_value::<DeploymentCreateRequest>(value).ok(),
            Some(request)
        );
        // The first id of a story wins; an empty object, a quote or a newline in the id,
        // whitespace before the object.
        assert_eq!(
            with_correlation_text(carried.clone(), "watchdog:x"),
            carried
        );
        for (text, id) in [
            ("{}", "slack:1"),
            ("  { }", "a\"b\nc"),
            ("\n{\"kind\":\"watchdog\"}", "circleci:9"),
        ] {
            let value = read(&with_correlation_text(text.as_bytes().to_vec(), id));
            assert_eq!(value, with_correlation(read(text.as_bytes()), id), "{text}");
        }
        // Not an object: left alone.
        for text in ["null", "[1]", "", "  "] {
            assert_eq!(
                with_correlation_text(text.as_bytes().to_vec(), "x"),
                text.as_bytes()
            );
        }
    }

    #[test]
    fn function_names() {
        for f in FunctionName::ALL {
            assert_eq!(FunctionName::parse(f.as_str()), Some(f));
            assert_eq!(
                serde_json::to_value(f).ok(),
                Some(serde_json::json!(f.as_str()))
            );
        }
        assert_eq!(
            FunctionName::GithubDeploymentCreate.env_var(),
            "FUNCTION_GITHUB_DEPLOYMENT_CREATE"
        );
    }

    #[test]
    fn requests_round_trip_as_json() {
        let repo = Repository::parse("acme/web").expect("valid");
        let id = DeploymentId::parse("000000000000000100000002").expect("valid");
        let req = DeploymentCreateRequest::Recheck {
            repository: repo.clone(),
            deployment_id: id.clone(),
        };
        let json = serde_json::to_value(&req).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"kind": "recheck", "repository": "acme/web", "deployment_id": "000000000000000100000002"})
        );
        assert_eq!(
            serde_json::from_value::<DeploymentCreateRequest>(json).ok(),
            Some(req)
        );
        let bad = serde_json::json!({"kind": "recheck", "repository": "not a repo", "deployment_id": "x"});
        assert!(serde_json::from_value::<DeploymentCreateRequest>(bad).is_err());
    }

    #[test]
    fn github_collaborators_tells_its_two_requests_apart() {
        let repo = Repository::parse("acme/web").expect("valid");
        let check = serde_json::to_value(RepositoryRequest::new(repo.clone())).expect("json");
        assert_eq!(
            check,
            serde_json::json!({"kind": "repository", "repository": "acme/web"})
        );
        // The collaborators request keeps its old shape (no `kind`, `cached` only when set).
        let list = CollaboratorsRequest {
            repository: repo.clone(),
            cached: false,
        };
        assert_eq!(
            serde_json::to_value(&list).expect("json"),
            serde_json::json!({"repository": "acme/web"})
        );
        let old: CollaboratorsRequest =
            serde_json::from_value(serde_json::json!({"repository": "acme/web"})).expect("old");
        assert!(!old.cached);
    }

    #[test]
    fn repository_verdicts_follow_githubs_answer() {
        let info = RepositoryInfo {
            id: 612_345_678,
            full_name: Repository::parse("acme/web").expect("valid"),
            default_branch: "main".into(),
        };
        let cases = [
            (
                Ok(info.clone()),
                RepositoryCheck::Found {
                    info: info.clone(),
                    workflow: None,
                },
            ),
            (
                Err(GitHubError::NotFound("x".into())),
                RepositoryCheck::NotFound,
            ),
            (
                Err(GitHubError::NotInstalled("x".into())),
                RepositoryCheck::NotInstalled,
            ),
            (
                Err(GitHubError::Forbidden("x".into())),
                RepositoryCheck::Forbidden,
            ),
        ];
        for (answer, want) in cases {
            assert_eq!(RepositoryCheck::from_lookup(answer), want);
        }
        for error in [
            GitHubError::Server { status: 502 },
            GitHubError::Transport("timed out".into()),
            GitHubError::RateLimited {
                retry_after_secs: 60,
            },
            GitHubError::Unauthorized("Bad credentials".into()),
        ] {
            assert!(matches!(
                RepositoryCheck::from_lookup(Err(error)),
                RepositoryCheck::Unavailable { .. }
            ));
        }
        let json = serde_json::to_value(RepositoryCheck::Found {
            info,
            workflow: None,
        })
        .expect("json");
        assert_eq!(json["outcome"], "found");
        assert_eq!(json["info"]["id"], 612_345_678);
    }
}
