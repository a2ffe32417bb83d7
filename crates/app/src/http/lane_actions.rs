//! What `slack-command` and `slack-interactive` share about a lane's lock: a person's lock,
//! unlock or extension applied to the lane (its notices go to the project's channel), the
//! dispatch it decides handed to `github-deployment-create`, and the answer for that person.

use crate::lanes::{self, Applied};
use crate::render::{lanes::notice_message, replies};
use crate::{AppError, AppState};
use deploybot_core::blocks::Message;
use deploybot_core::command::Grammar;
use deploybot_core::invoke::{DeploymentCreateRequest, send};
use deploybot_core::lane::{Effect, LaneEvent, LaneKey, LockEnd};
use deploybot_core::{Environment, Repository, SlackChannelId};

/// The answer for the person who acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The lane's own answer: a refusal, or the offer to take someone else's lock.
    Reply(Message),
    /// It was done and the channel was told; a short confirmation.
    Done(Message),
}

impl Answer {
    /// The message, whichever it is.
    pub fn into_message(self) -> Message {
        match self {
            Self::Reply(m) | Self::Done(m) => m,
        }
    }
}

/// The lane a button names: its value is `LaneKey::as_key` (`acme/web#staging`). `None` for
/// anything else.
pub fn lane_from_value(value: &str) -> Option<LaneKey> {
    // A repository's name has no `#`; an environment's may.
    let (repository, environment) = value.split_once('#')?;
    Some(LaneKey {
        repository: Repository::parse(repository).ok()?,
        environment: Environment::parse(environment).ok()?,
    })
}

/// Applies a person's `event` to the lane `key`, with the lane's notices to `channel`; hands
/// the deployment it dispatches (the one that waited for the lock, say) to
/// `github-deployment-create`; and words the answer for the person.
pub async fn act(
    state: &AppState,
    key: &LaneKey,
    event: &LaneEvent,
    channel: &SlackChannelId,
) -> Result<Answer, AppError> {
    let applied = lanes::apply_in(state, key, event, Some(channel)).await?;
    if let Some(next) = &applied.dispatch {
        let request = DeploymentCreateRequest::Dispatch {
            repository: next.repository.clone(),
            deployment_id: next.id.clone(),
        };
        send(state.invoker()?, &request).await?;
    }
    Ok(answer(&state.config.grammar, key, &applied))
}

/// The answer for what the lane did: its replies for the person when it has any, else a
/// confirmation of what changed.
fn answer(grammar: &Grammar, key: &LaneKey, applied: &Applied) -> Answer {
    if !applied.replies.is_empty() {
        let messages: Vec<Message> = applied
            .replies
            .iter()
            .map(|n| notice_message(key, n))
            .collect();
        return Answer::Reply(Message {
            text: messages
                .iter()
                .map(|m| m.text.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            blocks: messages.into_iter().flat_map(|m| m.blocks).collect(),
        });
    }
    let environment = &key.environment;
    let taken = applied.effects.iter().find_map(|e| match e {
        Effect::TakeLock(lock) => Some(lock),
        _ => None,
    });
    let released = applied.effects.iter().find_map(|e| match e {
        Effect::ReleaseLock {
            lock,
            end: LockEnd::Unlocked { by } | LockEnd::TakenOver { by },
        } => Some((lock, by)),
        _ => None,
    });
    let ran_out = applied.effects.iter().find_map(|e| match e {
        Effect::ReleaseLock {
            lock,
            end: LockEnd::Expired,
        } => Some(lock),
        _ => None,
    });
    if let Some(lock) = taken {
        Answer::Done(replies::lock_taken(grammar, environment, lock))
    } else if let Some((lock, by)) = released {
        Answer::Done(replies::lock_released(environment, lock, by))
    } else if let Some(lock) = ran_out {
        Answer::Done(replies::lock_ran_out(environment, lock))
    } else {
        // Nothing was decided here: the lane needed GitHub's answer, and
        // `github-deployment-create` decides and tells the channel.
        Answer::Done(replies::lane_handed_over(environment))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_values_round_trip_and_anything_else_is_none() {
        let key = LaneKey {
            repository: Repository::parse("acme/web").expect("valid"),
            environment: Environment::PullRequest(12),
        };
        assert_eq!(lane_from_value(&key.as_key()), Some(key));
        // Names may hold spaces and `#`.
        let spaced = LaneKey {
            repository: Repository::parse("acme/web").expect("valid"),
            environment: Environment::parse("eu #1 frankfurt").expect("valid"),
        };
        assert_eq!(lane_from_value(&spaced.as_key()), Some(spaced));
        for value in [
            "",
            "#",
            "acme/web",
            "acme/web#",
            "acme/web#q\u{7}a",
            "acme/web#pr0",
            "#staging",
            "acme#staging",
            "acme/web#pr0#x<",
            "000001907e1c2f4a00000001",
        ] {
            assert_eq!(lane_from_value(value), None, "{value:?}");
        }
    }
}
