//! GitHub webhook payloads as GitHub sends them, built from the documented fixtures in
//! `crates/testkit/fixtures/github/` with the fields that matter replaced: what the demo, the
//! harness and `poke github` deliver to `POST /github/webhook`.

use deploybot_testkit::fakes::github::FakeDeployment;
use serde_json::Value;

const PULL_REQUEST: &str = include_str!("../../testkit/fixtures/github/pull_request.opened.json");
const PUSH: &str = include_str!("../../testkit/fixtures/github/push.json");
const PUSH_TAG: &str = include_str!("../../testkit/fixtures/github/push.tag.json");
const DEPLOYMENT: &str = include_str!("../../testkit/fixtures/github/deployment.json");
const PING: &str = include_str!("../../testkit/fixtures/github/ping.json");

fn fixture(text: &str) -> Value {
    // The fixtures are compiled in and checked by this module's tests; a broken one is a
    // build-time mistake that the tests catch, not a runtime condition.
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// The repository as GitHub's payloads describe it: `owner/name` in every place it appears.
fn set_repository(event: &mut Value, repository: &str) {
    let (owner, name) = repository.split_once('/').unwrap_or((repository, ""));
    let html = format!("https://github.com/{repository}");
    for pointer in [
        "/repository",
        "/pull_request/head/repo",
        "/pull_request/base/repo",
    ] {
        if let Some(repo) = event.pointer_mut(pointer).filter(|r| r.is_object()) {
            repo["full_name"] = repository.into();
            repo["name"] = name.into();
            repo["html_url"] = html.clone().into();
            repo["owner"]["login"] = owner.into();
        }
    }
}

/// `pull_request` with `action` (`opened`, `synchronize`, `reopened`, `closed`) for PR `number`
/// with head `branch` at `sha`, opened by `author`.
pub fn pull_request(
    repository: &str,
    action: &str,
    number: u64,
    branch: &str,
    sha: &str,
    author: &str,
) -> Value {
    let mut e = fixture(PULL_REQUEST);
    set_repository(&mut e, repository);
    e["action"] = action.into();
    e["number"] = number.into();
    let pr = &mut e["pull_request"];
    pr["number"] = number.into();
    pr["html_url"] = format!("https://github.com/{repository}/pull/{number}").into();
    pr["head"]["ref"] = branch.into();
    pr["head"]["sha"] = sha.into();
    pr["head"]["label"] = format!("acme:{branch}").into();
    pr["user"]["login"] = author.into();
    if action == "closed" {
        pr["state"] = "closed".into();
        pr["closed_at"] = "2024-05-14T12:00:00Z".into();
        pr["merged"] = true.into();
        pr["merged_at"] = "2024-05-14T12:00:00Z".into();
    }
    e["sender"]["login"] = author.into();
    e
}

/// `push` of one commit `sha` (authored by `author`) to branch `branch`.
pub fn push(repository: &str, branch: &str, sha: &str, author: &str) -> Value {
    let mut e = fixture(PUSH);
    set_repository(&mut e, repository);
    e["ref"] = format!("refs/heads/{branch}").into();
    e["after"] = sha.into();
    e["pusher"]["name"] = author.into();
    e["sender"]["login"] = author.into();
    let url = format!("https://github.com/{repository}/commit/{sha}");
    let mut commit = e["head_commit"].take();
    commit["id"] = sha.into();
    commit["url"] = url.into();
    commit["author"]["username"] = author.into();
    e["commits"] = Value::Array(vec![commit.clone()]);
    e["head_commit"] = commit;
    e
}

/// `push` of a new annotated tag `tag` pointing at commit `sha`, pushed by `pusher`.
pub fn tag(repository: &str, tag: &str, sha: &str, pusher: &str) -> Value {
    let mut e = fixture(PUSH_TAG);
    set_repository(&mut e, repository);
    e["ref"] = format!("refs/tags/{tag}").into();
    e["pusher"]["name"] = pusher.into();
    e["sender"]["login"] = pusher.into();
    e["head_commit"]["id"] = sha.into();
    e["head_commit"]["url"] = format!("https://github.com/{repository}/commit/{sha}").into();
    e
}

/// The `deployment` event GitHub sends once a deployment exists.
pub fn deployment(d: &FakeDeployment) -> Value {
    let mut e = fixture(DEPLOYMENT);
    set_repository(&mut e, d.repository.as_str());
    let dep = &mut e["deployment"];
    dep["id"] = d.id.into();
    dep["url"] = format!(
        "https://api.github.com/repos/{}/deployments/{}",
        d.repository, d.id
    )
    .into();
    dep["sha"] = d.sha.as_str().into();
    dep["ref"] = d.git_ref.clone().into();
    dep["environment"] = d.environment.clone().into();
    dep["original_environment"] = d.environment.clone().into();
    dep["description"] = d.description.clone().into();
    dep["payload"] = d.payload.clone();
    dep["transient_environment"] = d.transient_environment.into();
    dep["production_environment"] = d.production_environment.into();
    e
}

/// `ping`, which GitHub sends when a webhook is created.
pub fn ping(repository: &str) -> Value {
    let mut e = fixture(PING);
    set_repository(&mut e, repository);
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_parse() {
        for text in [PULL_REQUEST, PUSH, PUSH_TAG, DEPLOYMENT, PING] {
            assert!(serde_json::from_str::<Value>(text).is_ok());
        }
    }

    #[test]
    fn builders_set_what_they_say() {
        let pr = pull_request("acme/web", "closed", 7, "fix/x", &"a".repeat(40), "ada-l");
        assert_eq!(pr["number"], 7);
        assert_eq!(pr["pull_request"]["head"]["ref"], "fix/x");
        assert_eq!(pr["pull_request"]["state"], "closed");
        assert_eq!(
            pr["pull_request"]["head"]["repo"]["full_name"], pr["repository"]["full_name"],
            "not a fork"
        );
        let p = push("acme/web", "release-1", &"b".repeat(40), "grace-h");
        assert_eq!(p["ref"], "refs/heads/release-1");
        assert_eq!(p["head_commit"]["id"], "b".repeat(40));
        assert_eq!(p["head_commit"]["author"]["username"], "grace-h");
        let t = tag("other/app", "v2.0.0", &"c".repeat(40), "ada-l");
        assert_eq!(t["ref"], "refs/tags/v2.0.0");
        assert_eq!(t["repository"]["full_name"], "other/app");
        assert_eq!(t["repository"]["owner"]["login"], "other");
    }
}
