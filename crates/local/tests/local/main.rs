//! deploybot-local's integration tests, in one test binary (one link instead of one per file):
//! the command line (its DynamoDB commands against the emulator scripts/moto.sh starts), the
//! local server over HTTP, and the store contract on redb.

mod cli;
mod hostile_requests;
mod local_app;
mod store_contract;
