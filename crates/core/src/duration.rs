//! Durations as people write them in configuration and slash commands: a whole number and a
//! unit, `30s`, `45m`, `2h`, `1d`.

use std::time::Duration;

/// Why a duration could not be read. The texts say what was written and how to write it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("no duration given; write it like 30s, 45m, 2h or 1d")]
    Empty,
    #[error("`{0}` has no unit; write it like 30s, 45m, 2h or 1d")]
    MissingUnit(String),
    #[error("`{0}` is not a duration; write it like 30s, 45m, 2h or 1d")]
    Malformed(String),
    #[error("`{0}` is too long a duration")]
    TooLong(String),
}

/// Reads `<number><unit>`: a whole number of seconds (`s`), minutes (`m`), hours (`h`) or days
/// (`d`). Blanks around the value and between number and unit are allowed; nothing else is.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    if digits.is_empty() {
        return Err(DurationError::Malformed(text.to_owned()));
    }
    let seconds_per_unit: u64 = match unit.trim_start() {
        "" => return Err(DurationError::MissingUnit(text.to_owned())),
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 24 * 3600,
        _ => return Err(DurationError::Malformed(text.to_owned())),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(seconds_per_unit))
        .map(Duration::from_secs)
        .ok_or_else(|| DurationError::TooLong(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_people_write() {
        for (text, secs) in [
            ("30s", 30),
            ("45m", 45 * 60),
            ("2h", 2 * 3600),
            ("1d", 24 * 3600),
            ("0s", 0),
            (" 90s ", 90),
            ("5 m", 300),
            ("007m", 420),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs(secs)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn what_is_not_a_duration_is_explained() {
        for (text, expected) in [
            ("", DurationError::Empty),
            ("   ", DurationError::Empty),
            ("90", DurationError::MissingUnit("90".into())),
            ("m", DurationError::Malformed("m".into())),
            ("-5m", DurationError::Malformed("-5m".into())),
            ("1.5h", DurationError::Malformed("1.5h".into())),
            ("2H", DurationError::Malformed("2H".into())),
            ("1h30m", DurationError::Malformed("1h30m".into())),
            ("10 minutes", DurationError::Malformed("10 minutes".into())),
            ("2w", DurationError::Malformed("2w".into())),
            (
                "99999999999999999999s",
                DurationError::TooLong("99999999999999999999s".into()),
            ),
            (
                "999999999999999999d",
                DurationError::TooLong("999999999999999999d".into()),
            ),
        ] {
            assert_eq!(parse_duration(text), Err(expected), "{text:?}");
        }
        assert_eq!(
            parse_duration("90").map_err(|e| e.to_string()),
            Err("`90` has no unit; write it like 30s, 45m, 2h or 1d".into())
        );
    }
}
