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

/// READY: the shard's guilds are exactly those it reports.
pub fn on_ready(shard: u32, guilds: Vec<u64>) -> PresenceChange {
    PresenceChange::ReplaceShard { shard, guilds }
}

/// GUILD_CREATE. serenity runs each event's handler in its own task, so a
/// later GUILD_DELETE for the same guild may be handled first; `still_member`
/// (from serenity's cache, which is updated in gateway order before any
/// handler runs) tells whether the bot is still in the guild now.
pub fn on_guild_create(shard: u32, guild: u64, still_member: bool) -> Option<PresenceChange> {
    still_member.then_some(PresenceChange::Joined { shard, guild })
}

/// GUILD_DELETE: `unavailable: true` is an outage, and must not erase the
/// row. `rejoined`: a later GUILD_CREATE for the guild has already reached the
/// cache (kicked and re-invited), so the row must stay.
pub fn on_guild_delete(guild: u64, unavailable: bool, rejoined: bool) -> Option<PresenceChange> {
    (!unavailable && !rejoined).then_some(PresenceChange::Left { guild })
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
        assert_eq!(on_guild_delete(1, true, false), None);
        assert_eq!(
            on_guild_delete(1, false, false),
            Some(PresenceChange::Left { guild: 1 })
        );
    }

    #[test]
    fn overtaken_events_do_not_undo_later_ones() {
        // Re-invited before the removal was handled: keep the row.
        assert_eq!(on_guild_delete(1, false, true), None);
        // Removed again before the join was handled: do not add it back.
        assert_eq!(on_guild_create(0, 1, false), None);
        assert_eq!(
            on_guild_create(3, 1, true),
            Some(PresenceChange::Joined { shard: 3, guild: 1 })
        );
    }

    #[test]
    fn ready_replaces_the_shards_set() {
        assert_eq!(
            on_ready(2, vec![5, 6]),
            PresenceChange::ReplaceShard {
                shard: 2,
                guilds: vec![5, 6]
            }
        );
    }

    #[tokio::test]
    async fn changes_reach_the_store_per_shard() {
        let db = store::testing::TestDatabase::create(store::Backend::Sqlite)
            .await
            .unwrap()
            .unwrap();
        let store = db.store().await;
        apply(&store, &on_ready(0, vec![1, 2])).await.unwrap();
        apply(&store, &on_ready(1, vec![9])).await.unwrap();
        apply(&store, &on_guild_create(0, 3, true).unwrap())
            .await
            .unwrap();
        apply(&store, &on_guild_delete(1, false, false).unwrap())
            .await
            .unwrap();
        assert_eq!(on_guild_delete(2, true, false), None);
        assert_eq!(store.bot_guilds_of_shard(0).await.unwrap(), [2, 3]);
        assert_eq!(store.bot_guilds_of_shard(1).await.unwrap(), [9]);
        store.close().await;
        db.drop_database().await;
    }
}
