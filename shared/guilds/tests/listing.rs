//! The guild listing against the stand-in and a real store: ordering, bot
//! presence, single-flight token refresh, re-authentication, stale fallback.

use std::time::Duration;

use discord::{AuthorizeRequest, DiscordClient, DiscordConfig};
use discord_standin::{Fault, Fixture, StandIn};
use guilds::{Backoff, GuildListing, ListingConfig, ListingError};
use settings::Secret;
use store::testing::each_backend;
use store::{OAuthCallback, Store, UserId};

const REDIRECT: &str = "http://127.0.0.1:1/cb";

async fn setup(store: &Store, fixture: Fixture, ttl: Duration) -> (StandIn, GuildListing, UserId) {
    let config = ListingConfig {
        cache_ttl: ttl,
        invite_permissions: 8,
        ..ListingConfig::default()
    };
    setup_with(store, fixture, config).await
}

async fn setup_with(
    store: &Store,
    fixture: Fixture,
    config: ListingConfig,
) -> (StandIn, GuildListing, UserId) {
    let standin = StandIn::start(fixture).await.unwrap();
    let mut c = DiscordConfig::new("42", Secret::new("s3cret"));
    c.api_url = standin.api_url();
    c.authorize_url = standin.authorize_url();
    c.cdn_url = standin.cdn_url();
    let discord = DiscordClient::new(c).unwrap();
    let url = discord.authorize_url(&AuthorizeRequest {
        redirect_uri: REDIRECT,
        scopes: &["identify", "email", "guilds"],
        state: "x",
        code_challenge: None,
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
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let code = url::form_urlencoded::parse(location.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let token = discord.exchange_code(&code, REDIRECT, None).await.unwrap();
    let me = discord.current_user(&token.access_token).await.unwrap();
    let (user, _) = store
        .oauth_callback(OAuthCallback {
            oauth_name: guilds::OAUTH_NAME,
            access_token: &token.access_token,
            account_id: &me.id,
            account_email: me.email.as_deref().unwrap(),
            expires_at: token.expires_at,
            refresh_token: token.refresh_token.as_ref(),
            associate_by_email: store::AssociateByEmail::IfVerified,
            is_verified_by_default: false,
        })
        .await
        .unwrap();
    let listing = GuildListing::new(store.clone(), discord, config);
    (standin, listing, user.id)
}

fn fixture() -> Fixture {
    let mut f = Fixture::demo();
    f.client_id = "42".into();
    f.client_secret = "s3cret".into();
    f.auto_approve = true;
    f
}

#[tokio::test]
async fn order_presence_and_invites_on_every_backend() {
    each_backend(|store, backend| async move {
        let (_standin, listing, user) = setup(&store, fixture(), Duration::from_secs(60)).await;
        store
            .bot_guilds_replace_shard(0, &[1100000000000000103, 1100000000000000105])
            .await
            .unwrap();
        let list = listing.for_user(user).await.unwrap();
        assert!(!list.stale);
        assert_eq!(list.guilds.len(), 12);
        assert_eq!(
            list.guilds[0].id.get(),
            1100000000000000103,
            "{backend:?}: manageable with the bot first"
        );
        assert!(list.guilds[0].bot_present && list.guilds[0].invite_url.is_none());
        let member_with_bot = list
            .guilds
            .iter()
            .find(|g| g.id.get() == 1100000000000000105)
            .unwrap();
        assert!(member_with_bot.bot_present && !member_with_bot.can_manage);
        let invite = list.guilds[1].invite_url.as_deref().unwrap();
        assert!(
            invite.contains("permissions=8")
                && invite.contains(&format!("guild_id={}", list.guilds[1].id))
        );
        let names: Vec<_> = list
            .guilds
            .iter()
            .filter(|g| g.can_manage && !g.bot_present)
            .map(|g| g.name.to_lowercase())
            .collect();
        assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");
    })
    .await;
}

#[tokio::test]
async fn reloads_reuse_the_view_until_the_bot_presence_is_read_again() {
    const JOINED: u64 = 1100000000000000105;
    each_backend(|store, backend| async move {
        let config = ListingConfig {
            presence_ttl: Duration::from_millis(200),
            ..ListingConfig::default()
        };
        let (standin, listing, user) = setup_with(&store, fixture(), config).await;
        let first = listing.for_user(user).await.unwrap();
        let again = listing.for_user(user).await.unwrap();
        assert!(
            std::sync::Arc::ptr_eq(&first, &again),
            "{backend:?}: a reload reuses the built view"
        );
        let guild_fetches = || {
            standin
                .requests()
                .iter()
                .filter(|r| r.path.ends_with("/users/@me/guilds"))
                .count()
        };
        assert_eq!(guild_fetches(), 1);

        // The bot joins: a reload within the presence TTL may still show the
        // old view, and once the TTL has passed the join shows, without
        // another call to Discord.
        store.bot_guild_add(0, JOINED).await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let shown = loop {
            let now = listing.for_user(user).await.unwrap();
            let g = now.guilds.iter().find(|g| g.id.get() == JOINED);
            if g.is_some_and(|g| g.bot_present) {
                break now;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{backend:?}: join never shown"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(!std::sync::Arc::ptr_eq(&first, &shown), "a new view");
        assert_eq!(
            guild_fetches(),
            1,
            "{backend:?}: presence is the store's, not Discord's"
        );
        let after = listing.for_user(user).await.unwrap();
        assert!(std::sync::Arc::ptr_eq(&shown, &after));
    })
    .await;
}

#[tokio::test]
async fn ten_concurrent_listings_with_an_expiring_token_refresh_once() {
    each_backend(|store, _| async move {
        let mut f = fixture();
        f.access_token_lifetime = 30;
        let (standin, listing, user) = setup(&store, f, Duration::ZERO).await;
        standin.update_fixture(|f| f.access_token_lifetime = 604_800);
        let results = futures::future::join_all((0..10).map(|_| listing.for_user(user))).await;
        assert!(results.iter().all(Result::is_ok));
        let refreshes = standin
            .requests()
            .iter()
            .filter(|r| r.body.contains("grant_type=refresh_token"))
            .count();
        assert_eq!(refreshes, 1);
        let account = store
            .oauth_account_for_user(user, "discord")
            .await
            .unwrap()
            .unwrap();
        assert!(
            account.expires_at.unwrap() > chrono::Utc::now().timestamp() + 600,
            "the new pair is stored"
        );
    })
    .await;
}

#[tokio::test]
async fn a_refused_refresh_means_signing_in_again() {
    each_backend(|store, backend| async move {
        let mut f = fixture();
        f.access_token_lifetime = 30;
        let (standin, listing, user) = setup(&store, f, Duration::ZERO).await;
        // Revoking spends the refresh token too: Discord answers invalid_grant.
        standin.revoke_all_tokens();
        assert!(
            matches!(
                listing.for_user(user).await,
                Err(ListingError::ReauthRequired)
            ),
            "{backend:?}"
        );
        let refreshes = standin
            .requests()
            .iter()
            .filter(|r| r.body.contains("grant_type=refresh_token"))
            .count();
        assert_eq!(refreshes, 1, "{backend:?}: refused once, not retried");
        assert!(
            !standin
                .requests()
                .iter()
                .any(|r| r.path.ends_with("/users/@me/guilds")),
            "no guild call with a dead token"
        );
    })
    .await;
}

#[tokio::test]
async fn revoked_is_reauth_and_discord_down_serves_stale() {
    each_backend(|store, _| async move {
        let config = ListingConfig {
            cache_ttl: Duration::from_nanos(1),
            refresh_backoff: Backoff {
                base: Duration::from_millis(20),
                max: Duration::from_millis(40),
            },
            ..ListingConfig::default()
        };
        let (standin, listing, user) = setup_with(&store, fixture(), config).await;
        let fresh = listing.for_user(user).await.unwrap();
        standin.fault_always("/users/@me/guilds", Fault::Status(500));
        // Past its TTL the list is served at once while it is refreshed;
        // once a refresh has failed, it is marked stale.
        let stale = poll(
            || async { listing.for_user(user).await.unwrap() },
            |l| l.stale,
        )
        .await;
        assert_eq!(stale.guilds, fresh.guilds);
        standin.clear_faults();

        standin.revoke_all_tokens();
        // The next refresh learns the authorization is gone and drops the list.
        let reauth = poll(
            || async { listing.for_user(user).await },
            |r| matches!(r, Err(ListingError::ReauthRequired)),
        )
        .await;
        assert!(reauth.is_err());
        // A revoked authorization is not papered over with a stale list.
        assert!(matches!(
            listing.for_user(user).await,
            Err(ListingError::ReauthRequired)
        ));
    })
    .await;
}

/// Calls `f` until `done` holds for its result, for up to 10 s.
async fn poll<T, Fut>(f: impl Fn() -> Fut, done: impl Fn(&T) -> bool) -> T
where
    Fut: Future<Output = T>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let value = f().await;
        if done(&value) {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not reached within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn guild_calls(standin: &StandIn) -> usize {
    standin.requests_to("/api/v10/users/@me/guilds").len()
}

#[tokio::test]
async fn an_expired_list_is_served_at_once_and_refreshed_in_the_background() {
    each_backend(|store, _| async move {
        let (standin, listing, user) = setup(&store, fixture(), Duration::from_nanos(1)).await;
        let first = listing.for_user(user).await.unwrap();
        assert_eq!(guild_calls(&standin), 1);
        let signed_in = standin.fixture().signed_in_user().unwrap().clone();
        assert!(standin.add_guild(
            &signed_in.id,
            discord_standin::FixtureGuild {
                id: "1100000000000000999".into(),
                name: "Brand new".into(),
                ..signed_in.guilds[0].clone()
            }
        ));
        // The request does not wait for Discord: it gets the list it had.
        let served = listing.for_user(user).await.unwrap();
        assert_eq!(served.guilds, first.guilds);
        assert!(!served.stale, "not stale while nothing has failed");
        let newer = poll(
            || async { listing.for_user(user).await.unwrap() },
            |l| l.guilds.len() == first.guilds.len() + 1,
        )
        .await;
        assert!(!newer.stale);
        let stats = listing.cache_stats();
        assert!(
            stats.refreshes >= 1 && stats.refresh_failures == 0,
            "{stats:?}"
        );
    })
    .await;
}

/// Many requests of one user during a lasting outage: each is answered from
/// the cached list, and Discord sees one refresh per back-off step — here
/// one, the step being longer than the test.
#[tokio::test]
async fn an_outage_costs_one_call_per_back_off_step_however_many_requests() {
    each_backend(|store, _| async move {
        let config = ListingConfig {
            cache_ttl: Duration::from_nanos(1),
            refresh_backoff: Backoff {
                base: Duration::from_secs(600),
                max: Duration::from_secs(600),
            },
            ..ListingConfig::default()
        };
        let (standin, listing, user) = setup_with(&store, fixture(), config).await;
        let fresh = listing.for_user(user).await.unwrap();
        standin.fault_always("/users/@me/guilds", Fault::Status(500));
        let before = guild_calls(&standin);
        // Until the one refresh has failed, then some more.
        poll(
            || async { listing.for_user(user).await.unwrap() },
            |l| l.stale,
        )
        .await;
        for _ in 0..5 {
            let answers = futures::future::join_all((0..16).map(|_| listing.for_user(user))).await;
            for answer in answers {
                let answer = answer.unwrap();
                assert!(answer.stale);
                assert_eq!(answer.guilds, fresh.guilds);
            }
        }
        assert_eq!(
            guild_calls(&standin) - before,
            1,
            "one refresh, without a retry of its own, then the back-off holds"
        );
        let stats = listing.cache_stats();
        assert_eq!((stats.refreshes, stats.refresh_failures), (1, 1));

        // With no list to fall back on, the back-off answers at once too.
        listing.invalidate(user);
        assert!(matches!(
            listing.for_user(user).await,
            Err(ListingError::Discord(_))
        ));
        let calls = guild_calls(&standin);
        assert!(matches!(
            listing.for_user(user).await,
            Err(ListingError::Discord(
                discord::DiscordError::Suspended { .. }
            ))
        ));
        assert_eq!(guild_calls(&standin), calls, "refused without a call");
    })
    .await;
}

/// Two listings on one store stand for two portal replicas: each has its own
/// in-process single-flight, and only the lease in the database keeps them
/// from both spending the single-use refresh token.
#[tokio::test]
async fn two_replicas_refresh_once_between_them() {
    each_backend(|store, backend| async move {
        let mut f = fixture();
        f.access_token_lifetime = 30;
        let (standin, a, user) = setup(&store, f, Duration::ZERO).await;
        standin.update_fixture(|f| f.access_token_lifetime = 604_800);
        let b = GuildListing::new(
            store.clone(),
            discord_client(&standin),
            ListingConfig {
                cache_ttl: Duration::ZERO,
                ..ListingConfig::default()
            },
        );
        // A slow refresh: the other replica's requests arrive meanwhile.
        standin.fault(
            "/oauth2/token",
            vec![Fault::Delay(Duration::from_millis(100))],
        );
        let calls = (0..8).map(|i| {
            let listing = if i % 2 == 0 { a.clone() } else { b.clone() };
            async move { listing.for_user(user).await }
        });
        for r in futures::future::join_all(calls).await {
            assert!(r.is_ok(), "{backend:?}: {r:?}");
        }
        assert_eq!(refreshes(&standin), 1, "{backend:?}");
    })
    .await;
}

/// A replica that died holding the lease blocks the others only until the
/// lease expires; then one of them takes it over and refreshes.
#[tokio::test]
async fn a_lease_left_by_a_dead_replica_is_taken_over_when_it_expires() {
    each_backend(|store, backend| async move {
        let mut f = fixture();
        f.access_token_lifetime = 30;
        let lease = Duration::from_millis(300);
        let config = ListingConfig {
            cache_ttl: Duration::ZERO,
            refresh_lease: lease,
            refresh_poll: Duration::from_millis(20),
            ..ListingConfig::default()
        };
        let (standin, listing, user) = setup_with(&store, f, config).await;
        let account = store
            .oauth_account_for_user(user, "discord")
            .await
            .unwrap()
            .unwrap();
        let now_ms = chrono::Utc::now().timestamp_millis();
        assert!(
            store
                .take_refresh_lease(account.id, "dead-replica", now_ms, lease)
                .await
                .unwrap()
        );
        // (That the wait respects a live lease is the next test's.)
        let listing = listing.for_user(user).await;
        assert!(listing.is_ok(), "{backend:?}: {listing:?}");
        assert_eq!(refreshes(&standin), 1, "{backend:?}");
    })
    .await;
}

/// A lease that outlives every refresh this replica could make (the other
/// replica's clock runs ahead) ends the wait with a typed error, never a
/// second refresh.
#[tokio::test]
async fn waiting_for_another_replica_is_bounded() {
    each_backend(|store, backend| async move {
        let mut f = fixture();
        f.access_token_lifetime = 30;
        let config = ListingConfig {
            cache_ttl: Duration::ZERO,
            refresh_lease: Duration::from_millis(100),
            refresh_poll: Duration::from_millis(20),
            ..ListingConfig::default()
        };
        let (standin, listing, user) = setup_with(&store, f, config).await;
        let account = store
            .oauth_account_for_user(user, "discord")
            .await
            .unwrap()
            .unwrap();
        let now_ms = chrono::Utc::now().timestamp_millis();
        store
            .take_refresh_lease(account.id, "slow-replica", now_ms, Duration::from_secs(60))
            .await
            .unwrap();
        let r = listing.for_user(user).await;
        assert!(
            matches!(r, Err(ListingError::RefreshPending { .. })),
            "{backend:?}: {r:?}"
        );
        assert_eq!(refreshes(&standin), 0, "{backend:?}");
    })
    .await;
}

fn discord_client(standin: &StandIn) -> DiscordClient {
    let mut c = DiscordConfig::new("42", Secret::new("s3cret"));
    c.api_url = standin.api_url();
    c.authorize_url = standin.authorize_url();
    c.cdn_url = standin.cdn_url();
    DiscordClient::new(c).unwrap()
}

fn refreshes(standin: &StandIn) -> usize {
    standin
        .requests()
        .iter()
        .filter(|r| r.body.contains("grant_type=refresh_token"))
        .count()
}
