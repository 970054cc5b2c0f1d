//! `POST /discord/logout` (browser) and `POST /api/v1/auth/cookie/logout` (API).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::PortalError;
use crate::session::cookies::cleared_session_cookie;
use crate::session::current_user::{CurrentUser, MaybeUser};

/// Always clears the cookie and goes home, signed in or not: a stale cookie
/// should never trap someone.
pub async fn browser_logout(
    State(app): State<AppState>,
    MaybeUser(user): MaybeUser,
) -> Result<Response, PortalError> {
    if let Some(user) = user {
        app.forget_user(user.id);
    }
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, HeaderValue::from_static("/")),
            (
                header::SET_COOKIE,
                cleared_session_cookie(&app.config.session)?,
            ),
        ],
    )
        .into_response())
}

/// fastapi-users: 204 with the cookie cleared; 401 without a valid session.
pub async fn api_logout(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Response, PortalError> {
    app.forget_user(user.id);
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            cleared_session_cookie(&app.config.session)?,
        )],
    )
        .into_response())
}
