//! Store contract: the user table (GitHub login ↔ Slack user links).

use super::*;

/// Every `link_user` outcome, table-driven, and that lookups both ways agree afterwards.
pub async fn link_user_outcomes(store: Arc<dyn Store>) {
    let first = user_link("octocat", "U0OCTO");
    assert_eq!(
        store
            .user_by_login(&first.github_login)
            .await
            .expect("by login"),
        None
    );
    assert_eq!(
        store
            .user_by_slack(&first.slack_user)
            .await
            .expect("by slack"),
        None
    );
    assert_eq!(
        store.link_user(&first).await.expect("link_user"),
        LinkOutcome::Linked
    );
    let cases = [
        (
            "same link again",
            user_link("octocat", "U0OCTO"),
            LinkOutcome::AlreadyLinked,
        ),
        (
            "login claimed by another Slack user",
            user_link("octocat", "U0OTHER"),
            LinkOutcome::LoginTaken {
                slack_user: slack_user("U0OCTO"),
            },
        ),
        (
            "login in another case is the same login",
            user_link("OctoCat", "U0OTHER"),
            LinkOutcome::LoginTaken {
                slack_user: slack_user("U0OCTO"),
            },
        ),
        (
            "Slack user already claimed another login",
            user_link("hubot", "U0OCTO"),
            LinkOutcome::SlackUserTaken {
                github_login: login("octocat"),
            },
        ),
    ];
    for (name, attempt, want) in cases {
        assert_eq!(
            store.link_user(&attempt).await.expect("link_user"),
            want,
            "{name}"
        );
        assert_eq!(
            store
                .user_by_login(&first.github_login)
                .await
                .expect("by login"),
            Some(first.clone()),
            "{name}: the first link is unchanged"
        );
        assert_eq!(
            store
                .user_by_slack(&first.slack_user)
                .await
                .expect("by slack"),
            Some(first.clone()),
            "{name}: the first link is unchanged"
        );
    }
    assert_eq!(
        store
            .user_by_slack(&slack_user("U0OTHER"))
            .await
            .expect("by slack"),
        None
    );
    assert_eq!(
        store
            .user_by_login(&login("hubot"))
            .await
            .expect("by login"),
        None
    );
    let second = user_link("hubot", "U0HUBOT");
    assert_eq!(
        store.link_user(&second).await.expect("link_user"),
        LinkOutcome::Linked
    );
    assert_eq!(
        store
            .user_by_slack(&second.slack_user)
            .await
            .expect("by slack"),
        Some(second)
    );
}

async fn link_concurrently(store: &Arc<dyn Store>, links: Vec<UserLink>) -> Vec<LinkOutcome> {
    let barrier = Arc::new(Barrier::new(links.len()));
    let tasks: Vec<_> = links
        .into_iter()
        .map(|link| {
            let store = Arc::clone(store);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                store.link_user(&link).await.expect("link_user")
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("link task finished"));
    }
    outcomes
}

/// Two, then ten, Slack users claim one GitHub login at once: exactly one `Linked`, the
/// others `LoginTaken` naming the winner; the losers stay unlinked.
pub async fn concurrent_links_of_one_login_have_one_winner(store: Arc<dyn Store>) {
    for (round, contenders) in [2usize, 10, 2, 10].into_iter().enumerate() {
        let github = format!("racer{round}");
        let links: Vec<UserLink> = (0..contenders)
            .map(|i| user_link(&github, &format!("U0R{round}X{i}")))
            .collect();
        let outcomes = link_concurrently(&store, links.clone()).await;
        let winners: Vec<usize> = (0..contenders)
            .filter(|i| outcomes[*i] == LinkOutcome::Linked)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: outcomes {outcomes:?}");
        let winner = &links[winners[0]];
        for (i, outcome) in outcomes.iter().enumerate() {
            if i != winners[0] {
                assert_eq!(
                    outcome,
                    &LinkOutcome::LoginTaken {
                        slack_user: winner.slack_user.clone()
                    },
                    "round {round}, contender {i}"
                );
                assert_eq!(
                    store
                        .user_by_slack(&links[i].slack_user)
                        .await
                        .expect("user_by_slack"),
                    None,
                    "round {round}: losing user {i} must stay unlinked"
                );
            }
        }
        assert_eq!(
            store
                .user_by_login(&winner.github_login)
                .await
                .expect("user_by_login"),
            Some(winner.clone())
        );
        assert_eq!(
            store
                .user_by_slack(&winner.slack_user)
                .await
                .expect("user_by_slack"),
            Some(winner.clone())
        );
    }
}

/// One Slack user claims ten logins at once: exactly one `Linked`, the others
/// `SlackUserTaken` naming the winning login.
pub async fn concurrent_links_of_one_slack_user_have_one_winner(store: Arc<dyn Store>) {
    for round in 0..3 {
        let user = format!("U0SOLO{round}");
        let links: Vec<UserLink> = (0..10)
            .map(|i| user_link(&format!("login-{round}-{i}"), &user))
            .collect();
        let outcomes = link_concurrently(&store, links.clone()).await;
        let winners: Vec<usize> = (0..links.len())
            .filter(|i| outcomes[*i] == LinkOutcome::Linked)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: outcomes {outcomes:?}");
        let winner = &links[winners[0]];
        for (i, outcome) in outcomes.iter().enumerate() {
            if i != winners[0] {
                assert_eq!(
                    outcome,
                    &LinkOutcome::SlackUserTaken {
                        github_login: winner.github_login.clone()
                    },
                    "round {round}, contender {i}"
                );
                assert_eq!(
                    store
                        .user_by_login(&links[i].github_login)
                        .await
                        .expect("user_by_login"),
                    None
                );
            }
        }
        assert_eq!(
            store
                .user_by_slack(&winner.slack_user)
                .await
                .expect("user_by_slack"),
            Some(winner.clone())
        );
    }
}

/// `users_by_logins` returns each existing link once, whatever the input holds: nothing for
/// no logins, unknown logins skipped, duplicates collapsed, and more logins than one
/// DynamoDB batch (100 keys) takes.
pub async fn users_by_logins_returns_existing_links(store: Arc<dyn Store>) {
    assert_eq!(
        store.users_by_logins(&[]).await.expect("users_by_logins"),
        Vec::new()
    );
    let linked: Vec<UserLink> = (0..110)
        .map(|i| user_link(&format!("dev{i}"), &format!("U0DEV{i}")))
        .collect();
    for link in &linked {
        assert_eq!(
            store.link_user(link).await.expect("link_user"),
            LinkOutcome::Linked
        );
    }
    let sorted = |mut links: Vec<UserLink>| {
        links.sort_by(|a, b| a.github_login.cmp(&b.github_login));
        links
    };

    let cases: Vec<(&str, Vec<GithubLogin>, Vec<UserLink>)> = vec![
        ("unknown only", vec![login("nobody")], vec![]),
        (
            "some known, some unknown",
            vec![login("dev3"), login("nobody"), login("dev7")],
            vec![linked[3].clone(), linked[7].clone()],
        ),
        (
            "duplicates and case",
            vec![login("dev5"), login("DEV5"), login("dev5")],
            vec![linked[5].clone()],
        ),
        (
            "more than one batch",
            linked
                .iter()
                .map(|l| l.github_login.clone())
                .chain([login("nobody"), login("dev0")])
                .collect(),
            linked.clone(),
        ),
    ];
    for (name, logins, want) in cases {
        let got = store
            .users_by_logins(&logins)
            .await
            .expect("users_by_logins");
        assert_eq!(sorted(got), sorted(want), "{name}");
    }
}

/// `unlink_user` returns the removed link and frees both the login and the Slack user.
pub async fn unlink_user_frees_both_sides(store: Arc<dyn Store>) {
    let link = user_link("octocat", "U0OCTO");
    let other = user_link("hubot", "U0HUBOT");
    assert_eq!(
        store
            .unlink_user(&link.slack_user)
            .await
            .expect("unlink_user"),
        None
    );
    store.link_user(&link).await.expect("link_user");
    store.link_user(&other).await.expect("link_user");
    assert_eq!(
        store
            .unlink_user(&link.slack_user)
            .await
            .expect("unlink_user"),
        Some(link.clone())
    );
    assert_eq!(
        store
            .unlink_user(&link.slack_user)
            .await
            .expect("unlink_user"),
        None
    );
    assert_eq!(
        store
            .user_by_login(&link.github_login)
            .await
            .expect("by login"),
        None
    );
    assert_eq!(
        store
            .user_by_slack(&link.slack_user)
            .await
            .expect("by slack"),
        None
    );
    assert_eq!(
        store
            .users_by_logins(std::slice::from_ref(&link.github_login))
            .await
            .expect("users_by_logins"),
        Vec::new()
    );
    assert_eq!(
        store
            .user_by_slack(&other.slack_user)
            .await
            .expect("by slack"),
        Some(other.clone()),
        "other links stay"
    );
    // The login can go to someone else, and the Slack user can claim another login.
    let reclaimed = user_link("octocat", "U0NEWCOMER");
    assert_eq!(
        store.link_user(&reclaimed).await.expect("link_user"),
        LinkOutcome::Linked
    );
    let relinked = user_link("octocat-work", "U0OCTO");
    assert_eq!(
        store.link_user(&relinked).await.expect("link_user"),
        LinkOutcome::Linked
    );
    assert_eq!(
        store
            .user_by_slack(&slack_user("U0OCTO"))
            .await
            .expect("by slack"),
        Some(relinked)
    );
    assert_eq!(
        store
            .user_by_login(&login("octocat"))
            .await
            .expect("by login"),
        Some(reclaimed)
    );
}
