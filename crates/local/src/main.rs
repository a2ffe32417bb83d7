//! `deploybot-local`: deploybot on one machine. `serve` runs every HTTP function on 127.0.0.1
//! (against the real services, or the built-in fakes with `--fake-services`), `demo` plays the
//! whole workflow against the fakes and checks it, `poke` signs and sends a slash command,
//! button press or webhook to a running server.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use deploybot_local::config::{self, StoreChoice};
use deploybot_local::demo::run_scenario;
use deploybot_local::harness::{AppOptions, StoreSetup, try_spawn_app};
use deploybot_local::wiring::{DynamoConnection, DynamoSettings, random_hex};
use poke::PokeArgs;
use serve::ServeArgs;
use std::process::ExitCode;

mod poke;
mod serve;

#[derive(Debug, Parser)]
#[command(name = "deploybot-local", version, about = "deploybot on one machine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve every HTTP endpoint on DEPLOYBOT_LISTEN (default 127.0.0.1:3000).
    Serve(ServeArgs),
    /// Play the whole workflow against built-in fakes, print what happened, and check it.
    Demo(DemoArgs),
    /// Sign and send a slash command, a button press or a webhook to a running server.
    Poke(PokeArgs),
}

#[derive(Debug, clap::Args)]
struct DemoArgs {
    /// Leave the server (and its board) up after the demo, until Ctrl-C.
    #[arg(long)]
    keep_running: bool,
}

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    deploybot_core::metrics::install(std::sync::Arc::new(LoggedMetrics));
}

/// Metrics on a laptop: each embedded-metric-format line is logged (`info`, target
/// `deploybot::metrics`) instead of being printed among the transcript.
struct LoggedMetrics;

impl deploybot_core::metrics::MetricSink for LoggedMetrics {
    fn record(&self, metric: &deploybot_core::metrics::Metric) {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or_default();
        tracing::info!(target: "deploybot::metrics", "{}", metric.to_emf_line(now_ms));
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The demo's store: a fresh temporary redb file unless `DEPLOYBOT_STORE` says otherwise.
/// The demo needs an empty store, so it never reuses a file, and on DynamoDB it creates its
/// own throwaway tables (only on an emulator: it refuses to create tables on AWS).
fn demo_store() -> anyhow::Result<StoreSetup> {
    let Some(value) = env("DEPLOYBOT_STORE") else {
        return Ok(StoreSetup::TempFile);
    };
    let choice = config::from_env(env, true)
        .context("reading the configuration")?
        .store;
    Ok(match choice {
        StoreChoice::Memory => StoreSetup::Memory,
        StoreChoice::File(path) => {
            if path.exists() {
                bail!(
                    "DEPLOYBOT_STORE={value}: the demo needs an empty store and {} exists. \
                     Unset DEPLOYBOT_STORE (the demo then uses a temporary file) or name a \
                     new file.",
                    path.display()
                );
            }
            StoreSetup::File(path)
        }
        StoreChoice::DynamoDb => {
            if env("AWS_ENDPOINT_URL_DYNAMODB").is_none() && env("AWS_ENDPOINT_URL").is_none() {
                bail!(
                    "DEPLOYBOT_STORE=dynamodb: the demo creates throwaway tables, so it runs \
                     only against a DynamoDB-compatible server. Point AWS_ENDPOINT_URL_DYNAMODB \
                     at one, e.g. `scripts/moto.sh env DEPLOYBOT_STORE=dynamodb cargo run -p \
                     deploybot-local -- demo`."
                );
            }
            let prefix = format!("deploybot-demo-{}", random_hex(4));
            StoreSetup::DynamoDb(DynamoSettings {
                connection: DynamoConnection::FromEnvironment,
                tables: deploybot_aws::TableNames::with_prefix(&prefix),
                create_tables: true,
            })
        }
    })
}

async fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let options = AppOptions::for_demo(demo_store()?);
    let app = try_spawn_app(options)
        .await
        .context("starting deploybot and the fakes")?;
    let report = run_scenario(&app, true).await;
    println!(
        "\nThe board: {}/ (sign in as {}, {}, {} or {}).",
        app.base_url(),
        deploybot_local::world::ADA.github_login,
        deploybot_local::world::GRACE.github_login,
        deploybot_local::world::LINUS.github_login,
        deploybot_local::world::OUTSIDER_LOGIN,
    );
    if args.keep_running {
        // Listen before saying so: whoever reads the line may press Ctrl-C at once.
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut interrupt = signal(SignalKind::interrupt()).context("listening for Ctrl-C")?;
            println!("The server stays up; press Ctrl-C to stop it.");
            interrupt.recv().await;
        }
        #[cfg(not(unix))]
        {
            let interrupted = tokio::signal::ctrl_c();
            println!("The server stays up; press Ctrl-C to stop it.");
            interrupted.await.context("waiting for Ctrl-C")?;
        }
    }
    app.shutdown().await.context("stopping the server")?;
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => {
            init_tracing(args.default_log_level());
            serve::run(args).await
        }
        Command::Demo(args) => {
            init_tracing("warn");
            demo(args).await
        }
        Command::Poke(args) => {
            init_tracing("warn");
            poke::run(args).await
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("deploybot-local: {error:#}");
            ExitCode::FAILURE
        }
    }
}
