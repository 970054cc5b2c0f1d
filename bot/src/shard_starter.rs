//! Starts this process's shards as Discord allows, and stops them at once
//! when asked.
//!
//! Discord lets a bot IDENTIFY `max_concurrency` shards per 5 seconds: one
//! per rate-limit bucket (`shard_id % max_concurrency`), and at most
//! `remaining` new sessions until `reset_after` (both from `GET
//! /gateway/bot`). serenity 0.12's `ShardManager` ignores all three: its
//! queue starts the shards it is given one at a time, a fixed 5 s apart
//! (`WAIT_BETWEEN_BOOTS_IN_SECONDS` in `shard_queuer.rs`, no option), and
//! while it sleeps between two starts it reads no message, so a shutdown
//! requested during start-up waited behind every start still queued.
//!
//! Without forking serenity, this module uses its public parts differently:
//! every shard gets a `ShardManager` of its own, whose queue then only ever
//! holds that one shard (started at once, and restarted by serenity after a
//! lost session), and the pacing is decided here — in waves holding at most
//! one shard of each bucket, a wave [`IDENTIFY_WINDOW`] after the previous
//! one's shards are connected, within the session budget. Stopping ends the
//! pacing at once and closes every started shard in parallel.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serenity::all::{
    ClientBuilder, ConnectionStage, EventHandler, GatewayIntents, Http, ShardManager,
    ShardManagerOptions,
};
use serenity::framework::Framework;
use serenity::futures::StreamExt as _;
use serenity::gateway::GatewayError;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::config::{BotConfig, Sharding};
use crate::error::BotError;
use crate::health::CurrentRunners;

/// Discord's identify rate limit window, per bucket.
pub const IDENTIFY_WINDOW: Duration = Duration::from_secs(5);
/// How long a started wave may take to be connected before the next one is
/// paced from the moment the wait ended instead.
const CONNECTED_WITHIN: Duration = Duration::from_secs(15);
/// How long stopping waits for the started shards to close their sessions
/// (in parallel): part of the bot's shutdown bound.
pub const CLOSE_WITHIN: Duration = Duration::from_secs(3);

/// What `GET /gateway/bot` says about starting sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartLimit {
    pub max_concurrency: u32,
    pub remaining: u64,
    pub reset_after: Duration,
}

impl From<&serenity::model::gateway::SessionStartLimit> for StartLimit {
    fn from(l: &serenity::model::gateway::SessionStartLimit) -> Self {
        StartLimit {
            // 0 would be Discord's mistake; 1 is always allowed.
            max_concurrency: u32::try_from(l.max_concurrency).unwrap_or(u32::MAX).max(1),
            remaining: l.remaining,
            reset_after: Duration::from_millis(l.reset_after),
        }
    }
}

/// The order shards start in: wave `i` holds the `i`-th shard of each
/// rate-limit bucket, so no bucket identifies twice in one window.
pub fn waves(shards: &[u32], max_concurrency: u32) -> Vec<Vec<u32>> {
    let buckets_of = max_concurrency.max(1);
    let mut buckets: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for &shard in shards {
        buckets.entry(shard % buckets_of).or_default().push(shard);
    }
    let depth = buckets.values().map(Vec::len).max().unwrap_or(0);
    (0..depth)
        .map(|i| {
            let mut wave: Vec<u32> = buckets.values().filter_map(|b| b.get(i).copied()).collect();
            wave.sort_unstable();
            wave
        })
        .collect()
}

/// How a wait ended.
enum Waited {
    Elapsed,
    Stopped,
    Fatal(GatewayError),
}

/// One gateway client's shards, each with its own manager.
pub struct Fleet {
    http: Arc<Http>,
    data: Arc<serenity::prelude::RwLock<serenity::prelude::TypeMap>>,
    ws_url: Arc<serenity::prelude::Mutex<String>>,
    framework: Arc<OnceLock<Arc<dyn Framework>>>,
    handlers: Vec<Arc<dyn EventHandler>>,
    intents: GatewayIntents,
    managers: Mutex<Vec<Arc<ShardManager>>>,
    /// Every started shard's runners, for the health file.
    runners: CurrentRunners,
    stop: watch::Sender<bool>,
    fatal_tx: mpsc::UnboundedSender<GatewayError>,
    fatal_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<GatewayError>>,
}

impl Fleet {
    /// The client's parts: REST, the gateway's URL, the framework (poise,
    /// initialised as serenity's client builder would) and the handlers.
    pub async fn new(
        config: &BotConfig,
        handlers: Vec<Arc<dyn EventHandler>>,
        framework: poise::Framework<crate::Data, BotError>,
        intents: GatewayIntents,
        runners: CurrentRunners,
    ) -> Result<Fleet, BotError> {
        // Built for its REST client, gateway URL and data map; its own
        // shard manager starts nothing (poise keeps it as "the" manager,
        // which Guildhall's commands never use).
        let client = ClientBuilder::new_with_http(crate::http(config), intents)
            .await
            .map_err(BotError::Discord)?;
        let mut framework = framework;
        Framework::init(&mut framework, &client).await;
        let cell = Arc::new(OnceLock::new());
        let _ = cell.set(Arc::new(framework) as Arc<dyn Framework>);
        let (fatal_tx, fatal_rx) = mpsc::unbounded_channel();
        Ok(Fleet {
            http: client.http.clone(),
            data: client.data.clone(),
            ws_url: client.ws_url.clone(),
            framework: cell,
            handlers,
            intents,
            managers: Mutex::new(Vec::new()),
            runners,
            stop: watch::channel(false).0,
            fatal_tx,
            fatal_rx: tokio::sync::Mutex::new(fatal_rx),
        })
    }

    /// Starts the shards, then runs until one fails for good (e.g. close
    /// 4014) or [`Fleet::close`] is called.
    pub async fn run(&self, sharding: &Sharding) -> Result<(), serenity::Error> {
        let mut stop = self.stop.subscribe();
        if *stop.borrow() {
            return Ok(());
        }
        let gateway = self.http.get_bot_gateway().await?;
        let mut limit = StartLimit::from(&gateway.session_start_limit);
        let (shards, total): (Vec<u32>, u32) = match sharding {
            Sharding::Auto => ((0..gateway.shards.max(1)).collect(), gateway.shards.max(1)),
            Sharding::Range { range, total } => (range_of(range), *total),
        };
        tracing::info!(
            shards = shards.len(),
            total,
            max_concurrency = limit.max_concurrency,
            remaining = limit.remaining,
            "starting shards"
        );
        let plan = waves(&shards, limit.max_concurrency);
        let mut left = shards.len();
        for (i, wave) in plan.iter().enumerate() {
            let mut wave: &[u32] = wave;
            while !wave.is_empty() {
                if limit.remaining == 0 {
                    tracing::warn!(
                        shards_left = left,
                        wait_s = limit.reset_after.as_secs(),
                        "Discord's session start limit is used up; waiting for it to reset before starting more shards"
                    );
                    match self.wait(&mut stop, limit.reset_after).await {
                        Waited::Elapsed => {}
                        Waited::Stopped => return Ok(()),
                        Waited::Fatal(e) => return Err(e.into()),
                    }
                    let fresh = self.http.get_bot_gateway().await?;
                    limit = StartLimit::from(&fresh.session_start_limit);
                    continue;
                }
                let n = wave
                    .len()
                    .min(usize::try_from(limit.remaining).unwrap_or(usize::MAX));
                let (now, later) = wave.split_at(n);
                for &id in now {
                    self.start(id, total);
                }
                limit.remaining -= n as u64;
                left -= n;
                wave = later;
                // The rest of this wave is in other buckets: it waits for
                // the budget only, not for a window.
                if left == 0 || !wave.is_empty() {
                    continue;
                }
                // The next wave identifies a window after this one has.
                match self.connected(now, &mut stop).await {
                    Waited::Elapsed => {}
                    Waited::Stopped => return Ok(()),
                    Waited::Fatal(e) => return Err(e.into()),
                }
                match self.wait(&mut stop, IDENTIFY_WINDOW).await {
                    Waited::Elapsed => {}
                    Waited::Stopped => return Ok(()),
                    Waited::Fatal(e) => return Err(e.into()),
                }
            }
            tracing::debug!(wave = i, "wave started");
        }
        match self.wait(&mut stop, Duration::MAX).await {
            Waited::Fatal(e) => Err(e.into()),
            Waited::Elapsed | Waited::Stopped => Ok(()),
        }
    }

    fn start(&self, id: u32, total: u32) {
        let (manager, mut returned) = ShardManager::new(ShardManagerOptions {
            data: self.data.clone(),
            event_handlers: self.handlers.clone(),
            raw_event_handlers: Vec::new(),
            framework: self.framework.clone(),
            shard_index: id,
            shard_init: 1,
            shard_total: total,
            ws_url: self.ws_url.clone(),
            http: self.http.clone(),
            intents: self.intents,
            presence: None,
        });
        self.runners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(manager.runners.clone());
        // serenity reports a shard's fatal close (bad token, refused
        // intents) through this channel, as `Client::start` would return it.
        let fatal = self.fatal_tx.clone();
        tokio::spawn(async move {
            if let Some(Err(e)) = returned.next().await {
                let _ = fatal.send(e);
            }
        });
        // Never fails in 0.12 (its signature is older than its body).
        let _ = manager.initialize();
        self.managers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(manager);
    }

    /// Until every shard of `wave` has had its READY, at most
    /// [`CONNECTED_WITHIN`].
    async fn connected(&self, wave: &[u32], stop: &mut watch::Receiver<bool>) -> Waited {
        let deadline = Instant::now() + CONNECTED_WITHIN;
        let managers: Vec<Arc<ShardManager>> = self
            .managers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .rev()
            .take(wave.len())
            .cloned()
            .collect();
        loop {
            let mut ready = 0;
            for manager in &managers {
                // A shard not registered yet is still opening its connection.
                let runners = manager.runners.lock().await;
                if runners
                    .values()
                    .any(|r| r.stage == ConnectionStage::Connected)
                {
                    ready += 1;
                }
            }
            if ready == managers.len() {
                return Waited::Elapsed;
            }
            if Instant::now() >= deadline {
                tracing::warn!(
                    shards = ?wave,
                    "shards not connected within 15 s; pacing the next ones from now"
                );
                return Waited::Elapsed;
            }
            match self.wait(stop, Duration::from_millis(20)).await {
                Waited::Elapsed => {}
                other => return other,
            }
        }
    }

    /// Sleeps `span`, unless stopped or a shard fails for good first.
    async fn wait(&self, stop: &mut watch::Receiver<bool>, span: Duration) -> Waited {
        let mut fatal = self.fatal_rx.lock().await;
        let sleep = async {
            match Instant::now().checked_add(span) {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.wait_for(|s| *s) => Waited::Stopped,
            Some(e) = fatal.recv() => Waited::Fatal(e),
            () = sleep => Waited::Elapsed,
        }
    }

    /// Stops starting shards at once and closes the started ones, in
    /// parallel, for at most [`CLOSE_WITHIN`].
    pub async fn close(&self) {
        let _ = self.stop.send(true);
        let managers =
            std::mem::take(&mut *self.managers.lock().unwrap_or_else(|p| p.into_inner()));
        let closes = managers.into_iter().map(|manager| async move {
            // A shard whose connection is being opened registers in moments;
            // only then can it be told to close.
            while manager.runners.lock().await.is_empty() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            manager.shutdown_all().await;
        });
        if tokio::time::timeout(CLOSE_WITHIN, serenity::futures::future::join_all(closes))
            .await
            .is_err()
        {
            tracing::warn!("some shards did not close their sessions within 3 s; leaving them");
        }
        self.runners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

fn range_of(range: &RangeInclusive<u32>) -> Vec<u32> {
    range.clone().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waves_hold_one_shard_per_bucket() {
        assert_eq!(waves(&[0, 1, 2, 3], 1), [[0], [1], [2], [3]]);
        assert_eq!(
            waves(&(0..10).collect::<Vec<_>>(), 16),
            [(0..10).collect::<Vec<_>>()]
        );
        assert_eq!(
            waves(&[0, 1, 2, 3, 4], 2),
            vec![vec![0, 1], vec![2, 3], vec![4]]
        );
        // A range not aligned to the buckets (SHARD_RANGE=3-6 of 8, 4 buckets).
        assert_eq!(waves(&[3, 4, 5, 6], 4), [[3, 4, 5, 6]]);
        assert_eq!(
            waves(&[3, 4, 5, 6, 7, 8], 4),
            vec![vec![3, 4, 5, 6], vec![7, 8]]
        );
        assert!(waves(&[], 4).is_empty());
        assert_eq!(waves(&[0, 1], 0), [[0], [1]], "0 is taken as 1");
    }
}
