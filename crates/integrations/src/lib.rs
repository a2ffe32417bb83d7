//! deploybot-integrations: the adapters that talk to Slack, GitHub and CircleCI, each
//! implementing its port from `deploybot-core`, each with a configurable base URL
//! (`SLACK_API_URL`, `GITHUB_API_URL`, `CIRCLECI_API_URL`) so tests and demos can point them
//! at local fakes.

pub mod ci;
pub mod circleci;
pub mod github;
pub mod github_user;
pub mod http;
pub mod slack;
