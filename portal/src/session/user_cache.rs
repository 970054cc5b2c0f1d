//! The signed-in user's row, and which of their sessions have been ended,
//! reused for a moment. Every page and API call names its user, and reading
//! the row each time was the largest cost of a cached page (a store round
//! trip, on SQLite a hop to its worker thread). The ended sessions come in
//! the same query, so checking them adds no round trip. A change made
//! elsewhere (a deactivation, a logout or a login on another replica) shows
//! within the TTL; one made on this replica shows at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use store::{SessionRevocations, Store, StoreError, User, UserId};

/// A user as the session check needs them.
#[derive(Debug)]
pub struct SessionUser {
    pub user: Arc<User>,
    pub revocations: SessionRevocations,
}

type Entries = HashMap<UserId, (Arc<SessionUser>, Instant)>;

pub struct UserCache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<Entries>,
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // Every mutation is a single insert/remove/retain: a panic elsewhere
        // cannot leave the map half-written.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The user, from memory within the TTL, else from the store. Unknown
    /// ids are not remembered.
    pub async fn get(
        &self,
        store: &Store,
        id: UserId,
    ) -> Result<Option<Arc<SessionUser>>, StoreError> {
        if !self.ttl.is_zero()
            && let Some((user, read)) = self.lock().get(&id)
            && read.elapsed() < self.ttl
        {
            return Ok(Some(user.clone()));
        }
        let now = chrono::Utc::now().timestamp();
        let Some((user, revocations)) = store.session_user(id, now).await? else {
            self.forget(id);
            return Ok(None);
        };
        let user = Arc::new(SessionUser {
            user: Arc::new(user),
            revocations,
        });
        if self.ttl.is_zero() {
            return Ok(Some(user));
        }
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

    /// After this replica changed the row (a login writes the profile) or
    /// ended a session.
    pub fn forget(&self, id: UserId) {
        self.lock().remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::testing::TestDatabase;
    use store::{Backend, OAuthCallback, SessionEnded, SessionTokenHash};

    async fn user(store: &Store) -> UserId {
        let (user, _) = store
            .oauth_callback(OAuthCallback {
                oauth_name: "discord",
                access_token: &settings::Secret::new("at"),
                account_id: "1",
                account_email: "a@example.org",
                expires_at: None,
                refresh_token: None,
                associate_by_email: store::AssociateByEmail::IfVerified,
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
        assert!(first.user.is_active);
        store.set_active(id, false).await.unwrap();
        let again = cache.get(&store, id).await.unwrap().unwrap();
        assert!(Arc::ptr_eq(&first, &again), "within the TTL: no store read");
        cache.forget(id);
        assert!(!cache.get(&store, id).await.unwrap().unwrap().user.is_active);
        assert!(cache.get(&store, id + 1000).await.unwrap().is_none());

        let uncached = UserCache::new(Duration::ZERO, 10);
        assert!(
            !uncached
                .get(&store, id)
                .await
                .unwrap()
                .unwrap()
                .user
                .is_active
        );
        store.set_active(id, true).await.unwrap();
        assert!(
            uncached
                .get(&store, id)
                .await
                .unwrap()
                .unwrap()
                .user
                .is_active
        );
        store.close().await;
        db.drop_database().await;
    }

    #[tokio::test]
    async fn ended_sessions_come_with_the_row() {
        let db = TestDatabase::create(Backend::Sqlite)
            .await
            .unwrap()
            .unwrap();
        let store = db.store().await;
        let id = user(&store).await;
        let cache = UserCache::new(Duration::from_secs(3600), 10);
        let token = SessionTokenHash::of("a.b.c");
        let now = chrono::Utc::now().timestamp();
        assert_eq!(
            cache
                .get(&store, id)
                .await
                .unwrap()
                .unwrap()
                .revocations
                .ended(&token, now),
            None
        );
        store
            .revoke_session_token(id, &token, now + 60, now)
            .await
            .unwrap();
        let cached = cache.get(&store, id).await.unwrap().unwrap();
        assert_eq!(
            cached.revocations.ended(&token, now),
            None,
            "cached for the TTL"
        );
        cache.forget(id);
        let fresh = cache.get(&store, id).await.unwrap().unwrap();
        assert_eq!(
            fresh.revocations.ended(&token, now),
            Some(SessionEnded::LoggedOut)
        );
        let uncached = UserCache::new(Duration::ZERO, 10);
        store
            .revoke_every_session(id, now, Duration::from_secs(3600))
            .await
            .unwrap();
        let other = SessionTokenHash::of("d.e.f");
        assert_eq!(
            uncached
                .get(&store, id)
                .await
                .unwrap()
                .unwrap()
                .revocations
                .ended(&other, now - 5),
            Some(SessionEnded::EndedEverywhere)
        );
        store.close().await;
        db.drop_database().await;
    }
}
