//! Background refreshes of a user's Discord data, one at a time per user and
//! route, and the back-off after a failed one: the first failure waits
//! `base`, each next one twice as long up to `max`, every wait cut by a
//! random part of up to a half (so users whose lists expired together do not
//! call Discord together again). Shared by all of that user's requests; a
//! success forgets it all.
//!
//! Hand-written rather than a back-off crate's: those (backon, backoff) run a
//! retry loop around one future, while here the attempts are made by whichever
//! request comes along after the wait, and the state must outlive each of them.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Back-off of failed refreshes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after a first failure (before jitter).
    pub base: Duration,
    /// The longest wait (before jitter).
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// The wait after the `failures`-th failure in a row, before jitter.
    pub fn step(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        self.base.saturating_mul(1 << doublings).min(self.max)
    }

    /// `step` less a random part of up to half of it.
    fn jittered(&self, failures: u32) -> Duration {
        self.step(failures)
            .mul_f64(1.0 - rand::random::<f64>() / 2.0)
    }
}

#[derive(Default)]
struct State {
    running: bool,
    failures: u32,
    retry_at: Option<Instant>,
}

/// What a request learns when it asks to refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// It must run the refresh now, and report how it went.
    Run,
    /// Another request's refresh is under way.
    Running,
    /// The last one failed; none before this much time has passed.
    BackingOff(Duration),
}

pub(crate) struct Revalidations<K> {
    backoff: Backoff,
    /// Only keys with a refresh running or a failure to remember: a success
    /// removes its key.
    states: Mutex<HashMap<K, State>>,
}

/// Past this many keys, the ones with nothing running and no wait left are
/// dropped: forgetting an old failure costs one early attempt at most.
const MAX_KEYS: usize = 100_000;

impl<K: Hash + Eq + Clone> Revalidations<K> {
    pub fn new(backoff: Backoff) -> Self {
        Revalidations {
            backoff,
            states: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, State>> {
        // Each update is a few plain assignments: nothing to leave half-done.
        self.states.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Claims the refresh of `key` if nobody runs it and no back-off holds it.
    pub fn start(&self, key: &K) -> Start {
        let now = Instant::now();
        let mut states = self.lock();
        if states.len() > MAX_KEYS {
            states.retain(|_, s| s.running || s.retry_at.is_some_and(|at| at > now));
        }
        let state = states.entry(key.clone()).or_default();
        if state.running {
            return Start::Running;
        }
        if let Some(at) = state.retry_at
            && at > now
        {
            return Start::BackingOff(at - now);
        }
        state.running = true;
        Start::Run
    }

    /// Whether `key`'s last refresh failed (and none has succeeded since).
    pub fn failing(&self, key: &K) -> bool {
        self.lock().get(key).is_some_and(|s| s.failures > 0)
    }

    /// The time left before `key` may be tried again, if it is backing off.
    pub fn backing_off(&self, key: &K) -> Option<Duration> {
        let now = Instant::now();
        self.lock()
            .get(key)
            .and_then(|s| s.retry_at)
            .filter(|at| *at > now)
            .map(|at| at - now)
    }

    /// The refresh claimed with [`Start::Run`] worked: forget the failures.
    pub fn succeeded(&self, key: &K) {
        self.lock().remove(key);
    }

    /// The refresh claimed with [`Start::Run`] failed: back off, for at
    /// least `at_least` (a rate limit's `retry_after`). Returns the wait.
    pub fn failed(&self, key: &K, at_least: Duration) -> Duration {
        let mut states = self.lock();
        let state = states.entry(key.clone()).or_default();
        state.running = false;
        state.failures = state.failures.saturating_add(1);
        let wait = self.backoff.jittered(state.failures).max(at_least);
        state.retry_at = Some(Instant::now() + wait);
        wait
    }

    /// The refresh claimed with [`Start::Run`] ended without an outcome worth
    /// remembering (its task was cancelled): the next request may try.
    pub fn abandoned(&self, key: &K) {
        if let Some(state) = self.lock().get_mut(key) {
            state.running = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BACKOFF: Backoff = Backoff {
        base: Duration::from_secs(1),
        max: Duration::from_secs(8),
    };

    #[test]
    fn steps_double_up_to_the_cap() {
        let steps: Vec<u64> = (1..=6).map(|n| BACKOFF.step(n).as_secs()).collect();
        assert_eq!(steps, [1, 2, 4, 8, 8, 8]);
        assert_eq!(BACKOFF.step(u32::MAX), Duration::from_secs(8));
        for n in 1..=6 {
            let j = BACKOFF.jittered(n);
            assert!(j <= BACKOFF.step(n) && j >= BACKOFF.step(n) / 2, "{j:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_refresh_at_a_time_and_back_off_after_failures() {
        let r = Revalidations::new(BACKOFF);
        assert_eq!(r.start(&1), Start::Run);
        assert_eq!(r.start(&1), Start::Running, "single flight per key");
        assert_eq!(r.start(&2), Start::Run, "other users are not held up");
        let wait = r.failed(&1, Duration::ZERO);
        assert!(wait >= Duration::from_millis(500) && wait <= Duration::from_secs(1));
        assert!(r.failing(&1));
        assert!(matches!(r.start(&1), Start::BackingOff(_)));
        tokio::time::advance(wait).await;
        assert_eq!(r.start(&1), Start::Run);
        let second = r.failed(&1, Duration::ZERO);
        assert!(second >= Duration::from_secs(1), "doubled: {second:?}");
        // A rate limit's own wait wins when longer.
        tokio::time::advance(second).await;
        assert_eq!(r.start(&1), Start::Run);
        assert_eq!(
            r.failed(&1, Duration::from_secs(30)),
            Duration::from_secs(30)
        );
        assert!(r.backing_off(&1).is_some());
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(r.start(&1), Start::Run);
        r.succeeded(&1);
        assert!(!r.failing(&1));
        assert_eq!(r.start(&1), Start::Run);
        r.abandoned(&1);
        assert_eq!(
            r.start(&1),
            Start::Run,
            "an abandoned refresh frees the slot"
        );
    }
}
