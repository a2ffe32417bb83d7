//! "What's shipping" (docs/workflow.md; docs/adr/0018-rollback.md): GitHub's comparison of
//! what an environment runs with what a deployment brings, asked once per deployment right
//! after GitHub created it (so the deployment itself never waits), within
//! [`BUDGET_MILLIS`](deploybot_core::shipping::BUDGET_MILLIS), and stored by key with a
//! conditional write: every later edit of the message reads the stored record. A slow or
//! failing GitHub stores `unavailable` (said once in the message, never asked again); a
//! failing store leaves the message without the section.

use crate::{AppError, AppState, lanes};
use deploybot_core::shipping::{
    self, BUDGET_MILLIS, Shipping, ShippingRecord, compare_range, shows_shipping,
};
use deploybot_core::{Deployment, Sha};
use std::time::Duration;

/// The deployment's "What's shipping" record: the stored one, else asked of GitHub now and
/// stored. `None` for a deployment whose message has no such section, or when the store
/// failed (logged; the deployment goes on without it).
pub async fn ensure(state: &AppState, d: &Deployment) -> Option<ShippingRecord> {
    if !shows_shipping(d) {
        return None;
    }
    match ensure_inner(state, d).await {
        Ok(record) => Some(record),
        Err(error) => {
            tracing::warn!(deployment = %d.id, %error, "what's shipping: not recorded");
            None
        }
    }
}

/// The stored record of a deployment whose message has the section (`None` otherwise, or
/// when none was stored yet, or the store failed).
pub async fn stored(state: &AppState, d: &Deployment) -> Option<ShippingRecord> {
    if !shows_shipping(d) {
        return None;
    }
    let found = match state.deployments() {
        Ok(store) => store
            .shipping(&d.repository, &d.id)
            .await
            .map_err(AppError::from),
        Err(error) => Err(error),
    };
    found
        .inspect_err(
            |error| tracing::warn!(deployment = %d.id, %error, "what's shipping: not read"),
        )
        .ok()
        .flatten()
}

async fn ensure_inner(state: &AppState, d: &Deployment) -> Result<ShippingRecord, AppError> {
    let store = state.deployments()?;
    if let Some(record) = store.shipping(&d.repository, &d.id).await? {
        return Ok(record);
    }
    let current = running_commit(state, d).await?;
    let (shipping, removes) = match current {
        None if !d.trigger.is_rollback() => (Shipping::First, false),
        Some(current) if current == d.sha && !d.trigger.is_rollback() => (Shipping::Same, false),
        current => {
            let current = current.unwrap_or_else(|| d.sha.clone());
            let (base, head, removes) = compare_range(d, &current);
            (ask_github(state, d, &base, &head).await, removes)
        }
    };
    let record = ShippingRecord {
        repository: d.repository.clone(),
        deployment: d.id.clone(),
        removes,
        shipping,
        at: state.clock.now(),
    };
    if store.put_shipping(&record).await? {
        return Ok(record);
    }
    // Another attempt stored it first: theirs is the record.
    Ok(store
        .shipping(&d.repository, &d.id)
        .await?
        .unwrap_or(record))
}

/// The commit the deployment's environment runs: its newest successful deployment other
/// than this one (the lane's `succeeded` index, by key).
async fn running_commit(state: &AppState, d: &Deployment) -> Result<Option<Sha>, AppError> {
    let newest = state
        .deployments()?
        .succeeded_deployments(&lanes::lane_of(d), false, 2)
        .await?;
    Ok(newest.into_iter().find(|s| s.id != d.id).map(|s| s.sha))
}

/// GitHub's comparison within the budget; what went wrong otherwise.
async fn ask_github(state: &AppState, d: &Deployment, base: &Sha, head: &Sha) -> Shipping {
    let github = match state.github() {
        Ok(github) => github,
        Err(error) => {
            return Shipping::Unavailable {
                why: error.to_string(),
            };
        }
    };
    let budget = Duration::from_millis(BUDGET_MILLIS);
    match tokio::time::timeout(budget, github.comparison(&d.repository, base, head)).await {
        Ok(Ok(comparison)) => Shipping::Listed(comparison),
        Ok(Err(error)) => {
            tracing::warn!(deployment = %d.id, %error, "what's shipping: GitHub failed");
            Shipping::Unavailable {
                why: format!("GitHub did not compare the commits ({error})"),
            }
        }
        Err(_) => {
            tracing::warn!(deployment = %d.id, budget_ms = BUDGET_MILLIS, "what's shipping: GitHub too slow");
            Shipping::Unavailable {
                why: format!(
                    "GitHub did not compare the commits within {} seconds",
                    BUDGET_MILLIS / 1000
                ),
            }
        }
    }
}

/// The pull requests a successful production deployment shipped whose authors get a "your
/// pull request is live" message: each pull request of the stored comparison (not of a
/// rollback, which removes them) with an author.
pub fn shipped_pull_requests(record: &ShippingRecord) -> Vec<&shipping::ShippedPullRequest> {
    match (&record.shipping, record.removes) {
        (Shipping::Listed(comparison), false) => comparison
            .pull_requests
            .iter()
            .filter(|p| p.author.is_some())
            .collect(),
        _ => Vec::new(),
    }
}
