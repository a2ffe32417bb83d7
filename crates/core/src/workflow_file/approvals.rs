//! An environment's `approvals:` ([`crate::approval::ApprovalPolicy`]): rules, `exclude`,
//! `expires_after`, `notify_approvers`, every mistake reported with its line.

use super::{Errors, Node, entries, expect_bool, expect_str, expect_str_list, kind, unknown_key};
use crate::GithubLogin;
use crate::approval::{ApprovalPolicy, ApprovalRule, DEFAULT_EXPIRES_AFTER, Exclude, Team};
use saphyr::{Scalar, YamlData};

/// The keys of an environment's `approvals`.
pub const APPROVALS_KEYS: [&str; 4] = ["rules", "exclude", "expires_after", "notify_approvers"];
/// The keys of one approval rule.
pub const APPROVAL_RULE_KEYS: [&str; 3] = ["name", "from", "count"];
/// The keys of a rule's `from`.
pub const APPROVAL_FROM_KEYS: [&str; 2] = ["users", "teams"];
/// What `exclude` may list.
pub const EXCLUDE_VALUES: [&str; 2] = ["requester", "authors"];

/// Reads `approvals:` of environment `env`.
pub(super) fn parse_approvals(
    env: &str,
    node: &Node<'_>,
    errors: &mut Errors,
) -> Option<ApprovalPolicy> {
    if !matches!(node.data, YamlData::Mapping(_)) {
        errors.at(
            node,
            format!(
                "`approvals` of `{env}` must be a mapping with `rules:` (and optionally `exclude`, `expires_after`, `notify_approvers`), not {}",
                kind(node)
            ),
        );
        return None;
    }
    let mut rules = None;
    let mut policy = ApprovalPolicy {
        rules: Vec::new(),
        exclude: Exclude::default(),
        expires_after: DEFAULT_EXPIRES_AFTER,
        notify_approvers: false,
    };
    for (key, k_node, v) in entries(node, errors) {
        match key {
            "rules" => {
                let before = errors.0.len();
                let list = parse_rules(v, errors);
                // A list whose rules were all refused was told about already.
                rules = Some((list, errors.0.len() > before));
            }
            "exclude" => {
                let mut exclude = Exclude {
                    requester: false,
                    authors: false,
                };
                for (item, item_node) in expect_str_list(v, key, errors) {
                    match item {
                        "requester" => exclude.requester = true,
                        "authors" => exclude.authors = true,
                        other => errors.at(
                            item_node,
                            format!(
                                "`{}` is not something `exclude` knows; it lists {}",
                                crate::ids::clip(other),
                                EXCLUDE_VALUES.join(" and ")
                            ),
                        ),
                    }
                }
                policy.exclude = exclude;
            }
            "expires_after" => {
                if let Some(s) = expect_str(v, key, errors) {
                    match crate::duration::parse_duration(s) {
                        Ok(d) => policy.expires_after = d,
                        Err(e) => errors.at(v, format!("`expires_after`: {e}")),
                    }
                }
            }
            "notify_approvers" => {
                if let Some(b) = expect_bool(v, key, errors) {
                    policy.notify_approvers = b;
                }
            }
            _ => unknown_key(
                k_node,
                key,
                &APPROVALS_KEYS,
                &format!("`approvals` of `{env}`"),
                errors,
            ),
        }
    }
    match rules {
        None => {
            errors.at(
                node,
                format!("`approvals` of `{env}` needs `rules:`, a list of `- name: …` with `from` and `count`"),
            );
            None
        }
        Some((_, true)) => None,
        Some((list, false)) if list.is_empty() => {
            errors.at(node, format!("`approvals` of `{env}` has no rules; remove `approvals` if nobody needs to approve"));
            None
        }
        Some((list, false)) => {
            policy.rules = list;
            Some(policy)
        }
    }
}

fn parse_rules(node: &Node<'_>, errors: &mut Errors) -> Vec<ApprovalRule> {
    let YamlData::Sequence(items) = &node.data else {
        errors.at(
            node,
            format!(
                "`rules` must be a list of rules (`- name: …`), not {}",
                kind(node)
            ),
        );
        return Vec::new();
    };
    let mut rules: Vec<(ApprovalRule, usize)> = Vec::new();
    for item in items {
        if let Some(rule) = parse_rule(item, errors) {
            let line = item.span.start.line();
            if let Some((_, earlier)) = rules.iter().find(|(r, _)| r.name == rule.name) {
                errors.at(
                    item,
                    format!(
                        "the rule `{}` is already named on line {earlier}; give each rule its own name",
                        rule.name
                    ),
                );
            } else {
                rules.push((rule, line));
            }
        }
    }
    rules.into_iter().map(|(r, _)| r).collect()
}

fn parse_rule(node: &Node<'_>, errors: &mut Errors) -> Option<ApprovalRule> {
    if !matches!(node.data, YamlData::Mapping(_)) {
        errors.at(
            node,
            format!(
                "a rule must be a mapping with `name`, `from` and `count`, not {}",
                kind(node)
            ),
        );
        return None;
    }
    let mut name = None;
    let mut from = None;
    let mut count = None;
    for (key, k_node, v) in entries(node, errors) {
        match key {
            "name" => {
                if let Some(s) = expect_str(v, key, errors) {
                    if s.trim().is_empty() {
                        errors.at(v, "a rule needs a name");
                    } else {
                        name = Some(s.trim().to_owned());
                    }
                }
            }
            "from" => {
                let before = errors.0.len();
                let parsed = parse_from(v, errors);
                // A `from` with a mistake in it was told about already.
                from = Some((parsed.filter(|_| errors.0.len() == before), v));
            }
            "count" => match &v.data {
                YamlData::Value(Scalar::Integer(n)) if (1..=100).contains(n) => {
                    count = u32::try_from(*n).ok();
                }
                YamlData::Value(Scalar::Integer(n)) => errors.at(
                    v,
                    format!(
                        "`count: {n}` must be between 1 and 100: how many approvals the rule needs"
                    ),
                ),
                _ => errors.at(
                    v,
                    format!("`count` must be a whole number, not {}", kind(v)),
                ),
            },
            _ => unknown_key(k_node, key, &APPROVAL_RULE_KEYS, "a rule", errors),
        }
    }
    let Some(name) = name else {
        errors.at(node, "a rule needs `name: …`");
        return None;
    };
    let Some((from, from_node)) = from else {
        errors.at(
            node,
            format!("rule `{name}` needs `from: {{ users: [...] }}` or `from: {{ teams: [...] }}`"),
        );
        return None;
    };
    let (users, teams) = from?;
    if users.is_empty() && teams.is_empty() {
        errors.at(
            from_node,
            format!("rule `{name}` names nobody: list GitHub logins under `users` or teams (`org/team`) under `teams`"),
        );
        return None;
    }
    let count = count.unwrap_or(1);
    if teams.is_empty() && users.len() < count as usize {
        errors.at(
            from_node,
            format!(
                "rule `{name}` needs {count} approvals but names only {} {}",
                users.len(),
                if users.len() == 1 { "person" } else { "people" }
            ),
        );
        return None;
    }
    Some(ApprovalRule {
        name,
        users,
        teams,
        count,
    })
}

type From = (Vec<GithubLogin>, Vec<Team>);

fn parse_from(node: &Node<'_>, errors: &mut Errors) -> Option<From> {
    if !matches!(node.data, YamlData::Mapping(_)) {
        errors.at(
            node,
            format!(
                "`from` must be a mapping with `users` and/or `teams`, not {}",
                kind(node)
            ),
        );
        return None;
    }
    let mut users: Vec<GithubLogin> = Vec::new();
    let mut teams: Vec<Team> = Vec::new();
    for (key, k_node, v) in entries(node, errors) {
        match key {
            "users" => {
                for (text, item) in expect_str_list(v, key, errors) {
                    match GithubLogin::parse(text.trim_start_matches('@')) {
                        Ok(l) if users.contains(&l) => {
                            errors.at(item, format!("`{l}` is listed twice"));
                        }
                        Ok(l) => users.push(l),
                        Err(e) => errors.at(item, e.to_string()),
                    }
                }
            }
            "teams" => {
                for (text, item) in expect_str_list(v, key, errors) {
                    match Team::parse(text.trim_start_matches('@')) {
                        Ok(t) if teams.contains(&t) => {
                            errors.at(item, format!("`{t}` is listed twice"));
                        }
                        Ok(t) => teams.push(t),
                        Err(e) => errors.at(item, e),
                    }
                }
            }
            _ => unknown_key(k_node, key, &APPROVAL_FROM_KEYS, "`from`", errors),
        }
    }
    Some((users, teams))
}
