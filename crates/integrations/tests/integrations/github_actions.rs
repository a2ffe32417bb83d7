//! The GitHub Actions backend against wiremock: the dispatch's exact shape, its answers (with
//! and without the run), GitHub's refusals in words people can act on, and a run read back for
//! the watchdog. Run payloads follow GitHub's published examples of the workflow-runs API.

use deploybot_core::ci::CiTarget;
use deploybot_core::ports::{
    CiBackend, CiError, CiRun, Clock, PipelineParameters, PipelineRequest, PipelineStarted,
};
use deploybot_core::{DeploymentId, Environment, GitRef, Repository, Sha, Timestamp};
use deploybot_integrations::github::{DISPATCH_INPUTS, GitHubActions, GitHubClient, GitHubConfig};
use deploybot_integrations::http::{HttpPolicy, Sleeper};
use deploybot_testkit::fakes::github::{FAKE_APP_ID, TEST_ONLY_APP_PRIVATE_KEY_PEM};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::{body_partial_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Debug)]
struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_secs(1_700_000_000)
    }
}

#[derive(Debug, Default)]
struct RecordingSleeper(Mutex<Vec<Duration>>);

#[async_trait::async_trait]
impl Sleeper for RecordingSleeper {
    async fn sleep(&self, duration: Duration) {
        self.0.lock().expect("sleeper lock").push(duration);
    }
}

const SHA: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

fn deployment_id() -> DeploymentId {
    DeploymentId::new(Timestamp::from_secs(1_700_000_000), 7)
}

async fn github(server: &MockServer) -> GitHubActions {
    Mock::given(method("GET"))
        .and(path("/repos/acme/web/installation"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 77})))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/app/installations/77/access_tokens"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "token": "ghs_wiremock", "expires_at": "2030-01-01T00:00:00Z"
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/web"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 1296269, "name": "web", "full_name": "acme/web",
            "default_branch": "main", "private": true
        })))
        .mount(server)
        .await;
    let config = GitHubConfig::new(
        FAKE_APP_ID,
        SecretString::from(TEST_ONLY_APP_PRIVATE_KEY_PEM),
    )
    .with_api_url(&server.uri())
    .expect("url")
    .with_policy(HttpPolicy {
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        attempts: 2,
        backoff: Duration::from_millis(10),
        max_retry_after: Duration::from_secs(1),
    });
    let client = GitHubClient::new(config, Arc::new(FixedClock))
        .expect("client")
        .with_sleeper(Arc::new(RecordingSleeper::default()));
    GitHubActions::new(Arc::new(client))
}

fn request(workflow: &str) -> PipelineRequest {
    PipelineRequest {
        repository: Repository::parse("acme/web").expect("repository"),
        git_ref: GitRef::Branch("feature/login".into()),
        parameters: PipelineParameters {
            environment: Environment::parse("pr12").expect("environment"),
            version: "pr12-6dcb09b".into(),
            subdomain: Some("pr12".into()),
            url: Some("https://pr12.example.com".into()),
            sha: Sha::parse(SHA).expect("sha"),
            deployment_id: deployment_id(),
            rollback: false,
        },
        target: CiTarget::GitHubActions {
            workflow: workflow.into(),
        },
    }
}

/// A workflow run shaped like GitHub's example of `GET /repos/{o}/{r}/actions/runs/{id}`
/// (a realistic subset).
fn run(id: u64, status: &str, conclusion: Option<&str>, title: &str) -> Value {
    json!({
        "id": id,
        "name": "Deploy",
        "node_id": "MDEyOldvcmtmbG93IFJ1bjI2OTI4OQ==",
        "check_suite_id": 42,
        "head_branch": "main",
        "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
        "path": ".github/workflows/deploy.yml@main",
        "run_number": 562,
        "run_attempt": 1,
        "event": "workflow_dispatch",
        "display_title": title,
        "status": status,
        "conclusion": conclusion,
        "workflow_id": 159038,
        "url": format!("https://api.github.com/repos/acme/web/actions/runs/{id}"),
        "html_url": format!("https://github.com/acme/web/actions/runs/{id}"),
        "created_at": "2020-01-22T19:33:08Z",
        "updated_at": "2020-01-22T19:33:08Z",
        "run_started_at": "2020-01-22T19:33:08Z"
    })
}

#[tokio::test]
async fn a_dispatch_sends_the_deployments_facts_on_the_default_branch_and_asks_for_the_run() {
    let server = MockServer::start().await;
    let actions = github(&server).await;
    let id = deployment_id().to_string();
    Mock::given(method("POST"))
        .and(path(
            "/repos/acme/web/actions/workflows/deploy.yml/dispatches",
        ))
        .and(body_partial_json(json!({
            "ref": "main",
            "return_run_details": true,
            "inputs": {
                "environment": "pr12",
                "sha": SHA,
                "ref": "feature/login",
                "deployment_id": id,
                "version": "pr12-6dcb09b",
                "url": "https://pr12.example.com",
                "rollback": "false"
            }
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "workflow_run_id": 30433642,
            "run_url": "https://api.github.com/repos/acme/web/actions/runs/30433642",
            "html_url": "https://github.com/acme/web/actions/runs/30433642"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/web/actions/runs/30433642"))
        .respond_with(ResponseTemplate::new(200).set_body_json(run(
            30433642,
            "queued",
            None,
            &format!("deploy {id}"),
        )))
        .mount(&server)
        .await;
    let started = actions
        .start_pipeline(&request("deploy.yml"))
        .await
        .expect("dispatched");
    assert_eq!(
        started,
        PipelineStarted {
            id: "30433642".into(),
            number: 562,
            url: Some("https://github.com/acme/web/actions/runs/30433642".into()),
        }
    );
    // Exactly the documented inputs, no more.
    let sent = server.received_requests().await.unwrap_or_default();
    let dispatch = sent
        .iter()
        .find(|r| r.url.path().ends_with("/dispatches"))
        .expect("a dispatch");
    let body: Value = serde_json::from_slice(&dispatch.body).expect("json");
    let mut keys: Vec<&str> = body["inputs"]
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    let mut documented = DISPATCH_INPUTS.to_vec();
    documented.sort_unstable();
    assert_eq!(keys, documented);
}

#[tokio::test]
async fn an_older_github_is_asked_again_and_the_run_is_found_by_its_name() {
    let server = MockServer::start().await;
    let actions = github(&server).await;
    let id = deployment_id().to_string();
    Mock::given(method("POST"))
        .and(path("/repos/acme/web/actions/workflows/ship.yaml/dispatches"))
        .and(body_partial_json(json!({"return_run_details": true})))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "Invalid request.\n\n\"return_run_details\" is not a permitted key.",
            "documentation_url": "https://docs.github.com/enterprise-server@3.14/rest/actions/workflows#create-a-workflow-dispatch-event"
        })))
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(
            "/repos/acme/web/actions/workflows/ship.yaml/dispatches",
        ))
        .respond_with(ResponseTemplate::new(204))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/web/actions/workflows/ship.yaml/runs"))
        .and(query_param("event", "workflow_dispatch"))
        .and(query_param("branch", "main"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total_count": 2,
            "workflow_runs": [
                run(111, "in_progress", None, "deploy 1699999999-000001"),
                run(222, "queued", None, &format!("deploy {id}")),
            ]
        })))
        .mount(&server)
        .await;
    let started = actions
        .start_pipeline(&request("ship.yaml"))
        .await
        .expect("dispatched");
    assert_eq!(started.id, "222");
    assert_eq!(
        started.url.as_deref(),
        Some("https://github.com/acme/web/actions/runs/222")
    );
}

#[tokio::test]
async fn refusals_say_what_to_fix() {
    let server = MockServer::start().await;
    let actions = github(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/web/actions/workflows/deploy.yml/dispatches"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "Unexpected inputs provided: [\"deployment_id\"]",
            "documentation_url": "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event"
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(
            "/repos/acme/web/actions/workflows/missing.yml/dispatches",
        ))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "message": "Not Found",
            "documentation_url": "https://docs.github.com/rest"
        })))
        .mount(&server)
        .await;
    let Err(CiError::Rejected(text)) = actions.start_pipeline(&request("deploy.yml")).await else {
        panic!("a refusal");
    };
    assert!(text.contains("Unexpected inputs provided"), "{text}");
    assert!(
        text.contains("declare the inputs environment, sha, ref, deployment_id, version, url"),
        "{text}"
    );
    let Err(CiError::NotFound(text)) = actions.start_pipeline(&request("missing.yml")).await else {
        panic!("not found");
    };
    assert!(
        text.contains("no workflow `.github/workflows/missing.yml` on `main`"),
        "{text}"
    );
}

#[tokio::test]
async fn a_run_is_read_back_in_the_words_the_watchdog_reads() {
    let server = MockServer::start().await;
    let actions = github(&server).await;
    for (id, status, conclusion) in [
        (1u64, "in_progress", None),
        (2, "completed", Some("success")),
        (3, "completed", Some("timed_out")),
        (4, "completed", Some("cancelled")),
        (5, "waiting", None),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/web/actions/runs/{id}")))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(run(id, status, conclusion, "deploy x")),
            )
            .mount(&server)
            .await;
    }
    let mut seen = Vec::new();
    for id in 1..=5 {
        let workflows = actions
            .pipeline_workflows(&CiRun {
                backend: deploybot_core::ci::CiKind::GitHubActions,
                repository: Repository::parse("acme/web").expect("repository"),
                id: id.to_string(),
            })
            .await
            .expect("read");
        assert_eq!(workflows.len(), 1);
        assert_eq!(
            workflows[0].url,
            format!("https://github.com/acme/web/actions/runs/{id}")
        );
        seen.push(workflows[0].status.clone());
    }
    assert_eq!(
        seen,
        ["running", "success", "failed", "cancelled", "running"]
    );
    let missing = actions
        .pipeline_workflows(&CiRun {
            backend: deploybot_core::ci::CiKind::GitHubActions,
            repository: Repository::parse("acme/web").expect("repository"),
            id: "404".into(),
        })
        .await;
    assert!(matches!(missing, Err(CiError::NotFound(_))), "{missing:?}");
}

#[tokio::test]
async fn a_cancel_is_accepted_and_a_finished_run_has_nothing_to_stop() {
    let server = MockServer::start().await;
    let actions = github(&server).await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/web/actions/runs/1/cancel"))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/web/actions/runs/2/cancel"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({
            "message": "Cannot cancel a workflow run that is completed.",
            "documentation_url": "https://docs.github.com/rest/actions/workflow-runs#cancel-a-workflow-run"
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/web/actions/runs/3/cancel"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "message": "Resource not accessible by integration"
        })))
        .mount(&server)
        .await;
    let run = |id: &str| CiRun {
        backend: deploybot_core::ci::CiKind::GitHubActions,
        repository: Repository::parse("acme/web").expect("repository"),
        id: id.to_owned(),
    };
    assert_eq!(actions.cancel_run(&run("1")).await, Ok(()));
    assert_eq!(actions.cancel_run(&run("2")).await, Ok(()));
    let Err(CiError::Unauthorized(text)) = actions.cancel_run(&run("3")).await else {
        panic!("refused");
    };
    assert!(text.contains("`actions: write`"), "{text}");
}
