use super::*;
use crate::{DeploymentState, GitRef, Repository, SlackChannelId};

fn sha(hex: &str) -> Sha {
    Sha::parse(&format!("{hex:0<40}")).expect("hex")
}

fn ana() -> SlackUserId {
    SlackUserId::parse("UANA").expect("valid")
}

const NOW: Timestamp = Timestamp::from_secs(2_000_000);

/// A deployment of `hex` to `env`, created at second `at`, in `state`.
fn dep(at: i64, env: Environment, hex: &str, state: DeploymentState) -> Deployment {
    let created = Timestamp::from_secs(1_000_000 + at);
    let mut d = Deployment::new(
        Repository::parse("acme/web").expect("valid"),
        DeploymentId::new(created, at as u32),
        env,
        GitRef::Branch("main".into()),
        sha(hex),
        Trigger::Push { pusher: None },
        SlackChannelId::parse("C1").expect("valid"),
        created,
    );
    d.state = state;
    if state == DeploymentState::Success {
        d.succeeded_at = Some(created.plus_secs(60));
    }
    d
}

fn ok(at: i64, hex: &str) -> Deployment {
    dep(at, Environment::Production, hex, DeploymentState::Success)
}

/// Succeeded once, superseded since (kept as `inactive` with its `succeeded_at`).
fn was_ok(at: i64, hex: &str) -> Deployment {
    let mut d = ok(at, hex);
    d.state = DeploymentState::Inactive;
    d
}

fn rollback_of(at: i64, hex: &str, from: &Deployment, to: &Deployment) -> Deployment {
    let mut d = ok(at, hex);
    d.trigger = Trigger::Rollback {
        slack_user: ana(),
        from: from.id.clone(),
        from_sha: from.sha.clone(),
        to: to.id.clone(),
        reason: Some("login page blank".into()),
    };
    d
}

fn range(target: &str, from: &str, listed: &[&str], complete: bool) -> BadRange {
    let rollback = ok(100, target);
    let from = ok(50, from);
    BadRange::of(
        &rollback,
        &from,
        ana(),
        Some("login page blank".into()),
        listed.iter().map(|h| sha(h)).collect(),
        complete,
        NOW,
    )
}

#[test]
fn the_target_is_the_newest_earlier_success_outside_rolled_back_ranges() {
    let prod = Environment::Production;
    // (what runs, successes newest first, ranges, expected target sha or refusal kind)
    type Case = (
        &'static str,
        Option<Deployment>,
        Vec<Deployment>,
        Vec<BadRange>,
        Result<&'static str, &'static str>,
    );
    let cur = ok(40, "c4");
    let cases: Vec<Case> = vec![
        (
            "the one before what runs",
            Some(cur.clone()),
            vec![cur.clone(), was_ok(30, "c3"), was_ok(20, "c2")],
            vec![],
            Ok("c3"),
        ),
        (
            "failures are never targets (only successes are read, and filtered again)",
            Some(cur.clone()),
            vec![
                cur.clone(),
                dep(35, prod.clone(), "c35", DeploymentState::Failure),
                was_ok(20, "c2"),
            ],
            vec![],
            Ok("c2"),
        ),
        (
            "a redeploy of the commit that runs is not a target",
            Some(cur.clone()),
            vec![cur.clone(), was_ok(30, "c4"), was_ok(20, "c2")],
            vec![],
            Ok("c2"),
        ),
        (
            "a commit inside a rolled-back range is not a target",
            Some(cur.clone()),
            vec![cur.clone(), was_ok(30, "c3"), was_ok(20, "c2")],
            vec![range("c1", "c3", &["c2", "c3"], true)],
            Err("no earlier"),
        ),
        (
            "a range's target itself is a target",
            Some(cur.clone()),
            vec![cur.clone(), was_ok(30, "c3"), was_ok(20, "c2")],
            vec![range("c2", "c3", &["c3"], true)],
            Ok("c2"),
        ),
        (
            "another environment's success is not a target",
            Some(cur.clone()),
            vec![
                cur.clone(),
                dep(30, Environment::Staging, "c3", DeploymentState::Success),
            ],
            vec![],
            Err("no earlier"),
        ),
        (
            "nothing ran",
            None,
            vec![],
            vec![],
            Err("nothing to roll back"),
        ),
        (
            "only what runs",
            Some(cur.clone()),
            vec![cur.clone()],
            vec![],
            Err("no earlier"),
        ),
    ];
    for (name, current, successes, ranges, expected) in cases {
        let got = choose_target(current.as_ref(), &successes, &ranges, &prod, "/cimon");
        match (expected, got) {
            (Ok(hex), Ok(d)) => assert_eq!(d.sha, sha(hex), "{name}"),
            (Err(words), Err(e)) => assert!(e.to_string().contains(words), "{name}: {e}"),
            (want, got) => panic!("{name}: wanted {want:?}, got {got:?}"),
        }
    }
}

#[test]
fn rolling_back_a_rollback_is_refused_with_the_command_to_use() {
    let bad = was_ok(40, "c4");
    let good = was_ok(30, "c3");
    let rb = rollback_of(50, "c3", &bad, &good);
    let err = choose_target(
        Some(&rb),
        &[rb.clone(), bad.clone(), good.clone()],
        &[],
        &Environment::Production,
        "/cimon",
    )
    .expect_err("refused");
    let text = err.to_string();
    assert!(matches!(err, RollbackRefused::RollbackOfRollback { .. }));
    assert!(
        text.contains("`/cimon deploy <ref> to production`"),
        "{text}"
    );
    assert!(text.contains("`c400000`"), "{text}");
    // The same with a commit named.
    let err = named_target(
        Some(&rb),
        &bad.sha,
        std::slice::from_ref(&bad),
        Some(&good),
        &[],
        &Environment::Production,
        "/cimon",
        NOW,
    )
    .expect_err("refused");
    assert!(matches!(err, RollbackRefused::RollbackOfRollback { .. }));
}

#[test]
fn a_named_target_must_have_succeeded_there_in_the_records_kept() {
    let prod = Environment::Production;
    let cur = ok(40, "c4");
    let oldest = was_ok(10, "c1");
    let staging_only = dep(20, Environment::Staging, "c2", DeploymentState::Success);
    let failed_here = dep(25, prod.clone(), "c2", DeploymentState::Failure);
    let fine = was_ok(30, "c3");
    let refused = |sha_hex: &str, records: &[Deployment], ranges: &[BadRange]| {
        named_target(
            Some(&cur),
            &sha(sha_hex),
            records,
            Some(&oldest),
            ranges,
            &prod,
            "/cimon",
            NOW,
        )
        .map(|d| d.id.clone())
    };
    assert_eq!(
        refused("c3", std::slice::from_ref(&fine), &[]),
        Ok(fine.id.clone())
    );
    // Deployed to staging and failed in production: not in production's records.
    let err = refused("c2", &[staging_only, failed_here], &[]).expect_err("refused");
    let text = err.to_string();
    assert!(
        text.contains("no successful deployment of `c200000` to production"),
        "{text}"
    );
    assert!(text.contains("The oldest it keeps is `c100000`"), "{text}");
    assert!(
        text.contains("`/cimon deploy c200000 to production`"),
        "{text}"
    );
    // Older than anything kept: no record of it at all.
    let err = refused("c0", &[], &[]).expect_err("refused");
    assert!(err.to_string().contains("`c100000`"), "{err}");
    // What runs already.
    let err = refused("c4", std::slice::from_ref(&cur), &[]).expect_err("refused");
    assert!(matches!(err, RollbackRefused::AlreadyRuns { .. }));
    // Inside a rolled-back range.
    let err = refused("c3", &[fine], &[range("c2", "c3", &["c3"], true)]).expect_err("refused");
    assert!(matches!(err, RollbackRefused::TargetIsBad { .. }), "{err}");
}

#[test]
fn marking_takes_the_target_out_and_the_end_in() {
    let r = range("a0", "a3", &["a0", "a1", "a2"], true);
    assert_eq!(r.commits, vec![sha("a1"), sha("a2"), sha("a3")]);
    assert_eq!(r.target, sha("a0"));
    assert!(r.lists(&sha("a3")) && r.lists(&sha("a1")) && !r.lists(&sha("a0")));
}

#[test]
fn a_commit_is_bad_when_it_is_in_a_rolled_back_range() {
    // History: a0 (target) ← a1 ← a2 ← a3 (what ran) ← a4 (the fix, descends from a3).
    let complete = vec![range("a0", "a3", &["a1", "a2", "a3"], true)];
    let cut_short = vec![range("a0", "a3", &["a3"], false)];
    let no = Ancestry::new();
    // (commit, ranges, ancestry answers, expected: Ok(bad?) or Err(question as (commit, of)))
    type Case = (
        &'static str,
        Vec<BadRange>,
        Ancestry,
        Result<bool, (&'static str, &'static str)>,
    );
    let q = |c: &str, of: &str| AncestryQuestion {
        commit: sha(c),
        of: sha(of),
    };
    let cases: Vec<Case> = vec![
        ("a1", complete.clone(), no.clone(), Ok(true)),
        ("a3", complete.clone(), no.clone(), Ok(true)),
        ("a0", complete.clone(), no.clone(), Ok(false)),
        // The fix descends from the bad commit: not bad (and no question when listed fully).
        ("a4", complete.clone(), no.clone(), Ok(false)),
        ("a3", cut_short.clone(), no.clone(), Ok(true)),
        // Cut short: ancestry decides.
        ("a2", cut_short.clone(), no.clone(), Err(("a2", "a3"))),
        (
            "a2",
            cut_short.clone(),
            no.clone().with(&q("a2", "a3"), true),
            Err(("a2", "a0")),
        ),
        (
            "a2",
            cut_short.clone(),
            no.clone()
                .with(&q("a2", "a3"), true)
                .with(&q("a2", "a0"), false),
            Ok(true),
        ),
        // Older than the target: an ancestor of both ends.
        (
            "9f",
            cut_short.clone(),
            no.clone()
                .with(&q("9f", "a3"), true)
                .with(&q("9f", "a0"), true),
            Ok(false),
        ),
        // The fix: not an ancestor of what ran.
        (
            "a4",
            cut_short.clone(),
            no.clone().with(&q("a4", "a3"), false),
            Ok(false),
        ),
        ("a1", vec![], no.clone(), Ok(false)),
    ];
    for (commit, ranges, ancestry, expected) in cases {
        let got = bad_range(&sha(commit), &ranges, &ancestry);
        match (expected, got) {
            (Ok(bad), Ok(found)) => assert_eq!(found.is_some(), bad, "{commit}"),
            (Err((c, of)), Err(question)) => assert_eq!(question, q(c, of), "{commit}"),
            (want, got) => panic!("{commit}: wanted {want:?}, got {got:?}"),
        }
    }
}

#[test]
fn wishes_for_a_bad_commit_are_refused_or_confirmed_with_why() {
    let r = range("a0", "a3", &["a1", "a2", "a3"], true);
    let bad = sha("a2");
    for (kind, refused, words) in [
        (
            WishKind::Automatic,
            true,
            "not deployed: `a200000` was rolled back from production by <@UANA>",
        ),
        (WishKind::Promotion, true, "Not promoted: `a200000`"),
        (WishKind::Retry, true, "Not retried: `a200000`"),
        (WishKind::Manual, false, "Deploy it to production anyway?"),
    ] {
        let answer = bad_commit_answer(&bad, &r, kind);
        let text = match (&answer, refused) {
            (BadCommitAnswer::Refused(t), true) | (BadCommitAnswer::Confirm(t), false) => t,
            _ => panic!("{kind:?}: {answer:?}"),
        };
        assert!(text.contains(words), "{kind:?}: {text}");
        assert!(text.contains("login page blank"), "{kind:?}: {text}");
    }
}

#[test]
fn a_bad_range_round_trips_as_stored() {
    let r = range("a0", "a3", &["a1"], false);
    let json = serde_json::to_string(&r).expect("serialises");
    let back: BadRange = serde_json::from_str(&json).expect("parses");
    assert_eq!(back, r);
}
