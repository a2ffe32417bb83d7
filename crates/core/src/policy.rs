//! The workflow policy (docs/workflow.md) in force for one repository: its workflow file
//! (`.github/deploybot.yml`, [`crate::workflow_file`]) or, without one, the built-in workflow.
//! [`Policy::decide`] maps an event from GitHub to a decision; [`Policy::plan_manual`] says
//! what `deploy [<ref> to] <environment>` may take. No I/O: reading the file is the caller's.

use crate::workflow_file::{
    BranchPattern, EnvironmentSpec, FileEvent, Outcome, PullRequestTrigger, TagPattern, Trigger,
    WorkflowFile,
};
use crate::{Environment, GitRef, Sha};
use std::fmt;

pub use crate::workflow_file::PullRequestAction;

/// What a manual deployment to an environment may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManualSource {
    /// Any branch, tag or commit.
    AnyRef,
    /// Only tags matching one of these (the environment deploys tags only).
    TagsMatching(Vec<TagPattern>),
    /// Only a commit that already has a successful deployment to that environment
    /// (`promote_from`).
    PassedIn(Environment),
}

/// What `deploy <environment>` with no ref takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultSource {
    /// The head of the repository's default branch (the environment follows it).
    DefaultBranch,
    /// The commit of the latest successful deployment to that environment (`promote_from`).
    LatestSuccessIn(Environment),
    /// Nothing: a ref must be given.
    ExplicitRefOnly,
}

/// The policy in force: a workflow file, parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    workflow: WorkflowFile,
}

impl Default for Policy {
    /// The built-in workflow: the tables of docs/workflow.md.
    fn default() -> Self {
        Self::from_file(WorkflowFile::builtin())
    }
}

/// An event from GitHub, reduced to what the policy looks at.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkflowEvent {
    PullRequest {
        action: PullRequestAction,
        number: u64,
        head_branch: String,
        head_sha: Sha,
        /// The head lives in another repository.
        from_fork: bool,
        /// The pull request is a draft.
        #[serde(default)]
        draft: bool,
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
    /// The policy of a parsed workflow file.
    pub fn from_file(workflow: WorkflowFile) -> Self {
        Self { workflow }
    }

    /// The workflow file in force (the built-in one without a file).
    pub fn workflow(&self) -> &WorkflowFile {
        &self.workflow
    }

    /// The pull-request environment's rules, when pull requests deploy.
    fn pull_requests(&self) -> Option<(&EnvironmentSpec, &PullRequestTrigger)> {
        self.workflow
            .environments
            .iter()
            .find_map(|e| match &e.trigger {
                Some(Trigger::PullRequest(pr)) => Some((e, pr)),
                _ => None,
            })
    }

    /// Whether `environment` is a pull request's own (its name follows the pull-request
    /// environment's `name`), and which pull request's.
    pub fn pull_request_of(&self, environment: &Environment) -> Option<u64> {
        if let Some(n) = environment.pull_request() {
            return Some(n);
        }
        let (_, pr) = self.pull_requests()?;
        let name = environment.name();
        let template = pr.name.to_lowercase();
        let (prefix, suffix) = template.split_once(crate::workflow_file::NUMBER_PLACEHOLDER)?;
        let digits = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
        if digits.is_empty()
            || digits.starts_with('0')
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        digits.parse().ok()
    }

    /// The file's environment that `environment` is: its own entry, or the pull-request
    /// entry for a pull request's environment.
    pub fn spec(&self, environment: &Environment) -> Option<&EnvironmentSpec> {
        let name = environment.name();
        self.workflow
            .environments
            .iter()
            .find(|e| {
                !matches!(e.trigger, Some(Trigger::PullRequest(_))) && e.key.to_lowercase() == name
            })
            .or_else(|| {
                self.pull_request_of(environment)
                    .and_then(|_| self.pull_requests().map(|(spec, _)| spec))
            })
    }

    /// The environments people can name (every entry but the pull requests'), in file order.
    pub fn environments(&self) -> Vec<Environment> {
        self.workflow
            .environments
            .iter()
            .filter(|e| !matches!(e.trigger, Some(Trigger::PullRequest(_))))
            .filter_map(|e| Environment::parse(&e.key).ok())
            .collect()
    }

    /// Whether `environment` serves people (`production: true`).
    pub fn is_production(&self, environment: &Environment) -> bool {
        self.spec(environment).is_some_and(|e| e.production)
    }

    /// The checks a commit needs before it deploys to `environment` (`required_checks`).
    pub fn required_checks(&self, environment: &Environment) -> &[String] {
        self.spec(environment)
            .map_or(&[], |e| e.required_checks.as_slice())
    }

    /// Who must approve a deployment to `environment` (`approvals`), if anybody.
    pub fn approvals(&self, environment: &Environment) -> Option<&crate::approval::ApprovalPolicy> {
        self.spec(environment).and_then(|e| e.approvals.as_ref())
    }

    /// The freeze windows of `environment`: the file's windows that name it, and the freeze
    /// set from Slack on its lane (`manual`), if any.
    pub fn freeze_windows(
        &self,
        environment: &Environment,
        manual: Option<&crate::freeze::ManualFreeze>,
    ) -> Vec<crate::freeze::FreezeWindow> {
        let key = self.spec(environment).map(|e| e.key.as_str());
        self.workflow
            .freezes
            .iter()
            .filter(|w| key.is_some_and(|k| w.applies_to(k)))
            .cloned()
            .chain(manual.map(crate::freeze::ManualFreeze::window))
            .collect()
    }

    /// Whether `environment` is frozen at `now` (by the file's windows or the freeze set from
    /// Slack on its lane), until when and why. No I/O: the windows and the clock only.
    pub fn frozen(
        &self,
        environment: &Environment,
        manual: Option<&crate::freeze::ManualFreeze>,
        now: crate::Timestamp,
    ) -> Option<crate::freeze::Frozen> {
        let windows = self.freeze_windows(environment, manual);
        // The windows are those of this environment already: any key they apply to will do.
        let key = self
            .spec(environment)
            .map_or_else(|| environment.name().into_owned(), |e| e.key.clone());
        crate::freeze::frozen_at(&windows, &key, now)
    }

    /// The environment's URL from the file (`url`), which wins over the channel's settings.
    pub fn url(&self, environment: &Environment) -> Option<&url::Url> {
        self.spec(environment).and_then(|e| e.url.as_ref())
    }

    /// The CI that runs `environment`'s deployments: the file's `backend`, else `default`
    /// (`DEPLOYBOT_CI_BACKEND`) with its defaults.
    pub fn ci_target(
        &self,
        environment: &Environment,
        default: crate::ci::CiKind,
    ) -> crate::ci::CiTarget {
        self.spec(environment)
            .and_then(|e| e.backend.clone())
            .unwrap_or_else(|| crate::ci::CiTarget::of_kind(default))
    }

    /// Whether a newer automatic deployment of the same source cancels `environment`'s
    /// running one (`queue: { running: cancel }`).
    pub fn cancels_running(&self, environment: &Environment) -> bool {
        self.spec(environment)
            .is_some_and(|e| e.running == crate::workflow_file::Running::Cancel)
    }

    /// Where `environment` is reached: the file's `url`, else the channel's URL settings
    /// (`crate::urls::environment_url`).
    pub fn environment_url(
        &self,
        settings: &crate::ProjectSettings,
        environment: &Environment,
    ) -> Option<String> {
        match self.url(environment) {
            Some(url) => Some(url.to_string()),
            None => crate::urls::environment_url(settings, environment),
        }
    }

    /// Maps a GitHub event to a decision.
    pub fn decide(&self, event: &WorkflowEvent) -> Decision {
        match event {
            WorkflowEvent::PullRequest {
                action,
                number,
                head_branch,
                head_sha,
                from_fork,
                draft,
            } => {
                let outcome = self.workflow.decide(&FileEvent::PullRequest {
                    number: *number,
                    action: *action,
                    draft: *draft,
                    from_fork: *from_fork,
                });
                match outcome {
                    Outcome::Deploy { environment, .. } => {
                        match (
                            Environment::parse(&environment),
                            GitRef::branch(head_branch),
                        ) {
                            (Ok(environment), Ok(git_ref)) => Decision::Deploy {
                                environment,
                                git_ref,
                                sha: head_sha.clone(),
                            },
                            (Err(e), _) | (_, Err(e)) => Decision::Ignore {
                                reason: format!("pull request #{number}: {e}"),
                            },
                        }
                    }
                    Outcome::Deactivate { environment, .. } => {
                        match Environment::parse(&environment) {
                            Ok(environment) => Decision::Deactivate { environment },
                            Err(e) => Decision::Ignore {
                                reason: format!("pull request #{number}: {e}"),
                            },
                        }
                    }
                    Outcome::Ignore { reason } => Decision::Ignore { reason },
                    Outcome::Decline { reason } => Decision::Decline { reason },
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
                let file_event = match git_ref {
                    GitRef::Branch(branch) => FileEvent::Push {
                        branch,
                        default_branch,
                    },
                    GitRef::Tag(name) => FileEvent::Tag { name },
                    GitRef::Name(n) => {
                        return Decision::Ignore {
                            reason: format!("push to an unqualified ref `{n}`"),
                        };
                    }
                };
                // A branch push without commits moved nothing — unless it created the branch
                // (at an existing commit) or was forced (perhaps back to an earlier commit):
                // then the branch's head is new to it, and deploys.
                if matches!(git_ref, GitRef::Branch(_))
                    && *commit_count == 0
                    && !*created
                    && !*forced
                {
                    return Decision::Ignore {
                        reason: format!(
                            "the push to {} brought no new commits",
                            git_ref.short_name()
                        ),
                    };
                }
                match self.workflow.decide(&file_event) {
                    Outcome::Deploy { environment, .. } => match Environment::parse(&environment) {
                        Ok(environment) => Decision::Deploy {
                            environment,
                            git_ref: git_ref.clone(),
                            sha: sha.clone(),
                        },
                        Err(e) => Decision::Ignore {
                            reason: e.to_string(),
                        },
                    },
                    Outcome::Deactivate { .. } => Decision::Ignore {
                        reason: "a push deactivates nothing".into(),
                    },
                    Outcome::Ignore { reason } => Decision::Ignore { reason },
                    Outcome::Decline { reason } => Decision::Decline { reason },
                }
            }
        }
    }

    /// What a manual deployment to the file's environment `spec` may take, and what it
    /// takes by default: `promote_from` takes commits that passed there (the latest by
    /// default); an environment deployed by tags only takes those tags; an environment that
    /// follows the default branch takes anything (its head by default); any other takes
    /// anything, named.
    fn manual_rule(&self, spec: &EnvironmentSpec) -> (ManualSource, DefaultSource) {
        if let Some(from) = spec
            .promote_from
            .as_deref()
            .and_then(|f| Environment::parse(f).ok())
        {
            return (
                ManualSource::PassedIn(from.clone()),
                DefaultSource::LatestSuccessIn(from),
            );
        }
        match &spec.trigger {
            Some(Trigger::Refs { push, tag }) if push.is_empty() && !tag.is_empty() => (
                ManualSource::TagsMatching(tag.clone()),
                DefaultSource::ExplicitRefOnly,
            ),
            Some(Trigger::Refs { push, .. })
                if push.iter().any(|p| matches!(p, BranchPattern::Default)) =>
            {
                (ManualSource::AnyRef, DefaultSource::DefaultBranch)
            }
            _ => (ManualSource::AnyRef, DefaultSource::ExplicitRefOnly),
        }
    }

    /// What a manual deployment to `environment` may take and takes by default; `None` for
    /// a pull request's environment or one the workflow does not have.
    pub fn manual_sources(
        &self,
        environment: &Environment,
    ) -> Option<(ManualSource, DefaultSource)> {
        if self.pull_request_of(environment).is_some() {
            return None;
        }
        self.spec(environment).map(|spec| self.manual_rule(spec))
    }

    /// Plans `deploy [<ref> to] <environment>`, before any lookup: which source to use and
    /// what must then be checked. Refuses what the policy never allows.
    pub fn plan_manual(
        &self,
        environment: &Environment,
        git_ref: Option<&GitRef>,
    ) -> Result<ManualPlan, Refusal> {
        if self.pull_request_of(environment).is_some() {
            return Err(Refusal::PullRequestEnvironment {
                environment: environment.clone(),
            });
        }
        let Some((source, default_source)) = self.manual_sources(environment) else {
            return Err(Refusal::UnknownEnvironment {
                environment: environment.clone(),
                known: self.environments(),
            });
        };
        match git_ref {
            None => match default_source {
                DefaultSource::DefaultBranch => Ok(ManualPlan::DefaultBranch),
                DefaultSource::LatestSuccessIn(from) => Ok(ManualPlan::PromoteLatest { from }),
                DefaultSource::ExplicitRefOnly => Err(Refusal::NeedsRef {
                    environment: environment.clone(),
                    hint: describe_source(&source),
                }),
            },
            Some(r) => {
                let requires_success_in = match &source {
                    ManualSource::AnyRef => None,
                    ManualSource::PassedIn(env) => Some(env.clone()),
                    ManualSource::TagsMatching(patterns) => {
                        let (name, could_be_tag) = match r {
                            GitRef::Tag(t) | GitRef::Name(t) => (t.as_str(), true),
                            GitRef::Branch(b) => (b.as_str(), false),
                        };
                        if !could_be_tag || !patterns.iter().any(|p| p.matches(name)) {
                            return Err(Refusal::NotAMatchingTag {
                                environment: environment.clone(),
                                git_ref: r.short_name().to_owned(),
                                hint: describe_source(&source),
                            });
                        }
                        None
                    }
                };
                let git_ref = match (&source, r) {
                    // An environment of tags takes tags only: resolve the name as a tag.
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

    /// One line per environment saying what deploys it, for `help` and `/cimon config`.
    pub fn describe(&self) -> Vec<(String, String)> {
        self.workflow
            .environments
            .iter()
            .map(|spec| {
                let name = match &spec.trigger {
                    Some(Trigger::PullRequest(pr)) => pr.name.clone(),
                    _ => spec.key.to_lowercase(),
                };
                (name, self.describe_spec(spec))
            })
            .collect()
    }

    fn describe_spec(&self, spec: &EnvironmentSpec) -> String {
        let mut parts: Vec<String> = Vec::new();
        match &spec.trigger {
            Some(Trigger::PullRequest(pr)) => {
                let mut s =
                    "one per pull request, deployed as it is opened and pushed to".to_owned();
                if !pr.drafts {
                    s.push_str(" (drafts once ready for review)");
                }
                if pr.forks {
                    s.push_str(", forks too");
                }
                if pr.transient {
                    s.push_str("; inactive once it closes");
                }
                parts.push(s);
            }
            Some(Trigger::Refs { push, tag }) => {
                let mut what: Vec<String> = push
                    .iter()
                    .map(|p| match p {
                        BranchPattern::Default => "pushes to the default branch".to_owned(),
                        BranchPattern::Glob(g) => format!("pushes to `{}`", g.as_str()),
                    })
                    .collect();
                what.extend(tag.iter().map(|t| format!("tags `{t}`")));
                parts.push(format!("deployed by {}", what.join(", ")));
            }
            None => parts.push("deployed by hand only".to_owned()),
        }
        if !matches!(spec.trigger, Some(Trigger::PullRequest(_)))
            && let (ManualSource::PassedIn(from), _) = self.manual_rule(spec)
        {
            parts.push(format!("takes commits that passed `{from}`"));
        }
        if spec.production {
            parts.push("production".to_owned());
        }
        if !spec.required_checks.is_empty() {
            let checks: Vec<String> = spec
                .required_checks
                .iter()
                .map(|c| format!("`{c}`"))
                .collect();
            parts.push(format!("needs {}", checks.join(", ")));
        }
        if let Some(url) = &spec.url {
            parts.push(format!("at {url}"));
        }
        parts.join("; ")
    }
}

fn describe_source(source: &ManualSource) -> String {
    match source {
        ManualSource::AnyRef => "any branch, tag or commit".into(),
        ManualSource::PassedIn(env) => {
            format!("a commit that already deployed successfully to {env}")
        }
        ManualSource::TagsMatching(patterns) => {
            let list: Vec<String> = patterns.iter().map(|p| format!("`{p}`")).collect();
            format!("tags matching {}", list.join(" or "))
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
    UnknownEnvironment {
        environment: Environment,
        known: Vec<Environment>,
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
            Self::UnknownEnvironment { environment, known } => {
                let names: Vec<String> = known.iter().map(|e| format!("`{e}`")).collect();
                write!(
                    f,
                    "This repository has no `{environment}` environment. Its environments are {}; `/cimon config` shows what deploys each.",
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                )
            }
            Self::NeedsRef { environment, hint } => write!(
                f,
                "Say what to deploy to {environment}: `deploy <ref> to {}`, where the ref is {hint}.",
                environment.command_word()
            ),
            Self::NotAMatchingTag {
                environment,
                git_ref,
                hint,
            } => write!(
                f,
                "`{git_ref}` cannot go to {environment}: {environment} only takes {hint}. Tag the release (for example `git tag v1.4.0 && git push --tags`) and deploy the tag."
            ),
            Self::NotPassed {
                environment,
                required,
                sha,
            } => write!(
                f,
                "Commit `{}` has no successful {required} deployment yet, so it cannot go to {environment}. Deploy it to {required} first (`deploy <ref> to {}`), then promote it.",
                sha.short(),
                required.command_word()
            ),
            Self::NothingToPromote { environment, from } => write!(
                f,
                "There is no successful {from} deployment to promote to {environment} yet. Deploy to {from} first, or name a ref: `deploy <ref> to {}`.",
                environment.command_word()
            ),
        }
    }
}

#[cfg(test)]
mod tests;
