//! `deploybot-ops`: operator commands against a deployed stack. `install` creates the Slack
//! app, the GitHub App and the CircleCI webhooks and stores every secret in SSM; run it again
//! at any time: it resumes where it stopped and changes nothing that is already right.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use deploybot_ops::install::InstallConfig;
use deploybot_ops::ssm::ParameterStore;
use deploybot_ops::{Asker, Browser, Installer, Printer, SecretAsk};
use secrecy::SecretString;
use std::io::{BufRead, IsTerminal, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(name = "deploybot-ops", version, about = "deploybot operator commands")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// From "stack deployed" to "bot answering": Slack app, GitHub App, CircleCI webhooks and
    /// every secret in SSM. Idempotent; resumes after an interruption.
    Install(InstallArgs),
}

#[derive(Debug, Args)]
struct InstallArgs {
    /// The HTTP API's URL: https://<api-id>.execute-api.<region>.amazonaws.com, or any of the
    /// stack's URL outputs (its path is dropped).
    #[arg(long, env = "DEPLOYBOT_API_URL")]
    api_url: String,
    /// Where the installer remembers what it did (ids and URLs, no secrets).
    #[arg(long, default_value = "deploybot-install.json")]
    state_file: PathBuf,
    /// The SSM path the stack reads its secrets under (the template's parameter defaults).
    #[arg(long, default_value = "/deploybot")]
    parameter_prefix: String,
    /// Register the GitHub App under this organisation (default: your own account).
    #[arg(long)]
    github_org: Option<String>,
    /// Make the GitHub App public, installable by other organisations (docs/github-app.md).
    #[arg(long)]
    github_public: bool,
    /// The port on 127.0.0.1 serving the GitHub App form and catching GitHub's redirect.
    #[arg(long, default_value_t = 8000)]
    github_callback_port: u16,
    /// A CircleCI project to send webhooks to the stack: gh/<org>/<repo> or
    /// circleci/<org-id>/<project-id>. Repeat for several.
    #[arg(long = "circleci-project")]
    circleci_projects: Vec<String>,
    /// Print the lines a repository's GitHub Actions workflow needs.
    #[arg(long)]
    github_actions: bool,
    /// Print the GitHub form's URL without opening a browser.
    #[arg(long)]
    no_browser: bool,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// Answers from the environment first (`SLACK_CONFIG_TOKEN`, `SLACK_SIGNING_SECRET`,
/// `SLACK_BOT_TOKEN`, `CIRCLECI_TOKEN`), else typed at the terminal without echo.
struct TerminalAsker;

impl Asker for TerminalAsker {
    fn ask(&self, what: SecretAsk) -> Result<SecretString, String> {
        let variable = match what {
            SecretAsk::SlackConfigToken => "SLACK_CONFIG_TOKEN",
            SecretAsk::SlackSigningSecret => "SLACK_SIGNING_SECRET",
            SecretAsk::SlackBotToken => "SLACK_BOT_TOKEN",
            SecretAsk::CircleciToken => "CIRCLECI_TOKEN",
        };
        if let Ok(value) = std::env::var(variable)
            && !value.trim().is_empty()
        {
            return Ok(SecretString::from(value.trim()));
        }
        let terminal = std::io::stdin().is_terminal();
        eprint!("  {variable} (not shown): ");
        let _ = std::io::stderr().flush();
        // No echo while the secret is typed (restored after).
        let stty = |flag: &str| {
            if terminal {
                let _ = std::process::Command::new("stty")
                    .arg(flag)
                    .stdin(std::process::Stdio::inherit())
                    .status();
            }
        };
        stty("-echo");
        let mut line = String::new();
        let read = std::io::stdin().lock().read_line(&mut line);
        stty("echo");
        eprintln!();
        read.map_err(|e| format!("reading {variable}: {e}"))?;
        Ok(SecretString::from(line.trim()))
    }
}

struct SystemBrowser {
    enabled: bool,
}

impl Browser for SystemBrowser {
    fn open(&self, url: &str) {
        if !self.enabled {
            return;
        }
        let opener = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        // The URL is printed too: a machine without a browser still works.
        let _ = std::process::Command::new(opener)
            .arg(url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
}

async fn install(args: InstallArgs) -> anyhow::Result<()> {
    let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let config = InstallConfig {
        api_url: deploybot_ops::install::api_base_url(&args.api_url),
        state_file: args.state_file,
        slack_api_url: env_or("SLACK_API_URL", "https://slack.com/api"),
        github_api_url: env_or("GITHUB_API_URL", "https://api.github.com"),
        github_web_url: env_or("GITHUB_WEB_URL", "https://github.com"),
        github_org: args.github_org,
        github_public: args.github_public,
        github_callback: SocketAddr::from((Ipv4Addr::LOCALHOST, args.github_callback_port)),
        github_wait: Duration::from_secs(15 * 60),
        circleci_api_url: env_or("CIRCLECI_API_URL", "https://circleci.com/api/v2"),
        circleci_projects: args.circleci_projects,
        github_actions: args.github_actions,
    };
    let store = ParameterStore::new(&sdk_config, &args.parameter_prefix);
    let mut installer = Installer::new(
        config,
        store,
        Arc::new(TerminalAsker),
        Arc::new(SystemBrowser {
            enabled: !args.no_browser,
        }),
        Printer::new(),
    )?;
    installer
        .run()
        .await
        .context("stopped; what was done is kept: run the same command again to resume")
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Install(args) => install(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("deploybot-ops: {error:#}");
            ExitCode::FAILURE
        }
    }
}
