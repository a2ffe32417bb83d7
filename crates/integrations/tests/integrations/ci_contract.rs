//! Every CI backend passes the one contract suite (`deploybot_testkit::ci_contract`): the
//! CircleCI and GitHub Actions adapters over their fakes' HTTP, and the two fakes as the
//! function tests use them directly.

use deploybot_core::ports::CiBackend;
use deploybot_integrations::circleci::{CircleCiClient, CircleCiConfig};
use deploybot_testkit::ci_contract::{ActionsUnderTest, CircleCiUnderTest};
use deploybot_testkit::fakes::circleci::FakeCircleCi;
use deploybot_testkit::fakes::github_actions::FakeActions;
use std::sync::Arc;

/// An adapter over a fake's HTTP, with the fake's server kept alive as long as the test.
struct OverHttp<T> {
    ci: T,
    _server: deploybot_testkit::fakes::server::FakeServer,
}

impl<T: deploybot_testkit::ci_contract::CiUnderTest> deploybot_testkit::ci_contract::CiUnderTest
    for OverHttp<T>
{
    fn backend(&self) -> Arc<dyn CiBackend> {
        self.ci.backend()
    }
    fn target(&self) -> deploybot_core::ci::CiTarget {
        self.ci.target()
    }
    fn finish(&self, id: &str, success: bool) {
        self.ci.finish(id, success);
    }
    fn rerun(&self, id: &str) {
        self.ci.rerun(id);
    }
}

mod circleci_adapter {
    use super::*;

    async fn fresh() -> OverHttp<CircleCiUnderTest> {
        let fake = FakeCircleCi::new();
        let server = fake.serve().await;
        let client = CircleCiClient::new(
            CircleCiConfig::new(secrecy::SecretString::from("contract-token"))
                .with_api_url(server.base_url()),
        )
        .expect("the client builds");
        OverHttp {
            ci: CircleCiUnderTest {
                fake,
                backend: Arc::new(client),
            },
            _server: server,
        }
    }

    deploybot_testkit::ci_contract_tests!(fresh());
}

mod circleci_fake {
    use super::*;

    async fn fresh() -> CircleCiUnderTest {
        let fake = FakeCircleCi::new();
        CircleCiUnderTest {
            backend: Arc::new(fake.clone()),
            fake,
        }
    }

    deploybot_testkit::ci_contract_tests!(fresh());
}

mod actions_fake {
    use super::*;

    async fn fresh() -> ActionsUnderTest {
        let fake = FakeActions::new();
        ActionsUnderTest {
            backend: Arc::new(fake.clone()),
            fake,
        }
    }

    deploybot_testkit::ci_contract_tests!(fresh());
}

mod actions_adapter {
    use super::*;
    use deploybot_core::Repository;
    use deploybot_integrations::github::{GitHubActions, GitHubClient, GitHubConfig};
    use deploybot_testkit::fakes::github::{
        FAKE_APP_ID, FakeGitHub, TEST_ONLY_APP_PRIVATE_KEY_PEM,
    };

    /// The GitHub Actions adapter over the fake GitHub's HTTP API, with the Actions runs
    /// attached to it.
    async fn fresh() -> OverHttp<ActionsUnderTest> {
        let github = FakeGitHub::new();
        let repository = Repository::parse("acme/web").expect("a repository");
        github.add_repository(&repository, "main");
        let fake = FakeActions::new();
        fake.set_workflows(&repository, &["deploy.yml"]);
        fake.declare_inputs(
            &repository,
            &deploybot_integrations::github::DISPATCH_INPUTS,
        );
        github.attach_actions(&fake);
        let server = github.serve().await;
        let config = GitHubConfig::new(
            FAKE_APP_ID,
            secrecy::SecretString::from(TEST_ONLY_APP_PRIVATE_KEY_PEM),
        )
        .with_api_url(server.base_url())
        .expect("a URL");
        let client = GitHubClient::new(config, Arc::new(deploybot_core::ports::SystemClock))
            .expect("the client builds");
        OverHttp {
            ci: ActionsUnderTest {
                fake,
                backend: Arc::new(GitHubActions::new(Arc::new(client))),
            },
            _server: server,
        }
    }

    deploybot_testkit::ci_contract_tests!(fresh());
}

/// GitHub's refusals of a dispatch, through the adapter over the fake's HTTP, each a sentence
/// that says what to fix; and an older GitHub without `return_run_details`, whose run is
/// found by its name.
mod actions_dispatch_over_http {
    use super::*;
    use deploybot_core::ci::CiTarget;
    use deploybot_core::ports::{CiError, PipelineParameters, PipelineRequest};
    use deploybot_core::{DeploymentId, Environment, GitRef, Repository, Sha, Timestamp};
    use deploybot_integrations::github::{GitHubActions, GitHubClient, GitHubConfig};
    use deploybot_testkit::fakes::github::{
        FAKE_APP_ID, FakeGitHub, TEST_ONLY_APP_PRIVATE_KEY_PEM,
    };

    struct Setup {
        actions: FakeActions,
        backend: GitHubActions,
        _server: deploybot_testkit::fakes::server::FakeServer,
    }

    fn repository() -> Repository {
        Repository::parse("acme/web").expect("a repository")
    }

    async fn setup() -> Setup {
        let github = FakeGitHub::new();
        github.add_repository(&repository(), "main");
        let actions = FakeActions::new();
        actions.set_workflows(&repository(), &["deploy.yml"]);
        github.attach_actions(&actions);
        let server = github.serve().await;
        let config = GitHubConfig::new(
            FAKE_APP_ID,
            secrecy::SecretString::from(TEST_ONLY_APP_PRIVATE_KEY_PEM),
        )
        .with_api_url(server.base_url())
        .expect("a URL");
        let client = GitHubClient::new(config, Arc::new(deploybot_core::ports::SystemClock))
            .expect("the client builds");
        Setup {
            actions,
            backend: GitHubActions::new(Arc::new(client)),
            _server: server,
        }
    }

    fn request(workflow: &str) -> PipelineRequest {
        PipelineRequest {
            repository: repository(),
            git_ref: GitRef::Branch("main".into()),
            parameters: PipelineParameters {
                environment: Environment::Preview,
                version: "preview-1".into(),
                subdomain: Some("preview".into()),
                url: None,
                sha: Sha::parse("0123456789abcdef0123456789abcdef01234567").expect("a sha"),
                deployment_id: DeploymentId::new(Timestamp::from_secs(1_700_000_000), 7),
                rollback: false,
            },
            target: CiTarget::GitHubActions {
                workflow: workflow.into(),
            },
        }
    }

    #[tokio::test]
    async fn a_workflow_that_does_not_exist_names_the_file_and_where_to_put_it() {
        let s = setup().await;
        let error = s
            .backend
            .start_pipeline(&request("ship.yml"))
            .await
            .expect_err("no such workflow");
        match error {
            CiError::NotFound(m) => {
                assert!(m.contains(".github/workflows/ship.yml"), "{m}");
                assert!(m.contains("default branch"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        assert!(s.actions.runs().is_empty(), "nothing started");
    }

    #[tokio::test]
    async fn inputs_the_workflow_does_not_declare_name_the_inputs_to_declare() {
        let s = setup().await;
        s.actions
            .declare_inputs(&repository(), &["environment", "sha", "ref"]);
        let error = s
            .backend
            .start_pipeline(&request("deploy.yml"))
            .await
            .expect_err("undeclared inputs");
        match error {
            CiError::Rejected(m) => {
                assert!(m.contains("Unexpected inputs provided"), "{m}");
                assert!(m.contains("deployment_id"), "{m}");
                assert!(m.contains("docs/github-actions.md"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        assert!(s.actions.runs().is_empty(), "nothing started");
    }

    #[tokio::test]
    async fn an_older_github_without_run_details_is_asked_again_and_the_run_found_by_name() {
        let s = setup().await;
        s.actions.refuse_run_details();
        let started = s
            .backend
            .start_pipeline(&request("deploy.yml"))
            .await
            .expect("dispatched without run details");
        let runs = s.actions.runs();
        assert_eq!(runs.len(), 1, "one run, not two");
        assert_eq!(started.id, runs[0].id.to_string());
        assert_eq!(
            runs[0].inputs.get("rollback").map(String::as_str),
            Some("false")
        );
    }
}
