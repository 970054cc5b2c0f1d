//! Ending sessions: `POST /discord/logout` and `POST /discord/logout-everywhere`
//! (browser), `POST /api/v1/auth/cookie/logout` and
//! `POST /api/v1/auth/sessions/revoke-all` (API). Each is refused (403) when
//! the session cookie carried it from another site.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::PortalError;
use crate::session::cookies::cleared_session_cookie;
use crate::session::current_user::{CurrentSession, MaybeSession};
use crate::session::revocation;
use crate::session::same_origin::SameOrigin;

/// Ends the presented session (if any), clears the cookie and goes home: a
/// stale cookie should never trap someone.
pub async fn browser_logout(
    State(app): State<AppState>,
    _: SameOrigin,
    MaybeSession(session): MaybeSession,
) -> Result<Response, PortalError> {
    if let Some(session) = session {
        revocation::end_session(&app, &session).await?;
    }
    home_signed_out(&app)
}

/// Ends every session of the signed-in user, this one included; then as
/// [`browser_logout`].
pub async fn browser_logout_everywhere(
    State(app): State<AppState>,
    _: SameOrigin,
    MaybeSession(session): MaybeSession,
) -> Result<Response, PortalError> {
    if let Some(session) = session {
        revocation::end_every_session(&app, session.user.id).await?;
    }
    home_signed_out(&app)
}

/// fastapi-users: 204 with the cookie cleared; 401 without a valid session.
pub async fn api_logout(
    State(app): State<AppState>,
    _: SameOrigin,
    session: CurrentSession,
) -> Result<Response, PortalError> {
    revocation::end_session(&app, &session).await?;
    no_content_signed_out(&app)
}

/// 204 with the cookie cleared once every session of the user issued up to
/// now has ended; 401 without a valid session.
pub async fn api_revoke_all(
    State(app): State<AppState>,
    _: SameOrigin,
    session: CurrentSession,
) -> Result<Response, PortalError> {
    revocation::end_every_session(&app, session.user.id).await?;
    no_content_signed_out(&app)
}

fn home_signed_out(app: &AppState) -> Result<Response, PortalError> {
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

fn no_content_signed_out(app: &AppState) -> Result<Response, PortalError> {
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            cleared_session_cookie(&app.config.session)?,
        )],
    )
        .into_response())
}
