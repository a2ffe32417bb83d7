//! The board's pure pieces: the signed session cookie (who is signed in, with their GitHub
//! token, until when), the sign-in's anti-forgery `state`, and the small decisions the pages
//! show (a lane's "waiting to be promoted" range and its compare link). The web function
//! (`deploybot_app::http::web`) does the I/O; docs/adr/0020-web-board.md has the reasons.

use crate::{GithubLogin, Repository, Sha, Timestamp};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "deploybot_session";
/// The cookie that carries a sign-in's `state` from `/signin` to its callback.
pub const SIGNIN_COOKIE: &str = "deploybot_signin";
/// How long a session lasts (GitHub's user tokens of Apps expire after eight hours too).
pub const SESSION_SECS: i64 = 8 * 3600;
/// How long a sign-in may take between `/signin` and the callback.
pub const SIGNIN_SECS: i64 = 10 * 60;
/// How long a person's list of readable repositories is trusted before GitHub is asked again.
pub const ACCESS_CACHE_SECS: i64 = 5 * 60;

/// Who is signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub login: GithubLogin,
    /// The person's user-to-server token (what their repositories are checked with).
    pub token: String,
    pub expires_at: Timestamp,
}

/// A sign-in on its way through GitHub: the `state` sent and checked, and where to go after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignIn {
    pub state: String,
    /// A path on the board (always starts with `/`, never `//`).
    pub return_to: String,
    pub expires_at: Timestamp,
}

/// The key the board signs its cookies with, derived from the App's client secret (one
/// secret fewer to keep; rotating the client secret signs everyone out).
#[derive(Clone)]
pub struct CookieKey([u8; 32]);

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieKey([redacted])")
    }
}

type HmacSha256 = Hmac<Sha256>;

impl CookieKey {
    /// The key for `client_secret`.
    pub fn derive(client_secret: &str) -> Self {
        let mut mac = HmacSha256::new_from_slice(client_secret.as_bytes())
            .unwrap_or_else(|_| unreachable_hmac());
        mac.update(b"deploybot board cookies v1");
        let mut key = [0u8; 32];
        key.copy_from_slice(&mac.finalize().into_bytes());
        Self(key)
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.0).unwrap_or_else(|_| unreachable_hmac())
    }

    /// `value` as cookie text: its JSON in hex, a dot, and the HMAC-SHA256 of that hex.
    pub fn seal<T: Serialize>(&self, value: &T) -> String {
        let json = serde_json::to_vec(value).unwrap_or_default();
        let body = hex::encode(json);
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        format!("{body}.{}", hex::encode(mac.finalize().into_bytes()))
    }

    /// The value sealed in `text`, when the signature is this key's (checked in constant
    /// time) and the JSON reads; `None` for anything else.
    pub fn open<T: for<'de> Deserialize<'de>>(&self, text: &str) -> Option<T> {
        let (body, signature) = text.split_once('.')?;
        let signature = hex::decode(signature).ok()?;
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        mac.verify_slice(&signature).ok()?;
        serde_json::from_slice(&hex::decode(body).ok()?).ok()
    }

    /// The session in `text`, when it is genuine and not expired at `now`.
    pub fn open_session(&self, text: &str, now: Timestamp) -> Option<Session> {
        self.open::<Session>(text)
            .filter(|session| session.expires_at > now)
    }

    /// The sign-in in `text`, when it is genuine and not expired at `now`.
    pub fn open_signin(&self, text: &str, now: Timestamp) -> Option<SignIn> {
        self.open::<SignIn>(text).filter(|s| s.expires_at > now)
    }
}

/// HMAC-SHA256 takes keys of any length: this is never reached.
fn unreachable_hmac() -> HmacSha256 {
    // A fixed-size key is always accepted; keeps the function total without `expect`.
    match HmacSha256::new_from_slice(&[0u8; 32]) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts a 32-byte key"),
    }
}

/// Where the board may send a person after signing in: a path of the board itself, else `/`
/// (so the `return_to` of a sign-in can never point to another site).
pub fn safe_return_path(path: &str) -> String {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control);
    if ok { path.to_owned() } else { "/".to_owned() }
}

/// GitHub's page comparing what one environment runs with what the next one runs — the
/// commits "waiting to be promoted" — or `None` when both run the same commit.
pub fn compare_url(
    web_url: &str,
    repository: &Repository,
    behind: &Sha,
    ahead: &Sha,
) -> Option<String> {
    if behind == ahead {
        return None;
    }
    Some(format!(
        "{}/{}/compare/{}...{}",
        web_url.trim_end_matches('/'),
        repository,
        behind.as_str(),
        ahead.as_str()
    ))
}

/// `at` as `2026-12-07 05:30 UTC` (the board shows times in UTC, and how long ago).
pub fn utc_text(at: Timestamp) -> String {
    match jiff::Timestamp::from_millisecond(at.millis()) {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => "—".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_utc() {
        assert_eq!(utc_text(Timestamp::from_secs(0)), "1970-01-01 00:00 UTC");
        assert_eq!(
            utc_text(Timestamp::from_secs(1_796_621_400)),
            "2026-12-07 05:30 UTC"
        );
    }

    fn session(expires: i64) -> Session {
        Session {
            login: GithubLogin::parse("octocat").expect("login"),
            token: "ghu_token".into(),
            expires_at: Timestamp::from_millis(expires),
        }
    }

    #[test]
    fn a_sealed_session_opens_until_it_expires() {
        let key = CookieKey::derive("client-secret");
        let text = key.seal(&session(10_000));
        let cases = [
            (9_999, true, "before expiry"),
            (10_000, false, "at expiry"),
            (20_000, false, "after expiry"),
        ];
        for (now, opens, why) in cases {
            assert_eq!(
                key.open_session(&text, Timestamp::from_millis(now))
                    .is_some(),
                opens,
                "{why}"
            );
        }
        assert_eq!(
            key.open_session(&text, Timestamp::from_millis(1)),
            Some(session(10_000))
        );
    }

    #[test]
    fn forged_or_damaged_cookies_do_not_open() {
        let key = CookieKey::derive("client-secret");
        let good = key.seal(&session(10_000));
        let (body, signature) = good.split_once('.').expect("dot");
        let other_key = CookieKey::derive("another-secret").seal(&session(10_000));
        // The same body with a later expiry, signed by nobody.
        let mut later = session(10_000);
        later.expires_at = Timestamp::from_millis(99_999_999);
        let unsigned = hex::encode(serde_json::to_vec(&later).expect("json"));
        let cases = [
            ("", "empty"),
            ("garbage", "no dot"),
            (body, "no signature"),
            (&format!("{body}."), "empty signature"),
            (&format!("{body}.zz"), "signature not hex"),
            (&format!("{unsigned}.{signature}"), "body changed"),
            (other_key.as_str(), "another key"),
            (&format!("{body}.{}", &signature[2..]), "signature cut"),
            (&format!("6162.{signature}"), "other body"),
        ];
        for (text, why) in cases {
            assert_eq!(
                key.open_session(text, Timestamp::from_millis(1)),
                None,
                "{why}"
            );
        }
    }

    #[test]
    fn return_paths_stay_on_the_board() {
        let cases = [
            ("/repos/acme/web", "/repos/acme/web"),
            ("/", "/"),
            ("//evil.example/x", "/"),
            ("https://evil.example", "/"),
            ("/\\evil.example", "/"),
            ("", "/"),
            ("/a\nb", "/"),
        ];
        for (input, want) in cases {
            assert_eq!(safe_return_path(input), want, "{input:?}");
        }
    }

    #[test]
    fn compare_links_only_when_commits_differ() {
        let repo = Repository::parse("acme/web").expect("repo");
        let a = Sha::parse("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").expect("sha");
        let b = Sha::parse("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb").expect("sha");
        assert_eq!(compare_url("https://github.com/", &repo, &a, &a), None);
        assert_eq!(
            compare_url("https://github.com/", &repo, &a, &b).as_deref(),
            Some(
                "https://github.com/acme/web/compare/\
                 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
            )
        );
    }
}
