//! The GitHub webhook payloads `github-webhook` acts on (`pull_request`, `push`, `status`,
//! `check_suite`, `check_run`, `deployment`, `deployment_status`, `repository`), reduced to the
//! fields it reads.

use super::leading::{self, Leading};
use super::non_empty;
use crate::AppError;
use deploybot_core::repository_move::FormerName;
use deploybot_core::{DeploymentId, GithubLogin, Repository, Sha};
use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess};

/// The `repository` object every repository event carries, read as far as its `id` and
/// `full_name` (GitHub sends them first: [`super::leading`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryInfo {
    pub full_name: String,
    /// GitHub's numeric id of the repository: it survives renames and transfers.
    pub id: Option<u64>,
}

impl<'de> Deserialize<'de> for RepositoryInfo {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        leading::deserialize(d)
    }
}

impl Leading for RepositoryInfo {
    const EXPECTING: &'static str = "a repository object";

    fn read<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        #[derive(Deserialize)]
        #[serde(field_identifier, rename_all = "snake_case")]
        enum Key {
            FullName,
            Id,
            #[serde(other)]
            Other,
        }
        let (mut full_name, mut id) = (None, None::<Option<u64>>);
        while full_name.is_none() || id.is_none() {
            match map.next_key::<Key>()? {
                Some(Key::FullName) => leading::once(map, &mut full_name, "full_name")?,
                Some(Key::Id) => leading::once(map, &mut id, "id")?,
                Some(Key::Other) => {
                    map.next_value::<IgnoredAny>()?;
                }
                None => break,
            }
        }
        Ok(Self {
            full_name: full_name.ok_or_else(|| de::Error::missing_field("full_name"))?,
            id: id.flatten(),
        })
    }
}

/// The `repository` object of a push, read whole: its `default_branch` comes late.
#[derive(Debug, Deserialize)]
pub struct PushRepository {
    pub full_name: String,
    #[serde(default)]
    pub id: Option<u64>,
    #[serde(default)]
    pub default_branch: Option<String>,
}

impl PushRepository {
    /// Its name and id, as every other event's repository is read.
    pub fn info(self) -> RepositoryInfo {
        RepositoryInfo {
            full_name: self.full_name,
            id: self.id,
        }
    }
}

impl RepositoryInfo {
    /// The repository as deploybot names it; a malformed name is a 400.
    pub fn repository(&self) -> Result<Repository, AppError> {
        Repository::parse(&self.full_name)
            .map_err(|e| AppError::bad_request(format!("repository.full_name: {e}")))
    }
}

/// Just enough to find the repository an event belongs to, before parsing the rest.
#[derive(Debug, Deserialize)]
pub struct AnyRepositoryEvent {
    #[serde(default)]
    pub repository: Option<RepositoryInfo>,
}

/// A user or organization, read as far as its `login` (GitHub sends it first:
/// [`super::leading`]).
#[derive(Debug, Clone)]
pub struct Account {
    pub login: String,
}

impl<'de> Deserialize<'de> for Account {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        leading::deserialize(d)
    }
}

impl Leading for Account {
    const EXPECTING: &'static str = "an account object";

    fn read<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error> {
        #[derive(Deserialize)]
        #[serde(field_identifier, rename_all = "snake_case")]
        enum Key {
            Login,
            #[serde(other)]
            Other,
        }
        let mut login = None;
        while login.is_none() {
            match map.next_key::<Key>()? {
                Some(Key::Login) => leading::once(map, &mut login, "login")?,
                Some(Key::Other) => {
                    map.next_value::<IgnoredAny>()?;
                }
                None => break,
            }
        }
        Ok(Self {
            login: login.ok_or_else(|| de::Error::missing_field("login"))?,
        })
    }
}

impl Account {
    /// The login, when it is a valid GitHub login.
    pub fn github_login(&self) -> Option<GithubLogin> {
        GithubLogin::parse(&self.login).ok()
    }
}

/// `pull_request`.
#[derive(Debug, Deserialize)]
pub struct PullRequestEvent {
    pub action: String,
    pub number: u64,
    pub pull_request: PullRequest,
    pub repository: RepositoryInfo,
}

#[derive(Debug, Deserialize)]
pub struct PullRequest {
    #[serde(default)]
    pub html_url: Option<String>,
    /// A draft pull request (`false` when absent).
    #[serde(default)]
    pub draft: bool,
    pub head: PullRequestHead,
    /// Where the pull request goes (its `sha` is the base branch's head when the event was
    /// sent). Absent in some hand-made payloads: nothing is checked then.
    #[serde(default)]
    pub base: Option<PullRequestBase>,
    #[serde(default)]
    pub user: Option<Account>,
}

#[derive(Debug, Deserialize)]
pub struct PullRequestBase {
    pub sha: String,
}

#[derive(Debug, Deserialize)]
pub struct PullRequestHead {
    #[serde(rename = "ref")]
    pub branch: String,
    pub sha: String,
    /// `null` when the fork the head lives in was deleted.
    #[serde(default)]
    pub repo: Option<RepositoryInfo>,
}

impl PullRequestEvent {
    /// The head lives in another repository (or in a deleted fork).
    pub fn from_fork(&self) -> bool {
        match &self.pull_request.head.repo {
            Some(head) => !head
                .full_name
                .eq_ignore_ascii_case(&self.repository.full_name),
            None => true,
        }
    }

    pub fn head_sha(&self) -> Result<Sha, AppError> {
        parse_sha("pull_request.head.sha", &self.pull_request.head.sha)
    }

    /// `pull_request.base.sha`, when the payload has one.
    pub fn base_sha(&self) -> Result<Option<Sha>, AppError> {
        self.pull_request
            .base
            .as_ref()
            .map(|b| parse_sha("pull_request.base.sha", &b.sha))
            .transpose()
    }
}

/// `push`.
#[derive(Debug, Deserialize)]
pub struct PushEvent {
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub after: String,
    #[serde(default)]
    pub deleted: bool,
    /// The push created the ref.
    #[serde(default)]
    pub created: bool,
    /// The push was forced.
    #[serde(default)]
    pub forced: bool,
    /// The pushed commits, counted (what they touched: [`PushEvent::touches_workflow_file`]).
    #[serde(default)]
    pub commits: Vec<IgnoredAny>,
    pub repository: PushRepository,
    #[serde(default)]
    pub sender: Option<Account>,
    #[serde(default)]
    pub head_commit: Option<HeadCommit>,
    /// Set by [`PushEvent::parse`].
    #[serde(skip)]
    touches_workflow_file: bool,
}

/// The commits of a push with what they touched: read only when the body mentions the workflow
/// file at all.
#[derive(Debug, Deserialize)]
struct PushFiles {
    #[serde(default)]
    commits: Vec<PushCommit>,
}

impl PushEvent {
    /// Parses a `push`. Whether one of its commits added, changed or removed
    /// `.github/deploybot.yml` is asked only of a push to the default branch (the file is read
    /// from there only), and answered by a byte search first — nearly no push names the file,
    /// and the search costs a fraction of the JSON pass — and only a body that names it is read
    /// a second time for the commits' path lists.
    pub fn parse(body: &[u8]) -> Result<Self, AppError> {
        let mut push: PushEvent = super::parse_json("push", body)?;
        // The file's name as it ends a JSON string (GitHub does not escape `/`, and a name
        // without its folder is enough to decide whether to look closer).
        // The searcher is built once per process, not per event.
        static WORKFLOW_FILE_NAME: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"deploybot.yml\""));
        if push.is_to_default_branch() && WORKFLOW_FILE_NAME.find(body).is_some() {
            let files: PushFiles = super::parse_json("push", body)?;
            push.touches_workflow_file =
                files.commits.iter().any(PushCommit::touches_workflow_file);
        }
        Ok(push)
    }

    /// A push to the default branch of which one of the commits added, changed or removed
    /// `.github/deploybot.yml`.
    pub fn touches_workflow_file(&self) -> bool {
        self.touches_workflow_file
    }

    /// The pushed ref is the repository's default branch.
    fn is_to_default_branch(&self) -> bool {
        self.git_ref
            .strip_prefix("refs/heads/")
            .is_some_and(|branch| Some(branch) == self.repository.default_branch.as_deref())
    }
}

/// One commit of a push: only whether it touched the workflow file is kept (the path lists
/// are read without being stored).
#[derive(Debug, Default, Deserialize)]
struct PushCommit {
    #[serde(default, deserialize_with = "touches_workflow_file")]
    added: bool,
    #[serde(default, deserialize_with = "touches_workflow_file")]
    modified: bool,
    #[serde(default, deserialize_with = "touches_workflow_file")]
    removed: bool,
}

impl PushCommit {
    /// The commit added, changed or removed `.github/deploybot.yml`.
    fn touches_workflow_file(&self) -> bool {
        self.added || self.modified || self.removed
    }
}

/// Reads a list of paths, answering whether `.github/deploybot.yml` is one of them; the paths
/// are borrowed from the payload when they can be, never kept.
fn touches_workflow_file<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    struct Paths;
    impl<'de> serde::de::Visitor<'de> for Paths {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list of paths")
        }
        fn visit_unit<E>(self) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
            let mut touched = false;
            while let Some(IsWorkflowPath(is)) = seq.next_element()? {
                touched |= is;
            }
            Ok(touched)
        }
    }
    /// One path, compared where it lies (no copy).
    struct IsWorkflowPath(bool);
    impl<'de> Deserialize<'de> for IsWorkflowPath {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Path;
            impl serde::de::Visitor<'_> for Path {
                type Value = IsWorkflowPath;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a path")
                }
                fn visit_str<E>(self, path: &str) -> Result<IsWorkflowPath, E> {
                    Ok(IsWorkflowPath(
                        path == deploybot_core::workflow_file::WORKFLOW_PATH,
                    ))
                }
            }
            d.deserialize_str(Path)
        }
    }
    d.deserialize_any(Paths)
}

#[derive(Debug, Deserialize)]
pub struct HeadCommit {
    /// The commit SHA (for an annotated tag, the commit the tag points to, while `after` is
    /// the tag object).
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub author: Option<CommitAuthor>,
}

#[derive(Debug, Deserialize)]
pub struct CommitAuthor {
    /// The author's GitHub login, when the commit's e-mail maps to an account.
    #[serde(default)]
    pub username: Option<String>,
}

impl PushEvent {
    /// The pushed commit; `None` for a deletion (GitHub sends forty zeros). The head
    /// commit's id wins over `after`, which is the tag object for an annotated tag.
    pub fn after_sha(&self) -> Result<Option<Sha>, AppError> {
        if self.deleted || self.after.bytes().all(|b| b == b'0') {
            return Ok(None);
        }
        let after = parse_sha("after", &self.after)?;
        match self.head_commit.as_ref().and_then(|c| c.id.as_deref()) {
            Some(id) => parse_sha("head_commit.id", id).map(Some),
            None => Ok(Some(after)),
        }
    }

    pub fn commit_author(&self) -> Option<GithubLogin> {
        self.head_commit
            .as_ref()
            .and_then(|c| c.author.as_ref())
            .and_then(|a| a.username.as_deref())
            .and_then(|u| GithubLogin::parse(u).ok())
    }
}

/// `repository` (created, renamed, transferred, archived, ...). `repository` is the
/// repository as it is now; `changes` says what it was before.
#[derive(Debug, Deserialize)]
pub struct RepositoryEvent {
    pub action: String,
    #[serde(default)]
    pub changes: Option<RepositoryChanges>,
    pub repository: RepositoryInfo,
}

#[derive(Debug, Default, Deserialize)]
pub struct RepositoryChanges {
    /// `renamed`: `changes.repository.name.from`.
    #[serde(default)]
    pub repository: Option<RenamedRepository>,
    /// `transferred`: `changes.owner.from.{user|organization}.login`.
    #[serde(default)]
    pub owner: Option<TransferredOwner>,
}

#[derive(Debug, Deserialize)]
pub struct RenamedRepository {
    pub name: ChangedFrom,
}

#[derive(Debug, Deserialize)]
pub struct ChangedFrom {
    pub from: String,
}

#[derive(Debug, Deserialize)]
pub struct TransferredOwner {
    pub from: FormerOwner,
}

/// The previous owner: a user or an organization (GitHub sends `"user": null` for an
/// organization).
#[derive(Debug, Deserialize)]
pub struct FormerOwner {
    #[serde(default)]
    pub user: Option<Account>,
    #[serde(default)]
    pub organization: Option<Account>,
}

impl RepositoryEvent {
    /// The repository's previous name as the event tells it (`renamed`, `transferred`);
    /// `None` for other actions. A payload missing the `changes` these actions carry is a 400.
    pub fn former_name(&self) -> Result<Option<FormerName>, AppError> {
        let changes = self.changes.as_ref();
        match self.action.as_str() {
            "renamed" => changes
                .and_then(|c| c.repository.as_ref())
                .map(|r| {
                    Some(FormerName::Renamed {
                        name: r.name.from.clone(),
                    })
                })
                .ok_or_else(|| {
                    AppError::bad_request(
                        "repository payload: missing field `changes.repository.name.from`",
                    )
                }),
            "transferred" => changes
                .and_then(|c| c.owner.as_ref())
                .and_then(|o| o.from.user.as_ref().or(o.from.organization.as_ref()))
                .map(|account| {
                    Some(FormerName::Transferred {
                        owner: account.login.clone(),
                    })
                })
                .ok_or_else(|| {
                    AppError::bad_request(
                        "repository payload: missing field `changes.owner.from.user.login` or \
                         `changes.owner.from.organization.login`",
                    )
                }),
            _ => Ok(None),
        }
    }
}

/// `status` (a commit status changed).
#[derive(Debug, Deserialize)]
pub struct StatusEvent {
    pub sha: String,
    pub state: String,
    #[serde(default)]
    pub context: Option<String>,
    pub repository: RepositoryInfo,
}

/// `check_suite`.
#[derive(Debug, Deserialize)]
pub struct CheckSuiteEvent {
    pub action: String,
    pub check_suite: CheckSuite,
    pub repository: RepositoryInfo,
}

#[derive(Debug, Deserialize)]
pub struct CheckSuite {
    pub head_sha: String,
    #[serde(default)]
    pub conclusion: Option<String>,
}

/// `check_run`.
#[derive(Debug, Deserialize)]
pub struct CheckRunEvent {
    pub action: String,
    pub check_run: CheckRun,
    pub repository: RepositoryInfo,
}

#[derive(Debug, Deserialize)]
pub struct CheckRun {
    pub head_sha: String,
    pub name: String,
    pub status: String,
    #[serde(default)]
    pub conclusion: Option<String>,
}

/// The `deployment` object of `deployment` and `deployment_status` events.
#[derive(Debug, Deserialize)]
pub struct GithubDeployment {
    pub id: u64,
    /// What the deployment was created with; ours carry `deployment_id`.
    #[serde(default)]
    pub payload: serde_json::Value,
}

impl GithubDeployment {
    /// Our deployment id, when the deployment was created by deploybot.
    pub fn deployment_id(&self) -> Option<DeploymentId> {
        self.payload
            .get("deployment_id")
            .and_then(|v| v.as_str())
            .and_then(|s| DeploymentId::parse(s).ok())
    }
}

/// `deployment`.
#[derive(Debug, Deserialize)]
pub struct DeploymentEvent {
    #[serde(default)]
    pub action: Option<String>,
    pub deployment: GithubDeployment,
    pub repository: RepositoryInfo,
}

/// `workflow_run`: a GitHub Actions run was requested, started or finished.
#[derive(Debug, Deserialize)]
pub struct WorkflowRunEvent {
    pub action: String,
    pub workflow_run: WorkflowRun,
    pub repository: RepositoryInfo,
}

#[derive(Debug, Deserialize)]
pub struct WorkflowRun {
    pub id: u64,
    /// The run name (`run-name`): `deploy <deployment id>` for deploybot's runs.
    #[serde(default)]
    pub display_title: Option<String>,
    #[serde(default)]
    pub run_attempt: Option<u64>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub conclusion: Option<String>,
    pub html_url: String,
}

/// `workflow_job`: one job of a run was queued, is waiting (on an environment's protection
/// rules), started or finished.
#[derive(Debug, Deserialize)]
pub struct WorkflowJobEvent {
    pub action: String,
    pub workflow_job: WorkflowJob,
    pub repository: RepositoryInfo,
}

#[derive(Debug, Deserialize)]
pub struct WorkflowJob {
    pub run_id: u64,
    pub name: String,
    #[serde(default)]
    pub html_url: Option<String>,
}

/// `deployment_status`.
#[derive(Debug, Deserialize)]
pub struct DeploymentStatusEvent {
    pub deployment_status: GithubDeploymentStatus,
    pub deployment: GithubDeployment,
    pub repository: RepositoryInfo,
}

#[derive(Debug, Deserialize)]
pub struct GithubDeploymentStatus {
    pub state: String,
    #[serde(default)]
    pub log_url: Option<String>,
    #[serde(default)]
    pub target_url: Option<String>,
    #[serde(default)]
    pub environment_url: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

impl GithubDeploymentStatus {
    /// `log_url`, or the older `target_url`, when set.
    pub fn log_url(&self) -> Option<String> {
        non_empty(self.log_url.clone()).or_else(|| non_empty(self.target_url.clone()))
    }

    pub fn environment_url(&self) -> Option<String> {
        non_empty(self.environment_url.clone())
    }

    pub fn description(&self) -> Option<String> {
        non_empty(self.description.clone())
    }
}

fn parse_sha(field: &str, value: &str) -> Result<Sha, AppError> {
    Sha::parse(value).map_err(|e| AppError::bad_request(format!("{field}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook_payloads::parse_json;
    use serde_json::json;

    fn push_with(commits: serde_json::Value) -> PushEvent {
        push_to("refs/heads/main", commits)
    }

    fn push_to(git_ref: &str, commits: serde_json::Value) -> PushEvent {
        let body = json!({
            "ref": git_ref,
            "after": "a".repeat(40),
            "commits": commits,
            "repository": {"full_name": "acme/web", "default_branch": "main"},
        });
        PushEvent::parse(&serde_json::to_vec(&body).expect("json")).expect("parses")
    }

    #[test]
    fn a_push_touches_the_workflow_file_only_when_a_commit_lists_it() {
        let commit = |message: &str, added: &[&str], modified: &[&str], removed: &[&str]| json!({"id": "a".repeat(40), "message": message, "added": added, "modified": modified, "removed": removed});
        let path = deploybot_core::workflow_file::WORKFLOW_PATH;
        let cases = [
            (json!([commit("x", &[], &["src/main.rs"], &[])]), false),
            (
                json!([commit("x", &[], &[], &[]), commit("y", &[path], &[], &[])]),
                true,
            ),
            (json!([commit("x", &[], &[path], &[])]), true),
            (json!([commit("x", &[], &[], &[path])]), true),
            // Named elsewhere (a message, another folder): not the file.
            (
                json!([commit(
                    "edit \"deploybot.yml\"",
                    &[],
                    &["docs/deploybot.yml"],
                    &[]
                )]),
                false,
            ),
            (json!([]), false),
        ];
        for (commits, want) in cases {
            let push = push_with(commits.clone());
            assert_eq!(push.touches_workflow_file(), want, "{commits}");
            assert_eq!(push.commits.len(), commits.as_array().map_or(0, Vec::len));
        }
        // The file is read from the default branch only: a push elsewhere that changes it (a
        // branch, a tag, a branch whose name ends like the default's) is not asked about it.
        for git_ref in ["refs/heads/develop", "refs/tags/main", "refs/heads/x/main"] {
            let push = push_to(git_ref, json!([commit("x", &[], &[path], &[])]));
            assert!(!push.touches_workflow_file(), "{git_ref}");
        }
    }

    fn pr(head_repo: serde_json::Value) -> PullRequestEvent {
        let body = json!({
            "action": "opened",
            "number": 3,
            "pull_request": {
                "html_url": "https://github.com/acme/web/pull/3",
                "head": {"ref": "feature", "sha": "a".repeat(40), "repo": head_repo},
                "user": {"login": "octocat"}
            },
            "repository": {"full_name": "Acme/Web"}
        });
        parse_json("pull_request", body.to_string().as_bytes()).expect("parses")
    }

    #[test]
    fn forks_are_told_apart_by_the_head_repository() {
        assert!(!pr(json!({"full_name": "acme/web"})).from_fork());
        assert!(pr(json!({"full_name": "mallory/web"})).from_fork());
        assert!(pr(serde_json::Value::Null).from_fork());
    }

    #[test]
    fn deletions_have_no_after_commit() {
        let push = |after: &str, deleted: bool| -> PushEvent {
            let body = json!({
                "ref": "refs/heads/main", "after": after, "deleted": deleted,
                "repository": {"full_name": "acme/web", "default_branch": "main"}
            });
            parse_json("push", body.to_string().as_bytes()).expect("parses")
        };
        assert_eq!(push(&"0".repeat(40), true).after_sha().expect("ok"), None);
        assert!(
            push(&"b".repeat(40), false)
                .after_sha()
                .expect("ok")
                .is_some()
        );
        assert!(push("nonsense", false).after_sha().is_err());
        let mut tag = push(&"c".repeat(40), false);
        tag.head_commit = Some(HeadCommit {
            id: Some("d".repeat(40)),
            author: None,
        });
        assert_eq!(
            tag.after_sha().expect("ok").map(|s| s.to_string()),
            Some("d".repeat(40)),
            "an annotated tag deploys the commit it points at"
        );
    }

    #[test]
    fn our_deployment_id_comes_from_the_payload() {
        let ours = GithubDeployment {
            id: 1,
            payload: json!({"deployment_id": "000000000000000100000002"}),
        };
        assert!(ours.deployment_id().is_some());
        let theirs = GithubDeployment {
            id: 2,
            payload: json!(""),
        };
        assert_eq!(theirs.deployment_id(), None);
    }
}
