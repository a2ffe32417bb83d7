//! Lane locks: "hands off staging, I'm testing a migration". Every lock expires (default one
//! hour for `production`, two hours elsewhere, at most a day); the holder is reminded ten
//! minutes before, may extend it, and is the only one whose manual deploys pass while it
//! holds.

use super::duration::{format_duration, millis};
use super::{Intent, slack_time};
use crate::{Environment, SlackUserId, Timestamp};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long a `production` lock lasts when no duration is given.
pub const DEFAULT_PRODUCTION_LOCK: Duration = Duration::from_secs(3600);
/// How long a lock on any other environment lasts when no duration is given.
pub const DEFAULT_LOCK: Duration = Duration::from_secs(2 * 3600);
/// The longest a lock may last, counted from when it is taken or extended.
pub const MAX_LOCK: Duration = Duration::from_secs(86_400);
/// The shortest lock worth taking.
pub const MIN_LOCK: Duration = Duration::from_secs(60);
/// How long before expiry the holder is reminded.
pub const REMINDER_BEFORE: Duration = Duration::from_secs(10 * 60);
/// What the [Extend 1h] button adds.
pub const EXTEND_BY: Duration = Duration::from_secs(3600);
/// Longest reason kept with a lock (longer ones are refused by the grammar).
pub const MAX_REASON_CHARS: usize = 200;

/// A lock on one lane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    /// Who holds it.
    pub holder: SlackUserId,
    /// Why, as the holder wrote it.
    #[serde(default)]
    pub reason: Option<String>,
    /// When it was taken.
    pub since: Timestamp,
    /// When it ends on its own.
    pub until: Timestamp,
    /// Whether the "expiring soon" reminder went out for this `until`.
    #[serde(default)]
    pub reminded: bool,
}

/// Why a lock could not be taken, extended or released. The message is for the person who
/// asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// The asked duration is over [`MAX_LOCK`].
    #[error(
        "a lock lasts at most 1 day; `{asked}` is longer. Lock for `1d` and extend it tomorrow if you still need it"
    )]
    TooLong {
        /// The asked duration, formatted.
        asked: String,
    },
    /// The asked duration is under [`MIN_LOCK`].
    #[error("a lock lasts at least 1 minute; `{asked}` is shorter")]
    TooShort {
        /// The asked duration, formatted.
        asked: String,
    },
    /// Someone else holds the lane.
    #[error(
        "{environment} is already locked by {holder} until {until}; ask them, or `unlock` it first"
    )]
    HeldByOther {
        /// The environment.
        environment: Environment,
        /// The holder, as a mention.
        holder: String,
        /// The expiry, as Slack date markup.
        until: String,
    },
    /// Only the holder may do this.
    #[error("only {holder}, who holds the lock on {environment}, can extend it")]
    NotHolder {
        /// The environment.
        environment: Environment,
        /// The holder, as a mention.
        holder: String,
    },
}

/// How long a lock lasts when no duration is given: shorter on a production environment
/// (the workflow's `production: true`).
pub fn default_lock_duration(production: bool) -> Duration {
    if production {
        DEFAULT_PRODUCTION_LOCK
    } else {
        DEFAULT_LOCK
    }
}

/// The lock duration for a request: the asked one if it is between [`MIN_LOCK`] and
/// [`MAX_LOCK`], the environment's default when none was asked.
pub fn lock_duration(production: bool, asked: Option<Duration>) -> Result<Duration, LockError> {
    match asked {
        None => Ok(default_lock_duration(production)),
        Some(d) if d > MAX_LOCK => Err(LockError::TooLong {
            asked: format_duration(d),
        }),
        Some(d) if d < MIN_LOCK => Err(LockError::TooShort {
            asked: format_duration(d),
        }),
        Some(d) => Ok(d),
    }
}

impl Lock {
    /// Takes a lock on `environment` for `holder`, replacing `current` when it is absent,
    /// expired or already the holder's own (locking again re-sets the expiry and reason).
    pub fn take(
        current: Option<&Lock>,
        environment: &Environment,
        production: bool,
        holder: &SlackUserId,
        asked: Option<Duration>,
        reason: Option<String>,
        now: Timestamp,
    ) -> Result<Lock, LockError> {
        if let Some(lock) = current.filter(|l| !l.is_expired(now) && &l.holder != holder) {
            return Err(LockError::HeldByOther {
                environment: environment.clone(),
                holder: lock.holder.mention(),
                until: slack_time(lock.until),
            });
        }
        let duration = lock_duration(production, asked)?;
        Ok(Lock {
            holder: holder.clone(),
            reason: reason.filter(|r| !r.trim().is_empty()),
            since: current
                .filter(|l| !l.is_expired(now) && &l.holder == holder)
                .map_or(now, |l| l.since),
            until: plus(now, duration),
            reminded: false,
        })
    }

    /// The lock extended by `by` (the [Extend 1h] button: [`EXTEND_BY`]), never beyond
    /// [`MAX_LOCK`] from `now`. Only the holder may extend.
    pub fn extended(
        &self,
        environment: &Environment,
        who: &SlackUserId,
        by: Duration,
        now: Timestamp,
    ) -> Result<Lock, LockError> {
        if who != &self.holder {
            return Err(LockError::NotHolder {
                environment: environment.clone(),
                holder: self.holder.mention(),
            });
        }
        let from = self.until.max(now);
        let until = plus(from, by).min(plus(now, MAX_LOCK));
        Ok(Lock {
            until,
            reminded: false,
            ..self.clone()
        })
    }

    /// Whether the lock has run out at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        now >= self.until
    }

    /// Time left at `now` (zero once expired).
    pub fn time_left(&self, now: Timestamp) -> Duration {
        let ms = self.until.millis().saturating_sub(now.millis()).max(0);
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }

    /// Whether the "expiring soon" direct message is due: within [`REMINDER_BEFORE`] of the
    /// expiry, not expired, and not sent yet for this expiry.
    pub fn reminder_due(&self, now: Timestamp) -> bool {
        !self.reminded
            && !self.is_expired(now)
            && now >= Timestamp::from_millis(self.until.millis() - millis(REMINDER_BEFORE))
    }

    /// When the watchdog should look at this lock next: the reminder, then the expiry.
    pub fn due_at(&self) -> Timestamp {
        if self.reminded {
            self.until
        } else {
            Timestamp::from_millis(self.until.millis() - millis(REMINDER_BEFORE))
        }
    }

    /// Whether the lock holds `intent` back: every intent waits except the holder's own
    /// manual ones (a deploy, a promotion, a retry they asked for), and a rollback, whoever
    /// asked for it: putting back what worked passes every lock.
    pub fn holds(&self, intent: &Intent) -> bool {
        intent.kind != super::IntentKind::Rollback
            && !(intent.kind.is_manual() && intent.requested_by.person() == Some(&self.holder))
    }

    /// "staging is locked by @ana until 14:30 — testing the migration".
    pub fn sentence(&self, environment: &Environment) -> String {
        let mut s = format!(
            "{environment} is locked by {} until {}",
            self.holder.mention(),
            slack_time(self.until)
        );
        if let Some(reason) = &self.reason {
            s.push_str(" — ");
            s.push_str(reason);
        }
        s
    }
}

fn plus(t: Timestamp, d: Duration) -> Timestamp {
    Timestamp::from_millis(t.millis().saturating_add(millis(d)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lane::tests::{manual, push};

    fn ana() -> SlackUserId {
        SlackUserId::parse("UANA").expect("valid")
    }
    fn bob() -> SlackUserId {
        SlackUserId::parse("UBOB").expect("valid")
    }
    const NOW: Timestamp = Timestamp::from_secs(1_000_000);
    const fn mins(n: u64) -> Duration {
        Duration::from_secs(n * 60)
    }

    #[test]
    fn durations_follow_the_rules() {
        // (production?, asked, answer)
        let cases: Vec<(bool, Option<Duration>, Result<Duration, &str>)> = vec![
            (true, None, Ok(mins(60))),
            (false, None, Ok(mins(120))),
            (false, Some(mins(30)), Ok(mins(30))),
            (true, Some(mins(1440)), Ok(mins(1440))),
            (true, Some(mins(1441)), Err("at most 1 day")),
            (
                false,
                Some(Duration::from_secs(30)),
                Err("at least 1 minute"),
            ),
        ];
        for (production, asked, want) in cases {
            match (lock_duration(production, asked), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{production} {asked:?}"),
                (Err(e), Err(needle)) => {
                    assert!(
                        e.to_string().contains(needle),
                        "{production} {asked:?}: {e}"
                    )
                }
                (got, want) => panic!("{production} {asked:?}: {got:?}, wanted {want:?}"),
            }
        }
    }

    #[test]
    fn take_extend_and_expire() {
        let env = Environment::Staging;
        let lock = Lock::take(
            None,
            &env,
            false,
            &ana(),
            None,
            Some("migration".into()),
            NOW,
        )
        .expect("free lane");
        assert_eq!(lock.until, NOW.plus_secs(7200));
        assert_eq!(lock.time_left(NOW.plus_secs(3600)), mins(60));
        assert!(!lock.is_expired(NOW.plus_secs(7199)));
        assert!(lock.is_expired(NOW.plus_secs(7200)));
        assert_eq!(lock.time_left(NOW.plus_secs(9000)), Duration::ZERO);

        // Someone else cannot take it while it holds, but can once it expired.
        let e = Lock::take(
            Some(&lock),
            &env,
            false,
            &bob(),
            None,
            None,
            NOW.plus_secs(60),
        )
        .expect_err("held");
        assert!(e.to_string().contains("already locked by <@UANA>"), "{e}");
        let later = Lock::take(
            Some(&lock),
            &env,
            false,
            &bob(),
            None,
            None,
            NOW.plus_secs(7200),
        )
        .expect("expired");
        assert_eq!(later.holder, bob());
        assert_eq!(later.since, NOW.plus_secs(7200));

        // The holder re-locking keeps `since`, re-sets expiry and reason.
        let again = Lock::take(
            Some(&lock),
            &env,
            false,
            &ana(),
            Some(mins(30)),
            None,
            NOW.plus_secs(60),
        )
        .expect("own lock");
        assert_eq!(
            (again.since, again.until, again.reason.as_deref()),
            (NOW, NOW.plus_secs(60 + 1800), None)
        );

        // Extend: +1h from the expiry, capped at a day from now, holder only.
        let ext = lock.extended(&env, &ana(), EXTEND_BY, NOW).expect("holder");
        assert_eq!(ext.until, NOW.plus_secs(3 * 3600));
        let long = Lock {
            until: NOW.plus_secs(86_000),
            ..lock.clone()
        };
        assert_eq!(
            long.extended(&env, &ana(), EXTEND_BY, NOW)
                .expect("holder")
                .until,
            NOW.plus_secs(86_400)
        );
        let e = lock
            .extended(&env, &bob(), EXTEND_BY, NOW)
            .expect_err("not holder");
        assert!(e.to_string().contains("only <@UANA>"), "{e}");
    }

    #[test]
    fn reminder_is_due_ten_minutes_before_once() {
        let lock = Lock::take(
            None,
            &Environment::Production,
            true,
            &ana(),
            None,
            None,
            NOW,
        )
        .expect("free");
        let at = |m: i64| NOW.plus_secs(m * 60);
        let cases = [
            (0, false, false),
            (49, false, false),
            (50, false, true),
            (59, false, true),
            (60, false, false),
            (55, true, false),
        ];
        for (minute, reminded, want) in cases {
            let l = Lock {
                reminded,
                ..lock.clone()
            };
            assert_eq!(
                l.reminder_due(at(minute)),
                want,
                "minute {minute}, reminded {reminded}"
            );
        }
        assert_eq!(lock.due_at(), at(50));
        let reminded = Lock {
            reminded: true,
            ..lock.clone()
        };
        assert_eq!(reminded.due_at(), at(60));
        // Extending re-arms the reminder.
        assert!(
            !reminded
                .extended(&Environment::Production, &ana(), EXTEND_BY, at(55))
                .expect("holder")
                .reminded
        );
    }

    #[test]
    fn only_the_holders_manual_intents_pass() {
        let lock =
            Lock::take(None, &Environment::Staging, false, &ana(), None, None, NOW).expect("free");
        let cases = [
            (manual(1, "UANA", "a"), false),
            (manual(2, "UBOB", "b"), true),
            (push(3, "main", "c"), true),
        ];
        for (intent, held) in cases {
            assert_eq!(lock.holds(&intent), held, "{:?}", intent.kind);
        }
        let s = lock.sentence(&Environment::Staging);
        assert!(
            s.starts_with("staging is locked by <@UANA> until <!date^"),
            "{s}"
        );
    }
}
