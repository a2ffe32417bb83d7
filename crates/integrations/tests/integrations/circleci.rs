//! The CircleCI adapter against the fake CircleCI over HTTP (and wiremock for answers the fake does
//! not give): parameters exactly as docs/workflow.md lists them, links, every error mapping,
//! retries, and the fake's signed completion webhook.

use deploybot_core::ports::{
    CiBackend, CiError, CiRun, PipelineParameters, PipelineRequest, PipelineStarted,
};
use deploybot_core::signature::{SigningSecret, verify_circleci};
use deploybot_core::{DeploymentId, Environment, GitRef, Repository, Sha, Timestamp};
use deploybot_integrations::circleci::{CircleCiClient, CircleCiConfig};
use deploybot_integrations::http::{HttpPolicy, RecordingSleeper};
use deploybot_testkit::fakes::circleci::{CircleCiFailure, FakeCircleCi, PipelineTarget, call};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "circle-token-abc123";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

fn quick_policy() -> HttpPolicy {
    HttpPolicy {
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        attempts: 3,
        backoff: Duration::from_millis(10),
        max_retry_after: Duration::from_secs(5),
    }
}

fn client_for(api_url: &str, policy: HttpPolicy) -> (CircleCiClient, Arc<RecordingSleeper>) {
    let sleeper = Arc::new(RecordingSleeper::default());
    let config = CircleCiConfig::new(SecretString::from(TOKEN))
        .with_api_url(api_url)
        .with_policy(policy);
    let client = CircleCiClient::new(config)
        .expect("client builds")
        .with_sleeper(sleeper.clone());
    (client, sleeper)
}

fn deployment_id() -> DeploymentId {
    DeploymentId::new(Timestamp::from_secs(1_700_000_000), 42)
}

/// The request circleci-trigger makes for an environment (docs/workflow.md, "The CircleCI
/// pipeline").
fn request(environment: Environment, git_ref: GitRef, url: Option<&str>) -> PipelineRequest {
    let production = environment == Environment::Production;
    let version = match &git_ref {
        GitRef::Tag(tag) if production => tag.clone(),
        _ => format!("{environment}-{}", &SHA[..10]),
    };
    PipelineRequest {
        repository: Repository::parse("acme/web").expect("repository"),
        git_ref,
        parameters: PipelineParameters {
            subdomain: (!production).then(|| environment.to_string()),
            environment,
            version,
            url: url.map(str::to_owned),
            sha: Sha::parse(SHA).expect("sha"),
            deployment_id: deployment_id(),
            rollback: false,
        },
        target: Default::default(),
    }
}

fn branch(name: &str) -> GitRef {
    GitRef::branch(name).expect("branch")
}

#[tokio::test]
async fn starts_a_pipeline_with_the_spec_parameters() {
    let fake = FakeCircleCi::new();
    fake.require_token(TOKEN);
    let server = fake.serve().await;
    let (ci, _) = client_for(server.base_url(), quick_policy());

    let started = ci
        .start_pipeline(&request(
            Environment::PullRequest(12),
            branch("feature/login"),
            Some("https://pr12.acme.dev/"),
        ))
        .await
        .expect("started");

    let pipelines = fake.pipelines();
    assert_eq!(pipelines.len(), 1);
    let pipeline = &pipelines[0];
    assert_eq!(
        started,
        PipelineStarted {
            id: pipeline.id.clone(),
            number: 1,
            url: Some("https://app.circleci.com/pipelines/gh/acme/web/1".into()),
        }
    );
    assert_eq!(pipeline.project_slug, "gh/acme/web");
    assert_eq!(
        pipeline.target,
        PipelineTarget::Branch("feature/login".into())
    );
    assert_eq!(
        Value::Object(pipeline.parameters.clone()),
        json!({
            "environment": "pr12",
            "version": "pr12-0123456789",
            "subdomain": "pr12",
            "url": "https://pr12.acme.dev/",
            "sha": SHA,
            "deployment_id": deployment_id().to_string(),
            "rollback": false,
        })
    );

    let seen = &fake.requests()[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path_and_query, "/project/gh/acme/web/pipeline");
    assert_eq!(seen.header("circle-token"), Some(TOKEN));
    assert!(!seen.path_and_query.contains(TOKEN));
    assert!(!format!("{ci:?}").contains(TOKEN), "Debug shows no token");

    let second = ci
        .start_pipeline(&request(Environment::Preview, branch("main"), None))
        .await
        .expect("started");
    assert_eq!(second.number, 2, "numbers count up per project");
}

#[tokio::test]
async fn production_runs_on_the_tag_without_a_subdomain() {
    let fake = FakeCircleCi::new();
    let server = fake.serve().await;
    let (ci, _) = client_for(server.base_url(), quick_policy());
    let tag = GitRef::tag("v2.3.0").expect("tag");
    let started = ci
        .start_pipeline(&request(
            Environment::Production,
            tag,
            Some("https://www.acme.dev/"),
        ))
        .await
        .expect("started");
    let pipeline = fake.pipeline(&started.id).expect("stored");
    assert_eq!(pipeline.target, PipelineTarget::Tag("v2.3.0".into()));
    assert_eq!(
        Value::Object(pipeline.parameters),
        json!({
            "environment": "production",
            "version": "v2.3.0",
            "url": "https://www.acme.dev/",
            "sha": SHA,
            "deployment_id": deployment_id().to_string(),
            "rollback": false,
        })
    );
    let body: Value = serde_json::from_slice(&fake.requests()[0].body).expect("JSON");
    assert_eq!(body.get("branch"), None, "a tag, not a branch");
    assert_eq!(body["tag"], "v2.3.0");

    // Without a URL setting the parameter is left out too.
    let test = ci
        .start_pipeline(&request(Environment::Test, branch("release-1"), None))
        .await
        .expect("started");
    let parameters = fake.pipeline(&test.id).expect("stored").parameters;
    let mut names: Vec<&str> = parameters.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        vec![
            "deployment_id",
            "environment",
            "rollback",
            "sha",
            "subdomain",
            "version"
        ]
    );
}

#[tokio::test]
async fn workflows_link_to_the_app() {
    let fake = FakeCircleCi::new();
    fake.set_app_url("https://ci.example.test");
    fake.set_workflow_name("deploy-preview");
    let server = fake.serve().await;
    let config = CircleCiConfig::new(SecretString::from(TOKEN))
        .with_api_url(server.base_url())
        .with_app_url("https://ci.example.test/")
        .with_policy(quick_policy());
    let ci = CircleCiClient::new(config).expect("client builds");

    let started = ci
        .start_pipeline(&request(Environment::Preview, branch("main"), None))
        .await
        .expect("started");
    assert_eq!(
        started.url.as_deref(),
        Some("https://ci.example.test/pipelines/gh/acme/web/1")
    );
    let workflows = ci
        .pipeline_workflows(&run(&started.id))
        .await
        .expect("workflows");
    let stored = fake.pipeline(&started.id).expect("stored");
    assert_eq!(workflows.len(), 1);
    assert_eq!(workflows[0].id, stored.workflows[0].id);
    assert_eq!(workflows[0].name, "deploy-preview");
    assert_eq!(workflows[0].status, "running");
    assert_eq!(
        workflows[0].url,
        format!(
            "https://ci.example.test/pipelines/gh/acme/web/1/workflows/{}",
            stored.workflows[0].id
        )
    );
    assert_eq!(
        fake.requests()[1].path_and_query,
        format!("/pipeline/{}/workflow", started.id)
    );
    assert_eq!(fake.requests()[1].header("circle-token"), Some(TOKEN));
}

#[tokio::test]
async fn refusals_say_what_to_do() {
    let fake = FakeCircleCi::new();
    let server = fake.serve().await;
    let (ci, _) = client_for(server.base_url(), quick_policy());
    let preview = request(Environment::Preview, branch("main"), None);

    fake.fail_next_with(1, CircleCiFailure::parameter_not_declared("environment"));
    let Err(CiError::Rejected(text)) = ci.start_pipeline(&preview).await else {
        panic!("a 400 is a rejection");
    };
    assert!(text.contains("gh/acme/web"), "{text}");
    assert!(
        text.contains("Unexpected argument(s): environment"),
        "{text}"
    );
    assert!(
        text.contains("must be declared under `parameters:` in .circleci/config.yml"),
        "{text}"
    );

    fake.fail_next_with(1, CircleCiFailure::NotFound);
    assert_eq!(
        ci.start_pipeline(&preview).await,
        Err(CiError::NotFound(
            "project gh/acme/web is not followed on CircleCI, or the token cannot see it".into()
        ))
    );

    fake.require_token("some-other-token");
    assert_eq!(
        ci.start_pipeline(&preview).await,
        Err(CiError::Unauthorized(
            "CircleCI refused the token: check CIRCLECI_TOKEN".into()
        ))
    );
    fake.require_token(TOKEN);

    assert_eq!(
        ci.pipeline_workflows(&run("5034460f-c7c4-4c43-9457-de07e2029e7b"))
            .await,
        Err(CiError::NotFound(
            "pipeline 5034460f-c7c4-4c43-9457-de07e2029e7b is not known to CircleCI, or the token cannot see it"
                .into()
        ))
    );
    assert!(fake.pipelines().is_empty());
    assert_eq!(fake.calls().len(), 4, "refusals are not retried");
}

#[tokio::test]
async fn rate_limit_waits_retry_after_then_succeeds() {
    let fake = FakeCircleCi::new();
    let server = fake.serve().await;
    let (ci, sleeper) = client_for(server.base_url(), quick_policy());
    fake.rate_limit_next(1, 1);
    let started = ci
        .start_pipeline(&request(Environment::Preview, branch("main"), None))
        .await
        .expect("started after the rate limit");
    assert_eq!(started.number, 1);
    assert_eq!(
        fake.calls(),
        vec![call::START_PIPELINE, call::START_PIPELINE]
    );
    assert_eq!(sleeper.waits(), vec![Duration::from_secs(1)]);
    assert_eq!(fake.pipelines().len(), 1);

    fake.rate_limit_next(1, 60);
    assert_eq!(
        ci.pipeline_workflows(&run(&started.id)).await,
        Err(CiError::RateLimited {
            retry_after_secs: 60
        })
    );
    assert_eq!(sleeper.waits().len(), 1, "60 s is longer than allowed");
}

#[tokio::test]
async fn server_errors_retry_reads_but_never_a_pipeline_start() {
    let fake = FakeCircleCi::new();
    let server = fake.serve().await;
    let (ci, sleeper) = client_for(server.base_url(), quick_policy());

    let metrics = deploybot_testkit::metrics::captured().expect("the test's metric sink");
    let counted = || {
        metrics
            .lines("ProviderApiErrors", "Provider", "circleci")
            .iter()
            .filter(|l| l["Status"] == "502")
            .count()
    };
    let before = counted();
    fake.fail_next(1, 502);
    assert_eq!(
        ci.start_pipeline(&request(Environment::Preview, branch("main"), None))
            .await,
        Err(CiError::Server { status: 502 }),
        "a start is not repeated after a 5xx: it may have started a pipeline"
    );
    assert!(
        counted() > before,
        "the 502 is counted by provider and status"
    );
    assert_eq!(fake.calls(), vec![call::START_PIPELINE]);

    let started = ci
        .start_pipeline(&request(Environment::Preview, branch("main"), None))
        .await
        .expect("started");
    fake.fail_next(2, 503);
    let workflows = ci
        .pipeline_workflows(&run(&started.id))
        .await
        .expect("third attempt succeeds");
    assert_eq!(workflows.len(), 1);
    assert_eq!(
        fake.calls(),
        vec![
            call::START_PIPELINE,
            call::START_PIPELINE,
            call::PIPELINE_WORKFLOWS,
            call::PIPELINE_WORKFLOWS,
            call::PIPELINE_WORKFLOWS
        ]
    );
    assert_eq!(
        sleeper.waits(),
        vec![Duration::from_millis(10), Duration::from_millis(20)]
    );

    fake.fail_next(3, 500);
    assert_eq!(
        ci.pipeline_workflows(&run(&started.id)).await,
        Err(CiError::Server { status: 500 })
    );
}

#[tokio::test]
async fn timeouts_retry_reads_but_not_a_pipeline_start() {
    let fake = FakeCircleCi::new();
    let server = fake.serve().await;
    let (ci, _) = client_for(
        server.base_url(),
        HttpPolicy {
            timeout: Duration::from_millis(200),
            ..quick_policy()
        },
    );
    fake.set_delay(Some(Duration::from_secs(3)));
    assert_eq!(
        ci.start_pipeline(&request(Environment::Preview, branch("main"), None))
            .await,
        Err(CiError::Transport("CircleCI did not answer in time".into()))
    );
    assert_eq!(
        ci.pipeline_workflows(&run("5034460f-c7c4-4c43-9457-de07e2029e7b"))
            .await,
        Err(CiError::Transport("CircleCI did not answer in time".into()))
    );
    assert_eq!(
        fake.calls(),
        vec![
            call::START_PIPELINE,
            call::PIPELINE_WORKFLOWS,
            call::PIPELINE_WORKFLOWS,
            call::PIPELINE_WORKFLOWS
        ]
    );
}

/// An error's kind and numbers; the texts differ by design (the fake's direct answers carry
/// CircleCI's own message, the adapter words it for people: checked above).
fn kind(error: &CiError) -> String {
    match error {
        CiError::Unauthorized(_) => "Unauthorized".into(),
        CiError::NotFound(_) => "NotFound".into(),
        CiError::Rejected(_) => "Rejected".into(),
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn direct_port_and_http_agree() {
    async fn script(ci: &dyn CiBackend, fake: &FakeCircleCi) -> Vec<String> {
        let mut results = Vec::new();
        let mut record = |r: &dyn std::fmt::Debug| results.push(format!("{r:?}"));
        let first = ci
            .start_pipeline(&request(
                Environment::PullRequest(3),
                branch("feature/x"),
                Some("https://pr3.acme.dev/"),
            ))
            .await;
        record(
            &first
                .as_ref()
                .map(|p| (p.number, p.url.clone()))
                .map_err(kind),
        );
        let id = first.map(|p| p.id).unwrap_or_default();
        let workflows = ci.pipeline_workflows(&run(&id)).await;
        record(
            &workflows
                .map(|w| {
                    w.into_iter()
                        .map(|w| (w.name, w.status))
                        .collect::<Vec<_>>()
                })
                .map_err(|e| kind(&e)),
        );
        let production = request(
            Environment::Production,
            GitRef::tag("v1.0.0").expect("tag"),
            None,
        );
        record(
            &ci.start_pipeline(&production)
                .await
                .map(|p| p.number)
                .map_err(|e| kind(&e)),
        );
        for failure in [
            CircleCiFailure::parameter_not_declared("subdomain"),
            CircleCiFailure::NotFound,
            CircleCiFailure::Unauthorized,
            CircleCiFailure::Status(503),
            CircleCiFailure::RateLimited {
                retry_after_secs: 99,
            },
        ] {
            fake.fail_next_with(1, failure);
            record(
                &ci.start_pipeline(&production)
                    .await
                    .map(|p| p.number)
                    .map_err(|e| kind(&e)),
            );
        }
        fake.fail_next_with(1, CircleCiFailure::NotFound);
        record(
            &ci.pipeline_workflows(&run(&id))
                .await
                .map(|w| w.len())
                .map_err(|e| kind(&e)),
        );
        record(
            &ci.pipeline_workflows(&run("no-such-pipeline"))
                .await
                .map(|w| w.len())
                .map_err(|e| kind(&e)),
        );
        // Pipeline ids are random: compare everything else.
        let ids: Vec<String> = fake.pipelines().into_iter().map(|p| p.id).collect();
        results
            .into_iter()
            .map(|r| ids.iter().fold(r, |r, id| r.replace(id, "<pipeline id>")))
            .collect()
    }

    let direct = FakeCircleCi::new();
    let direct_results = script(&direct, &direct).await;

    let served = FakeCircleCi::new();
    let server = served.serve().await;
    let (client, _) = client_for(server.base_url(), quick_policy());
    let http_results = script(&client, &served).await;

    assert_eq!(direct_results, http_results);
    let summary = |fake: &FakeCircleCi| {
        fake.pipelines()
            .into_iter()
            .map(|p| {
                (
                    p.number,
                    p.project_slug,
                    p.target,
                    p.parameters,
                    p.workflows.len(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(summary(&direct), summary(&served));
    assert_eq!(direct.calls(), served.calls());
}

#[tokio::test]
async fn answers_the_fake_cannot_give() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/project/gh/acme/web/pipeline"))
        .and(header("circle-token", TOKEN))
        .respond_with(ResponseTemplate::new(201).set_body_string("{not json"))
        .up_to_n_times(1)
        .mount(&mock)
        .await;
    Mock::given(method("POST"))
        .and(path("/project/gh/acme/web/pipeline"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"message": "Permission denied"})),
        )
        .mount(&mock)
        .await;
    // Two pages of workflows.
    Mock::given(method("GET"))
        .and(path("/pipeline/p-1/workflow"))
        .and(query_param("page-token", "next-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [{"id": "w-2", "name": "notify", "status": "success", "pipeline_id": "p-1",
                       "pipeline_number": 7, "project_slug": "gh/acme/web",
                       "created_at": "2024-01-01T00:00:00Z", "started_by": "u"}],
            "next_page_token": null
        })))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/pipeline/p-1/workflow"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [{"id": "w-1", "name": "deploy", "status": "failed", "pipeline_id": "p-1",
                       "pipeline_number": 7, "project_slug": "gh/acme/web",
                       "created_at": "2024-01-01T00:00:00Z", "started_by": "u"}],
            "next_page_token": "next-1"
        })))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/pipeline/p-bad/workflow"))
        .respond_with(ResponseTemplate::new(400).set_body_string("Bad Request"))
        .mount(&mock)
        .await;
    let (ci, _) = client_for(&mock.uri(), quick_policy());
    let preview = request(Environment::Preview, branch("main"), None);

    assert!(matches!(
        ci.start_pipeline(&preview).await,
        Err(CiError::InvalidResponse(text)) if text.contains("the started pipeline")
    ));
    assert_eq!(
        ci.start_pipeline(&preview).await,
        Err(CiError::Unauthorized(
            "CircleCI refused the token: check CIRCLECI_TOKEN".into()
        ))
    );
    let workflows = ci
        .pipeline_workflows(&run("p-1"))
        .await
        .expect("both pages");
    let names: Vec<(&str, &str)> = workflows
        .iter()
        .map(|w| (w.name.as_str(), w.url.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            (
                "deploy",
                "https://app.circleci.com/pipelines/gh/acme/web/7/workflows/w-1"
            ),
            (
                "notify",
                "https://app.circleci.com/pipelines/gh/acme/web/7/workflows/w-2"
            ),
        ]
    );
    assert_eq!(
        ci.pipeline_workflows(&run("p-bad")).await,
        Err(CiError::Rejected(
            "CircleCI refused the request for pipeline p-bad: Bad Request".into()
        ))
    );
    // A pipeline id is one path segment, whatever it holds.
    let _ = ci.pipeline_workflows(&run("../project/x")).await;
    let requests = mock.received_requests().await.expect("recorded");
    let last = requests.last().expect("a request");
    assert_eq!(last.url.path(), "/pipeline/..%2Fproject%2Fx/workflow");
}

#[tokio::test]
async fn completion_sends_a_signed_workflow_completed_webhook() {
    let fake = FakeCircleCi::new();
    let started = fake
        .start_pipeline(&request(Environment::Test, branch("release-2"), None))
        .await
        .expect("started");
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/circleci/webhook"))
        .and(header("circleci-event-type", "workflow-completed"))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&receiver)
        .await;
    let secret = SigningSecret::new("webhook-secret");

    let status = fake
        .complete(
            &started.id,
            "failed",
            &format!("{}/circleci/webhook", receiver.uri()),
            &secret,
        )
        .await
        .expect("delivered");
    assert_eq!(status, 202);

    let requests = receiver.received_requests().await.expect("recorded");
    let delivered = &requests[0];
    let signature = delivered
        .headers
        .get("circleci-signature")
        .and_then(|v| v.to_str().ok());
    assert_eq!(verify_circleci(&secret, signature, &delivered.body), Ok(()));
    let body: Value = serde_json::from_slice(&delivered.body).expect("JSON");
    assert_eq!(body["type"], "workflow-completed");
    assert_eq!(body["pipeline"]["id"], json!(started.id));
    assert_eq!(body["pipeline"]["number"], 1);
    assert_eq!(body["pipeline"]["vcs"]["revision"], SHA);
    assert_eq!(body["pipeline"]["vcs"]["branch"], "release-2");
    assert_eq!(body["workflow"]["status"], "failed");
    assert_eq!(body["project"]["slug"], "gh/acme/web");
    let workflows = fake
        .pipeline_workflows(&run(&started.id))
        .await
        .expect("workflows");
    assert_eq!(workflows[0].status, "failed");
    assert_eq!(body["workflow"]["url"], json!(workflows[0].url));
}

/// A CircleCI pipeline by id (the repository is not needed to find it).
fn run(id: &str) -> CiRun {
    CiRun {
        backend: deploybot_core::ci::CiKind::CircleCi,
        repository: deploybot_core::Repository::parse("acme/web").expect("repository"),
        id: id.to_owned(),
    }
}

// ---- project slugs and pipeline definitions ----------------------------------------------------

const APP_SLUG: &str =
    "circleci/8d1f3e2a-5c6b-4d7e-9f80-1a2b3c4d5e6f/a7c2b1d0-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
const DEFINITION: &str = "5b0e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b";

fn on(target: deploybot_core::ci::CiTarget, mut request: PipelineRequest) -> PipelineRequest {
    request.target = target;
    request
}

fn github_app_project() -> deploybot_core::ci::CiTarget {
    deploybot_core::ci::CiTarget::CircleCi {
        project_slug: Some(APP_SLUG.into()),
        definition_id: Some(DEFINITION.into()),
    }
}

#[tokio::test]
async fn a_github_app_project_starts_through_its_pipeline_definition() {
    let fake = FakeCircleCi::new();
    fake.set_definitions(APP_SLUG, &[DEFINITION]);
    let server = fake.serve().await;
    let (ci, _) = client_for(server.base_url(), quick_policy());

    // A tag: checkout.tag and config.tag.
    let started = ci
        .start_pipeline(&on(
            github_app_project(),
            request(Environment::Production, GitRef::Tag("v1.2.0".into()), None),
        ))
        .await
        .expect("started");
    let pipeline = fake.pipeline(&started.id).expect("recorded");
    assert_eq!(pipeline.project_slug, APP_SLUG);
    assert_eq!(pipeline.definition_id.as_deref(), Some(DEFINITION));
    assert_eq!(pipeline.target, PipelineTarget::Tag("v1.2.0".into()));
    assert_eq!(
        started.url.as_deref(),
        Some(format!("https://app.circleci.com/pipelines/{APP_SLUG}/1").as_str())
    );
    let sent = fake.requests();
    let seen = sent.last().expect("a request");
    assert_eq!(
        seen.path_and_query,
        format!("/project/{APP_SLUG}/pipeline/run")
    );
    let body: Value = serde_json::from_slice(&seen.body).expect("json");
    assert_eq!(body["definition_id"], DEFINITION);
    assert_eq!(body["config"], json!({"tag": "v1.2.0"}));
    assert_eq!(body["checkout"], json!({"tag": "v1.2.0"}));
    assert_eq!(body["parameters"]["environment"], "production");

    // A branch: checkout.branch and config.branch.
    let started = ci
        .start_pipeline(&on(
            github_app_project(),
            request(Environment::Test, branch("release-2"), None),
        ))
        .await
        .expect("started");
    let body: Value =
        serde_json::from_slice(&fake.requests().last().expect("a request").body).expect("json");
    assert_eq!(body["config"], json!({"branch": "release-2"}));
    assert_eq!(body["checkout"], json!({"branch": "release-2"}));
    // The pipeline is found by its id whatever the slug.
    let workflows = ci
        .pipeline_workflows(&run(&started.id))
        .await
        .expect("workflows");
    assert_eq!(workflows.len(), 1);
    assert!(workflows[0].url.contains(APP_SLUG), "{}", workflows[0].url);
}

#[tokio::test]
async fn an_unknown_definition_says_what_to_check() {
    let fake = FakeCircleCi::new();
    fake.set_definitions(APP_SLUG, &[DEFINITION]);
    let server = fake.serve().await;
    let (ci, _) = client_for(server.base_url(), quick_policy());
    let unknown = deploybot_core::ci::CiTarget::CircleCi {
        project_slug: Some(APP_SLUG.into()),
        definition_id: Some("00000000-0000-4000-8000-000000000000".into()),
    };
    let Err(CiError::NotFound(text)) = ci
        .start_pipeline(&on(
            unknown,
            request(Environment::Test, branch("main"), None),
        ))
        .await
    else {
        panic!("not found");
    };
    assert!(
        text.contains("knows no pipeline definition 00000000-0000-4000-8000-000000000000"),
        "{text}"
    );
    assert!(text.contains("definition_id"), "{text}");
    assert!(fake.pipelines().is_empty());
}

#[tokio::test]
async fn a_bitbucket_slug_uses_its_own_project_path() {
    let fake = FakeCircleCi::new();
    let server = fake.serve().await;
    let (ci, _) = client_for(server.base_url(), quick_policy());
    let bitbucket = deploybot_core::ci::CiTarget::CircleCi {
        project_slug: Some("bb/acme/web-bb".into()),
        definition_id: None,
    };
    let started = ci
        .start_pipeline(&on(
            bitbucket,
            request(Environment::Test, branch("main"), None),
        ))
        .await
        .expect("started");
    assert_eq!(
        fake.requests().last().map(|r| r.path_and_query.clone()),
        Some("/project/bb/acme/web-bb/pipeline".to_owned())
    );
    assert_eq!(
        fake.pipeline(&started.id).map(|p| p.project_slug),
        Some("bb/acme/web-bb".to_owned())
    );
}
