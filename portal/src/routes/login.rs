//! `GET /` (the sign-in page) and `GET /discord/login` (off to Discord).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::AppState;
use crate::error::PortalError;
use crate::login::{self, DEFAULT_SCOPES};
use crate::oauth_state::STATE_LIFETIME_SECONDS;
use crate::pages::{HeaderUser, render};
use crate::session::cookies::{CSRF_COOKIE, set_cookie};
use crate::session::current_user::MaybeUser;

#[derive(Debug, Deserialize)]
pub struct LoginPageQuery {
    next: Option<String>,
    reauth: Option<String>,
}

pub async fn login_page(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Query(q): Query<LoginPageQuery>,
) -> Result<Response, PortalError> {
    let notice = if q.reauth.is_some() {
        Some("Your Discord authorization expired or was revoked. Please sign in again.")
    } else {
        None
    };
    let login_href = match q.next.as_deref() {
        Some(n) => format!(
            "/discord/login?next={}",
            url::form_urlencoded::byte_serialize(crate::next_path::sanitize(Some(n)).as_bytes())
                .collect::<String>()
        ),
        None => "/discord/login".to_owned(),
    };
    let html = render(
        &state,
        "dashboard.html",
        minijinja::context! {
            user => user.as_ref().map(|u| HeaderUser::from_user(u, &state.config.discord_cdn_url)),
            login_href,
            notice,
            demo => state.config.demo,
        },
    )?;
    Ok(html.into_response())
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

pub async fn discord_login(
    State(state): State<AppState>,
    Query(q): Query<LoginQuery>,
) -> Result<Response, PortalError> {
    let started = login::start(
        &state,
        q.next.as_deref(),
        &state.config.redirect_uri(),
        DEFAULT_SCOPES,
    )?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::LOCATION,
        HeaderValue::from_str(&started.authorization_url)
            .map_err(|e| PortalError::Internal(e.to_string()))?,
    );
    headers.insert(header::SET_COOKIE, csrf_cookie(&state, &started.csrftoken)?);
    Ok((StatusCode::FOUND, headers).into_response())
}

pub fn csrf_cookie(state: &AppState, csrftoken: &str) -> Result<HeaderValue, PortalError> {
    HeaderValue::from_str(&set_cookie(
        CSRF_COOKIE,
        csrftoken,
        STATE_LIFETIME_SECONDS as u64,
        state.config.cookie_secure,
    ))
    .map_err(|e| PortalError::Internal(e.to_string()))
}
