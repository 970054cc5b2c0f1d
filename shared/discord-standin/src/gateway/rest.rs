//! The REST endpoints a poise/serenity bot calls, under `/api/v10`.

use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Request, State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use serde_json::{Value, json};

use super::{GwShared, payloads, socket};

#[derive(Clone)]
pub(crate) struct Ctx {
    shared: GwShared,
    addr: SocketAddr,
}

pub(crate) fn router(shared: GwShared, addr: SocketAddr) -> Router {
    let ctx = Ctx {
        shared: shared.clone(),
        addr,
    };
    Router::new()
        .route("/api/v10/gateway", get(gateway))
        .route("/api/v10/gateway/bot", get(gateway_bot))
        .route("/api/v10/oauth2/applications/@me", get(application))
        .route("/api/v10/applications/@me", get(application))
        .route("/api/v10/users/@me", get(bot_user))
        .route(
            "/api/v10/applications/{app}/commands",
            put(register_global).get(list_global),
        )
        .route(
            "/api/v10/applications/{app}/guilds/{guild}/commands",
            put(register_in_guild).get(list_in_guild),
        )
        .route(
            "/api/v10/interactions/{id}/{token}/callback",
            post(callback),
        )
        .route("/api/v10/webhooks/{app}/{token}", post(webhook_message))
        .route(
            "/api/v10/webhooks/{app}/{token}/messages/{message}",
            patch(webhook_message).get(webhook_message),
        )
        .route("/api/v10/guilds/{id}", get(get_guild))
        .route("/api/v10/users/@me/channels", post(open_dm))
        .route("/api/v10/channels/{id}/messages", post(send_message))
        .route("/ws", get(upgrade))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(shared, record))
        .with_state(ctx)
}

async fn record(State(shared): State<GwShared>, request: Request, next: Next) -> Response {
    let (entry, request) = crate::record::capture(request).await;
    let index = {
        let mut inner = shared.lock();
        inner.log.push(entry);
        inner.log.len() - 1
    };
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    for (k, v) in [
        ("x-ratelimit-limit", "5"),
        ("x-ratelimit-remaining", "4"),
        ("x-ratelimit-reset-after", "1.000"),
        ("x-ratelimit-bucket", "bot-standin"),
    ] {
        h.insert(k, axum::http::HeaderValue::from_static(v));
    }
    if let Some(entry) = shared.lock().log.get_mut(index) {
        entry.status = response.status().as_u16();
    }
    response
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"message": "404: Not Found", "code": 0})),
    )
        .into_response()
}

fn ws_url(ctx: &Ctx) -> String {
    format!("ws://{}/ws", ctx.addr)
}

async fn gateway(State(ctx): State<Ctx>) -> Json<Value> {
    Json(json!({"url": ws_url(&ctx)}))
}

async fn gateway_bot(State(ctx): State<Ctx>) -> Json<Value> {
    let mut inner = ctx.shared.lock();
    let shards = inner.fixture.recommended_shards;
    let limit = inner.fixture.session_start_limit;
    let (remaining, reset_after) = inner.session_budget(std::time::Instant::now());
    Json(json!({
        "url": ws_url(&ctx),
        "shards": shards,
        "session_start_limit": {
            "total": limit.total,
            "remaining": remaining,
            "reset_after": reset_after,
            "max_concurrency": limit.max_concurrency,
        },
    }))
}

fn bot(ctx: &Ctx) -> Value {
    let id = ctx.shared.lock().fixture.bot_user_id;
    payloads::user(id, "Guildhall", true)
}

async fn application(State(ctx): State<Ctx>) -> Json<Value> {
    let (app, flags) = {
        let inner = ctx.shared.lock();
        (
            inner.fixture.application_id,
            inner.fixture.application_flags,
        )
    };
    Json(payloads::application(
        app,
        payloads::user(app + 7, "owner", false),
        flags,
    ))
}

async fn bot_user(State(ctx): State<Ctx>) -> Json<Value> {
    let mut u = bot(&ctx);
    u["verified"] = json!(true);
    u["mfa_enabled"] = json!(false);
    Json(u)
}

/// Bulk overwrite of the global commands.
async fn register_global(
    State(ctx): State<Ctx>,
    Path(app): Path<u64>,
    Json(body): Json<Value>,
) -> Response {
    register(&ctx, app, None, body)
}

/// Bulk overwrite of one guild's commands (`DISCORD_DEV_GUILD_ID`).
async fn register_in_guild(
    State(ctx): State<Ctx>,
    Path((app, guild)): Path<(u64, u64)>,
    Json(body): Json<Value>,
) -> Response {
    register(&ctx, app, Some(guild), body)
}

/// Answers like Discord: the submitted commands with the ids it assigns. A
/// wrong application id gets Discord's 404, which is what makes poise's setup
/// fail (and, in poise 0.7, hang) — worth catching in a test.
fn register(ctx: &Ctx, app: u64, guild: Option<u64>, body: Value) -> Response {
    let mut inner = ctx.shared.lock();
    if app != inner.fixture.application_id {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "Unknown Application", "code": 10002})),
        )
            .into_response();
    }
    let Some(submitted) = body.as_array() else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "Invalid Form Body", "code": 50035})),
        )
            .into_response();
    };
    let commands: Vec<Value> = submitted
        .iter()
        .map(|c| {
            let id = inner.next_snowflake();
            payloads::registered_command(id, app, guild, c)
        })
        .collect();
    inner.commands.insert(guild, commands.clone());
    Json(Value::Array(commands)).into_response()
}

async fn list_global(State(ctx): State<Ctx>) -> Json<Value> {
    Json(Value::Array(
        ctx.shared
            .lock()
            .commands
            .get(&None)
            .cloned()
            .unwrap_or_default(),
    ))
}

async fn list_in_guild(
    State(ctx): State<Ctx>,
    Path((_app, guild)): Path<(u64, u64)>,
) -> Json<Value> {
    Json(Value::Array(
        ctx.shared
            .lock()
            .commands
            .get(&Some(guild))
            .cloned()
            .unwrap_or_default(),
    ))
}

/// The first answer to an interaction: 204 within Discord's 3-second
/// deadline, once. Late or unknown: 404 `10062 Unknown interaction`; a second
/// answer: 400 `40060`.
async fn callback(State(ctx): State<Ctx>, Path((id, token)): Path<(u64, String)>) -> Response {
    let mut inner = ctx.shared.lock();
    let unknown = || {
        (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "Unknown interaction", "code": 10062})),
        )
            .into_response()
    };
    let Some((dispatched, answered)) = inner.interactions.get_mut(&(id, token)) else {
        return unknown();
    };
    if dispatched.elapsed() > super::INTERACTION_DEADLINE {
        return unknown();
    }
    if *answered {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "Interaction has already been acknowledged.", "code": 40060})),
        )
            .into_response();
    }
    *answered = true;
    StatusCode::NO_CONTENT.into_response()
}

/// Follow-ups and edits of the interaction's original answer: the message as
/// Discord would store it, carrying what was sent (content, flags, embeds,
/// components) so a client reading the answer sees its own message.
async fn webhook_message(State(ctx): State<Ctx>, body: axum::body::Bytes) -> Json<Value> {
    let (id, author) = {
        let mut inner = ctx.shared.lock();
        (
            inner.next_snowflake(),
            payloads::user(inner.fixture.bot_user_id, "Guildhall", true),
        )
    };
    let mut message = payloads::message(id, 1, author, "");
    if let (Ok(Value::Object(sent)), Some(out)) = (
        serde_json::from_slice::<Value>(&body),
        message.as_object_mut(),
    ) {
        for key in ["content", "flags", "embeds", "components"] {
            if let Some(v) = sent.get(key) {
                out.insert(key.to_owned(), v.clone());
            }
        }
    }
    Json(message)
}

/// `GET /guilds/{id}` with the bot token: the guild while the bot is in it,
/// else 403 Missing Access, as Discord answers for a guild the bot left.
async fn get_guild(State(ctx): State<Ctx>, Path(id): Path<u64>) -> Response {
    let inner = ctx.shared.lock();
    if !inner.is_member(id) {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"message": "Missing Access", "code": 50001})),
        )
            .into_response();
    }
    let owner = inner.fixture.bot_user_id + 7;
    let mut guild = payloads::guild(id, owner, 0, inner.fixture.guild_roles);
    if let Some(fields) = guild.as_object_mut() {
        // Only GUILD_CREATE carries these.
        for key in payloads::GUILD_CREATE_ONLY {
            fields.remove(*key);
        }
    }
    Json(guild).into_response()
}

async fn open_dm(Json(body): Json<Value>) -> Response {
    let Some(recipient) = body
        .get("recipient_id")
        .and_then(|v| {
            v.as_str()
                .map(str::to_owned)
                .or_else(|| v.as_u64().map(|n| n.to_string()))
        })
        .and_then(|s| s.parse::<u64>().ok())
    else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "Invalid Form Body", "code": 50035})),
        )
            .into_response();
    };
    let channel = recipient.wrapping_add(17);
    Json(payloads::dm_channel(
        channel,
        payloads::user(recipient, "member", false),
    ))
    .into_response()
}

/// A message posted in a channel: refused as the channel's scripted failure
/// (or the DM failure) says, else the message as Discord stores it, carrying
/// what was sent.
async fn send_message(
    State(ctx): State<Ctx>,
    Path(channel): Path<u64>,
    body: axum::body::Bytes,
) -> Response {
    let mut inner = ctx.shared.lock();
    let failure = inner
        .channel_failures
        .get(&channel)
        .map(|f| f.answer())
        .or_else(|| inner.dm_failure.clone());
    if let Some((status, body)) = failure {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, Json(body)).into_response();
    }
    let id = inner.next_snowflake();
    let author = payloads::user(inner.fixture.bot_user_id, "Guildhall", true);
    let sent = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    let content = sent["content"].as_str().unwrap_or_default();
    let mut message = payloads::message(id, channel, author, content);
    for key in ["embeds", "components"] {
        if let Some(v) = sent.get(key) {
            message[key] = v.clone();
        }
    }
    Json(message).into_response()
}

async fn upgrade(State(ctx): State<Ctx>, ws: WebSocketUpgrade) -> Response {
    let resume = ws_url(&ctx);
    ws.on_upgrade(move |socket| socket::session(socket, ctx.shared, resume))
}
