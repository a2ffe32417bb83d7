//! `deploybot-ops install` end to end against the fakes of Slack, GitHub and CircleCI and SSM
//! on moto (`DEPLOYBOT_DYNAMODB_URL`, started by `scripts/test` or `scripts/moto.sh`). A small
//! stand-in for the `slack-event` function answers Slack's URL challenge only when it is
//! signed with the signing secret stored in SSM at that moment, as the deployed function does.

use aws_sdk_ssm::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use deploybot_core::Timestamp;
use deploybot_core::signature::{SigningSecret, verify_slack};
use deploybot_ops::install::{InstallConfig, parameter};
use deploybot_ops::ssm::ParameterStore;
use deploybot_ops::{Asker, Browser, Installer, Printer, SecretAsk};
use deploybot_testkit::fakes::circleci::FakeCircleCi;
use deploybot_testkit::fakes::github::{FakeGitHub, TEST_ONLY_APP_PRIVATE_KEY_PEM};
use deploybot_testkit::fakes::server::FakeServer;
use deploybot_testkit::fakes::slack::FakeSlack;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn moto() -> String {
    match std::env::var("DEPLOYBOT_DYNAMODB_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "DEPLOYBOT_DYNAMODB_URL is not set: run through `scripts/test`, or alone with \
             `scripts/moto.sh cargo test -p deploybot-ops --test install`"
        ),
    }
}

fn sdk_config() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .endpoint_url(moto())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "moto",
        )))
        .behavior_version(BehaviorVersion::latest())
        .build()
}

fn unique_prefix() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "/deploybot-install-test/{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

const OPERATOR_SECRETS: [(SecretAsk, &str); 3] = [
    (
        SecretAsk::SlackConfigToken,
        "xoxe.xoxp-1-config-token-typed-once",
    ),
    (
        SecretAsk::SlackBotToken,
        "xoxb-1-bot-token-copied-after-install",
    ),
    (SecretAsk::CircleciToken, "CCIPAT_circleci-token-typed-once"),
];

/// The operator: answers from a table, or stops the run when asked for `stop_at`.
#[derive(Default)]
struct Operator {
    answers: BTreeMap<String, String>,
    stop_at: Option<SecretAsk>,
    asked: Mutex<Vec<SecretAsk>>,
}

impl Operator {
    fn answering_everything() -> Self {
        Self {
            answers: OPERATOR_SECRETS
                .iter()
                .map(|(k, v)| (format!("{k:?}"), (*v).to_owned()))
                .collect(),
            ..Self::default()
        }
    }

    fn asked(&self) -> Vec<SecretAsk> {
        self.asked.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

impl Asker for Operator {
    fn ask(&self, what: SecretAsk) -> Result<SecretString, String> {
        if let Ok(mut asked) = self.asked.lock() {
            asked.push(what);
        }
        if self.stop_at == Some(what) {
            return Err("the operator pressed Ctrl-C".into());
        }
        self.answers
            .get(&format!("{what:?}"))
            .map(|v| SecretString::from(v.as_str()))
            .ok_or_else(|| format!("{what:?} was not expected"))
    }
}

fn html_unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn attribute(html: &str, before: &str) -> Option<String> {
    let start = html.find(before)? + before.len();
    let end = html[start..].find('"')? + start;
    Some(html_unescape(&html[start..end]))
}

/// A browser: loads the installer's page, submits its form to (fake) GitHub and follows the
/// redirect back to the installer, as a person pressing "Create GitHub App" would.
#[derive(Default)]
struct TestBrowser {
    opened: Mutex<Vec<String>>,
}

impl Browser for TestBrowser {
    fn open(&self, url: &str) {
        if let Ok(mut opened) = self.opened.lock() {
            opened.push(url.to_owned());
        }
        let url = url.to_owned();
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let page = client
                .get(&url)
                .send()
                .await
                .expect("the form page")
                .text()
                .await;
            let page = page.expect("a page");
            let action = attribute(&page, "action=\"").expect("a form action");
            let manifest = attribute(&page, "name=\"manifest\" value=\"").expect("a manifest");
            let answer = client
                .post(action)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(serde_urlencoded::to_string([("manifest", manifest)]).expect("encodes"))
                .send()
                .await
                .expect("GitHub redirects back to the installer");
            assert!(answer.status().is_success(), "{}", answer.status());
        });
    }
}

/// The stand-in `slack-event` function: verifies with the secret in SSM now.
async fn serve_stack(store: ParameterStore) -> (String, tokio::task::JoinHandle<()>) {
    use axum::http::{HeaderMap, StatusCode};
    let handler = move |headers: HeaderMap, body: axum::body::Bytes| {
        let store = store.clone();
        async move {
            let stored = store
                .get(parameter::SLACK_SIGNING_SECRET)
                .await
                .ok()
                .flatten();
            let Some((secret, _)) = stored else {
                return (StatusCode::UNAUTHORIZED, String::new());
            };
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
            let now = Timestamp::from_secs(
                i64::try_from(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or_default(),
                )
                .unwrap_or_default(),
            );
            let verified = verify_slack(
                &SigningSecret::new(secret.expose_secret()),
                header("x-slack-request-timestamp"),
                header("x-slack-signature"),
                &body,
                now,
            );
            if verified.is_err() {
                return (StatusCode::UNAUTHORIZED, String::new());
            }
            let event: Value = serde_json::from_slice(&body).unwrap_or_default();
            let challenge = event.get("challenge").cloned().unwrap_or_default();
            (
                StatusCode::OK,
                serde_json::json!({"challenge": challenge}).to_string(),
            )
        }
    };
    let router = axum::Router::new().route("/slack/event", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (url, task)
}

struct World {
    slack: FakeSlack,
    github: FakeGitHub,
    circleci: FakeCircleCi,
    _servers: Vec<FakeServer>,
    _stack: tokio::task::JoinHandle<()>,
    store: ParameterStore,
    config: InstallConfig,
    _dir: tempfile::TempDir,
}

const PROJECT: &str = "gh/acme/web";

async fn world() -> World {
    let slack = FakeSlack::new();
    let github = FakeGitHub::new();
    let circleci = FakeCircleCi::new();
    let slack_server = slack.serve().await;
    let github_server = github.serve().await;
    let circleci_server = circleci.serve().await;
    let store = ParameterStore::new(&sdk_config(), &unique_prefix());
    let (api_url, stack) = serve_stack(store.clone()).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = InstallConfig {
        api_url,
        state_file: dir.path().join("deploybot-install.json"),
        slack_api_url: slack_server.base_url().to_owned(),
        github_api_url: github_server.base_url().to_owned(),
        github_web_url: github_server.base_url().to_owned(),
        github_org: Some("acme".into()),
        github_public: false,
        github_callback: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        github_wait: Duration::from_secs(20),
        circleci_api_url: circleci_server.base_url().to_owned(),
        circleci_projects: vec![PROJECT.into()],
        github_actions: true,
    };
    World {
        slack,
        github,
        circleci,
        _servers: vec![slack_server, github_server, circleci_server],
        _stack: stack,
        store,
        config,
        _dir: dir,
    }
}

impl World {
    async fn run(
        &self,
        operator: Arc<Operator>,
        browser: Arc<TestBrowser>,
    ) -> (Result<(), String>, Vec<String>) {
        let printer = Printer::quiet();
        let mut installer = Installer::new(
            self.config.clone(),
            self.store.clone(),
            operator,
            browser,
            printer.clone(),
        )
        .expect("the installer starts");
        let result = installer.run().await.map_err(|e| e.to_string());
        (result, printer.lines())
    }

    async fn value(&self, short: &str) -> Option<String> {
        self.store
            .get(short)
            .await
            .expect("moto answers")
            .map(|(v, _)| v.expose_secret().to_owned())
    }

    async fn versions(&self) -> Vec<(String, i64)> {
        let ssm = aws_sdk_ssm::Client::new(&sdk_config());
        let mut versions = Vec::new();
        for short in [
            parameter::SLACK_SIGNING_SECRET,
            parameter::SLACK_BOT_TOKEN,
            parameter::GITHUB_APP_ID,
            parameter::GITHUB_APP_PRIVATE_KEY,
            parameter::GITHUB_WEBHOOK_SECRET,
            parameter::GITHUB_APP_CLIENT_ID,
            parameter::GITHUB_APP_CLIENT_SECRET,
            parameter::CIRCLECI_TOKEN,
            parameter::CIRCLECI_WEBHOOK_SECRET,
        ] {
            let got = ssm
                .get_parameter()
                .name(self.store.name(short))
                .send()
                .await
                .expect("the parameter exists");
            let parameter = got.parameter().expect("a parameter");
            assert_eq!(
                parameter.r#type(),
                Some(&aws_sdk_ssm::types::ParameterType::SecureString),
                "{short}"
            );
            versions.push((short.to_owned(), parameter.version()));
        }
        versions
    }
}

fn assert_no_secret_printed(lines: &[String], secrets: &[String]) {
    for line in lines {
        for secret in secrets {
            assert!(
                !line.contains(secret.as_str()),
                "a secret was printed: {line}"
            );
        }
    }
}

#[tokio::test]
async fn one_run_creates_everything_and_a_second_run_changes_nothing() {
    let world = world().await;
    let operator = Arc::new(Operator::answering_everything());
    let (result, lines) = world.run(operator.clone(), Arc::default()).await;
    assert_eq!(result, Ok(()), "{lines:#?}");

    // Slack: created without events, signing secret stored, then events on (Slack's challenge
    // was answered with the stored secret), the bot token stored.
    let apps = world.slack.apps();
    assert_eq!(apps.len(), 1, "{apps:?}");
    let app = &apps[0];
    let create = world
        .slack
        .requests()
        .into_iter()
        .find(|r| r.path_and_query.ends_with("apps.manifest.create"))
        .expect("apps.manifest.create was called");
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&create.body).expect("a form");
    let first: Value = serde_json::from_str(&fields[0].1).expect("a JSON manifest");
    assert!(
        first.pointer("/settings/event_subscriptions").is_none(),
        "{first}"
    );
    assert_eq!(app.updates, 1);
    let event_url = format!("{}/slack/event", world.config.api_url);
    assert_eq!(
        app.manifest
            .pointer("/settings/event_subscriptions/request_url")
            .and_then(Value::as_str),
        Some(event_url.as_str())
    );
    assert_eq!(
        world
            .value(parameter::SLACK_SIGNING_SECRET)
            .await
            .as_deref(),
        Some(app.signing_secret.as_str())
    );
    assert_eq!(
        world.value(parameter::SLACK_BOT_TOKEN).await.as_deref(),
        Some("xoxb-1-bot-token-copied-after-install")
    );

    // GitHub: registered under the organisation through the form, converted once, stored.
    let registered = world.github.registered_apps();
    assert_eq!(registered.len(), 1);
    let github_app = &registered[0];
    assert!(github_app.converted);
    assert_eq!(github_app.owner, "acme");
    assert_eq!(
        github_app.manifest["hook_attributes"]["url"],
        format!("{}/github/webhook", world.config.api_url)
    );
    assert_eq!(
        world.value(parameter::GITHUB_APP_ID).await,
        Some(github_app.id.to_string())
    );
    // The board's sign-in client, from the same conversion.
    assert!(
        world
            .value(parameter::GITHUB_APP_CLIENT_ID)
            .await
            .is_some_and(|id| !id.is_empty())
    );
    assert!(
        world
            .value(parameter::GITHUB_APP_CLIENT_SECRET)
            .await
            .is_some_and(|secret| !secret.is_empty())
    );
    assert_eq!(
        world
            .value(parameter::GITHUB_APP_PRIVATE_KEY)
            .await
            .as_deref()
            .map(str::trim),
        Some(TEST_ONLY_APP_PRIVATE_KEY_PEM.trim())
    );
    assert_eq!(
        world
            .value(parameter::GITHUB_WEBHOOK_SECRET)
            .await
            .as_deref(),
        Some(github_app.webhook_secret.as_str())
    );
    let install_line = format!(
        "https://github.com/apps/{}/installations/new",
        github_app.slug
    );
    assert!(
        lines.iter().any(|l| l.contains(&install_line)),
        "{lines:#?}"
    );

    // CircleCI: one signed project webhook to the stack, its secret the one in SSM.
    let hooks = world.circleci.webhooks();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(
        hooks[0].url,
        format!("{}/circleci/webhook", world.config.api_url)
    );
    assert_eq!(hooks[0].events, ["workflow-completed", "job-completed"]);
    assert_eq!(hooks[0].scope_type, "project");
    assert_eq!(hooks[0].scope_id, world.circleci.project_id(PROJECT));
    assert_eq!(
        world
            .value(parameter::CIRCLECI_WEBHOOK_SECRET)
            .await
            .as_deref(),
        Some(hooks[0].signing_secret.as_str())
    );
    assert!(
        lines.iter().any(|l| l.contains("workflow_dispatch:")),
        "{lines:#?}"
    );

    let mut secrets: Vec<String> = OPERATOR_SECRETS
        .iter()
        .map(|(_, v)| (*v).to_owned())
        .collect();
    secrets.extend([
        app.signing_secret.clone(),
        github_app.webhook_secret.clone(),
        hooks[0].signing_secret.clone(),
        "PRIVATE KEY".to_owned(),
    ]);
    assert_no_secret_printed(&lines, &secrets);

    // Again: nothing asked, nothing created, nothing written.
    let versions = world.versions().await;
    let quiet_operator = Arc::new(Operator::default());
    let browser = Arc::new(TestBrowser::default());
    let (again, lines) = world.run(quiet_operator.clone(), browser.clone()).await;
    assert_eq!(again, Ok(()), "{lines:#?}");
    assert!(
        quiet_operator.asked().is_empty(),
        "{:?}",
        quiet_operator.asked()
    );
    assert!(browser.opened.lock().map(|o| o.is_empty()).unwrap_or(false));
    assert_eq!(world.slack.apps().len(), 1);
    assert_eq!(world.slack.apps()[0].updates, 1);
    assert_eq!(world.github.registered_apps().len(), 1);
    assert_eq!(world.circleci.webhooks().len(), 1);
    assert_eq!(world.versions().await, versions);
    assert!(lines.iter().any(|l| l.contains("exists")), "{lines:#?}");
    assert_no_secret_printed(&lines, &secrets);
}

#[tokio::test]
async fn a_run_stopped_after_the_slack_app_resumes_without_creating_it_again() {
    let world = world().await;
    let stopping = Arc::new(Operator {
        stop_at: Some(SecretAsk::SlackBotToken),
        ..Operator::answering_everything()
    });
    let (first, lines) = world.run(stopping, Arc::default()).await;
    assert!(first.is_err(), "{lines:#?}");
    assert_eq!(world.slack.apps().len(), 1);
    assert!(world.github.registered_apps().is_empty());
    assert_eq!(world.value(parameter::SLACK_BOT_TOKEN).await, None);

    let operator = Arc::new(Operator::answering_everything());
    let (second, lines) = world.run(operator.clone(), Arc::default()).await;
    assert_eq!(second, Ok(()), "{lines:#?}");
    // The app of the first run, its manifest not sent again; only the bot token was asked for
    // on Slack's side.
    assert_eq!(world.slack.apps().len(), 1);
    assert_eq!(world.slack.apps()[0].updates, 1);
    assert!(
        !operator.asked().contains(&SecretAsk::SlackConfigToken),
        "{:?}",
        operator.asked()
    );
    assert!(operator.asked().contains(&SecretAsk::SlackBotToken));
    assert_eq!(world.github.registered_apps().len(), 1);
    assert_eq!(world.circleci.webhooks().len(), 1);
    assert!(world.value(parameter::SLACK_BOT_TOKEN).await.is_some());
}

#[tokio::test]
async fn a_webhook_that_exists_on_circleci_is_found_not_duplicated() {
    let world = world().await;
    let (first, lines) = world
        .run(Arc::new(Operator::answering_everything()), Arc::default())
        .await;
    assert_eq!(first, Ok(()), "{lines:#?}");
    // The state file loses its CircleCI record (say, edited by hand): the list on CircleCI
    // still shows the webhook.
    let path = &world.config.state_file;
    let mut state: Value =
        serde_json::from_slice(&std::fs::read(path).expect("saved")).expect("JSON");
    state["circleci_webhooks"] = serde_json::json!({});
    std::fs::write(path, state.to_string()).expect("written");
    let (again, lines) = world
        .run(Arc::new(Operator::default()), Arc::default())
        .await;
    assert_eq!(again, Ok(()), "{lines:#?}");
    assert_eq!(world.circleci.webhooks().len(), 1);
    assert!(
        lines
            .iter()
            .any(|l| l.contains(PROJECT) && l.contains("exists")),
        "{lines:#?}"
    );
}

/// The manifests with the stack's URLs filled in (no network).
mod manifests {
    use deploybot_ops::manifests::*;
    use serde_json::Value;

    #[test]
    fn every_api_host_is_filled_and_events_come_only_when_asked() {
        let url = "https://abc.execute-api.eu-west-1.amazonaws.com";
        let without = slack_manifest(url, false).expect("parses");
        let text = without.to_string();
        assert!(!text.contains("<api-host>"), "{text}");
        assert!(without.pointer("/settings/event_subscriptions").is_none());
        assert_eq!(
            without.pointer("/settings/interactivity/is_enabled"),
            Some(&Value::Bool(false))
        );
        assert_eq!(
            without
                .pointer("/features/slash_commands/0/url")
                .and_then(Value::as_str),
            Some("https://abc.execute-api.eu-west-1.amazonaws.com/slack/command")
        );
        let with = slack_manifest(url, true).expect("parses");
        assert_eq!(
            with.pointer("/settings/event_subscriptions/request_url")
                .and_then(Value::as_str),
            Some("https://abc.execute-api.eu-west-1.amazonaws.com/slack/event")
        );
        assert_eq!(
            with.pointer("/settings/interactivity/request_url")
                .and_then(Value::as_str),
            Some("https://abc.execute-api.eu-west-1.amazonaws.com/slack/interactive")
        );
    }

    #[test]
    fn the_github_manifest_points_its_webhook_and_redirect_at_the_given_urls() {
        let m = github_manifest(
            "https://h.example/",
            "http://127.0.0.1:8000/cb",
            "https://github.com/acme",
            true,
        )
        .expect("parses");
        assert_eq!(
            m["hook_attributes"]["url"],
            "https://h.example/github/webhook"
        );
        assert_eq!(m["redirect_url"], "http://127.0.0.1:8000/cb");
        assert_eq!(m["url"], "https://github.com/acme");
        assert_eq!(m["public"], true);
    }

    #[test]
    fn any_url_output_of_the_stack_gives_the_api_base() {
        use deploybot_ops::install::api_base_url;
        let base = "https://abc.execute-api.eu-west-1.amazonaws.com";
        for output in [
            "https://abc.execute-api.eu-west-1.amazonaws.com",
            "https://abc.execute-api.eu-west-1.amazonaws.com/",
            " https://abc.execute-api.eu-west-1.amazonaws.com/slack/command\n",
            "https://abc.execute-api.eu-west-1.amazonaws.com/circleci/webhook",
        ] {
            assert_eq!(api_base_url(output), base, "{output:?}");
        }
    }

    #[test]
    fn the_actions_lines_are_the_trigger_and_its_inputs() {
        let lines = actions_trigger_lines();
        assert!(lines.first().is_some_and(|l| l.starts_with("run-name:")));
        assert!(lines.iter().any(|l| l.contains("workflow_dispatch:")));
        assert!(lines.iter().any(|l| l.contains("deployment_id:")));
        assert!(!lines.iter().any(|l| l.starts_with("jobs:")));
    }
}

#[tokio::test]
async fn slack_refuses_events_before_the_signing_secret_is_stored() {
    // The trap the installer's order avoids: the full manifest at create time names an events
    // URL whose function does not know the new app's secret yet.
    let world = world().await;
    let full =
        deploybot_ops::manifests::slack_manifest(&world.config.api_url, true).expect("parses");
    let answer: Value = reqwest::Client::new()
        .post(format!(
            "{}/apps.manifest.create",
            world.config.slack_api_url
        ))
        .bearer_auth("xoxe.xoxp-1-config")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string([("manifest", full.to_string())]).expect("encodes"))
        .send()
        .await
        .expect("the fake answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(answer["ok"], false, "{answer}");
    assert_eq!(answer["error"], "invalid_manifest");
    assert_eq!(
        answer["errors"][0]["pointer"],
        "/settings/event_subscriptions/request_url"
    );
    assert!(world.slack.apps().is_empty());
}
