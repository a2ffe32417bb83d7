//! GitHub REST adapter, authenticated as a GitHub App (implements `GitHub`).
//!
//! Latency budget: every request is bounded by `HttpPolicy::timeout` (10 s by default) and
//! retried at most `attempts` times; a cold call adds two App requests (installation lookup,
//! token) which are then cached. Idempotency: reads, deployment statuses, token requests and
//! comment edits are retried after timeouts, connection errors and 5xx answers (sending them
//! twice is harmless: a duplicate status repeats the same state). **Creating a deployment is
//! not retried** once the request may have reached GitHub — a timeout may hide a deployment
//! that exists — only when the connection was never made; neither is creating a check run
//! (its caller holds an idempotency key per commit). Creating a PR comment is made
//! idempotent by its hidden marker: a retry looks the comment up again before posting.

mod actions;
mod auth;
mod checks;
mod request;
mod shipping;
mod wire;

use crate::http::{self, HttpPolicy, Idempotency, Sleeper, TokioSleeper};
use async_trait::async_trait;
use auth::{AppKey, CachedToken};
use deploybot_core::ports::{
    ChangedFiles, ChecksSummary, Clock, CreateDeploymentOutcome, GitHub, GitHubError, NewCheckRun,
    NewDeploymentStatus, NewGithubDeployment, RepositoryFile, RepositoryInfo, ResolvedRef,
};
use deploybot_core::required_checks::{CheckState, ReportedCheck};
use deploybot_core::{DeploymentState, GitRef, GithubLogin, Repository, Sha};
use request::Answer;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;
use url::Url;

pub use actions::{DISPATCH_INPUTS, GitHubActions};
pub use auth::{JWT_LIFETIME_SECS, TOKEN_REFRESH_MARGIN_SECS};

/// GitHub's public API.
pub const DEFAULT_API_URL: &str = "https://api.github.com";
/// GitHub's limit on a deployment status description.
pub const MAX_STATUS_DESCRIPTION_CHARS: usize = 140;
/// GitHub's limit on the files a comparison lists.
pub const MAX_COMPARED_FILES: usize = 300;
/// GitHub's limit on a check run's annotations per request.
pub const MAX_CHECK_ANNOTATIONS: usize = 50;
/// Pages followed at most for one list (100 items each).
const MAX_PAGES: usize = 100;

/// Where GitHub is and who the App is.
#[derive(Clone)]
pub struct GitHubConfig {
    /// `GITHUB_API_URL` (default [`DEFAULT_API_URL`]; GitHub Enterprise: `https://host/api/v3`).
    pub api_url: Url,
    /// `GITHUB_APP_ID`: the App's id (or client id), the JWT issuer.
    pub app_id: String,
    /// `GITHUB_APP_PRIVATE_KEY`: the App's RSA private key, PEM.
    pub private_key: SecretString,
    pub policy: HttpPolicy,
}

impl std::fmt::Debug for GitHubConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubConfig")
            .field("api_url", &self.api_url.as_str())
            .field("app_id", &self.app_id)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl GitHubConfig {
    /// The public API with the default policy.
    pub fn new(app_id: impl Into<String>, private_key: SecretString) -> Self {
        Self {
            api_url: Url::parse(DEFAULT_API_URL).expect("DEFAULT_API_URL is a valid URL"),
            app_id: app_id.into(),
            private_key,
            policy: HttpPolicy::default(),
        }
    }

    /// From `GITHUB_API_URL` (optional), `GITHUB_APP_ID` and `GITHUB_APP_PRIVATE_KEY`.
    pub fn from_env() -> Result<Self, GitHubError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`GitHubConfig::from_env`], reading variables through `lookup`. A private key
    /// whose line breaks arrive as literal `\n` (common in environment variables) is
    /// accepted.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, GitHubError> {
        let required = |name: &str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| GitHubError::Config(format!("{name} is not set")))
        };
        let app_id = required("GITHUB_APP_ID")?.trim().to_owned();
        let private_key = required("GITHUB_APP_PRIVATE_KEY")?;
        let private_key = SecretString::from(private_key.trim().replace("\\n", "\n"));
        let mut config = Self::new(app_id, private_key);
        if let Some(url) = lookup("GITHUB_API_URL").filter(|v| !v.trim().is_empty()) {
            config.api_url = parse_api_url(&url)?;
        }
        Ok(config)
    }

    /// Points the adapter elsewhere (a fake, GitHub Enterprise).
    pub fn with_api_url(mut self, url: &str) -> Result<Self, GitHubError> {
        self.api_url = parse_api_url(url)?;
        Ok(self)
    }

    pub fn with_policy(mut self, policy: HttpPolicy) -> Self {
        self.policy = policy;
        self
    }
}

fn parse_api_url(text: &str) -> Result<Url, GitHubError> {
    let url = Url::parse(text.trim())
        .map_err(|e| GitHubError::Config(format!("GITHUB_API_URL `{text}` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(GitHubError::Config(format!(
            "GITHUB_API_URL `{text}` must be an http(s) URL"
        )));
    }
    Ok(url)
}

/// The GitHub adapter. Cheap to share (`Arc`); caches installation ids and tokens.
pub struct GitHubClient {
    http: reqwest::Client,
    api_url: Url,
    policy: HttpPolicy,
    app: AppKey,
    clock: Arc<dyn Clock>,
    sleeper: Arc<dyn Sleeper>,
    /// Repository → the App installation that serves it. Held across the lookup so
    /// concurrent cold callers make one request.
    installations: Mutex<HashMap<Repository, u64>>,
    /// Installation → its token. Held across the token request (no stampede).
    tokens: Mutex<HashMap<u64, CachedToken>>,
}

impl std::fmt::Debug for GitHubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubClient")
            .field("api_url", &self.api_url.as_str())
            .field("app", &self.app)
            .finish_non_exhaustive()
    }
}

impl GitHubClient {
    /// Reads the private key and builds the HTTP client; `clock` drives JWT times and token
    /// expiry.
    pub fn new(config: GitHubConfig, clock: Arc<dyn Clock>) -> Result<Self, GitHubError> {
        let app = AppKey::new(&config.app_id, &config.private_key)?;
        let http = http::client(&config.policy)
            .map_err(|e| GitHubError::Config(format!("building the HTTP client: {e}")))?;
        Ok(Self {
            http,
            api_url: config.api_url,
            policy: config.policy,
            app,
            clock,
            sleeper: Arc::new(TokioSleeper),
            installations: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// Replaces how the adapter waits between attempts (tests record the waits).
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// `api_url` + the path segments (each percent-encoded; a segment may not hold `/`).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.api_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    fn repo_url(&self, repository: &Repository, rest: &[&str]) -> Url {
        let mut segments = vec!["repos", repository.owner(), repository.name()];
        segments.extend_from_slice(rest);
        self.url(&segments)
    }

    /// A commit's combined status (`GET .../commits/{sha}/status`, the first page of 100); an
    /// unknown commit (422) is [`GitHubError::NotFound`].
    async fn combined_status(
        &self,
        repository: &Repository,
        sha: &Sha,
    ) -> Result<wire::CombinedStatus, GitHubError> {
        let what = format!("commit {} in {repository}", sha.short());
        let url = Self::with_per_page(
            self.repo_url(repository, &["commits", sha.as_str(), "status"]),
            &[],
        );
        let answer = self
            .call(repository, Idempotency::Idempotent, Method::GET, &url, None)
            .await?;
        if answer.status != StatusCode::OK {
            return Err(if answer.status == StatusCode::UNPROCESSABLE_ENTITY {
                GitHubError::NotFound(what)
            } else {
                answer.refused(&what)
            });
        }
        let combined: wire::CombinedStatus = answer.json()?;
        Ok(combined)
    }

    /// GitHub's comparison of `base...head` (`GET /repos/{owner}/{repo}/compare/...`), answered
    /// 200; a missing commit is [`GitHubError::NotFound`].
    async fn compare(
        &self,
        repository: &Repository,
        base: &Sha,
        head: &Sha,
    ) -> Result<Answer, GitHubError> {
        let range = format!("{base}...{head}");
        let url = self.repo_url(repository, &["compare", &range]);
        let answer = self
            .call(repository, Idempotency::Idempotent, Method::GET, &url, None)
            .await?;
        let what = format!(
            "comparison of {} with {} in {repository}",
            base.short(),
            head.short()
        );
        match answer.status {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Err(GitHubError::NotFound(what)),
            _ => return Err(answer.refused(&what)),
        }
        Ok(answer)
    }

    /// One request with this `Authorization` bearer.
    async fn send_as(
        &self,
        authorization: &SecretString,
        idempotency: Idempotency,
        method: Method,
        url: &Url,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, GitHubError> {
        request::send(
            &self.http,
            &self.policy,
            self.sleeper.as_ref(),
            idempotency,
            method,
            url,
            authorization,
            body,
            self.clock.now(),
        )
        .await
    }

    /// One request as the App itself (JWT): installation lookups and token requests.
    async fn call_app(&self, method: Method, url: &Url) -> Result<Answer, GitHubError> {
        let jwt = self.app.jwt(self.clock.now())?;
        self.send_as(&jwt, Idempotency::Idempotent, method, url, None)
            .await
    }

    /// One request as the installation serving `repository`. An installation token GitHub
    /// refuses (revoked early) is dropped and the request sent once more with a fresh one.
    async fn call(
        &self,
        repository: &Repository,
        idempotency: Idempotency,
        method: Method,
        url: &Url,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, GitHubError> {
        let mut renewed = false;
        loop {
            let (token, installation) = self.installation_token(repository).await?;
            match self
                .send_as(&token, idempotency, method.clone(), url, body)
                .await
            {
                Err(GitHubError::Unauthorized(_)) if !renewed => {
                    tracing::info!(installation, "installation token refused; renewing it");
                    self.tokens.lock().await.remove(&installation);
                    renewed = true;
                }
                sent => return sent,
            }
        }
    }

    /// The installation serving `repository` (cached).
    async fn installation_id(&self, repository: &Repository) -> Result<u64, GitHubError> {
        let mut installations = self.installations.lock().await;
        if let Some(id) = installations.get(repository) {
            return Ok(*id);
        }
        let url = self.repo_url(repository, &["installation"]);
        let answer = self.call_app(Method::GET, &url).await?;
        if answer.status != StatusCode::OK {
            return Err(answer.refused(&format!(
                "a GitHub App installation for {repository} (is the App installed on it?)"
            )));
        }
        let installation: wire::Installation = answer.json()?;
        installations.insert(repository.clone(), installation.id);
        Ok(installation.id)
    }

    /// A token for the installation serving `repository`: the cached one while it has more
    /// than five minutes left, else a new one.
    async fn installation_token(
        &self,
        repository: &Repository,
    ) -> Result<(SecretString, u64), GitHubError> {
        let installation = self.installation_id(repository).await?;
        let mut tokens = self.tokens.lock().await;
        let now = self.clock.now();
        if let Some(cached) = tokens.get(&installation).filter(|t| t.is_fresh(now)) {
            return Ok((cached.token.clone(), installation));
        }
        let id_text = installation.to_string();
        let url = self.url(&["app", "installations", &id_text, "access_tokens"]);
        let answer = self.call_app(Method::POST, &url).await?;
        if answer.status != StatusCode::CREATED && answer.status != StatusCode::OK {
            if answer.status == StatusCode::NOT_FOUND {
                // Uninstalled or reinstalled: look the installation up again next time.
                self.installations.lock().await.remove(repository);
            }
            return Err(answer.refused(&format!("GitHub App installation {installation}")));
        }
        let granted: wire::AccessToken = answer.json()?;
        let expires_at = auth::parse_rfc3339(&granted.expires_at).ok_or_else(|| {
            GitHubError::InvalidResponse(format!(
                "installation token expiry `{}` is not an RFC 3339 time",
                granted.expires_at
            ))
        })?;
        let token = SecretString::from(granted.token);
        tokens.insert(
            installation,
            CachedToken {
                token: token.clone(),
                expires_at,
            },
        );
        tracing::debug!(
            installation,
            expires_at = expires_at.secs(),
            "new installation token"
        );
        Ok((token, installation))
    }

    /// Every page of a list, following `Link: <…>; rel="next"` as given (GitHub's links may
    /// name the repository by id). Links that leave the API's origin are refused: the token
    /// would go with them.
    async fn all_pages<T>(
        &self,
        repository: &Repository,
        first: Url,
        what: &str,
        items: impl Fn(&Answer) -> Result<Vec<T>, GitHubError>,
    ) -> Result<Vec<T>, GitHubError> {
        let mut all = Vec::new();
        let mut url = first;
        for _ in 0..MAX_PAGES {
            let answer = self
                .call(repository, Idempotency::Idempotent, Method::GET, &url, None)
                .await?;
            if answer.status != StatusCode::OK {
                return Err(answer.refused(what));
            }
            all.extend(items(&answer)?);
            let Some(next) = answer.next_page() else {
                return Ok(all);
            };
            let next = Url::parse(&next).map_err(|e| {
                GitHubError::InvalidResponse(format!("a pagination link that is not a URL: {e}"))
            })?;
            if next.origin() != self.api_url.origin() {
                return Err(GitHubError::InvalidResponse(format!(
                    "a pagination link to another host ({})",
                    next.origin().ascii_serialization()
                )));
            }
            url = next;
        }
        Err(GitHubError::InvalidResponse(format!(
            "{what}: more than {MAX_PAGES} pages"
        )))
    }

    fn with_per_page(mut url: Url, extra: &[(&str, &str)]) -> Url {
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("per_page", "100");
            for (key, value) in extra {
                query.append_pair(key, value);
            }
        }
        url
    }

    async fn list_comments(
        &self,
        repository: &Repository,
        pr_number: u64,
    ) -> Result<Vec<wire::IssueComment>, GitHubError> {
        let number = pr_number.to_string();
        let url = Self::with_per_page(
            self.repo_url(repository, &["issues", &number, "comments"]),
            &[],
        );
        let what = format!("pull request #{pr_number} in {repository}");
        self.all_pages(repository, url, &what, |a| a.json()).await
    }
}

/// GitHub's name for a deployment state (`created` and the pending states have none of their
/// own: `pending`; the states of a deployment that never ran are never sent, as it has no
/// GitHub deployment: `inactive`).
pub fn github_state_name(state: DeploymentState) -> &'static str {
    match state {
        DeploymentState::Waiting
        | DeploymentState::Ready
        | DeploymentState::WaitingForChecks
        | DeploymentState::Created => "pending",
        DeploymentState::Queued => "queued",
        DeploymentState::InProgress => "in_progress",
        DeploymentState::Success => "success",
        DeploymentState::Failure => "failure",
        DeploymentState::Error => "error",
        DeploymentState::Inactive
        | DeploymentState::Superseded
        | DeploymentState::Skipped
        | DeploymentState::Cancelled
        | DeploymentState::Expired => "inactive",
    }
}

/// At most [`MAX_STATUS_DESCRIPTION_CHARS`] characters, cut on a character boundary (with an
/// ellipsis when cut).
pub fn truncate_description(text: &str) -> String {
    if text.chars().count() <= MAX_STATUS_DESCRIPTION_CHARS {
        return text.to_owned();
    }
    let mut cut: String = text
        .chars()
        .take(MAX_STATUS_DESCRIPTION_CHARS - 1)
        .collect();
    cut.push('…');
    cut
}

/// The ref as GitHub's commits endpoint takes it: `heads/<branch>`, `tags/<tag>`, or the name.
fn commit_reference(git_ref: &GitRef) -> String {
    match git_ref {
        GitRef::Branch(branch) => format!("heads/{branch}"),
        GitRef::Tag(tag) => format!("tags/{tag}"),
        GitRef::Name(name) => name.clone(),
    }
}

#[async_trait]
impl GitHub for GitHubClient {
    async fn collaborators(
        &self,
        repository: &Repository,
    ) -> Result<Vec<GithubLogin>, GitHubError> {
        let url = Self::with_per_page(
            self.repo_url(repository, &["collaborators"]),
            &[("affiliation", "all")],
        );
        let what = format!("repository {repository}");
        let accounts: Vec<wire::Account> =
            self.all_pages(repository, url, &what, |a| a.json()).await?;
        let mut logins = Vec::with_capacity(accounts.len());
        for account in accounts {
            match GithubLogin::parse(&account.login) {
                Ok(login) if !logins.contains(&login) => logins.push(login),
                Ok(_) => {}
                Err(_) => tracing::debug!(login = %account.login, "skipping an unusual login"),
            }
        }
        Ok(logins)
    }

    async fn team_members(
        &self,
        repository: &Repository,
        team: &deploybot_core::approval::Team,
    ) -> Result<Vec<GithubLogin>, GitHubError> {
        let url = Self::with_per_page(
            self.url(&["orgs", team.org(), "teams", team.slug(), "members"]),
            &[],
        );
        let what = format!("team {team}");
        let accounts: Vec<wire::Account> =
            self.all_pages(repository, url, &what, |a| a.json()).await?;
        let mut logins = Vec::with_capacity(accounts.len());
        for account in accounts {
            match GithubLogin::parse(&account.login) {
                Ok(login) if !logins.contains(&login) => logins.push(login),
                Ok(_) => {}
                Err(_) => tracing::debug!(login = %account.login, "skipping an unusual login"),
            }
        }
        Ok(logins)
    }

    async fn resolve_ref(
        &self,
        repository: &Repository,
        git_ref: &GitRef,
    ) -> Result<ResolvedRef, GitHubError> {
        let reference = commit_reference(git_ref);
        let mut segments = vec!["commits"];
        segments.extend(reference.split('/'));
        let url = self.repo_url(repository, &segments);
        let answer = self
            .call(repository, Idempotency::Idempotent, Method::GET, &url, None)
            .await?;
        let what = format!("ref `{}` in {repository}", git_ref.short_name());
        match answer.status {
            StatusCode::OK => {}
            // GitHub answers 422 "No commit found for SHA: …" for an unknown ref.
            StatusCode::NOT_FOUND | StatusCode::UNPROCESSABLE_ENTITY => {
                return Err(GitHubError::NotFound(what));
            }
            _ => return Err(answer.refused(&what)),
        }
        let commit: wire::Commit = answer.json()?;
        let sha = Sha::parse(&commit.sha)
            .map_err(|e| GitHubError::InvalidResponse(format!("commit sha: {e}")))?;
        let author = commit
            .author
            .and_then(|account| GithubLogin::parse(&account.login).ok());
        Ok(ResolvedRef { sha, author })
    }

    async fn compare_commits(
        &self,
        repository: &Repository,
        base: &Sha,
        head: &Sha,
    ) -> Result<String, GitHubError> {
        let comparison: wire::Comparison = self.compare(repository, base, head).await?.json()?;
        Ok(comparison.status)
    }

    async fn changed_files(
        &self,
        repository: &Repository,
        base: &Sha,
        head: &Sha,
    ) -> Result<ChangedFiles, GitHubError> {
        let comparison: wire::ComparisonFiles =
            self.compare(repository, base, head).await?.json()?;
        let complete = comparison.files.len() < MAX_COMPARED_FILES;
        let mut paths = Vec::with_capacity(comparison.files.len());
        for entry in comparison.files {
            for path in std::iter::once(entry.filename).chain(entry.previous_filename) {
                if !paths.contains(&path) {
                    paths.push(path);
                }
            }
        }
        Ok(ChangedFiles { paths, complete })
    }

    async fn comparison(
        &self,
        repository: &Repository,
        base: &Sha,
        head: &Sha,
    ) -> Result<deploybot_core::shipping::Comparison, GitHubError> {
        let listed: wire::ComparisonCommits = self.compare(repository, base, head).await?.json()?;
        shipping::comparison(self, repository, base, head, listed).await
    }

    async fn create_check_run(&self, run: &NewCheckRun) -> Result<u64, GitHubError> {
        let repository = &run.repository;
        let annotations = run
            .annotations
            .iter()
            .take(MAX_CHECK_ANNOTATIONS)
            .map(|a| wire::CheckRunAnnotation {
                path: &a.path,
                start_line: a.start_line,
                end_line: a.end_line,
                annotation_level: "failure",
                message: &a.message,
            })
            .collect();
        let body = serde_json::to_value(wire::CreateCheckRun {
            name: &run.name,
            head_sha: run.head_sha.as_str(),
            status: "completed",
            conclusion: run.conclusion.as_str(),
            output: wire::CheckRunOutput {
                title: &run.title,
                summary: &run.summary,
                annotations,
            },
        })
        .map_err(|e| GitHubError::InvalidResponse(format!("check run request: {e}")))?;
        let url = self.repo_url(repository, &["check-runs"]);
        let answer = self
            .call(
                repository,
                Idempotency::NotIdempotent,
                Method::POST,
                &url,
                Some(&body),
            )
            .await?;
        if answer.status != StatusCode::CREATED && answer.status != StatusCode::OK {
            return Err(answer.refused(&format!(
                "check run {} on {} in {repository}",
                run.name,
                run.head_sha.short()
            )));
        }
        let created: wire::CreatedCheckRun = answer.json()?;
        Ok(created.id)
    }

    async fn default_branch(&self, repository: &Repository) -> Result<String, GitHubError> {
        let url = self.repo_url(repository, &[]);
        let answer = self
            .call(repository, Idempotency::Idempotent, Method::GET, &url, None)
            .await?;
        if answer.status != StatusCode::OK {
            return Err(answer.refused(&format!("repository {repository}")));
        }
        let info: wire::RepositoryInfo = answer.json()?;
        Ok(info.default_branch)
    }

    async fn file_at(
        &self,
        repository: &Repository,
        path: &str,
        commit: &Sha,
    ) -> Result<Option<RepositoryFile>, GitHubError> {
        let mut segments = vec!["contents"];
        segments.extend(path.split('/').filter(|s| !s.is_empty()));
        let mut url = self.repo_url(repository, &segments);
        url.query_pairs_mut().append_pair("ref", commit.as_str());
        let answer = self
            .call(repository, Idempotency::Idempotent, Method::GET, &url, None)
            .await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if answer.status != StatusCode::OK {
            return Err(answer.refused(&format!("{path} in {repository}")));
        }
        // A directory answers with a list: there is no file there.
        let Ok(file) = answer.json::<wire::FileContents>() else {
            return Ok(None);
        };
        if file.kind != "file" {
            return Ok(None);
        }
        let bytes = match (file.encoding.as_deref(), file.content) {
            (Some("base64"), Some(content)) => {
                use base64::Engine as _;
                let compact: String = content.split_whitespace().collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .map_err(|e| {
                        GitHubError::InvalidResponse(format!("{path}: content is not base64: {e}"))
                    })?
            }
            (encoding, _) => {
                return Err(GitHubError::InvalidResponse(format!(
                    "{path}: GitHub sent no content (encoding {}): the file is over 1 MB",
                    encoding.unwrap_or("none")
                )));
            }
        };
        Ok(Some(RepositoryFile {
            blob: file.sha,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }))
    }

    async fn repository(&self, repository: &Repository) -> Result<RepositoryInfo, GitHubError> {
        // The installation first: GitHub answers 404 both when the App is not installed on
        // the repository and when there is no such repository. The account's installation
        // tells the two apart (installed there: the repository is missing, or not among the
        // ones the installation was given).
        match self.installation_id(repository).await {
            Ok(_) => {}
            Err(GitHubError::NotFound(_)) => {
                let url = self.url(&["users", repository.owner(), "installation"]);
                let answer = self.call_app(Method::GET, &url).await?;
                return Err(match answer.status {
                    StatusCode::OK => GitHubError::NotFound(format!("repository {repository}")),
                    StatusCode::NOT_FOUND => GitHubError::NotInstalled(repository.to_string()),
                    _ => answer.refused(&format!("the account {}", repository.owner())),
                });
            }
            Err(error) => return Err(error),
        }
        let url = self.repo_url(repository, &[]);
        let answer = self
            .call(repository, Idempotency::Idempotent, Method::GET, &url, None)
            .await?;
        let what = format!("repository {repository}");
        match answer.status {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Err(GitHubError::NotFound(what)),
            StatusCode::FORBIDDEN => return Err(GitHubError::Forbidden(answer.message())),
            _ => return Err(answer.refused(&what)),
        }
        let info: wire::RepositoryInfo = answer.json()?;
        let full_name = Repository::parse(&info.full_name).map_err(|e| {
            GitHubError::InvalidResponse(format!("repository full_name `{}`: {e}", info.full_name))
        })?;
        Ok(RepositoryInfo {
            id: info.id,
            full_name,
            default_branch: info.default_branch,
        })
    }

    async fn create_deployment(
        &self,
        deployment: &NewGithubDeployment,
    ) -> Result<CreateDeploymentOutcome, GitHubError> {
        let repository = &deployment.repository;
        let body = serde_json::to_value(wire::CreateDeployment {
            git_ref: &deployment.git_ref,
            environment: deployment.environment.to_string(),
            description: &deployment.description,
            payload: &deployment.payload,
            auto_merge: false,
            transient_environment: deployment.transient_environment,
            production_environment: deployment.production_environment,
            task: deployment
                .rollback
                .then_some(deploybot_core::rollback::ROLLBACK_TASK),
            required_contexts: deployment.rollback.then(Vec::new),
        })
        .map_err(|e| GitHubError::InvalidResponse(format!("deployment request: {e}")))?;
        let url = self.repo_url(repository, &["deployments"]);
        let answer = self
            .call(
                repository,
                Idempotency::NotIdempotent,
                Method::POST,
                &url,
                Some(&body),
            )
            .await?;
        match answer.status {
            StatusCode::CREATED => {
                let created: wire::CreatedDeployment = answer.json()?;
                Ok(CreateDeploymentOutcome::Created { id: created.id })
            }
            StatusCode::ACCEPTED => Err(GitHubError::AutoMerged),
            StatusCode::CONFLICT => {
                let conflict: wire::ConflictBody = answer.json().unwrap_or_default();
                let mut contexts: Vec<String> = conflict
                    .errors
                    .iter()
                    .flat_map(|e| &e.contexts)
                    .map(|c| match c.state.as_deref() {
                        Some(state) if !state.is_empty() => format!("{} ({state})", c.context),
                        _ => c.context.clone(),
                    })
                    .collect();
                if contexts.is_empty() {
                    // A 409 without the list still means "checks not green".
                    contexts.push(answer.message());
                }
                Ok(CreateDeploymentOutcome::ChecksNotGreen { contexts })
            }
            _ => Err(answer.refused(&format!("repository {repository}"))),
        }
    }

    async fn create_deployment_status(
        &self,
        repository: &Repository,
        github_deployment_id: u64,
        status: &NewDeploymentStatus,
    ) -> Result<(), GitHubError> {
        let body = serde_json::to_value(wire::CreateDeploymentStatus {
            state: github_state_name(status.state),
            log_url: status.log_url.as_deref(),
            environment_url: status.environment_url.as_deref(),
            description: status.description.as_deref().map(truncate_description),
            auto_inactive: false,
        })
        .map_err(|e| GitHubError::InvalidResponse(format!("deployment status request: {e}")))?;
        let id = github_deployment_id.to_string();
        let url = self.repo_url(repository, &["deployments", &id, "statuses"]);
        let answer = self
            .call(
                repository,
                Idempotency::Idempotent,
                Method::POST,
                &url,
                Some(&body),
            )
            .await?;
        if answer.status.is_success() {
            Ok(())
        } else {
            Err(answer.refused(&format!(
                "deployment {github_deployment_id} in {repository}"
            )))
        }
    }

    async fn commit_checks(
        &self,
        repository: &Repository,
        sha: &Sha,
    ) -> Result<ChecksSummary, GitHubError> {
        let what = format!("commit {} in {repository}", sha.short());
        let combined = self.combined_status(repository, sha).await?;
        let url = Self::with_per_page(
            self.repo_url(repository, &["commits", sha.as_str(), "check-suites"]),
            &[],
        );
        let suites = self
            .all_pages(repository, url, &what, |a| {
                a.json::<wire::CheckSuitePage>().map(|p| p.check_suites)
            })
            .await?;
        Ok(checks::summarise(&combined, &suites))
    }

    async fn upsert_pr_comment(
        &self,
        repository: &Repository,
        pr_number: u64,
        marker: &str,
        body: &str,
    ) -> Result<u64, GitHubError> {
        let payload = serde_json::to_value(wire::CommentBody { body })
            .map_err(|e| GitHubError::InvalidResponse(format!("comment request: {e}")))?;
        let attempts = self.policy.attempts.max(1);
        let mut attempt = 1;
        loop {
            let existing = self
                .list_comments(repository, pr_number)
                .await?
                .into_iter()
                .find(|c| c.body.as_deref().is_some_and(|b| b.contains(marker)));
            let (method, url, idempotency) = match &existing {
                Some(comment) => {
                    let id = comment.id.to_string();
                    (
                        Method::PATCH,
                        self.repo_url(repository, &["issues", "comments", &id]),
                        Idempotency::Idempotent,
                    )
                }
                None => {
                    let number = pr_number.to_string();
                    (
                        Method::POST,
                        self.repo_url(repository, &["issues", &number, "comments"]),
                        Idempotency::NotIdempotent,
                    )
                }
            };
            let sent = self
                .call(repository, idempotency, method, &url, Some(&payload))
                .await;
            match sent {
                Ok(answer) if answer.status.is_success() => {
                    let comment: wire::IssueComment = answer.json()?;
                    return Ok(comment.id);
                }
                Ok(answer) => {
                    return Err(
                        answer.refused(&format!("pull request #{pr_number} in {repository}"))
                    );
                }
                // A new comment may or may not have been made: look again before posting.
                Err(GitHubError::Transport(_) | GitHubError::Server { .. })
                    if existing.is_none() && attempt < attempts =>
                {
                    self.sleeper.sleep(self.policy.backoff_for(attempt)).await;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    async fn named_checks(
        &self,
        repository: &Repository,
        sha: &Sha,
    ) -> Result<Vec<ReportedCheck>, GitHubError> {
        let what = format!("commit {} in {repository}", sha.short());
        let combined = self.combined_status(repository, sha).await?;
        let url = Self::with_per_page(
            self.repo_url(repository, &["commits", sha.as_str(), "check-runs"]),
            &[("filter", "latest")],
        );
        let runs = self
            .all_pages(repository, url, &what, |a| {
                a.json::<wire::CheckRunPage>().map(|p| p.check_runs)
            })
            .await?;
        let statuses = combined
            .statuses
            .into_iter()
            .map(|s| ReportedCheck::new(s.context, CheckState::of_status(&s.state)));
        let runs = runs.into_iter().map(|r| {
            let state = CheckState::of_check_run(&r.status, r.conclusion.as_deref());
            ReportedCheck::new(r.name, state)
        });
        Ok(statuses.chain(runs).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_cut_on_character_boundaries() {
        assert_eq!(truncate_description("short"), "short");
        let exact = "é".repeat(140);
        assert_eq!(truncate_description(&exact), exact);
        let long = "é".repeat(200);
        let cut = truncate_description(&long);
        assert_eq!(cut.chars().count(), 140);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn config_from_lookup() {
        let vars = |name: &str| match name {
            "GITHUB_APP_ID" => Some("123".to_owned()),
            "GITHUB_APP_PRIVATE_KEY" => Some("-----BEGIN RSA PRIVATE KEY-----\\nabc\\n".to_owned()),
            "GITHUB_API_URL" => Some("http://127.0.0.1:9/api/v3".to_owned()),
            _ => None,
        };
        let config = GitHubConfig::from_lookup(vars).expect("complete config");
        assert_eq!(config.app_id, "123");
        assert_eq!(config.api_url.as_str(), "http://127.0.0.1:9/api/v3");
        use secrecy::ExposeSecret;
        assert_eq!(
            config.private_key.expose_secret(),
            "-----BEGIN RSA PRIVATE KEY-----\nabc\n"
        );
        let escaped_key =
            deploybot_testkit::fakes::github::TEST_ONLY_APP_PRIVATE_KEY_PEM.replace('\n', "\\n");
        assert!(!escaped_key.contains('\n'));
        let escaped = GitHubConfig::from_lookup(|name| match name {
            "GITHUB_APP_ID" => Some("1".to_owned()),
            "GITHUB_APP_PRIVATE_KEY" => Some(escaped_key.clone()),
            _ => None,
        })
        .expect("escaped key");
        GitHubClient::new(escaped, Arc::new(deploybot_core::ports::SystemClock))
            .expect("a key with literal \\n escapes is usable");
        let missing = GitHubConfig::from_lookup(|_| None).expect_err("nothing set");
        assert!(matches!(missing, GitHubError::Config(m) if m.contains("GITHUB_APP_ID")));
        let defaults = GitHubConfig::from_lookup(|name| match name {
            "GITHUB_APP_ID" => Some("1".to_owned()),
            "GITHUB_APP_PRIVATE_KEY" => Some("k".to_owned()),
            _ => None,
        })
        .expect("defaults");
        assert_eq!(defaults.api_url.as_str(), "https://api.github.com/");
        assert!(
            GitHubConfig::new("1", SecretString::from("k"))
                .with_api_url("ftp://x")
                .is_err()
        );
    }

    #[test]
    fn urls_keep_the_api_prefix_and_encode_segments() {
        let config = GitHubConfig::new(
            "1",
            SecretString::from(deploybot_testkit::fakes::github::TEST_ONLY_APP_PRIVATE_KEY_PEM),
        )
        .with_api_url("https://ghe.example.com/api/v3")
        .expect("url");
        let client = GitHubClient::new(config, Arc::new(deploybot_core::ports::SystemClock))
            .expect("client");
        let repository = Repository::parse("acme/web").expect("repo");
        let reference = commit_reference(&GitRef::branch("release/1.2").expect("branch"));
        let mut segments = vec!["commits"];
        segments.extend(reference.split('/'));
        assert_eq!(
            client.repo_url(&repository, &segments).as_str(),
            "https://ghe.example.com/api/v3/repos/acme/web/commits/heads/release/1.2"
        );
        assert_eq!(
            client.repo_url(&repository, &["commits", "a b#c"]).as_str(),
            "https://ghe.example.com/api/v3/repos/acme/web/commits/a%20b%23c"
        );
    }
}
