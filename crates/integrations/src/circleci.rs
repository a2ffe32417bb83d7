//! CircleCI API v2 adapter (implements `CiBackend`): starts the deployment pipeline on a branch or
//! tag with the parameters of docs/workflow.md ("The CircleCI pipeline"), and reads a pipeline's
//! workflows for their links. The token travels in the `Circle-Token` header, never in a URL, and
//! is never logged.
//!
//! Latency budget: called from `circleci-trigger` (an asynchronous invoke); each attempt is
//! bounded by `HttpPolicy::timeout` (10 s by default), a call by `attempts` of those plus the
//! backoffs and at most `max_retry_after` per 429.
//!
//! Idempotency: starting a pipeline is not idempotent (a second POST starts a second
//! pipeline), so it is retried only when the connection was never made or CircleCI answered
//! 429; the caller keeps the returned pipeline id on the deployment (its idempotency key).
//! Reading workflows is retried after timeouts, connection errors and 5xx.

use crate::http::{
    HttpPolicy, Idempotency, Sleeper, TokioSleeper, error_chain, retry_after, secret_header,
    send_with_retries,
};
use async_trait::async_trait;
use deploybot_core::ci::CiTarget;
use deploybot_core::ports::{
    CiBackend, CiError, CiRun, PipelineRequest, PipelineStarted, WorkflowInfo,
};
use deploybot_core::{DeploymentId, GitRef, Repository, Sha};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// CircleCI's API v2.
pub const DEFAULT_API_URL: &str = "https://circleci.com/api/v2";
/// Where people open pipelines.
pub const DEFAULT_APP_URL: &str = "https://app.circleci.com";

/// How many pages of workflows are read at most (a deployment pipeline has one or two).
const MAX_WORKFLOW_PAGES: usize = 10;

/// Where the adapter sends requests, where its links point, and with which token.
#[derive(Debug, Clone)]
pub struct CircleCiConfig {
    /// API base without a trailing slash (`CIRCLECI_API_URL`, default [`DEFAULT_API_URL`]).
    pub api_url: String,
    /// Web app base for links (`CIRCLECI_APP_URL`, default [`DEFAULT_APP_URL`]).
    pub app_url: String,
    /// A personal API token (`CIRCLECI_TOKEN`).
    pub token: SecretString,
    pub policy: HttpPolicy,
}

impl CircleCiConfig {
    /// The public API and app with the default policy.
    pub fn new(token: SecretString) -> Self {
        Self {
            api_url: DEFAULT_API_URL.into(),
            app_url: DEFAULT_APP_URL.into(),
            token,
            policy: HttpPolicy::default(),
        }
    }

    /// `CIRCLECI_API_URL` and `CIRCLECI_APP_URL` from the process environment, when set.
    pub fn from_env(token: SecretString) -> Self {
        Self::from_lookup(token, |name| std::env::var(name).ok())
    }

    /// Like [`CircleCiConfig::from_env`] with the variables read through `lookup`.
    pub fn from_lookup(token: SecretString, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut config = Self::new(token);
        if let Some(url) = set("CIRCLECI_API_URL") {
            config = config.with_api_url(&url);
        }
        if let Some(url) = set("CIRCLECI_APP_URL") {
            config = config.with_app_url(&url);
        }
        config
    }

    pub fn with_api_url(mut self, url: &str) -> Self {
        self.api_url = url.trim().trim_end_matches('/').to_owned();
        self
    }

    pub fn with_app_url(mut self, url: &str) -> Self {
        self.app_url = url.trim().trim_end_matches('/').to_owned();
        self
    }

    pub fn with_policy(mut self, policy: HttpPolicy) -> Self {
        self.policy = policy;
        self
    }
}

/// The CircleCI adapter.
#[derive(Debug, Clone)]
pub struct CircleCiClient {
    http: reqwest::Client,
    config: CircleCiConfig,
    sleeper: Arc<dyn Sleeper>,
}

/// What a request is about, for error messages a person can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target<'a> {
    /// A project slug (`gh/acme/web`).
    Project(&'a str),
    /// A pipeline id.
    Pipeline(&'a str),
    /// A project slug and a pipeline definition id.
    Definition(&'a str, &'a str),
}

/// HTTP 401/403: the token was refused.
fn token_refused() -> CiError {
    CiError::Unauthorized("CircleCI refused the token: check CIRCLECI_TOKEN".into())
}

/// HTTP 404 for `target`.
fn not_found(target: Target<'_>) -> CiError {
    CiError::NotFound(match target {
        Target::Project(slug) => {
            format!("project {slug} is not followed on CircleCI, or the token cannot see it")
        }
        Target::Pipeline(id) => {
            format!("pipeline {id} is not known to CircleCI, or the token cannot see it")
        }
        Target::Definition(slug, id) => format!(
            "CircleCI knows no pipeline definition {id} in project {slug} (or the token cannot see them): check `definition_id` under Project Settings → Pipelines and `project_slug` in .github/deploybot.yml"
        ),
    })
}

/// HTTP 400 for `target`: CircleCI's `message`, plus how to fix the usual cause (a parameter
/// the project's config does not declare: `Unexpected argument(s): environment`).
fn rejected(target: Target<'_>, message: &str) -> CiError {
    let what = match target {
        Target::Project(slug) | Target::Definition(slug, _) => {
            format!("CircleCI refused to start a pipeline for {slug}")
        }
        Target::Pipeline(id) => format!("CircleCI refused the request for pipeline {id}"),
    };
    let lower = message.to_ascii_lowercase();
    if lower.contains("argument") || lower.contains("parameter") {
        CiError::Rejected(format!(
            "{what}: {message}. Every pipeline parameter deploybot sends (environment, version, \
             subdomain, url, sha, deployment_id, rollback) must be declared under `parameters:` in \
             .circleci/config.yml"
        ))
    } else {
        CiError::Rejected(format!("{what}: {message}"))
    }
}

fn transport(error: reqwest::Error) -> CiError {
    if error.is_timeout() {
        CiError::Transport("CircleCI did not answer in time".into())
    } else {
        CiError::Transport(error_chain(&error.without_url()))
    }
}

#[derive(Serialize)]
struct TriggerBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    branch: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<&'a str>,
    parameters: Parameters<'a>,
}

/// The pipeline parameters (docs/workflow.md, "The CircleCI pipeline"); `subdomain` and `url` are
/// left out when there is none (production has no subdomain), so the config's defaults apply.
#[derive(Serialize)]
struct Parameters<'a> {
    environment: String,
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    subdomain: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    sha: &'a Sha,
    deployment_id: &'a DeploymentId,
    rollback: bool,
}

#[derive(Deserialize)]
struct Created {
    id: String,
    number: u64,
}

#[derive(Deserialize)]
struct WorkflowPage {
    #[serde(default)]
    items: Vec<WorkflowItem>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct WorkflowItem {
    id: String,
    name: String,
    status: String,
    pipeline_number: u64,
    project_slug: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    message: String,
}

/// `/pipeline/run`'s body: the definition, where its config and checkout come from.
#[derive(Serialize)]
struct RunBody<'a> {
    definition_id: &'a str,
    config: RunSource<'a>,
    checkout: RunSource<'a>,
    parameters: Parameters<'a>,
}

/// A branch or a tag, for `config` and `checkout`.
#[derive(Serialize, Clone, Copy)]
struct RunSource<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    branch: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<&'a str>,
}

fn project_slug_of(repository: &Repository) -> String {
    format!("gh/{}/{}", repository.owner(), repository.name())
}

impl CircleCiClient {
    pub fn new(config: CircleCiConfig) -> Result<Self, CiError> {
        let http = crate::http::client(&config.policy)
            .map_err(|e| CiError::Transport(format!("building the HTTP client: {e}")))?;
        Ok(Self {
            http,
            config,
            sleeper: Arc::new(TokioSleeper),
        })
    }

    /// Replaces how the client waits between attempts (tests record the waits).
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// `api_url` followed by `segments`, each percent-encoded as one path segment.
    fn url(&self, segments: &[&str]) -> Result<reqwest::Url, CiError> {
        let mut url = reqwest::Url::parse(&self.config.api_url)
            .map_err(|e| CiError::Transport(format!("CIRCLECI_API_URL is not a URL: {e}")))?;
        url.path_segments_mut()
            .map_err(|()| CiError::Transport("CIRCLECI_API_URL cannot hold a path".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// The link people open for a pipeline.
    fn pipeline_link(&self, slug: &str, number: u64) -> String {
        format!("{}/pipelines/{slug}/{number}", self.config.app_url)
    }

    async fn send(
        &self,
        idempotency: Idempotency,
        target: Target<'_>,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Vec<u8>, CiError> {
        let token = secret_header(self.config.token.expose_secret()).ok_or_else(|| {
            CiError::Unauthorized(
                "CIRCLECI_TOKEN is not a valid header value: check CIRCLECI_TOKEN".into(),
            )
        })?;
        let response = send_with_retries(&self.config.policy, idempotency, &*self.sleeper, || {
            build(&self.http)
                .header("Circle-Token", token.clone())
                .header(reqwest::header::ACCEPT, "application/json")
        })
        .await
        .map_err(transport)?;
        let status = response.status();
        let retry_after_secs = retry_after(response.headers());
        let body = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        let message = serde_json::from_slice::<ErrorBody>(&body)
            .map(|b| b.message)
            .unwrap_or_else(|_| String::from_utf8_lossy(&body).trim().to_owned());
        tracing::debug!(status = status.as_u16(), %message, "CircleCI refused");
        crate::http::provider_error("circleci", status.as_u16());
        Err(match status.as_u16() {
            401 | 403 => token_refused(),
            404 => not_found(target),
            400 => rejected(target, &message),
            429 => CiError::RateLimited {
                retry_after_secs: retry_after_secs.unwrap_or(0),
            },
            status => CiError::Server { status },
        })
    }
}

/// Reads a successful answer.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, CiError> {
    serde_json::from_slice(body).map_err(|e| CiError::InvalidResponse(format!("{what}: {e}")))
}

#[async_trait]
impl CiBackend for CircleCiClient {
    fn name(&self) -> &'static str {
        "CircleCI"
    }

    /// `POST /project/{slug}/pipeline`, or with a pipeline definition
    /// `POST /project/{slug}/pipeline/run` (every GitHub integration, CircleCI's GitHub App
    /// included), on the branch or tag with the deployment's parameters.
    async fn start_pipeline(&self, request: &PipelineRequest) -> Result<PipelineStarted, CiError> {
        let repository = &request.repository;
        let (slug, definition_id) = match &request.target {
            CiTarget::CircleCi {
                project_slug,
                definition_id,
            } => (
                project_slug
                    .clone()
                    .unwrap_or_else(|| project_slug_of(repository)),
                definition_id.clone(),
            ),
            other => {
                return Err(CiError::Rejected(format!(
                    "{other} is not a CircleCI project"
                )));
            }
        };
        // CircleCI takes a branch or a tag, never a SHA (the SHA is a parameter); a name
        // typed by a person is passed as a branch.
        let (branch, tag) = match &request.git_ref {
            GitRef::Tag(tag) => (None, Some(tag.as_str())),
            GitRef::Branch(name) | GitRef::Name(name) => (Some(name.as_str()), None),
        };
        let p = &request.parameters;
        let parameters = Parameters {
            environment: p.environment.to_string(),
            version: &p.version,
            subdomain: p.subdomain.as_deref(),
            url: p.url.as_deref(),
            sha: &p.sha,
            deployment_id: &p.deployment_id,
            rollback: p.rollback,
        };
        let mut segments = vec!["project"];
        segments.extend(slug.split('/'));
        segments.push("pipeline");
        let body = match &definition_id {
            None => serde_json::to_value(TriggerBody {
                branch,
                tag,
                parameters,
            }),
            Some(definition_id) => {
                segments.push("run");
                let source = RunSource { branch, tag };
                serde_json::to_value(RunBody {
                    definition_id,
                    config: source,
                    checkout: source,
                    parameters,
                })
            }
        }
        .map_err(|e| CiError::InvalidResponse(format!("encoding the request: {e}")))?;
        let url = self.url(&segments)?;
        let target = match &definition_id {
            Some(id) => Target::Definition(&slug, id),
            None => Target::Project(&slug),
        };
        let answer = self
            .send(Idempotency::NotIdempotent, target, |http| {
                http.post(url.clone()).json(&body)
            })
            .await?;
        let created: Created = parse(&answer, "the started pipeline")?;
        tracing::info!(pipeline_id = %created.id, number = created.number, project = %slug, "pipeline started");
        Ok(PipelineStarted {
            url: Some(self.pipeline_link(&slug, created.number)),
            id: created.id,
            number: created.number,
        })
    }

    async fn pipeline_workflows(&self, run: &CiRun) -> Result<Vec<WorkflowInfo>, CiError> {
        self.workflows_of(&run.id).await
    }

    /// `POST /workflow/{id}/cancel` for each workflow of the pipeline still going.
    async fn cancel_run(&self, run: &CiRun) -> Result<(), CiError> {
        let workflows = self.workflows_of(&run.id).await?;
        for w in workflows
            .iter()
            .filter(|w| STILL_GOING.contains(&w.status.as_str()))
        {
            let url = self.url(&["workflow", &w.id, "cancel"])?;
            // Cancelling twice is harmless: retried like a read.
            self.send(Idempotency::Idempotent, Target::Pipeline(&run.id), |http| {
                http.post(url.clone())
            })
            .await?;
            tracing::info!(pipeline = %run.id, workflow = %w.id, "workflow cancelled");
        }
        Ok(())
    }
}

/// Workflow statuses of a workflow that can still be cancelled.
const STILL_GOING: [&str; 3] = ["running", "on_hold", "failing"];

impl CircleCiClient {
    /// A pipeline's workflows, by pipeline id (whatever the project's slug).
    pub async fn workflows_of(&self, pipeline_id: &str) -> Result<Vec<WorkflowInfo>, CiError> {
        let base = self.url(&["pipeline", pipeline_id, "workflow"])?;
        let target = Target::Pipeline(pipeline_id);
        let mut workflows = Vec::new();
        let mut page_token: Option<String> = None;
        for _ in 0..MAX_WORKFLOW_PAGES {
            let mut url = base.clone();
            if let Some(token) = &page_token {
                url.query_pairs_mut().append_pair("page-token", token);
            }
            let answer = self
                .send(Idempotency::Idempotent, target, |http| {
                    http.get(url.clone())
                })
                .await?;
            let page: WorkflowPage = parse(&answer, "the pipeline's workflows")?;
            workflows.extend(page.items.into_iter().map(|w| WorkflowInfo {
                url: format!(
                    "{}/workflows/{}",
                    self.pipeline_link(&w.project_slug, w.pipeline_number),
                    w.id
                ),
                id: w.id,
                name: w.name,
                status: w.status,
            }));
            page_token = page.next_page_token.filter(|t| !t.is_empty());
            if page_token.is_none() {
                break;
            }
        }
        Ok(workflows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deploybot_core::ports::PipelineParameters;
    use deploybot_core::{Environment, Timestamp};
    use serde_json::json;

    #[test]
    fn config_reads_both_urls() {
        let token = SecretString::from("circle-secret-token");
        let config = CircleCiConfig::from_lookup(token, |name| match name {
            "CIRCLECI_API_URL" => Some("http://127.0.0.1:9/api/v2/".into()),
            "CIRCLECI_APP_URL" => Some("http://127.0.0.1:9/app".into()),
            _ => None,
        });
        assert_eq!(config.api_url, "http://127.0.0.1:9/api/v2");
        assert_eq!(config.app_url, "http://127.0.0.1:9/app");
        assert!(!format!("{config:?}").contains("circle-secret-token"));
        let default = CircleCiConfig::from_lookup(SecretString::from("t"), |_| None);
        assert_eq!(
            (default.api_url.as_str(), default.app_url.as_str()),
            (DEFAULT_API_URL, DEFAULT_APP_URL)
        );
    }

    #[test]
    fn production_parameters_have_no_subdomain() {
        let parameters = PipelineParameters {
            environment: Environment::Production,
            version: "v1.2.0".into(),
            subdomain: None,
            url: None,
            sha: Sha::parse("0123456789abcdef0123456789abcdef01234567").expect("sha"),
            deployment_id: DeploymentId::new(Timestamp::from_secs(1_700_000_000), 1),
            rollback: false,
        };
        let body = TriggerBody {
            branch: None,
            tag: Some("v1.2.0"),
            parameters: Parameters {
                environment: parameters.environment.to_string(),
                version: &parameters.version,
                subdomain: None,
                url: None,
                sha: &parameters.sha,
                deployment_id: &parameters.deployment_id,
                rollback: parameters.rollback,
            },
        };
        assert_eq!(
            serde_json::to_value(&body).expect("encodes"),
            json!({
                "tag": "v1.2.0",
                "parameters": {
                    "environment": "production",
                    "version": "v1.2.0",
                    "sha": "0123456789abcdef0123456789abcdef01234567",
                    "deployment_id": parameters.deployment_id.to_string(),
                    "rollback": false,
                }
            })
        );
    }

    #[test]
    fn rejection_explains_undeclared_parameters() {
        let CiError::Rejected(text) = rejected(
            Target::Project("gh/acme/web"),
            "Unexpected argument(s): environment",
        ) else {
            panic!("a rejection");
        };
        assert!(text.contains("gh/acme/web"), "{text}");
        assert!(
            text.contains("Unexpected argument(s): environment"),
            "{text}"
        );
        assert!(text.contains("must be declared"), "{text}");
        assert!(text.contains(".circleci/config.yml"), "{text}");
        let CiError::Rejected(other) = rejected(Target::Project("gh/acme/web"), "Branch not found")
        else {
            panic!("a rejection");
        };
        assert!(!other.contains("config.yml"), "{other}");
    }
}
