//! The user-token REST endpoints Guildhall calls.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::state::{Grant, Shared};

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v10/users/@me", get(me))
        .route("/api/v10/users/@me/guilds", get(my_guilds))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"message": "401: Unauthorized", "code": 0})),
    )
        .into_response()
}

fn missing_access() -> Response {
    (
        StatusCode::FORBIDDEN,
        Json(json!({"message": "Missing Access", "code": 50001})),
    )
        .into_response()
}

/// The grant behind a Bearer token, if it is known, unrevoked and unexpired.
fn grant(shared: &Shared, headers: &HeaderMap) -> Option<Grant> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .trim()
        .to_owned();
    let inner = shared.lock();
    let g = inner.access.get(&token)?.clone();
    (g.expires_at > chrono::Utc::now().timestamp()).then_some(g)
}

/// `GET /api/v10/users/@me`
async fn me(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let Some(g) = grant(&shared, &headers) else {
        return unauthorized();
    };
    if !g.scopes.iter().any(|s| s == "identify" || s == "email") {
        return missing_access();
    }
    let inner = shared.lock();
    let Some(u) = inner.fixture().users.iter().find(|u| u.id == g.user_id) else {
        return unauthorized();
    };
    let mut body = json!({
        "id": u.id,
        "username": u.username,
        "discriminator": u.discriminator,
        "global_name": u.global_name,
        "avatar": u.avatar,
        "bot": false,
        "system": false,
        "mfa_enabled": false,
        "banner": null,
        "accent_color": null,
        "locale": u.locale,
        "flags": 0,
        "premium_type": 0,
        "public_flags": 0,
    });
    if g.scopes.iter().any(|s| s == "email") {
        body["email"] = json!(u.email);
        body["verified"] = json!(u.verified);
    }
    Json(body).into_response()
}

fn invalid_form(field: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "message": "Invalid Form Body",
            "code": 50035,
            "errors": {field: {"_errors": [{"code": "NUMBER_TYPE_MAX", "message": message}]}},
        })),
    )
        .into_response()
}

/// `GET /api/v10/users/@me/guilds?limit&before&after&with_counts`
async fn my_guilds(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(g) = grant(&shared, &headers) else {
        return unauthorized();
    };
    if !g.scopes.iter().any(|s| s == "guilds") {
        return missing_access();
    }
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 200,
        Some(Ok(n)) if (1..=200).contains(&n) => n,
        Some(_) => return invalid_form("limit", "int value should be between 1 and 200."),
    };
    let parse = |k: &str| q.get(k).and_then(|v| v.parse::<u64>().ok());
    let (before, after) = (parse("before"), parse("after"));
    let with_counts = q.get("with_counts").is_some_and(|v| v == "true");

    let inner = shared.lock();
    let Some(u) = inner.fixture().users.iter().find(|u| u.id == g.user_id) else {
        return unauthorized();
    };
    let mut guilds: Vec<_> = u.guilds.iter().collect();
    guilds.sort_by_key(|g| g.id.parse::<u64>().unwrap_or(0));
    let selected: Vec<_> = match (before, after) {
        (Some(b), _) => {
            let older: Vec<_> = guilds
                .into_iter()
                .filter(|g| g.id.parse::<u64>().unwrap_or(0) < b)
                .collect();
            let skip = older.len().saturating_sub(limit);
            older.into_iter().skip(skip).collect()
        }
        (None, Some(a)) => guilds
            .into_iter()
            .filter(|g| g.id.parse::<u64>().unwrap_or(0) > a)
            .take(limit)
            .collect(),
        (None, None) => guilds.into_iter().take(limit).collect(),
    };
    let body: Vec<Value> = selected
        .iter()
        .map(|g| {
            let mut v = json!({
                "id": g.id,
                "name": g.name,
                "icon": g.icon,
                "banner": null,
                "owner": g.owner,
                "permissions": g.permissions.to_string(),
                "features": g.features,
            });
            if with_counts {
                let seed = g.id.bytes().map(u64::from).sum::<u64>();
                v["approximate_member_count"] = json!(20 + seed % 5000);
                v["approximate_presence_count"] = json!(5 + seed % 700);
            }
            v
        })
        .collect();
    Json(body).into_response()
}
