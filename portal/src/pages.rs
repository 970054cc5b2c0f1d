//! HTML rendering: the minijinja environment (templates embedded at build
//! time, auto-escaping on), the header's user, and guild initials.

use axum::response::Html;
use minijinja::Environment;
use serde::Serialize;

use crate::AppState;
use crate::error::{IntoInternal, PortalError};

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("sign_in.html", include_str!("../../templates/sign_in.html")),
    ("guilds.html", include_str!("../../templates/guilds.html")),
    ("guild.html", include_str!("../../templates/guild.html")),
    (
        "guild_tags.html",
        include_str!("../../templates/guild_tags.html"),
    ),
    (
        "guild_audit.html",
        include_str!("../../templates/guild_audit.html"),
    ),
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

/// Renders template `name` (minijinja's errors name the template).
pub fn render<S: Serialize>(
    app: &AppState,
    name: &str,
    ctx: S,
) -> Result<Html<String>, PortalError> {
    app.templates
        .get_template(name)
        .and_then(|template| template.render(ctx))
        .map(Html)
        .internal("rendering a page")
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
