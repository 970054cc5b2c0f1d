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

    /// Words a template may say itself: the product's name.
    const NAMES: &[&str] = &["Guildhall"];
    /// Attributes people read (or hear from a screen reader); a `value`
    /// only on buttons (elsewhere it is what the form sends).
    const READ_ATTRIBUTES: &[&str] = &["title", "alt", "placeholder", "aria-label"];

    /// The English words a template says outside `t(...)`: text between
    /// tags and the attributes people read, once `{{ }}`, `{% %}` and
    /// `{# #}` are taken out.
    fn literal_words(template: &str) -> Vec<String> {
        let mut html = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find(['{']) {
            html.push_str(&rest[..start]);
            let close = match rest[start..].chars().nth(1) {
                Some('{') => "}}",
                Some('%') => "%}",
                Some('#') => "#}",
                _ => {
                    html.push('{');
                    rest = &rest[start + 1..];
                    continue;
                }
            };
            let Some(end) = rest[start..].find(close) else {
                break;
            };
            html.push(' ');
            rest = &rest[start + end + 2..];
        }
        html.push_str(rest);

        let mut read = Vec::new();
        let mut rest = html.as_str();
        while let Some(open) = rest.find('<') {
            read.push(rest[..open].to_owned());
            let Some(close) = rest[open..].find('>') else {
                break;
            };
            let tag = &rest[open + 1..open + close];
            // What people type (`<code>{user}</code>`) is not prose.
            if tag == "code" || tag.starts_with("code ") {
                let Some(end) = rest[open..].find("</code>") else {
                    break;
                };
                rest = &rest[open + end + "</code>".len()..];
                continue;
            }
            let button = tag.starts_with("input")
                && ["submit", "button", "reset"]
                    .iter()
                    .any(|t| tag.contains(&format!("type=\"{t}\"")));
            let attributes = READ_ATTRIBUTES.iter().chain(button.then_some(&"value"));
            for attribute in attributes {
                let needle = format!(" {attribute}=\"");
                if let Some(at) = tag.find(&needle) {
                    let value = &tag[at + needle.len()..];
                    read.push(value[..value.find('"').unwrap_or(value.len())].to_owned());
                }
            }
            rest = &rest[open + close + 1..];
        }
        read.push(rest.to_owned());
        read.iter()
            .flat_map(|text| text.split(|c: char| !c.is_ascii_alphabetic()))
            .filter(|word| word.len() >= 2 && !NAMES.contains(word))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn templates_say_nothing_outside_the_catalogue() {
        for (name, source) in TEMPLATES {
            let words = literal_words(source);
            assert!(words.is_empty(), "{name}: literal English {words:?}");
        }
        // The scan finds what it is for.
        assert_eq!(literal_words("<p>Hello {{ x }}</p>"), ["Hello"]);
        assert_eq!(
            literal_words(r#"<img alt="Logo of {{ n }}" src="/a.png">"#),
            ["Logo", "of"]
        );
        assert_eq!(
            literal_words(r#"<button aria-label="Close">{{ t("x") }}</button>"#),
            ["Close"]
        );
        assert!(
            literal_words(r#"<a href="/x" class="btn">{{ t("k") }}</a> · Guildhall"#).is_empty()
        );
        assert_eq!(
            literal_words(r#"<input type="submit" value="Save">"#),
            ["Save"]
        );
        assert!(
            literal_words(r#"<option value="auto">{{ t("k") }}</option> <code>{user}</code>"#)
                .is_empty()
        );
    }

    #[test]
    fn pages_speak_the_language_they_are_given() {
        let env = environment().unwrap();
        let render = |lang: &str| {
            env.get_template("sign_in.html")
                .unwrap()
                .render(minijinja::context! { lang, login_href => "/discord/login", languages => Vec::<()>::new() })
                .unwrap()
        };
        let ko = render("ko");
        assert!(ko.contains(r#"<html lang="ko">"#) && ko.contains("디스코드로 로그인"));
        let en = render("en");
        assert!(en.contains(r#"<html lang="en">"#) && en.contains("Login with Discord"));
        let numbers = env
            .render_str(
                "{{ 1234567 | number }} {{ 1741338300 | datetime }}",
                minijinja::context! { lang => "ko" },
            )
            .unwrap();
        assert_eq!(numbers, "1,234,567 2025년 3월 7일 09:05 (UTC)");
    }

    #[test]
    fn initials_like_discord() {
        assert_eq!(initials("Rust Programming Community Server"), "RPC");
        assert_eq!(initials("été"), "é");
        assert_eq!(initials(""), "");
    }
}
