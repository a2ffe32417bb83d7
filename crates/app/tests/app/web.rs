//! The board (`web`): signing in through the fake GitHub's user authorisation, the session
//! cookie (signed, expiring, forged ones refused quietly), every page scoped by what the
//! person's own token may read, the security headers, and escaping.

use crate::slack_support::TestClock;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use deploybot_app::AppConfig;
use deploybot_app::wiring::{Functions, Parts};
use deploybot_core::board::{CookieKey, SESSION_COOKIE, SIGNIN_COOKIE, Session};
use deploybot_core::lane::{LaneKey, LaneRecord};
use deploybot_core::ports::{Clock, DeploymentStore, LaneSaved, LaneStore, ProjectStore};
use deploybot_core::{
    Deployment, DeploymentId, DeploymentState, Environment, GitRef, GithubLogin, Project,
    Repository, Sha, SlackChannelId, Timestamp, Trigger,
};
use deploybot_testkit::MemoryStore;
use deploybot_testkit::fakes::github::{FAKE_CLIENT_SECRET, FakeGitHub};
use std::sync::Arc;
use tower::ServiceExt;

const NOW_SECS: i64 = 1_796_621_400;

struct Board {
    router: Router,
    store: Arc<MemoryStore>,
    github: FakeGitHub,
    clock: Arc<TestClock>,
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn is_sign_in_page(&self) -> bool {
        self.body.contains("Sign in with GitHub")
    }
}

fn repository(name: &str) -> Repository {
    Repository::parse(name).expect("valid")
}

fn sha(c: char) -> Sha {
    Sha::parse(&c.to_string().repeat(40)).expect("valid")
}

impl Board {
    async fn new() -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(TestClock::at(Timestamp::from_secs(NOW_SECS)));
        let github = FakeGitHub::new();
        let config = AppConfig {
            github_web_url: "https://github.example".into(),
            board_cookie_key: Some(CookieKey::derive(FAKE_CLIENT_SECRET)),
            ..AppConfig::default()
        };
        let parts = Parts::new(clock.clone(), config)
            .with_store(store.clone())
            .with_github_user(Arc::new(github.clone()));
        let functions = Functions::wire(parts).expect("wires");
        let board = Self {
            router: functions.router(),
            store,
            github,
            clock,
        };
        for (name, channel) in [("acme/web", "C0WEB"), ("acme/secret", "C0SECRET")] {
            board.bind(name, channel).await;
        }
        board.github.add_person("octo", &[&repository("acme/web")]);
        board.github.add_person(
            "boss",
            &[&repository("acme/web"), &repository("acme/secret")],
        );
        board
    }

    async fn bind(&self, name: &str, channel: &str) {
        let repository = repository(name);
        self.github.add_repository(&repository, "main");
        let project = Project {
            repository,
            channel: SlackChannelId::parse(channel).expect("valid"),
            channel_name: Some(channel.to_lowercase()),
            team: None,
            settings: Default::default(),
            created_by: None,
            workflow: None,
            created_at: self.clock.now(),
            github_id: None,
        };
        self.store.bind_project(&project).await.expect("bind");
    }

    async fn get(&self, path: &str, cookies: &[&str]) -> Answer {
        let mut request = Request::get(path).header("host", "board.example");
        if !cookies.is_empty() {
            request = request.header("cookie", cookies.join("; "));
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// Signs `login` in the way a browser does; the session cookie (`name=value`).
    async fn sign_in(&self, login: &str) -> String {
        let start = self.get("/signin?return_to=/repos/acme/web", &[]).await;
        assert_eq!(start.status, StatusCode::SEE_OTHER);
        let state = query_param(start.location(), "state");
        let signin = cookie_pair(&start.set_cookie(SIGNIN_COOKIE).expect("sign-in cookie"));
        let code = self.github.approve_sign_in(login).expect("known person");
        let back = self
            .get(
                &format!("/signin/callback?code={code}&state={state}"),
                &[&signin],
            )
            .await;
        assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
        assert_eq!(back.location(), "/repos/acme/web");
        cookie_pair(&back.set_cookie(SESSION_COOKIE).expect("session cookie"))
    }

    async fn deploy(
        &self,
        name: &str,
        n: u32,
        environment: Environment,
        git_ref: GitRef,
        c: char,
    ) -> Deployment {
        let created = self.clock.now().plus_secs(-600 + i64::from(n));
        let mut d = Deployment::new(
            repository(name),
            DeploymentId::new(created, n),
            environment,
            git_ref,
            sha(c),
            Trigger::Push {
                pusher: Some(GithubLogin::parse("pusher").expect("valid")),
            },
            SlackChannelId::parse("C0WEB").expect("valid"),
            created,
        );
        d.state = DeploymentState::Success;
        d.succeeded_at = Some(created);
        self.store.insert_deployment(&d).await.expect("insert");
        d
    }

    async fn runs(&self, d: &Deployment) {
        let lane = LaneKey {
            repository: d.repository.clone(),
            environment: d.environment.clone(),
        };
        let mut record = LaneRecord::empty(lane, self.clock.now());
        record.current = Some(d.id.clone());
        match self.store.save_lane(&record).await.expect("save") {
            LaneSaved::Saved(_) => {}
            LaneSaved::Conflict(_) => panic!("a fresh lane"),
        }
    }
}

/// The value of `name` in `url`'s query.
fn query_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("a query");
    pairs
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .expect("the parameter")
}

/// `name=value` of a `Set-Cookie` line.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn without_a_session_every_page_is_the_sign_in_page_and_shows_no_data() {
    let board = Board::new().await;
    for path in ["/", "/repos/acme/web", "/repos/acme/web/deployments/x"] {
        let answer = board.get(path, &[]).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert!(answer.is_sign_in_page(), "{path}: {}", answer.body);
        assert!(!answer.body.contains("c0web"), "{path} shows no project");
    }
    assert!(
        board.github.calls().iter().all(|c| !c.contains("/user")),
        "nobody asked GitHub"
    );
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let board = Board::new().await;
    let session = board.sign_in("octo").await;
    for (path, cookies) in [
        ("/", vec![]),
        ("/", vec![session.as_str()]),
        ("/repos/acme/nope", vec![session.as_str()]),
        ("/board.css", vec![]),
        ("/signin", vec![]),
    ] {
        let answer = board.get(path, &cookies).await;
        let header = |name: &str| {
            answer
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        assert!(
            header("content-security-policy").contains("default-src 'none'")
                && header("content-security-policy").contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
    }
}

#[tokio::test]
async fn signing_in_sets_a_signed_http_only_secure_lax_cookie_with_an_expiry() {
    let board = Board::new().await;
    let start = board.get("/signin", &[]).await;
    assert!(
        start.location().starts_with(
            "https://github.example/login/oauth/authorize?client_id=Iv1.fakeboardclient"
        ),
        "{}",
        start.location()
    );
    assert!(
        start
            .location()
            .contains("redirect_uri=https%3A%2F%2Fboard.example%2Fsignin%2Fcallback"),
        "{}",
        start.location()
    );
    let session = board.sign_in("octo").await;
    let start = board.get("/signin", &[]).await;
    let signin = start.set_cookie(SIGNIN_COOKIE).expect("sign-in cookie");
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Max-Age=600",
        "Path=/",
    ] {
        assert!(signin.contains(attribute), "{signin}");
    }
    // The session cookie's attributes, from a fresh sign-in.
    let code = board.github.approve_sign_in("octo").expect("code");
    let state = query_param(start.location(), "state");
    let back = board
        .get(
            &format!("/signin/callback?code={code}&state={state}"),
            &[&cookie_pair(&signin)],
        )
        .await;
    let set = back.set_cookie(SESSION_COOKIE).expect("session cookie");
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Max-Age=28800",
        "Path=/",
    ] {
        assert!(set.contains(attribute), "{set}");
    }
    // The cookie is what core seals: it opens with the key, names the person.
    let value = session.split_once('=').expect("pair").1;
    let opened = CookieKey::derive(FAKE_CLIENT_SECRET)
        .open_session(value, board.clock.now())
        .expect("genuine");
    assert_eq!(opened.login.as_str(), "octo");
    let grid = board.get("/", &[&session]).await;
    assert_eq!(grid.status, StatusCode::OK);
    assert!(grid.body.contains("Signed in as"), "{}", grid.body);
    assert!(grid.body.contains("octo"));
}

#[tokio::test]
async fn a_callback_with_another_state_or_without_the_sign_in_cookie_signs_nobody_in() {
    let board = Board::new().await;
    let start = board.get("/signin", &[]).await;
    let signin = cookie_pair(&start.set_cookie(SIGNIN_COOKIE).expect("cookie"));
    let code = board.github.approve_sign_in("octo").expect("code");
    for (path, cookies) in [
        (
            format!("/signin/callback?code={code}&state=forged"),
            vec![signin.as_str()],
        ),
        (format!("/signin/callback?code={code}&state=x"), vec![]),
        ("/signin/callback".to_owned(), vec![signin.as_str()]),
    ] {
        let answer = board.get(&path, &cookies).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(answer.is_sign_in_page(), "{path}");
        assert!(answer.set_cookie(SESSION_COOKIE).is_none(), "{path}");
    }
    // A code GitHub refuses (used already, made up) is a sign-in page too, not an error page.
    let start = board.get("/signin", &[]).await;
    let state = query_param(start.location(), "state");
    let signin = cookie_pair(&start.set_cookie(SIGNIN_COOKIE).expect("cookie"));
    let answer = board
        .get(
            &format!("/signin/callback?code=made-up&state={state}"),
            &[&signin],
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY);
    assert!(answer.is_sign_in_page());
    assert!(answer.set_cookie(SESSION_COOKIE).is_none());
}

#[tokio::test]
async fn forged_or_expired_sessions_get_the_sign_in_page_never_an_error() {
    let board = Board::new().await;
    let session = board.sign_in("octo").await;
    let key = CookieKey::derive(FAKE_CLIENT_SECRET);
    let value = session.split_once('=').expect("pair").1.to_owned();
    let (body, signature) = value.split_once('.').expect("sealed");
    // `octo` claiming to be `boss`: the same signature over another body.
    let mut claimed: Session = key.open(&value).expect("genuine");
    claimed.login = GithubLogin::parse("boss").expect("valid");
    let other_body = key.seal(&claimed);
    let other_body = other_body.split_once('.').expect("sealed").0;
    let forged = [
        format!("{SESSION_COOKIE}={other_body}.{signature}"),
        format!("{SESSION_COOKIE}={body}.{}", "0".repeat(64)),
        format!("{SESSION_COOKIE}={body}"),
        format!("{SESSION_COOKIE}=%%%garbage"),
        format!(
            "{SESSION_COOKIE}={}",
            CookieKey::derive("someone else's secret").seal(&claimed)
        ),
    ];
    for cookie in forged {
        let answer = board.get("/repos/acme/secret", &[&cookie]).await;
        assert_eq!(answer.status, StatusCode::OK, "{cookie}");
        assert!(answer.is_sign_in_page(), "{cookie}");
        assert!(!answer.body.contains("c0secret"), "{cookie}");
    }
    // Genuine until it expires after eight hours, then the sign-in page.
    assert!(!board.get("/", &[&session]).await.is_sign_in_page());
    board
        .clock
        .set(Timestamp::from_secs(NOW_SECS + 8 * 3600 + 1));
    let answer = board.get("/", &[&session]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.is_sign_in_page());
}

#[tokio::test]
async fn a_person_sees_only_what_their_token_reads_and_everything_else_is_404() {
    let board = Board::new().await;
    let web = board
        .deploy(
            "acme/web",
            1,
            Environment::Production,
            GitRef::branch("main").expect("ref"),
            'a',
        )
        .await;
    let hidden = board
        .deploy(
            "acme/secret",
            2,
            Environment::Production,
            GitRef::branch("main").expect("ref"),
            'b',
        )
        .await;
    board.runs(&web).await;
    board.runs(&hidden).await;
    let octo = board.sign_in("octo").await;
    let grid = board.get("/", &[&octo]).await;
    assert!(grid.body.contains("acme/web"), "{}", grid.body);
    assert!(!grid.body.contains("acme/secret"), "{}", grid.body);

    let not_found = [
        "/repos/acme/secret".to_owned(),
        "/repos/acme/nothing-here".to_owned(),
        format!("/repos/acme/secret/deployments/{}", hidden.id.as_str()),
        // acme/web's page with acme/secret's deployment id.
        format!("/repos/acme/web/deployments/{}", hidden.id.as_str()),
        "/repos/acme/web/deployments/not-an-id".to_owned(),
    ];
    let mut bodies = Vec::new();
    for path in &not_found {
        let answer = board.get(path, &[&octo]).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!answer.body.contains("bbbbbbb"), "{path}");
        bodies.push(answer.body);
    }
    assert_eq!(
        bodies[0], bodies[1],
        "a hidden repository reads like a missing one"
    );

    let page = board
        .get(
            &format!("/repos/acme/web/deployments/{}", web.id.as_str()),
            &[&octo],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&"a".repeat(40)), "{}", page.body);

    // Someone who may read both sees both.
    let boss = board.sign_in("boss").await;
    let grid = board.get("/", &[&boss]).await;
    assert!(grid.body.contains("acme/web") && grid.body.contains("acme/secret"));
    let page = board
        .get(
            &format!("/repos/acme/secret/deployments/{}", hidden.id.as_str()),
            &[&boss],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
}

#[tokio::test]
async fn access_is_checked_with_the_persons_token_and_cached_for_five_minutes() {
    let board = Board::new().await;
    let octo = board.sign_in("octo").await;
    let asked = || {
        board
            .github
            .calls()
            .iter()
            .filter(|c| c.as_str() == "GET /user/repos")
            .count()
    };
    assert_eq!(
        board.get("/repos/acme/web", &[&octo]).await.status,
        StatusCode::OK
    );
    assert_eq!(board.get("/", &[&octo]).await.status, StatusCode::OK);
    assert_eq!(asked(), 1, "one check for two pages");

    board.github.remove_access("octo", &repository("acme/web"));
    board.clock.set(Timestamp::from_secs(NOW_SECS + 4 * 60));
    assert_eq!(
        board.get("/repos/acme/web", &[&octo]).await.status,
        StatusCode::OK,
        "still cached"
    );
    board.clock.set(Timestamp::from_secs(NOW_SECS + 6 * 60));
    assert_eq!(
        board.get("/repos/acme/web", &[&octo]).await.status,
        StatusCode::NOT_FOUND,
        "checked again, access gone"
    );
    assert_eq!(asked(), 2);

    // A token GitHub no longer accepts: the sign-in page, not an error.
    board.github.revoke_user_tokens();
    board.clock.set(Timestamp::from_secs(NOW_SECS + 12 * 60));
    let answer = board.get("/", &[&octo]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.is_sign_in_page());
}

#[tokio::test]
async fn a_branch_named_script_is_shown_as_text() {
    let board = Board::new().await;
    let evil = GitRef::branch("<script>alert(1)</script>").expect("git accepts the name");
    let d = board
        .deploy("acme/web", 1, Environment::Staging, evil, 'c')
        .await;
    board.runs(&d).await;
    let octo = board.sign_in("octo").await;
    for path in [
        "/".to_owned(),
        "/repos/acme/web".to_owned(),
        format!("/repos/acme/web/deployments/{}", d.id.as_str()),
    ] {
        let answer = board.get(&path, &[&octo]).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert!(
            answer
                .body
                .contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}: {}",
            answer.body
        );
        assert!(!answer.body.contains("<script>"), "{path}");
    }
}

#[tokio::test]
async fn the_repository_page_links_the_commits_waiting_to_be_promoted() {
    let board = Board::new().await;
    let staging = board
        .deploy(
            "acme/web",
            1,
            Environment::Staging,
            GitRef::branch("main").expect("ref"),
            'e',
        )
        .await;
    let production = board
        .deploy(
            "acme/web",
            2,
            Environment::Production,
            GitRef::branch("main").expect("ref"),
            'd',
        )
        .await;
    board.runs(&staging).await;
    board.runs(&production).await;
    let octo = board.sign_in("octo").await;
    let page = board.get("/repos/acme/web", &[&octo]).await;
    assert!(
        page.body
            .contains("href=\"https://slack.com/app_redirect?channel=C0WEB\""),
        "actions stay in Slack: the page links the channel"
    );
    let compare = format!(
        "https://github.example/acme/web/compare/{}...{}",
        "d".repeat(40),
        "e".repeat(40)
    );
    assert!(page.body.contains(&compare), "{}", page.body);
    // History lists both, newest first, each linking to its page.
    let history = &page.body[page.body.find("<h2>History</h2>").expect("history")..];
    let newest = history
        .find(&format!("/deployments/{}", production.id.as_str()))
        .expect("production listed");
    let older = history
        .find(&format!("/deployments/{}", staging.id.as_str()))
        .expect("staging listed");
    assert!(newest < older, "newest first");
}

#[tokio::test]
async fn history_is_paged() {
    let board = Board::new().await;
    for n in 0..30 {
        board
            .deploy(
                "acme/web",
                n,
                Environment::Staging,
                GitRef::branch("main").expect("ref"),
                'f',
            )
            .await;
    }
    let octo = board.sign_in("octo").await;
    let first = board.get("/repos/acme/web", &[&octo]).await;
    let older = first
        .body
        .split("rel=\"next\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a link to the older page")
        .to_owned();
    assert!(older.starts_with("/repos/acme/web?older_than="), "{older}");
    assert!(!first.body.contains("rel=\"first\""), "the newest page");
    let second = board.get(&older, &[&octo]).await;
    assert!(
        second.body.contains("rel=\"first\""),
        "a link back to the newest"
    );
    assert!(!second.body.contains("rel=\"next\""), "no third page");
    let rows = |body: &str| -> Vec<String> {
        body.split("<td><a href=\"/repos/acme/web/deployments/")
            .skip(1)
            .filter_map(|rest| rest.split('"').next().map(str::to_owned))
            .collect()
    };
    let (a, b) = (rows(&first.body), rows(&second.body));
    assert_eq!((a.len(), b.len()), (25, 5));
    // Every deployment once, newest first across the pages.
    let mut all = a.clone();
    all.extend(b);
    let mut sorted = all.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(all, sorted);
    // A cursor that is not an id is the first page.
    let odd = board
        .get("/repos/acme/web?older_than=%3Cscript%3E", &[&octo])
        .await;
    assert_eq!(rows(&odd.body), a);
}

#[tokio::test]
async fn delivery_charts_are_svg_drawn_from_the_records() {
    let board = Board::new().await;
    for (n, c) in [(1, 'a'), (2, 'b')] {
        board
            .deploy(
                "acme/web",
                n,
                Environment::Production,
                GitRef::branch("main").expect("ref"),
                c,
            )
            .await;
    }
    let octo = board.sign_in("octo").await;
    let page = board.get("/repos/acme/web", &[&octo]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body.matches("<svg").count(), 4, "four charts");
    assert!(
        page.body
            .contains("Production deployments per week</strong> — latest: 2 deployments"),
        "{}",
        page.body
    );
    assert!(page.body.contains("week of 2026-12-07: 2 deployments"));
    assert!(
        page.body
            .contains("Change failure rate</strong> — latest: 0 %")
    );
    assert!(!page.body.contains("style="), "no inline style (CSP)");
    let grid = board.get("/", &[&octo]).await;
    assert!(grid.body.contains("Delivery, all repositories"));
    assert!(grid.body.contains("id=\"org-deploys-t\""));
}

/// The deployment's page shows its course from the record's history: who asked, then every
/// state it went through with why, oldest first, escaped.
#[tokio::test]
async fn the_deployment_page_shows_every_state_it_went_through() {
    let board = Board::new().await;
    let inserted = board
        .deploy(
            "acme/web",
            1,
            Environment::Production,
            GitRef::branch("main").expect("ref"),
            'a',
        )
        .await;
    let mut d = board
        .store
        .get_deployment(&inserted.repository, &inserted.id)
        .await
        .expect("reads")
        .expect("stored");
    let at = |secs: i64| d.created_at.plus_secs(secs);
    d.history = vec![
        deploybot_core::StateChange {
            at: at(1),
            state: DeploymentState::Waiting,
            why: Some("Waiting for approval — leads 0/1".into()),
        },
        deploybot_core::StateChange {
            at: at(60),
            state: DeploymentState::Created,
            why: Some("approved by @grace-h (leads)".into()),
        },
        deploybot_core::StateChange {
            at: at(70),
            state: DeploymentState::InProgress,
            why: None,
        },
        deploybot_core::StateChange {
            at: at(300),
            state: DeploymentState::Failure,
            why: Some("tests <b>failed</b>".into()),
        },
    ];
    assert!(matches!(
        board.store.update_deployment(&d).await.expect("updates"),
        deploybot_core::ports::UpdateOutcome::Updated(_)
    ));
    let octo = board.sign_in("octo").await;
    let page = board
        .get(
            &format!("/repos/acme/web/deployments/{}", d.id.as_str()),
            &[&octo],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let steps: Vec<&str> = page
        .body
        .split("<li>")
        .skip(1)
        .filter_map(|li| li.split("</li>").next())
        .collect();
    let order = [
        "asked for by",
        "approved by @grace-h (leads)",
        "in progress",
        "tests &lt;b&gt;failed&lt;/b&gt;",
    ];
    let mut at = 0;
    for needle in order {
        let found = steps[at..]
            .iter()
            .position(|s| s.contains(needle))
            .unwrap_or_else(|| panic!("{needle} after step {at}: {steps:?}"));
        at += found + 1;
    }
    assert!(!page.body.contains("<b>failed"), "escaped");
}
