//! Which language the bot answers in, and the names Discord lists its
//! commands under in Korean. Every word comes from the shared catalogue
//! (shared/i18n).

use i18n::{Lang, text};
use store::GuildLanguage;

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

/// The language to answer `ctx` in: its server's setting (from the
/// settings cache; unknown when the store cannot be read) or its caller's.
pub async fn of_context(ctx: crate::Context<'_>) -> Lang {
    let server = match ctx.guild_id() {
        Some(guild) => match ctx.data().settings.get(guild.get()).await {
            Ok(settings) => of_server(settings.preferences.language),
            Err(e) => {
                tracing::warn!(guild = guild.get(), error = %e, "server language unknown: settings unavailable");
                None
            }
        },
        None => None,
    };
    for_interaction(server, ctx.locale())
}

/// The language a server's managers chose on the portal; `None` for
/// automatic.
pub fn of_server(setting: GuildLanguage) -> Option<Lang> {
    match setting {
        GuildLanguage::Auto => None,
        GuildLanguage::En => Some(Lang::En),
        GuildLanguage::Ko => Some(Lang::Ko),
    }
}

/// A slash command's description from the catalogue
/// (`command-<name>-description`, English), and its Korean name and
/// description under Discord's `ko` (`command-<name>-name`); the same for
/// each option (`command-<name>-option-<option>`, `…-description`).
pub fn localise<U, E>(mut command: poise::Command<U, E>) -> poise::Command<U, E> {
    let key = format!("command-{}", command.name);
    let (name, description) = localised(&format!("{key}-name"), &format!("{key}-description"));
    command.description = Some(description.english.into());
    command.name_localizations = vec![(DISCORD_KOREAN.into(), name.korean.into())].into();
    command.description_localizations =
        vec![(DISCORD_KOREAN.into(), description.korean.into())].into();
    for parameter in &mut command.parameters {
        let option = format!("{key}-option-{}", parameter.name);
        let (name, description) = localised(&option, &format!("{option}-description"));
        parameter.description = Some(description.english.into());
        parameter.name_localizations = vec![(DISCORD_KOREAN.into(), name.korean.into())].into();
        parameter.description_localizations =
            vec![(DISCORD_KOREAN.into(), description.korean.into())].into();
    }
    command
}

struct Both {
    english: String,
    korean: String,
}

fn localised(name_key: &str, description_key: &str) -> (Both, Both) {
    let both = |key: &str| Both {
        english: text(Lang::En, key),
        korean: text(Lang::Ko, key),
    };
    (both(name_key), both(description_key))
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
        assert_eq!(
            for_interaction(of_server(GuildLanguage::Auto), Some("ko")),
            Lang::Ko
        );
        assert_eq!(
            for_interaction(of_server(GuildLanguage::En), Some("ko")),
            Lang::En
        );
        assert_eq!(for_interaction(None, Some("kok")), Lang::En);
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
            for parameter in &command.parameters {
                assert_eq!(
                    text(
                        Lang::En,
                        &format!("command-{}-option-{}", command.name, parameter.name)
                    ),
                    parameter.name,
                    "the English option name is the registered one"
                );
                let (_, name) = &parameter.name_localizations[0];
                assert!((1..=32).contains(&name.chars().count()) && !name.contains(' '));
                assert!(parameter.description.is_some());
            }
        }
    }
}
