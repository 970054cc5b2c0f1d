//! The portal's one error type. Every handler returns it; `IntoResponse` turns
//! it into an HTML page for browsers or `{"detail": …}` for the API.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error("start-up: {0}")]
    Startup(String),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "request failed");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(serde_json::json!({"detail": "INTERNAL_SERVER_ERROR"})),
        )
            .into_response()
    }
}
