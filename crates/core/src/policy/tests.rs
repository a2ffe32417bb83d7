use super::*;

fn sha(c: char) -> Sha {
    Sha::parse(&c.to_string().repeat(40)).expect("valid sha")
}

fn push(git_ref: &str, commits: usize, deleted: bool) -> WorkflowEvent {
    WorkflowEvent::Push {
        git_ref: GitRef::parse(git_ref).expect("valid ref"),
        after: (!deleted).then(|| sha('a')),
        deleted,
        created: false,
        forced: false,
        commit_count: commits,
        default_branch: "main".into(),
    }
}

fn created(mut event: WorkflowEvent) -> WorkflowEvent {
    if let WorkflowEvent::Push { created, .. } = &mut event {
        *created = true;
    }
    event
}

fn forced(mut event: WorkflowEvent) -> WorkflowEvent {
    if let WorkflowEvent::Push { forced, .. } = &mut event {
        *forced = true;
    }
    event
}

fn pr(action: &str, fork: bool) -> WorkflowEvent {
    pr_draft(action, fork, false)
}

fn pr_draft(action: &str, fork: bool, draft: bool) -> WorkflowEvent {
    WorkflowEvent::PullRequest {
        action: PullRequestAction::parse(action),
        number: 7,
        head_branch: "feature/login".into(),
        head_sha: sha('b'),
        from_fork: fork,
        draft,
    }
}

fn deploys_to(d: &Decision) -> Option<Environment> {
    match d {
        Decision::Deploy { environment, .. } => Some(environment.clone()),
        _ => None,
    }
}

fn env(name: &str) -> Environment {
    Environment::parse(name).expect("an environment name")
}

fn file(text: &str) -> Policy {
    Policy::from_file(WorkflowFile::parse(text).expect("a valid file"))
}

#[test]
fn every_default_policy_row() {
    let policy = Policy::default();
    let cases: Vec<(WorkflowEvent, Option<Environment>)> = vec![
        (pr("opened", false), Some(Environment::PullRequest(7))),
        (pr("reopened", false), Some(Environment::PullRequest(7))),
        (pr("synchronize", false), Some(Environment::PullRequest(7))),
        (pr("edited", false), None),
        (pr("labeled", false), None),
        (
            push("refs/heads/main", 2, false),
            Some(Environment::Preview),
        ),
        (push("refs/heads/master", 2, false), None), // default branch is main here
        (
            push("refs/heads/release-1.2", 1, false),
            Some(Environment::Test),
        ),
        (
            push("refs/heads/release/2026-11", 1, false),
            Some(Environment::Test),
        ),
        (push("refs/heads/feature/x", 3, false), None),
        (
            push("refs/tags/v1.4.0", 0, false),
            Some(Environment::Production),
        ),
        (
            push("refs/tags/2026.11.27", 0, false),
            Some(Environment::Production),
        ),
        // Not versions: a leading zero, a word after `v`, a date.
        (push("refs/tags/2026.06.1", 0, false), None),
        (push("refs/tags/vendor-sync", 0, false), None),
        (push("refs/tags/2024-cleanup", 0, false), None),
        (push("refs/tags/nightly", 0, false), None),
        (push("refs/heads/main", 0, true), None),
        (push("refs/tags/v1.0", 0, true), None),
        (push("refs/heads/main", 0, false), None), // no new commits
        // A branch created at an existing commit, and a force-push back to one.
        (
            created(push("refs/heads/release-1.5", 0, false)),
            Some(Environment::Test),
        ),
        (
            forced(push("refs/heads/main", 0, false)),
            Some(Environment::Preview),
        ),
        (created(push("refs/heads/feature/x", 0, false)), None),
    ];
    for (event, want) in cases {
        assert_eq!(deploys_to(&policy.decide(&event)), want, "{event:?}");
    }
}

#[test]
fn master_is_the_default_branch_when_the_repository_says_so() {
    let event = WorkflowEvent::Push {
        git_ref: GitRef::Branch("master".into()),
        after: Some(sha('c')),
        deleted: false,
        created: false,
        forced: false,
        commit_count: 1,
        default_branch: "master".into(),
    };
    assert_eq!(
        Policy::default().decide(&event),
        Decision::Deploy {
            environment: Environment::Preview,
            git_ref: GitRef::Branch("master".into()),
            sha: sha('c'),
        }
    );
}

#[test]
fn pull_request_decisions_carry_head() {
    let policy = Policy::default();
    assert_eq!(
        policy.decide(&pr("opened", false)),
        Decision::Deploy {
            environment: Environment::PullRequest(7),
            git_ref: GitRef::Branch("feature/login".into()),
            sha: sha('b'),
        }
    );
    assert_eq!(
        policy.decide(&pr("closed", false)),
        Decision::Deactivate {
            environment: Environment::PullRequest(7)
        }
    );
    // Closing a fork's PR still cleans up.
    assert!(matches!(
        policy.decide(&pr("closed", true)),
        Decision::Deactivate { .. }
    ));
    match policy.decide(&pr("opened", true)) {
        Decision::Decline { reason } => assert!(reason.contains("fork"), "{reason}"),
        other => panic!("fork PR should be declined, got {other:?}"),
    }
    let trusting = file(
        "version: 1\nenvironments:\n  pr:\n    name: \"pr{number}\"\n    on: pull_request\n    forks: true\n",
    );
    assert!(matches!(
        trusting.decide(&pr("opened", true)),
        Decision::Deploy { .. }
    ));
}

#[test]
fn drafts_wait_for_ready_for_review_when_the_file_says_so() {
    let strict = file(
        "version: 1\nenvironments:\n  pr:\n    name: \"pr{number}\"\n    on: pull_request\n    drafts: false\n",
    );
    // (policy, action, draft) → deploys?
    let cases = [
        (&strict, "opened", true, false),
        (&strict, "synchronize", true, false),
        (&strict, "ready_for_review", false, true),
        (&strict, "opened", false, true),
    ];
    for (policy, action, draft, want) in cases {
        let got = deploys_to(&policy.decide(&pr_draft(action, false, draft))).is_some();
        assert_eq!(got, want, "{action} draft={draft}");
    }
    // The built-in workflow deploys drafts as it always has, and ignores ready_for_review
    // (the draft is already deployed).
    let builtin = Policy::default();
    assert!(deploys_to(&builtin.decide(&pr_draft("opened", false, true))).is_some());
    assert!(deploys_to(&builtin.decide(&pr_draft("ready_for_review", false, false))).is_none());
}

#[test]
fn a_file_with_develop_and_qa_deploys_qa_and_knows_its_environments() {
    let policy = file(
        "version: 1\nenvironments:\n  preview:\n    on: { push: [default] }\n  qa:\n    on: { push: [develop] }\n  eu-production:\n    on: { tag: [\"api/v{semver}\"] }\n    production: true\n    required_checks: [\"ci/circleci: build\"]\n    url: \"https://eu.example.com/\"\n  us-production:\n    promote_from: eu-production\n    production: true\n",
    );
    assert_eq!(
        deploys_to(&policy.decide(&push("refs/heads/develop", 1, false))),
        Some(env("qa"))
    );
    assert_eq!(
        deploys_to(&policy.decide(&push("refs/tags/api/v2.3.0", 0, false))),
        Some(env("eu-production"))
    );
    assert_eq!(
        deploys_to(&policy.decide(&push("refs/tags/v2.3.0", 0, false))),
        None
    );
    // No pull-request entry: pull requests deploy nothing.
    assert_eq!(deploys_to(&policy.decide(&pr("opened", false))), None);
    assert_eq!(
        policy.environments(),
        vec![
            env("preview"),
            env("qa"),
            env("eu-production"),
            env("us-production")
        ]
    );
    assert!(policy.is_production(&env("eu-production")));
    assert!(policy.is_production(&env("us-production")));
    assert!(!policy.is_production(&env("qa")));
    // The built-in names are not special: `production` is not one here.
    assert!(!policy.is_production(&Environment::Production));
    assert_eq!(
        policy.required_checks(&env("eu-production")),
        ["ci/circleci: build".to_owned()]
    );
    assert!(policy.required_checks(&env("qa")).is_empty());
    assert_eq!(
        policy.url(&env("eu-production")).map(url::Url::as_str),
        Some("https://eu.example.com/")
    );
    // By hand: qa takes any ref, named; eu-production its tags; us-production what passed eu.
    let r = |s: &str| GitRef::parse(s).expect("valid ref");
    assert!(matches!(
        policy.plan_manual(&env("qa"), None),
        Err(Refusal::NeedsRef { .. })
    ));
    assert_eq!(
        policy.plan_manual(&env("eu-production"), Some(&r("api/v2.3.0"))),
        Ok(ManualPlan::Ref {
            git_ref: GitRef::Tag("api/v2.3.0".into()),
            requires_success_in: None
        })
    );
    assert_eq!(
        policy.plan_manual(&env("us-production"), None),
        Ok(ManualPlan::PromoteLatest {
            from: env("eu-production")
        })
    );
    let refusal = policy
        .plan_manual(&Environment::Staging, Some(&r("main")))
        .expect_err("no staging here");
    assert!(
        refusal.to_string().contains("no `staging` environment")
            && refusal.to_string().contains("`qa`"),
        "{refusal}"
    );
}

#[test]
fn a_pull_request_name_of_its_own_is_recognised() {
    let policy = file(
        "version: 1\nenvironments:\n  review:\n    name: \"review-{number}\"\n    on: pull_request\n",
    );
    assert_eq!(
        deploys_to(&policy.decide(&pr("opened", false))),
        Some(env("review-7"))
    );
    assert_eq!(policy.pull_request_of(&env("review-7")), Some(7));
    assert_eq!(policy.pull_request_of(&env("review-07")), None);
    assert_eq!(policy.pull_request_of(&env("review-x")), None);
    assert!(matches!(
        policy.plan_manual(&env("review-7"), None),
        Err(Refusal::PullRequestEnvironment { .. })
    ));
    assert!(policy.environments().is_empty());
}

#[test]
fn manual_plans() {
    let p = Policy::default();
    let r = |s: &str| GitRef::parse(s).expect("valid ref");
    // explicit refs
    assert_eq!(
        p.plan_manual(&Environment::Test, Some(&r("release-1"))),
        Ok(ManualPlan::Ref {
            git_ref: r("release-1"),
            requires_success_in: None
        })
    );
    assert_eq!(
        p.plan_manual(&Environment::Staging, Some(&r("abc1234"))),
        Ok(ManualPlan::Ref {
            git_ref: r("abc1234"),
            requires_success_in: Some(Environment::Test)
        })
    );
    assert_eq!(
        p.plan_manual(&Environment::Production, Some(&r("v1.4.0"))),
        Ok(ManualPlan::Ref {
            git_ref: GitRef::Tag("v1.4.0".into()),
            requires_success_in: None
        })
    );
    assert_eq!(
        p.plan_manual(&Environment::Production, Some(&r("2.0.1"))),
        Ok(ManualPlan::Ref {
            git_ref: GitRef::Tag("2.0.1".into()),
            requires_success_in: None
        })
    );
    for not_a_version in ["main", "v1.4", "vendor-sync", "refs/heads/v1.0.0"] {
        assert!(
            matches!(
                p.plan_manual(&Environment::Production, Some(&r(not_a_version))),
                Err(Refusal::NotAMatchingTag { .. })
            ),
            "{not_a_version}"
        );
    }
    assert!(matches!(
        p.plan_manual(&Environment::PullRequest(3), Some(&r("x"))),
        Err(Refusal::PullRequestEnvironment { .. })
    ));
    assert!(matches!(
        p.plan_manual(&env("qa"), Some(&r("x"))),
        Err(Refusal::UnknownEnvironment { .. })
    ));
    // default sources
    assert_eq!(
        p.plan_manual(&Environment::Preview, None),
        Ok(ManualPlan::DefaultBranch)
    );
    assert_eq!(
        p.plan_manual(&Environment::Staging, None),
        Ok(ManualPlan::PromoteLatest {
            from: Environment::Test
        })
    );
    for env in [Environment::Test, Environment::Production] {
        let refusal = p.plan_manual(&env, None).expect_err("needs a ref");
        assert!(refusal.to_string().contains("deploy <ref> to"), "{refusal}");
    }
}

#[test]
fn refusals_say_how_to_do_it_right() {
    let p = Policy::default();
    let msg = p
        .plan_manual(&Environment::Production, Some(&GitRef::Name("main".into())))
        .expect_err("refused")
        .to_string();
    assert!(
        msg.contains("tags matching `v{semver}` or `{semver}`"),
        "{msg}"
    );
    let not_passed = Refusal::NotPassed {
        environment: Environment::Staging,
        required: Environment::Test,
        sha: sha('d'),
    }
    .to_string();
    assert!(
        not_passed.contains("ddddddd") && not_passed.contains("to test first"),
        "{not_passed}"
    );
}

#[test]
fn the_builtin_workflow_describes_itself() {
    let lines = Policy::default().describe();
    let names: Vec<&str> = lines.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["pr{number}", "preview", "test", "staging", "production"]
    );
    let text: Vec<String> = lines.iter().map(|(n, d)| format!("{n}: {d}")).collect();
    assert!(text[1].contains("pushes to the default branch"), "{text:?}");
    assert!(
        text[3].contains("takes commits that passed `test`"),
        "{text:?}"
    );
    assert!(
        text[4].contains("tags `v{semver}`") && text[4].contains("production"),
        "{text:?}"
    );
}
