//! The CI router: `deploybot_core::ports::CiBackends`, re-exported where the adapters it
//! routes to are built (the Lambda bootstrap, the local wiring).

pub use deploybot_core::ports::CiBackends;
