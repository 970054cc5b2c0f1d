use axum::http::header;
use axum::response::IntoResponse;

/// Hand-written, and checked by a test against the router's real routes.
pub const OPENAPI: &str = include_str!("openapi.json");

pub async fn spec() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}
