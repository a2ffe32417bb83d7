//! The board's delivery numbers, week by week, computed from deployment records alone (pure;
//! the web function reads the records). Definitions (docs/board.md, "Charts"):
//!
//! - **deployments**: production deployments that succeeded, by the week they succeeded;
//! - **lead time**: from the first time deploybot saw the commit (its earliest deployment
//!   anywhere among the records given — for a merge, the push to the default branch that
//!   deployed it first) to its success in production; the week's median;
//! - **change failure rate**: production deployments that failed, errored or were later rolled
//!   back, over all production deployments that finished, by the week they finished;
//! - **time to restore**: from a production failure to the next production success after it;
//!   the median of the failures of the week.

use crate::{Deployment, DeploymentState, Sha, Timestamp, Trigger};
use std::collections::{HashMap, HashSet};

const DAY_SECS: i64 = 86_400;
const WEEK_SECS: i64 = 7 * DAY_SECS;
/// 1970-01-01 was a Thursday: weeks start on the Monday four days later (offset).
const MONDAY_OFFSET_SECS: i64 = 4 * DAY_SECS;

/// The Monday 00:00 UTC that starts `at`'s week.
pub fn week_start(at: Timestamp) -> Timestamp {
    let secs = at.secs();
    Timestamp::from_secs(secs - (secs - MONDAY_OFFSET_SECS).rem_euclid(WEEK_SECS))
}

/// One week's numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Week {
    /// Monday 00:00 UTC.
    pub start: Timestamp,
    /// Successful production deployments.
    pub deployments: u32,
    /// Median lead time, seconds (`None` without a successful production deployment).
    pub lead_time_secs: Option<i64>,
    /// Production deployments that finished.
    pub finished: u32,
    /// Of those, the ones that failed, errored or were rolled back.
    pub failed: u32,
    /// Median time to restore of the week's failures, seconds (`None` without a failure
    /// that was restored).
    pub restore_secs: Option<i64>,
}

impl Week {
    /// The change failure rate in percent (`None` when nothing finished).
    pub fn failure_rate_percent(&self) -> Option<u32> {
        (self.finished > 0).then(|| (self.failed * 100 + self.finished / 2) / self.finished)
    }
}

fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2
    })
}

/// When a finished deployment finished: its success, else its last update.
fn finished_at(d: &Deployment) -> Timestamp {
    d.succeeded_at.unwrap_or(d.updated_at)
}

fn is_failure(state: DeploymentState) -> bool {
    matches!(state, DeploymentState::Failure | DeploymentState::Error)
}

/// The last `weeks` weeks up to `now`'s (oldest first), from `deployments` (any order, any
/// environments; the older ones only inform lead times).
pub fn weekly(deployments: &[Deployment], now: Timestamp, weeks: usize) -> Vec<Week> {
    let this_week = week_start(now);
    let weeks_i64 = i64::try_from(weeks).unwrap_or(0);
    let first = this_week.plus_secs(-(weeks_i64 - 1).max(0) * WEEK_SECS);
    let mut out: Vec<Week> = (0..weeks_i64)
        .map(|i| Week {
            start: first.plus_secs(i * WEEK_SECS),
            deployments: 0,
            lead_time_secs: None,
            finished: 0,
            failed: 0,
            restore_secs: None,
        })
        .collect();
    let index = |at: Timestamp| -> Option<usize> {
        if at < first || at >= this_week.plus_secs(WEEK_SECS) {
            return None;
        }
        usize::try_from((at.secs() - first.secs()) / WEEK_SECS).ok()
    };

    let mut first_seen: HashMap<&Sha, Timestamp> = HashMap::new();
    for d in deployments {
        first_seen
            .entry(&d.sha)
            .and_modify(|t| *t = (*t).min(d.created_at))
            .or_insert(d.created_at);
    }
    let rolled_back: HashSet<&str> = deployments
        .iter()
        .filter_map(|d| match &d.trigger {
            Trigger::Rollback { from, .. } => Some(from.as_str()),
            _ => None,
        })
        .collect();
    let mut production: Vec<&Deployment> =
        deployments.iter().filter(|d| d.is_production()).collect();
    production.sort_by_key(|d| finished_at(d));

    let mut lead: Vec<Vec<i64>> = vec![Vec::new(); out.len()];
    let mut restore: Vec<Vec<i64>> = vec![Vec::new(); out.len()];
    for (position, d) in production.iter().enumerate() {
        let succeeded = d.succeeded_at.is_some();
        let failed = is_failure(d.state) || rolled_back.contains(d.id.as_str());
        if !(succeeded || is_failure(d.state)) {
            continue; // never finished (pending, cancelled, superseded, skipped...)
        }
        let at = finished_at(d);
        let Some(week) = index(at) else { continue };
        out[week].finished += 1;
        if let Some(success) = d.succeeded_at {
            out[week].deployments += 1;
            if let Some(seen) = first_seen.get(&d.sha) {
                lead[week].push((success.secs() - seen.secs()).max(0));
            }
        }
        if failed {
            out[week].failed += 1;
            // Restored by the next production success after it (a rolled-back deployment
            // succeeded itself: the next success is the rollback's).
            let restored = production[position + 1..]
                .iter()
                .filter(|later| !rolled_back.contains(later.id.as_str()))
                .find_map(|later| later.succeeded_at.filter(|s| *s > at));
            if let Some(restored) = restored {
                restore[week].push(restored.secs() - at.secs());
            }
        }
    }
    for (week, stats) in out.iter_mut().enumerate() {
        stats.lead_time_secs = median(&mut lead[week]);
        stats.restore_secs = median(&mut restore[week]);
    }
    out
}

/// The weeks of several repositories added up (the organisation's chart): counts add; a
/// median of medians stands for the weeks' medians (weighted by nothing: each repository's
/// week counts once).
pub fn combine(repositories: &[Vec<Week>]) -> Vec<Week> {
    let Some(first) = repositories.first() else {
        return Vec::new();
    };
    first
        .iter()
        .enumerate()
        .map(|(i, week)| {
            let weeks: Vec<&Week> = repositories.iter().filter_map(|r| r.get(i)).collect();
            let mut lead: Vec<i64> = weeks.iter().filter_map(|w| w.lead_time_secs).collect();
            let mut restore: Vec<i64> = weeks.iter().filter_map(|w| w.restore_secs).collect();
            Week {
                start: week.start,
                deployments: weeks.iter().map(|w| w.deployments).sum(),
                lead_time_secs: median(&mut lead),
                finished: weeks.iter().map(|w| w.finished).sum(),
                failed: weeks.iter().map(|w| w.failed).sum(),
                restore_secs: median(&mut restore),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DeploymentId, Environment, GitRef, Repository, SlackChannelId, SlackUserId};

    /// Monday 2026-11-30 00:00 UTC.
    const MONDAY: i64 = 1_795_996_800;
    const HOUR: i64 = 3600;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_secs(MONDAY + secs)
    }

    fn sha(c: char) -> Sha {
        Sha::parse(&c.to_string().repeat(40)).expect("sha")
    }

    fn deployment(
        n: u32,
        environment: Environment,
        c: char,
        created: i64,
        state: DeploymentState,
        finished: i64,
    ) -> Deployment {
        let mut d = Deployment::new(
            Repository::parse("acme/web").expect("repo"),
            DeploymentId::new(at(created), n),
            environment,
            GitRef::branch("main").expect("ref"),
            sha(c),
            Trigger::Push { pusher: None },
            SlackChannelId::parse("C1").expect("channel"),
            at(created),
        );
        d.state = state;
        d.updated_at = at(finished);
        if state == DeploymentState::Success {
            d.succeeded_at = Some(at(finished));
        }
        d
    }

    #[test]
    fn weeks_start_on_monday_utc() {
        let cases = [
            (0, 0),
            (HOUR, 0),
            (6 * DAY_SECS + 23 * HOUR, 0),
            (7 * DAY_SECS, 7 * DAY_SECS),
            (-1, -7 * DAY_SECS),
        ];
        for (t, want) in cases {
            assert_eq!(week_start(at(t)), at(want), "{t}");
        }
        assert_eq!(
            week_start(Timestamp::from_secs(0)),
            Timestamp::from_secs(-3 * DAY_SECS)
        );
    }

    #[test]
    fn deployments_lead_time_failures_and_restores_per_week() {
        use DeploymentState::{Cancelled, Failure, Success};
        use Environment::{Production, Staging};
        let prior_week = -7 * DAY_SECS;
        let rollback_target =
            deployment(9, Production, 'e', prior_week, Success, prior_week + HOUR);
        let mut rolled = deployment(10, Production, 'f', 40 * HOUR, Success, 41 * HOUR);
        rolled.succeeded_at = Some(at(41 * HOUR));
        let mut rollback = deployment(11, Production, 'e', 43 * HOUR, Success, 44 * HOUR);
        rollback.trigger = Trigger::Rollback {
            slack_user: SlackUserId::parse("U1").expect("user"),
            from: rolled.id.clone(),
            from_sha: sha('f'),
            to: rollback_target.id.clone(),
            reason: None,
        };
        let records = vec![
            // Commit a: staging at 0, production success at 10 h → lead 10 h.
            deployment(1, Staging, 'a', 0, Success, HOUR),
            deployment(2, Production, 'a', 9 * HOUR, Success, 10 * HOUR),
            // Commit b: first seen at 2 h, production fails at 20 h, c restores at 26 h.
            deployment(3, Staging, 'b', 2 * HOUR, Success, 3 * HOUR),
            deployment(4, Production, 'b', 19 * HOUR, Failure, 20 * HOUR),
            deployment(5, Production, 'c', 24 * HOUR, Success, 26 * HOUR),
            // Cancelled: not finished, counts nowhere.
            deployment(6, Production, 'd', 30 * HOUR, Cancelled, 31 * HOUR),
            rollback_target,
            rolled,
            rollback,
        ];
        let weeks = weekly(&records, at(3 * DAY_SECS), 2);
        assert_eq!(weeks.len(), 2);
        let (last, this) = (&weeks[0], &weeks[1]);
        assert_eq!(last.start, at(prior_week));
        assert_eq!((last.deployments, last.finished, last.failed), (1, 1, 0));
        assert_eq!(this.start, at(0));
        // a, c, f (rolled back, but it did succeed), the rollback of e.
        assert_eq!(this.deployments, 4);
        assert_eq!(this.finished, 5, "a, b, c, f, rollback");
        assert_eq!(this.failed, 2, "b failed, f was rolled back");
        assert_eq!(this.failure_rate_percent(), Some(40));
        // Lead times: a 10 h, c 2 h (first seen at 24 h), f 1 h, e's rollback 44 h + 7 d.
        // Sorted: 1, 2, 10, 212 → median (2 + 10) / 2 = 6 h.
        assert_eq!(this.lead_time_secs, Some(6 * HOUR));
        // Restores: b at 20 h → c at 26 h (6 h); f at 41 h → the rollback at 44 h (3 h).
        assert_eq!(this.restore_secs, Some((6 * HOUR + 3 * HOUR) / 2));
    }

    #[test]
    fn empty_weeks_have_no_rates_and_combining_adds_counts() {
        let weeks = weekly(&[], at(0), 3);
        assert_eq!(weeks.len(), 3);
        assert!(weeks.iter().all(|w| w.deployments == 0
            && w.failure_rate_percent().is_none()
            && w.lead_time_secs.is_none()));
        let a = vec![Week {
            start: at(0),
            deployments: 2,
            lead_time_secs: Some(10),
            finished: 4,
            failed: 1,
            restore_secs: None,
        }];
        let b = vec![Week {
            start: at(0),
            deployments: 3,
            lead_time_secs: Some(30),
            finished: 4,
            failed: 2,
            restore_secs: Some(5),
        }];
        let both = combine(&[a, b]);
        assert_eq!(both[0].deployments, 5);
        assert_eq!(both[0].lead_time_secs, Some(20));
        assert_eq!(both[0].failure_rate_percent(), Some(38));
        assert_eq!(both[0].restore_secs, Some(5));
        assert!(combine(&[]).is_empty());
    }
}
