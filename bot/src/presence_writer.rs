//! Writes presence changes to the store on one task, in the order they were
//! decided. Right after READY a shard receives a GUILD_CREATE for every
//! guild at once; writing each in its own transaction inside its event
//! handler kept thousands of handler tasks waiting, each still holding its
//! whole parsed guild. Handlers now only queue a guild id, and runs of joins
//! go to the store as multi-row inserts.
//!
//! While the database is unreachable the queue keeps growing (a change is a
//! few ids; runs of joins coalesce) and the change at its head is retried,
//! backing off to [`RETRY_AT_MOST_EVERY`], until the database returns: then
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

/// Changes taken off the queue per round; a run of joins becomes one upsert.
const BATCH: usize = 500;
/// A write failing for another reason than an unreachable database (the
/// store refusing it) is tried this often, backing off from 100 ms, before
/// it is logged as lost (the shard's next READY then corrects the record).
const ATTEMPTS: u32 = 5;
/// The back-off between retries while the database is unreachable grows to
/// this and stays there.
pub const RETRY_AT_MOST_EVERY: Duration = Duration::from_secs(5);

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
    let mut outage = Outage::default();
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
            write(&store, &change, &pending, &mut outage).await;
        }
        pending.fetch_sub(received, Ordering::SeqCst);
    }
}

/// Whether the writer is waiting for the database, to log the outage once.
#[derive(Default)]
struct Outage {
    since: Option<std::time::Instant>,
}

async fn write(store: &Store, change: &PresenceChange, pending: &AtomicUsize, outage: &mut Outage) {
    let mut delay = Duration::from_millis(100);
    let mut refused = 0;
    loop {
        match presence::apply(store, change).await {
            Ok(()) => {
                if let Some(since) = outage.since.take() {
                    tracing::info!(
                        queued = pending.load(Ordering::SeqCst),
                        outage_s = since.elapsed().as_secs(),
                        "database reachable again; writing the queued presence changes in order"
                    );
                }
                return;
            }
            Err(e) if e.is_unavailable() => {
                if outage.since.is_none() {
                    outage.since = Some(std::time::Instant::now());
                    tracing::warn!(
                        queued = pending.load(Ordering::SeqCst),
                        error = %e,
                        "database unreachable; presence writes are queued and will be written when it returns"
                    );
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(RETRY_AT_MOST_EVERY);
            }
            Err(e) => {
                refused += 1;
                if refused >= ATTEMPTS {
                    tracing::error!(error = %e, ?change, "could not record guild presence");
                    return;
                }
                tracing::warn!(error = %e, attempt = refused, "could not record guild presence; retrying");
                tokio::time::sleep(delay).await;
                delay *= 3;
            }
        }
    }
}
