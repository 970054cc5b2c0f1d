//! Headers every response carries, and the access log. The log records the
//! path but never the query string: `/discord/callback?code=…&state=…` carries
//! a one-time authorization code.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::AppState;

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The CSP allows our own origin plus Discord's CDN (or whatever
/// `DISCORD_CDN_URL` points at) for images, and nothing else: no scripts at all.
pub fn content_security_policy(cdn_url: &str) -> String {
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self' {cdn_url}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
}

pub async fn security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    // The route pattern, not the path: ids would make every guild its own series.
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .cloned();
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{:016x}", rand::random::<u64>()));

    // Every log line written while handling the request carries its id.
    let span = tracing::info_span!("request", request_id = %request_id);
    let mut response = next.run(request).instrument(span).await;

    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, state.csp.clone());
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !path.starts_with("/static/") {
        // Pages and API answers are per-user; never let a shared cache keep them.
        h.entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert(REQUEST_ID.clone(), v);
    }
    let elapsed = started.elapsed();
    let route = route.as_ref().map_or("unmatched", |m| m.as_str());
    state
        .metrics
        .request(route, response.status().as_u16(), elapsed);
    tracing::info!(
        request_id = %request_id,
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    response
}
