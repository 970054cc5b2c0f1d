//! The Discord client against the stand-in: OAuth2, users, guilds, rate
//! limits, server errors, timeouts — over real HTTP on 127.0.0.1.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use discord::{
    AuthorizeRequest, CallObserver, DiscordClient, DiscordConfig, DiscordError, OAuthToken, pkce,
};
use discord_standin::{Fault, Fixture, FixtureGuild, StandIn};
use settings::Secret;

const REDIRECT: &str = "http://127.0.0.1:1/callback";
const USER_AGENT: &str = concat!(
    "DiscordBot (https://github.com/guildhall/guildhall, ",
    env!("CARGO_PKG_VERSION"),
    ")"
);
/// `42:client-secret-value`, the fixture's application.
const CLIENT_BASIC: &str = "Basic NDI6Y2xpZW50LXNlY3JldC12YWx1ZQ==";
const NELLY: &str = "80351110224678912";

fn fixture() -> Fixture {
    let mut f = Fixture::demo();
    f.client_id = "42".into();
    f.client_secret = "client-secret-value".into();
    f.auto_approve = true;
    f
}

fn config_for(standin: &StandIn, tweak: impl FnOnce(&mut DiscordConfig)) -> DiscordConfig {
    let mut c = DiscordConfig::new("42", Secret::new("client-secret-value"));
    c.api_url = standin.api_url();
    c.authorize_url = standin.authorize_url();
    c.cdn_url = standin.cdn_url();
    c.max_rate_limit_wait = Duration::from_secs(2);
    tweak(&mut c);
    c
}

fn client_for(standin: &StandIn, tweak: impl FnOnce(&mut DiscordConfig)) -> DiscordClient {
    DiscordClient::new(config_for(standin, tweak)).unwrap()
}

/// A refresh token the stand-in has issued to the fixture's user.
fn refresh_token(standin: &StandIn) -> Secret {
    Secret::new(standin.issue_tokens_for(NELLY, &["identify"]).1)
}

/// Authorize (auto-approved) and return the code from the redirect.
async fn code(client: &DiscordClient, challenge: Option<&str>) -> String {
    let url = client.authorize_url(&AuthorizeRequest {
        redirect_uri: REDIRECT,
        scopes: &["identify", "email", "guilds"],
        state: "s",
        code_challenge: challenge,
        prompt: None,
    });
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let q: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(location.split_once('?').unwrap().1.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(q["state"], "s");
    q["code"].clone()
}

async fn login(client: &DiscordClient) -> OAuthToken {
    let c = code(client, None).await;
    client.exchange_code(&c, REDIRECT, None).await.unwrap()
}

#[tokio::test]
async fn code_exchange_with_and_without_pkce() {
    let standin = StandIn::start(fixture()).await.unwrap();
    let client = client_for(&standin, |_| {});
    let before = chrono::Utc::now().timestamp();
    let token = login(&client).await;
    assert_eq!(token.token_type, "Bearer");
    assert_eq!(token.scope, "identify email guilds");
    let exp = token.expires_at.unwrap();
    assert!(exp >= before + 604_800 && exp <= chrono::Utc::now().timestamp() + 604_800);

    let req = standin
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/v10/oauth2/token")
        .unwrap();
    assert!(req.header("authorization").unwrap().starts_with("Basic "));
    assert_eq!(
        req.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert!(
        req.header("user-agent")
            .unwrap()
            .starts_with("DiscordBot (")
    );
    assert!(req.body.contains("grant_type=authorization_code"));

    // Codes are single-use.
    let c = code(&client, None).await;
    client.exchange_code(&c, REDIRECT, None).await.unwrap();
    let again = client.exchange_code(&c, REDIRECT, None).await.unwrap_err();
    assert!(
        matches!(again, DiscordError::InvalidGrant { .. }),
        "{again:?}"
    );

    let verifier = pkce::new_verifier();
    let c = code(&client, Some(&pkce::challenge(&verifier))).await;
    let wrong = client
        .exchange_code(&c, REDIRECT, Some(&pkce::new_verifier()))
        .await
        .unwrap_err();
    assert!(
        matches!(wrong, DiscordError::InvalidGrant { .. }),
        "{wrong:?}"
    );
    let c = code(&client, Some(&pkce::challenge(&verifier))).await;
    let short = client
        .exchange_code(&c, REDIRECT, Some("too-short"))
        .await
        .unwrap_err();
    assert!(
        matches!(short, DiscordError::OAuth { ref error, .. } if error == "invalid_request"),
        "{short:?}"
    );
    let c = code(&client, Some(&pkce::challenge(&verifier))).await;
    client
        .exchange_code(&c, REDIRECT, Some(&verifier))
        .await
        .unwrap();
}

#[tokio::test]
async fn refresh_rotates_and_revoke_ends_the_authorization() {
    let standin = StandIn::start(fixture()).await.unwrap();
    let client = client_for(&standin, |_| {});
    let first = login(&client).await;
    let old_refresh = first.refresh_token.clone().unwrap();
    let second = client.refresh_token(&old_refresh).await.unwrap();
    assert_ne!(second.access_token, first.access_token);
    let reused = client.refresh_token(&old_refresh).await.unwrap_err();
    assert!(
        matches!(reused, DiscordError::InvalidGrant { .. }),
        "single-use: {reused:?}"
    );
    client.current_user(&second.access_token).await.unwrap();

    client.revoke_token(&second.access_token).await.unwrap();
    let revoke = &standin.requests_to("/api/v10/oauth2/token/revoke")[0];
    assert_eq!(revoke.form()["token"], second.access_token.expose());
    assert_eq!(
        revoke.header("authorization"),
        Some("Basic NDI6Y2xpZW50LXNlY3JldC12YWx1ZQ==") // 42:client-secret-value
    );
    let refresh = &standin.requests_to("/api/v10/oauth2/token")[1];
    assert_eq!(refresh.form()["grant_type"], "refresh_token");
    assert_eq!(refresh.form()["refresh_token"], old_refresh.expose());
    let gone = client.current_user(&second.access_token).await.unwrap_err();
    assert!(matches!(gone, DiscordError::Unauthorized), "{gone:?}");
    let refresh_gone = client
        .refresh_token(second.refresh_token.as_ref().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(refresh_gone, DiscordError::InvalidGrant { .. }));
    // 401s are never retried.
    let me_calls = standin
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v10/users/@me" && r.status == 401)
        .count();
    assert_eq!(me_calls, 1);
}

#[tokio::test]
async fn id_email_only_when_verified_and_profile_urls() {
    let standin = StandIn::start(fixture()).await.unwrap();
    let client = client_for(&standin, |_| {});
    let token = login(&client).await;
    let (id, email) = client.get_id_email(&token.access_token).await.unwrap();
    assert_eq!(id, "80351110224678912");
    assert_eq!(email.as_deref(), Some("demo@guildhall.example"));
    let me = client.current_user(&token.access_token).await.unwrap();
    assert_eq!(me.display_name(), "Nelly the Admin");
    assert_eq!(
        me.avatar_url("https://cdn.discordapp.com"),
        "https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png"
    );

    standin.update_fixture(|f| {
        f.users[0].verified = false;
        f.users[0].avatar = None;
        f.users[0].global_name = None;
    });
    let (_, email) = client.get_id_email(&token.access_token).await.unwrap();
    assert_eq!(email, None, "unverified email is not returned");
    let me = client.current_user(&token.access_token).await.unwrap();
    assert_eq!(me.display_name(), "nelly");
    assert_eq!(
        me.avatar_url("https://cdn.discordapp.com"),
        "https://cdn.discordapp.com/embed/avatars/5.png"
    );

    // And the stand-in's CDN serves a real picture there.
    let png = reqwest::get(me.avatar_url(&standin.cdn_url()))
        .await
        .unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    assert!(png.bytes().await.unwrap().starts_with(b"\x89PNG"));
}

#[tokio::test]
async fn guild_pagination_over_450_guilds() {
    let mut f = fixture();
    f.users[0].guilds = (0..450u64)
        .map(|i| FixtureGuild {
            id: (900_000_000_000_000_000 + i * 7).to_string(),
            name: format!("Guild {i}"),
            icon: (i % 2 == 0).then(|| format!("a_{i:032x}")),
            owner: i == 3,
            permissions: if i % 3 == 0 { 2_251_799_813_685_247 } else { 0 },
            features: vec![],
        })
        .collect();
    let standin = StandIn::start(f).await.unwrap();
    let client = client_for(&standin, |_| {});
    let token = login(&client).await;
    let guilds = client
        .current_user_guilds(&token.access_token)
        .await
        .unwrap();
    assert_eq!(guilds.len(), 450);
    assert!(guilds.windows(2).all(|w| w[0].id < w[1].id));
    let pages: Vec<String> = standin
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v10/users/@me/guilds")
        .map(|r| r.query.clone())
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert_eq!(pages[0], "limit=200");
    assert_eq!(pages[1], format!("limit=200&after={}", guilds[199].id));
    assert_eq!(guilds[0].permissions.bits(), 2_251_799_813_685_247);
    assert!(discord::can_manage(false, guilds[0].permissions));
    assert!(!discord::can_manage(false, guilds[1].permissions));
    assert!(
        guilds[0]
            .icon_url("https://cdn.discordapp.com")
            .unwrap()
            .ends_with(".gif")
    );
    assert_eq!(guilds[1].icon_url("https://cdn.discordapp.com"), None);
}

#[tokio::test]
async fn a_429_is_waited_out_and_a_long_one_is_returned() {
    let standin = StandIn::start(fixture()).await.unwrap();
    let client = client_for(&standin, |_| {});
    let token = login(&client).await;
    standin.fault(
        "/users/@me",
        vec![Fault::RateLimited {
            retry_after: 0.3,
            global: false,
        }],
    );
    client.current_user(&token.access_token).await.unwrap();
    let calls: Vec<_> = standin
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v10/users/@me")
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].status, 429);
    assert!(calls[1].at.duration_since(calls[0].at) >= Duration::from_millis(300));

    standin.fault(
        "/users/@me",
        vec![Fault::RateLimited {
            retry_after: 30.0,
            global: false,
        }],
    );
    let started = Instant::now();
    let err = client.current_user(&token.access_token).await.unwrap_err();
    match err {
        DiscordError::RateLimited { retry_after } => {
            assert_eq!(retry_after, Duration::from_secs(30))
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10), "no 30 s wait");
    // The bucket is now known to be empty: the next call fails fast without
    // calling Discord at all (no invalid requests towards a Cloudflare ban).
    let before = standin.requests().len();
    assert!(matches!(
        client.current_user(&token.access_token).await,
        Err(DiscordError::RateLimited { .. })
    ));
    assert_eq!(standin.requests().len(), before);
}

#[tokio::test]
async fn cloudflares_429_is_read_from_its_retry_after_header() {
    let standin = StandIn::start(fixture()).await.unwrap();
    let client = client_for(&standin, |_| {});
    let token = login(&client).await;
    // An HTML page, no JSON body and no rate-limit headers: only
    // `Retry-After` says how long (the client's own fallback is 1 s).
    standin.fault(
        "/users/@me/guilds",
        vec![Fault::EdgeRateLimited {
            retry_after_secs: 60,
        }],
    );
    match client.current_user_guilds(&token.access_token).await {
        Err(DiscordError::RateLimited { retry_after }) => {
            assert_eq!(retry_after, Duration::from_secs(60))
        }
        other => panic!("{other:?}"),
    }
    let calls = standin.requests_to("/api/v10/users/@me/guilds");
    assert_eq!(calls.len(), 1, "beyond the wait bound: not retried");
    assert_eq!(calls[0].status, 429);
}

#[tokio::test]
async fn a_global_429_pauses_a_concurrent_call_on_another_route_and_token() {
    let standin = StandIn::start(fixture()).await.unwrap();
    let client = client_for(&standin, |_| {});
    let a = login(&client).await;
    let b = login(&client).await;
    standin.clear_requests();
    standin.fault(
        "/users/@me",
        vec![Fault::RateLimited {
            retry_after: 0.5,
            global: true,
        }],
    );
    let first_client = client.clone();
    let first = tokio::spawn(async move { first_client.current_user(&a.access_token).await });
    // Wait (by polling a condition, not by guessing a duration) until the
    // client has received the global 429; then start a call elsewhere.
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.global_pause().is_none() {
        assert!(Instant::now() < deadline, "no global 429 seen");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    client.current_user_guilds(&b.access_token).await.unwrap();
    first.await.unwrap().unwrap();

    let me = standin.requests_to("/api/v10/users/@me");
    assert_eq!(me.len(), 2);
    assert_eq!(me[0].status, 429);
    let pause = Duration::from_millis(500);
    assert!(me[1].at.duration_since(me[0].at) >= pause);
    let guilds = standin.requests_to("/api/v10/users/@me/guilds");
    assert_eq!(guilds.len(), 1);
    assert!(
        guilds[0].at.duration_since(me[0].at) >= pause,
        "another token on another route waited out the global limit too"
    );
}

#[tokio::test]
async fn an_empty_bucket_delays_the_next_call_on_it() {
    let standin = StandIn::start(fixture()).await.unwrap();
    let client = client_for(&standin, |_| {});
    let token = login(&client).await;
    standin.clear_requests();
    standin.fault(
        "/users/@me",
        vec![Fault::BucketExhausted { reset_after: 0.4 }],
    );
    client.current_user(&token.access_token).await.unwrap();
    client.current_user(&token.access_token).await.unwrap();
    let me = standin.requests_to("/api/v10/users/@me");
    assert_eq!(me.len(), 2);
    assert_eq!(me[0].status, 200);
    assert!(me[1].at.duration_since(me[0].at) >= Duration::from_millis(400));
}

#[tokio::test]
async fn missing_scope_is_a_typed_api_error_and_wire_format_matches_discord() {
    let standin = StandIn::start(fixture()).await.unwrap();
    let client = client_for(&standin, |_| {});
    let (access, _) = standin.issue_tokens_for("80351110224678912", &["identify"]);
    let access = Secret::new(access);
    let err = client.current_user_guilds(&access).await.unwrap_err();
    assert!(
        matches!(
            err,
            DiscordError::Api {
                status: 403,
                code: 50001,
                ..
            }
        ),
        "{err:?}"
    );
    // A 403 is final: asking again only counts towards Cloudflare's
    // invalid-request ban.
    assert_eq!(
        standin.requests_to("/api/v10/users/@me/guilds").len(),
        1,
        "not retried"
    );
    // identify without email: no email at all.
    let (id, email) = client.get_id_email(&access).await.unwrap();
    assert_eq!((id.as_str(), email), ("80351110224678912", None));

    let me = standin.requests_to("/api/v10/users/@me");
    let r = &me[0];
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {}", access.expose()).as_str())
    );
    assert_eq!(r.header("user-agent"), Some(USER_AGENT));
    assert_eq!(r.header("accept"), Some("application/json"));
}

#[test]
fn authorize_and_bot_invite_urls() {
    let client = DiscordClient::new(DiscordConfig::new("42", Secret::new("s"))).unwrap();
    let url = client.authorize_url(&AuthorizeRequest {
        redirect_uri: "https://app.example/cb?x=1",
        scopes: &["identify", "email", "guilds"],
        state: "st&ate",
        code_challenge: Some("chal"),
        prompt: Some("none"),
    });
    let (base, query) = url.split_once('?').unwrap();
    assert_eq!(base, "https://discord.com/oauth2/authorize");
    let q: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("response_type"), Some("code"));
    assert_eq!(get("client_id"), Some("42"));
    assert_eq!(get("redirect_uri"), Some("https://app.example/cb?x=1"));
    assert_eq!(get("scope"), Some("identify email guilds"));
    assert_eq!(get("state"), Some("st&ate"));
    assert_eq!(get("code_challenge"), Some("chal"));
    assert_eq!(get("code_challenge_method"), Some("S256"));
    assert_eq!(get("prompt"), Some("none"));

    let plain = client.authorize_url(&AuthorizeRequest {
        redirect_uri: "https://app.example/cb",
        scopes: &["identify"],
        state: "s",
        code_challenge: None,
        prompt: None,
    });
    assert!(!plain.contains("code_challenge") && !plain.contains("prompt"));

    assert_eq!(
        client.bot_invite_url(discord::GuildId::new(123), 8),
        "https://discord.com/oauth2/authorize?client_id=42&scope=bot+applications.commands\
         &permissions=8&guild_id=123&disable_guild_select=true&integration_type=0"
    );
}

#[tokio::test]
async fn server_errors_malformed_json_and_timeouts_are_typed() {
    let standin = StandIn::start(fixture()).await.unwrap();
    let client = client_for(&standin, |c| c.request_timeout = Duration::from_millis(500));
    let token = login(&client).await;

    standin.fault("/users/@me", vec![Fault::Status(502)]);
    client.current_user(&token.access_token).await.unwrap();
    standin.fault("/users/@me", vec![Fault::Status(500), Fault::Status(503)]);
    let err = client.current_user(&token.access_token).await.unwrap_err();
    assert!(
        matches!(err, DiscordError::Server { status: 503 }),
        "one retry, then typed: {err:?}"
    );

    standin.fault("/users/@me", vec![Fault::MalformedJson]);
    assert!(matches!(
        client.current_user(&token.access_token).await,
        Err(DiscordError::Decode(_))
    ));

    standin.fault("/users/@me", vec![Fault::Delay(Duration::from_secs(5))]);
    let started = Instant::now();
    let err = client.current_user(&token.access_token).await.unwrap_err();
    assert!(matches!(err, DiscordError::Timeout), "{err:?}");
    // The bound is the timeout plus a margin for a loaded 2-core CI machine.
    assert!(started.elapsed() < Duration::from_millis(500) + Duration::from_secs(2));

    standin.fault("/users/@me", vec![Fault::Unauthorized]);
    assert!(matches!(
        client.current_user(&token.access_token).await,
        Err(DiscordError::Unauthorized)
    ));
    // A refused token is not sent again, on any route: invalid requests count
    // towards Cloudflare's IP ban.
    let before = standin.requests().len();
    assert!(matches!(
        client.current_user_guilds(&token.access_token).await,
        Err(DiscordError::Unauthorized)
    ));
    assert_eq!(standin.requests().len(), before);
}

#[tokio::test]
async fn secrets_never_print() {
    let standin = StandIn::start(fixture()).await.unwrap();
    let client = client_for(&standin, |_| {});
    let token = login(&client).await;
    let printed = format!("{token:?} {:?} {client:?}", client.config());
    assert!(!printed.contains(token.access_token.expose()));
    assert!(!printed.contains(token.refresh_token.as_ref().unwrap().expose()));
    assert!(!printed.contains("client-secret-value"));
    let err = client
        .refresh_token(&Secret::new("refresh-secret-xyz"))
        .await
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("refresh-secret-xyz"));
}

#[tokio::test]
async fn oauth2_requests_go_through_the_call_path() {
    let standin = StandIn::start(fixture()).await.unwrap();
    let seen: Arc<Mutex<Vec<(&'static str, u16)>>> = Arc::default();
    let observer: CallObserver = {
        let seen = seen.clone();
        Arc::new(move |route, status| seen.lock().unwrap().push((route, status)))
    };
    let client =
        DiscordClient::with_observer(config_for(&standin, |_| {}), Some(observer)).unwrap();
    let refresh = refresh_token(&standin);
    // On another worker thread: the portal's handlers need these futures Send.
    let spawned = client.clone();
    let token = tokio::spawn(async move { spawned.refresh_token(&refresh).await })
        .await
        .unwrap()
        .unwrap();
    client.revoke_token(&token.access_token).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            ("POST /oauth2/token", 200),
            ("POST /oauth2/token/revoke", 200)
        ]
    );

    let r = &standin.requests_to("/api/v10/oauth2/token")[0];
    assert_eq!(r.header("user-agent"), Some(USER_AGENT));
    assert_eq!(r.header("authorization"), Some(CLIENT_BASIC));
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let accept: Vec<_> = r.headers.iter().filter(|(k, _)| k == "accept").collect();
    assert_eq!(accept, [&("accept".into(), "application/json".into())]);
    assert_eq!(r.form()["grant_type"], "refresh_token");
}

#[tokio::test]
async fn a_429_on_the_token_endpoint_is_waited_out_through_the_limiter() {
    let standin = StandIn::start(fixture()).await.unwrap();
    let client = client_for(&standin, |_| {});
    standin.fault(
        "/oauth2/token",
        vec![Fault::RateLimited {
            retry_after: 0.3,
            global: false,
        }],
    );
    client
        .refresh_token(&refresh_token(&standin))
        .await
        .unwrap();
    let calls = standin.requests_to("/api/v10/oauth2/token");
    assert_eq!(calls.len(), 2);
    assert_eq!((calls[0].status, calls[1].status), (429, 200));
    assert!(calls[1].at.duration_since(calls[0].at) >= Duration::from_millis(300));

    standin.fault(
        "/oauth2/token",
        vec![Fault::RateLimited {
            retry_after: 30.0,
            global: false,
        }],
    );
    match client.refresh_token(&refresh_token(&standin)).await {
        Err(DiscordError::RateLimited { retry_after }) => {
            assert_eq!(retry_after, Duration::from_secs(30))
        }
        other => panic!("{other:?}"),
    }
    // The limiter now knows the endpoint's bucket is empty: a code exchange
    // (the same endpoint) fails at once without calling Discord.
    let before = standin.requests().len();
    let err = client
        .exchange_code("any-code", REDIRECT, None)
        .await
        .unwrap_err();
    assert!(matches!(err, DiscordError::RateLimited { .. }), "{err:?}");
    assert_eq!(standin.requests().len(), before);
}

#[tokio::test]
async fn token_endpoint_failures_keep_their_types() {
    use std::error::Error;

    let standin = StandIn::start(fixture()).await.unwrap();
    let client = client_for(&standin, |c| c.request_timeout = Duration::from_millis(500));

    let wrong = client_for(&standin, |c| c.client_secret = Secret::new("wrong"));
    for err in [
        wrong
            .refresh_token(&refresh_token(&standin))
            .await
            .unwrap_err(),
        wrong
            .exchange_code("any-code", REDIRECT, None)
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(err, DiscordError::OAuth { ref error, ref description }
                if error == "invalid_client" && description == "Client authentication failed."),
            "{err:?}"
        );
    }

    standin.fault("/oauth2/token", vec![Fault::Unauthorized]);
    let err = client.refresh_token(&refresh_token(&standin)).await;
    assert!(matches!(err, Err(DiscordError::Unauthorized)), "{err:?}");

    standin.fault("/oauth2/token", vec![Fault::MalformedJson]);
    let err = client
        .refresh_token(&refresh_token(&standin))
        .await
        .unwrap_err();
    assert!(matches!(err, DiscordError::Decode(_)), "{err:?}");
    assert!(err.source().is_some_and(|s| s.is::<serde_json::Error>()));

    // A token call is never sent twice (the code or refresh token may have
    // been spent by the call that failed): the 5xx is the answer.
    let token = refresh_token(&standin);
    standin.clear_requests();
    standin.fault("/oauth2/token", vec![Fault::Status(502)]);
    let err = client.refresh_token(&token).await;
    assert!(
        matches!(err, Err(DiscordError::Server { status: 502 })),
        "{err:?}"
    );
    assert_eq!(standin.requests_to("/api/v10/oauth2/token").len(), 1);
    client.refresh_token(&token).await.unwrap();

    standin.fault("/oauth2/token", vec![Fault::Delay(Duration::from_secs(5))]);
    let err = client.refresh_token(&refresh_token(&standin)).await;
    assert!(matches!(err, Err(DiscordError::Timeout)), "{err:?}");

    // Nothing listens on a port just given back.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let nowhere = client_for(&standin, |c| c.api_url = format!("http://{closed}/api/v10"));
    let err = nowhere
        .refresh_token(&Secret::new("refresh-secret-xyz"))
        .await
        .unwrap_err();
    assert!(matches!(err, DiscordError::Connect(_)), "{err:?}");
    let cause = err.source().unwrap().to_string();
    assert!(!cause.contains("oauth2/token"), "no URL: {cause}");
    assert!(!format!("{err:?}").contains("refresh-secret-xyz"));
}

fn guild_calls(standin: &StandIn) -> usize {
    standin.requests_to("/api/v10/users/@me/guilds").len()
}

/// The route's circuit opens after `failures` consecutive 5xx (whoever's
/// calls they were), refuses everyone at once while open, lets one probe
/// through after the cool-down and closes when it succeeds. Counted at the
/// stand-in, not timed.
#[tokio::test]
async fn a_failing_route_opens_its_circuit_for_everyone_until_a_probe_succeeds() {
    let standin = StandIn::start(fixture()).await.unwrap();
    let client = client_for(&standin, |c| {
        c.breaker = discord::BreakerConfig {
            failures: 4,
            cool_down: Duration::from_millis(300),
        }
    });
    let alice = login(&client).await.access_token;
    let bob = Secret::new(standin.issue_tokens_for(NELLY, &["guilds"]).0);
    standin.fault_always("/users/@me/guilds", Fault::Status(500));

    // The first failure is retried once; the route is failing from then on,
    // so the next calls are not.
    for (token, calls_after) in [(&alice, 2), (&bob, 3), (&alice, 4)] {
        let e = client.current_user_guilds(token).await.unwrap_err();
        assert!(matches!(e, DiscordError::Server { status: 500 }), "{e:?}");
        assert_eq!(guild_calls(&standin), calls_after);
    }
    for token in [&alice, &bob] {
        let e = client.current_user_guilds(token).await.unwrap_err();
        assert!(matches!(e, DiscordError::Suspended { .. }), "{e:?}");
    }
    assert_eq!(guild_calls(&standin), 4, "refused without a call");
    // Other routes still go through.
    client.current_user(&alice).await.unwrap();
    let health = client.route_health();
    let guilds = health
        .iter()
        .find(|h| h.route == "GET /users/@me/guilds")
        .unwrap();
    assert!(guilds.open && guilds.refused == 2 && guilds.opened == 1);
    assert!(
        health
            .iter()
            .any(|h| h.route == "GET /users/@me" && !h.open)
    );

    // After the cool-down one probe is let through; it fails: open again.
    let deadline = Instant::now() + Duration::from_secs(10);
    while guild_calls(&standin) == 4 {
        assert!(Instant::now() < deadline, "no probe after the cool-down");
        let _ = client.current_user_guilds(&bob).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(guild_calls(&standin), 5, "one probe, no retry");
    assert!(matches!(
        client.current_user_guilds(&bob).await,
        Err(DiscordError::Suspended { .. })
    ));

    // Discord recovers: the next probe succeeds and closes the circuit.
    standin.clear_faults();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match client.current_user_guilds(&alice).await {
            Ok(_) => break,
            Err(DiscordError::Suspended { .. }) => {}
            Err(e) => panic!("{e:?}"),
        }
        assert!(Instant::now() < deadline, "the circuit never closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(guild_calls(&standin), 6);
    client.current_user_guilds(&bob).await.unwrap();
    assert!(client.route_health().iter().all(|h| !h.open));
}

/// Rate limits of every scope, Cloudflare's included, are not outages.
#[tokio::test]
async fn rate_limits_and_bad_answers_do_not_open_the_circuit() {
    let standin = StandIn::start(fixture()).await.unwrap();
    let client = client_for(&standin, |c| {
        c.max_rate_limit_wait = Duration::ZERO;
        c.breaker = discord::BreakerConfig {
            failures: 1,
            cool_down: Duration::from_secs(600),
        }
    });
    let token = login(&client).await.access_token;
    let faults = [
        Fault::RateLimited {
            retry_after: 0.0,
            global: false,
        },
        Fault::SharedRateLimited { retry_after: 0.0 },
        Fault::EdgeRateLimited {
            retry_after_secs: 0,
        },
        Fault::MalformedJson,
    ];
    for fault in faults {
        standin.fault("/users/@me", vec![fault.clone()]);
        let r = client.current_user(&token).await;
        assert!(
            !matches!(
                r,
                Err(DiscordError::Suspended { .. }) | Err(DiscordError::Server { .. })
            ),
            "{fault:?}: {r:?}"
        );
    }
    client.current_user(&token).await.unwrap();
    assert!(client.route_health().iter().all(|h| !h.open));
    // One 5xx with a threshold of 1 does open it (and is not retried).
    standin.fault("/users/@me", vec![Fault::Status(503)]);
    let before = standin.requests_to("/api/v10/users/@me").len();
    assert!(matches!(
        client.current_user(&token).await,
        Err(DiscordError::Server { status: 503 })
    ));
    assert_eq!(standin.requests_to("/api/v10/users/@me").len(), before + 1);
    assert!(matches!(
        client.current_user(&token).await,
        Err(DiscordError::Suspended { .. })
    ));
}

#[tokio::test]
async fn the_shared_scope_is_on_the_429_and_a_closed_port_is_a_connect_error() {
    let mut standin = StandIn::start(fixture()).await.unwrap();
    let client = client_for(&standin, |c| c.max_rate_limit_wait = Duration::ZERO);
    let token = login(&client).await.access_token;
    standin.fault(
        "/users/@me",
        vec![Fault::SharedRateLimited { retry_after: 30.0 }],
    );
    assert!(matches!(
        client.current_user(&token).await,
        Err(DiscordError::RateLimited { .. })
    ));
    let r = standin.requests_to("/api/v10/users/@me");
    assert_eq!(r.last().unwrap().status, 429);
    let raw = reqwest::Client::new();
    standin.fault(
        "/users/@me",
        vec![Fault::SharedRateLimited { retry_after: 1.5 }],
    );
    let answer = raw
        .get(format!("{}/users/@me", standin.api_url()))
        .bearer_auth(token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["x-ratelimit-scope"], "shared");
    assert_eq!(answer.headers()["retry-after"], "2");
    assert!(answer.headers().get("x-ratelimit-global").is_none());
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["global"], false);
    assert_eq!(body["retry_after"], 1.5);

    standin.stop_listening().await;
    let fresh = client_for(&standin, |_| {});
    assert!(matches!(
        fresh.current_user(&token).await,
        Err(DiscordError::Connect(_))
    ));
    standin.listen_again().await.unwrap();
    fresh.current_user(&token).await.unwrap();
}
