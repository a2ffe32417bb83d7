//! The store contract suite: one async function per property of the store port
//! ([`deploybot_core::ports::Store`]), and [`store_contract_tests!`](crate::store_contract_tests)
//! which turns them into one `#[tokio::test]` each for a store implementation. Every store
//! (in-memory, redb, DynamoDB) runs the same suite, so they all keep the same semantics.
//!
//! Each property takes a FRESH, EMPTY store and makes no assumption about anything outside
//! it (the DynamoDB store gives each test its own tables).

use deploybot_core::ports::{BindOutcome, InsertOutcome, LinkOutcome, Store, UpdateOutcome};
use deploybot_core::{
    Deployment, DeploymentId, DeploymentState, Environment, GitRef, GithubLogin, Project,
    ProjectSettings, Repository, Sha, SlackChannelId, SlackTeamId, SlackUserId, Timestamp, Trigger,
    UserLink,
};
use std::sync::Arc;
use tokio::sync::Barrier;

/// What a contract-test factory produces: the store under test, possibly with a guard that
/// must live as long as the test (a temporary directory, tables to drop afterwards).
///
/// Implemented for `Arc<dyn Store>` and for `(Arc<dyn Store>, Guard)` with any guard.
pub trait StoreUnderTest: Send + 'static {
    fn store(&self) -> Arc<dyn Store>;
}

impl StoreUnderTest for Arc<dyn Store> {
    fn store(&self) -> Arc<dyn Store> {
        Arc::clone(self)
    }
}

impl<Guard: Send + 'static> StoreUnderTest for (Arc<dyn Store>, Guard) {
    fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.0)
    }
}

/// Generates one `#[tokio::test]` per property of the store contract for a store
/// implementation. Invoke it at the top level of a test file (or inside a module):
///
/// ```ignore
/// use deploybot_core::ports::Store;
/// use deploybot_testkit::{MemoryStore, store_contract_tests};
/// use std::sync::Arc;
///
/// store_contract_tests!(async { Arc::new(MemoryStore::new()) as Arc<dyn Store> });
/// ```
///
/// The argument is an expression evaluated once per test whose value is awaited: an `async`
/// block or a call of an `async fn`. It must produce a FRESH, EMPTY store, either as
/// `Arc<dyn Store>` or as `(Arc<dyn Store>, guard)` where `guard` (any `Send + 'static`
/// value, e.g. a `tempfile::TempDir`) is kept alive until the test ends. Outer attributes
/// after the expression, each after a comma, are put on every generated test:
///
/// ```ignore
/// store_contract_tests!(fresh_dynamo_store(), #[ignore = "needs the DynamoDB emulator"]);
/// ```
///
/// The calling crate needs `tokio` (features `macros`, `rt-multi-thread`) as a dependency:
/// the tests are `#[tokio::test]`s, the concurrent ones on a 4-thread runtime.
#[macro_export]
macro_rules! store_contract_tests {
    // Internal: one test per property name, then the rest.
    (@each $attributes:tt $runtime:tt $factory:expr; $property:ident, $($rest:ident,)*) => {
        $crate::store_contract_tests!(@test $attributes $runtime $factory; $property);
        $crate::store_contract_tests!(@each $attributes $runtime $factory; $($rest,)*);
    };
    (@each $attributes:tt $runtime:tt $factory:expr;) => {};
    (@test [$($attribute:tt)*] [$($runtime:tt)*] $factory:expr; $property:ident) => {
        $($attribute)*
        $($runtime)*
        async fn $property() {
            let under_test = $factory.await;
            let store = $crate::store_contract::StoreUnderTest::store(&under_test);
            $crate::store_contract::$property(store).await;
            drop(under_test);
        }
    };
    // The public form.
    ($factory:expr $(, #[$attribute:meta])* $(,)?) => {
        $crate::store_contract_tests!(@each [$(#[$attribute])*] [#[tokio::test]] $factory;
            bind_project_binds_both_sides,
            bind_project_outcomes,
            update_project_only_while_bound,
            unbind_project_returns_record_and_frees_both_sides,
            team_revoked_flag,
            link_user_outcomes,
            users_by_logins_returns_existing_links,
            unlink_user_frees_both_sides,
            insert_deployment_is_conditional,
            update_deployment_is_optimistic,
            lookups_by_github_id_and_pipeline_follow_updates,
            deployments_by_sha_newest_first,
            list_deployments_newest_first_per_repository,
            list_deployments_per_environment,
            waiting_deployments_oldest_first_before_time,
            waiting_deployment_leaves_index_when_state_changes,
            record_delivery_until_expiry,
            forget_delivery_allows_again,
        );
        $crate::store_contract_tests!(@each [$(#[$attribute])*]
            [#[tokio::test(flavor = "multi_thread", worker_threads = 4)]] $factory;
            concurrent_binds_of_one_repository_have_one_winner,
            concurrent_binds_of_one_channel_have_one_winner,
            concurrent_links_of_one_login_have_one_winner,
            concurrent_links_of_one_slack_user_have_one_winner,
            concurrent_updates_of_one_version_have_one_winner,
            concurrent_record_delivery_has_one_winner,
        );
    };
}

// =============================================================================================
// Sample values

fn repository(name: &str) -> Repository {
    Repository::parse(name).expect("sample repository is valid")
}

fn channel(id: &str) -> SlackChannelId {
    SlackChannelId::parse(id).expect("sample channel id is valid")
}

fn slack_user(id: &str) -> SlackUserId {
    SlackUserId::parse(id).expect("sample Slack user id is valid")
}

fn login(name: &str) -> GithubLogin {
    GithubLogin::parse(name).expect("sample GitHub login is valid")
}

fn team(id: &str) -> SlackTeamId {
    SlackTeamId::parse(id).expect("sample team id is valid")
}

fn sha(fill: char) -> Sha {
    Sha::parse(&fill.to_string().repeat(40)).expect("sample SHA is valid")
}

const T0: i64 = 1_700_000_000_000;

fn project(repo: &str, channel_id: &str) -> Project {
    Project {
        repository: repository(repo),
        channel: channel(channel_id),
        channel_name: Some(format!("deploys-{channel_id}").to_ascii_lowercase()),
        team: Some(team("T0001")),
        settings: ProjectSettings::default(),
        created_by: Some(slack_user("U0001")),
        created_at: Timestamp::from_millis(T0),
    }
}

fn user_link(github: &str, slack: &str) -> UserLink {
    UserLink {
        github_login: login(github),
        slack_user: slack_user(slack),
        slack_name: Some(format!("name of {github}")),
        linked_at: Timestamp::from_millis(T0),
    }
}

/// A deployment of `repo` created `offset_secs` after T0 (so a larger offset is newer).
fn deployment(repo: &str, offset_secs: i64, environment: Environment, commit: Sha) -> Deployment {
    let created = Timestamp::from_millis(T0).plus_secs(offset_secs);
    let entropy = u32::try_from(offset_secs.rem_euclid(1 << 20)).unwrap_or(0);
    Deployment::new(
        repository(repo),
        DeploymentId::new(created, entropy),
        environment,
        GitRef::branch("main").expect("sample branch is valid"),
        commit,
        Trigger::Push { pusher: None },
        channel("C0DEPLOY"),
        created,
    )
}

fn ids(deployments: &[Deployment]) -> Vec<DeploymentId> {
    deployments.iter().map(|d| d.id.clone()).collect()
}

/// Inserts every deployment, asserting each is new.
async fn insert_all(store: &dyn Store, deployments: &[Deployment]) {
    for deployment in deployments {
        assert_eq!(
            store
                .insert_deployment(deployment)
                .await
                .expect("insert_deployment"),
            InsertOutcome::Inserted,
            "inserting {}",
            deployment.id
        );
    }
}

/// Saves `deployment` (whose version must be current) and returns the stored record.
async fn save(store: &dyn Store, deployment: &Deployment) -> Deployment {
    match store
        .update_deployment(deployment)
        .await
        .expect("update_deployment")
    {
        UpdateOutcome::Updated(saved) => *saved,
        other => panic!("expected Updated for {}, got {other:?}", deployment.id),
    }
}

// =============================================================================================
// Projects

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

// =============================================================================================
// Users

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

// =============================================================================================
// Deployments

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
                environments[i % environments.len()],
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
        .map(|(offset, repo, environment)| deployment(repo, *offset, *environment, sha('2')))
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
            .list_deployments(&web, Some(environment), limit)
            .await
            .expect("list_deployments");
        let want = expected(environment, limit);
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

// =============================================================================================
// Deliveries

/// `record_delivery` is true for a new key and false while its record lives; from
/// `expires_at` on the key is new again. Keys are independent.
pub async fn record_delivery_until_expiry(store: Arc<dyn Store>) {
    let at = |secs: i64| Timestamp::from_millis(T0).plus_secs(secs);
    // (key, now, expires_at, expected), in time order.
    let steps: [(&str, Timestamp, Timestamp, bool); 9] = [
        ("delivery-1", at(0), at(100), true),
        ("delivery-1", at(1), at(101), false),
        ("delivery-2", at(1), at(50), true),
        ("delivery-2", at(49), at(149), false),
        // Expired exactly at expires_at.
        ("delivery-2", at(50), at(150), true),
        ("delivery-1", at(99), at(199), false),
        ("delivery-1", at(100), at(300), true),
        // The new records hold until their own expiry.
        ("delivery-2", at(149), at(400), false),
        ("delivery-1", at(299), at(400), false),
    ];
    for (i, (key, now, expires_at, want)) in steps.into_iter().enumerate() {
        assert_eq!(
            store
                .record_delivery(key, now, expires_at)
                .await
                .expect("record_delivery"),
            want,
            "step {i}: {key} at {now}"
        );
    }
    // Much later every key is new again.
    assert!(
        store
            .record_delivery("delivery-1", at(10_000), at(10_100))
            .await
            .expect("record_delivery")
    );
    assert!(
        store
            .record_delivery("delivery-2", at(10_000), at(10_100))
            .await
            .expect("record_delivery")
    );
}

/// Ten concurrent `record_delivery` calls with one key: exactly one true.
pub async fn concurrent_record_delivery_has_one_winner(store: Arc<dyn Store>) {
    let now = Timestamp::from_millis(T0);
    for round in 0..5 {
        let key = format!("delivery-race-{round}");
        let callers = 10;
        let barrier = Arc::new(Barrier::new(callers));
        let tasks: Vec<_> = (0..callers)
            .map(|_| {
                let store = Arc::clone(&store);
                let barrier = Arc::clone(&barrier);
                let key = key.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    store
                        .record_delivery(&key, now, now.plus_secs(3600))
                        .await
                        .expect("record_delivery")
                })
            })
            .collect();
        let mut firsts = 0;
        for task in tasks {
            if task.await.expect("delivery task finished") {
                firsts += 1;
            }
        }
        assert_eq!(firsts, 1, "round {round}");
    }
    // The same race on an expired key: still exactly one.
    let later = now.plus_secs(7200);
    let barrier = Arc::new(Barrier::new(10));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = Arc::clone(&store);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .record_delivery("delivery-race-0", later, later.plus_secs(3600))
                    .await
                    .expect("record_delivery")
            })
        })
        .collect();
    let mut firsts = 0;
    for task in tasks {
        if task.await.expect("delivery task finished") {
            firsts += 1;
        }
    }
    assert_eq!(firsts, 1, "expired key");
}

/// `forget_delivery` makes a key new again before it expires; forgetting an unknown key is
/// fine; other keys are untouched.
pub async fn forget_delivery_allows_again(store: Arc<dyn Store>) {
    let now = Timestamp::from_millis(T0);
    let expires = now.plus_secs(3600);
    store
        .forget_delivery("never-seen")
        .await
        .expect("forgetting an unknown key");
    assert!(
        store
            .record_delivery("kept", now, expires)
            .await
            .expect("record")
    );
    assert!(
        store
            .record_delivery("retried", now, expires)
            .await
            .expect("record")
    );
    assert!(
        !store
            .record_delivery("retried", now, expires)
            .await
            .expect("record")
    );
    store.forget_delivery("retried").await.expect("forget");
    assert!(
        store
            .record_delivery("retried", now, expires)
            .await
            .expect("record"),
        "a forgotten key is new again"
    );
    assert!(
        !store
            .record_delivery("retried", now, expires)
            .await
            .expect("record"),
        "and recorded again"
    );
    assert!(
        !store
            .record_delivery("kept", now, expires)
            .await
            .expect("record"),
        "other keys are untouched"
    );
}
