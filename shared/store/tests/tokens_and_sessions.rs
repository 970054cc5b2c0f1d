//! On every backend: the lease that lets one portal replica at a time
//! refresh an account's Discord token.

use std::time::Duration;

use settings::Secret;
use store::testing::each_backend;
use store::{OAuthCallback, Store};

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
