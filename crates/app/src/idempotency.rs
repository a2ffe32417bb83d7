//! Idempotency keys for webhooks and retried async invokes (docs/security.md, "Idempotency keys"):
//! claim a key before the effect, release it when the effect failed so that a retry is processed
//! again. Keys expire after `delivery_ttl_secs`.

use crate::{AppError, AppState};

/// Records `key`; true when it is new (go ahead), false when it was claimed before (do
/// nothing). Of concurrent claims of one key exactly one gets true.
pub async fn claim(state: &AppState, key: &str) -> Result<bool, AppError> {
    let now = state.clock.now();
    let expires_at = now.plus_secs(state.config.delivery_ttl_secs);
    Ok(state.store.record_delivery(key, now, expires_at).await?)
}

/// Forgets `key` after a failed attempt. A failure to forget is logged: the attempt's own
/// error is what the caller reports.
pub async fn release(state: &AppState, key: &str) {
    if let Err(error) = state.store.forget_delivery(key).await {
        tracing::error!(key, %error, "could not forget an idempotency key after a failure");
    }
}
