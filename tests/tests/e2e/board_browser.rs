//! The board in a real browser: headless Chromium (Debian's `chromium`, driven through
//! `chromedriver` from `chromium-driver`, both installed by `scripts/test`) signs in through the
//! fake GitHub's user authorisation, opens the grid, the repository and a deployment, and the
//! test asserts on what the browser rendered; a person without access does not see the
//! repository. Screenshots of the three pages go to `$CARGO_TARGET_TMPDIR/board/` (docs/board.md
//! shows them). Without Chromium the test FAILS; it never skips.
//!
//! The browser is driven with a few W3C WebDriver calls over reqwest (already a dependency)
//! rather than a WebDriver crate: the handful of endpoints used here need no more, and the
//! crates bring their own HTTP/TLS stack (docs/adr/0020-web-board.md).

use base64::Engine as _;
use deploybot_core::Environment;
use deploybot_local::demo::run_scenario;
use deploybot_local::harness::{AppOptions, StoreSetup, try_spawn_app};
use deploybot_local::world;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "chromedriver";
/// W3C WebDriver's key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// `chromedriver` on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{CHROMEDRIVER} does not start ({e}): this test needs Debian's `chromium` and \
                     `chromium-driver`, which `scripts/test` installs"
                )
            });
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http
                .get(format!("{url}/status"))
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success());
            if ready.is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver never became ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, url }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session.
struct Browser {
    http: reqwest::Client,
    session: String,
}

impl Browser {
    async fn open(driver: &Driver) -> Self {
        let http = reqwest::Client::new();
        let answer: Value = http
            .post(format!("{}/session", driver.url))
            .json(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                             "--disable-dev-shm-usage", "--window-size=1280,1000"]
                }
            }}}))
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("JSON");
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {answer}"));
        Self {
            http,
            session: format!("{}/session/{id}", driver.url),
        }
    }

    /// One WebDriver command: its value, or the whole answer when the driver says error.
    async fn try_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Value> {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let mut answer: Value = request
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("JSON");
        if answer["value"].get("error").is_some() {
            Err(answer)
        } else {
            Ok(answer["value"].take())
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_call(method.clone(), path, body)
            .await
            .unwrap_or_else(|answer| panic!("{method} {path}: {answer}"))
    }

    async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    async fn current_url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn find(&self, css: &str) -> String {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned()
    }

    async fn text_of(&self, css: &str) -> String {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::GET,
            &format!("/element/{element}/text"),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    async fn texts_of(&self, css: &str) -> Vec<String> {
        let found = self
            .call(
                reqwest::Method::POST,
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        let mut texts = Vec::new();
        for element in found.as_array().cloned().unwrap_or_default() {
            let id = element[ELEMENT].as_str().unwrap_or_default().to_owned();
            let text = self
                .call(reqwest::Method::GET, &format!("/element/{id}/text"), None)
                .await;
            texts.push(text.as_str().unwrap_or_default().to_owned());
        }
        texts
    }

    /// Clicks a link or button that leads to another page, and returns once that page has
    /// loaded. A WebDriver click does not always wait for the navigation it starts: without
    /// this, the next `find` can return an element of the page being left, which is gone
    /// ("stale element reference") by the time its text is asked for — or, worse, whose text
    /// is read as if it were the new page's.
    async fn follow(&self, css: &str) {
        let before = self.current_url().await;
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            // While the browser is between pages, a command may fail: that is "not yet".
            let url = self.try_call(reqwest::Method::GET, "/url", None).await;
            if url
                .as_ref()
                .is_ok_and(|url| url.as_str() != Some(before.as_str()))
            {
                let state = self
                    .try_call(
                        reqwest::Method::POST,
                        "/execute/sync",
                        Some(json!({"script": "return document.readyState", "args": []})),
                    )
                    .await;
                if state.is_ok_and(|state| state == "complete") {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "clicking {css} on {before} never led to another loaded page"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn screenshot(&self, path: &PathBuf) {
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .expect("a PNG in base64");
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(path, bytes).expect("the screenshot is written");
    }

    /// Signs in through the fake GitHub's authorise page, typing `login` as a person would.
    async fn sign_in(&self, base: &str, login: &str) {
        self.go(&format!("{base}/")).await;
        assert_eq!(self.text_of("h1").await, "Sign in");
        self.follow("a.button").await;
        assert_eq!(self.text_of("h1").await, "Authorize deploybot");
        self.type_into("#login", login).await;
        self.follow("#authorize").await;
    }

    async fn close(self) {
        self.call(reqwest::Method::DELETE, "", None).await;
    }
}

#[tokio::test]
async fn the_board_in_headless_chromium() {
    let app = try_spawn_app(AppOptions::for_demo(StoreSetup::TempFile))
        .await
        .expect("the local server and the fakes start");
    let report = run_scenario(&app, false).await;
    assert!(report.passed(), "{:?}", report.failure);
    let base = app.base_url().to_owned();
    let production = app
        .deployments()
        .await
        .expect("deployments")
        .into_iter()
        .find(|d| d.environment == Environment::Production)
        .expect("the demo deployed production");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("board");
    std::fs::create_dir_all(&out).expect("the output directory");

    let driver = Driver::start().await;
    let browser = Browser::open(&driver).await;

    // Ada signs in and lands on the grid.
    browser.sign_in(&base, world::ADA.github_login).await;
    assert_eq!(browser.current_url().await, format!("{base}/"));
    assert_eq!(browser.text_of("h1").await, "Deployments");
    assert!(
        browser
            .text_of("header .who")
            .await
            .contains(world::ADA.github_login)
    );
    let environments = browser.texts_of("th[scope=row]").await;
    for environment in ["preview", "test", "staging", "production"] {
        assert!(
            environments.iter().any(|e| e == environment),
            "{environments:?}"
        );
    }
    let body = browser.text_of("main").await;
    // The last release that succeeded (the demo's approvals chapter; a later one failed).
    assert!(
        body.contains("v1.6.0"),
        "production runs the last good release: {body}"
    );
    browser.screenshot(&out.join("grid.png")).await;

    // The repository: a click on its name.
    browser
        .follow(&format!("h2 a[href='/repos/{}']", world::REPOSITORY))
        .await;
    assert_eq!(browser.text_of("h1").await, world::REPOSITORY);
    let headings = browser.texts_of("h2").await;
    assert_eq!(headings, ["Environments", "Delivery", "History"]);
    let compare = browser.find("a[href*='/compare/']").await;
    assert!(!compare.is_empty());
    browser.screenshot(&out.join("repository.png")).await;

    // The production deployment: from the history table.
    browser
        .follow(&format!(
            "td a[href$='/deployments/{}']",
            production.id.as_str()
        ))
        .await;
    assert_eq!(
        browser.text_of("h1").await,
        format!("production: {}", production.git_ref.short_name())
    );
    let facts = browser.text_of("dl.facts").await;
    assert!(facts.contains(production.sha.as_str()), "{facts}");
    assert!(!browser.texts_of("ol.timeline li").await.is_empty());
    browser.screenshot(&out.join("deployment.png")).await;

    // Someone who cannot read acme/web: not on their grid, 404 on its page.
    browser.call(reqwest::Method::DELETE, "/cookie", None).await;
    browser.sign_in(&base, world::OUTSIDER_LOGIN).await;
    assert_eq!(browser.text_of("h1").await, "Deployments");
    assert!(!browser.text_of("main").await.contains(world::REPOSITORY));
    browser
        .go(&format!("{base}/repos/{}", world::REPOSITORY))
        .await;
    assert_eq!(browser.text_of("h1").await, "Not found");

    browser.close().await;
    drop(driver);
    app.shutdown().await.expect("stops");
    for page in ["grid", "repository", "deployment"] {
        assert!(out.join(format!("{page}.png")).is_file(), "{page}.png");
    }
}
