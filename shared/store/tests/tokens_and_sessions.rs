//! On every backend: the lease that lets one portal replica at a time
//! refresh an account's Discord token, ended sessions, and tokens at rest.

use std::time::Duration;

use settings::Secret;
use store::testing::each_backend;
use store::{
    OAuthCallback, SessionEnded, SessionTokenHash, Store, StoreError, TokenCipherError, TokenForm,
    TokenKey, TokenUpdate,
};

fn key(byte: u8) -> TokenKey {
    use base64::Engine;
    TokenKey::from_base64(&base64::engine::general_purpose::STANDARD.encode([byte; 32])).unwrap()
}

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
            associate_by_email: store::AssociateByEmail::IfVerified,
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

fn login_5002(token: &Secret) -> OAuthCallback<'_> {
    OAuthCallback {
        oauth_name: "discord",
        access_token: token,
        account_id: "5002",
        account_email: "5002@example.org",
        expires_at: None,
        refresh_token: None,
        associate_by_email: store::AssociateByEmail::IfVerified,
        is_verified_by_default: false,
    }
}

#[tokio::test]
async fn with_a_key_tokens_are_written_encrypted_and_read_in_either_form() {
    each_backend(|plain, backend| async move {
        let keyed = plain.clone().with_token_key(Some(&key(1)));
        // Written in plain text (a store without a key, or fastapi-users).
        let row = account_row(&plain, "5001").await;
        let user = plain
            .oauth_account_by_account_id("discord", "5001")
            .await
            .unwrap()
            .unwrap()
            .user_id;
        let read = keyed
            .oauth_account_for_user(user, "discord")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            read.access_token.expose(),
            "access-5001",
            "{backend:?}: plain rows still read"
        );

        // A refresh through the keyed store: stored sealed, read back plain.
        keyed
            .update_tokens(
                row,
                &TokenUpdate {
                    access_token: Secret::new("access-new"),
                    expires_at: Some(1_900_000_001),
                    refresh_token: Some(Secret::new("refresh-new")),
                },
            )
            .await
            .unwrap();
        let (access, refresh) = plain.raw_tokens_for_tests("discord", "5001").await.unwrap();
        assert!(
            access.starts_with("gh1:") && !access.contains("access-new"),
            "{backend:?}: {access}"
        );
        assert!(refresh.unwrap().starts_with("gh1:"));
        let read = keyed
            .oauth_account_by_account_id("discord", "5001")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.access_token.expose(), "access-new");
        assert_eq!(read.refresh_token.unwrap().expose(), "refresh-new");

        // Without the key, or with another one: a typed error, never garbage.
        let e = plain
            .oauth_account_for_user(user, "discord")
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::TokenCipher(TokenCipherError::KeyMissing {
                    column: "access_token"
                })
            ),
            "{e:?}"
        );
        let other = plain.clone().with_token_key(Some(&key(2)));
        let e = other
            .oauth_account_for_user(user, "discord")
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::TokenCipher(TokenCipherError::WrongKey { .. })
            ),
            "{e:?}"
        );
        assert!(
            !format!("{keyed:?}").contains("key(")
                && format!("{keyed:?}").contains("tokens_encrypted: true")
        );

        // Logins through the keyed store: a new account, then the known one.
        let (first, second) = (Secret::new("first"), Secret::new("second"));
        keyed.oauth_callback(login_5002(&first)).await.unwrap();
        let (access, refresh) = plain.raw_tokens_for_tests("discord", "5002").await.unwrap();
        assert!(
            access.starts_with("gh1:") && refresh.is_none(),
            "{backend:?}"
        );
        keyed.oauth_callback(login_5002(&second)).await.unwrap();
        let read = keyed
            .oauth_account_by_account_id("discord", "5002")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.access_token.expose(), "second");

        // The column limit applies to what is written.
        let long = Secret::new("x".repeat(800));
        let e = keyed
            .update_tokens(
                row,
                &TokenUpdate {
                    access_token: long.clone(),
                    expires_at: None,
                    refresh_token: None,
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::TooLong {
                    field: "access_token",
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(
            plain
                .update_tokens(
                    row,
                    &TokenUpdate {
                        access_token: long,
                        expires_at: None,
                        refresh_token: None
                    }
                )
                .await
                .unwrap()
        );
    })
    .await;
}

#[tokio::test]
async fn converting_stored_tokens_goes_in_batches_and_can_be_run_again() {
    each_backend(|plain, backend| async move {
        for i in 0..7 {
            account_row(&plain, &format!("60{i:02}")).await;
        }
        // One account without a refresh token.
        plain
            .oauth_callback(OAuthCallback {
                oauth_name: "discord",
                access_token: &Secret::new("access-6099"),
                account_id: "6099",
                account_email: "6099@example.org",
                expires_at: None,
                refresh_token: None,
                associate_by_email: store::AssociateByEmail::IfVerified,
                is_verified_by_default: false,
            })
            .await
            .unwrap();
        let e = plain
            .convert_tokens(TokenForm::Encrypted, 3, |_| {})
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::TokenCipher(TokenCipherError::NoKeyToConvertWith { .. })
            ),
            "{e:?}"
        );

        let keyed = plain.clone().with_token_key(Some(&key(7)));
        // One row is already encrypted (written by a keyed portal).
        let row = keyed
            .oauth_account_by_account_id("discord", "6003")
            .await
            .unwrap()
            .unwrap();
        keyed
            .update_tokens(
                row.id,
                &TokenUpdate {
                    access_token: row.access_token.clone(),
                    expires_at: row.expires_at,
                    refresh_token: row.refresh_token.clone(),
                },
            )
            .await
            .unwrap();

        let mut seen = Vec::new();
        let done = keyed
            .convert_tokens(TokenForm::Encrypted, 3, |p| seen.push(p))
            .await
            .unwrap();
        assert_eq!(
            (done.converted, done.already, done.changed_meanwhile),
            (7, 1, 0),
            "{backend:?}"
        );
        assert_eq!(seen.len(), 3, "{backend:?}: batches of 3 over 8 rows");
        assert_eq!(seen.last(), Some(&done));
        for id in ["6000", "6003", "6006", "6099"] {
            let (access, refresh) = plain.raw_tokens_for_tests("discord", id).await.unwrap();
            assert!(access.starts_with("gh1:"), "{backend:?} {id}");
            assert!(
                refresh.is_none_or(|r| r.starts_with("gh1:")),
                "{backend:?} {id}"
            );
        }
        let read = keyed
            .oauth_account_by_account_id("discord", "6006")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.access_token.expose(), "access-6006");
        assert_eq!(read.refresh_token.unwrap().expose(), "refresh-6006");

        // Again: nothing to do.
        let again = keyed
            .convert_tokens(TokenForm::Encrypted, 3, |_| {})
            .await
            .unwrap();
        assert_eq!((again.converted, again.already), (0, 8), "{backend:?}");

        // Back to plain text, and the values are the originals.
        let back = keyed
            .convert_tokens(TokenForm::Plain, 500, |_| {})
            .await
            .unwrap();
        assert_eq!((back.converted, back.already), (8, 0), "{backend:?}");
        let (access, refresh) = plain.raw_tokens_for_tests("discord", "6001").await.unwrap();
        assert_eq!(
            (access.as_str(), refresh.as_deref()),
            ("access-6001", Some("refresh-6001"))
        );
        assert_eq!(
            plain.raw_tokens_for_tests("discord", "6099").await.unwrap(),
            ("access-6099".into(), None)
        );

        // Decrypting with another key stops at the first row it cannot read.
        keyed
            .convert_tokens(TokenForm::Encrypted, 500, |_| {})
            .await
            .unwrap();
        let wrong = plain.clone().with_token_key(Some(&key(8)));
        let e = wrong
            .convert_tokens(TokenForm::Plain, 500, |_| {})
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::TokenCipher(TokenCipherError::WrongKey { .. })
            ),
            "{e:?}"
        );
    })
    .await;
}
