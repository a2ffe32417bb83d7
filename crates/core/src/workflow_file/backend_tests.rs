//! `backend:` of an environment: which CI runs its deployments.

use super::*;
use crate::ci::{CiKind, CiTarget};
use crate::policy::Policy;

const DEFINITION: &str = "5b0e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b";

fn parse(text: &str) -> WorkflowFile {
    match WorkflowFile::parse(text) {
        Ok(f) => f,
        Err(e) => panic!("should parse:\n{e}\n---\n{text}"),
    }
}

fn errors(text: &str) -> Vec<FileError> {
    match WorkflowFile::parse(text) {
        Ok(f) => panic!("should be refused:\n{text}\nparsed as {f:?}"),
        Err(e) => e.0,
    }
}

#[test]
fn each_environment_names_its_ci() {
    let text = format!(
        "version: 1
environments:
  pr:
    on: pull_request
    backend:
      github_actions:
  preview:
    on: {{ push: [default] }}
    backend:
      github_actions:
        workflow: deploy-preview.yaml
  staging:
    backend: {{ circleci: }}
  production:
    on: {{ tag: [\"v{{semver}}\"] }}
    backend:
      circleci:
        project_slug: circleci/8d1f3e2a-0000-4000-8000-000000000001/a7c2b1d0-0000-4000-8000-000000000002
        definition_id: {DEFINITION}
  test:
    on: {{ push: [\"release*\"] }}
"
    );
    let file = parse(&text);
    let backends: Vec<Option<CiTarget>> = file
        .environments
        .iter()
        .map(|e| e.backend.clone())
        .collect();
    assert_eq!(
        backends,
        [
            Some(CiTarget::GitHubActions {
                workflow: "deploy.yml".into()
            }),
            Some(CiTarget::GitHubActions {
                workflow: "deploy-preview.yaml".into()
            }),
            Some(CiTarget::CircleCi {
                project_slug: None,
                definition_id: None
            }),
            Some(CiTarget::CircleCi {
                project_slug: Some(
                    "circleci/8d1f3e2a-0000-4000-8000-000000000001/a7c2b1d0-0000-4000-8000-000000000002"
                        .into()
                ),
                definition_id: Some(DEFINITION.into()),
            }),
            None,
        ]
    );
    // The policy resolves every environment, pull requests' included, and falls back to
    // the deployment-wide default.
    let policy = Policy::from_file(file);
    let env = |name: &str| crate::Environment::parse(name).expect("an environment");
    assert_eq!(
        policy.ci_target(&env("pr12"), CiKind::CircleCi).kind(),
        CiKind::GitHubActions
    );
    assert_eq!(
        policy
            .ci_target(&env("production"), CiKind::GitHubActions)
            .kind(),
        CiKind::CircleCi
    );
    assert_eq!(
        policy.ci_target(&env("test"), CiKind::GitHubActions),
        CiTarget::of_kind(CiKind::GitHubActions)
    );
    assert_eq!(
        policy.ci_target(&env("test"), CiKind::CircleCi),
        CiTarget::default()
    );
    assert_eq!(
        Policy::default().ci_target(&env("preview"), CiKind::GitHubActions),
        CiTarget::of_kind(CiKind::GitHubActions)
    );
}

#[test]
fn mistakes_in_backend_are_told_with_their_line() {
    let cases: Vec<(String, usize, &str)> = vec![
        ("backend: github_actions".into(), 4, "names one CI"),
        ("backend: {}".into(), 4, "names one CI"),
        (
            "backend:\n      jenkins: {}".into(),
            5,
            "`jenkins` is not a key of `backend` of `staging`; the keys are circleci, github_actions",
        ),
        (
            "backend:\n      github_actions:\n      circleci:".into(),
            6,
            "names more than one CI",
        ),
        (
            "backend:\n      github_actions:\n        workflow: .github/workflows/deploy.yml"
                .into(),
            6,
            "without its folder",
        ),
        (
            "backend:\n      github_actions:\n        workflow: deploy".into(),
            6,
            "ends in `.yml` or `.yaml`",
        ),
        (
            "backend:\n      github_actions:\n        file: deploy.yml".into(),
            6,
            "`file` is not a key of `backend.github_actions` of `staging`; the keys are workflow",
        ),
        (
            "backend:\n      github_actions: deploy.yml".into(),
            5,
            "must be a mapping of its settings",
        ),
        (
            "backend:\n      circleci:\n        project_slug: acme/web".into(),
            6,
            "does not start with `gh/`, `bb/` or `circleci/`",
        ),
        (
            "backend:\n      circleci:\n        project_slug: circleci/8d1f/a7c2".into(),
            6,
            "add `definition_id`",
        ),
        (
            "backend:\n      circleci:\n        definition_id: 5b0e...".into(),
            6,
            "is not a pipeline definition id",
        ),
        (
            "backend:\n      circleci:\n        branch: main".into(),
            6,
            "the keys are project_slug, definition_id",
        ),
    ];
    for (backend, line, needle) in cases {
        let text = format!("version: 1\nenvironments:\n  staging:\n    {backend}\n");
        let found = errors(&text);
        assert!(
            found
                .iter()
                .any(|e| e.line == line && e.message.contains(needle)),
            "{backend}: wanted line {line} `{needle}`, got {found:?}"
        );
    }
}

#[test]
fn a_gh_slug_needs_no_definition() {
    let file = parse(
        "version: 1\nenvironments:\n  staging:\n    backend:\n      circleci:\n        project_slug: bb/acme/web\n",
    );
    assert_eq!(
        file.environments[0].backend,
        Some(CiTarget::CircleCi {
            project_slug: Some("bb/acme/web".into()),
            definition_id: None
        })
    );
}

#[test]
fn the_schema_names_exactly_the_backend_keys() {
    let text = include_str!("../../../../docs/deploybot.schema.json");
    let schema: serde_json::Value = serde_json::from_str(text).expect("the schema is JSON");
    let names = |node: &serde_json::Value| {
        let mut names: Vec<String> = node["properties"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
    };
    let sorted = |keys: &[&str]| {
        let mut v: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        v.sort();
        v
    };
    let backend = &schema["$defs"]["environment"]["properties"]["backend"];
    assert_eq!(names(backend), sorted(&BACKEND_KEYS));
    assert_eq!(backend["additionalProperties"], false);
    assert_eq!(backend["maxProperties"], 1);
    let settings = |key: &str| backend["properties"][key]["oneOf"][1].clone();
    assert_eq!(names(&settings("circleci")), sorted(&CIRCLECI_KEYS));
    assert_eq!(
        names(&settings("github_actions")),
        sorted(&GITHUB_ACTIONS_KEYS)
    );
    for key in BACKEND_KEYS {
        assert_eq!(settings(key)["additionalProperties"], false, "{key}");
        assert_eq!(
            backend["properties"][key]["oneOf"][0]["type"], "null",
            "{key}"
        );
    }
}

#[test]
fn queue_running_is_finish_unless_it_says_cancel() {
    let file = parse(
        "version: 1
environments:
  pr:
    on: pull_request
    queue: { running: cancel }
  preview:
    on: { push: [default] }
    queue:
      running: finish
  staging:
",
    );
    let running: Vec<(String, Running)> = file
        .environments
        .iter()
        .map(|e| (e.key.clone(), e.running))
        .collect();
    assert_eq!(
        running,
        [
            ("pr".to_owned(), Running::Cancel),
            ("preview".to_owned(), Running::Finish),
            ("staging".to_owned(), Running::Finish),
        ]
    );
    let policy = Policy::from_file(file);
    assert!(policy.cancels_running(&crate::Environment::PullRequest(42)));
    assert!(!policy.cancels_running(&crate::Environment::Preview));
    assert!(!policy.cancels_running(&crate::Environment::Staging));
    assert!(!Policy::default().cancels_running(&crate::Environment::PullRequest(42)));
}

#[test]
fn a_bad_queue_says_what_to_write_on_its_line() {
    for (text, line, says) in [
        (
            "  a:\n    queue: { running: abort }\n",
            4,
            "`running: abort` is not a choice",
        ),
        (
            "  a:\n    queue: cancel\n",
            4,
            "must be a mapping such as `queue: { running: cancel }`",
        ),
        (
            "  a:\n    queue: { waiting: cancel }\n",
            4,
            "`waiting` is not a key of `queue` of `a`",
        ),
    ] {
        let errors = errors(&format!("version: 1\nenvironments:\n{text}"));
        assert!(
            errors
                .iter()
                .any(|e| e.line == line && e.message.contains(says)),
            "{text}: {errors:?}"
        );
    }
}
