use super::*;
use crate::{Environment, Repository};

fn login(s: &str) -> GithubLogin {
    GithubLogin::parse(s).expect("login")
}

fn slack(s: &str) -> SlackUserId {
    SlackUserId::parse(s).expect("slack id")
}

fn team(s: &str) -> Team {
    Team::parse(s).expect("team")
}

fn sha(hex: &str) -> Sha {
    Sha::parse(&format!("{hex:0<40}")).expect("sha")
}

fn rule(name: &str, users: &[&str], teams: &[&str], count: u32) -> ApprovalRule {
    ApprovalRule {
        name: name.into(),
        users: users.iter().map(|u| login(u)).collect(),
        teams: teams.iter().map(|t| team(t)).collect(),
        count,
    }
}

/// leads: ada-l or grace-h, 1; qa: team acme/qa, 1 — as in the documentation.
fn policy() -> ApprovalPolicy {
    ApprovalPolicy {
        rules: vec![
            rule("leads", &["ada-l", "grace-h"], &[], 1),
            rule("qa", &[], &["acme/qa"], 1),
        ],
        exclude: Exclude::default(),
        expires_after: Duration::from_secs(4 * 3600),
        notify_approvers: false,
    }
}

const T0: Timestamp = Timestamp::from_secs(1_800_000_000);

fn request(policy: ApprovalPolicy) -> ApprovalRequest {
    ApprovalRequest::new(
        ApprovalKey {
            lane: LaneKey {
                repository: Repository::parse("acme/web").expect("repo"),
                environment: Environment::parse("production").expect("env"),
            },
            sha: sha("abc1234"),
            workflow: "builtin".into(),
        },
        DeploymentId::new(T0, 1),
        Requester {
            slack: Some(slack("UANA")),
            login: Some(login("ana")),
        },
        vec![login("ana"), login("dev-dan")],
        policy,
        T0,
    )
}

fn voter(s: &str, l: &str, teams: &[&str]) -> Voter {
    Voter {
        slack: slack(s),
        login: login(l),
        teams: teams.iter().map(|t| team(t)).collect(),
    }
}

#[test]
fn votes_count_once_towards_the_first_unsatisfied_rule() {
    // (who presses, in order) → (result of the last press, progress after it, status)
    type Case = (
        &'static str,
        Vec<Voter>,
        Result<(), &'static str>,
        &'static str,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "a lead approves",
            vec![voter("UADA", "ada-l", &[])],
            Ok(()),
            "leads 1/1 · qa 0/1",
            "pending",
        ),
        (
            "a lead who is also in qa fills leads, then a qa member fills qa",
            vec![
                voter("UADA", "ada-l", &["acme/qa"]),
                voter("UCY", "cy", &["acme/qa"]),
            ],
            Ok(()),
            "leads 1/1 · qa 1/1",
            "approved",
        ),
        (
            "a lead in qa counts towards qa once leads is satisfied",
            vec![
                voter("UGRACE", "grace-h", &[]),
                voter("UADA", "ada-l", &["acme/qa"]),
            ],
            Ok(()),
            "leads 1/1 · qa 1/1",
            "approved",
        ),
        (
            "the requester is self",
            vec![voter("UANA", "ana", &["acme/qa"])],
            Err("self"),
            "leads 0/1 · qa 0/1",
            "pending",
        ),
        (
            "the requester's login from another Slack user is self too",
            vec![voter("UOTHER", "ana", &["acme/qa"])],
            Err("self"),
            "leads 0/1 · qa 0/1",
            "pending",
        ),
        (
            "an author counts without exclude: [authors]",
            vec![voter("UDAN", "dev-dan", &["acme/qa"])],
            Ok(()),
            "leads 0/1 · qa 1/1",
            "pending",
        ),
        (
            "somebody no rule names",
            vec![voter("UEVE", "eve", &["acme/ops"])],
            Err("not eligible"),
            "leads 0/1 · qa 0/1",
            "pending",
        ),
        (
            "a second press by the same person counts once",
            vec![voter("UADA", "ada-l", &[]), voter("UADA", "ada-l", &[])],
            Err("already"),
            "leads 1/1 · qa 0/1",
            "pending",
        ),
        (
            "a second lead when leads is satisfied",
            vec![voter("UADA", "ada-l", &[]), voter("UGRACE", "grace-h", &[])],
            Err("satisfied"),
            "leads 1/1 · qa 0/1",
            "pending",
        ),
    ];
    for (name, voters, want, progress, status) in cases {
        let mut r = request(policy());
        let mut last = Ok(());
        for v in &voters {
            last = r.vote(v, T0.plus_secs(60));
        }
        let got = last.map_err(|e| match e {
            VoteRefused::Self_ { .. } => "self",
            VoteRefused::NotEligible { .. } => "not eligible",
            VoteRefused::AlreadyCounted { .. } => "already",
            VoteRefused::Satisfied { .. } => "satisfied",
            VoteRefused::Closed { .. } => "closed",
        });
        assert_eq!(got, want, "{name}");
        assert_eq!(r.progress(), progress, "{name}");
        assert_eq!(r.status.as_str(), status, "{name}");
    }
}

#[test]
fn authors_are_self_with_exclude_authors() {
    let mut p = policy();
    p.exclude.authors = true;
    let mut r = request(p);
    let refused = r
        .vote(&voter("UDAN", "dev-dan", &["acme/qa"]), T0)
        .expect_err("an author");
    assert_eq!(
        refused.to_string(),
        "You can't approve this deployment: you wrote a commit in it. Someone else eligible has to approve it."
    );
    assert!(r.votes.is_empty());
    // Without the requester in `exclude`, the requester may approve.
    let mut p = policy();
    p.exclude = Exclude {
        requester: false,
        authors: false,
    };
    let mut r = request(p);
    assert_eq!(
        r.vote(&voter("UANA", "ana", &[]), T0),
        Err(VoteRefused::NotEligible {
            environment: "production".into(),
            rules: "leads (@ada-l, @grace-h, 1 needed); qa (team acme/qa, 1 needed)".into(),
        })
    );
    assert_eq!(r.vote(&voter("UANA", "ana", &["acme/qa"]), T0), Ok(()));
}

#[test]
fn a_request_expires_and_then_takes_no_votes() {
    let mut r = request(policy());
    assert!(!r.expire_if_due(T0.plus_secs(4 * 3600 - 1)));
    assert_eq!(
        r.vote(&voter("UADA", "ada-l", &[]), T0.plus_secs(4 * 3600)),
        Err(VoteRefused::Closed { state: "expired" })
    );
    assert_eq!(
        r.status,
        ApprovalStatus::Expired {
            at: T0.plus_secs(4 * 3600)
        }
    );
    assert!(r.votes.is_empty());
    assert!(!r.expire_if_due(T0.plus_secs(5 * 3600)), "once");
}

#[test]
fn reject_closes_the_request() {
    let mut r = request(policy());
    r.vote(&voter("UADA", "ada-l", &[]), T0).expect("counts");
    r.reject(
        &slack("UCY"),
        " the migration is not ready ",
        T0.plus_secs(5),
    )
    .expect("rejects");
    assert_eq!(
        r.summary(T0),
        "Rejected by <@UCY> — the migration is not ready"
    );
    assert_eq!(
        r.vote(&voter("UCY", "cy", &["acme/qa"]), T0.plus_secs(6)),
        Err(VoteRefused::Closed { state: "rejected" })
    );
    assert!(r.reject(&slack("UCY"), "again", T0.plus_secs(7)).is_err());
}

#[test]
fn sentences_for_the_message_and_github() {
    let mut r = request(policy());
    assert_eq!(
        r.summary(T0.plus_secs(2 * 60)),
        "Waiting for approval — leads 0/1 · qa 0/1 — requested by <@UANA> — expires in 3h58m"
    );
    r.vote(&voter("UBO", "bo", &[]), T0)
        .expect_err("not eligible");
    r.vote(&voter("UGRACE", "grace-h", &[]), T0).expect("lead");
    r.vote(&voter("UCY", "cy", &["acme/qa"]), T0).expect("qa");
    assert_eq!(r.approved_by(), "approved by @grace-h (leads), @cy (qa)");
    assert_eq!(r.summary(T0), "Approved by <@UGRACE> (leads), <@UCY> (qa)");
    let superseded = ApprovalStatus::Superseded { by: sha("def4567") };
    r.status = superseded;
    assert_eq!(
        r.summary(T0),
        "Approval request superseded by `def4567`; its approvals do not carry over"
    );
}

#[test]
fn time_left_reads_in_hours_and_minutes() {
    let cases = [
        (0, "1m"),
        (30, "1m"),
        (60, "1m"),
        (61, "2m"),
        (3600, "1h"),
        (3600 * 3 + 58 * 60, "3h58m"),
        (3600 * 3 + 5 * 60, "3h05m"),
        (86_400 + 3600 * 2, "1d2h"),
        (-50, "1m"),
    ];
    for (secs, want) in cases {
        assert_eq!(remaining(T0, T0.plus_secs(secs)), want, "{secs}");
    }
}

#[test]
fn a_rule_nobody_can_satisfy_is_named() {
    let members = BTreeMap::from([
        (team("acme/qa"), vec![login("cy"), login("ana")]),
        (team("acme/leads"), vec![login("ada-l")]),
    ]);
    let none = BTreeSet::new();
    let ana = BTreeSet::from([login("ana")]);
    let ana_cy = BTreeSet::from([login("ana"), login("cy")]);
    type Case<'a> = (
        &'a str,
        Vec<ApprovalRule>,
        &'a BTreeSet<GithubLogin>,
        Option<&'a str>,
    );
    let cases: Vec<Case<'_>> = vec![
        ("the documented rules", policy().rules, &ana, None),
        (
            "qa has only the requester and an excluded author",
            policy().rules,
            &ana_cy,
            Some("qa"),
        ),
        (
            "two qa approvals from a team of two, one of them the requester",
            vec![rule("qa", &[], &["acme/qa"], 2)],
            &ana,
            Some("qa"),
        ),
        (
            "an unknown team has nobody",
            vec![rule("sec", &[], &["acme/sec"], 1)],
            &none,
            Some("sec"),
        ),
        (
            "one person eligible for two rules counts once",
            vec![
                rule("a", &["ada-l"], &[], 1),
                rule("b", &[], &["acme/leads"], 1),
            ],
            &none,
            Some("b"),
        ),
        (
            "two people for two overlapping rules",
            vec![
                rule("a", &["ada-l", "cy"], &[], 1),
                rule("b", &["ada-l"], &[], 1),
            ],
            &none,
            None,
        ),
    ];
    for (name, rules, excluded, want) in cases {
        let p = ApprovalPolicy { rules, ..policy() };
        let got = unsatisfiable(&p, &members, excluded);
        assert_eq!(
            got.as_ref().map(|(r, _)| r.as_str()),
            want,
            "{name}: {got:?}"
        );
    }
    let p = policy();
    let (_, why) = unsatisfiable(&p, &members, &ana_cy).expect("qa");
    assert_eq!(
        why,
        "rule `qa` needs 1 approval and only 0 eligible people are left once the requester is excluded"
    );
}

#[test]
fn rollbacks_to_a_commit_deployed_before_need_no_approval() {
    assert!(!needs_approval(&IntentKind::Rollback, true));
    assert!(needs_approval(&IntentKind::Rollback, false));
    for kind in [IntentKind::Push, IntentKind::Tag, IntentKind::Manual] {
        assert!(needs_approval(&kind, true), "{kind:?}");
    }
}

#[test]
fn teams_parse_and_round_trip() {
    assert_eq!(team("Acme/QA").to_string(), "acme/qa");
    for bad in ["acme", "/qa", "acme/", "acme/q a", "a/b/c"] {
        assert!(Team::parse(bad).is_err(), "{bad}");
    }
    let r = request(policy());
    let json = serde_json::to_string(&r).expect("serialises");
    let back: ApprovalRequest = serde_json::from_str(&json).expect("parses");
    assert_eq!(back, r);
}
