//! `github-webhook`: not built yet.

use crate::AppState;
use axum::Router;

pub fn router(_state: AppState) -> Router {
    Router::new()
}
