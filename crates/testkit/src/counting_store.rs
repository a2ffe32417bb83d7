//! counting_store
