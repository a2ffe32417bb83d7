//! What an on-call person reads (docs/operations.md): a refused request is logged at `warn`
//! with its route and reason — never the signature or a secret — and a signature refusal is
//! counted by route; one GitHub delivery's correlation id is on the lines of every function it
//! reaches.

use crate::hostile_support::{GITHUB_SECRET, Harness, NOW_SECS, SLACK_SECRET, WRONG_SECRET};
use axum::http::StatusCode;
use deploybot_testkit::fixtures::fixture_json;
use deploybot_testkit::signing::{circleci_request_bytes, github_request_bytes, slack_request};
use serde_json::json;
use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::writer::EitherWriter;

/// Everything logged on the current thread at `info` and above while its [`Capturing`] guard
/// lives, as text lines.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut logs) = self.0.lock() {
            logs.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

thread_local! {
    /// The capture of this thread, if one is running.
    static CAPTURE: RefCell<Option<Logs>> = const { RefCell::new(None) };
}

/// Ends the capture of its thread when dropped.
struct Capturing;

impl Drop for Capturing {
    fn drop(&mut self) {
        CAPTURE.with(|c| c.borrow_mut().take());
    }
}

/// Writes a line to the capture of the thread that logs it, or nowhere.
struct ThreadCapture;

impl<'a> MakeWriter<'a> for ThreadCapture {
    type Writer = EitherWriter<Logs, std::io::Sink>;

    fn make_writer(&'a self) -> Self::Writer {
        CAPTURE.with(|c| match c.borrow().as_ref() {
            Some(logs) => EitherWriter::A(logs.clone()),
            None => EitherWriter::B(std::io::sink()),
        })
    }
}

impl Logs {
    /// Logs at `info` and above to this buffer on the current thread (the tests run on a
    /// current-thread runtime, so the spawned `Event` invocations log here too).
    ///
    /// One global subscriber writes each thread's lines to that thread's capture. A subscriber
    /// per test (`set_default`), or a global one whose filter read the thread's capture, lost
    /// the spans and lines of callsites that other tests had reached first when this binary's
    /// tests ran together in one process (`cargo test`); a global subscriber with a fixed
    /// level does not.
    fn capture() -> (Self, Capturing) {
        static INSTALLED: OnceLock<()> = OnceLock::new();
        INSTALLED.get_or_init(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::INFO)
                .with_ansi(false)
                .with_writer(ThreadCapture)
                .finish();
            // Another global subscriber set first would leave every capture empty: the tests
            // say so by finding no lines.
            let _ = tracing::subscriber::set_global_default(subscriber);
        });
        let logs = Self::default();
        CAPTURE.with(|c| *c.borrow_mut() = Some(logs.clone()));
        (logs, Capturing)
    }

    fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

#[tokio::test]
async fn refused_requests_are_logged_at_warn_with_route_and_reason_and_counted() {
    let h = Harness::new().await;
    let metrics = deploybot_testkit::metrics::captured().expect("the test's metric sink");
    let failures = |route: &str| metrics.lines("SignatureFailures", "Route", route).len();
    let (github_before, slack_before, circleci_before) = (
        failures("/github/webhook"),
        failures("/slack/command"),
        failures("/circleci/webhook"),
    );
    let (logs, _guard) = Logs::capture();

    let push = fixture_json("github/push.json").expect("push fixture");
    let forged = github_request_bytes(
        &h.wrong_secret,
        "push",
        "d-obs-1",
        push.to_string().into_bytes(),
    );
    let forged_signature = forged
        .header("x-hub-signature-256")
        .expect("signed")
        .to_owned();
    let answer = h.send("/github/webhook", forged).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);

    let form =
        serde_urlencoded::to_string([("command", "/cimon"), ("text", "list")]).expect("form");
    let slack = slack_request(
        &h.wrong_secret,
        NOW_SECS,
        "application/x-www-form-urlencoded",
        form.into_bytes(),
    );
    let slack_signature = slack
        .header("x-slack-signature")
        .expect("signed")
        .to_owned();
    let answer = h.send("/slack/command", slack).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);

    let malformed = circleci_request_bytes(
        &h.circleci_secret,
        "workflow-completed",
        b"{not json".to_vec(),
    );
    let answer = h.send("/circleci/webhook", malformed).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);

    let lines = logs.lines();
    let refused = |route: &str, status: &str| {
        lines
            .iter()
            .find(|l| {
                l.contains("WARN")
                    && l.contains("request refused")
                    && l.contains(&format!("route={route}"))
                    && l.contains(&format!("status={status}"))
            })
            .cloned()
            .unwrap_or_else(|| panic!("no warning for {route} {status} in:\n{}", lines.join("\n")))
    };
    assert!(refused("/github/webhook", "401").contains("the signature does not match"));
    assert!(refused("/slack/command", "401").contains("the signature does not match"));
    assert!(refused("/circleci/webhook", "400").contains("bad request"));
    for line in &lines {
        for secret in [
            forged_signature.as_str(),
            slack_signature.as_str(),
            SLACK_SECRET,
            GITHUB_SECRET,
            WRONG_SECRET,
        ] {
            assert!(!line.contains(secret), "{line} shows {secret}");
        }
    }

    // Signature failures are counted by route; a malformed body is not one.
    assert!(failures("/github/webhook") > github_before);
    assert!(failures("/slack/command") > slack_before);
    assert_eq!(failures("/circleci/webhook"), circleci_before);
    let line = metrics
        .lines("SignatureFailures", "Route", "/github/webhook")
        .pop()
        .expect("a line");
    assert_eq!(
        line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["Route"], []])
    );
}

#[tokio::test]
async fn one_delivery_is_followed_across_functions_by_its_correlation_id() {
    let h = Harness::new().await;
    let (logs, _guard) = Logs::capture();
    let mut push = fixture_json("github/push.json").expect("push fixture");
    push["ref"] = json!("refs/heads/main");
    let delivery = "5f9a1c00-0bd7-11ef-8e1b-2bb6f0d0c0de";
    let request = github_request_bytes(
        &h.github_secret,
        "push",
        delivery,
        push.to_string().into_bytes(),
    );
    let answer = h.send("/github/webhook", request).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.raw);
    h.settle().await;

    let id = format!("correlation_id=github:{delivery}");
    let lines = logs.lines();
    let story: Vec<&String> = lines.iter().filter(|l| l.contains(&id)).collect();
    for reached in [
        "github_webhook{correlation_id=github:",
        "invoked{function=github-deployment-create}",
        "invoked{function=slack-message}",
    ] {
        assert!(
            story.iter().any(|l| l.contains(reached)),
            "no line of {reached} carries {id}; all lines:\n{}",
            lines.join("\n")
        );
    }
    // Every invocation of the story is in it: none ran without the id.
    let invoked = lines
        .iter()
        .filter(|l| l.contains("invocation handled"))
        .count();
    let invoked_in_story = story
        .iter()
        .filter(|l| l.contains("invocation handled"))
        .count();
    assert!(invoked >= 2);
    assert_eq!(invoked, invoked_in_story, "{}", lines.join("\n"));
}
