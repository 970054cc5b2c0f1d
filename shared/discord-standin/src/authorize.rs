//! `GET/POST /oauth2/authorize`: the browser side of OAuth2 — validating the
//! request like Discord, the consent page and its answer, and the bot invite
//! page (`scope=bot` without `response_type`).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};

use crate::consent_page::{self, BotInvite, Consent};
use crate::state::{AuthorizeRequest, PendingConsent, Shared, random_token};

/// Scopes Discord documents; anything else is `invalid_scope`.
const KNOWN_SCOPES: &[&str] = &[
    "activities.read",
    "activities.write",
    "applications.builds.read",
    "applications.builds.upload",
    "applications.commands",
    "applications.commands.permissions.update",
    "applications.entitlements",
    "applications.store.update",
    "bot",
    "connections",
    "dm_channels.read",
    "email",
    "gdm.join",
    "guilds",
    "guilds.join",
    "guilds.members.read",
    "identify",
    "messages.read",
    "openid",
    "relationships.read",
    "role_connections.write",
    "rpc",
    "rpc.activities.write",
    "rpc.notifications.read",
    "rpc.voice.read",
    "rpc.voice.write",
    "voice",
    "webhook.incoming",
];

const DENIED: &str = "The resource owner or authorization server denied the request";

/// Permission bits named on the bot invite page, most powerful first.
const PERMISSION_NAMES: &[(u64, &str)] = &[
    (1 << 3, "Administrator"),
    (1 << 5, "Manage Server"),
    (1 << 28, "Manage Roles"),
    (1 << 4, "Manage Channels"),
    (1 << 1, "Kick Members"),
    (1 << 2, "Ban Members"),
    (1 << 13, "Manage Messages"),
    (1 << 29, "Manage Webhooks"),
    (1 << 7, "View Audit Log"),
    (1 << 10, "View Channels"),
    (1 << 11, "Send Messages"),
    (1 << 14, "Embed Links"),
    (1 << 16, "Read Message History"),
    (1 << 31, "Use Application Commands"),
];

pub(crate) fn routes() -> Router<Shared> {
    Router::new().route("/oauth2/authorize", get(authorize).post(decide))
}

fn html_error(text: &str) -> Response {
    (StatusCode::BAD_REQUEST, Html(consent_page::error(text))).into_response()
}

/// A 302 to `uri` with `params` appended; empty values are left out.
fn redirect_with(uri: &str, params: &[(&str, &str)]) -> Response {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().filter(|(_, v)| !v.is_empty()).copied())
        .finish();
    let sep = if uri.contains('?') { '&' } else { '?' };
    (
        StatusCode::FOUND,
        [(header::LOCATION, format!("{uri}{sep}{query}"))],
    )
        .into_response()
}

fn default_avatar_index(user_id: &str, discriminator: &str) -> u64 {
    match discriminator.parse::<u64>() {
        Ok(d) if d != 0 => d % 5,
        _ => (user_id.parse::<u64>().unwrap_or(0) >> 22) % 6,
    }
}

/// `GET /oauth2/authorize`
async fn authorize(
    State(shared): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let mut inner = shared.lock();
    // Who is signed in to Discord in this browser: Discord knows by its own
    // session cookie; the stand-in's is the user id itself, and without it
    // the fixture's signed-in user.
    let browser_user = browser_session(&headers).and_then(|id| inner.fixture().user(id).cloned());
    // Not the users: a fixture of many users is large, and one is needed.
    let fixture = inner.fixture().without_users();
    if get("client_id") != Some(fixture.client_id.as_str()) {
        return html_error("Unknown client_id.");
    }
    let redirect_uri = get("redirect_uri");
    let registered = |uri: &str| {
        fixture.redirect_uris.is_empty() || fixture.redirect_uris.iter().any(|r| r == uri)
    };
    if redirect_uri.is_some_and(|uri| !registered(uri)) {
        return html_error("Invalid OAuth2 redirect_uri");
    }
    let scopes: Vec<String> = get("scope")
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    let state = get("state").unwrap_or_default();

    // A bot invite link: no response_type; the answer is a page, or a
    // redirect when the link names one.
    if scopes.iter().any(|s| s == "bot") && get("response_type").is_none() {
        let permissions = get("permissions")
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(0);
        let guild_id = get("guild_id").map(str::to_owned);
        let consent = PendingConsent::BotInvite {
            guild_id: guild_id.clone(),
            permissions,
            redirect_uri: redirect_uri.map(str::to_owned),
            state: Some(state.to_owned()),
        };
        if fixture.auto_approve {
            drop(inner);
            return finish_bot_invite(&shared, consent);
        }
        let pending = random_token(24);
        inner.pending.insert(pending.clone(), consent);
        let guild_name = guild_id.as_deref().and_then(|id| {
            inner
                .fixture()
                .users
                .iter()
                .flat_map(|u| u.guilds.iter())
                .find(|g| g.id == id)
                .map(|g| g.name.clone())
        });
        let names: Vec<&'static str> = PERMISSION_NAMES
            .iter()
            .filter(|(bit, _)| permissions & bit != 0)
            .map(|(_, n)| *n)
            .collect();
        let perms = permissions.to_string();
        let hidden = [
            ("pending", pending.as_str()),
            ("client_id", fixture.client_id.as_str()),
            ("guild_id", guild_id.as_deref().unwrap_or_default()),
            ("permissions", perms.as_str()),
        ];
        return Html(consent_page::bot_invite(&BotInvite {
            app: &fixture.application_name,
            guild: guild_name.as_deref(),
            permissions: &names,
            hidden: &hidden,
        }))
        .into_response();
    }

    let Some(redirect_uri) = redirect_uri.map(str::to_owned) else {
        return html_error("Missing redirect_uri.");
    };
    if get("response_type") != Some("code") {
        return redirect_with(
            &redirect_uri,
            &[
                ("error", "unsupported_response_type"),
                (
                    "error_description",
                    "The authorization server does not support obtaining an authorization code using this method.",
                ),
                ("state", state),
            ],
        );
    }
    if scopes.is_empty() || scopes.iter().any(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
        return redirect_with(
            &redirect_uri,
            &[
                ("error", "invalid_scope"),
                (
                    "error_description",
                    "The requested scope is invalid, unknown, or malformed.",
                ),
                ("state", state),
            ],
        );
    }
    let code_challenge = get("code_challenge").map(str::to_owned);
    if code_challenge.is_some() && get("code_challenge_method") != Some("S256") {
        return redirect_with(
            &redirect_uri,
            &[
                ("error", "invalid_request"),
                (
                    "error_description",
                    "Invalid \"code_challenge_method\" in request; only S256 is supported.",
                ),
                ("state", state),
            ],
        );
    }
    let Some(user) = browser_user.or_else(|| inner.fixture().signed_in_user().cloned()) else {
        return html_error("Nobody is signed in to the stand-in (the fixture has no users).");
    };
    let request = AuthorizeRequest {
        user_id: user.id.clone(),
        redirect_uri: redirect_uri.clone(),
        scopes: scopes.clone(),
        state: Some(state.to_owned()).filter(|s| !s.is_empty()),
        code_challenge,
    };
    let mut sorted = scopes.clone();
    sorted.sort();
    // prompt=none skips the page only for what the user already approved.
    let already =
        get("prompt") == Some("none") && inner.approved.contains(&(user.id.clone(), sorted));
    if fixture.auto_approve || already {
        let code = inner.issue_code(request);
        return redirect_with(&redirect_uri, &[("code", &code), ("state", state)]);
    }
    let pending = random_token(24);
    inner
        .pending
        .insert(pending.clone(), PendingConsent::Login(request));
    drop(inner);

    let name = user.global_name.as_deref().unwrap_or(&user.username);
    let avatar_path = match &user.avatar {
        Some(hash) => {
            let ext = if hash.starts_with("a_") { "gif" } else { "png" };
            format!("/avatars/{}/{hash}.{ext}", user.id)
        }
        None => format!(
            "/embed/avatars/{}.png",
            default_avatar_index(&user.id, &user.discriminator)
        ),
    };
    let scope = scopes.join(" ");
    let hidden = [
        ("pending", pending.as_str()),
        ("client_id", fixture.client_id.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("response_type", "code"),
        ("scope", scope.as_str()),
        ("state", state),
    ];
    Html(consent_page::consent(&Consent {
        app: &fixture.application_name,
        user: name,
        avatar_path: &avatar_path,
        scopes: &scopes,
        redirect_uri: &redirect_uri,
        hidden: &hidden,
    }))
    .into_response()
}

/// `POST /oauth2/authorize`: the Authorize / Cancel buttons.
async fn decide(
    State(shared): State<Shared>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let pending_id = form.get("pending").cloned().unwrap_or_default();
    let authorized = form.get("decision").is_some_and(|d| d == "authorize");
    let Some(consent) = shared.lock().pending.remove(&pending_id) else {
        return html_error("This authorization request has expired. Start again from the app.");
    };
    match consent {
        PendingConsent::Login(request) => {
            let state = request.state.clone().unwrap_or_default();
            let redirect = request.redirect_uri.clone();
            if !authorized {
                return redirect_with(
                    &redirect,
                    &[
                        ("error", "access_denied"),
                        ("error_description", DENIED),
                        ("state", &state),
                    ],
                );
            }
            let code = shared.lock().issue_code(request);
            redirect_with(&redirect, &[("code", &code), ("state", &state)])
        }
        bot @ PendingConsent::BotInvite { .. } if authorized => finish_bot_invite(&shared, bot),
        PendingConsent::BotInvite {
            redirect_uri: Some(uri),
            state,
            ..
        } => redirect_with(
            &uri,
            &[
                ("error", "access_denied"),
                ("error_description", DENIED),
                ("state", state.as_deref().unwrap_or_default()),
            ],
        ),
        PendingConsent::BotInvite { .. } => Html(consent_page::message(
            "Cancelled",
            "The bot was not added. You may close this window.",
        ))
        .into_response(),
    }
}

/// The bot joins the guild; then the link's redirect, or Discord's
/// "Authorized" page.
fn finish_bot_invite(shared: &Shared, consent: PendingConsent) -> Response {
    let PendingConsent::BotInvite {
        guild_id,
        permissions,
        redirect_uri,
        state,
    } = consent
    else {
        return html_error("Not a bot invite.");
    };
    if let Some(id) = &guild_id {
        shared.lock().bot_guilds.insert(id.clone());
    }
    match redirect_uri {
        Some(uri) => redirect_with(
            &uri,
            &[
                ("guild_id", guild_id.as_deref().unwrap_or_default()),
                ("permissions", &permissions.to_string()),
                ("state", state.as_deref().unwrap_or_default()),
            ],
        ),
        None => Html(consent_page::message(
            "Authorized",
            "The bot was added to the server. You may close this window.",
        ))
        .into_response(),
    }
}

/// The stand-in's browser session cookie: the id of the user signed in to
/// "Discord" in that browser, so that many browsers (a load test) can sign
/// in as many users at once.
pub const SESSION_COOKIE: &str = "standin_user";

fn browser_session(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_avatar_index_follows_discord() {
        assert_eq!(super::default_avatar_index("80351110224678912", "0"), 5);
        assert_eq!(super::default_avatar_index("1", "1337"), 2);
    }
}
