//! `slack-command` through the router: every subcommand, every refusal, request
//! verification, and the 3-second rule with a slow GitHub.

use crate::slack_support::*;
use axum::http::StatusCode;
use deploybot_app::AppConfig;
use deploybot_core::blocks::{Block, Element};
use deploybot_core::command::Grammar;
use deploybot_core::invoke::{DeploymentCreateRequest, FunctionName};
use deploybot_core::ports::{Clock, InvokeMode};
use deploybot_core::ports::{DeploymentStore, ProjectStore, UserStore};
use deploybot_core::{
    DeploymentState, Environment, GitRef, GithubLogin, SlackTeamId, Timestamp, Trigger, UserLink,
};
use proptest::prelude::*;
use std::time::Duration;

fn login(l: &str) -> GithubLogin {
    GithubLogin::parse(l).expect("valid")
}

async fn link(h: &Harness, github: &str, slack: &str) {
    let link = UserLink {
        github_login: login(github),
        slack_user: user(slack),
        slack_name: None,
        linked_at: Timestamp::from_secs(NOW_SECS),
    };
    h.store.link_user(&link).await.expect("link");
}

/// The logins offered as claim buttons in a message, in order.
fn claim_buttons(message: &deploybot_core::blocks::Message) -> Vec<String> {
    message
        .blocks
        .iter()
        .flat_map(|b| match b {
            Block::Actions { elements, .. } => elements.clone(),
            _ => Vec::new(),
        })
        .filter_map(|element| match element {
            Element::Button {
                action_id, value, ..
            } => {
                assert_eq!(action_id, deploybot_app::render::ACTION_CLAIM_LOGIN);
                value
            }
            Element::ExternalSelect { .. } | Element::PlainTextInput { .. } => None,
        })
        .collect()
}

// ---- verification ---------------------------------------------------------------------------

#[tokio::test]
async fn unsigned_tampered_and_stale_requests_are_401_with_no_effect() {
    let h = Harness::new();
    let good = h.slash_request("/cimon", CHANNEL, USER, "setup acme/web");

    let unsigned = good
        .clone()
        .with_header("x-slack-signature", "")
        .with_header("x-slack-request-timestamp", "");
    let mut tampered = good.clone();
    tampered.body = String::from_utf8(tampered.body)
        .expect("utf8")
        .replace("acme%2Fweb", "evil%2Fweb")
        .into_bytes();
    let wrong_secret = good.clone().with_header(
        "x-slack-signature",
        deploybot_core::signature::sign_slack(
            &deploybot_core::signature::SigningSecret::new("not-the-secret"),
            NOW_SECS,
            &good.body,
        ),
    );
    let mut no_headers = good.clone();
    no_headers.headers.retain(|(n, _)| n == "content-type");
    for (what, request) in [
        ("unsigned", unsigned),
        ("tampered body", tampered),
        ("wrong secret", wrong_secret),
        ("no headers", no_headers),
    ] {
        let reply = h.send(request, "/slack/command").await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{what}: {}",
            reply.raw
        );
    }

    // Signed correctly, but six minutes ago (and six minutes ahead).
    for skew in [-360, 360] {
        h.clock.set(Timestamp::from_secs(NOW_SECS + skew));
        let reply = h.send(good.clone(), "/slack/command").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "skew {skew}");
    }
    // Within five minutes it is accepted: the check is about the window, not the request.
    h.clock.set(Timestamp::from_secs(NOW_SECS + 299));
    let accepted = h.send(good, "/slack/command").await;
    assert_eq!(accepted.status, StatusCode::OK);
    h.settle().await;

    // Only the accepted request had an effect.
    let project = h.project(CHANNEL).await;
    assert_eq!(project.map(|p| p.repository), Some(repo()));
    assert!(
        h.store
            .project_by_repository(&deploybot_core::Repository::parse("evil/web").expect("valid"))
            .await
            .expect("store")
            .is_none()
    );
    let setups = h
        .invocations()
        .into_iter()
        .filter(|i| i.function == FunctionName::SlackMessage)
        .count();
    assert_eq!(setups, 1, "one claim offer, for the accepted request only");
}

#[tokio::test]
async fn a_refused_request_changes_nothing_even_for_mutating_commands() {
    let h = Harness::new();
    h.bind().await;
    link(&h, "alice", USER).await;
    for text in [
        "reset",
        "goodbye",
        "set basedomain example.com",
        "deploy main to preview",
    ] {
        let request = h
            .slash_request("/cimon", CHANNEL, USER, text)
            .with_header("x-slack-signature", format!("v0={}", "0".repeat(64)));
        let reply = h.send(request, "/slack/command").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{text}");
    }
    let project = h.project(CHANNEL).await.expect("still bound");
    assert_eq!(project.settings, Default::default());
    assert!(h.link_of(USER).await.is_some());
    assert!(h.invocations().is_empty());
}

#[tokio::test]
async fn oversized_and_malformed_forms_get_short_reasons() {
    let h = Harness::with_config(AppConfig {
        max_body_bytes: 2048,
        ..AppConfig::default()
    });
    let big = h.slash_request("/cimon", CHANNEL, USER, &"x".repeat(4000));
    assert_eq!(
        h.send(big, "/slack/command").await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );

    let secret = h.secret.clone();
    let missing = deploybot_testkit::signing::slack_form_request(
        &secret,
        NOW_SECS,
        &[("text", "help"), ("user_id", USER)],
    );
    let reply = h.send(missing, "/slack/command").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.raw.contains("command") && reply.raw.contains("channel_id"),
        "{}",
        reply.raw
    );
    let bad_user = deploybot_testkit::signing::slack_form_request(
        &secret,
        NOW_SECS,
        &[
            ("command", "/cimon"),
            ("channel_id", CHANNEL),
            ("user_id", "nobody"),
        ],
    );
    let reply = h.send(bad_user, "/slack/command").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.raw.contains("user_id"), "{}", reply.raw);
}

// ---- help and mistakes ------------------------------------------------------------------------

#[tokio::test]
async fn help_empty_and_unknown_subcommands() {
    let h = Harness::new();
    for text in ["", "  ", "help"] {
        let reply = h.slash(text).await;
        reply.assert_ephemeral(&[
            "/cimon setup <owner>/<repo>",
            "/cimon deploy <ref> to <environment>",
        ]);
    }
    expect_answers(
        &h,
        &[
            ("frobnicate", &["`frobnicate`", "/cimon help"]),
            (
                "setup",
                &["which GitHub repository", "/cimon setup acme/web"],
            ),
            ("setup not-a-repo", &["owner/name", "/cimon setup acme/web"]),
            ("set colour blue", &["no setting called `colour`"]),
            ("deploy main to q&a", &["`q&a` is not an environment name"]),
            ("reset now", &["takes no arguments"]),
        ],
    )
    .await;
    assert!(h.invocations().is_empty());
}

#[tokio::test]
async fn the_command_name_comes_from_configuration() {
    let h = Harness::with_config(AppConfig {
        grammar: Grammar::new("/ship"),
        ..AppConfig::default()
    });
    let reply = h.slash_as("/ship", CHANNEL, USER, "help").await;
    reply.assert_ephemeral(&["`/ship setup <owner>/<repo>`"]);
    let reply = h.slash_as("/ship", CHANNEL, USER, "config").await;
    reply.assert_ephemeral(&["not set up", "`/ship setup <owner>/<repo>`"]);
}

// ---- setup / reset ----------------------------------------------------------------------------

#[tokio::test]
async fn setup_binds_announces_and_offers_the_unclaimed_logins() {
    let h = Harness::new();
    h.github
        .add_collaborators(&repo(), ["carol", "alice", "bob"]);
    link(&h, "bob", OTHER_USER).await;

    // The answer comes at once: GitHub is asked first, in the background.
    let reply = h.slash("setup Acme/Web").await;
    assert_eq!(reply.status, StatusCode::OK);
    reply.assert_ephemeral(&["Checking *acme/web* on GitHub"]);
    h.settle().await;
    assert!(
        h.github
            .calls()
            .contains(&"GET /repos/acme/web/installation".to_owned()),
        "{:?}",
        h.github.calls()
    );

    let project = h.project(CHANNEL).await.expect("bound");
    assert_eq!(project.repository, repo());
    assert_eq!(project.channel_name.as_deref(), Some("web"));
    assert_eq!(project.team, Some(SlackTeamId::parse(TEAM).expect("valid")));
    assert_eq!(project.created_by, Some(user(USER)));

    // The check, the binding and the offer are one Event invoke, answered through the
    // command's response_url: the channel is told, then the asker gets the offer.
    let handed_over: Vec<_> = h
        .invocations()
        .into_iter()
        .filter(|i| i.function == FunctionName::SlackMessage)
        .collect();
    assert_eq!(handed_over.len(), 1);
    assert_eq!(handed_over[0].mode, InvokeMode::Event);
    let responses = h.slack.responses();
    assert_eq!(responses.len(), 2, "{responses:?}");
    assert_eq!(responses[0].id, format!("cmd-{CHANNEL}-{USER}"));
    assert!(!responses[0].response.ephemeral, "the channel is told");
    let announcement = message_json(&responses[0].response.message);
    assert!(
        announcement.contains(&format!("<@{USER}>")) && announcement.contains("acme/web"),
        "{announcement}"
    );
    assert!(responses[1].response.ephemeral);
    assert_eq!(
        claim_buttons(&responses[1].response.message),
        ["alice", "carol"]
    );
    assert!(message_json(&responses[1].response.message).contains("is set up"));
    assert!(h.invoker.inner.failures().is_empty());
}

/// The answer a person got last through the command's response URL.
fn last_answer(h: &Harness) -> (bool, String) {
    let responses = h.slack.responses();
    let last = responses.last().expect("an answer");
    (
        last.response.ephemeral,
        message_json(&last.response.message),
    )
}

#[tokio::test]
async fn setup_of_what_github_does_not_confirm_binds_nothing_and_says_why() {
    let h = Harness::new();
    let globex = deploybot_core::Repository::parse("globex/site").expect("valid");
    h.github.add_repository(&globex, "main");
    h.github.uninstall_app(&globex);
    let locked = deploybot_core::Repository::parse("acme/locked").expect("valid");
    h.github.add_repository(&locked, "main");
    h.github.forbid_repository(&locked);
    let cases: [(&str, Option<u16>, &[&str]); 5] = [
        (
            "setup acme/wbe",
            None,
            &[
                "can't find *acme/wbe* on GitHub",
                "Check the spelling",
                "/cimon setup acme/wbe",
            ],
        ),
        (
            "setup nobody-here/web",
            None,
            &["not installed on *nobody-here*", "check the spelling"],
        ),
        (
            "setup globex/site",
            None,
            &[
                "GitHub App is not installed on *globex*",
                "/cimon setup globex/site",
            ],
        ),
        (
            "setup acme/locked",
            None,
            &["has no access to *acme/locked*", "permissions"],
        ),
        (
            "setup acme/web",
            Some(502),
            &[
                "could not reach GitHub",
                "try `/cimon setup acme/web` again",
            ],
        ),
    ];
    for (text, failure, needles) in cases {
        if let Some(status) = failure {
            h.github.fail_next(1, status);
        }
        h.slash(text)
            .await
            .assert_ephemeral(&["Checking", "on GitHub"]);
        h.settle().await;
        let (ephemeral, answer) = last_answer(&h);
        assert!(ephemeral, "{text}: only the asker is told");
        for needle in needles {
            assert!(answer.contains(needle), "{text}: {answer} lacks {needle:?}");
        }
        assert!(answer.contains("nothing was set up"), "{text}: {answer}");
        assert!(h.project(CHANNEL).await.is_none(), "{text}: nothing bound");
    }
    for repository in ["acme/wbe", "globex/site", "acme/locked", "acme/web"] {
        let repository = deploybot_core::Repository::parse(repository).expect("valid");
        assert!(
            h.store
                .project_by_repository(&repository)
                .await
                .expect("store")
                .is_none(),
            "{repository}"
        );
    }
    assert!(
        h.invoker.inner.failures().is_empty(),
        "every refusal is an answer"
    );
    assert!(
        h.slack.responses().iter().all(|r| r.response.ephemeral),
        "the channel was told nothing"
    );

    // Once GitHub answers again the same command binds.
    h.slash("setup acme/web").await;
    h.settle().await;
    assert_eq!(h.project(CHANNEL).await.map(|p| p.repository), Some(repo()));
}

#[tokio::test]
async fn setup_refusals_say_what_to_do() {
    let h = Harness::new();
    h.slash("setup acme/web").await;
    h.settle().await;
    let before = h.invocations().len();

    h.slash("setup acme/web")
        .await
        .assert_ephemeral(&["already follows *acme/web*"]);
    // The repository is taken by this channel: another channel is told which one.
    h.slash_as("/cimon", OTHER_CHANNEL, USER, "setup acme/web")
        .await
        .assert_ephemeral(&[&format!("<#{CHANNEL}>"), "/cimon reset"]);
    // This channel is taken by another repository.
    h.slash("setup acme/api").await.assert_ephemeral(&[
        "already follows *acme/web*",
        "/cimon reset",
        "/cimon setup acme/api",
    ]);

    assert_eq!(h.invocations().len(), before, "refusals invoke nothing");
    assert!(h.project(OTHER_CHANNEL).await.is_none());
}

#[tokio::test]
async fn two_simultaneous_setups_of_one_repository_have_one_winner() {
    let h = Harness::new();
    let (a, b) = tokio::join!(
        h.slash_as("/cimon", CHANNEL, USER, "setup acme/web"),
        h.slash_as("/cimon", OTHER_CHANNEL, OTHER_USER, "setup acme/web"),
    );
    // Either both are being checked, or one was bound before the other looked.
    h.settle().await;
    let answers: Vec<String> = [a.text().to_owned(), b.text().to_owned()]
        .into_iter()
        .chain(
            h.slack
                .responses()
                .iter()
                .map(|r| message_json(&r.response.message)),
        )
        .collect();
    let bound = [
        h.project(CHANNEL).await.is_some(),
        h.project(OTHER_CHANNEL).await.is_some(),
    ];
    assert_eq!(bound.iter().filter(|b| **b).count(), 1, "{bound:?}");
    let announced = h
        .slack
        .responses()
        .iter()
        .filter(|r| !r.response.ephemeral)
        .count();
    assert_eq!(announced, 1, "one channel is told");
    assert!(
        answers.iter().any(|a| a.contains("already followed by")),
        "{answers:?}"
    );
}

#[tokio::test]
async fn reset_forgets_the_binding_and_settings_but_not_user_links() {
    let h = Harness::new();
    h.bind().await;
    link(&h, "alice", USER).await;
    h.slash("set basedomain example.com").await;

    let reply = h.slash("reset").await;
    assert_eq!(reply.response_type(), "in_channel", "{}", reply.raw);
    assert!(reply.text().contains("acme/web"));
    assert!(h.project(CHANNEL).await.is_none());
    assert!(h.link_of(USER).await.is_some());

    h.slash("reset")
        .await
        .assert_ephemeral(&["not set up", "nothing to reset"]);
    // A new setup starts with default settings.
    h.slash("setup acme/web").await;
    h.settle().await;
    let project = h.project(CHANNEL).await.expect("bound again");
    assert_eq!(project.settings, Default::default());
}

// ---- settings ---------------------------------------------------------------------------------

#[tokio::test]
async fn set_and_unset_every_setting() {
    let h = Harness::new();
    h.slash("set basedomain example.com")
        .await
        .assert_ephemeral(&["not set up"]);
    h.bind().await;

    expect_answers(
        &h,
        &[
            ("set", &["/cimon set basedomain <domain>", "{environment}"]),
            (
                "set basedomain Example.com",
                &[
                    "`basedomain` is now `example.com`",
                    "https://staging.example.com/",
                ],
            ),
            (
                "set urlseparator -",
                &["`urlseparator` is now `-`", "https://staging-example.com/"],
            ),
            (
                "set urlpattern https://{environment}{urlseparator}app{urlseparator}{basedomain}/",
                &["https://test-app-example.com/"],
            ),
            (
                "set url production www.example.com",
                &[
                    "production is now `www.example.com`",
                    "production: https://www.example.com",
                ],
            ),
        ],
    )
    .await;
    let saved = h.project(CHANNEL).await.expect("bound").settings;
    assert_eq!(saved.base_domain.as_deref(), Some("example.com"));
    assert_eq!(saved.url_separator.as_deref(), Some("-"));
    assert!(saved.url_pattern.is_some());
    let production = saved.urls.get(&Environment::Production);
    assert_eq!(production.map(String::as_str), Some("www.example.com"));

    // Invalid values are refused with the reason, and nothing is saved.
    expect_answers(
        &h,
        &[
            (
                "set urlpattern https://{environment}.example.com",
                &["{urlseparator}", "{basedomain}"],
            ),
            ("set basedomain not_a_host", &["not a host name"]),
            ("set urlseparator /", &["separator"]),
        ],
    )
    .await;
    assert_eq!(h.project(CHANNEL).await.expect("bound").settings, saved);

    expect_answers(
        &h,
        &[
            ("unset url production", &["removed"]),
            ("unset url production", &["was not set", "nothing changed"]),
            ("unset url", &["which environment"]),
            (
                "unset urlpattern",
                &["removed", "https://staging-example.com/"],
            ),
            ("unset urlseparator", &["https://staging.example.com/"]),
            ("unset basedomain", &["removed", "staging: _no URL_"]),
            ("unset basedomain", &["was not set"]),
        ],
    )
    .await;
    let settings = h.project(CHANNEL).await.expect("bound").settings;
    assert_eq!(settings, Default::default());
}

/// Runs each command in turn and checks its answer is a friendly ephemeral with the needles.
async fn expect_answers(h: &Harness, cases: &[(&str, &[&str])]) {
    for (text, needles) in cases {
        h.slash(text).await.assert_ephemeral(needles);
    }
}

#[tokio::test]
async fn get_and_config_show_repository_settings_defaults_and_urls() {
    let h = Harness::new();
    h.slash("config")
        .await
        .assert_ephemeral(&["not set up", "/cimon setup"]);
    h.bind().await;
    for text in ["get", "config"] {
        h.slash(text).await.assert_ephemeral(&[
            "*acme/web*",
            "basedomain: _not set_ (default)",
            "`https://{environment}{urlseparator}{basedomain}/` (default)",
            "urlseparator: `.` (default)",
            "staging: _no URL_",
        ]);
    }
    h.slash("set basedomain example.com").await;
    h.slash("set url production www.example.com").await;
    h.slash("config").await.assert_ephemeral(&[
        "basedomain: `example.com`",
        "production → `www.example.com`",
        "test: https://test.example.com/",
        "production: https://www.example.com",
    ]);
}

// ---- users ------------------------------------------------------------------------------------

#[tokio::test]
async fn hello_offers_buttons_later_and_knows_who_is_linked() {
    let h = Harness::new();
    h.slash("hello").await.assert_ephemeral(&["not set up"]);
    h.bind().await;
    h.github
        .add_collaborators(&repo(), ["alice", "bob", "carol"]);
    link(&h, "carol", OTHER_USER).await;

    h.slash("hello").await.assert_ephemeral(&["Looking up"]);
    h.settle().await;
    let responses = h.slack.responses();
    assert_eq!(responses.len(), 1);
    assert_eq!(
        claim_buttons(&responses[0].response.message),
        ["alice", "bob"]
    );

    // Once linked, hello says so at once and offers nothing.
    link(&h, "alice", USER).await;
    let invoked = h.invocations().len();
    h.slash("hello")
        .await
        .assert_ephemeral(&["already linked", "`alice`", "/cimon goodbye"]);
    assert_eq!(h.invocations().len(), invoked);
}

#[tokio::test]
async fn hello_when_nobody_is_left_to_claim() {
    let h = Harness::new();
    h.bind().await;
    h.github.add_collaborators(&repo(), ["alice"]);
    link(&h, "alice", OTHER_USER).await;
    h.slash("hello").await;
    h.settle().await;
    let responses = h.slack.responses();
    assert_eq!(responses.len(), 1);
    assert!(claim_buttons(&responses[0].response.message).is_empty());
    assert!(message_json(&responses[0].response.message).contains("nothing to claim"));
}

#[tokio::test]
async fn hello_when_github_fails_apologises() {
    let h = Harness::new();
    h.bind().await;
    h.github.fail_next(5, 404);
    h.slash("hello").await;
    h.settle().await;
    let responses = h.slack.responses();
    assert_eq!(responses.len(), 1);
    let text = message_json(&responses[0].response.message);
    assert!(text.contains("could not get the list"), "{text}");
}

#[tokio::test]
async fn many_collaborators_are_offered_as_a_type_ahead_select() {
    let h = Harness::new();
    h.bind().await;
    let logins: Vec<String> = (0..130).map(|i| format!("dev{i:03}")).collect();
    h.github
        .add_collaborators(&repo(), logins.iter().map(String::as_str));
    h.slash("hello").await;
    h.settle().await;
    let message = h.slack.responses()[0].response.message.clone();
    let actions: Vec<(Option<String>, Vec<Element>)> = message
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Actions { block_id, elements } => Some((block_id.clone(), elements.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0].0.as_deref(), Some("claim_select:acme/web"));
    assert!(
        matches!(&actions[0].1[..], [Element::ExternalSelect { action_id, .. }] if action_id == deploybot_app::render::ACTION_CLAIM_LOGIN),
        "{actions:?}"
    );
    let json = message_json(&message);
    assert!(json.contains("130 GitHub logins"), "{json}");
    assert!(json.contains("/cimon hello <your-github-login>"), "{json}");
}

#[tokio::test]
async fn hello_with_a_login_links_a_collaborator() {
    let h = Harness::new();
    h.slash("hello alice")
        .await
        .assert_ephemeral(&["not set up"]);
    h.bind().await;
    h.github.add_collaborators(&repo(), ["alice", "bob"]);

    h.slash("hello @Alice")
        .await
        .assert_ephemeral(&["Checking that `alice` has access to *acme/web*"]);
    h.settle().await;
    let (ephemeral, answer) = last_answer(&h);
    assert!(ephemeral);
    assert!(
        answer.contains("is now linked to the GitHub login `alice`"),
        "{answer}"
    );
    let link = h.link_of(USER).await.expect("linked");
    assert_eq!(link.github_login, login("alice"));
    assert_eq!(link.slack_name.as_deref(), Some("alice"));

    // Again: a no-op answered at once.
    let before = h.invocations().len();
    h.slash("hello alice").await.assert_ephemeral(&[
        "already linked to the GitHub login `alice`",
        "nothing to do",
    ]);
    // Another login while linked: goodbye first.
    h.slash("hello bob").await.assert_ephemeral(&[
        "already linked to the GitHub login `alice`",
        "/cimon goodbye",
    ]);
    assert_eq!(h.invocations().len(), before, "answered from the store");
    assert_eq!(
        h.link_of(USER).await.map(|l| l.github_login),
        Some(login("alice"))
    );
}

#[tokio::test]
async fn hello_with_a_login_refuses_strangers_and_logins_of_others() {
    let h = Harness::new();
    h.bind().await;
    h.github.add_collaborators(&repo(), ["alice", "bob"]);
    link(&h, "bob", OTHER_USER).await;

    // Someone else's login: answered at once, GitHub is not asked.
    let before = h.invocations().len();
    h.slash("hello bob").await.assert_ephemeral(&[
        "`bob` is already claimed by",
        &format!("<@{OTHER_USER}>"),
        "/cimon goodbye",
    ]);
    assert_eq!(h.invocations().len(), before);

    // Not a collaborator: checked on GitHub, refused with the reason.
    h.slash("hello mallory")
        .await
        .assert_ephemeral(&["Checking that `mallory`"]);
    h.settle().await;
    let (ephemeral, answer) = last_answer(&h);
    assert!(ephemeral);
    assert!(
        answer.contains("`mallory` is not one of the GitHub logins with access to *acme/web*")
            && answer.contains("/cimon hello"),
        "{answer}"
    );
    assert!(h.link_of(USER).await.is_none());
    assert!(
        h.store
            .user_by_login(&login("mallory"))
            .await
            .expect("store")
            .is_none()
    );

    // GitHub down: an apology, nothing linked.
    h.github.fail_next(1, 503);
    h.slash("hello alice").await;
    h.settle().await;
    let (_, answer) = last_answer(&h);
    assert!(answer.contains("could not get the list"), "{answer}");
    assert!(h.link_of(USER).await.is_none());
    assert!(h.invoker.inner.failures().is_empty());
}

#[tokio::test]
async fn goodbye_and_bye_remove_the_link() {
    let h = Harness::new();
    link(&h, "alice", USER).await;
    h.slash("goodbye")
        .await
        .assert_ephemeral(&["no longer linked", "`alice`"]);
    assert!(h.link_of(USER).await.is_none());
    h.slash("bye")
        .await
        .assert_ephemeral(&["not linked", "nothing to undo"]);
    link(&h, "alice", USER).await;
    h.slash("bye").await.assert_ephemeral(&["no longer linked"]);
    assert!(
        h.store
            .user_by_login(&login("alice"))
            .await
            .expect("store")
            .is_none()
    );
}

// ---- deploy -----------------------------------------------------------------------------------

#[tokio::test]
async fn deploy_hands_a_manual_request_over_and_acknowledges() {
    let h = Harness::new();
    h.bind().await;
    let cases: [(&str, &str, Environment, Option<GitRef>); 4] = [
        (
            "/cimon",
            "deploy main to preview",
            Environment::Preview,
            Some(GitRef::Name("main".into())),
        ),
        ("/cimon", "deploy staging", Environment::Staging, None),
        ("/cimon", "deploy preview", Environment::Preview, None),
        (
            "/deploy",
            "v1.4.0 to production",
            Environment::Production,
            Some(GitRef::Name("v1.4.0".into())),
        ),
    ];
    for (command, text, environment, git_ref) in cases {
        let reply = h.slash_as(command, CHANNEL, USER, text).await;
        reply.assert_ephemeral(&["On it"]);
        let Some(DeploymentCreateRequest::Manual(request)) = h.deployment_requests().pop() else {
            panic!("{text}: no manual request");
        };
        assert_eq!(request.repository, repo(), "{text}");
        assert_eq!(request.environment, environment, "{text}");
        assert_eq!(request.git_ref, git_ref, "{text}");
        assert_eq!(request.channel, channel(CHANNEL));
        assert_eq!(
            request.trigger,
            Trigger::Manual {
                slack_user: user(USER)
            }
        );
        assert_eq!(
            request.response_url.as_deref(),
            Some(h.command_response_url(CHANNEL, USER).as_str())
        );
        assert_eq!(request.deployment_id.created(), h.clock.now(), "{text}");
    }
    let modes: Vec<InvokeMode> = h
        .invocations()
        .iter()
        .filter(|i| i.function == FunctionName::GithubDeploymentCreate)
        .map(|i| i.mode)
        .collect();
    assert_eq!(modes, [InvokeMode::Event; 4]);
    let ids: std::collections::BTreeSet<_> = h
        .deployment_requests()
        .into_iter()
        .filter_map(|r| match r {
            DeploymentCreateRequest::Manual(m) => Some(m.deployment_id),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 4, "each request gets its own deployment id");
}

#[tokio::test]
async fn deploy_refusals_are_immediate_and_specific() {
    let h = Harness::new();
    h.slash("deploy main to preview")
        .await
        .assert_ephemeral(&["not set up", "/cimon setup"]);
    h.bind().await;
    let cases: [(&str, &[&str]); 9] = [
        ("deploy main to pr12", &["belongs to a pull request"]),
        (
            "deploy main to production",
            &[
                "`main` cannot go to production",
                "tags matching `v{semver}`",
            ],
        ),
        (
            "deploy refs/heads/v1 to production",
            &["cannot go to production"],
        ),
        (
            "deploy test",
            &["Say what to deploy to test", "deploy <ref> to test"],
        ),
        ("deploy production", &["Say what to deploy to production"]),
        ("deploy main to qa", &["no `qa` environment", "`staging`"]),
        ("list qa", &["no `qa` environment"]),
        ("set url qa qa.example.com", &["no `qa` environment"]),
        ("unlock qa", &["no `qa` environment"]),
    ];
    let before = h.invocations().len();
    for (text, needles) in cases {
        h.slash(text).await.assert_ephemeral(needles);
    }
    // Refused at once: nothing handed over, no setting saved.
    assert_eq!(h.invocations().len(), before);
    let project = h.project(CHANNEL).await.expect("bound");
    assert!(project.settings.urls.is_empty(), "{:?}", project.settings);
    h.slash_as("/deploy", CHANNEL, USER, "")
        .await
        .assert_ephemeral(&["Usage"]);
    assert!(
        h.deployment_requests().is_empty(),
        "nothing was handed over"
    );
}

#[tokio::test]
async fn a_manual_deployment_reaches_the_store_after_the_ack() {
    let h = Harness::new();
    h.bind().await;
    h.github.set_branch(&repo(), "main", &sha(7), Some("alice"));
    let reply = h.slash("deploy main to preview").await;
    reply.assert_ephemeral(&["On it"]);
    h.settle().await;
    let deployments = h
        .store
        .list_deployments(&repo(), Some(Environment::Preview), 5)
        .await
        .expect("store");
    assert_eq!(deployments.len(), 1, "{:?}", h.invoker.inner.failures());
    assert_eq!(deployments[0].sha, sha(7));
    assert_eq!(
        deployments[0].trigger,
        Trigger::Manual {
            slack_user: user(USER)
        }
    );
}

// ---- list -------------------------------------------------------------------------------------

#[tokio::test]
async fn list_shows_newest_first_with_the_current_one_per_environment() {
    let h = Harness::new();
    h.slash("list").await.assert_ephemeral(&["not set up"]);
    h.bind().await;
    h.slash("list")
        .await
        .assert_ephemeral(&["no deployments of acme/web yet"]);

    let old_prod = h
        .deployment(
            1,
            Environment::Production,
            GitRef::Tag("v1.3".into()),
            DeploymentState::Success,
            3 * 24 * 60,
        )
        .await;
    let mut live_prod = h
        .deployment(
            2,
            Environment::Production,
            GitRef::Tag("v1.4".into()),
            DeploymentState::Success,
            120,
        )
        .await;
    live_prod.build_url = Some("https://ci.example/p/2".into());
    live_prod.pipeline_number = Some(2);
    live_prod.environment_url = Some("https://www.example.com".into());
    h.store.update_deployment(&live_prod).await.expect("update");
    // A newer failure does not replace what production runs.
    h.deployment(
        3,
        Environment::Production,
        GitRef::Tag("v1.5".into()),
        DeploymentState::Failure,
        30,
    )
    .await;
    h.deployment(
        4,
        Environment::Staging,
        GitRef::Name("abc1234".into()),
        DeploymentState::InProgress,
        2,
    )
    .await;
    h.deployment(
        5,
        Environment::Test,
        GitRef::Branch("release/1".into()),
        DeploymentState::Inactive,
        10,
    )
    .await;

    let reply = h.slash("list").await;
    reply.assert_ephemeral(&[
        "*production* `v1.4`",
        "*staging* `abc1234`",
        "<https://ci.example/p/2|build #2>",
        "<https://www.example.com|open>",
        "2 h ago",
        &format!("<@{USER}>"),
    ]);
    let text = reply.text();
    // Newest first.
    let positions: Vec<usize> = [
        "`abc1234` `4444444`",
        "`release/1`",
        "`v1.5`",
        "`v1.4` `2222222` :white_check_mark: succeeded",
        "`v1.3`",
    ]
    .iter()
    .map(|needle| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle} in {text}"))
    })
    .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "{positions:?}\n{text}"
    );
    // The current section names production's v1.4 (not the newer failure, not v1.3) and
    // nothing for test (its only deployment is inactive).
    let current = text.split("Newest").next().expect("a current section");
    assert!(
        current.contains("`v1.4`") && !current.contains("`v1.5`") && !current.contains("`v1.3`"),
        "{current}"
    );
    assert!(!current.contains("*test*"), "{current}");
    assert!(!text.contains(old_prod.sha.as_str()), "short SHAs only");

    let reply = h.slash("list staging").await;
    reply.assert_ephemeral(&["`abc1234`"]);
    assert!(!reply.text().contains("v1.4"), "{}", reply.text());
}

#[tokio::test]
async fn list_finds_what_an_environment_runs_beyond_the_newest_page() {
    let h = Harness::new();
    h.bind().await;
    // Production's running release is older than a full page of pull-request deployments;
    // staging's only deployment on the page failed, and its older success is off the page.
    h.deployment(
        1,
        Environment::Production,
        GitRef::Tag("v1.0".into()),
        DeploymentState::Success,
        600,
    )
    .await;
    h.deployment(
        2,
        Environment::Staging,
        GitRef::Tag("v0.9".into()),
        DeploymentState::Success,
        500,
    )
    .await;
    for n in 3..15 {
        h.deployment(
            n,
            Environment::PullRequest(7),
            GitRef::Branch("feature".into()),
            DeploymentState::Success,
            300 - i64::from(n),
        )
        .await;
    }
    h.deployment(
        15,
        Environment::Staging,
        GitRef::Tag("v1.1".into()),
        DeploymentState::Failure,
        1,
    )
    .await;

    let reply = h.slash("list").await;
    let text = reply.text();
    let (current, page) = text.split_once("Newest").expect("both sections");
    assert!(current.contains("*production* `v1.0`"), "{current}");
    assert!(current.contains("*staging* `v0.9`"), "{current}");
    assert!(
        !current.contains("v1.1"),
        "a failure runs nowhere: {current}"
    );
    assert!(
        !page.contains("v1.0") && !page.contains("v0.9"),
        "both are older than the page: {page}"
    );
    assert!(page.contains("`v1.1`"), "{page}");

    // A page that is the whole history settles it without another lookup: nothing runs in
    // test, and the one-environment list shows staging's success.
    let reply = h.slash("list staging").await;
    let text = reply.text();
    let (current, _) = text.split_once("Newest").expect("both sections");
    assert!(current.contains("*staging* `v0.9`"), "{current}");
}

#[tokio::test]
async fn list_mentions_linked_people_with_one_batched_lookup() {
    let h = Harness::new();
    h.bind().await;
    link(&h, "alice-gh", OTHER_USER).await;
    // Pushes by a linked pusher, an unlinked one, and one known only by its commit author,
    // across environments, so that the current section and the newest list both name them.
    let pushes = [
        (1, Environment::Preview, Some("alice-gh"), None),
        (2, Environment::Test, Some("carol-gh"), Some("alice-gh")),
        (3, Environment::Preview, None, Some("alice-gh")),
        (4, Environment::Production, Some("alice-gh"), None),
    ];
    for (n, environment, pusher, author) in pushes {
        let created = h.clock.now().plus_secs(-60 * (10 - i64::from(n)));
        let mut d = deploybot_core::Deployment::new(
            repo(),
            deploybot_core::DeploymentId::new(created, n),
            environment,
            GitRef::Branch("main".into()),
            sha(n),
            Trigger::Push {
                pusher: pusher.map(login),
            },
            channel(CHANNEL),
            created,
        );
        d.state = DeploymentState::Success;
        d.commit_author = author.map(login);
        h.store.insert_deployment(&d).await.expect("insert");
    }
    h.counting.reset();

    let reply = h.slash("list").await;
    let text = reply.text();
    let mention = format!("<@{OTHER_USER}>");
    // The linked pusher (and the linked author of a push without a known pusher) are
    // mentioned, in both sections; the unlinked pusher keeps their login.
    assert!(!text.contains("alice-gh"), "{text}");
    assert!(text.contains("carol-gh"), "{text}");
    let current = text.split("Newest").next().expect("a current section");
    assert!(current.contains(&mention), "{current}");
    assert_eq!(text.matches(&mention).count(), 3 + 2, "{text}");

    let counts = h.counting.counts();
    assert_eq!(counts.get("users_by_logins"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("user_by_login"), None, "{counts:?}");
}

// ---- latency ----------------------------------------------------------------------------------

/// With GitHub taking five seconds, `setup` still answers at once: on tokio's paused clock no
/// time passes before the answer, and the claim offer has not been sent yet at that moment.
/// It arrives once the background work settles, after GitHub's five (virtual) seconds.
#[tokio::test(start_paused = true)]
async fn a_slow_github_never_delays_the_answer() {
    let h = Harness::new();
    h.github.add_collaborators(&repo(), ["alice", "bob"]);
    let api = deploybot_core::Repository::parse("acme/api").expect("valid");
    h.github.add_repository(&api, "main");
    h.github.add_collaborators(&api, ["alice", "bob"]);
    h.bind().await;
    h.github.delay(Duration::from_secs(5));
    let start = tokio::time::Instant::now();

    let reply = h
        .slash_as("/cimon", OTHER_CHANNEL, USER, "setup acme/api")
        .await;

    assert_eq!(reply.status, StatusCode::OK);
    reply.assert_ephemeral(&["Checking *acme/api* on GitHub"]);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(
        h.slack.responses().is_empty(),
        "the offer cannot be there yet"
    );

    // hello (both forms) and deploy answer at once too, while GitHub is still busy.
    h.slash("hello").await.assert_ephemeral(&["Looking up"]);
    h.slash_as("/cimon", CHANNEL, OTHER_USER, "hello bob")
        .await
        .assert_ephemeral(&["Checking that `bob`"]);
    h.slash("deploy main to preview")
        .await
        .assert_ephemeral(&["On it"]);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(h.slack.responses().is_empty());

    h.settle().await;
    assert!(
        start.elapsed() >= Duration::from_secs(5),
        "GitHub's delay was applied"
    );
    let offers: Vec<_> = h
        .slack
        .responses()
        .into_iter()
        .filter(|r| !claim_buttons(&r.response.message).is_empty())
        .collect();
    assert_eq!(offers.len(), 2, "setup's and hello's offers arrived later");
    assert_eq!(claim_buttons(&offers[0].response.message), ["alice", "bob"]);
    assert_eq!(
        h.project(OTHER_CHANNEL).await.map(|p| p.repository),
        Some(api)
    );
    assert_eq!(
        h.link_of(OTHER_USER).await.map(|l| l.github_login),
        Some(login("bob"))
    );
}

// ---- failures ---------------------------------------------------------------------------------

#[tokio::test]
async fn internal_failures_are_a_short_apology_with_200() {
    // An invoker that reaches no function: setup binds, then cannot hand the offer over.
    let h = Harness::new();
    let unattached = deploybot_app::dispatch::InProcessInvoker::new();
    let functions = deploybot_app::wiring::Functions::wire_with(
        h.parts
            .clone()
            .with_invoker(std::sync::Arc::new(unattached)),
        deploybot_app::dispatch::InProcessInvoker::new(),
    )
    .expect("wires");
    let router = functions.router();
    let request = h
        .slash_request("/cimon", CHANNEL, USER, "setup acme/web")
        .into_http_request("/slack/command")
        .expect("request");
    let answer = deploybot_testkit::signing::send_to_router(&router, request).await;
    assert_eq!(answer.status, StatusCode::OK);
    let body: serde_json::Value = serde_json::from_slice(&answer.body).expect("json");
    assert_eq!(body["response_type"], "ephemeral");
    let text = body["text"].as_str().expect("text");
    assert!(
        text.contains("Sorry, something went wrong on my side"),
        "{text}"
    );
    assert!(!text.contains("invoker"), "no internals in Slack: {text}");
}

// ---- locks and status (the whole flow is in locks.rs) ----------------------------------------

#[tokio::test]
async fn lane_commands_need_a_set_up_channel_and_status_reads_little() {
    let h = Harness::new();
    for text in ["lock staging", "unlock staging for 1h", "status"] {
        let reply = h.slash(text).await;
        assert_eq!(reply.status, StatusCode::OK, "{text}");
        assert_eq!(reply.response_type(), "ephemeral", "{text}");
    }
    for text in ["lock staging", "unlock staging", "status"] {
        h.slash(text).await.assert_ephemeral(&["not set up yet"]);
    }
    assert!(h.invocations().is_empty());

    h.bind().await;
    h.counting.reset();
    let reply = h.slash("status").await;
    reply.assert_ephemeral(&[
        ":bar_chart: *acme/web* now",
        "*preview* _nothing deployed yet_",
        "*production* _nothing deployed yet_",
    ]);
    let counts = h.counting.counts();
    assert_eq!(
        counts.keys().copied().collect::<Vec<_>>(),
        vec!["is_team_revoked", "lanes_of", "project_by_channel"],
        "{counts:?}"
    );
}

// ---- robustness -------------------------------------------------------------------------------

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,300}",
        "(setup|set|unset|deploy|list|get|config|hello|bye|goodbye|reset|help|lock|unlock|status) \\PC{0,80}",
        "lock (preview|test|staging|production|pr[0-9]{1,3}|\\PC{0,10})( (for|FOR) \\PC{0,12})?( \\PC{0,60})?",
        "(set|unset) (basedomain|url|urlpattern|urlseparator) \\PC{0,40}( \\PC{0,40})?",
        "deploy [a-z0-9./<>&|-]{0,30} (to|TO) (preview|test|staging|production|pr[0-9]{1,3}|\\PC{0,10})",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Whatever a person types, in a bound channel or not, the answer is a 200 with text.
    #[test]
    fn any_text_gets_a_200_answer(text in any_text(), bound in any::<bool>(), alias in any::<bool>()) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let h = Harness::new();
            if bound {
                h.bind().await;
            }
            let command = if alias { "/deploy" } else { "/cimon" };
            let reply = h.slash_as(command, CHANNEL, USER, &text).await;
            prop_assert_eq!(reply.status, StatusCode::OK, "{}", reply.raw);
            let answer = reply.body["text"].as_str().unwrap_or("");
            prop_assert!(!answer.is_empty(), "{}", reply.raw);
            prop_assert!(!answer.contains("Sorry, something went wrong"), "{}", answer);
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn awkward_texts_get_friendly_answers() {
    let h = Harness::new();
    h.bind().await;
    let texts = [
        "\u{0}",
        "deploy \u{202e}main to preview",
        "setup <https://github.com/acme/web|acme/web>",
        "set basedomain <http://example.com|example.com>",
        "deploy <main> to preview",
        "list pr0",
        &"a ".repeat(600),
        "😀",
        "unset url PR3",
        "lock staging for 99999999999999999999d",
        "lock staging for 1h <!channel> &lt;b&gt;",
        "lock pr0",
        "unlock PRODUCTION",
        "status",
    ];
    for text in texts {
        let reply = h.slash(text).await;
        assert_eq!(reply.status, StatusCode::OK, "{text:?}");
        assert!(!reply.text().is_empty());
        assert!(
            !reply.text().contains("Sorry"),
            "{text:?}: {}",
            reply.text()
        );
    }
}

#[tokio::test]
async fn setup_reads_the_workflow_file_so_it_is_in_force_from_the_first_event() {
    let h = Harness::new();
    let head = deploybot_core::Sha::parse(&"a".repeat(40)).expect("sha");
    h.github.set_branch(&repo(), "main", &head, None);
    h.github.set_file(
        &repo(),
        deploybot_core::workflow_file::WORKFLOW_PATH,
        &head,
        Some("version: 1\nenvironments:\n  qa:\n    on: { push: [develop] }\n"),
    );
    h.slash("setup acme/web").await;
    h.settle().await;
    let project = h.project(CHANNEL).await.expect("bound");
    let read = project.workflow.expect("read at setup");
    assert_eq!(read.commit, head);
    assert!(read.file.is_some() && read.rejected.is_none(), "{read:?}");
    let told: Vec<String> = h
        .slack
        .messages(&channel(CHANNEL))
        .iter()
        .filter_map(|m| m.latest().map(|l| l.text.clone()))
        .collect();
    assert!(
        told.iter()
            .any(|t| t.contains("now follows `.github/deploybot.yml`")),
        "{told:?}"
    );
}
