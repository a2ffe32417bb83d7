//! deploybot-integrations' integration tests, in one test binary (one link instead of one per
//! file): each adapter against its fake over HTTP, and wiremock for answers the fakes do not
//! give.

mod ci_contract;
mod circleci;
mod github;
mod github_actions;
mod slack;
