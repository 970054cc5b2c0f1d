//! Headers every response carries: a strict CSP, no MIME sniffing, no
//! referrer, no framing, no shared caching of per-user answers, and HSTS
//! when cookies are `Secure` (`COOKIE_SECURE`, i.e. served over https).

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// The CSP allows our own origin plus Discord's CDN (or whatever
/// `DISCORD_CDN_URL` points at) for images, and nothing else: no scripts at all.
pub fn content_security_policy(cdn_url: &str) -> String {
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self' {cdn_url}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
}

pub async fn security_headers(
    State(app): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let is_static = request.uri().path().starts_with("/static/");
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, app.csp.clone());
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if app.config.session.cookie_secure {
        // Secure cookies mean the portal is served over https: browsers
        // should never try plain http for it again (two years).
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    if !is_static {
        // Pages and API answers are per-user; never let a shared cache keep them.
        h.entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    response
}
