//! The real bot run loop (poise on serenity) against the stand-in gateway and
//! REST API, with a real store: `/dashboard` from a guild and from closed
//! DMs, and guild presence across two bot processes on different shards —
//! read back through the portal's guild listing.

use std::collections::HashMap;
use std::time::Duration;

use bot::RunningBot;
use bot::config::BotConfig;
use discord::{DiscordClient, DiscordConfig};
use discord_standin::gateway::{
    BotChannel, BotFixture, BotGuild, BotStandIn, GATEWAY_GUILD_MEMBERS, MessageFailure,
    SlashCommand, shapes,
};
use discord_standin::{Fixture, FixtureGuild, FixtureUser, RecordedRequest, StandIn};
use serde_json::Value;
use settings::{Env, Secret};
use store::Backend;
use store::testing::TestDatabase;
use telemetry::CapturedLogs;

// Shaped like a real token (id.timestamp.hmac); the stand-in accepts any.
const TOKEN: &str = "MTIwMDAwMDAwMDAwMDAwMDAwMQ.GhXyZa.standin-token-not-a-secret-0123456789";
const PORTAL: &str = "https://portal.example";
const WAIT: Duration = Duration::from_secs(30);

/// Starts the bot exactly as `main` does, with `extra` variables on top of
/// the stand-in's.
async fn start_bot(standin: &BotStandIn, db_url: &str, extra: &[(&str, &str)]) -> RunningBot {
    let mut env = Env::from_pairs([
        ("DISCORD_BOT_TOKEN", TOKEN.to_owned()),
        ("DATABASE_URL", db_url.to_owned()),
        ("PORTAL_PUBLIC_URL", PORTAL.to_owned()),
        ("DISCORD_PROXY_URL", standin.base_url()),
    ]);
    for &(name, value) in extra {
        env.set(name, value);
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
    let bot = start_bot(&standin, &db.url, &[]).await;
    ready_for_commands(&standin, 0).await;

    let registration = standin
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT" && r.path.ends_with("/commands"))
        .unwrap();
    let app = standin.fixture().application_id;
    assert_eq!(
        registration.path,
        format!("/api/v10/applications/{app}/commands"),
        "global by default"
    );
    let commands = body(&registration);
    assert_eq!(commands[0]["name"], "dashboard");
    // Korean clients list it in Korean (Discord's locale key `ko`).
    assert_eq!(commands[0]["name_localizations"]["ko"], "대시보드");
    assert_eq!(
        commands[0]["description"],
        "Get a link to the Guildhall dashboard for this server."
    );
    assert_eq!(
        commands[0]["description_localizations"]["ko"],
        "이 서버의 Guildhall 대시보드 링크를 받아요."
    );
    assert_eq!(commands[1]["name"], "tag");
    assert_eq!(commands[1]["name_localizations"]["ko"], "태그");
    assert_eq!(
        commands[1]["description_localizations"]["ko"],
        "이 서버의 태그로 답해요."
    );
    let option = &commands[1]["options"][0];
    assert_eq!(option["name_localizations"]["ko"], "이름", "{option}");
    assert_eq!(
        option["description_localizations"]["ko"], "태그 이름",
        "{option}"
    );
    assert_eq!(
        (
            &option["name"],
            &option["type"],
            &option["required"],
            &option["autocomplete"]
        ),
        (
            &Value::from("name"),
            &Value::from(3),
            &Value::from(true),
            &Value::from(true)
        ),
        "{option}"
    );

    let identify = standin
        .frames()
        .into_iter()
        .find(|f| f.payload["op"] == 2)
        .expect("IDENTIFY");
    assert_eq!(
        identify.payload["d"]["intents"], 1,
        "GUILDS only, nothing privileged"
    );
    // Registered globally by default, and nowhere else.
    let global: Vec<_> = standin
        .commands(None)
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(global, ["dashboard", "tag"]);
    assert!(
        standin
            .requests()
            .iter()
            .all(|r| !r.path.contains("/guilds/"))
    );
    // Owners are never used, so poise must not look them up (it would have
    // while the client was built, before any shard connected): the one call
    // is the bot's own, reading the application's flags for the intents.
    assert_eq!(
        standin
            .requests_to("/api/v10/oauth2/applications/@me")
            .len(),
        1,
        "no owner lookup"
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
                ..Default::default()
            },
        )
        .expect("dispatched");

    let callback = standin
        .wait_for_request(WAIT, |r| {
            // Answered: the stand-in has set the status it gave.
            r.path == format!("/api/v10/interactions/{id}/{token}/callback") && r.status != 0
        })
        .await
        .expect("an interaction answer");
    // 204: the first answer, within Discord's 3-second deadline (a late or a
    // second answer gets 10062 or 40060, as from Discord).
    assert_eq!(callback.status, 204);
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
    assert_eq!(text["flags"].as_u64().map(|f| f & 64), Some(64), "{text}");

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
    let bot = start_bot(&standin, &db.url, &[]).await;
    ready_for_commands(&standin, 0).await;

    let (_, token) = standin
        .slash_command(
            0,
            &SlashCommand {
                name: "dashboard".into(),
                user_id: 9,
                guild_id: Some(31),
                channel_id: 77,
                ..Default::default()
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
    let flags = body(&followup)["flags"].as_u64().unwrap_or(0);
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
                ..Default::default()
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

#[tokio::test]
async fn a_korean_client_gets_the_dm_and_the_fallback_in_korean() {
    let standin = BotStandIn::start(BotFixture::default()).await.unwrap();
    let db = TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap()
        .unwrap();
    let bot = start_bot(&standin, &db.url, &[]).await;
    ready_for_commands(&standin, 0).await;
    let call = |locale: &str| SlashCommand {
        name: "dashboard".into(),
        user_id: 5_555,
        guild_id: Some(31),
        channel_id: 77,
        locale: Some(locale.into()),
        ..Default::default()
    };

    let (_, token) = standin.slash_command(0, &call("ko")).unwrap();
    let message = standin
        .wait_for_request(WAIT, |r| {
            r.method == "POST"
                && r.path.starts_with("/api/v10/channels/")
                && r.path.ends_with("/messages")
        })
        .await
        .expect("a DM sent");
    let dm = body(&message);
    assert_eq!(dm["embeds"][0]["title"], "나의 Guildhall 대시보드", "{dm}");
    assert!(
        dm["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .starts_with("디스코드로 로그인하면"),
        "{dm}"
    );
    assert_eq!(
        dm["components"][0]["components"][0]["label"],
        "대시보드 열기"
    );
    let followup = standin
        .wait_for_request(WAIT, |r| {
            r.path.contains("/webhooks/") && r.path.contains(&token)
        })
        .await
        .expect("the ephemeral answer");
    assert_eq!(
        body(&followup)["content"],
        "DM을 확인해 주세요. 대시보드 링크를 보내 드렸어요."
    );

    // Closed DMs: the link comes back privately, in Korean.
    standin.set_dm_fails(true);
    let (_, token) = standin.slash_command(0, &call("ko")).unwrap();
    let followup = standin
        .wait_for_request(WAIT, |r| {
            r.path.contains("/webhooks/") && r.path.contains(&token)
        })
        .await
        .expect("the ephemeral fallback");
    let fallback = body(&followup);
    let text = fallback["content"].as_str().unwrap();
    assert!(text.starts_with("DM이 닫혀 있어서"), "{text}");
    assert!(
        text.ends_with(&format!(
            "\n{PORTAL}/discord/login?next=%2Fdiscord%2Fguilds%2F31"
        )),
        "{text}"
    );
    assert_eq!(fallback["flags"].as_u64().map(|f| f & 64), Some(64));

    // Any other client language: English.
    let (_, token) = standin.slash_command(0, &call("ja")).unwrap();
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
            .starts_with("I couldn't DM you"),
        "{}",
        followup.body
    );
    bot.shutdown().await.unwrap();
    db.drop_database().await;
}

/// Every word a person reads from the bot comes from the catalogue: no
/// string literal handed to the builders of replies, embeds and buttons.
#[test]
fn bot_replies_take_their_words_from_the_catalogue() {
    const SPEAKING: &[&str] = &[
        ".content(",
        ".title(",
        ".description(",
        ".label(",
        ".say(",
        ".field(",
        "CreateEmbedFooter::new(",
        "CreateEmbedAuthor::new(",
    ];
    fn literal_arguments(source: &str) -> Vec<String> {
        let mut found = Vec::new();
        for (n, line) in source.lines().enumerate() {
            for call in SPEAKING {
                for (at, _) in line.match_indices(call) {
                    let argument = line[at + call.len()..].trim_start();
                    if argument.starts_with('"') || argument.starts_with("format!(\"") {
                        found.push(format!("line {}: {}", n + 1, line.trim()));
                    }
                }
            }
        }
        found
    }
    assert_eq!(
        literal_arguments(r#"reply.content("Hello").ephemeral(true)"#).len(),
        1,
        "the scan finds a literal"
    );
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut dirs = vec![src];
    let mut scanned = 0;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let source = std::fs::read_to_string(&path).unwrap();
                // Unit tests may say what they like.
                let code = source.split("#[cfg(test)]").next().unwrap_or_default();
                let found = literal_arguments(code);
                assert!(found.is_empty(), "{}: {found:?}", path.display());
                scanned += 1;
            }
        }
    }
    assert!(scanned > 5, "scanned the bot's sources");
}

#[tokio::test]
async fn other_dm_failures_get_a_short_apology() {
    let logs = CapturedLogs::default();
    let _logging = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(bot::DEFAULT_LOG_FILTER))
            .with_writer(logs.clone())
            .with_ansi(false)
            .finish(),
    );
    let standin = BotStandIn::start(BotFixture::default()).await.unwrap();
    standin.fail_messages_with(500, 0, "500: Internal Server Error");
    let db = TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap()
        .unwrap();
    let bot = start_bot(&standin, &db.url, &[]).await;
    ready_for_commands(&standin, 0).await;

    let (_, token) = standin
        .slash_command(
            0,
            &SlashCommand {
                name: "dashboard".into(),
                user_id: 9,
                guild_id: Some(31),
                channel_id: 77,
                ..Default::default()
            },
        )
        .unwrap();
    let followup = standin
        .wait_for_request(WAIT, |r| {
            r.path.contains("/webhooks/") && r.path.contains(&token)
        })
        .await
        .expect("the ephemeral answer");
    let answer = body(&followup);
    let text = answer["content"].as_str().unwrap();
    assert!(text.starts_with("Sorry"), "{text}");
    assert!(
        !text.contains(PORTAL),
        "no link when the cause is unknown: {text}"
    );
    assert_eq!(
        answer["flags"].as_u64().map(|f| f & 64),
        Some(64),
        "{answer}"
    );
    bot.shutdown().await.unwrap();

    // The cause is logged; neither the bot's token nor the interaction's is.
    let logged = logs.text();
    assert!(
        logged.contains("could not DM the dashboard link"),
        "{logged}"
    );
    // Within the command's span, which names the guild and the caller.
    assert!(logged.contains("dashboard{guild=31 user=9}"), "{logged}");
    assert!(
        !logged.contains(TOKEN) && !logged.contains(&token),
        "{logged}"
    );
    standin.shutdown().await;
    db.drop_database().await;
}

#[tokio::test]
async fn a_reconnect_resumes_the_session_and_events_still_arrive() {
    const G: u64 = 1_100_000_000_000_000_201;
    let mut fixture = BotFixture::default();
    fixture.ready_guilds.insert(0, vec![G - 1]);
    let standin = BotStandIn::start(fixture).await.unwrap();
    let db = TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap()
        .unwrap();
    let bot = start_bot(&standin, &db.url, &[]).await;
    wait_for_shard(&bot.store, 0, &[G - 1]).await;

    assert!(standin.request_reconnect(0));
    assert!(
        standin
            .wait_until(WAIT, |s| s.resumed_shards() == [0])
            .await,
        "shard 0 resumed"
    );
    let resume = standin
        .frames()
        .into_iter()
        .find(|f| f.payload["op"] == 6)
        .expect("RESUME");
    assert!(
        resume.payload["d"]["seq"].as_u64().unwrap_or(0) >= 1,
        "{:?}",
        resume.payload
    );
    assert_eq!(standin.ready_shards(), [0], "resumed, not identified again");

    assert!(standin.guild_create(0, G));
    wait_for_shard(&bot.store, 0, &[G - 1, G]).await;
    bot.shutdown().await.unwrap();
    standin.shutdown().await;
    db.drop_database().await;
}

/// Polls the store until `shard` holds exactly `want`, failing at the deadline.
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

/// A portal user (as after a Discord login) who is a member of `guilds`, and
/// the portal's listing service reading `store`.
async fn portal_listing(
    store: &store::Store,
    guilds: &[u64],
) -> (StandIn, guilds::GuildListing, store::UserId) {
    const USER: &str = "900000000000000001";
    let mut member = FixtureUser::new(USER, "ann").email("ann@example.com", true);
    for g in guilds {
        member = member.guild(FixtureGuild::new(g.to_string(), format!("Guild {g}")).owned());
    }
    let oauth = StandIn::start(Fixture::new("42", "s3cret").with_user(member))
        .await
        .unwrap();
    let (access, refresh) = oauth.issue_tokens_for(USER, &["identify", "email", "guilds"]);
    let (access, refresh) = (Secret::new(access), Secret::new(refresh));
    let mut config = DiscordConfig::new("42", Secret::new("s3cret"));
    config.api_url = oauth.api_url();
    config.authorize_url = oauth.authorize_url();
    config.cdn_url = oauth.cdn_url();
    let discord = DiscordClient::new(config).unwrap();
    let me = discord.current_user(&access).await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (user, _) = store
        .oauth_callback(store::OAuthCallback {
            oauth_name: guilds::OAUTH_NAME,
            access_token: &access,
            account_id: &me.id,
            account_email: me.email.as_deref().unwrap(),
            expires_at: Some(now + 3600),
            refresh_token: Some(&refresh),
            associate_by_email: store::AssociateByEmail::IfVerified,
            is_verified_by_default: false,
        })
        .await
        .unwrap();
    let listing =
        guilds::GuildListing::new(store.clone(), discord, guilds::ListingConfig::default());
    (oauth, listing, user.id)
}

#[tokio::test]
async fn presence_across_two_processes_and_the_portal_listing() {
    const A: u64 = 1_100_000_000_000_000_101;
    const B: u64 = 1_100_000_000_000_000_102;
    const C: u64 = 1_100_000_000_000_000_103;
    const D: u64 = 1_100_000_000_000_000_104;
    let mut ran = Vec::new();
    for backend in store::testing::ALL_BACKENDS {
        let Some(db) = TestDatabase::create(backend).await.unwrap() else {
            // Uncaptured, unlike eprintln!: a passing run shows the gap.
            store::testing::announce_skip(&format!(
                "presence on {}: server absent",
                backend.name()
            ));
            continue;
        };
        ran.push(backend);
        let mut fixture = BotFixture::default();
        fixture.ready_guilds.insert(0, vec![A, B]);
        fixture.ready_guilds.insert(1, vec![D]);
        let standin = BotStandIn::start(fixture).await.unwrap();

        let first = start_bot(
            &standin,
            &db.url,
            &[("SHARD_COUNT", "2"), ("SHARD_RANGE", "0")],
        )
        .await;
        let store = first.store.clone();
        wait_for_shard(&store, 0, &[A, B]).await;

        // A second process on the other shard of the same application: its
        // READY replaces only its own shard's rows.
        let second = start_bot(
            &standin,
            &db.url,
            &[("SHARD_COUNT", "2"), ("SHARD_RANGE", "1")],
        )
        .await;
        wait_for_shard(&store, 1, &[D]).await;
        assert_eq!(
            store.bot_guilds_of_shard(0).await.unwrap(),
            [A, B],
            "{backend:?}"
        );
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

        assert!(standin.guild_create(0, C));
        assert!(standin.guild_delete(0, A, false));
        assert!(standin.guild_delete(0, B, true));
        wait_for_shard(&store, 0, &[B, C]).await;
        assert_eq!(
            store.bot_guilds_of_shard(1).await.unwrap(),
            [D],
            "{backend:?}"
        );

        // The portal's listing, on the same database, shows exactly that.
        let (oauth, listing, user) = portal_listing(&store, &[A, B, C, D]).await;
        let shown = listing.for_user(user).await.unwrap();
        let mut with_bot: Vec<String> = shown
            .guilds
            .iter()
            .filter(|g| g.bot_present)
            .map(|g| g.id.to_string())
            .collect();
        with_bot.sort();
        assert_eq!(with_bot, [B, C, D].map(|g| g.to_string()), "{backend:?}");
        let invite_a = shown.guilds.iter().find(|g| g.id.get() == A).unwrap();
        assert!(
            invite_a.invite_url.is_some(),
            "{backend:?}: A offers the invite"
        );

        first.shutdown().await.unwrap();
        second.shutdown().await.unwrap();
        oauth.shutdown().await;
        standin.shutdown().await;
        store.close().await;
        db.drop_database().await;
    }
    assert!(ran.contains(&Backend::Sqlite), "{ran:?}");
    eprintln!("presence checked on {ran:?}");
}

#[tokio::test]
async fn fast_leave_and_rejoin_end_in_the_gateways_final_state() {
    // serenity handles each event in its own task, so these may be handled
    // in any order; the store must still end as the gateway left things.
    const X: u64 = 1_100_000_000_000_000_301;
    const Y: u64 = 1_100_000_000_000_000_302;
    const Z: u64 = 1_100_000_000_000_000_303;
    const W: u64 = 1_100_000_000_000_000_300;
    let mut fixture = BotFixture::default();
    fixture.ready_guilds.insert(0, vec![W]);
    let standin = BotStandIn::start(fixture).await.unwrap();
    let db = TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap()
        .unwrap();
    let bot = start_bot(&standin, &db.url, &[]).await;
    // READY's replacement has been written: it cannot overtake what follows.
    wait_for_shard(&bot.store, 0, &[W]).await;
    for (guild, joined) in [
        (X, true),
        (X, false),
        (X, true),
        (X, false),
        (Y, true),
        (Y, false),
        (Y, true),
    ] {
        let sent = if joined {
            standin.guild_create(0, guild)
        } else {
            standin.guild_delete(0, guild, false)
        };
        assert!(sent);
    }
    // Dispatched last: once it is recorded, every earlier event is in
    // serenity's cache, and any handler still to run only confirms the end state.
    assert!(standin.guild_create(0, Z));
    wait_for_shard(&bot.store, 0, &[W, Y, Z]).await;
    // Events for X and Y came too close together to trust their handling
    // order: the bot asked Discord about them, and only them.
    let asked: std::collections::HashSet<String> = standin
        .requests()
        .iter()
        .filter_map(|r| r.path.strip_prefix("/api/v10/guilds/").map(str::to_owned))
        .collect();
    assert_eq!(
        asked,
        [X, Y].map(|g| g.to_string()).into_iter().collect(),
        "membership checks"
    );
    bot.shutdown().await.unwrap();
    standin.shutdown().await;
    db.drop_database().await;
}

#[tokio::test]
async fn the_health_file_is_written_while_a_shard_is_connected() {
    let dir = std::env::temp_dir().join(format!("gh-bot-health-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("alive");
    let standin = BotStandIn::start(BotFixture::default()).await.unwrap();
    let db = TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap()
        .unwrap();
    let path = file.to_str().unwrap();
    let bot = start_bot(&standin, &db.url, &[("BOT_HEALTH_FILE", path)]).await;
    let deadline = std::time::Instant::now() + WAIT;
    while !file.exists() {
        assert!(std::time::Instant::now() < deadline, "no health file");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bot.shutdown().await.unwrap();
    standin.shutdown().await;
    db.drop_database().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn dev_guild_registration_stays_in_that_guild() {
    let standin = BotStandIn::start(BotFixture::default()).await.unwrap();
    let db = TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap()
        .unwrap();
    let bot = start_bot(&standin, &db.url, &[("DISCORD_DEV_GUILD_ID", "31")]).await;
    ready_for_commands(&standin, 0).await;
    let names: Vec<_> = standin
        .commands(Some(31))
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(names, ["dashboard", "tag"]);
    assert!(standin.commands(None).is_empty(), "nothing global");
    bot.shutdown().await.unwrap();
    standin.shutdown().await;
    db.drop_database().await;
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
        ..Default::default()
    };
    let from_guild: Interaction =
        serde_json::from_value(shapes::interaction(1, 2, "t", &call, user.clone(), None))
            .expect("guild interaction");
    assert!(
        matches!(from_guild, Interaction::Command(ref c) if c.guild_id.map(|g| g.get()) == Some(7))
    );
    let dm_call = SlashCommand {
        guild_id: None,
        ..call
    };
    let from_dm: Interaction =
        serde_json::from_value(shapes::interaction(1, 2, "t", &dm_call, user.clone(), None))
            .expect("DM interaction");
    assert!(matches!(from_dm, Interaction::Command(ref c) if c.user.id.get() == 5));
    let tag = SlashCommand {
        name: "tag".into(),
        user_id: 5,
        guild_id: Some(7),
        channel_id: 9,
        options: vec![("name".into(), "ru".into())],
        locale: Some("ko".into()),
        guild_locale: None,
    };
    let typing: Interaction = serde_json::from_value(shapes::interaction(
        1,
        2,
        "t",
        &tag,
        user.clone(),
        Some("name"),
    ))
    .expect("autocomplete interaction");
    assert!(
        matches!(typing, Interaction::Autocomplete(ref c) if c.locale == "ko" && c.data.autocomplete().is_some_and(|o| o.value == "ru"))
    );
    let _: serenity::all::Member =
        serde_json::from_value(shapes::member_add(7, user.clone())).expect("GUILD_MEMBER_ADD");
    let channel = discord_standin::gateway::BotChannel::text(11, "welcome", 2);
    let parsed: serenity::all::GuildChannel =
        serde_json::from_value(shapes::channel(7, &channel)).expect("CHANNEL_CREATE");
    assert_eq!((parsed.name.as_str(), parsed.position), ("welcome", 2));
    let named = BotGuild {
        id: 7,
        name: "Seven".into(),
        member_count: 3,
        channels: vec![channel],
    };
    let guild: Guild =
        serde_json::from_value(shapes::guild_of(8, &named)).expect("GUILD_CREATE with_channels");
    assert_eq!(
        (
            guild.name.as_str(),
            guild.member_count,
            guild.channels.len()
        ),
        ("Seven", 3, 1)
    );
    let _: Guild = serde_json::from_value(shapes::guild(7, 8, 0, 0)).expect("GUILD_CREATE guild");
    let full: Guild =
        serde_json::from_value(shapes::guild(7, 8, 3, 2)).expect("with channels and roles");
    assert_eq!((full.channels.len(), full.roles.len()), (3, 3));
    let _: Message =
        serde_json::from_value(shapes::message(1, 2, user.clone(), "hi")).expect("message");
    let _: PrivateChannel =
        serde_json::from_value(shapes::dm_channel(3, user)).expect("DM channel");
    let submitted = serde_json::json!({"name": "dashboard", "description": "d", "type": 1});
    let _: serenity::all::Command =
        serde_json::from_value(shapes::registered_command(4, 2, Some(7), &submitted))
            .expect("registered command");
}

#[test]
fn a_missing_token_is_one_clear_line_and_a_failing_exit() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bot"))
        .env_clear()
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("DISCORD_BOT_TOKEN is not set"), "{stderr}");
}

#[tokio::test]
async fn the_binary_connects_and_stops_cleanly_on_sigterm() {
    let standin = BotStandIn::start(BotFixture::default()).await.unwrap();
    let db = TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap()
        .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bot"))
        .env_clear()
        .current_dir(std::env::temp_dir())
        .env("DISCORD_BOT_TOKEN", TOKEN)
        .env("DATABASE_URL", &db.url)
        .env("DISCORD_PROXY_URL", standin.base_url())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ready = standin
        .wait_until(WAIT, |s| s.ready_shards().contains(&0))
        .await;
    let pid = child.id().to_string();
    if !ready {
        let _ = child.kill();
        panic!("the binary never became ready");
    }
    let term = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(term.success());
    let deadline = std::time::Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running after SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
    standin.shutdown().await;
    db.drop_database().await;
}

/// Who the tests' settings writes are attributed to in the audit log.
fn manager() -> store::AuditActor {
    store::AuditActor {
        user_id: None,
        discord_user_id: 900_000_000_000_000_001,
        discord_username: "ann".into(),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The body of the bot's first answer to an interaction, once it has come.
async fn answer_to(standin: &BotStandIn, id: u64, token: &str, wait: Duration) -> Option<Value> {
    let path = format!("/api/v10/interactions/{id}/{token}/callback");
    standin
        .wait_for_request(wait, |r| r.path == path && r.status != 0)
        .await
        .map(|r| body(&r))
}

fn tag_call(guild: u64, name: &str, locale: &str) -> SlashCommand {
    SlashCommand {
        name: "tag".into(),
        user_id: 5_555_555_555_555_555,
        guild_id: Some(guild),
        channel_id: 77,
        options: vec![("name".into(), name.into())],
        locale: Some(locale.into()),
        guild_locale: None,
    }
}

/// Types `/tag` again and again until `check` accepts the answer, failing
/// if that takes longer than Discord-to-portal changes may (2 s).
async fn tag_until(
    standin: &BotStandIn,
    call: &SlashCommand,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let (id, token) = standin.slash_command(0, call).expect("dispatched");
        let answer = answer_to(standin, id, token.as_str(), WAIT)
            .await
            .expect("an answer");
        if check(&answer) {
            return answer;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} not seen within 2 s; last answer {answer}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn tags_saved_on_the_portal_are_answered_autocompleted_and_never_ping() {
    const G: u64 = 1_100_000_000_000_000_401;
    let mut ran = Vec::new();
    for backend in store::testing::ALL_BACKENDS {
        let Some(db) = TestDatabase::create(backend).await.unwrap() else {
            store::testing::announce_skip(&format!("/tag on {}: server absent", backend.name()));
            continue;
        };
        ran.push(backend);
        let standin = BotStandIn::start(BotFixture::default()).await.unwrap();
        let bot = start_bot(&standin, &db.url, &[("BOT_MEMBERS_INTENT", "off")]).await;
        let store = bot.store.clone();
        ready_for_commands(&standin, 0).await;

        // Unknown at first: a private note, in the user's language.
        let call = tag_call(G, "rules", "en-US");
        let (id, token) = standin.slash_command(0, &call).unwrap();
        let first = answer_to(&standin, id, &token, WAIT)
            .await
            .expect("answered");
        assert_eq!(first["type"], 4, "{backend:?}: {first}");
        assert_eq!(
            first["data"]["content"], "This server has no tag named `rules`.",
            "{backend:?}"
        );
        assert_eq!(first["data"]["flags"], 64, "ephemeral");

        // Saved as the portal saves it: the bot, which now holds the guild,
        // sees it through its revision poll.
        let content = "Read the rules, @everyone and <@&1100000000000000999>!";
        store
            .guild_tag_save(G, "rules", content, &manager(), now())
            .await
            .unwrap();
        let answer = tag_until(&standin, &call, "the saved tag", |a| {
            a["data"]["content"] == content
        })
        .await;
        assert_eq!(answer["type"], 4);
        assert_eq!(
            answer["data"]["flags"].as_u64().unwrap_or(0) & 64,
            0,
            "public"
        );
        let mentions = &answer["data"]["allowed_mentions"];
        assert_eq!(
            mentions["parse"],
            serde_json::json!([]),
            "{backend:?}: {answer}"
        );
        for list in ["users", "roles"] {
            assert!(
                mentions[list].as_array().is_none_or(|l| l.is_empty()),
                "{answer}"
            );
        }

        // Autocomplete lists the guild's tags by prefix.
        store
            .guild_tag_save(G, "faq", "Ask away.", &manager(), now())
            .await
            .unwrap();
        let complete = |typed: &str| {
            let mut call = tag_call(G, typed, "en-US");
            call.options = vec![("name".into(), typed.into())];
            standin.autocomplete(0, &call, "name").unwrap()
        };
        let mut listed = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while listed.len() < 2 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "faq never listed: {listed:?}"
            );
            let (id, token) = complete("");
            let choices = answer_to(&standin, id, &token, WAIT).await.unwrap();
            assert_eq!(choices["type"], 8, "{choices}");
            listed = choices["data"]["choices"]
                .as_array()
                .cloned()
                .unwrap_or_default();
        }
        assert_eq!(
            listed,
            [
                serde_json::json!({"name": "faq", "value": "faq"}),
                serde_json::json!({"name": "rules", "value": "rules"})
            ]
        );
        let (id, token) = complete("ru");
        let choices = answer_to(&standin, id, &token, WAIT).await.unwrap();
        assert_eq!(
            choices["data"]["choices"],
            serde_json::json!([{"name": "rules", "value": "rules"}])
        );

        // The guild's language setting overrides the user's client language.
        let unknown = tag_call(G, "nope", "en-US");
        let mut update = store::PreferencesUpdate {
            language: store::GuildLanguage::Ko,
            welcome_enabled: false,
            welcome_channel_id: None,
            welcome_message: store::DEFAULT_WELCOME_MESSAGE.into(),
        };
        store
            .guild_preferences_save(G, &update, 0, &manager(), now())
            .await
            .unwrap();
        let korean = tag_until(&standin, &unknown, "the Korean reply", |a| {
            a["data"]["content"] == "이 서버에는 `nope` 태그가 없어요."
        })
        .await;
        assert_eq!(korean["data"]["flags"], 64);
        // Back to automatic: the user's own language (Korean client) decides.
        update.language = store::GuildLanguage::Auto;
        store
            .guild_preferences_save(G, &update, 1, &manager(), now())
            .await
            .unwrap();
        tag_until(&standin, &unknown, "English again", |a| {
            a["data"]["content"] == "This server has no tag named `nope`."
        })
        .await;
        let (id, token) = standin
            .slash_command(0, &tag_call(G, "nope", "ko"))
            .unwrap();
        let answer = answer_to(&standin, id, &token, WAIT).await.unwrap();
        assert_eq!(
            answer["data"]["content"],
            "이 서버에는 `nope` 태그가 없어요."
        );

        // Set to English: English whatever the client speaks, for /tag and
        // /dashboard alike.
        update.language = store::GuildLanguage::En;
        store
            .guild_preferences_save(G, &update, 2, &manager(), now())
            .await
            .unwrap();
        tag_until(
            &standin,
            &tag_call(G, "nope", "ko"),
            "English for a Korean client",
            |a| a["data"]["content"] == "This server has no tag named `nope`.",
        )
        .await;
        let dashboard = SlashCommand {
            name: "dashboard".into(),
            user_id: 5_555,
            guild_id: Some(G),
            channel_id: 77,
            locale: Some("ko".into()),
            ..Default::default()
        };
        let (_, token) = standin.slash_command(0, &dashboard).unwrap();
        let followup = standin
            .wait_for_request(WAIT, |r| {
                r.path.contains("/webhooks/") && r.path.contains(&token)
            })
            .await
            .expect("the /dashboard answer");
        assert_eq!(
            body(&followup)["content"],
            "Check your DMs: I sent you a link to the dashboard.",
            "the server's English beats the client's Korean"
        );

        // Deleted on the portal: gone from the bot too.
        store
            .guild_tag_delete(G, "rules", &manager(), now())
            .await
            .unwrap();
        tag_until(&standin, &call, "the deletion", |a| {
            a["data"]["flags"] == 64
        })
        .await;

        bot.shutdown().await.unwrap();
        standin.shutdown().await;
        store.close().await;
        db.drop_database().await;
    }
    assert!(ran.contains(&Backend::Sqlite), "{ran:?}");
}

#[tokio::test]
async fn a_new_member_is_welcomed_in_the_chosen_channel_and_refusals_are_recorded() {
    const G: u64 = 1_100_000_000_000_000_501;
    const WELCOME: u64 = 1_100_000_000_000_000_511;
    const OTHER: u64 = 1_100_000_000_000_000_512;
    const NEWCOMER: u64 = 1_100_000_000_000_000_599;
    let standin = BotStandIn::start(BotFixture {
        application_flags: GATEWAY_GUILD_MEMBERS,
        ..BotFixture::default()
    })
    .await
    .unwrap();
    let db = TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap()
        .unwrap();
    // BOT_MEMBERS_INTENT unset: the application's flags decide.
    let bot = start_bot(&standin, &db.url, &[]).await;
    let store = bot.store.clone();
    ready_for_commands(&standin, 0).await;
    assert_eq!(
        standin.identified_intents(0),
        Some(1 | 2),
        "GUILDS and GUILD_MEMBERS"
    );
    assert_eq!(store.bot_members_intent().await.unwrap(), Some(true));

    let guild = BotGuild {
        id: G,
        name: "Tea House".into(),
        member_count: 41,
        channels: vec![
            BotChannel::text(WELCOME, "welcome", 1),
            BotChannel::text(OTHER, "general", 0),
            BotChannel {
                id: G + 1,
                name: "Voice".into(),
                kind: 2,
                position: 0,
            },
        ],
    };
    assert!(standin.guild_create_with(0, &guild));
    let names = |store: store::Store| async move {
        store
            .bot_guild_channels(G)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    while names(store.clone()).await != ["general", "welcome", "Voice"] {
        assert!(
            tokio::time::Instant::now() < deadline,
            "channels not recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    store
        .guild_preferences_save(
            G,
            &store::PreferencesUpdate {
                language: store::GuildLanguage::Auto,
                welcome_enabled: true,
                welcome_channel_id: Some(WELCOME),
                welcome_message: "Welcome {user} to {server}, member #{member_count}! @everyone"
                    .into(),
            },
            0,
            &manager(),
            now(),
        )
        .await
        .unwrap();
    assert!(standin.member_add(0, G, NEWCOMER, "newcomer"));
    let posted = standin
        .wait_for_request(WAIT, |r| {
            r.path == format!("/api/v10/channels/{WELCOME}/messages") && r.status != 0
        })
        .await
        .expect("the welcome post");
    assert_eq!(posted.status, 200);
    let sent = body(&posted);
    assert_eq!(
        sent["content"],
        format!("Welcome <@{NEWCOMER}> to Tea House, member #42! @everyone")
    );
    // Only the newcomer is pinged; @everyone stays text.
    assert_eq!(sent["allowed_mentions"]["parse"], serde_json::json!([]));
    assert_eq!(
        sent["allowed_mentions"]["users"],
        serde_json::json!([NEWCOMER.to_string()])
    );
    assert!(standin.messages_to(OTHER).is_empty());
    assert_eq!(store.guild_welcome_failure(G).await.unwrap(), None);

    // The bot lost its permission there: the refusal is recorded.
    standin.set_channel_failure(WELCOME, Some(MessageFailure::MissingPermissions));
    assert!(standin.member_add(0, G, NEWCOMER + 1, "second"));
    let deadline = tokio::time::Instant::now() + WAIT;
    let failure = loop {
        if let Some(f) = store.guild_welcome_failure(G).await.unwrap() {
            break f;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "failure not recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        (failure.channel_id, failure.code, failure.message.as_str()),
        (WELCOME, 50013, "Missing Permissions")
    );
    assert_eq!(standin.messages_to(WELCOME).len(), 2);

    // Permission back: the next welcome goes through and clears it; the
    // count went up with each join.
    standin.set_channel_failure(WELCOME, None);
    assert!(standin.member_remove(0, G, NEWCOMER));
    assert!(standin.member_add(0, G, NEWCOMER + 2, "third"));
    let deadline = tokio::time::Instant::now() + WAIT;
    while store.guild_welcome_failure(G).await.unwrap().is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "failure not cleared"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let last = standin.messages_to(WELCOME).pop().unwrap();
    assert_eq!(
        last.1["content"],
        format!(
            "Welcome <@{}> to Tea House, member #43! @everyone",
            NEWCOMER + 2
        )
    );

    // Channels follow CHANNEL_UPDATE / CREATE / DELETE, and leaving.
    assert!(standin.channel_update(0, G, &BotChannel::text(WELCOME, "hello", 1)));
    assert!(standin.channel_create(0, G, &BotChannel::text(G + 2, "new", 2)));
    assert!(standin.channel_delete(0, G, &BotChannel::text(OTHER, "general", 0)));
    let deadline = tokio::time::Instant::now() + WAIT;
    while names(store.clone()).await != ["hello", "new", "Voice"] {
        assert!(
            tokio::time::Instant::now() < deadline,
            "channel events not recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(standin.guild_delete(0, G, false));
    let deadline = tokio::time::Instant::now() + WAIT;
    while !names(store.clone()).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "channels kept after leaving"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    bot.shutdown().await.unwrap();
    standin.shutdown().await;
    db.drop_database().await;
}

#[tokio::test]
async fn the_binary_survives_close_4014_and_runs_without_the_members_intent() {
    let standin = BotStandIn::start(BotFixture::default()).await.unwrap();
    let db = TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap()
        .unwrap();
    // Forced on, while the application lacks the Server Members Intent.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bot"))
        .env_clear()
        .current_dir(std::env::temp_dir())
        .env("DISCORD_BOT_TOKEN", TOKEN)
        .env("DATABASE_URL", &db.url)
        .env("DISCORD_PROXY_URL", standin.base_url())
        .env("BOT_MEMBERS_INTENT", "on")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ready = standin
        .wait_until(WAIT, |s| s.ready_shards().contains(&0))
        .await;
    let alive = child.try_wait().unwrap().is_none();
    let pid = child.id().to_string();
    if !ready || !alive {
        let _ = child.kill();
        panic!("ready: {ready}, still running: {alive}");
    }
    assert_eq!(standin.disallowed_identifies(), [0], "refused once");
    let intents: Vec<u64> = standin
        .frames()
        .iter()
        .filter(|f| f.payload["op"] == 2)
        .filter_map(|f| f.payload["d"]["intents"].as_u64())
        .collect();
    assert_eq!(intents, [1 | 2, 1], "then without GUILD_MEMBERS");
    let store = db.store().await;
    assert_eq!(store.bot_members_intent().await.unwrap(), Some(false));

    // Still answering commands.
    ready_for_commands(&standin, 0).await;
    let (id, token) = standin
        .slash_command(0, &tag_call(31, "nope", "en-US"))
        .unwrap();
    assert!(answer_to(&standin, id, &token, WAIT).await.is_some());

    let term = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(term.success());
    let deadline = std::time::Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running after SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
    store.close().await;
    standin.shutdown().await;
    db.drop_database().await;
}
