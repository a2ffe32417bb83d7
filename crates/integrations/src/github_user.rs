//! GitHub on a person's behalf, for the board's sign-in: the GitHub App's user authorisation
//! (the OAuth web flow: `{GITHUB_WEB_URL}/login/oauth/authorize`, then the code exchanged at
//! `{GITHUB_WEB_URL}/login/oauth/access_token`) and, with the person's own token, who they are
//! (`GET /user`) and which repositories they may read (`GET /user/repos`).

use crate::http::{HttpPolicy, client};
use async_trait::async_trait;
use deploybot_core::ports::{GitHubError, GitHubUser};
use deploybot_core::{GithubLogin, Repository};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

/// The default `GITHUB_WEB_URL`.
pub const DEFAULT_WEB_URL: &str = "https://github.com";
/// Pages of `GET /user/repos` read at most (100 repositories each).
pub const MAX_REPOSITORY_PAGES: usize = 10;

/// Where GitHub is and which App signs people in.
#[derive(Clone)]
pub struct GitHubUserConfig {
    /// `GITHUB_WEB_URL` (default `https://github.com`).
    pub web_url: Url,
    /// `GITHUB_API_URL` (default `https://api.github.com`).
    pub api_url: Url,
    /// `GITHUB_APP_CLIENT_ID`.
    pub client_id: String,
    /// `GITHUB_APP_CLIENT_SECRET`.
    pub client_secret: SecretString,
    pub policy: HttpPolicy,
}

impl std::fmt::Debug for GitHubUserConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubUserConfig")
            .field("web_url", &self.web_url.as_str())
            .field("api_url", &self.api_url.as_str())
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn parse_url(variable: &str, text: &str) -> Result<Url, GitHubError> {
    let url = Url::parse(text.trim())
        .map_err(|e| GitHubError::Config(format!("{variable} `{text}` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(GitHubError::Config(format!(
            "{variable} `{text}` must be an http(s) URL"
        )));
    }
    Ok(url)
}

impl GitHubUserConfig {
    /// From `GITHUB_WEB_URL` and `GITHUB_API_URL` (both optional), `GITHUB_APP_CLIENT_ID`
    /// and `GITHUB_APP_CLIENT_SECRET`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, GitHubError> {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let required =
            |name: &str| set(name).ok_or_else(|| GitHubError::Config(format!("{name} is not set")));
        let web = set("GITHUB_WEB_URL").unwrap_or_else(|| DEFAULT_WEB_URL.to_owned());
        let api =
            set("GITHUB_API_URL").unwrap_or_else(|| crate::github::DEFAULT_API_URL.to_owned());
        Ok(Self {
            web_url: parse_url("GITHUB_WEB_URL", &web)?,
            api_url: parse_url("GITHUB_API_URL", &api)?,
            client_id: required("GITHUB_APP_CLIENT_ID")?.trim().to_owned(),
            client_secret: SecretString::from(required("GITHUB_APP_CLIENT_SECRET")?.trim()),
            policy: HttpPolicy::default(),
        })
    }
}

/// The sign-in adapter.
#[derive(Debug)]
pub struct GitHubUserClient {
    http: reqwest::Client,
    config: GitHubUserConfig,
}

impl GitHubUserClient {
    pub fn new(config: GitHubUserConfig) -> Result<Self, GitHubError> {
        let http = client(&config.policy).map_err(|e| GitHubError::Config(e.to_string()))?;
        Ok(Self { http, config })
    }

    fn endpoint(base: &Url, path: &str) -> String {
        format!("{}/{path}", base.as_str().trim_end_matches('/'))
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        token: &str,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<T, GitHubError> {
        let response = self
            .http
            .get(url)
            .query(query)
            .bearer_auth(token)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .send()
            .await
            .map_err(|e| GitHubError::Transport(e.without_url().to_string()))?;
        let status = response.status().as_u16();
        match status {
            200..=299 => response
                .json()
                .await
                .map_err(|e| GitHubError::InvalidResponse(e.without_url().to_string())),
            401 => Err(GitHubError::Unauthorized("the person's token".into())),
            403 => Err(GitHubError::Forbidden(url.to_owned())),
            404 => Err(GitHubError::NotFound(url.to_owned())),
            500.. => Err(GitHubError::Server { status }),
            _ => Err(GitHubError::InvalidResponse(format!("HTTP {status}"))),
        }
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct UserAnswer {
    login: String,
}

#[derive(Deserialize)]
struct RepositoryAnswer {
    full_name: String,
}

#[async_trait]
impl GitHubUser for GitHubUserClient {
    fn authorize_url(&self, state: &str, redirect_uri: &str) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state)
            .finish();
        format!(
            "{}?{query}",
            Self::endpoint(&self.config.web_url, "login/oauth/authorize")
        )
    }

    async fn exchange_code(&self, code: &str, redirect_uri: &str) -> Result<String, GitHubError> {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.config.client_id)
            .append_pair("client_secret", self.config.client_secret.expose_secret())
            .append_pair("code", code)
            .append_pair("redirect_uri", redirect_uri)
            .finish();
        let response = self
            .http
            .post(Self::endpoint(
                &self.config.web_url,
                "login/oauth/access_token",
            ))
            .header("Accept", "application/json")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|e| GitHubError::Transport(e.without_url().to_string()))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(GitHubError::InvalidResponse(format!(
                "the code exchange answered HTTP {status}"
            )));
        }
        // GitHub answers 200 with `error` (`bad_verification_code`, ...) for a refused code.
        let answer: TokenAnswer = response
            .json()
            .await
            .map_err(|e| GitHubError::InvalidResponse(e.without_url().to_string()))?;
        match (answer.access_token, answer.error) {
            (Some(token), None) if !token.is_empty() => Ok(token),
            (_, Some(error)) => Err(GitHubError::Unauthorized(format!(
                "the sign-in code was refused: {error}"
            ))),
            _ => Err(GitHubError::InvalidResponse(
                "no access_token in the code exchange".into(),
            )),
        }
    }

    async fn login(&self, token: &str) -> Result<GithubLogin, GitHubError> {
        let user: UserAnswer = self
            .get_json(token, &Self::endpoint(&self.config.api_url, "user"), &[])
            .await?;
        GithubLogin::parse(&user.login)
            .map_err(|e| GitHubError::InvalidResponse(format!("login: {e}")))
    }

    async fn readable_repositories(&self, token: &str) -> Result<Vec<Repository>, GitHubError> {
        let url = Self::endpoint(&self.config.api_url, "user/repos");
        let mut repositories = Vec::new();
        for page in 1..=MAX_REPOSITORY_PAGES {
            let batch: Vec<RepositoryAnswer> = self
                .get_json(
                    token,
                    &url,
                    &[("per_page", "100".to_owned()), ("page", page.to_string())],
                )
                .await?;
            let last = batch.len() < 100;
            repositories.extend(
                batch
                    .iter()
                    .filter_map(|r| Repository::parse(&r.full_name).ok()),
            );
            if last {
                break;
            }
        }
        Ok(repositories)
    }
}
