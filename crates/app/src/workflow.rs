//! The workflow in force for a repository: the valid `.github/deploybot.yml` its project
//! record holds, parsed once per process and cached by the file's blob SHA, or the built-in
//! workflow. Reading the file from GitHub is `invoked::github_deployment_create::workflow`'s;
//! nothing here makes a call.

use deploybot_core::policy::Policy;
use deploybot_core::workflow_file::WorkflowFile;
use deploybot_core::{Project, Repository, Trigger};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The idempotency key that makes a declined event's notice go to the channel once: once per
/// pull request (a fork's pull request is declined on every push), else once per event kind.
pub fn decline_key(repository: &Repository, trigger: &Trigger) -> String {
    match trigger {
        Trigger::PullRequest { number, .. } => format!("declined:{repository}#{number}"),
        other => format!("declined:{repository}:{other:?}"),
    }
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
