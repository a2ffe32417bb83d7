//! The messages of notification routing (docs/notifications.md): a deployment's compact
//! mirror in another channel, the direct message to a person when it ends, the failure's
//! mention of user groups, and the answers to `notify me`. Pure functions of the record.

use super::deployment::person;
use deploybot_core::blocks::{Block, ButtonStyle, Element, Message};
use deploybot_core::lane::LaneKey;
use deploybot_core::notify::{DirectPreference, Outcome};
use deploybot_core::{Deployment, DeploymentId, Repository, Trigger, UserLink};

/// [Retry] in a direct message; value: `acme/web@<deployment id>` (a direct conversation is
/// bound to no repository, so the value names it).
pub const ACTION_DIRECT_RETRY: &str = "direct_retry";
/// [Roll back] in a direct message: the rollback preview, shown there; value: the lane
/// (`acme/web#production`).
pub const ACTION_DIRECT_ROLLBACK: &str = "direct_rollback";
/// [Lock] in a direct message: locks the environment; value: the lane.
pub const ACTION_DIRECT_LOCK: &str = "direct_lock";

/// The value of [`ACTION_DIRECT_RETRY`].
pub fn retry_value(d: &Deployment) -> String {
    format!("{}@{}", d.repository, d.id)
}

/// Reads [`retry_value`] back.
pub fn from_retry_value(value: &str) -> Option<(Repository, DeploymentId)> {
    let (repository, id) = value.rsplit_once('@')?;
    Some((
        Repository::parse(repository).ok()?,
        DeploymentId::parse(id).ok()?,
    ))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn what(d: &Deployment) -> String {
    let name = escape(d.git_ref.short_name());
    let short = d.sha.short();
    if name.is_empty() || d.sha.as_str().starts_with(&name.to_ascii_lowercase()) {
        format!("`{short}`")
    } else {
        format!("`{name}` @ `{short}`")
    }
}

fn who(d: &Deployment, links: &[UserLink]) -> Option<String> {
    match &d.trigger {
        Trigger::Manual { slack_user }
        | Trigger::Retry { slack_user, .. }
        | Trigger::Rollback { slack_user, .. } => Some(slack_user.mention()),
        Trigger::Push { pusher: Some(p) } | Trigger::Tag { pusher: Some(p) } => {
            Some(person(p, links))
        }
        Trigger::PullRequest { number, .. } => Some(format!("PR #{number}")),
        _ => d.commit_author.as_ref().map(|a| person(a, links)),
    }
}

/// The compact copy of a deployment's message in a mirror channel: one line, edited with
/// the canonical message.
pub fn mirror_message(d: &Deployment, links: &[UserLink]) -> Message {
    let mut line = format!(
        "{} *{}* → *{}* {}: {}",
        d.state.emoji(),
        escape(d.repository.as_str()),
        d.environment,
        d.state.label(),
        what(d)
    );
    if let Some(who) = who(d, links) {
        line.push_str(&format!(" by {who}"));
    }
    if let Some(url) = &d.build_url {
        line.push_str(&format!(" · <{url}|log>"));
    }
    let text = format!(
        "{} {} {} {}",
        d.state.emoji(),
        d.repository,
        d.environment,
        d.state.label()
    );
    Message {
        text,
        blocks: vec![Block::section(line)],
    }
}

/// The direct message about how a deployment ended: on a failure the log link and [Retry]
/// [Roll back] [Lock]; on a success the environment link.
pub fn direct_message(d: &Deployment, outcome: Outcome) -> Message {
    let env = &d.environment;
    let repo = escape(d.repository.as_str());
    match outcome {
        Outcome::Failure => {
            let mut line = format!(
                "{} Your deployment of {} to *{env}* in *{repo}* {}.",
                d.state.emoji(),
                what(d),
                d.state.label()
            );
            if let Some(why) = &d.description {
                line.push_str(&format!(" {}", escape(why)));
            }
            let mut blocks = vec![Block::section(line)];
            if let Some(url) = &d.build_url {
                blocks.push(Block::context(format!("<{url}|Open the log>")));
            }
            let lane = LaneKey {
                repository: d.repository.clone(),
                environment: d.environment.clone(),
            }
            .as_key();
            blocks.push(Block::Actions {
                block_id: Some(format!("direct:{}", d.id)),
                elements: vec![
                    Element::button("Retry", ACTION_DIRECT_RETRY, retry_value(d))
                        .with_style(ButtonStyle::Primary),
                    Element::button("Roll back", ACTION_DIRECT_ROLLBACK, lane.clone()),
                    Element::button("Lock", ACTION_DIRECT_LOCK, lane)
                        .with_style(ButtonStyle::Danger),
                ],
            });
            Message {
                text: format!(
                    "Your deployment to {env} in {} failed",
                    d.repository.as_str()
                ),
                blocks,
            }
        }
        Outcome::Success => {
            let mut line = format!(
                "{} Your deployment of {} to *{env}* in *{repo}* succeeded.",
                d.state.emoji(),
                what(d)
            );
            if let Some(url) = &d.environment_url {
                line.push_str(&format!(" <{url}|Open {env}>"));
            }
            Message {
                text: format!(
                    "Your deployment to {env} in {} succeeded",
                    d.repository.as_str()
                ),
                blocks: vec![Block::section(line)],
            }
        }
    }
}

/// The failure's mention of the route's user groups (by id, as Slack notifies them).
pub fn mention_message(d: &Deployment, group_ids: &[String]) -> Message {
    let mentions: Vec<String> = group_ids
        .iter()
        .map(|id| format!("<!subteam^{id}>"))
        .collect();
    let mut line = format!(
        "{} {}: the deployment of {} to *{}* {}.",
        mentions.join(" "),
        d.state.emoji(),
        what(d),
        d.environment,
        d.state.label()
    );
    if let Some(url) = &d.build_url {
        line.push_str(&format!(" <{url}|Open the log>"));
    }
    Message {
        text: format!("{} {} {}", d.repository, d.environment, d.state.label()),
        blocks: vec![Block::section(line)],
    }
}

/// The answer to `notify me <preference>` (or to `notify me` alone: what was chosen).
pub fn preference_reply(preference: DirectPreference, changed: bool) -> Message {
    let what = match preference {
        DirectPreference::Routed => {
            "direct messages as the repositories' `.github/deploybot.yml` route them (by default, failures of your deployments)"
        }
        DirectPreference::All => {
            "a direct message when a deployment you asked for or wrote fails or succeeds"
        }
        DirectPreference::Failures => {
            "a direct message when a deployment you asked for or wrote fails"
        }
        DirectPreference::None => "no direct messages from deploybot",
    };
    let lead = if changed {
        "Done: you will get"
    } else {
        "You get"
    };
    Message::text(format!(
        ":bell: {lead} {what}. Channel messages do not change. `notify me all`, `notify me failures` or `notify me none` changes it."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use deploybot_core::{DeploymentState, Environment, GitRef, Sha, SlackChannelId, Timestamp};

    fn failed() -> Deployment {
        let mut d = Deployment::new(
            Repository::parse("acme/web").expect("valid"),
            DeploymentId::new(Timestamp::from_secs(1_700_000_000), 7),
            Environment::Production,
            GitRef::branch("main").expect("valid"),
            Sha::parse(&"a".repeat(40)).expect("valid"),
            Trigger::Push { pusher: None },
            SlackChannelId::parse("C0DEPLOY").expect("valid"),
            Timestamp::from_secs(1_700_000_000),
        );
        d.state = DeploymentState::Failure;
        d.build_url = Some("https://ci.example/1".into());
        d
    }

    #[test]
    fn a_failure_direct_message_has_the_log_and_three_buttons() {
        let d = failed();
        let m = direct_message(&d, Outcome::Failure);
        let json = serde_json::to_string(&m).expect("json");
        for needle in [
            "https://ci.example/1",
            ACTION_DIRECT_RETRY,
            ACTION_DIRECT_ROLLBACK,
            ACTION_DIRECT_LOCK,
            "acme/web#production",
        ] {
            assert!(json.contains(needle), "{needle} in {json}");
        }
        assert_eq!(
            from_retry_value(&retry_value(&d)),
            Some((d.repository.clone(), d.id.clone()))
        );
        assert_eq!(from_retry_value("nonsense"), None);
    }

    #[test]
    fn a_mirror_is_one_line_with_the_log() {
        let m = mirror_message(&failed(), &[]);
        assert_eq!(m.blocks.len(), 1);
        let json = serde_json::to_string(&m).expect("json");
        assert!(json.contains("acme/web") && json.contains("log"), "{json}");
    }

    #[test]
    fn a_mention_names_groups_by_id() {
        let m = mention_message(&failed(), &["S0ONCALL".to_owned()]);
        assert!(
            serde_json::to_string(&m)
                .expect("json")
                .contains("<!subteam^S0ONCALL>")
        );
    }
}
