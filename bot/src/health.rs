//! `BOT_HEALTH_FILE`: the bot serves no HTTP, so a container healthcheck
//! looks at this file instead. It is rewritten every [`BEAT_EVERY`] while at
//! least one shard is connected to Discord, and goes stale when none is.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serenity::all::{ConnectionStage, ShardId, ShardRunnerInfo};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

pub const BEAT_EVERY: Duration = Duration::from_secs(5);

/// The shard manager's table of runners; the manager itself is not held (it
/// owns the event handlers, which shutdown waits to see dropped).
pub type Runners = Arc<Mutex<HashMap<ShardId, ShardRunnerInfo>>>;

/// The runners of every started shard (each has its own manager, see
/// `shard_starter`); empty between clients.
pub type CurrentRunners = Arc<std::sync::Mutex<Vec<Runners>>>;

pub fn spawn(path: PathBuf, current: CurrentRunners) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut beat = tokio::time::interval(BEAT_EVERY);
        let mut failing = false;
        loop {
            beat.tick().await;
            let runners = current.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if !any_connected(&runners).await {
                continue;
            }
            // The modification time is what healthchecks read; the content
            // (epoch seconds) is for people.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            match std::fs::write(&path, format!("{now}\n")) {
                Ok(()) => failing = false,
                // Once per failure streak: a read-only path would flood the log.
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(path = %path.display(), error = %e, "cannot write BOT_HEALTH_FILE");
                }
                Err(_) => {}
            }
        }
    })
}

async fn any_connected(all: &[Runners]) -> bool {
    for runners in all {
        if runners
            .lock()
            .await
            .values()
            .any(|r| r.stage == ConnectionStage::Connected)
        {
            return true;
        }
    }
    false
}
