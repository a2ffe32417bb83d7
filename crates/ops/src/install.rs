//! `deploybot-ops install`: each step reads back what exists (the state file, SSM, the
//! provider's own list) before it creates anything, prints what it did, and never prints a
//! secret. Steps, in order:
//!
//! 1. Slack: `apps.manifest.create` without event subscriptions and with interactivity off,
//!    the signing secret it returns stored in SSM, then `apps.manifest.update` with the full
//!    manifest (Slack verifies the events URL against the stored secret), then the bot token
//!    the operator copies after installing the app.
//! 2. GitHub: the manifest flow on 127.0.0.1 (form → GitHub → redirect with `code`), the code
//!    converted with `POST /app-manifests/{code}/conversions`, the App's id, private key and
//!    webhook secret stored in SSM; where to install it.
//! 3. CircleCI: the API token and a generated webhook signing secret in SSM, then per project
//!    a webhook (`workflow-completed`, `job-completed`) unless one to this stack exists.
//! 4. GitHub Actions: the workflow lines to add.

use crate::manifests::{self, ManifestError};
use crate::ssm::{ParameterStore, SsmError};
use crate::state::{InstallState, StateError};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// SSM names under the prefix: the template parameters' defaults without `/deploybot`.
pub mod parameter {
    pub const SLACK_SIGNING_SECRET: &str = "slack-signing-secret";
    pub const SLACK_BOT_TOKEN: &str = "slack-bot-token";
    pub const GITHUB_WEBHOOK_SECRET: &str = "github-webhook-secret";
    pub const GITHUB_APP_PRIVATE_KEY: &str = "github-app-private-key";
    pub const GITHUB_APP_ID: &str = "github-app-id";
    /// The App's OAuth client, for signing in to the web board.
    pub const GITHUB_APP_CLIENT_ID: &str = "github-app-client-id";
    pub const GITHUB_APP_CLIENT_SECRET: &str = "github-app-client-secret";
    pub const CIRCLECI_TOKEN: &str = "circleci-token";
    pub const CIRCLECI_WEBHOOK_SECRET: &str = "circleci-webhook-secret";
}

/// The path GitHub redirects to after registering the App.
pub const GITHUB_CALLBACK_PATH: &str = "/deploybot-github-app-created";
const USER_AGENT: &str = "deploybot-ops";

/// Everything a run needs besides the operator's answers.
#[derive(Debug, Clone)]
pub struct InstallConfig {
    /// The HTTP API's base URL, `https://<api-id>.execute-api.<region>.amazonaws.com`.
    pub api_url: String,
    pub state_file: PathBuf,
    pub slack_api_url: String,
    pub github_api_url: String,
    pub github_web_url: String,
    /// Register the App under this organisation (else under the operator's account).
    pub github_org: Option<String>,
    pub github_public: bool,
    /// Where the manifest flow's form and redirect are served (port 0: any free port).
    pub github_callback: SocketAddr,
    /// How long to wait for GitHub's redirect.
    pub github_wait: Duration,
    pub circleci_api_url: String,
    pub circleci_projects: Vec<String>,
    pub github_actions: bool,
}

/// A secret the operator pastes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretAsk {
    /// An app configuration token (api.slack.com/apps → "Your App Configuration Tokens").
    SlackConfigToken,
    /// The app's signing secret, asked only when a run stopped before storing it.
    SlackSigningSecret,
    /// The Bot User OAuth Token (`xoxb-…`), after installing the app.
    SlackBotToken,
    /// A CircleCI personal API token.
    CircleciToken,
}

/// Where the operator's answers come from (the terminal, or a test).
pub trait Asker: Send + Sync {
    fn ask(&self, what: SecretAsk) -> Result<SecretString, String>;
}

/// Opens a URL for the operator (their browser, or a test's client).
pub trait Browser: Send + Sync {
    fn open(&self, url: &str);
}

/// The run's output: every line printed and kept (tests read them back).
#[derive(Debug, Default, Clone)]
pub struct Printer {
    lines: Arc<Mutex<Vec<String>>>,
    quiet: bool,
}

impl Printer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the lines without printing them.
    pub fn quiet() -> Self {
        Self {
            quiet: true,
            ..Self::default()
        }
    }

    pub fn line(&self, text: impl Into<String>) {
        let text = text.into();
        if !self.quiet {
            println!("{text}");
        }
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(text);
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(transparent)]
    Ssm(#[from] SsmError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("Slack {method}: {message}")]
    Slack { method: String, message: String },
    #[error("GitHub: {0}")]
    GitHub(String),
    #[error("CircleCI: {0}")]
    CircleCi(String),
    #[error("{0}")]
    Input(String),
}

/// One run of the installer.
pub struct Installer {
    config: InstallConfig,
    store: ParameterStore,
    asker: Arc<dyn Asker>,
    browser: Arc<dyn Browser>,
    out: Printer,
    http: reqwest::Client,
    state: InstallState,
    slack_config_token: Option<SecretString>,
}

impl std::fmt::Debug for Installer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Installer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn sha256_hex(value: &Value) -> String {
    hex::encode(Sha256::digest(value.to_string().as_bytes()))
}

/// The HTTP API's base URL from any of the stack's URL outputs: scheme and host, without the
/// route (the API's default stage has no path prefix).
pub fn api_base_url(output: &str) -> String {
    let url = output.trim().trim_end_matches('/');
    match url.find("://") {
        Some(i) => match url[i + 3..].find('/') {
            Some(j) => url[..i + 3 + j].to_owned(),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// 32 random bytes as hex: a webhook signing secret.
pub fn random_secret() -> Result<SecretString, InstallError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| InstallError::Input(format!("no randomness for a secret: {e}")))?;
    Ok(SecretString::from(hex::encode(bytes)))
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

impl Installer {
    pub fn new(
        config: InstallConfig,
        store: ParameterStore,
        asker: Arc<dyn Asker>,
        browser: Arc<dyn Browser>,
        out: Printer,
    ) -> Result<Self, InstallError> {
        let state = InstallState::load(&config.state_file)?;
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| InstallError::Input(format!("building the HTTP client: {e}")))?;
        Ok(Self {
            config,
            store,
            asker,
            browser,
            out,
            http,
            state,
            slack_config_token: None,
        })
    }

    /// Runs every step; stops at the first failure (the state file keeps what was done).
    pub async fn run(&mut self) -> Result<(), InstallError> {
        self.out.line(format!(
            "deploybot install: stack at {}, state in {}",
            self.config.api_url,
            self.config.state_file.display()
        ));
        self.slack().await?;
        self.github().await?;
        self.circleci().await?;
        self.actions();
        self.out
            .line("done: in a channel, `/invite @deploybot`, then `/cimon setup <owner>/<repo>`.");
        Ok(())
    }

    fn save(&self) -> Result<(), InstallError> {
        Ok(self.state.save(&self.config.state_file)?)
    }

    fn ask(&self, what: SecretAsk) -> Result<SecretString, InstallError> {
        let value = self.asker.ask(what).map_err(InstallError::Input)?;
        if value.expose_secret().trim().is_empty() {
            return Err(InstallError::Input(format!(
                "{what:?}: nothing was entered"
            )));
        }
        Ok(SecretString::from(value.expose_secret().trim()))
    }

    async fn store(
        &self,
        short: &str,
        value: &SecretString,
        what: &str,
    ) -> Result<(), InstallError> {
        let written = self.store.put(short, value).await?;
        self.out.line(format!(
            "  {} {} (SecureString): {what}",
            written.describe(),
            self.store.name(short)
        ));
        Ok(())
    }

    // ---- Slack ------------------------------------------------------------------------------

    async fn slack_call(
        &mut self,
        method: &str,
        fields: &[(&str, String)],
    ) -> Result<Value, InstallError> {
        if self.slack_config_token.is_none() {
            self.out.line(
                "  paste an app configuration token (api.slack.com/apps → Your App Configuration \
                 Tokens → Generate Token):",
            );
            self.slack_config_token = Some(self.ask(SecretAsk::SlackConfigToken)?);
        }
        let token = self
            .slack_config_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned())
            .unwrap_or_default();
        let error = |message: String| InstallError::Slack {
            method: method.to_owned(),
            message,
        };
        let response = self
            .http
            .post(format!(
                "{}/{method}",
                self.config.slack_api_url.trim_end_matches('/')
            ))
            .bearer_auth(token)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).unwrap_or_default())
            .send()
            .await
            .map_err(|e| error(format!("could not reach Slack: {e}")))?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .map_err(|e| error(format!("HTTP {status}, not JSON: {e}")))?;
        if body.get("ok") == Some(&Value::Bool(true)) {
            return Ok(body);
        }
        let code = text(&body, "/error").unwrap_or_else(|| format!("HTTP {status}"));
        let details: Vec<String> = body
            .get("errors")
            .and_then(Value::as_array)
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        format!(
                            "{} ({})",
                            text(e, "/message").unwrap_or_default(),
                            text(e, "/pointer").unwrap_or_default()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let hint = match code.as_str() {
            "invalid_auth" | "not_authed" | "token_expired" => {
                " — app configuration tokens last 12 hours: generate a new one and run again"
            }
            _ => "",
        };
        Err(error(if details.is_empty() {
            format!("{code}{hint}")
        } else {
            format!("{code}: {}{hint}", details.join("; "))
        }))
    }

    async fn slack(&mut self) -> Result<(), InstallError> {
        self.out.line("[1/4] Slack app");
        let full = manifests::slack_manifest(&self.config.api_url, true)?;
        let app_id = match self.state.slack.app_id.clone() {
            Some(app_id) => {
                self.out
                    .line(format!("  app {app_id} exists (created by an earlier run)"));
                app_id
            }
            None => {
                let first = manifests::slack_manifest(&self.config.api_url, false)?;
                let body = self
                    .slack_call("apps.manifest.create", &[("manifest", first.to_string())])
                    .await?;
                let app_id = text(&body, "/app_id").ok_or_else(|| InstallError::Slack {
                    method: "apps.manifest.create".into(),
                    message: "the answer has no app_id".into(),
                })?;
                self.state.slack.app_id = Some(app_id.clone());
                self.save()?;
                self.out.line(format!(
                    "  created app {app_id} from the manifest (event subscriptions and \
                     interactivity off until its signing secret is stored)"
                ));
                if let Some(secret) = text(&body, "/credentials/signing_secret") {
                    self.store(
                        parameter::SLACK_SIGNING_SECRET,
                        &SecretString::from(secret),
                        "the app's signing secret",
                    )
                    .await?;
                    self.state.slack.signing_secret_stored = true;
                    self.save()?;
                }
                app_id
            }
        };
        if !self.state.slack.signing_secret_stored {
            self.out.line(format!(
                "  paste the signing secret (https://api.slack.com/apps/{app_id}/general → App \
                 Credentials → Signing Secret):"
            ));
            let secret = self.ask(SecretAsk::SlackSigningSecret)?;
            self.store(
                parameter::SLACK_SIGNING_SECRET,
                &secret,
                "the app's signing secret",
            )
            .await?;
            self.state.slack.signing_secret_stored = true;
            self.save()?;
        }
        let digest = sha256_hex(&full);
        if self.state.slack.manifest_sha256.as_deref() == Some(digest.as_str()) {
            self.out
                .line("  manifest unchanged: events and interactivity already on");
        } else {
            let result = self
                .slack_call(
                    "apps.manifest.update",
                    &[("app_id", app_id.clone()), ("manifest", full.to_string())],
                )
                .await;
            if let Err(error) = result {
                self.out.line(format!(
                    "  Slack refused the full manifest. If it could not verify {}/slack/event, \
                     the function may still hold an older secret: it reads SSM again within \
                     five minutes; run this again then.",
                    self.config.api_url.trim_end_matches('/')
                ));
                return Err(error);
            }
            self.state.slack.manifest_sha256 = Some(digest);
            self.save()?;
            self.out.line(format!(
                "  updated app {app_id}: event subscriptions and interactivity on (Slack verified \
                 {}/slack/event)",
                self.config.api_url.trim_end_matches('/')
            ));
        }
        if self.state.slack.bot_token_stored {
            self.out.line("  bot token stored (by an earlier run)");
        } else {
            self.out.line(format!(
                "  install the app to the workspace: https://api.slack.com/apps/{app_id}/install-on-team \
                 — then paste the Bot User OAuth Token (xoxb-…):"
            ));
            let token = self.ask(SecretAsk::SlackBotToken)?;
            if !token.expose_secret().starts_with("xoxb-") {
                return Err(InstallError::Input(
                    "the bot token starts with xoxb- (OAuth & Permissions → Bot User OAuth \
                     Token); run again and paste that one"
                        .into(),
                ));
            }
            self.store(parameter::SLACK_BOT_TOKEN, &token, "the bot's token")
                .await?;
            self.state.slack.bot_token_stored = true;
            self.save()?;
        }
        Ok(())
    }

    // ---- GitHub -----------------------------------------------------------------------------

    async fn github(&mut self) -> Result<(), InstallError> {
        self.out.line("[2/4] GitHub App");
        if let Some(app_id) = self.state.github.app_id {
            self.out.line(format!(
                "  App {app_id} ({}) exists (registered by an earlier run)",
                self.state.github.slug.as_deref().unwrap_or("?")
            ));
        } else {
            let code = self.github_manifest_code().await?;
            let url = format!(
                "{}/app-manifests/{code}/conversions",
                self.config.github_api_url.trim_end_matches('/')
            );
            let response = self
                .http
                .post(url)
                .header("accept", "application/vnd.github+json")
                .header("x-github-api-version", "2022-11-28")
                .send()
                .await
                .map_err(|e| InstallError::GitHub(format!("could not reach GitHub: {e}")))?;
            let status = response.status();
            if !status.is_success() {
                return Err(InstallError::GitHub(format!(
                    "converting the manifest code answered HTTP {status} (a code works once, \
                     within an hour): run again to register the App anew"
                )));
            }
            let app: Value = response
                .json()
                .await
                .map_err(|e| InstallError::GitHub(format!("the App is not JSON: {e}")))?;
            let (Some(id), Some(pem), Some(webhook_secret), Some(html_url)) = (
                app.get("id").and_then(Value::as_u64),
                text(&app, "/pem"),
                text(&app, "/webhook_secret"),
                text(&app, "/html_url"),
            ) else {
                return Err(InstallError::GitHub(
                    "the registered App lacks id, pem, webhook_secret or html_url".into(),
                ));
            };
            let slug = text(&app, "/slug");
            self.out.line(format!(
                "  registered App {id} ({})",
                slug.as_deref().unwrap_or("?")
            ));
            self.store(
                parameter::GITHUB_APP_ID,
                &SecretString::from(id.to_string()),
                "the App's id",
            )
            .await?;
            self.store(
                parameter::GITHUB_APP_PRIVATE_KEY,
                &SecretString::from(pem),
                "the App's private key",
            )
            .await?;
            self.store(
                parameter::GITHUB_WEBHOOK_SECRET,
                &SecretString::from(webhook_secret),
                "the App's webhook secret",
            )
            .await?;
            // The board signs people in with the App's OAuth client (docs/board.md).
            if let (Some(client_id), Some(client_secret)) =
                (text(&app, "/client_id"), text(&app, "/client_secret"))
            {
                self.store(
                    parameter::GITHUB_APP_CLIENT_ID,
                    &SecretString::from(client_id),
                    "the App's OAuth client id (the board's sign-in)",
                )
                .await?;
                self.store(
                    parameter::GITHUB_APP_CLIENT_SECRET,
                    &SecretString::from(client_secret),
                    "the App's OAuth client secret",
                )
                .await?;
            }
            self.state.github.app_id = Some(id);
            self.state.github.slug = slug;
            self.state.github.html_url = Some(html_url);
            self.save()?;
        }
        if let Some(html_url) = &self.state.github.html_url {
            self.out.line(format!(
                "  install it on the repositories: {}/installations/new",
                html_url.trim_end_matches('/')
            ));
        }
        Ok(())
    }

    /// Serves the manifest form on 127.0.0.1, sends the operator to it, and returns the
    /// `code` GitHub redirects back with (the `state` checked).
    async fn github_manifest_code(&self) -> Result<String, InstallError> {
        let listener = tokio::net::TcpListener::bind(self.config.github_callback)
            .await
            .map_err(|e| {
                InstallError::Input(format!(
                    "serving the GitHub App form on {}: {e} (another port: --github-callback-port)",
                    self.config.github_callback
                ))
            })?;
        let local = listener
            .local_addr()
            .map_err(|e| InstallError::Input(e.to_string()))?;
        let base = format!("http://{local}");
        let web = self.config.github_web_url.trim_end_matches('/');
        let home = match &self.config.github_org {
            Some(org) => format!("{web}/{org}"),
            None => web.to_owned(),
        };
        let manifest = manifests::github_manifest(
            &self.config.api_url,
            &format!("{base}{GITHUB_CALLBACK_PATH}"),
            &home,
            self.config.github_public,
        )?;
        let state_token = random_secret()?.expose_secret()[..32].to_owned();
        let action = match &self.config.github_org {
            Some(org) => format!("{web}/organizations/{org}/settings/apps/new?state={state_token}"),
            None => format!("{web}/settings/apps/new?state={state_token}"),
        };
        let page = manifest_form_page(&action, &manifest.to_string());
        let (sender, receiver) = tokio::sync::mpsc::channel::<String>(1);
        let expected = state_token.clone();
        let router = axum::Router::new()
            .route(
                "/",
                axum::routing::get(move || {
                    let page = page.clone();
                    async move { axum::response::Html(page) }
                }),
            )
            .route(
                GITHUB_CALLBACK_PATH,
                axum::routing::get(
                    move |axum::extract::Query(query): axum::extract::Query<
                        std::collections::HashMap<String, String>,
                    >| {
                        let sender = sender.clone();
                        let expected = expected.clone();
                        async move {
                            match (query.get("code"), query.get("state")) {
                                (Some(code), Some(state)) if *state == expected => {
                                    let _ = sender.send(code.clone()).await;
                                    axum::response::Html(
                                        "<p>deploybot's GitHub App is registered. Back to the \
                                         terminal.</p>"
                                            .to_owned(),
                                    )
                                }
                                _ => axum::response::Html(
                                    "<p>This is not GitHub's answer to the form served here.</p>"
                                        .to_owned(),
                                ),
                            }
                        }
                    },
                ),
            );
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        self.out.line(format!(
            "  open {base}/ in a browser (opening it now) and press \"Create GitHub App\"; \
             waiting for GitHub's redirect"
        ));
        self.browser.open(&format!("{base}/"));
        let mut receiver = receiver;
        let code = tokio::time::timeout(self.config.github_wait, receiver.recv()).await;
        server.abort();
        match code {
            Ok(Some(code)) => Ok(code),
            _ => Err(InstallError::GitHub(format!(
                "no redirect from GitHub within {} s: run again",
                self.config.github_wait.as_secs()
            ))),
        }
    }

    // ---- CircleCI ---------------------------------------------------------------------------

    async fn circleci_call(
        &self,
        token: &SecretString,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, InstallError> {
        let url = format!(
            "{}{path}",
            self.config.circleci_api_url.trim_end_matches('/')
        );
        let mut request = self
            .http
            .request(method, url)
            .header("circle-token", token.expose_secret());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| InstallError::CircleCi(format!("could not reach CircleCI: {e}")))?;
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let message = text(&value, "/message").unwrap_or_default();
            return Err(InstallError::CircleCi(format!(
                "{path}: HTTP {status} {message}"
            )));
        }
        Ok(value)
    }

    async fn circleci(&mut self) -> Result<(), InstallError> {
        self.out.line("[3/4] CircleCI");
        if self.config.circleci_projects.is_empty() {
            self.out
                .line("  no --circleci-project given: skipped (GitHub Actions only)");
            return Ok(());
        }
        let token = match self.store.get_real(parameter::CIRCLECI_TOKEN).await? {
            Some(token) => {
                self.out.line(format!(
                    "  API token: {} exists",
                    self.store.name(parameter::CIRCLECI_TOKEN)
                ));
                token
            }
            None => {
                self.out.line(
                    "  paste a CircleCI personal API token (User Settings → Personal API Tokens):",
                );
                let token = self.ask(SecretAsk::CircleciToken)?;
                self.store(parameter::CIRCLECI_TOKEN, &token, "the API token")
                    .await?;
                token
            }
        };
        let secret = match self
            .store
            .get_real(parameter::CIRCLECI_WEBHOOK_SECRET)
            .await?
        {
            Some(secret) => {
                self.out.line(format!(
                    "  webhook signing secret: {} exists",
                    self.store.name(parameter::CIRCLECI_WEBHOOK_SECRET)
                ));
                secret
            }
            None => {
                let secret = random_secret()?;
                self.store(
                    parameter::CIRCLECI_WEBHOOK_SECRET,
                    &secret,
                    "a generated webhook signing secret",
                )
                .await?;
                secret
            }
        };
        let url = format!(
            "{}/circleci/webhook",
            self.config.api_url.trim_end_matches('/')
        );
        for slug in self.config.circleci_projects.clone() {
            if let Some(id) = self.state.circleci_webhooks.get(&slug) {
                self.out.line(format!(
                    "  {slug}: webhook {id} exists (created by an earlier run)"
                ));
                continue;
            }
            let project_id = match slug.split('/').collect::<Vec<_>>().as_slice() {
                ["circleci", _, project] => (*project).to_owned(),
                [_, _, _] => {
                    let project = self
                        .circleci_call(
                            &token,
                            reqwest::Method::GET,
                            &format!("/project/{slug}"),
                            None,
                        )
                        .await?;
                    text(&project, "/id").ok_or_else(|| {
                        InstallError::CircleCi(format!("/project/{slug} has no id"))
                    })?
                }
                _ => {
                    return Err(InstallError::Input(format!(
                        "{slug} is not a CircleCI project slug (gh/<org>/<repo> or \
                         circleci/<org-id>/<project-id>)"
                    )));
                }
            };
            let listed = self
                .circleci_call(
                    &token,
                    reqwest::Method::GET,
                    &format!("/webhook?scope-id={project_id}&scope-type=project"),
                    None,
                )
                .await?;
            let existing = listed
                .get("items")
                .and_then(Value::as_array)
                .and_then(|items| {
                    items
                        .iter()
                        .find(|w| w.get("url").and_then(Value::as_str) == Some(url.as_str()))
                })
                .and_then(|w| text(w, "/id"));
            let id = match existing {
                Some(id) => {
                    self.out
                        .line(format!("  {slug}: webhook {id} to {url} exists"));
                    id
                }
                None => {
                    let body = json!({
                        "name": "deploybot",
                        "url": url,
                        "events": ["workflow-completed", "job-completed"],
                        "verify-tls": true,
                        "signing-secret": secret.expose_secret(),
                        "scope": {"id": project_id, "type": "project"},
                    });
                    let created = self
                        .circleci_call(&token, reqwest::Method::POST, "/webhook", Some(&body))
                        .await?;
                    let id = text(&created, "/id").ok_or_else(|| {
                        InstallError::CircleCi("the created webhook has no id".into())
                    })?;
                    self.out.line(format!(
                        "  {slug}: created webhook {id} to {url} (workflow-completed, job-completed, signed)"
                    ));
                    id
                }
            };
            self.state.circleci_webhooks.insert(slug, id);
            self.save()?;
        }
        Ok(())
    }

    // ---- GitHub Actions ---------------------------------------------------------------------

    fn actions(&self) {
        self.out.line("[4/4] GitHub Actions");
        if !self.config.github_actions {
            self.out.line("  no --github-actions: skipped");
            return;
        }
        self.out.line(
            "  add these lines to .github/workflows/deploy.yml on the default branch (the full \
             example: docs/github-actions/deploy.example.yml):",
        );
        for line in manifests::actions_trigger_lines() {
            self.out.line(format!("    {line}"));
        }
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The page that posts the manifest to GitHub (submitted by script, or by the button).
fn manifest_form_page(action: &str, manifest: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>deploybot: register the GitHub App</title></head>\
         <body><form id=\"manifest\" method=\"post\" action=\"{}\">\
         <input type=\"hidden\" name=\"manifest\" value=\"{}\">\
         <button type=\"submit\">Create the GitHub App on GitHub</button></form>\
         <script>document.getElementById('manifest').submit();</script></body></html>",
        html_escape(action),
        html_escape(manifest)
    )
}
