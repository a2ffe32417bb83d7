//! Freeze windows: stretches of time when an environment takes no automatic deployment.
//! A window is a wall-clock start and end in an IANA time zone (weekly, or between two
//! local date-times), or two instants (a freeze set by hand). [`frozen_at`] answers "is this
//! environment frozen at `t`, until when, and why" from the windows and the clock alone.
//!
//! Wall-clock times that a daylight-saving change makes ambiguous are settled so that, in
//! doubt, the environment stays frozen: a start that does not exist (clocks going forward)
//! moves to the next valid instant; a start that exists twice (clocks going back) takes the
//! earlier instant; an end that does not exist moves to the next valid instant; an end that
//! exists twice takes the later one. docs/adr/0017-gates.md explains the choice of `jiff`.

use crate::Timestamp;
use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use std::fmt;

pub mod warning;

/// The longest chain of back-to-back windows [`frozen_at`] follows to find the end of a
/// freeze (two weekly windows covering the whole week would otherwise never end).
const MAX_CHAIN: usize = 16;
/// The widest range [`Schedule::occurrences`] looks at, in days.
const MAX_RANGE_DAYS: i64 = 400;

/// One freeze window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreezeWindow {
    /// Its name (`weekend`, `black-friday`; a freeze set by hand is named by who set it).
    pub name: String,
    /// The workflow file's environment keys it freezes; empty freezes every environment.
    pub environments: Vec<String>,
    /// When.
    pub schedule: Schedule,
    /// Why, for people.
    pub reason: Option<String>,
    /// The line of the window in the workflow file (0 for a freeze set by hand).
    pub line: usize,
}

impl FreezeWindow {
    /// Whether the window freezes the environment with the file's key `key` (the names of
    /// environments are compared without regard to case, as GitHub does).
    pub fn applies_to(&self, key: &str) -> bool {
        self.environments.is_empty()
            || self
                .environments
                .iter()
                .any(|e| e.eq_ignore_ascii_case(key))
    }
}

/// When a window freezes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Every week, from one weekday and time until the next occurrence of another.
    Weekly {
        zone: Zone,
        from: WeeklyTime,
        until: WeeklyTime,
    },
    /// Once, between two local date-times.
    Once {
        zone: Zone,
        from: DateTime,
        until: DateTime,
    },
    /// Once, between two instants (a freeze set by hand).
    Fixed { from: Timestamp, until: Timestamp },
}

/// An IANA time zone, by its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    /// `Europe/London`, `America/New_York`, `UTC`: a name of the IANA time-zone database.
    pub fn parse(name: &str) -> Result<Self, String> {
        let shown = crate::ids::clip(name);
        if name.is_empty() || name.starts_with(['+', '-']) || name.contains(' ') {
            return Err(format!(
                "`{shown}` is not an IANA time zone; write a name such as `Europe/London` or `America/New_York`"
            ));
        }
        let tz = jiff::tz::db().get(name).map_err(|_| {
            format!(
                "`{shown}` is not an IANA time zone; write a name such as `Europe/London` or `America/New_York`"
            )
        })?;
        Ok(Self {
            name: tz.iana_name().unwrap_or(name).to_owned(),
            tz,
        })
    }

    /// The name, as the time-zone database spells it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The wall-clock time at `at` in this zone.
    pub fn local(&self, at: Timestamp) -> DateTime {
        self.tz.to_datetime(to_jiff(at))
    }

    /// The instant a wall-clock start means: a time skipped by the clocks moves to the next
    /// valid instant; a time that happens twice is the first.
    pub fn start_instant(&self, local: DateTime) -> Timestamp {
        self.resolve(local, false)
    }

    /// The instant a wall-clock end means: a time skipped by the clocks moves to the next
    /// valid instant; a time that happens twice is the second.
    pub fn end_instant(&self, local: DateTime) -> Timestamp {
        self.resolve(local, true)
    }

    fn resolve(&self, local: DateTime, later_on_fold: bool) -> Timestamp {
        let seconds = |offset: jiff::tz::Offset| {
            offset
                .to_timestamp(local)
                .map(from_jiff)
                .unwrap_or(Timestamp::from_millis(i64::MAX))
        };
        match self.tz.to_ambiguous_timestamp(local).offset() {
            AmbiguousOffset::Unambiguous { offset } => seconds(offset),
            AmbiguousOffset::Fold { before, after } => {
                seconds(if later_on_fold { after } else { before })
            }
            AmbiguousOffset::Gap { after, .. } => {
                // Read with the offset after the gap, the time lands before the change; the
                // change itself is the first instant whose wall clock is past `local`.
                let probe = seconds(after);
                self.tz
                    .following(to_jiff(probe))
                    .next()
                    .map_or(probe, |t| from_jiff(t.timestamp()))
            }
        }
    }
}

/// A weekday and a time of day: `Fri 16:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklyTime {
    pub weekday: Weekday,
    pub time: Time,
}

const WEEKDAYS: [(&str, &str, Weekday); 7] = [
    ("mon", "monday", Weekday::Monday),
    ("tue", "tuesday", Weekday::Tuesday),
    ("wed", "wednesday", Weekday::Wednesday),
    ("thu", "thursday", Weekday::Thursday),
    ("fri", "friday", Weekday::Friday),
    ("sat", "saturday", Weekday::Saturday),
    ("sun", "sunday", Weekday::Sunday),
];

impl WeeklyTime {
    /// `Fri 16:00` (a weekday's first three letters or its whole name, any case, then a
    /// 24-hour `HH:MM`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let wrong = || {
            format!(
                "`{text}` is not a weekday and a time; write it as `Fri 16:00` (Mon … Sun, then a 24-hour HH:MM)"
            )
        };
        let (day, time) = text.trim().split_once(' ').ok_or_else(wrong)?;
        let day = day.to_ascii_lowercase();
        let weekday = WEEKDAYS
            .iter()
            .find(|(short, long, _)| day == *short || day == *long)
            .map(|(_, _, w)| *w)
            .ok_or_else(wrong)?;
        let time = parse_hh_mm(time.trim()).ok_or_else(wrong)?;
        Ok(Self { weekday, time })
    }
}

impl fmt::Display for WeeklyTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let day = WEEKDAYS
            .iter()
            .find(|(_, _, w)| *w == self.weekday)
            .map_or("?", |(short, _, _)| short);
        let mut chars = day.chars();
        let first = chars.next().map(|c| c.to_ascii_uppercase()).unwrap_or('?');
        write!(
            f,
            "{first}{} {:02}:{:02}",
            chars.as_str(),
            self.time.hour(),
            self.time.minute()
        )
    }
}

fn parse_hh_mm(text: &str) -> Option<Time> {
    let (h, m) = text.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    if !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()
}

/// A local date-time written `2026-11-26T00:00`.
pub fn parse_local_date_time(text: &str) -> Result<DateTime, String> {
    let wrong = || {
        format!(
            "`{text}` is not a local date and time; write it as `2026-11-26T09:00` (no offset: the window's `timezone` says where)"
        )
    };
    let (date, time) = text.split_once('T').ok_or_else(wrong)?;
    let date: Date = match date.as_bytes() {
        [_, _, _, _, b'-', _, _, b'-', _, _] => date.parse().map_err(|_| wrong())?,
        _ => return Err(wrong()),
    };
    if time.len() != 5 {
        return Err(wrong());
    }
    let time = parse_hh_mm(time).ok_or_else(wrong)?;
    Ok(date.to_datetime(time))
}

/// One stretch of a window: from `start` (included) to `end` (excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Occurrence {
    /// Whether `at` falls inside.
    pub fn covers(&self, at: Timestamp) -> bool {
        self.start <= at && at < self.end
    }
}

impl Schedule {
    /// The stretches of the schedule that overlap `[from, to)`, in order (at most about a
    /// year of a weekly schedule is looked at).
    pub fn occurrences(&self, from: Timestamp, to: Timestamp) -> Vec<Occurrence> {
        let overlaps = |o: &Occurrence| o.end > from && o.start < to && o.start < o.end;
        match self {
            Self::Fixed { from: s, until: e } => {
                let o = Occurrence { start: *s, end: *e };
                if overlaps(&o) { vec![o] } else { Vec::new() }
            }
            Self::Once {
                zone,
                from: s,
                until: e,
            } => {
                let o = Occurrence {
                    start: zone.start_instant(*s),
                    end: zone.end_instant(*e),
                };
                if overlaps(&o) { vec![o] } else { Vec::new() }
            }
            Self::Weekly {
                zone,
                from: s,
                until: e,
            } => {
                let mut out = Vec::new();
                let first = zone.local(from).date();
                let last = zone.local(to).date();
                // A weekly window lasts at most a week: start looking eight days back.
                let Ok(mut day) = first.checked_sub(jiff::Span::new().days(8)) else {
                    return out;
                };
                let span_days = (day.until(last).map(|s| s.get_days() as i64)).unwrap_or(0);
                let length = weekly_length_days(s, e);
                for _ in 0..=span_days.clamp(0, MAX_RANGE_DAYS) + 1 {
                    if day.weekday() == s.weekday {
                        let start_local = day.to_datetime(s.time);
                        if let Ok(end_day) = day.checked_add(jiff::Span::new().days(length)) {
                            let o = Occurrence {
                                start: zone.start_instant(start_local),
                                end: zone.end_instant(end_day.to_datetime(e.time)),
                            };
                            if overlaps(&o) {
                                out.push(o);
                            }
                        }
                    }
                    match day.tomorrow() {
                        Ok(next) => day = next,
                        Err(_) => break,
                    }
                }
                out
            }
        }
    }
}

/// How many days after the start's date a weekly window ends: until the next `until` after
/// `from` (a whole week when they are equal).
fn weekly_length_days(from: &WeeklyTime, until: &WeeklyTime) -> i64 {
    let days = (i64::from(until.weekday.to_monday_zero_offset())
        - i64::from(from.weekday.to_monday_zero_offset()))
    .rem_euclid(7);
    if days == 0 && until.time <= from.time {
        7
    } else {
        days
    }
}

/// An environment frozen at some instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frozen {
    /// The window that freezes it (the one that ends last when several do).
    pub name: String,
    /// Its reason.
    pub reason: Option<String>,
    /// Since when (the start of the window in force).
    pub since: Timestamp,
    /// When deployments flow again: the end of the freeze, following windows that start
    /// before the previous one ends.
    pub until: Timestamp,
}

impl Frozen {
    /// "frozen until <time> (weekend — peak traffic)".
    pub fn why(&self) -> String {
        match &self.reason {
            Some(r) => format!("{} — {r}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Whether the environment with the file's key `key` is frozen at `at`, until when and why:
/// a function of the windows and the clock only.
pub fn frozen_at(windows: &[FreezeWindow], key: &str, at: Timestamp) -> Option<Frozen> {
    let applicable: Vec<&FreezeWindow> = windows.iter().filter(|w| w.applies_to(key)).collect();
    let covering = |t: Timestamp| -> Vec<(&FreezeWindow, Occurrence)> {
        applicable
            .iter()
            .flat_map(|w| {
                w.schedule
                    .occurrences(t, t.plus_millis(1))
                    .into_iter()
                    .filter(move |o| o.covers(t))
                    .map(move |o| (*w, o))
            })
            .collect()
    };
    let now = covering(at);
    let (window, first) = now.iter().max_by_key(|(_, o)| o.end)?;
    let mut frozen = Frozen {
        name: window.name.clone(),
        reason: window.reason.clone(),
        since: now
            .iter()
            .map(|(_, o)| o.start)
            .min()
            .unwrap_or(first.start),
        until: first.end,
    };
    for _ in 0..MAX_CHAIN {
        let next = covering(frozen.until);
        let Some((w, o)) = next.iter().max_by_key(|(_, o)| o.end) else {
            break;
        };
        if o.end <= frozen.until {
            break;
        }
        frozen.until = o.end;
        frozen.name = w.name.clone();
        frozen.reason = w.reason.clone();
    }
    Some(frozen)
}

/// A window that starts within a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upcoming<'w> {
    pub window: &'w FreezeWindow,
    pub occurrence: Occurrence,
}

/// The windows of the environment `key` (every environment with `None`) that start in
/// `[from, to)`, in order of their start.
pub fn starting_between<'w>(
    windows: &'w [FreezeWindow],
    key: Option<&str>,
    from: Timestamp,
    to: Timestamp,
) -> Vec<Upcoming<'w>> {
    let mut out: Vec<Upcoming<'w>> = windows
        .iter()
        .filter(|w| key.is_none_or(|k| w.applies_to(k)))
        .flat_map(|w| {
            w.schedule
                .occurrences(from, to)
                .into_iter()
                .filter(|o| o.start >= from && o.start < to)
                .map(move |occurrence| Upcoming {
                    window: w,
                    occurrence,
                })
        })
        .collect();
    out.sort_by_key(|u| (u.occurrence.start, u.window.name.clone()));
    out
}

/// A freeze set from Slack (`freeze <environment> for 2h …`), kept on the lane record of
/// each environment it freezes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ManualFreeze {
    /// Who set it.
    pub by: crate::SlackUserId,
    /// When it was set (it freezes from then).
    pub from: Timestamp,
    /// When it ends.
    pub until: Timestamp,
    /// Why, when said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ManualFreeze {
    /// The freeze as a window of one lane.
    pub fn window(&self) -> FreezeWindow {
        FreezeWindow {
            name: format!("frozen by {}", self.by.mention()),
            environments: Vec::new(),
            schedule: Schedule::Fixed {
                from: self.from,
                until: self.until,
            },
            reason: self.reason.clone(),
            line: 0,
        }
    }

    /// Whether it still freezes at `now` or later.
    pub fn is_over(&self, now: Timestamp) -> bool {
        self.until <= now
    }
}

/// The end of a freeze set from Slack: `for 2h`, or `until 18:00` / `until 2026-12-08T09:00`,
/// each optionally followed by an IANA time zone (UTC when none is said).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FreezeEnd {
    /// For a duration from now.
    For(std::time::Duration),
    /// Until the next time the clock reads `time` in `zone`.
    UntilTime { time: Time, zone: Zone },
    /// Until a local date-time in `zone`.
    UntilDateTime { at: DateTime, zone: Zone },
}

/// The longest freeze that can be set from Slack (longer ones belong in the workflow file).
pub const MAX_MANUAL_FREEZE: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

impl FreezeEnd {
    /// `18:00`, `2026-12-08T09:00` (after `until`), with an optional zone word after it.
    pub fn parse_until(time: &str, zone: Option<&str>) -> Result<Self, String> {
        let zone = match zone {
            Some(z) => Zone::parse(z)?,
            None => Zone::parse("UTC")?,
        };
        if let Some(t) = parse_hh_mm(time) {
            return Ok(Self::UntilTime { time: t, zone });
        }
        match parse_local_date_time(time) {
            Ok(at) => Ok(Self::UntilDateTime { at, zone }),
            Err(_) => Err(format!(
                "`{}` is not a time; write `until 18:00` or `until 2026-12-08T09:00`, optionally followed by a time zone such as `Europe/London` (UTC otherwise)",
                crate::ids::clip(time)
            )),
        }
    }

    /// The instant the freeze ends, set at `now`.
    pub fn resolve(&self, now: Timestamp) -> Timestamp {
        match self {
            Self::For(d) => now.plus_millis(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            Self::UntilDateTime { at, zone } => zone.end_instant(*at),
            Self::UntilTime { time, zone } => {
                let today = zone.local(now).date();
                let mut end = zone.end_instant(today.to_datetime(*time));
                if end <= now
                    && let Ok(tomorrow) = today.tomorrow()
                {
                    end = zone.end_instant(tomorrow.to_datetime(*time));
                }
                end
            }
        }
    }
}

fn to_jiff(at: Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(at.millis()).unwrap_or(if at.millis() < 0 {
        jiff::Timestamp::MIN
    } else {
        jiff::Timestamp::MAX
    })
}

fn from_jiff(at: jiff::Timestamp) -> Timestamp {
    Timestamp::from_millis(at.as_millisecond())
}

#[cfg(test)]
mod tests;
