//! `GET /discord/callback`: Discord sends the browser back here.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::{IntoInternal, PortalError};
use crate::login_flow::{self, CallbackParams};
use crate::session::cookies::login_cookies;

pub async fn discord_callback(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> Result<Response, PortalError> {
    let redirect_uri = app.config.server.redirect_uri();
    let logged_in = login_flow::complete_detached(&app, params, headers, redirect_uri).await?;
    let mut out = login_cookies(&app.config.session, &logged_in.session)?;
    out.insert(
        header::LOCATION,
        HeaderValue::from_str(&logged_in.next).internal("building the redirect after login")?,
    );
    Ok((StatusCode::FOUND, out).into_response())
}
