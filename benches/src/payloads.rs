//! The requests of one event, signed as Slack, GitHub and CircleCI sign them: a real GitHub
//! `push` payload (the fixture, padded with realistic commits to about 30 KB), a CircleCI
//! `workflow-completed` and a slash command.

use crate::ordered::Json;
use deploybot_core::signature::{SigningSecret, sign_circleci, sign_github, sign_slack};
use deploybot_testkit::fixtures::{fixture, fixture_json};
use deploybot_testkit::signing::SignedRequest;
use serde_json::json;

pub const SLACK_SECRET: &str = "bench-slack-signing-secret";
pub const GITHUB_SECRET: &str = "bench-github-webhook-secret";
pub const CIRCLECI_SECRET: &str = "bench-circleci-webhook-secret";

/// The repository and channel every measured event is about.
pub const REPO: &str = "acme/web";
pub const CHANNEL: &str = "C0WEB";
/// The pipeline of the queued deployment a CircleCI completion finishes.
pub const PIPELINE: &str = "1285fe1d-d3a6-44fc-8886-8979558254c4";
/// The size the push payload is padded to, as GitHub sends for a push of ~20 commits.
pub const PUSH_TARGET_BYTES: usize = 30 * 1024;

/// A GitHub `push` of `acme/web`'s default branch, padded with commits (each with a
/// message, author, committer and changed files, as GitHub lists them) to at least
/// [`PUSH_TARGET_BYTES`]. Deterministic.
pub fn push_payload_30k() -> Vec<u8> {
    push_payload(PUSH_TARGET_BYTES)
}

/// A fixture as it is written, keys in GitHub's order (an empty object if it is missing).
fn github_fixture(path: &str) -> Json {
    fixture(path)
        .and_then(|text| Json::parse(text.as_bytes()))
        .unwrap_or(Json::Object(Vec::new()))
}

/// The pull request fixture's `synchronize` (a new commit on an open pull request) of
/// `acme/web`, as GitHub sends it (about 20 KB: the pull request with its head and base
/// repositories; keys in GitHub's order, compact).
pub fn pull_request_payload() -> Vec<u8> {
    let mut v = github_fixture("github/pull_request.synchronize.json");
    v.set(&["repository", "full_name"], Json::str(REPO));
    v.set(
        &["pull_request", "head", "repo", "full_name"],
        Json::str(REPO),
    );
    v.to_vec()
}

/// A GitHub `push` of `acme/web`'s default branch padded with commits to at least
/// `target_bytes` (the fixture's own single commit when it is already that large); keys in
/// GitHub's order, compact.
pub fn push_payload(target_bytes: usize) -> Vec<u8> {
    let mut push = github_fixture("github/push.json");
    push.set(&["ref"], Json::str("refs/heads/main"));
    let template = match push.get(&["commits"]) {
        Some(Json::Array(commits)) => commits.first().cloned().unwrap_or(Json::Null),
        _ => Json::Null,
    };
    let mut commits = vec![template.clone()];
    let mut n: u64 = 1;
    loop {
        if push.to_vec().len() >= target_bytes {
            break;
        }
        let mut commit = template.clone();
        let sha = format!("{:040x}", 0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(n));
        commit.set(&["id"], Json::str(sha.clone()));
        commit.set(
            &["tree_id"],
            Json::str(format!("{:040x}", n.wrapping_mul(7_919))),
        );
        commit.set(
            &["url"],
            Json::str(format!("https://github.com/acme/web/commit/{sha}")),
        );
        commit.set(&["message"], Json::str(format!(
            "Refactor the session store (step {n})\n\nMove token refresh into its own module and cover the expiry edge cases with tests. Part of #{}.",
            100 + n
        )));
        commit.set(
            &["added"],
            Json::Array(vec![Json::str(format!("src/session/refresh_{n}.ts"))]),
        );
        commit.set(
            &["modified"],
            Json::Array(vec![
                Json::str("src/session/store.ts"),
                Json::str("src/session/index.ts"),
                Json::str(format!("test/session/refresh_{n}.test.ts")),
            ]),
        );
        commits.push(commit);
        push.set(&["commits"], Json::Array(commits.clone()));
        n += 1;
    }
    if let Some(last) = commits.last() {
        push.set(&["head_commit"], last.clone());
        if let Some(id) = last.get(&["id"]) {
            push.set(&["after"], id.clone());
        }
    }
    push.to_vec()
}

/// A GitHub webhook delivery of `body` as `event` with delivery id `delivery`.
pub fn github_request(event: &str, delivery: &str, body: Vec<u8>) -> SignedRequest {
    let signature = sign_github(&SigningSecret::new(GITHUB_SECRET), &body);
    SignedRequest {
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-github-event".into(), event.into()),
            ("x-github-delivery".into(), delivery.into()),
            ("x-hub-signature-256".into(), signature),
        ],
        body,
    }
}

/// CircleCI's `workflow-completed` (success) for [`PIPELINE`] with event id `event_id`.
pub fn workflow_completed_body(event_id: &str) -> Vec<u8> {
    let mut v = fixture_json("circleci/workflow-completed.json").unwrap_or_else(|| json!({}));
    v["id"] = json!(event_id);
    v["pipeline"]["id"] = json!(PIPELINE);
    serde_json::to_vec(&v).unwrap_or_default()
}

pub fn circleci_request(body: Vec<u8>) -> SignedRequest {
    let signature = sign_circleci(&SigningSecret::new(CIRCLECI_SECRET), &body);
    SignedRequest {
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("circleci-event-type".into(), "workflow-completed".into()),
            ("circleci-signature".into(), signature),
        ],
        body,
    }
}

/// `/cimon <text>` from a user in [`CHANNEL`], signed for `timestamp` (Unix seconds).
pub fn slash_request(text: &str, timestamp: i64) -> SignedRequest {
    let body = format!(
        "token=x&team_id=T0ACME&team_domain=acme&channel_id={CHANNEL}&channel_name=web&user_id=U0ALICE&user_name=alice&command=%2Fcimon&text={}&response_url=https%3A%2F%2Fhooks.slack.invalid%2Fcommands%2F1&trigger_id=1.2.3",
        text.replace(' ', "+")
    )
    .into_bytes();
    let signature = sign_slack(&SigningSecret::new(SLACK_SECRET), timestamp, &body);
    SignedRequest {
        headers: vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("x-slack-request-timestamp".into(), timestamp.to_string()),
            ("x-slack-signature".into(), signature),
        ],
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn the_typical_push_and_pull_request_are_real_json_of_acme_web() {
        let push = push_payload(0);
        let v: Value = serde_json::from_slice(&push).expect("JSON");
        assert_eq!(v["commits"].as_array().map(Vec::len), Some(1));
        assert_eq!(v["repository"]["full_name"], REPO);
        let pr: Value = serde_json::from_slice(&pull_request_payload()).expect("JSON");
        assert_eq!(pr["action"], "synchronize");
        assert_eq!(pr["repository"]["full_name"], REPO);
        assert_eq!(pr["pull_request"]["head"]["repo"]["full_name"], REPO);
    }

    /// GitHub sends a repository's `id` first and its `full_name` fourth; so do the payloads
    /// measured here (the handlers may read objects from their first keys).
    #[test]
    fn keys_are_in_githubs_order() {
        for body in [push_payload(0), push_payload_30k(), pull_request_payload()] {
            let text = String::from_utf8(body).expect("text");
            let repository = text.find("\"repository\":{").expect("a repository");
            let rest = &text[repository..];
            let id = rest.find("\"id\":").expect("an id");
            let full_name = rest.find("\"full_name\":").expect("a full name");
            let private = rest.find("\"private\":").expect("private");
            assert!(id < full_name && full_name < private, "{}", &rest[..200]);
        }
    }

    #[test]
    fn the_push_is_about_30_kb_of_real_json() {
        let body = push_payload_30k();
        assert!(body.len() >= PUSH_TARGET_BYTES, "{}", body.len());
        assert!(body.len() < PUSH_TARGET_BYTES + 2 * 1024, "{}", body.len());
        let v: Value = serde_json::from_slice(&body).expect("JSON");
        assert!(v["commits"].as_array().is_some_and(|c| c.len() > 10));
        assert_eq!(v["after"], v["head_commit"]["id"]);
        assert_eq!(v["repository"]["full_name"], REPO);
    }
}
