//! Store contract: each person's own settings (the user table, by Slack user) and the
//! notices a deployment record carries (docs/notifications.md).

use super::*;
use deploybot_core::notify::{ChannelRef, DirectPreference, Notice, NoticeKind, Outcome};

/// A preference reads back as set, per person, linked or not, and survives unlinking.
pub async fn direct_preference_is_kept_per_person(store: Arc<dyn Store>) {
    let ana = slack_user("U0ANA");
    let bo = slack_user("U0BO");
    assert_eq!(
        store.direct_preference(&ana).await.expect("read"),
        DirectPreference::Routed
    );
    for preference in [
        DirectPreference::None,
        DirectPreference::All,
        DirectPreference::Failures,
    ] {
        store
            .set_direct_preference(&ana, preference)
            .await
            .expect("set");
        assert_eq!(
            store.direct_preference(&ana).await.expect("read"),
            preference
        );
        assert_eq!(
            store.direct_preference(&bo).await.expect("read"),
            DirectPreference::Routed,
            "another person's preference is their own"
        );
    }
    store
        .link_user(&user_link("ana", "U0ANA"))
        .await
        .expect("link");
    store.unlink_user(&ana).await.expect("unlink");
    assert_eq!(
        store.direct_preference(&ana).await.expect("read"),
        DirectPreference::Failures
    );
    store
        .set_direct_preference(&ana, DirectPreference::Routed)
        .await
        .expect("reset");
    assert_eq!(
        store.direct_preference(&ana).await.expect("read"),
        DirectPreference::Routed
    );
}

/// The Home tab's debounce: the first claim and one after the gap win; one within it does
/// not; the preference is not disturbed.
pub async fn home_publish_is_claimed_at_most_once_per_gap(store: Arc<dyn Store>) {
    let ana = slack_user("U0ANA");
    let t0 = Timestamp::from_millis(T0);
    store
        .set_direct_preference(&ana, DirectPreference::None)
        .await
        .expect("set");
    let cases = [
        ("never published", 0, true),
        ("again at once", 0, false),
        ("within the minute", 59, false),
        ("a minute later", 60, true),
        ("just after that", 61, false),
    ];
    for (name, offset, want) in cases {
        assert_eq!(
            store
                .claim_home_publish(&ana, t0.plus_secs(offset), 60)
                .await
                .expect("claim"),
            want,
            "{name}"
        );
    }
    assert!(
        store
            .claim_home_publish(&slack_user("U0BO"), t0, 60)
            .await
            .expect("claim"),
        "each person has their own"
    );
    assert_eq!(
        store.direct_preference(&ana).await.expect("read"),
        DirectPreference::None
    );
}

/// Of concurrent Home tab claims of one person at one time exactly one wins.
pub async fn concurrent_home_publishes_have_one_winner(store: Arc<dyn Store>) {
    let ana = slack_user("U0ANA");
    let t0 = Timestamp::from_millis(T0);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let ana = ana.clone();
        tasks.push(tokio::spawn(async move {
            store.claim_home_publish(&ana, t0, 60).await
        }));
    }
    let mut winners = 0;
    for task in tasks {
        if task.await.expect("task").expect("claim") {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

/// A deployment's notices (mirrors, direct messages, mentions) are stored with it and read
/// back by key, through updates.
pub async fn deployment_notices_round_trip(store: Arc<dyn Store>) {
    let mut d = deployment("acme/web", 0, Environment::Production, sha('a'));
    d.notices = vec![Notice {
        kind: NoticeKind::Mirror {
            target: ChannelRef::parse("#prod-deploys").expect("valid"),
        },
        channel: Some(channel("C0PROD")),
        ts: Some("1700000000.000100".into()),
        failed: None,
    }];
    assert_eq!(
        store.insert_deployment(&d).await.expect("insert"),
        InsertOutcome::Inserted
    );
    let read = store
        .get_deployment(&d.repository, &d.id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(read.notices, d.notices);
    let mut next = read.clone();
    next.notices.push(Notice {
        kind: NoticeKind::Direct {
            user: slack_user("U0ANA"),
            outcome: Outcome::Failure,
        },
        channel: Some(channel("D0ANA")),
        ts: Some("1700000000.000200".into()),
        failed: None,
    });
    next.notices.push(Notice {
        failed: Some("not_in_channel".into()),
        ..Notice::pending(NoticeKind::Mirror {
            target: ChannelRef::parse("#elsewhere").expect("valid"),
        })
    });
    let UpdateOutcome::Updated(saved) = store.update_deployment(&next).await.expect("update")
    else {
        panic!("the update should be saved");
    };
    let read = store
        .get_deployment(&d.repository, &d.id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(read.notices, next.notices);
    assert_eq!(read.notices, saved.notices);
}

/// Home viewers: per channel, the people who opened their Home tab with it since a time; a
/// later opening replaces the earlier one; never another channel's; at most `limit`.
pub async fn home_viewers_are_kept_per_channel_by_time(store: Arc<dyn Store>) {
    let web = channel("C0WEB");
    let api = channel("C0API");
    let t = |secs: i64| Timestamp::from_secs(1_700_000_000 + secs);
    let (ana, bo, cy) = (slack_user("U0ANA"), slack_user("U0BO"), slack_user("U0CY"));
    assert!(
        store
            .home_viewers(&web, t(0), 10)
            .await
            .expect("home_viewers")
            .is_empty()
    );
    store
        .note_home_viewer(&web, &ana, t(10))
        .await
        .expect("note");
    store
        .note_home_viewer(&web, &bo, t(100))
        .await
        .expect("note");
    store
        .note_home_viewer(&api, &cy, t(100))
        .await
        .expect("note");
    let sorted = |mut v: Vec<SlackUserId>| {
        v.sort();
        v
    };
    assert_eq!(
        sorted(
            store
                .home_viewers(&web, t(0), 10)
                .await
                .expect("home_viewers")
        ),
        vec![ana.clone(), bo.clone()]
    );
    assert_eq!(
        store
            .home_viewers(&web, t(50), 10)
            .await
            .expect("home_viewers"),
        vec![bo.clone()]
    );
    // Ana opens it again: she counts from then.
    store
        .note_home_viewer(&web, &ana, t(200))
        .await
        .expect("note");
    assert_eq!(
        sorted(
            store
                .home_viewers(&web, t(150), 10)
                .await
                .expect("home_viewers")
        ),
        vec![ana.clone()]
    );
    assert_eq!(
        store
            .home_viewers(&web, t(0), 1)
            .await
            .expect("home_viewers")
            .len(),
        1
    );
    assert_eq!(
        store
            .home_viewers(&api, t(0), 10)
            .await
            .expect("home_viewers"),
        vec![cy]
    );
}
