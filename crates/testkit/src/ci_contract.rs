//! The CI backend contract suite: what every `CiBackend` (CircleCI, GitHub Actions; their
//! adapters over HTTP and their fakes) answers alike, as the watchdog and the cancel command
//! read it — a dispatch starts one run that reads as running; a run that finished (its
//! webhook lost) reads as its outcome; a running run can be cancelled, and reads as ended
//! (not a success); cancelling a finished run changes nothing; a re-run reads as running
//! again; a run the CI does not know is "not found". [`ci_contract_tests!`] turns each
//! property into a `#[tokio::test]` for one backend, the way the store contract does.

use crate::fakes::circleci::FakeCircleCi;
use crate::fakes::github_actions::FakeActions;
use deploybot_core::ci::{CiKind, CiTarget};
use deploybot_core::lane::{CiReport, Outcome};
use deploybot_core::ports::{CiBackend, CiError, CiRun, PipelineParameters, PipelineRequest};
use deploybot_core::signature::SigningSecret;
use deploybot_core::{DeploymentId, Environment, GitRef, Repository, Sha, Timestamp};
use std::sync::Arc;

/// A backend under test, with the hands of the CI behind it (moving its runs on).
pub trait CiUnderTest: Send + Sync {
    /// The port as the functions call it.
    fn backend(&self) -> Arc<dyn CiBackend>;
    /// Where the runs go.
    fn target(&self) -> CiTarget;
    /// The run `id` finishes, successfully or not; no webhook is sent.
    fn finish(&self, id: &str, success: bool);
    /// Someone re-runs the run `id`.
    fn rerun(&self, id: &str);
}

/// CircleCI: its fake, reached through `backend` (the fake itself, or the adapter over the
/// fake's HTTP).
pub struct CircleCiUnderTest {
    pub fake: FakeCircleCi,
    pub backend: Arc<dyn CiBackend>,
}

impl std::fmt::Debug for CircleCiUnderTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircleCiUnderTest").finish_non_exhaustive()
    }
}

impl CiUnderTest for CircleCiUnderTest {
    fn backend(&self) -> Arc<dyn CiBackend> {
        Arc::clone(&self.backend)
    }
    fn target(&self) -> CiTarget {
        CiTarget::default()
    }
    fn finish(&self, id: &str, success: bool) {
        let status = if success { "success" } else { "failed" };
        let _ = self
            .fake
            .completion_payload(id, status, &SigningSecret::new("contract"));
    }
    fn rerun(&self, id: &str) {
        self.fake.rerun(id);
    }
}

/// GitHub Actions: its fake, reached through `backend`.
pub struct ActionsUnderTest {
    pub fake: FakeActions,
    pub backend: Arc<dyn CiBackend>,
}

impl std::fmt::Debug for ActionsUnderTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionsUnderTest").finish_non_exhaustive()
    }
}

impl CiUnderTest for ActionsUnderTest {
    fn backend(&self) -> Arc<dyn CiBackend> {
        Arc::clone(&self.backend)
    }
    fn target(&self) -> CiTarget {
        CiTarget::of_kind(CiKind::GitHubActions)
    }
    fn finish(&self, id: &str, success: bool) {
        self.fake
            .finish(id, if success { "success" } else { "failure" });
    }
    fn rerun(&self, id: &str) {
        self.fake.rerun(id);
    }
}

fn repository() -> Repository {
    Repository::parse("acme/web").expect("a repository")
}

fn request(ci: &dyn CiUnderTest, n: u32) -> PipelineRequest {
    PipelineRequest {
        repository: repository(),
        git_ref: GitRef::Branch("main".into()),
        parameters: PipelineParameters {
            environment: Environment::Preview,
            version: format!("preview-{n}"),
            subdomain: Some("preview".into()),
            url: Some("https://preview.example.com/".into()),
            sha: Sha::parse("0123456789abcdef0123456789abcdef01234567").expect("a sha"),
            deployment_id: DeploymentId::new(Timestamp::from_secs(1_700_000_000), n),
            rollback: false,
        },
        target: ci.target(),
    }
}

fn run_of(ci: &dyn CiUnderTest, id: &str) -> CiRun {
    CiRun {
        backend: ci.target().kind(),
        repository: repository(),
        id: id.to_owned(),
    }
}

/// What the watchdog reads of the run.
async fn report(ci: &dyn CiUnderTest, id: &str) -> CiReport {
    let workflows = ci
        .backend()
        .pipeline_workflows(&run_of(ci, id))
        .await
        .expect("the run is readable");
    CiReport::from_workflows(
        workflows
            .iter()
            .map(|w| (w.name.as_str(), w.status.as_str())),
    )
}

async fn dispatch(ci: &dyn CiUnderTest, n: u32) -> String {
    let started = ci
        .backend()
        .start_pipeline(&request(ci, n))
        .await
        .expect("dispatched");
    assert!(started.url.is_some(), "a link people can open");
    started.id
}

pub async fn a_dispatch_starts_one_run_that_reads_running(ci: &dyn CiUnderTest) {
    let first = dispatch(ci, 1).await;
    let second = dispatch(ci, 2).await;
    assert_ne!(first, second, "each dispatch is its own run");
    assert_eq!(report(ci, &first).await, CiReport::Running);
}

pub async fn a_finished_run_reads_its_outcome_without_a_webhook(ci: &dyn CiUnderTest) {
    let good = dispatch(ci, 1).await;
    let bad = dispatch(ci, 2).await;
    ci.finish(&good, true);
    ci.finish(&bad, false);
    assert_eq!(
        report(ci, &good).await,
        CiReport::Finished(Outcome::Success)
    );
    assert!(
        matches!(
            report(ci, &bad).await,
            CiReport::Finished(Outcome::Failure { .. })
        ),
        "a failed run reads as a failure"
    );
}

pub async fn a_running_run_can_be_cancelled(ci: &dyn CiUnderTest) {
    let id = dispatch(ci, 1).await;
    ci.backend()
        .cancel_run(&run_of(ci, &id))
        .await
        .expect("the cancel is accepted");
    let after = report(ci, &id).await;
    assert!(
        matches!(
            after,
            CiReport::Finished(Outcome::Failure { .. } | Outcome::Error { .. })
        ),
        "a cancelled run has ended, not succeeded: {after:?}"
    );
    ci.backend()
        .cancel_run(&run_of(ci, &id))
        .await
        .expect("cancelling again is harmless");
}

pub async fn cancelling_a_finished_run_changes_nothing(ci: &dyn CiUnderTest) {
    let id = dispatch(ci, 1).await;
    ci.finish(&id, true);
    ci.backend()
        .cancel_run(&run_of(ci, &id))
        .await
        .expect("nothing to stop is not an error");
    assert_eq!(report(ci, &id).await, CiReport::Finished(Outcome::Success));
}

pub async fn a_rerun_reads_running_again(ci: &dyn CiUnderTest) {
    let id = dispatch(ci, 1).await;
    ci.finish(&id, false);
    ci.rerun(&id);
    assert_eq!(report(ci, &id).await, CiReport::Running);
}

pub async fn an_unknown_run_is_not_found(ci: &dyn CiUnderTest) {
    let unknown = match ci.target().kind() {
        CiKind::CircleCi => "5034460f-c7c4-4c43-9457-de07e2029e7b",
        CiKind::GitHubActions => "404404",
    };
    let read = ci.backend().pipeline_workflows(&run_of(ci, unknown)).await;
    assert!(matches!(read, Err(CiError::NotFound(_))), "{read:?}");
}

/// Generates one `#[tokio::test]` per property of the CI contract for a backend. The
/// argument is an expression, awaited once per test, producing a fresh value implementing
/// [`CiUnderTest`] (a `Box<dyn CiUnderTest>` or a concrete one):
///
/// ```ignore
/// ci_contract_tests!(async { fresh_actions() });
/// ```
#[macro_export]
macro_rules! ci_contract_tests {
    ($fresh:expr) => {
        $crate::ci_contract_tests!(@each $fresh;
            a_dispatch_starts_one_run_that_reads_running,
            a_finished_run_reads_its_outcome_without_a_webhook,
            a_running_run_can_be_cancelled,
            cancelling_a_finished_run_changes_nothing,
            a_rerun_reads_running_again,
            an_unknown_run_is_not_found,
        );
    };
    (@each $fresh:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let ci = $fresh.await;
                $crate::ci_contract::$name(&ci).await;
            }
        )*
    };
}
