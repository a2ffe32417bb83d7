//! The HTTP side the fakes share: a server on 127.0.0.1 (port 0) that stops when dropped, a
//! queue of scripted failures, and a record of the requests a fake saw.

use axum::Router;
use deploybot_core::Timestamp;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::task::JoinHandle;

/// A running fake: serves one fake's state on 127.0.0.1 until dropped.
#[derive(Debug)]
pub struct FakeServer {
    addr: SocketAddr,
    base_url: String,
    task: JoinHandle<()>,
}

impl FakeServer {
    /// Binds 127.0.0.1:0 and serves `router` on a background task.
    pub(crate) async fn start(router: Router) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::warn!(%error, "fake server stopped");
            }
        });
        Ok(Self {
            addr,
            base_url: format!("http://{addr}"),
            task,
        })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `base_url` joined with `path` (which should start with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One HTTP request a fake received (the direct port implementations record none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    pub method: String,
    /// Path and query, as sent.
    pub path_and_query: String,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl SeenRequest {
    pub(crate) fn from_parts(
        method: &axum::http::Method,
        uri: &axum::http::Uri,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) -> Self {
        Self {
            method: method.to_string(),
            path_and_query: uri
                .path_and_query()
                .map(|pq| pq.as_str().to_owned())
                .unwrap_or_else(|| uri.path().to_owned()),
            headers: headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: body.to_vec(),
        }
    }

    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Scripted failures: the next calls answer with these, one per call, then the fake behaves
/// again; plus a delay applied to every answer.
#[derive(Debug)]
pub(crate) struct Faults<F> {
    queue: VecDeque<F>,
    pub(crate) delay: Option<Duration>,
}

impl<F> Default for Faults<F> {
    fn default() -> Self {
        Self {
            queue: VecDeque::new(),
            delay: None,
        }
    }
}

impl<F: Clone> Faults<F> {
    pub(crate) fn push(&mut self, times: usize, failure: F) {
        self.queue.extend(std::iter::repeat_n(failure, times));
    }

    pub(crate) fn next(&mut self) -> Option<F> {
        self.queue.pop_front()
    }
}

/// Text for ids that look like UUIDs (CircleCI's pipeline, workflow and event ids), unique in
/// this process.
pub(crate) fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let a = splitmix64(n);
    let b = splitmix64(a ^ n.rotate_left(17));
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (a >> 32) as u32,
        (a >> 16) as u16,
        a & 0xfff,
        (b >> 52) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}

fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// RFC 3339 in UTC with milliseconds (`2021-09-01T22:49:34.317Z`), as the services write
/// times.
pub fn rfc3339(time: Timestamp) -> String {
    let millis = time.millis();
    let secs = millis.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        millis.rem_euclid(1000)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_dates() {
        assert_eq!(
            rfc3339(Timestamp::from_millis(0)),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            rfc3339(Timestamp::from_millis(1_630_536_574_317)),
            "2021-09-01T22:49:34.317Z"
        );
        assert_eq!(
            rfc3339(Timestamp::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn uuid_like_ids_are_distinct_and_shaped() {
        let a = uuid_like();
        let b = uuid_like();
        assert_ne!(a, b);
        let parts: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(parts, vec![8, 4, 4, 4, 12], "{a}");
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }

    #[test]
    fn faults_are_consumed_in_order() {
        let mut faults: Faults<u16> = Faults::default();
        faults.push(2, 503);
        faults.push(1, 500);
        assert_eq!(faults.next(), Some(503));
        assert_eq!(faults.next(), Some(503));
        assert_eq!(faults.next(), Some(500));
        assert_eq!(faults.next(), None);
    }
}
