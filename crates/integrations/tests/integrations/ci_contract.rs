//! Every CI backend passes the one contract suite (`deploybot_testkit::ci_contract`): the
//! CircleCI adapter over the fake's HTTP, the fake CircleCI and the fake GitHub Actions as
//! the function tests use them directly.

use deploybot_core::ports::CiBackend;
use deploybot_integrations::circleci::{CircleCiClient, CircleCiConfig};
use deploybot_testkit::ci_contract::{ActionsUnderTest, CircleCiUnderTest};
use deploybot_testkit::fakes::circleci::FakeCircleCi;
use deploybot_testkit::fakes::github_actions::FakeActions;
use std::sync::Arc;

mod circleci_adapter {
    use super::*;

    /// The adapter over HTTP, with the fake's server kept alive as long as the test.
    struct OverHttp {
        ci: CircleCiUnderTest,
        _server: deploybot_testkit::fakes::server::FakeServer,
    }

    impl deploybot_testkit::ci_contract::CiUnderTest for OverHttp {
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

    async fn fresh() -> OverHttp {
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
