//! `spawn_app()`: the real portal on 127.0.0.1:0 against the stand-in Discord
//! and a fresh SQLite database, plus a cookie-keeping client that follows the
//! login dance by hand so each hop can be inspected.

use std::time::Duration;

use discord_standin::{Fixture, StandIn};
use portal::{PortalConfig, RunningPortal};
use reqwest::header::{LOCATION, SET_COOKIE};
use settings::{Env, Secret};
use store::testing::TestDatabase;
use store::{Backend, Store};

pub const CLIENT_ID: &str = "1100000000000000001";
pub const CLIENT_SECRET: &str = "test-client-secret-value";
pub const AUTH_SECRET: &str = "test-auth-secret-0123456789abcdef0123456789";

pub struct TestApp {
    pub portal: RunningPortal,
    pub standin: StandIn,
    pub db: Option<TestDatabase>,
    pub client: reqwest::Client,
}

pub fn base_fixture() -> Fixture {
    let mut f = Fixture::demo();
    f.client_id = CLIENT_ID.into();
    f.client_secret = CLIENT_SECRET.into();
    f.auto_approve = true;
    f
}

pub fn config_for(standin: &StandIn, db_url: &str, tweak: impl FnOnce(&mut Env)) -> PortalConfig {
    let mut env = Env::from_pairs([
        ("DATABASE_URL", db_url.to_owned()),
        ("DISCORD_CLIENT_ID", CLIENT_ID.to_owned()),
        ("DISCORD_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ("AUTH_SECRET", AUTH_SECRET.to_owned()),
        ("DISCORD_API_URL", standin.api_url()),
        ("DISCORD_AUTHORIZE_URL", standin.authorize_url()),
        ("DISCORD_CDN_URL", standin.cdn_url()),
        ("COOKIE_SECURE", "false".to_owned()),
        ("DISCORD_REQUEST_TIMEOUT_SECONDS", "3".to_owned()),
        ("DISCORD_RATE_LIMIT_MAX_WAIT_SECONDS", "1".to_owned()),
    ]);
    tweak(&mut env);
    PortalConfig::from_env(&env, false).expect("test config")
}

pub async fn spawn_app(fixture: Fixture) -> TestApp {
    spawn_app_with(fixture, |_| {}, |_| {}).await
}

/// `env` tweaks variables; `config` can then set what the environment cannot
/// express (sub-second cache TTLs, a PORTAL_PUBLIC_URL with the real port).
pub async fn spawn_app_with(
    fixture: Fixture,
    env: impl FnOnce(&mut Env),
    config: impl FnOnce(&mut PortalConfig),
) -> TestApp {
    spawn_app_on(Backend::Sqlite, fixture, env, config)
        .await
        .expect("SQLite is always there")
}

/// [`spawn_app_with`] on a fresh database of `backend`; `None` (announced as
/// a skip) when that database server is not there.
pub async fn spawn_app_on(
    backend: Backend,
    fixture: Fixture,
    env: impl FnOnce(&mut Env),
    config: impl FnOnce(&mut PortalConfig),
) -> Option<TestApp> {
    let db = TestDatabase::create(backend).await.unwrap()?;
    let standin = StandIn::start(fixture).await.expect("stand-in starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut cfg = config_for(&standin, &db.url, |e| {
        e.set("PORTAL_PUBLIC_URL", format!("http://{addr}"));
        env(e);
    });
    config(&mut cfg);
    let portal = portal::start(cfg, listener).await.expect("portal starts");
    Some(TestApp {
        portal,
        standin,
        db: Some(db),
        client: client(),
    })
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.portal.url())
    }

    pub fn store(&self) -> &Store {
        &self.portal.app.store
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// `/discord/login?next=…` → Discord (auto-approving stand-in) → the
    /// callback URL, not yet visited. Returns that callback URL.
    pub async fn authorize(&self, login_path: &str) -> String {
        let login = self.get(login_path).await;
        assert_eq!(login.status(), 302, "login redirects to Discord");
        let to_discord = location(&login);
        assert!(
            to_discord.starts_with(&self.standin.authorize_url()),
            "{to_discord}"
        );
        let approved = self.client.get(&to_discord).send().await.unwrap();
        assert_eq!(approved.status(), 302, "auto-approve redirects back");
        location(&approved)
    }

    /// A whole browser login; returns the final redirect target.
    pub async fn login(&self) -> String {
        self.login_to("/discord/login").await
    }

    pub async fn login_to(&self, login_path: &str) -> String {
        let callback = self.authorize(login_path).await;
        let done = self.client.get(&callback).send().await.unwrap();
        assert_eq!(done.status(), 302, "callback: {:?}", done.text().await);
        location(&done)
    }

    /// The session token from a login, for Bearer requests.
    pub async fn login_token(&self) -> String {
        let callback = self.authorize("/discord/login").await;
        let done = self.client.get(&callback).send().await.unwrap();
        assert_eq!(done.status(), 302);
        cookie_value(&done, "fastapiusersauth").expect("session cookie")
    }

    pub fn token_requests(&self) -> usize {
        self.standin
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/oauth2/token"))
            .count()
    }

    pub async fn stop(mut self) {
        self.portal.shutdown().await;
        if let Some(db) = self.db.take() {
            db.drop_database().await;
        }
    }
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(LOCATION)
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_owned()
}

pub fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

pub fn cookie_value(r: &reqwest::Response, name: &str) -> Option<String> {
    set_cookies(r).into_iter().find_map(|c| {
        let first = c.split(';').next()?.to_owned();
        let (k, v) = first.split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_owned())
    })
}

pub fn secret(s: &str) -> Secret {
    Secret::new(s)
}
