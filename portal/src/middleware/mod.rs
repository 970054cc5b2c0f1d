//! What wraps every route, one job per module. [`apply`] puts them in order;
//! the outermost sees the request first and the response last.

pub mod access_log;
pub mod error_log;
pub mod error_pages;
pub mod layer_errors;
pub mod login_rate_limit;
pub mod request_id;
pub mod request_metrics;
pub mod security_headers;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::AppState;

/// Wraps `routes` in the portal's middleware, outermost first:
///
/// 1. `access_log` — one line per request, timed over everything below;
/// 2. `request_metrics` — counts and latency by route pattern;
/// 3. `request_id` — the `X-Request-Id` and the span every log line of the
///    request is written in;
/// 4. `security_headers` — CSP, no-sniff, no-referrer, no framing, no-store,
///    HSTS behind TLS;
/// 5. `language` — `?lang=` switches language; every request gets its
///    `RequestLanguage` (see `crate::language`);
/// 6. `error_pages` — errors on browser routes become pages or a trip to
///    the login page, in the request's language;
/// 7. `error_log` — logs the error a handler or extractor answered with;
/// 8. `layer_errors` — the two layers below answer as the portal does;
/// 9. the request timeout (`REQUEST_TIMEOUT_SECONDS`), a backstop behind
///    the Discord client's own timeouts;
/// 10. the body size limit (`REQUEST_BODY_LIMIT_BYTES`).
///
/// The login routes add `login_rate_limit` inside all of these (see `app`).
pub fn apply(routes: Router<AppState>, app: &AppState) -> Router<AppState> {
    let server = &app.config.server;
    routes
        .layer(RequestBodyLimitLayer::new(server.body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            server.request_timeout,
        ))
        .layer(from_fn(layer_errors::layer_errors))
        .layer(from_fn_with_state(app.clone(), error_log::error_log))
        .layer(from_fn_with_state(app.clone(), error_pages::error_pages))
        .layer(from_fn_with_state(app.clone(), crate::language::language))
        .layer(from_fn_with_state(
            app.clone(),
            security_headers::security_headers,
        ))
        .layer(from_fn(request_id::request_id))
        .layer(from_fn_with_state(
            app.clone(),
            request_metrics::request_metrics,
        ))
        .layer(from_fn(access_log::access_log))
}
