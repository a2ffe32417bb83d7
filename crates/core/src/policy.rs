//! The workflow policy (docs/workflow.md) as data: rules that map an incoming event to a
//! decision, plus the rules for manual deployments. [`Policy::default`] is the built-in
//! policy; a per-repository policy can be another value of the same type.

use crate::{Environment, GitRef, Sha};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which refs a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum RefMatcher {
    /// The repository's default branch (whatever it is called).
    DefaultBranch,
    /// Branches whose name starts with the prefix.
    BranchPrefix(String),
    /// Tags whose name starts with the prefix.
    TagPrefix(String),
    /// Tags whose name starts with an ASCII digit.
    TagStartingWithDigit,
}

impl RefMatcher {
    /// Whether a pushed branch (`is_tag == false`) or tag matches.
    pub fn matches(&self, name: &str, is_tag: bool, default_branch: &str) -> bool {
        match self {
            Self::DefaultBranch => !is_tag && name == default_branch,
            Self::BranchPrefix(p) => !is_tag && name.starts_with(p.as_str()),
            Self::TagPrefix(p) => is_tag && name.starts_with(p.as_str()),
            Self::TagStartingWithDigit => {
                is_tag && name.bytes().next().is_some_and(|b| b.is_ascii_digit())
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::DefaultBranch => "the default branch".into(),
            Self::BranchPrefix(p) => format!("branches starting with `{p}`"),
            Self::TagPrefix(p) => format!("tags starting with `{p}`"),
            Self::TagStartingWithDigit => "tags starting with a digit".into(),
        }
    }
}

/// A push rule: pushes to matching refs deploy to `environment`. The first match wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRule {
    pub matcher: RefMatcher,
    pub environment: Environment,
}

/// What a manual deployment to an environment may take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum ManualSource {
    /// Any branch, tag or commit.
    AnyRef,
    /// Only tags matching one of these.
    TagsMatching(Vec<RefMatcher>),
    /// Only a commit that already has a successful deployment to that environment.
    PassedIn(Environment),
}

/// What `deploy <environment>` with no ref takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum DefaultSource {
    /// The head of the repository's default branch.
    DefaultBranch,
    /// The commit of the latest successful deployment to that environment.
    LatestSuccessIn(Environment),
    /// Nothing: a ref must be given.
    ExplicitRefOnly,
}

/// Manual-deployment rules for one fixed environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualRule {
    pub environment: Environment,
    pub source: ManualSource,
    pub default_source: DefaultSource,
}

/// Pull-request actions the policy knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PullRequestAction {
    Opened,
    Reopened,
    Synchronize,
    Closed,
    /// Any other action (`edited`, `labeled`, ...).
    Other,
}

impl PullRequestAction {
    pub fn parse(s: &str) -> Self {
        match s {
            "opened" => Self::Opened,
            "reopened" => Self::Reopened,
            "synchronize" => Self::Synchronize,
            "closed" => Self::Closed,
            _ => Self::Other,
        }
    }
}

/// The policy: push rules, pull-request handling and manual-deployment rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub push_rules: Vec<PushRule>,
    /// Pull-request actions that deploy the head to `pr<N>`.
    pub pull_request_deploy_on: Vec<PullRequestAction>,
    /// Pull-request actions that mark `pr<N>` deployments inactive.
    pub pull_request_deactivate_on: Vec<PullRequestAction>,
    /// Whether pull requests from forks deploy automatically (their code would run with the
    /// project's CI secrets).
    pub deploy_forks: bool,
    pub manual: Vec<ManualRule>,
}

impl Default for Policy {
    /// The built-in policy: the tables of docs/workflow.md.
    fn default() -> Self {
        let tags = vec![
            RefMatcher::TagPrefix("v".into()),
            RefMatcher::TagStartingWithDigit,
        ];
        Self {
            push_rules: vec![
                PushRule {
                    matcher: RefMatcher::DefaultBranch,
                    environment: Environment::Preview,
                },
                PushRule {
                    matcher: RefMatcher::BranchPrefix("release".into()),
                    environment: Environment::Test,
                },
                PushRule {
                    matcher: tags[0].clone(),
                    environment: Environment::Production,
                },
                PushRule {
                    matcher: tags[1].clone(),
                    environment: Environment::Production,
                },
            ],
            pull_request_deploy_on: vec![
                PullRequestAction::Opened,
                PullRequestAction::Reopened,
                PullRequestAction::Synchronize,
            ],
            pull_request_deactivate_on: vec![PullRequestAction::Closed],
            deploy_forks: false,
            manual: vec![
                ManualRule {
                    environment: Environment::Preview,
                    source: ManualSource::AnyRef,
                    default_source: DefaultSource::DefaultBranch,
                },
                ManualRule {
                    environment: Environment::Test,
                    source: ManualSource::AnyRef,
                    default_source: DefaultSource::ExplicitRefOnly,
                },
                ManualRule {
                    environment: Environment::Staging,
                    source: ManualSource::PassedIn(Environment::Test),
                    default_source: DefaultSource::LatestSuccessIn(Environment::Test),
                },
                ManualRule {
                    environment: Environment::Production,
                    source: ManualSource::TagsMatching(tags),
                    default_source: DefaultSource::ExplicitRefOnly,
                },
            ],
        }
    }
}

/// An event from GitHub, reduced to what the policy looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkflowEvent {
    PullRequest {
        action: PullRequestAction,
        number: u64,
        head_branch: String,
        head_sha: Sha,
        /// The head lives in another repository.
        from_fork: bool,
    },
    Push {
        /// `refs/heads/...` or `refs/tags/...` as GitHub sends it.
        git_ref: GitRef,
        /// The pushed commit; `None` when the push deleted the ref.
        after: Option<Sha>,
        deleted: bool,
        /// The push created the ref (`created` in the payload): a new branch, perhaps at a
        /// commit that already exists, so with no commits of its own.
        created: bool,
        /// The push was forced (`forced`): the branch may have moved to a commit it had
        /// before, so with no new commits.
        forced: bool,
        /// Number of commits the push brought (`commits` in the payload).
        commit_count: usize,
        default_branch: String,
    },
}

/// What to do about an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Deploy {
        environment: Environment,
        git_ref: GitRef,
        sha: Sha,
    },
    /// Mark every deployment of the environment inactive.
    Deactivate { environment: Environment },
    /// Do nothing, silently.
    Ignore { reason: String },
    /// Do nothing, and tell the channel why (a person would expect a deployment).
    Decline { reason: String },
}

impl Policy {
    /// Maps a GitHub event to a decision.
    pub fn decide(&self, event: &WorkflowEvent) -> Decision {
        match event {
            WorkflowEvent::PullRequest {
                action,
                number,
                head_branch,
                head_sha,
                from_fork,
            } => {
                let environment = Environment::PullRequest(*number);
                if self.pull_request_deactivate_on.contains(action) {
                    return Decision::Deactivate { environment };
                }
                if !self.pull_request_deploy_on.contains(action) {
                    return Decision::Ignore {
                        reason: format!("pull request action {action:?} does not deploy"),
                    };
                }
                if *from_fork && !self.deploy_forks {
                    return Decision::Decline {
                        reason: format!(
                            "Pull request #{number} comes from a fork, so it is not deployed automatically: its code would run with this project's CI secrets. Review it, then deploy its commit by hand if it is safe."
                        ),
                    };
                }
                match GitRef::branch(head_branch) {
                    Ok(git_ref) => Decision::Deploy {
                        environment,
                        git_ref,
                        sha: head_sha.clone(),
                    },
                    Err(e) => Decision::Ignore {
                        reason: format!("pull request head: {e}"),
                    },
                }
            }
            WorkflowEvent::Push {
                git_ref,
                after,
                deleted,
                created,
                forced,
                commit_count,
                default_branch,
            } => {
                let Some(sha) = after.as_ref().filter(|_| !*deleted) else {
                    return Decision::Ignore {
                        reason: format!("{} was deleted", git_ref.short_name()),
                    };
                };
                let (name, is_tag) = match git_ref {
                    GitRef::Branch(b) => (b.as_str(), false),
                    GitRef::Tag(t) => (t.as_str(), true),
                    GitRef::Name(n) => {
                        return Decision::Ignore {
                            reason: format!("push to an unqualified ref `{n}`"),
                        };
                    }
                };
                // A branch push without commits moved nothing — unless it created the branch
                // (at an existing commit) or was forced (perhaps back to an earlier commit):
                // then the branch's head is new to it, and deploys.
                if !is_tag && *commit_count == 0 && !*created && !*forced {
                    return Decision::Ignore {
                        reason: format!("the push to {name} brought no new commits"),
                    };
                }
                match self
                    .push_rules
                    .iter()
                    .find(|rule| rule.matcher.matches(name, is_tag, default_branch))
                {
                    Some(rule) => Decision::Deploy {
                        environment: rule.environment,
                        git_ref: git_ref.clone(),
                        sha: sha.clone(),
                    },
                    None => Decision::Ignore {
                        reason: format!("no rule deploys {}", git_ref.full_name()),
                    },
                }
            }
        }
    }

    fn manual_rule(&self, environment: Environment) -> Option<&ManualRule> {
        self.manual.iter().find(|r| r.environment == environment)
    }

    /// Plans `deploy [<ref> to] <environment>`, before any lookup: which source to use and
    /// what must then be checked. Refuses what the policy never allows.
    pub fn plan_manual(
        &self,
        environment: Environment,
        git_ref: Option<&GitRef>,
    ) -> Result<ManualPlan, Refusal> {
        if environment.is_transient() {
            return Err(Refusal::PullRequestEnvironment { environment });
        }
        let Some(rule) = self.manual_rule(environment) else {
            return Err(Refusal::NotManuallyDeployable { environment });
        };
        match git_ref {
            None => match &rule.default_source {
                DefaultSource::DefaultBranch => Ok(ManualPlan::DefaultBranch),
                DefaultSource::LatestSuccessIn(from) => {
                    Ok(ManualPlan::PromoteLatest { from: *from })
                }
                DefaultSource::ExplicitRefOnly => Err(Refusal::NeedsRef {
                    environment,
                    hint: self.describe_source(&rule.source),
                }),
            },
            Some(r) => {
                let requires_success_in = match &rule.source {
                    ManualSource::AnyRef => None,
                    ManualSource::PassedIn(env) => Some(*env),
                    ManualSource::TagsMatching(matchers) => {
                        let (name, could_be_tag) = match r {
                            GitRef::Tag(t) | GitRef::Name(t) => (t.as_str(), true),
                            GitRef::Branch(b) => (b.as_str(), false),
                        };
                        if !could_be_tag || !matchers.iter().any(|m| m.matches(name, true, "")) {
                            return Err(Refusal::NotAMatchingTag {
                                environment,
                                git_ref: r.short_name().to_owned(),
                                hint: self.describe_source(&rule.source),
                            });
                        }
                        None
                    }
                };
                let git_ref = match (&rule.source, r) {
                    // Production takes tags only: resolve the name as a tag.
                    (ManualSource::TagsMatching(_), GitRef::Name(n)) => GitRef::Tag(n.clone()),
                    _ => r.clone(),
                };
                Ok(ManualPlan::Ref {
                    git_ref,
                    requires_success_in,
                })
            }
        }
    }

    fn describe_source(&self, source: &ManualSource) -> String {
        match source {
            ManualSource::AnyRef => "any branch, tag or commit".into(),
            ManualSource::PassedIn(env) => {
                format!("a commit that already deployed successfully to {env}")
            }
            ManualSource::TagsMatching(ms) => {
                let list: Vec<String> = ms.iter().map(RefMatcher::describe).collect();
                list.join(" or ")
            }
        }
    }
}

/// How to carry out a manual deployment once allowed by [`Policy::plan_manual`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManualPlan {
    /// Deploy this ref (resolved to a commit by GitHub); when `requires_success_in` is set,
    /// the commit must already have a successful deployment there.
    Ref {
        git_ref: GitRef,
        requires_success_in: Option<Environment>,
    },
    /// Deploy the head of the default branch.
    DefaultBranch,
    /// Deploy the commit of the latest successful deployment to `from`.
    PromoteLatest { from: Environment },
}

/// Why a manual deployment is refused; `Display` is the friendly Slack answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    PullRequestEnvironment {
        environment: Environment,
    },
    NotManuallyDeployable {
        environment: Environment,
    },
    NeedsRef {
        environment: Environment,
        hint: String,
    },
    NotAMatchingTag {
        environment: Environment,
        git_ref: String,
        hint: String,
    },
    NotPassed {
        environment: Environment,
        required: Environment,
        sha: Sha,
    },
    NothingToPromote {
        environment: Environment,
        from: Environment,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PullRequestEnvironment { environment } => write!(
                f,
                "`{environment}` belongs to a pull request and is deployed automatically when the pull request is updated. Push to the pull request's branch to redeploy it."
            ),
            Self::NotManuallyDeployable { environment } => {
                write!(f, "`{environment}` cannot be deployed by hand.")
            }
            Self::NeedsRef { environment, hint } => write!(
                f,
                "Say what to deploy to {environment}: `deploy <ref> to {environment}`, where the ref is {hint}."
            ),
            Self::NotAMatchingTag {
                environment,
                git_ref,
                hint,
            } => write!(
                f,
                "`{git_ref}` cannot go to {environment}: {environment} only takes {hint}. Tag the release (for example `git tag v1.4 && git push --tags`) and deploy the tag."
            ),
            Self::NotPassed {
                environment,
                required,
                sha,
            } => write!(
                f,
                "Commit `{}` has no successful {required} deployment yet, so it cannot go to {environment}. Deploy it to {required} first (`deploy <ref> to {required}`), then promote it.",
                sha.short()
            ),
            Self::NothingToPromote { environment, from } => write!(
                f,
                "There is no successful {from} deployment to promote to {environment} yet. Deploy to {from} first, or name a ref: `deploy <ref> to {environment}`."
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(c: char) -> Sha {
        Sha::parse(&c.to_string().repeat(40)).expect("valid sha")
    }

    fn push(git_ref: &str, commits: usize, deleted: bool) -> WorkflowEvent {
        WorkflowEvent::Push {
            git_ref: GitRef::parse(git_ref).expect("valid ref"),
            after: (!deleted).then(|| sha('a')),
            deleted,
            created: false,
            forced: false,
            commit_count: commits,
            default_branch: "main".into(),
        }
    }

    fn created(mut event: WorkflowEvent) -> WorkflowEvent {
        if let WorkflowEvent::Push { created, .. } = &mut event {
            *created = true;
        }
        event
    }

    fn forced(mut event: WorkflowEvent) -> WorkflowEvent {
        if let WorkflowEvent::Push { forced, .. } = &mut event {
            *forced = true;
        }
        event
    }

    fn pr(action: &str, fork: bool) -> WorkflowEvent {
        WorkflowEvent::PullRequest {
            action: PullRequestAction::parse(action),
            number: 7,
            head_branch: "feature/login".into(),
            head_sha: sha('b'),
            from_fork: fork,
        }
    }

    fn deploys_to(d: &Decision) -> Option<Environment> {
        match d {
            Decision::Deploy { environment, .. } => Some(*environment),
            _ => None,
        }
    }

    #[test]
    fn every_default_policy_row() {
        let policy = Policy::default();
        let cases: Vec<(WorkflowEvent, Option<Environment>)> = vec![
            (pr("opened", false), Some(Environment::PullRequest(7))),
            (pr("reopened", false), Some(Environment::PullRequest(7))),
            (pr("synchronize", false), Some(Environment::PullRequest(7))),
            (pr("edited", false), None),
            (pr("labeled", false), None),
            (
                push("refs/heads/main", 2, false),
                Some(Environment::Preview),
            ),
            (push("refs/heads/master", 2, false), None), // default branch is main here
            (
                push("refs/heads/release-1.2", 1, false),
                Some(Environment::Test),
            ),
            (
                push("refs/heads/release/2026-11", 1, false),
                Some(Environment::Test),
            ),
            (push("refs/heads/feature/x", 3, false), None),
            (
                push("refs/tags/v1.4.0", 0, false),
                Some(Environment::Production),
            ),
            (
                push("refs/tags/2026.11.27", 0, false),
                Some(Environment::Production),
            ),
            (push("refs/tags/nightly", 0, false), None),
            (push("refs/heads/main", 0, true), None),
            (push("refs/tags/v1.0", 0, true), None),
            (push("refs/heads/main", 0, false), None), // no new commits
            // A branch created at an existing commit, and a force-push back to one.
            (
                created(push("refs/heads/release-1.5", 0, false)),
                Some(Environment::Test),
            ),
            (
                forced(push("refs/heads/main", 0, false)),
                Some(Environment::Preview),
            ),
            (created(push("refs/heads/feature/x", 0, false)), None),
        ];
        for (event, want) in cases {
            assert_eq!(deploys_to(&policy.decide(&event)), want, "{event:?}");
        }
    }

    #[test]
    fn master_is_the_default_branch_when_the_repository_says_so() {
        let event = WorkflowEvent::Push {
            git_ref: GitRef::Branch("master".into()),
            after: Some(sha('c')),
            deleted: false,
            created: false,
            forced: false,
            commit_count: 1,
            default_branch: "master".into(),
        };
        assert_eq!(
            Policy::default().decide(&event),
            Decision::Deploy {
                environment: Environment::Preview,
                git_ref: GitRef::Branch("master".into()),
                sha: sha('c'),
            }
        );
    }

    #[test]
    fn pull_request_decisions_carry_head() {
        let policy = Policy::default();
        assert_eq!(
            policy.decide(&pr("opened", false)),
            Decision::Deploy {
                environment: Environment::PullRequest(7),
                git_ref: GitRef::Branch("feature/login".into()),
                sha: sha('b'),
            }
        );
        assert_eq!(
            policy.decide(&pr("closed", false)),
            Decision::Deactivate {
                environment: Environment::PullRequest(7)
            }
        );
        // Closing a fork's PR still cleans up.
        assert!(matches!(
            policy.decide(&pr("closed", true)),
            Decision::Deactivate { .. }
        ));
        match policy.decide(&pr("opened", true)) {
            Decision::Decline { reason } => assert!(reason.contains("fork"), "{reason}"),
            other => panic!("fork PR should be declined, got {other:?}"),
        }
        let trusting = Policy {
            deploy_forks: true,
            ..Policy::default()
        };
        assert!(matches!(
            trusting.decide(&pr("opened", true)),
            Decision::Deploy { .. }
        ));
    }

    #[test]
    fn manual_plans() {
        let p = Policy::default();
        let r = |s: &str| GitRef::parse(s).expect("valid ref");
        // explicit refs
        assert_eq!(
            p.plan_manual(Environment::Test, Some(&r("release-1"))),
            Ok(ManualPlan::Ref {
                git_ref: r("release-1"),
                requires_success_in: None
            })
        );
        assert_eq!(
            p.plan_manual(Environment::Staging, Some(&r("abc1234"))),
            Ok(ManualPlan::Ref {
                git_ref: r("abc1234"),
                requires_success_in: Some(Environment::Test)
            })
        );
        assert_eq!(
            p.plan_manual(Environment::Production, Some(&r("v1.4"))),
            Ok(ManualPlan::Ref {
                git_ref: GitRef::Tag("v1.4".into()),
                requires_success_in: None
            })
        );
        assert_eq!(
            p.plan_manual(Environment::Production, Some(&r("2.0.1"))),
            Ok(ManualPlan::Ref {
                git_ref: GitRef::Tag("2.0.1".into()),
                requires_success_in: None
            })
        );
        assert!(matches!(
            p.plan_manual(Environment::Production, Some(&r("main"))),
            Err(Refusal::NotAMatchingTag { .. })
        ));
        assert!(matches!(
            p.plan_manual(Environment::Production, Some(&r("refs/heads/v1"))),
            Err(Refusal::NotAMatchingTag { .. })
        ));
        assert!(matches!(
            p.plan_manual(Environment::PullRequest(3), Some(&r("x"))),
            Err(Refusal::PullRequestEnvironment { .. })
        ));
        // default sources
        assert_eq!(
            p.plan_manual(Environment::Preview, None),
            Ok(ManualPlan::DefaultBranch)
        );
        assert_eq!(
            p.plan_manual(Environment::Staging, None),
            Ok(ManualPlan::PromoteLatest {
                from: Environment::Test
            })
        );
        for env in [Environment::Test, Environment::Production] {
            let refusal = p.plan_manual(env, None).expect_err("needs a ref");
            assert!(refusal.to_string().contains("deploy <ref> to"), "{refusal}");
        }
    }

    #[test]
    fn refusals_say_how_to_do_it_right() {
        let p = Policy::default();
        let msg = p
            .plan_manual(Environment::Production, Some(&GitRef::Name("main".into())))
            .expect_err("refused")
            .to_string();
        assert!(msg.contains("tags starting with `v`"), "{msg}");
        let not_passed = Refusal::NotPassed {
            environment: Environment::Staging,
            required: Environment::Test,
            sha: sha('d'),
        }
        .to_string();
        assert!(
            not_passed.contains("ddddddd") && not_passed.contains("to test first"),
            "{not_passed}"
        );
    }

    #[test]
    fn policy_is_data_and_serialises() {
        let p = Policy::default();
        let json = serde_json::to_string(&p).expect("serialises");
        let back: Policy = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, p);
    }
}
