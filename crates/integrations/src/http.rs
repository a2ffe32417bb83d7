//! HTTP plumbing shared by the adapters: one client with timeouts, retries with backoff for
//! idempotent calls, and reading `Retry-After` / `x-ratelimit-reset`.

use std::time::Duration;

/// Timeouts and retry policy for one service.
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    /// Whole-request timeout.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Attempts for idempotent calls (first try included).
    pub attempts: u32,
    /// First backoff; doubled after each failed attempt.
    pub backoff: Duration,
    /// Longest `Retry-After` the adapter waits for before giving up with a typed error.
    pub max_retry_after: Duration,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            attempts: 3,
            backoff: Duration::from_millis(200),
            max_retry_after: Duration::from_secs(5),
        }
    }
}

impl HttpPolicy {
    /// The backoff before attempt `attempt` (1-based: the wait before the second try is
    /// `backoff`, then twice that, ...).
    pub fn backoff_for(&self, attempt: u32) -> Duration {
        self.backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
    }
}

/// Builds the shared client: rustls (aws-lc-rs), timeouts, a user agent.
pub fn client(policy: &HttpPolicy) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(concat!("deploybot/", env!("CARGO_PKG_VERSION")))
        .timeout(policy.timeout)
        .connect_timeout(policy.connect_timeout)
        .build()
}

/// Seconds to wait according to `Retry-After` (delta seconds), when present.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Seconds until `x-ratelimit-reset` (a Unix time in seconds), given the current Unix time.
pub fn ratelimit_reset(headers: &reqwest::header::HeaderMap, now_secs: i64) -> Option<u64> {
    let reset: i64 = headers
        .get("x-ratelimit-reset")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(u64::try_from(reset.saturating_sub(now_secs)).unwrap_or(0))
}

/// True for failures worth retrying on an idempotent call: timeouts, connection errors and
/// 5xx answers.
pub fn is_transient(error: &reqwest::Error) -> bool {
    error.is_timeout()
        || error.is_connect()
        || error.is_request()
        || error.status().is_some_and(|s| s.is_server_error())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn backoff_doubles() {
        let p = HttpPolicy::default();
        assert_eq!(p.backoff_for(1), Duration::from_millis(200));
        assert_eq!(p.backoff_for(2), Duration::from_millis(400));
        assert_eq!(p.backoff_for(3), Duration::from_millis(800));
    }

    #[test]
    fn rate_limit_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(7));
        h.insert("x-ratelimit-reset", HeaderValue::from_static("1000"));
        assert_eq!(ratelimit_reset(&h, 990), Some(10));
        assert_eq!(ratelimit_reset(&h, 2000), Some(0));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }
}
