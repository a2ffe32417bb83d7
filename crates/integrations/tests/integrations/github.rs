//! The GitHub adapter against the fake GitHub over HTTP (App auth, pagination, deployments,
//! statuses, checks, comments, failures) and against wiremock for exact wire shapes.

use deploybot_core::ports::{
    ChecksState, Clock, CreateDeploymentOutcome, GitHub, GitHubError, NewDeploymentStatus,
    NewGithubDeployment,
};
use deploybot_core::required_checks::CheckState;
use deploybot_core::{
    DeploymentState, Environment, GitRef, GithubLogin, Repository, Sha, Timestamp,
};
use deploybot_integrations::github::{GitHubClient, GitHubConfig};
use deploybot_integrations::http::{HttpPolicy, Sleeper};
use deploybot_testkit::fakes::github::{
    FAKE_APP_ID, FakeGitHub, FakeServer, TEST_ONLY_APP_PRIVATE_KEY_PEM,
};
use secrecy::SecretString;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// ---- harness --------------------------------------------------------------------------------

/// A clock tests move by hand.
#[derive(Debug)]
struct ManualClock(AtomicI64);

impl ManualClock {
    fn at(secs: i64) -> Arc<Self> {
        Arc::new(Self(AtomicI64::new(secs * 1000)))
    }
    fn advance_secs(&self, secs: i64) {
        self.0.fetch_add(secs * 1000, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst))
    }
}

/// Records the waits between attempts instead of sleeping.
#[derive(Debug, Default)]
struct RecordingSleeper(Mutex<Vec<Duration>>);

impl RecordingSleeper {
    fn waits(&self) -> Vec<Duration> {
        self.0.lock().expect("sleeper lock").clone()
    }
}

#[async_trait::async_trait]
impl Sleeper for RecordingSleeper {
    async fn sleep(&self, duration: Duration) {
        self.0.lock().expect("sleeper lock").push(duration);
    }
}

const START: i64 = 1_700_000_000;

fn policy() -> HttpPolicy {
    HttpPolicy {
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        attempts: 3,
        backoff: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(1),
    }
}

fn repo(name: &str) -> Repository {
    Repository::parse(name).expect("test repository")
}

fn sha(c: char) -> Sha {
    Sha::parse(&c.to_string().repeat(40)).expect("test sha")
}

struct Harness {
    fake: FakeGitHub,
    server: FakeServer,
    clock: Arc<ManualClock>,
    sleeper: Arc<RecordingSleeper>,
    client: GitHubClient,
}

impl Harness {
    fn client_with(
        &self,
        key_pem: &str,
        app_id: &str,
        policy: HttpPolicy,
        clock: Arc<dyn Clock>,
    ) -> GitHubClient {
        let config = GitHubConfig::new(app_id, SecretString::from(key_pem.to_owned()))
            .with_api_url(self.server.base_url())
            .expect("fake url")
            .with_policy(policy);
        GitHubClient::new(config, clock)
            .expect("client")
            .with_sleeper(self.sleeper.clone())
    }
}

/// A fake with `acme/web` (default branch `main`, `main` at aaaa…, authored by `alice`) and
/// an adapter pointed at it, both on one manual clock.
async fn harness() -> Harness {
    harness_with(policy()).await
}

async fn harness_with(policy: HttpPolicy) -> Harness {
    let clock = ManualClock::at(START);
    let fake = FakeGitHub::with_clock(clock.clone());
    let web = repo("acme/web");
    fake.add_repository(&web, "main");
    fake.set_branch(&web, "main", &sha('a'), Some("alice"));
    let server = fake.serve().await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let config = GitHubConfig::new(
        FAKE_APP_ID,
        SecretString::from(TEST_ONLY_APP_PRIVATE_KEY_PEM),
    )
    .with_api_url(server.base_url())
    .expect("fake url")
    .with_policy(policy);
    let client = GitHubClient::new(config, clock.clone())
        .expect("client")
        .with_sleeper(sleeper.clone());
    Harness {
        fake,
        server,
        clock,
        sleeper,
        client,
    }
}

fn new_deployment(git_ref: &str, environment: Environment) -> NewGithubDeployment {
    NewGithubDeployment {
        repository: repo("acme/web"),
        git_ref: git_ref.to_owned(),
        environment: environment.clone(),
        description: "Deploying main to preview".to_owned(),
        payload: serde_json::json!({"deployment_id": "01HZY", "pr": 7, "pr_url": "https://github.com/acme/web/pull/7"}),
        transient_environment: environment.is_transient(),
        production_environment: environment == Environment::Production,
        rollback: false,
    }
}

/// How many recorded calls start with `prefix`.
fn api_calls(fake: &FakeGitHub, prefix: &str) -> usize {
    fake.calls()
        .iter()
        .filter(|c| c.starts_with(prefix))
        .count()
}

/// How many recorded calls are exactly `call`.
fn exact_calls(fake: &FakeGitHub, call: &str) -> usize {
    fake.calls().iter().filter(|c| *c == call).count()
}

// ---- App authentication ---------------------------------------------------------------------

#[tokio::test]
async fn app_jwt_names_the_app_expires_within_ten_minutes_and_is_verified() {
    let h = harness().await;
    h.client
        .default_branch(&repo("acme/web"))
        .await
        .expect("default branch");
    let jwts = h.fake.accepted_app_jwts();
    assert_eq!(
        jwts.len(),
        2,
        "installation lookup and token request: {jwts:?}"
    );
    for jwt in jwts {
        assert_eq!(jwt.iss, FAKE_APP_ID);
        assert!(jwt.exp > START && jwt.exp - START <= 600, "exp {}", jwt.exp);
        assert!(jwt.iat <= START, "iat {} is not in the past", jwt.iat);
    }
}

#[tokio::test]
async fn a_jwt_signed_with_another_key_is_refused() {
    let h = harness().await;
    let other_key =
        include_str!("../../../testkit/fixtures/github/test-only-unknown-app-private-key.pem");
    let client = h.client_with(other_key, FAKE_APP_ID, policy(), h.clock.clone());
    let err = client
        .default_branch(&repo("acme/web"))
        .await
        .expect_err("bad signature");
    assert!(matches!(err, GitHubError::Unauthorized(_)), "{err:?}");
    assert!(h.fake.accepted_app_jwts().is_empty());
}

#[tokio::test]
async fn a_jwt_for_another_app_or_from_a_stale_clock_is_refused() {
    let h = harness().await;
    let wrong_app = h.client_with(
        TEST_ONLY_APP_PRIVATE_KEY_PEM,
        "999",
        policy(),
        h.clock.clone(),
    );
    let err = wrong_app
        .default_branch(&repo("acme/web"))
        .await
        .expect_err("wrong iss");
    assert!(matches!(err, GitHubError::Unauthorized(_)), "{err:?}");

    // Our clock 20 minutes behind GitHub's: the JWT has expired when it arrives.
    let behind = ManualClock::at(START - 20 * 60);
    let stale = h.client_with(TEST_ONLY_APP_PRIVATE_KEY_PEM, FAKE_APP_ID, policy(), behind);
    let err = stale
        .default_branch(&repo("acme/web"))
        .await
        .expect_err("expired JWT");
    assert!(matches!(err, GitHubError::Unauthorized(_)), "{err:?}");
    assert_eq!(h.fake.token_requests(), 0);
}

#[tokio::test]
async fn the_installation_token_is_cached_and_renewed_five_minutes_before_it_expires() {
    let h = harness().await;
    let web = repo("acme/web");
    for _ in 0..3 {
        h.client.default_branch(&web).await.expect("default branch");
    }
    assert_eq!(h.fake.token_requests(), 1, "one token for three calls");
    assert_eq!(
        exact_calls(&h.fake, "GET /repos/acme/web/installation"),
        1,
        "installation looked up once"
    );

    h.clock.advance_secs(54 * 60);
    h.client.default_branch(&web).await.expect("still cached");
    assert_eq!(h.fake.token_requests(), 1);

    h.clock.advance_secs(60 + 1); // 55 min + 1 s: inside the 5-minute margin
    h.client.default_branch(&web).await.expect("renewed");
    assert_eq!(h.fake.token_requests(), 2);
    h.client
        .default_branch(&web)
        .await
        .expect("new token cached");
    assert_eq!(h.fake.token_requests(), 2);
}

#[tokio::test]
async fn concurrent_cold_callers_share_one_token_request() {
    let h = harness().await;
    let web = repo("acme/web");
    let client = Arc::new(h.client);
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            let web = web.clone();
            tokio::spawn(async move { client.default_branch(&web).await })
        })
        .collect();
    for call in calls {
        call.await.expect("task").expect("default branch");
    }
    assert_eq!(h.fake.token_requests(), 1);
    assert_eq!(exact_calls(&h.fake, "GET /repos/acme/web/installation"), 1);
}

#[tokio::test]
async fn each_organisation_has_its_own_installation_and_token() {
    let h = harness().await;
    let web = repo("acme/web");
    let api = repo("globex/api");
    let docs = repo("acme/docs");
    h.fake.add_repository(&api, "trunk");
    h.fake.add_repository(&docs, "main");
    assert_ne!(h.fake.installation_id(&web), h.fake.installation_id(&api));
    assert_eq!(h.fake.installation_id(&web), h.fake.installation_id(&docs));

    assert_eq!(h.client.default_branch(&web).await.expect("web"), "main");
    assert_eq!(h.client.default_branch(&api).await.expect("api"), "trunk");
    assert_eq!(h.fake.token_requests(), 2, "one token per installation");
    assert_eq!(h.client.default_branch(&docs).await.expect("docs"), "main");
    assert_eq!(
        h.fake.token_requests(),
        2,
        "acme/docs shares acme's installation"
    );
    let token_calls: Vec<String> = h
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.contains("access_tokens"))
        .collect();
    assert_eq!(
        token_calls,
        vec![
            format!(
                "POST /app/installations/{}/access_tokens",
                h.fake.installation_id(&web)
            ),
            format!(
                "POST /app/installations/{}/access_tokens",
                h.fake.installation_id(&api)
            ),
        ]
    );
}

#[tokio::test]
async fn the_fake_refuses_a_token_of_another_installation() {
    let h = harness().await;
    let api = repo("globex/api");
    h.fake.add_repository(&api, "main");
    h.client
        .default_branch(&repo("acme/web"))
        .await
        .expect("acme call");
    let acme_auth = h
        .fake
        .requests()
        .iter()
        .rev()
        .find(|r| r.path_and_query == "/repos/acme/web")
        .and_then(|r| r.header("authorization").map(str::to_owned))
        .expect("the acme call carried a token");
    let answer = reqwest::Client::new()
        .get(format!("{}/repos/globex/api", h.server.base_url()))
        .header("authorization", acme_auth)
        .header("user-agent", "test")
        .send()
        .await
        .expect("fake answers");
    assert_eq!(answer.status(), 401);
}

#[tokio::test]
async fn a_revoked_token_is_renewed_once() {
    let h = harness().await;
    let web = repo("acme/web");
    h.client.default_branch(&web).await.expect("first");
    h.fake.revoke_tokens();
    h.client
        .default_branch(&web)
        .await
        .expect("renewed after 401");
    assert_eq!(h.fake.token_requests(), 2);
}

#[tokio::test]
async fn tokens_travel_in_the_authorization_header_only_and_never_in_logs() {
    let logs = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = harness().await;
    let web = repo("acme/web");
    h.client.collaborators(&web).await.expect("collaborators");
    h.client.default_branch(&web).await.expect("default branch");
    h.fake.fail_next(1, 500);
    h.client.default_branch(&web).await.expect("after a retry");

    let requests = h.fake.requests();
    assert!(!requests.is_empty());
    for request in &requests {
        assert!(
            !request.path_and_query.contains("ghs_"),
            "{}",
            request.path_and_query
        );
        assert!(
            !request.path_and_query.contains("token="),
            "{}",
            request.path_and_query
        );
        let auth = request
            .header("authorization")
            .expect("every request is authenticated");
        assert!(auth.starts_with("Bearer "), "{auth}");
        assert_eq!(
            request.header("accept"),
            Some("application/vnd.github+json")
        );
        assert_eq!(request.header("x-github-api-version"), Some("2022-11-28"));
        assert!(
            request
                .header("user-agent")
                .is_some_and(|ua| ua.starts_with("deploybot/"))
        );
    }
    let api_request = requests
        .iter()
        .find(|r| r.path_and_query == "/repos/acme/web")
        .expect("repository request");
    assert!(
        api_request
            .header("authorization")
            .is_some_and(|a| a.starts_with("Bearer ghs_"))
    );

    let text = logs.text();
    assert!(!text.is_empty(), "the adapter logged something");
    assert!(
        !text.contains("ghs_"),
        "a token leaked into the logs:\n{text}"
    );
    assert!(!text.contains("eyJ"), "a JWT leaked into the logs:\n{text}");
    assert!(
        !text.contains("PRIVATE KEY"),
        "the key leaked into the logs"
    );
    assert!(!format!("{:?}", h.client).contains("PRIVATE KEY"));
}

/// Collects log output.
#[derive(Debug, Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log lock")).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

// ---- reads ----------------------------------------------------------------------------------

#[tokio::test]
async fn team_members_come_from_the_organisation_with_the_repository_installation() {
    let h = harness().await;
    let web = repo("acme/web");
    h.fake.add_team_members("acme/qa", ["cy", "Ada-L"]);
    let qa = deploybot_core::approval::Team::parse("acme/qa").expect("team");
    let got = h.client.team_members(&web, &qa).await.expect("members");
    let want: Vec<GithubLogin> = ["cy", "ada-l"]
        .iter()
        .map(|l| GithubLogin::parse(l).expect("login"))
        .collect();
    assert_eq!(got, want);
    assert!(
        h.fake
            .calls()
            .iter()
            .any(|c| c.starts_with("GET /orgs/acme/teams/qa/members")),
        "{:?}",
        h.fake.calls()
    );
    // A team never made, or another organisation's, is not found.
    let unknown = deploybot_core::approval::Team::parse("acme/sec").expect("team");
    assert!(matches!(
        h.client.team_members(&web, &unknown).await,
        Err(GitHubError::NotFound(_))
    ));
    let other = deploybot_core::approval::Team::parse("globex/qa").expect("team");
    assert!(matches!(
        h.client.team_members(&web, &other).await,
        Err(GitHubError::NotFound(_))
    ));
}

#[tokio::test]
async fn collaborators_come_from_every_page() {
    let h = harness().await;
    let web = repo("acme/web");
    let logins: Vec<String> = (0..250).map(|i| format!("dev-{i:03}")).collect();
    h.fake
        .add_collaborators(&web, logins.iter().map(String::as_str));

    let got = h.client.collaborators(&web).await.expect("collaborators");
    let want: Vec<GithubLogin> = logins
        .iter()
        .map(|l| GithubLogin::parse(l).expect("login"))
        .collect();
    assert_eq!(got, want);
    let pages: Vec<String> = h
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.contains("/collaborators"))
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert!(
        pages[0].starts_with("GET /repos/acme/web/collaborators?"),
        "{pages:?}"
    );
    assert!(pages[0].contains("per_page=100") && pages[0].contains("affiliation=all"));
    assert!(
        pages[2].contains("page=3"),
        "followed the Link header: {pages:?}"
    );
}

#[tokio::test]
async fn resolve_ref_finds_branches_tags_and_shas() {
    let h = harness().await;
    let web = repo("acme/web");
    h.fake
        .set_branch(&web, "release/1.4", &sha('b'), Some("bob"));
    h.fake.set_tag(&web, "v1.4.0", &sha('c'), None);

    let main = h
        .client
        .resolve_ref(&web, &GitRef::branch("main").expect("ref"))
        .await
        .expect("main");
    assert_eq!(main.sha, sha('a'));
    assert_eq!(
        main.author,
        Some(GithubLogin::parse("alice").expect("login"))
    );

    let release = h
        .client
        .resolve_ref(&web, &GitRef::parse("release/1.4").expect("ref"))
        .await
        .expect("release branch with a slash");
    assert_eq!(release.sha, sha('b'));

    let tag = h
        .client
        .resolve_ref(&web, &GitRef::tag("v1.4.0").expect("ref"))
        .await
        .expect("tag");
    assert_eq!(tag.sha, sha('c'));
    assert_eq!(
        tag.author, None,
        "a commit whose author has no GitHub account"
    );

    let short = h
        .client
        .resolve_ref(&web, &GitRef::parse("bbbbbbb").expect("ref"))
        .await
        .expect("abbreviated sha");
    assert_eq!(short.sha, sha('b'));
}

#[tokio::test]
async fn resolve_ref_of_an_unknown_ref_or_repository_is_not_found() {
    let h = harness().await;
    let err = h
        .client
        .resolve_ref(
            &repo("acme/web"),
            &GitRef::parse("no-such-branch").expect("ref"),
        )
        .await
        .expect_err("unknown ref");
    assert!(
        matches!(&err, GitHubError::NotFound(what) if what.contains("no-such-branch")),
        "{err:?}"
    );

    let err = h
        .client
        .resolve_ref(&repo("acme/gone"), &GitRef::parse("main").expect("ref"))
        .await
        .expect_err("unknown repository");
    assert!(
        matches!(&err, GitHubError::NotFound(what) if what.contains("acme/gone")),
        "{err:?}"
    );
}

#[tokio::test]
async fn default_branch_is_read_from_the_repository() {
    let h = harness().await;
    let legacy = repo("acme/legacy");
    h.fake.add_repository(&legacy, "master");
    assert_eq!(
        h.client.default_branch(&legacy).await.expect("branch"),
        "master"
    );
}

#[tokio::test]
async fn repository_is_checked_installation_first() {
    let h = harness().await;
    let web = repo("acme/web");
    let info = h.client.repository(&web).await.expect("found");
    assert_eq!(info.full_name, web);
    assert_eq!(info.default_branch, "main");
    assert!(info.id > 0);

    // The App is installed on acme, which has no `typo` repository.
    let err = h
        .client
        .repository(&repo("acme/typo"))
        .await
        .expect_err("missing");
    assert!(
        matches!(&err, GitHubError::NotFound(w) if w.contains("acme/typo")),
        "{err:?}"
    );

    // Installed on acme, but not given this repository: GitHub cannot say more than "not found".
    let hidden = repo("acme/hidden");
    h.fake.add_repository(&hidden, "main");
    h.fake.deselect_repository(&hidden);
    let err = h
        .client
        .repository(&hidden)
        .await
        .expect_err("not selected");
    assert!(matches!(err, GitHubError::NotFound(_)), "{err:?}");

    // An account without the App.
    let other = repo("globex/site");
    h.fake.add_repository(&other, "main");
    h.fake.uninstall_app(&other);
    let err = h
        .client
        .repository(&other)
        .await
        .expect_err("not installed");
    assert_eq!(err, GitHubError::NotInstalled("globex/site".to_owned()));
    assert_eq!(exact_calls(&h.fake, "GET /users/globex/installation"), 1);
    assert_eq!(
        exact_calls(&h.fake, "GET /repos/globex/site"),
        0,
        "no repository call without an installation"
    );

    // Installed and given, but the installation may not read it.
    let locked = repo("acme/locked");
    h.fake.add_repository(&locked, "main");
    h.fake.forbid_repository(&locked);
    let err = h.client.repository(&locked).await.expect_err("forbidden");
    assert_eq!(
        err,
        GitHubError::Forbidden("Resource not accessible by integration".to_owned())
    );

    // GitHub down is neither: it stays a server error.
    h.fake.fail_next(3, 502);
    let err = h.client.repository(&web).await.expect_err("down");
    assert_eq!(err, GitHubError::Server { status: 502 });
}

// ---- deployments ----------------------------------------------------------------------------

#[tokio::test]
async fn create_deployment_sends_auto_merge_false_and_no_required_contexts() {
    let h = harness().await;
    let web = repo("acme/web");
    let outcome = h
        .client
        .create_deployment(&new_deployment("main", Environment::PullRequest(7)))
        .await
        .expect("created");
    let CreateDeploymentOutcome::Created { id } = outcome else {
        panic!("expected Created, got {outcome:?}");
    };
    let deployments = h.fake.deployments(&web);
    assert_eq!(deployments.len(), 1);
    let d = &deployments[0];
    assert_eq!(d.id, id);
    assert_eq!(d.git_ref, "main");
    assert_eq!(d.sha, sha('a'));
    assert_eq!(d.environment, "pr7");
    assert_eq!(d.description.as_deref(), Some("Deploying main to preview"));
    assert_eq!(d.payload["pr"], 7);
    assert!(d.transient_environment);
    assert!(!d.production_environment);
    assert_eq!(d.auto_merge, Some(false));
    assert_eq!(d.required_contexts, None);

    let post = h
        .fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path_and_query == "/repos/acme/web/deployments")
        .expect("the POST");
    let body: serde_json::Value = serde_json::from_slice(&post.body).expect("JSON body");
    assert_eq!(body["auto_merge"], serde_json::json!(false));
    assert!(body.get("required_contexts").is_none(), "{body}");
    assert_eq!(body["production_environment"], serde_json::json!(false));
    assert_eq!(body["transient_environment"], serde_json::json!(true));
}

#[tokio::test]
async fn production_deployments_say_so() {
    let h = harness().await;
    let web = repo("acme/web");
    h.fake.set_tag(&web, "v1.4.0", &sha('c'), None);
    h.client
        .create_deployment(&new_deployment("v1.4.0", Environment::Production))
        .await
        .expect("created");
    let d = &h.fake.deployments(&web)[0];
    assert!(d.production_environment && !d.transient_environment);
    assert_eq!(d.sha, sha('c'));
}

#[tokio::test]
async fn a_merge_instead_of_a_deployment_is_an_error() {
    let h = harness().await;
    h.fake.answer_merge_202_next();
    let err = h
        .client
        .create_deployment(&new_deployment("main", Environment::Preview))
        .await
        .expect_err("202");
    assert_eq!(err, GitHubError::AutoMerged);
    assert!(h.fake.deployments(&repo("acme/web")).is_empty());
}

#[tokio::test]
async fn checks_not_green_lists_the_contexts_until_they_are() {
    let h = harness().await;
    let web = repo("acme/web");
    h.fake.require_checks(
        &web,
        &sha('a'),
        &[("ci/circleci", "pending"), ("lint", "failure")],
    );
    let outcome = h
        .client
        .create_deployment(&new_deployment("main", Environment::Preview))
        .await
        .expect("409 is an outcome");
    assert_eq!(
        outcome,
        CreateDeploymentOutcome::ChecksNotGreen {
            contexts: vec![
                "ci/circleci (pending)".to_owned(),
                "lint (failure)".to_owned()
            ]
        }
    );
    assert!(h.fake.deployments(&web).is_empty());

    h.fake.set_checks_green(&web, &sha('a'));
    let outcome = h
        .client
        .create_deployment(&new_deployment("main", Environment::Preview))
        .await
        .expect("created");
    assert!(
        matches!(outcome, CreateDeploymentOutcome::Created { .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_refused_deployment_carries_githubs_message() {
    let h = harness().await;
    let err = h
        .client
        .create_deployment(&new_deployment("no-such-ref", Environment::Preview))
        .await
        .expect_err("422");
    assert_eq!(
        err,
        GitHubError::Validation("No ref found for: no-such-ref".to_owned())
    );
}

#[tokio::test]
async fn deployment_creation_is_not_retried_after_a_server_error_or_a_timeout() {
    let h = harness().await;
    let web = repo("acme/web");
    h.client.default_branch(&web).await.expect("warm the token");
    let metrics = deploybot_testkit::metrics::captured().expect("the test's metric sink");
    let counted = || {
        metrics
            .lines("ProviderApiErrors", "Provider", "github")
            .len()
    };
    let before = counted();
    h.fake.fail_next(1, 502);
    let err = h
        .client
        .create_deployment(&new_deployment("main", Environment::Preview))
        .await
        .expect_err("502");
    assert_eq!(err, GitHubError::Server { status: 502 });
    // Counted as a provider API error, by provider and status.
    assert!(counted() > before, "the 502 is counted");
    assert!(
        metrics
            .lines("ProviderApiErrors", "Provider", "github")
            .iter()
            .any(|l| l["Status"] == "502")
    );
    assert_eq!(api_calls(&h.fake, "POST /repos/acme/web/deployments"), 1);

    let mut quick = policy();
    quick.timeout = Duration::from_millis(300);
    let slow = harness_with(quick).await;
    slow.client
        .default_branch(&web)
        .await
        .expect("warm the token");
    slow.fake.delay(Duration::from_secs(3));
    let err = slow
        .client
        .create_deployment(&new_deployment("main", Environment::Preview))
        .await
        .expect_err("timeout");
    assert!(matches!(err, GitHubError::Transport(_)), "{err:?}");
    assert_eq!(api_calls(&slow.fake, "POST /repos/acme/web/deployments"), 1);
}

#[tokio::test]
async fn deployment_statuses_are_written_in_order_with_short_descriptions() {
    let h = harness().await;
    let web = repo("acme/web");
    let CreateDeploymentOutcome::Created { id } = h
        .client
        .create_deployment(&new_deployment("main", Environment::Preview))
        .await
        .expect("created")
    else {
        panic!("expected a deployment");
    };
    let long = "ü".repeat(300);
    for (state, description) in [
        (
            DeploymentState::Queued,
            Some("Pipeline 12 started".to_owned()),
        ),
        (DeploymentState::InProgress, None),
        (DeploymentState::Success, Some(long)),
    ] {
        h.client
            .create_deployment_status(
                &web,
                id,
                &NewDeploymentStatus {
                    state,
                    log_url: Some("https://app.circleci.com/pipelines/gh/acme/web/12".to_owned()),
                    environment_url: Some("https://preview.acme.dev/".to_owned()),
                    description,
                },
            )
            .await
            .expect("status written");
    }
    let statuses = h.fake.statuses(&web, id);
    let states: Vec<&str> = statuses.iter().map(|s| s.state.as_str()).collect();
    assert_eq!(states, ["queued", "in_progress", "success"]);
    assert_eq!(
        statuses[0].description.as_deref(),
        Some("Pipeline 12 started")
    );
    assert_eq!(statuses[1].description, None);
    let cut = statuses[2].description.as_deref().expect("description");
    assert_eq!(cut.chars().count(), 140);
    assert!(statuses.iter().all(|s| s.auto_inactive == Some(false)));
    assert_eq!(
        statuses[2].environment_url.as_deref(),
        Some("https://preview.acme.dev/")
    );
    assert_eq!(
        statuses[2].log_url.as_deref(),
        Some("https://app.circleci.com/pipelines/gh/acme/web/12")
    );
}

#[tokio::test]
async fn a_status_for_an_unknown_deployment_is_not_found() {
    let h = harness().await;
    let err = h
        .client
        .create_deployment_status(
            &repo("acme/web"),
            4242,
            &NewDeploymentStatus {
                state: DeploymentState::Failure,
                log_url: None,
                environment_url: None,
                description: None,
            },
        )
        .await
        .expect_err("404");
    assert!(matches!(err, GitHubError::NotFound(_)), "{err:?}");
}

// ---- checks ---------------------------------------------------------------------------------

#[tokio::test]
async fn commit_checks_verdicts() {
    let h = harness().await;
    let web = repo("acme/web");
    // (commit, setup, verdict, failing, pending)
    type Setup = fn(&FakeGitHub, &Repository, &Sha);
    type Case = (
        char,
        Setup,
        ChecksState,
        Vec<&'static str>,
        Vec<&'static str>,
    );
    let cases: Vec<Case> = vec![
        ('1', |_, _, _| {}, ChecksState::Green, vec![], vec![]),
        (
            '2',
            |f, r, s| {
                f.set_status(r, s, "ci/circleci", "success");
                f.add_check_suite(r, s, "GitHub Actions", "completed", Some("success"));
            },
            ChecksState::Green,
            vec![],
            vec![],
        ),
        (
            '3',
            |f, r, s| {
                f.set_status(r, s, "ci/circleci", "pending");
                f.add_check_suite(r, s, "GitHub Actions", "completed", Some("neutral"));
            },
            ChecksState::Pending,
            vec![],
            vec!["ci/circleci"],
        ),
        (
            '4',
            |f, r, s| {
                f.set_status(r, s, "ci/circleci", "success");
                f.add_check_suite(r, s, "GitHub Actions", "in_progress", None);
            },
            ChecksState::Pending,
            vec![],
            vec!["GitHub Actions"],
        ),
        (
            '5',
            |f, r, s| {
                f.set_status(r, s, "ci/circleci", "failure");
                f.add_check_suite(r, s, "GitHub Actions", "queued", None);
            },
            ChecksState::Red,
            vec!["ci/circleci"],
            vec!["GitHub Actions"],
        ),
        (
            '6',
            |f, r, s| {
                f.set_status(r, s, "ci/circleci", "success");
                f.add_check_suite(r, s, "GitHub Actions", "completed", Some("timed_out"));
            },
            ChecksState::Red,
            vec!["GitHub Actions"],
            vec![],
        ),
        (
            '7',
            |f, r, s| {
                f.set_status(r, s, "ci/circleci", "success");
                f.add_empty_check_suite(r, s, "Dependabot");
            },
            ChecksState::Green,
            vec![],
            vec![],
        ),
    ];
    for (c, setup, state, failing, pending) in cases {
        let commit = sha(c);
        h.fake.add_commit(&web, &commit, None);
        setup(&h.fake, &web, &commit);
        let summary = h.client.commit_checks(&web, &commit).await.expect("checks");
        assert_eq!(summary.state, state, "commit {c}");
        assert_eq!(summary.failing, failing, "commit {c}");
        assert_eq!(summary.pending, pending, "commit {c}");
        // The fake's direct answer agrees with the adapter's.
        assert_eq!(
            h.fake.commit_checks(&web, &commit).await.expect("direct"),
            summary,
            "commit {c}"
        );
    }
}

/// The adapter and the fake agree on a commit's named checks, read over HTTP: statuses by
/// context, check runs by name.
#[tokio::test]
async fn named_checks_over_http_agree_with_the_fake() {
    let h = harness().await;
    let web = repo("acme/web");
    let commit = sha('8');
    h.fake.add_commit(&web, &commit, None);
    h.fake
        .set_status(&web, &commit, "ci/circleci: build", "pending");
    h.fake
        .set_status(&web, &commit, "ci/circleci: test", "error");
    h.fake
        .add_check_run(&web, &commit, "lint", "completed", Some("success"));
    h.fake.add_check_run(&web, &commit, "e2e", "queued", None);
    let mut got = h.client.named_checks(&web, &commit).await.expect("checks");
    got.sort_by(|a, b| a.name.cmp(&b.name));
    let mut direct = h.fake.named_checks(&web, &commit).await.expect("direct");
    direct.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(got, direct);
    let named: Vec<(&str, CheckState)> = got.iter().map(|c| (c.name.as_str(), c.state)).collect();
    assert_eq!(
        named,
        vec![
            ("ci/circleci: build", CheckState::Pending),
            ("ci/circleci: test", CheckState::Failing),
            ("e2e", CheckState::Pending),
            ("lint", CheckState::Passing),
        ]
    );
    let err = h
        .client
        .named_checks(&web, &sha('e'))
        .await
        .expect_err("unknown commit");
    assert!(matches!(err, GitHubError::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn checks_of_an_unknown_commit_are_not_found() {
    let h = harness().await;
    let err = h
        .client
        .commit_checks(&repo("acme/web"), &sha('e'))
        .await
        .expect_err("unknown commit");
    assert!(matches!(err, GitHubError::NotFound(_)), "{err:?}");
}

// ---- comments -------------------------------------------------------------------------------

#[tokio::test]
async fn the_pr_comment_is_created_once_then_edited() {
    let h = harness().await;
    let web = repo("acme/web");
    let marker = "<!-- deploybot:pr7 -->";
    let first = h
        .client
        .upsert_pr_comment(&web, 7, marker, &format!("{marker}\nDeploying pr7…"))
        .await
        .expect("created");
    let second = h
        .client
        .upsert_pr_comment(
            &web,
            7,
            marker,
            &format!("{marker}\npr7 is live at https://pr7.acme.dev/"),
        )
        .await
        .expect("edited");
    assert_eq!(first, second);
    let comments = h.fake.comments(&web, 7);
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].id, first);
    assert!(comments[0].body.ends_with("https://pr7.acme.dev/"));
    assert_eq!(
        comments[0].previous_bodies,
        vec![format!("{marker}\nDeploying pr7…")]
    );
    assert_eq!(
        api_calls(&h.fake, "PATCH /repos/acme/web/issues/comments/"),
        1
    );
}

#[tokio::test]
async fn the_marked_comment_is_found_past_the_first_page() {
    let h = harness().await;
    let web = repo("acme/web");
    let marker = "<!-- deploybot:pr9 -->";
    for i in 0..150 {
        h.fake.add_comment(&web, 9, &format!("Looks good {i}"));
    }
    let ours = h
        .client
        .upsert_pr_comment(&web, 9, marker, &format!("{marker} first"))
        .await
        .expect("created");
    let again = h
        .client
        .upsert_pr_comment(&web, 9, marker, &format!("{marker} second"))
        .await
        .expect("edited");
    assert_eq!(ours, again, "found on the second page, not posted again");
    let comments = h.fake.comments(&web, 9);
    assert_eq!(comments.len(), 151);
    assert_eq!(comments[150].body, format!("{marker} second"));
}

// ---- failures -------------------------------------------------------------------------------

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_succeed() {
    let h = harness().await;
    let web = repo("acme/web");
    h.client.default_branch(&web).await.expect("warm the token");
    h.fake.fail_next(2, 502);
    assert_eq!(
        h.client.default_branch(&web).await.expect("third try"),
        "main"
    );
    assert_eq!(exact_calls(&h.fake, "GET /repos/acme/web"), 1 + 3);
    assert_eq!(
        h.sleeper.waits(),
        vec![Duration::from_millis(100), Duration::from_millis(200)]
    );
}

#[tokio::test]
async fn server_errors_that_persist_are_typed() {
    let h = harness().await;
    let web = repo("acme/web");
    h.client.default_branch(&web).await.expect("warm the token");
    h.fake.fail_next(3, 503);
    let err = h
        .client
        .default_branch(&web)
        .await
        .expect_err("still failing");
    assert_eq!(err, GitHubError::Server { status: 503 });
}

#[tokio::test]
async fn a_slow_github_times_out() {
    let mut quick = policy();
    quick.timeout = Duration::from_millis(200);
    quick.attempts = 2;
    let h = harness_with(quick).await;
    let web = repo("acme/web");
    h.client.default_branch(&web).await.expect("warm the token");
    h.fake.delay(Duration::from_secs(3));
    let err = h.client.default_branch(&web).await.expect_err("timeout");
    assert!(
        matches!(&err, GitHubError::Transport(m) if m.contains("no answer within")),
        "{err:?}"
    );
    assert_eq!(
        exact_calls(&h.fake, "GET /repos/acme/web"),
        1 + 2,
        "retried once"
    );
}

#[tokio::test]
async fn rate_limits_are_typed() {
    let h = harness().await;
    let web = repo("acme/web");
    h.client.default_branch(&web).await.expect("warm the token");

    h.fake.rate_limit_next(30);
    let err = h.client.default_branch(&web).await.expect_err("429");
    assert_eq!(
        err,
        GitHubError::RateLimited {
            retry_after_secs: 30
        }
    );

    h.fake.exhaust_rate_limit_next(120);
    let err = h
        .client
        .default_branch(&web)
        .await
        .expect_err("403 exhausted");
    assert_eq!(
        err,
        GitHubError::RateLimited {
            retry_after_secs: 120
        }
    );

    // A wait within the policy is honoured and the call retried.
    h.fake.rate_limit_next(1);
    assert_eq!(
        h.client.default_branch(&web).await.expect("retried"),
        "main"
    );
    assert_eq!(h.sleeper.waits(), vec![Duration::from_secs(1)]);
}

// ---- exact wire shapes (wiremock) -----------------------------------------------------------

mod wire {
    use super::*;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    async fn github_with_app(server: &MockServer) {
        Mock::given(method("GET"))
            .and(path("/repos/acme/web/installation"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": 77})))
            .mount(server)
            .await;
        Mock::given(method("POST"))
            .and(path("/app/installations/77/access_tokens"))
            .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({
                "token": "ghs_wiremock", "expires_at": "2030-01-01T00:00:00Z"
            })))
            .mount(server)
            .await;
    }

    fn client(server: &MockServer) -> GitHubClient {
        let config = GitHubConfig::new(
            FAKE_APP_ID,
            SecretString::from(TEST_ONLY_APP_PRIVATE_KEY_PEM),
        )
        .with_api_url(&server.uri())
        .expect("url")
        .with_policy(policy());
        GitHubClient::new(config, ManualClock::at(START))
            .expect("client")
            .with_sleeper(Arc::new(RecordingSleeper::default()))
    }

    /// GitHub's published example of `GET /repos/{owner}/{repo}` (trimmed to a realistic
    /// subset; the adapter reads `id`, `full_name` and `default_branch`).
    fn hello_world_repository() -> serde_json::Value {
        serde_json::json!({
            "id": 1296269,
            "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
            "name": "Hello-World",
            "full_name": "octocat/Hello-World",
            "owner": {
                "login": "octocat", "id": 1, "node_id": "MDQ6VXNlcjE=",
                "type": "User", "site_admin": false
            },
            "private": false,
            "html_url": "https://github.com/octocat/Hello-World",
            "description": "This your first repo!",
            "fork": false,
            "url": "https://api.github.com/repos/octocat/Hello-World",
            "default_branch": "master",
            "visibility": "public",
            "archived": false,
            "disabled": false,
            "permissions": {"admin": false, "push": false, "pull": true},
            "created_at": "2011-01-26T19:01:12Z",
            "updated_at": "2011-01-26T19:14:43Z"
        })
    }

    /// GitHub's published examples of `GET /commits/{ref}/status` and
    /// `GET /commits/{ref}/check-runs` (trimmed to a realistic subset): each status by its
    /// `context`, each check run by its `name`, in one of the four states.
    #[tokio::test]
    async fn named_checks_read_githubs_example_payloads() {
        let server = MockServer::start().await;
        github_with_app(&server).await;
        let commit = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/web/commits/{commit}/status")))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "state": "failure",
                "statuses": [
                    {
                        "url": "https://api.github.com/repos/octocat/Hello-World/statuses/6dcb09b5b57875f334f61aebed695e2e4193db5e",
                        "avatar_url": "https://github.com/images/error/hubot_happy.gif",
                        "id": 1,
                        "node_id": "MDY6U3RhdHVzMQ==",
                        "state": "success",
                        "description": "Build has completed successfully",
                        "target_url": "https://ci.example.com/1000/output",
                        "context": "continuous-integration/jenkins",
                        "created_at": "2012-07-20T01:19:13Z",
                        "updated_at": "2012-07-20T01:19:13Z"
                    },
                    {
                        "url": "https://api.github.com/repos/octocat/Hello-World/statuses/6dcb09b5b57875f334f61aebed695e2e4193db5e",
                        "avatar_url": "https://github.com/images/error/other_user_happy.gif",
                        "id": 2,
                        "node_id": "MDY6U3RhdHVzMg==",
                        "state": "failure",
                        "description": "Testing has completed and failed",
                        "target_url": "https://ci.example.com/2000/output",
                        "context": "security/brakeman",
                        "created_at": "2012-08-20T01:19:13Z",
                        "updated_at": "2012-08-20T01:19:13Z"
                    }
                ],
                "sha": commit,
                "total_count": 2,
                "repository": {"id": 1296269, "full_name": "octocat/Hello-World"},
                "commit_url": "https://api.github.com/repos/octocat/Hello-World/6dcb09b5b57875f334f61aebed695e2e4193db5e",
                "url": "https://api.github.com/repos/octocat/Hello-World/6dcb09b5b57875f334f61aebed695e2e4193db5e/status"
            })))
            .mount(&server)
            .await;
        let run = |id: u64, name: &str, status: &str, conclusion: Option<&str>| {
            serde_json::json!({
                "id": id,
                "head_sha": commit,
                "node_id": "MDg6Q2hlY2tSdW40",
                "external_id": "",
                "url": format!("https://api.github.com/repos/github/hello-world/check-runs/{id}"),
                "html_url": "https://github.com/github/hello-world/runs/4",
                "details_url": "https://example.com",
                "status": status,
                "conclusion": conclusion,
                "started_at": "2018-05-04T01:14:52Z",
                "completed_at": if status == "completed" { Some("2018-05-04T01:14:52Z") } else { None },
                "output": {
                    "title": "Mighty Readme report",
                    "summary": "There are 0 failures, 2 warnings, and 1 notice.",
                    "text": "You may have some misspelled words on lines 2 and 4.",
                    "annotations_count": 2,
                    "annotations_url": "https://api.github.com/repos/github/hello-world/check-runs/4/annotations"
                },
                "name": name,
                "check_suite": {"id": 5},
                "app": {"id": 1, "slug": "octoapp", "name": "Octocat App"},
                "pull_requests": []
            })
        };
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/web/commits/{commit}/check-runs")))
            .and(wiremock::matchers::query_param("filter", "latest"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "total_count": 3,
                "check_runs": [
                    run(4, "mighty_readme", "completed", Some("neutral")),
                    run(5, "ci/circleci: build", "in_progress", None),
                    run(6, "lint", "completed", Some("timed_out"))
                ]
            })))
            .mount(&server)
            .await;
        let checks = client(&server)
            .named_checks(&repo("acme/web"), &Sha::parse(commit).expect("sha"))
            .await
            .expect("checks");
        let named: Vec<(&str, CheckState)> =
            checks.iter().map(|c| (c.name.as_str(), c.state)).collect();
        assert_eq!(
            named,
            vec![
                ("continuous-integration/jenkins", CheckState::Passing),
                ("security/brakeman", CheckState::Failing),
                ("mighty_readme", CheckState::Passing),
                ("ci/circleci: build", CheckState::Pending),
                ("lint", CheckState::Failing),
            ]
        );
    }

    #[tokio::test]
    async fn repository_reads_githubs_example_payload() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/repos/octocat/hello-world/installation"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "id": 1,
                "account": {"login": "octocat", "id": 1, "type": "User"},
                "repository_selection": "all",
                "access_tokens_url": "https://api.github.com/app/installations/1/access_tokens",
                "repositories_url": "https://api.github.com/installation/repositories",
                "app_id": 1,
                "target_id": 1,
                "target_type": "Organization",
                "permissions": {"checks": "write", "metadata": "read", "contents": "read"},
                "events": ["push", "pull_request"],
                "single_file_name": "config.yaml",
                "created_at": "2018-02-09T20:51:14Z",
                "updated_at": "2018-02-09T20:51:14Z"
            })))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/app/installations/1/access_tokens"))
            .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({
                "token": "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
                "expires_at": "2030-01-01T00:00:00Z",
                "permissions": {"metadata": "read"},
                "repository_selection": "selected"
            })))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/repos/octocat/hello-world"))
            .respond_with(ResponseTemplate::new(200).set_body_json(hello_world_repository()))
            .mount(&server)
            .await;
        let info = client(&server)
            .repository(&repo("octocat/Hello-World"))
            .await
            .expect("found");
        assert_eq!(info.id, 1_296_269);
        assert_eq!(info.full_name, repo("octocat/hello-world"));
        assert_eq!(info.default_branch, "master");
    }

    #[tokio::test]
    async fn repository_404s_tell_a_missing_app_from_a_missing_repository() {
        let not_found = || {
            ResponseTemplate::new(404).set_body_json(serde_json::json!({
                "message": "Not Found",
                "documentation_url": "https://docs.github.com/rest/apps/apps#get-a-repository-installation-for-the-authenticated-app",
                "status": "404"
            }))
        };
        // No installation for the repository, none for its account: not installed.
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/repos/acme/web/installation"))
            .respond_with(not_found())
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/users/acme/installation"))
            .respond_with(not_found())
            .mount(&server)
            .await;
        let err = client(&server)
            .repository(&repo("acme/web"))
            .await
            .expect_err("not installed");
        assert_eq!(err, GitHubError::NotInstalled("acme/web".to_owned()));

        // The account has the App: the repository is what is missing.
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/repos/acme/web/installation"))
            .respond_with(not_found())
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/users/acme/installation"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": 77})))
            .mount(&server)
            .await;
        let err = client(&server)
            .repository(&repo("acme/web"))
            .await
            .expect_err("missing");
        assert!(matches!(err, GitHubError::NotFound(_)), "{err:?}");
    }

    #[tokio::test]
    async fn githubs_409_body_becomes_the_context_list() {
        let server = MockServer::start().await;
        github_with_app(&server).await;
        Mock::given(method("POST"))
            .and(path("/repos/acme/web/deployments"))
            .respond_with(ResponseTemplate::new(409).set_body_json(serde_json::json!({
                "message": "Conflict: Commit status checks failed for main.",
                "errors": [{
                    "contexts": [
                        {"context": "ci/circleci", "state": "pending"},
                        {"context": "security/snyk", "state": "failure"}
                    ],
                    "resource": "Deployment",
                    "field": "required_contexts",
                    "code": "invalid"
                }],
                "documentation_url": "https://docs.github.com/rest/deployments/deployments#create-a-deployment"
            })))
            .mount(&server)
            .await;
        let outcome = client(&server)
            .create_deployment(&new_deployment("main", Environment::Preview))
            .await
            .expect("409 outcome");
        assert_eq!(
            outcome,
            CreateDeploymentOutcome::ChecksNotGreen {
                contexts: vec![
                    "ci/circleci (pending)".to_owned(),
                    "security/snyk (failure)".to_owned()
                ]
            }
        );
    }

    #[tokio::test]
    async fn a_pagination_link_to_another_host_is_not_followed() {
        let server = MockServer::start().await;
        github_with_app(&server).await;
        Mock::given(method("GET"))
            .and(path("/repos/acme/web/collaborators"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!([{"login": "alice"}]))
                    .insert_header(
                        "link",
                        "<https://elsewhere.example/collaborators?page=2>; rel=\"next\"",
                    ),
            )
            .mount(&server)
            .await;
        let err = client(&server)
            .collaborators(&repo("acme/web"))
            .await
            .expect_err("offsite link");
        assert!(
            matches!(&err, GitHubError::InvalidResponse(m) if m.contains("another host")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_403_without_rate_limit_headers_is_a_permission_problem() {
        let server = MockServer::start().await;
        github_with_app(&server).await;
        Mock::given(method("GET"))
            .and(path("/repos/acme/web"))
            .respond_with(ResponseTemplate::new(403).set_body_json(serde_json::json!({
                "message": "Resource not accessible by integration"
            })))
            .mount(&server)
            .await;
        let err = client(&server)
            .default_branch(&repo("acme/web"))
            .await
            .expect_err("403");
        assert_eq!(
            err,
            GitHubError::Unauthorized("Resource not accessible by integration".to_owned())
        );
    }

    #[tokio::test]
    async fn a_failed_comment_post_looks_again_before_posting_again() {
        let server = MockServer::start().await;
        github_with_app(&server).await;
        Mock::given(method("GET"))
            .and(path("/repos/acme/web/issues/7/comments"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/repos/acme/web/issues/7/comments"))
            .respond_with(ResponseTemplate::new(502))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/repos/acme/web/issues/7/comments"))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(serde_json::json!({"id": 99, "body": "x"})),
            )
            .mount(&server)
            .await;
        let id = client(&server)
            .upsert_pr_comment(&repo("acme/web"), 7, "<!-- m -->", "<!-- m --> hello")
            .await
            .expect("posted on the second try");
        assert_eq!(id, 99);
        let seen = server.received_requests().await.expect("recording on");
        let lists = seen
            .iter()
            .filter(|r| r.method.as_str() == "GET" && r.url.path().ends_with("/comments"))
            .count();
        let posts = seen
            .iter()
            .filter(|r| r.method.as_str() == "POST" && r.url.path().ends_with("/comments"))
            .count();
        assert_eq!(
            (lists, posts),
            (2, 2),
            "each post is preceded by a fresh look-up"
        );
    }

    #[tokio::test]
    async fn a_missing_installation_is_a_clear_not_found() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/repos/acme/web/installation"))
            .respond_with(
                ResponseTemplate::new(404)
                    .set_body_json(serde_json::json!({"message": "Not Found"})),
            )
            .mount(&server)
            .await;
        let err = client(&server)
            .default_branch(&repo("acme/web"))
            .await
            .expect_err("not installed");
        assert!(
            matches!(&err, GitHubError::NotFound(m) if m.contains("installation")),
            "{err:?}"
        );
    }

    /// GitHub's published example of a comparison's `files` entry (`GET
    /// /repos/{owner}/{repo}/compare/{basehead}`), with one renamed file added.
    fn comparison_with(files: Vec<serde_json::Value>) -> serde_json::Value {
        serde_json::json!({
            "url": "https://api.github.com/repos/octocat/Hello-World/compare/master...topic",
            "html_url": "https://github.com/octocat/Hello-World/compare/master...topic",
            "permalink_url": "https://github.com/octocat/Hello-World/compare/octocat:bbcd538c8e72b8c175046e27cc8f907076331401...octocat:0328041d1152db8ae77652d1618a02e57f745f17",
            "diff_url": "https://github.com/octocat/Hello-World/compare/master...topic.diff",
            "patch_url": "https://github.com/octocat/Hello-World/compare/master...topic.patch",
            "status": "ahead",
            "ahead_by": 1,
            "behind_by": 0,
            "total_commits": 1,
            "commits": [],
            "files": files
        })
    }

    fn diff_entry(filename: &str, status: &str) -> serde_json::Value {
        serde_json::json!({
            "sha": "bbcd538c8e72b8c175046e27cc8f907076331401",
            "filename": filename,
            "status": status,
            "additions": 103,
            "deletions": 21,
            "changes": 124,
            "blob_url": format!("https://github.com/octocat/Hello-World/blob/6dcb09b5b57875f334f61aebed695e2e4193db5e/{filename}"),
            "raw_url": format!("https://github.com/octocat/Hello-World/raw/6dcb09b5b57875f334f61aebed695e2e4193db5e/{filename}"),
            "contents_url": format!("https://api.github.com/repos/octocat/Hello-World/contents/{filename}?ref=6dcb09b5b57875f334f61aebed695e2e4193db5e"),
            "patch": "@@ -132,7 +132,7 @@ module Test @@ -1000,7 +1000,7 @@ module Test"
        })
    }

    #[tokio::test]
    async fn changed_files_reads_the_comparisons_files_and_renames() {
        let server = MockServer::start().await;
        github_with_app(&server).await;
        let mut renamed = diff_entry(".github/deploybot.yaml", "renamed");
        renamed["previous_filename"] = serde_json::json!(".github/deploybot.yml");
        let range = format!("{}...{}", sha('a'), sha('b'));
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/web/compare/{range}")))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(comparison_with(vec![
                    diff_entry("file1.txt", "added"),
                    renamed,
                ])),
            )
            .mount(&server)
            .await;
        let changed = client(&server)
            .changed_files(&repo("acme/web"), &sha('a'), &sha('b'))
            .await
            .expect("compared");
        assert!(changed.complete);
        assert_eq!(
            changed.paths,
            vec![
                "file1.txt".to_owned(),
                ".github/deploybot.yaml".to_owned(),
                ".github/deploybot.yml".to_owned()
            ]
        );
    }

    /// A commit of a comparison in the shape of GitHub's published example.
    fn compared_commit(hex: char, message: &str, login: Option<&str>) -> serde_json::Value {
        let sha = sha(hex);
        serde_json::json!({
            "url": format!("https://api.github.com/repos/octocat/Hello-World/commits/{sha}"),
            "sha": sha.as_str(),
            "node_id": "MDY6Q29tbWl0NmRjYjA5YjViNTc4NzVmMzM0ZjYxYWViZWQ2OTVlMmU0MTkzZGI1ZQ==",
            "html_url": format!("https://github.com/octocat/Hello-World/commit/{sha}"),
            "comments_url": format!("https://api.github.com/repos/octocat/Hello-World/commits/{sha}/comments"),
            "commit": {
                "url": format!("https://api.github.com/repos/octocat/Hello-World/git/commits/{sha}"),
                "author": {"name": "Monalisa Octocat", "email": "support@github.com", "date": "2011-04-14T16:00:49Z"},
                "committer": {"name": "Monalisa Octocat", "email": "support@github.com", "date": "2011-04-14T16:00:49Z"},
                "message": message,
                "tree": {"url": "https://api.github.com/repos/octocat/Hello-World/tree/6dcb09b5b57875f334f61aebed695e2e4193db5e", "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e"},
                "comment_count": 0,
                "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null}
            },
            "author": login.map(|l| serde_json::json!({"login": l, "id": 1, "type": "User", "site_admin": false})),
            "committer": null,
            "parents": []
        })
    }

    /// A pull request in the shape of GitHub's "list pull requests associated with a
    /// commit" example (trimmed).
    fn associated_pull(number: u64, title: &str, login: &str, merged: bool) -> serde_json::Value {
        serde_json::json!({
            "url": format!("https://api.github.com/repos/octocat/Hello-World/pulls/{number}"),
            "id": 1,
            "html_url": format!("https://github.com/octocat/Hello-World/pull/{number}"),
            "number": number,
            "state": if merged { "closed" } else { "open" },
            "locked": false,
            "title": title,
            "user": {"login": login, "id": 1, "type": "User", "site_admin": false},
            "body": "Please pull these awesome changes",
            "created_at": "2011-01-26T19:01:12Z",
            "updated_at": "2011-01-26T19:01:12Z",
            "closed_at": if merged { serde_json::json!("2011-01-26T19:01:12Z") } else { serde_json::Value::Null },
            "merged_at": if merged { serde_json::json!("2011-01-26T19:01:12Z") } else { serde_json::Value::Null },
            "merge_commit_sha": "e5bd3914e2e596debea16f433f57875b5b90bcd6",
            "draft": false
        })
    }

    #[tokio::test]
    async fn comparison_lists_commits_with_their_merged_pull_requests() {
        let server = MockServer::start().await;
        github_with_app(&server).await;
        let mut listing = comparison_with(Vec::new());
        listing["total_commits"] = serde_json::json!(2);
        listing["commits"] = serde_json::json!([
            compared_commit(
                'b',
                "Fix all the bugs (#812)\n\nLonger text",
                Some("octocat")
            ),
            compared_commit('c', "Tidy up", None),
        ]);
        Mock::given(method("GET"))
            .and(path(format!(
                "/repos/acme/web/compare/{}...{}",
                sha('a'),
                sha('c')
            )))
            .respond_with(ResponseTemplate::new(200).set_body_json(listing))
            .mount(&server)
            .await;
        // The commit is also in an open pull request branched after it: only the merged one
        // brought it.
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/web/commits/{}/pulls", sha('b'))))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([
                associated_pull(815, "Later work", "hubot", false),
                associated_pull(812, "Fix all the bugs", "octocat", true),
            ])))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/web/commits/{}/pulls", sha('c'))))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
            .mount(&server)
            .await;
        let compared = client(&server)
            .comparison(&repo("acme/web"), &sha('a'), &sha('c'))
            .await
            .expect("compared");
        assert_eq!(compared.total_commits, 2);
        assert_eq!(
            compared.url,
            "https://github.com/octocat/Hello-World/compare/master...topic"
        );
        assert_eq!(compared.commits.len(), 2);
        assert_eq!(compared.commits[0].title, "Fix all the bugs (#812)");
        assert_eq!(
            compared.commits[0].author.as_ref().map(|a| a.as_str()),
            Some("octocat")
        );
        assert_eq!(compared.commits[0].pull_requests, vec![812]);
        assert_eq!(compared.commits[1].author, None);
        assert!(compared.commits[1].pull_requests.is_empty());
        assert_eq!(compared.pull_requests.len(), 1);
        assert_eq!(compared.pull_requests[0].number, 812);
        assert_eq!(
            compared.pull_requests[0].url,
            "https://github.com/octocat/Hello-World/pull/812"
        );
    }

    #[tokio::test]
    async fn comparison_fails_when_a_pull_request_lookup_fails() {
        let server = MockServer::start().await;
        github_with_app(&server).await;
        let mut listing = comparison_with(Vec::new());
        listing["commits"] = serde_json::json!([compared_commit('b', "Fix", None)]);
        Mock::given(method("GET"))
            .and(path(format!(
                "/repos/acme/web/compare/{}...{}",
                sha('a'),
                sha('b')
            )))
            .respond_with(ResponseTemplate::new(200).set_body_json(listing))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/repos/acme/web/commits/{}/pulls", sha('b'))))
            .respond_with(ResponseTemplate::new(403).set_body_json(
                serde_json::json!({"message": "Resource not accessible by integration"}),
            ))
            .mount(&server)
            .await;
        let err = client(&server)
            .comparison(&repo("acme/web"), &sha('a'), &sha('b'))
            .await
            .expect_err("refused");
        assert!(
            matches!(
                err,
                GitHubError::Unauthorized(_) | GitHubError::Forbidden(_)
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_comparison_of_300_files_may_be_cut_short() {
        let server = MockServer::start().await;
        github_with_app(&server).await;
        let files = (0..300)
            .map(|i| diff_entry(&format!("src/f{i}.rs"), "modified"))
            .collect();
        Mock::given(method("GET"))
            .and(path(format!(
                "/repos/acme/web/compare/{}...{}",
                sha('a'),
                sha('b')
            )))
            .respond_with(ResponseTemplate::new(200).set_body_json(comparison_with(files)))
            .mount(&server)
            .await;
        let changed = client(&server)
            .changed_files(&repo("acme/web"), &sha('a'), &sha('b'))
            .await
            .expect("compared");
        assert_eq!(changed.paths.len(), 300);
        assert!(!changed.complete);
    }

    #[tokio::test]
    async fn create_check_run_sends_a_completed_run_with_at_most_50_annotations() {
        use deploybot_core::ports::{CheckAnnotation, CheckConclusion, NewCheckRun};
        use wiremock::matchers::body_partial_json;
        let server = MockServer::start().await;
        github_with_app(&server).await;
        // GitHub's published example answer (trimmed), for a run created completed.
        Mock::given(method("POST"))
            .and(path("/repos/acme/web/check-runs"))
            .and(body_partial_json(serde_json::json!({
                "name": "deploybot/config",
                "head_sha": sha('c').as_str(),
                "status": "completed",
                "conclusion": "failure",
                "output": {"title": "60 errors", "summary": "not valid"}
            })))
            .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({
                "id": 4,
                "head_sha": sha('c').as_str(),
                "node_id": "MDg6Q2hlY2tSdW40",
                "external_id": "",
                "url": "https://api.github.com/repos/github/hello-world/check-runs/4",
                "html_url": "https://github.com/github/hello-world/runs/4",
                "details_url": "https://example.com",
                "status": "completed",
                "conclusion": "failure",
                "started_at": "2018-05-04T01:14:52Z",
                "completed_at": "2018-05-04T01:14:52Z",
                "output": {
                    "title": "60 errors",
                    "summary": "not valid",
                    "text": null,
                    "annotations_count": 50,
                    "annotations_url": "https://api.github.com/repos/github/hello-world/check-runs/4/annotations"
                },
                "name": "deploybot/config",
                "check_suite": {"id": 5},
                "app": {"id": 1, "slug": "octoapp", "name": "Octocat App"},
                "pull_requests": []
            })))
            .expect(1)
            .mount(&server)
            .await;
        let run = NewCheckRun {
            repository: repo("acme/web"),
            name: "deploybot/config".into(),
            head_sha: sha('c'),
            conclusion: CheckConclusion::Failure,
            title: "60 errors".into(),
            summary: "not valid".into(),
            annotations: (1..=60)
                .map(|line| CheckAnnotation {
                    path: ".github/deploybot.yml".into(),
                    start_line: line,
                    end_line: line,
                    message: format!("error on line {line}"),
                })
                .collect(),
        };
        let id = client(&server)
            .create_check_run(&run)
            .await
            .expect("created");
        assert_eq!(id, 4);
        let requests = server.received_requests().await.expect("recorded");
        let sent = requests
            .iter()
            .find(|r| r.url.path().ends_with("/check-runs"))
            .expect("posted");
        let body: serde_json::Value = serde_json::from_slice(&sent.body).expect("JSON");
        let annotations = body["output"]["annotations"].as_array().expect("a list");
        assert_eq!(annotations.len(), 50);
        assert_eq!(
            annotations[0],
            serde_json::json!({
                "path": ".github/deploybot.yml",
                "start_line": 1,
                "end_line": 1,
                "annotation_level": "failure",
                "message": "error on line 1"
            })
        );
    }
}

// ---- check runs against the fake ------------------------------------------------------------

#[tokio::test]
async fn the_fake_lists_changed_files_and_records_check_runs_over_http() {
    use deploybot_core::ports::{CheckAnnotation, CheckConclusion, NewCheckRun};
    let h = harness().await;
    let web = repo("acme/web");
    let path = ".github/deploybot.yml";
    h.fake.set_file(&web, path, &sha('a'), Some("version: 1\n"));
    h.fake.set_file(&web, path, &sha('b'), Some("version: 2\n"));
    let changed = h
        .client
        .changed_files(&web, &sha('a'), &sha('b'))
        .await
        .expect("compared");
    assert_eq!(changed.paths, vec![path.to_owned()]);
    assert!(changed.complete);
    let untouched = h
        .client
        .changed_files(&web, &sha('a'), &sha('c'))
        .await
        .expect("compared");
    assert!(untouched.paths.is_empty());

    let run = NewCheckRun {
        repository: web.clone(),
        name: "deploybot/config".into(),
        head_sha: sha('b'),
        conclusion: CheckConclusion::Failure,
        title: "1 error".into(),
        summary: "- line 1: `version` must be 1".into(),
        annotations: vec![CheckAnnotation {
            path: path.into(),
            start_line: 1,
            end_line: 1,
            message: "`version` must be 1".into(),
        }],
    };
    let id = h.client.create_check_run(&run).await.expect("created");
    let runs = h.fake.check_runs(&web);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].id, id);
    assert_eq!(runs[0].head_sha, sha('b'));
    assert_eq!(runs[0].status, "completed");
    assert_eq!(runs[0].conclusion.as_deref(), Some("failure"));
    assert_eq!(runs[0].annotations[0].start_line, 1);
    assert_eq!(runs[0].annotations[0].annotation_level, "failure");
}
