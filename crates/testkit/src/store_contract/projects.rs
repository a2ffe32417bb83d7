//! Store contract: the project table (bindings, settings, revoked workspaces).

use super::*;

/// `bind_project` binds a free repository and channel; both lookups return the record.
pub async fn bind_project_binds_both_sides(store: Arc<dyn Store>) {
    let web = project("acme/web", "C0WEB");
    assert_eq!(
        store
            .project_by_repository(&web.repository)
            .await
            .expect("project_by_repository"),
        None
    );
    assert_eq!(
        store
            .project_by_channel(&web.channel)
            .await
            .expect("project_by_channel"),
        None
    );
    assert_eq!(
        store.bind_project(&web).await.expect("bind_project"),
        BindOutcome::Bound
    );
    assert_eq!(
        store
            .project_by_repository(&web.repository)
            .await
            .expect("project_by_repository"),
        Some(web.clone())
    );
    assert_eq!(
        store
            .project_by_channel(&web.channel)
            .await
            .expect("project_by_channel"),
        Some(web.clone())
    );
    // A repository typed in another case is the same repository.
    assert_eq!(
        store
            .project_by_repository(&repository("ACME/Web"))
            .await
            .expect("project_by_repository"),
        Some(web)
    );
    assert_eq!(
        store
            .project_by_channel(&channel("C0OTHER"))
            .await
            .expect("project_by_channel"),
        None
    );
    assert_eq!(
        store
            .project_by_repository(&repository("acme/api"))
            .await
            .expect("project_by_repository"),
        None
    );
}

/// Every `bind_project` outcome, table-driven: the existing bindings, the attempt, the
/// outcome, and that a refused or repeated attempt changed nothing.
pub async fn bind_project_outcomes(store: Arc<dyn Store>) {
    struct Case {
        name: &'static str,
        existing: &'static [(&'static str, &'static str)],
        attempt: (&'static str, &'static str),
        allowed: Vec<BindOutcome>,
    }
    let cases = [
        Case {
            name: "same binding again",
            existing: &[("acme/one", "C0ONE")],
            attempt: ("acme/one", "C0ONE"),
            allowed: vec![BindOutcome::AlreadyBound],
        },
        Case {
            name: "repository bound to another channel",
            existing: &[("acme/two", "C0TWO")],
            attempt: ("acme/two", "C0TWOB"),
            allowed: vec![BindOutcome::RepositoryTaken {
                channel: channel("C0TWO"),
            }],
        },
        Case {
            name: "channel bound to another repository",
            existing: &[("acme/three", "C0THREE")],
            attempt: ("acme/threeb", "C0THREE"),
            allowed: vec![BindOutcome::ChannelTaken {
                repository: repository("acme/three"),
            }],
        },
        Case {
            name: "both sides bound elsewhere",
            existing: &[("acme/four", "C0FOUR"), ("acme/fourb", "C0FOURB")],
            attempt: ("acme/four", "C0FOURB"),
            allowed: vec![
                BindOutcome::RepositoryTaken {
                    channel: channel("C0FOUR"),
                },
                BindOutcome::ChannelTaken {
                    repository: repository("acme/fourb"),
                },
            ],
        },
    ];
    for case in cases {
        let mut before = Vec::new();
        for (repo, channel_id) in case.existing {
            let existing = project(repo, channel_id);
            assert_eq!(
                store.bind_project(&existing).await.expect("bind_project"),
                BindOutcome::Bound,
                "{}: setting up {repo}",
                case.name
            );
            before.push(existing);
        }
        let mut attempt = project(case.attempt.0, case.attempt.1);
        attempt.created_at = Timestamp::from_millis(T0 + 99_000);
        attempt.channel_name = Some("renamed".to_owned());
        let outcome = store.bind_project(&attempt).await.expect("bind_project");
        assert!(
            case.allowed.contains(&outcome),
            "{}: got {outcome:?}, expected one of {:?}",
            case.name,
            case.allowed
        );
        // Nothing changed: every existing binding is as it was, both ways.
        for existing in &before {
            assert_eq!(
                store
                    .project_by_repository(&existing.repository)
                    .await
                    .expect("project_by_repository"),
                Some(existing.clone()),
                "{}",
                case.name
            );
            assert_eq!(
                store
                    .project_by_channel(&existing.channel)
                    .await
                    .expect("project_by_channel"),
                Some(existing.clone()),
                "{}",
                case.name
            );
        }
        if !before.iter().any(|p| p.repository == attempt.repository) {
            assert_eq!(
                store
                    .project_by_repository(&attempt.repository)
                    .await
                    .expect("project_by_repository"),
                None,
                "{}",
                case.name
            );
        }
        if !before.iter().any(|p| p.channel == attempt.channel) {
            assert_eq!(
                store
                    .project_by_channel(&attempt.channel)
                    .await
                    .expect("project_by_channel"),
                None,
                "{}",
                case.name
            );
        }
    }
}

/// Runs `contenders` concurrent `bind_project` calls released together; returns the outcomes
/// in contender order.
async fn bind_concurrently(store: &Arc<dyn Store>, projects: Vec<Project>) -> Vec<BindOutcome> {
    let barrier = Arc::new(Barrier::new(projects.len()));
    let tasks: Vec<_> = projects
        .into_iter()
        .map(|project| {
            let store = Arc::clone(store);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                store.bind_project(&project).await.expect("bind_project")
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("bind task finished"));
    }
    outcomes
}

/// Two, then ten, concurrent `bind_project`s of one repository from different channels:
/// exactly one `Bound`, the others `RepositoryTaken` naming the winner's channel, and both
/// lookups agree on the winner. Repeated over several repositories to give races a chance.
pub async fn concurrent_binds_of_one_repository_have_one_winner(store: Arc<dyn Store>) {
    for (round, contenders) in [2usize, 10, 2, 10, 2, 10].into_iter().enumerate() {
        let repo = format!("acme/race{round}");
        let projects: Vec<Project> = (0..contenders)
            .map(|i| project(&repo, &format!("C0R{round}X{i}")))
            .collect();
        let outcomes = bind_concurrently(&store, projects.clone()).await;
        let winners: Vec<usize> = (0..contenders)
            .filter(|i| outcomes[*i] == BindOutcome::Bound)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: outcomes {outcomes:?}");
        let winner = &projects[winners[0]];
        for (i, outcome) in outcomes.iter().enumerate() {
            if i != winners[0] {
                assert_eq!(
                    outcome,
                    &BindOutcome::RepositoryTaken {
                        channel: winner.channel.clone()
                    },
                    "round {round}, contender {i}"
                );
                assert_eq!(
                    store
                        .project_by_channel(&projects[i].channel)
                        .await
                        .expect("project_by_channel"),
                    None,
                    "round {round}: losing channel {i} must stay unbound"
                );
            }
        }
        assert_eq!(
            store
                .project_by_repository(&winner.repository)
                .await
                .expect("project_by_repository"),
            Some(winner.clone()),
            "round {round}"
        );
        assert_eq!(
            store
                .project_by_channel(&winner.channel)
                .await
                .expect("project_by_channel"),
            Some(winner.clone()),
            "round {round}"
        );
    }
}

/// Ten concurrent `bind_project`s of one channel to different repositories: exactly one
/// `Bound`, the others `ChannelTaken` naming the winner's repository.
pub async fn concurrent_binds_of_one_channel_have_one_winner(store: Arc<dyn Store>) {
    for round in 0..3 {
        let channel_id = format!("C0CHAN{round}");
        let projects: Vec<Project> = (0..10)
            .map(|i| project(&format!("acme/r{round}x{i}"), &channel_id))
            .collect();
        let outcomes = bind_concurrently(&store, projects.clone()).await;
        let winners: Vec<usize> = (0..projects.len())
            .filter(|i| outcomes[*i] == BindOutcome::Bound)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: outcomes {outcomes:?}");
        let winner = &projects[winners[0]];
        for (i, outcome) in outcomes.iter().enumerate() {
            if i != winners[0] {
                assert_eq!(
                    outcome,
                    &BindOutcome::ChannelTaken {
                        repository: winner.repository.clone()
                    },
                    "round {round}, contender {i}"
                );
                assert_eq!(
                    store
                        .project_by_repository(&projects[i].repository)
                        .await
                        .expect("project_by_repository"),
                    None,
                    "round {round}: losing repository {i} must stay unbound"
                );
            }
        }
        assert_eq!(
            store
                .project_by_channel(&winner.channel)
                .await
                .expect("project_by_channel"),
            Some(winner.clone())
        );
    }
}

/// `update_project` replaces channel name, team and settings while the binding exists, and
/// does nothing (false) for another channel or after unbinding.
pub async fn update_project_only_while_bound(store: Arc<dyn Store>) {
    let web = project("acme/web", "C0WEB");
    assert!(
        !store.update_project(&web).await.expect("update_project"),
        "nothing bound yet"
    );
    assert_eq!(
        store
            .project_by_repository(&web.repository)
            .await
            .expect("project_by_repository"),
        None,
        "update_project must not create a binding"
    );
    store.bind_project(&web).await.expect("bind_project");

    let mut changed = web.clone();
    changed.channel_name = Some("web-deploys".to_owned());
    changed.team = Some(team("T0002"));
    changed.settings.base_domain = Some("example.dev".to_owned());
    changed
        .settings
        .urls
        .insert(Environment::Production, "www.example.com".to_owned());
    // An environment only a workflow file names, and the file itself.
    changed.settings.urls.insert(
        Environment::parse("eu-production").expect("a name"),
        "eu.example.com".to_owned(),
    );
    let commit = deploybot_core::Sha::parse(&"c".repeat(40)).expect("sha");
    changed.workflow = Some(deploybot_core::WorkflowRecord {
        commit: commit.clone(),
        read_at: web.created_at,
        file: Some(deploybot_core::WorkflowText {
            blob: "b".repeat(40),
            commit: commit.clone(),
            text: "version: 1\nenvironments:\n  qa:\n    on: { push: [develop] }\n".to_owned(),
        }),
        rejected: Some(deploybot_core::RejectedWorkflow {
            blob: "d".repeat(40),
            commit,
            line: 3,
            error: "unknown key `onn`".to_owned(),
        }),
    });
    assert!(
        store
            .update_project(&changed)
            .await
            .expect("update_project")
    );
    let stored = store
        .project_by_channel(&web.channel)
        .await
        .expect("project_by_channel")
        .expect("still bound");
    assert_eq!(stored, changed);
    assert_eq!(
        store
            .project_by_repository(&web.repository)
            .await
            .expect("project_by_repository"),
        Some(changed.clone())
    );
    // The workflow record can be cleared (a fresh read is then due), and set again.
    let mut cleared = changed.clone();
    cleared.workflow = None;
    assert!(
        store
            .update_project(&cleared)
            .await
            .expect("update_project")
    );
    assert_eq!(
        store
            .project_by_channel(&web.channel)
            .await
            .expect("project_by_channel"),
        Some(cleared)
    );
    assert!(
        store
            .update_project(&changed)
            .await
            .expect("update_project")
    );

    // The same repository with another channel is not the stored binding.
    let mut elsewhere = changed.clone();
    elsewhere.channel = channel("C0ELSEWHERE");
    elsewhere.channel_name = Some("elsewhere".to_owned());
    assert!(
        !store
            .update_project(&elsewhere)
            .await
            .expect("update_project")
    );
    assert_eq!(
        store
            .project_by_repository(&web.repository)
            .await
            .expect("project_by_repository"),
        Some(changed.clone())
    );
    assert_eq!(
        store
            .project_by_channel(&elsewhere.channel)
            .await
            .expect("project_by_channel"),
        None
    );

    // After unbinding, an update (say, a late channel rename) changes nothing.
    store.unbind_project(&web.channel).await.expect("unbind");
    assert!(
        !store
            .update_project(&changed)
            .await
            .expect("update_project")
    );
    assert_eq!(
        store
            .project_by_channel(&web.channel)
            .await
            .expect("project_by_channel"),
        None
    );
    assert_eq!(
        store
            .project_by_repository(&web.repository)
            .await
            .expect("project_by_repository"),
        None
    );
}

/// `unbind_project` returns the removed record, frees the channel and the repository for
/// new bindings, and leaves user links alone.
pub async fn unbind_project_returns_record_and_frees_both_sides(store: Arc<dyn Store>) {
    let web = project("acme/web", "C0WEB");
    let api = project("acme/api", "C0API");
    assert_eq!(
        store.unbind_project(&web.channel).await.expect("unbind"),
        None,
        "nothing to unbind yet"
    );
    store.bind_project(&web).await.expect("bind_project");
    store.bind_project(&api).await.expect("bind_project");
    let link = user_link("octocat", "U0OCTO");
    store.link_user(&link).await.expect("link_user");

    assert_eq!(
        store.unbind_project(&web.channel).await.expect("unbind"),
        Some(web.clone())
    );
    assert_eq!(
        store.unbind_project(&web.channel).await.expect("unbind"),
        None,
        "already unbound"
    );
    assert_eq!(
        store
            .project_by_channel(&web.channel)
            .await
            .expect("project_by_channel"),
        None
    );
    assert_eq!(
        store
            .project_by_repository(&web.repository)
            .await
            .expect("project_by_repository"),
        None
    );
    // The other project and the user link are untouched.
    assert_eq!(
        store
            .project_by_channel(&api.channel)
            .await
            .expect("project_by_channel"),
        Some(api.clone())
    );
    assert_eq!(
        store
            .user_by_slack(&link.slack_user)
            .await
            .expect("user_by_slack"),
        Some(link)
    );

    // Both sides are free: the repository binds to a new channel, the old channel to a new
    // repository.
    let moved = project("acme/web", "C0WEBNEW");
    assert_eq!(
        store.bind_project(&moved).await.expect("bind_project"),
        BindOutcome::Bound
    );
    let reused = project("acme/docs", "C0WEB");
    assert_eq!(
        store.bind_project(&reused).await.expect("bind_project"),
        BindOutcome::Bound
    );
    assert_eq!(
        store
            .project_by_repository(&moved.repository)
            .await
            .expect("project_by_repository"),
        Some(moved)
    );
    assert_eq!(
        store
            .project_by_channel(&reused.channel)
            .await
            .expect("project_by_channel"),
        Some(reused)
    );
}

/// `record_unbinding` keeps the last record per repository, whatever the bindings do;
/// `last_unbinding` reads it back by repository (in any case) and nothing else.
pub async fn last_unbinding_is_kept_per_repository(store: Arc<dyn Store>) {
    let web = repository("acme/web");
    assert_eq!(
        store.last_unbinding(&web).await.expect("last_unbinding"),
        None
    );
    let bound = project("acme/web", "C0WEB");
    store.bind_project(&bound).await.expect("bind_project");
    let archived = Unbinding {
        repository: web.clone(),
        channel: channel("C0WEB"),
        channel_name: Some("web-deploys".to_owned()),
        reason: UnbindReason::ChannelArchived,
        event: Some("channel_archive".to_owned()),
        at: Timestamp::from_millis(T0),
    };
    store
        .record_unbinding(&archived)
        .await
        .expect("record_unbinding");
    assert_eq!(
        store.last_unbinding(&web).await.expect("last_unbinding"),
        Some(archived.clone())
    );
    assert_eq!(
        store
            .last_unbinding(&repository("ACME/Web"))
            .await
            .expect("last_unbinding"),
        Some(archived.clone()),
        "a repository typed in another case is the same repository"
    );
    // The record lives beside the binding and touches neither side of it.
    assert_eq!(
        store
            .project_by_repository(&web)
            .await
            .expect("project_by_repository"),
        Some(bound.clone())
    );
    assert_eq!(
        store
            .project_by_channel(&bound.channel)
            .await
            .expect("project_by_channel"),
        Some(bound.clone())
    );
    assert_eq!(
        store.unbind_project(&bound.channel).await.expect("unbind"),
        Some(bound)
    );
    assert_eq!(
        store.last_unbinding(&web).await.expect("last_unbinding"),
        Some(archived.clone()),
        "unbinding keeps the record"
    );
    let moved = project("acme/web", "C0WEBNEW");
    assert_eq!(
        store.bind_project(&moved).await.expect("bind_project"),
        BindOutcome::Bound,
        "the record does not hold the repository"
    );
    assert_eq!(
        store.last_unbinding(&web).await.expect("last_unbinding"),
        Some(archived),
        "binding again keeps the record"
    );

    // A later record replaces the earlier one; other repositories have their own.
    let reset = Unbinding {
        repository: web.clone(),
        channel: channel("C0WEBNEW"),
        channel_name: None,
        reason: UnbindReason::Reset {
            by: slack_user("U0001"),
        },
        event: None,
        at: Timestamp::from_millis(T0).plus_secs(60),
    };
    store
        .record_unbinding(&reset)
        .await
        .expect("record_unbinding");
    assert_eq!(
        store.last_unbinding(&web).await.expect("last_unbinding"),
        Some(reset)
    );
    let api = Unbinding {
        repository: repository("acme/api"),
        channel: channel("C0API"),
        channel_name: None,
        reason: UnbindReason::BotRemoved,
        event: Some("group_left".to_owned()),
        at: Timestamp::from_millis(T0),
    };
    store
        .record_unbinding(&api)
        .await
        .expect("record_unbinding");
    assert_eq!(
        store
            .last_unbinding(&api.repository)
            .await
            .expect("last_unbinding"),
        Some(api)
    );
    assert_eq!(
        store
            .last_unbinding(&repository("acme/docs"))
            .await
            .expect("last_unbinding"),
        None
    );
    assert_eq!(
        store
            .project_by_repository(&repository("acme/api"))
            .await
            .expect("project_by_repository"),
        None,
        "a record is not a binding"
    );
}

/// The revoked flag of a Slack workspace: false until set, then follows the last call, per
/// workspace.
pub async fn team_revoked_flag(store: Arc<dyn Store>) {
    let one = team("T0ONE");
    let two = team("T0TWO");
    assert!(!store.is_team_revoked(&one).await.expect("is_team_revoked"));
    store
        .set_team_revoked(&one, true)
        .await
        .expect("set_team_revoked");
    assert!(store.is_team_revoked(&one).await.expect("is_team_revoked"));
    assert!(!store.is_team_revoked(&two).await.expect("is_team_revoked"));
    store
        .set_team_revoked(&one, true)
        .await
        .expect("set_team_revoked twice");
    assert!(store.is_team_revoked(&one).await.expect("is_team_revoked"));
    store
        .set_team_revoked(&one, false)
        .await
        .expect("set_team_revoked");
    assert!(!store.is_team_revoked(&one).await.expect("is_team_revoked"));
    store
        .set_team_revoked(&two, false)
        .await
        .expect("clearing a flag never set");
    assert!(!store.is_team_revoked(&two).await.expect("is_team_revoked"));
}

/// `set_project_github_id` records the repository's GitHub id once, only on an existing
/// binding; `project_by_github_id` finds the binding by it until it is unbound.
pub async fn project_github_id_is_recorded_once_and_indexed(store: Arc<dyn Store>) {
    let web = project("acme/web", "C0WEB");
    assert_eq!(store.project_by_github_id(42).await.expect("by id"), None);
    assert!(
        !store
            .set_project_github_id(&web, 42)
            .await
            .expect("set_project_github_id"),
        "no binding, nothing recorded"
    );
    assert_eq!(
        store.bind_project(&web).await.expect("bind_project"),
        BindOutcome::Bound
    );
    assert_eq!(store.project_by_github_id(42).await.expect("by id"), None);
    let mut elsewhere = web.clone();
    elsewhere.channel = channel("C0OTHER");
    assert!(
        !store
            .set_project_github_id(&elsewhere, 42)
            .await
            .expect("set_project_github_id"),
        "another channel's binding of the repository is not this one"
    );
    assert!(
        store
            .set_project_github_id(&web, 42)
            .await
            .expect("set_project_github_id")
    );
    let recorded = Project {
        github_id: Some(42),
        ..web.clone()
    };
    assert_eq!(
        store
            .project_by_repository(&web.repository)
            .await
            .expect("by repository"),
        Some(recorded.clone())
    );
    assert_eq!(
        store.project_by_github_id(42).await.expect("by id"),
        Some(recorded.clone())
    );
    assert!(
        !store
            .set_project_github_id(&web, 43)
            .await
            .expect("set_project_github_id"),
        "an id once recorded stays"
    );
    assert_eq!(store.project_by_github_id(43).await.expect("by id"), None);
    // Settings updates keep the id.
    let mut renamed_channel = web.clone();
    renamed_channel.channel_name = Some("deploys".into());
    assert!(
        store
            .update_project(&renamed_channel)
            .await
            .expect("update")
    );
    assert_eq!(
        store
            .project_by_github_id(42)
            .await
            .expect("by id")
            .and_then(|p| p.github_id),
        Some(42)
    );
    // A binding stored with its id is indexed at once.
    let api = Project {
        github_id: Some(7),
        ..project("acme/api", "C0API")
    };
    assert_eq!(
        store.bind_project(&api).await.expect("bind_project"),
        BindOutcome::Bound
    );
    assert_eq!(
        store.project_by_github_id(7).await.expect("by id"),
        Some(api.clone())
    );
    assert_eq!(
        store
            .unbind_project(&web.channel)
            .await
            .expect("unbind")
            .map(|p| p.github_id),
        Some(Some(42))
    );
    assert_eq!(
        store.project_by_github_id(42).await.expect("by id"),
        None,
        "unbinding takes the id out of the index"
    );
    assert_eq!(
        store.project_by_github_id(7).await.expect("by id"),
        Some(api)
    );
}

/// `move_project` moves a binding to the repository's new name: both lookups and the id
/// index follow, the old name is free, and a taken or unbound name changes nothing.
pub async fn move_project_follows_a_renamed_repository(store: Arc<dyn Store>) {
    let web = Project {
        settings: ProjectSettings {
            base_domain: Some("example.com".into()),
            ..ProjectSettings::default()
        },
        ..project("acme/web", "C0WEB")
    };
    let website = repository("acme/website");
    assert_eq!(
        store
            .move_project(&web.repository, &website, Some(42))
            .await
            .expect("move_project"),
        MoveOutcome::NotBound
    );
    assert_eq!(
        store.bind_project(&web).await.expect("bind_project"),
        BindOutcome::Bound
    );
    let moved = Project {
        repository: website.clone(),
        github_id: Some(42),
        ..web.clone()
    };
    assert_eq!(
        store
            .move_project(&web.repository, &website, Some(42))
            .await
            .expect("move_project"),
        MoveOutcome::Moved(Box::new(moved.clone()))
    );
    assert_eq!(
        store
            .project_by_repository(&web.repository)
            .await
            .expect("by repository"),
        None
    );
    assert_eq!(
        store
            .project_by_repository(&website)
            .await
            .expect("by repository"),
        Some(moved.clone())
    );
    assert_eq!(
        store
            .project_by_channel(&web.channel)
            .await
            .expect("by channel"),
        Some(moved.clone())
    );
    assert_eq!(
        store.project_by_github_id(42).await.expect("by id"),
        Some(moved.clone())
    );
    // Moving again (a redelivered event) finds nothing under the old name.
    assert_eq!(
        store
            .move_project(&web.repository, &website, Some(42))
            .await
            .expect("move_project"),
        MoveOutcome::NotBound
    );
    // The old name is free for another channel; the channel is still taken.
    let reused = project("acme/web", "C0NEW");
    assert_eq!(
        store.bind_project(&reused).await.expect("bind_project"),
        BindOutcome::Bound
    );
    assert_eq!(
        store
            .bind_project(&project("acme/other", "C0WEB"))
            .await
            .expect("bind_project"),
        BindOutcome::ChannelTaken {
            repository: website.clone()
        }
    );
    // A name that is bound already is not taken over.
    assert_eq!(
        store
            .move_project(&reused.repository, &website, None)
            .await
            .expect("move_project"),
        MoveOutcome::Taken {
            channel: web.channel.clone()
        }
    );
    assert_eq!(
        store
            .project_by_repository(&reused.repository)
            .await
            .expect("by repository"),
        Some(reused.clone())
    );
    // A transfer keeps the id it knows, whatever the caller passes.
    let transferred = repository("globex/website");
    let moved_again = Project {
        repository: transferred.clone(),
        ..moved.clone()
    };
    assert_eq!(
        store
            .move_project(&website, &transferred, Some(99))
            .await
            .expect("move_project"),
        MoveOutcome::Moved(Box::new(moved_again.clone()))
    );
    assert_eq!(store.project_by_github_id(99).await.expect("by id"), None);
    // Unbinding after the move frees the new name, the channel and the id.
    assert_eq!(
        store.unbind_project(&web.channel).await.expect("unbind"),
        Some(moved_again)
    );
    assert_eq!(store.project_by_github_id(42).await.expect("by id"), None);
    assert_eq!(
        store
            .bind_project(&project("globex/website", "C0THIRD"))
            .await
            .expect("bind_project"),
        BindOutcome::Bound
    );
}
