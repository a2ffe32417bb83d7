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

/// Builds an adapter's client: rustls (aws-lc-rs) with the process's one TLS configuration
/// ([`tls`]), timeouts, a user agent.
pub fn client(policy: &HttpPolicy) -> Result<reqwest::Client, reqwest::Error> {
    let builder = reqwest::Client::builder()
        .user_agent(concat!("deploybot/", env!("CARGO_PKG_VERSION")))
        .timeout(policy.timeout)
        .connect_timeout(policy.connect_timeout);
    match tls() {
        Some(config) => builder.tls_backend_preconfigured(config),
        None => builder,
    }
    .build()
}

/// The TLS configuration every adapter's client uses, built once per process: aws-lc-rs, TLS
/// 1.2 and 1.3, HTTP/1.1 by ALPN, and the system's root certificates ([`root_store`]) read and
/// parsed once instead of once per client — a few milliseconds of every cold start per client
/// (docs/performance.md, "Functions: size, start-up, memory"). `None` when it cannot be built;
/// each client then builds its own as reqwest does by default, and reports the error if there
/// is one.
fn tls() -> Option<rustls::ClientConfig> {
    static TLS: std::sync::OnceLock<Option<rustls::ClientConfig>> = std::sync::OnceLock::new();
    TLS.get_or_init(|| {
        let provider = rustls::crypto::CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
        let roots = root_store();
        if roots.is_empty() {
            return None;
        }
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .ok()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Some(config)
    })
    .clone()
}

/// The system's root certificates: its one CA bundle file when it has one (Debian's
/// `ca-certificates.crt`, Amazon Linux's `ca-bundle.crt`: the files the system's
/// certificate tools generate from the same sources as the certificate directory), else what
/// the platform's usual search finds — the bundle and every file of the certificate
/// directories, which on a system with one file per certificate is three times the reading and
/// parsing for the same roots. `SSL_CERT_FILE` or `SSL_CERT_DIR`, when set, decide alone.
fn root_store() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    if !openssl_probe::has_ssl_cert_env_vars()
        && let Some(bundle) = openssl_probe::probe().cert_file
    {
        add_bundle(&mut roots, &bundle);
    }
    if roots.is_empty() {
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    }
    roots
}

/// Adds the certificates of the PEM file at `path` that parse; how many were added.
fn add_bundle(roots: &mut rustls::RootCertStore, path: &std::path::Path) -> usize {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    match CertificateDer::pem_file_iter(path) {
        Ok(certificates) => {
            roots
                .add_parsable_certificates(certificates.filter_map(Result::ok))
                .0
        }
        Err(_) => 0,
    }
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

/// Whether a call may be sent again after a failure whose effect is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Sending it twice has the effect of sending it once (reads, edits to a given state):
    /// retried after timeouts, connection errors, 5xx answers and 429.
    Idempotent,
    /// Sending it twice may do it twice (posting a message, starting a pipeline): retried only
    /// when it surely had no effect — the connection was never established, or a 429 said
    /// "not now".
    NotIdempotent,
}

/// Waits between attempts; injectable so tests can record the waits instead of sleeping.
#[async_trait::async_trait]
pub trait Sleeper: Send + Sync + std::fmt::Debug {
    async fn sleep(&self, duration: Duration);
}

/// The real wait.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

#[async_trait::async_trait]
impl Sleeper for TokioSleeper {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// A sleeper that returns at once and remembers each wait (for tests: assert that a retry
/// waited `Retry-After` without spending the time).
#[derive(Debug, Default)]
pub struct RecordingSleeper {
    waits: std::sync::Mutex<Vec<Duration>>,
}

impl RecordingSleeper {
    /// The waits asked for, in order.
    pub fn waits(&self) -> Vec<Duration> {
        self.waits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[async_trait::async_trait]
impl Sleeper for RecordingSleeper {
    async fn sleep(&self, duration: Duration) {
        self.waits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(duration);
    }
}

/// Sends the request `build` makes, up to `policy.attempts` times:
///
/// - a transport error is retried (after `backoff_for(attempt)`) when [`is_transient`] and
///   the call is idempotent, or when the connection was never made;
/// - a 5xx answer is retried when the call is idempotent;
/// - a 429 is retried after its `Retry-After` (or the backoff when absent) when that wait is
///   at most `policy.max_retry_after`.
///
/// Whatever is not retried (or the last attempt's answer) is returned for the caller to map:
/// a 429 or 5xx `Response` means the retries were used up or the wait was too long.
pub async fn send_with_retries(
    policy: &HttpPolicy,
    idempotency: Idempotency,
    sleeper: &dyn Sleeper,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, reqwest::Error> {
    let attempts = policy.attempts.max(1);
    let mut attempt = 1;
    loop {
        let last = attempt >= attempts;
        match build().send().await {
            Err(error) => {
                let retry = match idempotency {
                    Idempotency::Idempotent => is_transient(&error),
                    Idempotency::NotIdempotent => error.is_connect(),
                };
                if last || !retry {
                    return Err(error);
                }
                tracing::debug!(attempt, error = %error.without_url(), "retrying after a transport error");
                sleeper.sleep(policy.backoff_for(attempt)).await;
            }
            Ok(response) => {
                let status = response.status();
                let wait = if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                    let wait = retry_after(response.headers())
                        .map(Duration::from_secs)
                        .unwrap_or_else(|| policy.backoff_for(attempt));
                    (wait <= policy.max_retry_after).then_some(wait)
                } else if status.is_server_error() && idempotency == Idempotency::Idempotent {
                    Some(policy.backoff_for(attempt))
                } else {
                    None
                };
                match wait {
                    Some(wait) if !last => {
                        tracing::debug!(attempt, %status, ?wait, "retrying");
                        sleeper.sleep(wait).await;
                    }
                    _ => return Ok(response),
                }
            }
        }
        attempt += 1;
    }
}

/// A header value that `Debug` output and logs never show (tokens).
pub fn secret_header(value: &str) -> Option<reqwest::header::HeaderValue> {
    let mut header = reqwest::header::HeaderValue::from_str(value).ok()?;
    header.set_sensitive(true);
    Some(header)
}

/// An error and its causes on one line ("error sending request: connection refused").
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Counts an error answer of `provider`'s API (the `ProviderApiErrors` metric, by provider and
/// status; docs/operations.md, "Metrics").
pub fn provider_error(provider: &str, status: u16) {
    deploybot_core::metrics::emit(deploybot_core::metrics::Metric::ProviderError {
        provider: provider.to_owned(),
        status,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn every_client_shares_one_tls_configuration_with_http1_alpn() {
        let first = tls().expect("the platform's roots load here");
        let second = tls().expect("built once");
        assert_eq!(first.alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert!(first.enable_sni);
        // Built once for the process: the second call clones the first configuration (the
        // same crypto provider) rather than loading the certificates again.
        assert!(std::sync::Arc::ptr_eq(
            first.crypto_provider(),
            second.crypto_provider()
        ));
        client(&HttpPolicy::default()).expect("a client with the shared configuration");
    }

    #[test]
    fn a_bundle_file_adds_its_certificates_and_nothing_else() {
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/two-test-roots.pem");
        let mut roots = rustls::RootCertStore::empty();
        assert_eq!(add_bundle(&mut roots, &fixture), 2);
        assert_eq!(roots.len(), 2);
        // A missing file or one without certificates adds none (the platform's search is used
        // then).
        let mut empty = rustls::RootCertStore::empty();
        assert_eq!(
            add_bundle(&mut empty, &fixture.with_extension("missing")),
            0
        );
        let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        assert_eq!(add_bundle(&mut empty, &manifest), 0);
        assert!(empty.is_empty());
    }

    /// The roots come from the system's bundle when it has one: as many as the bundle holds,
    /// not the bundle plus the certificate directory's files again.
    #[test]
    fn the_system_roots_are_its_bundle_when_it_has_one() {
        let roots = root_store();
        assert!(!roots.is_empty(), "no root certificates on this system");
        if !openssl_probe::has_ssl_cert_env_vars()
            && let Some(bundle) = openssl_probe::probe().cert_file
        {
            let mut from_bundle = rustls::RootCertStore::empty();
            let added = add_bundle(&mut from_bundle, &bundle);
            if added > 0 {
                assert_eq!(roots.len(), added, "{}", bundle.display());
            }
        }
    }

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
