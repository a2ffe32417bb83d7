//! The lane's messages: lock notices with their buttons, "what happens next", replies.

use super::{ACTION_EXTEND, ACTION_UNLOCK, ACTION_UNLOCK_CONFIRMED};
use deploybot_core::blocks::{Block, ButtonStyle, Confirm, Element, Message};
use deploybot_core::lane::{LaneKey, Notice};

/// The message of a notice: its words, plus the buttons that act on the lock.
pub fn notice_message(lane: &LaneKey, notice: &Notice) -> Message {
    let text = notice.text(&lane.environment);
    let value = lane.as_key();
    let buttons = match notice {
        Notice::Locked { .. } | Notice::Extended { .. } => vec![
            Element::button("Unlock", ACTION_UNLOCK, value.clone()),
            Element::button("Extend 1h", ACTION_EXTEND, value),
        ],
        Notice::LockExpiringSoon { .. } => vec![
            Element::button("Extend 1h", ACTION_EXTEND, value.clone())
                .with_style(ButtonStyle::Primary),
            Element::button("Unlock now", ACTION_UNLOCK, value),
        ],
        Notice::ConfirmUnlock { lock, .. } => vec![
            Element::button("Unlock anyway", ACTION_UNLOCK_CONFIRMED, value)
                .with_style(ButtonStyle::Danger)
                .with_confirm(Confirm::new(
                    format!("Unlock {}?", lane.environment),
                    format!(
                        "{} holds this lock and will be told that you took it.",
                        lock.holder.mention()
                    ),
                    "Unlock",
                )),
        ],
        Notice::Reply { .. }
        | Notice::Unlocked { .. }
        | Notice::LockTakenOver { .. }
        | Notice::NextUp { .. } => Vec::new(),
    };
    let text = match notice {
        Notice::NextUp { text } => format!("{}: {text}", lane.environment),
        _ => text,
    };
    let mut blocks = vec![Block::section(text.clone())];
    if !buttons.is_empty() {
        blocks.push(Block::actions(buttons));
    }
    Message { text, blocks }
}
