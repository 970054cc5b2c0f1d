//! Discord's rate-limit headers on every API answer, and the bodies of
//! scripted faults.

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::Fault;

const LIMIT: u32 = 5;

fn bucket_id(route: &str) -> String {
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

/// `X-RateLimit-*` on an API answer (a 429 already carries its own).
pub(crate) fn stamp(response: &mut Response, route: &str) {
    if response.headers().contains_key("x-ratelimit-bucket") {
        return;
    }
    let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    set(response, "x-ratelimit-limit", LIMIT.to_string());
    set(response, "x-ratelimit-remaining", (LIMIT - 1).to_string());
    set(response, "x-ratelimit-reset", format!("{:.3}", now + 1.0));
    set(response, "x-ratelimit-reset-after", "1.000".into());
    set(response, "x-ratelimit-bucket", bucket_id(route));
}

pub(crate) fn fault_response(fault: &Fault) -> Response {
    match fault {
        Fault::RateLimited {
            retry_after,
            global,
        } => {
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({"message": "You are being rate limited.", "retry_after": retry_after, "global": global})),
            )
                .into_response();
            set(
                &mut r,
                "retry-after",
                format!("{}", retry_after.ceil() as u64),
            );
            set(&mut r, "x-ratelimit-limit", LIMIT.to_string());
            set(&mut r, "x-ratelimit-remaining", "0".into());
            set(
                &mut r,
                "x-ratelimit-reset-after",
                format!("{retry_after:.3}"),
            );
            set(&mut r, "x-ratelimit-bucket", "fault".into());
            set(
                &mut r,
                "x-ratelimit-scope",
                if *global {
                    "global".into()
                } else {
                    "user".into()
                },
            );
            if *global {
                set(&mut r, "x-ratelimit-global", "true".into());
            }
            r
        }
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, Json(json!({"message": format!("{}: {}", code, status.canonical_reason().unwrap_or("Error")), "code": 0}))).into_response()
        }
        Fault::MalformedJson => (
            [(header::CONTENT_TYPE, "application/json")],
            "{\"id\": \"1\", \"name\": ",
        )
            .into_response(),
        Fault::Unauthorized => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "401: Unauthorized", "code": 0})),
        )
            .into_response(),
        // Delays are played by the caller, which then answers normally.
        Fault::Delay(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
