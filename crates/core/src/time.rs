//! Points in time as Unix milliseconds, so the core needs no date library and tests control
//! the clock.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Milliseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    pub const fn from_secs(secs: i64) -> Self {
        Self(secs.saturating_mul(1000))
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    pub const fn secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// This time plus `secs` seconds (saturating).
    pub const fn plus_secs(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs.saturating_mul(1000)))
    }

    /// This time plus `millis` milliseconds (saturating).
    pub const fn plus_millis(self, millis: i64) -> Self {
        Self(self.0.saturating_add(millis))
    }

    /// A short, human description of how long ago `self` was, seen from `now`:
    /// `just now`, `5 min ago`, `3 h ago`, `2 days ago`.
    pub fn ago(self, now: Timestamp) -> String {
        let secs = (now.0.saturating_sub(self.0)).max(0) / 1000;
        match secs {
            0..=59 => "just now".to_owned(),
            60..=3599 => format!("{} min ago", secs / 60),
            3600..=86_399 => format!("{} h ago", secs / 3600),
            86_400..=172_799 => "yesterday".to_owned(),
            _ => format!("{} days ago", secs / 86_400),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ago_is_human() {
        let now = Timestamp::from_secs(1_000_000);
        let cases = [
            (0, "just now"),
            (59, "just now"),
            (60, "1 min ago"),
            (3599, "59 min ago"),
            (3600, "1 h ago"),
            (86_400, "yesterday"),
            (3 * 86_400, "3 days ago"),
            (-30, "just now"),
        ];
        for (delta, want) in cases {
            assert_eq!(
                Timestamp::from_secs(1_000_000 - delta).ago(now),
                want,
                "{delta}"
            );
        }
    }
}
