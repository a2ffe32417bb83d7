//! The slash-command grammar (`/cimon ...`; the `deploy` forms are in docs/workflow.md, "Deploying
//! by hand"): text → a typed [`Command`] or a [`UsageError`] that tells the person how to do it
//! right. Pure and total: any input gives one or the other.

use crate::ids::clip;
use crate::lane::duration::{format_duration, parse_duration};
use crate::lane::lock::{MAX_LOCK, MAX_REASON_CHARS, MIN_LOCK};
use crate::urls::{parse_host, validate_url_pattern, validate_url_separator};
use crate::{Environment, GitRef, GithubLogin, Repository};
use std::fmt;
use std::time::Duration;

/// Longest command text the grammar looks at; longer text is refused with an explanation.
pub const MAX_COMMAND_LEN: usize = 1000;

/// A parsed slash command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Setup {
        repository: Repository,
    },
    Reset,
    /// `set` with no arguments: explain the settings.
    SetHelp,
    Set(SettingValue),
    Unset {
        setting: SettingName,
        environment: Option<Environment>,
    },
    /// `get` / `config`.
    Config,
    /// `hello`: offer the unlinked logins; `hello <login>`: claim that one.
    Hello {
        login: Option<GithubLogin>,
    },
    /// `goodbye` / `bye`.
    Goodbye,
    Deploy {
        git_ref: Option<GitRef>,
        environment: Environment,
    },
    List {
        environment: Option<Environment>,
    },
    /// `lock <environment> [for <duration>] [<reason…>]`: hold deployments to the
    /// environment. `duration` is `None` for the environment's default.
    Lock {
        environment: Environment,
        duration: Option<Duration>,
        reason: Option<String>,
    },
    /// `unlock <environment>`.
    Unlock {
        environment: Environment,
    },
    /// `status`: every environment at a glance.
    Status,
    /// `rollback <environment> [to <ref|commit>] [<reason…>]`: put back what worked
    /// (docs/workflow.md, "Rolling back"). `target` is `None` for the most recent earlier
    /// success.
    Rollback {
        environment: Environment,
        target: Option<GitRef>,
        reason: Option<String>,
    },
}

/// The names of the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SettingName {
    BaseDomain,
    Url,
    UrlPattern,
    UrlSeparator,
}

impl SettingName {
    pub const ALL: [SettingName; 4] = [
        Self::BaseDomain,
        Self::Url,
        Self::UrlPattern,
        Self::UrlSeparator,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "basedomain" | "base_domain" | "base-domain" => Some(Self::BaseDomain),
            "url" => Some(Self::Url),
            "urlpattern" | "url_pattern" | "url-pattern" => Some(Self::UrlPattern),
            "urlseparator" | "url_separator" | "url-separator" => Some(Self::UrlSeparator),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BaseDomain => "basedomain",
            Self::Url => "url",
            Self::UrlPattern => "urlpattern",
            Self::UrlSeparator => "urlseparator",
        }
    }
}

impl fmt::Display for SettingName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated setting value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingValue {
    BaseDomain(String),
    Url(Environment, String),
    UrlPattern(String),
    UrlSeparator(String),
}

/// A person's mistake, with the answer to give them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    pub message: String,
}

/// The grammar for one configured command name (default `/cimon`).
#[derive(Debug, Clone)]
pub struct Grammar {
    command: String,
}

impl Default for Grammar {
    fn default() -> Self {
        Self::new("/cimon")
    }
}

impl Grammar {
    pub fn new(command: &str) -> Self {
        let command = command.trim();
        let command = if command.starts_with('/') {
            command.to_owned()
        } else {
            format!("/{command}")
        };
        Self { command }
    }

    /// The configured command, e.g. `/cimon`.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Parses the `text` Slack sent for the slash command `invoked` (`/cimon` or the
    /// `/deploy` alias, which means `/cimon deploy <text>`).
    pub fn parse(&self, invoked: &str, text: &str) -> Result<Command, UsageError> {
        if text.chars().count() > MAX_COMMAND_LEN {
            return Err(self.usage(format!(
                "That command is too long ({} characters; at most {MAX_COMMAND_LEN}).",
                text.chars().count()
            )));
        }
        let words: Vec<String> = text.split_whitespace().map(unwrap_slack_link).collect();
        if invoked.trim().eq_ignore_ascii_case("/deploy") && invoked.trim() != self.command {
            return self.parse_deploy(&words);
        }
        let Some((first, rest)) = words.split_first() else {
            return Ok(Command::Help);
        };
        let sub = first.to_ascii_lowercase();
        match sub.as_str() {
            "help" | "?" => Ok(Command::Help),
            "setup" => self.parse_setup(rest),
            "reset" => self.no_args(rest, "reset", Command::Reset),
            "set" => self.parse_set(rest),
            "unset" => self.parse_unset(rest),
            "get" | "config" => self.no_args(rest, &sub, Command::Config),
            "hello" => self.parse_hello(rest),
            "goodbye" | "bye" => self.no_args(rest, &sub, Command::Goodbye),
            "deploy" => self.parse_deploy(rest),
            "list" => match rest {
                [] => Ok(Command::List { environment: None }),
                [env] => Ok(Command::List {
                    environment: Some(self.environment(env)?),
                }),
                _ => Err(self.usage(format!(
                    "`list` takes at most one environment: `{} list` or `{} list staging`.",
                    self.command, self.command
                ))),
            },
            "lock" => self.parse_lock(rest),
            "unlock" => match rest {
                [env] => Ok(Command::Unlock {
                    environment: self.environment(env)?,
                }),
                [] => Err(self.usage(format!(
                    "Say which environment to unlock: `{} unlock staging`.",
                    self.command
                ))),
                _ => Err(self.usage(format!(
                    "`unlock` takes one environment: `{} unlock staging`.",
                    self.command
                ))),
            },
            "status" => self.no_args(rest, "status", Command::Status),
            "rollback" => self.parse_rollback(rest),
            _ => Err(self.usage(format!(
                "I don't know the command `{}`. Try `{} help` to see what I can do.",
                clip(first),
                self.command
            ))),
        }
    }

    fn usage(&self, message: String) -> UsageError {
        UsageError { message }
    }

    fn no_args(&self, rest: &[String], name: &str, cmd: Command) -> Result<Command, UsageError> {
        if rest.is_empty() {
            Ok(cmd)
        } else {
            Err(self.usage(format!(
                "`{name}` takes no arguments: just `{} {name}`.",
                self.command
            )))
        }
    }

    fn environment(&self, word: &str) -> Result<Environment, UsageError> {
        Environment::parse(word).map_err(|e| self.usage(format!("{e}.")))
    }

    fn parse_setup(&self, rest: &[String]) -> Result<Command, UsageError> {
        let example = format!("`{} setup acme/web`", self.command);
        match rest {
            [repo] => {
                let text = repo
                    .trim_start_matches("https://")
                    .trim_start_matches("http://")
                    .trim_start_matches("github.com/")
                    .trim_end_matches('/');
                Repository::parse(text)
                    .map(|repository| Command::Setup { repository })
                    .map_err(|e| self.usage(format!("{e}. Example: {example}.")))
            }
            [] => Err(self.usage(format!(
                "Tell me which GitHub repository this channel is for: {example}."
            ))),
            _ => Err(self.usage(format!(
                "`setup` takes one repository, written `owner/name`: {example}."
            ))),
        }
    }

    /// `hello` or `hello <login>` (also `@login` and `https://github.com/login`).
    fn parse_hello(&self, rest: &[String]) -> Result<Command, UsageError> {
        let example = format!("`{} hello octocat`", self.command);
        match rest {
            [] => Ok(Command::Hello { login: None }),
            [login] => {
                let text = login
                    .trim_start_matches("https://")
                    .trim_start_matches("http://")
                    .trim_start_matches("github.com/")
                    .trim_start_matches('@')
                    .trim_end_matches('/');
                GithubLogin::parse(text)
                    .map(|login| Command::Hello { login: Some(login) })
                    .map_err(|e| {
                        self.usage(format!(
                            "{e}. Type your GitHub login as it appears on github.com: {example}."
                        ))
                    })
            }
            _ => Err(self.usage(format!(
                "`hello` takes at most one GitHub login: `{} hello` to pick yours from a list, or {example}.",
                self.command
            ))),
        }
    }

    fn parse_set(&self, rest: &[String]) -> Result<Command, UsageError> {
        let Some((name, args)) = rest.split_first() else {
            return Ok(Command::SetHelp);
        };
        let Some(setting) = SettingName::parse(name) else {
            return Err(self.unknown_setting(name));
        };
        let value = match (setting, args) {
            (SettingName::BaseDomain, [domain]) => SettingValue::BaseDomain(
                parse_host(domain).map_err(|e| self.usage(format!("{e}.")))?,
            ),
            (SettingName::Url, [env, host]) => {
                let env = self.environment(env)?;
                let host = parse_host(host).map_err(|e| self.usage(format!("{e}.")))?;
                SettingValue::Url(env, host)
            }
            (SettingName::UrlPattern, [pattern]) => {
                validate_url_pattern(pattern).map_err(|e| self.usage(format!("{e}.")))?;
                SettingValue::UrlPattern(pattern.clone())
            }
            (SettingName::UrlSeparator, [sep]) => {
                validate_url_separator(sep).map_err(|e| self.usage(format!("{e}.")))?;
                SettingValue::UrlSeparator(sep.clone())
            }
            (setting, _) => {
                return Err(self.usage(format!(
                    "Usage: `{} set {}`.",
                    self.command,
                    setting_usage(setting)
                )));
            }
        };
        Ok(Command::Set(value))
    }

    fn parse_unset(&self, rest: &[String]) -> Result<Command, UsageError> {
        let Some((name, args)) = rest.split_first() else {
            return Err(self.usage(format!(
                "Say which setting to remove: `{} unset <setting>` where the setting is one of basedomain, url, urlpattern, urlseparator (for url, add the environment).",
                self.command
            )));
        };
        let Some(setting) = SettingName::parse(name) else {
            return Err(self.unknown_setting(name));
        };
        match (setting, args) {
            (SettingName::Url, [env]) => Ok(Command::Unset {
                setting,
                environment: Some(self.environment(env)?),
            }),
            (SettingName::Url, _) => Err(self.usage(format!(
                "Say which environment's URL to remove: `{} unset url staging`.",
                self.command
            ))),
            (_, []) => Ok(Command::Unset {
                setting,
                environment: None,
            }),
            (_, _) => Err(self.usage(format!(
                "`unset {setting}` takes no more arguments: `{} unset {setting}`.",
                self.command
            ))),
        }
    }

    fn unknown_setting(&self, name: &str) -> UsageError {
        self.usage(format!(
            "There is no setting called `{}`. The settings are basedomain, url, urlpattern and urlseparator; `{} set` explains them.",
            clip(name),
            self.command
        ))
    }

    fn parse_deploy(&self, rest: &[String]) -> Result<Command, UsageError> {
        let usage = || {
            self.usage(format!(
                "Usage: `{c} deploy <ref> to <environment>` (for example `{c} deploy v1.4 to production`) or `{c} deploy <environment>`.",
                c = self.command
            ))
        };
        match rest {
            [env] => Ok(Command::Deploy {
                git_ref: None,
                environment: self.environment(env)?,
            }),
            [git_ref, to, env] if to.eq_ignore_ascii_case("to") => {
                let environment = self.environment(env)?;
                let git_ref = GitRef::parse(git_ref).map_err(|e| self.usage(format!("{e}.")))?;
                Ok(Command::Deploy {
                    git_ref: Some(git_ref),
                    environment,
                })
            }
            _ => Err(usage()),
        }
    }

    /// `lock <environment> [for <duration>] [<reason…>]`. After the environment, `for`
    /// followed by a word starting with a digit is the duration (and must be one); anything
    /// else is the reason, so `lock staging for testing` is a reason.
    fn parse_lock(&self, rest: &[String]) -> Result<Command, UsageError> {
        let example = format!(
            "`{} lock staging for 2h testing the migration`",
            self.command
        );
        let Some((env, mut rest)) = rest.split_first() else {
            return Err(self.usage(format!(
                "Say which environment to lock, and optionally for how long and why: {example}."
            )));
        };
        let environment = self.environment(env)?;
        let mut duration = None;
        match rest {
            [word, tail @ ..] if word.eq_ignore_ascii_case("for") => match tail {
                [] => {
                    return Err(self.usage(format!(
                        "Say for how long after `for`, like `30m`, `2h` or `1d`: {example}."
                    )));
                }
                [d, after @ ..] if d.starts_with(|c: char| c.is_ascii_digit()) => {
                    let d = parse_duration(d).map_err(|e| self.usage(format!("{e}.")))?;
                    if d > MAX_LOCK {
                        return Err(self.usage(format!(
                                "A lock lasts at most 1 day; `{}` is longer. Lock for `1d` and extend it if you still need it.",
                                format_duration(d)
                            )));
                    }
                    if d < MIN_LOCK {
                        return Err(self.usage(format!(
                            "A lock lasts at least 1 minute; `{}` is shorter.",
                            format_duration(d)
                        )));
                    }
                    duration = Some(d);
                    rest = after;
                }
                _ => {}
            },
            // No `for <duration>`: everything after the environment is the reason.
            _ => {}
        }
        let reason = rest.join(" ");
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(self.usage(format!(
                "Keep the reason under {MAX_REASON_CHARS} characters; it is shown with every waiting deployment."
            )));
        }
        Ok(Command::Lock {
            environment,
            duration,
            reason: (!reason.is_empty()).then_some(reason),
        })
    }

    /// `rollback <environment> [to <ref|commit>] [<reason…>]`: after the environment, `to`
    /// followed by a word is the target; anything else is the reason.
    fn parse_rollback(&self, rest: &[String]) -> Result<Command, UsageError> {
        let example = format!(
            "`{} rollback production` or `{} rollback production to v1.4 the login page is blank`",
            self.command, self.command
        );
        let Some((env, mut rest)) = rest.split_first() else {
            return Err(self.usage(format!(
                "Say which environment to roll back, and optionally to what and why: {example}."
            )));
        };
        let environment = self.environment(env)?;
        let mut target = None;
        if let [word, tail @ ..] = rest
            && word.eq_ignore_ascii_case("to")
        {
            let Some((git_ref, after)) = tail.split_first() else {
                return Err(self.usage(format!(
                    "Say which commit, tag or branch to roll back to after `to`: {example}."
                )));
            };
            target = Some(GitRef::parse(git_ref).map_err(|e| self.usage(format!("{e}.")))?);
            rest = after;
        }
        let reason = rest.join(" ");
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(self.usage(format!(
                "Keep the reason under {MAX_REASON_CHARS} characters; it goes with the lock the rollback leaves."
            )));
        }
        Ok(Command::Rollback {
            environment,
            target,
            reason: (!reason.is_empty()).then_some(reason),
        })
    }

    /// The answer to `help` (and to an empty command).
    pub fn help_text(&self) -> String {
        let c = &self.command;
        format!(
            "*deploybot* ties this channel to a GitHub repository and deploys it through GitHub Deployments and CircleCI.\n\
             • `{c} setup <owner>/<repo>` — bind this channel to a repository\n\
             • `{c} reset` — forget this channel's repository and settings\n\
             • `{c} config` (or `get`) — show the repository and settings\n\
             • `{c} set` — explain the settings; `{c} set <setting> <value>`, `{c} unset <setting>`\n\
             • `{c} hello` — link your Slack user to your GitHub login (pick it from a list); `{c} hello <login>` — claim it by name; `{c} goodbye` undoes it\n\
             • `{c} deploy <ref> to <environment>` — deploy a branch, tag or commit\n\
             • `{c} deploy <environment>` — deploy its default source (`preview`: the default branch; `staging`: the latest successful test)\n\
             • `{c} list [environment]` — recent deployments\n\
             • `{c} status` — every environment at a glance: what runs, what is queued, locks\n\
             • `{c} lock <environment> [for <duration>] [reason]` — hold deployments there (e.g. `{c} lock staging for 2h testing the migration`; default 2h, 1h for production, at most 1d)\n\
             • `{c} unlock <environment>` — let deployments go again\n\
             • `{c} rollback <environment> [to <ref>] [reason]` — put back what worked there (a preview first; the rollback locks the environment and marks the rolled-back commits bad)\n\
             Environments: `preview`, `test`, `staging`, `production`, and `pr<number>` for pull requests."
        )
    }

    /// The answer to `set` with no arguments.
    pub fn settings_help(&self) -> String {
        let c = &self.command;
        let lines: Vec<String> = SettingName::ALL
            .iter()
            .map(|s| format!("• `{c} set {}` — {}", setting_usage(*s), setting_help(*s)))
            .collect();
        format!(
            "Settings decide the URL each environment is reached at:\n{}\nRemove one with `{c} unset <setting>`.",
            lines.join("\n")
        )
    }
}

fn setting_usage(s: SettingName) -> &'static str {
    match s {
        SettingName::BaseDomain => "basedomain <domain>",
        SettingName::Url => "url <environment> <host>",
        SettingName::UrlPattern => "urlpattern <pattern>",
        SettingName::UrlSeparator => "urlseparator <separator>",
    }
}

fn setting_help(s: SettingName) -> &'static str {
    match s {
        SettingName::BaseDomain => "the domain environments live under, e.g. `example.com`",
        SettingName::Url => "a fixed host for one environment, overriding the pattern",
        SettingName::UrlPattern => {
            "how URLs are built; must contain `{environment}`, `{urlseparator}` and `{basedomain}` (default `https://{environment}{urlseparator}{basedomain}/`)"
        }
        SettingName::UrlSeparator => "what joins environment and domain (default `.`)",
    }
}

/// Slack turns links a person typed into `<https://x|label>` or `<https://x>`: keep the label
/// (or the URL when there is none).
fn unwrap_slack_link(word: &str) -> String {
    if let Some(inner) = word.strip_prefix('<').and_then(|w| w.strip_suffix('>')) {
        match inner.split_once('|') {
            Some((_, label)) => label.to_owned(),
            None => inner.to_owned(),
        }
    } else {
        word.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> Result<Command, UsageError> {
        Grammar::default().parse("/cimon", text)
    }

    fn repo(s: &str) -> Repository {
        Repository::parse(s).expect("valid")
    }

    #[test]
    fn every_form() {
        let r = |s: &str| GitRef::parse(s).expect("valid");
        let cases: Vec<(&str, Command)> = vec![
            ("", Command::Help),
            ("   ", Command::Help),
            ("help", Command::Help),
            ("HELP", Command::Help),
            (
                "setup acme/web",
                Command::Setup {
                    repository: repo("acme/web"),
                },
            ),
            (
                "  Setup   Acme/Web  ",
                Command::Setup {
                    repository: repo("acme/web"),
                },
            ),
            (
                "setup <https://github.com/acme/web|github.com/acme/web>",
                Command::Setup {
                    repository: repo("acme/web"),
                },
            ),
            (
                "setup https://github.com/acme/web",
                Command::Setup {
                    repository: repo("acme/web"),
                },
            ),
            ("reset", Command::Reset),
            ("set", Command::SetHelp),
            (
                "set basedomain example.com",
                Command::Set(SettingValue::BaseDomain("example.com".into())),
            ),
            (
                "set basedomain <http://example.com|example.com>",
                Command::Set(SettingValue::BaseDomain("example.com".into())),
            ),
            (
                "set url production www.example.com",
                Command::Set(SettingValue::Url(
                    Environment::Production,
                    "www.example.com".into(),
                )),
            ),
            (
                "set urlpattern https://{environment}{urlseparator}{basedomain}/",
                Command::Set(SettingValue::UrlPattern(
                    "https://{environment}{urlseparator}{basedomain}/".into(),
                )),
            ),
            (
                "set urlseparator -",
                Command::Set(SettingValue::UrlSeparator("-".into())),
            ),
            (
                "unset basedomain",
                Command::Unset {
                    setting: SettingName::BaseDomain,
                    environment: None,
                },
            ),
            (
                "unset url staging",
                Command::Unset {
                    setting: SettingName::Url,
                    environment: Some(Environment::Staging),
                },
            ),
            ("get", Command::Config),
            ("config", Command::Config),
            ("hello", Command::Hello { login: None }),
            (
                "hello Octocat",
                Command::Hello {
                    login: Some(GithubLogin::parse("octocat").expect("valid")),
                },
            ),
            (
                "HELLO @octocat",
                Command::Hello {
                    login: Some(GithubLogin::parse("octocat").expect("valid")),
                },
            ),
            (
                "hello <https://github.com/octo-cat|github.com/octo-cat>",
                Command::Hello {
                    login: Some(GithubLogin::parse("octo-cat").expect("valid")),
                },
            ),
            ("goodbye", Command::Goodbye),
            ("bye", Command::Goodbye),
            (
                "deploy v1.4 to production",
                Command::Deploy {
                    git_ref: Some(r("v1.4")),
                    environment: Environment::Production,
                },
            ),
            (
                "Deploy abc1234 TO Staging",
                Command::Deploy {
                    git_ref: Some(r("abc1234")),
                    environment: Environment::Staging,
                },
            ),
            (
                "deploy staging",
                Command::Deploy {
                    git_ref: None,
                    environment: Environment::Staging,
                },
            ),
            (
                "rollback production",
                Command::Rollback {
                    environment: Environment::Production,
                    target: None,
                    reason: None,
                },
            ),
            (
                "Rollback Production TO v1.4 login page is blank",
                Command::Rollback {
                    environment: Environment::Production,
                    target: Some(r("v1.4")),
                    reason: Some("login page is blank".into()),
                },
            ),
            (
                "rollback staging tomorrow's data is wrong",
                Command::Rollback {
                    environment: Environment::Staging,
                    target: None,
                    reason: Some("tomorrow's data is wrong".into()),
                },
            ),
            ("list", Command::List { environment: None }),
            (
                "list test",
                Command::List {
                    environment: Some(Environment::Test),
                },
            ),
            (
                "lock staging for 2h testing the migration",
                Command::Lock {
                    environment: Environment::Staging,
                    duration: Some(Duration::from_secs(7200)),
                    reason: Some("testing the migration".into()),
                },
            ),
            (
                "lock production",
                Command::Lock {
                    environment: Environment::Production,
                    duration: None,
                    reason: None,
                },
            ),
            (
                "LOCK Staging FOR 1h30m",
                Command::Lock {
                    environment: Environment::Staging,
                    duration: Some(Duration::from_secs(5400)),
                    reason: None,
                },
            ),
            (
                "lock staging 1d",
                Command::Lock {
                    environment: Environment::Staging,
                    duration: None,
                    reason: Some("1d".into()),
                },
            ),
            (
                "lock staging for testing",
                Command::Lock {
                    environment: Environment::Staging,
                    duration: None,
                    reason: Some("for testing".into()),
                },
            ),
            (
                "lock pr12 for 1d   demo   for the client",
                Command::Lock {
                    environment: Environment::PullRequest(12),
                    duration: Some(Duration::from_secs(86_400)),
                    reason: Some("demo for the client".into()),
                },
            ),
            (
                "lock test see <https://x.example/t/1|ticket-1>",
                Command::Lock {
                    environment: Environment::Test,
                    duration: None,
                    reason: Some("see ticket-1".into()),
                },
            ),
            (
                "unlock staging",
                Command::Unlock {
                    environment: Environment::Staging,
                },
            ),
            ("status", Command::Status),
            ("STATUS", Command::Status),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn deploy_alias() {
        let g = Grammar::default();
        assert_eq!(
            g.parse("/deploy", "main to preview"),
            Ok(Command::Deploy {
                git_ref: Some(GitRef::Name("main".into())),
                environment: Environment::Preview
            })
        );
        assert_eq!(
            g.parse("/deploy", "staging"),
            Ok(Command::Deploy {
                git_ref: None,
                environment: Environment::Staging
            })
        );
        assert!(g.parse("/deploy", "").is_err());
        // A bot configured as /deploy itself parses subcommands normally.
        assert_eq!(
            Grammar::new("/deploy").parse("/deploy", "help"),
            Ok(Command::Help)
        );
    }

    #[test]
    fn mistakes_get_specific_answers() {
        let cases: Vec<(&str, &[&str])> = vec![
            (
                "frobnicate",
                &["don't know the command `frobnicate`", "/cimon help"],
            ),
            (
                "setup",
                &["which GitHub repository", "/cimon setup acme/web"],
            ),
            ("setup acme", &["owner/name", "/cimon setup acme/web"]),
            ("setup acme/web extra", &["one repository"]),
            ("setup -bad/web", &["owner"]),
            (
                "set colour blue",
                &["no setting called `colour`", "/cimon set"],
            ),
            (
                "set basedomain",
                &["Usage: `/cimon set basedomain <domain>`"],
            ),
            ("set basedomain not_a_host", &["not a host name"]),
            ("set url a&b x.example.com", &["not an environment name"]),
            (
                "set urlpattern https://{environment}.x.com",
                &["{urlseparator}", "{basedomain}"],
            ),
            ("set urlseparator /", &["separator"]),
            ("unset", &["which setting"]),
            ("unset url", &["which environment"]),
            ("unset colour", &["no setting called"]),
            ("unset basedomain now", &["no more arguments"]),
            ("deploy", &["Usage", "deploy <ref> to <environment>"]),
            ("deploy main staging", &["Usage"]),
            ("deploy main to pr0", &["not a pull request's environment"]),
            ("deploy a..b to test", &["not a valid git ref"]),
            ("deploy a<b", &["not an environment name"]),
            ("list a b", &["at most one environment"]),
            ("list a&b", &["not an environment name"]),
            ("reset now", &["takes no arguments"]),
            (
                "lock",
                &["which environment to lock", "/cimon lock staging for 2h"],
            ),
            ("lock a`b", &["not an environment name"]),
            ("lock staging for", &["for how long", "`30m`"]),
            ("lock staging for 2x", &["`2x` is not a duration", "`2h`"]),
            ("lock staging for 2", &["`2` has no unit"]),
            ("lock staging for 2d", &["at most 1 day", "`2d`"]),
            ("lock staging for 30s", &["at least 1 minute"]),
            ("lock staging for 0m", &["no time at all"]),
            (
                "unlock",
                &["which environment to unlock", "/cimon unlock staging"],
            ),
            ("unlock staging now", &["one environment"]),
            ("unlock a>b", &["not an environment name"]),
            ("status staging", &["takes no arguments", "/cimon status"]),
            (
                "hello not_a_login",
                &[
                    "`not_a_login` is not a GitHub login",
                    "/cimon hello octocat",
                ],
            ),
            ("hello -dash", &["not a GitHub login"]),
            (
                "hello alice bob",
                &["at most one GitHub login", "`/cimon hello`"],
            ),
        ];
        for (text, needles) in cases {
            let msg = parse(text).expect_err(text).message;
            for needle in needles {
                assert!(
                    msg.contains(needle),
                    "{text:?}: {msg:?} should contain {needle:?}"
                );
            }
        }
    }

    #[test]
    fn long_lock_reasons_are_refused() {
        let text = format!("lock staging {}", "word ".repeat(50));
        let msg = parse(&text).expect_err("too long").message;
        assert!(msg.contains("under 200 characters"), "{msg}");
        let ok = format!("lock staging {}", "x".repeat(200));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn rollback_mistakes_say_how() {
        for (text, needle) in [
            ("rollback", "Say which environment to roll back"),
            ("rollback production to", "after `to`"),
        ] {
            let msg = parse(text).expect_err(text).message;
            assert!(msg.contains(needle), "{text}: {msg}");
        }
        let long = format!("rollback production {}", "word ".repeat(50));
        let msg = parse(&long).expect_err("too long").message;
        assert!(msg.contains("under 200 characters"), "{msg}");
        assert!(
            Grammar::default()
                .help_text()
                .contains("`/cimon rollback <environment> [to <ref>] [reason]`")
        );
    }

    #[test]
    fn help_lists_the_lane_commands() {
        let help = Grammar::default().help_text();
        for needle in [
            "`/cimon status`",
            "`/cimon lock <environment> [for <duration>] [reason]`",
            "`/cimon unlock <environment>`",
            "`/cimon hello <login>`",
        ] {
            assert!(help.contains(needle), "{needle}");
        }
    }

    #[test]
    fn long_text_is_refused_politely() {
        let msg = parse(&"x".repeat(10_000)).expect_err("too long").message;
        assert!(msg.contains("too long"), "{msg}");
    }

    #[test]
    fn help_uses_the_configured_command() {
        let g = Grammar::new("ship");
        assert_eq!(g.command(), "/ship");
        assert!(g.help_text().contains("`/ship setup <owner>/<repo>`"));
        assert!(g.settings_help().contains("/ship set basedomain <domain>"));
        assert!(
            g.parse("/ship", "nope")
                .expect_err("unknown")
                .message
                .contains("/ship help")
        );
    }

    proptest! {
        #[test]
        fn grammar_is_total(text in "\\PC{0,400}") {
            let _ = parse(&text);
            let _ = Grammar::default().parse("/deploy", &text);
        }

        #[test]
        fn deploy_forms_parse(r in "[a-z][a-z0-9._/-]{0,20}[a-z0-9]", env in prop::sample::select(vec!["preview", "test", "staging", "production"])) {
            prop_assume!(GitRef::parse(&r).is_ok());
            let cmd = parse(&format!("deploy {r} to {env}"));
            prop_assert!(matches!(cmd, Ok(Command::Deploy { git_ref: Some(_), .. })), "{:?}", cmd);
        }
    }
}
