//! GitHub App authentication: the App's JWT (RS256, `iss` = app id, at most 10 minutes) and
//! installation tokens, cached per installation until 5 minutes before they expire.

use deploybot_core::Timestamp;
use deploybot_core::ports::GitHubError;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};

/// How far back `iat` is set, so a GitHub clock slightly behind ours still accepts the JWT
/// (GitHub's own recommendation).
const IAT_BACKDATE_SECS: i64 = 60;
/// JWT lifetime from now. GitHub refuses more than 10 minutes; 9 leaves room for clock drift.
pub const JWT_LIFETIME_SECS: i64 = 9 * 60;
/// An installation token is renewed this long before GitHub says it expires.
pub const TOKEN_REFRESH_MARGIN_SECS: i64 = 5 * 60;

/// The App's identity and signing key.
pub(crate) struct AppKey {
    app_id: String,
    key: EncodingKey,
}

impl std::fmt::Debug for AppKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppKey")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Serialize)]
struct Claims<'a> {
    iat: i64,
    exp: i64,
    iss: &'a str,
}

impl AppKey {
    /// Reads an RSA private key in PEM form (PKCS#1 `BEGIN RSA PRIVATE KEY`, as GitHub hands
    /// them out, or PKCS#8).
    pub(crate) fn new(app_id: &str, private_key_pem: &SecretString) -> Result<Self, GitHubError> {
        if app_id.trim().is_empty() {
            return Err(GitHubError::Config("the GitHub App id is empty".to_owned()));
        }
        let key = EncodingKey::from_rsa_pem(private_key_pem.expose_secret().as_bytes()).map_err(
            |_| {
                GitHubError::Config(
                    "the GitHub App private key is not an RSA private key in PEM form".to_owned(),
                )
            },
        )?;
        Ok(Self {
            app_id: app_id.trim().to_owned(),
            key,
        })
    }

    /// A JWT for App-level calls, valid from a minute ago for [`JWT_LIFETIME_SECS`].
    pub(crate) fn jwt(&self, now: Timestamp) -> Result<SecretString, GitHubError> {
        let now = now.secs();
        let claims = Claims {
            iat: now - IAT_BACKDATE_SECS,
            exp: now + JWT_LIFETIME_SECS,
            iss: &self.app_id,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map(SecretString::from)
            .map_err(|e| GitHubError::Config(format!("signing the GitHub App JWT: {e}")))
    }
}

/// An installation token and when GitHub says it expires.
pub(crate) struct CachedToken {
    pub(crate) token: SecretString,
    pub(crate) expires_at: Timestamp,
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl CachedToken {
    /// Still usable at `now` with the refresh margin to spare.
    pub(crate) fn is_fresh(&self, now: Timestamp) -> bool {
        now < self.expires_at.plus_secs(-TOKEN_REFRESH_MARGIN_SECS)
    }
}

/// Parses the RFC 3339 times GitHub writes (`2016-07-11T22:14:10Z`, also with fractional
/// seconds or a `+hh:mm` offset).
pub(crate) fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    let number = |s: &str| -> Option<i64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (date, rest) = text.split_once(['T', 't', ' '])?;
    let mut date_parts = date.splitn(3, '-');
    let year = number(date_parts.next()?)?;
    let month = number(date_parts.next()?)?;
    let day = number(date_parts.next()?)?;
    let (clock, offset_secs) = if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else {
        let at = rest.rfind(['+', '-'])?;
        let (clock, offset) = rest.split_at(at);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (hours, minutes) = offset.get(1..)?.split_once(':')?;
        (
            clock,
            sign * (number(hours)? * 3600 + number(minutes)? * 60),
        )
    };
    let clock = clock.split_once('.').map_or(clock, |(whole, _)| whole);
    let mut clock_parts = clock.splitn(3, ':');
    let hour = number(clock_parts.next()?)?;
    let minute = number(clock_parts.next()?)?;
    let second = number(clock_parts.next()?)?;
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(Timestamp::from_secs(
        days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs,
    ))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_github_times() {
        let cases = [
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2016-07-11T22:14:10Z", Some(1_468_275_250)),
            ("2016-07-11T22:14:10.123Z", Some(1_468_275_250)),
            ("2016-07-12T00:14:10+02:00", Some(1_468_275_250)),
            ("2016-07-11T20:14:10-02:00", Some(1_468_275_250)),
            ("2000-02-29T00:00:00Z", Some(951_782_400)),
            ("2024-12-31T23:59:59Z", Some(1_735_689_599)),
            ("2016-13-11T22:14:10Z", None),
            ("2016-07-11", None),
            ("yesterday", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_rfc3339(text),
                want.map(Timestamp::from_secs),
                "{text}"
            );
        }
    }

    #[test]
    fn tokens_are_renewed_five_minutes_early() {
        let token = CachedToken {
            token: SecretString::from("t"),
            expires_at: Timestamp::from_secs(10_000),
        };
        assert!(token.is_fresh(Timestamp::from_secs(9_699)));
        assert!(!token.is_fresh(Timestamp::from_secs(9_700)));
        assert!(!token.is_fresh(Timestamp::from_secs(10_001)));
    }

    #[test]
    fn refuses_a_key_that_is_not_pem() {
        let err = AppKey::new("1", &SecretString::from("not a key")).expect_err("not PEM");
        assert!(matches!(err, GitHubError::Config(_)), "{err:?}");
        let err = AppKey::new(" ", &SecretString::from("x")).expect_err("no app id");
        assert!(matches!(err, GitHubError::Config(_)), "{err:?}");
    }
}
