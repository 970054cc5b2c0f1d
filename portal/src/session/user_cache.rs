//! The signed-in user's row, and which of their sessions have been ended,
//! reused for a moment. Every page and API call names its user, and reading
//! the row each time was the largest cost of a cached page (a store round
//! trip, on SQLite a hop to its worker thread). The ended sessions come in
//! the same query, so checking them adds no round trip. A change made
//! elsewhere (a deactivation, a logout or a login on another replica) shows
//! within the TTL; one made on this replica shows at once.

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;
use store::{SessionRevocations, SessionTokenHash, Store, StoreError, User, UserId};

/// A user as the session check needs them.
#[derive(Debug)]
pub struct SessionUser {
    pub user: Arc<User>,
    pub revocations: SessionRevocations,
}

impl SessionUser {
    /// Bytes in memory, estimated: the row, its text, each logged-out
    /// token held, and the cache's bookkeeping.
    fn weight(&self) -> u32 {
        const PER_ENTRY: usize = 200;
        const PER_TOKEN: usize = std::mem::size_of::<SessionTokenHash>() + 16;
        let u = &self.user;
        let text = u.email.len()
            + [&u.nickname, &u.profile_img, &u.sns_type]
                .iter()
                .map(|t| t.as_ref().map_or(0, String::len))
                .sum::<usize>();
        let bytes = PER_ENTRY
            + std::mem::size_of::<User>()
            + text
            + PER_TOKEN * self.revocations.tokens.len();
        u32::try_from(bytes).unwrap_or(u32::MAX)
    }
}

/// Session users by id, each for at most the TTL, within a byte budget
/// (`USER_CACHE_MAX_BYTES`); moka's TinyLFU picks what goes when it is
/// full, without a lock over the whole cache.
pub struct UserCache {
    /// `None` when the TTL is zero.
    entries: Option<Cache<UserId, Arc<SessionUser>>>,
}

impl UserCache {
    /// `ttl` zero: every lookup reads the store.
    pub fn new(ttl: Duration, max_bytes: u64) -> Self {
        UserCache {
            entries: (!ttl.is_zero()).then(|| {
                Cache::builder()
                    .max_capacity(max_bytes)
                    .weigher(|_, u: &Arc<SessionUser>| u.weight())
                    .time_to_live(ttl)
                    .build()
            }),
        }
    }

    /// The user, from memory within the TTL, else from the store. Unknown
    /// ids are not remembered.
    pub async fn get(
        &self,
        store: &Store,
        id: UserId,
    ) -> Result<Option<Arc<SessionUser>>, StoreError> {
        if let Some(user) = self.entries.as_ref().and_then(|e| e.get(&id)) {
            return Ok(Some(user));
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
        if let Some(entries) = &self.entries {
            entries.insert(id, user.clone());
        }
        Ok(Some(user))
    }

    /// After this replica changed the row (a login writes the profile) or
    /// ended a session.
    pub fn forget(&self, id: UserId) {
        if let Some(entries) = &self.entries {
            entries.invalidate(&id);
        }
    }

    /// Entries and their estimated bytes, once pending evictions are done.
    #[cfg(test)]
    fn size(&self) -> (u64, u64) {
        self.entries.as_ref().map_or((0, 0), |e| {
            e.run_pending_tasks();
            (e.entry_count(), e.weighted_size())
        })
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
        let cache = UserCache::new(Duration::from_secs(3600), 1 << 20);
        let first = cache.get(&store, id).await.unwrap().unwrap();
        assert!(first.user.is_active);
        store.set_active(id, false).await.unwrap();
        let again = cache.get(&store, id).await.unwrap().unwrap();
        assert!(Arc::ptr_eq(&first, &again), "within the TTL: no store read");
        cache.forget(id);
        assert!(!cache.get(&store, id).await.unwrap().unwrap().user.is_active);
        assert!(cache.get(&store, id + 1000).await.unwrap().is_none());

        let uncached = UserCache::new(Duration::ZERO, 1 << 20);
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
        let cache = UserCache::new(Duration::from_secs(3600), 1 << 20);
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
        let uncached = UserCache::new(Duration::ZERO, 1 << 20);
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

    #[tokio::test]
    async fn stays_within_its_byte_budget_and_expires_with_the_ttl() {
        let db = TestDatabase::create(Backend::Sqlite)
            .await
            .unwrap()
            .unwrap();
        let store = db.store().await;
        let id = user(&store).await;
        let one = u64::from(cache_weight(&store, id).await);
        let cache = UserCache::new(Duration::from_secs(3600), one * 3);
        let regular = cache.get(&store, id).await.unwrap().unwrap();
        // The same row under 200 ids: read from the store each time, kept
        // within three rows' worth of bytes.
        for other in 1..=200 {
            let read = cache.get(&store, id).await.unwrap().unwrap();
            cache
                .entries
                .as_ref()
                .unwrap()
                .insert(id + other, read.clone());
        }
        let (entries, bytes) = cache.size();
        assert!(bytes <= one * 3, "{bytes} bytes > {}", one * 3);
        assert!((1..=3).contains(&entries), "{entries} entries");
        assert!(
            Arc::ptr_eq(&regular, &cache.get(&store, id).await.unwrap().unwrap()),
            "the user seen on every request stays cached"
        );

        let short = UserCache::new(Duration::from_millis(50), 1 << 20);
        let first = short.get(&store, id).await.unwrap().unwrap();
        assert!(Arc::ptr_eq(
            &first,
            &short.get(&store, id).await.unwrap().unwrap()
        ));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while Arc::ptr_eq(&first, &short.get(&store, id).await.unwrap().unwrap()) {
            assert!(std::time::Instant::now() < deadline, "never re-read");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        store.close().await;
        db.drop_database().await;
    }

    async fn cache_weight(store: &Store, id: UserId) -> u32 {
        UserCache::new(Duration::ZERO, 0)
            .get(store, id)
            .await
            .unwrap()
            .unwrap()
            .weight()
    }
}
