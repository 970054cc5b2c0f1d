//! `CurrentUser`: fastapi-users' `current_user(active=True)`. The session
//! token comes from the cookie or an `Authorization: Bearer` header; any
//! failure is `PortalError::Unauthorized` (401 for the API, a trip to the
//! login page for browser routes).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use store::User;

use crate::AppState;
use crate::error::{Chain, PortalError};
use crate::session::cookies::read_cookie;

pub struct CurrentUser(pub Arc<User>);

/// Signed in or not; never refuses the request.
pub struct MaybeUser(pub Option<Arc<User>>);

pub(crate) fn session_token<'a>(parts: &'a Parts, cookie_name: &str) -> Option<&'a str> {
    let bearer = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    bearer.or_else(|| read_cookie(&parts.headers, cookie_name))
}

async fn authenticate(parts: &Parts, app: &AppState) -> Result<Arc<User>, PortalError> {
    let token =
        session_token(parts, &app.config.session.cookie_name).ok_or(PortalError::Unauthorized)?;
    let user_id = app.session_tokens.verify(token).map_err(|e| {
        tracing::debug!(error = %Chain(&e), "session token refused");
        PortalError::Unauthorized
    })?;
    match app.user_cache.get(&app.store, user_id).await? {
        Some(user) if user.is_active => Ok(user),
        _ => Err(PortalError::Unauthorized),
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = PortalError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, app).await.map(CurrentUser)
    }
}

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = PortalError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match authenticate(parts, app).await {
            Ok(user) => Ok(MaybeUser(Some(user))),
            Err(PortalError::Unauthorized) => Ok(MaybeUser(None)),
            Err(e) => Err(e),
        }
    }
}
