//! Logs the error a request was answered with, once: a failure of ours (5xx)
//! at error level with its whole cause chain, a refusal (4xx) at debug. The
//! error's `Display` and its causes carry no tokens or secrets.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::{Chain, RequestError};

pub async fn error_log(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if let Some(RequestError(error)) = response.extensions().get::<RequestError>() {
        let status = response.status().as_u16();
        if response.status().is_server_error() {
            tracing::error!(status, error = %Chain(&**error), "request failed");
        } else {
            tracing::debug!(status, error = %Chain(&**error), "request refused");
        }
    }
    response
}
