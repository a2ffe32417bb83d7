//! A small typed model of the Slack Block Kit subset deploybot sends (sections, context,
//! actions with buttons, headers, dividers). See docs/adr/0004-block-kit-models.md for why
//! this is ours rather than a Slack SDK's.

use serde::{Deserialize, Serialize};

/// A message: fallback `text` (notifications, screen readers) plus blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Block>,
}

impl Message {
    /// A message with text only (rendered as one mrkdwn section).
    pub fn text(text: impl Into<String>) -> Self {
        let text = text.into();
        Self {
            blocks: vec![Block::section(text.clone())],
            text,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Header {
        text: Text,
    },
    Section {
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<Text>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        fields: Vec<Text>,
        #[serde(skip_serializing_if = "Option::is_none")]
        accessory: Option<Element>,
    },
    Context {
        elements: Vec<Text>,
    },
    Actions {
        #[serde(skip_serializing_if = "Option::is_none")]
        block_id: Option<String>,
        elements: Vec<Element>,
    },
    Divider,
    /// A field people fill in (in a message, its value comes with the next button press of
    /// the message, in the payload's `state.values`).
    Input {
        block_id: String,
        label: Text,
        element: Element,
        optional: bool,
    },
}

impl Block {
    pub fn section(mrkdwn: impl Into<String>) -> Self {
        Block::Section {
            text: Some(Text::mrkdwn(mrkdwn)),
            fields: Vec::new(),
            accessory: None,
        }
    }

    pub fn header(plain: impl Into<String>) -> Self {
        Block::Header {
            text: Text::plain(plain),
        }
    }

    pub fn context(mrkdwn: impl Into<String>) -> Self {
        Block::Context {
            elements: vec![Text::mrkdwn(mrkdwn)],
        }
    }

    pub fn actions(elements: Vec<Element>) -> Self {
        Block::Actions {
            block_id: None,
            elements,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Text {
    #[serde(rename = "mrkdwn")]
    Mrkdwn { text: String },
    #[serde(rename = "plain_text")]
    Plain {
        text: String,
        #[serde(default)]
        emoji: bool,
    },
}

impl Text {
    pub fn mrkdwn(text: impl Into<String>) -> Self {
        Text::Mrkdwn { text: text.into() }
    }
    pub fn plain(text: impl Into<String>) -> Self {
        Text::Plain {
            text: text.into(),
            emoji: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ButtonStyle {
    Primary,
    Danger,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Element {
    Button {
        text: Text,
        action_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        value: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        style: Option<ButtonStyle>,
        /// A dialog Slack shows before sending the action.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confirm: Option<Box<Confirm>>,
    },
    /// A type-ahead select whose options Slack loads from the app's options load URL as the
    /// person types (a `block_suggestion`, answered with [`OptionsAnswer`]); the choice comes
    /// back as a `block_actions` with `selected_option`.
    ExternalSelect {
        action_id: String,
        placeholder: Text,
        /// Characters typed before Slack asks (Slack's default is 3).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_query_length: Option<u32>,
    },
    /// A one-line text field (in an [`Block::Input`]).
    PlainTextInput {
        action_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        placeholder: Option<Text>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_length: Option<u32>,
    },
}

/// Slack's most options in one answer to a `block_suggestion` (and in a static select).
pub const MAX_SELECT_OPTIONS: usize = 100;

/// One option of a select menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectOption {
    pub text: Text,
    pub value: String,
}

impl SelectOption {
    /// An option shown as `label` (plain text) that sends `value`.
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            text: Text::Plain {
                text: label.into(),
                emoji: false,
            },
            value: value.into(),
        }
    }
}

/// The answer to a `block_suggestion`: `{"options": [...]}`, at most [`MAX_SELECT_OPTIONS`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionsAnswer {
    pub options: Vec<SelectOption>,
}

/// Block Kit's confirmation dialog (`confirm` on a button).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirm {
    pub title: Text,
    pub text: Text,
    pub confirm: Text,
    pub deny: Text,
}

impl Confirm {
    /// A dialog titled `title` asking `question`, with `yes` and "Cancel" buttons.
    pub fn new(
        title: impl Into<String>,
        question: impl Into<String>,
        yes: impl Into<String>,
    ) -> Self {
        Self {
            title: Text::plain(title),
            text: Text::mrkdwn(question),
            confirm: Text::plain(yes),
            deny: Text::plain("Cancel"),
        }
    }
}

impl Element {
    /// A button that sends `action_id` and `value` back to the interactivity endpoint.
    pub fn button(
        label: impl Into<String>,
        action_id: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        Element::Button {
            text: Text::plain(label),
            action_id: action_id.into(),
            value: Some(value.into()),
            url: None,
            style: None,
            confirm: None,
        }
    }

    /// A button that opens a link.
    pub fn link(
        label: impl Into<String>,
        action_id: impl Into<String>,
        url: impl Into<String>,
    ) -> Self {
        Element::Button {
            text: Text::plain(label),
            action_id: action_id.into(),
            value: None,
            url: Some(url.into()),
            style: None,
            confirm: None,
        }
    }

    /// A type-ahead select loading its options from the options load URL.
    pub fn external_select(
        action_id: impl Into<String>,
        placeholder: impl Into<String>,
        min_query_length: Option<u32>,
    ) -> Self {
        Element::ExternalSelect {
            action_id: action_id.into(),
            placeholder: Text::plain(placeholder),
            min_query_length,
        }
    }

    /// Styles a button (other elements have no style).
    pub fn with_style(mut self, s: ButtonStyle) -> Self {
        if let Element::Button { style, .. } = &mut self {
            *style = Some(s);
        }
        self
    }

    /// Asks for confirmation before a button's action is sent.
    pub fn with_confirm(mut self, c: Confirm) -> Self {
        if let Element::Button { confirm, .. } = &mut self {
            *confirm = Some(Box::new(c));
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serialises_as_block_kit() {
        let msg = Message {
            text: "fallback".into(),
            blocks: vec![
                Block::header("Deploying"),
                Block::section("*bold*"),
                Block::context("ctx"),
                Block::actions(vec![
                    Element::button("Retry", "retry", "abc").with_style(ButtonStyle::Primary),
                    Element::link("Build", "open_build", "https://ci.example/1"),
                ]),
                Block::Divider,
            ],
        };
        let value = serde_json::to_value(&msg).expect("serialises");
        assert_eq!(
            value,
            json!({
                "text": "fallback",
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": "Deploying", "emoji": true}},
                    {"type": "section", "text": {"type": "mrkdwn", "text": "*bold*"}},
                    {"type": "context", "elements": [{"type": "mrkdwn", "text": "ctx"}]},
                    {"type": "actions", "elements": [
                        {"type": "button", "text": {"type": "plain_text", "text": "Retry", "emoji": true}, "action_id": "retry", "value": "abc", "style": "primary"},
                        {"type": "button", "text": {"type": "plain_text", "text": "Build", "emoji": true}, "action_id": "open_build", "url": "https://ci.example/1"}
                    ]},
                    {"type": "divider"}
                ]
            })
        );
        let back: Message = serde_json::from_value(value).expect("deserialises");
        assert_eq!(back, msg);
    }
}
