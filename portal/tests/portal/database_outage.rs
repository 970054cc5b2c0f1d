//! The database going away under a running portal (issue 17): every request
//! that needs it answers 503 with `Retry-After` — a page saying the service
//! is briefly unavailable, with a way back to the same place, for browsers;
//! `{"detail": "SERVICE_UNAVAILABLE"}` for the API — never 500; a login
//! finished during the outage does not spend its code, and the same
//! callback completes once the database is back.
//!
//! PostgreSQL and MariaDB go away behind a proxy the test cuts (the server
//! itself is shared by every test). SQLite has no server to lose: its outage
//! is another connection holding the write lock past the busy timeout.

use std::time::{Duration, Instant};

use store::Backend;
use store::testing::TestDatabase;
use store::testing::outage::{CuttableProxy, SqliteWriteLock};

use crate::common::*;

/// Off, so that every request below reads the database rather than a
/// cached row or listing.
fn no_caches(env: &mut settings::Env) {
    env.set("USER_CACHE_TTL_SECONDS", "0");
    env.set("GUILD_CACHE_TTL_SECONDS", "0");
    env.set("DATABASE_ACQUIRE_TIMEOUT_SECONDS", "1");
}

/// The portal on `backend`, reaching its database through a proxy the test
/// can cut; `None` when that server is not here (announced).
async fn app_behind_proxy(backend: Backend) -> Option<(TestApp, CuttableProxy)> {
    let db = TestDatabase::create(backend).await.unwrap()?;
    let (proxy, url) = CuttableProxy::in_front_of(&db.url).await.unwrap();
    let standin = discord_standin::StandIn::start(base_fixture())
        .await
        .expect("stand-in starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cfg = config_for(&standin, &url, |e| {
        e.set("PORTAL_PUBLIC_URL", format!("http://{addr}"));
        no_caches(e);
    });
    let portal = portal::start(cfg, listener).await.expect("portal starts");
    let app = TestApp {
        portal,
        standin,
        db: Some(db),
        client: client(),
    };
    Some((app, proxy))
}

/// A login taken as far as Discord's redirect back, by another browser
/// than the app's own: the callback URL, not yet visited.
async fn login_until_callback(app: &TestApp, browser: &reqwest::Client) -> String {
    let login = browser.get(app.url("/discord/login")).send().await.unwrap();
    assert_eq!(login.status(), 302, "login start redirects to Discord");
    let approved = browser.get(location(&login)).send().await.unwrap();
    assert_eq!(approved.status(), 302, "the stand-in approves");
    location(&approved)
}

fn retry_after(r: &reqwest::Response) -> Option<u64> {
    r.headers().get("retry-after")?.to_str().ok()?.parse().ok()
}

/// A browser route during the outage: the 503 page.
async fn assert_unavailable_page(r: reqwest::Response, what: &str) {
    assert_eq!(r.status(), 503, "{what}");
    assert!(
        retry_after(&r).is_some_and(|s| (1..=30).contains(&s)),
        "{what}: Retry-After {:?}",
        r.headers().get("retry-after")
    );
    let html = r.text().await.unwrap();
    assert!(html.contains("SERVICE_UNAVAILABLE"), "{what}: {html}");
    assert!(html.contains("briefly unavailable"), "{what}: {html}");
    // "Try again" reloads the address the browser is at.
    assert!(html.contains(r#"href="""#), "{what}: {html}");
}

/// An API route during the outage.
async fn assert_unavailable_json(r: reqwest::Response, what: &str) {
    assert_eq!(r.status(), 503, "{what}");
    assert!(retry_after(&r).is_some(), "{what}: no Retry-After");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"detail": "SERVICE_UNAVAILABLE"}),
        "{what}"
    );
}

async fn wait_ready(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if app.get("/readyz").await.status() == 200 {
            return;
        }
        assert!(Instant::now() < deadline, "not ready again within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn server_goes_away(backend: Backend) {
    let Some((app, proxy)) = app_behind_proxy(backend).await else {
        return;
    };
    app.login().await;
    assert_eq!(app.get("/discord/guilds").await.status(), 200);
    let other = client();
    let callback = login_until_callback(&app, &other).await;
    let exchanges = app.token_requests();

    proxy.cut();
    assert_unavailable_page(app.get("/discord/guilds").await, "guild page").await;
    assert_unavailable_page(
        app.get("/discord/guilds/1100000000000000101").await,
        "one guild's page",
    )
    .await;
    assert_unavailable_json(app.get("/api/v1/discord/guilds").await, "guild API").await;
    assert_unavailable_json(app.get("/api/v1/users/me").await, "users/me").await;
    let logout = app
        .client
        .post(app.url("/api/v1/auth/cookie/logout"))
        .send()
        .await
        .unwrap();
    assert_unavailable_json(logout, "API logout").await;
    let logout = app
        .client
        .post(app.url("/discord/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 503, "browser logout");
    // Starting a login needs no database: the state is signed, not stored.
    let start = client()
        .get(app.url("/discord/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 302, "login start");
    // The callback checks its state against the database before it spends
    // the code: refused, the code is still good.
    let refused = other.get(&callback).send().await.unwrap();
    assert_unavailable_page(refused, "callback").await;
    assert_eq!(app.token_requests(), exchanges, "the code was not spent");
    assert_eq!(app.get("/readyz").await.status(), 503);

    proxy.restore().await.unwrap();
    wait_ready(&app).await;
    // The same callback, reloaded, completes the login.
    let done = other.get(&callback).send().await.unwrap();
    assert_eq!(done.status(), 302, "{:?}", done.text().await);
    assert!(cookie_value(&done, "fastapiusersauth").is_some());
    assert_eq!(app.token_requests(), exchanges + 1);
    assert_eq!(
        other
            .get(app.url("/discord/guilds"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(app.get("/discord/guilds").await.status(), 200);
    assert_eq!(app.get("/api/v1/discord/guilds").await.status(), 200);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("guildhall_refusals_total{reason=\"database_unavailable\"}"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("status=\"500\""),
        "nothing answered 500:\n{metrics}"
    );
    drop(proxy);
    app.stop().await;
}

#[tokio::test]
async fn postgres_going_away_answers_503_then_recovers() {
    server_goes_away(Backend::Postgres).await;
}

#[tokio::test]
async fn mariadb_going_away_answers_503_then_recovers() {
    server_goes_away(Backend::MySql).await;
}

#[tokio::test]
async fn sqlite_locked_by_another_writer_answers_503_to_writes_then_recovers() {
    let app = spawn_app_with(base_fixture(), no_caches, |_| {}).await;
    app.login().await;
    let other = client();
    let callback = login_until_callback(&app, &other).await;
    let exchanges = app.token_requests();
    let url = app.db.as_ref().unwrap().url.clone();

    let lock = SqliteWriteLock::take(&url).await.unwrap();
    // Readers go on under another connection's write lock (WAL).
    assert_eq!(app.get("/discord/guilds").await.status(), 200);
    assert_eq!(app.get("/api/v1/discord/guilds").await.status(), 200);
    // The callback's first write waits the busy timeout, then gives up.
    let refused = other.get(&callback).send().await.unwrap();
    assert_unavailable_page(refused, "callback").await;
    assert_eq!(app.token_requests(), exchanges, "the code was not spent");
    let logout = app
        .client
        .post(app.url("/api/v1/auth/cookie/logout"))
        .send()
        .await
        .unwrap();
    assert_unavailable_json(logout, "API logout").await;

    lock.release().await.unwrap();
    let done = other.get(&callback).send().await.unwrap();
    assert_eq!(done.status(), 302, "{:?}", done.text().await);
    assert_eq!(app.token_requests(), exchanges + 1);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(!metrics.contains("status=\"500\""), "{metrics}");
    app.stop().await;
}
