//! The correlation id of the work in hand (`deploybot_core::invoke::CORRELATION_FIELD`): set
//! where a story starts (a webhook's delivery, a Slack request, a watchdog run) or where an
//! invoke arrives, carried by every invoke the work sends, and written on every log line
//! through the `correlation_id` field of the span [`scope`] opens. One search for the id finds
//! the whole story across functions (docs/operations.md, "Following one delivery").

use deploybot_core::invoke::bounded_correlation;
use std::future::Future;
use tracing::Instrument;

tokio::task_local! {
    static CORRELATION: String;
}

/// Runs `work` under correlation id `id`: inside a span carrying it, and with invokes sent
/// from `work` carrying it.
///
/// A plain function returning the wrapped future, not an `async fn`: an `async fn` would keep
/// `work` twice in its state (the argument and the awaited future), and a webhook's work is
/// kilobytes that every wrapper then copies (docs/performance.md, "Futures").
pub fn scope<F: Future>(id: &str, work: F) -> impl Future<Output = F::Output> + use<F> {
    let id = bounded_correlation(id);
    let span = tracing::info_span!("correlation", correlation_id = %id);
    CORRELATION.scope(id, work.instrument(span))
}

/// The correlation id of the work in hand, if it has one.
pub fn current() -> Option<String> {
    CORRELATION.try_with(Clone::clone).ok()
}

/// Adds the correlation id of the work in hand, if it has one, to an invoke payload's JSON
/// text (read where it is kept, not copied out first).
pub fn add_to(payload: &mut Vec<u8>) {
    // Outside any scope there is no id to add.
    let _ = CORRELATION.try_with(|id| deploybot_core::invoke::add_correlation_text(payload, id));
}

/// `github:<delivery>`.
pub fn github(delivery: &str) -> String {
    ["github:", delivery].concat()
}

/// `slack:<trigger or event id>`.
pub fn slack(id: &str) -> String {
    ["slack:", id].concat()
}

/// `circleci:<event id>`.
pub fn circleci(event: &str) -> String {
    ["circleci:", event].concat()
}

/// `watchdog:<run>`.
pub fn watchdog(run: &str) -> String {
    ["watchdog:", run].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_id_is_there_inside_the_scope_only() {
        assert_eq!(current(), None);
        let inside = scope(&github("d-1"), async { current() }).await;
        assert_eq!(inside.as_deref(), Some("github:d-1"));
        let nested = scope("outer", scope("inner", async { current() })).await;
        assert_eq!(nested.as_deref(), Some("inner"));
        assert_eq!(current(), None);
    }
}

#[cfg(test)]
mod span_tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut v) = self.0.lock() {
                v.extend_from_slice(b);
            }
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn every_line_inside_the_scope_names_the_id() {
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        scope("github:d-9", async { tracing::info!("inside") }).await;
        tracing::info!("outside");
        let text = String::from_utf8_lossy(&buf.0.lock().map(|b| b.clone()).unwrap_or_default())
            .into_owned();
        let inside = text
            .lines()
            .find(|l| l.contains("inside"))
            .unwrap_or_default();
        assert!(
            inside.contains("correlation{correlation_id=github:d-9}"),
            "{text}"
        );
        let outside = text
            .lines()
            .find(|l| l.contains("outside"))
            .unwrap_or_default();
        assert!(!outside.contains("correlation_id"), "{text}");
    }
}
