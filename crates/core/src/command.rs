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
    /// `cancel <environment> [--all]`: cancel the environment's running deployment (and with
    /// `--all` drop its queued ones too).
    Cancel {
        environment: Environment,
        all: bool,
    },
    /// `freeze <environment|all> for <duration>|until <time> [<reason…>]`.
    Freeze {
        target: FreezeTarget,
        end: crate::freeze::FreezeEnd,
        reason: Option<String>,
    },
    /// `unfreeze <environment|all>`.
    Unfreeze {
        target: FreezeTarget,
    },
    /// `freezes`: the freezes in force and those of the next seven days.
    Freezes,
    /// `notify me [all|failures|none]`: the person's own direct-message preference
    /// (docs/notifications.md); `None` asks what it is.
    NotifyMe {
        preference: Option<crate::notify::DirectPreference>,
    },
}

/// What `freeze` and `unfreeze` apply to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FreezeTarget {
    /// One environment.
    Environment(Environment),
    /// Every environment of the repository's workflow.
    All,
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
        let words = words(text).map_err(|e| self.usage(e))?;
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
                    "`list` takes at most one environment: `{c} list` or `{c} list staging`. {}",
                    self.quote_hint("list"),
                    c = self.command
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
                    "`unlock` takes one environment: `{} unlock staging`. {}",
                    self.command,
                    self.quote_hint("unlock")
                ))),
            },
            "status" => self.no_args(rest, "status", Command::Status),
            "rollback" => self.parse_rollback(rest),
            "cancel" => self.parse_cancel(rest),
            "freeze" => self.parse_freeze(rest),
            "unfreeze" => match rest {
                [target] => Ok(Command::Unfreeze {
                    target: self.freeze_target(target)?,
                }),
                _ => Err(self.usage(format!(
                    "`unfreeze` takes one environment, or `all`: `{} unfreeze production`.",
                    self.command
                ))),
            },
            "freezes" => self.no_args(rest, "freezes", Command::Freezes),
            "notify" => self.parse_notify(rest),
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

    /// How to name an environment whose name has spaces, for `sub`command's usage errors.
    fn quote_hint(&self, sub: &str) -> String {
        format!(
            "An environment whose name has spaces goes in quotes: `{} {sub} \"eu frankfurt\"`.",
            self.command
        )
    }

    fn environment(&self, word: &str) -> Result<Environment, UsageError> {
        Environment::parse(word).map_err(|e| self.usage(format!("{e}.")))
    }

    /// `cancel <environment> [--all]` (`--all` before or after the environment).
    fn parse_cancel(&self, rest: &[String]) -> Result<Command, UsageError> {
        let example = format!(
            "`{} cancel staging` (or `{} cancel staging --all` to drop its queued deployments too)",
            self.command, self.command
        );
        let all = rest.iter().any(|w| w == "--all");
        let names: Vec<&String> = rest.iter().filter(|w| *w != "--all").collect();
        match names.as_slice() {
            [env] if !env.starts_with("--") => Ok(Command::Cancel {
                environment: self.environment(env)?,
                all,
            }),
            [] => Err(self.usage(format!(
                "Say which environment's deployment to cancel: {example}."
            ))),
            _ => Err(self.usage(format!(
                "`cancel` takes one environment and optionally `--all`: {example}."
            ))),
        }
    }

    /// `notify me [all|failures|none]`.
    fn parse_notify(&self, rest: &[String]) -> Result<Command, UsageError> {
        let example = format!(
            "`{c} notify me all`, `{c} notify me failures` or `{c} notify me none`",
            c = self.command
        );
        match rest {
            [me] if me.eq_ignore_ascii_case("me") => Ok(Command::NotifyMe { preference: None }),
            [me, word] if me.eq_ignore_ascii_case("me") => {
                match crate::notify::DirectPreference::parse(word) {
                    Some(preference) => Ok(Command::NotifyMe {
                        preference: Some(preference),
                    }),
                    None => {
                        Err(self.usage(format!("`{}` is not a choice; say {example}.", clip(word))))
                    }
                }
            }
            _ => Err(self.usage(format!(
                "`notify` sets your own direct messages: {example}."
            ))),
        }
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
                "Usage: `{c} deploy <ref> to <environment>` (for example `{c} deploy v1.4 to production`) or `{c} deploy <environment>`. An environment whose name has spaces goes in quotes: `{c} deploy v1.4 to \"eu frankfurt\"`.",
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

    fn freeze_target(&self, word: &str) -> Result<FreezeTarget, UsageError> {
        if word.eq_ignore_ascii_case("all") {
            return Ok(FreezeTarget::All);
        }
        self.environment(word).map(FreezeTarget::Environment)
    }

    /// `freeze <environment|all> for <duration>|until <time> [<zone>] [<reason…>]`. The
    /// word after the time is a time zone when it is one (`Europe/London`, `UTC`);
    /// anything after that is the reason.
    fn parse_freeze(&self, rest: &[String]) -> Result<Command, UsageError> {
        use crate::freeze::{FreezeEnd, MAX_MANUAL_FREEZE};
        let example = format!(
            "`{c} freeze production for 2h incident review` or `{c} freeze all until 18:00 Europe/London`",
            c = self.command
        );
        let Some((target, rest)) = rest.split_first() else {
            return Err(self.usage(format!(
                "Say which environment to freeze (or `all`), and for how long or until when: {example}."
            )));
        };
        let target = self.freeze_target(target)?;
        let (end, rest) = match rest {
            [word, d, after @ ..] if word.eq_ignore_ascii_case("for") => {
                let d = parse_duration(d)
                    .map_err(|e| self.usage(format!("{e}. Example: {example}.")))?;
                if d > MAX_MANUAL_FREEZE {
                    return Err(self.usage(format!(
                        "A freeze set from Slack lasts at most 30 days; `{}` is longer. Put long freezes in the workflow file's `freezes:`.",
                        format_duration(d)
                    )));
                }
                (FreezeEnd::For(d), after)
            }
            [word, time, after @ ..] if word.eq_ignore_ascii_case("until") => {
                // `Europe/London`, `UTC`: a word shaped like a zone name is one (and a
                // misspelt one is refused rather than read as the reason).
                let zone = after.first().filter(|z| {
                    z.eq_ignore_ascii_case("utc")
                        || (z.starts_with(|c: char| c.is_ascii_uppercase())
                            && z.contains('/')
                            && z.chars()
                                .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c)))
                });
                let end = FreezeEnd::parse_until(time, zone.map(String::as_str))
                    .map_err(|e| self.usage(format!("{e}.")))?;
                (end, &after[usize::from(zone.is_some())..])
            }
            _ => {
                return Err(self.usage(format!(
                    "Say for how long (`for 2h`) or until when (`until 18:00`): {example}."
                )));
            }
        };
        let reason = rest.join(" ");
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(self.usage(format!(
                "Keep the reason under {MAX_REASON_CHARS} characters; it is shown with every deployment the freeze holds."
            )));
        }
        Ok(Command::Freeze {
            target,
            end,
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
             • `{c} cancel <environment> [--all]` — cancel its running deployment (`--all`: drop its queued ones too)\n\
             • `{c} freeze <environment|all> for <duration>|until <time> [reason]` — hold automatic deployments there (e.g. `{c} freeze production for 2h incident review`); `{c} unfreeze <environment|all>` ends it; `{c} freezes` lists the freezes now and in the next 7 days\n\
             • `{c} notify me all|failures|none` — your own direct messages about deployments you asked for or wrote\n\
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

/// The words of a command: split at whitespace, except that a word opening with a double
/// quote (straight `"` or typographic `“`/`”`, which Slack clients may substitute) runs to
/// the next one, spaces included, so `lock "eu frankfurt" for 2h` names one environment.
/// Only unquoted words are links Slack may have rewritten.
fn words(text: &str) -> Result<Vec<String>, String> {
    const QUOTES: [char; 3] = ['"', '\u{201C}', '\u{201D}'];
    let mut words = Vec::new();
    let mut rest = text.trim_start();
    while let Some(first) = rest.chars().next() {
        if QUOTES.contains(&first) {
            let inside = &rest[first.len_utf8()..];
            let Some(end) = inside.find(QUOTES) else {
                return Err(
                    "A quote is not closed. Put the whole name in quotes, like `\"eu frankfurt\"`."
                        .to_owned(),
                );
            };
            words.push(inside[..end].to_owned());
            let close = inside[end..].chars().next().map_or(0, char::len_utf8);
            rest = inside[end + close..].trim_start();
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            words.push(unwrap_slack_link(&rest[..end]));
            rest = rest[end..].trim_start();
        }
    }
    Ok(words)
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

    fn frankfurt() -> Environment {
        Environment::parse("eu frankfurt").expect("a name with a space")
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
            // Names with spaces, in straight or typographic quotes.
            (
                "lock \"EU Frankfurt\" for 2h \"big\" migration",
                Command::Lock {
                    environment: frankfurt(),
                    duration: Some(Duration::from_secs(7_200)),
                    reason: Some("big migration".into()),
                },
            ),
            (
                "deploy v1.4 to \u{201C}eu  frankfurt\u{201D}",
                Command::Deploy {
                    git_ref: Some(GitRef::Name("v1.4".into())),
                    environment: frankfurt(),
                },
            ),
            (
                "deploy \"eu frankfurt\"",
                Command::Deploy {
                    git_ref: None,
                    environment: frankfurt(),
                },
            ),
            (
                "unlock \"eu frankfurt\"",
                Command::Unlock {
                    environment: frankfurt(),
                },
            ),
            (
                "list \"eu frankfurt\"",
                Command::List {
                    environment: Some(frankfurt()),
                },
            ),
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
            (
                "unlock eu frankfurt",
                &[
                    "one environment",
                    "goes in quotes",
                    "/cimon unlock \"eu frankfurt\"",
                ],
            ),
            ("list eu frankfurt", &["goes in quotes"]),
            ("deploy main to eu frankfurt", &["goes in quotes"]),
            ("lock \"eu frankfurt for 2h", &["quote is not closed"]),
            ("deploy main to \"\"", &["say which environment"]),
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
    fn long_lock_reasons_are_refused() {
        let text = format!("lock staging {}", "word ".repeat(50));
        let msg = parse(&text).expect_err("too long").message;
        assert!(msg.contains("under 200 characters"), "{msg}");
        let ok = format!("lock staging {}", "x".repeat(200));
        assert!(parse(&ok).is_ok());
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
    fn cancel_names_one_environment_and_may_say_all() {
        let env = |s: &str| Environment::parse(s).expect("valid");
        for (text, want) in [
            ("cancel staging", (env("staging"), false)),
            ("cancel staging --all", (env("staging"), true)),
            ("cancel --all pr12", (env("pr12"), true)),
        ] {
            assert_eq!(
                parse(text),
                Ok(Command::Cancel {
                    environment: want.0,
                    all: want.1
                }),
                "{text}"
            );
        }
        for (text, needle) in [
            ("cancel", "Say which environment's deployment to cancel"),
            (
                "cancel --all",
                "Say which environment's deployment to cancel",
            ),
            ("cancel staging test", "takes one environment"),
            ("cancel staging --force", "takes one environment"),
            ("cancel a>b", "not an environment name"),
        ] {
            let msg = parse(text).expect_err(text).message;
            assert!(msg.contains(needle), "{text}: {msg}");
        }
        assert!(
            Grammar::default()
                .help_text()
                .contains("`/cimon cancel <environment> [--all]`")
        );
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

    #[test]
    fn freeze_forms() {
        use crate::freeze::FreezeEnd;
        let at = |text: &str| {
            let t: jiff::Timestamp = text.parse().expect("instant");
            crate::Timestamp::from_millis(t.as_millisecond())
        };
        let now = at("2026-06-05T17:30:00Z");
        // (text, target, end as an instant from `now`, reason)
        let rows = [
            (
                "freeze production for 2h",
                "production",
                "2026-06-05T19:30:00Z",
                None,
            ),
            (
                "freeze all for 1d incident review",
                "all",
                "2026-06-06T17:30:00Z",
                Some("incident review"),
            ),
            (
                "freeze staging until 18:00",
                "staging",
                "2026-06-05T18:00:00Z",
                None,
            ),
            // 17:00 has passed today in UTC: tomorrow's.
            (
                "freeze staging until 17:00",
                "staging",
                "2026-06-06T17:00:00Z",
                None,
            ),
            // 18:00 in London (BST) is 17:00 UTC: passed, so tomorrow's.
            (
                "FREEZE production until 18:00 Europe/London release party",
                "production",
                "2026-06-06T17:00:00Z",
                Some("release party"),
            ),
            (
                "freeze production until 2026-06-08T09:00 America/New_York",
                "production",
                "2026-06-08T13:00:00Z",
                None,
            ),
            (
                "freeze production until 2026-06-08T09:00 utc-ish things",
                "production",
                "2026-06-08T09:00:00Z",
                Some("utc-ish things"),
            ),
        ];
        for (text, target, until, reason) in rows {
            let Ok(Command::Freeze {
                target: t,
                end,
                reason: r,
            }) = parse(text)
            else {
                panic!("{text}: {:?}", parse(text));
            };
            let want = if target == "all" {
                FreezeTarget::All
            } else {
                FreezeTarget::Environment(Environment::parse(target).expect("env"))
            };
            assert_eq!(t, want, "{text}");
            assert_eq!(end.resolve(now), at(until), "{text}");
            assert_eq!(r.as_deref(), reason, "{text}");
            if text.contains(" for ") {
                assert!(matches!(end, FreezeEnd::For(_)));
            }
        }
        assert_eq!(
            parse("unfreeze all"),
            Ok(Command::Unfreeze {
                target: FreezeTarget::All
            })
        );
        assert_eq!(
            parse("unfreeze Production"),
            Ok(Command::Unfreeze {
                target: FreezeTarget::Environment(Environment::Production)
            })
        );
        assert_eq!(parse("freezes"), Ok(Command::Freezes));
        {
            use crate::notify::DirectPreference as P;
            for (text, want) in [
                ("notify me", Some(None)),
                ("notify me all", Some(Some(P::All))),
                ("notify me FAILURES", Some(Some(P::Failures))),
                ("Notify Me none", Some(Some(P::None))),
                ("notify me sometimes", None),
                ("notify you all", None),
                ("notify", None),
                ("notify me all now", None),
            ] {
                match want {
                    Some(preference) => {
                        assert_eq!(parse(text), Ok(Command::NotifyMe { preference }), "{text}")
                    }
                    None => assert!(parse(text).is_err(), "{text}"),
                }
            }
        }
        for (bad, needle) in [
            ("freeze", "Say which environment to freeze"),
            ("freeze production", "for how long (`for 2h`) or until when"),
            (
                "freeze production for",
                "for how long (`for 2h`) or until when",
            ),
            ("freeze production for soon", "freeze production for 2h"),
            ("freeze production for 31d", "at most 30 days"),
            ("freeze production until teatime", "`until 18:00`"),
            ("freeze production until 25:00", "`until 18:00`"),
            (
                "freeze production until 18:00 Mars/Base",
                "not an IANA time zone",
            ),
            ("unfreeze", "`unfreeze` takes one environment, or `all`"),
            ("unfreeze a b", "`unfreeze` takes one environment"),
            ("freezes now", "`freezes` takes no arguments"),
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(e.message.contains(needle), "{bad}: {}", e.message);
        }
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
