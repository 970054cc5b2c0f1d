//! Stopping the real bot binary while its shards are still starting (a
//! deploy or `docker compose restart` in the first seconds): SIGTERM at
//! several moments of start-up must end in exit 0 within the bound, which
//! leaves room under Docker Compose's stop grace period. Shards start as
//! Discord's limits allow (the stand-in enforcing them), and presence
//! writes wait through a database outage.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use discord_standin::gateway::{BotFixture, BotStandIn, SessionStartLimit};
use store::Backend;
use store::testing::TestDatabase;
use store::testing::outage::CuttableProxy;
use telemetry::CapturedLogs;

const TOKEN: &str = "MTIwMDAwMDAwMDAwMDAwMDAwMQ.GhXyZa.standin-token-not-a-secret-0123456789";
/// For the moment to arrive (start-up itself has no deadline of its own).
const WAIT: Duration = Duration::from_secs(30);
/// SIGTERM to exit, at any moment of start-up (issue: within 8 s).
const EXIT_WITHIN: Duration = Duration::from_secs(8);

/// Kills the child even when an assertion fails.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn identifies(standin: &BotStandIn) -> usize {
    standin
        .frames()
        .iter()
        .filter(|f| f.payload["op"] == 2)
        .count()
}

/// When, during start-up, the signal is sent.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// The bot has asked Discord its first question (database migrated,
    /// shards not started).
    FirstRequest,
    /// This many shards have identified (the rest are still to start).
    Identified(usize),
}

async fn stop_at(moment: Moment) {
    // Ten shards: at one start per 5 s, start-up would last 45 s.
    let standin = BotStandIn::start(BotFixture::default()).await.unwrap();
    let db = TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap()
        .unwrap();
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_bot"))
            .env_clear()
            .current_dir(std::env::temp_dir())
            .env("DISCORD_BOT_TOKEN", TOKEN)
            .env("DATABASE_URL", &db.url)
            .env("DISCORD_PROXY_URL", standin.base_url())
            .env("SHARD_COUNT", "10")
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let arrived = match moment {
        Moment::FirstRequest => standin.wait_until(WAIT, |s| !s.requests().is_empty()).await,
        Moment::Identified(n) => standin.wait_until(WAIT, |s| identifies(s) >= n).await,
    };
    assert!(arrived, "{moment:?} never came");
    assert!(
        identifies(&standin) < 10,
        "{moment:?}: start-up was over before the signal"
    );
    let at_signal = identifies(&standin);
    let term = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let signalled = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < EXIT_WITHIN,
            "{moment:?}: still running {EXIT_WITHIN:?} after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{moment:?}: {status:?}");
    // Stopped means stopped: no shard started after the signal (one whose
    // connection was being opened at that moment may still identify).
    let at_exit = identifies(&standin);
    assert!(
        at_exit <= at_signal + 1,
        "{moment:?}: {at_signal} shards had identified at the signal, {at_exit} at exit"
    );
    standin.shutdown().await;
    db.drop_database().await;
}

#[tokio::test]
async fn sigterm_during_start_up_exits_cleanly_within_the_bound() {
    // Each moment: exit 0 within EXIT_WITHIN of the signal.
    for moment in [
        Moment::FirstRequest,
        Moment::Identified(1),
        Moment::Identified(2),
    ] {
        stop_at(moment).await;
    }
}

/// Starts the bot in this process, exactly as `main` does.
async fn start_bot(standin: &BotStandIn, db_url: &str, extra: &[(&str, &str)]) -> bot::RunningBot {
    let mut env = settings::Env::from_pairs([
        ("DISCORD_BOT_TOKEN", TOKEN.to_owned()),
        ("DATABASE_URL", db_url.to_owned()),
        ("DISCORD_PROXY_URL", standin.base_url()),
    ]);
    for &(name, value) in extra {
        env.set(name, value);
    }
    bot::start(bot::config::BotConfig::from_env(&env).unwrap())
        .await
        .unwrap()
}

fn limited(max_concurrency: u64, remaining: u64, reset_after_ms: u64) -> BotFixture {
    BotFixture {
        session_start_limit: SessionStartLimit {
            total: 1000,
            remaining,
            reset_after_ms,
            max_concurrency,
        },
        // Discord's rules, enforced: an IDENTIFY too early is refused.
        enforce_identify_limits: true,
        ..BotFixture::default()
    }
}

#[tokio::test]
async fn shards_start_in_buckets_as_discord_allows() {
    // Eight shards of a bot allowed four concurrent IDENTIFYs: two waves,
    // each one shard per bucket. SHARD_RANGE is set, and the bot still asks
    // GET /gateway/bot for its limits.
    let standin = BotStandIn::start(limited(4, 999, 14_400_000))
        .await
        .unwrap();
    let db = TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap()
        .unwrap();
    let bot = start_bot(
        &standin,
        &db.url,
        &[("SHARD_COUNT", "8"), ("SHARD_RANGE", "0-7")],
    )
    .await;
    let all_ready = standin
        .wait_until(WAIT, |s| {
            let ready = s.ready_shards();
            (0..8).all(|id| ready.contains(&id))
        })
        .await;
    assert!(all_ready, "ready: {:?}", standin.ready_shards());
    assert_eq!(standin.refused_identifies(), [0u32; 0], "within the limits");
    assert!(!standin.requests_to("/api/v10/gateway/bot").is_empty());
    // Each bucket identified its shards in order: 0 before 4, 1 before 5…
    let order: Vec<u32> = standin.identify_times().iter().map(|(s, _)| *s).collect();
    for bucket in 0..4 {
        let first = order.iter().position(|s| *s == bucket).unwrap();
        let second = order.iter().position(|s| *s == bucket + 4).unwrap();
        assert!(first < second, "{order:?}");
    }
    assert_eq!(order.len(), 8, "each shard identified once: {order:?}");
    bot.shutdown().await.unwrap();
    standin.shutdown().await;
    db.drop_database().await;
}

#[tokio::test]
async fn an_exhausted_session_budget_is_waited_for() {
    // Two session starts left, the period ending in 1.5 s: two shards
    // start, the bot waits for the reset, asks again, starts the others.
    let standin = BotStandIn::start(limited(16, 2, 1500)).await.unwrap();
    let db = TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap()
        .unwrap();
    let bot = start_bot(&standin, &db.url, &[("SHARD_COUNT", "4")]).await;
    let all_ready = standin
        .wait_until(WAIT, |s| {
            let ready = s.ready_shards();
            (0..4).all(|id| ready.contains(&id))
        })
        .await;
    assert!(all_ready, "ready: {:?}", standin.ready_shards());
    assert_eq!(standin.refused_identifies(), [0u32; 0], "never over budget");
    assert!(
        standin.requests_to("/api/v10/gateway/bot").len() >= 2,
        "asked again after the reset"
    );
    bot.shutdown().await.unwrap();
    standin.shutdown().await;
    db.drop_database().await;
}

const UNREACHABLE: &str = "database unreachable; presence writes are queued";
const BACK: &str = "database reachable again; writing the queued presence changes";
const CHANNELS_UNREACHABLE: &str = "database unreachable; guild channel writes are queued";
const DROPPED: &str = "presence writes still queued at the shutdown deadline were dropped";

async fn wait_for_shard(store: &store::Store, shard: u32, want: &[u64]) {
    let deadline = Instant::now() + WAIT;
    loop {
        let got = store.bot_guilds_of_shard(shard).await.unwrap();
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "shard {shard}: {got:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_for_log(logs: &CapturedLogs, needle: &str, times: usize) {
    let deadline = Instant::now() + WAIT;
    while logs.count(needle) < times {
        assert!(
            Instant::now() < deadline,
            "never logged {needle:?} {times}×; the log:\n{}",
            logs.text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn presence_writes_wait_through_a_database_outage_in_order() {
    const W: u64 = 1_100_000_000_000_000_900;
    const X: u64 = 1_100_000_000_000_000_901;
    const Y: u64 = 1_100_000_000_000_000_902;
    const Z: u64 = 1_100_000_000_000_000_903;
    const Q: u64 = 1_100_000_000_000_000_904;
    let Some(db) = TestDatabase::create(Backend::Postgres).await.unwrap() else {
        store::testing::announce_skip("presence through a database outage: PostgreSQL absent");
        return;
    };
    let logs = CapturedLogs::default();
    let _logging = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_env_filter("info,serenity=warn,poise=warn")
            .finish(),
    );
    let store = db.store().await; // migrated, on the real port
    let (proxy, url) = CuttableProxy::in_front_of(&db.url).await.unwrap();

    let mut fixture = BotFixture::default();
    fixture.ready_guilds.insert(0, vec![W]);
    let standin = BotStandIn::start(fixture).await.unwrap();
    let bot = start_bot(&standin, &url, &[]).await;
    wait_for_shard(&store, 0, &[W]).await;

    // The database goes away while guilds come and go.
    proxy.cut();
    assert!(standin.guild_create(0, X));
    assert!(standin.guild_create(0, Y));
    assert!(standin.guild_delete(0, W, false));
    assert!(standin.guild_create(0, Z));
    assert!(standin.guild_delete(0, X, false));
    // A channel made meanwhile waits too (the portal offers it for welcomes).
    let channel = discord_standin::gateway::BotChannel::text(
        1_100_000_000_000_000_990,
        "made-during-the-outage",
        3,
    );
    assert!(standin.channel_create(0, Y, &channel));
    wait_for_log(&logs, UNREACHABLE, 1).await;
    wait_for_log(&logs, CHANNELS_UNREACHABLE, 1).await;
    assert_eq!(
        store.bot_guilds_of_shard(0).await.unwrap(),
        [W],
        "nothing written while it is away"
    );

    // Back: every change is written, in order (X joined then left: absent).
    proxy.restore().await.unwrap();
    wait_for_shard(&store, 0, &[Y, Z]).await;
    wait_for_log(&logs, BACK, 1).await;
    let deadline = Instant::now() + WAIT;
    while !store
        .bot_guild_channels(Y)
        .await
        .unwrap()
        .iter()
        .any(|c| c.id == channel.id)
    {
        assert!(
            Instant::now() < deadline,
            "the channel made during the outage was lost"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        logs.count(CHANNELS_UNREACHABLE),
        1,
        "said once, not per change"
    );
    assert_eq!(logs.count(UNREACHABLE), 1, "said once, not per change");
    assert_eq!(logs.count(BACK), 1);

    // Away again, and the bot is stopped: it does not wait past its bound,
    // and says once what it dropped.
    proxy.cut();
    assert!(standin.guild_create(0, Q));
    wait_for_log(&logs, UNREACHABLE, 2).await;
    let stopped = tokio::time::timeout(EXIT_WITHIN, bot.shutdown()).await;
    assert!(matches!(stopped, Ok(Ok(()))), "{stopped:?}");
    assert_eq!(logs.count(DROPPED), 1);

    standin.shutdown().await;
    store.close().await;
    drop(proxy);
    db.drop_database().await;
}
