//! On every backend: the lease that lets one portal replica at a time
//! refresh an account's Discord token, and ended sessions.

use std::time::Duration;

use settings::Secret;
use store::testing::each_backend;
use store::{OAuthCallback, SessionEnded, SessionTokenHash, Store};

/// An account row with tokens, for the lease and token tests.
async fn account_row(store: &Store, account_id: &str) -> i32 {
    let (user, _) = store
        .oauth_callback(OAuthCallback {
            oauth_name: "discord",
            access_token: &Secret::new(format!("access-{account_id}")),
            account_id,
            account_email: &format!("{account_id}@example.org"),
            expires_at: Some(1_900_000_000),
            refresh_token: Some(&Secret::new(format!("refresh-{account_id}"))),
            associate_by_email: true,
            is_verified_by_default: false,
        })
        .await
        .unwrap();
    store
        .oauth_account_for_user(user.id, "discord")
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test]
async fn a_refresh_lease_has_one_holder_until_released_or_expired() {
    each_backend(|store, backend| async move {
        let account = account_row(&store, "1001").await;
        let other = account_row(&store, "1002").await;
        let ttl = Duration::from_secs(10);
        let now = 1_000_000;
        assert!(
            store
                .take_refresh_lease(account, "a", now, ttl)
                .await
                .unwrap(),
            "{backend:?}"
        );
        assert!(
            !store
                .take_refresh_lease(account, "b", now + 1, ttl)
                .await
                .unwrap(),
            "{backend:?}: held by a"
        );
        assert!(
            !store
                .take_refresh_lease(account, "a", now + 1, ttl)
                .await
                .unwrap(),
            "{backend:?}: not re-entrant"
        );
        assert!(
            store
                .take_refresh_lease(other, "b", now, ttl)
                .await
                .unwrap(),
            "{backend:?}: per account"
        );

        // Only the holder's release counts.
        store.release_refresh_lease(account, "b").await.unwrap();
        assert!(
            !store
                .take_refresh_lease(account, "b", now + 2, ttl)
                .await
                .unwrap(),
            "{backend:?}"
        );
        store.release_refresh_lease(account, "a").await.unwrap();
        assert!(
            store
                .take_refresh_lease(account, "b", now + 3, ttl)
                .await
                .unwrap(),
            "{backend:?}: released"
        );

        // b dies holding it: once expired, c takes it over, and b's late
        // release does not end c's lease.
        let expired = now + 3 + 10_001;
        assert!(
            !store
                .take_refresh_lease(account, "c", expired - 2, ttl)
                .await
                .unwrap()
        );
        assert!(
            store
                .take_refresh_lease(account, "c", expired, ttl)
                .await
                .unwrap(),
            "{backend:?}: taken over"
        );
        store.release_refresh_lease(account, "b").await.unwrap();
        assert!(
            !store
                .take_refresh_lease(account, "d", expired + 1, ttl)
                .await
                .unwrap(),
            "{backend:?}: still c's"
        );
    })
    .await;
}

#[tokio::test]
async fn fifty_concurrent_takers_get_one_lease() {
    each_backend(|store, backend| async move {
        let account = account_row(&store, "2001").await;
        let takers = (0..50).map(|i| {
            let store = store.clone();
            async move {
                store
                    .take_refresh_lease(
                        account,
                        &format!("holder-{i}"),
                        5_000_000,
                        Duration::from_secs(30),
                    )
                    .await
                    .unwrap()
            }
        });
        let taken = futures::future::join_all(takers)
            .await
            .into_iter()
            .filter(|t| *t)
            .count();
        assert_eq!(taken, 1, "{backend:?}");
    })
    .await;
}

#[tokio::test]
async fn ended_sessions_are_read_with_the_user_row() {
    each_backend(|store, backend| async move {
        account_row(&store, "3001").await;
        let user = store
            .oauth_account_by_account_id("discord", "3001")
            .await
            .unwrap()
            .unwrap()
            .user_id;
        let now = 1_800_000_000;
        let (row, revocations) = store.session_user(user, now).await.unwrap().unwrap();
        assert_eq!(row.id, user);
        assert_eq!(Some(&row), store.user_by_id(user).await.unwrap().as_ref());
        assert!(revocations.tokens.is_empty() && revocations.revoked_before.is_none());
        assert!(
            store
                .session_user(user + 1000, now)
                .await
                .unwrap()
                .is_none()
        );

        let (a, b, old) = (
            SessionTokenHash::of("token-a"),
            SessionTokenHash::of("token-b"),
            SessionTokenHash::of("token-old"),
        );
        store
            .revoke_session_token(user, &old, now - 10, now - 20)
            .await
            .unwrap();
        store
            .revoke_session_token(user, &a, now + 3600, now)
            .await
            .unwrap();
        store
            .revoke_session_token(user, &a, now + 3600, now)
            .await
            .unwrap();
        store
            .revoke_session_token(user, &b, now + 60, now)
            .await
            .unwrap();
        let (_, revocations) = store.session_user(user, now).await.unwrap().unwrap();
        assert_eq!(
            revocations.tokens.len(),
            2,
            "{backend:?}: a and b; the expired one pruned"
        );
        assert_eq!(
            revocations.ended(&a, now - 100),
            Some(SessionEnded::LoggedOut)
        );
        assert_eq!(
            revocations.ended(&SessionTokenHash::of("token-c"), now - 100),
            None
        );
        // Past b's exp, b is no longer listed (it is refused as expired).
        let (_, later) = store.session_user(user, now + 61).await.unwrap().unwrap();
        assert_eq!(later.tokens.len(), 1, "{backend:?}");

        // Log out everywhere: the cut-off is now, or one second past the
        // issue of the last token logged out (a login in its second was
        // dated one later): `a` was issued at `now`.
        let lifetime = Duration::from_secs(3600);
        store
            .revoke_every_session(user, now, lifetime)
            .await
            .unwrap();
        let (_, revocations) = store.session_user(user, now).await.unwrap().unwrap();
        assert_eq!(revocations.revoked_before, Some(now + 1), "{backend:?}");
        assert_eq!(
            revocations.tokens.len(),
            2,
            "{backend:?}: one row per token, the user once"
        );
        let c = SessionTokenHash::of("token-c");
        assert_eq!(
            revocations.ended(&c, now + 1),
            Some(SessionEnded::EndedEverywhere)
        );
        assert_eq!(revocations.ended(&c, now + 2), None);
        assert_eq!(revocations.earliest_issue(now), now + 2);

        // Without tokens logged out, the cut-off is now; a second call moves
        // it a second further (past a login dated after the first), never
        // back.
        account_row(&store, "3002").await;
        let other = store
            .oauth_account_by_account_id("discord", "3002")
            .await
            .unwrap()
            .unwrap()
            .user_id;
        store
            .revoke_every_session(other, now, lifetime)
            .await
            .unwrap();
        let cutoff = |store: Store| async move {
            store
                .session_user(other, now)
                .await
                .unwrap()
                .unwrap()
                .1
                .revoked_before
        };
        assert_eq!(cutoff(store.clone()).await, Some(now), "{backend:?}");
        store
            .revoke_every_session(other, now - 500, lifetime)
            .await
            .unwrap();
        assert_eq!(cutoff(store.clone()).await, Some(now + 1), "{backend:?}");
        store
            .revoke_every_session(other, now + 100, lifetime)
            .await
            .unwrap();
        assert_eq!(cutoff(store.clone()).await, Some(now + 100), "{backend:?}");
    })
    .await;
}
