//! The middleware around every route: log the request, play a scripted fault
//! if one is queued for its route, stamp rate-limit headers on API answers.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::faults::{self, Fault};
use crate::ratelimit_headers;
use crate::state::{RecordedRequest, Shared};

/// Bodies above this are cut off: nothing Discord accepts is that large.
const MAX_BODY: usize = 1 << 20;
/// Everything below this prefix is "the API" (faults, rate-limit headers).
const API_PREFIX: &str = "/api/v10";

pub(crate) async fn record_and_fault(
    State(shared): State<Shared>,
    request: Request,
    next: Next,
) -> Response {
    let (entry, request) = capture(request).await;
    let path = entry.path.clone();
    let index = shared.record(entry);

    let route = path.strip_prefix(API_PREFIX).map(str::to_owned);
    let fault = route.as_deref().and_then(|r| shared.lock().faults.take(r));
    let mut exhausted_for = None;
    let mut response = match &fault {
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(*d).await;
            next.run(request).await
        }
        Some(Fault::BucketExhausted { reset_after }) => {
            exhausted_for = Some(*reset_after);
            next.run(request).await
        }
        Some(other) => match faults::response(other, route.as_deref().unwrap_or_default()) {
            Some(r) => r,
            None => next.run(request).await,
        },
        None => next.run(request).await,
    };
    // Cloudflare's own 429 never reached Discord's rate limiter.
    let from_the_edge = matches!(fault, Some(Fault::EdgeRateLimited { .. }));
    if let Some(route) = route.as_deref().filter(|_| !from_the_edge) {
        ratelimit_headers::stamp(&mut response, route, exhausted_for);
    }
    shared.set_status(index, response.status().as_u16());
    response
}

/// Reads the request (body included) into a log entry, and rebuilds the
/// request for the handler. The arrival time is taken before the body is read.
pub(crate) async fn capture(request: Request) -> (RecordedRequest, Request) {
    let at = Instant::now();
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .unwrap_or_default();
    let entry = RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
        at,
        status: 0,
    };
    (entry, Request::from_parts(parts, Body::from(bytes)))
}
