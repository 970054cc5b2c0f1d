//! The browser login flow end to end against the stand-in Discord: every
//! callback refusal, replay, CSRF, open-redirect and the session cookie.

use crate::common::*;
use serde_json::Value;

#[tokio::test]
async fn login_sets_fastapi_users_cookie_and_lands_on_the_guild_overview() {
    let app = spawn_app(base_fixture()).await;
    let callback = app.authorize("/discord/login").await;
    assert!(
        callback.starts_with(&app.url("/discord/callback?")),
        "{callback}"
    );

    // The authorize URL asked for the right things, PKCE included.
    let authorize = app
        .standin
        .requests()
        .into_iter()
        .find(|r| r.path == "/oauth2/authorize")
        .unwrap();
    let q: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(authorize.query.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], app.url("/discord/callback"));
    assert_eq!(q["scope"], "identify email guilds");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);

    let done = app.client.get(&callback).send().await.unwrap();
    assert_eq!(done.status(), 302);
    assert_eq!(location(&done), "/discord/guilds");
    let cookies = set_cookies(&done);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("fastapiusersauth="))
        .unwrap();
    assert!(
        session.ends_with("; HttpOnly; Max-Age=3600; Path=/; SameSite=lax"),
        "{session}"
    );
    let csrf = cookies
        .iter()
        .find(|c| c.starts_with("fastapiusersoauthcsrf="))
        .unwrap();
    assert!(
        csrf.starts_with("fastapiusersoauthcsrf=; HttpOnly; Max-Age=0"),
        "the CSRF cookie is cleared: {csrf}"
    );
    assert_eq!(done.headers()["referrer-policy"], "no-referrer");

    // The PKCE verifier went to Discord's token endpoint, and nowhere else.
    let token_req = app
        .standin
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/oauth2/token"))
        .unwrap();
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(token_req.body.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(form["grant_type"], "authorization_code");
    assert!(form["code_verifier"].len() >= 43);
    assert!(!callback.contains(&form["code_verifier"]));

    let page = app.get("/discord/guilds").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Your servers"));

    let me: Value = app.get("/api/v1/users/me").await.json().await.unwrap();
    assert_eq!(me["email"], "demo@guildhall.example");
    assert_eq!(me["is_active"], true);
    assert_eq!(me["is_superuser"], false);
    assert_eq!(me["is_verified"], false);
    assert!(me["nickname"].is_string());
    assert!(
        me["profile_img"]
            .as_str()
            .unwrap()
            .starts_with(&app.standin.cdn_url())
    );
    let user = app
        .store()
        .user_by_id(me["id"].as_i64().unwrap() as i32)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.sns_type.as_deref(), Some("discord"));
    assert!(user.last_seen.is_some());
    app.stop().await;
}

#[tokio::test]
async fn next_is_followed_only_on_this_site() {
    let app = spawn_app(base_fixture()).await;
    assert_eq!(
        app.login_to("/discord/login?next=/discord/guilds/123")
            .await,
        "/discord/guilds/123"
    );
    for evil in [
        "//evil.example/x",
        "https://evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
    ] {
        let path = format!(
            "/discord/login?next={}",
            url::form_urlencoded::byte_serialize(evil.as_bytes()).collect::<String>()
        );
        assert_eq!(app.login_to(&path).await, "/discord/guilds", "{evil}");
    }
    app.stop().await;
}

async fn api_error(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    (
        status,
        body["detail"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn callback_refusals_happen_before_the_code_is_spent() {
    // More callbacks from one address than a login budget allows.
    let app = spawn_app_with(
        base_fixture(),
        |e| e.set("LOGIN_RATE_LIMIT_PER_MINUTE", "0"),
        |_| {},
    )
    .await;
    let callback = app.authorize("/discord/login").await;
    let api_callback =
        callback.replace("/discord/callback", "/api/v1/auth/discord/cookie/callback");
    let q: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(callback.split_once('?').unwrap().1.as_bytes())
            .into_owned()
            .collect();
    let code = &q["code"];

    // Consent denied: a friendly page, not a crash.
    let denied = app
        .get("/discord/callback?error=access_denied&error_description=The+user+said+no&state=x")
        .await;
    assert_eq!(denied.status(), 400);
    assert!(denied.text().await.unwrap().contains("Login cancelled"));
    let (s, d) = api_error(
        app.get("/api/v1/auth/discord/cookie/callback?error=access_denied")
            .await,
    )
    .await;
    assert_eq!((s, d.as_str()), (400, "access_denied"));

    // Missing code or state.
    assert_eq!(app.get("/discord/callback").await.status(), 400);
    assert_eq!(
        app.get(&format!("/discord/callback?code={code}"))
            .await
            .status(),
        400
    );

    // Garbage state, a state signed with another key, a session token as state.
    let (s, d) = api_error(
        app.get(&format!(
            "/api/v1/auth/discord/cookie/callback?code={code}&state=garbage"
        ))
        .await,
    )
    .await;
    assert_eq!((s, d.as_str()), (400, "ACCESS_TOKEN_DECODE_ERROR"));
    let session_as_state = portal::session::token::SessionTokens::new(
        &secret(AUTH_SECRET),
        std::time::Duration::from_secs(60),
    )
    .issue(1)
    .unwrap();
    let (s, d) = api_error(
        app.get(&format!(
            "/api/v1/auth/discord/cookie/callback?code={code}&state={}",
            session_as_state.expose()
        ))
        .await,
    )
    .await;
    assert_eq!(
        (s, d.as_str()),
        (400, "ACCESS_TOKEN_DECODE_ERROR"),
        "wrong audience is a 400, never a 500"
    );

    // Expired state.
    let expired = {
        #[derive(serde::Serialize)]
        struct C<'a> {
            csrftoken: &'a str,
            aud: &'a str,
            exp: i64,
        }
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &C {
                csrftoken: "x",
                aud: "fastapi-users:oauth-state",
                exp: chrono::Utc::now().timestamp() - 10,
            },
            &jsonwebtoken::EncodingKey::from_secret(AUTH_SECRET.as_bytes()),
        )
        .unwrap()
    };
    let (s, d) = api_error(
        app.get(&format!(
            "/api/v1/auth/discord/cookie/callback?code={code}&state={expired}"
        ))
        .await,
    )
    .await;
    assert_eq!((s, d.as_str()), (400, "ACCESS_TOKEN_ALREADY_EXPIRED"));

    // A valid state from a browser without the CSRF cookie (login CSRF).
    let stranger = client();
    let r = stranger.get(&api_callback).send().await.unwrap();
    let (s, d) = api_error(r).await;
    assert_eq!((s, d.as_str()), (400, "OAUTH_INVALID_STATE"));
    let r = stranger.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("OAUTH_INVALID_STATE"));

    assert_eq!(app.token_requests(), 0, "no refusal above spent the code");

    // The real browser completes, once.
    let ok = app.client.get(&callback).send().await.unwrap();
    assert_eq!(ok.status(), 302);
    assert_eq!(app.token_requests(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_replayed_callback_is_refused_even_with_the_cookies() {
    let app = spawn_app(base_fixture()).await;
    // Keep the login's cookies to replay them after the portal cleared them.
    let login = app.get("/discord/login").await;
    let csrftoken = cookie_value(&login, "fastapiusersoauthcsrf").unwrap();
    let verifier = cookie_value(&login, "guildhalloauthpkce").unwrap();
    let approved = app.client.get(location(&login)).send().await.unwrap();
    let callback = location(&approved);

    let first = app.client.get(&callback).send().await.unwrap();
    assert_eq!(first.status(), 302);
    let replay = reqwest::Client::new()
        .get(callback.replace("/discord/callback", "/api/v1/auth/discord/cookie/callback"))
        .header(
            "cookie",
            format!("fastapiusersoauthcsrf={csrftoken}; guildhalloauthpkce={verifier}"),
        )
        .send()
        .await
        .unwrap();
    let (s, d) = api_error(replay).await;
    assert_eq!((s, d.as_str()), (400, "OAUTH_INVALID_STATE"));
    assert_eq!(app.token_requests(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_verifier_cookie_from_another_login_is_refused_before_the_code_is_spent() {
    let app = spawn_app(base_fixture()).await;
    // The attacker starts a login of their own for its verifier cookie…
    let own = app.get("/api/v1/auth/discord/cookie/authorize").await;
    let attackers_verifier = cookie_value(&own, "guildhalloauthpkce").unwrap();
    // …and pairs it with the victim's callback and the CSRF token in it.
    let callback = app.authorize("/discord/login").await;
    let r = reqwest::Client::new()
        .get(callback.replace("/discord/callback", "/api/v1/auth/discord/cookie/callback"))
        .header(
            "cookie",
            format!(
                "fastapiusersoauthcsrf={}; guildhalloauthpkce={attackers_verifier}",
                csrftoken_in(&callback)
            ),
        )
        .send()
        .await
        .unwrap();
    let (s, d) = api_error(r).await;
    assert_eq!((s, d.as_str()), (400, "OAUTH_PKCE_VERIFIER_MISMATCH"));
    assert_eq!(app.token_requests(), 0);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("guildhall_refusals_total{reason=\"oauth_pkce_verifier_mismatch\"} 1"),
        "{metrics}"
    );
    // The victim's browser still finishes its own login.
    assert_eq!(
        app.client.get(&callback).send().await.unwrap().status(),
        302
    );
    app.stop().await;
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

#[tokio::test]
async fn the_api_flow_matches_fastapi_users() {
    let app = spawn_app(base_fixture()).await;
    let r = app
        .get("/api/v1/auth/discord/cookie/authorize?scopes=identify&scopes=email&scopes=guilds")
        .await;
    assert_eq!(r.status(), 200);
    let csrf = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("fastapiusersoauthcsrf="))
        .unwrap();
    assert!(
        csrf.contains("Max-Age=3600") && csrf.contains("HttpOnly") && csrf.contains("SameSite=lax")
    );
    let body: Value = r.json().await.unwrap();
    let url = body["authorization_url"].as_str().unwrap();
    assert!(url.starts_with(&app.standin.authorize_url()));
    assert!(
        url.contains("scope=identify+email+guilds")
            || url.contains("scope=identify%20email%20guilds"),
        "{url}"
    );
    assert!(
        url.contains(
            &url::form_urlencoded::byte_serialize(
                app.url("/api/v1/auth/discord/cookie/callback").as_bytes()
            )
            .collect::<String>()
        )
    );

    let approved = app.client.get(url).send().await.unwrap();
    let callback = location(&approved);
    let done = app.client.get(&callback).send().await.unwrap();
    assert_eq!(done.status(), 204);
    assert!(cookie_value(&done, "fastapiusersauth").is_some());

    let me = app.get("/api/v1/users/me").await;
    assert_eq!(me.status(), 200);
    let out = app
        .client
        .post(app.url("/api/v1/auth/cookie/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let cleared = set_cookies(&out)
        .into_iter()
        .find(|c| c.starts_with("fastapiusersauth="))
        .unwrap();
    assert!(
        cleared.starts_with("fastapiusersauth=; HttpOnly; Max-Age=0; Path=/; SameSite=lax"),
        "{cleared}"
    );
    let (s, d) = api_error(app.get("/api/v1/users/me").await).await;
    assert_eq!((s, d.as_str()), (401, "Unauthorized"));
    let again = app
        .client
        .post(app.url("/api/v1/auth/cookie/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 401, "logout without a session");
    app.stop().await;
}

#[tokio::test]
async fn browser_logout_clears_the_cookie_and_goes_home() {
    let app = spawn_app(base_fixture()).await;
    app.login().await;
    let out = app
        .client
        .post(app.url("/discord/logout"))
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
    let page = app.get("/discord/guilds").await;
    assert_eq!(page.status(), 303);
    assert_eq!(location(&page), "/?next=%2Fdiscord%2Fguilds");
    app.stop().await;
}

#[tokio::test]
async fn secure_cookies_by_default() {
    // The test environment says `false`; empty is unset, so this is the default.
    let app = spawn_app_with(base_fixture(), |e| e.set("COOKIE_SECURE", ""), |_| {}).await;
    let r = app.get("/discord/login").await;
    let csrf = set_cookies(&r).into_iter().next().unwrap();
    assert!(csrf.ends_with("; Secure"), "{csrf}");
    app.stop().await;
}

#[tokio::test]
async fn refused_logins_name_fastapi_users_codes_and_are_counted() {
    let app = spawn_app_with(
        base_fixture(),
        |e| e.set("ASSOCIATE_BY_EMAIL", "false"),
        |_| {},
    )
    .await;
    let refusal = |r: reqwest::Response| async move {
        let status = r.status();
        (status, r.text().await.unwrap())
    };

    // Discord has no verified email for this person.
    app.standin.add_user(
        discord_standin::FixtureUser::new("1500000000000000001", "unverified")
            .email("unverified@example.org", false),
    );
    app.standin
        .update_fixture(|f| f.default_user = Some("1500000000000000001".into()));
    let callback = app.authorize("/discord/login").await;
    let (status, html) = refusal(app.client.get(&callback).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert!(html.contains("OAUTH_NOT_AVAILABLE_EMAIL"), "{html}");

    // Someone already has this email, and the portal does not associate.
    app.store()
        .oauth_callback(store::OAuthCallback {
            oauth_name: "other-provider",
            access_token: &secret("at"),
            account_id: "elsewhere",
            account_email: "taken@example.org",
            expires_at: None,
            refresh_token: None,
            associate_by_email: store::AssociateByEmail::IfVerified,
            is_verified_by_default: false,
        })
        .await
        .unwrap();
    app.standin.add_user(
        discord_standin::FixtureUser::new("1500000000000000002", "newcomer")
            .email("Taken@Example.org", true),
    );
    app.standin
        .update_fixture(|f| f.default_user = Some("1500000000000000002".into()));
    let started: Value = app
        .get("/api/v1/auth/discord/cookie/authorize")
        .await
        .json()
        .await
        .unwrap();
    let url = started["authorization_url"].as_str().unwrap();
    let approved = app.client.get(url).send().await.unwrap();
    let r = app.client.get(location(&approved)).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"detail": "OAUTH_USER_ALREADY_EXISTS"})
    );

    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("guildhall_logins_total{outcome=\"refused\"} 2"),
        "{metrics}"
    );
    app.stop().await;
}

/// The `state` and the csrftoken inside it, read out of a callback URL as
/// anyone who sees that URL can (the state is signed, not encrypted).
fn csrftoken_in(callback: &str) -> String {
    let q: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(callback.split_once('?').unwrap().1.as_bytes())
            .into_owned()
            .collect();
    let claims: Value =
        serde_json::from_slice(&base64_decode(q["state"].split('.').nth(1).unwrap())).unwrap();
    claims["csrftoken"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_stolen_callback_url_without_the_browsers_verifier_is_refused_before_the_code_is_spent() {
    let app = spawn_app(base_fixture()).await;
    // The victim's login went to Discord and back; before the victim's
    // browser follows the callback, an attacker sees its URL (a proxy log,
    // a Referer, a shoulder) and sets the CSRF cookie from the state.
    for (path, page) in [
        ("/discord/callback", true),
        ("/api/v1/auth/discord/cookie/callback", false),
    ] {
        let callback = app
            .authorize("/discord/login")
            .await
            .replace("/discord/callback", path);
        let attacker = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = attacker
            .get(&callback)
            .header(
                "cookie",
                format!("fastapiusersoauthcsrf={}", csrftoken_in(&callback)),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{path}");
        assert!(
            cookie_value(&r, "fastapiusersauth").is_none(),
            "{path}: the attacker got a session"
        );
        let body = r.text().await.unwrap();
        if page {
            assert!(body.contains("<html"), "{body}");
        }
        assert!(
            body.contains("OAUTH_PKCE_VERIFIER_MISSING"),
            "{path}: {body}"
        );
        assert_eq!(app.token_requests(), 0, "{path}: the code was not spent");
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("guildhall_refusals_total{reason=\"oauth_pkce_verifier_missing\"} 2"),
        "{metrics}"
    );

    // The victim's own browser, which has the verifier, still signs in.
    let callback = app.authorize("/discord/login").await;
    let done = app.client.get(&callback).send().await.unwrap();
    assert_eq!(done.status(), 302);
    assert_eq!(app.token_requests(), 1);
    app.stop().await;
}

#[tokio::test]
async fn the_pkce_verifier_is_random_and_rides_in_its_own_cookie() {
    for secure in [false, true] {
        let app = spawn_app_with(
            base_fixture(),
            |e| e.set("COOKIE_SECURE", secure.to_string()),
            |_| {},
        )
        .await;
        for start in ["/discord/login", "/api/v1/auth/discord/cookie/authorize"] {
            let r = app.get(start).await;
            let cookie = set_cookies(&r)
                .into_iter()
                .find(|c| c.starts_with("guildhalloauthpkce="))
                .unwrap_or_else(|| panic!("{start}: no verifier cookie in {:?}", set_cookies(&r)));
            let expected = if secure {
                "; HttpOnly; Max-Age=3600; Path=/; SameSite=lax; Secure"
            } else {
                "; HttpOnly; Max-Age=3600; Path=/; SameSite=lax"
            };
            assert!(cookie.ends_with(expected), "{start}: {cookie}");
            let verifier = cookie_value(&r, "guildhalloauthpkce").unwrap();
            assert!((43..=128).contains(&verifier.len()), "{verifier}");
            let authorize_url = if start.starts_with("/api/") {
                let body: Value = r.json().await.unwrap();
                body["authorization_url"].as_str().unwrap().to_owned()
            } else {
                location(&r)
            };
            assert!(!authorize_url.contains(&verifier));
            let q: std::collections::HashMap<String, String> =
                url::form_urlencoded::parse(authorize_url.split_once('?').unwrap().1.as_bytes())
                    .into_owned()
                    .collect();
            assert_eq!(q["code_challenge"], discord::pkce::challenge(&verifier));
            // Nothing in the authorize URL derives it: the csrftoken is not it.
            assert_ne!(verifier, csrftoken_in(&authorize_url));
        }
        app.stop().await;
    }

    // The callback clears it with the same attributes.
    let app = spawn_app(base_fixture()).await;
    let callback = app.authorize("/discord/login").await;
    let done = app.client.get(&callback).send().await.unwrap();
    assert_eq!(done.status(), 302);
    assert!(
        set_cookies(&done)
            .iter()
            .any(|c| c == "guildhalloauthpkce=; HttpOnly; Max-Age=0; Path=/; SameSite=lax"),
        "{:?}",
        set_cookies(&done)
    );
    app.stop().await;
}
