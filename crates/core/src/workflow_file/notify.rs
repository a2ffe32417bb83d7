//! `notify:` of the workflow file: routes of deployment messages (mirrors, quiet pull-request
//! environments, direct messages, mentions) and thread replies, read into
//! [`crate::notify::NotifySpec`] with every mistake reported at its line.

use super::{
    EnvironmentSpec, Errors, Node, Pattern, Trigger, entries, expect_bool, expect_str,
    expect_str_list, kind, unknown_key,
};
use crate::notify::{
    CHANNEL_NONE, ChannelRef, DIRECT_KEYS, DirectRule, NOTIFY_KEYS, NotifySpec, Outcome,
    ROUTE_KEYS, Recipient, Route,
};
use saphyr::{Scalar, YamlData};

/// Reads `notify:`; `environments` are the file's, to catch a route naming none of them.
pub(super) fn parse(
    node: &Node<'_>,
    environments: &[EnvironmentSpec],
    errors: &mut Errors,
) -> NotifySpec {
    let mut spec = NotifySpec::default();
    match &node.data {
        YamlData::Value(Scalar::Null) => return spec,
        YamlData::Mapping(_) => {}
        _ => {
            errors.at(
                node,
                format!(
                    "`notify` must be a mapping with `routes:` and/or `threads:`, not {}",
                    kind(node)
                ),
            );
            return spec;
        }
    }
    for (key, k_node, v) in entries(node, errors) {
        match key {
            "routes" => spec.routes = parse_routes(v, environments, errors),
            "threads" => spec.threads = expect_bool(v, key, errors).unwrap_or(false),
            _ => unknown_key(k_node, key, &NOTIFY_KEYS, "`notify`", errors),
        }
    }
    spec
}

fn parse_routes(
    node: &Node<'_>,
    environments: &[EnvironmentSpec],
    errors: &mut Errors,
) -> Vec<Route> {
    let items = match &node.data {
        YamlData::Value(Scalar::Null) => return Vec::new(),
        YamlData::Sequence(items) => items,
        _ => {
            errors.at(
                node,
                format!(
                    "`routes` must be a list of routes (`- environments: [...]`), not {}",
                    kind(node)
                ),
            );
            return Vec::new();
        }
    };
    items
        .iter()
        .filter_map(|item| parse_route(item, environments, errors))
        .collect()
}

/// Whether a pattern without glob characters names an environment of the file (or a pull
/// request's environment).
fn names_an_environment(text: &str, environments: &[EnvironmentSpec]) -> bool {
    if matches!(
        crate::Environment::parse(text),
        Ok(crate::Environment::PullRequest(_))
    ) {
        return true;
    }
    environments.iter().any(|e| {
        e.key.eq_ignore_ascii_case(text)
            || match &e.trigger {
                Some(Trigger::PullRequest(pr)) => {
                    let template = pr.name.to_lowercase();
                    template.split_once(super::NUMBER_PLACEHOLDER).is_some_and(
                        |(prefix, suffix)| {
                            let lower = text.to_lowercase();
                            lower
                                .strip_prefix(prefix)
                                .and_then(|rest| rest.strip_suffix(suffix))
                                .is_some_and(|n| {
                                    !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
                                })
                        },
                    )
                }
                _ => false,
            }
    })
}

fn parse_route(
    node: &Node<'_>,
    environments: &[EnvironmentSpec],
    errors: &mut Errors,
) -> Option<Route> {
    if !matches!(node.data, YamlData::Mapping(_)) {
        errors.at(
            node,
            format!(
                "a route must be a mapping with `environments:` and what to do (`channels`, `channel: none`, `direct`, `mention_on_failure`), not {}",
                kind(node)
            ),
        );
        return None;
    }
    let before = errors.0.len();
    let mut route = Route {
        environments: Vec::new(),
        channels: Vec::new(),
        quiet: false,
        direct: None,
        mention_on_failure: Vec::new(),
        line: node.span.start.line(),
    };
    let mut environments_given = false;
    let mut does_something = false;
    for (key, k_node, v) in entries(node, errors) {
        match key {
            "environments" => {
                environments_given = true;
                for (text, item) in expect_str_list(v, key, errors) {
                    let glob = text.contains(['*', '?', '[', '{']);
                    if !glob && !names_an_environment(text, environments) {
                        let names: Vec<&str> =
                            environments.iter().map(|e| e.key.as_str()).collect();
                        errors.at(
                            item,
                            format!(
                                "`{text}` names no environment; the environments are {} (a pattern such as `\"pr*\"` may name several)",
                                names.join(", ")
                            ),
                        );
                        continue;
                    }
                    match Pattern::new(&text.to_lowercase()) {
                        Ok(p) => route.environments.push(p),
                        Err(e) => errors.at(item, e),
                    }
                }
                if route.environments.is_empty() && errors.0.len() == before {
                    errors.at(v, "`environments` names no environment");
                }
            }
            "channels" => {
                does_something = true;
                for (text, item) in expect_str_list(v, key, errors) {
                    match ChannelRef::parse(text) {
                        Ok(c) if route.channels.contains(&c) => {
                            errors.at(item, format!("`{text}` is listed twice in `channels`"))
                        }
                        Ok(c) => route.channels.push(c),
                        Err(e) => errors.at(item, e),
                    }
                }
            }
            "channel" => {
                does_something = true;
                match expect_str(v, key, errors) {
                    Some(CHANNEL_NONE) => route.quiet = true,
                    Some(other) => errors.at(
                        v,
                        format!(
                            "`channel` takes only `none` (no message in the bound channel), not `{other}`; other channels go in `channels: [...]`"
                        ),
                    ),
                    None => {}
                }
            }
            "direct" => {
                does_something = true;
                route.direct = parse_direct(v, errors);
            }
            "mention_on_failure" => {
                does_something = true;
                for (text, item) in expect_str_list(v, key, errors) {
                    let handle = text.strip_prefix('@').unwrap_or(text);
                    let ok = !handle.is_empty()
                        && handle.len() <= 80
                        && handle.chars().all(|c| {
                            c.is_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')
                        });
                    if ok {
                        route.mention_on_failure.push(handle.to_owned());
                    } else {
                        errors.at(
                            item,
                            format!(
                                "`{text}` is not a Slack user group handle; write it as `\"@oncall\"`"
                            ),
                        );
                    }
                }
            }
            _ => unknown_key(k_node, key, &ROUTE_KEYS, "a route", errors),
        }
    }
    if !environments_given {
        errors.at(
            node,
            "a route needs `environments: [...]`, the environments (or patterns such as `\"pr*\"`) it is about",
        );
    }
    if environments_given && !does_something && errors.0.len() == before {
        errors.at(
            node,
            "this route does nothing; give it `channels`, `channel: none`, `direct` or `mention_on_failure`",
        );
    }
    (errors.0.len() == before).then_some(route)
}

fn parse_direct(node: &Node<'_>, errors: &mut Errors) -> Option<DirectRule> {
    if !matches!(node.data, YamlData::Mapping(_)) {
        errors.at(
            node,
            format!(
                "`direct` must be a mapping, as in `direct: {{ on: [failure], to: [requester, authors] }}`, not {}",
                kind(node)
            ),
        );
        return None;
    }
    let mut on = None;
    let mut to = None;
    for (key, k_node, v) in entries(node, errors) {
        match key {
            "on" => {
                let mut list = Vec::new();
                for (text, item) in expect_str_list(v, key, errors) {
                    match Outcome::parse(text) {
                        Some(o) if !list.contains(&o) => list.push(o),
                        Some(_) => errors.at(item, format!("`{text}` is listed twice in `on`")),
                        None => errors.at(
                            item,
                            format!(
                                "`{text}` is not an outcome; `on` takes {}",
                                Outcome::NAMES.join(", ")
                            ),
                        ),
                    }
                }
                on = Some(list);
            }
            "to" => {
                let mut list = Vec::new();
                for (text, item) in expect_str_list(v, key, errors) {
                    match Recipient::parse(text) {
                        Some(r) if !list.contains(&r) => list.push(r),
                        Some(_) => errors.at(item, format!("`{text}` is listed twice in `to`")),
                        None => errors.at(
                            item,
                            format!(
                                "`{text}` is not a recipient; `to` takes {}",
                                Recipient::NAMES.join(", ")
                            ),
                        ),
                    }
                }
                to = Some(list);
            }
            _ => unknown_key(k_node, key, &DIRECT_KEYS, "`direct`", errors),
        }
    }
    match (on, to) {
        (Some(on), Some(to)) if !on.is_empty() && !to.is_empty() => Some(DirectRule { on, to }),
        (Some(_), Some(_)) => {
            errors.at(
                node,
                "`direct` needs at least one entry in `on` and in `to`",
            );
            None
        }
        _ => {
            errors.at(
                node,
                "`direct` needs both `on` and `to`, as in `{ on: [failure], to: [requester, authors] }`",
            );
            None
        }
    }
}
