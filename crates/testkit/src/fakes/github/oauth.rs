//! The fake GitHub's side of the board's sign-in: the GitHub App's user authorisation (the
//! OAuth web flow) and what a person's own token reads. People are added with
//! [`FakeGitHub::add_person`], each with the repositories they may read. Served over HTTP at
//! the fake's base URL (it is both `GITHUB_WEB_URL` and `GITHUB_API_URL`):
//!
//! - `GET /login/oauth/authorize?client_id&redirect_uri&state[&login]`: with a known `login`,
//!   redirects to `redirect_uri` with a one-time `code` and the `state` (the person approved);
//!   without one, a small page asks who signs in (what a browser test fills in);
//! - `POST /login/oauth/access_token` (form): the App's client id and secret and the code →
//!   `{"access_token": ...}`, or GitHub's `{"error": "bad_verification_code"}`;
//! - `GET /user` and `GET /user/repos` with `Authorization: Bearer <token>`.

use super::FakeGitHub;
use super::http::json_response;
use async_trait::async_trait;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use deploybot_core::ports::{GitHubError, GitHubUser};
use deploybot_core::{GithubLogin, Repository};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The client id the fake's App signs people in with.
pub const FAKE_CLIENT_ID: &str = "Iv1.fakeboardclient";
/// The client secret the fake's App exchanges codes with (tests only).
pub const FAKE_CLIENT_SECRET: &str = "fake-board-client-secret";

/// People, their one-time codes and their tokens.
#[derive(Debug, Default)]
pub(super) struct People {
    /// login → repositories they may read.
    readable: BTreeMap<GithubLogin, BTreeSet<Repository>>,
    /// code → login (used once).
    codes: HashMap<String, GithubLogin>,
    /// token → login.
    tokens: HashMap<String, GithubLogin>,
    issued: u64,
}

impl FakeGitHub {
    /// A person who can sign in and read `repositories` (they see them only while the App is
    /// installed on them too, as with a GitHub App's user token).
    pub fn add_person(&self, login: &str, repositories: &[&Repository]) {
        let Ok(login) = GithubLogin::parse(login) else {
            return;
        };
        let mut state = self.lock();
        state
            .people
            .readable
            .entry(login)
            .or_default()
            .extend(repositories.iter().map(|r| (*r).clone()));
    }

    /// Takes `repository` away from `login` (their access was removed on GitHub).
    pub fn remove_access(&self, login: &str, repository: &Repository) {
        let Ok(login) = GithubLogin::parse(login) else {
            return;
        };
        if let Some(set) = self.lock().people.readable.get_mut(&login) {
            set.remove(repository);
        }
    }

    /// Every token the fake handed to people stops working.
    pub fn revoke_user_tokens(&self) {
        self.lock().people.tokens.clear();
    }

    /// `login` approves the App: a one-time code for the callback (what the authorise page
    /// redirects with). `None` for an unknown person.
    pub fn approve_sign_in(&self, login: &str) -> Option<String> {
        let login = GithubLogin::parse(login).ok()?;
        let mut state = self.lock();
        if !state.people.readable.contains_key(&login) {
            return None;
        }
        state.people.issued += 1;
        let code = format!("code{:06}", state.people.issued);
        state.people.codes.insert(code.clone(), login);
        Some(code)
    }

    fn exchange(&self, client_id: &str, secret: &str, code: &str) -> Option<String> {
        if client_id != FAKE_CLIENT_ID || secret != FAKE_CLIENT_SECRET {
            return None;
        }
        let mut state = self.lock();
        let login = state.people.codes.remove(code)?;
        state.people.issued += 1;
        let token = format!("ghu_fake{:08}", state.people.issued);
        state.people.tokens.insert(token.clone(), login);
        Some(token)
    }

    fn person(&self, token: &str) -> Option<GithubLogin> {
        self.lock().people.tokens.get(token).cloned()
    }

    /// What `login` may read among the repositories the fake knows (the App is installed on).
    fn readable_by(&self, login: &GithubLogin) -> Vec<Repository> {
        let state = self.lock();
        state
            .people
            .readable
            .get(login)
            .map(|set| {
                set.iter()
                    .filter(|r| state.repos.contains_key(*r))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .or_else(|| {
            headers
                .get("authorization")?
                .to_str()
                .ok()?
                .strip_prefix("token ")
        })
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(super) fn route(
    fake: &FakeGitHub,
    method: &Method,
    segments: &[&str],
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, super::Failure> {
    match (method, segments) {
        (&Method::GET, ["login", "oauth", "authorize"]) => {
            let redirect = query.get("redirect_uri").cloned().unwrap_or_default();
            let state = query.get("state").cloned().unwrap_or_default();
            if query.get("client_id").map(String::as_str) != Some(FAKE_CLIENT_ID) {
                return Ok((StatusCode::NOT_FOUND, "unknown client_id").into_response());
            }
            match query.get("login") {
                Some(login) => match fake.approve_sign_in(login) {
                    Some(code) => {
                        let sep = if redirect.contains('?') { '&' } else { '?' };
                        let location = format!(
                            "{redirect}{sep}{}",
                            serde_urlencoded::to_string([
                                ("code", code.as_str()),
                                ("state", state.as_str())
                            ])
                            .unwrap_or_default()
                        );
                        Ok((StatusCode::FOUND, [("location", location)]).into_response())
                    }
                    None => Ok((StatusCode::UNAUTHORIZED, "no such person").into_response()),
                },
                None => {
                    let page = format!(
                        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
                         <title>Authorize deploybot</title></head><body>\
                         <h1>Authorize deploybot</h1>\
                         <form method=\"get\" action=\"/login/oauth/authorize\">\
                         <input type=\"hidden\" name=\"client_id\" value=\"{}\">\
                         <input type=\"hidden\" name=\"redirect_uri\" value=\"{}\">\
                         <input type=\"hidden\" name=\"state\" value=\"{}\">\
                         <label>Username <input id=\"login\" name=\"login\"></label>\
                         <button id=\"authorize\" type=\"submit\">Authorize</button>\
                         </form></body></html>",
                        FAKE_CLIENT_ID,
                        html_escape(&redirect),
                        html_escape(&state)
                    );
                    Ok((
                        StatusCode::OK,
                        [("content-type", "text/html; charset=utf-8")],
                        page,
                    )
                        .into_response())
                }
            }
        }
        (&Method::POST, ["login", "oauth", "access_token"]) => {
            let form: HashMap<String, String> =
                serde_urlencoded::from_bytes(body).unwrap_or_default();
            let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
            let answer =
                match fake.exchange(field("client_id"), field("client_secret"), field("code")) {
                    Some(token) => {
                        json!({"access_token": token, "token_type": "bearer", "scope": ""})
                    }
                    None => json!({
                        "error": "bad_verification_code",
                        "error_description": "The code passed is incorrect or expired."
                    }),
                };
            Ok(json_response(StatusCode::OK, answer))
        }
        (&Method::GET, ["user"]) => {
            let login = bearer(headers)
                .and_then(|t| fake.person(t))
                .ok_or_else(unauthorized)?;
            Ok(json_response(
                StatusCode::OK,
                json!({"login": login.as_str(), "type": "User"}),
            ))
        }
        (&Method::GET, ["user", "repos"]) => {
            let login = bearer(headers)
                .and_then(|t| fake.person(t))
                .ok_or_else(unauthorized)?;
            let per_page: usize = query
                .get("per_page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(30)
                .clamp(1, 100);
            let page: usize = query
                .get("page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1)
                .max(1);
            let items: Vec<_> = fake
                .readable_by(&login)
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|r| json!({"full_name": r.as_str(), "name": r.name(), "private": true}))
                .collect();
            Ok(json_response(StatusCode::OK, json!(items)))
        }
        _ => Err(super::Failure::not_found()),
    }
}

fn unauthorized() -> super::Failure {
    super::Failure::new(401, "Bad credentials")
}

/// The same person's side, called directly (handler tests without HTTP).
#[async_trait]
impl GitHubUser for FakeGitHub {
    fn authorize_url(&self, state: &str, redirect_uri: &str) -> String {
        format!(
            "https://github.example/login/oauth/authorize?{}",
            serde_urlencoded::to_string([
                ("client_id", FAKE_CLIENT_ID),
                ("redirect_uri", redirect_uri),
                ("state", state)
            ])
            .unwrap_or_default()
        )
    }

    async fn exchange_code(&self, code: &str, _redirect_uri: &str) -> Result<String, GitHubError> {
        self.lock()
            .calls
            .push("POST /login/oauth/access_token".into());
        self.exchange(FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, code)
            .ok_or_else(|| GitHubError::Unauthorized("bad_verification_code".into()))
    }

    async fn login(&self, token: &str) -> Result<GithubLogin, GitHubError> {
        self.lock().calls.push("GET /user".into());
        self.person(token)
            .ok_or_else(|| GitHubError::Unauthorized("Bad credentials".into()))
    }

    async fn readable_repositories(&self, token: &str) -> Result<Vec<Repository>, GitHubError> {
        self.lock().calls.push("GET /user/repos".into());
        let login = self
            .person(token)
            .ok_or_else(|| GitHubError::Unauthorized("Bad credentials".into()))?;
        Ok(self.readable_by(&login))
    }
}
