//! `/dashboard`: DM the caller a button that logs them in to the portal and
//! lands them on this server's page; if their DMs are closed, hand them the
//! link privately instead.

use poise::CreateReply;
use serenity::all::{CreateActionRow, CreateButton, CreateEmbed, CreateMessage};

use crate::error::{BotError, reply_for};
use crate::links::dashboard_link;
use crate::{Context, Data};

/// Get a link to the Guildhall dashboard for this server.
#[poise::command(slash_command)]
pub async fn dashboard(ctx: Context<'_>) -> Result<(), BotError> {
    // Opening a DM can be slow; deferring (ephemerally) answers Discord within
    // its 3-second deadline.
    ctx.defer_ephemeral().await?;
    let data: &Data = ctx.data();
    let link = dashboard_link(&data.portal_public_url, ctx.guild_id().map(|g| g.get()));
    let outcome = ctx
        .author()
        .direct_message(ctx.serenity_context(), login_message(&link))
        .await
        .map(|_| ())
        .map_err(BotError::from_dm_failure);
    if let Err(e @ BotError::Discord(_)) = &outcome {
        tracing::warn!(user = ctx.author().id.get(), error = %e, "could not DM the dashboard link");
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
