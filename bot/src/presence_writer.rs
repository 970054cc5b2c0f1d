//! Writes presence changes to the store on one task, in the order they were
//! decided. Right after READY a shard receives a GUILD_CREATE for every
//! guild at once; writing each in its own transaction inside its event
//! handler kept thousands of handler tasks waiting, each still holding its
//! whole parsed guild. Handlers now only queue a guild id, and runs of joins
//! go to the store as multi-row inserts.

use std::time::Duration;

use store::Store;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::presence::{self, PresenceChange};

/// Changes taken off the queue per round; a run of joins becomes one upsert.
const BATCH: usize = 500;
/// A write is tried this often, backing off from 100 ms, before it is logged
/// as lost (the shard's next READY then corrects the record).
const ATTEMPTS: u32 = 5;

pub struct PresenceWriter {
    queue: mpsc::UnboundedSender<PresenceChange>,
}

impl PresenceWriter {
    /// The writer, and its task: it ends once every `PresenceWriter` is
    /// dropped and the queue is drained.
    pub fn start(store: Store) -> (Self, JoinHandle<()>) {
        let (queue, pending) = mpsc::unbounded_channel();
        (PresenceWriter { queue }, tokio::spawn(run(store, pending)))
    }

    pub fn send(&self, change: PresenceChange) {
        if self.queue.send(change).is_err() {
            // Only after the writer task died, which it does not do on errors.
            tracing::error!("guild presence writer is gone; change dropped");
        }
    }
}

async fn run(store: Store, mut pending: mpsc::UnboundedReceiver<PresenceChange>) {
    let mut batch = Vec::with_capacity(BATCH);
    while pending.recv_many(&mut batch, BATCH).await > 0 {
        for change in presence::coalesce(std::mem::take(&mut batch)) {
            write(&store, &change).await;
        }
    }
}

async fn write(store: &Store, change: &PresenceChange) {
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=ATTEMPTS {
        match presence::apply(store, change).await {
            Ok(()) => return,
            Err(e) if attempt < ATTEMPTS => {
                tracing::warn!(error = %e, attempt, "could not record guild presence; retrying");
                tokio::time::sleep(delay).await;
                delay *= 3;
            }
            Err(e) => tracing::error!(error = %e, ?change, "could not record guild presence"),
        }
    }
}
