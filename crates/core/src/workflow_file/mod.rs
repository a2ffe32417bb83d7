//! A repository's workflow file, `.github/deploybot.yml`, as data: [`WorkflowFile::parse`]
//! reads its text (no I/O), [`WorkflowFile::decide`] says where an event deploys, and
//! [`WorkflowFile::builtin`] is the workflow a repository without the file gets.
//!
//! Every mistake in the file is reported as a sentence with the file's line (and column), so
//! the person who wrote it can fix it. docs/configuration.md explains every key;
//! docs/deploybot.schema.json is the same contract as a JSON Schema.

mod approvals;
mod glob;
mod notify;
mod rollback_spec;

use crate::freeze::{FreezeWindow, Schedule, WeeklyTime, Zone, parse_local_date_time};
pub use approvals::{APPROVAL_FROM_KEYS, APPROVAL_RULE_KEYS, APPROVALS_KEYS, EXCLUDE_VALUES};
use glob::Glob;
pub use glob::GlobError;
pub use rollback_spec::{ROLLBACK_KEYS, RollbackSpec};
use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, ScanError, YamlData};
use std::fmt;

/// Where the file lives in a repository (read from the default branch only).
pub const WORKFLOW_PATH: &str = ".github/deploybot.yml";
/// The keys of the file's top level.
pub const TOP_KEYS: [&str; 5] = ["version", "environments", "freezes", "notify", "rollback"];
/// The keys of one environment.
pub const ENVIRONMENT_KEYS: [&str; 12] = [
    "approvals",
    "backend",
    "name",
    "on",
    "transient",
    "drafts",
    "forks",
    "promote_from",
    "production",
    "queue",
    "required_checks",
    "url",
];
/// The keys of an environment's `queue`.
pub const QUEUE_KEYS: [&str; 1] = ["running"];
/// The keys of an environment's `backend`: one CI, named by its key.
pub const BACKEND_KEYS: [&str; 2] = ["circleci", "github_actions"];
/// The keys of `backend: { circleci: ... }`.
pub const CIRCLECI_KEYS: [&str; 2] = ["project_slug", "definition_id"];
/// The keys of `backend: { github_actions: ... }`.
pub const GITHUB_ACTIONS_KEYS: [&str; 1] = ["workflow"];
/// The keys of one freeze window.
pub const FREEZE_KEYS: [&str; 7] = [
    "name",
    "environments",
    "timezone",
    "weekly",
    "from",
    "until",
    "reason",
];
/// The keys of a freeze window's `weekly`.
pub const WEEKLY_KEYS: [&str; 2] = ["from", "until"];
/// The keys of an environment's `on` when it is a mapping.
pub const ON_KEYS: [&str; 2] = ["push", "tag"];
/// The keyword in a push list that stands for the repository's default branch.
pub const DEFAULT_BRANCH_KEYWORD: &str = "default";
/// The placeholder of a pull-request environment's name.
pub const NUMBER_PLACEHOLDER: &str = "{number}";
/// The placeholder of a tag pattern that takes a Semantic Versioning 2.0 version.
pub const SEMVER_PLACEHOLDER: &str = "{semver}";

/// The longest file read: a workflow file is a few dozen lines.
const MAX_FILE_BYTES: usize = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// The parsed file

/// A parsed workflow file: its environments in the order the file lists them, and its freeze
/// windows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowFile {
    pub environments: Vec<EnvironmentSpec>,
    /// `freezes:`: when environments take no automatic deployment ([`crate::freeze`]).
    pub freezes: Vec<crate::freeze::FreezeWindow>,
    /// `notify:`: where deployment messages go besides the bound channel
    /// ([`crate::notify`]).
    pub notify: crate::notify::NotifySpec,
    /// `rollback:`: what a rollback preview warns about.
    pub rollback: RollbackSpec,
}

/// One environment of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentSpec {
    /// The key in `environments:` (`pr`, `preview`, ...).
    pub key: String,
    /// What deploys it automatically; `None` when only people deploy it.
    pub trigger: Option<Trigger>,
    /// Only a commit whose latest deployment to that environment succeeded may come here.
    pub promote_from: Option<String>,
    /// Releases: the environment that really serves people.
    pub production: bool,
    /// Status checks (exact names) a commit needs before it deploys here.
    pub required_checks: Vec<String>,
    pub url: Option<url::Url>,
    /// The CI that runs its deployments; `None`: the deployment-wide default
    /// (`DEPLOYBOT_CI_BACKEND`).
    pub backend: Option<crate::ci::CiTarget>,
    /// `queue: { running: ... }`: what a newer deployment of the same source does to the
    /// running one.
    pub running: Running,
    /// `approvals:`: who must approve a deployment here before it goes out
    /// ([`crate::approval`]); `None`: nobody.
    pub approvals: Option<crate::approval::ApprovalPolicy>,
    /// The line of the key in the file (0 for the built-in workflow).
    pub line: usize,
}

/// `queue: { running: finish | cancel }`: when a newer automatic deployment of the same
/// source (a branch, a pull request, a tag) arrives while one of that source runs, the
/// running one finishes first (the default) or is cancelled on its CI so the newer one goes
/// at once — what pull-request environments usually want.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Running {
    /// The running deployment finishes; the newer one waits for it.
    #[default]
    Finish,
    /// The running deployment is cancelled; the newer one goes.
    Cancel,
}

/// What deploys an environment automatically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// One environment per pull request.
    PullRequest(PullRequestTrigger),
    /// Pushes of matching branches and/or tags.
    Refs {
        push: Vec<BranchPattern>,
        tag: Vec<TagPattern>,
    },
}

/// How pull requests deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestTrigger {
    /// The environment's name, with `{number}` for the pull request's number.
    pub name: String,
    /// Marked inactive when the pull request closes.
    pub transient: bool,
    /// Whether draft pull requests deploy; when not, they wait for `ready_for_review`.
    pub drafts: bool,
    /// Whether pull requests from forks deploy automatically.
    pub forks: bool,
}

impl PullRequestTrigger {
    /// The environment of pull request `number`.
    pub fn environment_name(&self, number: u64) -> String {
        self.name.replace(NUMBER_PLACEHOLDER, &number.to_string())
    }
}

/// A pattern of branch names.
#[derive(Debug, Clone)]
pub enum BranchPattern {
    /// The repository's default branch, whatever it is called.
    Default,
    Glob(Pattern),
}

/// A pattern of tag names.
#[derive(Debug, Clone)]
pub enum TagPattern {
    /// `prefix{semver}`: the prefix, then a Semantic Versioning 2.0 version.
    Semver {
        prefix: String,
    },
    Glob(Pattern),
}

/// An anchored glob: `*` never crosses `/`, `**` does.
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    glob: Glob,
}

impl Pattern {
    pub fn new(text: &str) -> Result<Self, String> {
        let glob = Glob::new(text).map_err(|e| match e {
            GlobError::Empty => e.to_string(),
            e => format!("`{text}` is not a valid pattern: {e}"),
        })?;
        Ok(Self {
            text: text.to_owned(),
            glob,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn matches(&self, name: &str) -> bool {
        self.glob.is_match(name)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}
impl Eq for Pattern {}

impl PartialEq for BranchPattern {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}
impl Eq for BranchPattern {}

impl PartialEq for TagPattern {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}
impl Eq for TagPattern {}

impl BranchPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        if text == DEFAULT_BRANCH_KEYWORD {
            return Ok(Self::Default);
        }
        if text.contains(SEMVER_PLACEHOLDER) {
            return Err(format!(
                "`{text}`: `{SEMVER_PLACEHOLDER}` is for tag patterns (`tag:`), not branches"
            ));
        }
        Pattern::new(text).map(Self::Glob)
    }

    pub fn matches(&self, branch: &str, default_branch: &str) -> bool {
        match self {
            Self::Default => branch == default_branch,
            Self::Glob(p) => p.matches(branch),
        }
    }
}

impl fmt::Display for BranchPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str(DEFAULT_BRANCH_KEYWORD),
            Self::Glob(p) => f.write_str(p.as_str()),
        }
    }
}

impl TagPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some(at) = text.find(SEMVER_PLACEHOLDER) else {
            return Pattern::new(text).map(Self::Glob);
        };
        let (prefix, rest) = text.split_at(at);
        if rest != SEMVER_PLACEHOLDER {
            return Err(format!(
                "`{text}`: `{SEMVER_PLACEHOLDER}` must end the pattern, as in `v{SEMVER_PLACEHOLDER}`"
            ));
        }
        if prefix.contains(['*', '?', '[', ']', '{', '}', '\\']) {
            return Err(format!(
                "`{text}`: the text before `{SEMVER_PLACEHOLDER}` must be plain characters, without glob characters"
            ));
        }
        Ok(Self::Semver {
            prefix: prefix.to_owned(),
        })
    }

    pub fn matches(&self, tag: &str) -> bool {
        match self {
            Self::Semver { prefix } => tag
                .strip_prefix(prefix.as_str())
                .is_some_and(|v| semver::Version::parse(v).is_ok()),
            Self::Glob(p) => p.matches(tag),
        }
    }
}

impl fmt::Display for TagPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Semver { prefix } => write!(f, "{prefix}{SEMVER_PLACEHOLDER}"),
            Self::Glob(p) => f.write_str(p.as_str()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// One mistake in the file, as a sentence for the person who wrote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct FileError {
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
}

/// Every mistake found in the file, in the order of the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FileErrors(pub Vec<FileError>);

impl fmt::Display for FileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

type Node<'a> = MarkedYaml<'a>;

struct Errors(Vec<FileError>);

impl Errors {
    fn at(&mut self, node: &Node<'_>, message: impl Into<String>) {
        self.0.push(FileError {
            line: node.span.start.line(),
            column: node.span.start.col() + 1,
            message: message.into(),
        });
    }
}

fn scalar_str<'n>(node: &'n Node<'_>) -> Option<&'n str> {
    match &node.data {
        YamlData::Value(Scalar::String(s)) => Some(s),
        YamlData::Representation(s, _, _) => Some(s),
        _ => None,
    }
}

/// What a node is, for "… must be a string, not a number".
fn kind(node: &Node<'_>) -> &'static str {
    match &node.data {
        YamlData::Value(Scalar::Null) => "empty",
        YamlData::Value(Scalar::Boolean(_)) => "true/false",
        YamlData::Value(Scalar::Integer(_)) | YamlData::Value(Scalar::FloatingPoint(_)) => {
            "a number"
        }
        YamlData::Value(Scalar::String(_)) | YamlData::Representation(..) => "text",
        YamlData::Sequence(_) => "a list",
        YamlData::Mapping(_) => "a mapping",
        YamlData::Tagged(..) => "a tagged value",
        YamlData::Alias(_) => "an alias",
        YamlData::BadValue => "a value that cannot be read",
    }
}

/// A mapping's entries in file order, with each key as text; reports non-text keys.
fn entries<'n, 'a>(
    node: &'n Node<'a>,
    errors: &mut Errors,
) -> Vec<(&'n str, &'n Node<'a>, &'n Node<'a>)> {
    let YamlData::Mapping(map) = &node.data else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in map.iter() {
        match scalar_str(k) {
            Some(name) => out.push((name, k, v)),
            None => errors.at(
                k,
                format!(
                    "a key must be text, not {}; put it in quotes if it is a name",
                    kind(k)
                ),
            ),
        }
    }
    out
}

fn expect_bool(node: &Node<'_>, key: &str, errors: &mut Errors) -> Option<bool> {
    match &node.data {
        YamlData::Value(Scalar::Boolean(b)) => Some(*b),
        _ => {
            errors.at(
                node,
                format!("`{key}` must be `true` or `false`, not {}", kind(node)),
            );
            None
        }
    }
}

fn expect_str<'n>(node: &'n Node<'_>, key: &str, errors: &mut Errors) -> Option<&'n str> {
    let s = scalar_str(node);
    if s.is_none() {
        errors.at(node, format!("`{key}` must be text, not {}", kind(node)));
    }
    s
}

/// A list of text; a single text is taken as a list of one.
fn expect_str_list<'n, 'a>(
    node: &'n Node<'a>,
    key: &str,
    errors: &mut Errors,
) -> Vec<(&'n str, &'n Node<'a>)> {
    match &node.data {
        YamlData::Sequence(items) => items
            .iter()
            .filter_map(|item| match scalar_str(item) {
                Some(s) => Some((s, item)),
                None => {
                    errors.at(
                        item,
                        format!("each entry of `{key}` must be text, not {}", kind(item)),
                    );
                    None
                }
            })
            .collect(),
        _ => match scalar_str(node) {
            Some(s) => vec![(s, node)],
            None => {
                errors.at(
                    node,
                    format!("`{key}` must be a list of text, not {}", kind(node)),
                );
                Vec::new()
            }
        },
    }
}

fn unknown_key(node: &Node<'_>, key: &str, known: &[&str], place: &str, errors: &mut Errors) {
    errors.at(
        node,
        format!(
            "`{key}` is not a key of {place}; the keys are {}",
            known.join(", ")
        ),
    );
}

/// Where each automatic trigger was written, to find two environments claiming one event.
struct Claim<'n, 'a> {
    environment: String,
    what: String,
    node: &'n Node<'a>,
    pattern: Claimed,
}

/// What a claim is about, to look for names two different patterns both match.
enum Claimed {
    PullRequest,
    Branch(BranchPattern),
    Tag(TagPattern),
}

impl Claimed {
    /// A few names the pattern matches, when they can be made up.
    fn witnesses(&self) -> Vec<String> {
        match self {
            Self::PullRequest | Self::Branch(BranchPattern::Default) => Vec::new(),
            Self::Branch(BranchPattern::Glob(p)) | Self::Tag(TagPattern::Glob(p)) => {
                glob_witnesses(p)
            }
            Self::Tag(TagPattern::Semver { prefix }) => ["1.0.0", "1.0.0-rc.1", "0.1.0+build.1"]
                .iter()
                .map(|v| format!("{prefix}{v}"))
                .collect(),
        }
    }

    /// Whether the pattern matches `name` of its own kind.
    fn matches(&self, other: &Self, name: &str) -> bool {
        match (self, other) {
            (Self::Branch(p), Self::Branch(_)) => p.matches(name, ""),
            (Self::Tag(p), Self::Tag(_)) => p.matches(name),
            _ => false,
        }
    }

    fn noun(&self) -> &'static str {
        match self {
            Self::Tag(_) => "tag",
            _ => "branch",
        }
    }
}

/// Names the glob matches: each `*` and `**` left empty or filled with `x`, each `?` an
/// `x`. None for globs with character classes or alternatives.
fn glob_witnesses(pattern: &Pattern) -> Vec<String> {
    ["", "x"]
        .iter()
        .filter_map(|fill| {
            let mut out = String::new();
            let mut chars = pattern.as_str().chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '*' => {
                        while chars.peek() == Some(&'*') {
                            chars.next();
                        }
                        out.push_str(fill);
                    }
                    '?' => out.push('x'),
                    '[' | ']' | '{' | '}' => return None,
                    '\\' => out.push(chars.next()?),
                    c => out.push(c),
                }
            }
            let looks_like_a_ref = !out.is_empty() && !out.ends_with('/') && !out.contains("//");
            (looks_like_a_ref && pattern.matches(&out)).then_some(out)
        })
        .collect()
}

impl WorkflowFile {
    /// Reads the text of `.github/deploybot.yml`. Never panics; every mistake found is
    /// reported with its line.
    pub fn parse(text: &str) -> Result<Self, FileErrors> {
        if text.len() > MAX_FILE_BYTES {
            return Err(FileErrors(vec![FileError {
                line: 1,
                column: 1,
                message: format!(
                    "the file is {} bytes long; a workflow file may be at most {MAX_FILE_BYTES}",
                    text.len()
                ),
            }]));
        }
        let docs = MarkedYaml::load_from_str(text).map_err(|e| FileErrors(vec![scan_error(&e)]))?;
        let mut errors = Errors(Vec::new());
        let file = match docs.as_slice() {
            [] => {
                errors.0.push(FileError {
                    line: 1,
                    column: 1,
                    message: "the file is empty; it needs `version: 1` and `environments:`".into(),
                });
                None
            }
            [doc] => parse_top(doc, &mut errors),
            [_, second, ..] => {
                errors.at(
                    second,
                    "the file holds more than one YAML document; a workflow file is one document",
                );
                None
            }
        };
        match file {
            Some(file) if errors.0.is_empty() => Ok(file),
            _ => {
                let mut list = errors.0;
                list.sort_by_key(|e| (e.line, e.column));
                if list.is_empty() {
                    // Unreachable in practice: every `None` above reports why.
                    list.push(FileError {
                        line: 1,
                        column: 1,
                        message: "the file could not be read".into(),
                    });
                }
                Err(FileErrors(list))
            }
        }
    }
}

fn scan_error(e: &ScanError) -> FileError {
    FileError {
        line: e.marker().line(),
        column: e.marker().col() + 1,
        message: if e.info().contains("duplicated key") {
            "this key is already in the same mapping; each key may appear once".to_owned()
        } else {
            format!("this is not valid YAML: {}", e.info())
        },
    }
}

fn parse_top(doc: &Node<'_>, errors: &mut Errors) -> Option<WorkflowFile> {
    if !matches!(doc.data, YamlData::Mapping(_)) {
        errors.at(
            doc,
            format!(
                "the file must be a mapping with `version: 1` and `environments:`, not {}",
                kind(doc)
            ),
        );
        return None;
    }
    let mut version = None;
    let mut environments = None;
    let mut freezes = None;
    let mut notify = None;
    let mut rollback = None;
    for (key, key_node, value) in entries(doc, errors) {
        match key {
            "version" => version = Some(value),
            "environments" => environments = Some(value),
            "freezes" => freezes = Some(value),
            "notify" => notify = Some(value),
            "rollback" => rollback = Some(value),
            _ => unknown_key(key_node, key, &TOP_KEYS, "the file", errors),
        }
    }
    match version {
        None => errors.at(doc, "the file needs `version: 1` at the top"),
        Some(v) => {
            if !matches!(v.data, YamlData::Value(Scalar::Integer(1))) {
                let shown = match (&v.data, scalar_str(v)) {
                    (YamlData::Value(Scalar::Integer(n)), _) => format!("`{n}`"),
                    (_, Some(s)) => format!("`{}` (text)", crate::ids::clip(s)),
                    _ => kind(v).to_owned(),
                };
                errors.at(
                    v,
                    format!("`version` is {shown}; this deploybot reads version 1 only"),
                );
            }
        }
    }
    let Some(envs) = environments else {
        errors.at(
            doc,
            "the file needs `environments:`, a mapping of environment names",
        );
        return None;
    };
    if !matches!(envs.data, YamlData::Mapping(_)) {
        errors.at(
            envs,
            format!(
                "`environments` must be a mapping of environment names, not {}",
                kind(envs)
            ),
        );
        return None;
    }
    let list = entries(envs, errors);
    if list.is_empty() {
        errors.at(envs, "`environments` names no environment");
    }
    let mut specs = Vec::new();
    let mut claims = Vec::new();
    let mut promote_nodes = Vec::new();
    for (name, key_node, value) in &list {
        if let Some(spec) = parse_environment(
            name,
            key_node,
            value,
            errors,
            &mut claims,
            &mut promote_nodes,
        ) {
            specs.push(spec);
        }
    }
    check_names(&list, errors);
    check_claims(&claims, errors);
    let names: Vec<&str> = list.iter().map(|(n, _, _)| *n).collect();
    for (env, target, node) in promote_nodes {
        check_promote_from(&env, &target, node, &names, &specs, errors);
    }
    let freezes = freezes.map_or_else(Vec::new, |node| parse_freezes(node, &names, errors));
    let notify = notify.map_or_else(crate::notify::NotifySpec::default, |node| {
        notify::parse(node, &specs, errors)
    });
    let rollback = rollback.map_or_else(RollbackSpec::default, |node| {
        rollback_spec::parse_rollback(node, errors)
    });
    Some(WorkflowFile {
        environments: specs,
        freezes,
        notify,
        rollback,
    })
}

// ---------------------------------------------------------------------------------------------
// Freeze windows

fn parse_freezes(node: &Node<'_>, names: &[&str], errors: &mut Errors) -> Vec<FreezeWindow> {
    let items = match &node.data {
        YamlData::Value(Scalar::Null) => return Vec::new(),
        YamlData::Sequence(items) => items,
        _ => {
            errors.at(
                node,
                format!(
                    "`freezes` must be a list of windows (`- name: …`), not {}",
                    kind(node)
                ),
            );
            return Vec::new();
        }
    };
    let mut out: Vec<FreezeWindow> = Vec::new();
    for item in items {
        if let Some(w) = parse_freeze(item, names, errors) {
            if let Some(earlier) = out.iter().find(|o| o.name == w.name) {
                errors.at(
                    item,
                    format!(
                        "the freeze window `{}` is already named on line {}; give each window its own name",
                        w.name, earlier.line
                    ),
                );
            } else {
                out.push(w);
            }
        }
    }
    out
}

fn parse_freeze(node: &Node<'_>, names: &[&str], errors: &mut Errors) -> Option<FreezeWindow> {
    if !matches!(node.data, YamlData::Mapping(_)) {
        errors.at(
            node,
            format!(
                "a freeze window must be a mapping with `name`, `environments`, `timezone` and `weekly` or `from`/`until`, not {}",
                kind(node)
            ),
        );
        return None;
    }
    let before = errors.0.len();
    let mut name = None;
    let mut environments = Vec::new();
    let mut environments_given = false;
    let mut zone = None;
    let mut zone_given = false;
    let mut weekly = None;
    let mut dates: [Option<(&Node<'_>, Option<jiff::civil::DateTime>)>; 2] = [None, None];
    let mut reason = None;
    for (key, k_node, v) in entries(node, errors) {
        match key {
            "name" => {
                if let Some(s) = expect_str(v, key, errors) {
                    if s.trim().is_empty() {
                        errors.at(v, "a freeze window needs a name");
                    } else {
                        name = Some(s.to_owned());
                    }
                }
            }
            "environments" => {
                environments_given = true;
                for (env, item) in expect_str_list(v, key, errors) {
                    match names.iter().find(|n| n.eq_ignore_ascii_case(env)) {
                        Some(known) if environments.iter().any(|e| e == known) => {
                            errors.at(item, format!("`{env}` is listed twice in `environments`"))
                        }
                        Some(known) => environments.push((*known).to_owned()),
                        None => errors.at(
                            item,
                            format!(
                                "`{env}` names no environment; the environments are {}",
                                names.join(", ")
                            ),
                        ),
                    }
                }
            }
            "timezone" => {
                zone_given = true;
                if let Some(s) = expect_str(v, key, errors) {
                    match Zone::parse(s) {
                        Ok(z) => zone = Some(z),
                        Err(e) => errors.at(v, format!("`timezone`: {e}")),
                    }
                }
            }
            "weekly" => weekly = Some((k_node, parse_weekly(v, errors))),
            "from" | "until" => {
                let slot = usize::from(key == "until");
                let value = expect_str(v, key, errors).and_then(|s| {
                    parse_local_date_time(s)
                        .map_err(|e| errors.at(v, format!("`{key}`: {e}")))
                        .ok()
                });
                dates[slot] = Some((v, value));
            }
            "reason" => {
                if let Some(s) = expect_str(v, key, errors) {
                    reason = Some(s.trim().to_owned()).filter(|r| !r.is_empty());
                }
            }
            _ => unknown_key(k_node, key, &FREEZE_KEYS, "a freeze window", errors),
        }
    }
    let shown = name.clone().unwrap_or_else(|| "this window".into());
    if name.is_none() && errors.0.len() == before {
        errors.at(node, "a freeze window needs `name: …`");
    }
    if !environments_given {
        errors.at(
            node,
            format!("`{shown}` needs `environments: [...]`, the environments it freezes"),
        );
    }
    if !zone_given {
        errors.at(
            node,
            format!("`{shown}` needs `timezone:`, an IANA name such as `Europe/London`: its times are wall-clock times there"),
        );
    }
    let schedule = match (weekly, &dates) {
        (Some((k_node, _)), [Some(_), _] | [_, Some(_)]) => {
            errors.at(
                k_node,
                format!(
                    "`{shown}` has both `weekly` and `from`/`until`; a window is one or the other"
                ),
            );
            None
        }
        (Some((k_node, Some((f, u)))), _) => {
            if f == u {
                errors.at(
                    k_node,
                    "`weekly` starts and ends at the same time; a window needs an end after its start",
                );
                None
            } else {
                zone.map(|zone| Schedule::Weekly {
                    zone,
                    from: f,
                    until: u,
                })
            }
        }
        (Some((_, None)), _) => None,
        (None, [Some((_, Some(f))), Some((u_node, Some(u)))]) => {
            if u <= f {
                errors.at(u_node, format!("`until` must come after `from` ({f})"));
                None
            } else {
                zone.map(|zone| Schedule::Once {
                    zone,
                    from: *f,
                    until: *u,
                })
            }
        }
        (None, [Some(_), Some(_)]) => None,
        (None, [Some(_), None] | [None, Some(_)]) => {
            errors.at(node, format!("`{shown}` needs both `from` and `until`"));
            None
        }
        (None, [None, None]) => {
            errors.at(
                node,
                format!("`{shown}` needs `weekly: {{ from: \"Fri 16:00\", until: \"Mon 08:00\" }}`, or `from:` and `until:` local date-times"),
            );
            None
        }
    };
    if errors.0.len() != before {
        return None;
    }
    Some(FreezeWindow {
        name: name?,
        environments,
        schedule: schedule?,
        reason,
        line: node.span.start.line(),
    })
}

/// `weekly: { from: "Fri 16:00", until: "Mon 08:00" }`: its start and end, when both read.
fn parse_weekly(node: &Node<'_>, errors: &mut Errors) -> Option<(WeeklyTime, WeeklyTime)> {
    if !matches!(node.data, YamlData::Mapping(_)) {
        errors.at(
            node,
            format!(
                "`weekly` must be a mapping, as in `weekly: {{ from: \"Fri 16:00\", until: \"Mon 08:00\" }}`, not {}",
                kind(node)
            ),
        );
        return None;
    }
    let mut times: [Option<Option<WeeklyTime>>; 2] = [None, None];
    for (key, k_node, v) in entries(node, errors) {
        match key {
            "from" | "until" => {
                let value = expect_str(v, key, errors).and_then(|s| {
                    WeeklyTime::parse(s)
                        .map_err(|e| errors.at(v, format!("`{key}`: {e}")))
                        .ok()
                });
                times[usize::from(key == "until")] = Some(value);
            }
            _ => unknown_key(k_node, key, &WEEKLY_KEYS, "`weekly`", errors),
        }
    }
    match times {
        [Some(Some(f)), Some(Some(u))] => Some((f, u)),
        [Some(_), Some(_)] => None,
        _ => {
            errors.at(
                node,
                "`weekly` needs both `from` and `until`, as in `{ from: \"Fri 16:00\", until: \"Mon 08:00\" }`",
            );
            None
        }
    }
}

fn check_names(list: &[(&str, &Node<'_>, &Node<'_>)], errors: &mut Errors) {
    for (i, (name, node, _)) in list.iter().enumerate() {
        match crate::Environment::parse(name) {
            Err(e) => errors.at(node, e.to_string()),
            Ok(crate::Environment::PullRequest(_)) => errors.at(
                node,
                format!(
                    "`{name}` is how deploybot names a pull request's environment; give this one another name"
                ),
            ),
            Ok(_) if name.split_whitespace().collect::<Vec<_>>().join(" ") != *name => errors.at(
                node,
                format!(
                    "`{name}` has a space at an end or more than one space between words; write it with single spaces between words"
                ),
            ),
            Ok(_) => {}
        }
        // GitHub compares environment names without regard to case.
        if let Some((earlier, earlier_node, _)) = list[..i]
            .iter()
            .find(|(other, _, _)| other.to_lowercase() == name.to_lowercase())
        {
            errors.at(
                node,
                format!(
                    "`{name}` is the same environment as `{earlier}` on line {} (GitHub does not tell environment names apart by case)",
                    earlier_node.span.start.line()
                ),
            );
        }
    }
}

fn check_claims(claims: &[Claim<'_, '_>], errors: &mut Errors) {
    for (i, claim) in claims.iter().enumerate() {
        let others = claims[..i]
            .iter()
            .filter(|c| c.environment != claim.environment);
        for earlier in others {
            if earlier.what == claim.what {
                errors.at(
                    claim.node,
                    format!(
                        "{} deploys both `{}` (line {}) and `{}`; an event may deploy one environment only, so give it to one of them",
                        claim.what,
                        earlier.environment,
                        earlier.node.span.start.line(),
                        claim.environment
                    ),
                );
                break;
            }
            let both = claim
                .pattern
                .witnesses()
                .into_iter()
                .chain(earlier.pattern.witnesses())
                .find(|name| {
                    claim.pattern.matches(&earlier.pattern, name)
                        && earlier.pattern.matches(&claim.pattern, name)
                });
            if let Some(name) = both {
                errors.at(
                    claim.node,
                    format!(
                        "the {} `{name}` would deploy both `{}` ({}, line {}) and `{}` ({}); an event may deploy one environment only, so narrow one of the patterns",
                        claim.pattern.noun(),
                        earlier.environment,
                        earlier.what,
                        earlier.node.span.start.line(),
                        claim.environment,
                        claim.what,
                    ),
                );
                break;
            }
        }
    }
}

fn check_promote_from(
    env: &str,
    target: &str,
    node: &Node<'_>,
    names: &[&str],
    specs: &[EnvironmentSpec],
    errors: &mut Errors,
) {
    if target == env {
        errors.at(
            node,
            format!("`promote_from: {target}` names `{env}` itself; name the environment a commit must have passed first"),
        );
    } else if !names.contains(&target) {
        errors.at(
            node,
            format!(
                "`promote_from: {target}` names no environment; the environments are {}",
                names.join(", ")
            ),
        );
    } else if specs
        .iter()
        .any(|s| s.key == target && matches!(s.trigger, Some(Trigger::PullRequest(_))))
    {
        errors.at(
            node,
            format!("`promote_from: {target}` names the pull-request environment; a commit is promoted from an environment that lasts"),
        );
    }
}

fn parse_environment<'n, 'a>(
    name: &str,
    key_node: &'n Node<'a>,
    value: &'n Node<'a>,
    errors: &mut Errors,
    claims: &mut Vec<Claim<'n, 'a>>,
    promote_nodes: &mut Vec<(String, String, &'n Node<'a>)>,
) -> Option<EnvironmentSpec> {
    let mut spec = EnvironmentSpec {
        key: name.to_owned(),
        trigger: None,
        promote_from: None,
        production: false,
        required_checks: Vec::new(),
        url: None,
        backend: None,
        running: Running::Finish,
        approvals: None,
        line: key_node.span.start.line(),
    };
    match &value.data {
        // `staging:` with nothing under it: deployed by hand only.
        YamlData::Value(Scalar::Null) => return Some(spec),
        YamlData::Mapping(_) => {}
        _ => {
            errors.at(
                value,
                format!(
                    "environment `{name}` must be a mapping of its settings, not {}",
                    kind(value)
                ),
            );
            return None;
        }
    }
    let mut pr_name: Option<(&str, &Node<'_>)> = None;
    let mut pr_flags: Vec<(&str, bool, &Node<'_>)> = Vec::new();
    for (key, k_node, v) in entries(value, errors) {
        match key {
            "name" => {
                if let Some(s) = expect_str(v, key, errors) {
                    pr_name = Some((s, k_node));
                }
            }
            "on" => spec.trigger = parse_on(name, v, errors, claims),
            "transient" | "drafts" | "forks" => {
                if let Some(b) = expect_bool(v, key, errors) {
                    pr_flags.push((key, b, k_node));
                }
            }
            "promote_from" => {
                if let Some(s) = expect_str(v, key, errors) {
                    spec.promote_from = Some(s.to_owned());
                    promote_nodes.push((name.to_owned(), s.to_owned(), v));
                }
            }
            "production" => {
                if let Some(b) = expect_bool(v, key, errors) {
                    spec.production = b;
                }
            }
            "required_checks" => {
                for (check, node) in expect_str_list(v, key, errors) {
                    if check.trim().is_empty() {
                        errors.at(node, "a required check needs a name");
                    } else if spec.required_checks.iter().any(|c| c == check) {
                        errors.at(
                            node,
                            format!("`{check}` is listed twice in `required_checks`"),
                        );
                    } else {
                        spec.required_checks.push(check.to_owned());
                    }
                }
            }
            "backend" => spec.backend = parse_backend(name, v, errors),
            "queue" => spec.running = parse_queue(name, v, errors),
            "approvals" => spec.approvals = approvals::parse_approvals(name, v, errors),
            "url" => {
                if let Some(s) = expect_str(v, key, errors) {
                    match url::Url::parse(s) {
                        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                            spec.url = Some(u);
                        }
                        Ok(_) => errors.at(
                            v,
                            format!(
                                "`url: {s}` must start with `https://` or `http://` and name a host"
                            ),
                        ),
                        Err(e) => errors.at(v, format!("`url: {s}` is not a URL: {e}")),
                    }
                }
            }
            _ => unknown_key(
                k_node,
                key,
                &ENVIRONMENT_KEYS,
                &format!("environment `{name}`"),
                errors,
            ),
        }
    }
    match &mut spec.trigger {
        Some(Trigger::PullRequest(pr)) => {
            if let Some((template, node)) = pr_name {
                if template.matches(NUMBER_PLACEHOLDER).count() != 1 {
                    errors.at(
                        node,
                        format!("`name: {template}` must hold `{NUMBER_PLACEHOLDER}` once, as in `pr{NUMBER_PLACEHOLDER}`: each pull request needs its own environment"),
                    );
                } else if let Err(e) =
                    crate::Environment::parse(&template.replace(NUMBER_PLACEHOLDER, "1"))
                {
                    errors.at(node, format!("`name: {template}`: {e}"));
                } else {
                    pr.name = template.to_owned();
                }
            }
            for (key, b, _) in pr_flags {
                match key {
                    "transient" => pr.transient = b,
                    "drafts" => pr.drafts = b,
                    _ => pr.forks = b,
                }
            }
        }
        _ => {
            if let Some((_, node)) = pr_name {
                errors.at(
                    node,
                    format!("`name` is for the pull-request environment (`on: pull_request`); `{name}` is already named by its key"),
                );
            }
            for (key, _, node) in pr_flags {
                errors.at(
                    node,
                    format!("`{key}` is for the pull-request environment (`on: pull_request`), and `{name}` is not one"),
                );
            }
        }
    }
    Some(spec)
}

/// `queue: { running: finish | cancel }`.
fn parse_queue(env: &str, node: &Node<'_>, errors: &mut Errors) -> Running {
    if !matches!(node.data, YamlData::Mapping(_)) {
        errors.at(
            node,
            format!(
                "`queue` of `{env}` must be a mapping such as `queue: {{ running: cancel }}`, not {}",
                kind(node)
            ),
        );
        return Running::Finish;
    }
    let mut running = Running::Finish;
    for (key, k_node, v) in entries(node, errors) {
        match key {
            "running" => match expect_str(v, key, errors) {
                Some("finish") => running = Running::Finish,
                Some("cancel") => running = Running::Cancel,
                Some(other) => errors.at(
                    v,
                    format!(
                        "`running: {other}` is not a choice; say `finish` (the running deployment finishes first, the default) or `cancel` (a newer one of the same source cancels it)"
                    ),
                ),
                None => {}
            },
            _ => unknown_key(k_node, key, &QUEUE_KEYS, &format!("`queue` of `{env}`"), errors),
        }
    }
    running
}

/// `backend:` — one mapping key naming the CI, with that CI's settings (or nothing: its
/// defaults).
fn parse_backend(env: &str, node: &Node<'_>, errors: &mut Errors) -> Option<crate::ci::CiTarget> {
    use crate::ci::{self, CiKind, CiTarget};
    let shape = "`backend` names one CI: `backend: { github_actions: { workflow: deploy.yml } }` or `backend: { circleci: { project_slug: ..., definition_id: ... } }`";
    if !matches!(node.data, YamlData::Mapping(_)) {
        errors.at(node, format!("{shape}, not {}", kind(node)));
        return None;
    }
    let list = entries(node, errors);
    let mut target = None;
    for (i, (key, k_node, v)) in list.iter().enumerate() {
        let place = format!("`backend.{key}` of `{env}`");
        let settings = match &v.data {
            YamlData::Value(Scalar::Null) => Vec::new(),
            YamlData::Mapping(_) => entries(v, errors),
            _ => {
                errors.at(
                    v,
                    format!(
                        "{place} must be a mapping of its settings (or empty), not {}",
                        kind(v)
                    ),
                );
                continue;
            }
        };
        let parsed = match *key {
            "github_actions" => {
                let mut workflow = ci::DEFAULT_ACTIONS_WORKFLOW.to_owned();
                for (setting, s_node, value) in settings {
                    match setting {
                        "workflow" => {
                            if let Some(s) = expect_str(value, setting, errors) {
                                match ci::check_workflow_name(s) {
                                    Ok(()) => workflow = s.to_owned(),
                                    Err(e) => errors.at(value, e),
                                }
                            }
                        }
                        _ => unknown_key(s_node, setting, &GITHUB_ACTIONS_KEYS, &place, errors),
                    }
                }
                Some(CiTarget::GitHubActions { workflow })
            }
            "circleci" => {
                let mut project_slug = None;
                let mut definition_id = None;
                for (setting, s_node, value) in settings {
                    match setting {
                        "project_slug" => {
                            if let Some(s) = expect_str(value, setting, errors) {
                                match ci::check_project_slug(s) {
                                    Ok(()) => project_slug = Some((s.to_owned(), value)),
                                    Err(e) => errors.at(value, e),
                                }
                            }
                        }
                        "definition_id" => {
                            if let Some(s) = expect_str(value, setting, errors) {
                                match ci::check_definition_id(s) {
                                    Ok(()) => definition_id = Some(s.to_owned()),
                                    Err(e) => errors.at(value, e),
                                }
                            }
                        }
                        _ => unknown_key(s_node, setting, &CIRCLECI_KEYS, &place, errors),
                    }
                }
                if let Some((slug, slug_node)) = &project_slug
                    && ci::is_github_app_slug(slug)
                    && definition_id.is_none()
                {
                    errors.at(
                        slug_node,
                        format!("`{slug}` is a project of CircleCI's GitHub App integration, which starts pipelines only through a pipeline definition: add `definition_id` (Project Settings → Pipelines)"),
                    );
                }
                Some(CiTarget::CircleCi {
                    project_slug: project_slug.map(|(s, _)| s),
                    definition_id,
                })
            }
            _ => {
                unknown_key(
                    k_node,
                    key,
                    &BACKEND_KEYS,
                    &format!("`backend` of `{env}`"),
                    errors,
                );
                None
            }
        };
        if i > 0 {
            errors.at(
                k_node,
                format!("`backend` of `{env}` names more than one CI; an environment deploys with one of {}", CiKind::ALL.map(CiKind::as_str).join(", ")),
            );
            continue;
        }
        target = parsed;
    }
    if list.is_empty() {
        errors.at(node, shape);
    }
    target
}

fn parse_on<'n, 'a>(
    env: &str,
    node: &'n Node<'a>,
    errors: &mut Errors,
    claims: &mut Vec<Claim<'n, 'a>>,
) -> Option<Trigger> {
    if let Some(s) = scalar_str(node) {
        if s == "pull_request" {
            claims.push(Claim {
                environment: env.to_owned(),
                what: "a pull request".into(),
                node,
                pattern: Claimed::PullRequest,
            });
            return Some(Trigger::PullRequest(PullRequestTrigger {
                name: format!("pr{NUMBER_PLACEHOLDER}"),
                transient: true,
                drafts: false,
                forks: false,
            }));
        }
        errors.at(
            node,
            format!("`on: {s}` is not an event: write `on: pull_request`, or `on: {{ push: [...] }}` and/or `tag: [...]`"),
        );
        return None;
    }
    if !matches!(node.data, YamlData::Mapping(_)) {
        errors.at(
            node,
            format!(
                "`on` must be `pull_request` or a mapping with `push` and/or `tag`, not {}",
                kind(node)
            ),
        );
        return None;
    }
    let mut push = Vec::new();
    let mut tag = Vec::new();
    let errors_before = errors.0.len();
    for (key, k_node, v) in entries(node, errors) {
        match key {
            "push" => {
                for (text, item) in expect_str_list(v, "push", errors) {
                    match BranchPattern::parse(text) {
                        Ok(p) => {
                            let what = match &p {
                                BranchPattern::Default => "a push to the default branch".into(),
                                BranchPattern::Glob(g) => {
                                    format!("a push to a branch matching `{}`", g.as_str())
                                }
                            };
                            if push.contains(&p) {
                                errors.at(item, format!("`{text}` is listed twice in `push`"));
                            } else {
                                claims.push(Claim {
                                    environment: env.to_owned(),
                                    what,
                                    node: item,
                                    pattern: Claimed::Branch(p.clone()),
                                });
                                push.push(p);
                            }
                        }
                        Err(e) => errors.at(item, e),
                    }
                }
            }
            "tag" => {
                for (text, item) in expect_str_list(v, "tag", errors) {
                    match TagPattern::parse(text) {
                        Ok(p) => {
                            if tag.contains(&p) {
                                errors.at(item, format!("`{text}` is listed twice in `tag`"));
                            } else {
                                claims.push(Claim {
                                    environment: env.to_owned(),
                                    what: format!("a tag matching `{p}`"),
                                    node: item,
                                    pattern: Claimed::Tag(p.clone()),
                                });
                                tag.push(p);
                            }
                        }
                        Err(e) => errors.at(item, e),
                    }
                }
            }
            "pull_request" => errors.at(
                k_node,
                "`pull_request` is written alone: `on: pull_request`",
            ),
            _ => unknown_key(k_node, key, &ON_KEYS, &format!("`on` of `{env}`"), errors),
        }
    }
    if push.is_empty() && tag.is_empty() && errors.0.len() == errors_before {
        errors.at(node, format!("`on` of `{env}` lists no branch and no tag; remove `on` to deploy `{env}` by hand only"));
        return None;
    }
    Some(Trigger::Refs { push, tag })
}

// ---------------------------------------------------------------------------------------------
// The built-in workflow

impl WorkflowFile {
    /// The workflow of a repository without `.github/deploybot.yml`: the built-in policy of
    /// docs/workflow.md, except that production takes tags that are a version (`v{semver}`
    /// or `{semver}`) rather than any tag starting with `v` or a digit. Draft pull requests
    /// deploy, as they always have; `release*` and `release*/**` are every branch whose name
    /// starts with `release`.
    pub fn builtin() -> Self {
        let spec = |key: &str, trigger: Option<Trigger>| EnvironmentSpec {
            key: key.to_owned(),
            trigger,
            promote_from: None,
            production: false,
            required_checks: Vec::new(),
            url: None,
            backend: None,
            running: Running::Finish,
            approvals: None,
            line: 0,
        };
        let globs = |texts: &[&str]| -> Vec<BranchPattern> {
            texts
                .iter()
                .filter_map(|t| Pattern::new(t).ok().map(BranchPattern::Glob))
                .collect()
        };
        let refs =
            |push: Vec<BranchPattern>, tag: Vec<TagPattern>| Some(Trigger::Refs { push, tag });
        Self {
            environments: vec![
                spec(
                    "pr",
                    Some(Trigger::PullRequest(PullRequestTrigger {
                        name: format!("pr{NUMBER_PLACEHOLDER}"),
                        transient: true,
                        drafts: true,
                        forks: false,
                    })),
                ),
                spec("preview", refs(vec![BranchPattern::Default], vec![])),
                // Every branch whose name starts with `release`, `/` or not.
                spec("test", refs(globs(&["release*", "release*/**"]), vec![])),
                EnvironmentSpec {
                    promote_from: Some("test".into()),
                    ..spec("staging", None)
                },
                EnvironmentSpec {
                    production: true,
                    ..spec(
                        "production",
                        refs(
                            vec![],
                            vec![
                                TagPattern::Semver { prefix: "v".into() },
                                TagPattern::Semver {
                                    prefix: String::new(),
                                },
                            ],
                        ),
                    )
                },
            ],
            freezes: Vec::new(),
            notify: crate::notify::NotifySpec::default(),
            rollback: RollbackSpec::default(),
        }
    }

    /// The environment called `key` in the file.
    pub fn environment(&self, key: &str) -> Option<&EnvironmentSpec> {
        self.environments.iter().find(|e| e.key == key)
    }
}

// ---------------------------------------------------------------------------------------------
// Deciding

/// Pull-request actions the workflow file knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PullRequestAction {
    Opened,
    Reopened,
    Synchronize,
    ReadyForReview,
    Closed,
    /// Any other action (`edited`, `labeled`, `converted_to_draft`, ...).
    Other,
}

impl PullRequestAction {
    pub fn parse(s: &str) -> Self {
        match s {
            "opened" => Self::Opened,
            "reopened" => Self::Reopened,
            "synchronize" => Self::Synchronize,
            "ready_for_review" => Self::ReadyForReview,
            "closed" => Self::Closed,
            _ => Self::Other,
        }
    }
}

/// An event, reduced to what the workflow file looks at. Deleted refs and branch pushes that
/// bring no commits are the caller's to drop before asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileEvent<'e> {
    PullRequest {
        number: u64,
        action: PullRequestAction,
        draft: bool,
        from_fork: bool,
    },
    Push {
        branch: &'e str,
        default_branch: &'e str,
    },
    Tag {
        name: &'e str,
    },
}

/// Where an event deploys, according to the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Deploy to `environment` (`pr12` for pull request 12), the file's environment `key`.
    Deploy { environment: String, key: String },
    /// Mark every deployment of `environment` inactive.
    Deactivate { environment: String, key: String },
    /// Nothing to do, silently.
    Ignore { reason: String },
    /// Nothing is deployed, and the channel is told why (a person would expect a deployment).
    Decline { reason: String },
}

impl WorkflowFile {
    /// Where `event` deploys. The environments are tried in file order and the first whose
    /// rules match decides; the parser refuses two environments with the same pattern, so
    /// this order only matters for patterns that overlap without being identical
    /// (`release*` and `release-1*`).
    pub fn decide(&self, event: &FileEvent<'_>) -> Outcome {
        match *event {
            FileEvent::PullRequest {
                number,
                action,
                draft,
                from_fork,
            } => self.decide_pull_request(number, action, draft, from_fork),
            FileEvent::Push {
                branch,
                default_branch,
            } => self
                .environments
                .iter()
                .find(|e| match &e.trigger {
                    Some(Trigger::Refs { push, .. }) => {
                        push.iter().any(|p| p.matches(branch, default_branch))
                    }
                    _ => false,
                })
                .map_or_else(
                    || Outcome::Ignore {
                        reason: format!("no environment deploys the branch `{branch}`"),
                    },
                    |e| Outcome::Deploy {
                        environment: e.key.clone(),
                        key: e.key.clone(),
                    },
                ),
            FileEvent::Tag { name } => self
                .environments
                .iter()
                .find(|e| match &e.trigger {
                    Some(Trigger::Refs { tag, .. }) => tag.iter().any(|p| p.matches(name)),
                    _ => false,
                })
                .map_or_else(
                    || Outcome::Ignore {
                        reason: format!("no environment deploys the tag `{name}`"),
                    },
                    |e| Outcome::Deploy {
                        environment: e.key.clone(),
                        key: e.key.clone(),
                    },
                ),
        }
    }

    fn decide_pull_request(
        &self,
        number: u64,
        action: PullRequestAction,
        draft: bool,
        from_fork: bool,
    ) -> Outcome {
        let Some((spec, pr)) = self.environments.iter().find_map(|e| match &e.trigger {
            Some(Trigger::PullRequest(pr)) => Some((e, pr)),
            _ => None,
        }) else {
            return Outcome::Ignore {
                reason: "no environment is deployed for pull requests".into(),
            };
        };
        let environment = pr.environment_name(number);
        let key = spec.key.clone();
        match action {
            PullRequestAction::Closed if pr.transient => Outcome::Deactivate { environment, key },
            PullRequestAction::Closed => Outcome::Ignore {
                reason: format!(
                    "`{environment}` is not transient, so it stays when the pull request closes"
                ),
            },
            PullRequestAction::Other => Outcome::Ignore {
                reason: "this pull-request action does not deploy".into(),
            },
            // With drafts deploying, the pull request is already deployed.
            PullRequestAction::ReadyForReview if pr.drafts => Outcome::Ignore {
                reason: format!("pull request #{number} is already deployed: drafts deploy"),
            },
            _ if draft && !pr.drafts => Outcome::Ignore {
                reason: format!(
                    "pull request #{number} is a draft; it deploys when it is ready for review"
                ),
            },
            _ if from_fork && !pr.forks => Outcome::Decline {
                reason: format!(
                    "Pull request #{number} comes from a fork, so it is not deployed automatically: its code would run with this project's CI secrets. Review it, then deploy its commit by hand if it is safe."
                ),
            },
            _ => Outcome::Deploy { environment, key },
        }
    }
}

#[cfg(test)]
mod approvals_tests;
#[cfg(test)]
mod freeze_tests;
#[cfg(test)]
mod tests;

#[cfg(test)]
mod backend_tests;
#[cfg(test)]
mod notify_tests;
