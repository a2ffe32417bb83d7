//! Embedded store implementations.

pub mod redb_store;
