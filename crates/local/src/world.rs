//! The demo world: one repository, one Slack channel, three people and the commits the demo
//! deploys. The demo, the test harness and `serve --fake-services` all seed the fakes from here,
//! so the `poke` fixtures name branches, commits and people the fakes know.

use deploybot_core::Sha;
use deploybot_core::{Repository, SlackChannelId, SlackUserId};
use deploybot_testkit::fakes::github::FakeGitHub;
use deploybot_testkit::fakes::slack::FakeSlack;

/// The repository the demo channel follows.
pub const REPOSITORY: &str = "acme/web";
/// The Slack channel bound to it, its name and workspace.
pub const CHANNEL: &str = "C0WEB";
pub const CHANNEL_NAME: &str = "web";
pub const TEAM: &str = "T0ACME";
pub const DEFAULT_BRANCH: &str = "main";
/// `set basedomain` in the demo: environments live at `https://<environment>.example.com/`.
pub const BASE_DOMAIN: &str = "example.com";

/// The pull request the demo opens.
pub const PR_NUMBER: u64 = 42;
pub const PR_BRANCH: &str = "feature/login";
/// The head of [`PR_BRANCH`] (the commit of the GitHub fixtures).
pub const PR_SHA: &str = "4f3c2a1b9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b";
/// `main` after the pull request is merged.
pub const MAIN_SHA: &str = "9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e";
/// The release branch and its commit (deployed to test, promoted to staging, tagged).
pub const RELEASE_BRANCH: &str = "release-2024-05";
pub const RELEASE_SHA: &str = "c0de5eed1234567890abcdef1234567890abcdef";
/// The production tag, on [`RELEASE_SHA`].
pub const TAG: &str = "v1.4.0";
/// A later push to `main` whose pipeline fails (then is retried).
pub const HOTFIX_SHA: &str = "badc0ffee0ddf00d1234567890abcdef12345678";

/// Someone in the demo: a Slack user and, when they have one, a GitHub login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Person {
    pub slack_user: &'static str,
    pub name: &'static str,
    pub github_login: &'static str,
}

impl Person {
    /// The first name, as the transcript calls people.
    pub fn first_name(&self) -> &'static str {
        self.name.split(' ').next().unwrap_or(self.name)
    }

    /// The Slack user id (the constants are valid ids; an invalid one would be a typo here).
    pub fn slack_id(&self) -> Option<SlackUserId> {
        SlackUserId::parse(self.slack_user).ok()
    }
}

pub const ADA: Person = Person {
    slack_user: "U0ADA",
    name: "Ada Lovelace",
    github_login: "ada-l",
};
pub const GRACE: Person = Person {
    slack_user: "U0GRACE",
    name: "Grace Hopper",
    github_login: "grace-h",
};
pub const LINUS: Person = Person {
    slack_user: "U0LINUS",
    name: "Linus Torvalds",
    github_login: "linus-t",
};

/// Everyone in the demo.
pub const PEOPLE: [Person; 3] = [ADA, GRACE, LINUS];

/// The person with this Slack user id.
pub fn person_by_slack(user: &str) -> Option<Person> {
    PEOPLE.into_iter().find(|p| p.slack_user == user)
}

/// What the world's constants parse to. Every constant above is valid, so the only error is a
/// typo in this file, reported as text.
#[derive(Debug, Clone)]
pub struct Ids {
    pub repository: Repository,
    pub channel: SlackChannelId,
}

pub fn ids() -> Result<Ids, String> {
    Ok(Ids {
        repository: Repository::parse(REPOSITORY).map_err(|e| format!("{REPOSITORY}: {e}"))?,
        channel: SlackChannelId::parse(CHANNEL).map_err(|e| format!("{CHANNEL}: {e}"))?,
    })
}

/// A SHA constant of this module as a [`Sha`].
pub fn sha(text: &str) -> Result<Sha, String> {
    Sha::parse(text).map_err(|e| format!("{text}: {e}"))
}

/// Gives the fake GitHub the repository, its collaborators, branches, tag and commits.
pub fn seed_github(github: &FakeGitHub) -> Result<(), String> {
    let ids = ids()?;
    let repository = &ids.repository;
    github.add_repository(repository, DEFAULT_BRANCH);
    github.add_collaborators(repository, PEOPLE.iter().map(|p| p.github_login));
    github.set_branch(repository, PR_BRANCH, &sha(PR_SHA)?, Some(ADA.github_login));
    github.set_branch(
        repository,
        DEFAULT_BRANCH,
        &sha(MAIN_SHA)?,
        Some(GRACE.github_login),
    );
    github.set_branch(
        repository,
        RELEASE_BRANCH,
        &sha(RELEASE_SHA)?,
        Some(ADA.github_login),
    );
    github.set_tag(repository, TAG, &sha(RELEASE_SHA)?, Some(ADA.github_login));
    github.add_commit(repository, &sha(HOTFIX_SHA)?, Some(LINUS.github_login));
    // The board's sign-in: the team can read acme/web; an outsider can sign in but reads
    // nothing deploybot follows.
    for person in PEOPLE {
        github.add_person(person.github_login, &[repository]);
    }
    github.add_person(OUTSIDER_LOGIN, &[]);
    Ok(())
}

/// A GitHub account that can sign in to the board but read none of the repositories.
pub const OUTSIDER_LOGIN: &str = "outsider";

/// Gives the fake Slack the demo's people (for `users.info`).
pub fn seed_slack(slack: &FakeSlack) {
    for person in PEOPLE {
        if let Some(user) = person.slack_id() {
            slack.add_user(&user, person.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_are_valid() {
        assert!(ids().is_ok());
        for text in [PR_SHA, MAIN_SHA, RELEASE_SHA, HOTFIX_SHA] {
            assert!(sha(text).is_ok(), "{text}");
        }
        for person in PEOPLE {
            assert!(person.slack_id().is_some(), "{person:?}");
            assert_eq!(person_by_slack(person.slack_user), Some(person));
        }
        assert_eq!(ADA.first_name(), "Ada");
    }

    #[test]
    fn seeding_makes_the_refs_resolvable() {
        let github = FakeGitHub::new();
        seed_github(&github).expect("valid constants");
        assert!(github.calls().is_empty(), "seeding is not API traffic");
    }
}
