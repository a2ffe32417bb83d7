//! The workflow file's `approvals:`.

use super::tests::{property_names, schema, schema_accepts, sorted, yaml_to_json};
use super::*;
use crate::approval::{Exclude, Team};
use std::time::Duration;

/// The approvals example of docs/configuration.md.
const APPROVALS: &str = r#"version: 1
environments:
  staging:
  production:
    production: true
    on:
      tag: ["v{semver}"]
    approvals:
      rules:                              # every rule must be satisfied
        - name: leads
          from: { users: [ada-l, grace-h] }        # GitHub logins; or teams: [acme/leads]
          count: 1
        - name: qa
          from: { teams: [acme/qa] }
          count: 1
      exclude: [requester, authors]       # who counts as "self": default [requester]
      expires_after: 4h
      notify_approvers: true
"#;

fn refused(text: &str) -> Vec<(usize, String)> {
    match WorkflowFile::parse(text) {
        Ok(f) => panic!("should be refused:\n{text}\nparsed as {f:?}"),
        Err(e) => e.0.into_iter().map(|e| (e.line, e.message)).collect(),
    }
}

#[test]
fn the_approvals_example_parses() {
    let file = WorkflowFile::parse(APPROVALS).expect("parses");
    assert!(
        file.environment("staging")
            .expect("staging")
            .approvals
            .is_none()
    );
    let a = file
        .environment("production")
        .and_then(|e| e.approvals.clone())
        .expect("production has approvals");
    let names: Vec<(&str, u32)> = a.rules.iter().map(|r| (r.name.as_str(), r.count)).collect();
    assert_eq!(names, [("leads", 1), ("qa", 1)]);
    assert_eq!(
        a.rules[0]
            .users
            .iter()
            .map(|u| u.as_str())
            .collect::<Vec<_>>(),
        ["ada-l", "grace-h"]
    );
    assert_eq!(a.rules[1].teams, [Team::parse("acme/qa").expect("team")]);
    assert_eq!(
        a.exclude,
        Exclude {
            requester: true,
            authors: true
        }
    );
    assert_eq!(a.expires_after, Duration::from_secs(4 * 3600));
    assert!(a.notify_approvers);
    let policy = crate::policy::Policy::from_file(file);
    assert!(policy.approvals(&crate::Environment::Production).is_some());
    assert!(policy.approvals(&crate::Environment::Staging).is_none());
}

#[test]
fn defaults_exclude_the_requester_and_expire_in_a_day() {
    let text = "version: 1\nenvironments:\n  production:\n    approvals:\n      rules:\n        - name: leads\n          from: { users: [ada-l] }\n";
    let file = WorkflowFile::parse(text).expect("parses");
    let a = file.environments[0].approvals.clone().expect("approvals");
    assert_eq!(a.exclude, Exclude::default());
    assert_eq!(a.rules[0].count, 1, "count defaults to 1");
    assert_eq!(a.expires_after, crate::approval::DEFAULT_EXPIRES_AFTER);
    assert!(!a.notify_approvers);
}

#[test]
fn mistakes_are_told_with_their_line() {
    let head = "version: 1\nenvironments:\n  production:\n    approvals:\n";
    let cases: Vec<(String, Vec<(usize, &str)>)> = vec![
        (
            format!("{head}      rules: []\n"),
            vec![(
                5,
                "`approvals` of `production` has no rules; remove `approvals` if nobody needs to approve",
            )],
        ),
        (
            format!("{head}      expires_after: 4h\n"),
            vec![(
                5,
                "`approvals` of `production` needs `rules:`, a list of `- name: …` with `from` and `count`",
            )],
        ),
        (
            format!(
                "{head}      rules:\n        - name: leads\n          from: {{ users: [ada-l] }}\n          count: 2\n"
            ),
            vec![(7, "rule `leads` needs 2 approvals but names only 1 person")],
        ),
        (
            format!(
                "{head}      rules:\n        - name: leads\n          from: {{ users: [ada-l] }}\n        - name: leads\n          from: {{ users: [bo] }}\n"
            ),
            vec![(
                8,
                "the rule `leads` is already named on line 6; give each rule its own name",
            )],
        ),
        (
            format!("{head}      rules:\n        - name: qa\n          from: {{ teams: [qa] }}\n"),
            vec![(
                7,
                "`qa` is not a team; write it as `organisation/team-slug`, e.g. `acme/qa`",
            )],
        ),
        (
            format!(
                "{head}      rules:\n        - name: qa\n          from: {{ teams: [acme/qa] }}\n          count: 0\n"
            ),
            vec![(
                8,
                "`count: 0` must be between 1 and 100: how many approvals the rule needs",
            )],
        ),
        (
            format!(
                "{head}      rules:\n        - name: qa\n          from: {{ teams: [acme/qa] }}\n      exclude: [requester, managers]\n"
            ),
            vec![(
                8,
                "`managers` is not something `exclude` knows; it lists requester and authors",
            )],
        ),
        (
            format!(
                "{head}      rules:\n        - name: qa\n          from: {{ teams: [acme/qa] }}\n      expires_after: soon\n"
            ),
            vec![(8, "`expires_after`: ")],
        ),
        (
            format!("{head}      rules:\n        - name: qa\n          from: {{ }}\n"),
            vec![(
                7,
                "rule `qa` names nobody: list GitHub logins under `users` or teams (`org/team`) under `teams`",
            )],
        ),
        (
            format!(
                "{head}      rules:\n        - name: qa\n          from: {{ teams: [acme/qa] }}\n      approve_own: true\n"
            ),
            vec![(
                8,
                "`approve_own` is not a key of `approvals` of `production`; the keys are rules, exclude, expires_after, notify_approvers",
            )],
        ),
        (
            format!("{head}      - leads\n"),
            vec![(
                5,
                "`approvals` of `production` must be a mapping with `rules:` (and optionally `exclude`, `expires_after`, `notify_approvers`), not a list",
            )],
        ),
    ];
    for (text, want) in cases {
        let got = refused(&text);
        assert_eq!(got.len(), want.len(), "{text}\n{got:?}");
        for ((line, message), (want_line, want_message)) in got.iter().zip(&want) {
            assert_eq!(line, want_line, "{text}\n{message}");
            assert!(message.starts_with(want_message), "{text}\n{message}");
        }
    }
}

#[test]
fn the_schema_knows_the_approval_keys_and_agrees_with_the_parser() {
    let schema = schema();
    let approvals = &schema["$defs"]["approvals"];
    assert_eq!(property_names(approvals), sorted(&APPROVALS_KEYS));
    assert_eq!(approvals["additionalProperties"], false);
    let rule = &schema["$defs"]["approval_rule"];
    assert_eq!(property_names(rule), sorted(&APPROVAL_RULE_KEYS));
    assert_eq!(
        property_names(&rule["properties"]["from"]),
        sorted(&APPROVAL_FROM_KEYS)
    );
    const BOTH: bool = false;
    const PARSER_ONLY: bool = true;
    let head = "version: 1\nenvironments:\n  production:\n    approvals:\n";
    let rule = "      rules:\n        - name: qa\n          from: { teams: [acme/qa] }\n";
    let rows: Vec<(String, bool, bool)> = vec![
        (APPROVALS.to_owned(), true, BOTH),
        (format!("{head}{rule}"), true, BOTH),
        (
            format!("{head}{rule}      exclude: [authors]\n"),
            true,
            BOTH,
        ),
        (
            format!("{head}{rule}      exclude: [managers]\n"),
            false,
            BOTH,
        ),
        (format!("{head}{rule}      colour: red\n"), false, BOTH),
        (format!("{head}      expires_after: 4h\n"), false, BOTH),
        (format!("{head}      rules: []\n"), false, BOTH),
        (
            format!("{head}      rules:\n        - name: qa\n          from: {{ groups: [x] }}\n"),
            false,
            BOTH,
        ),
        (
            format!("{head}      rules:\n        - name: qa\n          from: {{ teams: [qa] }}\n"),
            false,
            PARSER_ONLY,
        ),
        (
            format!("{head}      rules:\n        - from: {{ teams: [acme/qa] }}\n"),
            false,
            BOTH,
        ),
        (
            format!("{head}{rule}      expires_after: 4 hours\n"),
            false,
            PARSER_ONLY,
        ),
        (
            format!(
                "{head}      rules:\n        - name: l\n          from: {{ users: [a] }}\n          count: 2\n"
            ),
            false,
            PARSER_ONLY,
        ),
    ];
    for (text, valid, parser_only) in rows {
        let parser = WorkflowFile::parse(&text);
        assert_eq!(parser.is_ok(), valid, "parser on\n{text}\n{parser:?}");
        let by_schema = schema_accepts(&schema, &schema, &yaml_to_json(&text));
        let want = if parser_only { true } else { valid };
        assert_eq!(by_schema, want, "schema on\n{text}");
    }
}

#[test]
fn the_configuration_page_shows_the_approvals_example() {
    let page = include_str!("../../../../docs/configuration.md");
    let block = page
        .split("## Approvals")
        .nth(1)
        .and_then(|rest| rest.split("```yaml\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("a yaml block in the Approvals section");
    assert_eq!(block, APPROVALS);
}
