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

/// Store calls of the lane paths: a push's intent stored, the lane drained and its deployment
/// dispatched (with every function the chain invokes, in process, against the fakes), its
/// success recorded and the lane freed, and a watchdog sweep with nothing due. The repository
/// is `org0/service-0` of the populated world (whose `n` deployments belong to `acme/web`, all
/// of them successes of its environments, which a real environment never holds at once);
/// `queued` other lanes of `org0/service-0` each hold a waiting intent.
async fn lane_counts_at(n: usize, queued: usize) -> Vec<(&'static str, Counts)> {
    use deploybot_app::wiring::Parts;
    use deploybot_core::invoke::{
        self, DeploymentCreateRequest, DeploymentStatusRequest, NewDeploymentRequest,
    };
    use deploybot_core::{
        Deployment, DeploymentId, DeploymentState, Environment, GitRef, Repository, Sha,
        SlackChannelId, Timestamp, Trigger,
    };
    use deploybot_testkit::fakes::{circleci::FakeCircleCi, github::FakeGitHub, slack::FakeSlack};

    let memory = Arc::new(MemoryStore::new());
    world::populate(memory.as_ref(), n)
        .await
        .expect("populates");
    let repo = Repository::parse("org0/service-0").expect("valid");
    let channel = SlackChannelId::parse("C00000000").expect("valid");
    let now = Timestamp::from_secs(NOW_SECS);
    for i in 0..queued {
        let mut d = Deployment::new(
            repo.clone(),
            DeploymentId::new(now.plus_secs(-600), 90_000 + i as u32),
            Environment::PullRequest(10_000 + i as u64),
            GitRef::Branch(format!("feature-{i}")),
            Sha::parse(&format!("{:040x}", 0xabc_0000 + i)).expect("valid"),
            Trigger::PullRequest {
                number: 10_000 + i as u64,
                url: None,
            },
            channel.clone(),
            now.plus_secs(-600),
        );
        d.state = DeploymentState::Ready;
        d.seq = 1;
        memory.insert_deployment(&d).await.expect("inserts");
    }
    let github = FakeGitHub::new();
    github.add_repository(&repo, "main");
    let sha = Sha::parse(&"e".repeat(40)).expect("valid");
    github.set_branch(&repo, "main", &sha, None);
    let ci = FakeCircleCi::new();
    let counting = Arc::new(CountingStore::new(memory));
    let parts = Parts::new(Arc::new(FixedClock), world::config())
        .with_store(counting.clone())
        .with_github(Arc::new(github))
        .with_slack(Arc::new(FakeSlack::new()))
        .with_ci(Arc::new(ci));
    let functions = deploybot_app::wiring::Functions::wire(parts).expect("wires");
    let invoker = functions.invoker().clone();

    let mut out = Vec::new();
    counting.reset();
    let id = DeploymentId::new(now, 7);
    let create = DeploymentCreateRequest::New(NewDeploymentRequest {
        repository: repo.clone(),
        deployment_id: id.clone(),
        environment: Environment::Preview,
        git_ref: GitRef::Branch("main".into()),
        sha,
        trigger: Trigger::Push { pusher: None },
        commit_author: None,
        pr_url: None,
        channel,
        check_workflow_file: None,
    });
    let created = invoke::call(&invoker, &create).await.expect("creates");
    invoker.wait_idle().await;
    assert_eq!(created.state, Some(DeploymentState::Created), "dispatched");
    out.push(("intent stored, lane drained, dispatched", counting.counts()));

    counting.reset();
    let success = DeploymentStatusRequest {
        repository: repo,
        deployment_id: id,
        state: DeploymentState::Success,
        log_url: None,
        environment_url: None,
        description: None,
        from_github: false,
        finished_workflow: None,
    };
    invoke::call(&invoker, &success).await.expect("records");
    invoker.wait_idle().await;
    out.push(("success recorded, lane freed", counting.counts()));

    counting.reset();
    invoke::call(&invoker, &DeploymentCreateRequest::Watchdog)
        .await
        .expect("sweeps");
    out.push(("watchdog sweep, nothing due", counting.counts()));
    out
}

#[tokio::test]
async fn lane_paths_cost_the_same_whatever_the_data_and_the_queue_elsewhere() {
    let small = lane_counts_at(10, 0).await;
    let large = lane_counts_at(10_000, 100).await;
    for ((name, at_small), (_, at_large)) in small.iter().zip(&large) {
        assert_eq!(
            at_small, at_large,
            "{name}: store calls at 10 and no queue vs 10 000 and 100 queued elsewhere"
        );
    }
    let sweep = &small[2].1;
    assert_eq!(
        sweep,
        &Counts::from([("due_lanes", 1), ("waiting_deployments", 1)]),
        "a sweep with nothing due reads the two due-time indexes only"
    );
    // What each path costs, for docs/performance.md.
    for (name, counts) in &small {
        let total: u64 = counts.values().sum();
        println!("{name}: {total} store calls: {counts:?}");
    }
}
