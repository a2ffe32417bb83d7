//! deploybot-benches: what the speed evidence shares — a store populated at a chosen scale,
//! the HTTP router over it with a no-op invoker, and the requests one event brings (a real
//! ~30 KB GitHub push, a CircleCI completion, a slash command), signed. Used by the criterion
//! benchmarks (`benches/handlers.rs`), the store-call count test (`tests/store_calls.rs`) and
//! the load generator (`src/bin/deploybot-load.rs`). Never shipped.

pub mod ordered;
pub mod payloads;
pub mod world;
