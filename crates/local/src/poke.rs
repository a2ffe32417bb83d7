//! `deploybot-local poke`: sends a running server what Slack, GitHub or CircleCI would send —
//! a slash command, a button press, a GitHub webhook (a named fixture of the demo world or a
//! JSON file) or CircleCI's `workflow-completed` for a pipeline — signed with the configured
//! secrets, and prints the answer. Secrets and URLs come from the environment, then from the
//! file `serve --fake-services` writes.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use deploybot_core::ports::{Clock, SystemClock};
use deploybot_core::signature::SigningSecret;
use deploybot_integrations::circleci::{CircleCiClient, CircleCiConfig};
use deploybot_local::github_events;
use deploybot_local::harness::{Reply, Sender};
use deploybot_local::transcript::message_lines;
use deploybot_local::wiring::random_hex;
use deploybot_local::world;
use deploybot_testkit::fakes::server::rfc3339;
use deploybot_testkit::fixtures::fixture_json;
use deploybot_testkit::signing::{
    circleci_request, github_request, slack_form_request, slack_interactive_request,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where `serve --fake-services` writes the server URL, the fakes' URLs and the secrets.
pub const DEFAULT_ENV_FILE: &str = ".deploybot/fake-services.env";

#[derive(Debug, Args)]
pub struct PokeArgs {
    /// The server [default: DEPLOYBOT_URL, else the env file's, else http://<DEPLOYBOT_LISTEN>]
    #[arg(long, global = true)]
    url: Option<String>,
    /// Variables written by `serve --fake-services`, read when the file exists (the process
    /// environment wins).
    #[arg(long, global = true, default_value = DEFAULT_ENV_FILE)]
    env_file: PathBuf,
    #[command(subcommand)]
    what: Poke,
}

#[derive(Debug, Subcommand)]
enum Poke {
    /// A slash command: `poke slash "/cimon setup acme/web"` (the command word is optional).
    Slash {
        text: String,
        #[command(flatten)]
        who: Who,
    },
    /// A button press: `poke press claim_login ada-l`, `poke press retry_deployment <id>`.
    Press {
        action_id: String,
        value: String,
        #[command(flatten)]
        who: Who,
    },
    /// A GitHub webhook: a fixture (pull_request.opened, pull_request.synchronize,
    /// pull_request.closed, push.main, push.release, push.tag, ping) or a JSON file
    /// (with --event).
    Github(GithubArgs),
    /// A CircleCI webhook.
    Circleci {
        #[command(subcommand)]
        what: CircleciPoke,
    },
}

/// Who does it, and where.
#[derive(Debug, Args)]
struct Who {
    /// Slack channel id
    #[arg(long, default_value = world::CHANNEL)]
    channel: String,
    /// Slack user id (the demo world has U0ADA, U0GRACE, U0LINUS)
    #[arg(long, default_value = "U0ADA")]
    user: String,
    /// Where the server's follow-up answers go [default: the fake Slack, with
    /// `serve --fake-services`]
    #[arg(long)]
    response_url: Option<String>,
}

#[derive(Debug, Args)]
struct GithubArgs {
    /// A fixture name or a path to a JSON payload
    fixture: String,
    /// X-GitHub-Event [default: from the fixture name]
    #[arg(long)]
    event: Option<String>,
    #[arg(long, default_value = world::REPOSITORY)]
    repository: String,
    /// The commit (head of the pull request, pushed commit, tagged commit)
    #[arg(long)]
    sha: Option<String>,
    /// The branch (pull request head, pushed branch)
    #[arg(long)]
    branch: Option<String>,
    /// The tag (push.tag)
    #[arg(long)]
    tag: Option<String>,
    /// The pull request number
    #[arg(long)]
    pr: Option<u64>,
    /// The GitHub login of the author or pusher
    #[arg(long)]
    author: Option<String>,
}

#[derive(Debug, Subcommand)]
enum CircleciPoke {
    /// CircleCI's signed `workflow-completed` for a pipeline deploybot started.
    WorkflowCompleted {
        /// The pipeline id (the server's output names it)
        #[arg(long)]
        pipeline: String,
        /// success, failed, error, canceled, ...
        #[arg(long, default_value = "success")]
        status: String,
    },
    /// A JSON payload from a file, signed as CircleCI signs it.
    File { path: PathBuf },
}

/// The variables `poke` reads: the process environment, then the env file.
struct Vars {
    file: HashMap<String, String>,
    file_path: PathBuf,
}

impl Vars {
    fn load(path: &Path) -> anyhow::Result<Self> {
        let file = if path.exists() {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            parse_env_file(&text)
        } else {
            HashMap::new()
        };
        Ok(Self {
            file,
            file_path: path.to_owned(),
        })
    }

    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| self.file.get(name).cloned())
    }

    fn secret(&self, name: &str) -> anyhow::Result<SigningSecret> {
        self.get(name)
            .and_then(|v| SigningSecret::from_config(&v))
            .with_context(|| {
                format!(
                    "{name} is not set: export the server's value, or start the server with \
                     `deploybot-local serve --fake-services`, which writes it to {}",
                    self.file_path.display()
                )
            })
    }

    fn server_url(&self, flag: Option<&str>) -> String {
        if let Some(url) = flag {
            return url.to_owned();
        }
        if let Some(url) = self.get("DEPLOYBOT_URL") {
            return url;
        }
        let listen = self
            .get("DEPLOYBOT_LISTEN")
            .unwrap_or_else(|| deploybot_local::config::DEFAULT_LISTEN.to_owned());
        format!("http://{listen}")
    }

    /// A response URL on the fake Slack, when the server runs with the fakes.
    fn fake_response_url(&self, user: &str) -> Option<String> {
        let slack = self.file.get("SLACK_API_URL")?;
        Some(format!("{slack}/response/poke-{user}-{}", random_hex(4)))
    }
}

/// `KEY=VALUE` lines; blank lines and `#` comments are skipped.
pub fn parse_env_file(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

fn now_secs() -> i64 {
    SystemClock.now().secs()
}

fn print_reply(method_and_url: &str, reply: &Reply) {
    println!("{method_and_url}");
    println!("← HTTP {}", reply.status);
    match reply.json() {
        Some(json) if json.get("response_type").is_some() || json.get("blocks").is_some() => {
            let visibility = match json.get("response_type").and_then(Value::as_str) {
                Some("in_channel") => "everyone sees",
                _ => "only you see",
            };
            println!("({visibility})");
            if let Ok(message) = serde_json::from_value(json) {
                for line in message_lines(&message) {
                    println!("  {line}");
                }
            }
        }
        _ if !reply.body.trim().is_empty() => println!("{}", reply.body.trim()),
        _ => {}
    }
}

/// Posts to the server; a connection failure says what to start.
async fn send(
    sender: &Sender,
    path: &str,
    request: deploybot_testkit::signing::SignedRequest,
) -> anyhow::Result<Reply> {
    sender.post(path, request).await.with_context(|| {
        format!(
            "no answer from {} (is `deploybot-local serve` running? --url or DEPLOYBOT_URL \
             name another server)",
            sender.base_url()
        )
    })
}

fn exit_code(reply: &Reply) -> ExitCode {
    if reply.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

pub async fn run(args: PokeArgs) -> anyhow::Result<ExitCode> {
    let vars = Vars::load(&args.env_file)?;
    let sender = Sender::new(&vars.server_url(args.url.as_deref()))?;
    match args.what {
        Poke::Slash { text, who } => slash(&vars, &sender, &text, &who).await,
        Poke::Press {
            action_id,
            value,
            who,
        } => press(&vars, &sender, &action_id, &value, &who).await,
        Poke::Github(github) => github_webhook(&vars, &sender, &github).await,
        Poke::Circleci { what } => circleci(&vars, &sender, what).await,
    }
}

fn response_url(vars: &Vars, who: &Who) -> Option<String> {
    let url = who
        .response_url
        .clone()
        .or_else(|| vars.fake_response_url(&who.user));
    if url.is_none() {
        eprintln!(
            "note: no response_url; the server's follow-up answers have nowhere to go \
             (pass --response-url)"
        );
    }
    url
}

/// `/cimon help` → (`/cimon`, `help`); `help` → (COMMAND or `/cimon`, `help`).
fn split_command(vars: &Vars, text: &str) -> (String, String) {
    let text = text.trim();
    if text.starts_with('/') {
        let (command, rest) = text.split_once(' ').unwrap_or((text, ""));
        (command.to_owned(), rest.trim().to_owned())
    } else {
        let command = vars.get("COMMAND").unwrap_or_else(|| "/cimon".to_owned());
        (command, text.to_owned())
    }
}

async fn slash(vars: &Vars, sender: &Sender, text: &str, who: &Who) -> anyhow::Result<ExitCode> {
    let secret = vars.secret("SLACK_SIGNING_SECRET")?;
    let (command, text) = split_command(vars, text);
    let response_url = response_url(vars, who).unwrap_or_default();
    let trigger = format!("{}.{}.poke", now_secs(), random_hex(4));
    let request = slack_form_request(
        &secret,
        now_secs(),
        &[
            ("team_id", world::TEAM),
            ("channel_id", &who.channel),
            ("channel_name", world::CHANNEL_NAME),
            ("user_id", &who.user),
            ("command", &command),
            ("text", &text),
            ("response_url", &response_url),
            ("trigger_id", &trigger),
        ],
    );
    let reply = send(sender, "/slack/command", request).await?;
    print_reply(
        &format!("POST {}/slack/command  {command} {text}", sender.base_url()),
        &reply,
    );
    Ok(exit_code(&reply))
}

async fn press(
    vars: &Vars,
    sender: &Sender,
    action_id: &str,
    value: &str,
    who: &Who,
) -> anyhow::Result<ExitCode> {
    let secret = vars.secret("SLACK_SIGNING_SECRET")?;
    let payload = json!({
        "type": "block_actions",
        "team": {"id": world::TEAM},
        "user": {"id": who.user, "name": who.user},
        "channel": {"id": who.channel, "name": world::CHANNEL_NAME},
        "container": {"type": "message", "channel_id": who.channel},
        "trigger_id": format!("{}.{}.poke", now_secs(), random_hex(4)),
        "response_url": response_url(vars, who),
        "actions": [{"action_id": action_id, "value": value, "type": "button"}],
    });
    let request = slack_interactive_request(&secret, now_secs(), &payload);
    let reply = send(sender, "/slack/interactive", request).await?;
    print_reply(
        &format!(
            "POST {}/slack/interactive  {action_id}={value}",
            sender.base_url()
        ),
        &reply,
    );
    Ok(exit_code(&reply))
}

/// The fixture names `poke github` knows.
pub const GITHUB_FIXTURES: [&str; 8] = [
    "pull_request.opened",
    "pull_request.synchronize",
    "pull_request.reopened",
    "pull_request.closed",
    "push.main",
    "push.release",
    "push.tag",
    "ping",
];

/// The event name and payload for `args`.
fn github_payload(args: &GithubArgs) -> anyhow::Result<(String, Value)> {
    let repo = args.repository.as_str();
    let author = |default: &str| args.author.clone().unwrap_or_else(|| default.to_owned());
    let sha = |default: &str| args.sha.clone().unwrap_or_else(|| default.to_owned());
    let branch = |default: &str| args.branch.clone().unwrap_or_else(|| default.to_owned());
    let (event, body) = match args.fixture.as_str() {
        name if name.starts_with("pull_request.") => {
            let action = name.trim_start_matches("pull_request.");
            let body = github_events::pull_request(
                repo,
                action,
                args.pr.unwrap_or(world::PR_NUMBER),
                &branch(world::PR_BRANCH),
                &sha(world::PR_SHA),
                &author(world::ADA.github_login),
            );
            ("pull_request", body)
        }
        "push.main" => (
            "push",
            github_events::push(
                repo,
                &branch(world::DEFAULT_BRANCH),
                &sha(world::MAIN_SHA),
                &author(world::GRACE.github_login),
            ),
        ),
        "push.release" => (
            "push",
            github_events::push(
                repo,
                &branch(world::RELEASE_BRANCH),
                &sha(world::RELEASE_SHA),
                &author(world::ADA.github_login),
            ),
        ),
        "push.tag" => {
            let tag = args.tag.clone().unwrap_or_else(|| world::TAG.to_owned());
            (
                "push",
                github_events::tag(
                    repo,
                    &tag,
                    &sha(world::RELEASE_SHA),
                    &author(world::ADA.github_login),
                ),
            )
        }
        "ping" => ("ping", github_events::ping(repo)),
        path if path.ends_with(".json") => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
            let body: Value =
                serde_json::from_str(&text).with_context(|| format!("{path} is not JSON"))?;
            let Some(event) = args.event.clone() else {
                bail!("--event is needed with a JSON file (push, pull_request, ...)");
            };
            return Ok((event, body));
        }
        other => bail!(
            "unknown fixture `{other}`; use one of {} or a .json file",
            GITHUB_FIXTURES.join(", ")
        ),
    };
    Ok((args.event.clone().unwrap_or_else(|| event.to_owned()), body))
}

async fn github_webhook(
    vars: &Vars,
    sender: &Sender,
    args: &GithubArgs,
) -> anyhow::Result<ExitCode> {
    let secret = vars.secret("GITHUB_WEBHOOK_SECRET")?;
    let (event, body) = github_payload(args)?;
    let delivery = random_uuid();
    let request = github_request(&secret, &event, &delivery, &body);
    let reply = send(sender, "/github/webhook", request).await?;
    print_reply(
        &format!(
            "POST {}/github/webhook  {event} (delivery {delivery})",
            sender.base_url()
        ),
        &reply,
    );
    Ok(exit_code(&reply))
}

/// The number in a CircleCI pipeline link (`.../pipelines/gh/acme/web/130/workflows/...`).
fn pipeline_number(url: &str) -> Option<u64> {
    let (before, _) = url.split_once("/workflows/")?;
    before.rsplit('/').next()?.parse().ok()
}

/// `workflow-completed` for `pipeline`: the workflow's id, name and link from the CircleCI API
/// (`CIRCLECI_API_URL`, the fake with `serve --fake-services`), the rest from the fixture.
async fn workflow_completed(vars: &Vars, pipeline: &str, status: &str) -> anyhow::Result<Value> {
    let mut body = fixture_json("circleci/workflow-completed.json")
        .context("the workflow-completed fixture is missing")?;
    let now = rfc3339(SystemClock.now());
    body["id"] = random_uuid().into();
    body["happened_at"] = now.clone().into();
    body["pipeline"]["id"] = pipeline.into();
    body["workflow"]["status"] = status.into();
    body["workflow"]["stopped_at"] = now.into();
    let token = vars.get("CIRCLECI_TOKEN");
    let api = vars.get("CIRCLECI_API_URL");
    let looked_up = match (token, api) {
        (Some(token), Some(api)) => {
            let config = CircleCiConfig::new(SecretString::from(token)).with_api_url(&api);
            let client = CircleCiClient::new(config).context("building the CircleCI client")?;
            match client.workflows_of(pipeline).await {
                Ok(workflows) => workflows.into_iter().next(),
                Err(error) => {
                    eprintln!("note: could not look the pipeline up on CircleCI ({error})");
                    None
                }
            }
        }
        _ => {
            eprintln!(
                "note: CIRCLECI_API_URL or CIRCLECI_TOKEN is not set; the workflow's id and \
                 link come from the fixture"
            );
            None
        }
    };
    if let Some(workflow) = looked_up {
        body["workflow"]["id"] = workflow.id.clone().into();
        body["workflow"]["name"] = workflow.name.clone().into();
        body["workflow"]["url"] = workflow.url.clone().into();
        if let Some(number) = pipeline_number(&workflow.url) {
            body["pipeline"]["number"] = number.into();
        }
    }
    Ok(body)
}

fn random_uuid() -> String {
    let hex = random_hex(16);
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

async fn circleci(vars: &Vars, sender: &Sender, what: CircleciPoke) -> anyhow::Result<ExitCode> {
    let secret = vars.secret("CIRCLECI_WEBHOOK_SECRET")?;
    let body = match what {
        CircleciPoke::WorkflowCompleted { pipeline, status } => {
            workflow_completed(vars, &pipeline, &status).await?
        }
        CircleciPoke::File { path } => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", path.display()))?
        }
    };
    let request = circleci_request(&secret, &body);
    let reply = send(sender, "/circleci/webhook", request).await?;
    let kind = body
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("webhook");
    print_reply(
        &format!("POST {}/circleci/webhook  {kind}", sender.base_url()),
        &reply,
    );
    Ok(exit_code(&reply))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(fixture: &str) -> GithubArgs {
        GithubArgs {
            fixture: fixture.into(),
            event: None,
            repository: world::REPOSITORY.into(),
            sha: None,
            branch: None,
            tag: None,
            pr: None,
            author: None,
        }
    }

    #[test]
    fn every_named_fixture_builds() {
        for name in GITHUB_FIXTURES {
            let (event, body) = github_payload(&args(name)).expect(name);
            assert_eq!(event, name.split('.').next().unwrap_or_default(), "{name}");
            if name != "ping" {
                assert_eq!(body["repository"]["full_name"], world::REPOSITORY, "{name}");
            }
        }
        let mut custom = args("push.main");
        custom.sha = Some(world::HOTFIX_SHA.into());
        custom.author = Some("linus-t".into());
        let (_, body) = github_payload(&custom).expect("push");
        assert_eq!(body["head_commit"]["id"], world::HOTFIX_SHA);
        assert_eq!(body["head_commit"]["author"]["username"], "linus-t");
        assert!(github_payload(&args("push.nope")).is_err());
        assert!(
            github_payload(&args("payload.json")).is_err(),
            "needs --event"
        );
    }

    #[test]
    fn env_files_and_commands_parse() {
        let vars = parse_env_file("# comment\n\nA=1\nB = two=2\nnot a pair\n");
        assert_eq!(vars.get("A").map(String::as_str), Some("1"));
        assert_eq!(vars.get("B").map(String::as_str), Some("two=2"));
        assert_eq!(vars.len(), 2);
        let vars = Vars {
            file: HashMap::new(),
            file_path: PathBuf::from("x"),
        };
        assert_eq!(
            split_command(&vars, "/cimon deploy main to test"),
            ("/cimon".into(), "deploy main to test".into())
        );
        assert_eq!(
            split_command(&vars, "/deploy"),
            ("/deploy".into(), String::new())
        );
    }

    #[test]
    fn pipeline_numbers_come_from_workflow_links() {
        assert_eq!(
            pipeline_number("https://app.circleci.com/pipelines/gh/acme/web/130/workflows/x"),
            Some(130)
        );
        assert_eq!(pipeline_number("https://example.com/"), None);
        let uuid = random_uuid();
        assert_eq!(
            uuid.split('-').map(str::len).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
    }
}
