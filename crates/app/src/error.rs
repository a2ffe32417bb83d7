//! One error type for every handler. A caller's mistake maps to 400/401/413 with a short
//! reason; anything internal is logged with its context and answered opaquely with 500.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use deploybot_core::ports::{CiError, GitHubError, InvokeError, SlackError, StoreError};
use deploybot_core::signature::SignatureError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Missing or bad signature: 401, nothing happened.
    #[error("unauthorized: {0}")]
    Unauthorized(#[from] SignatureError),
    /// The request is malformed: 400 with this reason.
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("{0} is not configured for this function")]
    NotConfigured(&'static str),
    /// A handler reached a table, client or function its profile does not grant.
    #[error("{0}")]
    OutsideProfile(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Invoke(#[from] InvokeError),
    #[error(transparent)]
    Slack(#[from] SlackError),
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error(transparent)]
    Ci(#[from] CiError),
    #[error("internal: {0}")]
    Internal(String),
}

impl AppError {
    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::BadRequest(reason.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// True for errors caused by the caller (no retry will help).
    pub fn is_caller_error(&self) -> bool {
        self.status().is_client_error()
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            Self::Unauthorized(e) => format!("unauthorized: {e}"),
            Self::BadRequest(reason) => format!("bad request: {reason}"),
            Self::PayloadTooLarge => "request body too large".to_owned(),
            internal => {
                tracing::error!(error = %internal, "internal error");
                "internal error".to_owned()
            }
        };
        let refused = status.is_client_error().then(|| body.clone());
        let mut response = (status, body).into_response();
        if let Some(reason) = refused {
            response
                .extensions_mut()
                .insert(crate::http::Refusal(reason));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(
            AppError::from(SignatureError::Mismatch).status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(AppError::bad_request("x").status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            AppError::PayloadTooLarge.status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let internal = AppError::Store(StoreError::Backend("disk".into()));
        assert_eq!(internal.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!internal.is_caller_error());
    }
}
