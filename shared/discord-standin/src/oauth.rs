//! The OAuth2 token endpoint (authorization_code and refresh_token grants,
//! PKCE S256) and revocation, answering as Discord does.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::state::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v10/oauth2/token", post(token))
        .route("/api/v10/oauth2/token/revoke", post(revoke))
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// Client authentication: HTTP Basic, or both values in the form.
fn client_ok(shared: &Shared, headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
    let inner = shared.lock();
    let f = inner.fixture();
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|s| s.split_once(':').map(|(a, b)| (a.to_owned(), b.to_owned())));
    let (id, secret) = match basic {
        Some(pair) => pair,
        None => (
            form.get("client_id").cloned().unwrap_or_default(),
            form.get("client_secret").cloned().unwrap_or_default(),
        ),
    };
    id == f.client_id && secret == f.client_secret
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// `POST /api/v10/oauth2/token`
async fn token(State(shared): State<Shared>, headers: HeaderMap, body: String) -> Response {
    if !is_form(&headers) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded.",
        );
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    if !client_ok(&shared, &headers, &form) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        );
    }
    let mut inner = shared.lock();
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let code = form.get("code").cloned().unwrap_or_default();
            let Some(request) = inner.take_code(&code) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid \"code\" in request.",
                );
            };
            if form.get("redirect_uri") != Some(&request.redirect_uri) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid \"redirect_uri\" in request.",
                );
            }
            if let Some(challenge) = &request.code_challenge {
                let Some(verifier) = form.get("code_verifier") else {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "Missing \"code_verifier\" in request.",
                    );
                };
                if !(43..=128).contains(&verifier.len()) {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        "Invalid \"code_verifier\" length.",
                    );
                }
                if &URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "Invalid \"code_verifier\" in request.",
                    );
                }
            }
            let (access, refresh, expires_in) =
                inner.issue_tokens(&request.user_id, &request.scopes, None);
            token_answer(&access, &refresh, expires_in, &request.scopes)
        }
        Some("refresh_token") => {
            let old = form.get("refresh_token").cloned().unwrap_or_default();
            // Single-use: the old refresh token stops working now.
            let Some(grant) = inner.refresh.remove(&old) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid \"refresh_token\" in request.",
                );
            };
            let (access, refresh, expires_in) =
                inner.issue_tokens(&grant.user_id, &grant.scopes, Some(grant.authorization));
            token_answer(&access, &refresh, expires_in, &grant.scopes)
        }
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant type.",
        ),
    }
}

fn token_answer(access: &str, refresh: &str, expires_in: i64, scopes: &[String]) -> Response {
    Json(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "refresh_token": refresh,
        "scope": scopes.join(" "),
    }))
    .into_response()
}

/// `POST /api/v10/oauth2/token/revoke`: RFC 7009; the whole authorization goes.
async fn revoke(State(shared): State<Shared>, headers: HeaderMap, body: String) -> Response {
    if !is_form(&headers) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded.",
        );
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    if !client_ok(&shared, &headers, &form) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        );
    }
    let token = form.get("token").cloned().unwrap_or_default();
    let mut inner = shared.lock();
    let authorization = inner
        .access
        .get(&token)
        .or_else(|| inner.refresh.get(&token))
        .map(|g| g.authorization);
    if let Some(a) = authorization {
        inner.revoke_authorization(a);
    }
    // RFC 7009: an unknown token is not an error.
    Json(json!({})).into_response()
}
