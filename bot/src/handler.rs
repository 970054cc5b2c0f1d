//! Gateway events that keep the store's record of the bot's guilds. The
//! decisions are in [`crate::presence`]; this only feeds them.

use serenity::all::{Context, EventHandler, Guild, GuildId, Ready, UnavailableGuild};
use store::Store;
use tokio::sync::Mutex;

use crate::presence::{self, PresenceChange};

pub struct PresenceHandler {
    pub store: Store,
    /// serenity runs every event's handler in its own task. Holding this
    /// across "read the cache, write the store" means the handler that writes
    /// last also read the cache last, so for GUILD_CREATE/GUILD_DELETE the
    /// store ends in the cache's (that is, the gateway's) final state whatever
    /// order the tasks run in. One gap remains: a guild joined in the instant
    /// after READY is lost if READY's replacement is written after it (until
    /// the next READY), because READY's list cannot know about it.
    writes: Mutex<()>,
}

impl PresenceHandler {
    pub fn new(store: Store) -> Self {
        PresenceHandler {
            store,
            writes: Mutex::new(()),
        }
    }

    async fn apply(&self, change: PresenceChange) {
        if let Err(e) = presence::apply(&self.store, &change).await {
            tracing::error!(error = %e, ?change, "could not record guild presence");
        }
    }
}

/// Whether the cache has the guild as available (a GUILD_CREATE was the last
/// word on it).
fn cached_available(ctx: &Context, guild: GuildId) -> bool {
    ctx.cache.guild(guild).is_some()
}

/// Whether the cache still counts the guild as one the bot is in, available
/// or in an outage.
fn cached_member(ctx: &Context, guild: GuildId) -> bool {
    cached_available(ctx, guild) || ctx.cache.unavailable_guilds().get(&guild).is_some()
}

#[serenity::async_trait]
impl EventHandler for PresenceHandler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        let shard = ctx.shard_id.0;
        tracing::info!(shard, guilds = ready.guilds.len(), user = %ready.user.name, "shard ready");
        let _order = self.writes.lock().await;
        // A guild the bot left after READY (already in the cache) stays out.
        let guilds: Vec<u64> = ready
            .guilds
            .iter()
            .filter(|g| cached_member(&ctx, g.id))
            .map(|g| g.id.get())
            .collect();
        self.apply(presence::on_ready(shard, guilds)).await;
    }

    async fn guild_create(&self, ctx: Context, guild: Guild, _is_new: Option<bool>) {
        let _order = self.writes.lock().await;
        let still_member = cached_member(&ctx, guild.id);
        if let Some(change) =
            presence::on_guild_create(ctx.shard_id.0, guild.id.get(), still_member)
        {
            self.apply(change).await;
        }
    }

    async fn guild_delete(&self, ctx: Context, incomplete: UnavailableGuild, _full: Option<Guild>) {
        let _order = self.writes.lock().await;
        let rejoined = cached_available(&ctx, incomplete.id);
        if let Some(change) =
            presence::on_guild_delete(incomplete.id.get(), incomplete.unavailable, rejoined)
        {
            self.apply(change).await;
        }
    }
}
