//! Login rate limits per client address (`LOGIN_RATE_LIMIT_PER_MINUTE`,
//! `LOGIN_RATE_LIMIT_BURST`): each start of a login and each callback costs
//! its address one cell; an empty bucket answers 429 before Discord or the
//! database is asked anything. Discord's token endpoint limit is shared by
//! every user of the application: one client must not spend it for all.
//!
//! `governor` does the arithmetic (GCRA). The addresses live in a store of
//! our own, because governor's stores grow with every new key and a flood
//! from a million addresses must not grow memory with it: this one holds at
//! most `capacity` addresses; a new address arriving while it is full shares
//! one overflow bucket with every other such address until housekeeping
//! drops the addresses whose buckets are full again. IPv6 clients are keyed
//! by their /64, the block one subscriber usually gets.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::ShrinkableKeyedStateStore;
use governor::{Quota, RateLimiter};

/// Addresses remembered at most (about 3 MB of map at this size).
pub const DEFAULT_CAPACITY: usize = 100_000;
/// A housekeeping pass visits every address: once a minute, or once a
/// second while the store is full.
const PASS_INTERVAL: Duration = Duration::from_secs(60);
const PASS_INTERVAL_WHEN_FULL: Duration = Duration::from_secs(1);

/// What a client is limited by: an IPv4 address or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    V4(u32),
    V6Prefix(u64),
}

impl From<IpAddr> for ClientKey {
    fn from(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(v4) => ClientKey::V4(v4.into()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::V4(v4.into()),
                None => ClientKey::V6Prefix((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// Limits and the key capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginRateLimit {
    pub per_minute: NonZeroU32,
    pub burst: NonZeroU32,
}

pub struct LoginLimiter {
    limiter: RateLimiter<ClientKey, SharedStore, DefaultClock, NoOpMiddleware>,
    /// The limiter's store, also read here for [`LoginLimiter::overflowed`].
    store: SharedStore,
    clock: DefaultClock,
    capacity: usize,
    last_pass: Mutex<Instant>,
}

impl LoginLimiter {
    pub fn new(limit: LoginRateLimit) -> Self {
        Self::with_capacity(limit, DEFAULT_CAPACITY)
    }

    pub fn with_capacity(limit: LoginRateLimit, capacity: usize) -> Self {
        let quota = Quota::per_minute(limit.per_minute).allow_burst(limit.burst);
        let clock = DefaultClock::default();
        let store = SharedStore(Arc::new(BoundedStore::new(capacity)));
        LoginLimiter {
            limiter: RateLimiter::new(quota, store.clone(), clock.clone()),
            store,
            clock,
            capacity,
            last_pass: Mutex::new(Instant::now()),
        }
    }

    /// Takes a cell from the address's bucket, or says how long until one
    /// is back.
    pub fn check(&self, addr: IpAddr) -> Result<(), Duration> {
        self.housekeeping();
        self.limiter
            .check_key(&ClientKey::from(addr))
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Addresses remembered now; never more than the capacity.
    pub fn addresses(&self) -> usize {
        self.limiter.len()
    }

    /// Requests from new addresses that found the store full.
    pub fn overflowed(&self) -> u64 {
        self.store.0.overflowed.load(Ordering::Relaxed)
    }

    /// Drops addresses whose bucket is full again (they are no different
    /// from addresses never seen), and gives the memory back when not full.
    fn housekeeping(&self) {
        let full = self.limiter.len() >= self.capacity;
        let due = if full {
            PASS_INTERVAL_WHEN_FULL
        } else {
            PASS_INTERVAL
        };
        {
            let mut last = lock(&self.last_pass);
            if last.elapsed() < due {
                return;
            }
            *last = Instant::now();
        }
        self.limiter.retain_recent();
        if !full {
            self.limiter.shrink_to_fit();
        }
    }

    /// A housekeeping pass now, whatever the time: for tests.
    pub fn housekeeping_now(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Theoretical arrival times by address, at most `capacity` of them, and
/// the one shared by new addresses while full.
struct Buckets {
    by_key: HashMap<ClientKey, Nanos>,
    overflow: Option<Nanos>,
}

struct BoundedStore {
    capacity: usize,
    buckets: Mutex<Buckets>,
    overflowed: AtomicU64,
}

impl BoundedStore {
    fn new(capacity: usize) -> Self {
        BoundedStore {
            capacity,
            buckets: Mutex::new(Buckets {
                by_key: HashMap::new(),
                overflow: None,
            }),
            overflowed: AtomicU64::new(0),
        }
    }
}

#[derive(Clone)]
struct SharedStore(Arc<BoundedStore>);

impl StateStore for SharedStore {
    type Key = ClientKey;

    /// `f` decides from the previous arrival time (`None`: a full bucket)
    /// and returns the new one, or refuses and nothing changes.
    fn measure_and_replace<T, F, E>(&self, key: &ClientKey, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let store = &self.0;
        let mut buckets = lock(&store.buckets);
        if let Some(tat) = buckets.by_key.get_mut(key) {
            let (out, next) = f(Some(*tat))?;
            *tat = next;
            return Ok(out);
        }
        if buckets.by_key.len() < store.capacity {
            let (out, next) = f(None)?;
            buckets.by_key.insert(*key, next);
            return Ok(out);
        }
        store.overflowed.fetch_add(1, Ordering::Relaxed);
        let (out, next) = f(buckets.overflow)?;
        buckets.overflow = Some(next);
        Ok(out)
    }
}

impl ShrinkableKeyedStateStore<ClientKey> for SharedStore {
    fn retain_recent(&self, drop_below: Nanos) {
        let mut buckets = lock(&self.0.buckets);
        buckets.by_key.retain(|_, tat| *tat > drop_below);
        if buckets.overflow.is_some_and(|tat| tat <= drop_below) {
            buckets.overflow = None;
        }
    }

    fn shrink_to_fit(&self) {
        lock(&self.0.buckets).by_key.shrink_to_fit();
    }

    fn len(&self) -> usize {
        lock(&self.0.buckets).by_key.len()
    }

    fn is_empty(&self) -> bool {
        lock(&self.0.buckets).by_key.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    /// Slow enough that no cell comes back while a test runs.
    fn one_a_minute(burst: u32) -> LoginRateLimit {
        LoginRateLimit {
            per_minute: NonZeroU32::MIN,
            burst: NonZeroU32::new(burst).unwrap(),
        }
    }

    fn v4(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(n))
    }

    #[test]
    fn each_address_has_its_own_burst_and_is_told_when_to_return() {
        let limiter = LoginLimiter::new(one_a_minute(2));
        let (a, b) = (v4(1), v4(2));
        assert!(limiter.check(a).is_ok() && limiter.check(a).is_ok());
        let wait = limiter.check(a).unwrap_err();
        assert!(
            wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert!(limiter.check(b).is_ok());
        assert_eq!(limiter.addresses(), 2);
    }

    #[test]
    fn ipv6_is_limited_by_its_64_and_mapped_ipv4_is_ipv4() {
        let limiter = LoginLimiter::new(one_a_minute(1));
        let host = |prefix: u64, low: u64| {
            IpAddr::V6(Ipv6Addr::from((u128::from(prefix) << 64) | u128::from(low)))
        };
        assert!(limiter.check(host(7, 1)).is_ok());
        assert!(limiter.check(host(7, 2)).is_err());
        assert!(limiter.check(host(8, 1)).is_ok());
        assert!(limiter.check(v4(9)).is_ok());
        assert!(
            limiter
                .check(IpAddr::V6(Ipv4Addr::from(9).to_ipv6_mapped()))
                .is_err()
        );
    }

    /// A million distinct addresses: the store never holds more than its
    /// capacity, addresses it already knows keep their own buckets, and the
    /// newcomers share one bucket instead of each getting a burst.
    #[test]
    fn a_flood_from_a_million_addresses_stays_within_the_capacity() {
        const CAPACITY: usize = 10_000;
        let limiter = LoginLimiter::with_capacity(one_a_minute(2), CAPACITY);
        let known = v4(u32::MAX);
        assert!(limiter.check(known).is_ok());
        let mut admitted = 0u64;
        for n in 0..1_000_000u32 {
            if limiter.check(v4(n)).is_ok() {
                admitted += 1;
            }
            if n % 100_000 == 0 {
                assert!(limiter.addresses() <= CAPACITY);
            }
        }
        assert_eq!(limiter.addresses(), CAPACITY);
        // The first CAPACITY - 1 addresses had room (the known one took a
        // slot); the rest shared the overflow bucket's burst of 2.
        assert_eq!(admitted, (CAPACITY - 1) as u64 + 2);
        assert_eq!(limiter.overflowed(), 1_000_000 - (CAPACITY as u64 - 1));
        assert!(limiter.check(known).is_ok(), "its second cell");
        assert!(limiter.check(known).is_err());
        assert!(
            limiter.check(v4(2_000_000)).is_err(),
            "overflow bucket empty"
        );

        // Nothing is dropped while every bucket is still partly spent…
        limiter.housekeeping_now();
        assert_eq!(limiter.addresses(), CAPACITY);
    }

    #[test]
    fn housekeeping_drops_addresses_whose_bucket_is_full_again() {
        // A cell every 60 ms: a few hundred ms refill the buckets of
        // addresses seen once.
        let fast = LoginRateLimit {
            per_minute: NonZeroU32::new(1000).unwrap(),
            burst: NonZeroU32::new(5).unwrap(),
        };
        let limiter = LoginLimiter::with_capacity(fast, 1000);
        for n in 0..1000 {
            assert!(limiter.check(v4(n)).is_ok());
        }
        assert_eq!(limiter.addresses(), 1000);
        let deadline = Instant::now() + Duration::from_secs(10);
        while limiter.addresses() > 0 {
            assert!(Instant::now() < deadline, "never dropped");
            std::thread::sleep(Duration::from_millis(20));
            limiter.housekeeping_now();
        }
    }
}
