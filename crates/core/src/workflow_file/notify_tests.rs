//! The workflow file's `notify:`.

use super::tests::{property_names, schema, schema_accepts, sorted, yaml_to_json};
use super::*;
use crate::notify::{ChannelRef, DIRECT_KEYS, NOTIFY_KEYS, Outcome, ROUTE_KEYS, Recipient};

/// The example of docs/notifications.md.
fn example() -> String {
    let page = include_str!("../../../../docs/notifications.md");
    page.split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a yaml block")
        .to_owned()
}

fn refused(text: &str) -> Vec<(usize, String)> {
    match WorkflowFile::parse(text) {
        Ok(f) => panic!("should be refused:\n{text}\nparsed as {f:?}"),
        Err(e) => e.0.into_iter().map(|e| (e.line, e.message)).collect(),
    }
}

const HEAD: &str = "version: 1\nenvironments:\n  pr:\n    on: pull_request\n  staging:\n  production:\n    production: true\nnotify:\n";

#[test]
fn the_documented_example_parses_into_its_routes() {
    let file = WorkflowFile::parse(&example()).expect("the example parses");
    let notify = &file.notify;
    assert!(notify.threads);
    assert_eq!(notify.routes.len(), 3);
    let prod = notify.routing("production");
    assert!(prod.bound_channel);
    assert_eq!(
        prod.mirrors,
        vec![ChannelRef::parse("#prod-deploys").expect("valid")]
    );
    assert_eq!(prod.mention_on_failure, vec!["oncall".to_owned()]);
    assert!(
        prod.direct
            .contains(&(Outcome::Failure, Recipient::Authors))
    );
    let pr = notify.routing("pr42");
    assert!(!pr.bound_channel);
    assert_eq!(
        pr.direct,
        vec![
            (Outcome::Failure, Recipient::Requester),
            (Outcome::Failure, Recipient::Author)
        ]
    );
    assert!(notify.routing("staging").bound_channel);
}

#[test]
fn no_notify_key_routes_nothing() {
    let file = WorkflowFile::parse("version: 1\nenvironments:\n  staging:\n").expect("parses");
    assert_eq!(file.notify, crate::notify::NotifySpec::default());
    assert_eq!(
        WorkflowFile::builtin().notify,
        crate::notify::NotifySpec::default()
    );
}

#[test]
fn mistakes_are_reported_at_their_line() {
    let cases: [(&str, usize, &str); 12] = [
        ("  routes: 3\n", 9, "`routes` must be a list of routes"),
        ("  colour: red\n", 9, "`colour` is not a key of `notify`"),
        (
            "  threads: yes please\n",
            9,
            "`threads` must be `true` or `false`",
        ),
        (
            "  routes:\n    - channels: [\"#ops\"]\n",
            10,
            "a route needs `environments",
        ),
        (
            "  routes:\n    - environments: [prodution]\n      channels: [\"#ops\"]\n",
            10,
            "`prodution` names no environment",
        ),
        (
            "  routes:\n    - environments: [production]\n      channels: [prod-deploys]\n",
            11,
            "not a channel",
        ),
        (
            "  routes:\n    - environments: [production]\n      channel: \"#ops\"\n",
            11,
            "`channel` takes only `none`",
        ),
        (
            "  routes:\n    - environments: [production]\n      direct: { on: [failure] }\n",
            11,
            "`direct` needs both `on` and `to`",
        ),
        (
            "  routes:\n    - environments: [production]\n      direct: { on: [explosion], to: [requester] }\n",
            11,
            "`explosion` is not an outcome",
        ),
        (
            "  routes:\n    - environments: [production]\n      direct: { on: [failure], to: [everyone] }\n",
            11,
            "`everyone` is not a recipient",
        ),
        (
            "  routes:\n    - environments: [production]\n      mention_on_failure: [\"On Call\"]\n",
            11,
            "not a Slack user group handle",
        ),
        (
            "  routes:\n    - environments: [production]\n",
            10,
            "this route does nothing",
        ),
    ];
    for (body, line, needle) in cases {
        let text = format!("{HEAD}{body}");
        let found = refused(&text);
        assert!(
            found.iter().any(|(l, m)| *l == line && m.contains(needle)),
            "{body}: want line {line} `{needle}`, got {found:?}"
        );
    }
}

#[test]
fn pull_request_environment_names_and_patterns_are_accepted() {
    for envs in [
        "[pr42]",
        "[\"pr*\"]",
        "[\"PR*\"]",
        "[\"*\"]",
        "[Production]",
    ] {
        let text = format!("{HEAD}  routes:\n    - environments: {envs}\n      channel: none\n");
        let file = WorkflowFile::parse(&text).unwrap_or_else(|e| panic!("{envs}: {e}"));
        assert_eq!(file.notify.routes.len(), 1, "{envs}");
    }
}

#[test]
fn the_schema_knows_the_notify_keys_and_agrees_with_the_parser() {
    let schema = schema();
    assert_eq!(
        property_names(&schema["$defs"]["notify"]),
        sorted(&NOTIFY_KEYS)
    );
    assert_eq!(
        property_names(&schema["$defs"]["route"]),
        sorted(&ROUTE_KEYS)
    );
    assert_eq!(
        property_names(&schema["$defs"]["route"]["properties"]["direct"]),
        sorted(&DIRECT_KEYS)
    );
    const BOTH: bool = false;
    const PARSER_ONLY: bool = true;
    let route = "  routes:\n    - environments: [production]\n";
    let rows: Vec<(String, bool, bool)> = vec![
        (example(), true, BOTH),
        (HEAD.to_owned(), true, BOTH),
        (format!("{HEAD}  threads: true\n"), true, BOTH),
        (format!("{HEAD}  threads: 1\n"), false, BOTH),
        (format!("{HEAD}{route}      channel: none\n"), true, BOTH),
        (
            format!("{HEAD}{route}      channel: elsewhere\n"),
            false,
            BOTH,
        ),
        (
            format!("{HEAD}{route}      channels: \"#ops\"\n"),
            true,
            BOTH,
        ),
        (
            format!("{HEAD}{route}      direct: {{ on: failure, to: [requester, authors] }}\n"),
            true,
            BOTH,
        ),
        (
            format!("{HEAD}{route}      direct: {{ on: [failure], to: [boss] }}\n"),
            false,
            BOTH,
        ),
        (
            format!("{HEAD}{route}      direct: {{ to: [requester] }}\n"),
            false,
            BOTH,
        ),
        (format!("{HEAD}{route}      colour: red\n"), false, BOTH),
        (
            format!("{HEAD}  routes:\n    - channels: [\"#ops\"]\n"),
            false,
            BOTH,
        ),
        (
            format!("{HEAD}  routes:\n    - environments: [nowhere]\n      channel: none\n"),
            false,
            PARSER_ONLY,
        ),
        (
            format!("{HEAD}{route}      channels: [ops]\n"),
            false,
            PARSER_ONLY,
        ),
        (format!("{HEAD}{route}"), false, PARSER_ONLY),
    ];
    for (text, valid, parser_only) in rows {
        let parser = WorkflowFile::parse(&text);
        assert_eq!(parser.is_ok(), valid, "parser on\n{text}\n{parser:?}");
        let by_schema = schema_accepts(&schema, &schema, &yaml_to_json(&text));
        let want = if parser_only { true } else { valid };
        assert_eq!(by_schema, want, "schema on\n{text}");
    }
}
