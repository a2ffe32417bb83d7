//! GitHub failing under the workflow (docs/security.md, "Faults"): a server error or a timeout
//! while a deployment is created or its status written. The adapter retries what is safe to
//! retry (reads and statuses; never a deployment creation) — shown in
//! `crates/integrations/tests/integrations/github.rs` (`server_errors_are_retried_with_backoff_then_succeed`,
//! `server_errors_that_persist_are_typed`, `a_slow_github_times_out`,
//! `deployment_creation_is_not_retried_after_a_server_error_or_a_timeout`). What reaches the
//! handlers is the typed error that is left; these tests show what they make of it: the
//! deployment is marked `error` with a reason, the channel is told, nothing is lost (the
//! record and its message stay, a Retry is offered and works once GitHub is back).

use crate::workflow_support::*;
use async_trait::async_trait;
use axum::http::StatusCode;
use deploybot_app::render::ACTION_RETRY;
use deploybot_core::invoke::{DeploymentCreateRequest, NewDeploymentRequest};
use deploybot_core::ports::{
    ChecksSummary, CreateDeploymentOutcome, GitHub, GitHubError, NewDeploymentStatus,
    NewGithubDeployment, ResolvedRef,
};
use deploybot_core::{
    DeploymentState, Environment, GitRef, GithubLogin, Repository, Sha, SlackUserId, Trigger,
};
use deploybot_testkit::fakes::github::FakeGitHub;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const PR: u64 = 42;

async fn open_pull_request(world: &World) -> (StatusCode, String) {
    world
        .github
        .set_branch(&repo(), "feature/login", &pr_sha(), Some(AUTHOR));
    world
        .github_event(
            "pull_request",
            &pr_event("opened", PR, "feature/login", &pr_sha()),
        )
        .await
}

fn latest_text(world: &World) -> String {
    let messages = world.messages();
    assert_eq!(messages.len(), 1, "one message per deployment");
    message_text(messages[0].latest().expect("a version"))
}

#[tokio::test]
async fn a_github_server_error_marks_the_deployment_error_and_a_retry_recovers() {
    let world = World::new().await;
    // What the adapter hands on once its retries are spent (or at once for a creation).
    let release = sha('b');
    world
        .github
        .set_branch(&repo(), "release-1.4", &release, Some(AUTHOR));
    world.github.fail_next(1, 502);
    let (status, body) = world
        .github_event("push", &push_event("refs/heads/release-1.4", &release))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");

    let failed = world.only_deployment(Environment::Test).await;
    assert_eq!(failed.state, DeploymentState::Error);
    let why = failed.description.clone().expect("a reason");
    assert!(why.contains("GitHub") && why.contains("502"), "{why}");
    assert!(world.github.deployments(&repo()).is_empty());
    let text = latest_text(&world);
    assert!(text.contains("502"), "the channel is told why: {text}");
    assert!(text.contains(ACTION_RETRY), "a Retry is offered: {text}");
    // Handled, not dropped: no invocation failed (nothing went to a failure queue).
    world.assert_no_failures();

    // GitHub is back; the Retry button's request redeploys exactly what failed (a minute
    // later, so the retry's id sorts first whatever its random part).
    world.clock.advance_secs(60);
    let retry = DeploymentCreateRequest::New(NewDeploymentRequest {
        repository: repo(),
        deployment_id: world.state.new_deployment_id(),
        environment: failed.environment,
        git_ref: failed.git_ref.clone(),
        sha: failed.sha.clone(),
        trigger: Trigger::Retry {
            slack_user: SlackUserId::parse(AUTHOR_SLACK).expect("valid"),
            of: failed.id.clone(),
        },
        commit_author: failed.commit_author.clone(),
        pr_url: None,
        channel: channel(),
        check_workflow_file: None,
    });
    world.call(&retry).await;
    let all = world.deployments_in(Environment::Test).await;
    assert_eq!(all.len(), 2, "the failed record is kept beside the retry");
    assert_eq!(all[0].state, DeploymentState::Created);
    assert_eq!(all[0].sha, release);
    assert_eq!(all[1].id, failed.id);
    assert_eq!(all[1].state, DeploymentState::Error);
    assert_eq!(world.github.deployments(&repo()).len(), 1);
    world.assert_no_failures();
}

#[tokio::test]
async fn a_failed_status_write_loses_neither_the_record_nor_the_message() {
    let world = World::new().await;
    open_pull_request(&world).await;
    world.announce_deployments().await;
    let queued = world.only_deployment(Environment::PullRequest(PR)).await;
    assert_eq!(queued.state, DeploymentState::Queued);
    let pipeline = queued.pipeline_id.clone().expect("pipeline started");

    // GitHub fails the `success` status write.
    world.github.fail_next(1, 503);
    let (status, body) = world.complete_pipeline(&pipeline, "success").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let done = world.store_get(&queued.id).await;
    assert_eq!(done.state, DeploymentState::Success, "the record moved on");
    assert!(latest_text(&world).contains("success"), "Slack followed");
    world.assert_no_failures();
}

/// The GitHub port as the adapter presents a GitHub that does not answer in time: the
/// first `timeouts` deployment creations fail with a transport error, the rest reach the fake.
struct TimingOut {
    fake: FakeGitHub,
    timeouts: AtomicUsize,
}

impl TimingOut {
    fn timed_out(&self) -> bool {
        self.timeouts
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

#[async_trait]
impl GitHub for TimingOut {
    async fn collaborators(
        &self,
        repository: &Repository,
    ) -> Result<Vec<GithubLogin>, GitHubError> {
        self.fake.collaborators(repository).await
    }

    async fn team_members(
        &self,
        repository: &Repository,
        team: &deploybot_core::approval::Team,
    ) -> Result<Vec<GithubLogin>, GitHubError> {
        self.fake.team_members(repository, team).await
    }

    async fn resolve_ref(
        &self,
        repository: &Repository,
        git_ref: &GitRef,
    ) -> Result<ResolvedRef, GitHubError> {
        self.fake.resolve_ref(repository, git_ref).await
    }

    async fn default_branch(&self, repository: &Repository) -> Result<String, GitHubError> {
        self.fake.default_branch(repository).await
    }

    async fn file_at(
        &self,
        repository: &Repository,
        path: &str,
        commit: &Sha,
    ) -> Result<Option<deploybot_core::ports::RepositoryFile>, GitHubError> {
        self.fake.file_at(repository, path, commit).await
    }

    async fn repository(
        &self,
        repository: &Repository,
    ) -> Result<deploybot_core::ports::RepositoryInfo, GitHubError> {
        self.fake.repository(repository).await
    }

    async fn compare_commits(
        &self,
        repository: &Repository,
        base: &Sha,
        head: &Sha,
    ) -> Result<String, GitHubError> {
        self.fake.compare_commits(repository, base, head).await
    }

    async fn changed_files(
        &self,
        repository: &Repository,
        base: &Sha,
        head: &Sha,
    ) -> Result<deploybot_core::ports::ChangedFiles, GitHubError> {
        self.fake.changed_files(repository, base, head).await
    }

    async fn comparison(
        &self,
        repository: &Repository,
        base: &Sha,
        head: &Sha,
    ) -> Result<deploybot_core::shipping::Comparison, GitHubError> {
        self.fake.comparison(repository, base, head).await
    }

    async fn create_check_run(
        &self,
        run: &deploybot_core::ports::NewCheckRun,
    ) -> Result<u64, GitHubError> {
        self.fake.create_check_run(run).await
    }

    async fn create_deployment(
        &self,
        deployment: &NewGithubDeployment,
    ) -> Result<CreateDeploymentOutcome, GitHubError> {
        if self.timed_out() {
            return Err(GitHubError::Transport(
                "operation timed out after 10s".into(),
            ));
        }
        self.fake.create_deployment(deployment).await
    }

    async fn create_deployment_status(
        &self,
        repository: &Repository,
        github_deployment_id: u64,
        status: &NewDeploymentStatus,
    ) -> Result<(), GitHubError> {
        self.fake
            .create_deployment_status(repository, github_deployment_id, status)
            .await
    }

    async fn commit_checks(
        &self,
        repository: &Repository,
        sha: &Sha,
    ) -> Result<ChecksSummary, GitHubError> {
        self.fake.commit_checks(repository, sha).await
    }

    async fn upsert_pr_comment(
        &self,
        repository: &Repository,
        pr_number: u64,
        marker: &str,
        body: &str,
    ) -> Result<u64, GitHubError> {
        self.fake
            .upsert_pr_comment(repository, pr_number, marker, body)
            .await
    }

    async fn named_checks(
        &self,
        repository: &Repository,
        sha: &Sha,
    ) -> Result<Vec<deploybot_core::required_checks::ReportedCheck>, GitHubError> {
        self.fake.named_checks(repository, sha).await
    }
}

#[tokio::test]
async fn a_github_timeout_marks_the_deployment_error_and_the_invoke_is_not_lost() {
    let world = World::new().await;
    let timing_out = Arc::new(TimingOut {
        fake: world.github.clone(),
        timeouts: AtomicUsize::new(1),
    });
    // The same handlers with a GitHub that times out once (their invocations reach the
    // world's functions, whose work `settle` waits for).
    let functions = deploybot_app::wiring::Functions::wire_with(
        world.parts.clone().with_github(timing_out.clone()),
        world.invoker.clone(),
    )
    .expect("wires");
    let state = functions
        .state(deploybot_core::invoke::FunctionName::GithubDeploymentCreate)
        .clone();
    let request = DeploymentCreateRequest::New(NewDeploymentRequest {
        repository: repo(),
        deployment_id: world.state.new_deployment_id(),
        environment: Environment::Preview,
        git_ref: GitRef::Branch("main".into()),
        sha: sha('a'),
        trigger: Trigger::Push { pusher: None },
        commit_author: None,
        pr_url: None,
        channel: channel(),
        check_workflow_file: None,
    });
    let answer = deploybot_app::invoked::github_deployment_create::handle(&state, request.clone())
        .await
        .expect("handled: a timeout is an outcome, not a crash");
    assert_eq!(answer.state, Some(DeploymentState::Error));
    world.settle().await;
    let d = world.only_deployment(Environment::Preview).await;
    assert_eq!(d.state, DeploymentState::Error);
    let why = d.description.clone().expect("a reason");
    assert!(why.contains("timed out"), "{why}");
    let text = latest_text(&world);
    assert!(
        text.contains("timed out"),
        "{text} {:?}",
        world.invoker.failures()
    );
    assert_eq!(timing_out.timeouts.load(Ordering::SeqCst), 0);

    // Lambda retries the same invoke: the record is found, nothing is created twice.
    let again = deploybot_app::invoked::github_deployment_create::handle(&state, request)
        .await
        .expect("handled");
    assert_eq!(again.deployment_id, Some(d.id.clone()));
    assert_eq!(again.state, Some(DeploymentState::Error));
    world.settle().await;
    assert!(world.github.deployments(&repo()).is_empty());
    assert_eq!(world.deployments().await.len(), 1);
    assert_eq!(world.messages().len(), 1);
    world.assert_no_failures();
}
