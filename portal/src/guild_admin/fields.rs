//! The fields of a server's settings and tags, parsed at the edge into types
//! that hold only valid values. A refusal says where (`loc`, as FastAPI
//! writes it), why (`msg`, for people) and what kind (`type`, pydantic's
//! names, for programs); forms show the `msg` beside the field.

use serde::Serialize;
use store::{GuildChannel, GuildLanguage, TAG_CONTENT_MAX, TAG_NAME_MAX, WELCOME_MESSAGE_MAX};

/// The placeholders a welcome message may hold.
pub const PLACEHOLDERS: [&str; 3] = ["{user}", "{server}", "{member_count}"];

/// One invalid field, in FastAPI's `{"loc", "msg", "type"}` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub loc: Vec<String>,
    pub msg: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

impl FieldError {
    pub fn new(loc: &[&str], msg: impl Into<String>, kind: &'static str) -> Self {
        FieldError {
            loc: loc.iter().map(|s| (*s).to_owned()).collect(),
            msg: msg.into(),
            kind,
        }
    }

    /// The same error at another place (a form field instead of a JSON path).
    pub fn at(mut self, loc: &[&str]) -> Self {
        self.loc = loc.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// The last part of `loc`: the field's name, for forms.
    pub fn field(&self) -> &str {
        self.loc.last().map(String::as_str).unwrap_or_default()
    }
}

/// A refusal before `at` is known: the parsers below say why, callers say where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub msg: String,
    pub kind: &'static str,
}

impl Invalid {
    fn new(msg: impl Into<String>, kind: &'static str) -> Self {
        Invalid {
            msg: msg.into(),
            kind,
        }
    }

    pub fn at(self, loc: &[&str]) -> FieldError {
        FieldError::new(loc, self.msg, self.kind)
    }
}

fn length(value: &str, min: usize, max: usize) -> Result<(), Invalid> {
    let len = value.chars().count();
    if len < min {
        return Err(Invalid::new(
            format!(
                "Must have at least {min} character{}",
                if min == 1 { "" } else { "s" }
            ),
            "string_too_short",
        ));
    }
    if len > max {
        return Err(Invalid::new(
            format!("Must have at most {max} characters (this has {len})"),
            "string_too_long",
        ));
    }
    Ok(())
}

/// A tag's name, by Discord's rules for option values users type: 1–32
/// characters, each a letter with no upper case (Hangul and other scripts
/// included), a digit, `-` or `_`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagName(String);

impl TagName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        length(raw, 1, TAG_NAME_MAX)?;
        if let Some(c) = raw
            .chars()
            .find(|c| !(c.is_alphanumeric() || *c == '-' || *c == '_') || c.is_uppercase())
        {
            let why = if c.is_uppercase() {
                format!("Use lower-case letters only ({c:?} is upper case)")
            } else {
                format!("Use letters, digits, - and _ only ({:?} is not allowed)", c)
            };
            return Err(Invalid::new(why, "string_pattern_mismatch"));
        }
        Ok(TagName(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a tag answers with: 1–2,000 characters, not only spaces (Discord
/// refuses an empty message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagContent(String);

impl TagContent {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        length(raw, 1, TAG_CONTENT_MAX)?;
        if raw.trim().is_empty() {
            return Err(Invalid::new(
                "Must have some text, not only spaces",
                "string_too_short",
            ));
        }
        Ok(TagContent(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The welcome message: at most 2,000 characters (non-empty when welcome
/// messages are on), with no placeholder but `{user}`, `{server}` and
/// `{member_count}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WelcomeMessage(String);

impl WelcomeMessage {
    pub fn parse(raw: &str, enabled: bool) -> Result<Self, Invalid> {
        length(raw, 0, WELCOME_MESSAGE_MAX)?;
        if enabled && raw.trim().is_empty() {
            return Err(Invalid::new(
                "Write the message to post, or turn welcome messages off",
                "string_too_short",
            ));
        }
        let mut rest = raw;
        while let Some(open) = rest.find('{') {
            let after = &rest[open..];
            let Some(close) = after.find('}') else { break };
            let candidate = &after[..=close];
            // `{` followed by a word and `}` is meant as a placeholder.
            let inner = &candidate[1..candidate.len() - 1];
            let looks_like_one =
                !inner.is_empty() && inner.chars().all(|c| c.is_alphanumeric() || c == '_');
            if looks_like_one && !PLACEHOLDERS.contains(&candidate) {
                return Err(Invalid::new(
                    format!(
                        "Unknown placeholder {candidate}: use {{user}}, {{server}} or {{member_count}}"
                    ),
                    "value_error",
                ));
            }
            rest = &after[1..];
        }
        Ok(WelcomeMessage(raw.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

pub fn language(raw: &str) -> Result<GuildLanguage, Invalid> {
    raw.parse()
        .map_err(|_| Invalid::new("Choose auto, en or ko", "enum"))
}

/// A snowflake as Discord writes one: a decimal string.
pub fn snowflake(raw: &str) -> Result<u64, Invalid> {
    match raw.parse::<u64>() {
        Ok(id) if id > 0 && raw.bytes().all(|b| b.is_ascii_digit()) => Ok(id),
        _ => Err(Invalid::new(
            "Must be a channel id (a number, as a string)",
            "value_error",
        )),
    }
}

/// The welcome channel: one of the guild's text channels, or none; needed
/// when welcome messages are on. The `saved` channel may stay while
/// welcome messages are off even if it has since been deleted, so turning
/// them off never needs a channel chosen first.
pub fn welcome_channel(
    id: Option<u64>,
    enabled: bool,
    saved: Option<u64>,
    channels: &[GuildChannel],
) -> Result<Option<u64>, Invalid> {
    match id {
        None if enabled => Err(Invalid::new(
            "Choose the channel to post in, or turn welcome messages off",
            "missing",
        )),
        None => Ok(None),
        Some(id) if channels.iter().any(|c| c.id == id && c.is_text()) => Ok(Some(id)),
        Some(id) if !enabled && Some(id) == saved => Ok(Some(id)),
        Some(_) => Err(Invalid::new(
            "Not a text channel of this server (it may have been deleted)",
            "value_error",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_names_follow_discord_s_rules() {
        for ok in [
            "rules",
            "faq_1",
            "a-b",
            "규칙",
            "안녕-2",
            "x",
            &"a".repeat(32),
            "été",
        ] {
            assert!(TagName::parse(ok).is_ok(), "{ok}");
        }
        for (bad, kind) in [
            ("", "string_too_short"),
            (&"a".repeat(33) as &str, "string_too_long"),
            ("Rules", "string_pattern_mismatch"),
            ("two words", "string_pattern_mismatch"),
            ("emoji😀", "string_pattern_mismatch"),
            ("semi;colon", "string_pattern_mismatch"),
            ("slash/", "string_pattern_mismatch"),
        ] {
            assert_eq!(TagName::parse(bad).unwrap_err().kind, kind, "{bad}");
        }
        // Characters, not bytes: 32 Hangul syllables are 96 bytes.
        assert!(TagName::parse(&"한".repeat(32)).is_ok());
    }

    #[test]
    fn tag_content_is_1_to_2000_characters_of_something() {
        assert!(TagContent::parse("@everyone hi").is_ok());
        assert!(TagContent::parse(&"é".repeat(2000)).is_ok());
        assert_eq!(TagContent::parse("").unwrap_err().kind, "string_too_short");
        assert_eq!(
            TagContent::parse("  \n").unwrap_err().kind,
            "string_too_short"
        );
        assert_eq!(
            TagContent::parse(&"x".repeat(2001)).unwrap_err().kind,
            "string_too_long"
        );
    }

    #[test]
    fn welcome_messages_know_their_placeholders() {
        assert!(
            WelcomeMessage::parse("Hi {user}, welcome to {server} ({member_count})", true).is_ok()
        );
        assert!(WelcomeMessage::parse("JSON stays: {\"a\": 1} and { spaced }", true).is_ok());
        assert!(WelcomeMessage::parse("", false).is_ok());
        let err = WelcomeMessage::parse("Hi {username}", true).unwrap_err();
        assert_eq!(err.kind, "value_error");
        assert!(err.msg.contains("{username}"), "{}", err.msg);
        assert_eq!(
            WelcomeMessage::parse(" ", true).unwrap_err().kind,
            "string_too_short"
        );
        assert_eq!(
            WelcomeMessage::parse(&"x".repeat(2001), false)
                .unwrap_err()
                .kind,
            "string_too_long"
        );
    }

    #[test]
    fn channels_must_be_the_guild_s_text_channels() {
        let channels = [
            GuildChannel {
                id: 10,
                name: "general".into(),
                position: 0,
                kind: 0,
            },
            GuildChannel {
                id: 11,
                name: "Voice".into(),
                position: 1,
                kind: 2,
            },
        ];
        assert_eq!(
            welcome_channel(Some(10), true, None, &channels),
            Ok(Some(10))
        );
        assert!(
            welcome_channel(Some(11), true, None, &channels).is_err(),
            "voice"
        );
        assert!(
            welcome_channel(Some(12), false, None, &channels).is_err(),
            "unknown"
        );
        assert_eq!(
            welcome_channel(Some(12), false, Some(12), &channels),
            Ok(Some(12)),
            "saved, deleted, off"
        );
        assert!(
            welcome_channel(Some(12), true, Some(12), &channels).is_err(),
            "saved, deleted, on"
        );
        assert_eq!(
            welcome_channel(None, true, None, &channels)
                .unwrap_err()
                .kind,
            "missing"
        );
        assert_eq!(welcome_channel(None, false, None, &channels), Ok(None));
        assert_eq!(snowflake("41771983423143937"), Ok(41771983423143937));
        for bad in ["", "0", "-1", "+5", "12a", "99999999999999999999"] {
            assert!(snowflake(bad).is_err(), "{bad}");
        }
        assert_eq!(language("ko"), Ok(GuildLanguage::Ko));
        assert_eq!(language("fr").unwrap_err().kind, "enum");
    }
}
