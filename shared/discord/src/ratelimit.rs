//! Discord's rate limits, learned from its headers rather than hard-coded.
//!
//! Limits are tracked per (token, bucket): OAuth user-token limits are per
//! user and per route, so two people browsing never slow each other down,
//! while one person's reloads respect their own bucket. A global 429 pauses
//! every call of this client.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

/// Which limit a call counts against. The token is reduced to a keyed hash:
/// the limiter never holds tokens themselves.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct LimitKey {
    token: u64,
    route: &'static str,
}

#[derive(Debug, Clone, Copy)]
struct BucketState {
    remaining: u64,
    reset_at: Instant,
}

pub(crate) struct RateLimiter {
    hasher: RandomState,
    global_until: Mutex<Option<Instant>>,
    /// route (per token) → Discord's bucket id, from `X-RateLimit-Bucket`.
    bucket_ids: Mutex<HashMap<LimitKey, String>>,
    buckets: Mutex<HashMap<(u64, String), BucketState>>,
    /// Keyed hashes of tokens that got a 401.
    dead: Mutex<HashSet<u64>>,
}

/// Bounds for the maps above: tokens come and go, and starting over is
/// harmless (one extra call learns a limit again).
const MAX_ENTRIES: usize = 100_000;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl RateLimiter {
    pub fn new() -> Self {
        RateLimiter {
            hasher: RandomState::new(),
            global_until: Mutex::new(None),
            bucket_ids: Mutex::new(HashMap::new()),
            buckets: Mutex::new(HashMap::new()),
            dead: Mutex::new(HashSet::new()),
        }
    }

    pub fn key(&self, token: &str, route: &'static str) -> LimitKey {
        LimitKey {
            token: self.hasher.hash_one(token),
            route,
        }
    }

    fn bucket_of(&self, key: &LimitKey) -> (u64, String) {
        let id = lock(&self.bucket_ids)
            .get(key)
            .cloned()
            .unwrap_or_else(|| format!("route:{}", key.route));
        (key.token, id)
    }

    /// How long to wait before sending on `key`.
    pub fn delay(&self, key: &LimitKey) -> Duration {
        let now = Instant::now();
        let global = lock(&self.global_until)
            .map(|until| until.saturating_duration_since(now))
            .unwrap_or_default();
        let bucket = lock(&self.buckets)
            .get(&self.bucket_of(key))
            .filter(|b| b.remaining == 0)
            .map(|b| b.reset_at.saturating_duration_since(now))
            .unwrap_or_default();
        global.max(bucket)
    }

    /// Learns from a response's `X-RateLimit-*` headers.
    pub fn observe(&self, key: &LimitKey, headers: &HeaderMap) {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        if let Some(bucket) = header("x-ratelimit-bucket") {
            let mut ids = lock(&self.bucket_ids);
            if ids.len() > MAX_ENTRIES {
                ids.clear();
            }
            ids.insert(key.clone(), bucket.to_owned());
        }
        let remaining = header("x-ratelimit-remaining").and_then(|v| v.parse::<u64>().ok());
        let reset_after = header("x-ratelimit-reset-after").and_then(parse_seconds);
        if let (Some(remaining), Some(reset_after)) = (remaining, reset_after) {
            let mut buckets = lock(&self.buckets);
            if buckets.len() > MAX_ENTRIES {
                let now = Instant::now();
                buckets.retain(|_, b| b.reset_at > now);
            }
            buckets.insert(
                self.bucket_of(key),
                BucketState {
                    remaining,
                    reset_at: Instant::now() + reset_after,
                },
            );
        }
    }

    /// What is left of a global pause, if one is running.
    pub fn global_remaining(&self) -> Option<Duration> {
        let now = Instant::now();
        lock(&self.global_until)
            .map(|until| until.saturating_duration_since(now))
            .filter(|d| !d.is_zero())
    }

    /// Remembers that Discord refused this key's token.
    pub fn mark_dead(&self, key: &LimitKey) {
        let mut dead = lock(&self.dead);
        if dead.len() > MAX_ENTRIES {
            dead.clear();
        }
        dead.insert(key.token);
    }

    /// Whether Discord already refused this key's token.
    pub fn is_dead(&self, key: &LimitKey) -> bool {
        lock(&self.dead).contains(&key.token)
    }

    /// A global 429: nobody calls until it has passed.
    pub fn pause_all(&self, for_: Duration) {
        let until = Instant::now() + for_;
        let mut g = lock(&self.global_until);
        if g.is_none_or(|current| current < until) {
            *g = Some(until);
        }
    }

    /// A route 429: this bucket is empty until it has passed.
    pub fn exhaust(&self, key: &LimitKey, for_: Duration) {
        lock(&self.buckets).insert(
            self.bucket_of(key),
            BucketState {
                remaining: 0,
                reset_at: Instant::now() + for_,
            },
        );
    }
}

/// Discord's seconds with decimals ("0.523"); negative or absurd values are
/// refused rather than trusted.
pub(crate) fn parse_seconds(s: &str) -> Option<Duration> {
    seconds(s.trim().parse().ok()?)
}

/// Seconds as a duration, if they are a sane wait (0 to one day).
pub(crate) fn seconds(v: f64) -> Option<Duration> {
    (v.is_finite() && (0.0..=86_400.0).contains(&v)).then(|| Duration::from_secs_f64(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn empty_bucket_delays_only_its_own_token() {
        let rl = RateLimiter::new();
        let a = rl.key("token-a", "GET /users/@me/guilds");
        let b = rl.key("token-b", "GET /users/@me/guilds");
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-bucket", HeaderValue::from_static("abcd"));
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        h.insert("x-ratelimit-reset-after", HeaderValue::from_static("1.5"));
        rl.observe(&a, &h);
        assert!(rl.delay(&a) > Duration::from_millis(1000));
        assert_eq!(rl.delay(&b), Duration::ZERO);
        rl.pause_all(Duration::from_secs(3));
        assert!(rl.delay(&b) > Duration::from_secs(2));
        assert_eq!(parse_seconds("0.523"), Some(Duration::from_millis(523)));
        assert_eq!(parse_seconds("-1"), None);
        assert_eq!(seconds(f64::NAN), None);
    }

    #[test]
    fn refused_tokens_are_remembered_per_token() {
        let rl = RateLimiter::new();
        let a = rl.key("token-a", "GET /users/@me");
        assert!(!rl.is_dead(&a));
        rl.mark_dead(&a);
        assert!(rl.is_dead(&rl.key("token-a", "GET /users/@me/guilds")));
        assert!(!rl.is_dead(&rl.key("token-b", "GET /users/@me")));
        assert_eq!(rl.global_remaining(), None);
        rl.pause_all(Duration::from_secs(1));
        assert!(rl.global_remaining().is_some());
    }
}
