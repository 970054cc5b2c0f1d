//! Sessions end when people say so: logout revokes the token it was given on
//! every replica, "log out everywhere" ends every session issued before it,
//! and another site cannot do either on someone's behalf.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::Value;

use crate::common::*;

/// A token exactly as fastapi-users (PyJWT) writes it, with the same secret.
fn pyjwt_token(user: i64, exp: i64) -> String {
    let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let c = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"sub":"{user}","aud":["fastapi-users:auth"],"exp":{exp}}}"#
    ));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(AUTH_SECRET.as_bytes()).unwrap();
    mac.update(format!("{h}.{c}").as_bytes());
    format!(
        "{h}.{c}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// A whole browser login in `browser`'s own cookie jar; returns the session
/// token.
async fn login_in(app: &TestApp, browser: &reqwest::Client) -> String {
    let login = browser.get(app.url("/discord/login")).send().await.unwrap();
    let approved = browser.get(location(&login)).send().await.unwrap();
    let done = browser.get(location(&approved)).send().await.unwrap();
    assert_eq!(done.status(), 302, "{:?}", done.text().await);
    cookie_value(&done, "fastapiusersauth").expect("session cookie")
}

/// The status `/api/v1/users/me` answers for `token` on `base`.
async fn me_status(base: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}/api/v1/users/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn user_id(app: &TestApp, token: &str) -> i64 {
    let me: Value = reqwest::Client::new()
        .get(app.url("/api/v1/users/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    me["id"].as_i64().unwrap()
}

/// Polls until `token` is refused on `base`, for at most `within`.
async fn refused_within(base: &str, token: &str, within: Duration) -> bool {
    let deadline = std::time::Instant::now() + within;
    loop {
        match me_status(base, token).await {
            401 => return true,
            200 if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            _ => return false,
        }
    }
}

fn metric(text: &str, line_start: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
}

#[tokio::test]
async fn logout_revokes_the_token_it_was_given_on_every_replica() {
    // Replica B checks revocation on every request; A caches the user (and
    // what is revoked) for the default USER_CACHE_TTL_SECONDS.
    let a = spawn_app(base_fixture()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let db_url = a.db.as_ref().unwrap().url.clone();
    let public = a.portal.url();
    let b = portal::start(
        config_for(&a.standin, &db_url, |e| {
            e.set("PORTAL_PUBLIC_URL", public.clone());
            e.set("USER_CACHE_TTL_SECONDS", "0");
        }),
        listener,
    )
    .await
    .unwrap();

    // Browser logout.
    let browser = client();
    let token = login_in(&a, &browser).await;
    assert_eq!(me_status(&b.url(), &token).await, 200);
    let out = browser.post(a.url("/discord/logout")).send().await.unwrap();
    assert_eq!(out.status(), 302);
    assert_eq!(
        me_status(&a.portal.url(), &token).await,
        401,
        "revoked on A at once"
    );
    assert_eq!(me_status(&b.url(), &token).await, 401, "and on B");

    // API logout with the cookie.
    let browser = client();
    let token = login_in(&a, &browser).await;
    let out = browser
        .post(a.url("/api/v1/auth/cookie/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(me_status(&b.url(), &token).await, 401);
    assert_eq!(me_status(&a.portal.url(), &token).await, 401);

    // A token fastapi-users minted: accepted, and revocable the same way
    // (here by Bearer, on B).
    let id = user_id(&a, &login_in(&a, &client()).await).await;
    let minted = pyjwt_token(id, chrono::Utc::now().timestamp() + 600);
    assert_eq!(me_status(&a.portal.url(), &minted).await, 200);
    let out = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/cookie/logout", b.url()))
        .bearer_auth(&minted)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(me_status(&b.url(), &minted).await, 401);
    // A caches for USER_CACHE_TTL_SECONDS (2 s): refused within that.
    assert!(
        refused_within(&a.portal.url(), &minted, Duration::from_secs(10)).await,
        "A never saw B's revocation"
    );
    // Other sessions of the user are untouched.
    let other = login_in(&a, &client()).await;
    assert_eq!(me_status(&b.url(), &other).await, 200);

    b.shutdown().await;
    a.stop().await;
}

#[tokio::test]
async fn another_site_cannot_log_anyone_out() {
    let app = spawn_app(base_fixture()).await;
    let token = app.login_token().await;
    let cookie = format!("fastapiusersauth={token}");
    let ours = app.portal.url();
    let plain = client();

    let foreign = [
        ("another origin", Some("https://evil.example"), None),
        (
            "cross-site fetch",
            Some("https://evil.example"),
            Some("cross-site"),
        ),
        ("a sibling subdomain", None, Some("same-site")),
        ("an opaque origin", Some("null"), Some("cross-site")),
        ("an opaque origin, no fetch metadata", Some("null"), None),
    ];
    for (what, origin, site) in foreign {
        for path in [
            "/discord/logout",
            "/discord/logout-everywhere",
            "/api/v1/auth/cookie/logout",
            "/api/v1/auth/sessions/revoke-all",
        ] {
            let mut request = plain.post(app.url(path)).header("cookie", &cookie);
            if let Some(origin) = origin {
                request = request.header("origin", origin);
            }
            if let Some(site) = site {
                request = request.header("sec-fetch-site", site);
            }
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 403, "{what}: {path}");
            assert!(set_cookies(&r).is_empty(), "{what}: {path} touched cookies");
            if path.starts_with("/api/") {
                let body: Value = r.json().await.unwrap();
                assert_eq!(body["detail"], "CSRF_ORIGIN_MISMATCH", "{what}: {path}");
            } else {
                let html = r.text().await.unwrap();
                assert!(html.contains("CSRF_ORIGIN_MISMATCH"), "{what}: {path}");
                assert!(html.contains("another site"), "{what}: {path}: {html}");
            }
        }
    }
    assert_eq!(me_status(&ours, &token).await, 200, "nothing was revoked");

    // Bearer-authenticated API calls carry no ambient credential: not checked.
    let bearer_out = plain
        .post(app.url("/api/v1/auth/cookie/logout"))
        .bearer_auth(&token)
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(bearer_out.status(), 204);
    assert_eq!(me_status(&ours, &token).await, 401);

    // Our own pages: a browser sends our origin, or `null` (the pages'
    // Referrer-Policy is no-referrer) with Sec-Fetch-Site: same-origin.
    for (origin, site) in [
        (ours.as_str(), Some("same-origin")),
        ("null", Some("same-origin")),
        (ours.as_str(), None),
    ] {
        let token = app.login_token().await;
        let mut request = plain
            .post(app.url("/discord/logout"))
            .header("cookie", format!("fastapiusersauth={token}"))
            .header("origin", origin);
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 302, "{origin} {site:?}");
        assert_eq!(me_status(&ours, &token).await, 401, "{origin} {site:?}");
    }

    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert_eq!(
        metric(
            &metrics,
            "guildhall_refusals_total{reason=\"csrf_origin_mismatch\"}"
        ),
        Some(20),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn logging_out_everywhere_ends_every_earlier_session() {
    let app = spawn_app(base_fixture()).await;
    let laptop = client();
    let phone = client();
    let on_laptop = login_in(&app, &laptop).await;
    let on_phone = login_in(&app, &phone).await;
    let id = user_id(&app, &on_laptop).await;
    // fastapi-users' token, issued ten seconds ago (exp - lifetime).
    let minted = pyjwt_token(id, chrono::Utc::now().timestamp() + 3600 - 10);
    let base = app.portal.url();
    for t in [&on_laptop, &on_phone, &minted] {
        assert_eq!(me_status(&base, t).await, 200);
    }

    // The button is on the pages that show Log out.
    let page = laptop.get(app.url("/discord/guilds")).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"action="/discord/logout-everywhere""#),
        "{html}"
    );

    let out = laptop
        .post(app.url("/discord/logout-everywhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 302);
    assert_eq!(location(&out), "/");
    assert!(
        set_cookies(&out)
            .iter()
            .any(|c| c.starts_with("fastapiusersauth=; HttpOnly; Max-Age=0"))
    );
    for (name, t) in [
        ("laptop", &on_laptop),
        ("phone", &on_phone),
        ("minted", &minted),
    ] {
        assert_eq!(me_status(&base, t).await, 401, "{name}");
    }
    let page = phone.get(app.url("/discord/guilds")).send().await.unwrap();
    assert_eq!(page.status(), 303, "the phone is sent to sign in");

    // Signing in again, even within the same second, works.
    let again = login_in(&app, &phone).await;
    assert_eq!(me_status(&base, &again).await, 200);

    // The API's revoke-all: 204, and every session before it ends.
    let other = login_in(&app, &client()).await;
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/auth/sessions/revoke-all"))
        .bearer_auth(&again)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(me_status(&base, &again).await, 401);
    assert_eq!(me_status(&base, &other).await, 401);
    let unauthenticated = reqwest::Client::new()
        .post(app.url("/api/v1/auth/sessions/revoke-all"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let spec: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    assert!(spec["paths"]["/api/v1/auth/sessions/revoke-all"]["post"].is_object());
    app.stop().await;
}
