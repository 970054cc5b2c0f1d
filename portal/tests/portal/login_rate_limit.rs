//! Login rate limits per client address: `/discord/login`, both callbacks and
//! the JSON authorize route share one budget per address; past it, 429 with
//! `Retry-After`, and neither Discord nor the database hears of the request.

use crate::common::*;
use serde_json::Value;

const LOGIN: &str = "/discord/login";
const AUTHORIZE: &str = "/api/v1/auth/discord/cookie/authorize";

async fn get_from(app: &TestApp, path: &str, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    if let Some(hops) = forwarded_for {
        request = request.header("x-forwarded-for", hops);
    }
    request.send().await.unwrap()
}

fn retry_after(r: &reqwest::Response) -> u64 {
    r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn past_the_burst_every_login_route_answers_429_without_calling_discord() {
    // A burst of 3, then one a minute: nothing comes back during the test.
    let app = spawn_app_with(
        base_fixture(),
        |e| {
            e.set("LOGIN_RATE_LIMIT_PER_MINUTE", "1");
            e.set("LOGIN_RATE_LIMIT_BURST", "3");
        },
        |_| {},
    )
    .await;
    // The login (1), then two more starts: the burst is spent.
    let callback = app.authorize(LOGIN).await;
    let api_callback =
        callback.replace("/discord/callback", "/api/v1/auth/discord/cookie/callback");
    // Another browser on the same address: its login cookies must not
    // replace the ones the callback above needs.
    let other = client();
    assert_eq!(
        other.get(app.url(LOGIN)).send().await.unwrap().status(),
        302
    );
    assert_eq!(
        other.get(app.url(AUTHORIZE)).send().await.unwrap().status(),
        200
    );

    // The browser login: a page saying when to come back.
    let limited = app.get(LOGIN).await;
    assert_eq!(limited.status(), 429);
    assert!(retry_after(&limited) >= 1);
    assert!(
        limited.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = limited.text().await.unwrap();
    assert!(html.contains("Too many sign-in attempts"), "{html}");
    assert!(html.contains("TOO_MANY_REQUESTS"), "{html}");

    // The API: JSON.
    for path in [app.url(AUTHORIZE), api_callback.clone()] {
        let r = app.client.get(&path).send().await.unwrap();
        assert_eq!(r.status(), 429, "{path}");
        assert!(retry_after(&r) >= 1);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body, serde_json::json!({"detail": "TOO_MANY_REQUESTS"}));
    }

    // The genuine callback is refused too, before its code is spent.
    let r = app.client.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(
        app.token_requests(),
        0,
        "no call to Discord's token endpoint"
    );

    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("guildhall_refusals_total{reason=\"login_rate_limited\"} 4"),
        "{metrics}"
    );

    // Nothing was written: no login state was recorded as used.
    assert_eq!(app.store().used_oauth_states_for_tests().await, Some(0));
    app.stop().await;
}

#[tokio::test]
async fn forwarded_for_counts_only_behind_a_trusted_proxy() {
    // The test client connects from 127.0.0.1: the "proxy".
    let app = spawn_app_with(
        base_fixture(),
        |e| {
            e.set("LOGIN_RATE_LIMIT_PER_MINUTE", "1");
            e.set("LOGIN_RATE_LIMIT_BURST", "2");
            e.set("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1/32");
        },
        |_| {},
    )
    .await;
    let alice = Some("203.0.113.5");
    for _ in 0..2 {
        assert_eq!(get_from(&app, LOGIN, alice).await.status(), 302);
    }
    assert_eq!(get_from(&app, LOGIN, alice).await.status(), 429);
    // Alice cannot pose as someone else: the right-most untrusted hop counts,
    // whatever she puts to its left; trusted hops (10.x) are skipped.
    let spoofed = Some("198.51.100.7, 203.0.113.5, 10.1.2.3");
    assert_eq!(get_from(&app, LOGIN, spoofed).await.status(), 429);
    // Bob behind the same proxy has his own budget.
    let bob = Some("198.51.100.7");
    assert_eq!(get_from(&app, LOGIN, bob).await.status(), 302);
    // An IPv6 client is limited by its /64.
    assert_eq!(
        get_from(&app, LOGIN, Some("2001:db8:1:2::1"))
            .await
            .status(),
        302
    );
    assert_eq!(
        get_from(&app, LOGIN, Some("2001:db8:1:2::2"))
            .await
            .status(),
        302
    );
    assert_eq!(
        get_from(&app, LOGIN, Some("2001:db8:1:2::3"))
            .await
            .status(),
        429
    );
    assert_eq!(
        get_from(&app, LOGIN, Some("2001:db8:1:3::1"))
            .await
            .status(),
        302
    );
    app.stop().await;

    // Without TRUSTED_PROXIES the header is the client's to write: ignored.
    let app = spawn_app_with(
        base_fixture(),
        |e| {
            e.set("LOGIN_RATE_LIMIT_PER_MINUTE", "1");
            e.set("LOGIN_RATE_LIMIT_BURST", "2");
        },
        |_| {},
    )
    .await;
    for n in 0..2 {
        let hop = format!("203.0.113.{n}");
        assert_eq!(get_from(&app, LOGIN, Some(&hop)).await.status(), 302);
    }
    let r = get_from(&app, LOGIN, Some("203.0.113.99")).await;
    assert_eq!(r.status(), 429);
    app.stop().await;
}

#[tokio::test]
async fn the_limit_is_generous_by_default_and_zero_turns_it_off() {
    let app = spawn_app(base_fixture()).await;
    for _ in 0..10 {
        assert_eq!(app.get(LOGIN).await.status(), 302);
    }
    // 20 a minute: a cell may come back while these run, not ten.
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(app.get(LOGIN).await.status().as_u16());
    }
    assert!(
        statuses.iter().filter(|s| **s == 429).count() >= 5,
        "{statuses:?}"
    );
    // Other routes are not limited.
    assert_eq!(app.get("/").await.status(), 200);
    assert_eq!(app.get("/healthz").await.status(), 200);
    app.stop().await;

    let app = spawn_app_with(
        base_fixture(),
        |e| e.set("LOGIN_RATE_LIMIT_PER_MINUTE", "0"),
        |_| {},
    )
    .await;
    for _ in 0..30 {
        assert_eq!(app.get(LOGIN).await.status(), 302);
    }
    app.stop().await;
}
