//! Fake GitHub: a stateful stand-in for the GitHub REST API as deploybot uses it
//! (repositories, collaborators, refs, commit checks, deployments and their statuses, pull
//! request comments, GitHub App authentication). It implements the `GitHub` port directly
//! for handler tests and serves the same state over HTTP (see [`FakeGitHub::serve`]) for
//! adapter and end-to-end tests. Failures, slowness, rate limits, red checks and GitHub's
//! "auto-merge" answer can be scripted.
//!
//! Every call — direct or over HTTP — is recorded (see [`FakeGitHub::calls`]) as the REST
//! request line it stands for, e.g. `POST /repos/acme/web/deployments`.

use crate::fakes::server::{Faults, SeenRequest};
use async_trait::async_trait;
use deploybot_core::ports::{
    ChangedFiles, ChecksState, ChecksSummary, Clock, CreateDeploymentOutcome, GitHub, GitHubError,
    NewCheckRun, NewDeploymentStatus, NewGithubDeployment, RepositoryFile, RepositoryInfo,
    ResolvedRef, SystemClock,
};
use deploybot_core::required_checks::{CheckState, ReportedCheck};
use deploybot_core::{DeploymentState, GitRef, GithubLogin, Repository, Sha, Timestamp};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

mod app_manifest;
mod http;
mod oauth;

pub use app_manifest::FakeRegisteredApp;
pub use oauth::{FAKE_CLIENT_ID, FAKE_CLIENT_SECRET};

pub use crate::fakes::server::FakeServer;

/// The GitHub App id the fake accepts as the JWT issuer (`iss`).
pub const FAKE_APP_ID: &str = "424242";

/// The private key of the fake's GitHub App, PKCS#1 PEM as GitHub hands them out. A key made
/// for tests only (it is committed in the repository): never trust it anywhere.
pub const TEST_ONLY_APP_PRIVATE_KEY_PEM: &str =
    include_str!("../../fixtures/github/test-only-app-private-key.pem");

/// The public half of [`TEST_ONLY_APP_PRIVATE_KEY_PEM`]: the fake verifies App JWTs with it.
pub const TEST_ONLY_APP_PUBLIC_KEY_PEM: &str =
    include_str!("../../fixtures/github/test-only-app-public-key.pem");

/// How long the fake's installation tokens live (GitHub: one hour).
pub const INSTALLATION_TOKEN_LIFETIME_SECS: i64 = 3600;

/// A deployment as the fake stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeDeployment {
    pub id: u64,
    pub repository: Repository,
    /// The ref as the caller sent it.
    pub git_ref: String,
    /// What the ref resolved to when the deployment was created.
    pub sha: Sha,
    pub environment: String,
    pub description: Option<String>,
    pub payload: serde_json::Value,
    pub transient_environment: bool,
    pub production_environment: bool,
    /// `auto_merge` as sent (None when the request left it out; GitHub's default is true).
    pub auto_merge: Option<bool>,
    /// `required_contexts` as sent (None when the request left it out, which means "all").
    pub required_contexts: Option<Vec<String>>,
    /// `task` as sent (None when left out: GitHub's `deploy`).
    pub task: Option<String>,
    pub created_at: Timestamp,
    /// Statuses in the order they were written.
    pub statuses: Vec<FakeDeploymentStatus>,
}

/// A deployment status as the fake stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeDeploymentStatus {
    pub id: u64,
    /// GitHub's state name: `pending`, `queued`, `in_progress`, `success`, `failure`, `error`,
    /// `inactive`.
    pub state: String,
    pub log_url: Option<String>,
    pub environment_url: Option<String>,
    pub description: Option<String>,
    /// `auto_inactive` as sent (None when left out; GitHub's default is true).
    pub auto_inactive: Option<bool>,
}

/// A pull request (issue) comment with its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeComment {
    pub id: u64,
    pub pr: u64,
    pub body: String,
    /// Earlier bodies, oldest first (empty when never edited).
    pub previous_bodies: Vec<String>,
}

/// A check run created through the API, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeCheckRun {
    pub id: u64,
    pub name: String,
    pub head_sha: Sha,
    /// `queued`, `in_progress` or `completed`.
    pub status: String,
    pub conclusion: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub annotations: Vec<FakeAnnotation>,
}

/// One annotation of a check run, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeAnnotation {
    pub path: String,
    pub start_line: u64,
    pub end_line: u64,
    pub annotation_level: String,
    pub message: String,
}

/// A check suite on a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeCheckSuite {
    pub id: u64,
    /// The app's name (`CircleCI Checks`, `GitHub Actions`).
    pub app: String,
    /// `queued`, `in_progress` or `completed`.
    pub status: String,
    /// When completed: `success`, `failure`, `neutral`, `cancelled`, `skipped`, `timed_out`,
    /// `action_required`, `stale`.
    pub conclusion: Option<String>,
    /// How many check runs the suite holds (GitHub leaves suites of apps that run nothing
    /// queued with zero runs).
    pub check_runs: u64,
}

/// A check run some CI reported on a commit (the latest of its name: adding one of the same
/// name replaces it), what `required_checks` reads; [`FakeCheckRun`] is one deploybot created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeNamedCheckRun {
    pub id: u64,
    /// Its name (`ci/circleci: build`), what `required_checks` names.
    pub name: String,
    /// `queued`, `in_progress` or `completed`.
    pub status: String,
    /// When completed: `success`, `failure`, `neutral`, ...
    pub conclusion: Option<String>,
}

/// Claims of an App JWT the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct AcceptedAppJwt {
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Debug, Clone)]
enum Scripted {
    Status(u16),
    RetryAfter(u64),
    RateLimitReset(u64),
}

#[derive(Debug, Clone)]
struct RefTarget {
    sha: Sha,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct CommitInfo {
    author: Option<GithubLogin>,
    message: String,
    /// The commit it follows, when a test said so (for the compare API).
    parent: Option<Sha>,
    /// The merged pull request that brought it, when a test said so.
    pull_request: Option<FakePullRequest>,
}

/// A merged pull request, as `GET /commits/{sha}/pulls` lists it.
#[derive(Debug, Clone)]
pub(crate) struct FakePullRequest {
    pub(crate) number: u64,
    pub(crate) title: String,
    pub(crate) author: Option<GithubLogin>,
}

#[derive(Debug, Clone, Default)]
struct CommitChecks {
    /// context → (state, description)
    statuses: BTreeMap<String, String>,
    suites: Vec<FakeCheckSuite>,
    /// Check runs by name (they belong to no suite here: the suites above are scripted on
    /// their own).
    runs: Vec<FakeNamedCheckRun>,
    /// Contexts that make deployment creation answer 409 until they are green.
    required: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
struct RepoState {
    id: u64,
    installation_id: u64,
    default_branch: String,
    collaborators: Vec<GithubLogin>,
    branches: BTreeMap<String, RefTarget>,
    tags: BTreeMap<String, RefTarget>,
    commits: BTreeMap<Sha, CommitInfo>,
    checks: BTreeMap<Sha, CommitChecks>,
    deployments: Vec<FakeDeployment>,
    comments: Vec<FakeComment>,
    check_runs: Vec<FakeCheckRun>,
    /// path → the file's text per commit it was set at (`None`: deleted there), in the order
    /// set. A commit with no entry of its own sees the latest entry.
    files: BTreeMap<String, Vec<(Sha, Option<String>)>>,
}

#[derive(Debug, Clone)]
struct IssuedToken {
    installation_id: u64,
    expires_at: Timestamp,
}

#[derive(Debug, Default)]
struct State {
    /// People who can sign in to the board, their codes and tokens (`github/oauth.rs`).
    people: oauth::People,
    repos: BTreeMap<Repository, RepoState>,
    /// owner (lower case) → installation id: one installation per account.
    installations: BTreeMap<String, u64>,
    /// Owners (lower case) the App was removed from: their installation is gone.
    uninstalled: BTreeSet<String>,
    /// Repositories of an installed owner that the installation was not given.
    not_selected: BTreeSet<Repository>,
    /// Repositories `GET /repos/{owner}/{repo}` answers 403 for.
    forbidden: BTreeSet<Repository>,
    tokens: BTreeMap<String, IssuedToken>,
    token_requests: u64,
    accepted_jwts: Vec<AcceptedAppJwt>,
    next_id: u64,
    faults: Faults<Scripted>,
    merge_202_next: bool,
    /// Comparisons list GitHub's maximum of 300 files, none of them the ones changed: the
    /// list is cut short (see [`FakeGitHub::cut_compared_files`]).
    compare_cut: bool,
    calls: Vec<String>,
    requests: Vec<SeenRequest>,
    /// The Actions runs its HTTP API serves, once attached ([`FakeGitHub::attach_actions`]).
    actions: Option<crate::fakes::github_actions::FakeActions>,
    /// Teams (`org/slug`) and their members.
    teams: BTreeMap<deploybot_core::approval::Team, Vec<GithubLogin>>,
    /// Apps registered through the manifest flow (see [`app_manifest`]).
    app_manifests: app_manifest::AppManifests,
}

impl State {
    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// What went wrong, as GitHub would answer it over HTTP.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) status: u16,
    pub(crate) body: serde_json::Value,
    pub(crate) retry_after: Option<u64>,
    /// `x-ratelimit-reset` as a Unix time in seconds.
    pub(crate) ratelimit_reset: Option<i64>,
}

impl Failure {
    fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            body: serde_json::json!({
                "message": message.into(),
                "documentation_url": "https://docs.github.com/rest",
                "status": status.to_string(),
            }),
            retry_after: None,
            ratelimit_reset: None,
        }
    }

    fn not_found() -> Self {
        Self::new(404, "Not Found")
    }

    /// An answer with `status` and GitHub's error body saying `message`.
    pub(crate) fn with_message(status: u16, message: impl Into<String>) -> Self {
        Self::new(status, message)
    }

    fn message(&self) -> String {
        self.body
            .get("message")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
            .to_owned()
    }

    /// The error the real adapter maps this answer to.
    fn into_port_error(self, what: &str, now: Timestamp) -> GitHubError {
        match self.status {
            401 => GitHubError::Unauthorized(self.message()),
            404 => GitHubError::NotFound(what.to_owned()),
            422 => GitHubError::Validation(self.message()),
            403 | 429 if self.retry_after.is_some() || self.ratelimit_reset.is_some() => {
                let secs = self.retry_after.unwrap_or_else(|| {
                    u64::try_from(self.ratelimit_reset.unwrap_or(0) - now.secs()).unwrap_or(0)
                });
                GitHubError::RateLimited {
                    retry_after_secs: secs,
                }
            }
            403 => GitHubError::Unauthorized(self.message()),
            status if status >= 500 => GitHubError::Server { status },
            status => GitHubError::InvalidResponse(format!("HTTP {status}: {}", self.message())),
        }
    }
}

/// The fake GitHub. Cheap to clone: clones share one state.
#[derive(Clone)]
pub struct FakeGitHub {
    state: Arc<Mutex<State>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for FakeGitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGitHub").finish_non_exhaustive()
    }
}

impl Default for FakeGitHub {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeGitHub {
    /// Serves `actions`' runs over this fake's HTTP API (`/repos/{o}/{r}/actions/...`):
    /// dispatch, read, list and cancel, as the GitHub Actions adapter calls them.
    pub fn attach_actions(&self, actions: &crate::fakes::github_actions::FakeActions) {
        self.lock().actions = Some(actions.clone());
    }

    /// The attached Actions runs, if any.
    pub fn actions(&self) -> Option<crate::fakes::github_actions::FakeActions> {
        self.lock().actions.clone()
    }

    /// An empty fake on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An empty fake whose token lifetimes and JWT checks follow `clock` (share it with the
    /// adapter under test to move time forward).
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                next_id: 1000,
                ..State::default()
            })),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock poisons it; the state is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    // ---- setting up ---------------------------------------------------------------------

    /// Adds a repository (idempotent: an existing one keeps its state and gets the new
    /// default branch). The App is installed once per owner: repositories of one owner share
    /// an installation, two owners have two.
    pub fn add_repository(&self, repository: &Repository, default_branch: &str) {
        let mut state = self.lock();
        let owner = repository.owner().to_owned();
        let installation_id = match state.installations.get(&owner) {
            Some(id) => *id,
            None => {
                let id = state.next_id();
                state.installations.insert(owner, id);
                id
            }
        };
        if let Some(repo) = state.repos.get_mut(repository) {
            repo.default_branch = default_branch.to_owned();
            return;
        }
        let id = state.next_id();
        state.repos.insert(
            repository.clone(),
            RepoState {
                id,
                installation_id,
                default_branch: default_branch.to_owned(),
                collaborators: Vec::new(),
                branches: BTreeMap::new(),
                tags: BTreeMap::new(),
                commits: BTreeMap::new(),
                checks: BTreeMap::new(),
                deployments: Vec::new(),
                comments: Vec::new(),
                check_runs: Vec::new(),
                files: BTreeMap::new(),
            },
        );
    }

    /// The installation id that serves `repository`.
    ///
    /// # Panics
    /// When the repository was never added (a mistake in the test).
    pub fn installation_id(&self, repository: &Repository) -> u64 {
        self.with_repo(repository, |repo| repo.installation_id)
    }

    /// Adds collaborators (logins that are not valid GitHub logins panic: test data).
    pub fn add_collaborators<'a>(
        &self,
        repository: &Repository,
        logins: impl IntoIterator<Item = &'a str>,
    ) {
        let logins: Vec<GithubLogin> = logins
            .into_iter()
            .map(|l| GithubLogin::parse(l).expect("test collaborator login is valid"))
            .collect();
        self.with_repo(repository, |repo| {
            for login in logins {
                if !repo.collaborators.contains(&login) {
                    repo.collaborators.push(login);
                }
            }
        });
    }

    /// Makes `logins` members of `team` (`acme/qa`), creating the team.
    pub fn add_team_members<'a>(&self, team: &str, logins: impl IntoIterator<Item = &'a str>) {
        let team = deploybot_core::approval::Team::parse(team).expect("test team is valid");
        let logins: Vec<GithubLogin> = logins
            .into_iter()
            .map(|l| GithubLogin::parse(l).expect("test member login is valid"))
            .collect();
        let mut state = self.lock();
        let members = state.teams.entry(team).or_default();
        for login in logins {
            if !members.contains(&login) {
                members.push(login);
            }
        }
    }

    /// Points branch `name` at a commit (creating the commit, authored by `author`).
    pub fn set_branch(&self, repository: &Repository, name: &str, sha: &Sha, author: Option<&str>) {
        self.add_commit(repository, sha, author);
        self.with_repo(repository, |repo| {
            repo.branches
                .insert(name.to_owned(), RefTarget { sha: sha.clone() });
        });
    }

    /// Points tag `name` at a commit (creating the commit, authored by `author`).
    pub fn set_tag(&self, repository: &Repository, name: &str, sha: &Sha, author: Option<&str>) {
        self.add_commit(repository, sha, author);
        self.with_repo(repository, |repo| {
            repo.tags
                .insert(name.to_owned(), RefTarget { sha: sha.clone() });
        });
    }

    /// Adds a commit (`author` None: the commit's e-mail maps to no GitHub account); a known
    /// commit gets the author and keeps its parent, message and pull request.
    pub fn add_commit(&self, repository: &Repository, sha: &Sha, author: Option<&str>) {
        let author = author.map(|a| GithubLogin::parse(a).expect("test author login is valid"));
        self.with_repo(repository, |repo| {
            let info = repo
                .commits
                .entry(sha.clone())
                .or_insert_with(|| CommitInfo {
                    author: None,
                    message: format!("Commit {}", sha.short()),
                    parent: None,
                    pull_request: None,
                });
            info.author = author;
        });
    }

    /// Records that `child` follows `parent` (adding either commit if unknown), so the compare
    /// API can tell ancestors apart.
    /// Sets the file at `path` as of commit `at` (`None` deletes it there). Commits without
    /// an entry of their own see the latest one set.
    pub fn set_file(&self, repository: &Repository, path: &str, at: &Sha, text: Option<&str>) {
        let mut state = self.lock();
        if let Some(repo) = state.repos.get_mut(repository) {
            repo.files
                .entry(path.to_owned())
                .or_default()
                .push((at.clone(), text.map(str::to_owned)));
        }
    }

    pub fn set_parent(&self, repository: &Repository, child: &Sha, parent: &Sha) {
        self.with_repo(repository, |repo| {
            for sha in [child, parent] {
                repo.commits
                    .entry(sha.clone())
                    .or_insert_with(|| CommitInfo {
                        author: None,
                        message: format!("Commit {}", sha.short()),
                        parent: None,
                        pull_request: None,
                    });
            }
            if let Some(info) = repo.commits.get_mut(child) {
                info.parent = Some(parent.clone());
            }
        });
    }

    /// Sets one commit status context (`success`, `pending`, `failure`, `error`).
    /// Says that the merged pull request `number` (`title`, opened by `author`) brought
    /// commit `sha` (added if unknown), whose message becomes the pull request's merge title.
    pub fn merge_pull_request(
        &self,
        repository: &Repository,
        sha: &Sha,
        number: u64,
        title: &str,
        author: Option<&str>,
    ) {
        let author = author.map(|a| GithubLogin::parse(a).expect("test author login is valid"));
        self.with_repo(repository, |repo| {
            let info = repo.commits.entry(sha.clone()).or_default();
            if info.author.is_none() {
                info.author = author.clone();
            }
            info.message = format!("{title} (#{number})");
            info.pull_request = Some(FakePullRequest {
                number,
                title: title.to_owned(),
                author,
            });
        });
    }

    pub fn set_status(&self, repository: &Repository, sha: &Sha, context: &str, state: &str) {
        self.with_repo(repository, |repo| {
            let checks = repo.checks.entry(sha.clone()).or_default();
            checks.statuses.insert(context.to_owned(), state.to_owned());
            if state == "success" {
                checks.required.retain(|(c, _)| c != context);
            }
        });
    }

    /// Adds a check suite to a commit; returns its id. `conclusion` only for `completed`.
    pub fn add_check_suite(
        &self,
        repository: &Repository,
        sha: &Sha,
        app: &str,
        status: &str,
        conclusion: Option<&str>,
    ) -> u64 {
        let id = self.lock().next_id();
        self.with_repo(repository, |repo| {
            repo.checks
                .entry(sha.clone())
                .or_default()
                .suites
                .push(FakeCheckSuite {
                    id,
                    app: app.to_owned(),
                    status: status.to_owned(),
                    conclusion: conclusion.map(str::to_owned),
                    check_runs: 1,
                });
        });
        id
    }

    /// Adds (or replaces, as its latest run) the commit's check run called `name`; returns
    /// its id. `conclusion` only for `completed`.
    pub fn add_check_run(
        &self,
        repository: &Repository,
        sha: &Sha,
        name: &str,
        status: &str,
        conclusion: Option<&str>,
    ) -> u64 {
        let id = self.lock().next_id();
        self.with_repo(repository, |repo| {
            let runs = &mut repo.checks.entry(sha.clone()).or_default().runs;
            runs.retain(|r| r.name != name);
            runs.push(FakeNamedCheckRun {
                id,
                name: name.to_owned(),
                status: status.to_owned(),
                conclusion: conclusion.map(str::to_owned),
            });
        });
        id
    }

    /// Adds a check suite the way GitHub leaves one for an installed app that runs nothing on
    /// this commit: `queued` with no check runs.
    pub fn add_empty_check_suite(&self, repository: &Repository, sha: &Sha, app: &str) -> u64 {
        let id = self.lock().next_id();
        self.with_repo(repository, |repo| {
            repo.checks
                .entry(sha.clone())
                .or_default()
                .suites
                .push(FakeCheckSuite {
                    id,
                    app: app.to_owned(),
                    status: "queued".to_owned(),
                    conclusion: None,
                    check_runs: 0,
                });
        });
        id
    }

    /// Makes the commit's checks required and not green: creating a deployment of it answers
    /// 409 listing these `(context, state)` pairs until [`FakeGitHub::set_checks_green`] (or
    /// each context's status is set to `success`). The contexts' statuses are set to the
    /// given states as well.
    pub fn require_checks(&self, repository: &Repository, sha: &Sha, contexts: &[(&str, &str)]) {
        self.with_repo(repository, |repo| {
            let checks = repo.checks.entry(sha.clone()).or_default();
            for (context, state) in contexts {
                checks
                    .statuses
                    .insert((*context).to_owned(), (*state).to_owned());
                checks.required.retain(|(c, _)| c != context);
                checks
                    .required
                    .push(((*context).to_owned(), (*state).to_owned()));
            }
        });
    }

    /// Every status and check suite of the commit turns `success`; deployments of it may be
    /// created.
    pub fn set_checks_green(&self, repository: &Repository, sha: &Sha) {
        self.with_repo(repository, |repo| {
            let checks = repo.checks.entry(sha.clone()).or_default();
            checks.required.clear();
            for state in checks.statuses.values_mut() {
                "success".clone_into(state);
            }
            for suite in &mut checks.suites {
                "completed".clone_into(&mut suite.status);
                suite.conclusion = Some("success".to_owned());
            }
            for run in &mut checks.runs {
                "completed".clone_into(&mut run.status);
                run.conclusion = Some("success".to_owned());
            }
        });
    }

    /// Adds a comment someone else wrote on a pull request; returns its id.
    pub fn add_comment(&self, repository: &Repository, pr: u64, body: &str) -> u64 {
        self.op_create_comment(repository, pr, body)
            .map(|c| c.id)
            .unwrap_or_else(|_| panic!("fake GitHub: add_repository({repository}) first"))
    }

    // ---- scripting ----------------------------------------------------------------------

    /// The next `n` API calls (not the App authentication routes) answer HTTP `status`.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.lock().faults.push(n, Scripted::Status(status));
    }

    /// Every API call (not the App authentication routes) waits this long before answering;
    /// `Duration::ZERO` turns it off.
    pub fn delay(&self, delay: Duration) {
        self.lock().faults.delay = (!delay.is_zero()).then_some(delay);
    }

    /// The next API call answers `429` with `Retry-After: <secs>` (a secondary rate limit).
    pub fn rate_limit_next(&self, retry_after_secs: u64) {
        self.lock()
            .faults
            .push(1, Scripted::RetryAfter(retry_after_secs));
    }

    /// The next API call answers `403` with `x-ratelimit-remaining: 0` and
    /// `x-ratelimit-reset` `reset_in_secs` from now (the primary rate limit is used up).
    pub fn exhaust_rate_limit_next(&self, reset_in_secs: u64) {
        self.lock()
            .faults
            .push(1, Scripted::RateLimitReset(reset_in_secs));
    }

    /// The next deployment creation answers `202` ("merged the default branch into the ref").
    pub fn answer_merge_202_next(&self) {
        self.lock().merge_202_next = true;
    }

    /// From now on comparisons answer as for a pull request of more than 300 files: GitHub's
    /// 300 (placeholders here, none of the files set with [`FakeGitHub::set_file`]), the rest
    /// left out.
    pub fn cut_compared_files(&self) {
        self.lock().compare_cut = true;
    }

    /// The placeholders a cut comparison lists (see [`FakeGitHub::cut_compared_files`]).
    pub(crate) fn cut_placeholders() -> Vec<String> {
        (0..300)
            .map(|i| format!("generated/file-{i:03}.txt"))
            .collect()
    }

    /// Removes the App from the repository's account: `GET /repos/{owner}/{repo}/installation`
    /// and `GET /users/{owner}/installation` answer 404, as GitHub does.
    pub fn uninstall_app(&self, repository: &Repository) {
        self.lock()
            .uninstalled
            .insert(repository.owner().to_ascii_lowercase());
    }

    /// The App stays installed on the account but is not given this repository (an
    /// installation limited to selected repositories): its installation lookup answers 404.
    pub fn deselect_repository(&self, repository: &Repository) {
        self.lock().not_selected.insert(repository.clone());
    }

    /// `GET /repos/{owner}/{repo}` answers 403 "Resource not accessible by integration".
    pub fn forbid_repository(&self, repository: &Repository) {
        self.lock().forbidden.insert(repository.clone());
    }

    /// Forgets every installation token issued so far (as if revoked): calls with them get 401.
    pub fn revoke_tokens(&self) {
        self.lock().tokens.clear();
    }

    // ---- reading back -------------------------------------------------------------------

    /// The repository's deployments, oldest first.
    pub fn deployments(&self, repository: &Repository) -> Vec<FakeDeployment> {
        self.lock()
            .repos
            .get(repository)
            .map(|r| r.deployments.clone())
            .unwrap_or_default()
    }

    /// A deployment's statuses in the order they were written (empty when unknown).
    pub fn statuses(
        &self,
        repository: &Repository,
        deployment_id: u64,
    ) -> Vec<FakeDeploymentStatus> {
        self.lock()
            .repos
            .get(repository)
            .and_then(|r| r.deployments.iter().find(|d| d.id == deployment_id))
            .map(|d| d.statuses.clone())
            .unwrap_or_default()
    }

    /// The pull request's comments, oldest first.
    pub fn comments(&self, repository: &Repository, pr: u64) -> Vec<FakeComment> {
        self.lock()
            .repos
            .get(repository)
            .map(|r| r.comments.iter().filter(|c| c.pr == pr).cloned().collect())
            .unwrap_or_default()
    }

    /// The check runs created on the repository, oldest first.
    pub fn check_runs(&self, repository: &Repository) -> Vec<FakeCheckRun> {
        self.lock()
            .repos
            .get(repository)
            .map(|r| r.check_runs.clone())
            .unwrap_or_default()
    }

    /// How many installation tokens were requested (`POST /app/installations/{id}/access_tokens`).
    pub fn token_requests(&self) -> u64 {
        self.lock().token_requests
    }

    /// Claims of every App JWT the fake accepted, oldest first.
    pub fn accepted_app_jwts(&self) -> Vec<AcceptedAppJwt> {
        self.lock().accepted_jwts.clone()
    }

    /// Every call, oldest first, as `METHOD /path` (HTTP calls also carry their query:
    /// `GET /repos/acme/web/collaborators?per_page=100&page=2`).
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    // ---- internals shared by the port and the HTTP server ---------------------------------

    fn with_repo<T>(&self, repository: &Repository, f: impl FnOnce(&mut RepoState) -> T) -> T {
        let mut state = self.lock();
        let repo = state
            .repos
            .get_mut(repository)
            .unwrap_or_else(|| panic!("fake GitHub: add_repository({repository}) first"));
        f(repo)
    }

    /// Records the call, then applies the scripted delay and failure.
    async fn enter(&self, call: String) -> Result<(), Failure> {
        self.lock().calls.push(call);
        self.apply_faults().await
    }

    /// Waits the scripted delay, then answers the next scripted failure, if any.
    async fn apply_faults(&self) -> Result<(), Failure> {
        let (delay, scripted) = {
            let mut state = self.lock();
            (state.faults.delay, state.faults.next())
        };
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        match scripted {
            None => Ok(()),
            Some(Scripted::Status(status)) => Err(Failure::new(
                status,
                if status >= 500 {
                    "Server Error"
                } else {
                    "Scripted failure"
                },
            )),
            Some(Scripted::RetryAfter(secs)) => {
                let mut failure = Failure::new(
                    429,
                    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                );
                failure.retry_after = Some(secs);
                Err(failure)
            }
            Some(Scripted::RateLimitReset(secs)) => {
                let mut failure = Failure::new(403, "API rate limit exceeded for installation.");
                failure.ratelimit_reset =
                    Some(self.now().secs() + i64::try_from(secs).unwrap_or(i64::MAX / 2));
                Err(failure)
            }
        }
    }

    fn repo_read<T>(
        &self,
        repository: &Repository,
        f: impl FnOnce(&RepoState) -> T,
    ) -> Result<T, Failure> {
        let state = self.lock();
        state
            .repos
            .get(repository)
            .map(f)
            .ok_or_else(Failure::not_found)
    }

    /// A team's members, as the installation of `repository` sees them: a team of another
    /// organisation, or one never added, is not found.
    pub(crate) fn op_team_members(
        &self,
        repository: &Repository,
        team: &deploybot_core::approval::Team,
    ) -> Result<Vec<GithubLogin>, Failure> {
        self.repo_read(repository, |_| ())?;
        if !team.org().eq_ignore_ascii_case(repository.owner()) {
            return Err(Failure::not_found());
        }
        self.lock()
            .teams
            .get(team)
            .cloned()
            .ok_or_else(Failure::not_found)
    }

    fn op_collaborators(&self, repository: &Repository) -> Result<Vec<GithubLogin>, Failure> {
        self.repo_read(repository, |r| r.collaborators.clone())
    }

    /// The installation serving `repository`, as `GET /repos/{owner}/{repo}/installation`
    /// finds it: none (404) for a missing repository, an uninstalled account or a repository
    /// the installation was not given.
    pub(crate) fn op_installation(&self, repository: &Repository) -> Result<u64, Failure> {
        let state = self.lock();
        if state
            .uninstalled
            .contains(&repository.owner().to_ascii_lowercase())
            || state.not_selected.contains(repository)
        {
            return Err(Failure::not_found());
        }
        state
            .repos
            .get(repository)
            .map(|r| r.installation_id)
            .ok_or_else(Failure::not_found)
    }

    /// Whether the App is installed on the account `owner` (`GET /users/{owner}/installation`).
    pub(crate) fn op_owner_installation(&self, owner: &str) -> Result<u64, Failure> {
        let state = self.lock();
        let owner = owner.to_ascii_lowercase();
        if state.uninstalled.contains(&owner) {
            return Err(Failure::not_found());
        }
        state
            .installations
            .iter()
            .find(|(name, _)| name.to_ascii_lowercase() == owner)
            .map(|(_, id)| *id)
            .ok_or_else(Failure::not_found)
    }

    /// `GET /repos/{owner}/{repo}`: (id, default branch), or 403 for a forbidden one.
    pub(crate) fn op_repository(&self, repository: &Repository) -> Result<(u64, String), Failure> {
        if self.lock().forbidden.contains(repository) {
            return Err(Failure::new(403, "Resource not accessible by integration"));
        }
        self.repo_read(repository, |r| (r.id, r.default_branch.clone()))
    }

    fn op_default_branch(&self, repository: &Repository) -> Result<String, Failure> {
        self.repo_read(repository, |r| r.default_branch.clone())
    }

    /// Resolves what GitHub accepts as a commit reference: a branch or tag name, `heads/x`,
    /// `tags/x`, `refs/heads/x`, `refs/tags/x`, a full or abbreviated (≥ 7) SHA.
    /// GitHub's compare status of `base...head`, following the parents tests recorded.
    /// The file at `path` in `commit`: the entry set at that commit, else the latest one.
    pub(crate) fn op_file(
        &self,
        repository: &Repository,
        path: &str,
        commit: &Sha,
    ) -> Result<Option<RepositoryFile>, Failure> {
        self.repo_read(repository, |r| {
            let versions = r.files.get(path)?;
            let text = versions
                .iter()
                .rev()
                .find(|(at, _)| at == commit)
                .or_else(|| versions.last())
                .and_then(|(_, text)| text.clone())?;
            Some(RepositoryFile {
                blob: blob_sha(&text),
                text,
            })
        })
    }

    /// The paths `base...head` changes: a path set (with [`FakeGitHub::set_file`]) at `head`
    /// itself whose text differs from what `base` holds — the entry set at `base`, else the
    /// latest one set before `head`'s.
    pub(crate) fn op_changed_files(
        &self,
        repository: &Repository,
        base: &Sha,
        head: &Sha,
    ) -> Result<Vec<String>, Failure> {
        if self.lock().compare_cut {
            self.repo_read(repository, |_| ())?;
            return Ok(Self::cut_placeholders());
        }
        self.repo_read(repository, |r| {
            r.files
                .iter()
                .filter(|(_, versions)| {
                    let Some(at_head) = versions.iter().rposition(|(at, _)| at == head) else {
                        return false;
                    };
                    let before = versions
                        .iter()
                        .rev()
                        .find(|(at, _)| at == base)
                        .or_else(|| versions[..at_head].iter().rev().find(|(at, _)| at != head))
                        .and_then(|(_, text)| text.as_ref());
                    before != versions[at_head].1.as_ref()
                })
                .map(|(path, _)| path.clone())
                .collect()
        })
    }

    pub(crate) fn op_create_check_run(
        &self,
        repository: &Repository,
        mut run: FakeCheckRun,
    ) -> Result<FakeCheckRun, Failure> {
        // As GitHub: at most 50 annotations per request.
        if run.annotations.len() > 50 {
            return Err(Failure::new(
                422,
                "Invalid request.\n\nOnly 50 annotations are allowed per request.",
            ));
        }
        let mut state = self.lock();
        let id = state.next_id();
        let repo = state
            .repos
            .get_mut(repository)
            .ok_or_else(Failure::not_found)?;
        run.id = id;
        repo.check_runs.push(run.clone());
        Ok(run)
    }

    /// The commits of `base...head`, oldest first: from `head` back along the parents tests
    /// recorded until `base` (excluded) or a commit with no known parent; GitHub lists at most
    /// 250 (the count says how many there are).
    pub(crate) fn op_compare_commits(
        &self,
        repository: &Repository,
        base: &Sha,
        head: &Sha,
    ) -> Result<(Vec<(Sha, CommitInfo)>, u64), Failure> {
        self.repo_read(repository, |repo| {
            let mut listed = Vec::new();
            let mut at = Some(head.clone());
            while let Some(sha) = at {
                if &sha == base || listed.len() > 10_000 {
                    break;
                }
                let info = repo.commits.get(&sha).cloned().unwrap_or_default();
                at = info.parent.clone();
                listed.push((sha, info));
            }
            listed.reverse();
            let total = listed.len() as u64;
            listed.truncate(250);
            (listed, total)
        })
    }

    /// The pull requests associated with a commit (the one a test merged it with).
    pub(crate) fn op_commit_pulls(
        &self,
        repository: &Repository,
        sha: &Sha,
    ) -> Result<Vec<FakePullRequest>, Failure> {
        self.repo_read(repository, |repo| {
            repo.commits
                .get(sha)
                .and_then(|c| c.pull_request.clone())
                .into_iter()
                .collect()
        })
    }

    pub(crate) fn op_compare(
        &self,
        repository: &Repository,
        base: &Sha,
        head: &Sha,
    ) -> Result<&'static str, Failure> {
        let state = self.lock();
        let repo = state.repos.get(repository).ok_or_else(Failure::not_found)?;
        if base == head {
            return Ok("identical");
        }
        let reaches = |from: &Sha, to: &Sha| {
            let mut at = repo.commits.get(from).and_then(|c| c.parent.clone());
            let mut steps = 0;
            while let Some(sha) = at {
                if &sha == to {
                    return true;
                }
                steps += 1;
                if steps > 10_000 {
                    return false;
                }
                at = repo.commits.get(&sha).and_then(|c| c.parent.clone());
            }
            false
        };
        Ok(if reaches(head, base) {
            "ahead"
        } else if reaches(base, head) {
            "behind"
        } else {
            "diverged"
        })
    }

    fn op_resolve(
        &self,
        repository: &Repository,
        reference: &str,
    ) -> Result<(Sha, Option<GithubLogin>, String), Failure> {
        let state = self.lock();
        let repo = state.repos.get(repository).ok_or_else(Failure::not_found)?;
        let unknown = || Failure::new(422, format!("No commit found for SHA: {reference}"));
        let reference = reference.strip_prefix("refs/").unwrap_or(reference);
        let sha = if let Some(branch) = reference.strip_prefix("heads/") {
            repo.branches.get(branch).map(|t| t.sha.clone())
        } else if let Some(tag) = reference.strip_prefix("tags/") {
            repo.tags.get(tag).map(|t| t.sha.clone())
        } else {
            repo.branches
                .get(reference)
                .or_else(|| repo.tags.get(reference))
                .map(|t| t.sha.clone())
                .or_else(|| {
                    let lower = reference.to_ascii_lowercase();
                    if !Sha::looks_like_sha(&lower) {
                        return None;
                    }
                    let mut matching = repo
                        .commits
                        .keys()
                        .filter(|sha| sha.as_str().starts_with(&lower));
                    match (matching.next(), matching.next()) {
                        (Some(sha), None) => Some(sha.clone()),
                        _ => None,
                    }
                })
        };
        let sha = sha.ok_or_else(unknown)?;
        let info = repo.commits.get(&sha).cloned().unwrap_or_default();
        Ok((sha, info.author, info.message))
    }

    fn op_commit_checks(
        &self,
        repository: &Repository,
        sha_or_ref: &str,
    ) -> Result<(Sha, CommitChecks), Failure> {
        let (sha, _, _) = self.op_resolve(repository, sha_or_ref)?;
        let checks = self.repo_read(repository, |r| {
            r.checks.get(&sha).cloned().unwrap_or_default()
        })?;
        Ok((sha, checks))
    }

    fn op_create_deployment(
        &self,
        request: DeploymentRequest,
    ) -> Result<DeploymentAnswer, Failure> {
        let (sha, _, _) = self
            .op_resolve(&request.repository, &request.git_ref)
            .map_err(|f| {
                if f.status == 422 {
                    Failure::new(422, format!("No ref found for: {}", request.git_ref))
                } else {
                    f
                }
            })?;
        let now = self.now();
        let mut state = self.lock();
        if std::mem::take(&mut state.merge_202_next) {
            return Ok(DeploymentAnswer::Merged);
        }
        let id = state.next_id();
        let repo = state
            .repos
            .get_mut(&request.repository)
            .ok_or_else(Failure::not_found)?;
        let required = repo
            .checks
            .get(&sha)
            .map(|c| c.required.clone())
            .unwrap_or_default();
        let checks_apply = request
            .required_contexts
            .as_ref()
            .is_none_or(|only| !only.is_empty());
        if checks_apply {
            let blocking: Vec<(String, String)> = required
                .into_iter()
                .filter(|(context, _)| {
                    request
                        .required_contexts
                        .as_ref()
                        .is_none_or(|only| only.contains(context))
                })
                .collect();
            if !blocking.is_empty() {
                return Ok(DeploymentAnswer::ChecksFailed(blocking));
            }
        }
        let deployment = FakeDeployment {
            id,
            repository: request.repository.clone(),
            git_ref: request.git_ref,
            sha,
            environment: request.environment,
            description: request.description,
            payload: request.payload,
            transient_environment: request.transient_environment,
            production_environment: request.production_environment,
            auto_merge: request.auto_merge,
            required_contexts: request.required_contexts,
            task: request.task,
            created_at: now,
            statuses: Vec::new(),
        };
        repo.deployments.push(deployment.clone());
        Ok(DeploymentAnswer::Created(Box::new(deployment)))
    }

    fn op_create_status(
        &self,
        repository: &Repository,
        deployment_id: u64,
        mut status: FakeDeploymentStatus,
    ) -> Result<(FakeDeployment, FakeDeploymentStatus), Failure> {
        const STATES: [&str; 7] = [
            "error",
            "failure",
            "inactive",
            "in_progress",
            "queued",
            "pending",
            "success",
        ];
        if !STATES.contains(&status.state.as_str()) {
            return Err(Failure::new(
                422,
                format!(
                    "Validation Failed: state `{}` is not one of {STATES:?}",
                    status.state
                ),
            ));
        }
        if status
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 140)
        {
            return Err(Failure::new(
                422,
                "Validation Failed: description is too long (maximum is 140 characters)",
            ));
        }
        let mut state = self.lock();
        status.id = state.next_id();
        let repo = state
            .repos
            .get_mut(repository)
            .ok_or_else(Failure::not_found)?;
        let deployment = repo
            .deployments
            .iter_mut()
            .find(|d| d.id == deployment_id)
            .ok_or_else(Failure::not_found)?;
        deployment.statuses.push(status.clone());
        Ok((deployment.clone(), status))
    }

    fn op_list_comments(
        &self,
        repository: &Repository,
        pr: u64,
    ) -> Result<Vec<FakeComment>, Failure> {
        self.repo_read(repository, |r| {
            r.comments.iter().filter(|c| c.pr == pr).cloned().collect()
        })
    }

    fn op_create_comment(
        &self,
        repository: &Repository,
        pr: u64,
        body: &str,
    ) -> Result<FakeComment, Failure> {
        let mut state = self.lock();
        let id = state.next_id();
        let repo = state
            .repos
            .get_mut(repository)
            .ok_or_else(Failure::not_found)?;
        let comment = FakeComment {
            id,
            pr,
            body: body.to_owned(),
            previous_bodies: Vec::new(),
        };
        repo.comments.push(comment.clone());
        Ok(comment)
    }

    fn op_edit_comment(
        &self,
        repository: &Repository,
        id: u64,
        body: &str,
    ) -> Result<FakeComment, Failure> {
        let mut state = self.lock();
        let repo = state
            .repos
            .get_mut(repository)
            .ok_or_else(Failure::not_found)?;
        let comment = repo
            .comments
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(Failure::not_found)?;
        let previous = std::mem::replace(&mut comment.body, body.to_owned());
        comment.previous_bodies.push(previous);
        Ok(comment.clone())
    }
}

/// A deployment creation request as the fake reads it.
#[derive(Debug, Clone)]
struct DeploymentRequest {
    repository: Repository,
    git_ref: String,
    environment: String,
    description: Option<String>,
    payload: serde_json::Value,
    transient_environment: bool,
    production_environment: bool,
    auto_merge: Option<bool>,
    required_contexts: Option<Vec<String>>,
    task: Option<String>,
}

#[derive(Debug, Clone)]
enum DeploymentAnswer {
    Created(Box<FakeDeployment>),
    Merged,
    ChecksFailed(Vec<(String, String)>),
}

/// GitHub's name for a deployment state.
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
        // Never sent: deploybot has no GitHub deployment for one that never ran.
        DeploymentState::Inactive
        | DeploymentState::Superseded
        | DeploymentState::Skipped
        | DeploymentState::Cancelled
        | DeploymentState::Expired => "inactive",
    }
}

/// The combined state GitHub computes from a commit's statuses: `failure` when any is
/// `error` or `failure`, `pending` when there are none or any is pending, else `success`.
fn combined_state(statuses: &BTreeMap<String, String>) -> &'static str {
    if statuses.values().any(|s| s == "failure" || s == "error") {
        "failure"
    } else if statuses.is_empty() || statuses.values().any(|s| s == "pending") {
        "pending"
    } else {
        "success"
    }
}

/// The verdict the real adapter reaches for these checks (kept in step with it).
fn checks_summary(checks: &CommitChecks) -> ChecksSummary {
    let mut failing = Vec::new();
    let mut pending = Vec::new();
    for (context, state) in &checks.statuses {
        match state.as_str() {
            "success" => {}
            "failure" | "error" => failing.push(context.clone()),
            _ => pending.push(context.clone()),
        }
    }
    for suite in checks.suites.iter().filter(|s| s.check_runs > 0) {
        match (suite.status.as_str(), suite.conclusion.as_deref()) {
            ("completed", Some("success" | "neutral" | "skipped")) => {}
            (
                "completed",
                Some(
                    "failure" | "cancelled" | "timed_out" | "action_required" | "startup_failure"
                    | "stale",
                ),
            ) => failing.push(suite.app.clone()),
            _ => pending.push(suite.app.clone()),
        }
    }
    let state = if !failing.is_empty() {
        ChecksState::Red
    } else if !pending.is_empty() {
        ChecksState::Pending
    } else {
        ChecksState::Green
    };
    ChecksSummary {
        state,
        failing,
        pending,
    }
}

/// What the real adapter reports as the commit's named checks: each status by context, then
/// each check run by name.
fn reported_checks(checks: &CommitChecks) -> Vec<ReportedCheck> {
    let statuses = checks
        .statuses
        .iter()
        .map(|(context, state)| ReportedCheck::new(context, CheckState::of_status(state)));
    let runs = checks.runs.iter().map(|r| {
        ReportedCheck::new(
            &r.name,
            CheckState::of_check_run(&r.status, r.conclusion.as_deref()),
        )
    });
    statuses.chain(runs).collect()
}

/// How the real adapter names a blocking context in `ChecksNotGreen`.
fn context_label(context: &str, state: &str) -> String {
    if state.is_empty() {
        context.to_owned()
    } else {
        format!("{context} ({state})")
    }
}

/// A stand-in for git's blob SHA of `text`: 40 hex digits that change with the text.
pub fn blob_sha(text: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut first = std::hash::DefaultHasher::new();
    text.hash(&mut first);
    let mut second = std::hash::DefaultHasher::new();
    (text, 1u8).hash(&mut second);
    format!(
        "{:016x}{:016x}{:08x}",
        first.finish(),
        second.finish(),
        text.len()
    )
}

fn repo_path(repository: &Repository) -> String {
    format!("/repos/{}", repository.as_str())
}

#[async_trait]
impl GitHub for FakeGitHub {
    async fn collaborators(
        &self,
        repository: &Repository,
    ) -> Result<Vec<GithubLogin>, GitHubError> {
        let what = format!("repository {repository}");
        self.enter(format!("GET {}/collaborators", repo_path(repository)))
            .await
            .and_then(|()| self.op_collaborators(repository))
            .map_err(|f| f.into_port_error(&what, self.now()))
    }

    async fn team_members(
        &self,
        repository: &Repository,
        team: &deploybot_core::approval::Team,
    ) -> Result<Vec<GithubLogin>, GitHubError> {
        let what = format!("team {team}");
        self.enter(format!(
            "GET /orgs/{}/teams/{}/members",
            team.org(),
            team.slug()
        ))
        .await
        .and_then(|()| self.op_team_members(repository, team))
        .map_err(|f| f.into_port_error(&what, self.now()))
    }

    async fn resolve_ref(
        &self,
        repository: &Repository,
        git_ref: &GitRef,
    ) -> Result<ResolvedRef, GitHubError> {
        let reference = match git_ref {
            GitRef::Branch(b) => format!("heads/{b}"),
            GitRef::Tag(t) => format!("tags/{t}"),
            GitRef::Name(n) => n.clone(),
        };
        let what = format!("ref `{}` in {repository}", git_ref.short_name());
        self.enter(format!("GET {}/commits/{reference}", repo_path(repository)))
            .await
            .and_then(|()| self.op_resolve(repository, &reference))
            .map(|(sha, author, _)| ResolvedRef { sha, author })
            .map_err(|f| {
                let f = if f.status == 422 {
                    Failure::not_found()
                } else {
                    f
                };
                f.into_port_error(&what, self.now())
            })
    }

    async fn compare_commits(
        &self,
        repository: &Repository,
        base: &Sha,
        head: &Sha,
    ) -> Result<String, GitHubError> {
        let what = format!("comparison in {repository}");
        self.enter(format!(
            "GET {}/compare/{base}...{head}",
            repo_path(repository)
        ))
        .await
        .and_then(|()| self.op_compare(repository, base, head))
        .map(str::to_owned)
        .map_err(|f| f.into_port_error(&what, self.now()))
    }

    async fn changed_files(
        &self,
        repository: &Repository,
        base: &Sha,
        head: &Sha,
    ) -> Result<ChangedFiles, GitHubError> {
        let what = format!("comparison in {repository}");
        self.enter(format!(
            "GET {}/compare/{base}...{head}",
            repo_path(repository)
        ))
        .await
        .and_then(|()| self.op_changed_files(repository, base, head))
        .map(|paths| ChangedFiles {
            complete: paths.len() < 300,
            paths,
        })
        .map_err(|f| f.into_port_error(&what, self.now()))
    }

    async fn comparison(
        &self,
        repository: &Repository,
        base: &Sha,
        head: &Sha,
    ) -> Result<deploybot_core::shipping::Comparison, GitHubError> {
        use deploybot_core::shipping::{Comparison, MAX_LINES, ShippedCommit, ShippedPullRequest};
        let what = format!("comparison in {repository}");
        self.enter(format!(
            "GET {}/compare/{base}...{head}",
            repo_path(repository)
        ))
        .await
        .and_then(|()| self.op_compare_commits(repository, base, head))
        .map(|(listed, total)| {
            let newest = listed.len().saturating_sub(MAX_LINES);
            let mut pull_requests: Vec<ShippedPullRequest> = Vec::new();
            let commits = listed
                .into_iter()
                .enumerate()
                .map(|(i, (sha, info))| {
                    let pr = info.pull_request.filter(|_| i >= newest);
                    if let Some(pr) = &pr
                        && !pull_requests.iter().any(|p| p.number == pr.number)
                    {
                        pull_requests.push(ShippedPullRequest {
                            number: pr.number,
                            title: pr.title.clone(),
                            url: format!("https://github.com/{repository}/pull/{}", pr.number),
                            author: pr.author.clone(),
                        });
                    }
                    ShippedCommit {
                        sha,
                        title: info.message.lines().next().unwrap_or_default().to_owned(),
                        author: info.author,
                        pull_requests: pr.map(|p| p.number).into_iter().collect(),
                    }
                })
                .collect();
            Comparison {
                base: base.clone(),
                head: head.clone(),
                url: format!("https://github.com/{repository}/compare/{base}...{head}"),
                total_commits: total,
                commits,
                pull_requests,
            }
        })
        .map_err(|f| f.into_port_error(&what, self.now()))
    }

    async fn create_check_run(&self, run: &NewCheckRun) -> Result<u64, GitHubError> {
        let repository = &run.repository;
        let what = format!("repository {repository}");
        let fake = FakeCheckRun {
            id: 0,
            name: run.name.clone(),
            head_sha: run.head_sha.clone(),
            status: "completed".to_owned(),
            conclusion: Some(run.conclusion.as_str().to_owned()),
            title: Some(run.title.clone()),
            summary: Some(run.summary.clone()),
            annotations: run
                .annotations
                .iter()
                .map(|a| FakeAnnotation {
                    path: a.path.clone(),
                    start_line: u64::from(a.start_line),
                    end_line: u64::from(a.end_line),
                    annotation_level: "failure".to_owned(),
                    message: a.message.clone(),
                })
                .collect(),
        };
        self.enter(format!("POST {}/check-runs", repo_path(repository)))
            .await
            .and_then(|()| self.op_create_check_run(repository, fake))
            .map(|created| created.id)
            .map_err(|f| f.into_port_error(&what, self.now()))
    }

    async fn file_at(
        &self,
        repository: &Repository,
        path: &str,
        commit: &Sha,
    ) -> Result<Option<RepositoryFile>, GitHubError> {
        let what = format!("{path} in {repository}");
        self.enter(format!(
            "GET {}/contents/{path}?ref={commit}",
            repo_path(repository)
        ))
        .await
        .and_then(|()| self.op_file(repository, path, commit))
        .map_err(|f| f.into_port_error(&what, self.now()))
    }

    async fn default_branch(&self, repository: &Repository) -> Result<String, GitHubError> {
        let what = format!("repository {repository}");
        self.enter(format!("GET {}", repo_path(repository)))
            .await
            .and_then(|()| self.op_default_branch(repository))
            .map_err(|f| f.into_port_error(&what, self.now()))
    }

    async fn repository(&self, repository: &Repository) -> Result<RepositoryInfo, GitHubError> {
        let what = format!("repository {repository}");
        let port_error = |f: Failure| f.into_port_error(&what, self.now());
        // As the real adapter: the installation, then (when there is none) the account's
        // installation, then the repository through the installation.
        self.enter(format!("GET {}/installation", repo_path(repository)))
            .await
            .map_err(port_error)?;
        if self.op_installation(repository).is_err() {
            let owner = repository.owner();
            self.lock()
                .calls
                .push(format!("GET /users/{owner}/installation"));
            return Err(match self.op_owner_installation(owner) {
                Ok(_) => GitHubError::NotFound(what.clone()),
                Err(_) => GitHubError::NotInstalled(repository.to_string()),
            });
        }
        self.enter(format!("GET {}", repo_path(repository)))
            .await
            .map_err(port_error)?;
        match self.op_repository(repository) {
            Ok((id, default_branch)) => Ok(RepositoryInfo {
                id,
                full_name: repository.clone(),
                default_branch,
            }),
            Err(f) if f.status == 403 => Err(GitHubError::Forbidden(f.message())),
            Err(f) => Err(port_error(f)),
        }
    }

    async fn create_deployment(
        &self,
        deployment: &NewGithubDeployment,
    ) -> Result<CreateDeploymentOutcome, GitHubError> {
        let what = format!("repository {}", deployment.repository);
        let request = DeploymentRequest {
            repository: deployment.repository.clone(),
            git_ref: deployment.git_ref.clone(),
            environment: deployment.environment.to_string(),
            description: Some(deployment.description.clone()),
            payload: deployment.payload.clone(),
            transient_environment: deployment.transient_environment,
            production_environment: deployment.production_environment,
            auto_merge: Some(false),
            required_contexts: deployment.rollback.then(Vec::new),
            task: deployment
                .rollback
                .then(|| deploybot_core::rollback::ROLLBACK_TASK.to_owned()),
        };
        let answer = self
            .enter(format!(
                "POST {}/deployments",
                repo_path(&deployment.repository)
            ))
            .await
            .and_then(|()| self.op_create_deployment(request))
            .map_err(|f| f.into_port_error(&what, self.now()))?;
        match answer {
            DeploymentAnswer::Created(d) => Ok(CreateDeploymentOutcome::Created { id: d.id }),
            DeploymentAnswer::Merged => Err(GitHubError::AutoMerged),
            DeploymentAnswer::ChecksFailed(contexts) => {
                Ok(CreateDeploymentOutcome::ChecksNotGreen {
                    contexts: contexts.iter().map(|(c, s)| context_label(c, s)).collect(),
                })
            }
        }
    }

    async fn create_deployment_status(
        &self,
        repository: &Repository,
        github_deployment_id: u64,
        status: &NewDeploymentStatus,
    ) -> Result<(), GitHubError> {
        let what = format!("deployment {github_deployment_id} in {repository}");
        let fake_status = FakeDeploymentStatus {
            id: 0,
            state: github_state_name(status.state).to_owned(),
            log_url: status.log_url.clone(),
            environment_url: status.environment_url.clone(),
            description: status
                .description
                .as_ref()
                .map(|d| d.chars().take(140).collect()),
            auto_inactive: Some(false),
        };
        self.enter(format!(
            "POST {}/deployments/{github_deployment_id}/statuses",
            repo_path(repository)
        ))
        .await
        .and_then(|()| self.op_create_status(repository, github_deployment_id, fake_status))
        .map(|_| ())
        .map_err(|f| f.into_port_error(&what, self.now()))
    }

    async fn commit_checks(
        &self,
        repository: &Repository,
        sha: &Sha,
    ) -> Result<ChecksSummary, GitHubError> {
        let what = format!("commit {} in {repository}", sha.short());
        let now = self.now();
        self.enter(format!(
            "GET {}/commits/{sha}/status",
            repo_path(repository)
        ))
        .await
        .map_err(|f| f.clone().into_port_error(&what, now))?;
        self.enter(format!(
            "GET {}/commits/{sha}/check-suites",
            repo_path(repository)
        ))
        .await
        .and_then(|()| self.op_commit_checks(repository, sha.as_str()))
        .map(|(_, checks)| checks_summary(&checks))
        .map_err(|f| {
            let f = if f.status == 422 {
                Failure::not_found()
            } else {
                f
            };
            f.into_port_error(&what, now)
        })
    }

    async fn upsert_pr_comment(
        &self,
        repository: &Repository,
        pr_number: u64,
        marker: &str,
        body: &str,
    ) -> Result<u64, GitHubError> {
        let what = format!("pull request #{pr_number} in {repository}");
        let now = self.now();
        self.enter(format!(
            "GET {}/issues/{pr_number}/comments",
            repo_path(repository)
        ))
        .await
        .map_err(|f| f.into_port_error(&what, now))?;
        let existing = self
            .op_list_comments(repository, pr_number)
            .map_err(|f| f.into_port_error(&what, now))?
            .into_iter()
            .find(|c| c.body.contains(marker));
        let comment = match existing {
            Some(comment) => self
                .enter(format!(
                    "PATCH {}/issues/comments/{}",
                    repo_path(repository),
                    comment.id
                ))
                .await
                .and_then(|()| self.op_edit_comment(repository, comment.id, body)),
            None => self
                .enter(format!(
                    "POST {}/issues/{pr_number}/comments",
                    repo_path(repository)
                ))
                .await
                .and_then(|()| self.op_create_comment(repository, pr_number, body)),
        };
        comment
            .map(|c| c.id)
            .map_err(|f| f.into_port_error(&what, now))
    }

    async fn named_checks(
        &self,
        repository: &Repository,
        sha: &Sha,
    ) -> Result<Vec<ReportedCheck>, GitHubError> {
        let what = format!("commit {} in {repository}", sha.short());
        let now = self.now();
        let not_found = |f: Failure| {
            let f = if f.status == 422 {
                Failure::not_found()
            } else {
                f
            };
            f.into_port_error(&what, now)
        };
        self.enter(format!(
            "GET {}/commits/{sha}/status",
            repo_path(repository)
        ))
        .await
        .map_err(not_found)?;
        self.enter(format!(
            "GET {}/commits/{sha}/check-runs",
            repo_path(repository)
        ))
        .await
        .and_then(|()| self.op_commit_checks(repository, sha.as_str()))
        .map(|(_, checks)| reported_checks(&checks))
        .map_err(not_found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::github_fixture;
    use deploybot_core::Environment;

    fn repo() -> Repository {
        Repository::parse("acme/web").expect("repository")
    }

    fn sha(c: char) -> Sha {
        Sha::parse(&c.to_string().repeat(40)).expect("sha")
    }

    fn fake() -> FakeGitHub {
        let fake = FakeGitHub::new();
        fake.add_repository(&repo(), "main");
        fake.set_branch(&repo(), "main", &sha('a'), Some("alice"));
        fake
    }

    fn deployment() -> NewGithubDeployment {
        NewGithubDeployment {
            repository: repo(),
            git_ref: "main".to_owned(),
            environment: Environment::Preview,
            description: "preview".to_owned(),
            payload: serde_json::json!({"deployment_id": "x"}),
            transient_environment: false,
            production_environment: false,
            rollback: false,
        }
    }

    #[tokio::test]
    async fn direct_deployments_park_on_required_checks_and_record_statuses() {
        let fake = fake();
        fake.require_checks(&repo(), &sha('a'), &[("ci/circleci", "pending")]);
        assert_eq!(
            fake.create_deployment(&deployment()).await,
            Ok(CreateDeploymentOutcome::ChecksNotGreen {
                contexts: vec!["ci/circleci (pending)".to_owned()]
            })
        );
        let summary = fake
            .commit_checks(&repo(), &sha('a'))
            .await
            .expect("checks");
        assert_eq!(summary.state, ChecksState::Pending);
        fake.set_checks_green(&repo(), &sha('a'));
        let Ok(CreateDeploymentOutcome::Created { id }) =
            fake.create_deployment(&deployment()).await
        else {
            panic!("expected a deployment");
        };
        let status = NewDeploymentStatus {
            state: DeploymentState::Queued,
            log_url: None,
            environment_url: None,
            description: Some("x".repeat(200)),
        };
        fake.create_deployment_status(&repo(), id, &status)
            .await
            .expect("status");
        let statuses = fake.statuses(&repo(), id);
        assert_eq!(statuses.len(), 1);
        assert_eq!(statuses[0].state, "queued");
        assert_eq!(statuses[0].description.as_deref().map(str::len), Some(140));
        let recorded = &fake.deployments(&repo())[0];
        assert_eq!(
            (recorded.auto_merge, recorded.sha.clone()),
            (Some(false), sha('a'))
        );
        assert!(
            fake.calls()
                .contains(&"POST /repos/acme/web/deployments".to_owned())
        );
    }

    #[tokio::test]
    async fn direct_scripted_failures_map_like_the_adapter() {
        let fake = fake();
        fake.fail_next(1, 503);
        assert_eq!(
            fake.default_branch(&repo()).await,
            Err(GitHubError::Server { status: 503 })
        );
        fake.rate_limit_next(9);
        assert_eq!(
            fake.default_branch(&repo()).await,
            Err(GitHubError::RateLimited {
                retry_after_secs: 9
            })
        );
        fake.answer_merge_202_next();
        assert_eq!(
            fake.create_deployment(&deployment()).await,
            Err(GitHubError::AutoMerged)
        );
        assert_eq!(fake.default_branch(&repo()).await.as_deref(), Ok("main"));
        let unknown = Repository::parse("acme/nope").expect("repository");
        assert!(matches!(
            fake.collaborators(&unknown).await,
            Err(GitHubError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn direct_comment_upsert_edits_in_place() {
        let fake = fake();
        let first = fake
            .upsert_pr_comment(&repo(), 3, "<!-- m -->", "<!-- m --> one")
            .await
            .expect("created");
        let second = fake
            .upsert_pr_comment(&repo(), 3, "<!-- m -->", "<!-- m --> two")
            .await
            .expect("edited");
        assert_eq!(first, second);
        let comments = fake.comments(&repo(), 3);
        assert_eq!(comments.len(), 1);
        assert_eq!(comments[0].body, "<!-- m --> two");
        assert_eq!(
            comments[0].previous_bodies,
            vec!["<!-- m --> one".to_owned()]
        );
    }

    #[test]
    fn github_fixtures_carry_what_the_webhook_handler_reads() {
        let zero = "0".repeat(40);
        let release = github_fixture("push.release-branch").expect("fixture");
        assert_eq!(release["ref"], "refs/heads/release-1.4");
        assert_eq!(release["repository"]["full_name"], "acme/web");
        assert!(release["head_commit"]["id"].is_string());
        let deleted = github_fixture("push.branch-deleted").expect("fixture");
        assert_eq!(
            (deleted["deleted"].as_bool(), deleted["after"].as_str()),
            (Some(true), Some(zero.as_str()))
        );
        assert!(deleted["head_commit"].is_null());
        let synchronize = github_fixture("pull_request.synchronize").expect("fixture");
        assert_eq!(synchronize["action"], "synchronize");
        assert_eq!(
            synchronize["after"],
            synchronize["pull_request"]["head"]["sha"]
        );
        let closed = github_fixture("pull_request.closed").expect("fixture");
        assert_eq!(
            (
                closed["action"].as_str(),
                closed["pull_request"]["merged"].as_bool()
            ),
            (Some("closed"), Some(true))
        );
        let fork = github_fixture("pull_request.opened-from-fork").expect("fixture");
        assert_eq!(
            fork["pull_request"]["head"]["repo"]["full_name"],
            "mallory/web"
        );
        assert_eq!(fork["pull_request"]["head"]["repo"]["fork"], true);
        assert_eq!(
            fork["pull_request"]["base"]["repo"]["full_name"],
            "acme/web"
        );
        let failure = github_fixture("status.failure").expect("fixture");
        assert_eq!(failure["state"], "failure");
        assert!(Sha::parse(failure["sha"].as_str().unwrap_or("")).is_ok());
        for name in [
            "ping",
            "push",
            "push.tag",
            "pull_request.opened",
            "status",
            "check_suite.completed",
            "deployment",
            "deployment_status",
        ] {
            assert!(github_fixture(name).is_some(), "{name}");
        }
        assert_eq!(github_fixture("push.nope"), None);
    }
}
