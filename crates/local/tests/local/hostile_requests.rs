//! Hostile requests against every HTTP endpoint of the local server, over real HTTP on
//! 127.0.0.1, with the embedded store (redb) — the end-to-end counterpart of
//! `crates/app/tests/app/hostile_requests.rs` (which runs the full table in process and counts
//! store writes). Each row must get its 400/401/413 or a friendly Slack reply, never a 5xx,
//! and leave the store's listings and the fakes as they were.

use deploybot_core::signature::{SigningSecret, sign_slack};
use deploybot_core::{Repository, SlackChannelId, SlackUserId};
use deploybot_local::harness::{AppOptions, LocalApp, StoreSetup, try_spawn_app};
use deploybot_local::world::{self, ADA, GRACE};
use deploybot_testkit::signing::{
    SignedRequest, circleci_request_bytes, github_request_bytes, slack_request,
};
use serde_json::json;

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";
const UNBOUND: &str = "C0NEW";

/// What the store shows and the fakes saw: equal before and after every row.
async fn snapshot(app: &LocalApp) -> String {
    let repository = Repository::parse(world::REPOSITORY).expect("valid");
    let store = &app.store;
    let project = store
        .project_by_repository(&repository)
        .await
        .expect("reads");
    let unbound = store
        .project_by_channel(&SlackChannelId::parse(UNBOUND).expect("valid"))
        .await
        .expect("reads");
    let deployments = store
        .list_deployments(&repository, None, 100)
        .await
        .expect("lists");
    let mut links = Vec::new();
    for person in world::PEOPLE {
        let user = SlackUserId::parse(person.slack_user).expect("valid");
        links.push(store.user_by_slack(&user).await.expect("reads"));
    }
    let outside =
        app.fakes.slack.calls().len() + app.fakes.github.calls().len() + app.fakes.ci.calls().len();
    format!("{project:?}\n{unbound:?}\n{deployments:?}\n{links:?}\noutside calls: {outside}")
}

/// `application/x-www-form-urlencoded`, as Slack sends it.
fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    let encode = |text: &str| {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                other => format!("%{other:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

enum Expect {
    Status(u16),
    Friendly(&'static str),
}

#[tokio::test]
async fn hostile_requests_to_the_local_server_change_nothing() {
    let app = try_spawn_app(AppOptions::with_store(StoreSetup::TempFile))
        .await
        .expect("the local app starts");
    let reply = app
        .slash(GRACE, &format!("setup {}", world::REPOSITORY))
        .await
        .expect("reaches the server");
    assert_eq!(reply.status, 200, "{}", reply.body);
    app.settle().await.expect("settles");

    let slack = app.secrets.slack();
    let github = app.secrets.github();
    let circleci = app.secrets.circleci();
    let wrong = SigningSecret::new("not-the-secret");
    let ts = now();
    let slash = |text: &str| {
        form(&[
            ("command", "/cimon"),
            ("channel_id", UNBOUND),
            ("user_id", ADA.slack_user),
            ("team_id", world::TEAM),
            ("text", text),
        ])
    };
    // Accepted, this would bind the unbound channel to another repository.
    let good_slash = slash("setup acme/api");
    let press = json!({"type": "block_actions", "user": {"id": ADA.slack_user}, "trigger_id": "t-1",
        "channel": {"id": world::CHANNEL}, "actions": [{"action_id": "claim_login", "value": "linus-t"}]});
    let good_press = form(&[("payload", &press.to_string())]);
    let good_event = json!({"type": "event_callback", "team_id": world::TEAM, "event_id": "Ev1",
        "event": {"type": "member_joined_channel", "user": ADA.slack_user, "channel": world::CHANNEL}})
    .to_string()
    .into_bytes();
    let push = json!({"ref": "refs/heads/main", "after": world::MAIN_SHA, "deleted": false,
        "commits": [{}], "repository": {"full_name": world::REPOSITORY, "default_branch": "main"},
        "head_commit": {"id": world::MAIN_SHA}});
    let good_push = push.to_string().into_bytes();
    let completed = json!({"type": "workflow-completed", "id": "e-1",
        "workflow": {"id": "w", "name": "deploy", "status": "success", "url": "https://x"},
        "pipeline": {"id": "p-unknown"}})
    .to_string()
    .into_bytes();
    let oversized = |body: &[u8], filler: u8, size: usize| {
        let mut out = body.to_vec();
        if filler == b'x' {
            out.extend_from_slice(b"&pad=");
        }
        out.resize(size, filler);
        out
    };
    let limit = app.functions.config().max_body_bytes;
    let github_limit = app.functions.config().github_max_body_bytes;
    let mut invalid_utf8 = b"command=%2Fcimon&channel_id=C0NEW&user_id=U0ADA&text=setup+".to_vec();
    invalid_utf8.extend_from_slice(b"\xff\xfe/web");
    let mut invalid_json = br#"{"type":"event_callback","event_id":""#.to_vec();
    invalid_json.extend_from_slice(b"\xff\"}");

    let mut rows: Vec<(&str, &str, SignedRequest, Expect)> = Vec::new();
    for (path, content_type, body) in [
        ("/slack/command", FORM, &good_slash),
        ("/slack/interactive", FORM, &good_press),
        ("/slack/event", JSON, &good_event),
    ] {
        let signed = |secret: &SigningSecret, at: i64, body: Vec<u8>| {
            slack_request(secret, at, content_type, body)
        };
        let mut unsigned = signed(&slack, ts, body.clone());
        unsigned.headers.retain(|(n, _)| !n.starts_with("x-slack-"));
        rows.push((path, "no signature", unsigned, Expect::Status(401)));
        rows.push((
            path,
            "wrong secret",
            signed(&wrong, ts, body.clone()),
            Expect::Status(401),
        ));
        rows.push((
            path,
            "replayed: signed an hour ago",
            signed(&slack, ts - 3600, body.clone()),
            Expect::Status(401),
        ));
        rows.push((
            path,
            "future timestamp",
            signed(&slack, ts + 600, body.clone()),
            Expect::Status(401),
        ));
        rows.push((
            path,
            "another body under the signature",
            signed(&slack, ts, body.clone())
                .with_header("x-slack-signature", sign_slack(&slack, ts, b"other")),
            Expect::Status(401),
        ));
        let filler = if content_type == FORM { b'x' } else { b' ' };
        rows.push((
            path,
            "one byte over the limit",
            signed(&slack, ts, oversized(body, filler, limit + 1)),
            Expect::Status(413),
        ));
        rows.push((
            path,
            "3 MB",
            signed(&slack, ts, oversized(body, filler, 3 * 1024 * 1024)),
            Expect::Status(413),
        ));
    }
    let slack_signed =
        |content_type: &str, body: Vec<u8>| slack_request(&slack, ts, content_type, body);
    rows.extend([
        ("/slack/command", "invalid UTF-8", slack_signed(FORM, invalid_utf8), Expect::Friendly("owner/name")),
        ("/slack/command", "JSON instead of a form", slack_signed(JSON, b"{\"command\":\"/cimon\"}".to_vec()), Expect::Status(400)),
        ("/slack/command", "form without channel_id and user_id", slack_signed(FORM, form(&[("command", "/cimon"), ("text", "reset")])), Expect::Status(400)),
        ("/slack/command", "unknown command", slack_signed(FORM, slash("frobnicate")), Expect::Friendly("/cimon help")),
        ("/slack/command", "10 000-character text", slack_signed(FORM, slash(&"x".repeat(10_000))), Expect::Friendly("too long")),
        ("/slack/command", "setup not-a-repo", slack_signed(FORM, slash("setup not-a-repo")), Expect::Friendly("owner/name")),
        ("/slack/command", "setup ../../etc/passwd", slack_signed(FORM, slash("setup ../../etc/passwd")), Expect::Friendly("owner/name")),
        ("/slack/command", "setup a GitLab URL", slack_signed(FORM, slash("setup https://gitlab.com/acme/api")), Expect::Friendly("owner/name")),
        ("/slack/interactive", "payload that is not JSON", slack_signed(FORM, form(&[("payload", "{")])), Expect::Status(400)),
        ("/slack/interactive", "form without payload", slack_signed(FORM, form(&[("x", "y")])), Expect::Status(400)),
        ("/slack/event", "invalid UTF-8", slack_signed(JSON, invalid_json), Expect::Status(400)),
        ("/slack/event", "JSON of the wrong shape", slack_signed(JSON, b"[1,2]".to_vec()), Expect::Status(400)),
        ("/slack/event", "unknown event", slack_signed(JSON, json!({"type": "event_callback", "event_id": "Ev2", "event": {"type": "reaction_added"}}).to_string().into_bytes()), Expect::Status(200)),
    ]);
    let gh = |secret: &SigningSecret, event: &str, body: Vec<u8>| {
        github_request_bytes(secret, event, "d-hostile", body)
    };
    let mut gh_unsigned = gh(&github, "push", good_push.clone());
    gh_unsigned
        .headers
        .retain(|(n, _)| n != "x-hub-signature-256");
    let mut not_a_repo = push.clone();
    not_a_repo["repository"]["full_name"] = json!("not a repository");
    rows.extend([
        (
            "/github/webhook",
            "no signature",
            gh_unsigned,
            Expect::Status(401),
        ),
        (
            "/github/webhook",
            "wrong secret",
            gh(&wrong, "push", good_push.clone()),
            Expect::Status(401),
        ),
        (
            "/github/webhook",
            "one byte over GitHub's maximum (its own, larger limit)",
            gh(
                &github,
                "push",
                oversized(&good_push, b' ', github_limit + 1),
            ),
            Expect::Status(413),
        ),
        (
            "/github/webhook",
            "invalid UTF-8",
            gh(&github, "push", b"{\"ref\":\"\xff\"}".to_vec()),
            Expect::Status(400),
        ),
        (
            "/github/webhook",
            "JSON of the wrong shape",
            gh(&github, "push", b"{\"ref\":5}".to_vec()),
            Expect::Status(400),
        ),
        (
            "/github/webhook",
            "not a repository",
            gh(&github, "push", not_a_repo.to_string().into_bytes()),
            Expect::Status(400),
        ),
        (
            "/github/webhook",
            "unknown event",
            gh(&github, "fork", good_push.clone()),
            Expect::Status(200),
        ),
    ]);
    let ci = |secret: &SigningSecret, body: Vec<u8>| {
        circleci_request_bytes(secret, "workflow-completed", body)
    };
    let mut ci_unsigned = ci(&circleci, completed.clone());
    ci_unsigned
        .headers
        .retain(|(n, _)| n != "circleci-signature");
    rows.extend([
        (
            "/circleci/webhook",
            "no signature",
            ci_unsigned,
            Expect::Status(401),
        ),
        (
            "/circleci/webhook",
            "wrong secret",
            ci(&wrong, completed.clone()),
            Expect::Status(401),
        ),
        (
            "/circleci/webhook",
            "one byte over the limit",
            ci(&circleci, oversized(&completed, b' ', limit + 1)),
            Expect::Status(413),
        ),
        (
            "/circleci/webhook",
            "3 MB",
            ci(&circleci, oversized(&completed, b' ', 3 * 1024 * 1024)),
            Expect::Status(413),
        ),
        (
            "/circleci/webhook",
            "invalid UTF-8",
            ci(&circleci, b"{\"type\":\"\xff\"}".to_vec()),
            Expect::Status(400),
        ),
        (
            "/circleci/webhook",
            "JSON of the wrong shape",
            ci(&circleci, b"{\"type\":\"workflow-completed\"}".to_vec()),
            Expect::Status(400),
        ),
        (
            "/circleci/webhook",
            "a pipeline nobody started",
            ci(&circleci, completed.clone()),
            Expect::Status(200),
        ),
    ]);

    let mut failures = Vec::new();
    for (path, what, request, expect) in rows {
        let before = snapshot(&app).await;
        let reply = app
            .post_signed(path, request)
            .await
            .expect("the server answers");
        app.settle().await.expect("settles");
        let mut problems = Vec::new();
        if reply.status >= 500 {
            problems.push(format!("server error {}", reply.status));
        }
        match expect {
            Expect::Status(want) if reply.status != want => {
                problems.push(format!("status {} instead of {want}", reply.status));
            }
            Expect::Friendly(needle) => {
                let json = reply.json().unwrap_or_default();
                if reply.status != 200 || json["response_type"] != "ephemeral" {
                    problems.push(format!("not an ephemeral 200: {}", reply.status));
                }
                if !json["text"].as_str().unwrap_or("").contains(needle) {
                    problems.push(format!("reply lacks {needle:?}"));
                }
            }
            _ => {}
        }
        if snapshot(&app).await != before {
            problems.push("the store or the fakes changed".into());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{path} — {what}: {} ({} {})",
                problems.join("; "),
                reply.status,
                reply.body.chars().take(160).collect::<String>()
            ));
        }
    }
    assert!(app.failures().is_empty(), "{:#?}", app.failures());
    assert!(
        failures.is_empty(),
        "hostile rows that failed:\n{}",
        failures.join("\n")
    );
    app.shutdown().await.expect("stops");
}
