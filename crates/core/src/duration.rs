//! Durations as people type them (`30s`, `45m`, `2h`, `1d`, `1h30m`) and as the bot writes
//! them back (`1h 30m`). Used by `lock … for <duration>` and by the watchdog's settings
//! (`DEPLOYBOT_START_TIMEOUT=2m`). Values are [`std::time::Duration`]s of whole seconds.

use std::time::Duration;

/// Longest text [`parse_duration`] looks at.
const MAX_TEXT: usize = 24;

/// Longest duration [`parse_duration`] accepts: a year, far beyond any lock or timeout, and
/// far from any overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 86_400);

/// Why a text is not a duration. The message is written for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Nothing was written.
    #[error("a duration is missing: write it like `30m`, `2h` or `1d`")]
    Empty,
    /// A number without a unit.
    #[error("`{text}` has no unit: write it like `30s`, `45m`, `2h` or `1d`")]
    MissingUnit {
        /// The text, clipped.
        text: String,
    },
    /// The text does not follow the syntax.
    #[error(
        "`{text}` is not a duration: write it like `30m`, `2h` or `1d` (s, m, h and d can be combined: `1h30m`)"
    )]
    Syntax {
        /// The text, clipped.
        text: String,
    },
    /// The text adds up to nothing.
    #[error("`{text}` is no time at all: write a duration like `30m`, `2h` or `1d`")]
    Zero {
        /// The text, clipped.
        text: String,
    },
    /// The text is longer than [`MAX_DURATION`].
    #[error("`{text}` is too long a duration: at most 365 days")]
    TooLong {
        /// The text, clipped.
        text: String,
    },
}

/// Parses `30s`, `30m`, `2h`, `1d`, or several of them run together from the largest unit
/// down (`1h30m`, `1d12h`). Case-insensitive; surrounding whitespace is ignored. Total over
/// any input: every text gives a duration or a [`DurationError`].
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    let syntax = || DurationError::Syntax {
        text: crate::ids::clip(text),
    };
    if text.len() > MAX_TEXT {
        return Err(syntax());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DurationError::MissingUnit {
            text: crate::ids::clip(text),
        });
    }
    let lower = text.to_ascii_lowercase();
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    // Units must come largest first, each at most once.
    let mut last_unit_secs = u64::MAX;
    for c in lower.chars() {
        if let Some(d) = c.to_digit(10) {
            let n = number
                .unwrap_or(0)
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d)))
                .ok_or_else(|| DurationError::TooLong {
                    text: crate::ids::clip(text),
                })?;
            number = Some(n);
            continue;
        }
        let unit_secs = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(syntax()),
        };
        let Some(n) = number.take() else {
            return Err(syntax());
        };
        if unit_secs >= last_unit_secs {
            return Err(syntax());
        }
        last_unit_secs = unit_secs;
        total = n
            .checked_mul(unit_secs)
            .and_then(|secs| total.checked_add(secs))
            .ok_or_else(|| DurationError::TooLong {
                text: crate::ids::clip(text),
            })?;
    }
    if number.is_some() {
        // A bare number or a trailing number without its unit.
        return Err(syntax());
    }
    let duration = Duration::from_secs(total);
    if duration.is_zero() {
        return Err(DurationError::Zero {
            text: crate::ids::clip(text),
        });
    }
    if duration > MAX_DURATION {
        return Err(DurationError::TooLong {
            text: crate::ids::clip(text),
        });
    }
    Ok(duration)
}

/// Writes a duration for people, largest units first, zero parts left out: `2h`,
/// `1h 30m`, `1d 2h`, `45s`; sub-second parts are dropped and nothing at all is `0s`.
pub fn format_duration(duration: Duration) -> String {
    let mut secs = duration.as_secs();
    if secs == 0 {
        return "0s".to_owned();
    }
    let mut parts = Vec::new();
    for (unit, name) in [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")] {
        if secs >= unit {
            parts.push(format!("{}{name}", secs / unit));
            secs %= unit;
        }
    }
    parts.join(" ")
}

/// A duration in milliseconds for [`crate::Timestamp`] arithmetic (saturating).
pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const fn m(n: u64) -> Duration {
        Duration::from_secs(n * 60)
    }

    #[test]
    fn parses_what_people_type() {
        let cases = [
            ("30s", Duration::from_secs(30)),
            ("30m", m(30)),
            ("2h", m(120)),
            ("1d", m(1440)),
            ("1h30m", m(90)),
            ("1H30M", m(90)),
            (" 45m ", m(45)),
            ("1d12h", m(36 * 60)),
            ("2h0m", m(120)),
            ("90m", m(90)),
            ("365d", MAX_DURATION),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn refuses_with_a_sentence() {
        let cases: [(&str, &str); 13] = [
            ("", "missing"),
            ("   ", "missing"),
            ("30", "has no unit"),
            ("m", "not a duration"),
            ("2 h", "not a duration"),
            ("1.5h", "not a duration"),
            ("2w", "not a duration"),
            ("-1h", "not a duration"),
            ("30m1h", "not a duration"),
            ("1h1h", "not a duration"),
            ("0m", "no time at all"),
            ("366d", "too long"),
            ("99999999999999999999d", "too long"),
        ];
        for (text, needle) in cases {
            let msg = parse_duration(text).expect_err(text).to_string();
            assert!(msg.contains(needle), "{text:?}: {msg}");
        }
        let msg = parse_duration("soon").expect_err("refused").to_string();
        assert!(msg.contains("`2h`"), "the answer shows how: {msg}");
    }

    #[test]
    fn formats_for_people() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_millis(999), "0s"),
            (Duration::from_secs(45), "45s"),
            (m(30), "30m"),
            (m(60), "1h"),
            (m(90), "1h 30m"),
            (m(120), "2h"),
            (m(1440), "1d"),
            (m(1440 + 120 + 5), "1d 2h 5m"),
            (Duration::from_secs(3601), "1h 1s"),
        ];
        for (duration, want) in cases {
            assert_eq!(format_duration(duration), want, "{duration:?}");
        }
    }

    proptest! {
        #[test]
        fn parse_is_total(text in "\\PC{0,40}") {
            let _ = parse_duration(&text);
        }

        #[test]
        fn format_round_trips(secs in 1u64..=365 * 86_400) {
            let d = Duration::from_secs(secs);
            let written: String = format_duration(d).split_whitespace().collect();
            prop_assert_eq!(parse_duration(&written), Ok(d));
        }
    }
}
