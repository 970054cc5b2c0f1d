//! Logs the error a request was answered with, once: a failure of ours (5xx)
//! at error level with its whole cause chain, a refusal (4xx) at debug. The
//! error's `Display` and its causes carry no tokens or secrets.
//!
//! A database outage is not a failure of ours: each request it turns away
//! is logged at warn and counted in `guildhall_refusals_total` (reason
//! `database_unavailable`), here where every route's error passes, pages'
//! and API's alike.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;
use crate::error::{Chain, PortalError, RequestError};

pub async fn error_log(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if let Some(RequestError(error)) = response.extensions().get::<RequestError>() {
        let status = response.status().as_u16();
        if let PortalError::DatabaseUnavailable(_) = &**error {
            app.metrics.refusal(error.reason());
            tracing::warn!(status, error = %Chain(&**error), "request turned away: database unavailable");
        } else if response.status().is_server_error() {
            tracing::error!(status, error = %Chain(&**error), "request failed");
        } else {
            tracing::debug!(status, error = %Chain(&**error), "request refused");
        }
    }
    response
}
