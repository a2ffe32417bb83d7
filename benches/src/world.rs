//! A deployment world at a chosen scale: `n` projects bound to channels, `n` linked users and
//! `n` deployments of the measured repository (spread over its environments, with GitHub ids,
//! pipeline ids and SHAs, so every index is as full as the table), plus the one queued
//! deployment a CircleCI completion finishes. The router runs the real handlers over it;
//! function-to-function invokes go to [`NullInvoker`], which answers at once, so what is
//! measured is one handler's own work — verify, parse, decide and the store calls.

use crate::payloads::{CHANNEL, CIRCLECI_SECRET, GITHUB_SECRET, PIPELINE, REPO, SLACK_SECRET};
use async_trait::async_trait;
use axum::Router;
use deploybot_app::AppConfig;
use deploybot_app::wiring::{Functions, Parts};
use deploybot_core::invoke::FunctionName;
use deploybot_core::ports::{Clock, InvokeError, InvokeMode, Invoker, Store, StoreError};
use deploybot_core::signature::SigningSecret;
use deploybot_core::{
    Deployment, DeploymentId, DeploymentState, Environment, GitRef, GithubLogin, Project,
    ProjectSettings, Repository, Sha, SlackChannelId, SlackTeamId, SlackUserId, Timestamp, Trigger,
    UserLink,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// When the measured events happen (fixed, so signatures and ids are repeatable).
pub const NOW_SECS: i64 = 1_715_677_200;

/// A clock that always says [`NOW_SECS`].
#[derive(Debug, Clone, Copy)]
pub struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_secs(NOW_SECS)
    }
}

/// Accepts every invoke at once and counts them (Lambda's `Event` invoke is one API call
/// whose cost is not the handler's).
#[derive(Debug, Default)]
pub struct NullInvoker {
    calls: AtomicU64,
}

impl NullInvoker {
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl Invoker for NullInvoker {
    async fn invoke(
        &self,
        _function: FunctionName,
        _mode: InvokeMode,
        _payload: Vec<u8>,
    ) -> Result<serde_json::Value, InvokeError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(serde_json::Value::Null)
    }
}

fn repo() -> Repository {
    Repository::parse(REPO).unwrap_or_else(|_| unreachable!("REPO is a valid repository"))
}

fn channel_id(text: &str) -> Result<SlackChannelId, StoreError> {
    SlackChannelId::parse(text).map_err(|e| StoreError::Backend(e.to_string()))
}

fn fixture_error(e: deploybot_core::ParseError) -> StoreError {
    StoreError::Backend(format!("bench fixture: {e}"))
}

/// The environment of the `i`-th deployment: mostly PR environments, the rest the fixed ones.
fn environment_of(i: usize) -> Environment {
    match i % 5 {
        0 => Environment::Preview,
        1 => Environment::Test,
        2 => Environment::Staging,
        3 => Environment::Production,
        _ => Environment::PullRequest(1 + (i as u64 % 500)),
    }
}

/// A workflow file of the size teams write (eight environments, globs, versions, checks): what
/// [`use_workflow_file`] puts in force for the measured project.
pub const WORKFLOW_FILE: &str = "version: 1
environments:
  pr:
    name: \"pr{number}\"
    on: pull_request
    drafts: false
  preview:
    on: { push: [default] }
  qa:
    on: { push: [develop, \"qa/**\"] }
  test:
    on: { push: [\"release*\", \"release/**\"] }
  staging:
    promote_from: test
  eu-production:
    on: { tag: [\"v{semver}\"] }
    production: true
    required_checks: [\"ci/circleci: build\"]
    url: \"https://eu.example.com/\"
  us-production:
    promote_from: eu-production
    production: true
  docs:
    on: { push: [\"docs/*\"] }
";

/// Puts [`WORKFLOW_FILE`] in force for the measured project (as read from its default branch).
pub async fn use_workflow_file(store: &dyn Store) -> Result<(), StoreError> {
    let Some(mut project) = store.project_by_repository(&repo()).await? else {
        return Err(StoreError::Backend(
            "bench fixture: the measured project is not bound".into(),
        ));
    };
    let commit = Sha::parse(&"2".repeat(40)).map_err(fixture_error)?;
    project.workflow = Some(deploybot_core::WorkflowRecord {
        commit: commit.clone(),
        read_at: Timestamp::from_secs(NOW_SECS - 3600),
        file: Some(deploybot_core::WorkflowText {
            blob: "3".repeat(40),
            commit,
            text: WORKFLOW_FILE.to_owned(),
        }),
        rejected: None,
    });
    store.update_project(&project).await?;
    Ok(())
}

/// Stores the measured project (`acme/web` ↔ `#web`), `n` other projects, `n` users and `n`
/// deployments of `acme/web`, and the queued deployment of [`PIPELINE`].
pub async fn populate(store: &dyn Store, n: usize) -> Result<(), StoreError> {
    let now = Timestamp::from_secs(NOW_SECS);
    let team = SlackTeamId::parse("T0ACME").map_err(fixture_error)?;
    let project =
        |repository: Repository, channel: SlackChannelId, github_id: Option<u64>| Project {
            repository,
            channel,
            channel_name: Some("web".into()),
            team: Some(team.clone()),
            settings: ProjectSettings {
                base_domain: Some("example.com".into()),
                ..ProjectSettings::default()
            },
            created_by: None,
            // Read at setup: no workflow file, the built-in workflow is in force.
            workflow: Some(deploybot_testkit::fixtures::workflow_read_without_file(
                deploybot_core::Sha::parse(&"1".repeat(40)).expect("a sha"),
                now.plus_secs(-86_400),
            )),
            created_at: now.plus_secs(-86_400),
            github_id,
        };
    store
        // GitHub's id of acme/web in the payloads, as recorded at setup.
        .bind_project(&project(repo(), channel_id(CHANNEL)?, Some(598_245_713)))
        .await?;
    for i in 0..n {
        let repository =
            Repository::parse(&format!("org{i}/service-{i}")).map_err(fixture_error)?;
        store
            .bind_project(&project(repository, channel_id(&format!("C{i:08}"))?, None))
            .await?;
        let link = UserLink {
            github_login: GithubLogin::parse(&format!("dev-{i}")).map_err(fixture_error)?,
            slack_user: SlackUserId::parse(&format!("U{i:08}")).map_err(fixture_error)?,
            slack_name: Some(format!("Dev {i}")),
            linked_at: now.plus_secs(-3600),
        };
        store.link_user(&link).await?;
        // Older than the measured events, a minute apart, newest last.
        let created = now.plus_secs(-60 * (n as i64 - i as i64) - 3600);
        let sha = Sha::parse(&format!("{:040x}", i as u128 * 0x1_0000_0001 + 1))
            .map_err(fixture_error)?;
        let environment = environment_of(i);
        let mut d = Deployment::new(
            repo(),
            DeploymentId::new(created, i as u32),
            environment,
            GitRef::Branch(format!("branch-{}", i % 97)),
            sha,
            Trigger::Push { pusher: None },
            channel_id(CHANNEL)?,
            created,
        );
        d.state = if i % 11 == 0 {
            DeploymentState::Failure
        } else {
            DeploymentState::Success
        };
        d.github_deployment_id = Some(1_000_000 + i as u64);
        d.pipeline_id = Some(format!("pipeline-{i:08}"));
        d.pipeline_number = Some(i as u64);
        d.slack_ts = Some(format!("1715677200.{i:06}"));
        store.insert_deployment(&d).await?;
    }
    let created = now.plus_secs(-300);
    let mut queued = Deployment::new(
        repo(),
        DeploymentId::new(created, 4_242),
        Environment::Test,
        GitRef::Branch("release-2024-05".into()),
        Sha::parse("0123456789abcdef0123456789abcdef01234567").map_err(fixture_error)?,
        Trigger::Push { pusher: None },
        channel_id(CHANNEL)?,
        created,
    );
    queued.state = DeploymentState::Queued;
    queued.github_deployment_id = Some(42);
    queued.pipeline_id = Some(PIPELINE.into());
    store.insert_deployment(&queued).await?;
    Ok(())
}

/// The configuration the measured handlers run with (all three secrets).
pub fn config() -> AppConfig {
    AppConfig {
        slack_signing_secret: Some(SigningSecret::new(SLACK_SECRET)),
        github_webhook_secret: Some(SigningSecret::new(GITHUB_SECRET)),
        circleci_webhook_secret: Some(SigningSecret::new(CIRCLECI_SECRET)),
        ..AppConfig::default()
    }
}

/// The ten functions over `store`, each with its profile's state, the fixed clock and the
/// null invoker.
pub fn state(store: Arc<dyn Store>, invoker: Arc<NullInvoker>, clock: Arc<dyn Clock>) -> Functions {
    let parts = Parts::new(clock, config())
        .with_dyn_store(store)
        .with_invoker(invoker);
    Functions::wire(parts).expect("the benchmark world has every part the profiles name")
}

/// Every HTTP endpoint, each with its function's state.
pub fn router(functions: Functions) -> Router {
    functions.router()
}
