//! The workflow file's `freezes:`.

use super::tests::{property_names, schema, schema_accepts, sorted, yaml_to_json};
use super::*;
use crate::Timestamp;
use crate::freeze::{Schedule, frozen_at};

/// The freeze example of docs/configuration.md.
const FREEZES: &str = r#"version: 1
environments:
  staging:
  production:
    production: true
freezes:
  - name: weekend
    environments: [production]
    timezone: Europe/London               # IANA name; required
    weekly: { from: "Fri 16:00", until: "Mon 08:00" }
  - name: black-friday
    environments: [production, staging]
    timezone: America/New_York
    from: "2026-11-26T00:00"
    until: "2026-12-01T09:00"
    reason: peak traffic
"#;

fn at(text: &str) -> Timestamp {
    let t: jiff::Timestamp = text.parse().expect("an instant");
    Timestamp::from_millis(t.as_millisecond())
}

fn refused(text: &str) -> Vec<(usize, String)> {
    match WorkflowFile::parse(text) {
        Ok(f) => panic!("should be refused:\n{text}\nparsed as {f:?}"),
        Err(e) => e.0.into_iter().map(|e| (e.line, e.message)).collect(),
    }
}

#[test]
fn the_freeze_example_parses_and_freezes() {
    let file = WorkflowFile::parse(FREEZES).expect("parses");
    let names: Vec<(&str, usize)> = file
        .freezes
        .iter()
        .map(|w| (w.name.as_str(), w.line))
        .collect();
    assert_eq!(names, [("weekend", 7), ("black-friday", 11)]);
    assert!(matches!(file.freezes[0].schedule, Schedule::Weekly { .. }));
    assert_eq!(file.freezes[1].environments, ["production", "staging"]);
    assert_eq!(file.freezes[1].reason.as_deref(), Some("peak traffic"));
    let f = frozen_at(&file.freezes, "staging", at("2026-11-27T12:00Z")).expect("frozen");
    assert_eq!(f.until, at("2026-12-01T14:00Z"));
    assert_eq!(
        frozen_at(&file.freezes, "staging", at("2026-12-05T12:00Z")),
        None
    );
    assert!(frozen_at(&file.freezes, "production", at("2026-12-05T12:00Z")).is_some());
    // A file without `freezes` has none.
    assert!(WorkflowFile::builtin().freezes.is_empty());
}

#[test]
fn the_configuration_page_shows_the_freeze_example() {
    let page = include_str!("../../../../docs/configuration.md");
    let block = page
        .split("## Freeze windows")
        .nth(1)
        .and_then(|rest| rest.split("```yaml\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("a yaml block in the Freeze windows section");
    assert_eq!(block, FREEZES);
}

#[test]
fn mistakes_in_freezes_are_told_on_their_line() {
    let head = "version: 1\nenvironments:\n  staging:\n  production:\nfreezes:\n";
    let rows: [(&str, usize, &str); 16] = [
        ("  - weekend\n", 6, "must be a mapping"),
        ("  - name: w\n", 6, "needs `environments"),
        (
            "  - name: w\n    environments: [production]\n    weekly: { from: \"Fri 16:00\", until: \"Mon 08:00\" }\n",
            6,
            "needs `timezone:`",
        ),
        (
            "  - name: w\n    environments: [production]\n    timezone: Europe/Londres\n    weekly: { from: \"Fri 16:00\", until: \"Mon 08:00\" }\n",
            8,
            "not an IANA time zone",
        ),
        (
            "  - name: w\n    environments: [production]\n    timezone: \"+01:00\"\n    weekly: { from: \"Fri 16:00\", until: \"Mon 08:00\" }\n",
            8,
            "not an IANA time zone",
        ),
        (
            "  - name: w\n    environments: [prod]\n    timezone: UTC\n    weekly: { from: \"Fri 16:00\", until: \"Mon 08:00\" }\n",
            7,
            "`prod` names no environment; the environments are staging, production",
        ),
        (
            "  - name: w\n    environments: [production]\n    timezone: UTC\n    weekly: { from: \"Friday at 4\", until: \"Mon 08:00\" }\n",
            9,
            "write it as `Fri 16:00`",
        ),
        (
            "  - name: w\n    environments: [production]\n    timezone: UTC\n    weekly: { from: \"Fri 16:00\" }\n",
            9,
            "needs both `from` and `until`",
        ),
        (
            "  - name: w\n    environments: [production]\n    timezone: UTC\n    weekly: { from: \"Fri 16:00\", until: \"fri 16:00\" }\n",
            9,
            "starts and ends at the same time",
        ),
        (
            "  - name: w\n    environments: [production]\n    timezone: UTC\n",
            6,
            "needs `weekly:",
        ),
        (
            "  - name: w\n    environments: [production]\n    timezone: UTC\n    from: \"2026-12-01T09:00\"\n    until: \"2026-11-26T00:00\"\n",
            10,
            "`until` must come after `from`",
        ),
        (
            "  - name: w\n    environments: [production]\n    timezone: UTC\n    from: \"2026-12-01 09:00\"\n    until: \"2026-12-02T00:00\"\n",
            9,
            "write it as `2026-11-26T09:00`",
        ),
        (
            "  - name: w\n    environments: [production]\n    timezone: UTC\n    from: \"2026-12-01T09:00\"\n",
            6,
            "needs both `from` and `until`",
        ),
        (
            "  - name: w\n    environments: [production]\n    timezone: UTC\n    weekly: { from: \"Fri 16:00\", until: \"Mon 08:00\" }\n    from: \"2026-12-01T09:00\"\n    until: \"2026-12-02T09:00\"\n",
            9,
            "both `weekly` and `from`/`until`",
        ),
        (
            "  - name: w\n    environments: [production]\n    timezone: UTC\n    weekly: { from: \"Fri 16:00\", until: \"Mon 08:00\" }\n    colour: blue\n",
            10,
            "`colour` is not a key of a freeze window",
        ),
        (
            "  - name: w\n    environments: [production]\n    timezone: UTC\n    weekly: { from: \"Fri 16:00\", until: \"Mon 08:00\" }\n  - name: w\n    environments: [staging]\n    timezone: UTC\n    weekly: { from: \"Sat 16:00\", until: \"Mon 08:00\" }\n",
            10,
            "already named on line 6",
        ),
    ];
    for (body, line, needle) in rows {
        let text = format!("{head}{body}");
        let found = refused(&text);
        assert!(
            found.iter().any(|(l, m)| *l == line && m.contains(needle)),
            "want line {line} `{needle}` in\n{text}\ngot {found:?}"
        );
    }
    assert_eq!(
        refused("version: 1\nenvironments:\n  a:\nfreezes: 3\n"),
        [(
            4,
            "`freezes` must be a list of windows (`- name: …`), not a number".to_owned()
        )]
    );
}

#[test]
fn the_schema_knows_the_freeze_keys_and_agrees_with_the_parser() {
    let schema = schema();
    let freeze = &schema["$defs"]["freeze"];
    assert_eq!(property_names(freeze), sorted(&FREEZE_KEYS));
    assert_eq!(freeze["additionalProperties"], false);
    let weekly = &freeze["properties"]["weekly"];
    assert_eq!(property_names(weekly), sorted(&WEEKLY_KEYS));
    const BOTH: bool = false;
    const PARSER_ONLY: bool = true;
    let head = "version: 1\nenvironments:\n  staging:\n  production:\nfreezes:\n";
    let w = "  - name: w\n    environments: [production]\n    timezone: UTC\n";
    let rows: Vec<(String, bool, bool)> = vec![
        (FREEZES.to_owned(), true, BOTH),
        (head.to_owned(), true, BOTH),
        (format!("{head}  []\n"), true, BOTH),
        (
            format!("{head}{w}    weekly: {{ from: \"Fri 16:00\", until: \"Mon 08:00\" }}\n"),
            true,
            BOTH,
        ),
        (
            format!("{head}{w}    from: \"2026-01-01T00:00\"\n    until: \"2026-01-02T00:00\"\n"),
            true,
            BOTH,
        ),
        (format!("{head}{w}"), false, BOTH),
        (
            format!("{head}{w}    from: \"2026-01-01T00:00\"\n"),
            false,
            BOTH,
        ),
        (
            format!("{head}{w}    weekly: {{ from: \"Fri 16:00\" }}\n"),
            false,
            BOTH,
        ),
        (
            format!(
                "{head}{w}    weekly: {{ from: \"Fri 16:00\", until: \"Mon 08:00\" }}\n    from: \"2026-01-01T00:00\"\n    until: \"2026-01-02T00:00\"\n"
            ),
            false,
            BOTH,
        ),
        (
            format!(
                "{head}{w}    weekly: {{ from: \"Fri 16:00\", until: \"Mon 08:00\" }}\n    colour: red\n"
            ),
            false,
            BOTH,
        ),
        (
            format!(
                "{head}  - name: w\n    environments: [production]\n    weekly: {{ from: \"Fri 16:00\", until: \"Mon 08:00\" }}\n"
            ),
            false,
            BOTH,
        ),
        (
            format!(
                "{head}{w}    weekly: {{ from: \"Fri 16:00\", until: \"Mon 08:00\", at: x }}\n"
            ),
            false,
            BOTH,
        ),
        (
            format!(
                "{head}  - name: w\n    environments: [nowhere]\n    timezone: UTC\n    weekly: {{ from: \"Fri 16:00\", until: \"Mon 08:00\" }}\n"
            ),
            false,
            PARSER_ONLY,
        ),
        (
            format!(
                "{head}  - name: w\n    environments: [production]\n    timezone: Mars/Base\n    weekly: {{ from: \"Fri 16:00\", until: \"Mon 08:00\" }}\n"
            ),
            false,
            PARSER_ONLY,
        ),
        (
            format!("{head}{w}    from: \"2026-01-02T00:00\"\n    until: \"2026-01-01T00:00\"\n"),
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
fn the_policy_freezes_an_environment_by_the_file_and_by_hand() {
    use crate::freeze::ManualFreeze;
    use crate::policy::Policy;
    use crate::{Environment, SlackUserId};
    let policy = Policy::from_file(WorkflowFile::parse(FREEZES).expect("parses"));
    let saturday = at("2026-06-06T12:00Z");
    let f = policy
        .frozen(&Environment::Production, None, saturday)
        .expect("the weekend freezes production");
    assert_eq!(f.name, "weekend");
    assert_eq!(policy.frozen(&Environment::Staging, None, saturday), None);
    let by_hand = ManualFreeze {
        by: SlackUserId::parse("UANA").expect("valid"),
        from: saturday,
        until: saturday.plus_secs(3600),
        reason: Some("incident".into()),
    };
    let f = policy
        .frozen(&Environment::Staging, Some(&by_hand), saturday)
        .expect("frozen by hand");
    assert_eq!(f.name, "frozen by <@UANA>");
    assert_eq!(f.until, saturday.plus_secs(3600));
    assert_eq!(
        policy.frozen(
            &Environment::Staging,
            Some(&by_hand),
            saturday.plus_secs(3600)
        ),
        None
    );
}
