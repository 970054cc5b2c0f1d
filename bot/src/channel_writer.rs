//! Records guild channels in the store on one task, in the order the
//! handlers queued them: right after READY every guild's GUILD_CREATE
//! arrives at once, and a transaction each inside the handlers would keep
//! thousands of tasks waiting (as guild presence once did). Like presence
//! writes, channel changes wait through a database outage, in order.

use store::{GuildChannel, Store, StoreError};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::store_writes::{self, Outage};

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
    let mut outage = Outage::new("guild channel");
    while let Some(change) = pending.recv().await {
        store_writes::write(
            &change,
            &mut outage,
            || pending.len(),
            || apply(&store, &change),
        )
        .await;
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
