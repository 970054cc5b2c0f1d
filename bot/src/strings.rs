//! The bot's own words in each language it speaks, and which language to
//! use where. English is complete; Korean has the strings of the commands
//! that honour a guild's language so far (the rest arrives with the
//! localisation work, and falls back to English until then).

use store::GuildLanguage;

/// A language the bot can answer in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ko,
}

/// The guild's choice when it made one, else the user's Discord client
/// language (`locale`, e.g. `ko` or `en-US`), else English.
pub fn choose(guild: GuildLanguage, locale: Option<&str>) -> Lang {
    match guild {
        GuildLanguage::En => Lang::En,
        GuildLanguage::Ko => Lang::Ko,
        GuildLanguage::Auto => match locale {
            Some(l) if l == "ko" || l.starts_with("ko-") => Lang::Ko,
            _ => Lang::En,
        },
    }
}

/// Every sentence the bot says with a language chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    /// `/tag` with a name the guild has no tag for; `{name}` is the name.
    UnknownTag,
    /// `/tag` used outside a server.
    TagsOnlyInServers,
    /// The store could not be read for the answer.
    TryAgain,
}

/// The sentence in `lang`; English where a translation is missing.
pub fn text(lang: Lang, key: Text) -> &'static str {
    match lang {
        Lang::Ko => korean(key).unwrap_or_else(|| english(key)),
        Lang::En => english(key),
    }
}

fn english(key: Text) -> &'static str {
    match key {
        Text::UnknownTag => "This server has no tag named `{name}`.",
        Text::TagsOnlyInServers => "Tags belong to a server: use /tag in one.",
        Text::TryAgain => "Sorry, something went wrong. Please try again in a moment.",
    }
}

fn korean(key: Text) -> Option<&'static str> {
    Some(match key {
        Text::UnknownTag => "이 서버에는 `{name}` 태그가 없습니다.",
        Text::TagsOnlyInServers => "태그는 서버에 속합니다. 서버에서 /tag를 사용하세요.",
        Text::TryAgain => "죄송합니다. 문제가 생겼습니다. 잠시 후 다시 시도해 주세요.",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guilds_choice_wins_then_the_users_locale_then_english() {
        assert_eq!(choose(GuildLanguage::Ko, Some("en-US")), Lang::Ko);
        assert_eq!(choose(GuildLanguage::En, Some("ko")), Lang::En);
        assert_eq!(choose(GuildLanguage::Auto, Some("ko")), Lang::Ko);
        assert_eq!(choose(GuildLanguage::Auto, Some("en-GB")), Lang::En);
        assert_eq!(choose(GuildLanguage::Auto, Some("kok")), Lang::En);
        assert_eq!(choose(GuildLanguage::Auto, None), Lang::En);
    }

    #[test]
    fn every_text_exists_in_both_languages() {
        for key in [Text::UnknownTag, Text::TagsOnlyInServers, Text::TryAgain] {
            assert!(!text(Lang::En, key).is_empty());
            assert_ne!(text(Lang::Ko, key), text(Lang::En, key), "{key:?}");
        }
    }
}
