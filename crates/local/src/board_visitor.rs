//! A person visiting the board over HTTP, as a browser would without running anything: it
//! keeps the board's cookies, follows the sign-in through the fake GitHub's user authorisation
//! (answering the authorise page as `login`), and reads pages. The demo's board chapter and
//! the end-to-end tests use it.

use crate::harness::HarnessError;
use deploybot_core::board::{SESSION_COOKIE, SIGNIN_COOKIE};
use std::collections::BTreeMap;

/// A page as the board answered it.
#[derive(Debug, Clone)]
pub struct BoardPage {
    pub status: u16,
    pub body: String,
    /// `Location`, on a redirect.
    pub location: Option<String>,
}

/// One visitor: an HTTP client that follows no redirect by itself, and the cookies it holds.
#[derive(Debug)]
pub struct BoardVisitor {
    http: reqwest::Client,
    base_url: String,
    cookies: BTreeMap<String, String>,
}

fn failed(what: &str, error: impl std::fmt::Display) -> HarnessError {
    HarnessError::Http {
        what: what.to_owned(),
        message: error.to_string(),
    }
}

impl BoardVisitor {
    /// A visitor of the board at `base_url` (`http://127.0.0.1:<port>`).
    pub fn new(base_url: &str) -> Result<Self, HarnessError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| failed("building the HTTP client", e))?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            cookies: BTreeMap::new(),
        })
    }

    /// Whether the visitor holds a session cookie.
    pub fn signed_in(&self) -> bool {
        self.cookies.contains_key(SESSION_COOKIE)
    }

    /// `GET` of a board path (`/repos/acme/web`) or of an absolute URL, with the cookies held;
    /// keeps the cookies the answer sets.
    pub async fn get(&mut self, path_or_url: &str) -> Result<BoardPage, HarnessError> {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base_url)
        };
        let mut request = self.http.get(&url);
        if url.starts_with(&self.base_url) && !self.cookies.is_empty() {
            let header: Vec<String> = self
                .cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            request = request.header("cookie", header.join("; "));
        }
        let response = request.send().await.map_err(|e| failed(&url, e))?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        for set in response.headers().get_all("set-cookie") {
            let Ok(set) = set.to_str() else { continue };
            let pair = set.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        let body = response.text().await.map_err(|e| failed(&url, e))?;
        Ok(BoardPage {
            status,
            body,
            location,
        })
    }

    /// Signs in as `login` through GitHub's user authorisation (the fake GitHub approves at
    /// once for a known person); the board's page it lands on.
    pub async fn sign_in(&mut self, login: &str) -> Result<BoardPage, HarnessError> {
        let start = self.get("/signin?return_to=/").await?;
        let authorize = start
            .location
            .filter(|_| self.cookies.contains_key(SIGNIN_COOKIE))
            .ok_or_else(|| failed("/signin", "no redirect to GitHub with a sign-in cookie"))?;
        let approved = self.get(&format!("{authorize}&login={login}")).await?;
        let callback = approved.location.ok_or_else(|| {
            failed(
                "GitHub's authorise page",
                format!("HTTP {} without a redirect", approved.status),
            )
        })?;
        let back = self.get(&callback).await?;
        let landing = back.location.filter(|_| self.signed_in()).ok_or_else(|| {
            failed(
                "/signin/callback",
                format!("HTTP {}: no session", back.status),
            )
        })?;
        self.get(&landing).await
    }
}
