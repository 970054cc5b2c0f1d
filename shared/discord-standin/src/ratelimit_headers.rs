//! Discord's `X-RateLimit-*` headers on every API answer. The stand-in never
//! enforces limits on its own (tests would slow down for nothing); it
//! advertises a roomy bucket and leaves real pressure to scripted faults.

use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;

/// Requests per bucket window, as advertised.
const LIMIT: u32 = 5;
/// Seconds until an advertised bucket refills.
const WINDOW: f64 = 1.0;

/// Discord's bucket ids are opaque hashes; one per route, stable across runs.
pub(crate) fn bucket_id(route: &str) -> String {
    let h = route.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{h:016x}")
}

fn set(response: &mut Response, name: &'static str, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(name), v);
    }
}

fn now_secs() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

fn bucket_headers(response: &mut Response, route: &str, remaining: u32, reset_after: f64) {
    set(response, "x-ratelimit-limit", LIMIT.to_string());
    set(response, "x-ratelimit-remaining", remaining.to_string());
    set(
        response,
        "x-ratelimit-reset",
        format!("{:.3}", now_secs() + reset_after),
    );
    set(
        response,
        "x-ratelimit-reset-after",
        format!("{reset_after:.3}"),
    );
    set(response, "x-ratelimit-bucket", bucket_id(route));
}

/// Stamps an API answer, unless a 429 already carries its own headers.
/// `exhausted_for` (seconds) advertises an empty bucket.
pub(crate) fn stamp(response: &mut Response, route: &str, exhausted_for: Option<f64>) {
    if response.headers().contains_key("x-ratelimit-bucket") {
        return;
    }
    match exhausted_for {
        Some(reset_after) => bucket_headers(response, route, 0, reset_after),
        None => bucket_headers(response, route, LIMIT - 1, WINDOW),
    }
}

/// The headers of a 429: the bucket is empty, plus `Retry-After` (whole
/// seconds, rounded up, as Discord sends it) and the scope (`user`,
/// `global` or `shared`).
pub(crate) fn stamp_429(response: &mut Response, route: &str, retry_after: f64, scope: &str) {
    bucket_headers(response, route, 0, retry_after);
    set(
        response,
        "retry-after",
        format!("{}", retry_after.max(0.0).ceil() as u64),
    );
    set(response, "x-ratelimit-scope", scope.into());
    if scope == "global" {
        set(response, "x-ratelimit-global", "true".into());
    }
}
