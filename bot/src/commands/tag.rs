//! `/tag name:<autocomplete>`: answer with one of the server's tags, as its
//! managers wrote it on the portal, pinging nobody. Answers come from the
//! settings cache ([`crate::guild_settings`]), never a store query per use.

use poise::CreateReply;
use serenity::all::{AutocompleteChoice, CreateAllowedMentions, CreateAutocompleteResponse};
use store::GuildLanguage;

use crate::error::BotError;
use crate::guild_settings::GuildSettings;
use crate::strings::{self, Text};
use crate::{Context, Data};

/// Discord shows at most this many autocomplete choices.
pub const MAX_CHOICES: usize = 25;

/// What `/tag` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagReply {
    /// The tag's content, for everyone in the channel.
    Content(String),
    /// A note only the caller sees.
    Private(String),
}

/// The answer to `/tag name` in a guild with `settings` (`None`: outside a
/// guild), for a user whose client speaks `locale`.
pub fn reply(settings: Option<&GuildSettings>, name: &str, locale: Option<&str>) -> TagReply {
    let Some(settings) = settings else {
        let lang = strings::choose(GuildLanguage::Auto, locale);
        return TagReply::Private(strings::text(lang, Text::TagsOnlyInServers).to_owned());
    };
    let name = name.trim().to_lowercase();
    match settings.tag(&name) {
        Some(tag) => TagReply::Content(tag.content.clone()),
        None => {
            let lang = strings::choose(settings.preferences.language, locale);
            TagReply::Private(strings::text(lang, Text::UnknownTag).replace("{name}", &name))
        }
    }
}

/// The guild's tag names starting with what was typed, in name order.
pub fn choices(settings: &GuildSettings, partial: &str) -> Vec<String> {
    let partial = partial.trim().to_lowercase();
    settings
        .tags
        .iter()
        .filter(|t| t.name.starts_with(&partial))
        .take(MAX_CHOICES)
        .map(|t| t.name.clone())
        .collect()
}

async fn complete_name(ctx: Context<'_>, partial: &str) -> CreateAutocompleteResponse {
    let names = match ctx.guild_id() {
        Some(guild) => match ctx.data().settings.get(guild.get()).await {
            Ok(settings) => choices(&settings, partial),
            Err(e) => {
                tracing::warn!(guild = guild.get(), error = %e, "no tag choices: settings unavailable");
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    CreateAutocompleteResponse::new()
        .set_choices(names.into_iter().map(AutocompleteChoice::from).collect())
}

/// Answer with one of this server's tags.
#[poise::command(slash_command)]
#[tracing::instrument(
    name = "tag",
    skip_all,
    fields(guild = ctx.guild_id().map(|g| g.get()), user = ctx.author().id.get())
)]
pub async fn tag(
    ctx: Context<'_>,
    #[description = "The tag's name"]
    #[autocomplete = "complete_name"]
    name: String,
) -> Result<(), BotError> {
    let data: &Data = ctx.data();
    let settings = match ctx.guild_id() {
        Some(guild) => match data.settings.get(guild.get()).await {
            Ok(settings) => Some(settings),
            Err(e) => {
                tracing::error!(error = %e, "could not load the guild's tags");
                let lang = strings::choose(GuildLanguage::Auto, ctx.locale());
                let note = strings::text(lang, Text::TryAgain);
                ctx.send(CreateReply::default().content(note).ephemeral(true))
                    .await?;
                return Ok(());
            }
        },
        None => None,
    };
    let answer = match reply(settings.as_deref(), &name, ctx.locale()) {
        // Text written by a server's managers never pings: @everyone,
        // roles and users in it stay plain text.
        TagReply::Content(content) => CreateReply::default()
            .content(content)
            .allowed_mentions(CreateAllowedMentions::new()),
        TagReply::Private(note) => CreateReply::default().content(note).ephemeral(true),
    };
    ctx.send(answer).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::{GuildPreferences, GuildTag};

    fn settings(language: GuildLanguage, names: &[&str]) -> GuildSettings {
        let mut preferences = GuildPreferences::defaults(1);
        preferences.language = language;
        let mut tags: Vec<GuildTag> = names
            .iter()
            .map(|n| GuildTag {
                name: (*n).into(),
                content: format!("about {n}"),
                updated_at: 0,
            })
            .collect();
        tags.sort_by(|a, b| a.name.cmp(&b.name));
        GuildSettings { preferences, tags }
    }

    #[test]
    fn known_unknown_and_outside_a_guild() {
        let s = settings(GuildLanguage::Auto, &["rules", "faq"]);
        assert_eq!(
            reply(Some(&s), " Rules ", None),
            TagReply::Content("about rules".into())
        );
        assert_eq!(
            reply(Some(&s), "nope", Some("en-US")),
            TagReply::Private("This server has no tag named `nope`.".into())
        );
        assert_eq!(
            reply(Some(&s), "nope", Some("ko")),
            TagReply::Private("이 서버에는 `nope` 태그가 없습니다.".into())
        );
        let english = settings(GuildLanguage::En, &[]);
        assert!(
            matches!(reply(Some(&english), "x", Some("ko")), TagReply::Private(t) if t.starts_with("This server"))
        );
        assert!(matches!(reply(None, "x", None), TagReply::Private(t) if t.contains("/tag")));
    }

    #[test]
    fn choices_are_filtered_by_prefix_and_capped() {
        let names: Vec<String> = (0..40).map(|i| format!("t{i:02}")).collect();
        let mut refs: Vec<&str> = names.iter().map(String::as_str).collect();
        refs.extend(["rules", "규칙"]);
        let s = settings(GuildLanguage::Auto, &refs);
        assert_eq!(choices(&s, "RU"), ["rules"]);
        assert_eq!(choices(&s, "규"), ["규칙"]);
        assert_eq!(choices(&s, "").len(), MAX_CHOICES);
        assert_eq!(choices(&s, "t1").len(), 10);
        assert!(choices(&s, "zz").is_empty());
    }
}
