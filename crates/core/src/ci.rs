//! Which CI system runs an environment's deployments, and where: the `backend:` of an
//! environment in `.github/deploybot.yml` ([`CiTarget`]), the deployment-wide default
//! (`DEPLOYBOT_CI_BACKEND`, [`CiKind`]), and the checks of what a person writes there. No I/O;
//! the adapters that speak to each CI live in `deploybot-integrations` (docs/adr/0016).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The workflow GitHub Actions dispatches when the file names none.
pub const DEFAULT_ACTIONS_WORKFLOW: &str = "deploy.yml";
/// The configuration variable naming the backend of environments whose `backend:` is unset.
pub const CI_BACKEND_VAR: &str = "DEPLOYBOT_CI_BACKEND";
/// The version-control prefixes of a CircleCI project slug (`gh/acme/web`, `bb/acme/web`,
/// `circleci/<org-id>/<project-id>`; the long forms are CircleCI's own spellings).
pub const PROJECT_SLUG_PREFIXES: [&str; 5] = ["gh", "github", "bb", "bitbucket", "circleci"];

/// A CI system deploybot can run deployments on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum CiKind {
    /// CircleCI (API v2), the default.
    #[default]
    #[serde(rename = "circleci")]
    CircleCi,
    /// GitHub Actions (`workflow_dispatch`).
    #[serde(rename = "github_actions")]
    GitHubActions,
}

impl CiKind {
    pub const ALL: [CiKind; 2] = [CiKind::CircleCi, CiKind::GitHubActions];

    /// The name in `DEPLOYBOT_CI_BACKEND` and under `backend:`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CircleCi => "circleci",
            Self::GitHubActions => "github_actions",
        }
    }

    /// The name people read ("CircleCI", "GitHub Actions").
    pub fn label(self) -> &'static str {
        match self {
            Self::CircleCi => "CircleCI",
            Self::GitHubActions => "GitHub Actions",
        }
    }

    /// Reads `DEPLOYBOT_CI_BACKEND`'s value (surrounding spaces and case ignored).
    pub fn parse(text: &str) -> Result<Self, String> {
        let wanted = text.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == wanted)
            .ok_or_else(|| {
                format!(
                    "`{}` is not a CI backend; the backends are {}",
                    crate::ids::clip(text.trim()),
                    Self::ALL.map(Self::as_str).join(", ")
                )
            })
    }
}

impl fmt::Display for CiKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an environment's deployments run: the CI and what the CI needs to find the pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum CiTarget {
    /// A CircleCI project: `project_slug` defaults to `gh/<owner>/<repo>`; with a pipeline
    /// `definition_id`, pipelines start through `/pipeline/run`.
    #[serde(rename = "circleci")]
    CircleCi {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        project_slug: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        definition_id: Option<String>,
    },
    /// A GitHub Actions workflow file on the default branch (`deploy.yml`).
    #[serde(rename = "github_actions")]
    GitHubActions { workflow: String },
}

impl Default for CiTarget {
    /// CircleCI on `gh/<owner>/<repo>`: what deploybot did before backends could be chosen.
    fn default() -> Self {
        Self::of_kind(CiKind::CircleCi)
    }
}

impl CiTarget {
    /// The target of an environment that names only its CI (or none: the default `kind`).
    pub fn of_kind(kind: CiKind) -> Self {
        match kind {
            CiKind::CircleCi => Self::CircleCi {
                project_slug: None,
                definition_id: None,
            },
            CiKind::GitHubActions => Self::GitHubActions {
                workflow: DEFAULT_ACTIONS_WORKFLOW.to_owned(),
            },
        }
    }

    pub fn kind(&self) -> CiKind {
        match self {
            Self::CircleCi { .. } => CiKind::CircleCi,
            Self::GitHubActions { .. } => CiKind::GitHubActions,
        }
    }
}

impl fmt::Display for CiTarget {
    /// As `/cimon config` shows it: `CircleCI (circleci/8d1f…/a7c2…)`, `GitHub Actions (deploy.yml)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CircleCi {
                project_slug: Some(slug),
                ..
            } => write!(f, "CircleCI ({slug})"),
            Self::CircleCi { .. } => f.write_str("CircleCI"),
            Self::GitHubActions { workflow } => write!(f, "GitHub Actions ({workflow})"),
        }
    }
}

/// Checks a CircleCI project slug: `<vcs>/<org>/<project>` with one of
/// [`PROJECT_SLUG_PREFIXES`]; an error says what a slug looks like.
pub fn check_project_slug(slug: &str) -> Result<(), String> {
    let parts: Vec<&str> = slug.split('/').collect();
    let shape = "a project slug is `gh/<owner>/<repo>`, `bb/<workspace>/<repo>` or `circleci/<org-id>/<project-id>` (CircleCI shows it under Project Settings)";
    match parts.as_slice() {
        [vcs, org, project]
            if PROJECT_SLUG_PREFIXES.contains(vcs)
                && !org.is_empty()
                && !project.is_empty()
                && !slug.contains(char::is_whitespace) =>
        {
            Ok(())
        }
        [vcs, ..] if !PROJECT_SLUG_PREFIXES.contains(vcs) => Err(format!(
            "`{}` does not start with `gh/`, `bb/` or `circleci/`; {shape}",
            crate::ids::clip(slug)
        )),
        _ => Err(format!("`{}`: {shape}", crate::ids::clip(slug))),
    }
}

/// Whether a project slug is of CircleCI's GitHub App integration (`circleci/…`), which starts
/// pipelines only through a pipeline definition.
pub fn is_github_app_slug(slug: &str) -> bool {
    slug.starts_with("circleci/")
}

/// Checks a CircleCI pipeline definition id: a UUID, as CircleCI shows it under Project
/// Settings → Pipelines.
pub fn check_definition_id(id: &str) -> Result<(), String> {
    let groups: Vec<&str> = id.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    let is_uuid = groups.len() == lengths.len()
        && groups
            .iter()
            .zip(lengths)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    if is_uuid {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a pipeline definition id; it is a UUID such as `5b0e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b`, shown in CircleCI under Project Settings → Pipelines",
            crate::ids::clip(id)
        ))
    }
}

/// Checks the name of a GitHub Actions workflow file: a file in `.github/workflows/`, named
/// without its folder (`deploy.yml`).
pub fn check_workflow_name(name: &str) -> Result<(), String> {
    if name.contains('/') {
        return Err(format!(
            "`{}`: name the workflow file without its folder, as in `workflow: deploy.yml` (it lives in .github/workflows/)",
            crate::ids::clip(name)
        ));
    }
    let stem = name
        .strip_suffix(".yml")
        .or_else(|| name.strip_suffix(".yaml"));
    match stem {
        Some(stem) if !stem.is_empty() && !name.contains(char::is_whitespace) => Ok(()),
        _ => Err(format!(
            "`{}` is not a workflow file name; it ends in `.yml` or `.yaml`, as in `workflow: deploy.yml`",
            crate::ids::clip(name)
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// GitHub Actions runs

/// The run name that carries the deployment id, for GitHub servers that do not answer a
/// dispatch with its run (`run-name: deploy ${{ inputs.deployment_id }}`).
pub fn actions_run_name(deployment_id: &str) -> String {
    format!("deploy {deployment_id}")
}

/// What a finished GitHub Actions run's `conclusion` makes of its deployment, and why (for
/// the deployment's description): `success` → success; `failure`, `timed_out`,
/// `startup_failure` → failure; `cancelled` → error "cancelled"; `skipped`, `neutral`,
/// `stale`, `action_required` (and anything GitHub adds later) → error naming the conclusion.
pub fn actions_conclusion(conclusion: &str) -> (crate::DeploymentState, Option<String>) {
    use crate::DeploymentState as S;
    match conclusion {
        "success" => (S::Success, None),
        "failure" | "timed_out" | "startup_failure" => (
            S::Failure,
            Some(format!("the workflow run ended `{conclusion}`")),
        ),
        "cancelled" => (S::Error, Some("cancelled".to_owned())),
        other => (
            S::Error,
            Some(format!(
                "the workflow run ended `{}`",
                crate::ids::clip(other)
            )),
        ),
    }
}

/// A GitHub Actions run's `status` and `conclusion` in the words the watchdog reads a CI's
/// workflows in (`crate::lane::CiReport::from_workflows`): not completed → `running`;
/// success → `success`; failure, timed out, startup failure → `failed`; any other conclusion
/// as itself (an error naming it).
pub fn actions_run_status(status: &str, conclusion: Option<&str>) -> String {
    match (status, conclusion) {
        ("completed", Some("success")) => "success".to_owned(),
        ("completed", Some("failure" | "timed_out" | "startup_failure")) => "failed".to_owned(),
        ("completed", Some(other)) => other.to_owned(),
        ("completed", None) => "error".to_owned(),
        _ => "running".to_owned(),
    }
}

/// What is known when a finished deployment's CI run is re-run (GitHub Actions'
/// `run_attempt` > 1): everything [`rerun`] weighs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RerunFacts {
    /// The environment, for the sentences.
    pub environment: String,
    /// The deployment has an outcome already (success, failure, error, or inactive after
    /// one).
    pub finished: bool,
    /// It was marked inactive: superseded by a newer success, or its environment taken down
    /// (a closed pull request's).
    pub inactive: bool,
    /// The attempt GitHub reports.
    pub attempt: u64,
    /// The attempt the record follows (1 unless a re-run reopened it before).
    pub recorded_attempt: u64,
    /// No deployment of the environment reached GitHub after this one.
    pub latest_dispatched: bool,
    /// Another deployment holds the environment's slot now (its short id or commit).
    pub running_other: Option<String>,
    /// The environment's lock, as a sentence ("preview is locked by @ana until 14:00").
    pub locked: Option<String>,
    /// The freeze in force, as a sentence.
    pub frozen: Option<String>,
}

/// What a re-run of a finished deployment's run does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rerun {
    /// Nothing: not a re-run of a finished deployment, or an attempt already followed.
    Ignore,
    /// The deployment is in progress again, and the re-run's outcome is its outcome: it is
    /// still what the environment last deployed, and nothing stands in the way.
    Reopen,
    /// The re-run would deploy behind deploybot's back (something newer ran since, the
    /// environment is busy, locked or frozen): it is cancelled, and the channel told why.
    Cancel {
        /// Why, for people.
        why: String,
    },
}

/// Decides what a re-run does. A re-run deploys the same commit again, so it may only go
/// where a deployment of that commit could go now: the environment still runs (or last
/// tried) this deployment, nothing else is running, and no lock or freeze holds the
/// environment. Otherwise the environment would run something other than what deploybot
/// says it runs, so the re-run is cancelled.
pub fn rerun(facts: &RerunFacts) -> Rerun {
    if !facts.finished || facts.attempt <= facts.recorded_attempt {
        return Rerun::Ignore;
    }
    let env = &facts.environment;
    let why = if facts.inactive && facts.latest_dispatched {
        format!(
            "this deployment of {env} was marked inactive; deploy again with the deploy command if {env} should come back"
        )
    } else if !facts.latest_dispatched {
        format!(
            "a newer deployment of {env} has run since; deploy this commit again with the deploy command if it should go out"
        )
    } else if let Some(other) = &facts.running_other {
        format!("{other} is deploying to {env} now")
    } else if let Some(lock) = &facts.locked {
        lock.clone()
    } else if let Some(frozen) = &facts.frozen {
        frozen.clone()
    } else {
        return Rerun::Reopen;
    };
    Rerun::Cancel { why }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names_parse_both_ways() {
        for kind in CiKind::ALL {
            assert_eq!(CiKind::parse(kind.as_str()), Ok(kind));
            assert_eq!(
                serde_json::to_value(kind).ok(),
                Some(serde_json::json!(kind.as_str()))
            );
        }
        assert_eq!(CiKind::parse(" GitHub_Actions "), Ok(CiKind::GitHubActions));
        let err = CiKind::parse("jenkins").expect_err("not a backend");
        assert!(err.contains("circleci, github_actions"), "{err}");
    }

    #[test]
    fn targets_round_trip_and_default_to_circleci() {
        let targets = [
            CiTarget::default(),
            CiTarget::of_kind(CiKind::GitHubActions),
            CiTarget::CircleCi {
                project_slug: Some("circleci/8d1f/a7c2".into()),
                definition_id: Some("5b0e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b".into()),
            },
        ];
        for t in targets {
            let json = serde_json::to_string(&t).unwrap_or_default();
            assert_eq!(serde_json::from_str::<CiTarget>(&json).ok(), Some(t));
        }
        assert_eq!(
            CiTarget::of_kind(CiKind::GitHubActions),
            CiTarget::GitHubActions {
                workflow: "deploy.yml".into()
            }
        );
        assert_eq!(CiTarget::default().kind(), CiKind::CircleCi);
    }

    #[test]
    fn project_slugs() {
        for ok in [
            "gh/acme/web",
            "github/acme/web",
            "bb/acme/web",
            "bitbucket/acme/web",
            "circleci/8d1f3e2a-0000-4000-8000-000000000001/a7c2",
        ] {
            assert_eq!(check_project_slug(ok), Ok(()), "{ok}");
        }
        for bad in [
            "acme/web",
            "gh/acme",
            "gl/acme/web",
            "gh//web",
            "gh/acme/web/x",
            "",
        ] {
            assert!(check_project_slug(bad).is_err(), "{bad}");
        }
        assert!(is_github_app_slug("circleci/o/p"));
        assert!(!is_github_app_slug("gh/o/p"));
    }

    #[test]
    fn definition_ids_are_uuids() {
        assert_eq!(
            check_definition_id("5b0e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b"),
            Ok(())
        );
        for bad in [
            "5b0e...",
            "",
            "5b0e1f2a3c4d4e5f8a9b0c1d2e3f4a5b",
            "zb0e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
        ] {
            assert!(check_definition_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_actions_conclusion_is_mapped_as_documented() {
        use crate::DeploymentState as S;
        use crate::lane::{CiReport, Outcome};
        let cases = [
            ("success", S::Success, None),
            (
                "failure",
                S::Failure,
                Some("the workflow run ended `failure`"),
            ),
            (
                "timed_out",
                S::Failure,
                Some("the workflow run ended `timed_out`"),
            ),
            (
                "startup_failure",
                S::Failure,
                Some("the workflow run ended `startup_failure`"),
            ),
            ("cancelled", S::Error, Some("cancelled")),
            (
                "skipped",
                S::Error,
                Some("the workflow run ended `skipped`"),
            ),
            (
                "neutral",
                S::Error,
                Some("the workflow run ended `neutral`"),
            ),
            ("stale", S::Error, Some("the workflow run ended `stale`")),
            (
                "action_required",
                S::Error,
                Some("the workflow run ended `action_required`"),
            ),
        ];
        for (conclusion, state, why) in cases {
            assert_eq!(
                actions_conclusion(conclusion),
                (state, why.map(str::to_owned)),
                "{conclusion}"
            );
            // The watchdog's reading of the same run agrees on the state.
            let status = actions_run_status("completed", Some(conclusion));
            let report = CiReport::from_workflows([("deploy", status.as_str())]);
            let watched = match report {
                CiReport::Finished(Outcome::Success) => S::Success,
                CiReport::Finished(Outcome::Failure { .. }) => S::Failure,
                CiReport::Finished(Outcome::Error { .. }) => S::Error,
                other => panic!("{conclusion}: {other:?}"),
            };
            assert_eq!(watched, state, "{conclusion}");
        }
        for status in ["queued", "in_progress", "waiting", "requested", "pending"] {
            assert_eq!(actions_run_status(status, None), "running");
            assert_eq!(
                CiReport::from_workflows([("deploy", "running")]),
                CiReport::Running
            );
        }
        assert_eq!(actions_run_name("d-1"), "deploy d-1");
    }

    #[test]
    fn workflow_names() {
        assert_eq!(check_workflow_name("deploy.yml"), Ok(()));
        assert_eq!(check_workflow_name("release.yaml"), Ok(()));
        for bad in [
            ".github/workflows/deploy.yml",
            "deploy",
            ".yml",
            "my deploy.yml",
        ] {
            assert!(check_workflow_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_rerun_reopens_only_the_latest_deployment_of_a_free_environment() {
        let facts = RerunFacts {
            environment: "preview".into(),
            finished: true,
            inactive: false,
            attempt: 2,
            recorded_attempt: 1,
            latest_dispatched: true,
            running_other: None,
            locked: None,
            frozen: None,
        };
        let with = |change: &dyn Fn(&mut RerunFacts)| {
            let mut f = facts.clone();
            change(&mut f);
            rerun(&f)
        };
        assert_eq!(rerun(&facts), Rerun::Reopen);
        assert_eq!(with(&|f| f.attempt = 3), Rerun::Reopen, "any newer attempt");
        // Not a re-run of a finished deployment, or one already followed.
        assert_eq!(with(&|f| f.finished = false), Rerun::Ignore);
        assert_eq!(with(&|f| f.attempt = 1), Rerun::Ignore);
        assert_eq!(
            with(&|f| {
                f.attempt = 2;
                f.recorded_attempt = 2;
            }),
            Rerun::Ignore
        );
        // Anything standing in the way cancels it, saying what.
        let cancels = |r: Rerun, says: &str| match r {
            Rerun::Cancel { why } => assert!(why.contains(says), "{why}"),
            other => panic!("{other:?}"),
        };
        cancels(
            with(&|f| f.latest_dispatched = false),
            "a newer deployment of preview has run since",
        );
        cancels(with(&|f| f.inactive = true), "was marked inactive");
        cancels(
            with(&|f| {
                f.inactive = true;
                f.latest_dispatched = false;
            }),
            "a newer deployment of preview has run since",
        );
        cancels(
            with(&|f| f.running_other = Some("`def4567`".into())),
            "`def4567` is deploying to preview now",
        );
        cancels(
            with(&|f| f.locked = Some("preview is locked by <@U1>".into())),
            "locked by",
        );
        cancels(
            with(&|f| f.frozen = Some("preview is frozen until 18:00".into())),
            "frozen",
        );
        // The first reason wins: newer deployments before a busy lane before a lock.
        cancels(
            with(&|f| {
                f.latest_dispatched = false;
                f.locked = Some("locked".into());
            }),
            "has run since",
        );
    }
}
