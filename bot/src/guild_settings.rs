//! What each guild's managers set on the portal (preferences and tags), kept
//! in memory so that commands and autocomplete answer without a store query.
//! Once a second the bot asks the store for the revisions of the guilds it
//! holds (one cheap query for all of them) and reloads those that moved, so
//! a change saved on the portal reaches every bot process within two
//! seconds on every backend. The cache is bounded: the guild used least
//! recently is dropped first, and loaded again when next needed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use store::{GuildPreferences, GuildTag, Store, StoreError};
use tokio::task::JoinHandle;

/// How often revisions are polled: with one load, changes arrive within 2 s.
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// Guilds held at most; a guild's settings are a few kB at 200 tags.
pub const CAPACITY: usize = 10_000;

/// One guild's settings as of `preferences.revision`.
#[derive(Debug, Clone)]
pub struct GuildSettings {
    pub preferences: GuildPreferences,
    /// Sorted by name.
    pub tags: Vec<GuildTag>,
}

impl GuildSettings {
    pub fn revision(&self) -> i64 {
        self.preferences.revision
    }

    pub fn tag(&self, name: &str) -> Option<&GuildTag> {
        self.tags
            .binary_search_by(|t| t.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.tags[i])
    }
}

struct Entry {
    settings: Arc<GuildSettings>,
    used: Instant,
}

pub struct SettingsCache {
    store: Store,
    capacity: usize,
    entries: Mutex<HashMap<u64, Entry>>,
}

impl SettingsCache {
    pub fn new(store: Store, capacity: usize) -> Self {
        SettingsCache {
            store,
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    // Held without awaiting; a panic elsewhere must not stop every command.
    fn entries(&self) -> MutexGuard<'_, HashMap<u64, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The guild's settings: from memory, or loaded once from the store.
    pub async fn get(&self, guild_id: u64) -> Result<Arc<GuildSettings>, StoreError> {
        if let Some(entry) = self.entries().get_mut(&guild_id) {
            entry.used = Instant::now();
            return Ok(entry.settings.clone());
        }
        let settings = Arc::new(self.load(guild_id).await?);
        self.insert(guild_id, settings.clone());
        Ok(settings)
    }

    /// The guild's settings only if held: for autocomplete, which must answer
    /// within Discord's deadline even when the store is slow.
    pub fn cached(&self, guild_id: u64) -> Option<Arc<GuildSettings>> {
        self.entries().get(&guild_id).map(|e| e.settings.clone())
    }

    /// Preferences first: their revision is then no newer than the tags
    /// read after them, so a write between the two reads only causes one
    /// more reload at the next poll, never a missed change.
    async fn load(&self, guild_id: u64) -> Result<GuildSettings, StoreError> {
        let preferences = self.store.guild_preferences(guild_id).await?;
        let tags = self.store.guild_tags(guild_id).await?;
        Ok(GuildSettings { preferences, tags })
    }

    fn insert(&self, guild_id: u64, settings: Arc<GuildSettings>) {
        let mut entries = self.entries();
        if !entries.contains_key(&guild_id) && entries.len() >= self.capacity {
            let oldest = entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(id, _)| *id);
            if let Some(id) = oldest {
                entries.remove(&id);
            }
        }
        let used = Instant::now();
        entries.insert(guild_id, Entry { settings, used });
    }

    /// Reloads every held guild whose revision moved; returns how many.
    pub async fn refresh_changed(&self) -> Result<usize, StoreError> {
        let held: Vec<(u64, i64)> = self
            .entries()
            .iter()
            .map(|(id, e)| (*id, e.settings.revision()))
            .collect();
        if held.is_empty() {
            return Ok(0);
        }
        let ids: Vec<u64> = held.iter().map(|(id, _)| *id).collect();
        let now = self.store.guild_revisions(&ids).await?;
        let mut reloaded = 0;
        for (id, revision) in held {
            // No row: revision 0, the defaults.
            if now.get(&id).copied().unwrap_or(0) == revision {
                continue;
            }
            let settings = Arc::new(self.load(id).await?);
            // Replaced only if still held: an evicted guild stays out.
            if let Some(entry) = self.entries().get_mut(&id) {
                entry.settings = settings;
            }
            reloaded += 1;
        }
        Ok(reloaded)
    }

    /// Polls every [`POLL_EVERY`] until aborted.
    pub fn spawn_poller(self: Arc<Self>) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                tick.tick().await;
                match self.refresh_changed().await {
                    Ok(_) => failing = false,
                    // Once per failure streak: an unreachable database
                    // would log every second.
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(error = %e, "could not check guild settings for changes");
                    }
                    Err(_) => {}
                }
            }
        })
    }
}
