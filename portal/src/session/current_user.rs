//! `CurrentUser`: fastapi-users' `current_user(active=True)`. The session
//! token comes from an `Authorization: Bearer` header or the cookie; any
//! failure is `PortalError::Unauthorized` (401 for the API, a trip to the
//! login page for browser routes). A token whose session was ended (logout,
//! "log out everywhere") fails like any other, within
//! `USER_CACHE_TTL_SECONDS` on every replica.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use store::{SessionEnded, SessionTokenHash, User};

use crate::AppState;
use crate::error::{Chain, PortalError};
use crate::language::RequestLanguage;
use crate::session::cookies::read_cookie;
use crate::session::token::VerifiedSession;

pub struct CurrentUser(pub Arc<User>);

/// Signed in or not; never refuses the request.
pub struct MaybeUser(pub Option<Arc<User>>);

/// The signed-in user and the session they presented, for the routes that
/// end it.
pub struct CurrentSession {
    pub user: Arc<User>,
    /// The presented token's hash: what a logout records.
    pub token: SessionTokenHash,
    /// The presented token's `exp`: how long the record is kept.
    pub exp: i64,
}

/// [`CurrentSession`], or none; never refuses the request.
pub struct MaybeSession(pub Option<CurrentSession>);

/// The `Authorization: Bearer` token, if the request carries one.
pub(crate) fn bearer_token(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The Bearer token, else the cookie's: with a Bearer header the cookie is
/// never read.
pub(crate) fn session_token<'a>(parts: &'a Parts, cookie_name: &str) -> Option<&'a str> {
    bearer_token(parts).or_else(|| read_cookie(&parts.headers, cookie_name))
}

/// The presented token, the session it names, and its active user.
async fn authenticate<'p>(
    parts: &'p Parts,
    app: &AppState,
) -> Result<(&'p str, VerifiedSession, Arc<User>), PortalError> {
    let token =
        session_token(parts, &app.config.session.cookie_name).ok_or(PortalError::Unauthorized)?;
    let session = app.session_tokens.verify_session(token).map_err(|e| {
        tracing::debug!(error = %Chain(&e), "session token refused");
        PortalError::Unauthorized
    })?;
    let cached = match app.user_cache.get(&app.store, session.user).await? {
        Some(cached) if cached.user.is_active => cached,
        _ => return Err(PortalError::Unauthorized),
    };
    let revocations = &cached.revocations;
    // Hashing costs a little; most users have never logged a session out.
    if !revocations.tokens.is_empty() || revocations.revoked_before.is_some() {
        let issued_at = app.session_tokens.issued_at(session.exp);
        if let Some(ended) = revocations.ended(&SessionTokenHash::of(token), issued_at) {
            let reason = match ended {
                SessionEnded::LoggedOut => "session_logged_out",
                SessionEnded::EndedEverywhere => "session_ended_everywhere",
            };
            app.metrics.refusal(reason);
            tracing::debug!(
                user = session.user,
                reason,
                "session token refused: the session was ended"
            );
            return Err(PortalError::Unauthorized);
        }
    }
    if let Some(language) = parts.extensions.get::<RequestLanguage>() {
        language.signed_in(cached.user.locale.as_deref());
    }
    Ok((token, session, cached.user.clone()))
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = PortalError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, app)
            .await
            .map(|(_, _, user)| CurrentUser(user))
    }
}

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = PortalError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match authenticate(parts, app).await {
            Ok((_, _, user)) => Ok(MaybeUser(Some(user))),
            Err(PortalError::Unauthorized) => Ok(MaybeUser(None)),
            Err(e) => Err(e),
        }
    }
}

impl FromRequestParts<AppState> for CurrentSession {
    type Rejection = PortalError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (token, session, user) = authenticate(parts, app).await?;
        Ok(CurrentSession {
            user,
            token: SessionTokenHash::of(token),
            exp: session.exp,
        })
    }
}

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = PortalError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match CurrentSession::from_request_parts(parts, app).await {
            Ok(session) => Ok(MaybeSession(Some(session))),
            Err(PortalError::Unauthorized) => Ok(MaybeSession(None)),
            Err(e) => Err(e),
        }
    }
}
