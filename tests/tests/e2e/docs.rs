//! The operator documentation checked against the code: the Slack app manifest, the GitHub App
//! manifest, the CircleCI example config, the policy and URL tables of docs/workflow.md, the
//! deploy workflow, and the rule that every shell command in the docs is either run by the
//! test command or marked as needing a real account.
//!
//! Behaviour is asked of the code itself wherever possible (the routers answer, the policy
//! decides, the CircleCI adapter sends), so a change on either side fails here until both say
//! the same.

use axum::Router;
use axum::http::StatusCode;
use deploybot_app::AppConfig;
use deploybot_app::wiring::{Functions, Parts};
use deploybot_core::command::{Command, Grammar};
use deploybot_core::policy::{
    Decision, ManualPlan, Policy, PullRequestAction, Refusal, WorkflowEvent,
};
use deploybot_core::ports::{CiBackend, Clock, PipelineParameters, PipelineRequest, SystemClock};
use deploybot_core::signature::SigningSecret;
use deploybot_core::urls::environment_url;
use deploybot_core::workflow_file::WorkflowFile;
use deploybot_core::{DeploymentId, Environment, GitRef, ProjectSettings, Repository, Sha};
use deploybot_integrations::circleci::{CircleCiClient, CircleCiConfig};
use deploybot_testkit::MemoryStore;
use deploybot_testkit::fakes::circleci::FakeCircleCi;
use deploybot_testkit::markdown::CodeBlock;
use deploybot_testkit::signing::{github_request, slack_json_request};
use serde_yaml_ng::Value as Yaml;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower::ServiceExt;

// ---- helpers ------------------------------------------------------------------------------

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the repository root")
        .to_path_buf()
}

fn read(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn yaml(relative: &str) -> Yaml {
    serde_yaml_ng::from_str(&read(relative))
        .unwrap_or_else(|e| panic!("{relative} is not YAML: {e}"))
}

fn json(relative: &str) -> serde_json::Value {
    serde_json::from_str(&read(relative)).unwrap_or_else(|e| panic!("{relative} is not JSON: {e}"))
}

fn yaml_str<'a>(value: &'a Yaml, what: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what} should be a string, is {value:?}"))
}

/// The rows of the first Markdown table whose header is exactly `header`, each cell trimmed.
fn table(markdown: &str, header: &[&str]) -> Vec<Vec<String>> {
    let cells = |line: &str| -> Vec<String> {
        let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
        inner.split('|').map(|c| c.trim().to_owned()).collect()
    };
    let lines: Vec<&str> = markdown.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_start().starts_with('|') && cells(l) == header)
        .unwrap_or_else(|| panic!("no table with header {header:?}"));
    let rows: Vec<Vec<String>> = lines[start + 2..]
        .iter()
        .take_while(|l| l.trim_start().starts_with('|'))
        .map(|l| cells(l))
        .collect();
    for row in &rows {
        assert_eq!(row.len(), header.len(), "row {row:?} of table {header:?}");
    }
    assert!(!rows.is_empty(), "table {header:?} is empty");
    rows
}

/// The text between the first pair of backticks.
fn code(cell: &str) -> &str {
    let rest = cell
        .split_once('`')
        .unwrap_or_else(|| panic!("no `code` in {cell:?}"))
        .1;
    rest.split_once('`')
        .unwrap_or_else(|| panic!("unclosed `code` in {cell:?}"))
        .0
}

/// Every `code` span of a cell.
fn codes(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

const SIGNING_SECRET: &str = "docs-test-signing-secret";

/// All HTTP routes of the functions, with every verification secret configured.
fn app_router() -> Router {
    let secret = SigningSecret::new(SIGNING_SECRET);
    let config = AppConfig {
        slack_signing_secret: Some(secret.clone()),
        github_webhook_secret: Some(secret.clone()),
        circleci_webhook_secret: Some(secret),
        ..AppConfig::default()
    };
    let parts = Parts::new(Arc::new(SystemClock), config).with_store(Arc::new(MemoryStore::new()));
    Functions::wire(parts)
        .expect("the memory store serves every table")
        .router()
}

async fn post_status(request: axum::http::Request<axum::body::Body>) -> StatusCode {
    app_router()
        .oneshot(request)
        .await
        .expect("the router answers every request")
        .status()
}

/// The status an unsigned, empty POST to `path` gets: 404 when nothing is mounted there.
async fn unsigned_post(path: &str) -> StatusCode {
    let request = axum::http::Request::builder()
        .method("POST")
        .uri(path)
        .body(axum::body::Body::empty())
        .expect("a valid request");
    post_status(request).await
}

const API_HOST_PLACEHOLDER: &str = "https://<api-host>";

/// The path of a documented request URL, which must start with the API host placeholder.
fn path_of(url: &str) -> String {
    let rest = url
        .strip_prefix(API_HOST_PLACEHOLDER)
        .unwrap_or_else(|| panic!("{url} should start with {API_HOST_PLACEHOLDER}"));
    rest.split('?').next().unwrap_or_default().to_owned()
}

/// Checks that every path is a route the HTTP functions mount: an unsigned request is
/// refused (401), where an unmounted path would be 404.
async fn assert_mounted(paths: &BTreeSet<String>) {
    assert_eq!(
        unsigned_post("/not/a/route").await,
        StatusCode::NOT_FOUND,
        "control: an unmounted path is 404"
    );
    for path in paths {
        assert_eq!(
            unsigned_post(path).await,
            StatusCode::UNAUTHORIZED,
            "{path}: an unsigned request should be refused by a mounted function"
        );
    }
}

// ---- Slack --------------------------------------------------------------------------------

fn slack_manifest() -> Yaml {
    yaml("docs/slack-app-manifest.yaml")
}

#[tokio::test]
async fn slack_manifest_urls_are_routes_the_functions_mount() {
    let manifest = slack_manifest();
    let commands = manifest["features"]["slash_commands"]
        .as_sequence()
        .expect("slash_commands is a list");
    let names: BTreeSet<&str> = commands
        .iter()
        .map(|c| yaml_str(&c["command"], "command"))
        .collect();
    assert_eq!(names, BTreeSet::from(["/cimon", "/deploy"]));
    for command in commands {
        assert_eq!(path_of(yaml_str(&command["url"], "url")), "/slack/command");
        assert_eq!(
            command["should_escape"].as_bool(),
            Some(false),
            "{command:?}"
        );
        assert!(
            command["usage_hint"]
                .as_str()
                .is_some_and(|h| !h.is_empty())
        );
    }
    let settings = &manifest["settings"];
    assert_eq!(
        settings["interactivity"]["is_enabled"].as_bool(),
        Some(true)
    );
    assert_eq!(
        path_of(yaml_str(
            &settings["interactivity"]["request_url"],
            "interactivity"
        )),
        "/slack/interactive"
    );
    assert_eq!(
        path_of(yaml_str(
            &settings["event_subscriptions"]["request_url"],
            "events"
        )),
        "/slack/event"
    );
    let paths = BTreeSet::from([
        "/slack/command".to_owned(),
        "/slack/interactive".to_owned(),
        "/slack/event".to_owned(),
    ]);
    assert_mounted(&paths).await;
}

/// A signed `event_callback` carrying an event of `kind` with none of its fields.
async fn slack_event_status(kind: &str) -> StatusCode {
    let body = serde_json::json!({
        "type": "event_callback",
        "event_id": format!("Ev-docs-{kind}"),
        "event": {"type": kind},
    });
    let secret = SigningSecret::new(SIGNING_SECRET);
    let request = slack_json_request(&secret, SystemClock.now().secs(), &body)
        .into_http_request("/slack/event")
        .expect("a valid request");
    post_status(request).await
}

#[tokio::test]
async fn slack_manifest_bot_events_are_ones_slack_event_acts_on() {
    // An event type slack-event does not handle is acknowledged and ignored (200) without
    // looking at its fields; one it handles is parsed, so without its fields it is refused as
    // malformed (400).
    assert_eq!(
        slack_event_status("reaction_added").await,
        StatusCode::OK,
        "control"
    );
    let manifest = slack_manifest();
    let events = manifest["settings"]["event_subscriptions"]["bot_events"]
        .as_sequence()
        .expect("bot_events is a list");
    assert!(!events.is_empty());
    for event in events {
        let kind = yaml_str(event, "bot event");
        assert_eq!(
            slack_event_status(kind).await,
            StatusCode::BAD_REQUEST,
            "{kind}: slack-event should act on it (a malformed one is refused)"
        );
    }
}

#[test]
fn slack_manifest_scopes_are_exactly_the_documented_list() {
    let manifest = slack_manifest();
    let scopes: Vec<&str> = manifest["oauth_config"]["scopes"]["bot"]
        .as_sequence()
        .expect("bot scopes are a list")
        .iter()
        .map(|s| yaml_str(s, "scope"))
        .collect();
    let unique: BTreeSet<&str> = scopes.iter().copied().collect();
    assert_eq!(unique.len(), scopes.len(), "duplicate scopes in {scopes:?}");
    assert!(
        manifest["oauth_config"]["scopes"]["user"].is_null(),
        "deploybot acts as its bot only: no user scopes"
    );
    let installation = read("docs/installation.md");
    let documented: BTreeSet<String> = table(&installation, &["scope", "why", "calls or events"])
        .iter()
        .map(|row| code(&row[0]).to_owned())
        .collect();
    let asked: BTreeSet<String> = unique.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(asked, documented, "manifest scopes vs docs/installation.md");
}

// ---- GitHub -------------------------------------------------------------------------------

fn github_manifest() -> serde_json::Value {
    json("docs/github-app-manifest.json")
}

#[tokio::test]
async fn github_manifest_webhook_url_is_a_route_the_functions_mount() {
    let manifest = github_manifest();
    let url = manifest["hook_attributes"]["url"]
        .as_str()
        .expect("hook_attributes.url");
    assert_eq!(path_of(url), "/github/webhook");
    assert_eq!(
        manifest["hook_attributes"]["active"],
        serde_json::json!(true)
    );
    assert_eq!(manifest["public"], serde_json::json!(false));
    assert_mounted(&BTreeSet::from([path_of(url)])).await;
}

#[tokio::test]
async fn github_manifest_callback_url_is_the_boards_sign_in_callback() {
    let manifest = github_manifest();
    let urls = manifest["callback_urls"]
        .as_array()
        .expect("callback_urls: the board's sign-in");
    assert_eq!(urls.len(), 1);
    let path = path_of(urls[0].as_str().expect("a URL"));
    assert_eq!(path, "/signin/callback");
    assert!(deploybot_core::profile::WEB_ROUTES.contains(&path.as_str()));
    // Mounted: a callback without a sign-in in progress gets the sign-in page (400), where an
    // unmounted path would be 404.
    let config = AppConfig {
        board_cookie_key: Some(deploybot_core::board::CookieKey::derive("secret")),
        ..AppConfig::default()
    };
    let parts = Parts::new(Arc::new(SystemClock), config).with_store(Arc::new(MemoryStore::new()));
    let router = Functions::wire(parts).expect("wires").router();
    let get = |path: &str| {
        axum::http::Request::builder()
            .method("GET")
            .uri(path)
            .header("host", "board.example")
            .body(axum::body::Body::empty())
            .expect("a valid request")
    };
    let answer = router.clone().oneshot(get(&path)).await.expect("answers");
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let missing = router.oneshot(get("/not/a/page")).await.expect("answers");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        manifest["request_oauth_on_install"],
        serde_json::json!(false)
    );
}

/// A signed delivery of `event` whose payload has none of the event's fields.
async fn github_event_status(event: &str) -> StatusCode {
    let secret = SigningSecret::new(SIGNING_SECRET);
    let request = github_request(
        &secret,
        event,
        &format!("docs-{event}"),
        &serde_json::json!({}),
    )
    .into_http_request("/github/webhook")
    .expect("a valid request");
    post_status(request).await
}

#[tokio::test]
async fn github_manifest_events_are_ones_github_webhook_acts_on() {
    // As for Slack: an event github-webhook ignores is answered 200 unread; one it acts on is
    // parsed, so an empty payload is refused as malformed (400).
    assert_eq!(github_event_status("star").await, StatusCode::OK, "control");
    let manifest = github_manifest();
    let events: Vec<&str> = manifest["default_events"]
        .as_array()
        .expect("default_events is a list")
        .iter()
        .map(|e| e.as_str().expect("event names are strings"))
        .collect();
    for event in &events {
        assert_eq!(
            github_event_status(event).await,
            StatusCode::BAD_REQUEST,
            "{event}: github-webhook should act on it (a malformed one is refused)"
        );
    }
    let documented: BTreeSet<String> = table(
        &read("docs/github-app.md"),
        &["event", "what deploybot does with it", "function"],
    )
    .iter()
    .map(|row| code(&row[0]).to_owned())
    .collect();
    let subscribed: BTreeSet<String> = events.iter().map(|e| (*e).to_owned()).collect();
    assert_eq!(
        subscribed, documented,
        "manifest events vs docs/github-app.md"
    );
}

#[test]
fn github_manifest_permissions_are_the_documented_table() {
    let manifest = github_manifest();
    let asked: BTreeMap<String, String> = manifest["default_permissions"]
        .as_object()
        .expect("default_permissions is an object")
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().expect("access is a string").to_owned(),
            )
        })
        .collect();
    let documented: BTreeMap<String, String> = table(
        &read("docs/github-app.md"),
        &["permission", "access", "why", "used by"],
    )
    .iter()
    .map(|row| {
        let access = match row[1].as_str() {
            "read" => "read",
            "read and write" => "write",
            other => panic!("unknown access {other:?}"),
        };
        (code(&row[0]).to_owned(), access.to_owned())
    })
    .collect();
    assert_eq!(
        asked, documented,
        "manifest permissions vs docs/github-app.md"
    );
}

// ---- CircleCI -----------------------------------------------------------------------------

fn circleci_example() -> Yaml {
    yaml("docs/circleci/config.example.yml")
}

/// The parameter names the CircleCI adapter puts into a pipeline request (with every
/// optional parameter present), as the fake CircleCI received them over HTTP.
async fn parameters_the_adapter_sends() -> BTreeSet<String> {
    let fake = FakeCircleCi::new();
    let server = fake.serve().await;
    let client = CircleCiClient::new(
        CircleCiConfig::new(secrecy::SecretString::from("docs-test-token"))
            .with_api_url(server.base_url()),
    )
    .expect("the client builds");
    let request = PipelineRequest {
        repository: Repository::parse("acme/web").expect("valid"),
        git_ref: GitRef::Branch("release-1.2".into()),
        parameters: PipelineParameters {
            environment: Environment::Test,
            version: "test-0123456789".into(),
            subdomain: Some("test".into()),
            url: Some("https://test.example.com/".into()),
            sha: Sha::parse("0123456789abcdef0123456789abcdef01234567").expect("valid"),
            deployment_id: DeploymentId::parse("000000000000000100000002").expect("valid"),
            rollback: false,
        },
        target: Default::default(),
    };
    client
        .start_pipeline(&request)
        .await
        .expect("the fake starts the pipeline");
    let pipelines = fake.pipelines();
    assert_eq!(pipelines.len(), 1);
    pipelines[0].parameters.keys().cloned().collect()
}

#[tokio::test]
async fn circleci_example_declares_exactly_the_parameters_the_adapter_sends() {
    let config = circleci_example();
    assert_eq!(config["version"].as_f64(), Some(2.1));
    let declared = config["parameters"]
        .as_mapping()
        .expect("top-level parameters");
    let names: BTreeSet<String> = declared
        .iter()
        .map(|(k, _)| yaml_str(k, "parameter name").to_owned())
        .collect();
    assert_eq!(names, parameters_the_adapter_sends().await);
    for (name, spec) in declared {
        if yaml_str(name, "parameter name") == "rollback" {
            assert_eq!(spec["type"].as_str(), Some("boolean"), "rollback");
            assert_eq!(
                spec["default"].as_bool(),
                Some(false),
                "rollback: default false"
            );
            continue;
        }
        assert_eq!(spec["type"].as_str(), Some("string"), "{name:?}");
        assert_eq!(spec["default"].as_str(), Some(""), "{name:?}: default \"\"");
    }
}

#[test]
fn circleci_example_deploys_only_for_deploybot_and_checks_out_the_sha() {
    let config = circleci_example();
    let trigger = "<< pipeline.parameters.deployment_id >>";
    let workflows = config["workflows"].as_mapping().expect("workflows");
    let mut deploy_jobs = Vec::new();
    for (name, workflow) in workflows {
        let name = yaml_str(name, "workflow name");
        match (workflow["when"].as_str(), workflow["unless"].as_str()) {
            (Some(when), None) => {
                assert_eq!(when, trigger, "{name}");
                for job in workflow["jobs"].as_sequence().expect("jobs") {
                    let job = job
                        .as_str()
                        .map(str::to_owned)
                        .or_else(|| {
                            job.as_mapping()
                                .and_then(|m| m.keys().next())
                                .and_then(Yaml::as_str)
                                .map(str::to_owned)
                        })
                        .expect("a job reference");
                    deploy_jobs.push(job);
                }
            }
            (None, Some(unless)) => assert_eq!(unless, trigger, "{name}"),
            other => panic!(
                "workflow {name}: needs exactly one of when/unless on {trigger}, has {other:?}"
            ),
        }
    }
    assert!(
        !deploy_jobs.is_empty(),
        "a workflow runs when deploybot triggers the pipeline"
    );

    for job_name in deploy_jobs {
        let job = &config["jobs"][job_name.as_str()];
        // Names that stand for the sha in this job: the parameter itself and any variable set
        // from it.
        let sha_param = "<< pipeline.parameters.sha >>";
        let mut sha_refs = vec![sha_param.to_owned()];
        if let Some(env) = job["environment"].as_mapping() {
            for (var, value) in env {
                if value.as_str() == Some(sha_param) {
                    let var = yaml_str(var, "variable");
                    sha_refs.push(format!("${var}"));
                    sha_refs.push(format!("${{{var}}}"));
                }
            }
        }
        let steps = job["steps"].as_sequence().expect("steps");
        let checkout = steps
            .iter()
            .position(|s| s.as_str() == Some("checkout"))
            .unwrap_or_else(|| panic!("{job_name}: no checkout step"));
        let exact = steps[checkout + 1..].iter().any(|step| {
            let command = step["run"]["command"]
                .as_str()
                .or(step["run"].as_str())
                .unwrap_or("");
            command.lines().any(|line| {
                line.contains("git checkout") && sha_refs.iter().any(|r| line.contains(r.as_str()))
            })
        });
        assert!(
            exact,
            "{job_name}: after checkout, `git checkout` the sha parameter"
        );
        // The example shows every parameter in use.
        let text = serde_yaml_ng::to_string(job).expect("serialises");
        for parameter in ["environment", "version", "subdomain", "url"] {
            assert!(
                text.contains(&format!("<< pipeline.parameters.{parameter} >>")),
                "{job_name} does not use `{parameter}`"
            );
        }
    }
}

#[tokio::test]
async fn circleci_doc_webhook_urls_are_routes_the_functions_mount() {
    let doc = read("docs/circleci.md");
    let paths: BTreeSet<String> = doc
        .split_whitespace()
        .map(|w| w.trim_start_matches(['`', '(']))
        .filter(|w| w.starts_with(API_HOST_PLACEHOLDER))
        .map(|w| path_of(w.trim_end_matches(['`', ')', ',', '.'])))
        .collect();
    assert_eq!(paths, BTreeSet::from(["/circleci/webhook".to_owned()]));
    assert_mounted(&paths).await;
}

// ---- docs/workflow.md ---------------------------------------------------------------------

fn workflow_doc() -> String {
    read("docs/workflow.md")
}

fn sha(c: char) -> Sha {
    Sha::parse(&c.to_string().repeat(40)).expect("valid sha")
}

/// The built-in workflow, and the same spelled out as a file (docs/configuration.md, "The
/// built-in workflow"): both must decide every example of docs/workflow.md alike.
fn builtin_policies() -> Vec<(&'static str, Policy)> {
    let doc = std::fs::read_to_string(repo_root().join("docs/configuration.md"))
        .expect("docs/configuration.md");
    let section = &doc[doc.find("## The built-in workflow").expect("the section")..];
    let start = section
        .find("```text\n")
        .expect("the file, as a text block")
        + "```text\n".len();
    let end = start + section[start..].find("```").expect("the block ends");
    let file = WorkflowFile::parse(&section[start..end]).expect("the spelled-out file parses");
    vec![
        ("the built-in workflow", Policy::default()),
        (
            "the built-in workflow spelled out as a file",
            Policy::from_file(file),
        ),
    ]
}

#[test]
fn workflow_event_examples_match_the_default_policy() {
    for (which, policy) in builtin_policies() {
        workflow_event_examples_match(which, &policy);
    }
}

fn workflow_event_examples_match(which: &str, policy: &Policy) {
    let rows = table(
        &workflow_doc(),
        &["event", "ref", "commits", "default branch", "outcome"],
    );
    for row in rows {
        let (event_cell, ref_cell, commits, default_branch, outcome) =
            (&row[0], code(&row[1]), &row[2], code(&row[3]), &row[4]);
        let (event, expected_ref, expected_sha) =
            if let Some(rest) = event_cell.strip_prefix("pull request #") {
                let (number, rest) = rest.split_once(' ').expect("pull request #N `action`");
                let number: u64 = number.parse().expect("a pull request number");
                let head_sha = sha('b');
                let event = WorkflowEvent::PullRequest {
                    action: PullRequestAction::parse(code(rest)),
                    number,
                    head_branch: ref_cell.to_owned(),
                    head_sha: head_sha.clone(),
                    from_fork: rest.contains("fork"),
                    draft: rest.contains("draft"),
                };
                (event, GitRef::Branch(ref_cell.to_owned()), head_sha)
            } else if event_cell.starts_with("push") {
                let deleted = event_cell.contains("deleted");
                let git_ref = GitRef::parse(ref_cell).expect("a full ref");
                let after = sha('a');
                let event = WorkflowEvent::Push {
                    git_ref: git_ref.clone(),
                    after: (!deleted).then(|| after.clone()),
                    deleted,
                    created: event_cell.contains("created"),
                    forced: event_cell.contains("forced"),
                    commit_count: commits.parse().expect("a number of commits"),
                    default_branch: default_branch.to_owned(),
                };
                (event, git_ref, after)
            } else {
                panic!("unknown event {event_cell:?}");
            };
        let decision = policy.decide(&event);
        let ok = if let Some(rest) = outcome.strip_prefix("deploys ") {
            let environment = Environment::parse(code(rest)).expect("an environment");
            decision
                == Decision::Deploy {
                    environment,
                    git_ref: expected_ref,
                    sha: expected_sha,
                }
        } else if let Some(rest) = outcome.strip_prefix("marks ") {
            let environment = Environment::parse(code(rest)).expect("an environment");
            decision == Decision::Deactivate { environment }
        } else if outcome == "ignored" {
            matches!(decision, Decision::Ignore { .. })
        } else if outcome.starts_with("declined") {
            matches!(decision, Decision::Decline { .. })
        } else {
            panic!("unknown outcome {outcome:?}");
        };
        assert!(
            ok,
            "docs/workflow.md row {row:?}: {which} decides {decision:?}"
        );
    }
}

#[test]
fn workflow_manual_examples_match_the_default_policy() {
    for (which, policy) in builtin_policies() {
        workflow_manual_examples_match(which, &policy);
    }
}

fn workflow_manual_examples_match(which: &str, policy: &Policy) {
    let grammar = Grammar::default();
    for row in table(&workflow_doc(), &["command", "outcome"]) {
        let (command, outcome) = (code(&row[0]), row[1].as_str());
        let Ok(Command::Deploy {
            git_ref,
            environment,
        }) = grammar.parse(grammar.command(), command)
        else {
            panic!("{command:?} is not a deploy command");
        };
        let plan = policy.plan_manual(&environment, git_ref.as_ref());
        let named = codes(outcome);
        let ok = match outcome {
            o if o.starts_with("deploys the head of the default branch") => {
                plan == Ok(ManualPlan::DefaultBranch)
            }
            o if o.starts_with("deploys the tag ") => {
                plan == Ok(ManualPlan::Ref {
                    git_ref: GitRef::Tag(named[0].to_owned()),
                    requires_success_in: None,
                })
            }
            o if o.starts_with("deploys ") => {
                let requires = (named.len() > 1)
                    .then(|| Environment::parse(named[1]).expect("an environment"));
                matches!(&plan, Ok(ManualPlan::Ref { git_ref, requires_success_in })
                    if git_ref.short_name() == named[0] && *requires_success_in == requires)
            }
            o if o.starts_with("promotes ") => {
                let from = Environment::parse(named[0]).expect("an environment");
                plan == Ok(ManualPlan::PromoteLatest { from })
            }
            "refused: a ref is needed" => matches!(plan, Err(Refusal::NeedsRef { .. })),
            "refused: not a matching tag" => matches!(plan, Err(Refusal::NotAMatchingTag { .. })),
            "refused: a pull-request environment" => {
                matches!(plan, Err(Refusal::PullRequestEnvironment { .. }))
            }
            other => panic!("unknown outcome {other:?}"),
        };
        assert!(ok, "docs/workflow.md row {row:?}: {which} plans {plan:?}");
    }
}

#[test]
fn workflow_quoted_refusal_is_the_one_people_get() {
    let doc = workflow_doc();
    let start = doc.find("*\"").expect("a quoted refusal") + 2;
    let end = start + doc[start..].find("\"*").expect("the quote ends");
    let quoted = doc[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let refusal = Policy::default()
        .plan_manual(&Environment::Production, Some(&GitRef::Name("main".into())))
        .expect_err("main is not a tag");
    assert_eq!(quoted, refusal.to_string());
}

#[test]
fn workflow_url_examples_match_the_url_rules() {
    for row in table(&workflow_doc(), &["settings", "environment", "URL"]) {
        let mut settings = ProjectSettings::default();
        if row[0] != "none" {
            for item in row[0].split(", ") {
                let (name, rest) = item.split_once(' ').expect("<setting> <value>");
                match name {
                    "basedomain" => settings.base_domain = Some(code(rest).to_owned()),
                    "urlseparator" => settings.url_separator = Some(code(rest).to_owned()),
                    "urlpattern" => settings.url_pattern = Some(code(rest).to_owned()),
                    "url" => {
                        let (environment, fqdn) = rest.split_once(' ').expect("url <env> `fqdn`");
                        let environment = Environment::parse(environment).expect("an environment");
                        settings.urls.insert(environment, code(fqdn).to_owned());
                    }
                    other => panic!("unknown setting {other:?}"),
                }
            }
        }
        let environment = Environment::parse(code(&row[1])).expect("an environment");
        let expected = (row[2] != "none").then(|| code(&row[2]).to_owned());
        assert_eq!(
            environment_url(&settings, &environment),
            expected,
            "docs/workflow.md row {row:?}"
        );
    }
}

// ---- the deploy workflow ------------------------------------------------------------------

#[test]
fn deploy_workflow_follows_ci_and_deploys_with_oidc() {
    let ci = yaml(".github/workflows/ci.yml");
    let ci_name = yaml_str(&ci["name"], "ci.yml name");
    let deploy = yaml(".github/workflows/deploy.yml");
    let run = &deploy["on"]["workflow_run"];
    let followed: Vec<&str> = run["workflows"]
        .as_sequence()
        .expect("workflow_run.workflows")
        .iter()
        .map(|w| yaml_str(w, "workflow"))
        .collect();
    assert_eq!(
        followed,
        [ci_name],
        "deploy.yml follows the CI workflow by its name"
    );
    assert_eq!(yaml_str(&run["branches"][0], "branch"), "main");
    // Read-only by default; only the deploy job may ask for an OIDC token.
    assert_eq!(deploy["permissions"]["id-token"].as_str(), None);
    assert_eq!(deploy["permissions"]["contents"].as_str(), Some("read"));
    let job = &deploy["jobs"]["deploy"];
    assert_eq!(job["permissions"]["id-token"].as_str(), Some("write"));
    assert_eq!(job["permissions"]["contents"].as_str(), Some("read"));
    assert!(
        deploy["jobs"]["gate"]["permissions"].is_null(),
        "the gate job keeps the read-only default"
    );

    let jobs = deploy["jobs"].as_mapping().expect("jobs");
    let steps: Vec<&Yaml> = jobs
        .iter()
        .flat_map(|(_, job)| job["steps"].as_sequence().into_iter().flatten())
        .collect();
    let credentials = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("aws-actions/configure-aws-credentials@"))
        })
        .expect("a configure-aws-credentials step");
    assert!(
        credentials["with"]["role-to-assume"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
    assert!(
        credentials["with"]["aws-access-key-id"].is_null(),
        "OIDC only: no long-lived keys"
    );
    let commands: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(commands.iter().any(|c| c.contains("sam build")));
    assert!(
        commands
            .iter()
            .any(|c| c.contains("scripts/smoke-deployed.sh")),
        "the deployed routes are smoke-checked"
    );
    assert!(
        commands
            .iter()
            .any(|c| c.contains("sam deploy --no-confirm-changeset --no-fail-on-empty-changeset"))
    );
    let text = read(".github/workflows/deploy.yml");
    assert!(
        !text.contains("AWS_SECRET_ACCESS_KEY"),
        "no long-lived keys"
    );
}

// ---- shell commands in the docs -----------------------------------------------------------

/// The operator docs whose shell commands are checked.
const OPERATOR_DOCS: [&str; 5] = [
    "docs/installation.md",
    "docs/operations.md",
    "docs/circleci.md",
    "docs/github-app.md",
    "docs/workflow.md",
];

const SHELL_LANGUAGES: [&str; 4] = ["sh", "bash", "shell", "console"];

/// Fenced code blocks: (info string, lines).
fn fenced_blocks(markdown: &str) -> Vec<CodeBlock> {
    deploybot_testkit::markdown::fenced_blocks(markdown).expect("every code block is closed")
}

#[test]
fn every_shell_command_in_the_docs_is_run_by_the_test_command_or_marked() {
    let test_command = read("scripts/test");
    let mut checked = 0;
    for doc in OPERATOR_DOCS {
        let text = read(doc);
        for (info, lines) in fenced_blocks(&text) {
            assert!(
                !info.is_empty(),
                "{doc}: every code block names its language"
            );
            if !SHELL_LANGUAGES.contains(&info.as_str()) {
                continue;
            }
            checked += 1;
            let marker = lines.first().map(String::as_str).unwrap_or_default();
            if marker.starts_with("# needs a real ") && marker.contains("account") {
                continue;
            }
            assert!(
                marker.starts_with("# scripts/test runs"),
                "{doc}: a shell block must start with `# needs a real ... account` or \
                 `# scripts/test runs ...`; this one starts with {marker:?}"
            );
            for command in lines
                .iter()
                .skip(1)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
            {
                assert!(
                    test_command.contains(command.as_str()),
                    "{doc}: `{command}` is marked as run by scripts/test, which does not run it"
                );
            }
        }
    }
    assert!(checked > 0, "the docs have shell blocks to check");
}

/// GitHub's anchor for a Markdown heading.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn links_between_the_docs_resolve() {
    let docs = repo_root().join("docs");
    let mut checked = 0;
    for doc in OPERATOR_DOCS {
        let text = read(doc);
        for (_, rest) in text.match_indices("](").map(|(i, _)| text.split_at(i + 2)) {
            let target = rest.split(')').next().unwrap_or_default();
            if target.starts_with("http://") || target.starts_with("https://") {
                continue;
            }
            let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
            let path = if file.is_empty() {
                repo_root().join(doc)
            } else {
                docs.join(file)
            };
            assert!(
                path.exists(),
                "{doc}: the link to {target} points at nothing"
            );
            checked += 1;
            if anchor.is_empty() {
                continue;
            }
            let target_text = std::fs::read_to_string(&path).expect("a Markdown file");
            let anchors: Vec<String> = target_text
                .lines()
                .filter_map(|l| l.strip_prefix('#'))
                .map(|l| slug(l.trim_start_matches('#')))
                .collect();
            assert!(
                anchors.iter().any(|a| a == anchor),
                "{doc}: no heading for #{anchor} in {file} (headings: {anchors:?})"
            );
        }
    }
    assert!(checked > 0);
}

// ---- GitHub Actions ------------------------------------------------------------------------

#[test]
fn the_github_actions_example_declares_exactly_the_inputs_deploybot_sends() {
    let text = read("docs/github-actions/deploy.example.yml");
    let workflow = yaml("docs/github-actions/deploy.example.yml");
    // `on:` is a plain key in YAML 1.2.
    let inputs = workflow["on"]["workflow_dispatch"]["inputs"]
        .as_mapping()
        .expect("workflow_dispatch inputs");
    let declared: BTreeSet<String> = inputs
        .iter()
        .map(|(k, _)| yaml_str(k, "input name").to_owned())
        .collect();
    let sent: BTreeSet<String> = deploybot_integrations::github::DISPATCH_INPUTS
        .iter()
        .map(|i| (*i).to_owned())
        .collect();
    assert_eq!(declared, sent);
    for (name, spec) in inputs {
        assert_eq!(spec["type"].as_str(), Some("string"), "{name:?}");
    }
    // The run name carries the deployment id, exactly as docs/github-actions.md says.
    assert_eq!(
        workflow["run-name"].as_str(),
        Some("deploy ${{ inputs.deployment_id }}")
    );
    // One group per environment, never cancelling a running deployment.
    assert_eq!(
        workflow["concurrency"]["group"].as_str(),
        Some("deploy-${{ github.event.inputs.environment }}")
    );
    assert_eq!(
        workflow["concurrency"]["cancel-in-progress"].as_bool(),
        Some(false)
    );
    // It deploys the commit it was given.
    let steps = workflow["jobs"]["deploy"]["steps"]
        .as_sequence()
        .expect("steps");
    let checkout = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/checkout@"))
        })
        .expect("a checkout step");
    assert_eq!(
        checkout["with"]["ref"].as_str(),
        Some("${{ github.event.inputs.sha }}")
    );
    // The page shows the file as it is.
    let page = read("docs/github-actions.md");
    assert!(
        page.contains(&format!("```yaml\n{}\n```", text.trim_end())),
        "docs/github-actions.md embeds docs/github-actions/deploy.example.yml verbatim"
    );
}
