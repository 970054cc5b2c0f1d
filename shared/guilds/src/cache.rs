//! Each user's guild list as Discord last gave it, so reloads within the TTL
//! cost no API call, and an expired list can still be shown (marked stale)
//! while Discord is down. Bounded: past `capacity` users, the oldest go.
//!
//! Next to the list sits the view last built from it: a reload within the
//! presence TTL reuses it whole, so the hot path is a map lookup.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use discord::PartialGuild;
use store::UserId;

use crate::listing::Listing;

pub(crate) struct Entry {
    pub guilds: Arc<Vec<PartialGuild>>,
    pub fetched: Instant,
    /// Built from `guilds`; dropped with them when a new list arrives.
    pub view: Option<BuiltView>,
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
    capacity: usize,
    /// An expired list is kept this long for the stale fallback.
    keep_stale_for: Duration,
    entries: Mutex<HashMap<UserId, Entry>>,
}

pub(crate) enum Lookup {
    Fresh(Arc<Vec<PartialGuild>>),
    Expired(Arc<Vec<PartialGuild>>),
    Missing,
}

impl GuildCache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        GuildCache {
            ttl,
            capacity: capacity.max(1),
            keep_stale_for: Duration::from_secs(24 * 3600),
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, Entry>> {
        // A panic while holding the lock cannot leave the map inconsistent
        // (every mutation is a single insert/remove), so keep using it.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, user: UserId) -> Lookup {
        if !self.enabled() {
            return Lookup::Missing;
        }
        match self.lock().get(&user) {
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
        self.lock()
            .get(&user)
            .filter(|e| e.fetched.elapsed() < max_age)
            .map(|e| e.guilds.clone())
    }

    pub fn put(&self, user: UserId, guilds: Arc<Vec<PartialGuild>>) {
        if !self.enabled() {
            return;
        }
        let mut map = self.lock();
        if map.len() >= self.capacity && !map.contains_key(&user) {
            let keep = self.keep_stale_for;
            map.retain(|_, e| e.fetched.elapsed() < keep);
            if map.len() >= self.capacity
                && let Some(oldest) = map.iter().min_by_key(|(_, e)| e.fetched).map(|(k, _)| *k)
            {
                map.remove(&oldest);
            }
        }
        map.insert(
            user,
            Entry {
                guilds,
                fetched: Instant::now(),
                view: None,
            },
        );
    }

    /// The view built from exactly this list (not from an earlier one).
    pub fn view(&self, user: UserId, guilds: &Arc<Vec<PartialGuild>>) -> Option<BuiltView> {
        let map = self.lock();
        let entry = map.get(&user)?;
        Arc::ptr_eq(&entry.guilds, guilds)
            .then(|| entry.view.clone())
            .flatten()
    }

    /// Keeps `view` with the list it was built from, if that list is still
    /// the cached one.
    pub fn put_view(&self, user: UserId, guilds: &Arc<Vec<PartialGuild>>, view: BuiltView) {
        if let Some(entry) = self.lock().get_mut(&user)
            && Arc::ptr_eq(&entry.guilds, guilds)
        {
            entry.view = Some(view);
        }
    }

    pub fn forget(&self, user: UserId) {
        self.lock().remove(&user);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_ttl() {
        let cache = GuildCache::new(Duration::from_secs(60), 2);
        for u in 0..5 {
            cache.put(u, Arc::new(vec![]));
        }
        assert_eq!(cache.len(), 2);
        assert!(matches!(cache.get(4), Lookup::Fresh(_)));
        assert!(matches!(cache.get(0), Lookup::Missing));

        let off = GuildCache::new(Duration::ZERO, 10);
        off.put(1, Arc::new(vec![]));
        assert!(matches!(off.get(1), Lookup::Missing));
    }
}
