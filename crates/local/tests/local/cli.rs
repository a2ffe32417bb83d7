//! The `deploybot-local` binary as people run it. Every command of docs/local-development.md in
//! a block marked `# crates/local/tests/local/cli.rs runs these` is executed here, with the binary
//! in place of `cargo run -p deploybot-local --` (and, for `scripts/moto.sh`, the moto server
//! `scripts/test` started); the page's other shell blocks must carry a marker; the README's
//! quick start is exactly the demo and the tests; start-up mistakes are refused with the
//! variable or file named.

use deploybot_testkit::markdown::CodeBlock;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_deploybot-local");
const CARGO_RUN: &str = "cargo run -p deploybot-local --";
/// How long to wait for a line from the server before calling it hung.
const PATIENCE: Duration = Duration::from_secs(60);

const DEMO_BLOCK: [&str; 2] = [
    "cargo run -p deploybot-local -- demo",
    "DEPLOYBOT_STORE=memory cargo run -p deploybot-local -- demo",
];
const SERVE_BLOCK: [&str; 1] = ["cargo run -p deploybot-local -- serve --fake-services"];
const POKE_BLOCK: [&str; 7] = [
    r#"cargo run -p deploybot-local -- poke slash "/cimon setup acme/web" --user U0GRACE"#,
    "cargo run -p deploybot-local -- poke press claim_login grace-h --user U0GRACE",
    r#"cargo run -p deploybot-local -- poke slash "/cimon set basedomain example.com" --user U0GRACE"#,
    "cargo run -p deploybot-local -- poke github pull_request.opened",
    "cargo run -p deploybot-local -- poke circleci workflow-completed --pipeline PIPELINE_ID",
    r#"cargo run -p deploybot-local -- poke slash "/cimon list""#,
    "cargo run -p deploybot-local -- poke github pull_request.closed",
];
const DYNAMODB_BLOCK: [&str; 2] = [
    "scripts/moto.sh env DEPLOYBOT_STORE=dynamodb cargo run -p deploybot-local -- demo",
    "scripts/moto.sh env DEPLOYBOT_STORE=dynamodb DEPLOYBOT_CREATE_TABLES=1 cargo run -p deploybot-local -- serve --fake-services",
];
const RUN_HERE: [&[&str]; 4] = [&DEMO_BLOCK, &SERVE_BLOCK, &POKE_BLOCK, &DYNAMODB_BLOCK];

/// Variables of the developer's shell (or of scripts/test) that would change what a command
/// does; every command here starts without them.
const ISOLATED: [&str; 26] = [
    "DEPLOYBOT_STORE",
    "DEPLOYBOT_LISTEN",
    "DEPLOYBOT_URL",
    "DEPLOYBOT_CREATE_TABLES",
    "DEPLOYBOT_TABLE_PREFIX",
    "DEPLOYBOT_CHECKS_TIMEOUT_SECS",
    "DYNAMODB_TABLE_PROJECT",
    "DYNAMODB_TABLE_USER",
    "DYNAMODB_TABLE_DEPLOYMENT",
    "DYNAMODB_TABLE_DELIVERY",
    "DYNAMODB_TABLE_LANE",
    "SLACK_SIGNING_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_API_URL",
    "GITHUB_WEBHOOK_SECRET",
    "GITHUB_APP_ID",
    "GITHUB_APP_PRIVATE_KEY",
    "GITHUB_API_URL",
    "GITHUB_WEB_URL",
    "GITHUB_APP_CLIENT_ID",
    "GITHUB_APP_CLIENT_SECRET",
    "CIRCLECI_TOKEN",
    "CIRCLECI_WEBHOOK_SECRET",
    "CIRCLECI_API_URL",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

fn read(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

// ---- the documentation ---------------------------------------------------------------------

/// Fenced code blocks: (info string, lines).
fn fenced_blocks(markdown: &str) -> Vec<CodeBlock> {
    deploybot_testkit::markdown::fenced_blocks(markdown).expect("every code block is closed")
}

fn commands(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

#[test]
fn every_command_in_local_development_is_run_here_or_marked() {
    let doc = read("docs/local-development.md");
    let test_command = read("scripts/test");
    let mut ran: Vec<Vec<String>> = Vec::new();
    for (info, lines) in fenced_blocks(&doc) {
        assert!(!info.is_empty(), "every code block names its language");
        if !["sh", "bash", "shell", "console"].contains(&info.as_str()) {
            continue;
        }
        let marker = lines.first().map(String::as_str).unwrap_or_default();
        let block = commands(&lines);
        if marker.starts_with("# crates/local/tests/local/cli.rs runs these") {
            assert!(
                RUN_HERE.iter().any(|run| run[..] == block[..]),
                "docs/local-development.md: this block is marked as run by cli.rs, which runs \
                 other commands: {block:#?}"
            );
            ran.push(block);
        } else if marker.starts_with("# scripts/test runs") {
            for command in &block {
                assert!(
                    test_command.contains(command.as_str()),
                    "`{command}` is marked as run by scripts/test, which does not run it"
                );
            }
        } else {
            assert!(
                (marker.starts_with("# needs a real ") && marker.contains("account"))
                    || marker.starts_with("# not run by the tests: "),
                "docs/local-development.md: a shell block must start with a marker saying who \
                 runs it; this one starts with {marker:?}"
            );
        }
    }
    for run in RUN_HERE {
        assert!(
            ran.iter().any(|block| block[..] == run[..]),
            "cli.rs runs {run:#?}, which the page no longer shows"
        );
    }
}

#[test]
fn the_readme_quick_start_is_the_demo_and_the_tests() {
    let readme = read("README.md");
    let start = readme
        .find("## Quick start")
        .expect("the README has a Quick start section");
    let section = &readme[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let blocks = fenced_blocks(&section[..end]);
    assert_eq!(blocks.len(), 1, "one command block in the quick start");
    let lines: Vec<String> = blocks[0]
        .1
        .iter()
        .map(|l| l.split(" #").next().unwrap_or_default().trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines, [DEMO_BLOCK[0], "scripts/test"]);
}

// ---- running documented commands ------------------------------------------------------------

/// Splits a command line as the shell would (double and single quotes, no expansions).
fn split(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    assert!(quote.is_none(), "unbalanced quotes in {line:?}");
    if in_word {
        words.push(word);
    }
    words
}

/// A documented command line as a process: `scripts/moto.sh` (→ the moto server of
/// `scripts/test`), `env`, `NAME=value` assignments, then `cargo run -p deploybot-local --`
/// (→ the binary) and its arguments.
fn documented(line: &str, dir: &Path) -> Command {
    let rest = line.trim();
    let (moto, rest) = match rest.strip_prefix("scripts/moto.sh ") {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let (assignments, args) = rest
        .split_once(CARGO_RUN)
        .unwrap_or_else(|| panic!("{line:?} does not run {CARGO_RUN}"));
    let mut command = Command::new(BIN);
    command.current_dir(dir);
    for name in ISOLATED {
        command.env_remove(name);
    }
    command.env("RUST_LOG", "warn");
    if moto {
        let url = moto_url();
        command
            .env("AWS_ENDPOINT_URL_DYNAMODB", &url)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN");
    }
    for word in split(assignments) {
        if word == "env" {
            continue;
        }
        let (name, value) = word
            .split_once('=')
            .unwrap_or_else(|| panic!("{line:?}: `{word}` is not NAME=value"));
        command.env(name, value);
    }
    command.args(split(args));
    command
}

/// The moto server `scripts/test` starts; its absence fails the test (never skips it).
fn moto_url() -> String {
    match std::env::var("DEPLOYBOT_DYNAMODB_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "DEPLOYBOT_DYNAMODB_URL is not set: the DynamoDB commands need the moto server that \
             `scripts/test` starts. Run the tests through `scripts/test`, or \
             `scripts/moto.sh cargo test -p deploybot-local --test local cli::`."
        ),
    }
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("deploybot-cli-")
        .tempdir()
        .expect("a temporary directory")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run(mut command: Command) -> Output {
    command.output().expect("the binary runs")
}

fn assert_demo_passed(line: &str, output: &Output) {
    let stdout = text(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("✅ The demo worked"),
        "{line}: exit {:?}\n{stdout}\n{}",
        output.status.code(),
        text(&output.stderr)
    );
    assert!(stdout.contains("━━ 25. Looking back ━━"), "{stdout}");
    assert!(stdout.contains("The board: http://127.0.0.1:"), "{stdout}");
}

#[test]
fn the_documented_demo_commands_pass() {
    for line in DEMO_BLOCK {
        let dir = temp_dir();
        let output = run(documented(line, dir.path()));
        assert_demo_passed(line, &output);
    }
}

#[test]
fn the_demo_keeps_the_board_up_with_keep_running_until_interrupted() {
    let dir = temp_dir();
    let mut command = documented(DEMO_BLOCK[1], dir.path());
    command
        .arg("--keep-running")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command.spawn().expect("the demo starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let (send, lines) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let mut board = None;
    let mut seen = Vec::new();
    let deadline = Instant::now() + PATIENCE * 3;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = lines.recv_timeout(left) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the demo never said it stays up:\n{}", seen.join("\n"));
        };
        if let Some(url) = line.strip_prefix("The board: ") {
            board = url.split_whitespace().next().map(str::to_owned);
        }
        let up = line.contains("The server stays up");
        seen.push(line);
        if up {
            break;
        }
    }
    let board = board.expect("the board's address was printed");
    let address = board
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    // The board still answers after the scenario: its sign-in page.
    let answer = {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&address).expect("the board listens");
        write!(
            stream,
            "GET / HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .expect("sends");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("reads");
        answer
    };
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("Sign in with GitHub"), "{answer}");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = child.wait().expect("the demo stops");
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn the_demo_refuses_stores_it_would_overwrite() {
    let dir = temp_dir();
    let existing = dir.path().join("mine.redb");
    std::fs::write(&existing, b"someone's data").expect("writes");
    let mut command = documented(DEMO_BLOCK[0], dir.path());
    command.env("DEPLOYBOT_STORE", &existing);
    let output = run(command);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("needs an empty store"), "{stderr}");
    assert_eq!(
        std::fs::read(&existing).expect("still there"),
        b"someone's data"
    );

    let mut command = documented(DEMO_BLOCK[0], dir.path());
    command.env("DEPLOYBOT_STORE", "dynamodb");
    let output = run(command);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("AWS_ENDPOINT_URL_DYNAMODB"), "{stderr}");
}

#[test]
fn serve_without_credentials_names_what_is_missing() {
    let dir = temp_dir();
    let mut command = Command::new(BIN);
    command.current_dir(dir.path()).arg("serve");
    for name in ISOLATED {
        command.env_remove(name);
    }
    let output = run(command);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("SLACK_SIGNING_SECRET is not set") && stderr.contains("--fake-services"),
        "{stderr}"
    );
    assert!(
        !dir.path().join(".deploybot").exists(),
        "nothing is created when the configuration is incomplete"
    );
}

// ---- a running server ---------------------------------------------------------------------

/// `serve` running in the background, its output read line by line.
struct Server {
    child: Option<Child>,
    lines: Receiver<String>,
    seen: VecDeque<String>,
    log: Vec<String>,
}

impl Server {
    fn start(mut command: Command) -> Self {
        command
            .env("DEPLOYBOT_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().expect("serve starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            child: Some(child),
            lines,
            seen: VecDeque::new(),
            log: Vec::new(),
        };
        server.wait_for("deploybot-local serving on");
        server
    }

    /// As [`Server::start`], with the server's log (standard error) kept in the returned
    /// buffer instead of passed through.
    fn start_logging(
        mut command: Command,
    ) -> (Self, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        command
            .env("DEPLOYBOT_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("serve starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let keep = std::sync::Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(mut log) = keep.lock() {
                    log.push(line);
                }
            }
        });
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            child: Some(child),
            lines,
            seen: VecDeque::new(),
            log: Vec::new(),
        };
        server.wait_for("deploybot-local serving on");
        (server, log)
    }

    /// The next line containing `needle` (lines before it are skipped).
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(line) = self.seen.pop_front() {
                if line.contains(needle) {
                    return line;
                }
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    self.seen.push_back(line);
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => panic!(
                    "serve never printed {needle:?}; its output:\n{}",
                    self.log.join("\n")
                ),
            }
        }
    }

    /// Reads on until a line containing each of `needles` was seen, in any order (the server
    /// prints what happened in one look at the fakes in a fixed order, not in time order);
    /// returns the first line matching each.
    fn wait_for_all(&mut self, needles: &[&str]) -> Vec<String> {
        let mut found: Vec<Option<String>> = vec![None; needles.len()];
        let deadline = Instant::now() + PATIENCE;
        while found.iter().any(Option::is_none) {
            let line = match self.seen.pop_front() {
                Some(line) => line,
                None => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    match self.lines.recv_timeout(left) {
                        Ok(line) => {
                            self.log.push(line.clone());
                            line
                        }
                        Err(_) => panic!(
                            "serve never printed all of {needles:?}; its output:\n{}",
                            self.log.join("\n")
                        ),
                    }
                }
            };
            for (needle, slot) in needles.iter().zip(found.iter_mut()) {
                if slot.is_none() && line.contains(needle) {
                    *slot = Some(line.clone());
                }
            }
        }
        found.into_iter().flatten().collect()
    }

    /// Sends SIGTERM and waits for a clean exit.
    fn stop(mut self) -> Vec<String> {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let (send, done) = channel();
        std::thread::spawn(move || {
            let _ = send.send(child.wait());
        });
        let exit = done
            .recv_timeout(PATIENCE)
            .expect("serve stops after SIGTERM")
            .expect("waits");
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.log.push(line);
        }
        assert!(exit.success(), "serve exited with {exit:?}");
        std::mem::take(&mut self.log)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs a documented `poke` and returns its output; it must exit 0 and print `expect`.
fn poke(line: &str, dir: &Path, pipeline: Option<&str>, expect: &[&str]) -> String {
    let line = match pipeline {
        Some(id) => line.replace("PIPELINE_ID", id),
        None => line.to_owned(),
    };
    let output = run(documented(&line, dir));
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{line}: exit {:?}\n{stdout}\n{}",
        output.status.code(),
        text(&output.stderr)
    );
    for e in expect {
        assert!(stdout.contains(e), "{line}: no {e:?} in\n{stdout}");
    }
    stdout
}

/// The first documented poke, `/cimon setup acme/web`: answered at once (the repository is
/// being checked on the fake GitHub), then the channel is told and the offer of the
/// collaborators' logins reaches the fake Slack.
fn set_up_by_poke(dir: &Path, server: &mut Server) {
    poke(
        POKE_BLOCK[0],
        dir,
        None,
        &["← HTTP 200", "Checking acme/web on GitHub"],
    );
    server.wait_for("tied this channel to acme/web");
    server.wait_for("[ada-l] [grace-h] [linus-t]");
}

#[cfg(unix)]
#[test]
fn the_documented_pokes_drive_a_server_with_the_fakes() {
    let dir = temp_dir();
    let mut server = Server::start(documented(SERVE_BLOCK[0], dir.path()));
    let env_file = dir.path().join(".deploybot/fake-services.env");
    assert!(env_file.exists(), "serve wrote {}", env_file.display());

    set_up_by_poke(dir.path(), &mut server);
    poke(POKE_BLOCK[1], dir.path(), None, &["← HTTP 200"]);
    server.wait_for("linked to the GitHub login `grace-h`");
    poke(
        POKE_BLOCK[2],
        dir.path(),
        None,
        &["← HTTP 200", "basedomain"],
    );
    poke(POKE_BLOCK[3], dir.path(), None, &["← HTTP 202", "to pr42"]);
    let started = server.wait_for_all(&[
        "Deployment to pr42 created",
        "GitHub → deploybot: deployment",
        "CircleCI pipeline #1 started (pr42)",
        "--pipeline ",
    ]);
    let pipeline = started[3]
        .split("--pipeline ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the server names the pipeline")
        .to_owned();
    poke(
        POKE_BLOCK[4],
        dir.path(),
        Some(&pipeline),
        &["← HTTP 202", "→ success"],
    );
    server.wait_for_all(&[
        "Deployment to pr42 succeeded",
        "POST /repos/acme/web/issues/42/comments",
    ]);
    poke(POKE_BLOCK[5], dir.path(), None, &["← HTTP 200", "pr42"]);
    poke(POKE_BLOCK[6], dir.path(), None, &["← HTTP 202"]);
    server.wait_for("Deployment to pr42 inactive");

    let log = server.stop();
    assert!(log.iter().any(|l| l == "stopped"), "{}", log.join("\n"));
    assert!(!env_file.exists(), "the env file is removed on shutdown");
}

/// docs/operations.md, "Following one delivery": the log lines of every function a GitHub
/// delivery reaches carry `correlation_id=github:<X-GitHub-Delivery>`, so one search finds
/// the whole story.
#[cfg(unix)]
#[test]
fn one_delivery_is_followed_through_the_servers_log_by_its_correlation_id() {
    let dir = temp_dir();
    let mut command = documented(SERVE_BLOCK[0], dir.path());
    command.env("RUST_LOG", "info");
    let (mut server, log) = Server::start_logging(command);
    set_up_by_poke(dir.path(), &mut server);
    let sent = poke(POKE_BLOCK[3], dir.path(), None, &["← HTTP 202", "to pr42"]);
    let delivery = sent
        .split("(delivery ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("poke names the delivery")
        .to_owned();
    server.wait_for_all(&[
        "Deployment to pr42 created",
        "CircleCI pipeline #1 started (pr42)",
    ]);
    server.stop();

    let log = log.lock().map(|l| l.clone()).unwrap_or_default();
    let id = format!("correlation_id=github:{delivery}");
    let story: Vec<&String> = log.iter().filter(|l| l.contains(&id)).collect();
    for function in [
        "github_webhook{correlation_id=github:",
        "invoked{function=github-deployment-create}",
        "invoked{function=slack-message}",
    ] {
        assert!(
            story.iter().any(|l| l.contains(function)),
            "no line of {function} carries {id}; the log:\n{}",
            log.join("\n")
        );
    }
    // Another story (the `deployment` event GitHub sends back) has an id of its own.
    assert!(
        log.iter()
            .any(|l| l.contains("correlation_id=github:") && !l.contains(&id)),
        "{}",
        log.join("\n")
    );
}

#[cfg(unix)]
#[test]
fn the_documented_dynamodb_commands_work_on_the_emulator() {
    let dir = temp_dir();
    let output = run(documented(DYNAMODB_BLOCK[0], dir.path()));
    assert_demo_passed(DYNAMODB_BLOCK[0], &output);
    assert!(
        text(&output.stdout).contains("store      DynamoDB at"),
        "the demo ran on DynamoDB"
    );

    let mut command = documented(DYNAMODB_BLOCK[1], dir.path());
    // Tables of its own on the shared emulator.
    let prefix = format!(
        "cli-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    );
    command.env("DEPLOYBOT_TABLE_PREFIX", &prefix);
    let mut server = Server::start(command);
    let store = server.wait_for("store      DynamoDB at");
    assert!(store.contains(&format!("{prefix}-deployment")), "{store}");
    set_up_by_poke(dir.path(), &mut server);
    server.stop();
}
