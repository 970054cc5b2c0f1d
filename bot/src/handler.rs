//! Gateway events that keep the store's record of the bot's guilds.

use serenity::all::{Context, EventHandler, Guild, Ready, UnavailableGuild};
use store::Store;

use crate::presence::{self, PresenceChange};

pub struct PresenceHandler {
    pub store: Store,
}

impl PresenceHandler {
    async fn apply(&self, change: PresenceChange) {
        if let Err(e) = presence::apply(&self.store, &change).await {
            tracing::error!(error = %e, ?change, "could not record guild presence");
        }
    }
}

#[serenity::async_trait]
impl EventHandler for PresenceHandler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        let shard = ctx.shard_id.0;
        let guilds: Vec<u64> = ready.guilds.iter().map(|g| g.id.get()).collect();
        tracing::info!(shard, guilds = guilds.len(), user = %ready.user.name, "shard ready");
        self.apply(PresenceChange::ReplaceShard { shard, guilds })
            .await;
    }

    async fn guild_create(&self, ctx: Context, guild: Guild, _is_new: Option<bool>) {
        self.apply(PresenceChange::Joined {
            shard: ctx.shard_id.0,
            guild: guild.id.get(),
        })
        .await;
    }

    async fn guild_delete(
        &self,
        _ctx: Context,
        incomplete: UnavailableGuild,
        _full: Option<Guild>,
    ) {
        if let Some(change) = presence::on_guild_delete(incomplete.id.get(), incomplete.unavailable)
        {
            self.apply(change).await;
        }
    }
}
