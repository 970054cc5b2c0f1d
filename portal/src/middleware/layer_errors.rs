//! The request timeout and the body size limit are tower-http layers; their
//! bare 408 and 413 answers become the portal's errors here, so browsers get
//! a page and the API its `{"detail": …}` like any other refusal.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{PortalError, RequestError};

pub async fn layer_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.extensions().get::<RequestError>().is_some() {
        return response;
    }
    match response.status() {
        // Only the timeout layer answers 408 (handlers never do).
        StatusCode::REQUEST_TIMEOUT => PortalError::RequestTimeout.into_response(),
        StatusCode::PAYLOAD_TOO_LARGE => PortalError::PayloadTooLarge.into_response(),
        _ => response,
    }
}
