//! The "What's shipping" section of a deployment message (and of the rollback preview), and
//! the direct message that tells an author their pull request is live. Pure functions of the
//! stored record.

use super::deployment::person;
use deploybot_core::blocks::{Block, Message};
use deploybot_core::shipping::{Line, MAX_LINES, Shipping, ShippingRecord};
use deploybot_core::{Deployment, Environment, Repository, UserLink};

/// Longest title shown on a line (Slack limits a section to 3000 characters).
const MAX_TITLE_CHARS: usize = 72;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn link(url: &str, label: &str) -> String {
    let url = url.replace('|', "%7C").replace('>', "%3E");
    format!("<{url}|{label}>")
}

fn title(text: &str) -> String {
    let mut cut: String = text.chars().take(MAX_TITLE_CHARS).collect();
    if text.chars().count() > MAX_TITLE_CHARS {
        cut.pop();
        cut.push('…');
    }
    escape(&cut)
}

/// The section's blocks: a heading and one line per pull request (then per commit outside
/// them), at most [`MAX_LINES`], then "+N more" linking to GitHub's compare page. A
/// comparison GitHub did not give is said in one context line.
pub fn shipping_blocks(
    record: &ShippingRecord,
    repository: &Repository,
    environment: &Environment,
    links: &[UserLink],
) -> Vec<Block> {
    let heading = if record.removes {
        "*What the rollback removes*"
    } else {
        "*What's shipping*"
    };
    match &record.shipping {
        Shipping::Listed(comparison) => {
            let (lines, more) = comparison.lines(MAX_LINES);
            if lines.is_empty() {
                return vec![Block::context(format!(
                    "{heading}: no commits between {} and {}.",
                    comparison.base.short(),
                    comparison.head.short()
                ))];
            }
            let mut text: Vec<String> = lines
                .iter()
                .map(|line| match line {
                    Line::PullRequest(pr) => {
                        let by = pr
                            .author
                            .as_ref()
                            .map(|a| format!(" — {}", person(a, links)))
                            .unwrap_or_default();
                        format!(
                            "• {} {}{by}",
                            link(&pr.url, &format!("#{}", pr.number)),
                            title(&pr.title)
                        )
                    }
                    Line::Commit(c) => {
                        let by = c
                            .author
                            .as_ref()
                            .map(|a| format!(" — {}", person(a, links)))
                            .unwrap_or_default();
                        format!(
                            "• {} {}{by}",
                            link(
                                &format!("https://github.com/{repository}/commit/{}", c.sha),
                                &format!("`{}`", c.sha.short())
                            ),
                            title(&c.title)
                        )
                    }
                })
                .collect();
            if more > 0 {
                text.push(link(&comparison.url, &format!("+{more} more")));
            }
            let commits = match comparison.total_commits {
                1 => "1 commit".to_owned(),
                n => format!("{n} commits"),
            };
            vec![Block::section(format!(
                "{heading} ({commits}, {})\n{}",
                link(&comparison.url, "compare"),
                text.join("\n")
            ))]
        }
        Shipping::First => vec![Block::context(format!(
            "{heading}: the first deployment to {environment} in deploybot's records, nothing to compare with."
        ))],
        Shipping::Same => vec![Block::context(format!(
            "{heading}: {environment} runs this commit already."
        ))],
        Shipping::Unavailable { why } => vec![Block::context(format!(
            "{heading} is not shown: {}.",
            escape(why)
        ))],
    }
}

/// The deployment message with its "What's shipping" section after the summary fields.
pub fn with_shipping(
    mut message: Message,
    d: &Deployment,
    record: Option<&ShippingRecord>,
    links: &[UserLink],
) -> Message {
    if let Some(record) = record {
        let at = message.blocks.len().min(2);
        let blocks = shipping_blocks(record, &d.repository, &d.environment, links);
        message.blocks.splice(at..at, blocks);
    }
    message
}

/// "Your pull request #812 Fix the login page is live in production (acme/web @ abc1234)."
pub fn live_message(d: &Deployment, number: u64, pr_title: &str, url: &str) -> Message {
    let text = format!(
        ":rocket: Your pull request {} {} is live in {} ({} @ `{}`).",
        link(url, &format!("#{number}")),
        title(pr_title),
        d.environment,
        d.repository,
        d.sha.short()
    );
    Message::text(text)
}
