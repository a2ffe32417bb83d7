//! deploybot-local: deploybot on one machine — the embedded on-disk store, the local server
//! that mounts every HTTP function, and the demo.

pub mod board_visitor;
pub mod config;
pub mod demo;
pub mod github_events;
pub mod harness;
pub mod server;
pub mod store;
pub mod transcript;
pub mod wiring;
pub mod world;
