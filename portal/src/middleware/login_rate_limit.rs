//! Wraps the login routes only: a client address past its login budget is
//! answered 429 here, before the handler can call Discord or write a state.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::PortalError;

pub async fn login_rate_limit(
    State(app): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(limiter) = &app.login_limiter else {
        return next.run(request).await;
    };
    // Every server this crate starts records the peer; a router driven
    // without one (an in-memory test) counts as one anonymous client.
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let client = app
        .config
        .server
        .trusted_proxies
        .client_ip(peer, request.headers());
    match limiter.check(client) {
        Ok(()) => next.run(request).await,
        Err(retry_after) => {
            app.metrics.refusal("login_rate_limited");
            PortalError::TooManyLoginAttempts { retry_after }.into_response()
        }
    }
}
