//! The words of freezes: set and lifted from Slack, listed by `freezes`, shown by `status`,
//! and the refusal of a manual deploy into a frozen environment.

use deploybot_core::blocks::Message;
use deploybot_core::command::Grammar;
use deploybot_core::freeze::{Frozen, ManualFreeze};
use deploybot_core::lane::{format_duration, slack_date_time};
use deploybot_core::{Environment, SlackUserId, Timestamp};
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

/// A manual deploy into a frozen environment: refused, saying until when and why.
pub fn deploy_frozen(
    grammar: &Grammar,
    environment: &Environment,
    frozen: &Frozen,
    now: Timestamp,
) -> Message {
    let c = grammar.command();
    Message::text(format!(
        ":snowflake: *{environment}* is frozen until {} ({} from now): {}. Deployments by hand wait for the end of the freeze; automatic ones wait in line and the newest goes when it ends. If this one cannot wait, `{c} unfreeze {environment}` lifts a freeze set from Slack.",
        slack_date_time(frozen.until),
        time_left(frozen.until, now),
        frozen.why()
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
        let m = deploy_frozen(
            &Grammar::default(),
            &Environment::Production,
            &frozen,
            Timestamp::from_secs(0),
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
    }
}
