//! Validated identifiers: every value that crosses a trust boundary (a webhook, a slash
//! command, a store record) becomes one of these through `parse()` before it is used.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Why a piece of text is not a valid identifier. The message is written for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn err(msg: impl Into<String>) -> ParseError {
    ParseError(msg.into())
}

/// Serde for a type read from and written as one string: written by `$text` (the text its
/// `Display` shows, handed over as a `&str` rather than formatted piece by piece).
macro_rules! string_newtype_serde {
    ($t:ty, $text:ident) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.$text())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                <$t>::parse(&s).map_err(serde::de::Error::custom)
            }
        }
        impl FromStr for $t {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                <$t>::parse(s)
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Repository

/// A GitHub repository `owner/name`, normalised to lower case (GitHub treats both parts
/// case-insensitively, and the same repository must map to one key whoever typed it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Repository {
    full: String,
    slash: usize,
}

impl Repository {
    /// Parses `owner/name` by GitHub's rules: the owner is 1–39 letters, digits or hyphens and
    /// does not start or end with a hyphen; the name is 1–100 letters, digits, `.`, `-` or `_`
    /// and is not `.` or `..`. A trailing `.git` and surrounding whitespace are tolerated.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let text = input.trim();
        let text = text.strip_suffix(".git").unwrap_or(text);
        let hint = "a repository is written `owner/name`, for example `acme/web`";
        let Some((owner, name)) = text.split_once('/') else {
            return Err(err(format!("`{}` is not a repository: {hint}", clip(text))));
        };
        if owner.is_empty() || owner.len() > 39 {
            return Err(err(format!(
                "`{}` is not a repository: the owner must be 1 to 39 characters; {hint}",
                clip(text)
            )));
        }
        if !owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            || owner.starts_with('-')
            || owner.ends_with('-')
        {
            return Err(err(format!(
                "`{}` is not a repository: the owner may only hold letters, digits and inner hyphens; {hint}",
                clip(text)
            )));
        }
        if name.is_empty()
            || name.len() > 100
            || name == "."
            || name == ".."
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(err(format!(
                "`{}` is not a repository: the name may only hold letters, digits, `.`, `-` and `_`; {hint}",
                clip(text)
            )));
        }
        // The checked text is `owner/name` (the name holds no `/`): lower-cased, the key.
        Ok(Self {
            full: text.to_ascii_lowercase(),
            slash: owner.len(),
        })
    }

    pub fn owner(&self) -> &str {
        &self.full[..self.slash]
    }

    pub fn name(&self) -> &str {
        &self.full[self.slash + 1..]
    }

    pub fn as_str(&self) -> &str {
        &self.full
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}
string_newtype_serde!(Repository, as_str);

/// Shortens user text quoted back in an error message.
pub(crate) fn clip(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(MAX).collect();
        s.push('…');
        s
    }
}

// ---------------------------------------------------------------------------------------------
// Environment

/// A deployment environment: a pull request's own `pr<N>`, one of the built-in names, or
/// any other name a repository's workflow file gives (`qa`, `eu-production`).
///
/// Names are kept lower-case: GitHub compares environment names without regard to case.
/// The built-in names and `pr<N>` always parse to their own variants, so each name has one
/// value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Environment {
    PullRequest(u64),
    Preview,
    Test,
    Staging,
    Production,
    /// Any other name: see [`Environment::parse`] for what is accepted.
    Named(EnvironmentName),
}

impl Environment {
    /// The built-in environments, in the order a change travels through them.
    pub const FIXED: [Environment; 4] = [
        Environment::Preview,
        Environment::Test,
        Environment::Staging,
        Environment::Production,
    ];

    /// Case-insensitive: `pr<N>` with N ≥ 1 is pull request N's environment; any other
    /// name [`EnvironmentName`] takes is an environment's name (whether the repository has
    /// that environment is its workflow's question).
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let text = input.trim().to_lowercase();
        match text.as_str() {
            "preview" => return Ok(Self::Preview),
            "test" => return Ok(Self::Test),
            "staging" => return Ok(Self::Staging),
            "production" => return Ok(Self::Production),
            _ => {}
        }
        if let Some(digits) = text
            .strip_prefix("pr")
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        {
            return match digits
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0 && digits.len() <= 12)
            {
                Some(n) => Ok(Self::PullRequest(n)),
                None => Err(err(format!(
                    "`{}` is not a pull request's environment: pull request environments are `pr<number>`",
                    clip(input.trim())
                ))),
            };
        }
        EnvironmentName::parse(&text).map(Self::Named)
    }

    /// The built-in pull-request environments (`pr<N>`), which exist only while their pull
    /// request is open.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::PullRequest(_))
    }

    pub fn pull_request(&self) -> Option<u64> {
        match self {
            Self::PullRequest(n) => Some(*n),
            _ => None,
        }
    }

    /// The name, as GitHub and people see it.
    pub fn name(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Self::PullRequest(n) => format!("pr{n}").into(),
            Self::Preview => "preview".into(),
            Self::Test => "test".into(),
            Self::Staging => "staging".into(),
            Self::Production => "production".into(),
            Self::Named(n) => n.as_str().into(),
        }
    }
}

impl Environment {
    /// The name as a command argument: in double quotes when it holds a space
    /// (`"eu frankfurt"`), as the command grammar reads it back.
    pub fn command_word(&self) -> std::borrow::Cow<'_, str> {
        let name = self.name();
        if name.contains(' ') {
            format!("\"{name}\"").into()
        } else {
            name
        }
    }

    /// The name as one DNS label or identifier part: spaces become `-`
    /// (`eu frankfurt` → `eu-frankfurt`). Used where the name goes into a host name or a
    /// pipeline's `version`/`subdomain`.
    pub fn slug(&self) -> std::borrow::Cow<'_, str> {
        let name = self.name();
        if name.contains(' ') {
            name.replace(' ', "-").into()
        } else {
            name
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// The name of an environment that is not built in: lower-case, 1–255 characters, no
/// control characters, none of `` <>&` `` (Slack's markup). Spaces are allowed between
/// words (GitHub allows them): leading and trailing whitespace is dropped and every run of
/// whitespace inside becomes one space, so `EU  Frankfurt` and `eu frankfurt` are one name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnvironmentName(std::sync::Arc<str>);

impl EnvironmentName {
    /// GitHub's limit on an environment's name.
    pub const MAX_CHARS: usize = 255;

    fn parse(text: &str) -> Result<Self, ParseError> {
        let bad = |why: &str| {
            err(format!(
                "`{}` is not an environment name: {why}",
                clip(text)
            ))
        };
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            return Err(err("say which environment".to_owned()));
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(bad("it is longer than 255 characters"));
        }
        if text.chars().any(|c| c.is_control() || "<>&`".contains(c)) {
            return Err(bad(
                "it may not hold control characters or any of `<>&` and backquotes",
            ));
        }
        Ok(Self(text.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_newtype_serde!(Environment, name);

// ---------------------------------------------------------------------------------------------
// Git references

/// A git reference: a branch, a tag, or a name as a person typed it (which GitHub resolves
/// to a branch, a tag or a commit).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GitRef {
    Branch(String),
    Tag(String),
    Name(String),
}

impl GitRef {
    /// `refs/heads/<b>` → branch, `refs/tags/<t>` → tag, anything else → a name. Names follow
    /// `git check-ref-format`: no spaces or control characters, none of `~^:?*[\`, no `..`,
    /// no `@{`, no leading `-` or `/`, no trailing `/`, `.` or `.lock`, at most 255 bytes.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let text = input.trim();
        if let Some(rest) = text.strip_prefix("refs/heads/") {
            check_ref_name(rest)?;
            return Ok(Self::Branch(rest.to_owned()));
        }
        if let Some(rest) = text.strip_prefix("refs/tags/") {
            check_ref_name(rest)?;
            return Ok(Self::Tag(rest.to_owned()));
        }
        if text.starts_with("refs/") {
            return Err(err(format!(
                "`{}` is not a branch or a tag: only `refs/heads/...` and `refs/tags/...` can be deployed",
                clip(text)
            )));
        }
        check_ref_name(text)?;
        Ok(Self::Name(text.to_owned()))
    }

    pub fn branch(name: &str) -> Result<Self, ParseError> {
        check_ref_name(name)?;
        Ok(Self::Branch(name.to_owned()))
    }

    pub fn tag(name: &str) -> Result<Self, ParseError> {
        check_ref_name(name)?;
        Ok(Self::Tag(name.to_owned()))
    }

    /// The short name: `main`, `v1.4`, or the typed name.
    pub fn short_name(&self) -> &str {
        match self {
            Self::Branch(s) | Self::Tag(s) | Self::Name(s) => s,
        }
    }

    /// The fully qualified ref when the kind is known (`refs/heads/main`), else the name.
    pub fn full_name(&self) -> String {
        match self {
            Self::Branch(s) => ["refs/heads/", s].concat(),
            Self::Tag(s) => ["refs/tags/", s].concat(),
            Self::Name(s) => s.clone(),
        }
    }

    pub fn is_tag(&self) -> bool {
        matches!(self, Self::Tag(_))
    }
}

fn check_ref_name(name: &str) -> Result<(), ParseError> {
    let bad = |why: &str| {
        Err(err(format!(
            "`{}` is not a valid git ref: {why}",
            clip(name)
        )))
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > 255 {
        return bad("it is longer than 255 characters");
    }
    // One pass over the bytes (every pushed ref is checked): the forbidden characters are
    // ASCII, and only a name that is not is looked at character by character.
    let forbidden = |c: char| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c);
    let held = if name.is_ascii() {
        name.bytes().any(|b| {
            b.is_ascii_control()
                || b == b' '
                || matches!(b, b'~' | b'^' | b':' | b'?' | b'*' | b'[' | b'\\')
        })
    } else {
        name.chars().any(forbidden)
    };
    if held {
        return bad("it holds a space or one of ~ ^ : ? * [ \\");
    }
    let pairs = name.as_bytes().windows(2);
    if name == "@" || pairs.clone().any(|w| matches!(w, b".." | b"@{" | b"//")) {
        return bad("it holds `..`, `//` or `@{`");
    }
    if name.starts_with('-') || name.starts_with('/') || name.starts_with('.') {
        return bad("it starts with `-`, `/` or `.`");
    }
    if name.ends_with('/') || name.ends_with('.') || name.ends_with(".lock") {
        return bad("it ends with `/`, `.` or `.lock`");
    }
    // A part starting with `.`: the first part was checked above, any other follows a `/`.
    if pairs.into_iter().any(|w| w == b"/.") {
        return bad("a part of it starts with `.`");
    }
    Ok(())
}

impl fmt::Display for GitRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

impl Serialize for GitRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.full_name())
    }
}

impl<'de> Deserialize<'de> for GitRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        GitRef::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl FromStr for GitRef {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        GitRef::parse(s)
    }
}

// ---------------------------------------------------------------------------------------------
// Commit SHA

/// A full 40-character commit SHA, lower case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha(String);

impl Sha {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let text = input.trim();
        if text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(text.to_ascii_lowercase()))
        } else {
            Err(err(format!(
                "`{}` is not a commit SHA (40 hexadecimal characters)",
                clip(text)
            )))
        }
    }

    /// True when `text` could be an abbreviated or full SHA (7 to 40 hex characters).
    pub fn looks_like_sha(text: &str) -> bool {
        (7..=40).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 7 characters, as GitHub shows them.
    pub fn short(&self) -> &str {
        &self.0[..7]
    }

    /// The first `n` characters (at most 40).
    pub fn prefix(&self, n: usize) -> &str {
        &self.0[..n.min(40)]
    }
}

impl fmt::Display for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
string_newtype_serde!(Sha, as_str);

// ---------------------------------------------------------------------------------------------
// Slack and GitHub identities

fn slack_id(input: &str, first: &[char], what: &str) -> Result<String, ParseError> {
    let text = input.trim();
    let ok = (2..=32).contains(&text.len())
        && text.starts_with(first)
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok {
        Ok(text.to_owned())
    } else {
        Err(err(format!("`{}` is not a Slack {what} id", clip(text))))
    }
}

/// A Slack channel id (`C…`, `G…` for private, `D…` for direct messages).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SlackChannelId(String);

impl SlackChannelId {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        slack_id(input, &['C', 'G', 'D'], "channel").map(Self)
    }
    /// Where a direct message to `user` goes: Slack's `chat.postMessage` takes a user id as
    /// its channel and posts to the app's conversation with that person.
    pub fn direct(user: &SlackUserId) -> Self {
        Self(user.as_str().to_owned())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SlackChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl Serialize for SlackChannelId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A channel id, or a user id: where [`SlackChannelId::direct`] sends a direct message, so a
/// request to post one reads back as it was written (between functions, in the store).
impl<'de> Deserialize<'de> for SlackChannelId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match Self::parse(&s) {
            Ok(channel) => Ok(channel),
            Err(e) => SlackUserId::parse(&s)
                .map(|user| Self::direct(&user))
                .map_err(|_| serde::de::Error::custom(e)),
        }
    }
}

impl FromStr for SlackChannelId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        Self::parse(s)
    }
}

/// A Slack user id (`U…` or `W…` for Enterprise Grid).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SlackUserId(String);

impl SlackUserId {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        slack_id(input, &['U', 'W', 'B'], "user").map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// `<@U123>`: how Slack renders a mention.
    pub fn mention(&self) -> String {
        format!("<@{}>", self.0)
    }
}

impl fmt::Display for SlackUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
string_newtype_serde!(SlackUserId, as_str);

/// A Slack workspace (team) id (`T…`, or `E…` for an Enterprise Grid organisation).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SlackTeamId(String);

impl SlackTeamId {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        slack_id(input, &['T', 'E'], "team").map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SlackTeamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
string_newtype_serde!(SlackTeamId, as_str);

/// A GitHub login, lower case (GitHub logins are case-insensitive). Letters, digits and
/// hyphens, 1–39 characters, not starting with a hyphen; apps appear as `name[bot]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GithubLogin(String);

impl GithubLogin {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let text = input.trim();
        let base = text.strip_suffix("[bot]").unwrap_or(text);
        let ok = !base.is_empty()
            && base.len() <= 39
            && !base.starts_with('-')
            && base.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if ok {
            Ok(Self(text.to_ascii_lowercase()))
        } else {
            Err(err(format!("`{}` is not a GitHub login", clip(text))))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GithubLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
string_newtype_serde!(GithubLogin, as_str);

// ---------------------------------------------------------------------------------------------
// Deployment id

/// A deployment's id: 24 lower-case hex characters, the first 16 encoding
/// `u64::MAX - created_millis` and the last 8 some entropy. Ids therefore sort **newest
/// first** in plain key order, so "the latest deployments" is the first page of a key-ordered
/// query in every store.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeploymentId(String);

impl DeploymentId {
    pub fn new(created: crate::Timestamp, entropy: u32) -> Self {
        let millis = u64::try_from(created.millis()).unwrap_or(0);
        // `{:016x}{:08x}`, written digit by digit (an id is made for every deployment).
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(24);
        let inverted = u64::MAX - millis;
        for shift in (0..16).rev() {
            text.push(char::from(HEX[((inverted >> (shift * 4)) & 0xf) as usize]));
        }
        for shift in (0..8).rev() {
            text.push(char::from(HEX[((entropy >> (shift * 4)) & 0xf) as usize]));
        }
        Self(text)
    }

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let text = input.trim();
        if text.len() == 24
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Self(text.to_owned()))
        } else {
            Err(err(format!("`{}` is not a deployment id", clip(text))))
        }
    }

    /// When the deployment was created, recovered from the id.
    pub fn created(&self) -> crate::Timestamp {
        let inverted = u64::from_str_radix(&self.0[..16], 16).unwrap_or(u64::MAX);
        crate::Timestamp::from_millis(i64::try_from(u64::MAX - inverted).unwrap_or(0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeploymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
string_newtype_serde!(DeploymentId, as_str);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;
    use proptest::prelude::*;

    #[test]
    fn repositories_follow_github_rules() {
        let good = [
            ("acme/web", "acme/web"),
            ("  Acme/Web  ", "acme/web"),
            ("a/b", "a/b"),
            ("my-org/my.repo_name", "my-org/my.repo_name"),
            ("acme/web.git", "acme/web"),
            ("a1-b2/.github", "a1-b2/.github"),
        ];
        for (input, want) in good {
            let repo = Repository::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(repo.as_str(), want);
        }
        let r = Repository::parse("Acme/Web").expect("valid");
        assert_eq!((r.owner(), r.name()), ("acme", "web"));
        let bad = [
            "",
            "acme",
            "/web",
            "acme/",
            "acme/web/extra",
            "-acme/web",
            "acme-/web",
            "ac me/web",
            "acme/we b",
            "acme/..",
            "acme/.",
            "https://github.com/acme/web",
            "acme/<script>",
            &format!("{}/web", "a".repeat(40)),
            &format!("acme/{}", "w".repeat(101)),
        ];
        for input in bad {
            assert!(
                Repository::parse(input).is_err(),
                "{input:?} should be refused"
            );
        }
        let msg = Repository::parse("acme").expect_err("refused").to_string();
        assert!(msg.contains("owner/name"), "{msg}");
    }

    #[test]
    fn environments_parse_case_insensitively() {
        let cases = [
            ("preview", Environment::Preview),
            ("TEST", Environment::Test),
            (" Staging ", Environment::Staging),
            ("production", Environment::Production),
            ("pr42", Environment::PullRequest(42)),
            ("PR7", Environment::PullRequest(7)),
        ];
        for (input, want) in cases {
            assert_eq!(want.to_string(), input.trim().to_ascii_lowercase());
            assert_eq!(Environment::parse(input), Ok(want), "{input}");
        }
        // Any other name a workflow file may give, kept lower-case.
        for (input, want) in [
            ("qa", "qa"),
            ("EU-Production", "eu-production"),
            ("prod", "prod"),
            ("pr", "pr"),
            ("pr-1", "pr-1"),
            ("review/app_2.x", "review/app_2.x"),
            ("Über", "über"),
            ("eu/frankfurt(prod)", "eu/frankfurt(prod)"),
            ("EU Frankfurt", "eu frankfurt"),
            ("  eu \t frankfurt ", "eu frankfurt"),
            ("pr 12", "pr 12"),
        ] {
            let env = Environment::parse(input).expect(input);
            assert!(matches!(env, Environment::Named(_)), "{input}");
            assert_eq!(env.to_string(), want);
            assert_eq!(Environment::parse(&env.to_string()), Ok(env.clone()));
        }
        let longest = "e".repeat(255);
        assert!(Environment::parse(&longest).is_ok());
        for bad in [
            "",
            "pr0",
            "pr99999999999999",
            "a\u{7}b",
            "  \t ",
            "a&b",
            "x`y",
            "<x>",
            &"e".repeat(256),
        ] {
            assert!(Environment::parse(bad).is_err(), "{bad}");
        }
        let spaced = Environment::parse("EU Frankfurt").expect("spaced");
        assert_eq!(spaced.command_word(), "\"eu frankfurt\"");
        assert_eq!(spaced.slug(), "eu-frankfurt");
        assert_eq!(Environment::Staging.command_word(), "staging");
        assert_eq!(Environment::PullRequest(4).slug(), "pr4");
        assert!(Environment::PullRequest(3).is_transient());
        assert!(!Environment::Staging.is_transient());
    }

    /// `check_ref_name` as the rules read, one `str` test each: the reference the one-pass
    /// check is held to.
    fn check_ref_name_rule_by_rule(name: &str) -> Result<(), ParseError> {
        if name.is_empty() || name.len() > 255 {
            // Those two rules are read as they always were.
            return check_ref_name(name);
        }
        let bad = |why: &str| {
            Err(err(format!(
                "`{}` is not a valid git ref: {why}",
                clip(name)
            )))
        };
        if name
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c))
        {
            return bad("it holds a space or one of ~ ^ : ? * [ \\");
        }
        if name.contains("..") || name.contains("@{") || name.contains("//") || name == "@" {
            return bad("it holds `..`, `//` or `@{`");
        }
        if name.starts_with('-') || name.starts_with('/') || name.starts_with('.') {
            return bad("it starts with `-`, `/` or `.`");
        }
        if name.ends_with('/') || name.ends_with('.') || name.ends_with(".lock") {
            return bad("it ends with `/`, `.` or `.lock`");
        }
        if name.split('/').any(|part| part.starts_with('.')) {
            return bad("a part of it starts with `.`");
        }
        Ok(())
    }

    #[test]
    fn git_refs_classify_and_validate() {
        assert_eq!(
            GitRef::parse("refs/heads/main"),
            Ok(GitRef::Branch("main".into()))
        );
        assert_eq!(
            GitRef::parse("refs/tags/v1.4"),
            Ok(GitRef::Tag("v1.4".into()))
        );
        assert_eq!(
            GitRef::parse("feature/x"),
            Ok(GitRef::Name("feature/x".into()))
        );
        assert_eq!(GitRef::Branch("main".into()).full_name(), "refs/heads/main");
        assert_eq!(GitRef::Tag("v1".into()).short_name(), "v1");
        for bad in [
            "",
            "a b",
            "a..b",
            "a~1",
            "a^",
            "a:b",
            "a?",
            "a*",
            "a[",
            "a\\b",
            "-x",
            "/x",
            "x/",
            "x.",
            "x.lock",
            "a@{b",
            "refs/pull/1/head",
            "refs/heads/",
            ".hidden",
            "a/.b",
            "a//b",
            &"a".repeat(256),
        ] {
            assert!(GitRef::parse(bad).is_err(), "{bad:?} should be refused");
        }
        // The length rule the property test leaves to the check itself: 255 bytes are a name.
        assert!(GitRef::parse(&"a".repeat(255)).is_ok());
        let json = serde_json::to_string(&GitRef::Tag("v2".into())).expect("serialises");
        assert_eq!(json, "\"refs/tags/v2\"");
        assert_eq!(
            serde_json::from_str::<GitRef>(&json).ok(),
            Some(GitRef::Tag("v2".into()))
        );
    }

    #[test]
    fn shas_are_full_and_lowercase() {
        let sha = Sha::parse(&"AB".repeat(20)).expect("valid");
        assert_eq!(sha.as_str(), "ab".repeat(20));
        assert_eq!(sha.short(), "abababa");
        assert!(Sha::parse("abc1234").is_err());
        assert!(Sha::parse(&"g".repeat(40)).is_err());
        assert!(Sha::looks_like_sha("abc1234"));
        assert!(!Sha::looks_like_sha("v1.4"));
    }

    #[test]
    fn slack_and_github_ids() {
        assert!(SlackChannelId::parse("C024BE91L").is_ok());
        assert!(SlackChannelId::parse("G0PRIVATE").is_ok());
        assert!(SlackChannelId::parse("U024BE7LH").is_err());
        assert!(SlackChannelId::parse("c024be91l").is_err());
        // A direct message's destination (a user id) reads back as written; parsing what
        // Slack sends stays strict.
        let user = SlackUserId::parse("U024BE7LH").expect("valid");
        let direct = SlackChannelId::direct(&user);
        let json = serde_json::to_string(&direct).expect("serialises");
        assert_eq!(json, "\"U024BE7LH\"");
        assert_eq!(
            serde_json::from_str::<SlackChannelId>(&json).ok(),
            Some(direct)
        );
        assert!(serde_json::from_str::<SlackChannelId>("\"T0001\"").is_err());
        assert!("U024BE7LH".parse::<SlackChannelId>().is_err());
        assert!(SlackUserId::parse("U024BE7LH").is_ok());
        assert_eq!(
            SlackUserId::parse("W1").ok().map(|u| u.mention()),
            Some("<@W1>".into())
        );
        assert!(SlackTeamId::parse("T0001").is_ok());
        assert_eq!(
            GithubLogin::parse("Octocat").ok().map(|l| l.to_string()),
            Some("octocat".into())
        );
        assert!(GithubLogin::parse("dependabot[bot]").is_ok());
        assert!(GithubLogin::parse("-x").is_err());
        assert!(GithubLogin::parse("a b").is_err());
        assert!(GithubLogin::parse(&"a".repeat(40)).is_err());
    }

    #[test]
    fn deployment_ids_sort_newest_first_and_keep_their_time() {
        let older = DeploymentId::new(Timestamp::from_millis(1_700_000_000_000), 0xffff_ffff);
        let newer = DeploymentId::new(Timestamp::from_millis(1_700_000_000_001), 0);
        assert!(newer < older, "newer ids sort first");
        assert_eq!(older.created(), Timestamp::from_millis(1_700_000_000_000));
        assert_eq!(DeploymentId::parse(newer.as_str()), Ok(newer.clone()));
        assert!(DeploymentId::parse("xyz").is_err());
        assert!(DeploymentId::parse(&"A".repeat(24)).is_err());
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,300}") {
            let _ = Repository::parse(&s);
            let _ = Environment::parse(&s);
            let _ = GitRef::parse(&s);
            let _ = Sha::parse(&s);
            let _ = SlackChannelId::parse(&s);
            let _ = GithubLogin::parse(&s);
            let _ = DeploymentId::parse(&s);
        }

        #[test]
        fn valid_repositories_round_trip(owner in "[a-zA-Z0-9]{1,20}", name in "[a-zA-Z0-9_-]{1,30}") {
            let repo = Repository::parse(&format!("{owner}/{name}")).expect("valid by construction");
            prop_assert_eq!(Repository::parse(repo.as_str()).ok(), Some(repo.clone()));
            prop_assert_eq!(repo.owner(), owner.to_ascii_lowercase());
        }

        #[test]
        fn deployment_ids_order_by_time(a in 0i64..4_000_000_000_000, b in 0i64..4_000_000_000_000, e1: u32, e2: u32) {
            let ia = DeploymentId::new(Timestamp::from_millis(a), e1);
            let ib = DeploymentId::new(Timestamp::from_millis(b), e2);
            if a < b { prop_assert!(ib < ia); }
            prop_assert_eq!(ia.created(), Timestamp::from_millis(a));
            // The id is the inverted milliseconds and the entropy in fixed-width hex.
            prop_assert_eq!(
                ia.as_str(),
                format!("{:016x}{:08x}", u64::MAX - a as u64, e1)
            );
        }

        /// The one-pass check answers as the rules read one by one: the same refusal, for
        /// names of any characters (the pattern favours the ones the rules name).
        #[test]
        fn ref_names_are_checked_as_the_rules_read(name in "[a-z./@{~^:?*\\[\\\\ \\t\\-]{0,12}|\\PC{0,12}|[\u{80}-\u{3000}a/]{0,8}") {
            prop_assert_eq!(check_ref_name(&name), check_ref_name_rule_by_rule(&name));
        }

        #[test]
        fn ids_are_written_as_their_text(n in 1u64..100_000, sha in "[0-9a-f]{40}") {
            let environment = Environment::PullRequest(n);
            let sha = Sha::parse(&sha).expect("valid by construction");
            prop_assert_eq!(
                serde_json::to_string(&(&environment, &sha)).expect("serialises"),
                format!("[\"pr{n}\",\"{sha}\"]")
            );
        }
    }
}
