//! Writes presence changes to the store on one task, in the order they were
//! decided. Right after READY a shard receives a GUILD_CREATE for every
//! guild at once; writing each in its own transaction inside its event
//! handler kept thousands of handler tasks waiting, each still holding its
//! whole parsed guild. Handlers now only queue a guild id, and runs of joins
//! go to the store as multi-row inserts.
//!
//! While the database is unreachable the queue keeps growing (a change is a
//! few ids; runs of joins coalesce) and the change at its head is retried,
//! backing off to [`RETRY_AT_MOST_EVERY`](crate::store_writes::RETRY_AT_MOST_EVERY), until the database returns: then
//! everything is written in order. The log says so once when the outage
//! starts and once when it ends, not per change. At shutdown the writer
//! flushes until its deadline; what is left then is dropped with one line
//! (each shard's next READY rebuilds its rows).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use store::Store;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::presence::{self, PresenceChange};
use crate::store_writes::{self, Outage};

/// Changes taken off the queue per round; a run of joins becomes one upsert.
const BATCH: usize = 500;

pub struct PresenceWriter {
    queue: mpsc::UnboundedSender<PresenceChange>,
    pending: Arc<AtomicUsize>,
}

/// The writer's task, for shutdown.
pub struct WriterTask {
    task: JoinHandle<()>,
    pending: Arc<AtomicUsize>,
    closing: watch::Sender<bool>,
}

impl PresenceWriter {
    /// The writer, and its task: it ends once every `PresenceWriter` is
    /// dropped and the queue is drained, or when [`WriterTask::finish`] has
    /// drained what was queued.
    pub fn start(store: Store) -> (Self, WriterTask) {
        let (queue, rx) = mpsc::unbounded_channel();
        let pending = Arc::new(AtomicUsize::new(0));
        let (closing, closed) = watch::channel(false);
        let task = tokio::spawn(run(store, rx, pending.clone(), closed));
        (
            PresenceWriter {
                queue,
                pending: pending.clone(),
            },
            WriterTask {
                task,
                pending,
                closing,
            },
        )
    }

    pub fn send(&self, change: PresenceChange) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        if self.queue.send(change).is_err() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            // Only after the writer task ended, at shutdown.
            tracing::error!("guild presence writer is gone; change dropped");
        }
    }
}

impl WriterTask {
    /// Writes what is queued, for at most `within`; then drops the rest,
    /// saying so once. True when everything was written.
    pub async fn finish(self, within: Duration) -> bool {
        let WriterTask {
            mut task,
            pending,
            closing,
        } = self;
        let _ = closing.send(true);
        if tokio::time::timeout(within, &mut task).await.is_ok() {
            return true;
        }
        task.abort();
        tracing::warn!(
            dropped = pending.load(Ordering::SeqCst),
            "presence writes still queued at the shutdown deadline were dropped; \
             each shard's next READY rebuilds them"
        );
        false
    }
}

async fn run(
    store: Store,
    mut rx: mpsc::UnboundedReceiver<PresenceChange>,
    pending: Arc<AtomicUsize>,
    mut closing: watch::Receiver<bool>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut outage = Outage::new("presence");
    loop {
        let received = tokio::select! {
            n = rx.recv_many(&mut batch, BATCH) => n,
            // Shutdown: what is queued now is the last of it.
            _ = closing.wait_for(|c| *c) => {
                while batch.len() < BATCH {
                    match rx.try_recv() {
                        Ok(change) => batch.push(change),
                        Err(_) => break,
                    }
                }
                batch.len()
            }
        };
        if received == 0 {
            return;
        }
        for change in presence::coalesce(std::mem::take(&mut batch)) {
            let queued = || pending.load(Ordering::SeqCst);
            store_writes::write(&change, &mut outage, queued, || {
                presence::apply(&store, &change)
            })
            .await;
        }
        pending.fetch_sub(received, Ordering::SeqCst);
    }
}
