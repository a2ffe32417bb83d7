//! The `deploybot/config` check run on a pull request that changes `.github/deploybot.yml`
//! (docs/configuration.md, "The check on pull requests"): the file at the pull request's head
//! is parsed; an invalid file fails the check with one annotation per error (GitHub takes at
//! most [`MAX_ANNOTATIONS`] per request), a valid or removed one passes it with a summary of
//! what would change per environment compared with the workflow in force. No I/O: reading the
//! file and creating the check run are the caller's.

use crate::policy::Policy;
use crate::ports::{CheckAnnotation, CheckConclusion};
use crate::workflow_file::{WORKFLOW_PATH, WorkflowFile};

/// The check run's name on GitHub.
pub const CHECK_NAME: &str = "deploybot/config";

/// GitHub's limit on annotations in one create or update request.
pub const MAX_ANNOTATIONS: usize = 50;

/// What the check says: its conclusion, title, Markdown summary and annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckVerdict {
    pub conclusion: CheckConclusion,
    pub title: String,
    pub summary: String,
    pub annotations: Vec<CheckAnnotation>,
}

/// How one environment would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvironmentChange {
    Added {
        name: String,
        description: String,
    },
    Removed {
        name: String,
        description: String,
    },
    Changed {
        name: String,
        before: String,
        after: String,
    },
}

/// The environments of `proposed` compared with `in_force` (both as [`Policy::describe`]
/// lists them): removed and changed ones in the order of `in_force`, then added ones in the
/// order of `proposed`.
pub fn environment_changes(
    in_force: &[(String, String)],
    proposed: &[(String, String)],
) -> Vec<EnvironmentChange> {
    let find = |list: &[(String, String)], name: &str| {
        list.iter().find(|(n, _)| n == name).map(|(_, d)| d.clone())
    };
    let mut changes = Vec::new();
    for (name, before) in in_force {
        match find(proposed, name) {
            None => changes.push(EnvironmentChange::Removed {
                name: name.clone(),
                description: before.clone(),
            }),
            Some(after) if &after != before => changes.push(EnvironmentChange::Changed {
                name: name.clone(),
                before: before.clone(),
                after,
            }),
            Some(_) => {}
        }
    }
    for (name, description) in proposed {
        if find(in_force, name).is_none() {
            changes.push(EnvironmentChange::Added {
                name: name.clone(),
                description: description.clone(),
            });
        }
    }
    changes
}

/// The verdict on the file at the pull request's head (`None`: the pull request removes it)
/// against the workflow in force on the default branch.
pub fn verdict(in_force: &Policy, proposed: Option<&str>) -> CheckVerdict {
    let Some(text) = proposed else {
        let builtin = Policy::default();
        let changes = environment_changes(&in_force.describe(), &builtin.describe());
        let mut summary = format!(
            "This pull request removes `{WORKFLOW_PATH}`: once merged, the built-in workflow would be in force.\n\n"
        );
        summary.push_str(&changes_markdown(&changes));
        return CheckVerdict {
            conclusion: CheckConclusion::Success,
            title: "The built-in workflow would be in force".to_owned(),
            summary,
            annotations: Vec::new(),
        };
    };
    match WorkflowFile::parse(text) {
        Ok(file) => {
            let proposed = Policy::from_file(file);
            let changes = environment_changes(&in_force.describe(), &proposed.describe());
            let title = match changes.len() {
                0 => "Valid; no environment changes".to_owned(),
                1 => "Valid; 1 environment changes".to_owned(),
                n => format!("Valid; {n} environments change"),
            };
            let mut summary = format!(
                "`{WORKFLOW_PATH}` is valid. Compared with the workflow in force on the default branch:\n\n"
            );
            summary.push_str(&changes_markdown(&changes));
            CheckVerdict {
                conclusion: CheckConclusion::Success,
                title,
                summary,
                annotations: Vec::new(),
            }
        }
        Err(errors) => {
            let count = errors.0.len();
            let annotations: Vec<CheckAnnotation> = errors
                .0
                .iter()
                .take(MAX_ANNOTATIONS)
                .map(|e| {
                    let line = u32::try_from(e.line.max(1)).unwrap_or(u32::MAX);
                    CheckAnnotation {
                        path: WORKFLOW_PATH.to_owned(),
                        start_line: line,
                        end_line: line,
                        message: e.message.clone(),
                    }
                })
                .collect();
            let title = if count == 1 {
                "1 error".to_owned()
            } else {
                format!("{count} errors")
            };
            let mut summary = format!(
                "`{WORKFLOW_PATH}` is not valid: once merged, the last valid workflow would stay in force.\n\n"
            );
            for e in &errors.0 {
                summary.push_str(&format!("- line {}: {}\n", e.line, e.message));
            }
            if count > MAX_ANNOTATIONS {
                summary.push_str(&format!(
                    "\nThe first {MAX_ANNOTATIONS} errors are annotated on the file.\n"
                ));
            }
            CheckVerdict {
                conclusion: CheckConclusion::Failure,
                title,
                summary,
                annotations,
            }
        }
    }
}

/// The changes as a Markdown list (or a sentence when there are none).
fn changes_markdown(changes: &[EnvironmentChange]) -> String {
    if changes.is_empty() {
        return "No environment would change.\n".to_owned();
    }
    let mut text = String::new();
    for change in changes {
        let line = match change {
            EnvironmentChange::Added { name, description } => {
                format!("- **added** `{name}`: {description}")
            }
            EnvironmentChange::Removed { name, description } => {
                format!("- **removed** `{name}` (was: {description})")
            }
            EnvironmentChange::Changed {
                name,
                before,
                after,
            } => format!("- **changed** `{name}`: {after} (was: {before})"),
        };
        text.push_str(&line);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, d)| ((*n).to_owned(), (*d).to_owned()))
            .collect()
    }

    #[test]
    fn environment_changes_table() {
        type Described = Vec<(String, String)>;
        let cases: Vec<(Described, Described, Vec<EnvironmentChange>)> = vec![
            (pairs(&[("a", "x")]), pairs(&[("a", "x")]), vec![]),
            (
                pairs(&[("a", "x")]),
                pairs(&[("a", "y")]),
                vec![EnvironmentChange::Changed {
                    name: "a".into(),
                    before: "x".into(),
                    after: "y".into(),
                }],
            ),
            (
                pairs(&[("a", "x"), ("b", "z")]),
                pairs(&[("b", "z"), ("c", "w")]),
                vec![
                    EnvironmentChange::Removed {
                        name: "a".into(),
                        description: "x".into(),
                    },
                    EnvironmentChange::Added {
                        name: "c".into(),
                        description: "w".into(),
                    },
                ],
            ),
            (
                vec![],
                pairs(&[("a", "x")]),
                vec![EnvironmentChange::Added {
                    name: "a".into(),
                    description: "x".into(),
                }],
            ),
        ];
        for (before, after, want) in cases {
            assert_eq!(
                environment_changes(&before, &after),
                want,
                "{before:?} → {after:?}"
            );
        }
    }

    #[test]
    fn the_builtin_workflow_written_out_changes_nothing() {
        let builtin = Policy::default();
        let described = builtin.describe();
        assert_eq!(environment_changes(&described, &described), vec![]);
    }

    #[test]
    fn an_invalid_file_fails_with_its_lines() {
        let text =
            "version: 1\nenvironments:\n  qa:\n    on: { push: [\"develop\"] }\n    colour: blue\n";
        let v = verdict(&Policy::default(), Some(text));
        assert_eq!(v.conclusion, CheckConclusion::Failure);
        assert!(!v.annotations.is_empty());
        let first = &v.annotations[0];
        assert_eq!(first.path, WORKFLOW_PATH);
        assert_eq!(first.start_line, 5, "{v:#?}");
        assert_eq!(first.end_line, 5);
        assert!(v.summary.contains("line 5"), "{}", v.summary);
    }

    #[test]
    fn annotations_stop_at_githubs_limit() {
        let mut text = "version: 1\nenvironments:\n".to_owned();
        for i in 0..60 {
            text.push_str(&format!("  e{i}:\n    colour: blue\n"));
        }
        let v = verdict(&Policy::default(), Some(&text));
        assert_eq!(v.conclusion, CheckConclusion::Failure);
        assert_eq!(v.annotations.len(), MAX_ANNOTATIONS, "{}", v.title);
    }

    #[test]
    fn a_valid_file_names_what_changes() {
        let text = "version: 1\nenvironments:\n  qa:\n    on: { push: [\"develop\"] }\n";
        let v = verdict(&Policy::default(), Some(text));
        assert_eq!(v.conclusion, CheckConclusion::Success, "{v:#?}");
        assert!(v.annotations.is_empty());
        assert!(v.summary.contains("**added** `qa`"), "{}", v.summary);
        assert!(v.summary.contains("**removed**"), "{}", v.summary);
    }

    #[test]
    fn a_removed_file_brings_the_builtin_workflow() {
        let v = verdict(&Policy::default(), None);
        assert_eq!(v.conclusion, CheckConclusion::Success);
        assert!(v.summary.contains("built-in workflow would be in force"));
        assert!(v.summary.contains("No environment would change"));
    }
}
