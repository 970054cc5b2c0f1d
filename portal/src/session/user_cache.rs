//! The signed-in user's row, reused for a moment. Every page and API call
//! names its user, and reading the row each time was the largest cost of a
//! cached page (a store round trip, on SQLite a hop to its worker thread).
//! A change made elsewhere (a deactivation, a login on another replica)
//! shows within the TTL; a login on this replica shows at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use store::{Store, StoreError, User, UserId};

pub struct UserCache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<UserId, (Arc<User>, Instant)>>,
}

impl UserCache {
    /// `ttl` zero: every lookup reads the store.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        UserCache {
            ttl,
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, (Arc<User>, Instant)>> {
        // Every mutation is a single insert/remove/retain: a panic elsewhere
        // cannot leave the map half-written.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The user, from memory within the TTL, else from the store. Unknown
    /// ids are not remembered.
    pub async fn get(&self, store: &Store, id: UserId) -> Result<Option<Arc<User>>, StoreError> {
        if self.ttl.is_zero() {
            return Ok(store.user_by_id(id).await?.map(Arc::new));
        }
        if let Some((user, read)) = self.lock().get(&id)
            && read.elapsed() < self.ttl
        {
            return Ok(Some(user.clone()));
        }
        let Some(user) = store.user_by_id(id).await?.map(Arc::new) else {
            self.forget(id);
            return Ok(None);
        };
        let mut map = self.lock();
        if map.len() >= self.capacity && !map.contains_key(&id) {
            let ttl = self.ttl;
            map.retain(|_, (_, read)| read.elapsed() < ttl);
            if map.len() >= self.capacity {
                map.clear();
            }
        }
        map.insert(id, (user.clone(), Instant::now()));
        Ok(Some(user))
    }

    /// After this replica changed the row (a login writes the profile).
    pub fn forget(&self, id: UserId) {
        self.lock().remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::testing::TestDatabase;
    use store::{Backend, OAuthCallback};

    async fn user(store: &Store) -> UserId {
        let (user, _) = store
            .oauth_callback(OAuthCallback {
                oauth_name: "discord",
                access_token: &settings::Secret::new("at"),
                account_id: "1",
                account_email: "a@example.org",
                expires_at: None,
                refresh_token: None,
                associate_by_email: true,
                is_verified_by_default: false,
            })
            .await
            .unwrap();
        user.id
    }

    #[tokio::test]
    async fn reuses_within_the_ttl_and_rereads_after_forget() {
        let db = TestDatabase::create(Backend::Sqlite)
            .await
            .unwrap()
            .unwrap();
        let store = db.store().await;
        let id = user(&store).await;
        let cache = UserCache::new(Duration::from_secs(3600), 10);
        let first = cache.get(&store, id).await.unwrap().unwrap();
        assert!(first.is_active);
        store.set_active(id, false).await.unwrap();
        let again = cache.get(&store, id).await.unwrap().unwrap();
        assert!(Arc::ptr_eq(&first, &again), "within the TTL: no store read");
        cache.forget(id);
        assert!(!cache.get(&store, id).await.unwrap().unwrap().is_active);
        assert!(cache.get(&store, id + 1000).await.unwrap().is_none());

        let uncached = UserCache::new(Duration::ZERO, 10);
        assert!(!uncached.get(&store, id).await.unwrap().unwrap().is_active);
        store.set_active(id, true).await.unwrap();
        assert!(uncached.get(&store, id).await.unwrap().unwrap().is_active);
        store.close().await;
        db.drop_database().await;
    }
}
