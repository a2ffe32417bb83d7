use super::*;
use proptest::prelude::*;

/// The complete example of docs/configuration.md.
const EXAMPLE: &str = r#"version: 1
environments:
  pr:                               # one environment per pull request
    name: "pr{number}"
    on: pull_request                # opened, reopened, synchronize, ready_for_review; closed → inactive
    transient: true
    drafts: false                   # draft pull requests wait for ready_for_review
    forks: false
  preview:
    on: { push: [default] }         # `default` = the repository's default branch
  qa:
    on: { push: ["develop"] }
  test:
    on: { push: ["release*", "release/**"] }
  staging:
    promote_from: test              # only a commit whose latest `test` deployment succeeded
  production:
    on: { tag: ["v{semver}"] }
    production: true
    required_checks: ["ci/circleci: build"]
    url: "https://www.example.com/"
"#;

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
fn the_example_parses_in_file_order() {
    let file = parse(EXAMPLE);
    let keys: Vec<&str> = file.environments.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        ["pr", "preview", "qa", "test", "staging", "production"]
    );
    let lines: Vec<usize> = file.environments.iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 9, 11, 13, 15, 17]);
    assert_eq!(
        file.environments[0].trigger,
        Some(Trigger::PullRequest(PullRequestTrigger {
            name: "pr{number}".into(),
            transient: true,
            drafts: false,
            forks: false,
        }))
    );
    let staging = file.environment("staging").expect("staging");
    assert_eq!(staging.promote_from.as_deref(), Some("test"));
    assert_eq!(staging.trigger, None);
    let production = file.environment("production").expect("production");
    assert!(production.production);
    assert_eq!(production.required_checks, ["ci/circleci: build"]);
    assert_eq!(
        production.url.as_ref().map(url::Url::as_str),
        Some("https://www.example.com/")
    );
    assert_eq!(
        production.trigger,
        Some(Trigger::Refs {
            push: vec![],
            tag: vec![TagPattern::Semver { prefix: "v".into() }],
        })
    );
}

fn pr(number: u64, action: &str, draft: bool, from_fork: bool) -> FileEvent<'static> {
    FileEvent::PullRequest {
        number,
        action: PullRequestAction::parse(action),
        draft,
        from_fork,
    }
}

fn push<'e>(branch: &'e str, default_branch: &'e str) -> FileEvent<'e> {
    FileEvent::Push {
        branch,
        default_branch,
    }
}

fn tag(name: &str) -> FileEvent<'_> {
    FileEvent::Tag { name }
}

/// An outcome in a word: `deploy pr12`, `deactivate pr12`, `ignore`, `decline`.
fn short(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Deploy { environment, .. } => format!("deploy {environment}"),
        Outcome::Deactivate { environment, .. } => format!("deactivate {environment}"),
        Outcome::Ignore { .. } => "ignore".into(),
        Outcome::Decline { .. } => "decline".into(),
    }
}

#[test]
fn the_example_decides() {
    let file = parse(EXAMPLE);
    let rows: Vec<(FileEvent<'_>, &str)> = vec![
        (pr(12, "opened", false, false), "deploy pr12"),
        (pr(12, "reopened", false, false), "deploy pr12"),
        (pr(12, "synchronize", false, false), "deploy pr12"),
        (pr(12, "ready_for_review", false, false), "deploy pr12"),
        (pr(12, "labeled", false, false), "ignore"),
        (pr(12, "closed", false, false), "deactivate pr12"),
        (pr(12, "opened", true, false), "ignore"), // a draft waits
        (pr(12, "synchronize", true, false), "ignore"),
        (pr(12, "closed", true, false), "deactivate pr12"),
        (pr(13, "opened", false, true), "decline"),
        (pr(13, "closed", false, true), "deactivate pr13"),
        (push("main", "main"), "deploy preview"),
        (push("master", "master"), "deploy preview"),
        (push("master", "main"), "ignore"),
        (push("develop", "main"), "deploy qa"),
        (push("develop/x", "main"), "ignore"),
        (push("release-1.2", "main"), "deploy test"),
        (push("release", "main"), "deploy test"),
        (push("release/2026-06", "main"), "deploy test"),
        (push("release/2026/06", "main"), "deploy test"), // `**` crosses `/`
        (push("releases/x", "main"), "ignore"),           // `*` does not
        (push("feature/login", "main"), "ignore"),
        (tag("v1.4.0"), "deploy production"),
        (tag("v2.0.0-rc.1"), "deploy production"),
        (tag("v1.4.0+build.7"), "deploy production"),
        (tag("v1.4"), "ignore"),
        (tag("1.4.0"), "ignore"), // no bare versions in this file
        (tag("v01.4.0"), "ignore"),
        (tag("vendor-sync"), "ignore"),
        (tag("nightly"), "ignore"),
        (tag("release-1.2"), "ignore"), // a tag is not a branch
    ];
    for (event, want) in rows {
        assert_eq!(short(&file.decide(&event)), want, "{event:?}");
    }
}

#[test]
fn drafts_and_forks_can_be_allowed() {
    let file = parse(
        "version: 1\nenvironments:\n  review:\n    name: review-{number}\n    on: pull_request\n    drafts: true\n    forks: true\n    transient: false\n",
    );
    assert_eq!(
        short(&file.decide(&pr(5, "opened", true, true))),
        "deploy review-5"
    );
    // Already deployed as a draft: becoming ready changes nothing.
    assert_eq!(
        short(&file.decide(&pr(5, "ready_for_review", false, false))),
        "ignore"
    );
    // Not transient: closing leaves it.
    assert_eq!(
        short(&file.decide(&pr(5, "closed", false, false))),
        "ignore"
    );
    // A file without a pull-request environment ignores pull requests.
    let no_pr = parse("version: 1\nenvironments:\n  preview:\n    on: { push: default }\n");
    assert_eq!(
        short(&no_pr.decide(&pr(5, "opened", false, false))),
        "ignore"
    );
}

#[test]
fn overlaps_the_parser_cannot_prove_go_to_the_first_environment_in_the_file() {
    // Character classes leave the parser no name to try: both patterns stay, the first wins.
    let file = parse(
        "version: 1\nenvironments:\n  one:\n    on: { push: [\"release-[0-9]*\"] }\n  two:\n    on: { push: [\"release-[1-2]*\"] }\n",
    );
    assert_eq!(
        short(&file.decide(&push("release-1.2", "main"))),
        "deploy one"
    );
    // The default branch is known only when the event comes.
    let file = parse(
        "version: 1\nenvironments:\n  one:\n    on: { push: [default] }\n  two:\n    on: { push: [\"ma*\"] }\n",
    );
    assert_eq!(short(&file.decide(&push("main", "main"))), "deploy one");
    assert_eq!(short(&file.decide(&push("main", "trunk"))), "deploy two");
}

/// The rows of docs/workflow.md's "Events from GitHub" examples that reach the rules (the
/// deleted refs and the branch push with no commits are dropped before), with the built-in
/// policy's answer. `changed` marks the rows whose answer `{semver}` changes.
const DOC_ROWS: &[(&str, &str, &str, &str, bool)] = &[
    // (event, ref, default branch, outcome, changed)
    (
        "pr 12 opened",
        "feature/login",
        "main",
        "deploy pr12",
        false,
    ),
    (
        "pr 12 synchronize",
        "feature/login",
        "main",
        "deploy pr12",
        false,
    ),
    (
        "pr 12 reopened",
        "feature/login",
        "main",
        "deploy pr12",
        false,
    ),
    ("pr 12 labeled", "feature/login", "main", "ignore", false),
    (
        "pr 12 closed",
        "feature/login",
        "main",
        "deactivate pr12",
        false,
    ),
    ("pr 13 opened fork", "patch-1", "main", "decline", false),
    (
        "pr 13 closed fork",
        "patch-1",
        "main",
        "deactivate pr13",
        false,
    ),
    ("push", "refs/heads/main", "main", "deploy preview", false),
    (
        "push",
        "refs/heads/master",
        "master",
        "deploy preview",
        false,
    ),
    ("push", "refs/heads/master", "main", "ignore", false),
    (
        "push",
        "refs/heads/release-1.2",
        "main",
        "deploy test",
        false,
    ),
    (
        "push",
        "refs/heads/release/2026-06",
        "main",
        "deploy test",
        false,
    ),
    ("push", "refs/heads/feature/login", "main", "ignore", false),
    (
        "push",
        "refs/heads/release-1.2/hotfix",
        "main",
        "deploy test",
        false,
    ),
    ("push", "refs/heads/pre-release", "main", "ignore", false),
    (
        "push",
        "refs/tags/v1.4.0",
        "main",
        "deploy production",
        false,
    ),
    // `2026.06.1` is no Semantic Version (`06` has a leading zero): it used to deploy.
    ("push", "refs/tags/2026.06.1", "main", "ignore", true),
    ("push", "refs/tags/nightly", "main", "ignore", false),
    // Not in the docs' table: the tags the change is for.
    ("push", "refs/tags/vendor-sync", "main", "ignore", true),
    ("push", "refs/tags/2024-cleanup", "main", "ignore", true),
    (
        "push",
        "refs/tags/2.0.1",
        "main",
        "deploy production",
        false,
    ),
    (
        "push",
        "refs/tags/v2.0.0-rc.1",
        "main",
        "deploy production",
        false,
    ),
];

fn doc_event<'e>(event: &str, git_ref: &'e str, default_branch: &'e str) -> FileEvent<'e> {
    if let Some(rest) = event.strip_prefix("pr ") {
        let mut words = rest.split(' ');
        let number = words.next().and_then(|n| n.parse().ok()).expect("number");
        let action = words.next().expect("action");
        let fork = words.next() == Some("fork");
        return pr(number, action, false, fork);
    }
    match (
        git_ref.strip_prefix("refs/heads/"),
        git_ref.strip_prefix("refs/tags/"),
    ) {
        (Some(branch), _) => push(branch, default_branch),
        (_, Some(name)) => tag(name),
        _ => panic!("bad ref {git_ref}"),
    }
}

/// The built-in workflow spelled out as a file.
const BUILTIN_AS_A_FILE: &str = r#"version: 1
environments:
  pr:
    name: "pr{number}"
    on: pull_request
    transient: true
    drafts: true
    forks: false
  preview:
    on: { push: [default] }
  test:
    on: { push: ["release*", "release*/**"] }
  staging:
    promote_from: test
  production:
    on: { tag: ["v{semver}", "{semver}"] }
    production: true
"#;

#[test]
fn the_builtin_workflow_spelled_out_decides_the_same() {
    let builtin = WorkflowFile::builtin();
    let file = parse(BUILTIN_AS_A_FILE);
    for (event, git_ref, default_branch, want, _) in DOC_ROWS {
        let e = doc_event(event, git_ref, default_branch);
        assert_eq!(
            short(&builtin.decide(&e)),
            *want,
            "built-in: {event} {git_ref}"
        );
        assert_eq!(short(&file.decide(&e)), *want, "file: {event} {git_ref}");
    }
    // Same value, but for the lines the file records.
    let mut lineless = file.clone();
    for env in &mut lineless.environments {
        env.line = 0;
    }
    assert_eq!(lineless, builtin);
}

/// The rule production tags followed before the workflow file: any tag starting with `v` or
/// a digit. Kept here to show which rows the file's `v{semver}`/`{semver}` changed.
fn old_production_tag(name: &str) -> bool {
    name.starts_with('v') || name.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

#[test]
fn the_rows_marked_changed_are_the_ones_the_old_rule_answers_differently() {
    for (event, git_ref, default_branch, want, changed) in DOC_ROWS {
        let Some(tag) = git_ref.strip_prefix("refs/tags/") else {
            continue;
        };
        let _ = (event, default_branch);
        let old = if old_production_tag(tag) {
            "deploy production"
        } else {
            "ignore"
        };
        assert_eq!(old != *want, *changed, "{git_ref}: the old rule says {old}");
    }
}

#[test]
fn versions_are_semantic_versions() {
    let v = TagPattern::parse("v{semver}").expect("pattern");
    let bare = TagPattern::parse("{semver}").expect("pattern");
    for (tag, want) in [
        ("v1.4.0", true),
        ("v2.0.0-rc.1", true),
        ("v0.0.1+build.5", true),
        ("v1.4", false),
        ("v2026.06.1", false),
        ("v1.4.0.1", false),
        ("vv1.4.0", false),
        ("V1.4.0", false),
        ("v", false),
    ] {
        assert_eq!(v.matches(tag), want, "{tag}");
    }
    assert!(bare.matches("1.4.0"));
    assert!(!bare.matches("2026.06.1"));
    assert!(!bare.matches("v1.4.0"));
    assert!(!bare.matches("2024-cleanup"));
}

#[test]
fn globs_are_anchored_and_star_stays_within_a_segment() {
    let g = |p: &str| BranchPattern::parse(p).expect("pattern");
    for (pattern, branch, want) in [
        ("release*", "release-1", true),
        ("release*", "release/1", false),
        ("release*", "pre-release", false),
        ("release/**", "release/1/2", true),
        ("release/**", "release", false),
        ("*", "main", true),
        ("*", "a/b", false),
        ("**", "a/b", true),
        ("feat-?", "feat-1", true),
        ("hotfix/[0-9]*", "hotfix/1x", true),
        ("develop", "develop", true),
        ("develop", "developer", false),
    ] {
        assert_eq!(
            g(pattern).matches(branch, "main"),
            want,
            "{pattern} {branch}"
        );
    }
}

/// Invalid files: the line (and column) of the mistake and a piece of its sentence.
#[test]
fn mistakes_are_reported_with_their_line() {
    let rows: &[(&str, usize, usize, &str)] = &[
        ("", 1, 1, "the file is empty"),
        (
            "version: 2\nenvironments:\n  a:\n",
            1,
            10,
            "`version` is `2`; this deploybot reads version 1 only",
        ),
        (
            "version: \"1\"\nenvironments:\n  a:\n",
            1,
            10,
            "`version` is `1` (text)",
        ),
        ("environments:\n  a:\n", 1, 1, "needs `version: 1`"),
        ("version: 1\n", 1, 1, "needs `environments:`"),
        (
            "version: 1\nenvironment:\n  a:\n",
            2,
            1,
            "`environment` is not a key of the file; the keys are version, environments",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    on: { push: [main] }\n    promote: b\n",
            5,
            5,
            "`promote` is not a key of environment `a`",
        ),
        (
            "version: 1\nenvironments: [a, b]\n",
            2,
            15,
            "`environments` must be a mapping",
        ),
        (
            "version: 1\nenvironments: {}\n",
            2,
            15,
            "names no environment",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    on: push\n",
            4,
            9,
            "`on: push` is not an event",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    on: { push: [\"[main\"] }\n",
            4,
            18,
            "`[main` is not a valid pattern",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    on: { tag: [\"{semver}-x\"] }\n",
            4,
            17,
            "must end the pattern",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    on: { tag: [\"v*{semver}\"] }\n",
            4,
            17,
            "plain characters",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    on: { push: [\"v{semver}\"] }\n",
            4,
            18,
            "is for tag patterns",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    on: { branch: [main] }\n",
            4,
            11,
            "`branch` is not a key of `on` of `a`; the keys are push, tag",
        ),
        (
            "version: 1\nenvironments:\n  pr:\n    on: pull_request\n  preview:\n    on: { push: [default] }\n  qa:\n    on: { push: [develop] }\n  test:\n    on: { push: [release*] }\n  staging:\n    promote_from: tset\n",
            12,
            19,
            "`promote_from: tset` names no environment; the environments are pr, preview, qa, test, staging",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    promote_from: a\n",
            4,
            19,
            "names `a` itself",
        ),
        (
            "version: 1\nenvironments:\n  pr:\n    on: pull_request\n  b:\n    promote_from: pr\n",
            6,
            19,
            "names the pull-request environment",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    on: { push: [\"release*\"] }\n  b:\n    on: { push: [\"release*\"] }\n",
            6,
            18,
            "a push to a branch matching `release*` deploys both `a` (line 4) and `b`",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    on: { push: [default] }\n  b:\n    on: { push: default }\n",
            6,
            17,
            "a push to the default branch deploys both `a` (line 4) and `b`",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    on: { tag: [\"v{semver}\"] }\n  b:\n    on: { tag: [\"v{semver}\"] }\n",
            6,
            17,
            "a tag matching `v{semver}` deploys both",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    on: pull_request\n  b:\n    on: pull_request\n",
            6,
            9,
            "a pull request deploys both `a` (line 4) and `b`",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    on: { push: [\"release-1*\"] }\n  b:\n    on: { push: [\"release*\"] }\n",
            6,
            18,
            "the branch `release-1` would deploy both `a` (a push to a branch matching `release-1*`, line 4) and `b` (a push to a branch matching `release*`); an event may deploy one environment only, so narrow one of the patterns",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    on: { push: [develop] }\n  b:\n    on: { push: [\"dev*\"] }\n",
            6,
            18,
            "the branch `develop` would deploy both",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    on: { tag: [\"v{semver}\"] }\n  b:\n    on: { tag: [\"v*\"] }\n",
            6,
            17,
            "the tag `v1.0.0` would deploy both",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    on: { tag: [\"{semver}\"] }\n  b:\n    on: { tag: [\"1.*\"] }\n",
            6,
            17,
            "the tag `1.0.0` would deploy both",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    on: { push: [x, x] }\n",
            4,
            21,
            "`x` is listed twice in `push`",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    on: pull_request\n    name: pr\n",
            5,
            5,
            "must hold `{number}` once",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    on: { push: [main] }\n    drafts: true\n",
            5,
            5,
            "`drafts` is for the pull-request environment",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    name: x{number}\n",
            4,
            5,
            "`name` is for the pull-request environment",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    production: yes\n",
            4,
            17,
            "`production` must be `true` or `false`, not text",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    url: www.example.com\n",
            4,
            10,
            "`url: www.example.com` is not a URL",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    url: ftp://example.com/\n",
            4,
            10,
            "must start with `https://`",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    required_checks: [ci, ci]\n",
            4,
            27,
            "`ci` is listed twice",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    required_checks: 3\n",
            4,
            22,
            "must be a list of text, not a number",
        ),
        (
            "version: 1\nenvironments:\n  Test:\n  test:\n",
            4,
            3,
            "`test` is the same environment as `Test` on line 3",
        ),
        (
            "version: 1\nenvironments:\n  a:\n  a:\n",
            4,
            3,
            "this key is already in the same mapping",
        ),
        (
            "version: 1\nenvironments:\n  a: [1]\n",
            3,
            6,
            "environment `a` must be a mapping of its settings, not a list",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    on: {}\n",
            4,
            9,
            "lists no branch and no tag",
        ),
        (
            "version: 1\nenvironments:\n  a:\n   on: x\n  b: [\n",
            6,
            1,
            "this is not valid YAML",
        ),
        ("- 1\n", 1, 1, "must be a mapping"),
        (
            "version: 1\nenvironments:\n  2024:\n",
            3,
            3,
            "a key must be text, not a number; put it in quotes",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    on: { push: [3] }\n",
            4,
            18,
            "each entry of `push` must be text, not a number",
        ),
        (
            "version: 1\nenvironments:\n  a:\n    on: { push: [\"\"] }\n",
            4,
            18,
            "a pattern cannot be empty",
        ),
        (
            "version: 1\nenvironments:\n  a:\n---\nversion: 1\n",
            5,
            1,
            "more than one YAML document",
        ),
    ];
    let mut wrong = Vec::new();
    for (i, (text, line, column, fragment)) in rows.iter().enumerate() {
        let errs = errors(text);
        match errs.iter().find(|e| e.message.contains(fragment)) {
            None => wrong.push(format!("row {i}: expected `{fragment}` in {errs:?}")),
            Some(found) if (found.line, found.column) != (*line, *column) => wrong.push(format!(
                "row {i}: `{fragment}` at {}:{}, expected {line}:{column}",
                found.line, found.column
            )),
            Some(found) => {
                assert!(
                    found.to_string().starts_with(&format!("line {line}: ")),
                    "{found}"
                );
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_mistake_is_reported_at_once() {
    let errs = errors(
        "version: 1\nenvironments:\n  a:\n    colour: red\n  b:\n    promote_from: c\n    url: nope\n",
    );
    let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
    assert_eq!(lines, [4, 6, 7], "{errs:?}");
    let shown = FileErrors(errs).to_string();
    assert_eq!(shown.lines().count(), 3, "{shown}");
}

#[test]
fn a_manual_only_environment_may_be_empty_and_names_may_be_anything_a_command_can_name() {
    let file = parse(
        "version: 1\nenvironments:\n  \"EU/Frankfurt(prod)\":\n    production: true\n  staging:\n  \"EU Frankfurt\":\n",
    );
    assert_eq!(file.environments[0].key, "EU/Frankfurt(prod)");
    assert_eq!(file.environments[1].trigger, None);
    assert_eq!(file.environments[2].key, "EU Frankfurt");
    for (key, needle) in [
        ("x".repeat(256), "longer than 255 characters"),
        ("\"a<b\"".to_owned(), "may not hold control characters"),
        (
            "\"EU  Frankfurt\"".to_owned(),
            "more than one space between words",
        ),
        ("\" EU Frankfurt\"".to_owned(), "a space at an end"),
        ("pr12".to_owned(), "a pull request's environment"),
    ] {
        let text = format!("version: 1\nenvironments:\n  {key}:\n");
        let found = errors(&text);
        assert!(found[0].message.contains(needle), "{key}: {found:?}");
        assert_eq!(found[0].line, 3, "{key}");
    }
}

// ---------------------------------------------------------------------------------------------
// The schema

pub(super) fn schema() -> serde_json::Value {
    let text = include_str!("../../../../docs/deploybot.schema.json");
    serde_json::from_str(text).expect("the schema is JSON")
}

pub(super) fn property_names(node: &serde_json::Value) -> Vec<String> {
    let mut names: Vec<String> = node["properties"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    names
}

pub(super) fn sorted(keys: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    v.sort();
    v
}

#[test]
fn the_schema_names_exactly_the_keys_the_parser_takes() {
    let schema = schema();
    assert_eq!(property_names(&schema), sorted(&TOP_KEYS));
    assert_eq!(schema["additionalProperties"], false);
    let env = &schema["$defs"]["environment"];
    assert_eq!(property_names(env), sorted(&ENVIRONMENT_KEYS));
    assert_eq!(env["additionalProperties"], false);
    let on = &schema["$defs"]["refs"];
    assert_eq!(property_names(on), sorted(&ON_KEYS));
    assert_eq!(on["additionalProperties"], false);
    assert_eq!(schema["properties"]["version"]["const"], 1);
    assert_eq!(env["properties"]["on"]["oneOf"][0]["const"], "pull_request");
}

#[test]
fn the_configuration_page_shows_the_example_and_it_parses() {
    let page = include_str!("../../../../docs/configuration.md");
    let block = page
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a yaml block");
    assert_eq!(block, EXAMPLE);
    parse(block);
}

/// Text outside parentheses: the tables' asides are not names.
fn without_asides(cell: &str) -> String {
    let mut depth = 0usize;
    cell.chars()
        .filter(|c| match c {
            '(' => {
                depth += 1;
                false
            }
            ')' => {
                depth = depth.saturating_sub(1);
                false
            }
            _ => depth == 0,
        })
        .collect()
}

fn code_spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

#[test]
fn the_configuration_page_pattern_tables_say_what_the_matcher_does() {
    let page = include_str!("../../../../docs/configuration.md");
    let section = page
        .split("### Patterns")
        .nth(1)
        .and_then(|rest| rest.split("\n### ").next())
        .expect("the Patterns section");
    let mut checked = 0;
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split(" | ").collect();
        let [first, matches, not_matches] = cells[..] else {
            panic!("three cells: {row}");
        };
        let pattern = code_spans(first)[0];
        let is_match = |name: &str| {
            if pattern.contains(SEMVER_PLACEHOLDER) {
                TagPattern::parse(pattern).expect("pattern").matches(name)
            } else {
                BranchPattern::parse(pattern)
                    .expect("pattern")
                    .matches(name, "")
            }
        };
        for name in code_spans(&without_asides(matches)) {
            assert!(is_match(name), "`{pattern}` should match `{name}`");
            checked += 1;
        }
        for name in code_spans(&without_asides(not_matches)) {
            assert!(!is_match(name), "`{pattern}` should not match `{name}`");
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} names checked");
}

// ---------------------------------------------------------------------------------------------
// Never panics

proptest! {
    /// The built-in `release*`, `release*/**` are exactly the old "starts with `release`".
    #[test]
    fn builtin_branches_are_the_old_prefix_rule(branch in "(release|main|rel|x)?[-a-z0-9./]{0,12}") {
        let old = branch.starts_with("release") || branch == "main";
        let new = matches!(
            WorkflowFile::builtin().decide(&push(&branch, "main")),
            Outcome::Deploy { .. }
        );
        prop_assert_eq!(old, new, "{}", branch);
    }

    #[test]
    fn any_text_is_answered_without_panicking(text in ".{0,400}") {
        let _ = WorkflowFile::parse(&text);
    }

    #[test]
    fn yaml_like_text_is_answered_without_panicking(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("version: 1\n"), Just("environments:\n"), Just("  a:\n"), Just("  b:\n"),
                Just("    on: pull_request\n"), Just("    on: { push: [default, \"r*\"] }\n"),
                Just("    on: { tag: [\"v{semver}\", \"{semver}\"] }\n"), Just("    promote_from: a\n"),
                Just("    name: \"pr{number}\"\n"), Just("    url: https://x/\n"), Just("    drafts: true\n"),
                Just("    required_checks: [ci]\n"), Just("[{"), Just("- "), Just("&x "), Just("*x\n"),
                Just("!!str "), Just("? "), Just(": "), Just("\t"), Just("\"\\u"), Just("---\n"),
                Just("{semver}"), Just("**/["), Just("\n"), Just("  "),
            ],
            0..40,
        )
    ) {
        let text: String = parts.concat();
        if let Ok(file) = WorkflowFile::parse(&text) {
            for event in [
                pr(1, "opened", true, true),
                push("r1", "main"),
                push("main", "main"),
                tag("v1.0.0"),
            ] {
                let _ = file.decide(&event);
            }
        }
    }
}

#[test]
fn deep_nesting_is_answered_without_overflowing_the_stack() {
    for depth in [1_000, 10_000, 32_000] {
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(WorkflowFile::parse(&text).is_err());
        let text = format!(
            "version: 1\nenvironments:\n  a:\n    url: {}1{}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        assert!(WorkflowFile::parse(&text).is_err());
        let text = format!("{}{}", "{a: ".repeat(depth), "}".repeat(depth));
        assert!(WorkflowFile::parse(&text).is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// The schema and the parser agree on files

/// The YAML text as the JSON value a schema validator would see.
pub(super) fn yaml_to_json(text: &str) -> serde_json::Value {
    fn convert(node: &MarkedYaml<'_>) -> serde_json::Value {
        use serde_json::Value;
        match &node.data {
            YamlData::Value(Scalar::Null) => Value::Null,
            YamlData::Value(Scalar::Boolean(b)) => Value::Bool(*b),
            YamlData::Value(Scalar::Integer(n)) => Value::from(*n),
            YamlData::Value(Scalar::FloatingPoint(f)) => Value::from(f.into_inner()),
            YamlData::Value(Scalar::String(s)) | YamlData::Representation(s, _, _) => {
                Value::String(s.to_string())
            }
            YamlData::Sequence(items) => Value::Array(items.iter().map(convert).collect()),
            YamlData::Mapping(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let key = match convert(k) {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        (key, convert(v))
                    })
                    .collect(),
            ),
            other => panic!("not in the table's files: {other:?}"),
        }
    }
    let docs = MarkedYaml::load_from_str(text).expect("the table's files are YAML");
    convert(&docs[0])
}

/// A validator for the keywords docs/deploybot.schema.json uses, but `pattern` and `format`
/// (the table's files do not depend on them).
pub(super) fn schema_accepts(
    schema: &serde_json::Value,
    root: &serde_json::Value,
    value: &serde_json::Value,
) -> bool {
    use serde_json::Value;
    let Some(obj) = schema.as_object() else {
        return schema.as_bool().unwrap_or(true);
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        let target = r
            .trim_start_matches("#/")
            .split('/')
            .fold(root, |node, part| &node[part]);
        if !schema_accepts(target, root, value) {
            return false;
        }
    }
    if let Some(t) = obj.get("type").and_then(Value::as_str) {
        let ok = match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            "integer" => value.is_i64() || value.is_u64(),
            other => panic!("type {other} not handled"),
        };
        if !ok {
            return false;
        }
    }
    if let Some(c) = obj.get("const")
        && c != value
    {
        return false;
    }
    if let Some(options) = obj.get("oneOf").and_then(Value::as_array)
        && options
            .iter()
            .filter(|o| schema_accepts(o, root, value))
            .count()
            != 1
    {
        return false;
    }
    if let Some(s) = value.as_str() {
        let n = s.chars().count() as u64;
        if obj
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| n < m)
            || obj
                .get("maxLength")
                .and_then(Value::as_u64)
                .is_some_and(|m| n > m)
        {
            return false;
        }
    }
    if let Some(items) = value.as_array() {
        if obj
            .get("minItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| (items.len() as u64) < m)
        {
            return false;
        }
        if let Some(item_schema) = obj.get("items")
            && !items.iter().all(|i| schema_accepts(item_schema, root, i))
        {
            return false;
        }
        if obj.get("uniqueItems") == Some(&Value::Bool(true))
            && items
                .iter()
                .enumerate()
                .any(|(i, a)| items[..i].contains(a))
        {
            return false;
        }
    }
    if let Some(map) = value.as_object() {
        if obj
            .get("minProperties")
            .and_then(Value::as_u64)
            .is_some_and(|m| (map.len() as u64) < m)
            || obj
                .get("maxProperties")
                .and_then(Value::as_u64)
                .is_some_and(|m| (map.len() as u64) > m)
        {
            return false;
        }
        if let Some(required) = obj.get("required").and_then(Value::as_array)
            && !required
                .iter()
                .filter_map(Value::as_str)
                .all(|k| map.contains_key(k))
        {
            return false;
        }
        let properties = obj.get("properties").and_then(Value::as_object);
        for (k, v) in map {
            if let Some(names) = obj.get("propertyNames")
                && !schema_accepts(names, root, &Value::String(k.clone()))
            {
                return false;
            }
            match properties.and_then(|p| p.get(k)) {
                Some(s) => {
                    if !schema_accepts(s, root, v) {
                        return false;
                    }
                }
                None => {
                    if let Some(extra) = obj.get("additionalProperties")
                        && !schema_accepts(extra, root, v)
                    {
                        return false;
                    }
                }
            }
        }
    }
    true
}

#[test]
fn the_schema_and_the_parser_agree_on_files() {
    const BOTH: u8 = 0; // both accept, or both refuse
    const PARSER_ONLY: u8 = 1; // the schema accepts; only deploybot can tell it is wrong
    let env = |body: &str| format!("version: 1\nenvironments:\n{body}");
    let rows: Vec<(String, bool, u8)> = vec![
        // (file, valid, who can tell)
        (EXAMPLE.to_owned(), true, BOTH),
        (BUILTIN_AS_A_FILE.to_owned(), true, BOTH),
        (env("  staging:\n"), true, BOTH),
        (
            env("  a:\n    on: { push: main, tag: \"v*\" }\n"),
            true,
            BOTH,
        ),
        (env("  a:\n    required_checks: ci\n"), true, BOTH),
        (
            env("  a:\n    on: pull_request\n    name: review-{number}\n"),
            true,
            BOTH,
        ),
        ("version: 2\nenvironments:\n  a:\n".to_owned(), false, BOTH),
        (
            "version: \"1\"\nenvironments:\n  a:\n".to_owned(),
            false,
            BOTH,
        ),
        ("environments:\n  a:\n".to_owned(), false, BOTH),
        ("version: 1\n".to_owned(), false, BOTH),
        ("version: 1\nenvironments: {}\n".to_owned(), false, BOTH),
        ("version: 1\nenvironments: []\n".to_owned(), false, BOTH),
        (
            "version: 1\nextra: 1\nenvironments:\n  a:\n".to_owned(),
            false,
            BOTH,
        ),
        (env("  a:\n    colour: red\n"), false, BOTH),
        (env("  a: 3\n"), false, BOTH),
        (env("  a:\n    on: push\n"), false, BOTH),
        (env("  a:\n    on: {}\n"), false, BOTH),
        (env("  a:\n    on: { branch: main }\n"), false, BOTH),
        (env("  a:\n    on: { push: [1] }\n"), false, BOTH),
        (env("  a:\n    on: { push: [\"\"] }\n"), false, BOTH),
        (env("  a:\n    on: { push: [x, x] }\n"), false, BOTH),
        (env("  a:\n    production: \"true\"\n"), false, BOTH),
        (env("  a:\n    drafts: 1\n"), false, BOTH),
        (env("  a:\n    required_checks: [ci, ci]\n"), false, BOTH),
        (env("  a:\n    required_checks: [\"\"]\n"), false, BOTH),
        (env("  a:\n    url: 42\n"), false, BOTH),
        (env("  a:\n    promote_from: \"\"\n"), false, BOTH),
        (env("  a:\n    promote_from: b\n"), false, PARSER_ONLY),
        (env("  a:\n    promote_from: a\n"), false, PARSER_ONLY),
        (
            env("  a:\n    on: { push: [x] }\n  b:\n    on: { push: [x] }\n"),
            false,
            PARSER_ONLY,
        ),
        (
            env("  a:\n    on: pull_request\n  b:\n    on: pull_request\n"),
            false,
            PARSER_ONLY,
        ),
        (
            env("  a:\n    on: { push: [\"[x\"] }\n"),
            false,
            PARSER_ONLY,
        ),
        (
            env("  a:\n    on: { tag: [\"{semver}v\"] }\n"),
            false,
            PARSER_ONLY,
        ),
        (env("  a:\n    drafts: true\n"), false, PARSER_ONLY),
        (env("  Test:\n  test:\n"), false, PARSER_ONLY),
        (
            env("  a:\n    on: { push: [develop] }\n  b:\n    on: { push: [\"dev*\"] }\n"),
            false,
            PARSER_ONLY,
        ),
        (
            env("  a:\n    on: { push: [\"r-[0-9]*\"] }\n  b:\n    on: { push: [\"r-[1-2]*\"] }\n"),
            true,
            BOTH,
        ),
        (env("  a:\n    backend: { github_actions: }\n"), true, BOTH),
        (
            env("  a:\n    backend: { github_actions: { workflow: ship.yml } }\n"),
            true,
            BOTH,
        ),
        (
            env("  a:\n    backend: { circleci: { project_slug: bb/acme/web } }\n"),
            true,
            BOTH,
        ),
        (env("  a:\n    backend: {}\n"), false, BOTH),
        (
            env("  a:\n    backend: { circleci: , github_actions: }\n"),
            false,
            BOTH,
        ),
        (env("  a:\n    backend: { travis: }\n"), false, BOTH),
        (
            env("  a:\n    backend: { circleci: { branch: x } }\n"),
            false,
            BOTH,
        ),
        (
            env("  a:\n    backend: { github_actions: ship.yml }\n"),
            false,
            BOTH,
        ),
        (
            env("  a:\n    backend: { circleci: { project_slug: circleci/o/p } }\n"),
            false,
            PARSER_ONLY,
        ),
        (
            env("  a:\n    backend: { github_actions: { workflow: ship } }\n"),
            false,
            PARSER_ONLY,
        ),
    ];
    let schema = schema();
    for (text, valid, who) in rows {
        let parser = WorkflowFile::parse(&text);
        assert_eq!(parser.is_ok(), valid, "parser on\n{text}\n{parser:?}");
        let by_schema = schema_accepts(&schema, &schema, &yaml_to_json(&text));
        let want = if who == PARSER_ONLY { true } else { valid };
        assert_eq!(by_schema, want, "schema on\n{text}");
    }
}
