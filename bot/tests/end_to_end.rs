//! The real bot run loop (poise on serenity) against the stand-in gateway and
//! REST API, with a real store: `/dashboard` from a guild and from closed
//! DMs, and guild presence across two bot processes on different shards —
//! read back through the portal's guild listing.

use std::collections::HashMap;
use std::time::Duration;

use bot::RunningBot;
use bot::config::BotConfig;
use discord_standin::RecordedRequest;
use discord_standin::gateway::{BotFixture, BotStandIn, SlashCommand, shapes};
use serde_json::Value;
use settings::Env;
use store::Backend;
use store::testing::TestDatabase;

// Shaped like a real token (id.timestamp.hmac); the stand-in accepts any.
const TOKEN: &str = "MTIwMDAwMDAwMDAwMDAwMDAwMQ.GhXyZa.standin-token-not-a-secret-0123456789";
const PORTAL: &str = "https://portal.example";
const WAIT: Duration = Duration::from_secs(30);

async fn start_bot(standin: &BotStandIn, db_url: &str, shards: Option<(&str, &str)>) -> RunningBot {
    let mut env = Env::from_pairs([
        ("DISCORD_BOT_TOKEN", TOKEN.to_owned()),
        ("DATABASE_URL", db_url.to_owned()),
        ("PORTAL_PUBLIC_URL", PORTAL.to_owned()),
        ("DISCORD_PROXY_URL", standin.base_url()),
    ]);
    if let Some((count, range)) = shards {
        env.set("SHARD_COUNT", count);
        env.set("SHARD_RANGE", range);
    }
    bot::start(BotConfig::from_env(&env).unwrap())
        .await
        .unwrap()
}

fn body(r: &RecordedRequest) -> Value {
    serde_json::from_str(&r.body).unwrap_or(Value::Null)
}

async fn ready_for_commands(standin: &BotStandIn, shard: u32) {
    // Registration is poise's setup: only after it do commands get answered.
    standin
        .wait_for_request(WAIT, |r| r.method == "PUT" && r.path.ends_with("/commands"))
        .await
        .expect("commands registered");
    assert!(
        standin
            .wait_until(WAIT, |s| s.ready_shards().contains(&shard))
            .await,
        "shard {shard} ready"
    );
}

#[tokio::test]
async fn dashboard_from_a_guild_dms_a_login_button() {
    let standin = BotStandIn::start(BotFixture::default()).await.unwrap();
    let db = TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap()
        .unwrap();
    let bot = start_bot(&standin, &db.url, None).await;
    ready_for_commands(&standin, 0).await;

    let identify = standin
        .frames()
        .into_iter()
        .find(|f| f.payload["op"] == 2)
        .expect("IDENTIFY");
    assert_eq!(
        identify.payload["d"]["intents"], 1,
        "GUILDS only, nothing privileged"
    );

    let guild = 4_242_424_242_424_242u64;
    let user = 5_555_555_555_555_555u64;
    let (id, token) = standin
        .slash_command(
            0,
            &SlashCommand {
                name: "dashboard".into(),
                user_id: user,
                guild_id: Some(guild),
                channel_id: 77,
            },
        )
        .expect("dispatched");

    let callback = standin
        .wait_for_request(WAIT, |r| {
            r.path == format!("/api/v10/interactions/{id}/{token}/callback")
        })
        .await
        .expect("an interaction answer");
    let answer = body(&callback);
    assert_eq!(answer["type"], 5, "deferred");
    assert_eq!(answer["data"]["flags"], 64, "ephemeral");

    let dm = standin
        .wait_for_request(WAIT, |r| r.path == "/api/v10/users/@me/channels")
        .await
        .expect("a DM channel opened");
    assert_eq!(body(&dm)["recipient_id"], user.to_string());

    let message = standin
        .wait_for_request(WAIT, |r| {
            r.method == "POST"
                && r.path.starts_with("/api/v10/channels/")
                && r.path.ends_with("/messages")
        })
        .await
        .expect("a DM sent");
    let sent = body(&message);
    let button = &sent["components"][0]["components"][0];
    assert_eq!(button["style"], 5, "a link button");
    let url = button["url"].as_str().unwrap();
    let (base, query) = url.split_once('?').unwrap();
    assert_eq!(base, format!("{PORTAL}/discord/login"));
    let q: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(q["next"], format!("/discord/guilds/{guild}"));

    let followup = standin
        .wait_for_request(WAIT, |r| {
            r.path.contains("/webhooks/") && r.path.contains(&token)
        })
        .await
        .expect("the ephemeral answer");
    let text = body(&followup);
    assert!(
        text["content"].as_str().unwrap().contains("Check your DMs"),
        "{text}"
    );

    // Never a token in what the bot sends back to people.
    assert!(!followup.body.contains(TOKEN));
    bot.shutdown().await.unwrap();
    db.drop_database().await;
}

#[tokio::test]
async fn closed_dms_get_the_link_ephemerally() {
    let standin = BotStandIn::start(BotFixture::default()).await.unwrap();
    standin.set_dm_fails(true);
    let db = TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap()
        .unwrap();
    let bot = start_bot(&standin, &db.url, None).await;
    ready_for_commands(&standin, 0).await;

    let (_, token) = standin
        .slash_command(
            0,
            &SlashCommand {
                name: "dashboard".into(),
                user_id: 9,
                guild_id: Some(31),
                channel_id: 77,
            },
        )
        .unwrap();
    let refused = standin
        .wait_for_request(WAIT, |r| {
            r.path.ends_with("/messages") && r.path.starts_with("/api/v10/channels/")
        })
        .await
        .unwrap();
    assert_eq!(refused.status, 403);
    let followup = standin
        .wait_for_request(WAIT, |r| {
            r.path.contains("/webhooks/") && r.path.contains(&token)
        })
        .await
        .expect("the ephemeral answer");
    let text = body(&followup)["content"].as_str().unwrap().to_owned();
    assert!(
        text.contains(&format!(
            "{PORTAL}/discord/login?next=%2Fdiscord%2Fguilds%2F31"
        )),
        "{text}"
    );
    let flags = body(&followup)["flags"].as_u64().unwrap_or(64);
    assert_eq!(flags & 64, 64, "ephemeral");

    // From a DM with the bot, the link goes to the overview.
    standin.set_dm_fails(true);
    let (_, token) = standin
        .slash_command(
            0,
            &SlashCommand {
                name: "dashboard".into(),
                user_id: 9,
                guild_id: None,
                channel_id: 78,
            },
        )
        .unwrap();
    let followup = standin
        .wait_for_request(WAIT, |r| {
            r.path.contains("/webhooks/") && r.path.contains(&token)
        })
        .await
        .unwrap();
    assert!(
        body(&followup)["content"]
            .as_str()
            .unwrap()
            .contains("next=%2Fdiscord%2Fguilds\n")
            || body(&followup)["content"]
                .as_str()
                .unwrap()
                .ends_with("next=%2Fdiscord%2Fguilds")
    );
    bot.shutdown().await.unwrap();
    db.drop_database().await;
}

async fn wait_for_shard(store: &store::Store, shard: u32, want: &[u64]) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = store.bot_guilds_of_shard(shard).await.unwrap();
        if got == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "shard {shard}: {got:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn presence_across_two_processes_and_the_portal_listing() {
    const A: u64 = 1_100_000_000_000_000_101;
    const B: u64 = 1_100_000_000_000_000_102;
    const C: u64 = 1_100_000_000_000_000_103;
    const D: u64 = 1_100_000_000_000_000_104;
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("bot=debug,serenity=warn")
        .try_init();
    for backend in store::testing::ALL_BACKENDS {
        eprintln!("backend {backend:?}");
        let Some(db) = TestDatabase::create(backend).await.unwrap() else {
            continue;
        };
        let mut fixture = BotFixture::default();
        fixture.ready_guilds.insert(0, vec![A, B]);
        fixture.ready_guilds.insert(1, vec![D]);
        let standin = BotStandIn::start(fixture).await.unwrap();
        let first = start_bot(&standin, &db.url, Some(("2", "0"))).await;
        let second = start_bot(&standin, &db.url, Some(("2", "1"))).await;
        assert!(
            standin
                .wait_until(WAIT, |s| s.ready_shards().contains(&0)
                    && s.ready_shards().contains(&1))
                .await
        );
        let store = first.store.clone();
        // Each process identified exactly its own shard, once.
        let mut identified: Vec<(u64, u64)> = standin
            .frames()
            .iter()
            .filter(|f| f.payload["op"] == 2)
            .map(|f| {
                let s = &f.payload["d"]["shard"];
                (s[0].as_u64().unwrap(), s[1].as_u64().unwrap())
            })
            .collect();
        identified.sort();
        assert_eq!(identified, [(0, 2), (1, 2)], "{backend:?}");
        wait_for_shard(&store, 0, &[A, B]).await;
        wait_for_shard(&store, 1, &[D]).await;

        assert!(standin.guild_create(0, C));
        assert!(standin.guild_delete(0, A, false));
        assert!(standin.guild_delete(0, B, true));
        wait_for_shard(&store, 0, &[B, C]).await;
        wait_for_shard(&store, 1, &[D]).await;

        // The portal's guild listing, on the same database, shows exactly that.
        let shown = listing_presence(&store, &[A, B, C, D]).await;
        assert_eq!(
            shown,
            [(A, false), (B, true), (C, true), (D, true)],
            "{backend:?}"
        );

        first.shutdown().await.unwrap();
        second.shutdown().await.unwrap();
        store.close().await;
        db.drop_database().await;
    }
}

/// Signs a member of `guilds` in through the (OAuth) stand-in and returns what
/// the portal's listing says about the bot in each guild, by id.
async fn listing_presence(store: &store::Store, guilds: &[u64]) -> Vec<(u64, bool)> {
    use discord_standin::{Fixture, FixtureGuild, FixtureUser, StandIn};
    let mut user = FixtureUser::new("700000000000000001", "member");
    user.email = Some("member@example.com".into());
    user.verified = true;
    user.guilds = guilds
        .iter()
        .map(|g| FixtureGuild::new(g.to_string(), format!("G{g}")))
        .collect();
    let oauth = StandIn::start(Fixture::new("42", "secret").with_user(user))
        .await
        .unwrap();
    let (access, refresh) =
        oauth.issue_tokens_for("700000000000000001", &["identify", "email", "guilds"]);
    let (access, refresh) = (
        settings::Secret::new(access),
        settings::Secret::new(refresh),
    );
    let (member, _) = store
        .oauth_callback(store::OAuthCallback {
            oauth_name: guilds::OAUTH_NAME,
            access_token: &access,
            account_id: "700000000000000001",
            account_email: "member@example.com",
            expires_at: Some(chrono_like_now() + 3600),
            refresh_token: Some(&refresh),
            associate_by_email: true,
            is_verified_by_default: false,
        })
        .await
        .unwrap();
    let mut config = discord::DiscordConfig::new("42", settings::Secret::new("secret"));
    config.api_url = oauth.api_url();
    config.cdn_url = oauth.cdn_url();
    let listing = guilds::GuildListing::new(
        store.clone(),
        discord::DiscordClient::new(config).unwrap(),
        guilds::ListingConfig::default(),
    );
    let mut shown: Vec<(u64, bool)> = listing
        .for_user(member.id)
        .await
        .unwrap()
        .guilds
        .iter()
        .map(|g| (g.id.parse().unwrap(), g.bot_present))
        .collect();
    shown.sort();
    shown
}

fn chrono_like_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[test]
fn serenity_accepts_the_stand_ins_shapes() {
    use serenity::all::{Guild, Interaction, Message, PrivateChannel};
    let user = shapes::user(5, "member", false);
    let call = SlashCommand {
        name: "dashboard".into(),
        user_id: 5,
        guild_id: Some(7),
        channel_id: 9,
    };
    let from_guild: Interaction =
        serde_json::from_value(shapes::interaction(1, 2, "t", &call, user.clone()))
            .expect("guild interaction");
    assert!(
        matches!(from_guild, Interaction::Command(ref c) if c.guild_id.map(|g| g.get()) == Some(7))
    );
    let dm_call = SlashCommand {
        guild_id: None,
        ..call
    };
    let from_dm: Interaction =
        serde_json::from_value(shapes::interaction(1, 2, "t", &dm_call, user.clone()))
            .expect("DM interaction");
    assert!(matches!(from_dm, Interaction::Command(ref c) if c.user.id.get() == 5));
    let _: Guild = serde_json::from_value(shapes::guild(7, 8)).expect("GUILD_CREATE guild");
    let _: Message =
        serde_json::from_value(shapes::message(1, 2, user.clone(), "hi")).expect("message");
    let _: PrivateChannel =
        serde_json::from_value(shapes::dm_channel(3, user)).expect("DM channel");
}
