//! `GET /discord/callback`: Discord sends the browser back here.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::PortalError;
use crate::login::{self, CallbackParams, LoggedIn};
use crate::session::cookies::{CSRF_COOKIE, clear_cookie, read_cookie, set_cookie};

pub async fn discord_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> Result<Response, PortalError> {
    let logged_in = login::complete(
        &state,
        &params,
        read_cookie(&headers, CSRF_COOKIE),
        &state.config.redirect_uri(),
    )
    .await?;
    let mut out = session_headers(&state, &logged_in)?;
    out.insert(
        header::LOCATION,
        HeaderValue::from_str(&logged_in.next).map_err(|e| PortalError::Internal(e.to_string()))?,
    );
    Ok((StatusCode::FOUND, out).into_response())
}

/// The session cookie, and the spent CSRF cookie cleared (fastapi-users
/// leaves it behind).
pub fn session_headers(state: &AppState, logged_in: &LoggedIn) -> Result<HeaderMap, PortalError> {
    let c = &state.config;
    let session = set_cookie(
        &c.session_cookie_name,
        logged_in.session.expose(),
        state.sessions.lifetime().as_secs(),
        c.cookie_secure,
    );
    let mut headers = HeaderMap::new();
    for cookie in [session, clear_cookie(CSRF_COOKIE, c.cookie_secure)] {
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie).map_err(|e| PortalError::Internal(e.to_string()))?,
        );
    }
    Ok(headers)
}
