//! fastapi-users' OAuth router for Discord with the cookie transport:
//! `GET /api/v1/auth/discord/cookie/authorize` and `…/callback`.

use axum::Json;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;
use crate::error::PortalError;
use crate::login::{self, CallbackParams, DEFAULT_SCOPES};
use crate::routes::callback::session_headers;
use crate::routes::login::csrf_cookie;
use crate::session::cookies::{CSRF_COOKIE, read_cookie};

pub const CALLBACK_PATH: &str = "/api/v1/auth/discord/cookie/callback";

fn redirect_uri(state: &AppState) -> String {
    format!("{}{CALLBACK_PATH}", state.config.public_url)
}

/// 200 `{"authorization_url": …}` and the CSRF cookie; `scopes` may repeat.
pub async fn authorize(
    State(state): State<AppState>,
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
    let started = login::start(&state, None, &redirect_uri(&state), &scopes)?;
    Ok((
        [(header::SET_COOKIE, csrf_cookie(&state, &started.csrftoken)?)],
        Json(json!({"authorization_url": started.authorization_url})),
    )
        .into_response())
}

/// 204 with the session cookie.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> Result<Response, PortalError> {
    let logged_in = login::complete(
        &state,
        &params,
        read_cookie(&headers, CSRF_COOKIE),
        &redirect_uri(&state),
    )
    .await?;
    Ok((StatusCode::NO_CONTENT, session_headers(&state, &logged_in)?).into_response())
}
