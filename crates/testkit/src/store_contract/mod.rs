//! The store contract suite: one async function per property of the store's role ports, in
//! one file per table as the DynamoDB adapter has them (`projects`, `users`, `deployments`,
//! `deliveries`, `lanes`), and [`store_contract_tests!`](crate::store_contract_tests)
//! which turns them into one `#[tokio::test]` each for a store implementation. Every store
//! (in-memory, redb, DynamoDB) runs the same suite, so they all keep the same semantics.
//!
//! Each property takes a FRESH, EMPTY store and makes no assumption about anything outside
//! it (the DynamoDB store gives each test its own tables).

mod approvals;
mod deliveries;
mod deployments;
mod lanes;
mod people;
mod projects;
mod rollback_race;
mod shipping;
mod users;

pub use approvals::*;
pub use deliveries::*;
pub use deployments::*;
pub use lanes::*;
pub use people::*;
pub use projects::*;
pub use rollback_race::*;
pub use shipping::*;
pub use users::*;

use deploybot_core::lane::{
    Hold, LaneKey, LaneRecord, Lock, LockEnd, LockHistoryEntry, LockHistoryEvent,
};
use deploybot_core::ports::{
    BindOutcome, Claim, InsertOutcome, LaneSaved, LinkOutcome, MoveOutcome, Store, UpdateOutcome,
};
use deploybot_core::{
    Deployment, DeploymentId, DeploymentState, Environment, GitRef, GithubLogin, Project,
    ProjectSettings, Repository, Sha, SlackChannelId, SlackTeamId, SlackUserId, Timestamp, Trigger,
    UnbindReason, Unbinding, UserLink,
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
            project_github_id_is_recorded_once_and_indexed,
            move_project_follows_a_renamed_repository,
            unbind_project_returns_record_and_frees_both_sides,
            last_unbinding_is_kept_per_repository,
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
            list_deployments_older_pages_after_a_cursor,
            waiting_deployments_oldest_first_before_time,
            waiting_deployment_leaves_index_when_state_changes,
            pending_deployments_in_seq_order_per_lane,
            pending_deployment_follows_its_state,
            succeeded_deployments_per_lane_both_ways,
            claim_delivery_lease_and_done,
            forget_delivery_frees_the_key,
            an_unknown_lane_has_nothing,
            save_lane_creates_then_is_optimistic,
            lanes_of_lists_one_repository_by_environment,
            next_lane_seq_counts_per_lane,
            lane_seq_and_lane_saves_do_not_disturb_each_other,
            lock_history_newest_first_per_lane,
            due_lanes_earliest_first_across_repositories,
            delete_lane_is_optimistic_and_leaves_the_counter,
            bad_ranges_newest_rollback_first_per_lane,
            approval_requests_by_key_and_optimistic,
            direct_preference_is_kept_per_person,
            home_publish_is_claimed_at_most_once_per_gap,
            home_viewers_are_kept_per_channel_by_time,
            deployment_notices_round_trip,
            shipping_record_is_written_once_by_key,
        );
        $crate::store_contract_tests!(@each [$(#[$attribute])*]
            [#[tokio::test(flavor = "multi_thread", worker_threads = 4)]] $factory;
            concurrent_binds_of_one_repository_have_one_winner,
            concurrent_binds_of_one_channel_have_one_winner,
            concurrent_links_of_one_login_have_one_winner,
            concurrent_links_of_one_slack_user_have_one_winner,
            concurrent_updates_of_one_version_have_one_winner,
            concurrent_claims_have_one_winner,
            concurrent_saves_of_one_lane_version_have_one_winner,
            concurrent_next_lane_seq_never_repeats,
            concurrent_votes_on_one_version_count_once,
            concurrent_home_publishes_have_one_winner,
            concurrent_notices_of_one_key_have_one_winner,
            a_lane_seen_free_after_a_rollback_shows_its_range,
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
        workflow: None,
        created_at: Timestamp::from_millis(T0),
        github_id: None,
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
