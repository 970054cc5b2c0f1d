//! What wraps every route, one job per module. [`apply`] puts them in order;
//! the outermost sees the request first and the response last.

pub mod access_log;
pub mod error_log;
pub mod error_pages;
pub mod request_id;
pub mod request_metrics;
pub mod security_headers;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};

use crate::AppState;

/// Wraps `routes` in the portal's middleware, outermost first:
///
/// 1. `access_log` — one line per request, timed over everything below;
/// 2. `request_metrics` — counts and latency by route pattern;
/// 3. `request_id` — the `X-Request-Id` and the span every log line of the
///    request is written in;
/// 4. `security_headers` — CSP, no-sniff, no-referrer, no framing, no-store;
/// 5. `language` — `?lang=` switches language; every request gets its
///    `RequestLanguage` (see `crate::language`);
/// 6. `error_pages` — errors on browser routes become pages or a trip to
///    the login page, in the request's language;
/// 7. `error_log` — logs the error a handler or extractor answered with.
pub fn apply(routes: Router<AppState>, app: &AppState) -> Router<AppState> {
    routes
        .layer(from_fn(error_log::error_log))
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
