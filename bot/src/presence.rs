//! Which guilds the bot is in, kept in the shared store for the portal.

use store::{Store, StoreError};

/// What a gateway event means for the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresenceChange {
    /// READY: this shard's whole set.
    ReplaceShard { shard: u32, guilds: Vec<u64> },
    /// GUILD_CREATE.
    Joined { shard: u32, guild: u64 },
    /// GUILD_DELETE without `unavailable`: the bot left or was removed.
    Left { guild: u64 },
}

/// GUILD_DELETE: `unavailable: true` is an outage, and must not erase the row.
pub fn on_guild_delete(guild: u64, unavailable: bool) -> Option<PresenceChange> {
    (!unavailable).then_some(PresenceChange::Left { guild })
}

pub async fn apply(store: &Store, change: &PresenceChange) -> Result<(), StoreError> {
    match change {
        PresenceChange::ReplaceShard { shard, guilds } => {
            store.bot_guilds_replace_shard(*shard, guilds).await
        }
        PresenceChange::Joined { shard, guild } => store.bot_guild_add(*shard, *guild).await,
        PresenceChange::Left { guild } => store.bot_guild_remove(*guild).await.map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_do_not_remove() {
        assert_eq!(on_guild_delete(1, true), None);
        assert_eq!(
            on_guild_delete(1, false),
            Some(PresenceChange::Left { guild: 1 })
        );
    }
}
