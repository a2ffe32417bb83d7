//! `deploybot-load`: a fixed-rate load generator for deploybot's HTTP endpoints on 127.0.0.1,
//! and a server to point it at.
//!
//! `serve` runs every HTTP function's router with `axum::serve` on 127.0.0.1 — the handlers
//! the local server mounts — over the chosen store (in memory, the embedded redb file, or a
//! DynamoDB-compatible server at `DEPLOYBOT_DYNAMODB_URL`), the in-process invoker (so the
//! whole workflow runs behind each webhook, as locally) and the stateful fakes of Slack,
//! GitHub and CircleCI as ports; GitHub can be made slow (`--github-delay-ms`).
//!
//! `drive` sends signed slash commands and webhooks at a fixed rate (open loop: each request
//! leaves at its scheduled time whether or not earlier ones have been answered, and its
//! latency counts from that time, so a slow server cannot hide its queue) and prints p50, p90,
//! p99, max and the throughput per kind. Network only to the given 127.0.0.1 URL; the run is
//! bounded by `--duration`.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use deploybot_app::AppConfig;
use deploybot_app::wiring::{Functions, Parts};
use deploybot_benches::payloads::{
    self, CIRCLECI_SECRET, GITHUB_SECRET, SLACK_SECRET, circleci_request, github_request,
    push_payload_30k, slash_request, workflow_completed_body,
};
use deploybot_benches::world;
use deploybot_core::ports::{Store, SystemClock};
use deploybot_core::signature::SigningSecret;
use deploybot_core::{Repository, Sha};
use deploybot_testkit::fakes::circleci::FakeCircleCi;
use deploybot_testkit::fakes::github::FakeGitHub;
use deploybot_testkit::fakes::slack::FakeSlack;
use deploybot_testkit::signing::SignedRequest;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
#[command(about = "Fixed-rate load against deploybot's HTTP endpoints on 127.0.0.1")]
struct Cli {
    #[command(subcommand)]
    command: Mode,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StoreKind {
    Memory,
    /// The embedded store (redb) in a temporary file (feature `load-redb`).
    Redb,
    /// A DynamoDB-compatible server at DEPLOYBOT_DYNAMODB_URL, fresh tables per run (feature
    /// `load-dynamodb`).
    Dynamodb,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Serve every HTTP endpoint on 127.0.0.1 until killed (prints `listening on <url>`).
    Serve {
        #[arg(long, value_enum, default_value = "memory")]
        store: StoreKind,
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
        /// Projects, users and deployments stored before serving.
        #[arg(long, default_value_t = 1000)]
        populate: usize,
        /// Every fake GitHub API call waits this long.
        #[arg(long, default_value_t = 0)]
        github_delay_ms: u64,
    },
    #[cfg(feature = "load-dynamodb")]
    /// Create deploybot's five tables under `<prefix>-project`, ... on the DynamoDB-compatible
    /// server at DEPLOYBOT_DYNAMODB_URL (for scripts/function-startup).
    CreateTables {
        #[arg(long)]
        prefix: String,
    },
    #[cfg(feature = "load-redb")]
    /// deploybot's own time from a push webhook to its pipeline's start, on the local server
    /// (HTTP on 127.0.0.1, the embedded store, the fakes answering at once): the push handled
    /// until GitHub has the deployment, plus GitHub's `deployment` event handled until
    /// CircleCI has the pipeline. `queued` intents wait in other lanes of the repository.
    PushToPipeline {
        #[arg(long, default_value_t = 50)]
        runs: usize,
        #[arg(long, default_value_t = 100)]
        queued: usize,
    },
    /// Send signed requests at a fixed rate and report latencies.
    Drive {
        /// The server, e.g. http://127.0.0.1:3000 (only loopback addresses are accepted).
        #[arg(long)]
        url: String,
        /// Requests per second, all kinds together.
        #[arg(long, default_value_t = 200)]
        rate: u32,
        #[arg(long, default_value_t = 30)]
        duration_secs: u64,
        /// Kinds, sent in turn: slash-list, slash-config, slash-help, slash-deploy,
        /// slash-hello, github-push, circleci-completed.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "slash-list,slash-config,github-push,circleci-completed"
        )]
        mix: Vec<String>,
        /// First run `/cimon setup acme/web` in the measured channel (for a server that
        /// starts empty, such as `deploybot-local serve --fake-services`).
        #[arg(long)]
        setup: bool,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Mode::Serve {
            store,
            listen,
            populate,
            github_delay_ms,
        } => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(serve(store, listen, populate, github_delay_ms))
        }
        #[cfg(feature = "load-dynamodb")]
        Mode::CreateTables { prefix } => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let (client, tables) = dynamo_client(&prefix)?;
                deploybot_aws::create_tables(&client, &tables)
                    .await
                    .map_err(|e| anyhow::anyhow!("creating tables: {e:?}"))
            })
        }
        #[cfg(feature = "load-redb")]
        Mode::PushToPipeline { runs, queued } => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(push_to_pipeline::run(runs, queued))
        }
        Mode::Drive {
            url,
            rate,
            duration_secs,
            mix,
            setup,
        } => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(drive(
                &url,
                rate,
                Duration::from_secs(duration_secs),
                &mix,
                setup,
            ))
        }
    }
}

// ---- serve -------------------------------------------------------------------------------

#[cfg(feature = "load-dynamodb")]
/// A DynamoDB client for the emulator at DEPLOYBOT_DYNAMODB_URL, and table names under
/// `prefix`.
fn dynamo_client(prefix: &str) -> Result<(aws_sdk_dynamodb::Client, deploybot_aws::TableNames)> {
    let endpoint = std::env::var("DEPLOYBOT_DYNAMODB_URL")
        .context("DEPLOYBOT_DYNAMODB_URL is not set (run through scripts/moto.sh)")?;
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "deploybot-load",
        ))
        .endpoint_url(endpoint)
        .retry_config(deploybot_aws::dynamo::retry_config())
        .build();
    Ok((
        aws_sdk_dynamodb::Client::from_conf(config),
        deploybot_aws::TableNames::with_prefix(prefix),
    ))
}

async fn open_store(kind: StoreKind) -> Result<(Arc<dyn Store>, Option<tempfile::TempDir>)> {
    Ok(match kind {
        StoreKind::Memory => (Arc::new(deploybot_testkit::MemoryStore::new()), None),
        #[cfg(feature = "load-redb")]
        StoreKind::Redb => {
            let dir = tempfile::tempdir()?;
            let store = deploybot_local::store::RedbStore::open(dir.path().join("deploybot.redb"))
                .await
                .context("opening the redb store")?;
            (Arc::new(store), Some(dir))
        }
        #[cfg(feature = "load-dynamodb")]
        StoreKind::Dynamodb => {
            let (client, tables) = dynamo_client(&format!("load-{}", std::process::id()))?;
            deploybot_aws::create_tables(&client, &tables)
                .await
                .map_err(|e| anyhow::anyhow!("creating tables: {e:?}"))?;
            (
                Arc::new(deploybot_aws::DynamoStore::new(client, tables)),
                None,
            )
        }
        #[allow(unreachable_patterns)]
        other => bail!(
            "this build has no {other:?} store: build with --features load-redb / load-dynamodb"
        ),
    })
}

async fn serve(
    kind: StoreKind,
    listen: std::net::SocketAddr,
    populate: usize,
    github_delay_ms: u64,
) -> Result<()> {
    if !listen.ip().is_loopback() {
        bail!("serve listens on loopback only, not {listen}");
    }
    let (store, _dir) = open_store(kind).await?;
    world::populate(store.as_ref(), populate)
        .await
        .context("populating the store")?;

    let github = FakeGitHub::new();
    let repository = Repository::parse(payloads::REPO)?;
    github.add_repository(&repository, "main");
    let push: serde_json::Value = serde_json::from_slice(&push_payload_30k())?;
    let head = Sha::parse(push["after"].as_str().unwrap_or_default())?;
    github.set_branch(&repository, "main", &head, Some("ada-l"));
    github.add_collaborators(&repository, ["ada-l", "grace-h"]);
    if github_delay_ms > 0 {
        github.delay(Duration::from_millis(github_delay_ms));
    }
    let ci = FakeCircleCi::new();
    let slack = FakeSlack::new();
    let config = AppConfig {
        slack_signing_secret: Some(SigningSecret::new(SLACK_SECRET)),
        github_webhook_secret: Some(SigningSecret::new(GITHUB_SECRET)),
        circleci_webhook_secret: Some(SigningSecret::new(CIRCLECI_SECRET)),
        ..AppConfig::default()
    };
    let limit = config.max_body_bytes.saturating_add(1);
    // Every function with its profile's state, invoking each other in process.
    let parts = Parts::new(Arc::new(SystemClock), config)
        .with_dyn_store(store)
        .with_github(Arc::new(github))
        .with_ci(Arc::new(ci))
        .with_slack(Arc::new(slack));
    let functions = Functions::wire(parts)?;
    let router = functions
        .router()
        .route("/healthz", axum::routing::get(|| async { "ok\n" }))
        .layer(axum::extract::DefaultBodyLimit::max(limit));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

// ---- drive -------------------------------------------------------------------------------

/// The secrets requests are signed with: `SLACK_SIGNING_SECRET`, `GITHUB_WEBHOOK_SECRET` and
/// `CIRCLECI_WEBHOOK_SECRET` when set (what `deploybot-local serve --fake-services` writes to
/// its env file), else the ones `serve` uses.
struct Signer {
    slack: SigningSecret,
    github: SigningSecret,
    circleci: SigningSecret,
}

impl Signer {
    fn from_env() -> Self {
        let read = |name: &str, default: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| SigningSecret::from_config(&v))
                .unwrap_or_else(|| SigningSecret::new(default))
        };
        Self {
            slack: read("SLACK_SIGNING_SECRET", SLACK_SECRET),
            github: read("GITHUB_WEBHOOK_SECRET", GITHUB_SECRET),
            circleci: read("CIRCLECI_WEBHOOK_SECRET", CIRCLECI_SECRET),
        }
    }

    /// Replaces the request's signature with one made with these secrets.
    fn sign(&self, mut request: SignedRequest) -> SignedRequest {
        use deploybot_core::signature::{sign_circleci, sign_github, sign_slack};
        if let Some(ts) = request
            .header("x-slack-request-timestamp")
            .and_then(|t| t.parse::<i64>().ok())
        {
            let signature = sign_slack(&self.slack, ts, &request.body);
            request = request.with_header("x-slack-signature", signature);
        } else if request.header("x-hub-signature-256").is_some() {
            let signature = sign_github(&self.github, &request.body);
            request = request.with_header("x-hub-signature-256", signature);
        } else if request.header("circleci-signature").is_some() {
            let signature = sign_circleci(&self.circleci, &request.body);
            request = request.with_header("circleci-signature", signature);
        }
        request
    }
}

async fn send_once(
    client: &reqwest::Client,
    base: &reqwest::Url,
    path: &str,
    signed: SignedRequest,
) -> Result<(u16, String)> {
    let mut builder = client.post(base.join(path)?);
    for (name, value) in &signed.headers {
        builder = builder.header(name, value);
    }
    let response = builder.body(signed.body).send().await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

/// The `n`-th request of a kind (ids vary so every delivery is new work).
fn request(kind: &str, n: u64, push_body: &[u8]) -> Result<(&'static str, SignedRequest)> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    Ok(match kind {
        "slash-list" => ("/slack/command", slash_request("list", now)),
        "slash-config" => ("/slack/command", slash_request("config", now)),
        "slash-help" => ("/slack/command", slash_request("help", now)),
        "slash-deploy" => (
            "/slack/command",
            slash_request("deploy main to preview", now),
        ),
        "slash-hello" => ("/slack/command", slash_request("hello", now)),
        "github-push" => (
            "/github/webhook",
            github_request("push", &format!("load-{n:012}"), push_body.to_vec()),
        ),
        "circleci-completed" => (
            "/circleci/webhook",
            circleci_request(workflow_completed_body(&format!("load-event-{n:012}"))),
        ),
        other => bail!("unknown kind {other}"),
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

async fn drive(
    url: &str,
    rate: u32,
    duration: Duration,
    mix: &[String],
    setup: bool,
) -> Result<()> {
    let base = reqwest::Url::parse(url)?;
    let host = base.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        bail!("drive sends to 127.0.0.1 / localhost only, not {url}");
    }
    if rate == 0 || mix.is_empty() {
        bail!("a rate above 0 and at least one kind are needed");
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        .build()?;
    let signer = Signer::from_env();
    let push_body = push_payload_30k();
    if setup {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs() as i64;
        let (status, text) = send_once(
            &client,
            &base,
            "/slack/command",
            signer.sign(slash_request("setup acme/web", now)),
        )
        .await?;
        println!(
            "setup: {status} {}",
            text.chars().take(120).collect::<String>()
        );
    }
    let total = (u64::from(rate) * duration.as_secs()).max(1);
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let (tx, mut rx) =
        tokio::sync::mpsc::unbounded_channel::<(String, Duration, Result<u16, String>)>();
    let start = Instant::now();
    for n in 0..total {
        let scheduled = start + interval.mul_f64(n as f64);
        tokio::time::sleep_until(scheduled.into()).await;
        let kind = mix[(n as usize) % mix.len()].clone();
        let (path, signed) = request(&kind, n, &push_body)?;
        let signed = signer.sign(signed);
        let mut builder = client.post(base.join(path)?);
        for (name, value) in &signed.headers {
            builder = builder.header(name, value);
        }
        let builder = builder.body(signed.body);
        let tx = tx.clone();
        tokio::spawn(async move {
            let outcome = match builder.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    match response.bytes().await {
                        Ok(_) => Ok(status),
                        Err(e) => Err(e.to_string()),
                    }
                }
                Err(e) => Err(e.to_string()),
            };
            let _ = tx.send((kind, scheduled.elapsed(), outcome));
        });
    }
    drop(tx);
    let mut by_kind: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
    let mut statuses: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut all = Vec::new();
    while let Some((kind, latency, outcome)) = rx.recv().await {
        let status = match outcome {
            Ok(s) => s.to_string(),
            Err(e) => format!("error: {}", e.chars().take(80).collect::<String>()),
        };
        *statuses.entry((kind.clone(), status)).or_default() += 1;
        by_kind.entry(kind).or_default().push(latency);
        all.push(latency);
    }
    let elapsed = start.elapsed();
    println!(
        "{total} requests at {rate}/s over {:.1}s to {url} (open loop; latency from the scheduled send time)",
        elapsed.as_secs_f64()
    );
    println!(
        "{:<22} {:>6} {:>9} {:>9} {:>9} {:>9}",
        "kind", "count", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    all.sort();
    by_kind.insert("ALL".into(), all);
    for (kind, latencies) in &mut by_kind {
        latencies.sort();
        println!(
            "{:<22} {:>6} {:>9} {:>9} {:>9} {:>9}",
            kind,
            latencies.len(),
            ms(percentile(latencies, 50.0)),
            ms(percentile(latencies, 90.0)),
            ms(percentile(latencies, 99.0)),
            ms(latencies.last().copied().unwrap_or_default())
        );
    }
    println!(
        "throughput: {:.1} answered requests/s",
        by_kind.get("ALL").map_or(0, Vec::len) as f64 / elapsed.as_secs_f64()
    );
    for ((kind, status), count) in &statuses {
        println!("status {kind} {status}: {count}");
    }
    Ok(())
}

// ---- push to pipeline ----------------------------------------------------------------------

#[cfg(feature = "load-redb")]
mod push_to_pipeline {
    use anyhow::{Context, Result, bail};
    use deploybot_core::{
        Deployment, DeploymentId, DeploymentState, Environment, GitRef, Repository, Sha,
        SlackChannelId, Timestamp, Trigger,
    };
    use deploybot_local::github_events;
    use deploybot_local::harness::{AppOptions, LocalApp, StoreSetup, try_spawn_app};
    use deploybot_local::world::{self, GRACE};
    use std::time::{Duration, Instant};

    /// Polls `done` every 200 µs for at most 10 s; the time it took.
    async fn until(what: &str, mut done: impl FnMut() -> bool) -> Result<Duration> {
        let start = Instant::now();
        while !done() {
            if start.elapsed() > Duration::from_secs(10) {
                bail!("{what} did not happen within 10 s");
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        Ok(start.elapsed())
    }

    /// `queued` ready intents in pull-request lanes of the repository.
    async fn queue_elsewhere(app: &LocalApp, queued: usize) -> Result<()> {
        let channel = SlackChannelId::parse(world::CHANNEL)?;
        let now = Timestamp::from_secs(now_secs());
        for i in 0..queued {
            let pr = 5_000 + i as u64;
            let mut d = Deployment::new(
                app.repository.clone(),
                DeploymentId::new(now, 70_000 + i as u32),
                Environment::PullRequest(pr),
                GitRef::Branch(format!("feature-{i}")),
                Sha::parse(&format!("{:040x}", 0xf00d_0000_u64 + i as u64))?,
                Trigger::PullRequest {
                    number: pr,
                    url: None,
                },
                channel.clone(),
                now,
            );
            d.state = DeploymentState::Ready;
            d.seq = 1;
            app.store.insert_deployment(&d).await?;
        }
        Ok(())
    }

    fn now_secs() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    }

    fn percentile(sorted: &[Duration], p: f64) -> Duration {
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[index.min(sorted.len() - 1)]
    }

    pub async fn run(runs: usize, queued: usize) -> Result<()> {
        let app = try_spawn_app(AppOptions::with_store(StoreSetup::TempFile))
            .await
            .context("starting the local server")?;
        let setup = app
            .slash(GRACE, &format!("setup {}", world::REPOSITORY))
            .await?;
        if setup.status != 200 {
            bail!("setup answered {}", setup.status);
        }
        app.settle().await?;
        queue_elsewhere(&app, queued).await?;
        let repository: Repository = app.repository.clone();
        let mut parent: Option<Sha> = None;
        let mut times = Vec::with_capacity(runs);
        for n in 0..runs {
            let sha = Sha::parse(&format!("{:040x}", 0xabcd_0000_u64 + n as u64))?;
            if let Some(p) = &parent {
                app.fakes.github.set_parent(&repository, &sha, p);
            }
            app.fakes
                .github
                .set_branch(&repository, world::DEFAULT_BRANCH, &sha, Some("ada-l"));
            let push = github_events::push(
                world::REPOSITORY,
                world::DEFAULT_BRANCH,
                sha.as_str(),
                "ada-l",
            );
            let deployments = app.fakes.github.deployments(&repository).len();
            let pipelines = app.fakes.ci.pipelines().len();

            let sent = Instant::now();
            let reply = app.github_event("push", &push).await?;
            if reply.status != 202 {
                bail!("the push was answered {}", reply.status);
            }
            until("the GitHub deployment", || {
                app.fakes.github.deployments(&repository).len() > deployments
            })
            .await?;
            let to_github = sent.elapsed();
            let announced = Instant::now();
            app.announce_deployments().await?;
            until("the pipeline's start", || {
                app.fakes.ci.pipelines().len() > pipelines
            })
            .await?;
            times.push(to_github + announced.elapsed());

            // Let the lane finish before the next push.
            app.settle().await?;
            let pipeline = app
                .fakes
                .ci
                .pipelines()
                .last()
                .map(|p| p.id.clone())
                .context("a pipeline")?;
            app.circleci_complete(&pipeline, "success").await?;
            app.settle().await?;
            parent = Some(sha);
        }
        app.shutdown().await?;
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "push to pipeline start, {runs} runs, {queued} intents queued in other lanes: \
             p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms, min {:.1} ms",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.9)),
            ms(times[times.len() - 1]),
            ms(times[0]),
        );
        Ok(())
    }
}
