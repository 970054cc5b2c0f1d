//! Linking a Discord login to an existing user by email, on every backend.
//! A user another application registered with a password and never verified
//! must not be taken over by whoever signs in with a Discord account that
//! shows the same address: with `ASSOCIATE_BY_EMAIL=true` (the default) only
//! a verified user is linked; `unverified` is fastapi-users' behaviour;
//! `false` never links. And the guild listing reads the Discord account the
//! user signed in with last.

use discord_standin::{FixtureGuild, FixtureUser};
use serde_json::Value;
use store::Backend;
use store::testing::{ALL_BACKENDS, raw};

use crate::common::*;

const EMAIL: &str = "ada@example.org";
const FIRST: &str = "1600000000000000001";
const SECOND: &str = "1600000000000000002";

/// Two Discord accounts showing the same verified address (in another
/// case), each in a guild of its own.
fn fixture() -> discord_standin::Fixture {
    base_fixture()
        .with_user(
            FixtureUser::new(FIRST, "ada")
                .email("Ada@Example.org", true)
                .guild(FixtureGuild::new("1600000000000000101", "First account's guild").owned()),
        )
        .with_user(
            FixtureUser::new(SECOND, "ada-alt")
                .email("ADA@example.org", true)
                .guild(FixtureGuild::new("1600000000000000102", "Second account's guild").owned()),
        )
}

async fn app_on(backend: Backend, associate: &str) -> Option<TestApp> {
    spawn_app_on(
        backend,
        fixture(),
        |e| {
            e.set("ASSOCIATE_BY_EMAIL", associate);
            e.set("GUILD_CACHE_TTL_SECONDS", "0");
            e.set("USER_CACHE_TTL_SECONDS", "0");
        },
        |_| {},
    )
    .await
}

impl TestApp {
    fn db_url(&self) -> String {
        self.db.as_ref().unwrap().url.clone()
    }

    /// A user as a password-registration application sharing the table
    /// writes it: no OAuth account, `is_verified` as given.
    async fn registered_by_password(&self, verified: bool) {
        raw::execute(
            &self.db_url(),
            &format!(
                "INSERT INTO users (email, hashed_password, is_active, is_superuser, is_verified) \
                 VALUES ('{EMAIL}', '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo', TRUE, FALSE, {})",
                if verified { "TRUE" } else { "FALSE" }
            ),
        )
        .await
        .unwrap();
    }

    fn sign_in_as(&self, discord_id: &str) {
        let id = discord_id.to_owned();
        self.standin.update_fixture(|f| f.default_user = Some(id));
    }

    /// The browser login's callback answer.
    async fn browser_callback(&self) -> reqwest::Response {
        let callback = self.authorize("/discord/login").await;
        self.client.get(&callback).send().await.unwrap()
    }

    /// The JSON API login's callback answer.
    async fn api_callback(&self) -> reqwest::Response {
        let started: Value = self
            .get("/api/v1/auth/discord/cookie/authorize")
            .await
            .json()
            .await
            .unwrap();
        let approved = self
            .client
            .get(started["authorization_url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        self.client.get(location(&approved)).send().await.unwrap()
    }

    async fn guild_names(&self) -> Vec<String> {
        let r = self.get("/api/v1/discord/guilds").await;
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        body["guilds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn metrics(&self) -> String {
        self.get("/metrics").await.text().await.unwrap()
    }
}

async fn refused_as_user_already_exists(app: &TestApp, backend: Backend) {
    let r = app.api_callback().await;
    assert_eq!(r.status(), 400, "{backend:?}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"detail": "OAUTH_USER_ALREADY_EXISTS"}),
        "{backend:?}"
    );
    let r = app.browser_callback().await;
    assert_eq!(r.status(), 400, "{backend:?}");
    assert!(cookie_value(&r, "fastapiusersauth").is_none());
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Account already exists") && html.contains("OAUTH_USER_ALREADY_EXISTS"),
        "{backend:?}: {html}"
    );
    // Nothing was written: no account linked, no user made.
    assert_eq!(app.store().count_oauth_accounts().await.unwrap(), 0);
    assert_eq!(app.store().count_users().await.unwrap(), 1);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("guildhall_refusals_total{reason=\"oauth_user_already_exists\"} 2"),
        "{backend:?}: {metrics}"
    );
    assert!(metrics.contains("guildhall_logins_total{outcome=\"refused\"} 2"));
}

#[tokio::test]
async fn by_default_only_a_verified_user_is_linked() {
    for backend in ALL_BACKENDS {
        let Some(app) = app_on(backend, "true").await else {
            continue;
        };
        app.sign_in_as(FIRST);
        app.registered_by_password(false).await;
        refused_as_user_already_exists(&app, backend).await;

        // Once the other application has verified the address, it links.
        raw::execute(&app.db_url(), "UPDATE users SET is_verified = TRUE")
            .await
            .unwrap();
        let r = app.browser_callback().await;
        assert_eq!(r.status(), 302, "{backend:?}: {:?}", r.text().await);
        let me: Value = app.get("/api/v1/users/me").await.json().await.unwrap();
        assert_eq!(me["email"], EMAIL, "{backend:?}");
        assert!(
            app.metrics()
                .await
                .contains("guildhall_logins_total{outcome=\"link\"} 1")
        );
        assert_eq!(app.store().count_oauth_accounts().await.unwrap(), 1);
        app.stop().await;
    }
}

#[tokio::test]
async fn unverified_restores_fastapi_users_linking_and_false_never_links() {
    for backend in ALL_BACKENDS {
        let Some(app) = app_on(backend, "unverified").await else {
            continue;
        };
        app.sign_in_as(FIRST);
        app.registered_by_password(false).await;
        let r = app.api_callback().await;
        assert_eq!(r.status(), 204, "{backend:?}: {:?}", r.text().await);
        let me: Value = app.get("/api/v1/users/me").await.json().await.unwrap();
        assert_eq!(me["email"], EMAIL);
        assert_eq!(me["is_verified"], false, "linking verifies nothing");
        app.stop().await;

        let Some(app) = app_on(backend, "false").await else {
            continue;
        };
        app.sign_in_as(FIRST);
        app.registered_by_password(true).await;
        refused_as_user_already_exists(&app, backend).await;
        app.stop().await;
    }
}

#[tokio::test]
async fn the_guild_listing_follows_the_discord_account_last_signed_in_with() {
    for backend in ALL_BACKENDS {
        let Some(app) = app_on(backend, "true").await else {
            continue;
        };
        app.registered_by_password(true).await;
        app.sign_in_as(FIRST);
        assert_eq!(app.browser_callback().await.status(), 302);
        assert_eq!(app.guild_names().await, ["First account's guild"]);
        // The second account is linked to the same user, with a higher id…
        app.sign_in_as(SECOND);
        assert_eq!(app.browser_callback().await.status(), 302);
        assert_eq!(app.store().count_oauth_accounts().await.unwrap(), 2);
        assert_eq!(app.store().count_users().await.unwrap(), 1);
        // …and signed in with last: its guilds are the ones listed.
        assert_eq!(
            app.guild_names().await,
            ["Second account's guild"],
            "{backend:?}"
        );
        // Back to the first, back to its guilds.
        app.sign_in_as(FIRST);
        assert_eq!(app.browser_callback().await.status(), 302);
        assert_eq!(
            app.guild_names().await,
            ["First account's guild"],
            "{backend:?}"
        );
        app.stop().await;
    }
}
