//! Each user's guild list as Discord last gave it, so reloads within the TTL
//! cost no API call, and an expired list can still be shown (marked stale)
//! while Discord is down. Bounded by bytes (`GUILD_CACHE_MAX_BYTES`): a user
//! in 200 guilds costs four times one in 50. Eviction is moka's TinyLFU, so a
//! burst of one-off visitors does not push out the regulars, and it runs
//! without a lock over the whole cache.
//!
//! Next to the list sits the view last built from it: a reload within the
//! presence TTL reuses it whole, so the hot path is a map lookup.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use discord::PartialGuild;
use moka::sync::Cache;
use store::UserId;

use crate::listing::Listing;

pub(crate) struct Entry {
    pub guilds: Arc<Vec<PartialGuild>>,
    pub fetched: Instant,
    /// Built from `guilds`; dropped with them when a new list arrives. Its
    /// own lock: only this user's requests ever wait on it.
    view: Mutex<Option<BuiltView>>,
    /// What the list and a view built from it take in memory, estimated once.
    weight: u32,
}

impl Entry {
    fn view(&self) -> std::sync::MutexGuard<'_, Option<BuiltView>> {
        // Every write replaces the whole value: a panic cannot leave it half-set.
        self.view.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Clone)]
pub(crate) struct BuiltView {
    pub listing: Arc<Listing>,
    /// The guilds (of this list) the bot was in, sorted. Shared: the view is
    /// cloned out of the cache on every page view.
    pub present: Arc<[u64]>,
    /// When `present` was read from the store.
    pub checked: Instant,
}

pub(crate) struct GuildCache {
    ttl: Duration,
    entries: Cache<UserId, Arc<Entry>>,
}

pub(crate) enum Lookup {
    Fresh(Arc<Vec<PartialGuild>>),
    Expired(Arc<Vec<PartialGuild>>),
    Missing,
}

/// An expired list is kept this long for the stale fallback (if the budget
/// lets it stay).
const KEEP_STALE_FOR: Duration = Duration::from_secs(24 * 3600);

/// Heap and inline bytes of one cached guild and of its built view (the view
/// holds the name again, the icon and invite URLs and the permissions as
/// text), plus the cache's own bookkeeping per entry: an estimate for the
/// budget, checked against the portal's RSS in the benchmarks.
fn weight(guilds: &[PartialGuild]) -> u32 {
    const PER_ENTRY: usize = 256;
    const PER_GUILD: usize = std::mem::size_of::<PartialGuild>()
        + std::mem::size_of::<crate::view::GuildView>()
        // The view's icon URL, invite URL and permissions string.
        + 300;
    let bytes = guilds.iter().fold(PER_ENTRY, |sum, g| {
        let features: usize = g.features.iter().map(|f| f.len() + 24).sum();
        let icon = g.icon.as_ref().map_or(0, String::len);
        sum + PER_GUILD + 2 * g.name.len() + icon + features
    });
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

impl GuildCache {
    /// `ttl` zero turns the cache off; `max_bytes` bounds what it holds.
    pub fn new(ttl: Duration, max_bytes: u64) -> Self {
        GuildCache {
            ttl,
            entries: Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_, e: &Arc<Entry>| e.weight)
                .time_to_live(ttl.saturating_add(KEEP_STALE_FOR))
                .build(),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    pub fn get(&self, user: UserId) -> Lookup {
        if !self.enabled() {
            return Lookup::Missing;
        }
        match self.entries.get(&user) {
            Some(e) if e.fetched.elapsed() < self.ttl => Lookup::Fresh(e.guilds.clone()),
            Some(e) => Lookup::Expired(e.guilds.clone()),
            None => Lookup::Missing,
        }
    }

    /// The list if Discord gave it less than `max_age` ago (whatever the
    /// TTL): what a permission check on a write may rely on.
    pub fn get_within(&self, user: UserId, max_age: Duration) -> Option<Arc<Vec<PartialGuild>>> {
        if !self.enabled() {
            return None;
        }
        self.entries
            .get(&user)
            .filter(|e| e.fetched.elapsed() < max_age)
            .map(|e| e.guilds.clone())
    }

    pub fn put(&self, user: UserId, guilds: Arc<Vec<PartialGuild>>) {
        if !self.enabled() {
            return;
        }
        let weight = weight(&guilds);
        self.entries.insert(
            user,
            Arc::new(Entry {
                guilds,
                fetched: Instant::now(),
                view: Mutex::new(None),
                weight,
            }),
        );
    }

    /// The view built from exactly this list (not from an earlier one).
    pub fn view(&self, user: UserId, guilds: &Arc<Vec<PartialGuild>>) -> Option<BuiltView> {
        let entry = self.entries.get(&user)?;
        if !Arc::ptr_eq(&entry.guilds, guilds) {
            return None;
        }
        entry.view().clone()
    }

    /// Keeps `view` with the list it was built from, if that list is still
    /// the cached one.
    pub fn put_view(&self, user: UserId, guilds: &Arc<Vec<PartialGuild>>, view: BuiltView) {
        if let Some(entry) = self.entries.get(&user)
            && Arc::ptr_eq(&entry.guilds, guilds)
        {
            *entry.view() = Some(view);
        }
    }

    pub fn forget(&self, user: UserId) {
        self.entries.invalidate(&user);
    }

    /// Entries and their estimated bytes, once pending evictions are done.
    #[cfg(test)]
    pub fn size(&self) -> (u64, u64) {
        self.entries.run_pending_tasks();
        (self.entries.entry_count(), self.entries.weighted_size())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guilds(n: u64) -> Arc<Vec<PartialGuild>> {
        Arc::new(
            (0..n)
                .map(|i| PartialGuild {
                    id: discord::GuildId::new(1_000 + i),
                    name: format!("Guild {i}"),
                    icon: Some(format!("{i:032x}")),
                    owner: false,
                    permissions: discord::Permissions::empty(),
                    features: vec![],
                })
                .collect(),
        )
    }

    #[test]
    fn ttl_then_stale_and_off_when_zero() {
        let cache = GuildCache::new(Duration::from_millis(30), 1 << 20);
        cache.put(1, guilds(2));
        assert!(matches!(cache.get(1), Lookup::Fresh(_)));
        assert!(matches!(cache.get(2), Lookup::Missing));
        std::thread::sleep(Duration::from_millis(40));
        assert!(
            matches!(cache.get(1), Lookup::Expired(g) if g.len() == 2),
            "kept for the stale fallback"
        );
        cache.forget(1);
        assert!(matches!(cache.get(1), Lookup::Missing));

        let off = GuildCache::new(Duration::ZERO, 1 << 20);
        off.put(1, guilds(1));
        assert!(matches!(off.get(1), Lookup::Missing));
    }

    #[test]
    fn evicts_to_stay_within_its_byte_budget() {
        let one = u64::from(weight(&guilds(50)));
        // Room for ten users' lists of 50 guilds.
        let cache = GuildCache::new(Duration::from_secs(60), one * 10);
        for user in 0..1_000 {
            cache.put(user, guilds(50));
            // A regular: seen again and again, as Zipf-distributed traffic
            // sees its most popular users.
            let _ = cache.get(0);
        }
        let (entries, bytes) = cache.size();
        assert!(bytes <= one * 10, "{bytes} bytes > budget {}", one * 10);
        assert!((1..=10).contains(&entries), "{entries} entries");
        assert!(
            matches!(cache.get(0), Lookup::Fresh(_)),
            "the frequently seen user stays"
        );
        // Weighed by size: a list of 500 guilds counts ten lists of 50.
        assert!(u64::from(weight(&guilds(500))) >= one * 9);
    }

    #[test]
    fn a_view_belongs_to_the_list_it_was_built_from() {
        let cache = GuildCache::new(Duration::from_secs(60), 1 << 20);
        let list = guilds(1);
        cache.put(7, list.clone());
        let view = BuiltView {
            listing: Arc::new(Listing {
                guilds: vec![],
                stale: false,
            }),
            present: Arc::from(vec![]),
            checked: Instant::now(),
        };
        cache.put_view(7, &list, view);
        assert!(cache.view(7, &list).is_some());
        let newer = guilds(1);
        cache.put(7, newer.clone());
        assert!(cache.view(7, &list).is_none(), "not from an earlier list");
        assert!(cache.view(7, &newer).is_none(), "none built yet");
    }
}
