//! A fake of GitHub Actions' workflow runs: keeps each dispatched run (workflow, branch,
//! inputs, number, attempt, status, conclusion), lets a test move it on (start, finish,
//! re-run, cancel), and writes the `workflow_run` and `workflow_job` webhook bodies GitHub
//! would send for it, shaped like GitHub's published examples. It implements the `CiBackend`
//! port directly, answering as the GitHub Actions adapter does.

use async_trait::async_trait;
use deploybot_core::ci::{CiTarget, actions_run_name, actions_run_status};
use deploybot_core::ports::{
    CiBackend, CiError, CiRun, PipelineRequest, PipelineStarted, WorkflowInfo,
};
use deploybot_core::{GitRef, Repository};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The first run id the fake hands out.
pub const FIRST_RUN_ID: u64 = 30_433_642;

/// One workflow run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRun {
    pub id: u64,
    pub repository: Repository,
    /// The workflow file (`deploy.yml`).
    pub workflow: String,
    /// The branch it was dispatched on (the default branch).
    pub branch: String,
    pub inputs: BTreeMap<String, String>,
    pub run_number: u64,
    pub run_attempt: u64,
    /// `queued`, `in_progress`, `waiting`, `completed`.
    pub status: String,
    pub conclusion: Option<String>,
}

impl FakeRun {
    /// Its page, the deployment's log link.
    pub fn html_url(&self) -> String {
        format!(
            "https://github.com/{}/actions/runs/{}",
            self.repository, self.id
        )
    }
}

#[derive(Debug, Default)]
struct State {
    runs: Vec<FakeRun>,
    /// Workflows that exist per repository; a repository not listed accepts any workflow.
    workflows: BTreeMap<String, Vec<String>>,
    fail_next: Option<CiError>,
    default_branch: Option<String>,
    /// The inputs each repository's workflows declare; a repository not listed takes any.
    declared: BTreeMap<String, Vec<String>>,
    /// Plays an older GitHub Enterprise Server that does not know `return_run_details`.
    no_run_details: bool,
}

/// Why GitHub refuses a dispatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DispatchRefusal {
    /// The repository has no such workflow file (404).
    NoWorkflow,
    /// The ref is not a branch runs can be dispatched on (422).
    NoRef,
    /// Inputs the workflow does not declare (422), by name.
    UndeclaredInputs(Vec<String>),
    /// A refusal a test scripted ([`FakeActions::fail_next_with`]).
    Scripted(String),
}

/// The fake. Cheap to clone (shared state).
#[derive(Debug, Clone, Default)]
pub struct FakeActions {
    state: Arc<Mutex<State>>,
}

impl FakeActions {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The repository's workflow files are exactly `workflows` (others answer 404).
    pub fn set_workflows(&self, repository: &Repository, workflows: &[&str]) {
        self.lock().workflows.insert(
            repository.to_string(),
            workflows.iter().map(|w| (*w).to_owned()).collect(),
        );
    }

    /// The default branch runs are dispatched on (`main` unless set).
    pub fn set_default_branch(&self, branch: &str) {
        self.lock().default_branch = Some(branch.to_owned());
    }

    /// From now on the HTTP API answers as an older GitHub Enterprise Server: a dispatch
    /// asking for `return_run_details` is refused (422), one without it answers 204.
    pub fn refuse_run_details(&self) {
        self.lock().no_run_details = true;
    }

    /// Whether [`FakeActions::refuse_run_details`] was called.
    pub fn refuses_run_details(&self) -> bool {
        self.lock().no_run_details
    }

    /// The repository's workflows declare exactly `inputs` (a dispatch with others is
    /// refused, as GitHub refuses it).
    pub fn declare_inputs(&self, repository: &Repository, inputs: &[&str]) {
        self.lock().declared.insert(
            repository.to_string(),
            inputs.iter().map(|i| (*i).to_owned()).collect(),
        );
    }

    /// A dispatch of `workflow` on `branch` with `inputs`: a new queued run, or GitHub's
    /// refusal. Both the port implementation and the HTTP API start runs here.
    pub fn dispatch(
        &self,
        repository: &Repository,
        workflow: &str,
        branch: &str,
        inputs: BTreeMap<String, String>,
    ) -> Result<FakeRun, DispatchRefusal> {
        let mut state = self.lock();
        if let Some(error) = state.fail_next.take() {
            return Err(DispatchRefusal::Scripted(error.to_string()));
        }
        if let Some(known) = state.workflows.get(&repository.to_string())
            && !known.iter().any(|w| w == workflow)
        {
            return Err(DispatchRefusal::NoWorkflow);
        }
        let default_branch = state
            .default_branch
            .clone()
            .unwrap_or_else(|| "main".to_owned());
        if branch != default_branch {
            return Err(DispatchRefusal::NoRef);
        }
        if let Some(declared) = state.declared.get(&repository.to_string()) {
            let undeclared: Vec<String> = inputs
                .keys()
                .filter(|k| !declared.contains(k))
                .cloned()
                .collect();
            if !undeclared.is_empty() {
                return Err(DispatchRefusal::UndeclaredInputs(undeclared));
            }
        }
        let id = FIRST_RUN_ID + state.runs.len() as u64;
        let run_number = 1 + state
            .runs
            .iter()
            .filter(|r| &r.repository == repository && r.workflow == workflow)
            .count() as u64;
        let run = FakeRun {
            id,
            repository: repository.clone(),
            workflow: workflow.to_owned(),
            branch: branch.to_owned(),
            inputs,
            run_number,
            run_attempt: 1,
            status: "queued".into(),
            conclusion: None,
        };
        state.runs.push(run.clone());
        Ok(run)
    }

    /// The next dispatch fails with `error` (as the adapter words GitHub's refusal).
    pub fn fail_next_with(&self, error: CiError) {
        self.lock().fail_next = Some(error);
    }

    /// Every run, in dispatch order.
    pub fn runs(&self) -> Vec<FakeRun> {
        self.lock().runs.clone()
    }

    /// The run with `id`.
    pub fn run(&self, id: &str) -> Option<FakeRun> {
        let id: u64 = id.parse().ok()?;
        self.lock().runs.iter().find(|r| r.id == id).cloned()
    }

    fn update(&self, id: &str, change: impl FnOnce(&mut FakeRun)) -> Option<FakeRun> {
        let id: u64 = id.parse().ok()?;
        let mut state = self.lock();
        let run = state.runs.iter_mut().find(|r| r.id == id)?;
        change(run);
        Some(run.clone())
    }

    /// The run started (`in_progress`).
    pub fn start(&self, id: &str) -> Option<FakeRun> {
        self.update(id, |r| {
            r.status = "in_progress".into();
            r.conclusion = None;
        })
    }

    /// The run waits on an environment's protection rules (`waiting`).
    pub fn wait_for_reviewers(&self, id: &str) -> Option<FakeRun> {
        self.update(id, |r| r.status = "waiting".into())
    }

    /// The run finished with `conclusion`.
    pub fn finish(&self, id: &str, conclusion: &str) -> Option<FakeRun> {
        self.update(id, |r| {
            r.status = "completed".into();
            r.conclusion = Some(conclusion.to_owned());
        })
    }

    /// Someone re-ran it: the next attempt is queued.
    pub fn rerun(&self, id: &str) -> Option<FakeRun> {
        self.update(id, |r| {
            r.run_attempt += 1;
            r.status = "queued".into();
            r.conclusion = None;
        })
    }

    /// `POST .../actions/runs/{id}/cancel`: a run still going is cancelled (GitHub answers
    /// 202); a finished one cannot be (409).
    pub fn cancel(&self, id: &str) -> Result<FakeRun, CiError> {
        let Some(run) = self.run(id) else {
            return Err(CiError::NotFound(format!("workflow run {id}")));
        };
        if run.status == "completed" {
            return Err(CiError::Rejected(format!(
                "workflow run {id} has finished; it cannot be cancelled"
            )));
        }
        self.finish(id, "cancelled")
            .ok_or_else(|| CiError::NotFound(format!("workflow run {id}")))
    }

    /// The `workflow_run` webhook body GitHub sends for the run now (`action`: `requested`,
    /// `in_progress`, `completed`).
    pub fn workflow_run_event(&self, id: &str, action: &str) -> Option<Value> {
        let run = self.run(id)?;
        Some(json!({
            "action": action,
            "workflow_run": run_json(&run),
            "workflow": {
                "id": 159038,
                "name": "Deploy",
                "path": format!(".github/workflows/{}", run.workflow),
                "state": "active"
            },
            "repository": repository_json(&run.repository),
            "sender": {"login": "octocat", "id": 1, "type": "User"}
        }))
    }

    /// The `workflow_job` webhook body for the run's `deploy` job (`action`: `queued`,
    /// `waiting`, `in_progress`, `completed`).
    pub fn workflow_job_event(&self, id: &str, action: &str) -> Option<Value> {
        let run = self.run(id)?;
        let status = if action == "waiting" {
            "waiting"
        } else {
            action
        };
        Some(json!({
            "action": action,
            "workflow_job": {
                "id": run.id * 10 + run.run_attempt,
                "run_id": run.id,
                "run_attempt": run.run_attempt,
                "run_url": format!("https://api.github.com/repos/{}/actions/runs/{}", run.repository, run.id),
                "head_sha": run.inputs.get("sha").cloned().unwrap_or_default(),
                "head_branch": run.branch,
                "html_url": format!("{}/job/{}", run.html_url(), run.id * 10 + run.run_attempt),
                "status": status,
                "conclusion": null,
                "name": "deploy",
                "workflow_name": "Deploy",
                "steps": [],
                "labels": ["ubuntu-latest"],
                "created_at": "2026-12-07T02:00:00Z",
                "started_at": "2026-12-07T02:00:00Z",
                "completed_at": null
            },
            "deployment": {
                "environment": run.inputs.get("environment").cloned().unwrap_or_default()
            },
            "repository": repository_json(&run.repository),
            "sender": {"login": "octocat", "id": 1, "type": "User"}
        }))
    }
}

fn repository_json(repository: &Repository) -> Value {
    json!({
        "id": 1296269,
        "name": repository.name(),
        "full_name": repository.to_string(),
        "private": true,
        "owner": {"login": repository.owner(), "id": 1, "type": "Organization"},
        "html_url": format!("https://github.com/{repository}"),
        "default_branch": "main"
    })
}

/// A run as GitHub's `workflow_run` object (a realistic subset of its published example), as
/// the webhooks and the REST API show it.
pub fn run_json(run: &FakeRun) -> Value {
    let title = run
        .inputs
        .get("deployment_id")
        .map(|id| actions_run_name(id))
        .unwrap_or_else(|| "Deploy".to_owned());
    json!({
        "id": run.id,
        "name": "Deploy",
        "node_id": "WFR_kwLOBHJ2Ps4BtVVq",
        "head_branch": run.branch,
        "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
        "path": format!(".github/workflows/{}", run.workflow),
        "repository": repository_json(&run.repository),
        "display_title": title,
        "run_number": run.run_number,
        "run_attempt": run.run_attempt,
        "event": "workflow_dispatch",
        "status": run.status,
        "conclusion": run.conclusion,
        "workflow_id": 159038,
        "url": format!("https://api.github.com/repos/{}/actions/runs/{}", run.repository, run.id),
        "html_url": run.html_url(),
        "created_at": "2026-12-07T02:00:00Z",
        "updated_at": "2026-12-07T02:00:00Z",
        "run_started_at": "2026-12-07T02:00:00Z"
    })
}

#[async_trait]
impl CiBackend for FakeActions {
    fn name(&self) -> &'static str {
        "GitHub Actions"
    }

    async fn start_pipeline(&self, request: &PipelineRequest) -> Result<PipelineStarted, CiError> {
        let CiTarget::GitHubActions { workflow } = &request.target else {
            return Err(CiError::Rejected(format!(
                "{} is not a GitHub Actions target",
                request.target
            )));
        };
        if let Some(error) = self.lock().fail_next.take() {
            return Err(error);
        }
        let p = &request.parameters;
        let git_ref = match &request.git_ref {
            GitRef::Branch(n) | GitRef::Tag(n) | GitRef::Name(n) => n.clone(),
        };
        let inputs: BTreeMap<String, String> = [
            ("environment", p.environment.to_string()),
            ("sha", p.sha.to_string()),
            ("ref", git_ref),
            ("deployment_id", p.deployment_id.to_string()),
            ("version", p.version.clone()),
            ("url", p.url.clone().unwrap_or_default()),
            ("rollback", p.rollback.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let branch = self
            .lock()
            .default_branch
            .clone()
            .unwrap_or_else(|| "main".to_owned());
        let repository = &request.repository;
        let run = self
            .dispatch(repository, workflow, &branch, inputs)
            .map_err(|refusal| match refusal {
                DispatchRefusal::NoWorkflow => CiError::NotFound(format!(
                    "there is no workflow `.github/workflows/{workflow}` on `{branch}`, the default branch of {repository}"
                )),
                DispatchRefusal::NoRef => CiError::Rejected(format!("No ref found for: {branch}")),
                DispatchRefusal::UndeclaredInputs(names) => {
                    CiError::Rejected(format!("Unexpected inputs provided: {names:?}"))
                }
                DispatchRefusal::Scripted(message) => CiError::Rejected(message),
            })?;
        Ok(PipelineStarted {
            id: run.id.to_string(),
            number: run.run_number,
            url: Some(run.html_url()),
        })
    }

    async fn pipeline_workflows(&self, run: &CiRun) -> Result<Vec<WorkflowInfo>, CiError> {
        let found = self.run(&run.id).ok_or_else(|| {
            CiError::NotFound(format!(
                "workflow run {} of {} is not known to GitHub",
                run.id, run.repository
            ))
        })?;
        Ok(vec![WorkflowInfo {
            id: found.id.to_string(),
            name: "Deploy".into(),
            status: actions_run_status(&found.status, found.conclusion.as_deref()),
            url: found.html_url(),
        }])
    }

    async fn cancel_run(&self, run: &CiRun) -> Result<(), CiError> {
        match self.cancel(&run.id) {
            Ok(_) => Ok(()),
            // Finished already: nothing to stop, as GitHub's 409 is read.
            Err(CiError::Rejected(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
