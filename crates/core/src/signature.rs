//! Webhook signature checks for Slack, GitHub and CircleCI (docs/security.md, "Signatures").
//! Pure functions:
//! the clock is an argument, comparison is constant-time (`Mac::verify_slice`), and every
//! secret may hold two values while it is being rotated.

use crate::Timestamp;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

/// How far a Slack request timestamp may be from now, either way.
pub const SLACK_MAX_SKEW_SECS: i64 = 5 * 60;

/// A signing secret: the current value and, during rotation, the previous one.
#[derive(Clone)]
pub struct SigningSecret {
    values: Vec<Vec<u8>>,
}

impl SigningSecret {
    /// One value.
    pub fn new(value: impl AsRef<[u8]>) -> Self {
        Self {
            values: vec![value.as_ref().to_vec()],
        }
    }

    /// Parses a configured value: two secrets separated by a comma are both accepted (the
    /// new one first), so a secret can be rotated without downtime. Empty parts are ignored.
    pub fn from_config(value: &str) -> Option<Self> {
        let values: Vec<Vec<u8>> = value
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .take(2)
            .map(|v| v.as_bytes().to_vec())
            .collect();
        (!values.is_empty()).then_some(Self { values })
    }

    fn verify(&self, message: &[&[u8]], expected: &[u8]) -> bool {
        // Check every value, without stopping early, so timing does not tell which matched.
        let mut ok = false;
        for key in &self.values {
            let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
                continue;
            };
            for part in message {
                mac.update(part);
            }
            ok |= mac.verify_slice(expected).is_ok();
        }
        ok
    }

    /// `hex(hmac_sha256(first value, message))` — used by tests and fakes to sign requests.
    pub fn sign_hex(&self, message: &[u8]) -> String {
        let key = self.values.first().map(Vec::as_slice).unwrap_or_default();
        match HmacSha256::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(message);
                hex::encode(mac.finalize().into_bytes())
            }
            Err(_) => String::new(),
        }
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningSecret([redacted; {}])", self.values.len())
    }
}

/// Why a request's signature was refused. All of them answer 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is missing")]
    Missing,
    #[error("the signature header is malformed")]
    Malformed,
    #[error("the request timestamp is missing or malformed")]
    BadTimestamp,
    #[error("the request timestamp is more than five minutes away from now")]
    StaleTimestamp,
    #[error("the signature does not match")]
    Mismatch,
}

fn decode_hex(text: &str) -> Result<Vec<u8>, SignatureError> {
    if text.len() != 64 {
        return Err(SignatureError::Malformed);
    }
    hex::decode(text).map_err(|_| SignatureError::Malformed)
}

/// Slack: `X-Slack-Signature: v0=<hex>` over `v0:<X-Slack-Request-Timestamp>:<body>`, with
/// the timestamp within five minutes of `now` either way.
pub fn verify_slack(
    secret: &SigningSecret,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: Timestamp,
) -> Result<(), SignatureError> {
    let signature = signature.ok_or(SignatureError::Missing)?;
    let timestamp = timestamp.ok_or(SignatureError::BadTimestamp)?.trim();
    if timestamp.is_empty()
        || timestamp.len() > 12
        || !timestamp.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(SignatureError::BadTimestamp);
    }
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    if (now.secs() - ts).abs() > SLACK_MAX_SKEW_SECS {
        return Err(SignatureError::StaleTimestamp);
    }
    let hex_sig = signature
        .trim()
        .strip_prefix("v0=")
        .ok_or(SignatureError::Malformed)?;
    let expected = decode_hex(hex_sig)?;
    let message: [&[u8]; 4] = [b"v0:", timestamp.as_bytes(), b":", body];
    if secret.verify(&message, &expected) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The `X-Slack-Signature` value for a body (for tests, fakes and the local poke command).
pub fn sign_slack(secret: &SigningSecret, timestamp: i64, body: &[u8]) -> String {
    let mut message = format!("v0:{timestamp}:").into_bytes();
    message.extend_from_slice(body);
    format!("v0={}", secret.sign_hex(&message))
}

/// GitHub: `X-Hub-Signature-256: sha256=<hex>` over the raw body.
pub fn verify_github(
    secret: &SigningSecret,
    signature: Option<&str>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let signature = signature.ok_or(SignatureError::Missing)?;
    let hex_sig = signature
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    let expected = decode_hex(hex_sig)?;
    if secret.verify(&[body], &expected) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The `X-Hub-Signature-256` value for a body.
pub fn sign_github(secret: &SigningSecret, body: &[u8]) -> String {
    format!("sha256={}", secret.sign_hex(body))
}

/// CircleCI: `circleci-signature: v1=<hex>[,v2=...]` over the raw body. The header may list
/// several versions; only the newest version this code knows (`v1`) counts, versions it does
/// not know are skipped, and a header with no known version is treated as missing.
pub fn verify_circleci(
    secret: &SigningSecret,
    signature: Option<&str>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let signature = signature.ok_or(SignatureError::Missing)?;
    let mut newest_known: Option<&str> = None;
    for part in signature.split(',') {
        let Some((version, value)) = part.trim().split_once('=') else {
            return Err(SignatureError::Malformed);
        };
        let Some(n) = version
            .strip_prefix('v')
            .and_then(|n| n.parse::<u32>().ok())
        else {
            return Err(SignatureError::Malformed);
        };
        if n == 1 {
            newest_known = Some(value);
        }
    }
    let hex_sig = newest_known.ok_or(SignatureError::Missing)?;
    let expected = decode_hex(hex_sig)?;
    if secret.verify(&[body], &expected) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The `circleci-signature` value for a body.
pub fn sign_circleci(secret: &SigningSecret, body: &[u8]) -> String {
    format!("v1={}", secret.sign_hex(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Slack's published example (api.slack.com "Verifying requests from Slack").
    const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const SLACK_TS: &str = "1531420618";
    const SLACK_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SLACK_SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    // GitHub's published example ("Validating webhook deliveries").
    const GH_SECRET: &str = "It's a Secret to Everybody";
    const GH_BODY: &str = "Hello, World!";
    const GH_SIG: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn slack_now() -> Timestamp {
        Timestamp::from_secs(1_531_420_618 + 10)
    }

    #[test]
    fn slack_published_example() {
        let secret = SigningSecret::new(SLACK_SECRET);
        let verify = |ts: Option<&str>, sig: Option<&str>, body: &str, now: Timestamp| {
            verify_slack(&secret, ts, sig, body.as_bytes(), now)
        };
        assert_eq!(
            verify(Some(SLACK_TS), Some(SLACK_SIG), SLACK_BODY, slack_now()),
            Ok(())
        );
        assert_eq!(
            sign_slack(&secret, 1_531_420_618, SLACK_BODY.as_bytes()),
            SLACK_SIG
        );

        let tampered = SLACK_BODY.replace("roadrunner", "coyote");
        type Case<'a> = (
            Option<&'a str>,
            Option<&'a str>,
            &'a str,
            Timestamp,
            SignatureError,
        );
        let cases: Vec<Case> = vec![
            (
                Some(SLACK_TS),
                Some(SLACK_SIG),
                &tampered,
                slack_now(),
                SignatureError::Mismatch,
            ),
            (
                Some(SLACK_TS),
                None,
                SLACK_BODY,
                slack_now(),
                SignatureError::Missing,
            ),
            (
                None,
                Some(SLACK_SIG),
                SLACK_BODY,
                slack_now(),
                SignatureError::BadTimestamp,
            ),
            (
                Some("abc"),
                Some(SLACK_SIG),
                SLACK_BODY,
                slack_now(),
                SignatureError::BadTimestamp,
            ),
            (
                Some("-5"),
                Some(SLACK_SIG),
                SLACK_BODY,
                slack_now(),
                SignatureError::BadTimestamp,
            ),
            (
                Some(SLACK_TS),
                Some("a2114d57"),
                SLACK_BODY,
                slack_now(),
                SignatureError::Malformed,
            ),
            (
                Some(SLACK_TS),
                Some("v0=zz"),
                SLACK_BODY,
                slack_now(),
                SignatureError::Malformed,
            ),
            (
                Some(SLACK_TS),
                Some("v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"),
                SLACK_BODY,
                slack_now(),
                SignatureError::Malformed,
            ),
            // stale: six minutes later; future: six minutes earlier
            (
                Some(SLACK_TS),
                Some(SLACK_SIG),
                SLACK_BODY,
                Timestamp::from_secs(1_531_420_618 + 301),
                SignatureError::StaleTimestamp,
            ),
            (
                Some(SLACK_TS),
                Some(SLACK_SIG),
                SLACK_BODY,
                Timestamp::from_secs(1_531_420_618 - 301),
                SignatureError::StaleTimestamp,
            ),
        ];
        for (ts, sig, body, now, want) in cases {
            assert_eq!(
                verify(ts, sig, body, now),
                Err(want.clone()),
                "{ts:?} {sig:?} {want}"
            );
        }
        // Exactly at the five-minute edge is still accepted, either way.
        assert_eq!(
            verify(
                Some(SLACK_TS),
                Some(SLACK_SIG),
                SLACK_BODY,
                Timestamp::from_secs(1_531_420_618 + 300)
            ),
            Ok(())
        );
        assert_eq!(
            verify(
                Some(SLACK_TS),
                Some(SLACK_SIG),
                SLACK_BODY,
                Timestamp::from_secs(1_531_420_618 - 300)
            ),
            Ok(())
        );
        // Wrong secret.
        let wrong = SigningSecret::new("not-the-secret");
        assert_eq!(
            verify_slack(
                &wrong,
                Some(SLACK_TS),
                Some(SLACK_SIG),
                SLACK_BODY.as_bytes(),
                slack_now()
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn github_published_example() {
        let secret = SigningSecret::new(GH_SECRET);
        assert_eq!(
            verify_github(&secret, Some(GH_SIG), GH_BODY.as_bytes()),
            Ok(())
        );
        assert_eq!(sign_github(&secret, GH_BODY.as_bytes()), GH_SIG);
        assert_eq!(
            verify_github(&secret, Some(GH_SIG), b"Hello, World?"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_github(&secret, None, GH_BODY.as_bytes()),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_github(
                &secret,
                Some(&GH_SIG.replace("sha256=", "sha1=")),
                GH_BODY.as_bytes()
            ),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_github(&secret, Some("sha256=1234"), GH_BODY.as_bytes()),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_github(
                &SigningSecret::new("other"),
                Some(GH_SIG),
                GH_BODY.as_bytes()
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn circleci_versions() {
        let secret = SigningSecret::new("circle-secret");
        let body = br#"{"type":"workflow-completed","id":"3888f21b-eaa7-38e3-8f3d-75a63bba8895"}"#;
        let good = sign_circleci(&secret, body);
        let hex_good = good.trim_start_matches("v1=");
        assert_eq!(verify_circleci(&secret, Some(&good), body), Ok(()));
        // Unknown future versions are skipped; v1 still counts.
        let with_v2 = format!("v2=abcdef,{good}");
        assert_eq!(verify_circleci(&secret, Some(&with_v2), body), Ok(()));
        // Only v2 present: nothing we can check.
        assert_eq!(
            verify_circleci(&secret, Some("v2=abcdef"), body),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_circleci(&secret, None, body),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_circleci(&secret, Some("garbage"), body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_circleci(&secret, Some(hex_good), body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_circleci(&secret, Some(&good), b"{}"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_circleci(&SigningSecret::new("nope"), Some(&good), body),
            Err(SignatureError::Mismatch)
        );
        // The last v1 entry is the newest one counted.
        let bad_then_good = format!("v1={},{good}", "0".repeat(64));
        assert_eq!(verify_circleci(&secret, Some(&bad_then_good), body), Ok(()));
        let good_then_bad = format!("{good},v1={}", "0".repeat(64));
        assert_eq!(
            verify_circleci(&secret, Some(&good_then_bad), body),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rotation_accepts_old_and_new() {
        let rotating = SigningSecret::from_config("new-secret, It's a Secret to Everybody")
            .expect("two values");
        assert_eq!(
            verify_github(&rotating, Some(GH_SIG), GH_BODY.as_bytes()),
            Ok(())
        );
        let new_sig = sign_github(&SigningSecret::new("new-secret"), GH_BODY.as_bytes());
        assert_eq!(
            verify_github(&rotating, Some(&new_sig), GH_BODY.as_bytes()),
            Ok(())
        );
        assert_eq!(
            sign_github(&rotating, GH_BODY.as_bytes()),
            new_sig,
            "signs with the first value"
        );
        assert!(SigningSecret::from_config(" , ").is_none());
        assert!(
            !format!("{rotating:?}").contains("secret"),
            "Debug never shows values"
        );
    }

    proptest! {
        #[test]
        fn verifiers_never_panic(sig in "\\PC{0,200}", ts in "\\PC{0,20}", body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let s = SigningSecret::new("k");
            let now = Timestamp::from_secs(1_700_000_000);
            prop_assert!(verify_slack(&s, Some(&ts), Some(&sig), &body, now).is_err() || sig.starts_with("v0="));
            let _ = verify_github(&s, Some(&sig), &body);
            let _ = verify_circleci(&s, Some(&sig), &body);
        }

        #[test]
        fn signed_bodies_verify(body in proptest::collection::vec(any::<u8>(), 0..500)) {
            let s = SigningSecret::new("k");
            prop_assert_eq!(verify_github(&s, Some(&sign_github(&s, &body)), &body), Ok(()));
            prop_assert_eq!(verify_circleci(&s, Some(&sign_circleci(&s, &body)), &body), Ok(()));
            let now = Timestamp::from_secs(1_700_000_000);
            prop_assert_eq!(verify_slack(&s, Some("1700000000"), Some(&sign_slack(&s, 1_700_000_000, &body)), &body, now), Ok(()));
        }
    }
}
