//! The App Home grid's decisions (docs/notifications.md, "App Home"): whether [Promote]
//! applies to an environment, and the debounce of refreshes.

use crate::Sha;

/// The shortest time between two publishes of one person's Home tab when deployments change
/// (opening the tab always publishes).
pub const HOME_REFRESH_SECS: i64 = 60;

/// At most this many repositories are shown (the person's channels that are bound, in the
/// order Slack lists them).
pub const MAX_HOME_REPOSITORIES: usize = 20;

/// A change refreshes the Home tabs of the people who opened theirs with the repository on it
/// within this long (besides the people the deployment names).
pub const HOME_VIEWER_SECS: i64 = 24 * 3600;

/// At most this many of those viewers are refreshed per change (each at most once a minute).
pub const MAX_HOME_VIEWERS: usize = 25;

/// The commit [Promote] would deploy to an environment that takes commits from another
/// (`promote_from`): what the source runs, unless the environment runs or is deploying it
/// already. `None`: no button.
pub fn promotion(
    source_current: Option<&Sha>,
    target_current: Option<&Sha>,
    target_running: Option<&Sha>,
) -> Option<Sha> {
    let candidate = source_current?;
    if Some(candidate) == target_current || Some(candidate) == target_running {
        return None;
    }
    Some(candidate.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(c: char) -> Sha {
        Sha::parse(&c.to_string().repeat(40)).expect("valid")
    }

    #[test]
    fn promote_applies_when_the_source_runs_something_else() {
        let (a, b) = (sha('a'), sha('b'));
        let cases = [
            (None, None, None, None),
            (Some(&a), None, None, Some(a.clone())),
            (Some(&a), Some(&b), None, Some(a.clone())),
            (Some(&a), Some(&a), None, None),
            (Some(&a), Some(&b), Some(&a), None),
            (None, Some(&b), None, None),
        ];
        for (source, current, running, want) in cases {
            assert_eq!(
                promotion(source, current, running),
                want,
                "{source:?} {current:?} {running:?}"
            );
        }
    }
}
