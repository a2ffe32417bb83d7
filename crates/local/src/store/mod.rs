//! Embedded store implementations: the on-disk redb store (the in-memory one lives in
//! `deploybot-testkit`, beside the contract suite both pass).

pub mod redb_store;

pub use redb_store::RedbStore;
