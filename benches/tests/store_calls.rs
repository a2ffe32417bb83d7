//! Store calls per handled event are the same at 10 and at 10 000 projects, users and
//! deployments (docs/data-model.md: no request path scans, so the cost of an event does not grow
//! with the data). Counts, not times: deterministic, so an honest test.

use axum::http::StatusCode;
use deploybot_benches::payloads::{
    circleci_request, github_request, push_payload_30k, slash_request, workflow_completed_body,
};
use deploybot_benches::world::{self, FixedClock, NOW_SECS, NullInvoker};
use deploybot_core::ports::{DeploymentStore, ProjectStore, UserStore};
use deploybot_testkit::signing::{RouterAnswer, SignedRequest, send_to_router};
use deploybot_testkit::{CountingStore, MemoryStore};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One kind of event: its endpoint, the request, and the status it must get.
struct Event {
    name: &'static str,
    path: &'static str,
    request: SignedRequest,
    status: StatusCode,
}

fn events() -> Vec<Event> {
    let mut pr = deploybot_testkit::fixtures::fixture_json("github/pull_request.opened.json")
        .expect("fixture");
    pr["number"] = 77.into();
    vec![
        Event {
            name: "github push to main (30 KB)",
            path: "/github/webhook",
            request: github_request("push", "d-push", push_payload_30k()),
            status: StatusCode::ACCEPTED,
        },
        Event {
            name: "github pull_request opened",
            path: "/github/webhook",
            request: github_request("pull_request", "d-pr", pr.to_string().into_bytes()),
            status: StatusCode::ACCEPTED,
        },
        Event {
            name: "circleci workflow-completed",
            path: "/circleci/webhook",
            request: circleci_request(workflow_completed_body("e-1")),
            status: StatusCode::ACCEPTED,
        },
        Event {
            name: "slash list",
            path: "/slack/command",
            request: slash_request("list", NOW_SECS),
            status: StatusCode::OK,
        },
        Event {
            name: "slash list staging",
            path: "/slack/command",
            request: slash_request("list staging", NOW_SECS),
            status: StatusCode::OK,
        },
        Event {
            name: "slash deploy main to preview",
            path: "/slack/command",
            request: slash_request("deploy main to preview", NOW_SECS),
            status: StatusCode::OK,
        },
        Event {
            name: "slash config",
            path: "/slack/command",
            request: slash_request("config", NOW_SECS),
            status: StatusCode::OK,
        },
    ]
}

type Counts = BTreeMap<&'static str, u64>;

/// Store calls and invocations of each event, handled once each in a world of `n`.
async fn counts_at(n: usize) -> Vec<(&'static str, Counts, u64)> {
    let memory = Arc::new(MemoryStore::new());
    world::populate(memory.as_ref(), n)
        .await
        .expect("populates");
    let counting = Arc::new(CountingStore::new(memory));
    let invoker = Arc::new(NullInvoker::default());
    let state = world::state(counting.clone(), invoker.clone(), Arc::new(FixedClock));
    let router = world::router(state);
    let mut out = Vec::new();
    for event in events() {
        counting.reset();
        let invokes_before = invoker.calls();
        let request = event
            .request
            .into_http_request(event.path)
            .expect("valid request");
        let RouterAnswer { status, body } = send_to_router(&router, request).await;
        assert_eq!(
            status,
            event.status,
            "{} at {n}: {}",
            event.name,
            String::from_utf8_lossy(&body)
        );
        out.push((
            event.name,
            counting.counts(),
            invoker.calls() - invokes_before,
        ));
    }
    out
}

#[tokio::test]
async fn store_calls_per_event_do_not_grow_with_the_data() {
    let small = counts_at(10).await;
    let large = counts_at(10_000).await;
    for ((name, at_10, invokes_10), (_, at_10k, invokes_10k)) in small.iter().zip(&large) {
        assert!(!at_10.is_empty(), "{name}: the store is used");
        assert_eq!(at_10, at_10k, "{name}: store calls at 10 vs 10 000");
        assert_eq!(
            invokes_10, invokes_10k,
            "{name}: invocations at 10 vs 10 000"
        );
        let total: u64 = at_10.values().sum();
        assert!(
            total <= 8,
            "{name}: a handful of key/index calls, not {total}: {at_10:?}"
        );
    }
    // What each event costs, as docs/performance.md lists it.
    let by_name: BTreeMap<_, _> = small.iter().map(|(n, c, i)| (*n, (c, *i))).collect();
    let push = by_name["github push to main (30 KB)"];
    assert_eq!(
        push.0,
        &Counts::from([
            ("claim_delivery", 1),
            ("finish_delivery", 1),
            ("project_by_repository", 1),
        ])
    );
    assert_eq!(push.1, 1, "one invoke of github-deployment-create");
    let completed = by_name["circleci workflow-completed"];
    assert_eq!(
        completed.0,
        &Counts::from([
            ("claim_delivery", 1),
            ("deployment_by_pipeline", 1),
            ("finish_delivery", 1),
        ])
    );
    let list = by_name["slash list"];
    assert_eq!(
        list.0,
        &Counts::from([
            ("is_team_revoked", 1),
            ("list_deployments", 1),
            ("project_by_channel", 1)
        ])
    );
}

#[tokio::test]
async fn the_large_world_really_holds_ten_thousand_of_each() {
    let memory = MemoryStore::new();
    world::populate(&memory, 10_000).await.expect("populates");
    let repo = deploybot_core::Repository::parse("acme/web").expect("valid");
    let all = memory
        .list_deployments(&repo, None, 20_000)
        .await
        .expect("lists");
    assert_eq!(all.len(), 10_001);
    let last = deploybot_core::Repository::parse("org9999/service-9999").expect("valid");
    assert!(
        memory
            .project_by_repository(&last)
            .await
            .expect("reads")
            .is_some()
    );
    let user = deploybot_core::SlackUserId::parse("U00009999").expect("valid");
    assert!(memory.user_by_slack(&user).await.expect("reads").is_some());
}
