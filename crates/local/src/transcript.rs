//! The readable record of what the bot did: Slack messages rendered as a person sees them
//! (mentions as names, links as `label (url)`, buttons as `[label]`), and an observer that
//! reports what changed in the fakes since it last looked — new channel messages and their
//! edits, ephemeral replies, `response_url` answers, and the calls made to GitHub and CircleCI.

use crate::wiring::FakeServices;
use crate::world::person_by_slack;
use deploybot_core::blocks::{Block, Element, Message, Text};
use serde_json::Value;
use std::collections::HashMap;

/// Lines of a transcript, optionally echoed to stdout as they are written (the demo prints
/// live; tests keep the text and print it when something fails).
#[derive(Debug, Default)]
pub struct Transcript {
    text: String,
    echo: bool,
}

impl Transcript {
    pub fn new(echo: bool) -> Self {
        Self {
            text: String::new(),
            echo,
        }
    }

    pub fn line(&mut self, line: impl AsRef<str>) {
        let line = line.as_ref();
        if self.echo {
            use std::io::Write;
            // A closed pipe (`demo | head`) must not stop the demo: its checks still run.
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        }
        self.text.push_str(line);
        self.text.push('\n');
    }

    pub fn lines<I: IntoIterator<Item = String>>(&mut self, lines: I) {
        for line in lines {
            self.line(line);
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

// ---- rendering Slack text -------------------------------------------------------------------

const EMOJI: [(&str, &str); 22] = [
    (":hourglass:", "⏳"),
    (":new:", "🆕"),
    (":inbox_tray:", "📥"),
    (":hammer_and_wrench:", "🛠"),
    (":white_check_mark:", "✅"),
    (":x:", "❌"),
    (":warning:", "⚠️"),
    (":zzz:", "💤"),
    (":round_pushpin:", "📍"),
    (":rocket:", "🚀"),
    (":wave:", "👋"),
    (":no_entry:", "⛔"),
    (":scroll:", "📜"),
    (":repeat:", "🔁"),
    (":mag:", "🔍"),
    (":link:", "🔗"),
    (":handshake:", "🤝"),
    (":globe_with_meridians:", "🌐"),
    (":gear:", "⚙️"),
    (":thinking_face:", "🤔"),
    (":face_with_head_bandage:", "🤕"),
    (":tada:", "🎉"),
];

/// Slack mrkdwn as plain text: `<@U1>` → `@Name`, `<#C1|web>` → `#web`, `<url|label>` →
/// `label (url)`, entities decoded, bold markers dropped, known emoji codes as emoji.
pub fn plain(mrkdwn: &str) -> String {
    let mut out = String::with_capacity(mrkdwn.len());
    let mut rest = mrkdwn;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        out.push_str(&special(&after[..end]));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    let mut text = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace('*', "");
    for (code, emoji) in EMOJI {
        text = text.replace(code, emoji);
    }
    text
}

/// One `<...>` of mrkdwn.
fn special(inner: &str) -> String {
    let (target, label) = match inner.split_once('|') {
        Some((t, l)) => (t, Some(l)),
        None => (inner, None),
    };
    if let Some(user) = target.strip_prefix('@') {
        let name = person_by_slack(user).map_or(user, |p| p.name);
        return format!("@{name}");
    }
    if let Some(channel) = target.strip_prefix('#') {
        return format!("#{}", label.unwrap_or(channel));
    }
    if let Some(special) = target.strip_prefix('!') {
        return format!("@{special}");
    }
    match label {
        Some(label) if label != target => format!("{label} ({target})"),
        _ => target.to_owned(),
    }
}

fn text_of(text: &Text) -> &str {
    match text {
        Text::Mrkdwn { text } | Text::Plain { text, .. } => text,
    }
}

/// A field such as `*Ref*\n`main`` as `Ref: `main``.
fn field(text: &Text) -> String {
    let raw = text_of(text);
    match raw.split_once('\n') {
        Some((label, value)) => format!("{}: {}", plain(label), plain(value).replace('\n', " ")),
        None => plain(raw),
    }
}

fn button(element: &Element) -> String {
    match element {
        Element::Button { text, .. } => format!("[{}]", plain(text_of(text))),
        Element::ExternalSelect { placeholder, .. } => {
            format!("[{} ▾]", plain(text_of(placeholder)))
        }
        Element::PlainTextInput { placeholder, .. } => format!(
            "[{} ____]",
            placeholder
                .as_ref()
                .map(|p| plain(text_of(p)))
                .unwrap_or_default()
        ),
    }
}

/// The message as the lines a person reads in Slack.
pub fn message_lines(message: &Message) -> Vec<String> {
    if message.blocks.is_empty() {
        return plain(&message.text).lines().map(str::to_owned).collect();
    }
    let mut lines = Vec::new();
    for block in &message.blocks {
        match block {
            Block::Header { text } => lines.push(plain(text_of(text))),
            Block::Section {
                text,
                fields,
                accessory,
            } => {
                if let Some(text) = text {
                    lines.extend(plain(text_of(text)).lines().map(str::to_owned));
                }
                if !fields.is_empty() {
                    lines.push(fields.iter().map(field).collect::<Vec<_>>().join(" · "));
                }
                if let Some(accessory) = accessory {
                    lines.push(button(accessory));
                }
            }
            Block::Context { elements } => lines.push(
                elements
                    .iter()
                    .map(|t| plain(text_of(t)))
                    .collect::<Vec<_>>()
                    .join("  "),
            ),
            Block::Actions { elements, .. } => {
                lines.push(elements.iter().map(button).collect::<Vec<_>>().join(" "));
            }
            Block::Divider => lines.push("────".to_owned()),
            Block::Input { label, element, .. } => {
                lines.push(format!("{}: {}", plain(text_of(label)), button(element)));
            }
        }
    }
    lines.retain(|l| !l.trim().is_empty());
    lines
}

/// Lines indented under a heading.
fn indented(lines: &[String], prefix: &str) -> Vec<String> {
    lines.iter().map(|l| format!("{prefix}{l}")).collect()
}

/// Who a response URL of the harness belongs to: its id is `<kind>-<slack user>-<n>`.
fn response_owner(id: &str) -> String {
    id.split('-').nth(1).and_then(person_by_slack).map_or_else(
        || "the person who asked".to_owned(),
        |p| p.first_name().to_owned(),
    )
}

// ---- summaries of API calls -----------------------------------------------------------------

/// `key=value` for the fields of a JSON request body worth reading in a transcript.
fn body_summary(body: &[u8], keys: &[&str]) -> String {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return String::new();
    };
    let mut parts = Vec::new();
    for key in keys {
        let Some(value) = map.get(*key) else { continue };
        let text = match value {
            Value::String(s) => {
                let first = s
                    .lines()
                    .find(|l| !l.trim().is_empty() && !l.starts_with("<!--"))
                    .unwrap_or_default();
                plain(first)
            }
            Value::Null => continue,
            Value::Object(inner) => {
                // Nested parameters read best flattened: `environment=pr42 version=...`.
                parts.extend(inner.iter().map(|(k, v)| match v {
                    Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                }));
                continue;
            }
            other => other.to_string(),
        };
        parts.push(format!("{key}={text}"));
    }
    parts.join(" ")
}

fn github_call(method: &str, path: &str, body: &[u8]) -> String {
    let keys: &[&str] = if path.ends_with("/deployments") {
        &["ref", "environment", "auto_merge", "transient_environment"]
    } else if path.contains("/statuses") {
        &["state", "environment_url"]
    } else if path.contains("/comments") {
        &["body"]
    } else {
        &[]
    };
    let summary = body_summary(body, keys);
    let what = if path.contains("/access_tokens") || path.ends_with("/installation") {
        "  (GitHub App authentication)"
    } else {
        ""
    };
    format!("GitHub API   ← {method} {path} {summary}{what}")
        .trim_end()
        .to_owned()
}

fn circleci_call(method: &str, path: &str, body: &[u8]) -> String {
    let summary = body_summary(body, &["branch", "tag", "parameters"]);
    format!("CircleCI API ← {method} {path} {summary}")
        .trim_end()
        .to_owned()
}

// ---- the observer -----------------------------------------------------------------------------

/// Remembers how far it has read the fakes' records.
#[derive(Debug, Default)]
pub struct Observer {
    /// Versions seen per message (channel, ts).
    versions: HashMap<(String, String), usize>,
    /// Message numbers in posting order, for "message 3 edited".
    numbers: HashMap<(String, String), usize>,
    ephemerals: usize,
    responses: usize,
    github_requests: usize,
    ci_requests: usize,
}

impl Observer {
    /// An observer that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// What happened in the fakes since the last call, as transcript lines (indented by
    /// `indent`).
    pub fn changes(&mut self, fakes: &FakeServices, indent: &str) -> Vec<String> {
        let mut out = Vec::new();
        let body = format!("{indent}    ");

        for (index, posted) in fakes.slack.all_messages().iter().enumerate() {
            let key = (posted.channel.to_string(), posted.ts.clone());
            let number = *self.numbers.entry(key.clone()).or_insert(index + 1);
            let seen = self.versions.get(&key).copied().unwrap_or(0);
            let channel = match person_by_slack(posted.channel.as_str()) {
                Some(p) => format!("@{}", p.first_name()),
                None if posted.channel.as_str() == crate::world::CHANNEL => {
                    format!("#{}", crate::world::CHANNEL_NAME)
                }
                None => format!("#{}", posted.channel),
            };
            for version in seen..posted.versions.len() {
                let lines = message_lines(&posted.versions[version]);
                if version == 0 {
                    out.push(format!("{indent}{channel}  deploybot (message {number}):"));
                    out.extend(indented(&lines, &body));
                } else if posted.versions[version] == posted.versions[version - 1] {
                    out.push(format!(
                        "{indent}{channel}  message {number} updated with the same content"
                    ));
                } else {
                    let before = message_lines(&posted.versions[version - 1]);
                    let headline = lines.first().cloned().unwrap_or_default();
                    out.push(format!(
                        "{indent}{channel}  message {number} edited → {headline}"
                    ));
                    // New lines, marked `+`; lines that went away are shown (`-`) only when
                    // nothing replaced them (a button removed), to keep edits short.
                    let added: Vec<&String> = lines
                        .iter()
                        .skip(1)
                        .filter(|l| !before.contains(l))
                        .collect();
                    for line in &added {
                        out.push(format!("{body}+ {line}"));
                    }
                    if added.is_empty() {
                        for line in before.iter().skip(1).filter(|l| !lines.contains(l)) {
                            out.push(format!("{body}- {line}"));
                        }
                    }
                }
            }
            self.versions.insert(key, posted.versions.len());
        }

        let ephemerals = fakes.slack.ephemerals();
        for e in ephemerals.iter().skip(self.ephemerals) {
            let who = person_by_slack(e.user.as_str())
                .map_or_else(|| e.user.to_string(), |p| p.first_name().to_owned());
            out.push(format!("{indent}(only {who} sees) deploybot:"));
            out.extend(indented(&message_lines(&e.message), &body));
        }
        self.ephemerals = ephemerals.len();

        let responses = fakes.slack.responses();
        for r in responses.iter().skip(self.responses) {
            let who = response_owner(&r.id);
            let visibility = if r.response.ephemeral {
                format!("only {who} sees")
            } else {
                "everyone sees".to_owned()
            };
            let replaces = if r.response.replace_original {
                ", replacing the message with the buttons"
            } else {
                ""
            };
            out.push(format!("{indent}({visibility}{replaces}) deploybot:"));
            out.extend(indented(&message_lines(&r.response.message), &body));
        }
        self.responses = responses.len();

        let github = fakes.github.requests();
        for r in github.iter().skip(self.github_requests) {
            out.push(format!(
                "{indent}{}",
                github_call(&r.method, &r.path_and_query, &r.body)
            ));
        }
        self.github_requests = github.len();

        let ci = fakes.ci.requests();
        for r in ci.iter().skip(self.ci_requests) {
            out.push(format!(
                "{indent}{}",
                circleci_call(&r.method, &r.path_and_query, &r.body)
            ));
        }
        self.ci_requests = ci.len();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mrkdwn_reads_as_plain_text() {
        assert_eq!(
            plain(
                "*pr42* by <@U0ADA> in <#C0WEB|web>: <https://x.example/|x.example> &lt;ok&gt; :white_check_mark:"
            ),
            "pr42 by @Ada Lovelace in #web: x.example (https://x.example/) <ok> ✅"
        );
        assert_eq!(plain("<https://a.example/>"), "https://a.example/");
        assert_eq!(
            plain("<@U9UNKNOWN> <!here> a < b"),
            "@U9UNKNOWN @here a < b"
        );
    }

    #[test]
    fn messages_render_blocks_fields_and_buttons() {
        let message = Message {
            text: "fallback".into(),
            blocks: vec![
                Block::section("Deployment to *test* succeeded"),
                Block::Section {
                    text: None,
                    fields: vec![
                        Text::mrkdwn("*Ref*\n`main`"),
                        Text::mrkdwn("*Author*\n<@U0GRACE>"),
                    ],
                    accessory: None,
                },
                Block::context(":gear: <https://ci.example/1|Build #1>"),
                Block::actions(vec![Element::button("Deploy to staging", "promote", "id")]),
            ],
        };
        assert_eq!(
            message_lines(&message),
            [
                "Deployment to test succeeded",
                "Ref: `main` · Author: @Grace Hopper",
                "⚙️ Build #1 (https://ci.example/1)",
                "[Deploy to staging]",
            ]
        );
        assert_eq!(message_lines(&Message::default()), Vec::<String>::new());
    }

    #[tokio::test]
    async fn the_observer_reports_each_change_once() {
        use deploybot_core::ports::{ResponseMessage, Slack};
        let fakes = FakeServices::start().await.expect("the fakes start");
        let mut observer = Observer::new();
        assert!(observer.changes(&fakes, "").is_empty());

        let channel = deploybot_core::SlackChannelId::parse(crate::world::CHANNEL).expect("id");
        let first = Message {
            text: "queued".into(),
            blocks: vec![
                Block::section(":inbox_tray: queued"),
                Block::actions(vec![Element::button("Retry", "retry", "1")]),
            ],
        };
        let ts = fakes
            .slack
            .post_message(&channel, &first)
            .await
            .expect("posts");
        fakes
            .slack
            .update_message(&channel, &ts, &first)
            .await
            .expect("updates");
        let done = Message {
            text: "done".into(),
            blocks: vec![Block::section(":white_check_mark: done")],
        };
        fakes
            .slack
            .update_message(&channel, &ts, &done)
            .await
            .expect("updates");
        let reply = ResponseMessage {
            message: Message::text("only for <@U0ADA>"),
            ephemeral: true,
            replace_original: false,
        };
        let url = fakes.slack.response_url("cmd-U0ADA-1");
        fakes.slack.respond(&url, &reply).await.expect("responds");

        assert_eq!(
            observer.changes(&fakes, ""),
            [
                "#web  deploybot (message 1):",
                "    📥 queued",
                "    [Retry]",
                "#web  message 1 updated with the same content",
                "#web  message 1 edited → ✅ done",
                "    - [Retry]",
                "(only Ada sees) deploybot:",
                "    only for @Ada Lovelace",
            ]
        );
        assert!(observer.changes(&fakes, "").is_empty(), "nothing twice");
    }

    #[test]
    fn call_summaries_pick_the_telling_fields() {
        let body = br#"{"ref":"main","environment":"preview","auto_merge":false,"payload":{}}"#;
        assert_eq!(
            github_call("POST", "/repos/acme/web/deployments", body),
            "GitHub API   ← POST /repos/acme/web/deployments ref=main environment=preview auto_merge=false"
        );
        let comment = br#"{"body":"<!-- marker -->\n:rocket: **pr42** is up"}"#;
        assert_eq!(
            github_call("POST", "/repos/acme/web/issues/42/comments", comment),
            "GitHub API   ← POST /repos/acme/web/issues/42/comments body=🚀 pr42 is up"
        );
        let pipeline = br#"{"branch":"main","parameters":{"environment":"preview"}}"#;
        assert_eq!(
            circleci_call("POST", "/project/gh/acme/web/pipeline", pipeline),
            "CircleCI API ← POST /project/gh/acme/web/pipeline branch=main environment=preview"
        );
    }
}
