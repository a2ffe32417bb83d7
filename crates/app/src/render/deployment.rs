//! The one Slack message of a deployment (posted when it is created, edited on every
//! transition) and the pull-request comment with the environment link. Pure functions of the
//! stored record, so the message always shows the latest state whoever renders it.

use super::{
    ACTION_APPROVE, ACTION_CANCEL_DEPLOYMENT, ACTION_PROMOTE, ACTION_REJECT, ACTION_RETRY,
    APPROVAL_REASON, ref_is_its_sha,
};
use deploybot_core::blocks::{Block, ButtonStyle, Confirm, Element, Message, Text};
use deploybot_core::{Deployment, DeploymentState, Environment, GithubLogin, Trigger, UserLink};

/// The hidden marker that finds deploybot's comment on a pull request again.
pub const PR_COMMENT_MARKER: &str = "<!-- deploybot:pr-environment -->";

/// Escapes the three characters Slack's mrkdwn treats as markup.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `<url|label>`, with what would break the link syntax escaped.
fn link(url: &str, label: &str) -> String {
    let url = url.replace('|', "%7C").replace('>', "%3E");
    format!("<{url}|{}>", escape(label))
}

/// A GitHub login as people in the channel should see it: their Slack mention when they
/// linked their account, the plain login otherwise.
pub(crate) fn person(login: &GithubLogin, links: &[UserLink]) -> String {
    links
        .iter()
        .find(|l| &l.github_login == login)
        .map(|l| l.slack_user.mention())
        .unwrap_or_else(|| escape(login.as_str()))
}

fn trigger_text(trigger: &Trigger, links: &[UserLink]) -> String {
    match trigger {
        Trigger::PullRequest { number, url } => match url {
            Some(url) => link(url, &format!("PR #{number}")),
            None => format!("PR #{number}"),
        },
        Trigger::Push { pusher } => match pusher {
            Some(p) => format!("push by {}", person(p, links)),
            None => "a push".to_owned(),
        },
        Trigger::Tag { pusher } => match pusher {
            Some(p) => format!("tag pushed by {}", person(p, links)),
            None => "a tag push".to_owned(),
        },
        Trigger::Manual { slack_user } => slack_user.mention(),
        Trigger::Retry { slack_user, .. } => format!("{} (retry)", slack_user.mention()),
        Trigger::Rollback {
            slack_user,
            from_sha,
            ..
        } => format!(
            "{} (rollback from `{}`)",
            slack_user.mention(),
            from_sha.short()
        ),
    }
}

/// The branch or tag name as people know it; `None` when the ref is the SHA itself.
fn ref_name(d: &Deployment) -> Option<String> {
    (!ref_is_its_sha(d)).then(|| escape(d.git_ref.short_name()))
}

/// The ref and short SHA, formatted as code.
fn ref_text(d: &Deployment) -> String {
    let short = d.sha.short();
    match ref_name(d) {
        Some(name) => format!("`{name}` @ `{short}`"),
        None => format!("`{short}`"),
    }
}

fn host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.trim_end_matches('/')
}

/// The deployment's message. `links` are the known GitHub ↔ Slack links of the people it
/// names (commit author, pusher); anyone not in it is shown by GitHub login.
pub fn deployment_message(d: &Deployment, links: &[UserLink]) -> Message {
    let state = d.state;
    let env = &d.environment;
    let headline = format!("{} Deployment to *{env}* {}", state.emoji(), state.label());
    let text = format!(
        "{} {env} {}: {}",
        state.emoji(),
        state.label(),
        match ref_name(d) {
            Some(name) => format!("{name} @ {}", d.sha.short()),
            None => d.sha.short().to_owned(),
        }
    );

    let mut fields = vec![
        Text::mrkdwn(format!("*Ref*\n{}", ref_text(d))),
        Text::mrkdwn(format!(
            "*Triggered by*\n{}",
            trigger_text(&d.trigger, links)
        )),
    ];
    if let Some(author) = &d.commit_author {
        fields.push(Text::mrkdwn(format!("*Author*\n{}", person(author, links))));
    }
    let mut blocks = vec![
        Block::section(headline),
        Block::Section {
            text: None,
            fields,
            accessory: None,
        },
    ];

    if state == DeploymentState::WaitingForChecks {
        let contexts = if d.waiting_for.is_empty() {
            "the commit's required checks".to_owned()
        } else {
            d.waiting_for
                .iter()
                .map(|c| format!("`{}`", escape(c)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        blocks.push(Block::section(format!(
            ":hourglass: Waiting for {contexts} to pass. The deployment starts by itself when they are green."
        )));
    }
    match (state, &d.hold) {
        (
            DeploymentState::Waiting,
            Some(deploybot_core::lane::Hold::Approval {
                expires_at,
                progress,
                requested_by,
                ..
            }),
        ) => approval_blocks(&mut blocks, d, *expires_at, progress, requested_by),
        // The hold's sentence is deploybot's own markup (a mention, a date).
        (DeploymentState::Waiting, Some(hold)) => {
            let icon = match hold {
                deploybot_core::lane::Hold::Freeze { .. } => ":snowflake:",
                _ => ":lock:",
            };
            blocks.push(Block::section(format!("{icon} {}", hold.sentence(env))));
        }
        (DeploymentState::Ready, _) => blocks.push(Block::section(format!(
            ":hourglass_flowing_sand: In line for {env}: it deploys when {env} is free and it is first."
        ))),
        _ => {
            if let Some(description) = &d.description {
                blocks.push(Block::context(format!("_{}_", escape(description))));
            }
        }
    }

    // The environment's required checks as deploybot last evaluated them (nothing before
    // the first evaluation, nor on records from before required checks were evaluated).
    match d.required_checks.as_deref() {
        Some([]) => blocks.push(Block::context("no required checks")),
        Some(checks) => blocks.push(Block::context(format!(
            "Required checks: {}",
            checks
                .iter()
                .map(|c| format!("`{}` {}", escape(&c.name), c.state.label()))
                .collect::<Vec<_>>()
                .join("  ·  ")
        ))),
        None => {}
    }

    let mut links_line = Vec::new();
    if let Some(build) = &d.build_url {
        let label = match d.pipeline_number {
            Some(n) => format!("Build #{n}"),
            None => "Build".to_owned(),
        };
        links_line.push(format!(":gear: {}", link(build, &label)));
    }
    if let Some(url) = &d.environment_url {
        links_line.push(format!(":globe_with_meridians: {}", link(url, host(url))));
    }
    if !links_line.is_empty() {
        blocks.push(Block::context(links_line.join("  ·  ")));
    }

    let mut buttons = Vec::new();
    if state == DeploymentState::Success && *env == Environment::Test {
        buttons.push(
            Element::button("Deploy to staging", ACTION_PROMOTE, d.id.as_str())
                .with_style(ButtonStyle::Primary),
        );
    }
    if matches!(state, DeploymentState::Failure | DeploymentState::Error) {
        buttons.push(Element::button("Retry", ACTION_RETRY, d.id.as_str()));
    }
    if d.ci_run().is_some()
        && matches!(
            state,
            DeploymentState::Created | DeploymentState::Queued | DeploymentState::InProgress
        )
    {
        let question = format!(
            "Cancel the deployment of `{}` to {env}? Its {} run is cancelled and the deployment ends `error` \"cancelled by you\".",
            d.sha.short(),
            d.ci_target().kind().label(),
        );
        buttons.push(
            Element::button("Cancel", ACTION_CANCEL_DEPLOYMENT, d.id.as_str())
                .with_style(ButtonStyle::Danger)
                .with_confirm(Confirm::new(
                    "Cancel the deployment?",
                    question,
                    "Cancel it",
                )),
        );
    }
    if !buttons.is_empty() {
        blocks.push(Block::Actions {
            block_id: Some(format!("deployment:{}", d.id)),
            elements: buttons,
        });
    }

    Message { text, blocks }
}

/// A deployment waiting for approval: "Waiting for approval — leads 0/1 · qa 0/1 — requested
/// by @ana — expires in 3h58m" (the time left as of the message's last edit, with the
/// expiry in each reader's time zone beside it), the reason field and [Approve] [Reject],
/// each with a confirm dialog.
fn approval_blocks(
    blocks: &mut Vec<Block>,
    d: &Deployment,
    expires_at: deploybot_core::Timestamp,
    progress: &str,
    requested_by: &str,
) {
    let env = &d.environment;
    blocks.push(Block::section(format!(
        ":raised_hand: Waiting for approval — {} — requested by {requested_by} — expires in {}",
        escape(progress),
        deploybot_core::approval::remaining(d.updated_at, expires_at)
    )));
    blocks.push(Block::context(format!(
        "It deploys by itself once approved. Expires {}.",
        deploybot_core::lane::slack_date_time(expires_at)
    )));
    blocks.push(Block::Input {
        block_id: APPROVAL_REASON.to_owned(),
        label: Text::plain("Reason (to reject)"),
        element: Element::PlainTextInput {
            action_id: APPROVAL_REASON.to_owned(),
            placeholder: Some(Text::plain("Why it should not go out")),
            max_length: Some(300),
        },
        optional: true,
    });
    let sha = d.sha.short();
    blocks.push(Block::Actions {
        block_id: Some(format!("approval:{}", d.id)),
        elements: vec![
            Element::button("Approve", ACTION_APPROVE, super::deployment_value(d))
                .with_style(ButtonStyle::Primary)
                .with_confirm(Confirm::new(
                    "Approve this deployment?",
                    format!("`{sha}` goes to {env} once every rule is satisfied."),
                    "Approve",
                )),
            Element::button("Reject", ACTION_REJECT, super::deployment_value(d))
                .with_style(ButtonStyle::Danger)
                .with_confirm(Confirm::new(
                    "Reject this deployment?",
                    format!("`{sha}` will not go to {env}; the reason you wrote above is shown in the channel."),
                    "Reject",
                )),
        ],
    });
}

/// The pull request's comment once its environment is up: the marker, the link and the
/// commit. `None` when the deployment has no environment URL (nothing to link to).
pub fn pr_comment_body(d: &Deployment) -> Option<String> {
    let url = d.environment_url.as_deref()?;
    let mut body = format!(
        "{PR_COMMENT_MARKER}\n:rocket: **{}** is deployed at {url}\n\nCommit {}",
        d.environment,
        d.sha.short()
    );
    if let Some(build) = &d.build_url {
        body.push_str(&format!(" · [build]({build})"));
    }
    body.push('\n');
    Some(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use deploybot_core::{
        DeploymentId, GitRef, Repository, Sha, SlackChannelId, SlackUserId, Timestamp,
    };

    fn login(s: &str) -> GithubLogin {
        GithubLogin::parse(s).expect("valid login")
    }

    fn base(environment: Environment, git_ref: GitRef, trigger: Trigger) -> Deployment {
        let mut d = Deployment::new(
            Repository::parse("acme/web").expect("valid repository"),
            DeploymentId::parse("ffffff6b3a5c9fff0000002a").expect("valid id"),
            environment,
            git_ref,
            Sha::parse("0123456789abcdef0123456789abcdef01234567").expect("valid sha"),
            trigger,
            SlackChannelId::parse("C0DEPLOY").expect("valid channel"),
            Timestamp::from_secs(1_700_000_000),
        );
        d.commit_author = Some(login("octocat"));
        d
    }

    fn in_state(state: DeploymentState) -> Deployment {
        let mut d = base(
            Environment::Test,
            GitRef::Branch("release-1.4".into()),
            Trigger::Push {
                pusher: Some(login("hubot")),
            },
        );
        d.state = state;
        d.github_deployment_id = Some(77);
        match state {
            DeploymentState::WaitingForChecks => {
                d.waiting_for = vec!["ci/test".into(), "lint".into()];
            }
            DeploymentState::Created => {}
            _ => {
                d.pipeline_id = Some("5034460f-c7c4-4c43-9457-de07e2029e7b".into());
                d.pipeline_number = Some(42);
                d.build_url = Some("https://app.circleci.com/pipelines/github/acme/web/42".into());
                d.environment_url = Some("https://test.example.com/".into());
            }
        }
        d.description = match state {
            DeploymentState::Failure => Some("workflow deploy failed".into()),
            DeploymentState::Error => Some(
                "CircleCI did not start the pipeline: parameter `environment` is not declared in .circleci/config.yml".into(),
            ),
            DeploymentState::Inactive => Some("superseded by ffffff6b3a5c9ffe0000002b".into()),
            DeploymentState::Superseded => Some("superseded by `def4567`".into()),
            DeploymentState::Skipped => Some(
                "skipped: `0123456` is older than `def4567`, which staging already runs; deploy it by name if you mean to go back".into(),
            ),
            DeploymentState::Cancelled => Some("cancelled: pull request closed".into()),
            DeploymentState::Expired => Some("expired: waited 1h for `ci/test`".into()),
            _ => None,
        };
        if state == DeploymentState::Waiting {
            d.hold = Some(deploybot_core::lane::Hold::Lock {
                holder: SlackUserId::parse("U0ANA").expect("valid user"),
                until: Timestamp::from_secs(1_718_289_000),
                reason: Some("testing the migration".into()),
            });
        }
        d
    }

    fn linked_author() -> Vec<UserLink> {
        vec![UserLink {
            github_login: login("octocat"),
            slack_user: SlackUserId::parse("U0AUTHOR").expect("valid user"),
            slack_name: Some("Mona".into()),
            linked_at: Timestamp::from_secs(1_600_000_000),
        }]
    }

    #[test]
    fn the_message_in_every_state() {
        for state in DeploymentState::ALL {
            let message = deployment_message(&in_state(state), &linked_author());
            insta::assert_json_snapshot!(format!("deployment_{}", state.as_str()), message);
        }
    }

    #[test]
    fn required_checks_show_each_state_and_their_absence() {
        use deploybot_core::required_checks::{CheckState, NamedCheck};
        let mut d = in_state(DeploymentState::WaitingForChecks);
        d.github_deployment_id = None;
        d.waiting_for = vec!["ci/circleci: build".into(), "e2e".into()];
        let check = |name: &str, state| NamedCheck {
            name: name.into(),
            state,
        };
        d.required_checks = Some(vec![
            check("ci/circleci: build", CheckState::Missing),
            check("e2e", CheckState::Pending),
            check("lint", CheckState::Passing),
        ]);
        let message = deployment_message(&d, &linked_author());
        insta::assert_json_snapshot!("deployment_required_checks_waiting", message);
        let all = serde_json::to_string(&message).expect("serialises");
        assert!(
            all.contains("`ci/circleci: build` :white_circle: missing"),
            "{all}"
        );
        assert!(all.contains("`e2e` :hourglass: pending"), "{all}");
        assert!(all.contains("`lint` :white_check_mark: passing"), "{all}");

        let mut failed = in_state(DeploymentState::Failure);
        failed.required_checks = Some(vec![
            check("ci/circleci: build", CheckState::Failing),
            check("lint", CheckState::Passing),
        ]);
        let all = serde_json::to_string(&deployment_message(&failed, &[])).expect("serialises");
        assert!(all.contains("`ci/circleci: build` :x: failing"), "{all}");

        let mut none = in_state(DeploymentState::Created);
        none.required_checks = Some(Vec::new());
        let all = serde_json::to_string(&deployment_message(&none, &[])).expect("serialises");
        assert!(all.contains("no required checks"), "{all}");
        // Not evaluated (yet): nothing about them.
        let all = serde_json::to_string(&deployment_message(
            &in_state(DeploymentState::Created),
            &[],
        ))
        .expect("serialises");
        assert!(!all.contains("required checks"), "{all}");
    }

    #[test]
    fn a_pull_request_deployment_by_an_unlinked_author() {
        let mut d = base(
            Environment::PullRequest(12),
            GitRef::Branch("feature/<login>".into()),
            Trigger::PullRequest {
                number: 12,
                url: Some("https://github.com/acme/web/pull/12".into()),
            },
        );
        d.state = DeploymentState::Success;
        d.environment_url = Some("https://pr12.example.com/".into());
        d.build_url = Some("https://app.circleci.com/pipelines/github/acme/web/43".into());
        d.pipeline_number = Some(43);
        let message = deployment_message(&d, &[]);
        insta::assert_json_snapshot!("deployment_pr_success_unlinked", message);
        let all = serde_json::to_string(&message).expect("serialises");
        assert!(all.contains("*Author*\\noctocat"), "{all}");
        assert!(
            all.contains("feature/&lt;login&gt;"),
            "branch names are escaped: {all}"
        );
        assert!(
            !all.contains(ACTION_PROMOTE),
            "only test deployments offer staging"
        );
    }

    #[test]
    fn a_manual_staging_deployment_of_a_bare_sha() {
        let mut d = base(
            Environment::Staging,
            GitRef::Name("0123456".into()),
            Trigger::Manual {
                slack_user: SlackUserId::parse("U0ASKER").expect("valid user"),
            },
        );
        d.state = DeploymentState::Queued;
        d.commit_author = None;
        let message = deployment_message(&d, &[]);
        insta::assert_json_snapshot!("deployment_manual_staging_sha", message);
    }

    #[test]
    fn buttons_follow_the_state() {
        let buttons = |state| {
            let m = deployment_message(&in_state(state), &[]);
            m.blocks
                .iter()
                .filter_map(|b| match b {
                    Block::Actions { elements, .. } => Some(elements.len()),
                    _ => None,
                })
                .sum::<usize>()
        };
        assert_eq!(buttons(DeploymentState::Success), 1);
        assert_eq!(buttons(DeploymentState::Failure), 1);
        assert_eq!(buttons(DeploymentState::Error), 1);
        // Created here means its CI run is not started yet: nothing to cancel.
        for state in [
            DeploymentState::WaitingForChecks,
            DeploymentState::Created,
            DeploymentState::Inactive,
        ] {
            assert_eq!(buttons(state), 0, "{state}");
        }
        // A deployment whose CI run started can be cancelled (behind a confirm dialog).
        for state in [DeploymentState::Queued, DeploymentState::InProgress] {
            assert_eq!(buttons(state), 1, "{state}");
            let mut d = in_state(state);
            d.pipeline_id = None;
            let m = deployment_message(&d, &[]);
            let json = serde_json::to_string(&m).expect("serialises");
            assert!(
                !json.contains(ACTION_CANCEL_DEPLOYMENT),
                "no run, no [Cancel]: {state}"
            );
        }
        let json = serde_json::to_string(&deployment_message(
            &in_state(DeploymentState::InProgress),
            &[],
        ))
        .expect("serialises");
        assert!(json.contains("\"confirm\""), "{json}");
    }

    #[test]
    fn the_pr_comment_links_the_environment_and_carries_the_marker() {
        let mut d = in_state(DeploymentState::Success);
        let body = pr_comment_body(&d).expect("has a URL");
        assert!(body.starts_with(PR_COMMENT_MARKER));
        assert!(body.contains("https://test.example.com/"));
        assert!(body.contains("0123456"));
        d.environment_url = None;
        assert_eq!(pr_comment_body(&d), None);
    }
}
