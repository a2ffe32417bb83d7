//! The local HTTP server: every HTTP function's router under its API Gateway path, plus
//! `GET /healthz`, served with `axum::serve` on 127.0.0.1 (the Lambda runtime is not used
//! locally: it needs Lambda's environment).

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use deploybot_app::wiring::Functions;
use std::future::Future;
use tokio::net::TcpListener;

/// The local server's routes.
pub fn router(functions: &Functions) -> Router {
    // The handlers answer 413 themselves for bodies over the configured limit; axum's own
    // limit sits just above so that those bodies reach them. `/github/webhook` sets its own,
    // larger limit on its route, which wins over this one.
    let limit = functions.config().max_body_bytes.saturating_add(1);
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .merge(functions.router())
        .layer(DefaultBodyLimit::max(limit))
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
