//! Renamed and transferred repositories: which binding an event under a name nobody follows
//! belongs to, and when GitHub's numeric repository id is worth recording. Pure decisions; the
//! lookups and writes are `github-webhook`'s (docs/workflow.md, "Renamed repositories").

use crate::{ParseError, Project, Repository};

/// How a `repository` event (`renamed`, `transferred`) says the repository was called before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormerName {
    /// `changes.repository.name.from`: the old name, same owner.
    Renamed { name: String },
    /// `changes.owner.from.{user|organization}.login`: the old owner, same name.
    Transferred { owner: String },
}

impl FormerName {
    /// The repository's previous `owner/name`, given its current one.
    pub fn repository(&self, current: &Repository) -> Result<Repository, ParseError> {
        match self {
            Self::Renamed { name } => Repository::parse(&format!("{}/{name}", current.owner())),
            Self::Transferred { owner } => {
                Repository::parse(&format!("{owner}/{}", current.name()))
            }
        }
    }
}

/// An event arrived under `current`, which no channel follows. `by_id` is the binding carrying
/// the event's repository id (when the event had one), `by_former_name` the binding of the name
/// a `repository` event says it had before. Returns the name whose binding should move to
/// `current`, if any.
///
/// The id wins: it is GitHub's own identity of the repository. A binding found by its former
/// name only moves when it knows no id or the same id (a binding of another repository that
/// once had that name is left alone).
pub fn moved_from(
    current: &Repository,
    github_id: Option<u64>,
    by_id: Option<&Project>,
    by_former_name: Option<&Project>,
) -> Option<Repository> {
    if let Some(project) = by_id
        && project.repository != *current
        && github_id.is_some()
        && project.github_id == github_id
    {
        return Some(project.repository.clone());
    }
    let project = by_former_name?;
    if project.repository == *current {
        return None;
    }
    match (project.github_id, github_id) {
        (Some(known), Some(event)) if known != event => None,
        _ => Some(project.repository.clone()),
    }
}

/// Whether to record the event's repository id on `project` (found by its name): only when
/// the project has none yet, so a recorded id costs no write on later events, and only when no
/// other binding carries the id (`holder`: the binding the id index names, if any).
pub fn should_record_github_id(
    project: &Project,
    github_id: Option<u64>,
    holder: Option<&Project>,
) -> bool {
    github_id.is_some()
        && project.github_id.is_none()
        && holder.is_none_or(|other| other.repository == project.repository)
}

/// What the channel is told when its binding followed the repository: the move, and what
/// stayed under the old name (deployments and lanes are keyed by it and are not moved).
pub fn moved_text(from: &Repository, to: &Repository) -> String {
    format!(
        "{from} is now {to}; deploybot follows it. Deployments, queues and locks from before \
         stay under {from}: lock again what should stay locked."
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ProjectSettings, SlackChannelId, Timestamp};

    fn repo(name: &str) -> Repository {
        Repository::parse(name).expect("valid")
    }

    fn project(name: &str, github_id: Option<u64>) -> Project {
        Project {
            repository: repo(name),
            channel: SlackChannelId::parse("C1").expect("valid"),
            channel_name: None,
            team: None,
            settings: ProjectSettings::default(),
            created_by: None,
            created_at: Timestamp::from_secs(0),
            github_id,
            workflow: None,
        }
    }

    #[test]
    fn the_former_name_keeps_the_other_half() {
        let now = repo("acme/website");
        let renamed = FormerName::Renamed { name: "web".into() };
        assert_eq!(renamed.repository(&now), Ok(repo("acme/web")));
        let moved = FormerName::Transferred {
            owner: "Acme-Old".into(),
        };
        assert_eq!(moved.repository(&now), Ok(repo("acme-old/website")));
        let bad = FormerName::Renamed { name: "a b".into() };
        assert!(bad.repository(&now).is_err());
    }

    #[test]
    fn the_id_finds_a_binding_under_its_old_name() {
        let now = repo("acme/website");
        let old = project("acme/web", Some(7));
        assert_eq!(
            moved_from(&now, Some(7), Some(&old), None),
            Some(repo("acme/web"))
        );
        // Already under the current name: nothing moves.
        let same = project("acme/website", Some(7));
        assert_eq!(moved_from(&now, Some(7), Some(&same), None), None);
        // An event without an id cannot be matched by id.
        assert_eq!(moved_from(&now, None, Some(&old), None), None);
    }

    #[test]
    fn the_former_name_moves_only_the_same_repository() {
        let now = repo("acme/website");
        let unknown_id = project("acme/web", None);
        assert_eq!(
            moved_from(&now, Some(7), None, Some(&unknown_id)),
            Some(repo("acme/web"))
        );
        let same_id = project("acme/web", Some(7));
        assert_eq!(
            moved_from(&now, Some(7), None, Some(&same_id)),
            Some(repo("acme/web"))
        );
        let other = project("acme/web", Some(8));
        assert_eq!(moved_from(&now, Some(7), None, Some(&other)), None);
        assert_eq!(
            moved_from(&now, None, None, Some(&other)),
            Some(repo("acme/web")),
            "an event without id trusts GitHub's word on the former name"
        );
        assert_eq!(moved_from(&now, Some(7), None, None), None);
    }

    #[test]
    fn an_id_is_recorded_once_and_never_twice() {
        let bare = project("acme/web", None);
        assert!(should_record_github_id(&bare, Some(7), None));
        assert!(should_record_github_id(&bare, Some(7), Some(&bare)));
        assert!(!should_record_github_id(&bare, None, None));
        let known = project("acme/web", Some(7));
        assert!(!should_record_github_id(&known, Some(7), None));
        let elsewhere = project("acme/old", Some(7));
        assert!(!should_record_github_id(&bare, Some(7), Some(&elsewhere)));
    }

    #[test]
    fn the_channel_hears_both_names() {
        let text = moved_text(&repo("acme/web"), &repo("acme/website"));
        assert!(
            text.starts_with("acme/web is now acme/website; deploybot follows it."),
            "{text}"
        );
        assert!(text.contains("stay under acme/web"), "{text}");
    }
}
