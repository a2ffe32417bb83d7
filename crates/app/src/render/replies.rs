//! Replies to slash commands and buttons: help, settings, config, list, claim offers,
//! confirmations and refusals. Every text a person reads in answer to something they did is
//! written here, so a wording change is reviewed as a snapshot diff.

use crate::render::deployment::person;
use crate::render::{ACTION_CLAIM_LOGIN, ref_is_its_sha};
use deploybot_core::blocks::{
    Block, Element, MAX_SELECT_OPTIONS, Message, OptionsAnswer, SelectOption, Text,
};
use deploybot_core::command::{Grammar, SettingName};
use deploybot_core::lane::{Lock, format_duration, slack_time};
use deploybot_core::policy::{Policy, Refusal};
use deploybot_core::urls::{DEFAULT_URL_PATTERN, DEFAULT_URL_SEPARATOR};
use deploybot_core::workflow_file::WORKFLOW_PATH;
use deploybot_core::{
    Deployment, DeploymentState, Environment, GitRef, GithubLogin, Project, Repository,
    SlackChannelId, SlackUserId, Timestamp, Trigger, UnbindReason, Unbinding, UserLink,
};

/// Slack allows at most 25 elements in one actions block.
pub const BUTTONS_PER_BLOCK: usize = 25;
/// At most this many claim buttons in one offer (one actions block). Longer lists are
/// offered as a type-ahead select ([`claim_select_block_id`]), whose options Slack loads from
/// `slack-interactive` as the person types, so every unlinked login can be claimed.
pub const MAX_CLAIM_BUTTONS: usize = BUTTONS_PER_BLOCK;

/// Characters typed before Slack asks for the select's options.
pub const CLAIM_SELECT_MIN_QUERY: u32 = 1;

/// The `block_id` of a claim offer's type-ahead select: names the repository whose
/// collaborators the options are.
pub fn claim_select_block_id(repository: &Repository) -> String {
    format!("{CLAIM_SELECT_BLOCK_PREFIX}{repository}")
}

/// The repository a claim select's `block_id` names.
pub fn claim_select_repository(block_id: &str) -> Option<Repository> {
    block_id
        .strip_prefix(CLAIM_SELECT_BLOCK_PREFIX)
        .and_then(|r| Repository::parse(r).ok())
}

const CLAIM_SELECT_BLOCK_PREFIX: &str = "claim_select:";

/// Escapes the three characters Slack mrkdwn treats as markup (`&`, `<`, `>`), for text that
/// came from people or GitHub (refs, logins, channel names).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text);
    out
}

/// [`escape`], appended to `out`.
fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            other => out.push(other),
        }
    }
}

/// `` `text` `` with the text escaped; backticks inside are replaced so the span stays one.
fn code(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    push_code(&mut out, text);
    out
}

/// [`code`], appended to `out`.
fn push_code(out: &mut String, text: &str) {
    out.push('`');
    for (i, piece) in text.split('`').enumerate() {
        if i > 0 {
            out.push('\'');
        }
        push_escaped(out, piece);
    }
    out.push('`');
}

/// A Slack link `<url|label>`; the URL's `|` and `>` would end the link early, so such URLs
/// are shown as plain labels.
fn link(url: &str, label: &str) -> String {
    let mut out = String::with_capacity(url.len() + label.len() + 3);
    push_link(&mut out, url, label);
    out
}

/// [`link`], appended to `out`.
fn push_link(out: &mut String, url: &str, label: &str) {
    if url.contains(['|', '>', '<', ' ']) {
        push_escaped(out, label);
    } else {
        out.push('<');
        out.push_str(url);
        out.push('|');
        push_escaped(out, label);
        out.push('>');
    }
}

// ---- general ----------------------------------------------------------------------------

/// `help` and the empty command.
/// `help`: the commands, and — in a channel that follows a repository — what deploys there
/// automatically and what can be deployed by hand, from the workflow in force.
pub fn help(grammar: &Grammar, policy: Option<&Policy>) -> Message {
    let mut text = grammar.help_text();
    if let Some(policy) = policy {
        text.push_str(&format!(
            "\n\n*What deploys where in this repository*\n{}\n`{} config` says where this workflow comes from.",
            workflow_lines(policy),
            grammar.command()
        ));
    }
    Message::text(text)
}

/// `set` with no arguments.
pub fn settings_help(grammar: &Grammar) -> Message {
    Message::text(grammar.settings_help())
}

/// A person's mistake the grammar or an id parser described (the text says how to fix it).
pub fn usage(message: &str) -> Message {
    Message::text(format!(":thinking_face: {message}"))
}

/// Something failed on our side; the details are in the logs, not in Slack.
pub fn internal_error() -> Message {
    Message::text(
        ":face_with_head_bandage: Sorry, something went wrong on my side and I could not do that. Please try again in a minute; if it keeps failing, tell whoever runs deploybot.",
    )
}

/// The channel has no repository yet.
pub fn not_set_up(grammar: &Grammar) -> Message {
    let c = grammar.command();
    Message::text(format!(
        "This channel is not set up yet. Tie it to a GitHub repository first: `{c} setup <owner>/<repo>` (for example `{c} setup acme/web`)."
    ))
}

// ---- setup / reset ----------------------------------------------------------------------

/// `setup` bound the channel (announced to the channel).
pub fn setup_done(grammar: &Grammar, repository: &Repository, by: &SlackUserId) -> Message {
    let c = grammar.command();
    Message::text(format!(
        ":link: {} tied this channel to *{}*: its deployments are reported here. Run `{c} hello` to link your GitHub login so deployments can mention you, and `{c} set` to choose environment URLs.",
        by.mention(),
        escape(repository.as_str())
    ))
}

/// `setup` of a repository that followed another channel before: [`setup_done`] and what
/// became of the old channel (mentioned by id only, so a private channel's name stays in it).
pub fn setup_done_moved(
    grammar: &Grammar,
    repository: &Repository,
    by: &SlackUserId,
    previous: &Unbinding,
) -> Message {
    let c = grammar.command();
    let why = match &previous.reason {
        UnbindReason::ChannelArchived => "that channel was archived".to_owned(),
        UnbindReason::ChannelDeleted => "that channel was deleted".to_owned(),
        UnbindReason::BotRemoved => "deploybot was removed from that channel".to_owned(),
        UnbindReason::Reset { by } => format!("{} ran `{c} reset` there", by.mention()),
    };
    Message::text(format!(
        ":link: {} tied this channel to *{}*: its deployments are reported here. It was followed in <#{}> until {}, when {why}; settings made there were not carried over. Run `{c} hello` to link your GitHub login so deployments can mention you, and `{c} set` to choose environment URLs.",
        by.mention(),
        escape(repository.as_str()),
        previous.channel.as_str(),
        slack_date(previous.at),
    ))
}

/// A date and time in Slack's date markup, shown in each reader's own time zone, with a UTC
/// fallback: `<!date^1733512345^{date_short_pretty} at {time}|2024-12-06 19:12 UTC>`.
fn slack_date(at: Timestamp) -> String {
    let secs = at.secs();
    let (year, month, day) = civil_date(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400);
    format!(
        "<!date^{secs}^{{date_short_pretty}} at {{time}}|{year:04}-{month:02}-{day:02} {:02}:{:02} UTC>",
        of_day / 3600,
        (of_day % 3600) / 60
    )
}

/// The proleptic Gregorian (year, month, day) of a count of days since 1970-01-01
/// (H. Hinnant's `civil_from_days`).
fn civil_date(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The text above the claim buttons offered right after `setup`.
pub fn setup_claim_intro(repository: &Repository) -> String {
    format!(
        "*{}* is set up. Which GitHub login is yours? Pick it below to link it to your Slack user.",
        escape(repository.as_str())
    )
}

/// `setup` of the repository this channel already follows.
pub fn setup_already(grammar: &Grammar, repository: &Repository) -> Message {
    let c = grammar.command();
    Message::text(format!(
        "This channel already follows *{}*; nothing changed. `{c} config` shows its settings, `{c} hello` links your GitHub login.",
        escape(repository.as_str())
    ))
}

/// `setup` of a repository another channel follows.
pub fn setup_repository_taken(
    grammar: &Grammar,
    repository: &Repository,
    channel: &SlackChannelId,
) -> Message {
    let c = grammar.command();
    Message::text(format!(
        "*{}* is already followed by <#{}>, and a repository reports to one channel only. To move it here, run `{c} reset` in <#{}> first, then `{c} setup {}` here again.",
        escape(repository.as_str()),
        channel.as_str(),
        channel.as_str(),
        escape(repository.as_str())
    ))
}

/// `setup` in a channel that follows another repository.
pub fn setup_channel_taken(
    grammar: &Grammar,
    current: &Repository,
    wanted: &Repository,
) -> Message {
    let c = grammar.command();
    Message::text(format!(
        "This channel already follows *{}*, and a channel follows one repository only. To switch, run `{c} reset` (it forgets this channel's repository and settings; user links stay), then `{c} setup {}`.",
        escape(current.as_str()),
        escape(wanted.as_str())
    ))
}

/// `reset` removed the binding (announced to the channel).
pub fn reset_done(grammar: &Grammar, repository: &Repository, by: &SlackUserId) -> Message {
    let c = grammar.command();
    Message::text(format!(
        ":broken_chain: {} untied this channel from *{}*: its settings are forgotten and its deployments are no longer reported here. Linked GitHub logins stay. `{c} setup <owner>/<repo>` ties it again.",
        by.mention(),
        escape(repository.as_str())
    ))
}

/// `reset` in a channel that was not set up.
pub fn reset_nothing(grammar: &Grammar) -> Message {
    Message::text(format!(
        "This channel is not set up, so there is nothing to reset. `{} setup <owner>/<repo>` ties it to a repository.",
        grammar.command()
    ))
}

// ---- settings ---------------------------------------------------------------------------

/// `set <setting> ...` saved; shows where each environment is now reached.
pub fn setting_saved(
    grammar: &Grammar,
    description: &str,
    project: &Project,
    policy: &Policy,
) -> Message {
    let text = format!(
        ":white_check_mark: {description}\n{}\n`{} config` shows every setting.",
        url_lines(project, policy),
        grammar.command()
    );
    Message::text(text)
}

/// `unset` of a setting that was not set: nothing changed.
pub fn setting_was_not_set(grammar: &Grammar, description: &str) -> Message {
    Message::text(format!(
        "{description} was not set, so nothing changed. `{} config` shows every setting.",
        grammar.command()
    ))
}

/// The words for a setting in confirmations: `basedomain`, `the url of staging`.
pub fn setting_label(setting: SettingName, environment: Option<Environment>) -> String {
    match (setting, environment) {
        (SettingName::Url, Some(env)) => format!("The `url` of {env}"),
        (other, _) => format!("`{other}`"),
    }
}

fn url_lines(project: &Project, policy: &Policy) -> String {
    let lines: Vec<String> = policy
        .environments()
        .iter()
        .map(|env| match policy.environment_url(&project.settings, env) {
            Some(url) => format!("• {env}: {}", escape(&url)),
            None => format!("• {env}: _no URL_"),
        })
        .collect();
    format!("Environment URLs now:\n{}", lines.join("\n"))
}

/// Where the workflow in force comes from, and the file's trouble if it has some.
fn workflow_source(project: &Project) -> String {
    let record = project.workflow.as_ref();
    let mut text = match record.and_then(|w| w.file.as_ref()) {
        Some(file) => format!(
            "from `{}` at commit `{}`",
            WORKFLOW_PATH,
            file.commit.short()
        ),
        None if record.is_some() => {
            format!("the built-in workflow (no valid `{WORKFLOW_PATH}` on the default branch)")
        }
        None => format!("the built-in workflow (`{WORKFLOW_PATH}` not read yet)"),
    };
    if let Some(rejected) = record.and_then(|w| w.rejected.as_ref()) {
        text.push_str(&format!(
            "\n:warning: `{WORKFLOW_PATH}` at `{}` is not valid, so it is not in force: line {}: {}",
            rejected.commit.short(),
            rejected.line,
            escape(&rejected.error)
        ));
    }
    text
}

/// The workflow in force, one line per environment.
pub fn workflow_lines(policy: &Policy) -> String {
    policy
        .describe()
        .iter()
        .map(|(name, what)| format!("• `{}`: {}", escape(name), escape(what)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `get` / `config`: the repository, the workflow in force and where it comes from, every
/// setting (defaults marked) and the resulting URLs.
pub fn config_view(grammar: &Grammar, project: &Project, policy: &Policy) -> Message {
    let c = grammar.command();
    let s = &project.settings;
    let value = |v: &Option<String>, default: &str| match v {
        Some(v) => code(v),
        None => format!("{} (default)", code(default)),
    };
    let base_domain = match &s.base_domain {
        Some(d) => code(d),
        None => "_not set_ (default)".to_owned(),
    };
    let urls = if s.urls.is_empty() {
        "_none_ (default)".to_owned()
    } else {
        s.urls
            .iter()
            .map(|(env, host)| format!("{env} → {}", code(host)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let settings = format!(
        "*Settings*\n• basedomain: {base_domain}\n• urlpattern: {}\n• urlseparator: {}\n• url: {urls}",
        value(&s.url_pattern, DEFAULT_URL_PATTERN),
        value(&s.url_separator, DEFAULT_URL_SEPARATOR),
    );
    let envs: Vec<String> = policy
        .environments()
        .iter()
        .map(|env| match policy.environment_url(s, env) {
            Some(url) => format!("• {env}: {}", escape(&url)),
            None => format!("• {env}: _no URL_"),
        })
        .collect();
    let mut env_text = format!("*Environment URLs*\n{}", envs.join("\n"));
    if s.base_domain.is_none() {
        env_text.push_str(&format!(
            "\nPull requests get `pr<number>` environments. With `{c} set basedomain <domain>`, each environment gets a URL from the pattern."
        ));
    } else {
        env_text
            .push_str("\nPull requests get `pr<number>` environments with URLs from the pattern.");
    }
    let head = format!(
        "This channel follows *{}*.",
        escape(project.repository.as_str())
    );
    let workflow = format!(
        "*Workflow*: {}\n{}",
        workflow_source(project),
        workflow_lines(policy)
    );
    Message {
        text: format!("{head}\n{workflow}\n{settings}\n{env_text}"),
        blocks: vec![
            Block::section(head),
            Block::section(workflow),
            Block::section(settings),
            Block::section(env_text),
            Block::context(format!(
                "Change with `{c} set <setting> <value>`, remove with `{c} unset <setting>`; `{c} set` explains them."
            )),
        ],
    }
}

// ---- users ------------------------------------------------------------------------------

/// `hello` acknowledged: the buttons follow once GitHub has answered.
pub fn hello_ack(repository: &Repository) -> Message {
    Message::text(format!(
        ":mag: Looking up who works on *{}*; your GitHub login buttons follow in a moment.",
        escape(repository.as_str())
    ))
}

/// `hello` from someone who is already linked.
pub fn hello_already_linked(grammar: &Grammar, login: &GithubLogin) -> Message {
    Message::text(format!(
        "You are already linked to the GitHub login {}. To claim another one, run `{} goodbye` first.",
        code(login.as_str()),
        grammar.command()
    ))
}

/// `goodbye` removed the caller's link.
pub fn goodbye_done(grammar: &Grammar, login: &GithubLogin) -> Message {
    Message::text(format!(
        ":wave: You are no longer linked to the GitHub login {}. `{} hello` links you again.",
        code(login.as_str()),
        grammar.command()
    ))
}

/// `goodbye` from someone who was not linked.
pub fn goodbye_not_linked(grammar: &Grammar) -> Message {
    Message::text(format!(
        "You were not linked to a GitHub login, so there is nothing to undo. `{} hello` offers the logins you can claim.",
        grammar.command()
    ))
}

/// The claim offer: one button per GitHub login not yet linked, at most
/// [`BUTTONS_PER_BLOCK`] per actions block and [`MAX_CLAIM_BUTTONS`] in all.
pub fn claim_offer(
    grammar: &Grammar,
    repository: &Repository,
    intro: Option<&str>,
    unclaimed: &[GithubLogin],
    requester: Option<&GithubLogin>,
) -> Message {
    let c = grammar.command();
    let repo = escape(repository.as_str());
    let mut blocks = Vec::new();
    if let Some(intro) = intro {
        blocks.push(Block::section(intro));
    }
    if let Some(login) = requester {
        let text = format!(
            "You are already linked to the GitHub login {}. To claim another one, run `{c} goodbye` first.",
            code(login.as_str())
        );
        blocks.push(Block::section(text.clone()));
        return Message {
            text: intro.map_or(text.clone(), |i| format!("{i}\n{text}")),
            blocks,
        };
    }
    if unclaimed.is_empty() {
        let text = format!(
            "Every GitHub login with access to *{repo}* is already linked to a Slack user, so there is nothing to claim. If one of them is yours by mistake, its owner can run `{c} goodbye`."
        );
        blocks.push(Block::section(text.clone()));
        return Message {
            text: intro.map_or(text.clone(), |i| format!("{i}\n{text}")),
            blocks,
        };
    }
    if unclaimed.len() > MAX_CLAIM_BUTTONS {
        let prompt = format!(
            "{} GitHub logins with access to *{repo}* are not linked to anyone yet. Start typing yours and pick it to link it to your Slack user, so deployments can mention you:",
            unclaimed.len()
        );
        blocks.push(Block::section(prompt.clone()));
        blocks.push(Block::Actions {
            block_id: Some(claim_select_block_id(repository)),
            elements: vec![Element::external_select(
                ACTION_CLAIM_LOGIN,
                "Type your GitHub login",
                Some(CLAIM_SELECT_MIN_QUERY),
            )],
        });
        blocks.push(Block::context(format!(
            "Or type it in a command: `{c} hello <your-github-login>`."
        )));
        return Message {
            text: intro.map_or(prompt.clone(), |i| format!("{i}\n{prompt}")),
            blocks,
        };
    }
    let prompt = format!(
        "These GitHub logins with access to *{repo}* are not linked to anyone yet. Press yours to link it to your Slack user, so deployments can mention you:"
    );
    blocks.push(Block::section(prompt.clone()));
    let buttons = unclaimed
        .iter()
        .map(|login| Element::button(login.as_str(), ACTION_CLAIM_LOGIN, login.as_str()))
        .collect();
    blocks.push(Block::actions(buttons));
    let fallback = format!(
        "{} GitHub logins of {repo} can be claimed: {}",
        unclaimed.len(),
        unclaimed
            .iter()
            .map(GithubLogin::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    );
    Message {
        text: intro.map_or(fallback.clone(), |i| format!("{i}\n{fallback}")),
        blocks,
    }
}

/// The options of a claim select for what the person typed (`query`): the unlinked logins
/// that start with it first, then those that contain it, each group in alphabetical order,
/// at most [`MAX_SELECT_OPTIONS`].
pub fn claim_options(unclaimed: &[GithubLogin], query: &str) -> OptionsAnswer {
    let query = query.trim().trim_start_matches('@').to_ascii_lowercase();
    let mut starts: Vec<&GithubLogin> = Vec::new();
    let mut contains: Vec<&GithubLogin> = Vec::new();
    for login in unclaimed {
        if login.as_str().starts_with(&query) {
            starts.push(login);
        } else if login.as_str().contains(&query) {
            contains.push(login);
        }
    }
    starts.sort();
    contains.sort();
    OptionsAnswer {
        options: starts
            .into_iter()
            .chain(contains)
            .take(MAX_SELECT_OPTIONS)
            .map(|login| SelectOption::new(login.as_str(), login.as_str()))
            .collect(),
    }
}

/// `setup` is being checked on GitHub.
pub fn setup_checking(repository: &Repository) -> Message {
    Message::text(format!(
        ":mag: Checking *{}* on GitHub before tying this channel to it; the answer follows in a moment.",
        escape(repository.as_str())
    ))
}

/// `setup`: GitHub has no such repository (or the App cannot see it).
pub fn setup_not_found(grammar: &Grammar, repository: &Repository) -> Message {
    let c = grammar.command();
    let repo = escape(repository.as_str());
    Message::text(format!(
        ":warning: I can't find *{repo}* on GitHub, so nothing was set up. Check the spelling: it is `owner/name`, as in `github.com/owner/name`, then run `{c} setup {repo}` again. If it is spelled right, the deploybot GitHub App may not have been given this repository: an owner of *{owner}* can add it under Settings → GitHub Apps → deploybot → Configure → Repository access.",
        owner = escape(repository.owner())
    ))
}

/// `setup`: the GitHub App is not installed on the repository's account.
pub fn setup_not_installed(grammar: &Grammar, repository: &Repository) -> Message {
    let c = grammar.command();
    let repo = escape(repository.as_str());
    Message::text(format!(
        ":warning: The deploybot GitHub App is not installed on *{owner}* (or there is no GitHub account called `{owner}`: check the spelling), so nothing was set up. Ask an owner of *{owner}* to install the App for *{repo}*, then run `{c} setup {repo}` again.",
        owner = escape(repository.owner())
    ))
}

/// `setup`: the App is installed but may not read the repository.
pub fn setup_forbidden(grammar: &Grammar, repository: &Repository) -> Message {
    let c = grammar.command();
    let repo = escape(repository.as_str());
    Message::text(format!(
        ":no_entry: The deploybot GitHub App has no access to *{repo}*, so nothing was set up. Ask an owner of *{owner}* to grant the App the permissions it asks for (Settings → GitHub Apps → deploybot → Configure), then run `{c} setup {repo}` again.",
        owner = escape(repository.owner())
    ))
}

/// `setup`: GitHub did not answer (down, too slow, rate limited).
pub fn setup_github_unavailable(grammar: &Grammar, repository: &Repository) -> Message {
    let repo = escape(repository.as_str());
    Message::text(format!(
        ":hourglass: I could not reach GitHub to check *{repo}*, so nothing was set up. Please try `{} setup {repo}` again in a minute.",
        grammar.command()
    ))
}

/// `hello <login>` is being checked against the repository's collaborators.
pub fn hello_checking(login: &GithubLogin, repository: &Repository) -> Message {
    Message::text(format!(
        ":mag: Checking that {} has access to *{}*; the answer follows in a moment.",
        code(login.as_str()),
        escape(repository.as_str())
    ))
}

/// `hello <login>` for a login that is already the asker's.
pub fn hello_already_yours(login: &GithubLogin) -> Message {
    Message::text(format!(
        "You are already linked to the GitHub login {}: nothing to do.",
        code(login.as_str())
    ))
}

/// `hello <login>` for a login without access to the repository.
pub fn hello_not_collaborator(
    grammar: &Grammar,
    login: &GithubLogin,
    repository: &Repository,
) -> Message {
    let c = grammar.command();
    Message::text(format!(
        "{} is not one of the GitHub logins with access to *{}*, so I did not link it. Check the spelling, or run `{c} hello` to pick yours from the list. If you were added to the repository just now, try again in a minute.",
        code(login.as_str()),
        escape(repository.as_str())
    ))
}

/// GitHub could not list the collaborators.
pub fn collaborators_unavailable(grammar: &Grammar, repository: &Repository) -> Message {
    Message::text(format!(
        ":warning: I could not get the list of people with access to *{}* from GitHub. Check that the deploybot GitHub App is installed on that repository, then run `{} hello` again.",
        escape(repository.as_str()),
        grammar.command()
    ))
}

/// A claim button linked the presser (replaces the offer).
pub fn claim_linked(login: &GithubLogin, user: &SlackUserId) -> Message {
    Message::text(format!(
        ":handshake: {} is now linked to the GitHub login {}: deployments of their commits will mention them.",
        user.mention(),
        code(login.as_str())
    ))
}

/// A claim button for a login someone else has.
pub fn claim_login_taken(grammar: &Grammar, login: &GithubLogin, owner: &SlackUserId) -> Message {
    Message::text(format!(
        "The GitHub login {} is already claimed by {}. If it is not theirs, they can run `{} goodbye` to release it.",
        code(login.as_str()),
        owner.mention(),
        grammar.command()
    ))
}

/// A claim button pressed by someone already linked to another login.
pub fn claim_already_linked(grammar: &Grammar, current: &GithubLogin) -> Message {
    Message::text(format!(
        "You are already linked to the GitHub login {}. Run `{} goodbye` first, then press the other login.",
        code(current.as_str()),
        grammar.command()
    ))
}

/// A member joined a channel that follows a repository.
pub fn join_invitation(grammar: &Grammar, repository: &Repository) -> Message {
    Message::text(format!(
        ":wave: Welcome! This channel follows the deployments of *{}*. Run `{} hello` to link your GitHub login, so deployments of your commits mention you.",
        escape(repository.as_str()),
        grammar.command()
    ))
}

// ---- deployments ------------------------------------------------------------------------

/// `deploy` that the policy refuses outright.
pub fn deploy_refused(refusal: &Refusal) -> Message {
    Message::text(format!(":no_entry: {refusal}"))
}

/// `deploy` accepted: the deployment's own message follows in the channel.
pub fn deploy_ack(git_ref: Option<&GitRef>, environment: &Environment) -> Message {
    let what = match git_ref {
        Some(r) => format!("{} to *{environment}*", code(r.short_name())),
        None => format!("*{environment}* from its default source"),
    };
    Message::text(format!(
        ":rocket: On it: deploying {what}. The deployment's progress will be posted in this channel; if it cannot go ahead, I will tell you why."
    ))
}

/// `rollback` accepted: the preview follows.
pub fn rollback_ack(environment: &Environment) -> Message {
    Message::text(format!(
        ":mag: Looking at what *{environment}* ran before; the rollback preview follows here."
    ))
}

/// "Deploy to staging" accepted.
pub fn promote_ack(deployment: &Deployment) -> Message {
    Message::text(format!(
        ":rocket: On it: promoting {} from {} to *staging*. Its progress will be posted in this channel.",
        code(deployment.sha.short()),
        deployment.environment
    ))
}

/// "Retry" accepted: the same ref and commit again.
pub fn retry_ack(deployment: &Deployment) -> Message {
    let what = if ref_is_its_sha(deployment) {
        code(deployment.sha.short())
    } else {
        format!(
            "{} at {}",
            code(deployment.git_ref.short_name()),
            code(deployment.sha.short())
        )
    };
    Message::text(format!(
        ":repeat: On it: deploying {what} to *{}* again. Its progress will be posted in this channel.",
        deployment.environment
    ))
}

/// A button named a deployment that is not (or no longer) in this channel's repository.
pub fn deployment_not_found(grammar: &Grammar) -> Message {
    Message::text(format!(
        "I cannot find that deployment in this channel's repository any more (was the channel reset?). `{} list` shows the recent ones.",
        grammar.command()
    ))
}

/// "Deploy to staging" on a deployment that is not a successful test deployment.
pub fn promote_not_eligible(grammar: &Grammar, deployment: &Deployment) -> Message {
    Message::text(format!(
        "Only a successful *test* deployment can be promoted to staging; this one is a {} deployment that {}. Use `{} deploy <ref> to staging` with a commit that passed test.",
        deployment.environment,
        deployment.state.label(),
        grammar.command()
    ))
}

/// "Retry" on a deployment that did not fail.
pub fn retry_not_eligible(grammar: &Grammar, deployment: &Deployment) -> Message {
    Message::text(format!(
        "Only a failed deployment can be retried; this one {}. To deploy again anyway, run `{} deploy {} to {}`.",
        deployment.state.label(),
        grammar.command(),
        escape(deployment.git_ref.short_name()),
        deployment.environment.command_word()
    ))
}

/// How many recent deployments `list` shows.
pub const LIST_LIMIT: usize = 10;

/// The GitHub logins `list` shows for these deployments (pushers, or commit authors of pushes
/// without a known pusher), each once: look their links up together, in one call.
pub fn list_logins<'a>(deployments: impl IntoIterator<Item = &'a Deployment>) -> Vec<GithubLogin> {
    let mut logins: Vec<GithubLogin> = Vec::new();
    for login in deployments.into_iter().filter_map(named_login) {
        if !logins.contains(login) {
            logins.push(login.clone());
        }
    }
    logins
}

/// `list [environment]`: the current deployment of each environment, then the newest ones.
/// `links` are the known links of the people named (see [`list_logins`]): they are
/// @-mentioned as in the deployment messages; anyone else is shown by GitHub login.
pub fn list_view(
    grammar: &Grammar,
    repository: &Repository,
    filter: Option<Environment>,
    current: &[Deployment],
    recent: &[Deployment],
    links: &[UserLink],
    now: Timestamp,
) -> Message {
    let repo = escape(repository.as_str());
    let scope = match filter {
        Some(env) => format!("{env} deployments of {repo}"),
        None => format!("deployments of {repo}"),
    };
    if recent.is_empty() {
        let c = grammar.command();
        return Message::text(format!(
            "There are no {scope} yet. They appear when GitHub events or `{c} deploy <ref> to <environment>` start some."
        ));
    }
    // Each line is written once into its own buffer; the message's plain `text` is the lines
    // joined (this reply renders up to 14 rows on every `list`).
    let mut blocks = Vec::with_capacity(recent.len() + 4);
    let mut text = String::with_capacity(256 * (recent.len() + current.len() + 1));
    if !current.is_empty() {
        let mut section = String::from(":round_pushpin: *Now in each environment*");
        for d in current {
            section.push_str("\n*");
            push_display(&mut section, &d.environment);
            section.push_str("* ");
            push_deployment_line(&mut section, d, links, now, false);
        }
        text.push_str(&section);
        text.push('\n');
        blocks.push(Block::section(section));
        blocks.push(Block::Divider);
    }
    let head = format!(":scroll: *Newest {scope}*");
    text.push_str(&head);
    blocks.push(Block::section(head));
    for d in recent {
        let mut line = String::with_capacity(200);
        line.push('*');
        push_display(&mut line, &d.environment);
        line.push('*');
        if current.iter().any(|c| c.id == d.id) {
            line.push_str(" :round_pushpin:");
        }
        line.push(' ');
        push_deployment_line(&mut line, d, links, now, true);
        text.push('\n');
        text.push_str(&line);
        blocks.push(Block::Section {
            text: Some(Text::mrkdwn(line)),
            fields: Vec::new(),
            accessory: None,
        });
    }
    blocks.push(Block::context(
        ":round_pushpin: marks what each environment runs now (its newest successful or in-flight deployment).",
    ));
    Message { text, blocks }
}

// ---- locks and status -------------------------------------------------------------------

/// A lock button that names a lane no channel follows (the channel was reset, or the
/// repository moved).
pub fn lane_not_found(grammar: &Grammar) -> Message {
    Message::text(format!(
        "That lock belongs to a repository no channel follows any more, so there is nothing to unlock or extend. `{} status` shows this channel's environments.",
        grammar.command()
    ))
}

/// `lock` (or [Extend 1h]) done: the person holds the environment until the lock's end.
pub fn lock_taken(grammar: &Grammar, environment: &Environment, lock: &Lock) -> Message {
    Message::text(format!(
        ":lock: You hold *{environment}* until {}: deployments there wait, except the ones you start yourself. The channel is told; `{} unlock {}` lets them go again.",
        slack_time(lock.until),
        grammar.command(),
        environment.command_word()
    ))
}

/// `unlock` (or [Unlock], [Unlock anyway]) done.
pub fn lock_released(environment: &Environment, lock: &Lock, by: &SlackUserId) -> Message {
    let told = if &lock.holder == by {
        "the channel is told what deploys next".to_owned()
    } else {
        format!(
            "{} is told that you took their lock, and the channel what deploys next",
            lock.holder.mention()
        )
    };
    Message::text(format!(":unlock: *{environment}* is unlocked; {told}."))
}

/// `unlock` of a lock that had just run out.
pub fn lock_ran_out(environment: &Environment, lock: &Lock) -> Message {
    Message::text(format!(
        ":unlock: The lock on *{environment}* by {} had run out already, so it is unlocked; the channel is told what deploys next.",
        lock.holder.mention()
    ))
}

/// A lock command whose lane needed GitHub's answer first: another function finishes it.
pub fn lane_handed_over(environment: &Environment) -> Message {
    Message::text(format!(
        ":hourglass_flowing_sand: On it: *{environment}*'s queue needs a word from GitHub first. The channel is told in a moment."
    ))
}

/// One environment as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentStatus {
    pub environment: Environment,
    /// What it runs: its newest successful deployment.
    pub current: Option<Deployment>,
    /// What is in flight: the deployment that holds its slot.
    pub running: Option<Deployment>,
    /// Its lock, while it holds.
    pub lock: Option<Lock>,
    /// How many deployments wait in its queue (counted up to a limit).
    pub queued: usize,
    /// Whether more wait than `queued` says.
    pub queue_more: bool,
    /// The freeze in force, if it is frozen.
    pub frozen: Option<deploybot_core::freeze::Frozen>,
}

/// How many names of further busy pull-request environments `status` writes out.
const MORE_NAMES: usize = 10;

/// `status`: each environment at a glance — what runs, what is in flight, its lock, its
/// queue — then the busy pull-request environments not shown (`more`).
pub fn status_view(
    grammar: &Grammar,
    repository: &Repository,
    environments: &[EnvironmentStatus],
    more: &[Environment],
    links: &[UserLink],
    now: Timestamp,
) -> Message {
    let c = grammar.command();
    let head = format!(":bar_chart: *{}* now", escape(repository.as_str()));
    let mut text = head.clone();
    let mut blocks = Vec::with_capacity(environments.len() + 3);
    blocks.push(Block::section(head));
    for env in environments {
        let section = environment_status(env, links, now);
        text.push('\n');
        text.push_str(&section);
        blocks.push(Block::section(section));
    }
    if !more.is_empty() {
        let mut names: Vec<String> = more
            .iter()
            .take(MORE_NAMES)
            .map(|e| format!("`{e}`"))
            .collect();
        if more.len() > MORE_NAMES {
            names.push(format!("{} others", more.len() - MORE_NAMES));
        }
        let line = format!(
            "…and {} more pull-request environments with a deployment going or a lock: {}. `{c} list <environment>` shows one.",
            more.len(),
            names.join(", ")
        );
        text.push('\n');
        text.push_str(&line);
        blocks.push(Block::section(line));
    }
    blocks.push(Block::context(format!(
        "`{c} list` shows the recent deployments; `{c} lock <environment>` holds deployments to one."
    )));
    Message { text, blocks }
}

/// One environment's lines in `status`.
fn environment_status(env: &EnvironmentStatus, links: &[UserLink], now: Timestamp) -> String {
    let mut out = String::with_capacity(300);
    out.push('*');
    push_display(&mut out, &env.environment);
    out.push('*');
    let idle = env.current.is_none()
        && env.running.is_none()
        && env.lock.is_none()
        && env.queued == 0
        && env.frozen.is_none();
    if idle {
        out.push_str(" _nothing deployed yet_");
        return out;
    }
    match &env.current {
        Some(d) => {
            out.push_str("\n• runs ");
            push_deployment_line(&mut out, d, links, now, false);
        }
        None => out.push_str("\n• runs _nothing yet_"),
    }
    if let Some(d) = &env.running {
        out.push_str("\n• deploying ");
        push_deployment_line(&mut out, d, links, now, true);
    }
    if let Some(lock) = &env.lock {
        out.push_str("\n• :lock: locked by ");
        out.push_str(&lock.holder.mention());
        out.push_str(" until ");
        out.push_str(&slack_time(lock.until));
        out.push_str(" (");
        out.push_str(&time_left(lock, now));
        out.push(')');
        // The reason is shown as the lock notices show it: Slack sends command text with
        // `&`, `<` and `>` escaped already.
        if let Some(reason) = &lock.reason {
            out.push_str(" — ");
            out.push_str(reason);
        }
    }
    if let Some(frozen) = &env.frozen {
        out.push_str("\n• ");
        out.push_str(&crate::render::freezes::frozen_line(frozen, now));
    }
    if env.queued > 0 {
        let more = if env.queue_more { "+" } else { "" };
        let noun = if env.queued == 1 && !env.queue_more {
            "deployment waits"
        } else {
            "deployments wait"
        };
        out.push_str(&format!(
            "\n• :hourglass_flowing_sand: {}{more} {noun} in line",
            env.queued
        ));
    }
    out
}

/// "1h 20m left", in whole minutes.
fn time_left(lock: &Lock, now: Timestamp) -> String {
    let minutes = lock.time_left(now).as_secs() / 60;
    if minutes == 0 {
        "less than a minute left".to_owned()
    } else {
        format!(
            "{} left",
            format_duration(std::time::Duration::from_secs(minutes * 60))
        )
    }
}

/// A value's `Display`, appended to `out` (writing to a `String` cannot fail).
fn push_display(out: &mut String, value: &impl std::fmt::Display) {
    use std::fmt::Write as _;
    let _ = write!(out, "{value}");
}

/// `` `v1.4` `abc1234` :white_check_mark: succeeded · <@U1> · 5 min ago · build · open ``,
/// appended to `out`.
fn push_deployment_line(
    out: &mut String,
    d: &Deployment,
    links: &[UserLink],
    now: Timestamp,
    with_state_label: bool,
) {
    const SEP: &str = " · ";
    // A ref that is the commit itself is not repeated beside its SHA.
    if !ref_is_its_sha(d) {
        push_code(out, d.git_ref.short_name());
        out.push(' ');
    }
    push_code(out, d.sha.short());
    out.push(' ');
    out.push_str(d.state.emoji());
    if with_state_label {
        out.push(' ');
        out.push_str(d.state.label());
    }
    if let Some(who) = who(d, links) {
        out.push_str(SEP);
        out.push_str(&who);
    }
    out.push_str(SEP);
    out.push_str(&d.created_at.ago(now));
    if let Some(url) = &d.build_url {
        out.push_str(SEP);
        match d.pipeline_number {
            Some(n) => push_link(out, url, &format!("build #{n}")),
            None => push_link(out, url, "build"),
        }
    }
    if let Some(url) = &d.environment_url
        && d.state != DeploymentState::Inactive
    {
        out.push_str(SEP);
        push_link(out, url, "open");
    }
}

/// The GitHub login `list` names for a deployment: a push's pusher, else its commit author.
fn named_login(d: &Deployment) -> Option<&GithubLogin> {
    match &d.trigger {
        Trigger::Push { pusher } | Trigger::Tag { pusher } => {
            pusher.as_ref().or(d.commit_author.as_ref())
        }
        Trigger::PullRequest { .. }
        | Trigger::Manual { .. }
        | Trigger::Retry { .. }
        | Trigger::Rollback { .. } => None,
    }
}

/// Who started a deployment, for people: a Slack mention (a linked GitHub login too), a
/// GitHub login or the pull request.
fn who(d: &Deployment, links: &[UserLink]) -> Option<String> {
    match &d.trigger {
        Trigger::PullRequest { number, url } => Some(match url {
            Some(url) => link(url, &format!("PR #{number}")),
            None => format!("PR #{number}"),
        }),
        Trigger::Manual { slack_user } => Some(slack_user.mention()),
        Trigger::Retry { slack_user, .. } => Some(format!("{} (retry)", slack_user.mention())),
        Trigger::Rollback { slack_user, .. } => {
            Some(format!("{} (rollback)", slack_user.mention()))
        }
        Trigger::Push { .. } | Trigger::Tag { .. } => {
            named_login(d).map(|login| person(login, links))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deploybot_core::{DeploymentId, ProjectSettings, Sha};
    use std::collections::BTreeMap;

    fn snapshot(name: &str, message: &Message) {
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_json_snapshot!(format!("replies__{name}"), message));
    }

    fn grammar() -> Grammar {
        Grammar::default()
    }

    fn repo() -> Repository {
        Repository::parse("acme/web").expect("valid")
    }

    fn user(id: &str) -> SlackUserId {
        SlackUserId::parse(id).expect("valid")
    }

    fn login(l: &str) -> GithubLogin {
        GithubLogin::parse(l).expect("valid")
    }

    fn project(settings: ProjectSettings) -> Project {
        Project {
            repository: repo(),
            channel: SlackChannelId::parse("C1").expect("valid"),
            channel_name: Some("web".into()),
            team: None,
            settings,
            created_by: None,
            workflow: None,
            created_at: Timestamp::from_secs(0),
            github_id: None,
        }
    }

    const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);

    fn deployment(
        n: u32,
        env: Environment,
        git_ref: GitRef,
        state: DeploymentState,
        trigger: Trigger,
        minutes_ago: i64,
    ) -> Deployment {
        let created = NOW.plus_secs(-60 * minutes_ago);
        let mut d = Deployment::new(
            repo(),
            DeploymentId::new(created, n),
            env,
            git_ref,
            Sha::parse(&format!("{n:x}").repeat(40)[..40]).expect("valid"),
            trigger,
            SlackChannelId::parse("C1").expect("valid"),
            created,
        );
        d.state = state;
        d
    }

    #[test]
    fn escaping() {
        assert_eq!(escape("a<b>&c"), "a&lt;b&gt;&amp;c");
        assert_eq!(code("x`y"), "`x'y`");
        assert_eq!(link("https://x.y/1", "b<1>"), "<https://x.y/1|b&lt;1&gt;>");
        assert_eq!(link("https://x.y/a|b", "lbl"), "lbl");
    }

    #[test]
    fn snapshots_of_general_replies() {
        let g = grammar();
        snapshot("help", &help(&g, None));
        let qa = deploybot_core::workflow_file::WorkflowFile::parse(
            "version: 1\nenvironments:\n  qa:\n    on: { push: [develop] }\n  live:\n    promote_from: qa\n    production: true\n",
        )
        .expect("a valid file");
        snapshot(
            "help_with_a_workflow",
            &help(&g, Some(&Policy::from_file(qa))),
        );
        snapshot("settings_help", &settings_help(&g));
        snapshot("internal_error", &internal_error());
        snapshot("not_set_up", &not_set_up(&g));
        snapshot(
            "usage",
            &usage("I don't know the command `x`. Try `/cimon help` to see what I can do."),
        );
    }

    #[test]
    fn dates_are_civil_utc_dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(-1), (1969, 12, 31));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(20_063), (2024, 12, 6));
        assert_eq!(
            slack_date(Timestamp::from_secs(1_733_512_345)),
            "<!date^1733512345^{date_short_pretty} at {time}|2024-12-06 19:12 UTC>"
        );
    }

    #[test]
    fn reasons_a_repository_moved_are_told() {
        let g = grammar();
        let mut previous = Unbinding {
            repository: repo(),
            channel: SlackChannelId::parse("C0OLD").expect("valid"),
            channel_name: Some("secret-project".into()),
            reason: UnbindReason::ChannelDeleted,
            event: Some("group_deleted".into()),
            at: Timestamp::from_secs(1_733_512_345),
        };
        for (reason, want) in [
            (UnbindReason::ChannelDeleted, "that channel was deleted"),
            (
                UnbindReason::BotRemoved,
                "deploybot was removed from that channel",
            ),
            (
                UnbindReason::Reset { by: user("U2") },
                "<@U2> ran `/cimon reset` there",
            ),
        ] {
            previous.reason = reason;
            let text =
                serde_json::to_string(&setup_done_moved(&g, &repo(), &user("U1"), &previous))
                    .expect("json");
            assert!(text.contains(want), "{text}");
            assert!(text.contains("<#C0OLD>"), "{text}");
            assert!(!text.contains("secret-project"), "{text}");
        }
    }

    #[test]
    fn snapshots_of_setup_and_reset() {
        let g = grammar();
        let other = SlackChannelId::parse("C999").expect("valid");
        snapshot("setup_done", &setup_done(&g, &repo(), &user("U1")));
        snapshot("setup_already", &setup_already(&g, &repo()));
        snapshot(
            "setup_repository_taken",
            &setup_repository_taken(&g, &repo(), &other),
        );
        snapshot(
            "setup_channel_taken",
            &setup_channel_taken(&g, &Repository::parse("acme/api").expect("valid"), &repo()),
        );
        snapshot("reset_done", &reset_done(&g, &repo(), &user("U1")));
        let archived = Unbinding {
            repository: repo(),
            channel: other.clone(),
            channel_name: Some("web-old".into()),
            reason: UnbindReason::ChannelArchived,
            event: Some("channel_archive".into()),
            at: Timestamp::from_secs(1_733_512_345),
        };
        snapshot(
            "setup_done_moved",
            &setup_done_moved(&g, &repo(), &user("U1"), &archived),
        );
        snapshot("reset_nothing", &reset_nothing(&g));
    }

    #[test]
    fn snapshots_of_settings() {
        let g = grammar();
        snapshot(
            "config_defaults",
            &config_view(&g, &project(Default::default()), &Policy::default()),
        );
        let mut urls = BTreeMap::new();
        urls.insert(Environment::Production, "www.example.com".to_owned());
        let custom = ProjectSettings {
            base_domain: Some("example.com".into()),
            url_pattern: Some(
                "https://{environment}{urlseparator}app{urlseparator}{basedomain}/".into(),
            ),
            url_separator: Some("-".into()),
            urls,
        };
        snapshot(
            "config_custom",
            &config_view(&g, &project(custom.clone()), &Policy::default()),
        );
        snapshot(
            "setting_saved",
            &setting_saved(
                &g,
                "`basedomain` is now `example.com`.",
                &project(ProjectSettings {
                    base_domain: Some("example.com".into()),
                    ..Default::default()
                }),
                &Policy::default(),
            ),
        );
        snapshot(
            "setting_was_not_set",
            &setting_was_not_set(
                &g,
                &setting_label(SettingName::Url, Some(Environment::Staging)),
            ),
        );
    }

    #[test]
    fn snapshots_of_users() {
        let g = grammar();
        snapshot("hello_ack", &hello_ack(&repo()));
        snapshot(
            "hello_already_linked",
            &hello_already_linked(&g, &login("octocat")),
        );
        snapshot("goodbye_done", &goodbye_done(&g, &login("octocat")));
        snapshot("goodbye_not_linked", &goodbye_not_linked(&g));
        snapshot(
            "claim_linked",
            &claim_linked(&login("octocat"), &user("U1")),
        );
        snapshot(
            "claim_login_taken",
            &claim_login_taken(&g, &login("octocat"), &user("U2")),
        );
        snapshot(
            "claim_already_linked",
            &claim_already_linked(&g, &login("octocat")),
        );
        snapshot("join_invitation", &join_invitation(&g, &repo()));
        snapshot(
            "collaborators_unavailable",
            &collaborators_unavailable(&g, &repo()),
        );
    }

    #[test]
    fn snapshots_of_claim_offers() {
        let g = grammar();
        let logins = [login("alice"), login("bob"), login("carol")];
        let intro = setup_claim_intro(&repo());
        snapshot(
            "claim_offer",
            &claim_offer(&g, &repo(), Some(&intro), &logins, None),
        );
        snapshot(
            "claim_offer_nobody_left",
            &claim_offer(&g, &repo(), None, &[], None),
        );
        snapshot(
            "claim_offer_requester_linked",
            &claim_offer(&g, &repo(), None, &logins, Some(&login("dave"))),
        );
        let many: Vec<GithubLogin> = (0..40).map(|i| login(&format!("user{i:02}"))).collect();
        snapshot(
            "claim_offer_select",
            &claim_offer(&g, &repo(), Some(&intro), &many, None),
        );
    }

    #[test]
    fn snapshots_of_setup_checks_and_hello_by_name() {
        let g = grammar();
        snapshot("setup_checking", &setup_checking(&repo()));
        snapshot("setup_not_found", &setup_not_found(&g, &repo()));
        snapshot("setup_not_installed", &setup_not_installed(&g, &repo()));
        snapshot("setup_forbidden", &setup_forbidden(&g, &repo()));
        snapshot(
            "setup_github_unavailable",
            &setup_github_unavailable(&g, &repo()),
        );
        snapshot(
            "hello_checking",
            &hello_checking(&login("octocat"), &repo()),
        );
        snapshot(
            "hello_already_yours",
            &hello_already_yours(&login("octocat")),
        );
        snapshot(
            "hello_not_collaborator",
            &hello_not_collaborator(&g, &login("octocat"), &repo()),
        );
    }

    #[test]
    fn claim_offers_respect_slack_limits() {
        let g = grammar();
        let many: Vec<GithubLogin> = (0..130).map(|i| login(&format!("user{i:03}"))).collect();
        let elements = |n: usize| -> Vec<Vec<Element>> {
            claim_offer(&g, &repo(), None, &many[..n], None)
                .blocks
                .into_iter()
                .filter_map(|b| match b {
                    Block::Actions { elements, .. } => Some(elements),
                    _ => None,
                })
                .collect()
        };
        // Up to 25 logins are buttons in one block; more are a type-ahead select.
        let buttons = elements(25);
        assert_eq!(buttons.len(), 1);
        assert_eq!(buttons[0].len(), 25);
        assert!(matches!(buttons[0][0], Element::Button { .. }));
        for n in [26, 130] {
            let select = elements(n);
            assert_eq!(select.len(), 1, "{n}");
            assert!(
                matches!(&select[0][..], [Element::ExternalSelect { action_id, .. }] if action_id == ACTION_CLAIM_LOGIN),
                "{n}: {select:?}"
            );
        }
        let offer = claim_offer(&g, &repo(), None, &many, None);
        let block_id = offer.blocks.iter().find_map(|b| match b {
            Block::Actions { block_id, .. } => block_id.clone(),
            _ => None,
        });
        assert_eq!(
            block_id.as_deref().and_then(claim_select_repository),
            Some(repo())
        );
        let json = serde_json::to_string(&offer).expect("json");
        assert!(json.contains("130 GitHub logins"), "{json}");
        assert!(json.contains("/cimon hello <your-github-login>"), "{json}");
    }

    #[test]
    fn claim_options_filter_what_was_typed() {
        let logins: Vec<GithubLogin> = ["bob", "alice", "malice", "alfred", "carol"]
            .into_iter()
            .map(login)
            .collect();
        let values = |query: &str| -> Vec<String> {
            claim_options(&logins, query)
                .options
                .into_iter()
                .map(|o| o.value)
                .collect()
        };
        assert_eq!(values("al"), ["alfred", "alice", "malice"]);
        assert_eq!(values("ALI"), ["alice", "malice"]);
        assert_eq!(values("@bo"), ["bob"]);
        assert_eq!(values("zed"), Vec::<String>::new());
        assert_eq!(values("").len(), 5);
        let many: Vec<GithubLogin> = (0..250).map(|i| login(&format!("user{i:03}"))).collect();
        assert_eq!(claim_options(&many, "user").options.len(), 100);
        let json = serde_json::to_value(claim_options(&logins, "bob")).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"options": [{"text": {"type": "plain_text", "text": "bob", "emoji": false}, "value": "bob"}]})
        );
    }

    #[test]
    fn snapshots_of_deployments() {
        let g = grammar();
        let manual = Trigger::Manual {
            slack_user: user("U1"),
        };
        let mut ok_test = deployment(
            1,
            Environment::Test,
            GitRef::Branch("release/1.4".into()),
            DeploymentState::Success,
            Trigger::Push {
                pusher: Some(login("alice")),
            },
            90,
        );
        ok_test.build_url = Some("https://ci.example/pipelines/7".into());
        ok_test.pipeline_number = Some(7);
        ok_test.environment_url = Some("https://test.example.com/".into());
        let failed = deployment(
            2,
            Environment::Preview,
            GitRef::Branch("main".into()),
            DeploymentState::Failure,
            manual.clone(),
            5,
        );
        snapshot(
            "deploy_refused",
            &deploy_refused(&Refusal::NeedsRef {
                environment: Environment::Test,
                hint: "any branch, tag or commit".into(),
            }),
        );
        snapshot(
            "deploy_ack",
            &deploy_ack(Some(&GitRef::Name("v1.4".into())), &Environment::Production),
        );
        snapshot(
            "deploy_ack_default",
            &deploy_ack(None, &Environment::Staging),
        );
        snapshot("promote_ack", &promote_ack(&ok_test));
        snapshot("retry_ack", &retry_ack(&failed));
        snapshot("deployment_not_found", &deployment_not_found(&g));
        snapshot("promote_not_eligible", &promote_not_eligible(&g, &failed));
        snapshot("retry_not_eligible", &retry_not_eligible(&g, &ok_test));
    }

    #[test]
    fn code_spans_and_links_stay_one_piece_and_escaped() {
        assert_eq!(code("feat/`x`<b>&c"), "`feat/'x'&lt;b&gt;&amp;c`");
        assert_eq!(code("`"), "`'`");
        assert_eq!(code(""), "``");
        assert_eq!(
            link("https://ci.example/1", "build <#1>"),
            "<https://ci.example/1|build &lt;#1&gt;>"
        );
        assert_eq!(link("https://x.example/a|b", "open & go"), "open &amp; go");
    }

    #[test]
    fn list_lines_show_a_sha_ref_once() {
        let line = |git_ref: GitRef| {
            let d = deployment(
                12,
                Environment::Staging,
                git_ref,
                DeploymentState::Success,
                Trigger::Manual {
                    slack_user: user("U1"),
                },
                5,
            );
            let mut line = String::new();
            push_deployment_line(&mut line, &d, &[], NOW, true);
            line
        };
        let sha = "c".repeat(40);
        // The ref is the commit itself, full or abbreviated, in any case: the SHA alone.
        for git_ref in [
            GitRef::Name(sha.clone()),
            GitRef::Name("ccccccc".into()),
            GitRef::Name("CCCCCCCCCC".into()),
        ] {
            let text = line(git_ref.clone());
            assert!(
                text.starts_with("`ccccccc` :white_check_mark:"),
                "{git_ref:?}: {text}"
            );
        }
        // A branch, a tag or another commit's SHA is shown beside the SHA.
        for (git_ref, shown) in [
            (GitRef::Branch("main".into()), "`main` `ccccccc`"),
            (GitRef::Tag("v1.4".into()), "`v1.4` `ccccccc`"),
            (GitRef::Name("abc1234".into()), "`abc1234` `ccccccc`"),
        ] {
            let text = line(git_ref);
            assert!(text.starts_with(shown), "{text}");
        }
    }

    fn lock(holder: &str, reason: Option<&str>, minutes: i64) -> Lock {
        Lock {
            holder: user(holder),
            reason: reason.map(str::to_owned),
            since: NOW.plus_secs(-600),
            until: NOW.plus_secs(minutes * 60),
            reminded: false,
        }
    }

    #[test]
    fn snapshots_of_lock_answers() {
        let g = grammar();
        let held = lock("U1", Some("testing the migration"), 120);
        snapshot("lock_taken", &lock_taken(&g, &Environment::Staging, &held));
        snapshot(
            "lock_released",
            &lock_released(&Environment::Staging, &held, &user("U1")),
        );
        snapshot(
            "lock_taken_over",
            &lock_released(&Environment::Staging, &held, &user("U2")),
        );
        snapshot("lock_ran_out", &lock_ran_out(&Environment::Staging, &held));
        snapshot(
            "lane_handed_over",
            &lane_handed_over(&Environment::Production),
        );
        snapshot("lane_not_found", &lane_not_found(&g));
    }

    #[test]
    fn snapshot_of_status() {
        let g = grammar();
        let pusher = Trigger::Push {
            pusher: Some(login("alice")),
        };
        let mut preview = deployment(
            1,
            Environment::Preview,
            GitRef::Branch("main".into()),
            DeploymentState::Success,
            pusher.clone(),
            120,
        );
        preview.environment_url = Some("https://preview.example.com/".into());
        let deploying = deployment(
            2,
            Environment::Preview,
            GitRef::Branch("main".into()),
            DeploymentState::InProgress,
            pusher,
            3,
        );
        let release = deployment(
            3,
            Environment::Test,
            GitRef::Branch("release-1.4".into()),
            DeploymentState::Success,
            Trigger::Manual {
                slack_user: user("U2"),
            },
            60 * 26,
        );
        let pr = deployment(
            4,
            Environment::PullRequest(12),
            GitRef::Branch("feature/login".into()),
            DeploymentState::Queued,
            Trigger::PullRequest {
                number: 12,
                url: Some("https://github.com/acme/web/pull/12".into()),
            },
            1,
        );
        let environments = vec![
            EnvironmentStatus {
                environment: Environment::Preview,
                current: Some(preview),
                running: Some(deploying),
                lock: None,
                queued: 1,
                queue_more: false,
                frozen: None,
            },
            EnvironmentStatus {
                environment: Environment::Test,
                current: Some(release),
                running: None,
                lock: Some(lock("U1", Some("testing the migration"), 80)),
                queued: 10,
                queue_more: true,
                frozen: None,
            },
            EnvironmentStatus {
                environment: Environment::Staging,
                current: None,
                running: None,
                lock: Some(Lock {
                    until: NOW.plus_secs(30),
                    ..lock("U2", None, 0)
                }),
                queued: 0,
                queue_more: false,
                frozen: None,
            },
            EnvironmentStatus {
                environment: Environment::Production,
                current: None,
                running: None,
                lock: None,
                queued: 0,
                queue_more: false,
                frozen: None,
            },
            EnvironmentStatus {
                environment: Environment::PullRequest(12),
                current: None,
                running: Some(pr),
                lock: None,
                queued: 0,
                queue_more: false,
                frozen: None,
            },
        ];
        let links = [UserLink {
            github_login: login("alice"),
            slack_user: user("U3"),
            slack_name: None,
            linked_at: NOW,
        }];
        let more: Vec<Environment> = (13..=25).map(Environment::PullRequest).collect();
        snapshot(
            "status",
            &status_view(&g, &repo(), &environments, &more, &links, NOW),
        );
        let quiet = status_view(&g, &repo(), &environments[3..4], &[], &[], NOW);
        assert_eq!(
            quiet.text,
            ":bar_chart: *acme/web* now\n*production* _nothing deployed yet_"
        );
    }

    #[test]
    fn snapshots_of_lists() {
        let g = grammar();
        let mut prod = deployment(
            3,
            Environment::Production,
            GitRef::Tag("v1.4.0".into()),
            DeploymentState::Success,
            Trigger::Tag {
                pusher: Some(login("alice")),
            },
            3 * 24 * 60,
        );
        prod.environment_url = Some("https://www.example.com".into());
        prod.build_url = Some("https://ci.example/pipelines/3".into());
        prod.pipeline_number = Some(3);
        // Deployed by its (abbreviated) SHA: the SHA is shown once.
        let running = deployment(
            4,
            Environment::Staging,
            GitRef::Name("4444444".into()),
            DeploymentState::InProgress,
            Trigger::Manual {
                slack_user: user("U1"),
            },
            2,
        );
        let pr = deployment(
            5,
            Environment::PullRequest(12),
            GitRef::Branch("feature/<x>".into()),
            DeploymentState::Inactive,
            Trigger::PullRequest {
                number: 12,
                url: Some("https://github.com/acme/web/pull/12".into()),
            },
            30,
        );
        let recent = vec![running.clone(), pr, prod.clone()];
        let current = vec![running, prod];
        snapshot(
            "list",
            &list_view(&g, &repo(), None, &current, &recent, &[], NOW),
        );
        snapshot(
            "list_empty",
            &list_view(&g, &repo(), Some(Environment::Staging), &[], &[], &[], NOW),
        );
    }
}
