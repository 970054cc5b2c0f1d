//! HTML rendering: the minijinja environment (templates embedded at build
//! time, auto-escaping on), the words in the page's language, the header's
//! user, and guild initials.
//!
//! Templates hold no words of their own: `{{ t("key", name=value) }}` looks
//! `key` up in the catalogue (shared/i18n) in the page's language, which
//! [`render`] puts in every context as `lang`; `number` and `datetime`
//! filters write numbers and epoch seconds the same way.

use axum::response::Html;
use i18n::{FluentValue, Lang};
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, State};
use serde::Serialize;

use crate::AppState;
use crate::error::{IntoInternal, PortalError};
use crate::language::RequestLanguage;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("sign_in.html", include_str!("../../templates/sign_in.html")),
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
    env.add_function("t", translate);
    env.add_filter("number", number);
    env.add_filter("datetime", datetime);
    Ok(env)
}

/// The page's language, as [`render`] put it in the context.
fn page_lang(state: &State) -> Lang {
    state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_default()
}

/// `t("key", name=value, …)`: the message in the page's language. Its text
/// is escaped like any other value when the page is written.
fn translate(state: &State, key: &str, kwargs: Kwargs) -> Result<String, minijinja::Error> {
    let mut args = i18n::Args::new();
    for name in kwargs.args() {
        let value: Value = kwargs.get(name)?;
        let value = match value.as_i64() {
            // Numbers stay numbers: Fluent picks plural forms by them.
            Some(n) => FluentValue::from(n),
            None => FluentValue::from(value.to_string()),
        };
        args.set(name.to_owned(), value);
    }
    Ok(i18n::text_with(page_lang(state), key, &args))
}

/// `{{ n | number }}`: `1,234`.
fn number(state: &State, n: i64) -> String {
    i18n::number(page_lang(state), n)
}

/// `{{ epoch_seconds | datetime }}`: `7 Mar 2025, 09:05 UTC` /
/// `2025년 3월 7일 09:05 (UTC)`.
fn datetime(state: &State, epoch_seconds: i64) -> String {
    match chrono::DateTime::from_timestamp(epoch_seconds, 0) {
        Some(at) => i18n::datetime(page_lang(state), at),
        None => epoch_seconds.to_string(),
    }
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

/// Renders template `name` in the request's language (minijinja's errors
/// name the template).
pub fn render<S: Serialize>(
    app: &AppState,
    name: &str,
    language: &RequestLanguage,
    ctx: S,
) -> Result<Html<String>, PortalError> {
    let ctx = minijinja::context! {
        lang => language.resolve().as_str(),
        languages => language.switch_links(),
        demo => app.config.demo,
        ..Value::from_serialize(ctx)
    };
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
