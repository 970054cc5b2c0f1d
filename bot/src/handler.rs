//! Gateway events that keep the store's record of the bot's guilds. The
//! decisions are in [`crate::presence`]; this only feeds them and, when the
//! order of two events is uncertain, asks Discord.

use std::time::Instant;

use discord::GuildId;
use serenity::all::{Context, EventHandler, Guild, Ready, UnavailableGuild};
use serenity::http::HttpError;
use tokio::sync::Mutex;

use crate::presence::{self, PresenceChange, RecentEvents};
use crate::presence_writer::PresenceWriter;

pub struct PresenceHandler {
    writer: PresenceWriter,
    /// Held across "decide, queue the write", so decisions see every earlier
    /// handler's record and writes are queued in decision order.
    recent: Mutex<RecentEvents>,
}

impl PresenceHandler {
    pub fn new(writer: PresenceWriter) -> Self {
        PresenceHandler {
            writer,
            recent: Mutex::new(RecentEvents::default()),
        }
    }

    /// A guild event: its own meaning, unless another event for the guild
    /// was handled moments ago, in which case Discord says which is true now.
    async fn guild_event(&self, ctx: &Context, guild: GuildId, member: bool) {
        let mut recent = self.recent.lock().await;
        let uncertain = recent.record(guild, member, Instant::now());
        let member = if uncertain {
            is_member_now(ctx, guild).await.unwrap_or(member)
        } else {
            member
        };
        self.writer
            .send(presence::change(ctx.shard_id.0, guild, member));
    }
}

/// Guild ids cross into the bot's own decisions here, as the Discord crate's
/// type rather than serenity's.
fn from_event(id: serenity::all::GuildId) -> GuildId {
    GuildId::new(id.get())
}

/// Whether the bot is in the guild now, by Discord's REST API; `None` when
/// Discord could not say (the event's own meaning then stands).
async fn is_member_now(ctx: &Context, guild: GuildId) -> Option<bool> {
    match ctx
        .http
        .get_guild(serenity::all::GuildId::new(guild.get()))
        .await
    {
        Ok(_) => Some(true),
        Err(serenity::Error::Http(HttpError::UnsuccessfulRequest(response)))
            if matches!(response.status_code.as_u16(), 403 | 404) =>
        {
            Some(false)
        }
        Err(e) => {
            tracing::warn!(guild = guild.get(), error = %e, "could not check guild membership; keeping the event's meaning");
            None
        }
    }
}

#[serenity::async_trait]
impl EventHandler for PresenceHandler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        let shard = ctx.shard_id.0;
        tracing::info!(shard, guilds = ready.guilds.len(), user = %ready.user.name, "shard ready");
        let listed: Vec<GuildId> = ready.guilds.iter().map(|g| from_event(g.id)).collect();
        let recent = self.recent.lock().await;
        let (mut guilds, disputed) = recent.ready_set(&listed, Instant::now());
        for guild in disputed {
            match is_member_now(&ctx, guild).await {
                Some(true) if !guilds.contains(&guild) => guilds.push(guild),
                Some(false) => guilds.retain(|g| *g != guild),
                _ => {}
            }
        }
        self.writer
            .send(PresenceChange::ReplaceShard { shard, guilds });
    }

    async fn guild_create(&self, ctx: Context, guild: Guild, _is_new: Option<bool>) {
        self.guild_event(&ctx, from_event(guild.id), true).await;
    }

    async fn guild_delete(&self, ctx: Context, incomplete: UnavailableGuild, _full: Option<Guild>) {
        if presence::delete_means_left(incomplete.unavailable) {
            self.guild_event(&ctx, from_event(incomplete.id), false)
                .await;
        }
    }
}
