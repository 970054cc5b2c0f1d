//! The fault matrix: Discord failing in every way it does — 5xx, rate
//! limits of each scope (and Cloudflare's), timeouts, malformed answers, a
//! port that refuses connections — against the guild pages and API (with a
//! cached list and without), the login callback and a token refresh, on
//! SQLite and PostgreSQL. Each case checks the status, how many calls the
//! stand-in saw (the latency bound, counted rather than timed), and that
//! nothing was written that should not be.

use std::time::Duration;

use discord_standin::Fault;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;
use store::{Backend, TokenUpdate};

use crate::common::*;

const GUILDS: &str = "/users/@me/guilds";
const ME: &str = "/users/@me";
const TOKEN: &str = "/oauth2/token";
/// The portal's Discord timeout in these tests (whole seconds is what the
/// variable takes), and a delay well past it.
const TIMEOUT_SECS: &str = "1";
const PAST_THE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outage {
    Status(u16),
    /// A 429 longer than `DISCORD_RATE_LIMIT_MAX_WAIT_SECONDS`, per scope.
    RateLimitedUser,
    RateLimitedGlobal,
    RateLimitedShared,
    /// Cloudflare's HTML 429 with only `Retry-After`.
    Cloudflare,
    /// One 429 short enough to wait out, then Discord answers.
    BriefRateLimit,
    Timeout,
    MalformedJson,
    /// Nothing listens on Discord's port.
    Refused,
}

use Outage::*;

const OUTAGES: [Outage; 11] = [
    Status(500),
    Status(502),
    Status(503),
    RateLimitedUser,
    RateLimitedGlobal,
    RateLimitedShared,
    Cloudflare,
    BriefRateLimit,
    Timeout,
    MalformedJson,
    Refused,
];

impl Outage {
    /// What the portal answers when it has nothing to fall back on.
    fn status(self) -> u16 {
        match self {
            Status(_) | Timeout | MalformedJson | Refused => 502,
            RateLimitedUser | RateLimitedGlobal | RateLimitedShared | Cloudflare => 429,
            BriefRateLimit => 200,
        }
    }

    fn detail(self) -> Option<&'static str> {
        match self.status() {
            502 => Some("DISCORD_UNAVAILABLE"),
            429 => Some("DISCORD_RATE_LIMITED"),
            _ => None,
        }
    }

    /// The most calls one failing Discord call path may cost, for however
    /// many requests: a 5xx is retried once, and the back-off (or the rate
    /// limiter, for a 429) keeps later requests from calling at all.
    fn calls_per_outage(self) -> usize {
        match self {
            Status(_) => 2,
            RateLimitedUser | RateLimitedGlobal | RateLimitedShared | Cloudflare => 1,
            // The 429, then the call that succeeds.
            BriefRateLimit => 2,
            Timeout | MalformedJson => 1,
            Refused => 0,
        }
    }

    async fn start(self, app: &mut TestApp, route: &str) {
        let standin = &mut app.standin;
        match self {
            Status(code) => standin.fault_always(route, Fault::Status(code)),
            RateLimitedUser => standin.fault_always(
                route,
                Fault::RateLimited {
                    retry_after: 60.0,
                    global: false,
                },
            ),
            RateLimitedGlobal => standin.fault_always(
                route,
                Fault::RateLimited {
                    retry_after: 60.0,
                    global: true,
                },
            ),
            RateLimitedShared => {
                standin.fault_always(route, Fault::SharedRateLimited { retry_after: 60.0 })
            }
            Cloudflare => standin.fault_always(
                route,
                Fault::EdgeRateLimited {
                    retry_after_secs: 60,
                },
            ),
            BriefRateLimit => standin.fault(
                route,
                vec![Fault::RateLimited {
                    retry_after: 0.2,
                    global: false,
                }],
            ),
            Timeout => standin.fault_always(route, Fault::Delay(PAST_THE_TIMEOUT)),
            MalformedJson => standin.fault_always(route, Fault::MalformedJson),
            Refused => standin.stop_listening().await,
        }
    }
}

async fn app_on(backend: Backend, env: &[(&str, &str)], ttl: Option<Duration>) -> Option<TestApp> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    spawn_app_on(
        backend,
        base_fixture(),
        |e| {
            e.set("DISCORD_REQUEST_TIMEOUT_SECONDS", TIMEOUT_SECS);
            for (k, v) in env {
                e.set(&k, v);
            }
        },
        |c| {
            if let Some(ttl) = ttl {
                c.guilds.cache_ttl = ttl;
            }
        },
    )
    .await
}

fn calls(app: &TestApp, route: &str) -> usize {
    app.standin.requests_to(&format!("/api/v10{route}")).len()
}

/// The guild pages and API of the signed-in user: the overview, one
/// server's page, the JSON list.
fn read_paths(app: &TestApp) -> Vec<String> {
    let fixture = app.standin.fixture();
    let guild = &fixture.signed_in_user().unwrap().guilds[0].id;
    vec![
        "/discord/guilds".to_owned(),
        format!("/discord/guilds/{guild}"),
        "/api/v1/discord/guilds".to_owned(),
    ]
}

async fn check_answer(case: &str, r: reqwest::Response, status: u16, detail: Option<&str>) {
    let path = r.url().path().to_owned();
    assert_eq!(r.status().as_u16(), status, "{case} {path}");
    let content_type = r.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    if path.starts_with("/api/") {
        assert!(
            content_type.starts_with("application/json"),
            "{case} {path}"
        );
        let body: Value = r.json().await.unwrap();
        if let Some(detail) = detail {
            assert_eq!(body["detail"], detail, "{case} {path}");
        } else {
            assert_eq!(body["stale"], false, "{case} {path}");
        }
    } else {
        assert!(content_type.starts_with("text/html"), "{case} {path}");
    }
}

/// No list cached (`GUILD_CACHE_TTL_SECONDS=0`): every read needs Discord,
/// and gets the error at once after the first failure.
async fn reads_without_a_cached_list(backend: Backend) {
    for outage in OUTAGES {
        let case = format!("{} {outage:?} uncached", backend.name());
        let Some(mut app) = app_on(backend, &[("GUILD_CACHE_TTL_SECONDS", "0")], None).await else {
            return;
        };
        app.login().await;
        let before = calls(&app, GUILDS);
        outage.start(&mut app, GUILDS).await;
        let paths = read_paths(&app);
        for round in 0..2 {
            for path in &paths {
                let r = app.get(path).await;
                check_answer(
                    &format!("{case} round {round}"),
                    r,
                    outage.status(),
                    outage.detail(),
                )
                .await;
            }
        }
        let made = calls(&app, GUILDS) - before;
        let bound = match outage {
            // Nothing is cached: each request after the waited-out 429 asks.
            BriefRateLimit => outage.calls_per_outage() + 2 * paths.len() - 1,
            _ => outage.calls_per_outage(),
        };
        assert!(made <= bound, "{case}: {made} calls > {bound}");
        app.stop().await;
    }
}

/// A cached list past its TTL: every read answers 200 from it at once, and
/// Discord sees one background refresh (the back-off being longer than the
/// test), without a retry of its own.
async fn reads_with_a_cached_list(backend: Backend) {
    for outage in OUTAGES {
        let case = format!("{} {outage:?} cached", backend.name());
        let Some(mut app) = app_on(
            backend,
            &[("GUILD_REFRESH_BACKOFF_SECONDS", "600")],
            Some(Duration::from_nanos(1)),
        )
        .await
        else {
            return;
        };
        app.login().await;
        let paths = read_paths(&app);
        let fresh: Value = app
            .get("/api/v1/discord/guilds")
            .await
            .json()
            .await
            .unwrap();
        let before = calls(&app, GUILDS);
        outage.start(&mut app, GUILDS).await;
        let rounds = 3;
        for _ in 0..rounds {
            for path in &paths {
                let r = app.get(path).await;
                assert_eq!(r.status(), 200, "{case} {path}");
                if path.starts_with("/api/") {
                    let list: Value = r.json().await.unwrap();
                    assert_eq!(list["guilds"], fresh["guilds"], "{case}");
                }
            }
        }
        let made = calls(&app, GUILDS) - before;
        let bound = match outage {
            // Discord answers again after the 429: each request past the
            // 1 ns TTL starts a refresh, as when all is well.
            BriefRateLimit => outage.calls_per_outage() + rounds * paths.len(),
            Status(_) => 1,
            _ => outage.calls_per_outage(),
        };
        assert!(made <= bound, "{case}: {made} calls > {bound}");
        app.stop().await;
    }
}

/// The login callback with the token endpoint or `/users/@me` failing: an
/// error page, no user, no linked account, no session.
async fn login_callback(backend: Backend) {
    for route in [TOKEN, ME] {
        for outage in OUTAGES {
            let case = format!("{} {outage:?} callback {route}", backend.name());
            let Some(mut app) = app_on(backend, &[], None).await else {
                return;
            };
            let callback = app.authorize("/discord/login").await;
            let before = calls(&app, route);
            outage.start(&mut app, route).await;
            let r = app.client.get(&callback).send().await.unwrap();
            let made = calls(&app, route) - before;
            assert!(
                made <= outage.calls_per_outage(),
                "{case}: {made} calls > {}",
                outage.calls_per_outage()
            );
            if outage == BriefRateLimit {
                assert_eq!(r.status(), 302, "{case}");
                assert!(cookie_value(&r, "fastapiusersauth").is_some(), "{case}");
                assert_eq!(app.store().count_users().await.unwrap(), 1, "{case}");
            } else {
                assert_eq!(r.status().as_u16(), outage.status(), "{case}");
                assert!(
                    cookie_value(&r, "fastapiusersauth").is_none(),
                    "{case}: no session"
                );
                let page = r.text().await.unwrap();
                assert!(page.contains("<html"), "{case}: an error page");
                assert_eq!(app.store().count_users().await.unwrap(), 0, "{case}");
                assert_eq!(
                    app.store().count_oauth_accounts().await.unwrap(),
                    0,
                    "{case}"
                );
            }
            app.stop().await;
        }
    }
}

/// A read that must renew the user's Discord token first, with the token
/// endpoint failing: the error, and the stored pair left as it was.
async fn token_refresh(backend: Backend) {
    for outage in OUTAGES {
        let case = format!("{} {outage:?} refresh", backend.name());
        let Some(mut app) = app_on(backend, &[("GUILD_CACHE_TTL_SECONDS", "0")], None).await else {
            return;
        };
        app.login().await;
        let user = app
            .store()
            .user_by_email(
                app.standin
                    .fixture()
                    .signed_in_user()
                    .unwrap()
                    .email
                    .as_deref()
                    .unwrap(),
            )
            .await
            .unwrap()
            .unwrap();
        let account = app
            .store()
            .oauth_account_for_user(user.id, "discord")
            .await
            .unwrap()
            .unwrap();
        // Inside the 60 s refresh margin: the next read renews first.
        let expiring = chrono::Utc::now().timestamp() + 30;
        app.store()
            .update_tokens(
                account.id,
                &TokenUpdate {
                    access_token: account.access_token.clone(),
                    expires_at: Some(expiring),
                    refresh_token: account.refresh_token.clone(),
                },
            )
            .await
            .unwrap();
        let before = calls(&app, TOKEN);
        outage.start(&mut app, TOKEN).await;
        for _ in 0..3 {
            let r = app.get("/api/v1/discord/guilds").await;
            check_answer(&case, r, outage.status(), outage.detail()).await;
        }
        let made = calls(&app, TOKEN) - before;
        assert!(
            made <= outage.calls_per_outage(),
            "{case}: {made} calls > {}",
            outage.calls_per_outage()
        );
        let after = app
            .store()
            .oauth_account_for_user(user.id, "discord")
            .await
            .unwrap()
            .unwrap();
        if outage == BriefRateLimit {
            assert_ne!(after.access_token, account.access_token, "{case}: renewed");
        } else {
            assert_eq!(after.access_token, account.access_token, "{case}");
            assert_eq!(after.refresh_token, account.refresh_token, "{case}");
            assert_eq!(after.expires_at, Some(expiring), "{case}");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn discord_faults_reads_without_a_cached_list_sqlite() {
    reads_without_a_cached_list(Backend::Sqlite).await;
}

#[tokio::test]
async fn discord_faults_reads_without_a_cached_list_postgres() {
    reads_without_a_cached_list(Backend::Postgres).await;
}

#[tokio::test]
async fn discord_faults_reads_with_a_cached_list_sqlite() {
    reads_with_a_cached_list(Backend::Sqlite).await;
}

#[tokio::test]
async fn discord_faults_reads_with_a_cached_list_postgres() {
    reads_with_a_cached_list(Backend::Postgres).await;
}

#[tokio::test]
async fn discord_faults_login_callback_sqlite() {
    login_callback(Backend::Sqlite).await;
}

#[tokio::test]
async fn discord_faults_login_callback_postgres() {
    login_callback(Backend::Postgres).await;
}

#[tokio::test]
async fn discord_faults_token_refresh_sqlite() {
    token_refresh(Backend::Sqlite).await;
}

#[tokio::test]
async fn discord_faults_token_refresh_postgres() {
    token_refresh(Backend::Postgres).await;
}

/// Many concurrent requests of one user whose list is past its TTL while
/// `/users/@me/guilds` answers 500 for good: all 200 from the cached list,
/// and Discord sees one call per back-off step — one here, the step being
/// longer than the test.
#[tokio::test]
async fn discord_faults_concurrent_requests_during_an_outage_make_one_call() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = app_on(
            backend,
            &[("GUILD_REFRESH_BACKOFF_SECONDS", "600")],
            Some(Duration::from_nanos(1)),
        )
        .await
        else {
            continue;
        };
        app.login().await;
        let fresh: Value = app
            .get("/api/v1/discord/guilds")
            .await
            .json()
            .await
            .unwrap();
        app.standin.fault_always(GUILDS, Fault::Status(500));
        let before = calls(&app, GUILDS);
        for _ in 0..4 {
            let answers = futures::future::join_all(
                (0..16).map(|_| app.client.get(app.url("/api/v1/discord/guilds")).send()),
            )
            .await;
            for r in answers {
                let r = r.unwrap();
                assert_eq!(r.status(), 200);
                let list: Value = r.json().await.unwrap();
                assert_eq!(list["guilds"], fresh["guilds"]);
            }
        }
        assert_eq!(calls(&app, GUILDS) - before, 1, "{}", backend.name());
        let metrics = app.get("/metrics").await.text().await.unwrap();
        assert!(
            metrics.contains("guildhall_guild_refreshes_total{outcome=\"started\"}"),
            "{metrics}"
        );
        app.stop().await;
    }
}

/// The circuit breaker seen from outside: after `DISCORD_CIRCUIT_FAILURES`
/// failures, users with no cached list get "Discord is unavailable" without
/// the portal calling Discord, and `/metrics` shows the open circuit.
#[tokio::test]
async fn discord_faults_an_open_circuit_answers_at_once_and_shows_in_metrics() {
    let Some(app) = app_on(
        Backend::Sqlite,
        &[
            ("GUILD_CACHE_TTL_SECONDS", "0"),
            ("DISCORD_CIRCUIT_FAILURES", "2"),
            ("DISCORD_CIRCUIT_COOL_DOWN_SECONDS", "600"),
        ],
        None,
    )
    .await
    else {
        return;
    };
    app.login().await;
    app.standin.fault_always(GUILDS, Fault::Status(503));
    // One request: the call and its retry open the circuit.
    assert_eq!(app.get("/api/v1/discord/guilds").await.status(), 502);
    let made = calls(&app, GUILDS);
    // Signing in again forgets the user's own back-off: now the circuit
    // refuses, without a call.
    let other = client();
    let callback = {
        let login = other.get(app.url("/discord/login")).send().await.unwrap();
        let approved = other.get(location(&login)).send().await.unwrap();
        location(&approved)
    };
    assert_eq!(other.get(&callback).send().await.unwrap().status(), 302);
    let r = other
        .get(app.url("/api/v1/discord/guilds"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["detail"], "DISCORD_UNAVAILABLE");
    assert_eq!(calls(&app, GUILDS), made, "refused without a call");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("guildhall_discord_circuit_open{route=\"GET /users/@me/guilds\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("guildhall_discord_circuit_refused_total{route=\"GET /users/@me/guilds\"} 1"),
        "{metrics}"
    );
    app.stop().await;
}
