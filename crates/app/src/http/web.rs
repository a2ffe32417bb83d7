//! `web`: the board — read-only pages at `GET /` and below (docs/board.md). A person signs in
//! with GitHub through the GitHub App's user authorisation and sees exactly the bound
//! repositories their own token can read; everything else, existing or not, is a 404. Pages
//! are rendered with maud, which escapes every inserted value (docs/adr/0020-web-board.md).
//!
//! Latency budget: a page in under 100 ms of server time (the store by key and index only; the
//! person's repositories from a five-minute cache). Idempotency: every route is a read, except
//! the sign-in, whose anti-forgery `state` lives in a short-lived signed cookie.

use crate::board::{self, LaneView, RepositoryView};
use crate::{AppError, AppState};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, HOST, LOCATION, REFERRER_POLICY,
    SET_COOKIE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use deploybot_core::board::{
    CookieKey, SESSION_COOKIE, SESSION_SECS, SIGNIN_COOKIE, SIGNIN_SECS, Session, SignIn,
    safe_return_path, utc_text,
};
use deploybot_core::ports::GitHubError;
use deploybot_core::{Deployment, DeploymentId, Project, Repository, Timestamp, Trigger};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use std::collections::HashMap;

mod charts;

/// Deployments per page of a repository's history.
pub const HISTORY_PAGE: usize = 25;

/// The board's content security policy: nothing but its own stylesheet; no scripts at all.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLESHEET: &str = include_str!("web/board.css");

/// The board's routes (`deploybot_core::profile::WEB_ROUTES`).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(grid_page))
        .route("/board.css", get(stylesheet))
        .route("/signin", get(sign_in))
        .route("/signin/callback", get(sign_in_callback))
        .route("/signout", get(sign_out))
        .route("/repos/{owner}/{name}", get(repository_page))
        .route(
            "/repos/{owner}/{name}/deployments/{id}",
            get(deployment_page),
        )
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
}

/// Every answer of the board carries the same security headers.
async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn stylesheet() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        STYLESHEET,
    )
        .into_response()
}

// ---- sessions --------------------------------------------------------------------------------

fn cookie_key(state: &AppState) -> Result<&CookieKey, AppError> {
    state
        .config
        .board_cookie_key
        .as_ref()
        .ok_or(AppError::NotConfigured("GITHUB_APP_CLIENT_SECRET"))
}

/// The value of cookie `name` in the request.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn set_cookie(name: &str, value: &str, max_age: i64) -> (axum::http::HeaderName, String) {
    (
        SET_COOKIE,
        format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Lax"),
    )
}

/// Who is signed in: a genuine, unexpired session cookie; anything else is nobody.
fn session(state: &AppState, headers: &HeaderMap) -> Result<Option<Session>, AppError> {
    let key = cookie_key(state)?;
    Ok(cookie(headers, SESSION_COOKIE).and_then(|text| key.open_session(text, state.clock.now())))
}

/// The signed-in person's projects, or the answer to give instead: the sign-in page when
/// nobody (or a person whose token GitHub no longer accepts) is signed in.
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
) -> Result<Result<(Session, std::sync::Arc<Vec<Project>>), Response>, AppError> {
    let Some(session) = session(state, headers)? else {
        return Ok(Err(sign_in_page(path, None, StatusCode::OK)));
    };
    match board::readable_projects(state, &session.login, &session.token).await {
        Ok(projects) => Ok(Ok((session, projects))),
        Err(AppError::GitHub(GitHubError::Unauthorized(_))) => Ok(Err(sign_in_page(
            path,
            Some("Your GitHub sign-in has ended. Sign in again to go on."),
            StatusCode::OK,
        ))),
        Err(e) => Err(e),
    }
}

#[derive(Debug, Deserialize)]
struct SignInQuery {
    #[serde(default)]
    return_to: Option<String>,
}

/// Where GitHub sends the person back: this board's own callback, on the host the request came
/// to (GitHub accepts only the callback URL registered for the App).
fn callback_url(headers: &HeaderMap) -> Result<String, AppError> {
    let host = crate::http::header(headers, HOST.as_str())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
        })
        .ok_or_else(|| AppError::bad_request("no usable Host header"))?;
    let loopback = ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|h| host == *h || host.starts_with(&format!("{h}:")));
    let scheme = if loopback { "http" } else { "https" };
    Ok(format!("{scheme}://{host}/signin/callback"))
}

/// A fresh, unguessable value for the sign-in's `state`.
fn random_state() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = String::new();
    for _ in 0..2 {
        // RandomState is keyed from the operating system's randomness per process.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out
}

/// `GET /signin`: off to GitHub, with the `state` kept in a signed cookie for the callback.
async fn sign_in(
    State(state): State<AppState>,
    Query(query): Query<SignInQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let key = cookie_key(&state)?;
    let signin = SignIn {
        state: random_state(),
        return_to: safe_return_path(query.return_to.as_deref().unwrap_or("/")),
        expires_at: state.clock.now().plus_secs(SIGNIN_SECS),
    };
    let redirect = callback_url(&headers)?;
    let location = state.github_user()?.authorize_url(&signin.state, &redirect);
    Ok((
        StatusCode::SEE_OTHER,
        [
            (LOCATION, location),
            set_cookie(SIGNIN_COOKIE, &key.seal(&signin), SIGNIN_SECS),
        ],
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
}

/// `GET /signin/callback`: the `state` must match the sign-in's cookie; the code becomes the
/// person's token and the token a session.
async fn sign_in_callback(
    State(state): State<AppState>,
    Query(query): Query<CallbackQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let key = cookie_key(&state)?;
    let now = state.clock.now();
    let signin = cookie(&headers, SIGNIN_COOKIE).and_then(|text| key.open_signin(text, now));
    let (Some(signin), Some(code), Some(returned)) = (signin, query.code, query.state) else {
        return Ok(sign_in_page(
            "/",
            Some("That sign-in did not come from this board, or took too long. Try again."),
            StatusCode::BAD_REQUEST,
        ));
    };
    let matches: bool =
        subtle::ConstantTimeEq::ct_eq(signin.state.as_bytes(), returned.as_bytes()).into();
    if !matches {
        return Ok(sign_in_page(
            "/",
            Some("That sign-in did not come from this board, or took too long. Try again."),
            StatusCode::BAD_REQUEST,
        ));
    }
    let github = state.github_user()?;
    let redirect = callback_url(&headers)?;
    let signed = async {
        let token = github.exchange_code(&code, &redirect).await?;
        let login = github.login(&token).await?;
        Ok::<_, GitHubError>(Session {
            login,
            token,
            expires_at: now.plus_secs(SESSION_SECS),
        })
    }
    .await;
    let session = match signed {
        Ok(session) => session,
        Err(error) => {
            tracing::warn!(%error, "board sign-in refused by GitHub");
            return Ok(sign_in_page(
                &signin.return_to,
                Some("GitHub did not confirm the sign-in. Try again."),
                StatusCode::BAD_GATEWAY,
            ));
        }
    };
    tracing::info!(login = %session.login, "signed in to the board");
    let mut response = (
        StatusCode::SEE_OTHER,
        [
            (LOCATION, signin.return_to.clone()),
            set_cookie(SESSION_COOKIE, &key.seal(&session), SESSION_SECS),
        ],
    )
        .into_response();
    let (name, value) = set_cookie(SIGNIN_COOKIE, "", 0);
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(name, value);
    }
    Ok(response)
}

/// `GET /signout`: the session cookie is cleared.
async fn sign_out() -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (LOCATION, "/".to_owned()),
            set_cookie(SESSION_COOKIE, "", 0),
        ],
    )
        .into_response()
}

// ---- pages -----------------------------------------------------------------------------------

/// `GET /`: the organisation's grid.
async fn grid_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let (session, projects) = match signed_in(&state, &headers, "/").await? {
        Ok(signed) => signed,
        Err(page) => return Ok(page),
    };
    let rows = board::grid(&state, &projects).await?;
    let lanes: Vec<&LaneView> = rows.iter().flat_map(|r| r.lanes.iter()).collect();
    let names = Names::gather(&state, &lanes).await?;
    let mut per_repository = Vec::with_capacity(projects.len());
    for project in projects.iter() {
        per_repository.push(board::delivery_weeks(&state, &project.repository).await?);
    }
    let organisation = deploybot_core::delivery_metrics::combine(&per_repository);
    let now = state.clock.now();
    let body = html! {
        h1 { "Deployments" }
        @if rows.is_empty() {
            p { "None of the repositories you can read on GitHub is connected to a Slack channel yet." }
        }
        @for row in &rows {
            section.repository aria-labelledby=(format!("r-{}", slug(&row.project.repository))) {
                h2 id=(format!("r-{}", slug(&row.project.repository))) {
                    a href=(repository_path(&row.project.repository)) { (row.project.repository) }
                    " "
                    a.channel href=(slack_link(&row.project)) { (channel_label(&row.project)) }
                }
                (lanes_table(row, &names, now))
            }
        }
        @if !rows.is_empty() {
            h2 { "Delivery, all repositories" }
            (charts::delivery_charts("org", &organisation))
        }
    };
    Ok(page("Deployments", Some(&session), body))
}

/// `GET /repos/{owner}/{name}`: one repository.
async fn repository_page(
    State(state): State<AppState>,
    Path((owner, name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let path = format!("/repos/{owner}/{name}");
    let (session, projects) = match signed_in(&state, &headers, &path).await? {
        Ok(signed) => signed,
        Err(page) => return Ok(page),
    };
    let Some(project) = Repository::parse(&format!("{owner}/{name}"))
        .ok()
        .and_then(|r| board::find_project(&projects, &r).cloned())
    else {
        return Ok(not_found(&session));
    };
    // A page of history starts after a cursor (`?older_than=<id>`, the last deployment of
    // the page before): one key-ordered read of one page (and one more deployment, to know
    // whether an older page exists), however deep. A cursor that is not an id is the first
    // page.
    let cursor = query
        .get("older_than")
        .and_then(|id| DeploymentId::parse(id).ok());
    let view = board::repository_view(&state, &project).await?;
    let read = HISTORY_PAGE + 1;
    let store = state.deployments()?;
    let history = match &cursor {
        Some(cursor) => {
            store
                .list_deployments_older(&project.repository, cursor, read)
                .await?
        }
        None => {
            store
                .list_deployments(&project.repository, None, read)
                .await?
        }
    };
    let has_older = history.len() == read;
    let shown: Vec<&Deployment> = history.iter().take(HISTORY_PAGE).collect();
    let lanes: Vec<&LaneView> = view.lanes.iter().collect();
    let mut names = Names::gather(&state, &lanes).await?;
    names.add_deployments(&state, &shown).await?;
    let weeks = board::delivery_weeks(&state, &project.repository).await?;
    let now = state.clock.now();
    let repository = &project.repository;
    let web = &state.config.github_web_url;
    let body = html! {
        p.crumbs { a href="/" { "All repositories" } }
        h1 { (repository) }
        p {
            a href=(format!("{web}/{repository}")) { "On GitHub" }
            " · Slack: " a href=(slack_link(&project)) { (channel_label(&project)) }
        }
        h2 { "Environments" }
        (lanes_table(&view, &names, now))
        @for lane in &view.lanes {
            @if let Some(lock) = &lane.lock {
                p.lock {
                    strong { (lane.environment) " is locked" }
                    " by " (names.slack(&lock.holder)) " since " (utc_text(lock.since))
                    " until " (utc_text(lock.until))
                    @if let Some(reason) = &lock.reason { ": " q { (reason) } }
                }
            }
            @if let Some(freeze) = &lane.freeze {
                p.freeze {
                    strong { (lane.environment) " is frozen" }
                    " by " (names.slack(&freeze.by)) " until " (utc_text(freeze.until))
                    @if let Some(reason) = &freeze.reason { ": " q { (reason) } }
                }
            }
        }
        h2 { "Delivery" }
        (charts::delivery_charts("repo", &weeks))
        h2 { "History" }
        @if shown.is_empty() {
            p { "Nothing deployed yet." }
        } @else {
            div.scroll {
                table {
                    caption.visually-hidden { "Deployments, newest first" }
                    thead { tr { th scope="col" { "When" } th scope="col" { "Environment" } th scope="col" { "Ref" } th scope="col" { "Commit" } th scope="col" { "State" } th scope="col" { "Who" } } }
                    tbody {
                        @for d in &shown {
                            tr {
                                td { a href=(deployment_path(d)) { (utc_text(d.created_at)) } }
                                td { (d.environment) }
                                td { code { (d.git_ref.short_name()) } }
                                td { a href=(format!("{web}/{repository}/commit/{}", d.sha.as_str())) { code { (d.sha.short()) } } }
                                td { span class=(state_class(d)) { (d.state.label()) } }
                                td { (names.who(d)) }
                            }
                        }
                    }
                }
            }
            nav.pages aria-label="History pages" {
                @if cursor.is_some() {
                    a rel="first" href=(path) { "Newest" }
                    " "
                }
                @if let (true, Some(last)) = (has_older, shown.last()) {
                    a rel="next" href=(format!("{path}?older_than={}", last.id.as_str())) { "Older" }
                }
            }
        }
    };
    Ok(page(repository.as_str(), Some(&session), body))
}

/// `GET /repos/{owner}/{name}/deployments/{id}`: one deployment.
async fn deployment_page(
    State(state): State<AppState>,
    Path((owner, name, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let path = format!("/repos/{owner}/{name}/deployments/{id}");
    let (session, projects) = match signed_in(&state, &headers, &path).await? {
        Ok(signed) => signed,
        Err(page) => return Ok(page),
    };
    let Some(project) = Repository::parse(&format!("{owner}/{name}"))
        .ok()
        .and_then(|r| board::find_project(&projects, &r).cloned())
    else {
        return Ok(not_found(&session));
    };
    let Ok(id) = DeploymentId::parse(&id) else {
        return Ok(not_found(&session));
    };
    let Some(d) = state
        .deployments()?
        .get_deployment(&project.repository, &id)
        .await?
    else {
        return Ok(not_found(&session));
    };
    let mut names = Names::default();
    names.add_deployments(&state, &[&d]).await?;
    let web = &state.config.github_web_url;
    let repository = &project.repository;
    let timeline = timeline(&d, &names);
    let body = html! {
        p.crumbs { a href="/" { "All repositories" } " › " a href=(repository_path(repository)) { (repository) } }
        h1 { (d.environment) ": " code { (d.git_ref.short_name()) } }
        dl.facts {
            dt { "State" } dd { span class=(state_class(&d)) { (d.state.label()) } }
            @if let Some(description) = &d.description { dt { "Why" } dd { (description) } }
            dt { "Commit" } dd { a href=(format!("{web}/{repository}/commit/{}", d.sha.as_str())) { code { (d.sha.as_str()) } } }
            dt { "Asked by" } dd { (names.who(&d)) }
            @if let Some(number) = d.pr_number { dt { "Pull request" } dd { a href=(format!("{web}/{repository}/pull/{number}")) { "#" (number) } } }
            @if let Some(url) = d.build_url.as_deref().filter(|u| is_web_link(u)) { dt { "CI" } dd { a href=(url) { "The pipeline" } } }
            @if let Some(url) = d.environment_url.as_deref().filter(|u| is_web_link(u)) { dt { "Environment" } dd { a href=(url) { (url) } } }
            @if d.github_deployment_id.is_some() { dt { "GitHub" } dd { a href=(format!("{web}/{repository}/deployments")) { "Deployments on GitHub" } } }
        }
        h2 { "Timeline" }
        ol.timeline {
            @for (at, what) in &timeline {
                li { time { (utc_text(*at)) } " " (what) }
            }
        }
    };
    Ok(page(
        &format!(
            "{} {} {}",
            repository,
            d.environment,
            d.git_ref.short_name()
        ),
        Some(&session),
        body,
    ))
}

/// What the record tells of a deployment's course, oldest first: who asked, then every state
/// it went through with why (its history); a record from before histories were kept shows
/// its success and its last state.
fn timeline(d: &Deployment, names: &Names) -> Vec<(Timestamp, String)> {
    let mut steps = vec![(d.created_at, format!("asked for by {}", names.who(d)))];
    if !d.history.is_empty() {
        steps.extend(d.history.iter().map(|change| {
            let what = match &change.why {
                Some(why) if !why.is_empty() => format!("{} — {why}", change.state.label()),
                _ => change.state.label().to_owned(),
            };
            (change.at, what)
        }));
        return steps;
    }
    if let Some(at) = d.succeeded_at {
        steps.push((at, "succeeded".to_owned()));
    }
    if d.updated_at > d.created_at && d.succeeded_at != Some(d.updated_at) {
        steps.push((d.updated_at, d.state.label().to_owned()));
    }
    steps.sort_by_key(|(at, _)| *at);
    steps
}

fn lanes_table(row: &RepositoryView, names: &Names, now: Timestamp) -> Markup {
    html! {
        div.scroll {
            table {
                caption.visually-hidden { "Environments of " (row.project.repository) }
                thead { tr {
                    th scope="col" { "Environment" } th scope="col" { "Runs" } th scope="col" { "Since" }
                    th scope="col" { "By" } th scope="col" { "Now" } th scope="col" { "Lock" }
                    th scope="col" { "Freeze" } th scope="col" { "Queue" } th scope="col" { "To promote" }
                } }
                tbody {
                    @for lane in &row.lanes {
                        (lane_row(lane, names, now))
                    }
                }
            }
        }
    }
}

fn lane_row(lane: &LaneView, names: &Names, now: Timestamp) -> Markup {
    html! {
        tr {
            th scope="row" { (lane.environment) }
            @match &lane.current {
                Some(d) => {
                    td { a href=(deployment_path(d)) { code { (d.git_ref.short_name()) } } " " code { (d.sha.short()) } }
                    td { (d.succeeded_at.unwrap_or(d.updated_at).ago(now)) }
                    td { (names.who(d)) }
                }
                None => { td { "nothing yet" } td {} td {} }
            }
            td {
                @match &lane.running {
                    Some(d) => { a href=(deployment_path(d)) { span class=(state_class(d)) { (d.state.label()) } } " " code { (d.git_ref.short_name()) } }
                    None => { "idle" }
                }
            }
            td { @if let Some(lock) = &lane.lock { "locked by " (names.slack(&lock.holder)) } }
            td { @if let Some(freeze) = &lane.freeze { "until " (utc_text(freeze.until)) } }
            td { @if lane.queued >= board::QUEUE_COUNT_LIMIT { (lane.queued) "+" } @else { (lane.queued) } }
            td {
                @if let Some(url) = &lane.promote_compare {
                    a href=(url) { "compare on GitHub" }
                }
            }
        }
    }
}

/// Names of people: GitHub logins for the Slack users who asked for things (when linked).
#[derive(Debug, Default)]
struct Names {
    slack: HashMap<String, String>,
}

impl Names {
    async fn gather(state: &AppState, lanes: &[&LaneView]) -> Result<Self, AppError> {
        let mut names = Self::default();
        for lane in lanes {
            let deployments: Vec<&Deployment> =
                lane.current.iter().chain(lane.running.iter()).collect();
            names.add_deployments(state, &deployments).await?;
            if let Some(lock) = &lane.lock {
                names.add(state, &lock.holder).await?;
            }
            if let Some(freeze) = &lane.freeze {
                names.add(state, &freeze.by).await?;
            }
        }
        Ok(names)
    }

    async fn add_deployments(
        &mut self,
        state: &AppState,
        deployments: &[&Deployment],
    ) -> Result<(), AppError> {
        for d in deployments {
            if let Some(user) = slack_user_of(&d.trigger) {
                self.add(state, user).await?;
            }
        }
        Ok(())
    }

    async fn add(
        &mut self,
        state: &AppState,
        user: &deploybot_core::SlackUserId,
    ) -> Result<(), AppError> {
        if !self.slack.contains_key(user.as_str()) {
            let name = match board::github_login_of(state, user).await? {
                Some(login) => format!("@{login}"),
                None => "someone in Slack".to_owned(),
            };
            self.slack.insert(user.as_str().to_owned(), name);
        }
        Ok(())
    }

    fn slack(&self, user: &deploybot_core::SlackUserId) -> String {
        self.slack
            .get(user.as_str())
            .cloned()
            .unwrap_or_else(|| "someone in Slack".to_owned())
    }

    /// Who asked for `d`.
    fn who(&self, d: &Deployment) -> String {
        match &d.trigger {
            Trigger::PullRequest { number, .. } => match &d.commit_author {
                Some(login) => format!("@{login} (pull request #{number})"),
                None => format!("pull request #{number}"),
            },
            Trigger::Push { pusher } | Trigger::Tag { pusher } => {
                match pusher.as_ref().or(d.commit_author.as_ref()) {
                    Some(login) => format!("@{login} (push)"),
                    None => "a push".to_owned(),
                }
            }
            Trigger::Manual { slack_user } => self.slack(slack_user),
            Trigger::Retry { slack_user, .. } => format!("{} (retry)", self.slack(slack_user)),
            Trigger::Rollback { slack_user, .. } => {
                format!("{} (rollback)", self.slack(slack_user))
            }
        }
    }
}

fn slack_user_of(trigger: &Trigger) -> Option<&deploybot_core::SlackUserId> {
    match trigger {
        Trigger::Manual { slack_user }
        | Trigger::Retry { slack_user, .. }
        | Trigger::Rollback { slack_user, .. } => Some(slack_user),
        Trigger::PullRequest { .. } | Trigger::Push { .. } | Trigger::Tag { .. } => None,
    }
}

/// Only http(s) links are made clickable (a stored URL is never a `javascript:` link).
fn is_web_link(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

fn state_class(d: &Deployment) -> String {
    format!("state state-{}", d.state.as_str())
}

fn slug(repository: &Repository) -> String {
    repository.as_str().replace('/', "-")
}

fn channel_label(project: &Project) -> String {
    match &project.channel_name {
        Some(name) => format!("#{name}"),
        None => "a Slack channel".to_owned(),
    }
}

/// Slack's link that opens the project's channel (the board does not act; the channel does).
fn slack_link(project: &Project) -> String {
    match &project.team {
        Some(team) => format!(
            "https://slack.com/app_redirect?team={}&channel={}",
            team.as_str(),
            project.channel.as_str()
        ),
        None => format!(
            "https://slack.com/app_redirect?channel={}",
            project.channel.as_str()
        ),
    }
}

fn repository_path(repository: &Repository) -> String {
    format!("/repos/{repository}")
}

fn deployment_path(d: &Deployment) -> String {
    format!("/repos/{}/deployments/{}", d.repository, d.id.as_str())
}

/// The page frame.
fn page(title: &str, session: Option<&Session>, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · deploybot" }
                link rel="stylesheet" href="/board.css";
            }
            body {
                a.skip href="#main" { "Skip to the content" }
                header {
                    a.brand href="/" { "deploybot" }
                    @if let Some(session) = session {
                        span.who { "Signed in as " strong { (session.login) } " · " a href="/signout" { "Sign out" } }
                    }
                }
                main id="main" { (body) }
                footer { p { "Read only: deploy, lock and roll back from Slack." } }
            }
        }
    };
    (
        [(CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

fn sign_in_page(return_to: &str, note: Option<&str>, status: StatusCode) -> Response {
    let href = format!(
        "/signin?{}",
        serde_urlencoded::to_string([("return_to", safe_return_path(return_to))])
            .unwrap_or_default()
    );
    let body = html! {
        h1 { "Sign in" }
        @if let Some(note) = note { p.note role="status" { (note) } }
        p { "The board shows the repositories you can read on GitHub." }
        p { a.button href=(href) { "Sign in with GitHub" } }
    };
    let mut response = page("Sign in", None, body);
    *response.status_mut() = status;
    response
}

fn not_found(session: &Session) -> Response {
    let body = html! {
        h1 { "Not found" }
        p { "There is nothing here that you can see. " a href="/" { "All repositories" } }
    };
    let mut response = page("Not found", Some(session), body);
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}
