//! `/dashboard`: DM the caller a button that logs them in to the portal and
//! lands them on this server's page; if their DMs are closed, hand them the
//! link privately instead.

use discord::GuildId;
use i18n::{Lang, text};
use poise::CreateReply;
use serenity::all::{CreateActionRow, CreateButton, CreateEmbed, CreateMessage};

use crate::error::BotError;
use crate::links::dashboard_link;
use crate::{Context, Data, language};

// Its description and Korean name come from the catalogue
// (`command-dashboard-*`, see `language::localise`).
/// Get a link to the Guildhall dashboard for this server.
#[poise::command(slash_command)]
// poise renames the function it wraps (to `inner`), hence the explicit name.
#[tracing::instrument(
    name = "dashboard",
    skip_all,
    fields(guild = ctx.guild_id().map(|g| g.get()), user = ctx.author().id.get())
)]
pub async fn dashboard(ctx: Context<'_>) -> Result<(), BotError> {
    // Opening a DM can be slow; deferring (ephemerally) answers Discord within
    // its 3-second deadline.
    ctx.defer_ephemeral().await?;
    let data: &Data = ctx.data();
    let guild = ctx.guild_id().map(|g| GuildId::new(g.get()));
    let link = dashboard_link(&data.portal_public_url, guild);
    let lang = language::of_context(ctx).await;
    let outcome = ctx
        .author()
        .direct_message(ctx.serenity_context(), login_message(&link, lang))
        .await
        .map(|_| ())
        .map_err(BotError::from_dm_failure);
    if let Err(e @ BotError::Discord(_)) = &outcome {
        tracing::warn!(error = %e, "could not DM the dashboard link");
    }
    ctx.send(
        CreateReply::default()
            .content(reply_for(&outcome, &link, lang))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// The DM: an embed and a link button (style 5).
pub fn login_message(link: &str, lang: Lang) -> CreateMessage {
    let embed = CreateEmbed::new()
        .title(text(lang, "bot-dm-title"))
        .description(text(lang, "bot-dm-description"))
        .url(link);
    let button = CreateButton::new_link(link).label(text(lang, "bot-dm-button"));
    CreateMessage::new()
        .embed(embed)
        .components(vec![CreateActionRow::Buttons(vec![button])])
}

/// The ephemeral answer, by how the DM went.
fn reply_for(outcome: &Result<(), BotError>, link: &str, lang: Lang) -> String {
    match outcome {
        Ok(()) => text(lang, "bot-reply-dm-sent"),
        Err(BotError::DmClosed) => {
            let mut args = i18n::Args::new();
            args.set("link", link);
            i18n::text_with(lang, "bot-reply-dm-closed", &args)
        }
        Err(_) => text(lang, "bot-reply-failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        let link = "https://portal/discord/login?next=%2Fdiscord%2Fguilds%2F1";
        assert!(reply_for(&Ok(()), link, Lang::En).contains("Check your DMs"));
        assert!(reply_for(&Ok(()), link, Lang::Ko).contains("DM을 확인해 주세요"));
        for lang in Lang::ALL {
            let closed = reply_for(&Err(BotError::DmClosed), link, lang);
            assert!(closed.ends_with(&format!("\n{link}")), "{closed}");
        }
        let other = || BotError::Discord(serenity::Error::Other("x"));
        let en = reply_for(&Err(other()), link, Lang::En);
        assert!(en.starts_with("Sorry") && !en.contains(link));
        let ko = reply_for(&Err(other()), link, Lang::Ko);
        assert!(ko.starts_with("죄송해요") && !ko.contains(link));
    }
}
