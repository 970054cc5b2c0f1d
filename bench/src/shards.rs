//! The bot in many servers: shards split over two processes
//! (`SHARD_COUNT`, `SHARD_RANGE`) on one database, as a deployment runs it.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use discord_standin::gateway::{BotFixture, BotStandIn, SessionStartLimit};
use store::Backend;
use store::testing::TestDatabase;
use tokio::process::{Child, Command};

use crate::{BOT_GUILD_CHANNELS, BOT_GUILD_ROLES, BOT_TOKEN, Res, memory};

/// Discord allows one IDENTIFY per 5 s per rate-limit bucket; with
/// `max_concurrency` 1 (what `/gateway/bot` reports to a bot in fewer than
/// 150,000 servers) there is one bucket.
pub const IDENTIFY_INTERVAL: Duration = Duration::from_secs(5);

pub struct ShardRun {
    pub guilds: usize,
    pub shards: u32,
    pub processes: usize,
    /// Start of both processes → every shard's READY.
    pub ready_after: Duration,
    /// Start → every guild's presence row written.
    pub rows_after: Duration,
    /// VmHWM per process, kB.
    pub hwm_kb: Vec<u64>,
    pub rows_correct: bool,
    pub database: &'static str,
}

/// Discord's shard of a guild: `(guild_id >> 22) % num_shards`.
fn shard_of(guild: u64, shards: u32) -> u32 {
    ((guild >> 22) % u64::from(shards)) as u32
}

pub async fn run(bins: &Path, dir: &Path, quick: bool, portal_url: &str) -> Res<ShardRun> {
    let (guilds, shards) = if quick { (500, 2) } else { (25_000, 10) };
    // Ids spread over the shards as Discord's would be (timestamps in the
    // high bits).
    let ids: Vec<u64> = (0..guilds as u64)
        .map(|i| 1_600_000_000_000_000_000 + (i << 22) + i % 4_096)
        .collect();
    let mut by_shard: HashMap<u32, Vec<u64>> = HashMap::new();
    for &id in &ids {
        by_shard.entry(shard_of(id, shards)).or_default().push(id);
    }
    let (db, label) = match TestDatabase::create(Backend::Postgres).await? {
        Some(db) => (db, "PostgreSQL"),
        None => (
            TestDatabase::create(Backend::Sqlite)
                .await?
                .ok_or("no SQLite")?,
            "SQLite",
        ),
    };
    // Migrated before the processes start, as a deployment's first process
    // (or `portal migrate`) would have done.
    db.store().await.close().await;
    let standin = BotStandIn::start(BotFixture {
        ready_guilds: by_shard.clone(),
        recommended_shards: shards,
        guild_channels: BOT_GUILD_CHANNELS,
        guild_roles: BOT_GUILD_ROLES,
        ..BotFixture::default()
    })
    .await?;
    let result = async {
        let half = shards / 2;
        let ranges = [format!("0-{}", half - 1), format!("{half}-{}", shards - 1)];
        let started = Instant::now();
        let mut children: Vec<Child> = Vec::new();
        for (i, range) in ranges.iter().enumerate() {
            let log = std::fs::File::create(dir.join(format!("bot-{i}.log")))?;
            children.push(
                Command::new(bins.join("bot"))
                    .current_dir(dir)
                    .env_clear()
                    .env("DISCORD_BOT_TOKEN", BOT_TOKEN)
                    .env("DATABASE_URL", &db.url)
                    .env("DISCORD_PROXY_URL", standin.base_url())
                    .env("PORTAL_PUBLIC_URL", portal_url)
                    .env("SHARD_COUNT", shards.to_string())
                    .env("SHARD_RANGE", range)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(log)
                    .kill_on_drop(true)
                    .spawn()?,
            );
        }
        // Serenity boots one process's shards 5 s apart; a generous bound.
        let deadline = IDENTIFY_INTERVAL * (shards + 12);
        if !standin
            .wait_until(deadline, |s| s.ready_shards().len() as u32 >= shards)
            .await
        {
            return Err(format!(
                "bot shards not all ready within {} s (ready: {:?}); see {}/bot-*.log",
                deadline.as_secs(),
                standin.ready_shards(),
                dir.display()
            )
            .into());
        }
        let ready_after = started.elapsed();
        for (&shard, guilds) in &by_shard {
            for &id in guilds {
                if !standin.guild_create(shard, id) {
                    return Err(format!("bot shard {shard} disconnected").into());
                }
            }
        }
        let store = db.store().await;
        let expected: BTreeSet<(u32, u64)> = by_shard
            .iter()
            .flat_map(|(&s, g)| g.iter().map(move |&id| (s, id)))
            .collect();
        let rows_deadline = Instant::now() + Duration::from_secs(120);
        let rows_correct = loop {
            let mut rows = BTreeSet::new();
            for s in 0..shards {
                rows.extend(
                    store
                        .bot_guilds_of_shard(s)
                        .await?
                        .into_iter()
                        .map(|id| (s, id)),
                );
            }
            if rows == expected {
                break true;
            }
            if Instant::now() > rows_deadline {
                break false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let rows_after = started.elapsed();
        store.close().await;
        let mut hwm_kb = Vec::new();
        for child in &mut children {
            if let Some(status) = child.try_wait()? {
                return Err(format!("a bot process exited with {status}").into());
            }
            let pid = child.id().ok_or("bot exited")?.to_string();
            hwm_kb.push(memory(&pid)?.1);
        }
        for mut child in children {
            let _ = child.kill().await;
        }
        Res::Ok(ShardRun {
            guilds,
            shards,
            processes: 2,
            ready_after,
            rows_after,
            hwm_kb,
            rows_correct,
            database: label,
        })
    }
    .await;
    standin.shutdown().await;
    db.drop_database().await;
    result
}

/// Time to every shard's READY for one process of 10 shards, under
/// Discord's identify rules (the stand-in enforcing them), for a given
/// `max_concurrency`.
pub struct PacingRun {
    pub max_concurrency: u64,
    pub shards: u32,
    /// `None`: skipped (`--quick` leaves out the slow one).
    pub ready_after: Option<Duration>,
    /// IDENTIFYs the stand-in refused as Discord would (must be 0).
    pub refused: usize,
}

pub async fn pacing(bins: &Path, dir: &Path, quick: bool) -> Res<Vec<PacingRun>> {
    const SHARDS: u32 = 10;
    let mut runs = Vec::new();
    for max_concurrency in [1u64, 16] {
        if quick && max_concurrency == 1 {
            println!(
                "bench: SKIPPED shard pacing with max_concurrency 1 in --quick (10 shards take ~46 s; the full run measures it)"
            );
            runs.push(PacingRun {
                max_concurrency,
                shards: SHARDS,
                ready_after: None,
                refused: 0,
            });
            continue;
        }
        let db = TestDatabase::create(Backend::Sqlite)
            .await?
            .ok_or("no SQLite")?;
        db.store().await.close().await;
        let fixture = BotFixture {
            recommended_shards: SHARDS,
            enforce_identify_limits: true,
            session_start_limit: SessionStartLimit {
                max_concurrency,
                ..SessionStartLimit::default()
            },
            ..BotFixture::default()
        };
        let standin = BotStandIn::start(fixture).await?;
        let log = std::fs::File::create(dir.join(format!("bot-pacing-{max_concurrency}.log")))?;
        let started = Instant::now();
        let mut child = Command::new(bins.join("bot"))
            .current_dir(dir)
            .env_clear()
            .env("DISCORD_BOT_TOKEN", BOT_TOKEN)
            .env("DATABASE_URL", &db.url)
            .env("DISCORD_PROXY_URL", standin.base_url())
            .env("SHARD_COUNT", SHARDS.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()?;
        let deadline = IDENTIFY_INTERVAL * (SHARDS + 12);
        let ready = standin
            .wait_until(deadline, |s| {
                let ready = s.ready_shards();
                (0..SHARDS).all(|id| ready.contains(&id))
            })
            .await;
        let ready_after = started.elapsed();
        let refused = standin.refused_identifies().len();
        let _ = child.kill().await;
        standin.shutdown().await;
        db.drop_database().await;
        if !ready {
            return Err(format!(
                "shard pacing (max_concurrency {max_concurrency}): not all ready within {} s; see {}/bot-pacing-{max_concurrency}.log",
                deadline.as_secs(),
                dir.display()
            )
            .into());
        }
        runs.push(PacingRun {
            max_concurrency,
            shards: SHARDS,
            ready_after: Some(ready_after),
            refused,
        });
    }
    Ok(runs)
}
