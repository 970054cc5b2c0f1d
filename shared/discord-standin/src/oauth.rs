//! OAuth2: the authorize page, the token endpoint (authorization_code and
//! refresh_token grants, PKCE S256) and revocation — answering as Discord does.

use std::collections::HashMap;

use axum::Form;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::consent_page;
use crate::state::{AuthorizeRequest, Shared, random_token};

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn redirect_with(uri: &str, params: &[(&str, &str)]) -> Response {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().copied())
        .finish();
    let sep = if uri.contains('?') { '&' } else { '?' };
    // Discord answers the authorize step with a 302 Found.
    (
        StatusCode::FOUND,
        [(header::LOCATION, format!("{uri}{sep}{query}"))],
    )
        .into_response()
}

/// `GET /oauth2/authorize`
pub(crate) async fn authorize(
    State(shared): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut inner = shared.lock();
    let fixture = inner.fixture().clone();
    if q.get("client_id").map(String::as_str) != Some(fixture.client_id.as_str()) {
        return (
            StatusCode::BAD_REQUEST,
            Html(consent_page::error("Unknown client_id.")),
        )
            .into_response();
    }
    let Some(redirect_uri) = q.get("redirect_uri").cloned() else {
        return (
            StatusCode::BAD_REQUEST,
            Html(consent_page::error("Missing redirect_uri.")),
        )
            .into_response();
    };
    if !fixture.redirect_uris.is_empty() && !fixture.redirect_uris.contains(&redirect_uri) {
        return (
            StatusCode::BAD_REQUEST,
            Html(consent_page::error("Invalid OAuth2 redirect_uri")),
        )
            .into_response();
    }
    let state = q.get("state").cloned();
    if q.get("response_type").map(String::as_str) != Some("code") {
        return redirect_with(
            &redirect_uri,
            &[
                ("error", "unsupported_response_type"),
                ("error_description", "Only response_type=code is supported."),
                ("state", state.as_deref().unwrap_or("")),
            ],
        );
    }
    let scopes: Vec<String> = q
        .get("scope")
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    if scopes.is_empty() {
        return redirect_with(
            &redirect_uri,
            &[
                ("error", "invalid_scope"),
                (
                    "error_description",
                    "The requested scope is invalid, unknown, or malformed.",
                ),
                ("state", state.as_deref().unwrap_or("")),
            ],
        );
    }
    let code_challenge = q.get("code_challenge").cloned();
    if code_challenge.is_some()
        && q.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return redirect_with(
            &redirect_uri,
            &[
                ("error", "invalid_request"),
                (
                    "error_description",
                    "Only S256 code_challenge_method is supported.",
                ),
                ("state", state.as_deref().unwrap_or("")),
            ],
        );
    }
    let Some(user) = fixture.signed_in_user().cloned() else {
        return (
            StatusCode::BAD_REQUEST,
            Html(consent_page::error("Nobody is signed in to the stand-in.")),
        )
            .into_response();
    };
    let request = AuthorizeRequest {
        user_id: user.id.clone(),
        redirect_uri: redirect_uri.clone(),
        scopes: scopes.clone(),
        state: state.clone(),
        code_challenge,
    };
    if fixture.auto_approve {
        let code = random_token(30);
        inner.codes.insert(code.clone(), request);
        let mut params = vec![("code", code.as_str())];
        if let Some(s) = state.as_deref() {
            params.push(("state", s));
        }
        return redirect_with(&redirect_uri, &params);
    }
    let pending = random_token(24);
    inner.pending.insert(pending.clone(), request);
    let name = user.global_name.clone().unwrap_or(user.username.clone());
    Html(consent_page::consent(
        &fixture.application_name,
        &name,
        &scopes,
        &pending,
    ))
    .into_response()
}

#[derive(serde::Deserialize)]
pub(crate) struct Decision {
    pending: String,
    decision: String,
}

/// `POST /oauth2/authorize`: the consent page's buttons.
pub(crate) async fn decide(State(shared): State<Shared>, Form(d): Form<Decision>) -> Response {
    let mut inner = shared.lock();
    let Some(request) = inner.pending.remove(&d.pending) else {
        return (
            StatusCode::BAD_REQUEST,
            Html(consent_page::error(
                "This authorization request has expired.",
            )),
        )
            .into_response();
    };
    let state = request.state.clone().unwrap_or_default();
    if d.decision != "authorize" {
        return redirect_with(
            &request.redirect_uri,
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "The resource owner or authorization server denied the request",
                ),
                ("state", &state),
            ],
        );
    }
    let code = random_token(30);
    let redirect = request.redirect_uri.clone();
    let has_state = request.state.is_some();
    inner.codes.insert(code.clone(), request);
    let mut params = vec![("code", code.as_str())];
    if has_state {
        params.push(("state", state.as_str()));
    }
    redirect_with(&redirect, &params)
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
pub(crate) async fn token(
    State(shared): State<Shared>,
    headers: HeaderMap,
    body: String,
) -> Response {
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
            let Some(request) = inner.codes.remove(&code) else {
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
pub(crate) async fn revoke(
    State(shared): State<Shared>,
    headers: HeaderMap,
    body: String,
) -> Response {
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
