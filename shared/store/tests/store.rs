//! The store's behaviour on every backend: fastapi-users' oauth_callback
//! branches, concurrency, limits, bot guilds and consumed states.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use settings::Secret;
use store::testing::each_backend;
use store::{
    AssociateByEmail, Backend, CallbackOutcome, ConnectOptions, OAuthCallback, Profile, Store,
    StoreError, TokenUpdate,
};

struct Login {
    access: Secret,
    refresh: Option<Secret>,
    account_id: String,
    email: String,
    expires_at: Option<i64>,
}

impl Login {
    fn new(account_id: &str, email: &str) -> Self {
        Login {
            access: Secret::new(format!("access-{account_id}")),
            refresh: Some(Secret::new(format!("refresh-{account_id}"))),
            account_id: account_id.into(),
            email: email.into(),
            expires_at: Some(1_900_000_000),
        }
    }

    /// `associate`: fastapi-users' `associate_by_email` (true links any user).
    fn callback(&self, associate: bool) -> OAuthCallback<'_> {
        OAuthCallback {
            oauth_name: "discord",
            access_token: &self.access,
            account_id: &self.account_id,
            account_email: &self.email,
            expires_at: self.expires_at,
            refresh_token: self.refresh.as_ref(),
            associate_by_email: if associate {
                AssociateByEmail::Always
            } else {
                AssociateByEmail::Never
            },
            is_verified_by_default: false,
        }
    }
}

#[tokio::test]
async fn new_account_registers_an_active_user_with_a_real_password_hash() {
    each_backend(|store, backend| async move {
        let login = Login::new("80351110224678912", "nelly@example.com");
        let (user, outcome) = store.oauth_callback(login.callback(true)).await.unwrap();
        assert_eq!(outcome, CallbackOutcome::Registered, "{backend:?}");
        assert_eq!(user.email, "nelly@example.com");
        assert!(user.is_active && !user.is_superuser && !user.is_verified);
        let hash = store.hashed_password_for_tests(user.id).await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");

        let account = store
            .oauth_account_for_user(user.id, "discord")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(account.account_id, "80351110224678912");
        assert_eq!(account.access_token.expose(), "access-80351110224678912");
        assert_eq!(
            account.refresh_token.as_ref().unwrap().expose(),
            "refresh-80351110224678912"
        );
        assert_eq!(account.expires_at, Some(1_900_000_000));
        assert_eq!(account.account_email.as_deref(), Some("nelly@example.com"));
        assert_eq!(
            store.user_by_id(user.id).await.unwrap().as_ref(),
            Some(&user)
        );
    })
    .await;
}

#[tokio::test]
async fn verified_by_default_is_honoured() {
    each_backend(|store, _| async move {
        let login = Login::new("1", "v@example.com");
        let cb = OAuthCallback {
            is_verified_by_default: true,
            ..login.callback(true)
        };
        let (user, _) = store.oauth_callback(cb).await.unwrap();
        assert!(user.is_verified);
    })
    .await;
}

#[tokio::test]
async fn known_account_overwrites_tokens_and_account_email_but_not_user_email() {
    each_backend(|store, _| async move {
        let first = Login::new("42", "old@example.com");
        let (user, _) = store.oauth_callback(first.callback(false)).await.unwrap();

        let mut second = Login::new("42", "new@example.com");
        second.access = Secret::new("access-2");
        second.refresh = None;
        second.expires_at = Some(2_000_000_000);
        let (again, outcome) = store.oauth_callback(second.callback(false)).await.unwrap();
        assert_eq!(outcome, CallbackOutcome::LoggedIn);
        assert_eq!(again.id, user.id);
        assert_eq!(
            again.email, "old@example.com",
            "the user's email is never changed"
        );

        let account = store
            .oauth_account_for_user(user.id, "discord")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(account.access_token.expose(), "access-2");
        assert_eq!(account.refresh_token, None, "no refresh token sent → NULL");
        assert_eq!(account.expires_at, Some(2_000_000_000));
        assert_eq!(account.account_email.as_deref(), Some("new@example.com"));
        assert_eq!(store.count_users().await.unwrap(), 1);
        assert_eq!(store.count_oauth_accounts().await.unwrap(), 1);
    })
    .await;
}

#[tokio::test]
async fn same_email_links_case_insensitively_when_associating() {
    each_backend(|store, _| async move {
        let first = Login::new("100", "Alice@Example.com");
        let (user, _) = store.oauth_callback(first.callback(true)).await.unwrap();

        let other = Login::new("200", "alice@EXAMPLE.COM");
        let (linked, outcome) = store.oauth_callback(other.callback(true)).await.unwrap();
        assert_eq!(outcome, CallbackOutcome::Linked);
        assert_eq!(linked.id, user.id);
        assert_eq!(linked.email, "Alice@Example.com");
        assert_eq!(store.count_users().await.unwrap(), 1);
        assert_eq!(store.count_oauth_accounts().await.unwrap(), 2);

        let by_email = store
            .user_by_email("ALICE@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_email.id, user.id);
        assert!(
            store
                .user_by_email("bob@example.com")
                .await
                .unwrap()
                .is_none()
        );
    })
    .await;
}

#[tokio::test]
async fn an_accented_email_is_another_person() {
    each_backend(|store, backend| async move {
        let plain = Login::new("300", "andre@example.org");
        let (andre, _) = store.oauth_callback(plain.callback(true)).await.unwrap();
        // Not a case variant: MySQL's case-insensitive collations would say
        // these are equal, and link a stranger's Discord account to André.
        let accented = Login::new("301", "andré@example.org");
        let (other, outcome) = store.oauth_callback(accented.callback(true)).await.unwrap();
        assert_eq!(outcome, CallbackOutcome::Registered, "{backend:?}");
        assert_ne!(other.id, andre.id);
        let found = store.user_by_email("andré@example.org").await.unwrap();
        assert_eq!(found.map(|u| u.id), Some(other.id), "{backend:?}");
        // Trailing spaces are not folded either.
        assert!(
            store
                .user_by_email("andre@example.org ")
                .await
                .unwrap()
                .is_none(),
            "{backend:?}"
        );
        // Case still is, for accented letters too (PostgreSQL and MySQL
        // lower-case them; SQLite's lower() only knows ASCII).
        let upper = store.user_by_email("ANDRé@EXAMPLE.ORG").await.unwrap();
        assert_eq!(upper.map(|u| u.id), Some(other.id), "{backend:?}");
    })
    .await;
}

#[tokio::test]
async fn same_email_without_association_is_user_already_exists() {
    each_backend(|store, _| async move {
        let first = Login::new("100", "carol@example.com");
        store.oauth_callback(first.callback(false)).await.unwrap();
        let other = Login::new("200", "CAROL@example.com");
        let err = store
            .oauth_callback(other.callback(false))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::UserAlreadyExists), "{err:?}");
        assert_eq!(
            store.count_oauth_accounts().await.unwrap(),
            1,
            "nothing written"
        );
    })
    .await;
}

#[tokio::test]
async fn fifty_concurrent_first_logins_make_one_user_and_one_account() {
    each_backend(|store, backend| async move {
        let login = Arc::new(Login::new("555", "race@example.com"));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (store, login) = (store.clone(), login.clone());
                tokio::spawn(async move { store.oauth_callback(login.callback(false)).await })
            })
            .collect();
        let mut ids = HashSet::new();
        let mut registered = 0;
        for t in tasks {
            let (user, outcome) = t
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
            ids.insert(user.id);
            registered += usize::from(outcome == CallbackOutcome::Registered);
        }
        assert_eq!(
            ids.len(),
            1,
            "{backend:?}: every call returns the same user"
        );
        assert_eq!(registered, 1, "{backend:?}: exactly one registration");
        assert_eq!(store.count_users().await.unwrap(), 1);
        assert_eq!(store.count_oauth_accounts().await.unwrap(), 1);
    })
    .await;
}

#[tokio::test]
async fn fifty_concurrent_links_to_an_existing_user_make_one_account() {
    each_backend(|store, backend| async move {
        let owner = Login::new("1", "dora@example.com");
        let (user, _) = store.oauth_callback(owner.callback(true)).await.unwrap();
        let login = Arc::new(Login::new("2", "DORA@example.com"));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (store, login) = (store.clone(), login.clone());
                tokio::spawn(async move { store.oauth_callback(login.callback(true)).await })
            })
            .collect();
        let mut linked = 0;
        for t in tasks {
            let (u, outcome) = t
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
            assert_eq!(u.id, user.id);
            linked += usize::from(outcome == CallbackOutcome::Linked);
        }
        assert_eq!(linked, 1);
        assert_eq!(store.count_oauth_accounts().await.unwrap(), 2);
    })
    .await;
}

#[tokio::test]
async fn overlong_values_are_typed_errors_and_write_nothing() {
    each_backend(|store, _| async move {
        let long_email = format!("{}@example.com", "a".repeat(320));
        let login = Login::new("9", &long_email);
        let err = store
            .oauth_callback(login.callback(true))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::TooLong {
                    field: "account_email",
                    max: 320,
                    ..
                }
            ),
            "{err:?}"
        );

        let mut login = Login::new("9", "ok@example.com");
        login.access = Secret::new("x".repeat(1025));
        let err = store
            .oauth_callback(login.callback(true))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::TooLong {
                    field: "access_token",
                    max: 1024,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            !err.to_string().contains("xxxx"),
            "the token is not echoed: {err}"
        );
        assert_eq!(store.count_users().await.unwrap(), 0);

        // exactly at the limits is fine
        let mut login = Login::new("9", &format!("{}@e.io", "b".repeat(315)));
        login.access = Secret::new("y".repeat(1024));
        login.refresh = Some(Secret::new("z".repeat(1024)));
        let (user, _) = store.oauth_callback(login.callback(true)).await.unwrap();
        let account = store
            .oauth_account_for_user(user.id, "discord")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(account.access_token.expose().len(), 1024);
        assert_eq!(user.email.len(), 320);

        // Every other bounded field, on every write path.
        let too_long = |r: Result<_, StoreError>, name: &str| match r {
            Err(StoreError::TooLong { field, .. }) => assert_eq!(field, name),
            other => panic!("{name}: {other:?}"),
        };
        let mut login = Login::new("10", "c@example.com");
        login.refresh = Some(Secret::new("r".repeat(1025)));
        too_long(
            store.oauth_callback(login.callback(true)).await.map(drop),
            "refresh_token",
        );
        let login = Login::new(&"9".repeat(321), "d@example.com");
        too_long(
            store.oauth_callback(login.callback(true)).await.map(drop),
            "account_id",
        );
        let refreshed = TokenUpdate {
            access_token: Secret::new("a".repeat(1025)),
            expires_at: None,
            refresh_token: None,
        };
        too_long(
            store.update_tokens(account.id, &refreshed).await.map(drop),
            "access_token",
        );
        let profile = Profile {
            nickname: Some("n".repeat(101)),
            ..Profile::default()
        };
        too_long(
            store.update_profile(user.id, &profile).await.map(drop),
            "nickname",
        );
        let unchanged = store
            .oauth_account_for_user(user.id, "discord")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            unchanged.access_token.expose().len(),
            1024,
            "nothing written"
        );
        assert_eq!(store.count_users().await.unwrap(), 1);
    })
    .await;
}

#[tokio::test]
async fn tokens_and_profile_updates() {
    each_backend(|store, _| async move {
        let login = Login::new("7", "erin@example.com");
        let (user, _) = store.oauth_callback(login.callback(true)).await.unwrap();
        let account = store
            .oauth_account_for_user(user.id, "discord")
            .await
            .unwrap()
            .unwrap();

        let update = TokenUpdate {
            access_token: Secret::new("fresh-access"),
            expires_at: Some(1_950_000_000),
            refresh_token: Some(Secret::new("fresh-refresh")),
        };
        assert!(store.update_tokens(account.id, &update).await.unwrap());
        let account = store
            .oauth_account_by_account_id("discord", "7")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(account.access_token.expose(), "fresh-access");
        assert_eq!(
            account.refresh_token.as_ref().unwrap().expose(),
            "fresh-refresh"
        );
        assert_eq!(account.expires_at, Some(1_950_000_000));
        let printed = format!("{account:?} {update:?}");
        assert!(
            !printed.contains("fresh-"),
            "tokens never printed: {printed}"
        );

        let seen = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let profile = Profile {
            nickname: Some("Erin ✨".into()),
            profile_img: Some("https://cdn.discordapp.com/avatars/7/abc.png".into()),
            sns_type: Some("discord".into()),
            last_seen: Some(seen),
        };
        assert!(store.update_profile(user.id, &profile).await.unwrap());
        let after = store.user_by_id(user.id).await.unwrap().unwrap();
        assert_eq!(after.nickname.as_deref(), Some("Erin ✨"));
        assert_eq!(after.sns_type.as_deref(), Some("discord"));
        assert_eq!(after.profile_img, profile.profile_img);
        assert_eq!(after.last_seen, Some(seen));
        assert!(after.updated_at >= user.updated_at);
        assert!(
            !store
                .update_profile(user.id + 1000, &profile)
                .await
                .unwrap()
        );

        assert!(store.set_active(user.id, false).await.unwrap());
        assert!(!store.user_by_id(user.id).await.unwrap().unwrap().is_active);
        // An inactive user's login still updates tokens (fastapi-users does too);
        // refusing it is the portal's job.
        let (again, outcome) = store.oauth_callback(login.callback(true)).await.unwrap();
        assert_eq!(outcome, CallbackOutcome::LoggedIn);
        assert!(!again.is_active);
    })
    .await;
}

#[tokio::test]
async fn bot_guilds_per_shard() {
    each_backend(|store, backend| async move {
        let big: Vec<u64> = (0..1200).map(|i| 900_000_000_000_000_000 + i).collect();
        store.bot_guilds_replace_shard(1, &big).await.unwrap();
        store.bot_guilds_replace_shard(0, &[10, 20]).await.unwrap();
        store.bot_guild_add(0, 30).await.unwrap();
        store.bot_guild_add(0, 30).await.unwrap(); // idempotent
        assert!(store.bot_guild_remove(10).await.unwrap());
        assert!(!store.bot_guild_remove(10).await.unwrap());
        assert_eq!(
            store.bot_guilds_of_shard(0).await.unwrap(),
            vec![20, 30],
            "{backend:?}"
        );
        assert_eq!(store.bot_guilds_of_shard(1).await.unwrap().len(), 1200);

        // Replacing shard 0 leaves shard 1 alone.
        store.bot_guilds_replace_shard(0, &[40]).await.unwrap();
        assert_eq!(store.bot_guilds_of_shard(0).await.unwrap(), vec![40]);
        assert_eq!(store.bot_guilds_of_shard(1).await.unwrap().len(), 1200);

        let query: Vec<u64> = vec![40, 20, big[0], big[1199], u64::MAX >> 1];
        let present = store.bot_guilds_present(&query).await.unwrap();
        assert_eq!(present, HashSet::from([40, big[0], big[1199]]));
        assert!(store.bot_guilds_present(&[]).await.unwrap().is_empty());
        assert_eq!(store.bot_guilds_all().await.unwrap().len(), 1201);

        store.bot_guilds_replace_shard(1, &[]).await.unwrap();
        assert_eq!(store.bot_guilds_all().await.unwrap(), vec![40]);

        // Many at once, over existing rows (moved to this shard) and past
        // one statement's chunk.
        let many: Vec<u64> = (0..700).map(|i| 800_000_000_000_000_000 + i).collect();
        store.bot_guilds_add(2, &many).await.unwrap();
        store.bot_guilds_add(2, &[40]).await.unwrap();
        assert_eq!(
            store.bot_guilds_of_shard(2).await.unwrap().len(),
            701,
            "{backend:?}"
        );
        assert!(store.bot_guilds_of_shard(0).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn an_oauth_state_is_consumed_once() {
    each_backend(|store, _| async move {
        let now = 1_700_000_000;
        assert!(
            store
                .consume_oauth_state("csrf-a", now + 3600, now)
                .await
                .unwrap()
        );
        assert!(
            !store
                .consume_oauth_state("csrf-a", now + 3600, now)
                .await
                .unwrap()
        );
        assert!(
            store
                .consume_oauth_state("csrf-b", now + 10, now)
                .await
                .unwrap()
        );
        // Once expired it is purged; its signature check refuses it by then anyway.
        assert!(
            store
                .consume_oauth_state("csrf-b", now + 7200, now + 20)
                .await
                .unwrap()
        );
        assert!(matches!(
            store.consume_oauth_state(&"c".repeat(65), now, now).await,
            Err(StoreError::TooLong { .. })
        ));
    })
    .await;
}

#[tokio::test]
async fn sqlite_file_is_created_and_ready() {
    let dir = std::env::temp_dir().join(format!("gh-sqlite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("fresh.db");
    let _ = std::fs::remove_file(&path);
    let store = Store::connect(
        &format!("sqlite://{}", path.display()),
        &ConnectOptions::default(),
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap(); // idempotent
    store.ping().await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    assert!(path.exists());
    assert!(dir.join("fresh.db-wal").exists(), "WAL mode");
    store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn bad_urls_fail_at_once_and_unreachable_servers_after_a_bounded_retry() {
    let err = Store::connect("redis://localhost", &ConnectOptions::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with("DATABASE_URL is invalid"),
        "{err}"
    );

    let err = Store::connect(
        "postgres://user:pw@127.0.0.1:port/db",
        &ConnectOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::BadUrl(_)), "{err:?}");
    // sqlx's parse error stays the cause, not just text.
    assert!(
        matches!(
            err,
            StoreError::BadUrl(store::UrlError::Unparsable(sqlx::Error::Configuration(_)))
        ),
        "{err:?}"
    );

    let options = ConnectOptions {
        retry_for: Duration::from_millis(700),
        ..Default::default()
    };
    let started = Instant::now();
    // Port 9 (discard) has no listener here: connections are refused at once.
    let err = Store::connect("postgres://postgres:secret-pw@127.0.0.1:9/x", &options)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Unreachable { attempts, .. } if attempts > 1),
        "{err:?}"
    );
    assert!(!err.to_string().contains("secret-pw"), "{err}");
    let cause = std::error::Error::source(&err).expect("the last attempt's failure");
    assert!(
        matches!(
            cause.downcast_ref::<sqlx::Error>(),
            Some(sqlx::Error::Io(_))
        ),
        "{cause:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// A user made by another provider (as a password-registration application
/// would), verified or not, with `email`.
async fn existing_user(store: &Store, email: &str, verified: bool) -> store::User {
    let other = Login::new(email, email);
    let cb = OAuthCallback {
        oauth_name: "password-app",
        is_verified_by_default: verified,
        ..other.callback(false)
    };
    store.oauth_callback(cb).await.unwrap().0
}

#[tokio::test]
async fn associating_if_verified_links_only_a_verified_user() {
    each_backend(|store, backend| async move {
        let unverified = existing_user(&store, "una@example.com", false).await;
        let login = Login::new("300", "UNA@example.com");
        let cb = OAuthCallback {
            associate_by_email: AssociateByEmail::IfVerified,
            ..login.callback(true)
        };
        let err = store.oauth_callback(cb).await.unwrap_err();
        assert!(
            matches!(err, StoreError::UserAlreadyExists),
            "{backend:?}: {err:?}"
        );
        assert!(
            store
                .oauth_account_for_user(unverified.id, "discord")
                .await
                .unwrap()
                .is_none(),
            "nothing was linked"
        );
        assert_eq!(store.count_users().await.unwrap(), 1);
        assert_eq!(store.count_oauth_accounts().await.unwrap(), 1);

        let verified = existing_user(&store, "vera@example.com", true).await;
        let login = Login::new("301", "vera@example.com");
        let cb = OAuthCallback {
            associate_by_email: AssociateByEmail::IfVerified,
            ..login.callback(true)
        };
        let (linked, outcome) = store.oauth_callback(cb).await.unwrap();
        assert_eq!(outcome, CallbackOutcome::Linked, "{backend:?}");
        assert_eq!(linked.id, verified.id);
        // A new person is registered as before.
        let login = Login::new("302", "new@example.com");
        let cb = OAuthCallback {
            associate_by_email: AssociateByEmail::IfVerified,
            ..login.callback(true)
        };
        let (_, outcome) = store.oauth_callback(cb).await.unwrap();
        assert_eq!(outcome, CallbackOutcome::Registered);
    })
    .await;
}

#[tokio::test]
async fn the_users_account_is_the_one_signed_in_with_last() {
    for backend in store::testing::ALL_BACKENDS {
        let Some(db) = store::testing::TestDatabase::create(backend).await.unwrap() else {
            continue;
        };
        let store = db.store().await;
        let first = Login::new("400", "two@example.com");
        let second = Login::new("401", "two@example.com");
        let current = |store: Store| async move {
            store
                .oauth_account_for_user(1, "discord")
                .await
                .unwrap()
                .unwrap()
                .account_id
        };
        let (user, _) = store.oauth_callback(first.callback(true)).await.unwrap();
        assert_eq!(user.id, 1);
        assert_eq!(current(store.clone()).await, "400");
        let (_, outcome) = store.oauth_callback(second.callback(true)).await.unwrap();
        assert_eq!(outcome, CallbackOutcome::Linked);
        assert_eq!(current(store.clone()).await, "401", "{backend:?}");
        let (_, outcome) = store.oauth_callback(first.callback(true)).await.unwrap();
        assert_eq!(outcome, CallbackOutcome::LoggedIn);
        assert_eq!(current(store.clone()).await, "400", "{backend:?}");

        // Rows an application unaware of the column wrote (NULL) come after
        // every dated one, lowest id first.
        store::testing::raw::execute(
            &db.url,
            "UPDATE oauth_accounts SET last_login_at_ms = NULL WHERE account_id = '400'",
        )
        .await
        .unwrap();
        assert_eq!(current(store.clone()).await, "401", "{backend:?}");
        store::testing::raw::execute(&db.url, "UPDATE oauth_accounts SET last_login_at_ms = NULL")
            .await
            .unwrap();
        assert_eq!(current(store.clone()).await, "400", "{backend:?}");
        store.close().await;
        db.drop_database().await;
    }
}
