//! GitHub REST request and response bodies, only the fields deploybot reads or sends.

use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
pub(crate) struct Installation {
    pub(crate) id: u64,
}

#[derive(Deserialize)]
pub(crate) struct AccessToken {
    pub(crate) token: String,
    pub(crate) expires_at: String,
}

/// `GET /repos/{owner}/{repo}` (only the fields deploybot reads).
#[derive(Debug, Deserialize)]
pub(crate) struct RepositoryInfo {
    pub(crate) id: u64,
    pub(crate) full_name: String,
    pub(crate) default_branch: String,
}

/// `GET /repos/{owner}/{repo}/contents/{path}?ref=...` for a file: the blob SHA and its
/// content, base64 with line breaks (`encoding: "none"` and no content above 1 MB).
#[derive(Debug, Deserialize)]
pub(crate) struct FileContents {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) sha: String,
    #[serde(default)]
    pub(crate) encoding: Option<String>,
    #[serde(default)]
    pub(crate) content: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Account {
    pub(crate) login: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Commit {
    pub(crate) sha: String,
    /// The GitHub account the commit's author e-mail maps to; null when none does.
    #[serde(default)]
    pub(crate) author: Option<Account>,
}

/// `GET /repos/{owner}/{repo}/compare/{base}...{head}` (only the relation is read).
#[derive(Debug, Deserialize)]
pub(crate) struct Comparison {
    pub(crate) status: String,
}

/// `GET /repos/{owner}/{repo}/compare/{base}...{head}`, for its commits ("What's shipping").
#[derive(Debug, Deserialize)]
pub(crate) struct ComparisonCommits {
    pub(crate) html_url: String,
    #[serde(default)]
    pub(crate) total_commits: u64,
    #[serde(default)]
    pub(crate) commits: Vec<ComparedCommit>,
}

/// One commit of a comparison: its SHA, its message and the account of its author.
#[derive(Debug, Deserialize)]
pub(crate) struct ComparedCommit {
    pub(crate) sha: String,
    pub(crate) commit: GitCommit,
    /// The GitHub account the author e-mail maps to; null when none does.
    #[serde(default)]
    pub(crate) author: Option<Account>,
}

/// The git data of a commit (only the message is read).
#[derive(Debug, Deserialize)]
pub(crate) struct GitCommit {
    #[serde(default)]
    pub(crate) message: String,
}

/// One pull request of `GET /repos/{owner}/{repo}/commits/{sha}/pulls`.
#[derive(Debug, Deserialize)]
pub(crate) struct AssociatedPullRequest {
    pub(crate) number: u64,
    #[serde(default)]
    pub(crate) title: String,
    pub(crate) html_url: String,
    #[serde(default)]
    pub(crate) user: Option<Account>,
    #[serde(default)]
    pub(crate) merged_at: Option<String>,
}

/// `GET /repos/{owner}/{repo}/compare/{base}...{head}`, for the files it changes (GitHub
/// lists at most 300).
#[derive(Debug, Deserialize)]
pub(crate) struct ComparisonFiles {
    #[serde(default)]
    pub(crate) files: Vec<DiffEntry>,
}

/// One entry of a comparison's `files`.
#[derive(Debug, Deserialize)]
pub(crate) struct DiffEntry {
    pub(crate) filename: String,
    /// A renamed file's old path.
    #[serde(default)]
    pub(crate) previous_filename: Option<String>,
}

/// `POST /repos/{owner}/{repo}/check-runs`, completed at once.
#[derive(Debug, Serialize)]
pub(crate) struct CreateCheckRun<'a> {
    pub(crate) name: &'a str,
    pub(crate) head_sha: &'a str,
    pub(crate) status: &'a str,
    pub(crate) conclusion: &'a str,
    pub(crate) output: CheckRunOutput<'a>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CheckRunOutput<'a> {
    pub(crate) title: &'a str,
    pub(crate) summary: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) annotations: Vec<CheckRunAnnotation<'a>>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CheckRunAnnotation<'a> {
    pub(crate) path: &'a str,
    pub(crate) start_line: u32,
    pub(crate) end_line: u32,
    pub(crate) annotation_level: &'a str,
    pub(crate) message: &'a str,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CreatedCheckRun {
    pub(crate) id: u64,
}

/// `POST /repos/{owner}/{repo}/deployments`. `required_contexts` is deliberately absent:
/// leaving it out makes GitHub verify every context (an empty list would skip the checks).
#[derive(Debug, Serialize)]
pub(crate) struct CreateDeployment<'a> {
    #[serde(rename = "ref")]
    pub(crate) git_ref: &'a str,
    pub(crate) environment: String,
    pub(crate) description: &'a str,
    pub(crate) payload: &'a serde_json::Value,
    pub(crate) auto_merge: bool,
    pub(crate) transient_environment: bool,
    pub(crate) production_environment: bool,
    /// `deploy:rollback` for a rollback; absent (GitHub's `deploy`) otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) task: Option<&'static str>,
    /// `[]` for a rollback (no checks required); absent (GitHub's default, every context)
    /// otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) required_contexts: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CreatedDeployment {
    pub(crate) id: u64,
}

/// GitHub's 409 body when required contexts are not green:
/// `{"message": "Conflict: ...", "errors": [{"contexts": [{"context": .., "state": ..}], ...}]}`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ConflictBody {
    #[serde(default)]
    pub(crate) errors: Vec<ConflictError>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ConflictError {
    #[serde(default)]
    pub(crate) contexts: Vec<ContextState>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ContextState {
    pub(crate) context: String,
    #[serde(default)]
    pub(crate) state: Option<String>,
}

/// `POST /repos/{owner}/{repo}/deployments/{id}/statuses`.
#[derive(Debug, Serialize)]
pub(crate) struct CreateDeploymentStatus<'a> {
    pub(crate) state: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) log_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) environment_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    /// GitHub's default (true) would mark earlier deployments inactive on its own; deploybot
    /// decides that itself.
    pub(crate) auto_inactive: bool,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CombinedStatus {
    #[serde(default)]
    pub(crate) statuses: Vec<StatusItem>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StatusItem {
    pub(crate) context: String,
    pub(crate) state: String,
}

/// A page of `GET /commits/{ref}/check-runs` (the latest run of each name by default).
#[derive(Debug, Deserialize)]
pub(crate) struct CheckRunPage {
    #[serde(default)]
    pub(crate) check_runs: Vec<CheckRun>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CheckRun {
    pub(crate) name: String,
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) conclusion: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CheckSuitePage {
    #[serde(default)]
    pub(crate) check_suites: Vec<CheckSuite>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CheckSuite {
    #[serde(default)]
    pub(crate) status: Option<String>,
    #[serde(default)]
    pub(crate) conclusion: Option<String>,
    #[serde(default)]
    pub(crate) app: Option<CheckSuiteApp>,
    #[serde(default)]
    pub(crate) latest_check_runs_count: Option<u64>,
}

impl CheckSuite {
    /// The app's name, for people.
    pub(crate) fn name(&self) -> String {
        self.app
            .as_ref()
            .and_then(|a| a.name.clone().or_else(|| a.slug.clone()))
            .unwrap_or_else(|| "check suite".to_owned())
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct CheckSuiteApp {
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) slug: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct IssueComment {
    pub(crate) id: u64,
    #[serde(default)]
    pub(crate) body: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct CommentBody<'a> {
    pub(crate) body: &'a str,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub(crate) message: Option<String>,
}
