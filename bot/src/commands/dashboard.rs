//! `/dashboard`: DM the caller a button that logs them in to the portal and
//! lands them on this server's page; if their DMs are closed, hand them the
//! link privately instead.

use discord::GuildId;
use poise::CreateReply;
use serenity::all::{CreateActionRow, CreateButton, CreateEmbed, CreateMessage};

use crate::error::BotError;
use crate::links::dashboard_link;
use crate::{Context, Data};

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
    let outcome = ctx
        .author()
        .direct_message(ctx.serenity_context(), login_message(&link))
        .await
        .map(|_| ())
        .map_err(BotError::from_dm_failure);
    if let Err(e @ BotError::Discord(_)) = &outcome {
        tracing::warn!(error = %e, "could not DM the dashboard link");
    }
    ctx.send(
        CreateReply::default()
            .content(reply_for(&outcome, &link))
            .ephemeral(true),
    )
    .await?;
    Ok(())
}

/// The DM: an embed and a link button (style 5).
pub fn login_message(link: &str) -> CreateMessage {
    let embed = CreateEmbed::new()
        .title("Your Guildhall dashboard")
        .description("Sign in with Discord to see your servers and what you can manage there.")
        .url(link);
    let button = CreateButton::new_link(link).label("Open the dashboard");
    CreateMessage::new()
        .embed(embed)
        .components(vec![CreateActionRow::Buttons(vec![button])])
}

/// The ephemeral answer, by how the DM went.
fn reply_for(outcome: &Result<(), BotError>, link: &str) -> String {
    match outcome {
        Ok(()) => "Check your DMs: I sent you a link to the dashboard.".to_owned(),
        Err(BotError::DmClosed) => format!(
            "I couldn't DM you (your DMs are closed), so here is your link — it's only visible to you:\n{link}"
        ),
        Err(_) => "Sorry, something went wrong sending your link. Please try again in a moment."
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        let link = "https://portal/discord/login?next=%2Fdiscord%2Fguilds%2F1";
        assert!(reply_for(&Ok(()), link).contains("Check your DMs"));
        assert!(reply_for(&Err(BotError::DmClosed), link).contains(link));
        let other = reply_for(&Err(BotError::Discord(serenity::Error::Other("x"))), link);
        assert!(other.starts_with("Sorry") && !other.contains(link));
    }
}
