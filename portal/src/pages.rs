//! HTML rendering: the minijinja environment (templates embedded at build
//! time, auto-escaping on) and the layer that turns errors on browser routes
//! into pages or a trip to the login page.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

use crate::AppState;
use crate::error::{ErrorPage, PortalError};
use crate::session::cookies;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    (
        "dashboard.html",
        include_str!("../../templates/dashboard.html"),
    ),
    ("guilds.html", include_str!("../../templates/guilds.html")),
    ("guild.html", include_str!("../../templates/guild.html")),
    ("error.html", include_str!("../../templates/error.html")),
];

pub const STYLESHEET: &str = include_str!("../../templates/static/guildhall.css");

/// Builds the template environment once at start-up; a broken template fails
/// start-up (and the tests), never a request.
pub fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    // `.html` templates are HTML-escaped by default: guild names and nicknames
    // are attacker-controlled.
    for (name, source) in TEMPLATES {
        env.add_template(name, source)?;
    }
    Ok(env)
}

/// The signed-in user as the header shows them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeaderUser {
    pub nickname: String,
    pub avatar_url: String,
}

impl HeaderUser {
    pub fn from_user(user: &store::User, cdn_url: &str) -> Self {
        HeaderUser {
            nickname: user
                .nickname
                .clone()
                .unwrap_or_else(|| user.email.split('@').next().unwrap_or("you").to_owned()),
            avatar_url: user
                .profile_img
                .clone()
                .unwrap_or_else(|| format!("{cdn_url}/embed/avatars/0.png")),
        }
    }
}

pub fn render<S: Serialize>(
    state: &AppState,
    name: &str,
    ctx: S,
) -> Result<Html<String>, PortalError> {
    let template = state
        .templates
        .get_template(name)
        .map_err(|e| PortalError::Internal(format!("template {name}: {e}")))?;
    template
        .render(ctx)
        .map(Html)
        .map_err(|e| PortalError::Internal(format!("render {name}: {e}")))
}

/// Browser routes: an error becomes an HTML page with the same status, and
/// "not signed in" becomes a redirect to the login page that comes back here.
pub async fn html_errors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let here = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let response = next.run(request).await;
    let Some(page) = response.extensions().get::<ErrorPage>().cloned() else {
        return response;
    };
    if page.to_login {
        let mut location = String::from("/?");
        if page.clear_session {
            location.push_str("reauth=1&");
        }
        location.push_str("next=");
        location
            .push_str(&url::form_urlencoded::byte_serialize(here.as_bytes()).collect::<String>());
        let mut redirect = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
        if page.clear_session {
            let cookie = cookies::clear_cookie(
                &state.config.session_cookie_name,
                state.config.cookie_secure,
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                redirect.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        return redirect;
    }
    let (action_url, action_label) = match page.status {
        StatusCode::BAD_REQUEST => ("/", "Back to sign in"),
        _ => ("/discord/guilds", "Back to your servers"),
    };
    let ctx = minijinja::context! {
        title => page.title,
        message => page.message,
        code => page.code,
        action_url,
        action_label,
        demo => state.config.demo,
    };
    let mut rendered = match render(&state, "error.html", ctx) {
        Ok(html) => (page.status, html).into_response(),
        Err(_) => (page.status, page.title).into_response(),
    };
    // Keep headers the handler set (Retry-After, cleared cookies).
    for (name, value) in response.headers() {
        if name == header::RETRY_AFTER || name == header::SET_COOKIE {
            rendered.headers_mut().append(name.clone(), value.clone());
        }
    }
    rendered
}

/// Discord-style initials for a guild without an icon: the first character of
/// each word, at most three.
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(3)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_compile_and_escape() {
        let env = environment().unwrap();
        let html = env
            .get_template("guilds.html")
            .unwrap()
            .render(minijinja::context! {
                guilds => vec![minijinja::context!{ id => "1", name => "<script>alert(1)</script>", initials => "<s", can_manage => false, bot_present => false }],
                user => minijinja::context!{ nickname => "\"><img src=x>", avatar_url => "https://cdn/x.png" },
            })
            .unwrap();
        assert!(html.contains("&lt;script&gt;alert(1)"), "{html}");
        assert!(!html.contains("<script>"));
        assert!(!html.contains("\"><img src=x>"));
    }

    #[test]
    fn initials_like_discord() {
        assert_eq!(initials("Rust Programming Community Server"), "RPC");
        assert_eq!(initials("été"), "é");
        assert_eq!(initials(""), "");
    }
}
