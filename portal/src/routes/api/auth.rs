//! fastapi-users' OAuth router for Discord with the cookie transport:
//! `GET /api/v1/auth/discord/cookie/authorize` and `…/callback`.

use axum::Json;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;
use crate::error::PortalError;
use crate::login_flow::{self, CallbackParams, DEFAULT_SCOPES};
use crate::session::cookies::{login_cookies, login_start_cookies};

pub const CALLBACK_PATH: &str = "/api/v1/auth/discord/cookie/callback";

fn redirect_uri(app: &AppState) -> String {
    app.config.server.url(CALLBACK_PATH)
}

/// 200 `{"authorization_url": …}` with the CSRF and PKCE verifier cookies
/// (the API's callback, like the browser's, is finished by the client that
/// holds them); `scopes` may repeat.
pub async fn authorize(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, PortalError> {
    let scopes: Vec<String> = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "scopes")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
        .collect();
    let scopes: Vec<&str> = if scopes.is_empty() {
        DEFAULT_SCOPES.to_vec()
    } else {
        scopes.iter().map(String::as_str).collect()
    };
    let started = login_flow::start(&app, None, &redirect_uri(&app), &scopes)?;
    Ok((
        login_start_cookies(
            &app.config.session,
            &started.csrftoken,
            &started.code_verifier,
        )?,
        Json(json!({"authorization_url": started.authorization_url})),
    )
        .into_response())
}

/// 204 with the session cookie.
pub async fn callback(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> Result<Response, PortalError> {
    let logged_in =
        login_flow::complete_detached(&app, params, headers, redirect_uri(&app)).await?;
    Ok((
        StatusCode::NO_CONTENT,
        login_cookies(&app.config.session, &logged_in.session)?,
    )
        .into_response())
}
