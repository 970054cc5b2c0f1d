//! Liveness and readiness, for load balancers and container healthchecks.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;
use settings::Secret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::error::PortalError;

/// The process is up and serving.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// Ready for traffic: the database answers.
pub async fn readyz(State(app): State<AppState>) -> impl IntoResponse {
    match app.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ready"}))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "detail": "database unavailable"})),
            )
        }
    }
}

/// Prometheus metrics; with `METRICS_TOKEN`, for its bearer only.
pub async fn metrics(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, PortalError> {
    if let Some(token) = &app.config.server.metrics_token
        && !bearer_matches(&headers, token)
    {
        app.metrics.refusal("metrics_unauthorized");
        return Err(PortalError::MetricsUnauthorized);
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics
            .render(app.listing.cache_stats(), &app.discord.route_health()),
    ))
}

/// `Authorization: Bearer <token>`, compared in constant time: the digests
/// are, so neither the token's content nor its length leaks through timing.
fn bearer_matches(headers: &HeaderMap, token: &Secret) -> bool {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, credentials)| credentials.trim());
    let presented = Sha256::digest(presented.as_bytes());
    let expected = Sha256::digest(token.expose().as_bytes());
    bool::from(presented.ct_eq(&expected)) && !token.is_empty()
}
