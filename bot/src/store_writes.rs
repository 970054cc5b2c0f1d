//! How the bot's queued writers (guild presence, guild channels) put one
//! change in the store: a database outage is waited out, in order, however
//! long it lasts, and said once when it starts and once when it ends; a
//! change the store refuses for another reason is tried a few times, then
//! logged as lost (the next READY or GUILD_CREATE rebuilds the record).

use std::fmt::Debug;
use std::time::{Duration, Instant};

use store::StoreError;

/// Tries for a change the store refuses (not an unreachable database),
/// backing off from 100 ms, before it is logged as lost.
const ATTEMPTS: u32 = 5;
/// The back-off between retries while the database is unreachable grows to
/// this and stays there.
pub const RETRY_AT_MOST_EVERY: Duration = Duration::from_secs(5);

/// One writer's view of the database: whether it is waiting for it, to log
/// an outage once.
pub struct Outage {
    /// What the writer writes, for its log lines: "presence", "guild channel".
    what: &'static str,
    since: Option<Instant>,
}

impl Outage {
    pub fn new(what: &'static str) -> Self {
        Outage { what, since: None }
    }
}

/// Writes `change` with `apply`, waiting through an outage; `queued` says
/// how many changes wait behind it, for the log.
pub async fn write<C, F, Fut>(change: &C, outage: &mut Outage, queued: impl Fn() -> usize, apply: F)
where
    C: Debug,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), StoreError>>,
{
    let what = outage.what;
    let mut delay = Duration::from_millis(100);
    let mut refused = 0;
    loop {
        match apply().await {
            Ok(()) => {
                if let Some(since) = outage.since.take() {
                    tracing::info!(
                        queued = queued(),
                        outage_s = since.elapsed().as_secs(),
                        "database reachable again; writing the queued {what} changes in order"
                    );
                }
                return;
            }
            Err(e) if e.is_unavailable() => {
                if outage.since.is_none() {
                    outage.since = Some(Instant::now());
                    tracing::warn!(
                        queued = queued(),
                        error = %e,
                        "database unreachable; {what} writes are queued and will be written when it returns"
                    );
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(RETRY_AT_MOST_EVERY);
            }
            Err(e) => {
                refused += 1;
                if refused >= ATTEMPTS {
                    tracing::error!(error = %e, ?change, "could not record {what} change");
                    return;
                }
                tracing::warn!(error = %e, attempt = refused, "could not record {what} change; retrying");
                tokio::time::sleep(delay).await;
                delay *= 3;
            }
        }
    }
}
