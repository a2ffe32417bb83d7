//! The person's Home tab (`views.publish`): a grid of their repositories × environments —
//! commit or tag, age, who, state, 🔒 lock, ❄ freeze, queue length, and [Promote] where
//! promotion applies (docs/notifications.md, "App Home").

use super::deployment::person;
use super::replies::EnvironmentStatus;
use deploybot_core::{Deployment, Repository, Sha, SlackChannelId, Timestamp, Trigger, UserLink};
use serde_json::{Value, json};

/// [Promote] on the Home tab; value: `acme/web#staging@<sha>` (the lane, then the commit).
pub const ACTION_HOME_PROMOTE: &str = "home_promote";

/// One repository of the grid.
#[derive(Debug, Clone)]
pub struct HomeRepository {
    pub repository: Repository,
    pub channel: SlackChannelId,
    /// Each environment: its status, its newest deployment (whatever its state), and the
    /// commit [Promote] would bring, when it applies.
    pub environments: Vec<HomeEnvironment>,
}

/// One environment of the grid.
#[derive(Debug, Clone)]
pub struct HomeEnvironment {
    pub status: EnvironmentStatus,
    pub latest: Option<Deployment>,
    pub promote: Option<Sha>,
}

/// The value of [`ACTION_HOME_PROMOTE`].
pub fn promote_value(repository: &Repository, status: &EnvironmentStatus, sha: &Sha) -> String {
    format!("{repository}#{}@{}", status.environment, sha.as_str())
}

/// Reads [`promote_value`] back: the lane's value (`acme/web#staging`) and the commit.
pub fn from_promote_value(value: &str) -> Option<(&str, Sha)> {
    let (lane, sha) = value.rsplit_once('@')?;
    Some((lane, Sha::parse(sha).ok()?))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn who(d: &Deployment, links: &[UserLink]) -> String {
    match &d.trigger {
        Trigger::Manual { slack_user }
        | Trigger::Retry { slack_user, .. }
        | Trigger::Rollback { slack_user, .. } => slack_user.mention(),
        Trigger::Push { pusher: Some(p) } | Trigger::Tag { pusher: Some(p) } => person(p, links),
        Trigger::PullRequest { number, .. } => format!("PR #{number}"),
        _ => d
            .commit_author
            .as_ref()
            .map_or_else(|| "a push".to_owned(), |a| person(a, links)),
    }
}

fn commit(d: &Deployment) -> String {
    let name = d.git_ref.short_name();
    if name.is_empty() || d.sha.as_str().starts_with(name) {
        format!("`{}`", d.sha.short())
    } else {
        format!("`{}` @ `{}`", escape(name), d.sha.short())
    }
}

/// One environment's cell, as mrkdwn: its newest deployment (commit or tag, age, who,
/// state), what it runs when that is another, its lock, freeze and queue.
pub fn cell(environment: &HomeEnvironment, links: &[UserLink], now: Timestamp) -> String {
    let status = &environment.status;
    let mut parts = vec![format!("*{}*", status.environment)];
    let shown = environment
        .latest
        .as_ref()
        .or(status.running.as_ref())
        .or(status.current.as_ref());
    match shown {
        Some(d) => {
            parts.push(commit(d));
            parts.push(d.updated_at.ago(now));
            parts.push(format!("by {}", who(d, links)));
            parts.push(format!("{} {}", d.state.emoji(), d.state.label()));
            if let Some(current) = &status.current
                && current.id != d.id
            {
                parts.push(format!("runs {}", commit(current)));
            }
        }
        None => parts.push("nothing deployed yet".to_owned()),
    }
    if let Some(lock) = &status.lock {
        parts.push(format!("🔒 {}", lock.holder.mention()));
    }
    if let Some(frozen) = &status.frozen {
        parts.push(format!("❄ {}", escape(&frozen.name)));
    }
    if status.queued > 0 {
        let more = if status.queue_more { "+" } else { "" };
        parts.push(format!("{}{more} queued", status.queued));
    }
    parts.join(" · ")
}

/// The Home tab view.
pub fn home_view(repositories: &[HomeRepository], links: &[UserLink], now: Timestamp) -> Value {
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": "Your deployments"}
    })];
    if repositories.is_empty() {
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": "None of your channels follows a repository yet. `/cimon setup owner/name` in a channel ties it to one."}
        }));
    }
    for repo in repositories {
        blocks.push(json!({"type": "divider"}));
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": format!("*{}* in <#{}>", escape(repo.repository.as_str()), repo.channel)}
        }));
        for environment in &repo.environments {
            let mut section = json!({
                "type": "section",
                "text": {"type": "mrkdwn", "text": cell(environment, links, now)}
            });
            let status = &environment.status;
            if let Some(sha) = &environment.promote {
                section["accessory"] = json!({
                    "type": "button",
                    "text": {"type": "plain_text", "text": format!("Promote {}", sha.short())},
                    "action_id": ACTION_HOME_PROMOTE,
                    "value": promote_value(&repo.repository, status, sha),
                });
            }
            blocks.push(section);
        }
    }
    json!({"type": "home", "blocks": blocks})
}

#[cfg(test)]
mod tests {
    use super::*;
    use deploybot_core::lane::Lock;
    use deploybot_core::{DeploymentId, DeploymentState, Environment, GitRef, SlackUserId};

    fn deployment(tag: &str, fill: char, state: DeploymentState, at: i64) -> Deployment {
        let mut d = Deployment::new(
            Repository::parse("acme/web").expect("valid"),
            DeploymentId::new(Timestamp::from_secs(at), 1),
            Environment::Production,
            GitRef::Tag(tag.into()),
            Sha::parse(&fill.to_string().repeat(40)).expect("valid"),
            Trigger::Manual {
                slack_user: SlackUserId::parse("U0ANA").expect("valid"),
            },
            SlackChannelId::parse("C0WEB").expect("valid"),
            Timestamp::from_secs(at),
        );
        d.state = state;
        d
    }

    #[test]
    fn a_cell_shows_the_newest_what_runs_the_lock_the_freeze_and_the_queue() {
        let now = Timestamp::from_secs(10_000);
        let running = deployment("v1.4.0", 'a', DeploymentState::Success, 1_000);
        let failed = deployment("v1.5.0", 'b', DeploymentState::Failure, 9_400);
        let environment = HomeEnvironment {
            status: EnvironmentStatus {
                environment: Environment::Production,
                current: Some(running),
                running: None,
                lock: Some(Lock {
                    holder: SlackUserId::parse("U0BOB").expect("valid"),
                    reason: None,
                    since: now,
                    until: now.plus_secs(3600),
                    reminded: false,
                }),
                queued: 2,
                queue_more: true,
                frozen: Some(deploybot_core::freeze::Frozen {
                    name: "weekend".into(),
                    reason: None,
                    since: now,
                    until: now.plus_secs(3600),
                }),
            },
            latest: Some(failed),
            promote: None,
        };
        let text = cell(&environment, &[], now);
        for needle in [
            "*production*",
            "`v1.5.0` @ `bbbbbbb`",
            "10 min ago",
            "by <@U0ANA>",
            "failed",
            "runs `v1.4.0` @ `aaaaaaa`",
            "🔒 <@U0BOB>",
            "❄ weekend",
            "2+ queued",
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
        let empty = HomeEnvironment {
            status: EnvironmentStatus {
                current: None,
                lock: None,
                queued: 0,
                queue_more: false,
                frozen: None,
                ..environment.status.clone()
            },
            latest: None,
            promote: Some(Sha::parse(&"c".repeat(40)).expect("valid")),
        };
        assert_eq!(
            cell(&empty, &[], now),
            "*production* · nothing deployed yet"
        );
        let view = home_view(
            &[HomeRepository {
                repository: Repository::parse("acme/web").expect("valid"),
                channel: SlackChannelId::parse("C0WEB").expect("valid"),
                environments: vec![empty],
            }],
            &[],
            now,
        );
        assert_eq!(view["type"], "home");
        let value = format!("acme/web#production@{}", "c".repeat(40));
        assert!(view.to_string().contains(&value), "{view}");
        assert_eq!(
            from_promote_value(&value).map(|(lane, sha)| (lane.to_owned(), sha.short().to_owned())),
            Some(("acme/web#production".to_owned(), "ccccccc".to_owned()))
        );
    }
}
