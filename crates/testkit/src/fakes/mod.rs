//! Stateful fakes of the three services. Each keeps what was done to it, implements its port
//! directly (fast handler tests) and serves the same state over HTTP on 127.0.0.1 (adapter
//! and end-to-end tests), with scriptable failures.

pub mod circleci;
pub mod github;
pub mod github_actions;
pub mod server;
pub mod slack;
