//! Store contract: the deployment table and its indexes.

use super::*;

/// `insert_deployment` stores a new record as given and refuses a second one with the same
/// repository and id, returning the stored record; the same id in another repository is
/// another record.
pub async fn insert_deployment_is_conditional(store: Arc<dyn Store>) {
    let mut first = deployment("acme/web", 10, Environment::Test, sha('a'));
    first.pipeline_number = Some(7);
    assert_eq!(
        store
            .get_deployment(&first.repository, &first.id)
            .await
            .expect("get_deployment"),
        None
    );
    insert_all(&*store, std::slice::from_ref(&first)).await;
    assert_eq!(
        store
            .get_deployment(&first.repository, &first.id)
            .await
            .expect("get_deployment"),
        Some(first.clone())
    );

    let mut retried = first.clone();
    retried.description = Some("a retried invoke".to_owned());
    retried.state = DeploymentState::Queued;
    assert_eq!(
        store.insert_deployment(&retried).await.expect("insert"),
        InsertOutcome::AlreadyExists(Box::new(first.clone()))
    );
    assert_eq!(
        store
            .get_deployment(&first.repository, &first.id)
            .await
            .expect("get_deployment"),
        Some(first.clone()),
        "the refused insert changed nothing"
    );

    let mut twin = first.clone();
    twin.repository = repository("acme/api");
    assert_eq!(
        store.insert_deployment(&twin).await.expect("insert"),
        InsertOutcome::Inserted
    );
    assert_eq!(
        store
            .get_deployment(&twin.repository, &twin.id)
            .await
            .expect("get_deployment"),
        Some(twin)
    );
    assert_eq!(
        store
            .get_deployment(&first.repository, &first.id)
            .await
            .expect("get_deployment"),
        Some(first)
    );
}

/// `update_deployment` saves when the version matches and bumps it; a stale version gets
/// `Conflict` with the current record and changes nothing; an unknown deployment is
/// `NotFound` and is not created.
pub async fn update_deployment_is_optimistic(store: Arc<dyn Store>) {
    let original = deployment("acme/web", 10, Environment::Staging, sha('b'));
    insert_all(&*store, std::slice::from_ref(&original)).await;

    let mut queued = original.clone();
    queued.state = DeploymentState::Queued;
    queued.pipeline_number = Some(42);
    queued.updated_at = Timestamp::from_millis(T0 + 20_000);
    let saved = save(&*store, &queued).await;
    assert_eq!(saved.version, 1);
    assert_eq!(
        saved,
        Deployment {
            version: 1,
            ..queued.clone()
        }
    );
    assert_eq!(
        store
            .get_deployment(&original.repository, &original.id)
            .await
            .expect("get_deployment"),
        Some(saved.clone())
    );

    // Writing again with the old version 0 is stale.
    let mut stale = original.clone();
    stale.state = DeploymentState::Failure;
    assert_eq!(
        store.update_deployment(&stale).await.expect("update"),
        UpdateOutcome::Conflict(Box::new(saved.clone()))
    );
    // A version from the future is stale too.
    let mut future = saved.clone();
    future.version = 7;
    assert_eq!(
        store.update_deployment(&future).await.expect("update"),
        UpdateOutcome::Conflict(Box::new(saved.clone()))
    );
    assert_eq!(
        store
            .get_deployment(&original.repository, &original.id)
            .await
            .expect("get_deployment"),
        Some(saved.clone())
    );

    // The saved record is the base of the next save.
    let mut running = saved.clone();
    running.state = DeploymentState::InProgress;
    let saved_again = save(&*store, &running).await;
    assert_eq!(saved_again.version, 2);
    assert_eq!(saved_again.state, DeploymentState::InProgress);

    let unknown = deployment("acme/web", 99, Environment::Staging, sha('b'));
    assert_eq!(
        store.update_deployment(&unknown).await.expect("update"),
        UpdateOutcome::NotFound
    );
    assert_eq!(
        store
            .get_deployment(&unknown.repository, &unknown.id)
            .await
            .expect("get_deployment"),
        None
    );
    let mut elsewhere = saved_again.clone();
    elsewhere.repository = repository("acme/api");
    assert_eq!(
        store.update_deployment(&elsewhere).await.expect("update"),
        UpdateOutcome::NotFound,
        "the key is repository and id"
    );
}

/// Ten writers save the same version at once: exactly one `Updated`, the others
/// `Conflict` with the winner's record, which is what the store holds.
pub async fn concurrent_updates_of_one_version_have_one_winner(store: Arc<dyn Store>) {
    for round in 0..5 {
        let original = deployment("acme/web", 100 + round, Environment::Test, sha('c'));
        insert_all(&*store, std::slice::from_ref(&original)).await;
        let writers = 10;
        let barrier = Arc::new(Barrier::new(writers));
        let tasks: Vec<_> = (0..writers)
            .map(|writer| {
                let store = Arc::clone(&store);
                let barrier = Arc::clone(&barrier);
                let mut update = original.clone();
                update.description = Some(format!("writer {writer}"));
                update.state = DeploymentState::Queued;
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.update_deployment(&update).await.expect("update")
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("update task finished"));
        }
        let winners: Vec<&Deployment> = outcomes
            .iter()
            .filter_map(|outcome| match outcome {
                UpdateOutcome::Updated(saved) => Some(&**saved),
                _ => None,
            })
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: outcomes {outcomes:?}");
        let winner = winners[0].clone();
        assert_eq!(winner.version, 1);
        for outcome in &outcomes {
            match outcome {
                UpdateOutcome::Updated(_) => {}
                UpdateOutcome::Conflict(current) => assert_eq!(**current, winner),
                UpdateOutcome::NotFound => panic!("round {round}: NotFound"),
            }
        }
        assert_eq!(
            store
                .get_deployment(&original.repository, &original.id)
                .await
                .expect("get_deployment"),
            Some(winner)
        );
    }
}

/// The GitHub deployment id and pipeline id indexes follow updates: found once set, with the
/// current record; the old value finds nothing once a field changes or is cleared.
pub async fn lookups_by_github_id_and_pipeline_follow_updates(store: Arc<dyn Store>) {
    let original = deployment("acme/web", 10, Environment::Test, sha('d'));
    let neighbour = {
        let mut d = deployment("acme/api", 11, Environment::Test, sha('d'));
        d.github_deployment_id = Some(500);
        d.pipeline_id = Some("pipeline-api".to_owned());
        d
    };
    insert_all(&*store, &[original.clone(), neighbour.clone()]).await;
    assert_eq!(
        store
            .deployment_by_github_id(100)
            .await
            .expect("by github id"),
        None
    );
    assert_eq!(
        store
            .deployment_by_pipeline("pipeline-1")
            .await
            .expect("by pipeline"),
        None
    );
    assert_eq!(
        store
            .deployment_by_github_id(500)
            .await
            .expect("by github id"),
        Some(neighbour.clone()),
        "set at insert"
    );
    assert_eq!(
        store
            .deployment_by_pipeline("pipeline-api")
            .await
            .expect("by pipeline"),
        Some(neighbour.clone()),
        "set at insert"
    );

    let mut created = original.clone();
    created.github_deployment_id = Some(100);
    let created = save(&*store, &created).await;
    assert_eq!(
        store
            .deployment_by_github_id(100)
            .await
            .expect("by github id"),
        Some(created.clone())
    );

    let mut queued = created.clone();
    queued.pipeline_id = Some("pipeline-1".to_owned());
    queued.state = DeploymentState::Queued;
    let queued = save(&*store, &queued).await;
    assert_eq!(
        store
            .deployment_by_pipeline("pipeline-1")
            .await
            .expect("by pipeline"),
        Some(queued.clone())
    );
    assert_eq!(
        store
            .deployment_by_github_id(100)
            .await
            .expect("by github id"),
        Some(queued.clone()),
        "the index returns the current version"
    );

    // Changing both fields moves the record in both indexes.
    let mut moved = queued.clone();
    moved.github_deployment_id = Some(101);
    moved.pipeline_id = Some("pipeline-2".to_owned());
    let moved = save(&*store, &moved).await;
    assert_eq!(
        store
            .deployment_by_github_id(100)
            .await
            .expect("by github id"),
        None
    );
    assert_eq!(
        store
            .deployment_by_pipeline("pipeline-1")
            .await
            .expect("by pipeline"),
        None
    );
    assert_eq!(
        store
            .deployment_by_github_id(101)
            .await
            .expect("by github id"),
        Some(moved.clone())
    );
    assert_eq!(
        store
            .deployment_by_pipeline("pipeline-2")
            .await
            .expect("by pipeline"),
        Some(moved.clone())
    );

    // Clearing them removes the record from both indexes.
    let mut cleared = moved.clone();
    cleared.github_deployment_id = None;
    cleared.pipeline_id = None;
    save(&*store, &cleared).await;
    assert_eq!(
        store
            .deployment_by_github_id(101)
            .await
            .expect("by github id"),
        None
    );
    assert_eq!(
        store
            .deployment_by_pipeline("pipeline-2")
            .await
            .expect("by pipeline"),
        None
    );
    assert_eq!(
        store
            .deployment_by_github_id(500)
            .await
            .expect("by github id"),
        Some(neighbour.clone())
    );
    assert_eq!(
        store
            .deployment_by_pipeline("pipeline-api")
            .await
            .expect("by pipeline"),
        Some(neighbour)
    );
}

/// `deployments_by_sha`: the repository's deployments of one commit, newest first, at most
/// `limit`; other commits and other repositories stay out; a changed SHA moves the record.
pub async fn deployments_by_sha_newest_first(store: Arc<dyn Store>) {
    let commit = sha('e');
    // Inserted out of time order on purpose.
    let offsets = [30, 10, 50, 20, 40];
    let of_commit: Vec<Deployment> = offsets
        .iter()
        .enumerate()
        .map(|(i, offset)| {
            let environment = if i % 2 == 0 {
                Environment::Test
            } else {
                Environment::Staging
            };
            deployment("acme/web", *offset, environment, commit.clone())
        })
        .collect();
    let other_commit = deployment("acme/web", 60, Environment::Test, sha('f'));
    let other_repository = deployment("acme/api", 70, Environment::Test, commit.clone());
    insert_all(&*store, &of_commit).await;
    insert_all(&*store, &[other_commit.clone(), other_repository.clone()]).await;

    let mut newest_first = of_commit.clone();
    newest_first.sort_by_key(|d| std::cmp::Reverse(d.created_at));
    let web = repository("acme/web");
    for limit in [0, 1, 2, 5, 100] {
        let got = store
            .deployments_by_sha(&web, &commit, limit)
            .await
            .expect("deployments_by_sha");
        let want: Vec<Deployment> = newest_first.iter().take(limit).cloned().collect();
        assert_eq!(ids(&got), ids(&want), "limit {limit}");
        assert_eq!(got, want, "limit {limit}");
    }
    assert_eq!(
        store
            .deployments_by_sha(&web, &sha('0'), 10)
            .await
            .expect("deployments_by_sha"),
        Vec::new()
    );
    assert_eq!(
        store
            .deployments_by_sha(&repository("acme/api"), &commit, 10)
            .await
            .expect("deployments_by_sha"),
        vec![other_repository]
    );

    // A record whose SHA changes leaves the old commit's list and joins the new one.
    let mut changed = newest_first[0].clone();
    changed.sha = sha('f');
    let changed = save(&*store, &changed).await;
    assert_eq!(
        ids(&store
            .deployments_by_sha(&web, &commit, 10)
            .await
            .expect("deployments_by_sha")),
        ids(&newest_first[1..])
    );
    assert_eq!(
        store
            .deployments_by_sha(&web, &sha('f'), 10)
            .await
            .expect("deployments_by_sha"),
        vec![other_commit, changed]
    );
}

/// `list_deployments` without an environment: the repository's deployments newest first, at
/// most `limit`, never another repository's.
pub async fn list_deployments_newest_first_per_repository(store: Arc<dyn Store>) {
    let environments = [
        Environment::Test,
        Environment::PullRequest(4),
        Environment::Staging,
        Environment::Production,
    ];
    let web: Vec<Deployment> = [5, 45, 15, 35, 25, 55, 65]
        .iter()
        .enumerate()
        .map(|(i, offset)| {
            deployment(
                "acme/web",
                *offset,
                environments[i % environments.len()].clone(),
                sha('1'),
            )
        })
        .collect();
    // Other repositories, with neighbouring names and interleaved times.
    let others = [
        deployment("acme/web2", 50, Environment::Test, sha('1')),
        deployment("acme/we", 60, Environment::Test, sha('1')),
        deployment("acme/api", 30, Environment::Test, sha('1')),
    ];
    insert_all(&*store, &web).await;
    insert_all(&*store, &others).await;

    let mut newest_first = web.clone();
    newest_first.sort_by_key(|d| std::cmp::Reverse(d.created_at));
    for limit in [0, 1, 3, 7, 50] {
        let got = store
            .list_deployments(&repository("acme/web"), None, limit)
            .await
            .expect("list_deployments");
        let want: Vec<Deployment> = newest_first.iter().take(limit).cloned().collect();
        assert_eq!(ids(&got), ids(&want), "limit {limit}");
        assert_eq!(got, want, "limit {limit}");
    }
    assert_eq!(
        store
            .list_deployments(&repository("acme/web2"), None, 10)
            .await
            .expect("list_deployments"),
        vec![others[0].clone()]
    );
    assert_eq!(
        store
            .list_deployments(&repository("acme/nothing"), None, 10)
            .await
            .expect("list_deployments"),
        Vec::new()
    );
}

/// `list_deployments` with an environment: only that environment's, newest first, at most
/// `limit`; a record whose environment changes moves lists.
pub async fn list_deployments_per_environment(store: Arc<dyn Store>) {
    let table: [(i64, &str, Environment); 9] = [
        (10, "acme/web", Environment::Test),
        (20, "acme/web", Environment::Staging),
        (30, "acme/web", Environment::Test),
        (40, "acme/web", Environment::PullRequest(7)),
        (50, "acme/web", Environment::Test),
        (60, "acme/web", Environment::PullRequest(17)),
        (70, "acme/api", Environment::Test),
        (80, "acme/web", Environment::Staging),
        (5, "acme/web", Environment::Test),
    ];
    let all: Vec<Deployment> = table
        .iter()
        .map(|(offset, repo, environment)| deployment(repo, *offset, environment.clone(), sha('2')))
        .collect();
    insert_all(&*store, &all).await;
    let web = repository("acme/web");
    let expected = |environment: Environment, limit: usize| -> Vec<Deployment> {
        let mut matching: Vec<Deployment> = all
            .iter()
            .filter(|d| d.repository == web && d.environment == environment)
            .cloned()
            .collect();
        matching.sort_by_key(|d| std::cmp::Reverse(d.created_at));
        matching.truncate(limit);
        matching
    };
    let cases = [
        (Environment::Test, 10, 4),
        (Environment::Test, 2, 2),
        (Environment::Test, 0, 0),
        (Environment::Staging, 10, 2),
        (Environment::PullRequest(7), 10, 1),
        (Environment::PullRequest(17), 10, 1),
        (Environment::PullRequest(1), 10, 0),
        (Environment::Production, 10, 0),
    ];
    for (environment, limit, count) in cases {
        let got = store
            .list_deployments(&web, Some(environment.clone()), limit)
            .await
            .expect("list_deployments");
        let want = expected(environment.clone(), limit);
        assert_eq!(want.len(), count, "{environment} limit {limit}: test table");
        assert_eq!(ids(&got), ids(&want), "{environment} limit {limit}");
        assert_eq!(got, want, "{environment} limit {limit}");
    }

    // Moving the newest test deployment to production.
    let mut moved = expected(Environment::Test, 1).remove(0);
    moved.environment = Environment::Production;
    let moved = save(&*store, &moved).await;
    let tests = store
        .list_deployments(&web, Some(Environment::Test), 10)
        .await
        .expect("list_deployments");
    assert_eq!(tests.len(), 3);
    assert!(tests.iter().all(|d| d.environment == Environment::Test));
    assert_eq!(
        store
            .list_deployments(&web, Some(Environment::Production), 10)
            .await
            .expect("list_deployments"),
        vec![moved]
    );
}

/// `waiting_deployments`: only deployments in `waiting_for_checks` created strictly before
/// the time, across repositories, oldest first, at most `limit`.
pub async fn waiting_deployments_oldest_first_before_time(store: Arc<dyn Store>) {
    let table: [(i64, &str, DeploymentState); 8] = [
        (40, "acme/web", DeploymentState::WaitingForChecks),
        (10, "acme/api", DeploymentState::WaitingForChecks),
        (20, "acme/web", DeploymentState::Created),
        (30, "acme/web", DeploymentState::WaitingForChecks),
        (50, "acme/api", DeploymentState::WaitingForChecks),
        (60, "acme/web", DeploymentState::WaitingForChecks),
        (15, "acme/docs", DeploymentState::Failure),
        (35, "acme/docs", DeploymentState::WaitingForChecks),
    ];
    let all: Vec<Deployment> = table
        .iter()
        .map(|(offset, repo, state)| {
            let mut d = deployment(repo, *offset, Environment::Test, sha('3'));
            d.state = *state;
            if *state == DeploymentState::WaitingForChecks {
                d.waiting_for = vec!["ci/test".to_owned()];
            }
            d
        })
        .collect();
    insert_all(&*store, &all).await;
    let at = |offset: i64| Timestamp::from_millis(T0).plus_secs(offset);
    let expected = |before: Timestamp, limit: usize| -> Vec<Deployment> {
        let mut waiting: Vec<Deployment> = all
            .iter()
            .filter(|d| d.state == DeploymentState::WaitingForChecks && d.created_at < before)
            .cloned()
            .collect();
        waiting.sort_by_key(|d| d.created_at);
        waiting.truncate(limit);
        waiting
    };
    let cases = [
        (at(0), 10, 0),
        (at(10), 10, 0),
        (at(11), 10, 1),
        (at(40), 10, 3),
        (at(41), 10, 4),
        (at(1000), 10, 6),
        (at(1000), 2, 2),
        (at(1000), 0, 0),
    ];
    for (before, limit, count) in cases {
        let got = store
            .waiting_deployments(before, limit)
            .await
            .expect("waiting_deployments");
        let want = expected(before, limit);
        assert_eq!(
            want.len(),
            count,
            "before {before} limit {limit}: test table"
        );
        assert_eq!(ids(&got), ids(&want), "before {before} limit {limit}");
        assert_eq!(got, want, "before {before} limit {limit}");
    }
}

/// A deployment that leaves `waiting_for_checks` leaves the waiting index (and one that
/// enters it joins).
pub async fn waiting_deployment_leaves_index_when_state_changes(store: Arc<dyn Store>) {
    let mut first = deployment("acme/web", 10, Environment::Test, sha('4'));
    first.state = DeploymentState::WaitingForChecks;
    let mut second = deployment("acme/web", 20, Environment::Staging, sha('4'));
    second.state = DeploymentState::WaitingForChecks;
    let third = deployment("acme/api", 30, Environment::Test, sha('4'));
    insert_all(&*store, &[first.clone(), second.clone(), third.clone()]).await;
    let later = Timestamp::from_millis(T0).plus_secs(1000);
    assert_eq!(
        ids(&store
            .waiting_deployments(later, 10)
            .await
            .expect("waiting_deployments")),
        vec![first.id.clone(), second.id.clone()]
    );

    // Still waiting after an unrelated save: present once, with the current version.
    let mut noted = first.clone();
    noted.waiting_for = vec!["ci/lint".to_owned()];
    let noted = save(&*store, &noted).await;
    assert_eq!(
        store
            .waiting_deployments(later, 10)
            .await
            .expect("waiting_deployments"),
        vec![noted.clone(), second.clone()]
    );

    let mut created = noted.clone();
    created.state = DeploymentState::Created;
    created.waiting_for.clear();
    save(&*store, &created).await;
    assert_eq!(
        store
            .waiting_deployments(later, 10)
            .await
            .expect("waiting_deployments"),
        vec![second.clone()]
    );

    let mut parked = third.clone();
    parked.state = DeploymentState::WaitingForChecks;
    let parked = save(&*store, &parked).await;
    assert_eq!(
        store
            .waiting_deployments(later, 10)
            .await
            .expect("waiting_deployments"),
        vec![second.clone(), parked.clone()]
    );

    let mut failed = second.clone();
    failed.state = DeploymentState::Failure;
    save(&*store, &failed).await;
    assert_eq!(
        store
            .waiting_deployments(later, 10)
            .await
            .expect("waiting_deployments"),
        vec![parked]
    );
}

/// `pending_deployments`: only the lane's deployments in `waiting`, `ready` or
/// `waiting_for_checks`, in `seq` order, at most `limit`; other environments and other
/// repositories stay out.
pub async fn pending_deployments_in_seq_order_per_lane(store: Arc<dyn Store>) {
    let staging = LaneKey {
        repository: repository("acme/web"),
        environment: Environment::Staging,
    };
    // (offset, repository, environment, state, seq), inserted out of seq order.
    let table: [(i64, &str, Environment, DeploymentState, u64); 10] = [
        (
            10,
            "acme/web",
            Environment::Staging,
            DeploymentState::Waiting,
            3,
        ),
        (
            20,
            "acme/web",
            Environment::Staging,
            DeploymentState::Ready,
            1,
        ),
        (
            30,
            "acme/web",
            Environment::Staging,
            DeploymentState::Created,
            4,
        ),
        (
            40,
            "acme/web",
            Environment::Staging,
            DeploymentState::WaitingForChecks,
            2,
        ),
        (
            50,
            "acme/web",
            Environment::Staging,
            DeploymentState::Superseded,
            6,
        ),
        (
            60,
            "acme/web",
            Environment::Staging,
            DeploymentState::Success,
            5,
        ),
        (
            70,
            "acme/web",
            Environment::Staging,
            DeploymentState::Ready,
            7,
        ),
        (
            80,
            "acme/web",
            Environment::Production,
            DeploymentState::Ready,
            1,
        ),
        (
            90,
            "acme/api",
            Environment::Staging,
            DeploymentState::Ready,
            1,
        ),
        (
            95,
            "acme/web2",
            Environment::Staging,
            DeploymentState::Waiting,
            1,
        ),
    ];
    let all: Vec<Deployment> = table
        .iter()
        .map(|(offset, repo, environment, state, seq)| {
            let mut d = deployment(repo, *offset, environment.clone(), sha('5'));
            d.state = *state;
            d.seq = *seq;
            if *state == DeploymentState::Waiting {
                d.hold = Some(Hold::Lock {
                    holder: slack_user("U0ANA"),
                    until: Timestamp::from_millis(T0).plus_secs(3_600),
                    reason: Some("testing the migration".to_owned()),
                });
            }
            d
        })
        .collect();
    insert_all(&*store, &all).await;
    let in_lane = |lane: &LaneKey, records: &[Deployment], limit: usize| -> Vec<Deployment> {
        let mut pending: Vec<Deployment> = records
            .iter()
            .filter(|d| {
                d.repository == lane.repository
                    && d.environment == lane.environment
                    && d.state.is_pending()
            })
            .cloned()
            .collect();
        pending.sort_by_key(|d| d.seq);
        pending.truncate(limit);
        pending
    };
    for (limit, count) in [(0, 0), (1, 1), (2, 2), (4, 4), (10, 4)] {
        let got = store
            .pending_deployments(&staging, limit)
            .await
            .expect("pending_deployments");
        let want = in_lane(&staging, &all, limit);
        assert_eq!(want.len(), count, "limit {limit}: test table");
        assert_eq!(got, want, "limit {limit}");
    }
    assert_eq!(
        ids(&store
            .pending_deployments(&staging, 10)
            .await
            .expect("pending_deployments")),
        vec![
            all[1].id.clone(),
            all[3].id.clone(),
            all[0].id.clone(),
            all[6].id.clone()
        ]
    );
    for (lane, index) in [
        (Environment::Production, 7),
        (Environment::PullRequest(1), usize::MAX),
    ]
    .map(|(environment, index)| {
        (
            LaneKey {
                repository: repository("acme/web"),
                environment,
            },
            index,
        )
    }) {
        let want: Vec<Deployment> = all.get(index).cloned().into_iter().collect();
        assert_eq!(
            store
                .pending_deployments(&lane, 10)
                .await
                .expect("pending_deployments"),
            want,
            "{lane}"
        );
    }
    assert_eq!(
        store
            .pending_deployments(
                &LaneKey {
                    repository: repository("acme/api"),
                    environment: Environment::Staging,
                },
                10
            )
            .await
            .expect("pending_deployments"),
        vec![all[8].clone()]
    );
}

/// A deployment leaves the pending index when it leaves the pending states (dispatched, or
/// ended without running), stays in it once while it moves between them, joins it when a
/// new one arrives, and moves lanes with its environment.
pub async fn pending_deployment_follows_its_state(store: Arc<dyn Store>) {
    let staging = LaneKey {
        repository: repository("acme/web"),
        environment: Environment::Staging,
    };
    let test = LaneKey {
        repository: repository("acme/web"),
        environment: Environment::Test,
    };
    let mut queue: Vec<Deployment> = (1..=4u64)
        .map(|seq| {
            let mut d = deployment("acme/web", seq as i64 * 10, Environment::Staging, sha('6'));
            d.state = DeploymentState::Ready;
            d.seq = seq;
            d
        })
        .collect();
    insert_all(&*store, &queue).await;
    let pending = |limit: usize| {
        let store = Arc::clone(&store);
        let staging = staging.clone();
        async move {
            store
                .pending_deployments(&staging, limit)
                .await
                .expect("pending_deployments")
        }
    };
    assert_eq!(pending(10).await, queue);

    // The first is dispatched: it leaves.
    let mut dispatched = queue[0].clone();
    dispatched.state = DeploymentState::Created;
    save(&*store, &dispatched).await;
    // The second is parked on its checks, the third held by a lock: both stay, once each,
    // with their current records.
    let mut parked = queue[1].clone();
    parked.state = DeploymentState::WaitingForChecks;
    parked.waiting_for = vec!["ci/test".to_owned()];
    queue[1] = save(&*store, &parked).await;
    let mut held = queue[2].clone();
    held.state = DeploymentState::Waiting;
    queue[2] = save(&*store, &held).await;
    assert_eq!(pending(10).await, queue[1..].to_vec());

    // Every state that is not pending takes it out.
    for state in DeploymentState::ALL
        .into_iter()
        .filter(|state| !state.is_pending())
    {
        let mut d = deployment("acme/web", 100, Environment::PullRequest(9), sha('7'));
        d.id = DeploymentId::new(Timestamp::from_millis(T0), state as u32);
        d.state = DeploymentState::Ready;
        d.seq = 1;
        insert_all(&*store, std::slice::from_ref(&d)).await;
        let pr = LaneKey {
            repository: repository("acme/web"),
            environment: Environment::PullRequest(9),
        };
        assert_eq!(
            ids(&store
                .pending_deployments(&pr, 10)
                .await
                .expect("pending_deployments")),
            vec![d.id.clone()],
            "{state}: pending before"
        );
        d.state = state;
        save(&*store, &d).await;
        assert_eq!(
            store
                .pending_deployments(&pr, 10)
                .await
                .expect("pending_deployments"),
            Vec::new(),
            "{state} is not pending"
        );
    }

    // The fourth is superseded by a new arrival, which joins at the end.
    let mut superseded = queue[3].clone();
    superseded.state = DeploymentState::Superseded;
    save(&*store, &superseded).await;
    let mut newcomer = deployment("acme/web", 200, Environment::Staging, sha('8'));
    newcomer.state = DeploymentState::Waiting;
    newcomer.seq = 9;
    insert_all(&*store, std::slice::from_ref(&newcomer)).await;
    assert_eq!(
        pending(10).await,
        vec![queue[1].clone(), queue[2].clone(), newcomer.clone()]
    );
    assert_eq!(pending(1).await, vec![queue[1].clone()]);

    // A pending deployment whose environment changes moves to the other lane.
    let mut moved = queue[2].clone();
    moved.environment = Environment::Test;
    let moved = save(&*store, &moved).await;
    assert_eq!(pending(10).await, vec![queue[1].clone(), newcomer]);
    assert_eq!(
        store
            .pending_deployments(&test, 10)
            .await
            .expect("pending_deployments"),
        vec![moved]
    );
}

pub async fn succeeded_deployments_per_lane_both_ways(store: Arc<dyn Store>) {
    let production = LaneKey {
        repository: repository("acme/web"),
        environment: Environment::Production,
    };
    // (offset, environment, state, succeeded?)
    let table: [(i64, Environment, DeploymentState, bool); 6] = [
        (10, Environment::Production, DeploymentState::Success, true),
        (20, Environment::Production, DeploymentState::Failure, false),
        (30, Environment::Production, DeploymentState::Inactive, true),
        (40, Environment::Staging, DeploymentState::Success, true),
        (50, Environment::Production, DeploymentState::Ready, false),
        (60, Environment::Production, DeploymentState::Success, true),
    ];
    let all: Vec<Deployment> = table
        .iter()
        .map(|(offset, environment, state, succeeded)| {
            let mut d = deployment("acme/web", *offset, environment.clone(), sha('a'));
            d.state = *state;
            d.succeeded_at = succeeded.then(|| Timestamp::from_millis(T0).plus_secs(*offset + 5));
            d
        })
        .collect();
    let mut other = deployment("acme/api", 70, Environment::Production, sha('b'));
    other.state = DeploymentState::Success;
    other.succeeded_at = Some(Timestamp::from_millis(T0));
    insert_all(&*store, &all).await;
    insert_all(&*store, std::slice::from_ref(&other)).await;
    let succeeded = |oldest_first: bool, limit: usize| {
        let store = Arc::clone(&store);
        let production = production.clone();
        async move {
            ids(&store
                .succeeded_deployments(&production, oldest_first, limit)
                .await
                .expect("succeeded_deployments"))
        }
    };
    assert_eq!(
        succeeded(false, 10).await,
        vec![all[5].id.clone(), all[2].id.clone(), all[0].id.clone()],
        "newest first, inactive ones that succeeded included, other lanes left out"
    );
    assert_eq!(succeeded(false, 1).await, vec![all[5].id.clone()]);
    assert_eq!(
        succeeded(true, 1).await,
        vec![all[0].id.clone()],
        "the oldest kept"
    );
    assert_eq!(succeeded(true, 0).await, Vec::<DeploymentId>::new());

    // A deployment joins the index when it succeeds.
    let mut pending = all[4].clone();
    pending.state = DeploymentState::Success;
    pending.succeeded_at = Some(Timestamp::from_millis(T0).plus_secs(90));
    save(&*store, &pending).await;
    assert_eq!(succeeded(false, 1).await, vec![all[5].id.clone()]);
    assert_eq!(
        succeeded(false, 10).await,
        vec![
            all[5].id.clone(),
            all[4].id.clone(),
            all[2].id.clone(),
            all[0].id.clone()
        ]
    );
}

/// `list_deployments_older`: the page after a cursor — the repository's deployments older
/// than it, newest first, at most `limit`, never the cursor itself nor another repository's;
/// paging with it visits every deployment once.
pub async fn list_deployments_older_pages_after_a_cursor(store: Arc<dyn Store>) {
    let web: Vec<Deployment> = (0..7)
        .map(|n| deployment("acme/web", 10 * n + 5, Environment::Test, sha('1')))
        .collect();
    let others = [
        deployment("acme/web2", 1, Environment::Test, sha('1')),
        deployment("acme/we", 2, Environment::Test, sha('1')),
    ];
    insert_all(&*store, &web).await;
    insert_all(&*store, &others).await;
    let mut newest_first = web.clone();
    newest_first.sort_by_key(|d| std::cmp::Reverse(d.created_at));

    let older = store
        .list_deployments_older(&repository("acme/web"), &newest_first[2].id, 3)
        .await
        .expect("list_deployments_older");
    assert_eq!(ids(&older), ids(&newest_first[3..6]));
    assert_eq!(older, newest_first[3..6].to_vec());

    let mut seen: Vec<Deployment> = store
        .list_deployments(&repository("acme/web"), None, 2)
        .await
        .expect("list_deployments");
    loop {
        let cursor = seen.last().expect("a first page").id.clone();
        let page = store
            .list_deployments_older(&repository("acme/web"), &cursor, 2)
            .await
            .expect("list_deployments_older");
        if page.is_empty() {
            break;
        }
        seen.extend(page);
    }
    assert_eq!(ids(&seen), ids(&newest_first));
    let last = &newest_first[newest_first.len() - 1].id;
    assert!(
        store
            .list_deployments_older(&repository("acme/web"), last, 5)
            .await
            .expect("list_deployments_older")
            .is_empty()
    );
    assert!(
        store
            .list_deployments_older(&repository("acme/web"), &newest_first[0].id, 0)
            .await
            .expect("list_deployments_older")
            .is_empty()
    );
}
