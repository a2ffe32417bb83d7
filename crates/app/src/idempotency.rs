//! Idempotency: the one mechanism every handler that dedupes goes through, and the only code
//! that writes delivery keys (webhook deliveries, Slack events and actions, retried invokes).
//!
//! A key is **claimed with a lease** (three times the function's time limit,
//! `FunctionProfile::lease_secs`), then **finished** when the work succeeded (kept for
//! `delivery_ttl_secs`, later claims answer "done") or **released** when it failed, so the
//! retry does the work. A claim whose lease ran out — its attempt was killed, or timed out,
//! before finishing or releasing — may be taken again: a key is never left claimed forever.
//! See docs/security.md ("Idempotency") and docs/data-model.md (the delivery table).

use crate::{AppError, AppState};
use deploybot_core::ports::Claim;
use std::future::Future;

/// What [`claim`] found.
#[derive(Debug)]
pub enum Claimed {
    /// This attempt holds the key: do the work, then [`Lease::finish`] or [`Lease::release`].
    Lease(Lease),
    /// Another attempt is doing the work right now (its lease is live).
    InProgress,
    /// An earlier attempt did the work.
    Done,
}

/// A claimed key. Dropping it without finishing or releasing leaves the lease to run out.
#[derive(Debug)]
#[must_use = "finish or release the lease"]
pub struct Lease {
    key: String,
}

impl Lease {
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The work is done: later claims of the key answer `Done` until it expires.
    pub async fn finish(self, state: &AppState) -> Result<(), AppError> {
        let keep_until = state.clock.now().plus_secs(state.config.delivery_ttl_secs);
        state
            .deliveries()?
            .finish_delivery(&self.key, keep_until)
            .await?;
        Ok(())
    }

    /// The work failed: forget the key so that a retry does it. A failure to forget is
    /// logged (the lease still runs out): the attempt's own error is what the caller reports.
    pub async fn release(self, state: &AppState) {
        let result = match state.deliveries() {
            Ok(deliveries) => deliveries
                .forget_delivery(&self.key)
                .await
                .map_err(AppError::from),
            Err(error) => Err(error),
        };
        if let Err(error) = result {
            tracing::error!(key = %self.key, %error, "could not release an idempotency key after a failure; its lease will run out");
        }
    }
}

/// Claims `key` for this attempt, leased for three times the function's time limit.
pub async fn claim(state: &AppState, key: &str) -> Result<Claimed, AppError> {
    let now = state.clock.now();
    let lease_until = now.plus_secs(state.profile.lease_secs());
    Ok(
        match state
            .deliveries()?
            .claim_delivery(key, now, lease_until)
            .await?
        {
            Claim::Claimed => Claimed::Lease(Lease {
                key: key.to_owned(),
            }),
            Claim::Held { .. } => Claimed::InProgress,
            Claim::Done => Claimed::Done,
        },
    )
}

/// What [`run_once`] did.
#[derive(Debug)]
pub enum Once<T> {
    /// This attempt did the work; its answer.
    Ran(T),
    /// Another attempt is doing it.
    InProgress,
    /// An earlier attempt did it.
    Done,
}

/// Runs `work` once per `key`: claim, work, finish (or release when the work failed, and
/// return its error).
///
/// `work` is boxed before the claim is awaited: held unboxed, it would sit in this future's
/// state beside the claim's and be copied with it by every wrapper above (a webhook's work is
/// kilobytes; docs/performance.md, "Futures").
pub fn run_once<'a, T, F>(
    state: &'a AppState,
    key: &'a str,
    work: F,
) -> impl Future<Output = Result<Once<T>, AppError>> + 'a
where
    F: Future<Output = Result<T, AppError>> + 'a,
{
    let work = Box::pin(work);
    async move {
        let lease = match claim(state, key).await? {
            Claimed::Lease(lease) => lease,
            Claimed::InProgress => return Ok(Once::InProgress),
            Claimed::Done => return Ok(Once::Done),
        };
        settle(state, lease, work.await).await.map(Once::Ran)
    }
}

/// Does `work` and marks the key done at the same time — for work whose effect is idempotent
/// downstream (handing an event over with an `Event` invoke), so that the acknowledgement waits
/// on one round trip instead of two in a row. When the work fails the key is forgotten after
/// all, so a retry does it.
pub async fn work_while_finishing<T, F>(
    state: &AppState,
    lease: Lease,
    work: F,
) -> Result<T, AppError>
where
    F: Future<Output = Result<T, AppError>>,
{
    let key = lease.key.clone();
    let (result, finished) = tokio::join!(work, lease.finish(state));
    match result {
        Ok(value) => {
            if let Err(error) = finished {
                tracing::error!(%key, %error, "could not mark an idempotency key done");
            }
            Ok(value)
        }
        Err(error) => {
            Lease { key }.release(state).await;
            Err(error)
        }
    }
}

/// Finishes `lease` when `result` is a success, releases it otherwise; returns `result`. A
/// failure to mark the key done is logged, not returned: the work happened, and the lease
/// running out only means a late redelivery would be handled again.
pub async fn settle<T>(
    state: &AppState,
    lease: Lease,
    result: Result<T, AppError>,
) -> Result<T, AppError> {
    match result {
        Ok(value) => {
            let key = lease.key.clone();
            if let Err(error) = lease.finish(state).await {
                tracing::error!(%key, %error, "could not mark an idempotency key done");
            }
            Ok(value)
        }
        Err(error) => {
            lease.release(state).await;
            Err(error)
        }
    }
}
