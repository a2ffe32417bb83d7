//! The channel is told thirty minutes before a freeze window starts: [`next_warning`] says
//! which start of an environment's windows to warn about next and when, from the windows and
//! the clock alone. The lane record keeps the answer (`freeze_warn_at`, counted in its
//! `due_at`), so the watchdog's sweep, which reads only due lanes, finds it on time.

use super::{FreezeWindow, starting_between};
use crate::Timestamp;

/// How long before a window starts the channel is told.
pub const LEAD_SECS: i64 = 30 * 60;
/// How far ahead a start is looked for (a one-off window months away is found too).
pub const HORIZON_SECS: i64 = 366 * 86_400;

/// A start to warn about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// When to warn: [`LEAD_SECS`] before the start, or now when the start is nearer.
    pub at: Timestamp,
    /// When the window starts.
    pub start: Timestamp,
    /// When it ends.
    pub end: Timestamp,
    /// Its name.
    pub window: String,
    /// Its reason.
    pub reason: Option<String>,
}

/// The next start of a window of the environment `key` after `now` that was not warned about
/// yet (`warned`: the start last warned about), within [`HORIZON_SECS`].
pub fn next_warning(
    windows: &[FreezeWindow],
    key: &str,
    now: Timestamp,
    warned: Option<Timestamp>,
) -> Option<Warning> {
    let to = now.plus_secs(HORIZON_SECS);
    starting_between(windows, Some(key), now, to)
        .into_iter()
        .find(|u| u.occurrence.start > now && Some(u.occurrence.start) != warned)
        .map(|u| Warning {
            at: std::cmp::max(u.occurrence.start.plus_secs(-LEAD_SECS), now),
            start: u.occurrence.start,
            end: u.occurrence.end,
            window: u.window.name.clone(),
            reason: u.window.reason.clone(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::freeze::{Schedule, Zone, parse_local_date_time};

    fn at(text: &str) -> Timestamp {
        let t: jiff::Timestamp = text.parse().expect("an instant");
        Timestamp::from_millis(t.as_millisecond())
    }

    fn windows() -> Vec<FreezeWindow> {
        let zone = Zone::parse("Europe/London").expect("zone");
        let once = |name: &str, from: &str, until: &str, env: &str| FreezeWindow {
            name: name.into(),
            environments: vec![env.into()],
            schedule: Schedule::Once {
                zone: zone.clone(),
                from: parse_local_date_time(from).expect("from"),
                until: parse_local_date_time(until).expect("until"),
            },
            reason: Some("peak traffic".into()),
            line: 1,
        };
        vec![
            once("sale", "2026-11-27T09:00", "2026-11-28T09:00", "production"),
            once(
                "audit",
                "2026-12-10T09:00",
                "2026-12-11T09:00",
                "production",
            ),
            once(
                "staging-only",
                "2026-11-20T09:00",
                "2026-11-21T09:00",
                "staging",
            ),
        ]
    }

    #[test]
    fn warns_thirty_minutes_before_each_start_once() {
        let w = windows();
        // London is on GMT in November: 09:00 local is 09:00 UTC.
        let now = at("2026-11-01T00:00Z");
        let first = next_warning(&w, "production", now, None).expect("the sale");
        assert_eq!(first.window, "sale");
        assert_eq!(first.start, at("2026-11-27T09:00Z"));
        assert_eq!(first.at, at("2026-11-27T08:30Z"));
        assert_eq!(first.reason.as_deref(), Some("peak traffic"));
        // Once warned about, the next one comes.
        let second = next_warning(&w, "production", first.at, Some(first.start)).expect("next");
        assert_eq!(second.window, "audit");
        assert_eq!(second.at, at("2026-12-10T08:30Z"));
        // Closer than thirty minutes: warn now.
        let late = at("2026-11-27T08:50Z");
        assert_eq!(
            next_warning(&w, "production", late, None).map(|x| x.at),
            Some(late)
        );
        // Started already: the next one.
        let during = at("2026-11-27T10:00Z");
        assert_eq!(
            next_warning(&w, "production", during, None).map(|x| x.window),
            Some("audit".to_owned())
        );
        // Another environment's windows do not count; none left: nothing.
        assert_eq!(
            next_warning(&w, "staging", at("2026-11-22T00:00Z"), None),
            None
        );
    }
}
