//! Prometheus metrics for `GET /metrics`: requests by route and status with
//! latency histograms, Discord calls by route and status (429s included),
//! guild-cache hits and misses, and logins by outcome. A small registry of
//! our own: a handful of counters does not warrant a metrics framework.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use guilds::CacheStats;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 12] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct RouteStats {
    /// By status; a route answers with few distinct ones.
    statuses: Vec<(u16, u64)>,
    latency: Histogram,
}

#[derive(Default)]
struct Inner {
    /// Looked up by `&str` on every request, so only a route's first
    /// request allocates its key.
    routes: HashMap<String, RouteStats>,
    discord: BTreeMap<(&'static str, u16), u64>,
    logins: BTreeMap<&'static str, u64>,
}

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

fn lock(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Metrics {
    pub fn request(&self, route: &str, status: u16, elapsed: Duration) {
        let mut inner = lock(&self.inner);
        let stats = match inner.routes.get_mut(route) {
            Some(stats) => stats,
            None => inner.routes.entry(route.to_owned()).or_default(),
        };
        match stats.statuses.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => stats.statuses.push((status, 1)),
        }
        let h = &mut stats.latency;
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    pub fn discord_call(&self, route: &'static str, status: u16) {
        *lock(&self.inner)
            .discord
            .entry((route, status))
            .or_default() += 1;
    }

    /// `register`, `link`, `login` or `refused`.
    pub fn login(&self, outcome: &'static str) {
        *lock(&self.inner).logins.entry(outcome).or_default() += 1;
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self, cache: CacheStats) -> String {
        let inner = lock(&self.inner);
        // Sorted, so the exposition is stable from one scrape to the next.
        let routes: BTreeMap<&str, &RouteStats> =
            inner.routes.iter().map(|(r, s)| (r.as_str(), s)).collect();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP guildhall_http_requests_total HTTP requests by route and status."
        );
        let _ = writeln!(out, "# TYPE guildhall_http_requests_total counter");
        for (route, stats) in &routes {
            let mut statuses = stats.statuses.clone();
            statuses.sort_unstable();
            for (status, n) in statuses {
                let _ = writeln!(
                    out,
                    "guildhall_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP guildhall_http_request_duration_seconds Time to answer, by route."
        );
        let _ = writeln!(
            out,
            "# TYPE guildhall_http_request_duration_seconds histogram"
        );
        for (route, stats) in &routes {
            let h = &stats.latency;
            let route = escape(route);
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "guildhall_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "guildhall_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "guildhall_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "guildhall_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP guildhall_discord_requests_total Calls to Discord by route and status."
        );
        let _ = writeln!(out, "# TYPE guildhall_discord_requests_total counter");
        let mut limited = 0;
        for ((route, status), n) in &inner.discord {
            if *status == 429 {
                limited += n;
            }
            let _ = writeln!(
                out,
                "guildhall_discord_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        let _ = writeln!(
            out,
            "# HELP guildhall_discord_rate_limited_total 429 answers seen from Discord."
        );
        let _ = writeln!(out, "# TYPE guildhall_discord_rate_limited_total counter");
        let _ = writeln!(out, "guildhall_discord_rate_limited_total {limited}");
        let _ = writeln!(
            out,
            "# HELP guildhall_guild_cache_total Guild-list cache lookups by result."
        );
        let _ = writeln!(out, "# TYPE guildhall_guild_cache_total counter");
        let _ = writeln!(
            out,
            "guildhall_guild_cache_total{{result=\"hit\"}} {}",
            cache.hits
        );
        let _ = writeln!(
            out,
            "guildhall_guild_cache_total{{result=\"miss\"}} {}",
            cache.misses
        );
        let _ = writeln!(
            out,
            "guildhall_guild_cache_total{{result=\"stale\"}} {}",
            cache.stale_served
        );
        let _ = writeln!(
            out,
            "# HELP guildhall_logins_total Discord logins by outcome."
        );
        let _ = writeln!(out, "# TYPE guildhall_logins_total counter");
        for outcome in ["register", "link", "login", "refused"] {
            let n = inner.logins.get(outcome).copied().unwrap_or(0);
            let _ = writeln!(out, "guildhall_logins_total{{outcome=\"{outcome}\"}} {n}");
        }
        out
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.request("/discord/guilds", 200, Duration::from_millis(3));
        m.discord_call("GET /users/@me/guilds", 429);
        m.login("register");
        let text = m.render(CacheStats {
            hits: 2,
            misses: 1,
            stale_served: 0,
        });
        assert!(
            text.contains(
                "guildhall_http_requests_total{route=\"/discord/guilds\",status=\"200\"} 1"
            )
        );
        assert!(text.contains("guildhall_http_request_duration_seconds_bucket{route=\"/discord/guilds\",le=\"0.005\"} 1"));
        assert!(text.contains("guildhall_http_request_duration_seconds_bucket{route=\"/discord/guilds\",le=\"0.001\"} 0"));
        assert!(text.contains("guildhall_discord_rate_limited_total 1"));
        assert!(text.contains("guildhall_guild_cache_total{result=\"hit\"} 2"));
        assert!(text.contains("guildhall_logins_total{outcome=\"register\"} 1"));
        assert!(text.contains("guildhall_logins_total{outcome=\"refused\"} 0"));
    }
}
