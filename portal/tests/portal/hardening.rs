//! Smaller defences: the callback's `error` parameter, a token for
//! `/metrics`, HSTS behind TLS, the request timeout and body size limits.

use std::time::Duration;

use crate::common::*;
use discord_standin::Fault;
use serde_json::Value;

#[tokio::test]
async fn a_malformed_oauth_error_is_replaced_by_invalid_error() {
    let app = spawn_app(base_fixture()).await;
    let api = "/api/v1/auth/discord/cookie/callback?error=";
    for (sent, shown) in [
        ("access_denied", "access_denied"),
        ("access_denied%0D%0Afake%20log%20line", "invalid_error"),
        ("Access_Denied", "invalid_error"),
        ("", "invalid_error"),
        (&"a".repeat(65), "invalid_error"),
        (&"a".repeat(64), &"a".repeat(64)),
    ] {
        let r = app.get(&format!("{api}{sent}")).await;
        assert_eq!(r.status(), 400, "{sent}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body, serde_json::json!({ "detail": shown }), "{sent}");
    }
    let page = app
        .get("/discord/callback?error=%3Cb%3Ebold%3C%2Fb%3E")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("invalid_error") && !page.contains("bold"),
        "{page}"
    );
    app.stop().await;
}

#[tokio::test]
async fn metrics_need_the_bearer_token_when_one_is_set() {
    let token = "metrics-token-0123456789";
    let app = spawn_app_with(base_fixture(), |e| e.set("METRICS_TOKEN", token), |_| {}).await;
    let metrics = app.url("/metrics");
    for authorization in [
        None,
        Some("Bearer wrong".to_owned()),
        Some(format!("Bearer {token}x")),
        Some(format!("Basic {token}")),
        Some(token.to_owned()),
    ] {
        let mut request = app.client.get(&metrics);
        if let Some(a) = &authorization {
            request = request.header("authorization", a);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 401, "{authorization:?}");
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        let body = r.text().await.unwrap();
        assert!(!body.contains("guildhall_http_requests_total"), "{body}");
        assert!(!body.contains(token), "{body}");
    }
    let r = app
        .client
        .get(&metrics)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("guildhall_refusals_total{reason=\"metrics_unauthorized\"} 5"),
        "{text}"
    );
    app.stop().await;

    // Unset: open, as before (bind to 127.0.0.1 or firewall it).
    let app = spawn_app(base_fixture()).await;
    assert_eq!(app.get("/metrics").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn hsts_is_sent_when_cookies_are_secure() {
    let app = spawn_app_with(base_fixture(), |e| e.set("COOKIE_SECURE", "true"), |_| {}).await;
    for path in ["/healthz", "/", "/no-such-page", "/api/v1/users/me"] {
        let r = app.get(path).await;
        assert_eq!(
            r.headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap()),
            Some("max-age=63072000; includeSubDomains"),
            "{path}"
        );
    }
    app.stop().await;

    // Plain http (local runs): a browser would pin the name to https.
    let app = spawn_app(base_fixture()).await;
    let r = app.get("/healthz").await;
    assert!(r.headers().get("strict-transport-security").is_none());
    app.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413_on_every_route() {
    let app = spawn_app(base_fixture()).await;
    let big = vec![b'x'; 100 * 1024];
    let r = app
        .client
        .post(app.url("/api/v1/auth/cookie/logout"))
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"detail": "PAYLOAD_TOO_LARGE"}));

    let r = app
        .client
        .post(app.url("/discord/logout"))
        .header("origin", app.portal.url())
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert!(r.text().await.unwrap().contains("PAYLOAD_TOO_LARGE"));

    // GET routes too.
    let r = app
        .client
        .get(app.url("/healthz"))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    // A small body is fine.
    let r = app
        .client
        .post(app.url("/api/v1/auth/cookie/logout"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn a_request_that_outlives_the_timeout_gets_503() {
    let app = spawn_app_with(
        base_fixture(),
        |e| {
            e.set("REQUEST_TIMEOUT_SECONDS", "1");
            e.set("GUILD_CACHE_TTL_SECONDS", "0");
        },
        |_| {},
    )
    .await;
    app.login().await;
    // Discord answers after the portal's backstop, but inside the Discord
    // client's own timeout (3 s in tests): only the backstop can answer.
    app.standin.fault(
        "/users/@me/guilds",
        vec![
            Fault::Delay(Duration::from_millis(2500)),
            Fault::Delay(Duration::from_millis(2500)),
        ],
    );
    let r = app.get("/api/v1/discord/guilds").await;
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"detail": "REQUEST_TIMEOUT"}));
    let r = app.get("/discord/guilds").await;
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("REQUEST_TIMEOUT"));
    app.stop().await;
}
