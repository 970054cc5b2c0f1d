//! A circuit breaker per Discord route: after `failures` consecutive server
//! errors, timeouts or broken connections on a route, the whole client stops
//! calling it for `cool_down`, then lets one call through as a probe; the
//! probe's success closes the circuit, its failure opens it again. While it
//! is open, calls fail at once with [`DiscordError::Suspended`] instead of
//! each waiting out a timeout against an API that is down.
//!
//! Any answer that is not a 5xx counts as Discord being up: a 429 is a rate
//! limit, which the limiter handles, not an outage.
//!
//! Hand-written rather than a crate's: the crates on offer (failsafe,
//! recloser) keep their state behind their own call wrappers, where neither
//! the per-route state the metrics expose nor the client's own retry
//! decision ("no retry once the circuit is open") can be read; the state
//! machine itself is the few lines below.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::DiscordError;

/// When a circuit opens and how long it stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open the circuit; zero never opens it.
    pub failures: u32,
    /// How long an open circuit refuses calls before a probe is let through.
    pub cool_down: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failures: 5,
            cool_down: Duration::from_secs(10),
        }
    }
}

/// One route's circuit as `/metrics` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteHealth {
    /// The route, as in `guildhall_discord_requests_total`.
    pub route: &'static str,
    /// Open or half-open: calls are being refused.
    pub open: bool,
    /// Calls refused without asking Discord, since start-up.
    pub refused: u64,
    /// Times the circuit opened, since start-up.
    pub opened: u64,
}

#[derive(Default)]
struct Circuit {
    consecutive_failures: u32,
    open_since: Option<Instant>,
    probing: bool,
    refused: u64,
    opened: u64,
}

pub(crate) struct Breakers {
    config: BreakerConfig,
    /// Routes are a handful of `&'static str`: the map never grows past them.
    circuits: Mutex<HashMap<&'static str, Circuit>>,
}

/// Leave to make one call on a route. A probe that is dropped without an
/// outcome (its request was cancelled) frees the probe slot for the next call.
pub(crate) struct Admission<'a> {
    breakers: &'a Breakers,
    route: &'static str,
    probe: bool,
    decided: bool,
}

impl Breakers {
    pub fn new(config: BreakerConfig) -> Self {
        Breakers {
            config,
            circuits: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<&'static str, Circuit>> {
        // Every update leaves the counters consistent: a panic elsewhere
        // cannot leave a circuit half-changed.
        self.circuits.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Leave to call `route`, or `Suspended` while its circuit is open (or
    /// half-open with its probe under way).
    pub fn admit(&self, route: &'static str) -> Result<Admission<'_>, DiscordError> {
        let mut circuits = self.lock();
        let circuit = circuits.entry(route).or_default();
        let mut probe = false;
        if let Some(since) = circuit.open_since {
            let open_for = since.elapsed();
            if open_for < self.config.cool_down || circuit.probing {
                circuit.refused += 1;
                return Err(DiscordError::Suspended {
                    route,
                    retry_in: self.config.cool_down.saturating_sub(open_for),
                });
            }
            circuit.probing = true;
            probe = true;
        }
        Ok(Admission {
            breakers: self,
            route,
            probe,
            decided: false,
        })
    }

    /// Whether `route`'s circuit has seen a failure since its last success:
    /// a call then does not retry a 5xx on its own (callers back off).
    pub fn failing(&self, route: &'static str) -> bool {
        self.lock()
            .get(route)
            .is_some_and(|c| c.consecutive_failures > 0)
    }

    pub fn health(&self) -> Vec<RouteHealth> {
        let mut all: Vec<RouteHealth> = self
            .lock()
            .iter()
            .map(|(route, c)| RouteHealth {
                route,
                open: c.open_since.is_some(),
                refused: c.refused,
                opened: c.opened,
            })
            .collect();
        all.sort_unstable_by_key(|h| h.route);
        all
    }
}

impl Admission<'_> {
    /// Discord answered with something other than a 5xx.
    pub fn succeeded(mut self) {
        self.decided = true;
        let mut circuits = self.breakers.lock();
        let circuit = circuits.entry(self.route).or_default();
        if circuit.open_since.is_some() {
            tracing::info!(route = self.route, "Discord answers again; circuit closed");
        }
        circuit.consecutive_failures = 0;
        circuit.open_since = None;
        circuit.probing = false;
    }

    /// A 5xx, a timeout or a broken connection. True when the circuit is
    /// (now) open: the caller must not try again.
    pub fn failed(mut self) -> bool {
        self.decided = true;
        let threshold = self.breakers.config.failures;
        let mut circuits = self.breakers.lock();
        let circuit = circuits.entry(self.route).or_default();
        circuit.consecutive_failures = circuit.consecutive_failures.saturating_add(1);
        if self.probe {
            circuit.probing = false;
            circuit.open_since = Some(Instant::now());
            return true;
        }
        if circuit.open_since.is_none()
            && threshold > 0
            && circuit.consecutive_failures >= threshold
        {
            circuit.open_since = Some(Instant::now());
            circuit.opened += 1;
            tracing::warn!(
                route = self.route,
                failures = circuit.consecutive_failures,
                cool_down_s = self.breakers.config.cool_down.as_secs_f64(),
                "Discord keeps failing on this route; circuit open, calls refused until a probe succeeds"
            );
        }
        circuit.open_since.is_some()
    }
}

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        if self.probe && !self.decided {
            let mut circuits = self.breakers.lock();
            if let Some(circuit) = circuits.get_mut(self.route) {
                circuit.probing = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: &str = "GET /users/@me/guilds";

    fn breakers() -> Breakers {
        Breakers::new(BreakerConfig {
            failures: 3,
            cool_down: Duration::from_secs(10),
        })
    }

    fn refused(b: &Breakers) -> bool {
        matches!(b.admit(ROUTE), Err(DiscordError::Suspended { .. }))
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_consecutive_failures_probes_once_and_closes() {
        let b = breakers();
        assert!(!b.admit(ROUTE).unwrap().failed());
        // A success in between starts the count again.
        b.admit(ROUTE).unwrap().succeeded();
        assert!(!b.admit(ROUTE).unwrap().failed());
        assert!(!b.admit(ROUTE).unwrap().failed());
        assert!(b.failing(ROUTE));
        assert!(b.admit(ROUTE).unwrap().failed(), "third in a row opens it");
        assert!(refused(&b));
        // Other routes are not affected.
        b.admit("GET /users/@me").unwrap().succeeded();
        let health = b.health();
        assert_eq!(health.len(), 2);
        let guilds = health.iter().find(|h| h.route == ROUTE).unwrap();
        assert!(guilds.open);
        assert_eq!((guilds.refused, guilds.opened), (1, 1));

        tokio::time::advance(Duration::from_secs(9)).await;
        assert!(refused(&b), "still cooling down");
        tokio::time::advance(Duration::from_secs(1)).await;
        let probe = b.admit(ROUTE).unwrap();
        assert!(refused(&b), "one probe at a time");
        assert!(probe.failed(), "a failed probe opens it again");
        assert!(refused(&b));

        tokio::time::advance(Duration::from_secs(10)).await;
        // A probe whose request went away frees the slot.
        drop(b.admit(ROUTE).unwrap());
        let probe = b.admit(ROUTE).unwrap();
        probe.succeeded();
        assert!(!b.failing(ROUTE));
        let admitted = b.admit(ROUTE);
        assert!(admitted.is_ok(), "closed again");
        let guilds = b.health().into_iter().find(|h| h.route == ROUTE).unwrap();
        assert!(!guilds.open);
        assert_eq!(
            guilds.opened, 1,
            "re-opening after a probe is not a new opening"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn zero_failures_never_opens() {
        let b = Breakers::new(BreakerConfig {
            failures: 0,
            cool_down: Duration::from_secs(1),
        });
        for _ in 0..100 {
            assert!(!b.admit(ROUTE).unwrap().failed());
        }
    }
}
