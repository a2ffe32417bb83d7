//! Webhook payload fixtures in the services' documented shapes, compiled in, looked up by
//! their path under `crates/testkit/fixtures/` (`fixture("circleci/workflow-completed.json")`).

/// Every fixture: its path under `crates/testkit/fixtures/` and its text.
pub const FIXTURES: &[(&str, &str)] = &[
    (
        "circleci/workflow-completed.json",
        include_str!("../fixtures/circleci/workflow-completed.json"),
    ),
    (
        "circleci/job-completed.json",
        include_str!("../fixtures/circleci/job-completed.json"),
    ),
    (
        "circleci/legacy-notify.json",
        include_str!("../fixtures/circleci/legacy-notify.json"),
    ),
    (
        "github/ping.json",
        include_str!("../fixtures/github/ping.json"),
    ),
    (
        "github/push.json",
        include_str!("../fixtures/github/push.json"),
    ),
    (
        "github/push.tag.json",
        include_str!("../fixtures/github/push.tag.json"),
    ),
    (
        "github/push.release-branch.json",
        include_str!("../fixtures/github/push.release-branch.json"),
    ),
    (
        "github/push.branch-deleted.json",
        include_str!("../fixtures/github/push.branch-deleted.json"),
    ),
    (
        "github/pull_request.opened.json",
        include_str!("../fixtures/github/pull_request.opened.json"),
    ),
    (
        "github/pull_request.synchronize.json",
        include_str!("../fixtures/github/pull_request.synchronize.json"),
    ),
    (
        "github/pull_request.closed.json",
        include_str!("../fixtures/github/pull_request.closed.json"),
    ),
    (
        "github/pull_request.opened-from-fork.json",
        include_str!("../fixtures/github/pull_request.opened-from-fork.json"),
    ),
    (
        "github/status.json",
        include_str!("../fixtures/github/status.json"),
    ),
    (
        "github/status.failure.json",
        include_str!("../fixtures/github/status.failure.json"),
    ),
    (
        "github/check_suite.completed.json",
        include_str!("../fixtures/github/check_suite.completed.json"),
    ),
    (
        "github/check_run.completed.json",
        include_str!("../fixtures/github/check_run.completed.json"),
    ),
    (
        "github/deployment.json",
        include_str!("../fixtures/github/deployment.json"),
    ),
    (
        "github/deployment_status.json",
        include_str!("../fixtures/github/deployment_status.json"),
    ),
    (
        "github/repository.renamed.json",
        include_str!("../fixtures/github/repository.renamed.json"),
    ),
    (
        "github/repository.transferred.json",
        include_str!("../fixtures/github/repository.transferred.json"),
    ),
];

/// The fixture at `path`, or `None` when there is no such fixture.
pub fn fixture(path: &str) -> Option<&'static str> {
    FIXTURES
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, text)| *text)
}

/// The fixture at `path` parsed as JSON.
pub fn fixture_json(path: &str) -> Option<serde_json::Value> {
    fixture(path).and_then(|text| serde_json::from_str(text).ok())
}

/// A GitHub webhook payload fixture by name (`github_fixture("push.tag")` reads
/// `github/push.tag.json`), parsed so tests can patch it (SHA, numbers) before signing. The
/// name's first part is the `X-GitHub-Event` (`pull_request.closed` → `pull_request`).
pub fn github_fixture(name: &str) -> Option<serde_json::Value> {
    fixture_json(&format!("github/{name}.json"))
}

/// A project's workflow record after its default branch was read at `commit` and held no
/// `.github/deploybot.yml`: the built-in workflow is in force, and no event needs to read the
/// file first. Harnesses bind projects with it unless a test is about reading the file.
pub fn workflow_read_without_file(
    commit: deploybot_core::Sha,
    at: deploybot_core::Timestamp,
) -> deploybot_core::WorkflowRecord {
    deploybot_core::WorkflowRecord {
        commit,
        read_at: at,
        file: None,
        rejected: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::circleci::FakeCircleCi;
    use deploybot_core::ports::{CiBackend, PipelineParameters, PipelineRequest};
    use deploybot_core::signature::SigningSecret;
    use deploybot_core::{DeploymentId, Environment, GitRef, Repository, Sha, Timestamp};
    use serde_json::Value;

    /// Paths of every object key in `value` with the JSON type found there
    /// (`pipeline.vcs.revision: string`).
    fn shape(value: &Value, prefix: &str, out: &mut Vec<String>) {
        if let Value::Object(map) = value {
            for (key, child) in map {
                let path = format!("{prefix}{key}");
                let kind = match child {
                    Value::Null => "null",
                    Value::Bool(_) => "bool",
                    Value::Number(_) => "number",
                    Value::String(_) => "string",
                    Value::Array(_) => "array",
                    Value::Object(_) => "object",
                };
                out.push(format!("{path}: {kind}"));
                shape(child, &format!("{path}."), out);
            }
        }
    }

    #[test]
    fn every_fixture_is_json_and_found_by_path() {
        for (path, _) in FIXTURES {
            assert!(fixture_json(path).is_some(), "{path} parses");
        }
        assert_eq!(fixture("circleci/nope.json"), None);
        let completed = fixture_json("circleci/workflow-completed.json").expect("fixture");
        assert_eq!(completed["type"], "workflow-completed");
        let job = fixture_json("circleci/job-completed.json").expect("fixture");
        assert_eq!(job["type"], "job-completed");
        assert!(job["job"]["number"].is_u64());
    }

    async fn started_pipeline(ci: &FakeCircleCi) -> String {
        ci.start_pipeline(&PipelineRequest {
            repository: Repository::parse("acme/web").expect("repository"),
            git_ref: GitRef::branch("release-2024-05").expect("branch"),
            parameters: PipelineParameters {
                environment: Environment::Test,
                version: "test-0123456789".into(),
                subdomain: Some("test".into()),
                url: None,
                sha: Sha::parse("0123456789abcdef0123456789abcdef01234567").expect("sha"),
                deployment_id: DeploymentId::new(Timestamp::from_secs(1_700_000_000), 1),
                rollback: false,
            },
            target: Default::default(),
        })
        .await
        .expect("started")
        .id
    }

    /// The fake CircleCI's webhooks have exactly the documented shape of the fixtures.
    #[tokio::test]
    async fn fake_payloads_have_the_fixture_shapes() {
        let ci = FakeCircleCi::new();
        let id = started_pipeline(&ci).await;
        let signed = ci
            .completion_payload(&id, "success", &SigningSecret::new("s"))
            .expect("known pipeline");
        let sent: Value = serde_json::from_slice(&signed.body).expect("JSON");
        let (mut want, mut got) = (Vec::new(), Vec::new());
        shape(
            &fixture_json("circleci/workflow-completed.json").expect("fixture"),
            "",
            &mut want,
        );
        shape(&sent, "", &mut got);
        want.sort();
        got.sort();
        assert_eq!(got, want);

        let legacy = ci.legacy_notify_payload(&id, "success").expect("known");
        let (mut want, mut got) = (Vec::new(), Vec::new());
        shape(
            &fixture_json("circleci/legacy-notify.json").expect("fixture"),
            "",
            &mut want,
        );
        shape(&legacy, "", &mut got);
        want.sort();
        got.sort();
        assert_eq!(got, want);
    }
}
