//! `deploybot-local serve`: every HTTP function on `DEPLOYBOT_LISTEN`, with the configured
//! store, in-process invocation and the watchdog's periodic sweep. With real credentials it
//! talks to the real Slack, GitHub and CircleCI (put a tunnel in front for their webhooks);
//! with `--fake-services` it starts the built-in fakes, writes the URLs and secrets `poke`
//! needs to a file, plays GitHub's `deployment` events, and prints what the bot does in the
//! fake Slack and to the fake GitHub and CircleCI as it happens. Stops gracefully on Ctrl-C or
//! SIGTERM.

use crate::poke::DEFAULT_ENV_FILE;
use anyhow::Context;
use clap::Args;
use deploybot_local::config;
use deploybot_local::harness::{GitHubSide, Sender};
use deploybot_local::transcript::Observer;
use deploybot_local::wiring::{self, DynamoSettings, FakeServices, WatchdogTask, WebhookSecrets};
use deploybot_local::world;
use secrecy::ExposeSecret;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// How often `--fake-services` looks for news in the fakes.
const WATCH_EVERY: Duration = Duration::from_millis(200);
/// How long shutdown waits for background work in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Start built-in fakes of Slack, GitHub and CircleCI (no accounts needed) and point the
    /// real adapters at them.
    #[arg(long)]
    fake_services: bool,
    /// With --fake-services: where to write the server URL, the fakes' URLs and the secrets
    /// for `poke` (removed on shutdown).
    #[arg(long, default_value = DEFAULT_ENV_FILE)]
    env_file: PathBuf,
}

impl ServeArgs {
    /// With the fakes the transcript shows what happens, so only warnings are logged unless
    /// `RUST_LOG` asks for more; against the real services, requests are logged.
    pub fn default_log_level(&self) -> &'static str {
        if self.fake_services { "warn" } else { "info" }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = config::from_env(env, args.fake_services).map_err(|e| {
        anyhow::anyhow!("{e}. (Without accounts, run `deploybot-local serve --fake-services`.)")
    })?;
    let dynamo = DynamoSettings::from_env(env, config.create_tables)?;
    let store = wiring::open_store(&config.store, &dynamo)
        .await
        .context("opening the store")?;
    let wired = wiring::wire(&config, store, env).await?;
    let server = wiring::start_server(config.listen, &wired.functions).await?;
    let _watchdog = WatchdogTask::spawn(
        wired.invoker.clone(),
        wired.functions.config().watchdog_interval,
    );
    let url = server.base_url();
    // The file exists before the first line is printed, so whoever waits for that line can
    // poke right away.
    if let (Some(fakes), Some(secrets)) = (&wired.fakes, &wired.secrets) {
        write_env_file(&args.env_file, &url, fakes, secrets)?;
    }

    println!("deploybot-local serving on {url}");
    println!("  store      {}", wired.store_description);
    println!(
        "  endpoints  POST /slack/command /slack/interactive /slack/event /github/webhook \
         /circleci/webhook · GET /healthz"
    );

    let stopped = match (&wired.fakes, &wired.secrets) {
        (Some(fakes), Some(secrets)) => {
            print_fake_help(fakes, &args.env_file);
            let outcome = watch_fakes(fakes, secrets, &url).await;
            if let Err(error) = std::fs::remove_file(&args.env_file) {
                tracing::warn!(%error, file = %args.env_file.display(), "could not remove the env file");
            }
            outcome
        }
        _ => {
            println!(
                "  services   the real Slack, GitHub and CircleCI APIs. Point the Slack app's \
                 slash command, interactivity and event URLs, the GitHub App's webhook and the \
                 CircleCI webhook at a tunnel to {url} (…/slack/command, …/github/webhook, …)."
            );
            shutdown_signal().await
        }
    };
    stopped?;

    println!("stopping: finishing requests in flight");
    server.shutdown().await.context("stopping the server")?;
    if tokio::time::timeout(DRAIN_TIMEOUT, wired.invoker.wait_idle())
        .await
        .is_err()
    {
        eprintln!("background work still running after {DRAIN_TIMEOUT:?}; stopping anyway");
    }
    println!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("listening for SIGTERM")?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.context("listening for Ctrl-C"),
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .context("listening for Ctrl-C")
    }
}

/// Writes what `poke` needs, readable by the owner only.
fn write_env_file(
    path: &Path,
    url: &str,
    fakes: &FakeServices,
    secrets: &WebhookSecrets,
) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = format!(
        "# Written by `deploybot-local serve --fake-services` for `deploybot-local poke`;\n\
         # removed when the server stops. Local fakes only: no real secrets here.\n\
         DEPLOYBOT_URL={url}\n\
         SLACK_SIGNING_SECRET={}\n\
         GITHUB_WEBHOOK_SECRET={}\n\
         CIRCLECI_WEBHOOK_SECRET={}\n\
         SLACK_API_URL={}\n\
         GITHUB_API_URL={}\n\
         CIRCLECI_API_URL={}\n\
         CIRCLECI_TOKEN=local-fake\n",
        secrets.slack_signing.expose_secret(),
        secrets.github_webhook.expose_secret(),
        secrets.circleci_webhook.expose_secret(),
        fakes.slack_url(),
        fakes.github_url(),
        fakes.circleci_url(),
    );
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    options
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))
}

fn print_fake_help(fakes: &FakeServices, env_file: &Path) {
    println!(
        "  fakes      Slack {} · GitHub {} · CircleCI {}",
        fakes.slack_url(),
        fakes.github_url(),
        fakes.circleci_url()
    );
    println!(
        "  world      #{} ({}) · {} · people {}",
        world::CHANNEL_NAME,
        world::CHANNEL,
        world::REPOSITORY,
        world::PEOPLE
            .iter()
            .map(|p| format!("{} {} ({})", p.slack_user, p.first_name(), p.github_login))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  poke       secrets and URLs for `poke` are in {}",
        env_file.display()
    );
    println!("  try        deploybot-local poke slash \"/cimon setup acme/web\" --user U0GRACE");
    println!("             deploybot-local poke github pull_request.opened");
    println!("  What the bot does in the fake Slack, GitHub and CircleCI follows below.");
}

/// Until a shutdown signal: plays GitHub's `deployment` events, prints what changed in the
/// fakes, and says how to finish each new pipeline.
async fn watch_fakes(
    fakes: &FakeServices,
    secrets: &WebhookSecrets,
    url: &str,
) -> anyhow::Result<()> {
    let ids = world::ids().map_err(anyhow::Error::msg)?;
    let github = GitHubSide::new(
        fakes.github.clone(),
        ids.repository,
        Sender::new(url)?,
        secrets.github(),
    );
    let mut observer = Observer::new();
    let mut pipelines_seen = 0;
    let mut ticks = tokio::time::interval(WATCH_EVERY);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            result = &mut shutdown => return result,
            _ = ticks.tick() => {}
        }
        for line in observer.changes(fakes, "  ") {
            println!("{line}");
        }
        match github.announce_new().await {
            Ok(sent) => {
                for a in sent {
                    println!(
                        "  GitHub → deploybot: deployment {} created ({}) → HTTP {} {}",
                        a.deployment.id,
                        a.deployment.environment,
                        a.reply.status,
                        a.reply.body.trim()
                    );
                }
            }
            Err(error) => eprintln!("  playing GitHub's deployment event failed: {error}"),
        }
        let pipelines = fakes.ci.pipelines();
        for p in pipelines.iter().skip(pipelines_seen) {
            println!(
                "  CircleCI pipeline #{} started ({}). Finish it with:\n    deploybot-local poke \
                 circleci workflow-completed --pipeline {} [--status failed]",
                p.number,
                p.parameter("environment").unwrap_or_default(),
                p.id
            );
        }
        pipelines_seen = pipelines.len();
    }
}
