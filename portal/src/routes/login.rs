//! `GET /` (the sign-in page) and `GET /discord/login` (off to Discord).

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::AppState;
use crate::error::{IntoInternal, PortalError};
use crate::login_flow::{self, DEFAULT_SCOPES};
use crate::next_path;
use crate::pages::{HeaderUser, render};
use crate::session::cookies::login_start_cookies;
use crate::session::current_user::MaybeUser;

#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
    reauth: Option<String>,
}

pub async fn sign_in_page(
    State(app): State<AppState>,
    MaybeUser(user): MaybeUser,
    Query(q): Query<SignInQuery>,
) -> Result<Response, PortalError> {
    let notice = q
        .reauth
        .is_some()
        .then_some("Your Discord authorization expired or was revoked. Please sign in again.");
    let login_href = match q.next.as_deref() {
        Some(n) => format!(
            "/discord/login?next={}",
            url::form_urlencoded::byte_serialize(next_path::sanitize(Some(n)).as_bytes())
                .collect::<String>()
        ),
        None => "/discord/login".to_owned(),
    };
    let cdn_url = &app.config.discord.cdn_url;
    let html = render(
        &app,
        "sign_in.html",
        minijinja::context! {
            user => user.as_ref().map(|u| HeaderUser::from_user(u, cdn_url)),
            login_href,
            notice,
            demo => app.config.demo,
        },
    )?;
    Ok(html.into_response())
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

pub async fn discord_login(
    State(app): State<AppState>,
    Query(q): Query<LoginQuery>,
) -> Result<Response, PortalError> {
    let started = login_flow::start(
        &app,
        q.next.as_deref(),
        &app.config.server.redirect_uri(),
        DEFAULT_SCOPES,
    )?;
    let mut headers = login_start_cookies(
        &app.config.session,
        &started.csrftoken,
        &started.code_verifier,
    )?;
    headers.insert(
        header::LOCATION,
        HeaderValue::from_str(&started.authorization_url)
            .internal("building the redirect to Discord")?,
    );
    Ok((StatusCode::FOUND, headers).into_response())
}
