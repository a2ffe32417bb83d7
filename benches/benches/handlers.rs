//! Criterion benchmarks of deploybot's hot paths (numbers go to docs/performance.md; nothing
//! here passes or fails on time):
//! - `push_30kb`: signature check + parse + policy decision of a real ~30 KB GitHub push, and
//!   the two per-byte parts alone (the signature; a JSON pass that keeps nothing);
//! - `slash_parse`: the slash-command grammar;
//! - `render_deployment`: the Block Kit message of a deployment;
//! - `event/<kind>/<n>`: one event through the HTTP router — verify, parse, decide, store
//!   calls answered by the in-memory store — at n = 10 and 10 000 projects, users and
//!   deployments (invokes answered at once by a null invoker); GitHub events at three sizes
//!   (a one-commit push, a pull request `synchronize`, the 30 KB push); `<kind>_with_file`: the
//!   same with a `.github/deploybot.yml` of eight environments in force (its parse cached by
//!   blob SHA after the first event, so not per event).
//! - `event/<github kind>_over_floor/<n>`: the same GitHub event less its per-byte floor (the
//!   signature and a JSON pass that keeps nothing, on the same body), the two timed one after
//!   the other in every iteration, and a sample is the median of the iterations' differences:
//!   the handler's work above the floor, comparable across runs on a machine whose speed
//!   drifts.
//!
//! - `lane/decide/<pending>`: the lane decision of a drain (newest wins per source, order, the
//!   lock, what runs) over 1, 10 and 100 pending intents of as many sources;
//! - `lane/read_and_decide/<pending>`: `deploybot_app::lanes::apply` of a drain on the
//!   in-memory store — the four reads (lane record, pending intents, running and current
//!   deployments) and the decision — when nothing changes.
//!
//! - `board/<page>/<n>`: a page of the board (`web`) for a signed-in person who can read
//!   `acme/web`, at n = 10 000 deployments of it: the grid (`/`), the repository's page with
//!   its charts and first history page, and one deployment's page — session check, the
//!   person's repositories from the five-minute cache, the store reads, the HTML.
//!
//! Run: `cargo bench -p deploybot-benches --features bench`.

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use deploybot_app::render::deployment::deployment_message;
use deploybot_app::webhook_payloads::github::PushEvent;
use deploybot_benches::payloads::{
    GITHUB_SECRET, circleci_request, github_request, pull_request_payload, push_payload,
    push_payload_30k, slash_request, workflow_completed_body,
};
use deploybot_benches::world::{self, FixedClock, NOW_SECS, NullInvoker};
use deploybot_core::command::Grammar;
use deploybot_core::policy::{Policy, WorkflowEvent};
use deploybot_core::ports::DeliveryStore;
use deploybot_core::signature::{SigningSecret, verify_github};
use deploybot_core::{
    Deployment, DeploymentId, DeploymentState, Environment, GitRef, GithubLogin, Repository, Sha,
    SlackChannelId, SlackUserId, Timestamp, Trigger, UserLink,
};
use deploybot_testkit::MemoryStore;
use deploybot_testkit::signing::SignedRequest;
use http_body_util::BodyExt;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

fn push_30kb(c: &mut Criterion) {
    let body = push_payload_30k();
    let request = github_request("push", "d-1", body.clone());
    let signature = request
        .header("x-hub-signature-256")
        .unwrap_or_default()
        .to_owned();
    let secret = SigningSecret::new(GITHUB_SECRET);
    let policy = Policy::default();
    let mut group = c.benchmark_group("push_30kb");
    group.throughput(criterion::Throughput::Bytes(body.len() as u64));
    group.bench_function("verify_parse_decide", |b| {
        b.iter(|| {
            verify_github(&secret, Some(&signature), black_box(&body)).expect("signed");
            let push = PushEvent::parse(black_box(&body)).expect("parses");
            let event = WorkflowEvent::Push {
                git_ref: GitRef::parse(&push.git_ref).expect("ref"),
                after: push.after_sha().expect("sha"),
                deleted: push.deleted,
                created: push.created,
                forced: push.forced,
                commit_count: push.commits.len(),
                default_branch: push.repository.default_branch.clone().unwrap_or_default(),
            };
            black_box(policy.decide(&event))
        })
    });
    group.bench_function("verify_only", |b| {
        b.iter(|| verify_github(&secret, Some(&signature), black_box(&body)))
    });
    // The least a validating JSON parser does: read every value and keep none.
    group.bench_function("json_validate_only", |b| {
        b.iter(|| serde_json::from_slice::<serde::de::IgnoredAny>(black_box(&body)).is_ok())
    });
    group.finish();
}

fn slash_parse(c: &mut Criterion) {
    let grammar = Grammar::default();
    let texts = [
        "setup acme/web",
        "deploy v1.4.2 to production",
        "deploy staging",
        "list pr42",
        "set urlpattern https://{environment}{urlseparator}{basedomain}/",
        "frobnicate the widgets",
    ];
    c.bench_function("slash_parse/six_commands", |b| {
        b.iter(|| {
            for text in texts {
                let _ = black_box(grammar.parse("/cimon", black_box(text)));
            }
        })
    });
}

fn render_deployment(c: &mut Criterion) {
    let now = Timestamp::from_secs(NOW_SECS);
    let mut d = Deployment::new(
        Repository::parse("acme/web").expect("valid"),
        DeploymentId::new(now, 7),
        Environment::Test,
        GitRef::Branch("release-2024-05".into()),
        Sha::parse("0123456789abcdef0123456789abcdef01234567").expect("valid"),
        Trigger::Push {
            pusher: Some(GithubLogin::parse("ada-l").expect("valid")),
        },
        SlackChannelId::parse("C0WEB").expect("valid"),
        now,
    );
    d.state = DeploymentState::Success;
    d.commit_author = Some(GithubLogin::parse("ada-l").expect("valid"));
    d.build_url = Some("https://app.circleci.com/pipelines/gh/acme/web/130".into());
    d.environment_url = Some("https://test.example.com/".into());
    d.github_deployment_id = Some(42);
    let links = vec![UserLink {
        github_login: GithubLogin::parse("ada-l").expect("valid"),
        slack_user: SlackUserId::parse("U0ADA").expect("valid"),
        slack_name: Some("Ada".into()),
        linked_at: now,
    }];
    c.bench_function("render_deployment/success_test_with_buttons", |b| {
        b.iter(|| black_box(deployment_message(black_box(&d), &links)))
    });
}

/// A signed request with its body as `Bytes`, so each iteration's copy is a reference count.
struct Prepared {
    path: &'static str,
    body: Bytes,
    headers: Vec<(String, String)>,
    /// The idempotency key the event takes; forgotten after each iteration (untimed) so every
    /// iteration does the whole work.
    key: Option<&'static str>,
}

impl Prepared {
    fn new(path: &'static str, signed: SignedRequest, key: Option<&'static str>) -> Self {
        Self {
            path,
            body: Bytes::from(signed.body),
            headers: signed.headers,
            key,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn request(&self) -> axum::http::Request<axum::body::Body> {
        let mut builder = axum::http::Request::builder().method("POST").uri(self.path);
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder
            .body(axum::body::Body::from(self.body.clone()))
            .expect("valid request")
    }
}

fn events(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let kinds = [
        (
            "github_push_30kb",
            Prepared::new(
                "/github/webhook",
                github_request("push", "d-bench", push_payload_30k()),
                Some("github:d-bench"),
            ),
        ),
        (
            "github_push_1_commit",
            Prepared::new(
                "/github/webhook",
                github_request("push", "d-bench-1", push_payload(0)),
                Some("github:d-bench-1"),
            ),
        ),
        (
            "github_pull_request_synchronize",
            Prepared::new(
                "/github/webhook",
                github_request("pull_request", "d-bench-pr", pull_request_payload()),
                Some("github:d-bench-pr"),
            ),
        ),
        (
            "circleci_workflow_completed",
            Prepared::new(
                "/circleci/webhook",
                circleci_request(workflow_completed_body("e-bench")),
                Some("circleci:e-bench"),
            ),
        ),
        (
            "slash_list",
            Prepared::new("/slack/command", slash_request("list", NOW_SECS), None),
        ),
    ];
    let mut group = c.benchmark_group("event");
    for n in [10usize, 10_000] {
        let store = Arc::new(MemoryStore::new());
        runtime
            .block_on(world::populate(store.as_ref(), n))
            .expect("populates");
        let state = world::state(
            store.clone(),
            Arc::new(NullInvoker::default()),
            Arc::new(FixedClock),
        );
        let router = world::router(state);
        for with_file in [false, true] {
            if with_file {
                runtime
                    .block_on(world::use_workflow_file(store.as_ref()))
                    .expect("puts the workflow file in force");
            }
            for (kind, prepared) in &kinds {
                let kind = if with_file {
                    format!("{kind}_with_file")
                } else {
                    (*kind).to_owned()
                };
                group.bench_with_input(
                    BenchmarkId::new(kind.clone(), n),
                    prepared,
                    |b, prepared| {
                        b.to_async(&runtime).iter_custom(|iters| {
                            let router = router.clone();
                            let store = store.clone();
                            async move {
                                let mut total = Duration::ZERO;
                                for _ in 0..iters {
                                    let request = prepared.request();
                                    let start = Instant::now();
                                    let response =
                                        router.clone().oneshot(request).await.expect("answers");
                                    let status = response.status();
                                    let body = response.into_body().collect().await.expect("body");
                                    total += start.elapsed();
                                    assert!(status.is_success(), "{status} {:?}", body.to_bytes());
                                    if let Some(key) = prepared.key {
                                        store.forget_delivery(key).await.expect("forgets");
                                    }
                                }
                                total
                            }
                        })
                    },
                );
                if let Some(signature) = prepared.header("x-hub-signature-256") {
                    // The same event, less its per-byte floor measured beside it: each
                    // iteration times the floor (signature and a JSON pass that keeps nothing,
                    // on the same body) and then the event, and counts the difference, so a
                    // machine that slows down between runs slows both alike.
                    let secret = SigningSecret::new(GITHUB_SECRET);
                    group.bench_with_input(
                        BenchmarkId::new(format!("{kind}_over_floor"), n),
                        prepared,
                        |b, prepared| {
                            b.to_async(&runtime).iter_custom(|iters| {
                                let router = router.clone();
                                let store = store.clone();
                                let secret = &secret;
                                async move {
                                    // Each iteration's difference in nanoseconds; the
                                    // sample is their median (a spike of the machine in
                                    // one iteration does not move it) times `iters`.
                                    let mut differences = Vec::with_capacity(iters as usize);
                                    for _ in 0..iters {
                                        let request = prepared.request();
                                        let start = Instant::now();
                                        floor(secret, signature, &prepared.body);
                                        let floor_done = Instant::now();
                                        let response =
                                            router.clone().oneshot(request).await.expect("answers");
                                        let status = response.status();
                                        let body =
                                            response.into_body().collect().await.expect("body");
                                        let event = floor_done.elapsed().as_nanos() as i64;
                                        let floor = (floor_done - start).as_nanos() as i64;
                                        differences.push(event - floor);
                                        assert!(
                                            status.is_success(),
                                            "{status} {:?}",
                                            body.to_bytes()
                                        );
                                        if let Some(key) = prepared.key {
                                            store.forget_delivery(key).await.expect("forgets");
                                        }
                                    }
                                    differences.sort_unstable();
                                    let median = differences
                                        .get(differences.len() / 2)
                                        .copied()
                                        .unwrap_or_default()
                                        .max(0)
                                        as u64;
                                    Duration::from_nanos(median.saturating_mul(iters))
                                }
                            })
                        },
                    );
                }
            }
        }
    }
    group.finish();
}

/// The per-byte floor of a signed GitHub body: its signature, and a JSON pass that keeps
/// nothing.
fn floor(secret: &SigningSecret, signature: &str, body: &[u8]) {
    verify_github(secret, Some(signature), black_box(body)).expect("signed");
    black_box(serde_json::from_slice::<serde::de::IgnoredAny>(black_box(body)).is_ok());
}

/// A lane of `acme/web` `staging` whose slot is taken, with `pending` ready intents of as
/// many branches, as deployment records.
fn lane_world(
    pending: usize,
) -> (
    deploybot_core::lane::LaneRecord,
    Vec<Deployment>,
    Deployment,
) {
    use deploybot_core::lane::{LaneKey, LaneRecord};
    let repo = Repository::parse("acme/web").expect("valid");
    let channel = SlackChannelId::parse("C0WEB").expect("valid");
    let now = Timestamp::from_secs(NOW_SECS);
    let record = |i: usize, state: DeploymentState| {
        let created = now.plus_secs(-600 + i as i64);
        let mut d = Deployment::new(
            repo.clone(),
            DeploymentId::new(created, i as u32),
            Environment::Staging,
            GitRef::Branch(format!("release-{i}")),
            Sha::parse(&format!("{:040x}", 0xfeed_0000 + i)).expect("valid"),
            Trigger::Push { pusher: None },
            channel.clone(),
            created,
        );
        d.state = state;
        d.seq = i as u64 + 1;
        d
    };
    let running = record(0, DeploymentState::Queued);
    let queue: Vec<Deployment> = (1..=pending)
        .map(|i| record(i, DeploymentState::Ready))
        .collect();
    let key = LaneKey {
        repository: repo,
        environment: Environment::Staging,
    };
    let mut lane = LaneRecord::empty(key, now);
    lane.running = Some(running.id.clone());
    lane.dispatched_at = Some(now.plus_secs(-60));
    lane.dispatches = 1;
    (lane, queue, running)
}

fn lanes(c: &mut Criterion) {
    use deploybot_app::lanes::{apply, intent_of};
    use deploybot_core::invoke::FunctionName;
    use deploybot_core::lane::{Ancestry, LaneEvent, LaneSnapshot, decide};
    use deploybot_core::ports::{DeploymentStore, LaneStore};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("lane");
    for pending in [1usize, 10, 100] {
        let (lane, queue, running) = lane_world(pending);
        let snapshot = LaneSnapshot {
            lane: lane.lane.clone(),
            version: lane.version,
            running: Some(intent_of(&running, &lane)),
            pending: queue.iter().map(|d| intent_of(d, &lane)).collect(),
            current: None,
            lock: None,
            bad: Vec::new(),
            now: Timestamp::from_secs(NOW_SECS),
        };
        let ancestry = Ancestry::new();
        group.bench_with_input(
            BenchmarkId::new("decide", pending),
            &snapshot,
            |b, snapshot| b.iter(|| decide(black_box(snapshot), &LaneEvent::Drain, &ancestry)),
        );

        let store = Arc::new(MemoryStore::new());
        runtime.block_on(async {
            store.save_lane(&lane).await.expect("saves");
            store.insert_deployment(&running).await.expect("inserts");
            for d in &queue {
                store.insert_deployment(d).await.expect("inserts");
            }
        });
        let functions = world::state(
            store.clone(),
            Arc::new(NullInvoker::default()),
            Arc::new(FixedClock),
        );
        let state = functions
            .state(FunctionName::GithubDeploymentCreate)
            .clone();
        let key = lane.lane.clone();
        // The first drain settles the lane (every branch is its own source: nothing is
        // superseded; the slot is taken: nothing goes); the measured ones change nothing.
        runtime
            .block_on(apply(&state, &key, &LaneEvent::Drain))
            .expect("applies");
        group.bench_with_input(
            BenchmarkId::new("read_and_decide", pending),
            &key,
            |b, key| {
                b.to_async(&runtime).iter(|| async {
                    apply(&state, key, &LaneEvent::Drain)
                        .await
                        .expect("applies")
                })
            },
        );
    }
    group.finish();
}

fn board(c: &mut Criterion) {
    use deploybot_app::wiring::Parts;
    use deploybot_core::board::{CookieKey, SESSION_COOKIE, Session};
    use deploybot_core::lane::{LaneKey, LaneRecord};
    use deploybot_core::ports::{DeploymentStore, GitHubUser, LaneStore};
    use deploybot_testkit::fakes::github::{FAKE_CLIENT_SECRET, FakeGitHub};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let n = 10_000;
    let store = Arc::new(MemoryStore::new());
    let repo = Repository::parse("acme/web").expect("valid");
    let github = FakeGitHub::new();
    github.add_repository(&repo, "main");
    github.add_person("dev-0", &[&repo]);
    let (cookie, deployment_path) = runtime.block_on(async {
        world::populate(store.as_ref(), n).await.expect("populates");
        // Each environment runs its newest successful deployment.
        let all = store
            .list_deployments(&repo, None, n + 1)
            .await
            .expect("lists");
        for environment in [
            Environment::Preview,
            Environment::Test,
            Environment::Staging,
            Environment::Production,
        ] {
            if let Some(d) = all
                .iter()
                .find(|d| d.environment == environment && d.state == DeploymentState::Success)
            {
                let mut lane = LaneRecord::empty(
                    LaneKey {
                        repository: repo.clone(),
                        environment,
                    },
                    Timestamp::from_secs(NOW_SECS),
                );
                lane.current = Some(d.id.clone());
                store.save_lane(&lane).await.expect("saves");
            }
        }
        let code = github.approve_sign_in("dev-0").expect("a code");
        let token = github.exchange_code(&code, "").await.expect("a token");
        let session = Session {
            login: GithubLogin::parse("dev-0").expect("valid"),
            token,
            expires_at: Timestamp::from_secs(NOW_SECS + 3600),
        };
        let cookie = format!(
            "{SESSION_COOKIE}={}",
            CookieKey::derive(FAKE_CLIENT_SECRET).seal(&session)
        );
        let path = format!("/repos/acme/web/deployments/{}", all[n / 2].id.as_str());
        (cookie, path)
    });
    let config = deploybot_app::AppConfig {
        board_cookie_key: Some(CookieKey::derive(FAKE_CLIENT_SECRET)),
        ..world::config()
    };
    let parts = Parts::new(Arc::new(FixedClock), config)
        .with_dyn_store(store.clone())
        .with_invoker(Arc::new(NullInvoker::default()))
        .with_github_user(Arc::new(github));
    let router = deploybot_app::wiring::Functions::wire(parts)
        .expect("wires")
        .router();
    let mut group = c.benchmark_group("board");
    for (page, path) in [
        ("grid", "/".to_owned()),
        ("repository", "/repos/acme/web".to_owned()),
        ("deployment", deployment_path),
    ] {
        group.bench_with_input(BenchmarkId::new(page, n), &path, |b, path| {
            b.to_async(&runtime).iter(|| {
                let router = router.clone();
                let request = axum::http::Request::get(path.as_str())
                    .header("host", "board.example")
                    .header("cookie", cookie.as_str())
                    .body(axum::body::Body::empty())
                    .expect("request");
                async move {
                    let response = router.oneshot(request).await.expect("answers");
                    let status = response.status();
                    let body = response.into_body().collect().await.expect("body");
                    assert!(status.is_success(), "{status}");
                    black_box(body.to_bytes().len())
                }
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = push_30kb, slash_parse, render_deployment, events, lanes, board
}
criterion_main!(benches);
