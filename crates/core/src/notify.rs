//! Notification routing (docs/notifications.md): where a deployment's message goes besides the
//! bound channel, who gets a direct message when it ends, who is mentioned on a failure, and
//! whether follow-ups are thread replies. The workflow file's `notify:` key
//! ([`crate::workflow_file`] parses it into a [`NotifySpec`]); everything here is a pure
//! decision, table-tested.

use crate::workflow_file::Pattern;
use crate::{DeploymentState, GithubLogin, SlackChannelId, SlackUserId, Trigger};
use serde::{Deserialize, Serialize};

/// The keys of `notify:`.
pub const NOTIFY_KEYS: [&str; 2] = ["routes", "threads"];
/// The keys of one route.
pub const ROUTE_KEYS: [&str; 5] = [
    "environments",
    "channels",
    "channel",
    "direct",
    "mention_on_failure",
];
/// The keys of a route's `direct`.
pub const DIRECT_KEYS: [&str; 2] = ["on", "to"];
/// The one value of a route's `channel`: no message in the bound channel.
pub const CHANNEL_NONE: &str = "none";

/// `notify:` as written; the default (no key) routes nothing anywhere else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifySpec {
    pub routes: Vec<Route>,
    /// Retries, approvals and lock changes as thread replies under the deployment's message.
    pub threads: bool,
}

/// One route: what happens to the deployments of the environments it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Environment name globs (matched without regard to case).
    pub environments: Vec<Pattern>,
    /// Channels that get a compact mirror of the message (`#name` or a channel id).
    pub channels: Vec<ChannelRef>,
    /// `channel: none`: no message in the bound channel.
    pub quiet: bool,
    pub direct: Option<DirectRule>,
    /// Slack user group handles (without `@`) mentioned when a deployment fails.
    pub mention_on_failure: Vec<String>,
    /// The line of the route in the file.
    pub line: usize,
}

/// Where a mirror goes, as the file names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChannelRef(String);

impl ChannelRef {
    /// `#name` (a channel name: lower-case letters, digits, `-`, `_`, `.`, at most 80) or a
    /// channel id (`C…`, `G…`).
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(name) = text.strip_prefix('#') {
            let ok = !name.is_empty()
                && name.chars().count() <= 80
                && name.chars().all(|c| {
                    c.is_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')
                });
            return if ok {
                Ok(Self(text.to_owned()))
            } else {
                Err(format!(
                    "`{text}` is not a Slack channel name; names are lower-case letters, digits, `-` and `_`, as in `#prod-deploys`"
                ))
            };
        }
        match SlackChannelId::parse(text) {
            Ok(id) if !id.as_str().starts_with('D') => Ok(Self(id.as_str().to_owned())),
            _ => Err(format!(
                "`{text}` is not a channel; write a channel name with its `#` (in quotes: `\"#prod-deploys\"`) or a channel id such as `C0123ABCD`"
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ChannelRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `direct: { on: [...], to: [...] }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectRule {
    pub on: Vec<Outcome>,
    pub to: Vec<Recipient>,
}

/// How a deployment ended, for direct messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Failure,
    Success,
}

impl Outcome {
    pub const NAMES: [&'static str; 2] = ["failure", "success"];

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "failure" => Some(Self::Failure),
            "success" => Some(Self::Success),
            _ => None,
        }
    }

    /// The outcome a state is: `failure` and `error` are failures, `success` a success;
    /// every other state has not ended.
    pub fn of(state: DeploymentState) -> Option<Self> {
        match state {
            DeploymentState::Failure | DeploymentState::Error => Some(Self::Failure),
            DeploymentState::Success => Some(Self::Success),
            _ => None,
        }
    }
}

/// Who a direct message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Recipient {
    /// Who asked: the Slack user who ran `deploy` (or pressed Retry, or rolled back), or the
    /// linked Slack user of the GitHub user who pushed.
    Requester,
    /// The linked Slack user of the commit's author (a pull request's head commit for a
    /// pull-request environment).
    Author,
    /// The linked Slack users of the authors of what deploys: the commit's author and, for a
    /// push, the pusher.
    Authors,
}

impl Recipient {
    pub const NAMES: [&'static str; 3] = ["requester", "author", "authors"];

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "requester" => Some(Self::Requester),
            "author" => Some(Self::Author),
            "authors" => Some(Self::Authors),
            _ => None,
        }
    }
}

/// A person's own choice of direct messages (`/cimon notify me all|failures|none`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectPreference {
    /// Not chosen: the routes decide.
    #[default]
    Routed,
    /// Failures and successes of every deployment a route names the person for.
    All,
    /// Only failures.
    Failures,
    /// No direct messages.
    None,
}

impl DirectPreference {
    /// The words `/cimon notify me` takes.
    pub const WORDS: [&'static str; 3] = ["all", "failures", "none"];

    pub fn parse(word: &str) -> Option<Self> {
        match word.to_ascii_lowercase().as_str() {
            "all" => Some(Self::All),
            "failures" | "failure" => Some(Self::Failures),
            "none" | "off" => Some(Self::None),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Routed => "as the workflow routes",
            Self::All => "all",
            Self::Failures => "failures",
            Self::None => "none",
        }
    }
}

/// A person's own settings, one record per Slack user (the user table, by key).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonSettings {
    #[serde(default)]
    pub direct: DirectPreference,
    /// When the person's Home tab was last published (its debounce).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_published_at: Option<crate::Timestamp>,
}

/// What the routes say about one environment's deployments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routing {
    /// The canonical message goes to the bound channel (no route said `channel: none`).
    pub bound_channel: bool,
    /// Mirror channels, in the order the file names them, each once.
    pub mirrors: Vec<ChannelRef>,
    /// Which outcomes send a direct message to which recipients.
    pub direct: Vec<(Outcome, Recipient)>,
    /// User group handles mentioned on a failure, each once.
    pub mention_on_failure: Vec<String>,
    /// Follow-ups as thread replies.
    pub threads: bool,
}

impl NotifySpec {
    /// The routes that apply to `environment`, together: a `channel: none` in any of them
    /// keeps the bound channel quiet; mirrors, direct rules and mentions add up.
    ///
    /// An exact name beats a pattern: when some route names the environment exactly, only the
    /// routes that do apply to it, so `"pr*"` (meant for `pr42`) does not reach
    /// `production` as long as a route names `production`. Otherwise every route with a
    /// matching pattern applies.
    pub fn routing(&self, environment: &str) -> Routing {
        let name = environment.to_lowercase();
        let mut routing = Routing {
            bound_channel: true,
            threads: self.threads,
            ..Routing::default()
        };
        let names_exactly = |r: &Route| {
            r.environments
                .iter()
                .any(|p| is_literal(p) && p.as_str() == name)
        };
        let exact = self.routes.iter().any(names_exactly);
        let applies = |r: &&Route| {
            if exact {
                names_exactly(r)
            } else {
                r.environments.iter().any(|p| p.matches(&name))
            }
        };
        for route in self.routes.iter().filter(applies) {
            if route.quiet {
                routing.bound_channel = false;
            }
            for channel in &route.channels {
                if !routing.mirrors.contains(channel) {
                    routing.mirrors.push(channel.clone());
                }
            }
            if let Some(direct) = &route.direct {
                for on in &direct.on {
                    for to in &direct.to {
                        if !routing.direct.contains(&(*on, *to)) {
                            routing.direct.push((*on, *to));
                        }
                    }
                }
            }
            for handle in &route.mention_on_failure {
                if !routing.mention_on_failure.contains(handle) {
                    routing.mention_on_failure.push(handle.clone());
                }
            }
        }
        routing
    }
}

/// A message of a deployment besides its bound channel's, kept on the deployment's record
/// (docs/notifications.md, "What is stored").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub kind: NoticeKind,
    /// The conversation it was posted in (Slack's id), once posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<SlackChannelId>,
    /// Its `ts`, once posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<String>,
    /// Slack's error code when it could not be posted: not tried again for this deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// What a [`Notice`] is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NoticeKind {
    /// A compact copy of the message in another channel, edited with it.
    Mirror { target: ChannelRef },
    /// A direct message to a person about how the deployment ended.
    Direct { user: SlackUserId, outcome: Outcome },
    /// The failure's mention of the route's user groups, in the bound channel.
    Mention,
    /// A copy of the message waiting for approval, with its buttons, in an approver's direct
    /// messages (`notify_approvers: true`); edited in place with the message.
    Approver { user: SlackUserId },
}

impl Notice {
    /// A notice about to be posted (claimed on the record first, so it goes at most once).
    pub fn pending(kind: NoticeKind) -> Self {
        Self {
            kind,
            channel: None,
            ts: None,
            failed: None,
        }
    }
}

/// Whether a pattern is a plain name (no glob characters).
fn is_literal(pattern: &Pattern) -> bool {
    !pattern.as_str().contains(['*', '?', '[', '{', '\\'])
}

/// Who asked for a deployment, as far as its trigger says: a Slack user, or the GitHub login
/// of the pusher (to be looked up among the links), or nobody (a pull request's update).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requester {
    Slack(SlackUserId),
    GitHub(GithubLogin),
    Nobody,
}

impl Requester {
    pub fn of(trigger: &Trigger) -> Self {
        match trigger {
            Trigger::Manual { slack_user }
            | Trigger::Retry { slack_user, .. }
            | Trigger::Rollback { slack_user, .. } => Self::Slack(slack_user.clone()),
            Trigger::Push { pusher: Some(p) } | Trigger::Tag { pusher: Some(p) } => {
                Self::GitHub(p.clone())
            }
            _ => Self::Nobody,
        }
    }
}

/// The GitHub logins a recipient stands for (to look up among the links), each once: the
/// requester's own login when it is one; the head commit's author; for `authors`, also the
/// pusher and everyone GitHub's comparison names as an author of what the deployment ships
/// (`compared`: empty where no comparison was read).
pub fn recipient_logins(
    recipient: Recipient,
    trigger: &Trigger,
    commit_author: Option<&GithubLogin>,
    compared: &[GithubLogin],
) -> Vec<GithubLogin> {
    let mut out: Vec<GithubLogin> = Vec::new();
    let mut add = |login: &GithubLogin| {
        if !out.contains(login) {
            out.push(login.clone());
        }
    };
    match recipient {
        Recipient::Requester => {
            if let Requester::GitHub(login) = Requester::of(trigger) {
                add(&login);
            }
        }
        Recipient::Author => commit_author.into_iter().for_each(&mut add),
        Recipient::Authors => {
            commit_author.into_iter().for_each(&mut add);
            if let Trigger::Push { pusher: Some(p) } | Trigger::Tag { pusher: Some(p) } = trigger {
                add(p);
            }
            compared.iter().for_each(&mut add);
        }
    }
    out
}

/// Whether a person the routes name for `outcome`s `routed` gets a direct message about a
/// deployment that ended with `outcome`, given their own preference.
pub fn direct_due(routed: &[Outcome], outcome: Outcome, preference: DirectPreference) -> bool {
    if routed.is_empty() {
        return false;
    }
    match preference {
        DirectPreference::Routed => routed.contains(&outcome),
        DirectPreference::All => true,
        DirectPreference::Failures => outcome == Outcome::Failure,
        DirectPreference::None => false,
    }
}

/// Slack's answers that mean a channel cannot be posted to until a person acts (invite the
/// bot, fix the name): told once in the bound channel, not retried.
pub fn unreachable_channel(code: &str) -> bool {
    matches!(
        code,
        "not_in_channel" | "channel_not_found" | "is_archived" | "restricted_action"
    )
}

/// The sentence that tells the bound channel a mirror cannot be posted.
pub fn unreachable_channel_notice(channel: &ChannelRef, code: &str, environment: &str) -> String {
    let what = match code {
        "not_in_channel" => format!(
            "deploybot is not in {channel}: invite it there (`/invite @deploybot` in {channel})"
        ),
        "is_archived" => format!(
            "{channel} is archived: unarchive it, or take it out of `notify.routes` in `.github/deploybot.yml`"
        ),
        _ => format!(
            "Slack knows no channel {channel} that deploybot can see: check its name in `notify.routes` of `.github/deploybot.yml`, and invite deploybot if it is private"
        ),
    };
    format!(
        ":warning: {environment} deployments should also go to {channel}, but {what}. Deployments that start after that will be posted there; this is said once."
    )
}

/// The sentence that tells the bound channel a user group named in `mention_on_failure`
/// does not exist.
pub fn unknown_user_group_notice(handle: &str) -> String {
    format!(
        ":warning: `mention_on_failure` names `@{handle}`, but this Slack workspace has no user group with that handle: create it, or fix the handle in `.github/deploybot.yml`. This is said once."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(envs: &[&str]) -> Route {
        Route {
            environments: envs
                .iter()
                .map(|e| Pattern::new(e).expect("valid"))
                .collect(),
            channels: Vec::new(),
            quiet: false,
            direct: None,
            mention_on_failure: Vec::new(),
            line: 1,
        }
    }

    fn issue_example() -> NotifySpec {
        let mut prod = route(&["production"]);
        prod.channels = vec![ChannelRef::parse("#prod-deploys").expect("valid")];
        let mut pr = route(&["pr*"]);
        pr.quiet = true;
        pr.direct = Some(DirectRule {
            on: vec![Outcome::Failure],
            to: vec![Recipient::Requester, Recipient::Author],
        });
        let mut both = route(&["production", "staging"]);
        both.direct = Some(DirectRule {
            on: vec![Outcome::Failure],
            to: vec![Recipient::Requester, Recipient::Authors],
        });
        both.mention_on_failure = vec!["oncall".into()];
        NotifySpec {
            routes: vec![prod, pr, both],
            threads: true,
        }
    }

    #[test]
    fn routes_add_up_per_environment() {
        let spec = issue_example();
        let prod_channel = ChannelRef::parse("#prod-deploys").expect("valid");
        type Case<'a> = (
            &'a str,
            bool,
            Vec<ChannelRef>,
            Vec<(Outcome, Recipient)>,
            Vec<&'a str>,
        );
        let cases: [Case<'_>; 5] = [
            (
                "production",
                true,
                vec![prod_channel.clone()],
                vec![
                    (Outcome::Failure, Recipient::Requester),
                    (Outcome::Failure, Recipient::Authors),
                ],
                vec!["oncall"],
            ),
            (
                "Production",
                true,
                vec![prod_channel],
                vec![
                    (Outcome::Failure, Recipient::Requester),
                    (Outcome::Failure, Recipient::Authors),
                ],
                vec!["oncall"],
            ),
            (
                "staging",
                true,
                vec![],
                vec![
                    (Outcome::Failure, Recipient::Requester),
                    (Outcome::Failure, Recipient::Authors),
                ],
                vec!["oncall"],
            ),
            (
                "pr42",
                false,
                vec![],
                vec![
                    (Outcome::Failure, Recipient::Requester),
                    (Outcome::Failure, Recipient::Author),
                ],
                vec![],
            ),
            ("qa", true, vec![], vec![], vec![]),
        ];
        for (env, bound, mirrors, direct, mentions) in cases {
            let r = spec.routing(env);
            assert_eq!(r.bound_channel, bound, "{env}");
            assert_eq!(r.mirrors, mirrors, "{env}");
            assert_eq!(r.direct, direct, "{env}");
            assert_eq!(r.mention_on_failure, mentions, "{env}");
            assert!(r.threads, "{env}");
        }
    }

    #[test]
    fn an_exact_name_beats_a_pattern() {
        let mut everything = route(&["*"]);
        everything.mention_on_failure = vec!["all".into()];
        let mut prod = route(&["production"]);
        prod.mention_on_failure = vec!["prod".into()];
        let spec = NotifySpec {
            routes: vec![everything, prod],
            threads: false,
        };
        assert_eq!(spec.routing("production").mention_on_failure, ["prod"]);
        assert_eq!(spec.routing("staging").mention_on_failure, ["all"]);
        assert_eq!(spec.routing("pr7").mention_on_failure, ["all"]);
    }

    #[test]
    fn no_notify_key_keeps_everything_in_the_bound_channel() {
        let r = NotifySpec::default().routing("production");
        assert!(r.bound_channel);
        assert!(r.mirrors.is_empty() && r.direct.is_empty() && !r.threads);
    }

    #[test]
    fn a_channel_named_twice_is_mirrored_once() {
        let mut a = route(&["prod*"]);
        a.channels = vec![ChannelRef::parse("#ops").expect("valid")];
        let b = Route {
            line: 2,
            ..a.clone()
        };
        let spec = NotifySpec {
            routes: vec![a, b],
            threads: false,
        };
        assert_eq!(spec.routing("production").mirrors.len(), 1);
    }

    #[test]
    fn direct_messages_follow_routes_then_the_persons_preference() {
        use DirectPreference as P;
        use Outcome::{Failure as F, Success as S};
        let cases = [
            (&[F][..], F, P::Routed, true),
            (&[F][..], S, P::Routed, false),
            (&[F, S][..], S, P::Routed, true),
            (&[F][..], S, P::All, true),
            (&[F, S][..], S, P::Failures, false),
            (&[F][..], F, P::Failures, true),
            (&[F][..], F, P::None, false),
            (&[][..], F, P::All, false),
        ];
        for (routed, outcome, pref, want) in cases {
            assert_eq!(
                direct_due(routed, outcome, pref),
                want,
                "{routed:?} {outcome:?} {pref:?}"
            );
        }
    }

    #[test]
    fn requesters_and_authors_come_from_the_trigger_and_commit() {
        let alice = GithubLogin::parse("alice").expect("valid");
        let bob = GithubLogin::parse("bob").expect("valid");
        let u = SlackUserId::parse("U0ALICE").expect("valid");
        let push = Trigger::Push {
            pusher: Some(bob.clone()),
        };
        let manual = Trigger::Manual {
            slack_user: u.clone(),
        };
        let pr = Trigger::PullRequest {
            number: 4,
            url: None,
        };
        assert_eq!(Requester::of(&manual), Requester::Slack(u));
        assert_eq!(Requester::of(&push), Requester::GitHub(bob.clone()));
        assert_eq!(Requester::of(&pr), Requester::Nobody);
        let carol = GithubLogin::parse("carol").expect("valid");
        let none: &[GithubLogin] = &[];
        // What GitHub's comparison names as authors, with a repeat of the head's author.
        let compared = [carol.clone(), alice.clone()];
        let cases = [
            (Recipient::Requester, &push, none, vec![bob.clone()]),
            (Recipient::Requester, &manual, none, vec![]),
            (
                Recipient::Requester,
                &push,
                &compared[..],
                vec![bob.clone()],
            ),
            (Recipient::Author, &push, none, vec![alice.clone()]),
            (Recipient::Author, &pr, &compared[..], vec![alice.clone()]),
            (
                Recipient::Authors,
                &push,
                none,
                vec![alice.clone(), bob.clone()],
            ),
            (Recipient::Authors, &pr, none, vec![alice.clone()]),
            (
                Recipient::Authors,
                &push,
                &compared[..],
                vec![alice.clone(), bob.clone(), carol.clone()],
            ),
            (
                Recipient::Authors,
                &pr,
                &compared[..],
                vec![alice.clone(), carol.clone()],
            ),
        ];
        for (recipient, trigger, compared, want) in cases {
            assert_eq!(
                recipient_logins(recipient, trigger, Some(&alice), compared),
                want,
                "{recipient:?} {trigger:?} {compared:?}"
            );
        }
    }

    #[test]
    fn channel_refs_are_names_with_a_hash_or_ids() {
        for ok in ["#prod-deploys", "#a_b.c", "C0123ABCD", "G0123ABCD"] {
            assert!(ChannelRef::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["prod-deploys", "#", "#Prod", "#a b", "D0123ABCD", ""] {
            assert!(ChannelRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn preferences_read_the_commands_words() {
        assert_eq!(DirectPreference::parse("ALL"), Some(DirectPreference::All));
        assert_eq!(
            DirectPreference::parse("failures"),
            Some(DirectPreference::Failures)
        );
        assert_eq!(
            DirectPreference::parse("none"),
            Some(DirectPreference::None)
        );
        assert_eq!(DirectPreference::parse("sometimes"), None);
    }

    #[test]
    fn unreachable_codes_are_told_not_retried() {
        assert!(unreachable_channel("not_in_channel"));
        assert!(unreachable_channel("channel_not_found"));
        assert!(!unreachable_channel("ratelimited"));
        let c = ChannelRef::parse("#prod-deploys").expect("valid");
        assert!(unreachable_channel_notice(&c, "not_in_channel", "production").contains("/invite"));
    }
}
