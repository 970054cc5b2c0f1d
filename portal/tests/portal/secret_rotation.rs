//! Rotating `AUTH_SECRET` without logging anyone out: replicas already on
//! the new secret keep the old one in `AUTH_SECRET_PREVIOUS`, which verifies
//! sessions and OAuth states, while everything new is signed with the new
//! secret. A token signed with a secret the portal was never given fails.

use std::sync::Arc;
use std::time::Duration;

use portal::session::token::SessionTokens;
use reqwest::cookie::Jar;
use store::Backend;
use store::testing::TestDatabase;

use crate::common::*;

const OLD: &str = "old-auth-secret-5c0e9a7d3b1f48e2a6c4d8b0f2e4a6c8";
const NEW: &str = "new-auth-secret-1d3f5b7a9c2e4f6a8b0d2c4e6a8f0b1d";
const UNKNOWN: &str = "unknown-secret-e8f6d4b2a0c9e7f5d3b1a9c7e5f3d1b0";

fn browser(jar: &Arc<Jar>) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar.clone())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn me(client: &reqwest::Client, base: &str, token: &str) -> u16 {
    client
        .get(format!("{base}/api/v1/users/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn sessions_and_logins_signed_with_the_previous_secret_survive_a_rotation() {
    let db = TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap()
        .unwrap();
    let standin = discord_standin::StandIn::start(base_fixture())
        .await
        .unwrap();
    // Mid-rotation: replica A still on the old secret, B already on the new
    // one with the old one as previous. Behind one proxy, one public URL.
    let la = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lb = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}", la.local_addr().unwrap());
    let a = portal::start(
        config_for(&standin, &db.url, |e| {
            e.set("PORTAL_PUBLIC_URL", public.clone());
            e.set("AUTH_SECRET", OLD);
        }),
        la,
    )
    .await
    .unwrap();
    let b = portal::start(
        config_for(&standin, &db.url, |e| {
            e.set("PORTAL_PUBLIC_URL", public.clone());
            e.set("AUTH_SECRET", NEW);
            e.set("AUTH_SECRET_PREVIOUS", format!(" {OLD} ,{UNKNOWN}x"));
        }),
        lb,
    )
    .await
    .unwrap();
    let jar = Arc::new(Jar::default());
    let browser = browser(&jar);
    let old_tokens = SessionTokens::new(&secret(OLD), Duration::from_secs(3600));
    let new_tokens = SessionTokens::new(&secret(NEW), Duration::from_secs(3600));

    // A whole login on A: a session signed with the old secret…
    let login = browser
        .get(format!("{}/discord/login", a.url()))
        .send()
        .await
        .unwrap();
    let approved = browser.get(location(&login)).send().await.unwrap();
    let done = browser.get(location(&approved)).send().await.unwrap();
    assert_eq!(done.status(), 302, "{:?}", done.text().await);
    let old_session = cookie_value(&done, "fastapiusersauth").unwrap();
    let user = old_tokens.verify(&old_session).unwrap();
    // …still works on B, as a cookie and as a Bearer token.
    let page = browser
        .get(format!("{}/discord/guilds", b.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "the old cookie works after rotation");
    assert_eq!(me(&browser, &b.url(), &old_session).await, 200);

    // A login started on A (state signed with the old secret) finishes on B,
    // which signs the new session with the new secret.
    let login = browser
        .get(format!("{}/discord/login", a.url()))
        .send()
        .await
        .unwrap();
    let approved = browser.get(location(&login)).send().await.unwrap();
    let on_b = location(&approved).replace(&a.url(), &b.url());
    let done = browser.get(&on_b).send().await.unwrap();
    assert_eq!(done.status(), 302, "{:?}", done.text().await);
    let new_session = cookie_value(&done, "fastapiusersauth").unwrap();
    assert_eq!(new_tokens.verify(&new_session).ok(), Some(user));
    assert!(old_tokens.verify(&new_session).is_err());
    assert_eq!(me(&browser, &b.url(), &new_session).await, 200);

    // A secret nobody configured signs nothing that B accepts.
    let forged = SessionTokens::new(&secret(UNKNOWN), Duration::from_secs(3600))
        .issue(user)
        .unwrap();
    assert_eq!(
        me(&reqwest::Client::new(), &b.url(), forged.expose()).await,
        401
    );

    a.shutdown().await;
    b.shutdown().await;
    db.drop_database().await;
}
