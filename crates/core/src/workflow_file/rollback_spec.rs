//! The workflow file's `rollback:` key (docs/configuration.md, "rollback"): the paths a
//! rollback does not undo, such as database migrations, that the rollback preview warns about
//! when the commits it removes touch them.

use super::{Errors, Node, Pattern, entries, expect_str_list, kind, unknown_key};
use saphyr::{Scalar, YamlData};

/// The keys of `rollback:`.
pub const ROLLBACK_KEYS: [&str; 1] = ["warn_paths"];

/// `rollback:` as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollbackSpec {
    /// `warn_paths`: globs of repository paths (`*` stays within a directory, `**` crosses
    /// directories) whose changes a rollback does not undo.
    pub warn_paths: Vec<Pattern>,
}

impl RollbackSpec {
    /// The changed `paths` that a `warn_paths` pattern matches, each with the first pattern
    /// that matches it, in the order given.
    pub fn warned<'p>(&self, paths: &'p [String]) -> Vec<(&'p str, &str)> {
        paths
            .iter()
            .filter_map(|path| {
                self.warn_paths
                    .iter()
                    .find(|p| p.matches(path))
                    .map(|p| (path.as_str(), p.as_str()))
            })
            .collect()
    }
}

/// Reads `rollback:`; every mistake is reported at its line.
pub(super) fn parse_rollback(node: &Node<'_>, errors: &mut Errors) -> RollbackSpec {
    let mut spec = RollbackSpec::default();
    match &node.data {
        YamlData::Value(Scalar::Null) => return spec,
        YamlData::Mapping(_) => {}
        _ => {
            errors.at(
                node,
                format!(
                    "`rollback` must be a mapping such as `rollback: {{ warn_paths: [\"db/migrations/**\"] }}`, not {}",
                    kind(node)
                ),
            );
            return spec;
        }
    }
    for (key, key_node, value) in entries(node, errors) {
        match key {
            "warn_paths" => {
                for (text, item) in expect_str_list(value, key, errors) {
                    match Pattern::new(text) {
                        Ok(_) if spec.warn_paths.iter().any(|p| p.as_str() == text) => {
                            errors.at(item, format!("`{text}` is listed twice in `warn_paths`"));
                        }
                        Ok(pattern) => spec.warn_paths.push(pattern),
                        Err(why) => errors.at(item, format!("in `warn_paths`: {why}")),
                    }
                }
            }
            _ => unknown_key(key_node, key, &ROLLBACK_KEYS, "`rollback`", errors),
        }
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::super::WorkflowFile;

    const ENVS: &str = "version: 1\nenvironments:\n  production:\n    on: { tag: \"v*\" }\n";

    fn parse(rest: &str) -> Result<WorkflowFile, Vec<(usize, String)>> {
        WorkflowFile::parse(&format!("{ENVS}{rest}"))
            .map_err(|e| e.0.into_iter().map(|e| (e.line, e.message)).collect())
    }

    #[test]
    fn warn_paths_are_globs_matched_against_changed_paths() {
        let file =
            parse("rollback:\n  warn_paths: [\"db/migrations/**\", \"*.sql\"]\n").expect("valid");
        let paths: Vec<String> = [
            "db/migrations/2024/001_add_users.rb",
            "app/models/user.rb",
            "seed.sql",
            "db/seed.sql",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            file.rollback.warned(&paths),
            vec![
                ("db/migrations/2024/001_add_users.rb", "db/migrations/**"),
                ("seed.sql", "*.sql"),
            ],
            "`*` stays within a directory"
        );
    }

    #[test]
    fn no_rollback_key_warns_about_nothing() {
        let file = parse("").expect("valid");
        assert!(file.rollback.warn_paths.is_empty());
        let file = parse("rollback:\n").expect("valid");
        assert!(file.rollback.warn_paths.is_empty());
    }

    #[test]
    fn mistakes_are_reported_at_their_line() {
        for (rest, line, needle) in [
            ("rollback: yes\n", 5, "`rollback` must be a mapping"),
            ("rollback:\n  warn_path: [\"db/**\"]\n", 6, "warn_paths"),
            (
                "rollback:\n  warn_paths:\n    - \"db/**\"\n    - 3\n",
                8,
                "must be text",
            ),
            (
                "rollback:\n  warn_paths:\n    - \"db/**\"\n    - \"db/**\"\n",
                8,
                "listed twice",
            ),
            ("rollback:\n  warn_paths: [\"\"]\n", 6, "warn_paths"),
        ] {
            let errors = parse(rest).expect_err(rest);
            assert!(
                errors.iter().any(|(l, m)| *l == line && m.contains(needle)),
                "{rest}: {errors:?}"
            );
        }
    }
}
