//! Records guild channels in the store on one task, in the order the
//! handlers queued them: right after READY every guild's GUILD_CREATE
//! arrives at once, and a transaction each inside the handlers would keep
//! thousands of tasks waiting (as guild presence once did). Like presence
//! writes, channel changes wait through a database outage, in order.

use std::time::Duration;

use store::{GuildChannel, Store, StoreError};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::presence_writer::RETRY_AT_MOST_EVERY;

/// A write the store refuses (not an unreachable database, which is waited
/// for) is tried this often, backing off from 100 ms, before it is logged as
/// lost (the guild's next GUILD_CREATE corrects the record).
const ATTEMPTS: u32 = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelChange {
    /// GUILD_CREATE: the guild's whole set; GUILD_DELETE: an empty one.
    Replace {
        guild: u64,
        channels: Vec<GuildChannel>,
    },
    /// CHANNEL_CREATE / CHANNEL_UPDATE.
    Upsert { guild: u64, channel: GuildChannel },
    /// CHANNEL_DELETE.
    Remove { guild: u64, channel: u64 },
}

#[derive(Clone)]
pub struct ChannelWriter {
    queue: mpsc::UnboundedSender<ChannelChange>,
}

impl ChannelWriter {
    /// The writer, and its task: it ends once every `ChannelWriter` is
    /// dropped and the queue is drained.
    pub fn start(store: Store) -> (Self, JoinHandle<()>) {
        let (queue, pending) = mpsc::unbounded_channel();
        (ChannelWriter { queue }, tokio::spawn(run(store, pending)))
    }

    pub fn send(&self, change: ChannelChange) {
        if self.queue.send(change).is_err() {
            tracing::error!("guild channel writer is gone; change dropped");
        }
    }
}

async fn run(store: Store, mut pending: mpsc::UnboundedReceiver<ChannelChange>) {
    // Set while the database is unreachable: the outage is logged once, not
    // per change, and the queue waits for it in order.
    let mut outage: Option<std::time::Instant> = None;
    while let Some(change) = pending.recv().await {
        let mut delay = Duration::from_millis(100);
        let mut refused = 0;
        loop {
            match apply(&store, &change).await {
                Ok(()) => {
                    if let Some(since) = outage.take() {
                        tracing::info!(
                            queued = pending.len(),
                            outage_s = since.elapsed().as_secs(),
                            "database reachable again; writing the queued guild channel changes in order"
                        );
                    }
                    break;
                }
                Err(e) if e.is_unavailable() => {
                    if outage.is_none() {
                        outage = Some(std::time::Instant::now());
                        tracing::warn!(
                            queued = pending.len() + 1,
                            error = %e,
                            "database unreachable; guild channel writes are queued and will be written when it returns"
                        );
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(RETRY_AT_MOST_EVERY);
                }
                Err(e) => {
                    refused += 1;
                    if refused >= ATTEMPTS {
                        tracing::error!(error = %e, ?change, "could not record guild channels");
                        break;
                    }
                    tracing::warn!(error = %e, attempt = refused, "could not record guild channels; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 3;
                }
            }
        }
    }
}

async fn apply(store: &Store, change: &ChannelChange) -> Result<(), StoreError> {
    match change {
        ChannelChange::Replace { guild, channels } => {
            store.bot_guild_channels_replace(*guild, channels).await
        }
        ChannelChange::Upsert { guild, channel } => {
            store.bot_guild_channel_upsert(*guild, channel).await
        }
        ChannelChange::Remove { guild, channel } => {
            store.bot_guild_channel_remove(*guild, *channel).await
        }
    }
}
