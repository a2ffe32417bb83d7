//! The words of freezes: set and lifted from Slack, listed by `freezes`, shown by `status`,
//! and the refusal of a manual deploy into a frozen environment.

use super::{ACTION_FREEZE_OVERRIDE, APPROVAL_REASON};
use deploybot_core::blocks::{Block, ButtonStyle, Confirm, Element, Message, Text};
use deploybot_core::command::Grammar;
use deploybot_core::freeze::{Frozen, ManualFreeze};
use deploybot_core::lane::{format_duration, slack_date_time};
use deploybot_core::{Environment, GitRef, Repository, SlackUserId, Timestamp};
use std::time::Duration;

/// "1h 20m": how long from `now` until `until` (at least a minute).
pub fn time_left(until: Timestamp, now: Timestamp) -> String {
    let secs = until.secs().saturating_sub(now.secs()).max(60);
    // Whole minutes, rounded up: "frozen for 1h20m", never "1h19m59s".
    let minutes = (secs + 59) / 60;
    format_duration(Duration::from_secs(minutes.unsigned_abs() * 60))
}

fn names(environments: &[Environment]) -> String {
    let list: Vec<String> = environments.iter().map(|e| format!("*{e}*")).collect();
    match list.as_slice() {
        [] => "nothing".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The channel is told a freeze was set.
pub fn freeze_set(
    grammar: &Grammar,
    environments: &[Environment],
    freeze: &ManualFreeze,
    all: bool,
) -> Message {
    let what = if all {
        "every environment".to_owned()
    } else {
        names(environments)
    };
    let mut text = format!(
        ":snowflake: {} froze {what} until {} ({})",
        freeze.by.mention(),
        slack_date_time(freeze.until),
        time_left(freeze.until, freeze.from)
    );
    if let Some(r) = &freeze.reason {
        text.push_str(" — ");
        text.push_str(r);
    }
    let target = if all {
        "all".to_owned()
    } else {
        environments
            .first()
            .map_or_else(String::new, ToString::to_string)
    };
    text.push_str(&format!(
        ". Automatic deployments wait and the newest deploys when it ends; `{} unfreeze {target}` ends it now.",
        grammar.command()
    ));
    Message::text(text)
}

/// The channel is told a freeze set from Slack was lifted, and what still freezes.
pub fn freeze_lifted(
    by: &SlackUserId,
    lifted: &[Environment],
    still: &[(Environment, Frozen)],
) -> Message {
    let mut text = if lifted.is_empty() {
        format!(
            ":sunny: {} asked to unfreeze, but no freeze set from Slack was in force",
            by.mention()
        )
    } else {
        format!(":sunny: {} unfroze {}", by.mention(), names(lifted))
    };
    for (environment, frozen) in still {
        text.push_str(&format!(
            "\n• *{environment}* stays frozen until {} by the workflow file's window {}",
            slack_date_time(frozen.until),
            frozen.why()
        ));
    }
    Message::text(text)
}

/// An environment nobody can unfreeze from Slack: frozen by the workflow file only.
pub fn not_frozen_by_hand(environment: &Environment) -> String {
    format!("*{environment}* has no freeze set from Slack")
}

/// One line of `freezes` or `status`: ":snowflake: frozen for 1h20m, until … (weekend — why)".
pub fn frozen_line(frozen: &Frozen, now: Timestamp) -> String {
    format!(
        ":snowflake: frozen for {} more, until {} ({})",
        time_left(frozen.until, now),
        slack_date_time(frozen.until),
        frozen.why()
    )
}

/// A window that starts within the next days, for `freezes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upcoming {
    pub name: String,
    pub reason: Option<String>,
    pub environments: Vec<Environment>,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// `freezes`: what is frozen now and what freezes in the next seven days.
pub fn freezes_view(
    grammar: &Grammar,
    active: &[(Environment, Frozen)],
    upcoming: &[Upcoming],
    now: Timestamp,
) -> Message {
    let c = grammar.command();
    let mut text = String::from(":snowflake: *Freezes*");
    if active.is_empty() {
        text.push_str("\nNothing is frozen now.");
    } else {
        for (environment, frozen) in active {
            text.push_str(&format!("\n• *{environment}* {}", frozen_line(frozen, now)));
        }
    }
    if upcoming.is_empty() {
        text.push_str("\nNo freeze starts in the next 7 days.");
    } else {
        text.push_str("\n*In the next 7 days*");
        for u in upcoming {
            text.push_str(&format!(
                "\n• {} — {} to {}: {}",
                u.name,
                slack_date_time(u.start),
                slack_date_time(u.end),
                names(&u.environments)
            ));
            if let Some(r) = &u.reason {
                text.push_str(" — ");
                text.push_str(r);
            }
        }
    }
    text.push_str(&format!(
        "\n`{c} freeze <environment|all> for <duration>` holds deployments now; windows that repeat belong in the workflow file's `freezes:`."
    ));
    Message::text(text)
}

/// What [Override…] deploys past a freeze: the deploy that was refused, as asked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FreezeOverride {
    pub repository: Repository,
    pub environment: Environment,
    /// `None`: the environment's default source, as `deploy <environment>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<GitRef>,
    /// A promotion button asked (a rolled-back commit is then refused, not asked about).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub promotion: bool,
}

/// A manual deploy into a frozen environment: refused, saying until when and why, with a
/// reason field and [Override…], which lets this one deployment through and leaves the
/// freeze in place.
pub fn deploy_frozen(
    grammar: &Grammar,
    frozen: &Frozen,
    now: Timestamp,
    asked: &FreezeOverride,
) -> Message {
    let c = grammar.command();
    let environment = &asked.environment;
    let text = format!(
        ":snowflake: *{environment}* is frozen until {} ({} from now): {}. Deployments by hand wait for the end of the freeze; automatic ones wait in line and the newest goes when it ends. If this one cannot wait, write why below and press *Override…*: it lets this one deployment through (with {environment}'s approvals, if it has any) and the freeze stays. `{c} unfreeze {environment}` lifts a freeze set from Slack.",
        slack_date_time(frozen.until),
        time_left(frozen.until, now),
        frozen.why()
    );
    let what = deployed_what(asked.git_ref.as_ref(), environment);
    let value = serde_json::to_string(asked).unwrap_or_default();
    Message {
        text: text.clone(),
        blocks: vec![
            Block::section(text),
            Block::Input {
                block_id: APPROVAL_REASON.to_owned(),
                label: Text::plain("Reason (to override)"),
                element: Element::PlainTextInput {
                    action_id: APPROVAL_REASON.to_owned(),
                    placeholder: Some(Text::plain("Why this cannot wait for the end of the freeze")),
                    max_length: Some(300),
                },
                optional: true,
            },
            Block::actions(vec![
                Element::button("Override…", ACTION_FREEZE_OVERRIDE, value)
                    .with_style(ButtonStyle::Danger)
                    .with_confirm(Confirm::new(
                        "Deploy past the freeze?",
                        format!(
                            "Deploys {what} to {environment} although it is frozen ({}). The channel is told who and why; the freeze stays for everything else.",
                            frozen.why()
                        ),
                        "Override",
                    )),
            ]),
        ],
    }
}

/// What a deploy by hand deploys, as people read it: `` `v1.4.0` ``, a commit's seven
/// characters, or "the default for production".
pub fn deployed_what(git_ref: Option<&GitRef>, environment: &Environment) -> String {
    match git_ref {
        None => format!("the default for {environment}"),
        Some(r) => {
            let name = r.short_name();
            if deploybot_core::Sha::looks_like_sha(name) {
                format!("`{}`", name.chars().take(7).collect::<String>())
            } else {
                format!("`{name}`")
            }
        }
    }
}

/// The channel is told a person deployed past a freeze.
pub fn freeze_overridden(
    user: &SlackUserId,
    environment: &Environment,
    what: &str,
    reason: &str,
) -> Message {
    Message::text(format!(
        ":snowflake: <@{user}> overrode the freeze of *{environment}* to deploy {what}: {}. The freeze stays for everything else.",
        super::replies::escape(reason)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_rounds_up_to_minutes() {
        let now = Timestamp::from_secs(1_000);
        assert_eq!(time_left(now.plus_secs(4_801), now), "1h 21m");
        assert_eq!(time_left(now.plus_secs(4_800), now), "1h 20m");
        assert_eq!(time_left(now.plus_secs(5), now), "1m");
        assert_eq!(time_left(now.plus_secs(-5), now), "1m");
    }

    #[test]
    fn the_refusal_says_until_when_and_why() {
        let frozen = Frozen {
            name: "weekend".into(),
            reason: Some("nobody on call".into()),
            since: Timestamp::from_secs(0),
            until: Timestamp::from_secs(7_200),
        };
        let asked = FreezeOverride {
            repository: Repository::parse("acme/web").expect("valid"),
            environment: Environment::Production,
            git_ref: Some(GitRef::Tag("v1.4.0".into())),
            promotion: false,
        };
        let m = deploy_frozen(
            &Grammar::default(),
            &frozen,
            Timestamp::from_secs(0),
            &asked,
        );
        assert!(
            m.text.contains("*production* is frozen until <!date^7200^"),
            "{}",
            m.text
        );
        assert!(
            m.text.contains("(2h from now): weekend — nobody on call"),
            "{}",
            m.text
        );
        // The reason field and [Override…], whose value is the deploy as asked.
        let json = serde_json::to_value(&m.blocks).expect("serialises");
        let shown = json.to_string();
        assert!(shown.contains(APPROVAL_REASON), "{shown}");
        let button = json[2]["elements"][0].clone();
        assert_eq!(button["action_id"], ACTION_FREEZE_OVERRIDE, "{shown}");
        assert!(button["confirm"].is_object(), "{shown}");
        let value: FreezeOverride =
            serde_json::from_str(button["value"].as_str().expect("a value")).expect("parses");
        assert_eq!(value, asked);
    }
}
