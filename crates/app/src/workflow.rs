//! The workflow in force for a repository: the valid `.github/deploybot.yml` its project
//! record holds, parsed once per process and cached by the file's blob SHA, or the built-in
//! workflow. Reading the file from GitHub is `invoked::github_deployment_create::workflow`'s;
//! nothing here makes a call.

use deploybot_core::policy::Policy;
use deploybot_core::ports::RepositoryFile;
use deploybot_core::workflow_file::WORKFLOW_PATH;
use deploybot_core::workflow_file::WorkflowFile;
use deploybot_core::{
    Project, RejectedWorkflow, Repository, Sha, Timestamp, Trigger, WorkflowRecord, WorkflowText,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What a read of the workflow file at `commit` of the default branch (`file`: what it held)
/// makes of the project's record `previous`, and what the channel should be told, if anything:
/// a valid file comes into force; an invalid one leaves the last valid one (or the built-in
/// workflow) in force and is told once per version (blob); a removed file brings the built-in
/// workflow back.
pub fn record_read(
    previous: Option<&WorkflowRecord>,
    commit: Sha,
    file: Option<RepositoryFile>,
    now: Timestamp,
) -> (WorkflowRecord, Option<String>) {
    let previous_file = previous.and_then(|w| w.file.clone());
    let mut record = WorkflowRecord {
        commit: commit.clone(),
        read_at: now,
        file: previous_file.clone(),
        rejected: None,
    };
    let news = match file {
        None => {
            record.file = None;
            previous_file.is_some().then(|| {
                format!(
                    ":gear: `{WORKFLOW_PATH}` is gone from the default branch (commit `{}`): the built-in workflow is in force again.",
                    commit.short()
                )
            })
        }
        Some(file) => match WorkflowFile::parse(&file.text) {
            Ok(_) => {
                let news = (previous_file.as_ref().map(|f| &f.blob) != Some(&file.blob)).then(|| {
                    format!(
                        ":gear: deploybot now follows `{WORKFLOW_PATH}` as of commit `{}`. `/cimon config` shows what deploys where.",
                        commit.short()
                    )
                });
                record.file = Some(WorkflowText {
                    blob: file.blob,
                    commit,
                    text: file.text,
                });
                news
            }
            Err(errors) => {
                let (line, error) = errors
                    .0
                    .first()
                    .map_or((0, "the file is not valid".to_owned()), |e| {
                        (e.line, e.message.clone())
                    });
                let told_before = previous
                    .and_then(|w| w.rejected.as_ref())
                    .is_some_and(|r| r.blob == file.blob);
                let in_force = if record.file.is_some() {
                    "the last valid version stays in force"
                } else {
                    "the built-in workflow stays in force"
                };
                let news = (!told_before).then(|| {
                    format!(
                        ":warning: `{WORKFLOW_PATH}` on the default branch (commit `{}`) is not valid, so {in_force}. Line {line}: {error}",
                        commit.short()
                    )
                });
                record.rejected = Some(RejectedWorkflow {
                    blob: file.blob,
                    commit,
                    line,
                    error,
                });
                news
            }
        },
    };
    (record, news)
}

/// The idempotency key that makes a declined event's notice go to the channel once: once per
/// pull request (a fork's pull request is declined on every push), else once per event kind.
pub fn decline_key(repository: &Repository, trigger: &Trigger) -> String {
    match trigger {
        Trigger::PullRequest { number, .. } => format!("declined:{repository}#{number}"),
        other => format!("declined:{repository}:{other:?}"),
    }
}

/// Tells the channel why an event was declined — once per [`decline_key`] (a fork's pull
/// request is declined on every push; the channel hears it once). `true` when this call told
/// it.
pub async fn tell_declined_once(
    state: &crate::AppState,
    project: &Project,
    trigger: &Trigger,
    reason: &str,
) -> Result<bool, crate::AppError> {
    let key = decline_key(&project.repository, trigger);
    let told = crate::idempotency::run_once(state, &key, async {
        let request = deploybot_core::invoke::SlackMessageRequest::Channel {
            channel: project.channel.clone(),
            message: deploybot_core::blocks::Message::text(format!(":no_entry: {reason}")),
        };
        deploybot_core::invoke::send(state.invoker()?, &request).await?;
        Ok(())
    })
    .await?;
    Ok(matches!(told, crate::idempotency::Once::Ran(())))
}

/// How many parsed files a process keeps. A Lambda process serves few repositories; when a
/// long-running local server holds more, the cache starts again (a parse is a few
/// microseconds).
const MAX_CACHED: usize = 512;

/// Parsed workflow files by blob SHA.
#[derive(Debug)]
pub struct WorkflowCache {
    builtin: Arc<Policy>,
    parsed: Mutex<HashMap<String, Arc<Policy>>>,
}

impl Default for WorkflowCache {
    fn default() -> Self {
        Self {
            builtin: Arc::new(Policy::default()),
            parsed: Mutex::new(HashMap::new()),
        }
    }
}

impl WorkflowCache {
    /// The built-in workflow.
    pub fn builtin(&self) -> Arc<Policy> {
        self.builtin.clone()
    }

    /// The policy in force for `project`.
    pub fn policy_of(&self, project: &Project) -> Arc<Policy> {
        let Some(file) = project.workflow.as_ref().and_then(|w| w.file.as_ref()) else {
            return self.builtin.clone();
        };
        if let Some(policy) = self
            .parsed
            .lock()
            .ok()
            .and_then(|cache| cache.get(&file.blob).cloned())
        {
            return policy;
        }
        let policy = match WorkflowFile::parse(&file.text) {
            Ok(workflow) => Arc::new(Policy::from_file(workflow)),
            // Only valid files are stored; one that no longer parses (a newer deploybot
            // with stricter rules) falls back to the built-in workflow until it is read again.
            Err(errors) => {
                tracing::warn!(
                    repository = %project.repository,
                    blob = %file.blob,
                    %errors,
                    "the stored workflow file no longer parses; the built-in workflow is in force"
                );
                return self.builtin.clone();
            }
        };
        if let Ok(mut cache) = self.parsed.lock() {
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            cache.insert(file.blob.clone(), policy.clone());
        }
        policy
    }

    /// How many parsed files are cached (for tests).
    pub fn cached(&self) -> usize {
        self.parsed.lock().map_or(0, |c| c.len())
    }
}
