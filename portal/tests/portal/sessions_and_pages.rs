//! Every bad session kind, the guild pages, the JSON guild list, security
//! headers, escaping, and the Discord failure paths (refresh, revocation,
//! rate limit, outage) as a browser and an API client see them.

use std::time::Duration;

use crate::common::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use discord_standin::Fault;
use hmac::{Hmac, Mac};
use serde_json::Value;

fn mint(header: &str, claims: &str, secret: &str) -> String {
    let h = URL_SAFE_NO_PAD.encode(header);
    let c = URL_SAFE_NO_PAD.encode(claims);
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{h}.{c}").as_bytes());
    format!(
        "{h}.{c}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

#[tokio::test]
async fn every_bad_session_is_401_for_the_api_and_a_login_redirect_for_pages() {
    let app = spawn_app(base_fixture()).await;
    let good = app.login_token().await;
    let me: Value = reqwest::Client::new()
        .get(app.url("/api/v1/users/me"))
        .bearer_auth(&good)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = me["id"].as_i64().unwrap();
    let exp = chrono::Utc::now().timestamp() + 600;

    // Minted exactly as fastapi-users would: accepted.
    let fastapi_users = mint(
        HS256,
        &format!(r#"{{"sub":"{id}","aud":["fastapi-users:auth"],"exp":{exp}}}"#),
        AUTH_SECRET,
    );
    let ok = reqwest::Client::new()
        .get(app.url("/api/v1/users/me"))
        .bearer_auth(&fastapi_users)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    let parts: Vec<&str> = good.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(format!(
            r#"{{"sub":"{}","aud":["fastapi-users:auth"],"exp":{exp}}}"#,
            id + 1
        )),
        parts[2]
    );
    let bad = [
        ("garbled", "garbled".to_owned()),
        ("tampered", tampered),
        (
            "alg none",
            format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
                URL_SAFE_NO_PAD.encode(format!(
                    r#"{{"sub":"{id}","aud":["fastapi-users:auth"],"exp":{exp}}}"#
                ))
            ),
        ),
        (
            "expired",
            mint(
                HS256,
                &format!(
                    r#"{{"sub":"{id}","aud":["fastapi-users:auth"],"exp":{}}}"#,
                    exp - 1200
                ),
                AUTH_SECRET,
            ),
        ),
        (
            "wrong audience",
            mint(
                HS256,
                &format!(r#"{{"sub":"{id}","aud":["other"],"exp":{exp}}}"#),
                AUTH_SECRET,
            ),
        ),
        (
            "unknown user",
            mint(
                HS256,
                &format!(r#"{{"sub":"999999","aud":["fastapi-users:auth"],"exp":{exp}}}"#),
                AUTH_SECRET,
            ),
        ),
        (
            "other secret",
            mint(
                HS256,
                &format!(r#"{{"sub":"{id}","aud":["fastapi-users:auth"],"exp":{exp}}}"#),
                "not-the-secret",
            ),
        ),
    ];
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (name, token) in &bad {
        let r = plain
            .get(app.url("/api/v1/users/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{name}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body,
            serde_json::json!({"detail": "Unauthorized"}),
            "{name}"
        );
        let page = plain
            .get(app.url("/discord/guilds/42"))
            .header("cookie", format!("fastapiusersauth={token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 303, "{name}");
        assert_eq!(location(&page), "/?next=%2Fdiscord%2Fguilds%2F42", "{name}");
    }
    let none = plain
        .get(app.url("/api/v1/discord/guilds"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);

    // Inactive user: refused once the session's cached row (USER_CACHE_TTL_SECONDS,
    // 2 s by default) has been read again.
    app.store().set_active(id as i32, false).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = plain
            .get(app.url("/api/v1/users/me"))
            .bearer_auth(&good)
            .send()
            .await
            .unwrap();
        if r.status() == 401 {
            break;
        }
        assert_eq!(r.status(), 200);
        assert!(
            std::time::Instant::now() < deadline,
            "an inactive user is still served"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // …and their next login is refused with fastapi-users' code.
    let callback = app.authorize("/discord/login").await;
    let r = app.client.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("LOGIN_BAD_CREDENTIALS") && html.contains("Account disabled"),
        "{html}"
    );
    app.stop().await;
}

#[tokio::test]
async fn guild_pages_show_actions_and_escape_names() {
    let mut fixture = base_fixture();
    fixture.users[0].guilds.push(discord_standin::FixtureGuild {
        id: "777000000000000001".into(),
        name: "<script>alert('pwned')</script> & co".into(),
        icon: None,
        owner: true,
        permissions: 0,
        features: vec![],
    });
    let app = spawn_app(fixture).await;
    app.login().await;
    let guilds: Value = app
        .get("/api/v1/discord/guilds")
        .await
        .json()
        .await
        .unwrap();
    let list = guilds["guilds"].as_array().unwrap();
    assert!(!list.is_empty());
    assert_eq!(guilds["stale"], false);

    // Put the bot in the first manageable guild, and check the ordering rule.
    let manageable: Vec<&Value> = list.iter().filter(|g| g["can_manage"] == true).collect();
    let with_bot = manageable[0]["id"].as_str().unwrap().to_owned();
    app.store()
        .bot_guilds_replace_shard(0, &[with_bot.parse().unwrap()])
        .await
        .unwrap();
    // Presence is re-read from the store within a couple of seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let guilds: Value = loop {
        let guilds: Value = app
            .get("/api/v1/discord/guilds")
            .await
            .json()
            .await
            .unwrap();
        let shown = guilds["guilds"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == with_bot.as_str() && g["bot_present"] == true);
        if shown {
            break guilds;
        }
        assert!(std::time::Instant::now() < deadline, "the bot never showed");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let list = guilds["guilds"].as_array().unwrap();
    let first = &list[0];
    assert_eq!(first["id"], with_bot.as_str());
    assert_eq!(first["bot_present"], true);
    assert!(first["invite_url"].is_null());
    let ranks: Vec<u8> = list
        .iter()
        .map(|g| {
            match (
                g["can_manage"].as_bool().unwrap(),
                g["bot_present"].as_bool().unwrap(),
            ) {
                (true, true) => 0,
                (true, false) => 1,
                _ => 2,
            }
        })
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    for g in list {
        let invite = g["invite_url"].as_str();
        if g["can_manage"] == true && g["bot_present"] == false {
            let invite = invite.unwrap();
            assert!(
                invite.contains("scope=bot+applications.commands")
                    || invite.contains("scope=bot%20applications.commands"),
                "{invite}"
            );
            assert!(invite.contains(&format!("guild_id={}", g["id"].as_str().unwrap())));
            assert!(invite.contains("disable_guild_select=true"));
        } else {
            assert!(invite.is_none());
        }
    }

    let page = app.get("/discord/guilds").await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains(&app.standin.cdn_url()),
        "{csp}"
    );
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    assert!(html.contains("&lt;script&gt;alert("), "escaped");
    assert!(!html.contains("<script>alert"), "never raw");
    assert!(
        html.contains(&format!("/discord/guilds/{with_bot}")),
        "Manage links to the guild page"
    );
    assert!(html.contains("Invite bot"));

    let one = app.get(&format!("/discord/guilds/{with_bot}")).await;
    assert_eq!(one.status(), 200);
    let html = one.text().await.unwrap();
    assert!(html.contains("Present in this server"));
    assert!(
        app.get("/discord/guilds/123456789").await.status() == 404,
        "not a member"
    );
    assert_eq!(app.get("/discord/guilds/not-a-number").await.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_once_for_concurrent_requests() {
    let mut fixture = base_fixture();
    fixture.access_token_lifetime = 30; // inside the 60 s refresh margin
    let app = spawn_app_with(fixture, |e| e.set("GUILD_CACHE_TTL_SECONDS", "0"), |_| {}).await;
    let token = app.login_token().await;
    // Refreshed tokens live a week: exactly one refresh is needed.
    app.standin
        .update_fixture(|f| f.access_token_lifetime = 604_800);
    let c = reqwest::Client::new();
    let calls = (0..10).map(|_| {
        c.get(app.url("/api/v1/discord/guilds"))
            .bearer_auth(&token)
            .send()
    });
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.unwrap().status(), 200);
    }
    let refreshes = app
        .standin
        .requests()
        .iter()
        .filter(|r| {
            r.path.ends_with("/oauth2/token") && r.body.contains("grant_type=refresh_token")
        })
        .count();
    assert_eq!(refreshes, 1);
    app.stop().await;
}

#[tokio::test]
async fn revoked_authorization_sends_the_browser_back_to_login() {
    let app = spawn_app_with(
        base_fixture(),
        |e| e.set("GUILD_CACHE_TTL_SECONDS", "0"),
        |_| {},
    )
    .await;
    let token = app.login_token().await;
    app.standin.revoke_all_tokens();
    let page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/discord/guilds"))
        .header("cookie", format!("fastapiusersauth={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    assert!(location(&page).starts_with("/?reauth=1"));
    assert!(
        set_cookies(&page)
            .iter()
            .any(|c| c.starts_with("fastapiusersauth=; HttpOnly; Max-Age=0"))
    );
    let api = reqwest::Client::new()
        .get(app.url("/api/v1/discord/guilds"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);
    let body: Value = api.json().await.unwrap();
    assert_eq!(body["detail"], "DISCORD_REAUTH_REQUIRED");
    app.stop().await;
}

#[tokio::test]
async fn rate_limited_without_cache_says_when_to_retry() {
    let app = spawn_app_with(
        base_fixture(),
        |e| e.set("GUILD_CACHE_TTL_SECONDS", "0"),
        |_| {},
    )
    .await;
    app.login().await;
    app.standin.fault(
        "/users/@me/guilds",
        vec![
            Fault::RateLimited {
                retry_after: 30.0,
                global: false
            };
            2
        ],
    );
    let api = app.get("/api/v1/discord/guilds").await;
    assert_eq!(api.status(), 429);
    assert_eq!(api.headers()["retry-after"], "30");
    let page = app.get("/discord/guilds").await;
    assert_eq!(page.status(), 429);
    let html = page.text().await.unwrap();
    assert!(html.contains("try again in 30 seconds"), "{html}");
    app.stop().await;
}

#[tokio::test]
async fn discord_down_serves_the_cached_list_marked_stale_else_502() {
    let app = spawn_app_with(
        base_fixture(),
        |_| {},
        |c| c.guilds.cache_ttl = Duration::from_nanos(1),
    )
    .await;
    app.login().await;
    let fresh: Value = app
        .get("/api/v1/discord/guilds")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fresh["stale"], false);
    app.standin
        .fault_always("/users/@me/guilds", Fault::Status(500));
    // The 1 ns TTL has passed: the old list is served at once while Discord
    // is asked in the background; once that has failed, it is marked stale.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let stale: Value = loop {
        let r = app.get("/api/v1/discord/guilds").await;
        assert_eq!(r.status(), 200);
        let list: Value = r.json().await.unwrap();
        if list["stale"] == true {
            break list;
        }
        assert!(std::time::Instant::now() < deadline, "never marked stale");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(stale["guilds"], fresh["guilds"]);
    let page = app.get("/discord/guilds").await.text().await.unwrap();
    assert!(page.contains("may be out of date"));

    // A user with no cached list gets a 502.
    let other = spawn_app_with(
        base_fixture(),
        |e| e.set("GUILD_CACHE_TTL_SECONDS", "0"),
        |_| {},
    )
    .await;
    other.login().await;
    other
        .standin
        .fault("/users/@me/guilds", vec![Fault::Status(502); 4]);
    assert_eq!(other.get("/api/v1/discord/guilds").await.status(), 502);
    let page = other.get("/discord/guilds").await;
    assert_eq!(page.status(), 502);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Discord is unavailable")
    );
    app.stop().await;
    other.stop().await;
}

#[tokio::test]
async fn openapi_describes_every_api_route_and_errors_are_json_or_html() {
    let app = spawn_app(base_fixture()).await;
    let spec: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    for path in [
        "/api/v1/auth/discord/cookie/authorize",
        "/api/v1/auth/discord/cookie/callback",
        "/api/v1/auth/cookie/logout",
        "/api/v1/users/me",
        "/api/v1/discord/guilds",
    ] {
        assert!(spec["paths"].get(path).is_some(), "{path}");
    }
    let api404 = app.get("/api/v1/nope").await;
    assert_eq!(api404.status(), 404);
    assert_eq!(api404.json::<Value>().await.unwrap()["detail"], "Not Found");
    let page404 = app.get("/nope").await;
    assert_eq!(page404.status(), 404);
    assert!(
        page404.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn metrics_count_logins_page_views_discord_calls_and_cache() {
    let app = spawn_app(base_fixture()).await;
    app.login().await;
    assert_eq!(app.get("/discord/guilds").await.status(), 200);
    assert_eq!(app.get("/discord/guilds").await.status(), 200);
    let guild = "1100000000000000101";
    assert_eq!(
        app.get(&format!("/discord/guilds/{guild}")).await.status(),
        200
    );
    let r = app.get("/metrics").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = r.text().await.unwrap();
    for line in [
        "guildhall_logins_total{outcome=\"register\"} 1",
        "guildhall_http_requests_total{route=\"/discord/guilds\",status=\"200\"} 2",
        "guildhall_http_requests_total{route=\"/discord/callback\",status=\"302\"} 1",
        "guildhall_discord_requests_total{route=\"POST /oauth2/token\",status=\"200\"} 1",
        "guildhall_discord_requests_total{route=\"GET /users/@me/guilds\",status=\"200\"} 1",
        "guildhall_guild_cache_total{result=\"hit\"} 2",
        "guildhall_guild_cache_total{result=\"miss\"} 1",
        "guildhall_http_request_duration_seconds_count{route=\"/discord/guilds\"} 2",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    // Guild ids never become label values: the route pattern does.
    assert!(!text.contains(guild), "{text}");
    assert!(text.contains(
        "guildhall_http_requests_total{route=\"/discord/guilds/{guild_id}\",status=\"200\"} 1"
    ));
    app.stop().await;
}

#[tokio::test]
async fn readyz_follows_the_database_and_every_answer_has_a_request_id() {
    let app = spawn_app(base_fixture()).await;
    let r = app.get("/healthz").await;
    let generated = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 16, "{generated}");
    assert!(generated.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(
        app.get("/healthz").await.headers()["x-request-id"],
        generated.as_str(),
        "a fresh id per request"
    );
    // A caller's id is kept (so a proxy's id follows the request), unless it
    // is unfit for a header or a log line.
    let plain = client();
    for (sent, kept) in [("edge-4f2a", true), (&"x".repeat(65)[..], false)] {
        let r = plain
            .get(app.url("/healthz"))
            .header("x-request-id", sent)
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["x-request-id"] == sent, kept, "{sent}");
    }

    assert_eq!(app.get("/readyz").await.status(), 200);
    app.store().close().await;
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 503);
    assert_eq!(app.get("/healthz").await.status(), 200, "alive, not ready");
    app.stop().await;
}
