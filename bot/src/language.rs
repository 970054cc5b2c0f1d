//! Which language the bot answers in, and the names Discord lists its
//! commands under in Korean. Every word comes from the shared catalogue
//! (shared/i18n).

use i18n::{Lang, text};

/// Discord's locale code for Korean (`name_localizations` keys, an
/// interaction's `locale`).
pub const DISCORD_KOREAN: &str = "ko";

/// The language of an answer: the server's when its managers chose one
/// (`server`), else the language of the caller's Discord client (the
/// interaction's `locale`), else English.
pub fn for_interaction(server: Option<Lang>, locale: Option<&str>) -> Lang {
    server
        .or_else(|| locale.and_then(Lang::from_tag))
        .unwrap_or_default()
}

/// A slash command's description from the catalogue
/// (`command-<name>-description`, English), and its Korean name and
/// description under Discord's `ko` (`command-<name>-name`).
pub fn localise<U, E>(mut command: poise::Command<U, E>) -> poise::Command<U, E> {
    let name_key = format!("command-{}-name", command.name);
    let description_key = format!("command-{}-description", command.name);
    command.description = Some(text(Lang::En, &description_key).into());
    command.name_localizations =
        vec![(DISCORD_KOREAN.into(), text(Lang::Ko, &name_key).into())].into();
    command.description_localizations = vec![(
        DISCORD_KOREAN.into(),
        text(Lang::Ko, &description_key).into(),
    )]
    .into();
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_then_locale_then_english() {
        assert_eq!(for_interaction(None, Some("ko")), Lang::Ko);
        assert_eq!(for_interaction(None, Some("en-US")), Lang::En);
        assert_eq!(for_interaction(None, Some("ja")), Lang::En);
        assert_eq!(for_interaction(None, None), Lang::En);
        assert_eq!(for_interaction(Some(Lang::En), Some("ko")), Lang::En);
        assert_eq!(for_interaction(Some(Lang::Ko), Some("en-US")), Lang::Ko);
    }

    #[test]
    fn commands_are_named_in_korean_within_discords_rules() {
        for command in crate::commands::all() {
            assert_eq!(
                text(Lang::En, &format!("command-{}-name", command.name)),
                command.name,
                "the English name is the registered one"
            );
            let (locale, name) = &command.name_localizations[0];
            assert_eq!(locale, DISCORD_KOREAN);
            // Discord: 1–32 characters, lower case, no spaces.
            assert!(
                (1..=32).contains(&name.chars().count())
                    && !name.chars().any(|c| c.is_whitespace() || c.is_uppercase()),
                "{name}"
            );
            for (_, d) in command.description_localizations.iter() {
                assert!((1..=100).contains(&d.chars().count()), "{d}");
            }
            let description = command.description.as_deref().unwrap_or_default();
            assert!((1..=100).contains(&description.chars().count()));
        }
    }
}
