//! The store contract suite run against the in-memory store.

use deploybot_core::ports::Store;
use deploybot_testkit::{MemoryStore, store_contract_tests};
use std::sync::Arc;

store_contract_tests!(async { Arc::new(MemoryStore::new()) as Arc<dyn Store> });
