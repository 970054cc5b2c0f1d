//! The little the bot keeps from the gateway about each guild for welcome
//! messages: its name and member count (GUILD_CREATE's `member_count`, kept
//! current by member joins and leaves). serenity's cache would keep every
//! channel and role of every guild; this keeps two fields.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuildFacts {
    pub name: String,
    pub member_count: u64,
}

#[derive(Default)]
pub struct Guilds(Mutex<HashMap<u64, GuildFacts>>);

impl Guilds {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, GuildFacts>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// GUILD_CREATE: what Discord says now.
    pub fn joined(&self, guild: u64, facts: GuildFacts) {
        self.lock().insert(guild, facts);
    }

    /// GUILD_DELETE (the bot left).
    pub fn left(&self, guild: u64) {
        self.lock().remove(&guild);
    }

    /// GUILD_MEMBER_ADD: one more member; the facts after it.
    pub fn member_joined(&self, guild: u64) -> Option<GuildFacts> {
        let mut guilds = self.lock();
        let facts = guilds.get_mut(&guild)?;
        facts.member_count += 1;
        Some(facts.clone())
    }

    /// GUILD_MEMBER_REMOVE: one member fewer.
    pub fn member_left(&self, guild: u64) {
        if let Some(facts) = self.lock().get_mut(&guild) {
            facts.member_count = facts.member_count.saturating_sub(1);
        }
    }

    pub fn get(&self, guild: u64) -> Option<GuildFacts> {
        self.lock().get(&guild).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_count_follows_joins_and_leaves() {
        let guilds = Guilds::default();
        assert_eq!(guilds.member_joined(1), None, "unknown guild");
        guilds.joined(
            1,
            GuildFacts {
                name: "One".into(),
                member_count: 2,
            },
        );
        assert_eq!(guilds.member_joined(1).unwrap().member_count, 3);
        guilds.member_left(1);
        guilds.member_left(1);
        guilds.member_left(1);
        guilds.member_left(1);
        assert_eq!(guilds.get(1).unwrap().member_count, 0, "never below zero");
        guilds.left(1);
        assert_eq!(guilds.get(1), None);
    }
}
