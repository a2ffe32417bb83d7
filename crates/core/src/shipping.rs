//! "What's shipping" (docs/workflow.md, "What's shipping"; docs/adr/0018-rollback.md): the
//! commits and pull requests between what an environment runs and what a deployment brings,
//! as GitHub's compare API listed them once per deployment, and which environments show it.
//! Pure: `app` asks GitHub (with a time budget) and stores the answer by key.

use crate::{Deployment, DeploymentId, Environment, GithubLogin, Repository, Sha, Timestamp};
use serde::{Deserialize, Serialize};

/// At most this many lines (pull requests, then commits outside any pull request) are shown;
/// the rest is "+N more", linking to GitHub's compare page.
pub const MAX_LINES: usize = 20;

/// How long a deployment waits for GitHub's comparison before its message goes out without
/// the section (the deployment itself never waits: it was created on GitHub already).
pub const BUDGET_MILLIS: u64 = 3_000;

/// One commit of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippedCommit {
    pub sha: Sha,
    /// The first line of its message.
    pub title: String,
    /// The GitHub account of its author, when the author's e-mail maps to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<GithubLogin>,
    /// The pull requests GitHub associates with it (merged ones first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pull_requests: Vec<u64>,
}

/// One pull request a comparison ships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippedPullRequest {
    pub number: u64,
    pub title: String,
    /// Its page on GitHub.
    pub url: String,
    /// Who opened it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<GithubLogin>,
}

/// GitHub's comparison `base...head`: the commits in `head` that `base` lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    pub base: Sha,
    pub head: Sha,
    /// GitHub's compare page of the two.
    pub url: String,
    /// How many commits GitHub counted (it lists at most 250).
    pub total_commits: u64,
    /// The commits listed, oldest first (GitHub's order).
    pub commits: Vec<ShippedCommit>,
    /// The pull requests of the listed commits, each once, in order of first appearance.
    pub pull_requests: Vec<ShippedPullRequest>,
}

/// One line of the section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    PullRequest(&'a ShippedPullRequest),
    /// A commit no listed pull request holds.
    Commit(&'a ShippedCommit),
}

impl Comparison {
    /// The lines to show — every pull request, then the commits outside them, newest first —
    /// at most `limit`, and how many more there are (counting commits GitHub did not list).
    pub fn lines(&self, limit: usize) -> (Vec<Line<'_>>, u64) {
        let mut all: Vec<Line<'_>> = self
            .pull_requests
            .iter()
            .rev()
            .map(Line::PullRequest)
            .collect();
        all.extend(
            self.commits
                .iter()
                .rev()
                .filter(|c| {
                    !c.pull_requests
                        .iter()
                        .any(|n| self.pull_requests.iter().any(|p| p.number == *n))
                })
                .map(Line::Commit),
        );
        let unlisted = self.total_commits.saturating_sub(self.commits.len() as u64);
        let shown = all.len().min(limit);
        let more = (all.len() - shown) as u64 + unlisted;
        all.truncate(shown);
        (all, more)
    }

    /// Every GitHub login the section names (pull-request and commit authors), each once.
    pub fn authors(&self) -> Vec<GithubLogin> {
        let mut logins: Vec<GithubLogin> = Vec::new();
        let named = self
            .pull_requests
            .iter()
            .filter_map(|p| p.author.as_ref())
            .chain(self.commits.iter().filter_map(|c| c.author.as_ref()));
        for login in named {
            if !logins.contains(login) {
                logins.push(login.clone());
            }
        }
        logins
    }
}

/// What deploybot learned about a deployment's changes, stored once per deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Shipping {
    /// GitHub's comparison of what ran (or, for a rollback, the target) with the new commit.
    Listed(Comparison),
    /// Nothing ran in the environment before (as far as deploybot's records go).
    First,
    /// The same commit runs already.
    Same,
    /// GitHub did not answer within the budget, or failed: shown once, never asked again.
    Unavailable { why: String },
}

/// The stored record: one per deployment, keyed by repository and deployment id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingRecord {
    pub repository: Repository,
    pub deployment: DeploymentId,
    /// True when the comparison lists what a rollback removes (base = its target, head =
    /// what ran) rather than what a deployment adds.
    #[serde(default)]
    pub removes: bool,
    pub shipping: Shipping,
    pub at: Timestamp,
}

/// Whether a deployment's message carries the section: production environments, staging,
/// environments with approvals (for the approvers), and rollbacks (whose preview lists what
/// they remove).
pub fn shows_shipping(d: &Deployment) -> bool {
    d.is_production() || d.environment == Environment::Staging || d.gated || d.trigger.is_rollback()
}

/// The two commits to compare for deployment `d`, given `current`, the commit its environment
/// runs: `(base, head, removes)`. A rollback compares its target with what ran before it (the
/// commits it removes); every other deployment compares what runs with its commit.
pub fn compare_range(d: &Deployment, current: &Sha) -> (Sha, Sha, bool) {
    match &d.trigger {
        crate::Trigger::Rollback { from_sha, .. } => (d.sha.clone(), from_sha.clone(), true),
        _ => (current.clone(), d.sha.clone(), false),
    }
}

/// The key of the "your pull request is live" notice for one pull request and environment:
/// taken with a conditional write, so its author hears it once.
pub fn live_notice_key(repository: &Repository, environment: &Environment, pr: u64) -> String {
    format!("live-notice:{repository}:{environment}:{pr}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(c: char) -> Sha {
        Sha::parse(&c.to_string().repeat(40)).expect("valid")
    }

    fn login(s: &str) -> GithubLogin {
        GithubLogin::parse(s).expect("valid")
    }

    fn commit(c: char, prs: &[u64], author: &str) -> ShippedCommit {
        ShippedCommit {
            sha: sha(c),
            title: format!("commit {c}"),
            author: Some(login(author)),
            pull_requests: prs.to_vec(),
        }
    }

    fn pr(number: u64, author: &str) -> ShippedPullRequest {
        ShippedPullRequest {
            number,
            title: format!("PR {number}"),
            url: format!("https://github.com/acme/web/pull/{number}"),
            author: Some(login(author)),
        }
    }

    fn deployment(env: Environment, sha: Sha) -> Deployment {
        let at = Timestamp::from_secs(1_000_000);
        Deployment::new(
            Repository::parse("acme/web").expect("valid"),
            DeploymentId::new(at, 1),
            env,
            crate::GitRef::Branch("main".into()),
            sha,
            crate::Trigger::Push { pusher: None },
            crate::SlackChannelId::parse("C1").expect("valid"),
            at,
        )
    }

    fn comparison(commits: Vec<ShippedCommit>, prs: Vec<ShippedPullRequest>) -> Comparison {
        Comparison {
            base: sha('a'),
            head: sha('f'),
            url: "https://github.com/acme/web/compare/a...f".into(),
            total_commits: commits.len() as u64,
            commits,
            pull_requests: prs,
        }
    }

    #[test]
    fn pull_requests_come_first_newest_first_and_their_commits_are_folded_in() {
        let c = comparison(
            vec![
                commit('b', &[811], "ana"),
                commit('c', &[811], "ana"),
                commit('d', &[], "bo"),
                commit('e', &[812], "cy"),
            ],
            vec![pr(811, "ana"), pr(812, "cy")],
        );
        let (lines, more) = c.lines(MAX_LINES);
        assert_eq!(more, 0);
        assert_eq!(
            lines,
            vec![
                Line::PullRequest(&c.pull_requests[1]),
                Line::PullRequest(&c.pull_requests[0]),
                Line::Commit(&c.commits[2]),
            ]
        );
        assert_eq!(c.authors(), vec![login("ana"), login("cy"), login("bo")]);
    }

    #[test]
    fn past_the_limit_the_rest_is_counted_with_the_commits_github_did_not_list() {
        let commits: Vec<ShippedCommit> = "bcdef".chars().map(|c| commit(c, &[], "bo")).collect();
        let mut c = comparison(commits, vec![]);
        c.total_commits = 300;
        let (lines, more) = c.lines(2);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], Line::Commit(&c.commits[4]), "newest first");
        assert_eq!(more, 3 + 295);
    }

    #[test]
    fn a_rollback_compares_its_target_with_what_ran() {
        let mut d = deployment(Environment::Production, sha('b'));
        assert_eq!(compare_range(&d, &sha('a')), (sha('a'), sha('b'), false));
        d.trigger = crate::Trigger::Rollback {
            slack_user: crate::SlackUserId::parse("U1").expect("valid"),
            from: DeploymentId::new(Timestamp::from_secs(999_000), 2),
            from_sha: sha('e'),
            to: d.id.clone(),
            reason: None,
        };
        assert_eq!(compare_range(&d, &sha('e')), (sha('b'), sha('e'), true));
        assert!(shows_shipping(&d));
    }

    #[test]
    fn staging_production_and_rollbacks_show_it_test_does_not() {
        for (env, shown) in [
            (Environment::Production, true),
            (Environment::Staging, true),
            (Environment::Test, false),
            (Environment::PullRequest(4), false),
        ] {
            let d = deployment(env.clone(), sha('b'));
            assert_eq!(shows_shipping(&d), shown, "{env}");
        }
        // An environment with approvals shows it, for the approvers.
        let mut qa = deployment(Environment::parse("qa").expect("valid"), sha('b'));
        assert!(!shows_shipping(&qa));
        qa.gated = true;
        assert!(shows_shipping(&qa));
    }

    #[test]
    fn the_notice_key_names_the_pull_request_and_environment() {
        let repo = Repository::parse("acme/web").expect("valid");
        assert_eq!(
            live_notice_key(&repo, &Environment::Production, 812),
            "live-notice:acme/web:production:812"
        );
    }
}
