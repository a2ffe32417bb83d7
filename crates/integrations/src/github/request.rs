//! One GitHub REST request: headers (API version, media type, bearer token), retries through
//! the shared HTTP plumbing, rate-limit answers turned into typed errors, and `Link`
//! pagination.

use crate::http::{self, HttpPolicy, Idempotency, Sleeper};
use deploybot_core::Timestamp;
use deploybot_core::ports::GitHubError;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

pub(crate) const MEDIA_TYPE: &str = "application/vnd.github+json";
pub(crate) const API_VERSION: &str = "2022-11-28";

/// A GitHub answer that was not retried away: status, headers, body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, GitHubError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            GitHubError::InvalidResponse(format!(
                "HTTP {} with an unreadable body: {e}",
                self.status
            ))
        })
    }

    /// GitHub's `message`, or a short description of the body.
    pub(crate) fn message(&self) -> String {
        serde_json::from_slice::<super::wire::ErrorBody>(&self.body)
            .ok()
            .and_then(|b| b.message)
            .unwrap_or_else(|| format!("HTTP {}", self.status))
    }

    /// The `rel="next"` target of the `Link` header.
    pub(crate) fn next_page(&self) -> Option<String> {
        let link = self.headers.get("link")?.to_str().ok()?;
        next_link(link)
    }

    /// The typed error for an answer the caller does not handle itself. `what` names the
    /// thing looked for, for a 404.
    pub(crate) fn refused(&self, what: &str) -> GitHubError {
        crate::http::provider_error("github", self.status.as_u16());
        match self.status.as_u16() {
            401 | 403 => GitHubError::Unauthorized(self.message()),
            404 => GitHubError::NotFound(what.to_owned()),
            422 => GitHubError::Validation(self.message()),
            status if status >= 500 => GitHubError::Server { status },
            status => GitHubError::InvalidResponse(format!("HTTP {status}: {}", self.message())),
        }
    }
}

/// The `rel="next"` URL in a `Link` header value
/// (`<https://…?page=2>; rel="next", <https://…?page=5>; rel="last"`).
pub(crate) fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim();
                p == "rel=\"next\"" || p == "rel=next"
            })
            .then(|| target.to_owned())
    })
}

/// Seconds to wait when GitHub says "rate limited": a 403 or 429 with `Retry-After`, or with
/// `x-ratelimit-remaining: 0` and `x-ratelimit-reset`. None for any other answer (a 403
/// without these is a permission problem).
pub(crate) fn rate_limit_wait(
    status: StatusCode,
    headers: &HeaderMap,
    now: Timestamp,
) -> Option<u64> {
    if status != StatusCode::FORBIDDEN && status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    if let Some(secs) = http::retry_after(headers) {
        return Some(secs);
    }
    let exhausted = headers
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0");
    if exhausted {
        return Some(http::ratelimit_reset(headers, now.secs()).unwrap_or(60));
    }
    // A 429 without either header still means "slow down".
    (status == StatusCode::TOO_MANY_REQUESTS).then_some(60)
}

/// Sends one request (with the shared retry policy) and returns what GitHub answered, or the
/// typed error for transport failures, 5xx answers that outlived the retries, rate limits
/// and 401s.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn send(
    client: &reqwest::Client,
    policy: &HttpPolicy,
    sleeper: &dyn Sleeper,
    idempotency: Idempotency,
    method: Method,
    url: &Url,
    authorization: &SecretString,
    body: Option<&serde_json::Value>,
    now: Timestamp,
) -> Result<Answer, GitHubError> {
    let bearer = http::secret_header(&format!("Bearer {}", authorization.expose_secret()))
        .ok_or_else(|| {
            GitHubError::InvalidResponse("a token that is not a header value".to_owned())
        })?;
    let build = || {
        let request = client
            .request(method.clone(), url.clone())
            .header(ACCEPT, MEDIA_TYPE)
            .header("x-github-api-version", API_VERSION)
            .header(AUTHORIZATION, bearer.clone());
        match body {
            Some(body) => request.json(body),
            None => request,
        }
    };
    let path = url.path().to_owned();
    let response = http::send_with_retries(policy, idempotency, sleeper, build)
        .await
        .map_err(|error| {
            let kind = if error.is_timeout() {
                format!("no answer within {:?}", policy.timeout)
            } else {
                http::error_chain(&error.without_url())
            };
            tracing::warn!(%method, %path, error = %kind, "GitHub request failed");
            GitHubError::Transport(format!("{method} {path}: {kind}"))
        })?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .map_err(|e| {
            GitHubError::Transport(format!(
                "{method} {path}: reading the answer: {}",
                http::error_chain(&e.without_url())
            ))
        })?
        .to_vec();
    tracing::debug!(%method, %path, %status, "GitHub answered");
    let answer = Answer {
        status,
        headers,
        body,
    };
    if let Some(retry_after_secs) = rate_limit_wait(status, &answer.headers, now) {
        crate::http::provider_error("github", status.as_u16());
        return Err(GitHubError::RateLimited { retry_after_secs });
    }
    if status.is_server_error() {
        crate::http::provider_error("github", status.as_u16());
        return Err(GitHubError::Server {
            status: status.as_u16(),
        });
    }
    if status == StatusCode::UNAUTHORIZED {
        crate::http::provider_error("github", status.as_u16());
        return Err(GitHubError::Unauthorized(answer.message()));
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn finds_the_next_link() {
        let header = "<https://api.github.com/repositories/1/collaborators?page=1>; rel=\"prev\", \
                      <https://api.github.com/repositories/1/collaborators?per_page=100&page=3>; rel=\"next\", \
                      <https://api.github.com/repositories/1/collaborators?page=5>; rel=\"last\"";
        assert_eq!(
            next_link(header).as_deref(),
            Some("https://api.github.com/repositories/1/collaborators?per_page=100&page=3")
        );
        assert_eq!(next_link("<https://x/?page=5>; rel=\"last\""), None);
        assert_eq!(next_link(""), None);
    }

    #[test]
    fn rate_limit_answers() {
        let now = Timestamp::from_secs(1000);
        let mut headers = HeaderMap::new();
        assert_eq!(rate_limit_wait(StatusCode::FORBIDDEN, &headers, now), None);
        assert_eq!(
            rate_limit_wait(StatusCode::TOO_MANY_REQUESTS, &headers, now),
            Some(60)
        );
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        headers.insert("x-ratelimit-reset", HeaderValue::from_static("1042"));
        assert_eq!(
            rate_limit_wait(StatusCode::FORBIDDEN, &headers, now),
            Some(42)
        );
        headers.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(
            rate_limit_wait(StatusCode::FORBIDDEN, &headers, now),
            Some(7)
        );
        assert_eq!(rate_limit_wait(StatusCode::NOT_FOUND, &headers, now), None);
    }
}
