//! Discord tokens at rest: with `TOKEN_ENCRYPTION_KEY` set they are written
//! encrypted, and `portal encrypt-tokens` / `decrypt-tokens` convert the
//! rows already there — the real binary, on a real database.

use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use settings::Secret;
use store::testing::TestDatabase;
use store::{Backend, OAuthCallback};

use crate::common::*;

fn random_key() -> String {
    STANDARD.encode(rand::random::<[u8; 32]>())
}

fn portal(db_url: &str) -> Command {
    let dir = std::env::temp_dir();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portal"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env("DATABASE_URL", db_url);
    cmd
}

#[tokio::test]
async fn with_a_key_tokens_are_stored_encrypted_and_still_work() {
    let key = random_key();
    let mut fixture = base_fixture();
    fixture.access_token_lifetime = 30; // inside the refresh margin
    let app = spawn_app_with(
        fixture,
        |e| {
            e.set("TOKEN_ENCRYPTION_KEY", key.clone());
            e.set("GUILD_CACHE_TTL_SECONDS", "0");
        },
        |_| {},
    )
    .await;
    app.login().await;
    let discord_user = app.standin.fixture().users[0].id.clone();
    let (access, refresh) = app
        .store()
        .raw_tokens_for_tests("discord", &discord_user)
        .await
        .unwrap();
    let refresh = refresh.unwrap();
    for stored in [&access, &refresh] {
        assert!(stored.starts_with("gh1:"), "{stored}");
    }
    assert!(
        !app.standin.access_token_valid(&access),
        "what is stored is not the token"
    );

    // The portal reads its own rows: the listing refreshes the expiring
    // token (spending the stored refresh token) and stores the new pair
    // encrypted too.
    app.standin
        .update_fixture(|f| f.access_token_lifetime = 604_800);
    assert_eq!(app.get("/api/v1/discord/guilds").await.status(), 200);
    let refreshes = app
        .standin
        .requests()
        .iter()
        .filter(|r| r.body.contains("grant_type=refresh_token"))
        .count();
    assert_eq!(refreshes, 1);
    let (access_after, refresh_after) = app
        .store()
        .raw_tokens_for_tests("discord", &discord_user)
        .await
        .unwrap();
    assert!(access_after.starts_with("gh1:") && access_after != access);
    assert!(refresh_after.unwrap().starts_with("gh1:"));
    app.stop().await;
}

#[tokio::test]
async fn encrypt_tokens_and_decrypt_tokens_convert_existing_rows() {
    let db = TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap()
        .unwrap();
    let store = db.store().await;
    for (id, refresh) in [
        ("4001", Some("refresh-4001")),
        ("4002", None),
        ("4003", Some("refresh-4003")),
    ] {
        store
            .oauth_callback(OAuthCallback {
                oauth_name: "discord",
                access_token: &Secret::new(format!("access-{id}")),
                account_id: id,
                account_email: &format!("{id}@example.org"),
                expires_at: Some(1_900_000_000),
                refresh_token: refresh.map(Secret::new).as_ref(),
                associate_by_email: store::AssociateByEmail::IfVerified,
                is_verified_by_default: false,
            })
            .await
            .unwrap();
    }
    let key = random_key();

    let out = portal(&db.url)
        .env("TOKEN_ENCRYPTION_KEY", &key)
        .arg("encrypt-tokens")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("done: 3 converted, 0 already"), "{stdout}");
    assert!(!stdout.contains(&key), "the key is never printed");
    for id in ["4001", "4002", "4003"] {
        let (access, refresh) = store.raw_tokens_for_tests("discord", id).await.unwrap();
        assert!(access.starts_with("gh1:"), "{id}: {access}");
        assert_eq!(refresh.is_some(), id != "4002");
        assert!(refresh.is_none_or(|r| r.starts_with("gh1:")), "{id}");
    }

    // Rerun (or resume after an interruption): nothing left to do.
    let again = portal(&db.url)
        .env("TOKEN_ENCRYPTION_KEY", &key)
        .arg("encrypt-tokens")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success());
    assert!(stdout.contains("done: 0 converted, 3 already"), "{stdout}");

    // Back to plain text, e.g. before handing the table to an app that
    // cannot decrypt it.
    let back = portal(&db.url)
        .env("TOKEN_ENCRYPTION_KEY", &key)
        .arg("decrypt-tokens")
        .output()
        .unwrap();
    assert!(
        back.status.success(),
        "{}",
        String::from_utf8_lossy(&back.stderr)
    );
    assert!(String::from_utf8_lossy(&back.stdout).contains("done: 3 converted, 0 already"));
    let (access, refresh) = store.raw_tokens_for_tests("discord", "4001").await.unwrap();
    assert_eq!(
        (access.as_str(), refresh.as_deref()),
        ("access-4001", Some("refresh-4001"))
    );

    // Without a usable key the commands stop at once, naming the variable.
    for (value, says) in [
        (None, "TOKEN_ENCRYPTION_KEY is not set"),
        (Some("too-short"), "TOKEN_ENCRYPTION_KEY is invalid"),
    ] {
        let mut cmd = portal(&db.url);
        if let Some(v) = value {
            cmd.env("TOKEN_ENCRYPTION_KEY", v);
        }
        let out = cmd.arg("encrypt-tokens").output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{stderr}");
        assert!(stderr.contains("openssl rand -base64 32"), "{stderr}");
    }
    store.close().await;
    db.drop_database().await;
}
