//! Requests and their latency for `GET /metrics`, by route pattern.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

pub async fn request_metrics(
    State(app): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    // The route pattern, not the path: ids would make every guild its own series.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    let route = route.as_ref().map_or("unmatched", |m| m.as_str());
    app.metrics
        .request(route, response.status().as_u16(), started.elapsed());
    response
}
