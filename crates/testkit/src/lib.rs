//! deploybot-testkit: what tests (and the local demo) need to exercise deploybot without any
//! outside service — stateful fakes of Slack, GitHub and CircleCI (usable directly as ports
//! and as HTTP servers on 127.0.0.1), the in-memory store, the store contract suite every
//! store implementation runs, payload fixtures and request signing.

pub mod ci_contract;
pub mod counting_store;
pub mod fakes;
pub mod fixtures;
pub mod markdown;
pub mod memory_store;
pub mod metrics;
pub mod signing;
pub mod store_contract;

pub use counting_store::{CountingStore, Fault};
pub use memory_store::MemoryStore;
