//! Prometheus metrics for `GET /metrics`: requests by route and status with
//! latency histograms, Discord calls by route and status (429s included),
//! guild-cache hits and misses, background refreshes of guild lists, each
//! Discord route's circuit breaker, logins by outcome, and refused requests
//! by reason. A small registry of
//! our own: a handful of counters does not warrant a metrics framework.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use discord::RouteHealth;
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
    refusals: BTreeMap<&'static str, u64>,
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

    /// A request refused for `reason` (a snake_case label, e.g.
    /// `csrf_origin_mismatch`).
    pub fn refusal(&self, reason: &'static str) {
        *lock(&self.inner).refusals.entry(reason).or_default() += 1;
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self, cache: CacheStats, circuits: &[RouteHealth]) -> String {
        let inner = lock(&self.inner);
        // Sorted, so the exposition is stable from one scrape to the next.
        let routes: BTreeMap<&str, &RouteStats> =
            inner.routes.iter().map(|(r, s)| (r.as_str(), s)).collect();
        let mut out = String::new();
        write_requests(&mut out, &routes);
        write_latency(&mut out, &routes);
        write_discord_calls(&mut out, &inner.discord);
        write_discord_circuits(&mut out, circuits);
        write_guild_cache(&mut out, cache);
        write_logins(&mut out, &inner.logins);
        write_refusals(&mut out, &inner.refusals);
        out
    }
}

// `fmt::Write` into a `String` cannot fail: the results below are ignored.

/// A metric family's `# HELP` and `# TYPE` lines.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn write_requests(out: &mut String, routes: &BTreeMap<&str, &RouteStats>) {
    family(
        out,
        "guildhall_http_requests_total",
        "counter",
        "HTTP requests by route and status.",
    );
    for (route, stats) in routes {
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
}

fn write_latency(out: &mut String, routes: &BTreeMap<&str, &RouteStats>) {
    const NAME: &str = "guildhall_http_request_duration_seconds";
    family(out, NAME, "histogram", "Time to answer, by route.");
    for (route, stats) in routes {
        let h = &stats.latency;
        let route = escape(route);
        for (bound, count) in BUCKETS.iter().zip(h.counts) {
            let _ = writeln!(
                out,
                "{NAME}_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "{NAME}_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(out, "{NAME}_sum{{route=\"{route}\"}} {}", h.sum);
        let _ = writeln!(out, "{NAME}_count{{route=\"{route}\"}} {}", h.count);
    }
}

/// Calls by route and status, and the 429s among them on their own.
fn write_discord_calls(out: &mut String, calls: &BTreeMap<(&'static str, u16), u64>) {
    family(
        out,
        "guildhall_discord_requests_total",
        "counter",
        "Calls to Discord by route and status.",
    );
    let mut limited = 0;
    for ((route, status), n) in calls {
        if *status == 429 {
            limited += n;
        }
        let _ = writeln!(
            out,
            "guildhall_discord_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
            escape(route)
        );
    }
    family(
        out,
        "guildhall_discord_rate_limited_total",
        "counter",
        "429 answers seen from Discord.",
    );
    let _ = writeln!(out, "guildhall_discord_rate_limited_total {limited}");
}

/// Each route's breaker: open or not, calls refused while open, openings.
/// A route appears once it has been called.
fn write_discord_circuits(out: &mut String, circuits: &[RouteHealth]) {
    family(
        out,
        "guildhall_discord_circuit_open",
        "gauge",
        "1 while the route's circuit breaker refuses calls (open or half-open).",
    );
    for c in circuits {
        let _ = writeln!(
            out,
            "guildhall_discord_circuit_open{{route=\"{}\"}} {}",
            escape(c.route),
            u8::from(c.open)
        );
    }
    family(
        out,
        "guildhall_discord_circuit_refused_total",
        "counter",
        "Calls to Discord refused at once because the route's circuit was open.",
    );
    for c in circuits {
        let _ = writeln!(
            out,
            "guildhall_discord_circuit_refused_total{{route=\"{}\"}} {}",
            escape(c.route),
            c.refused
        );
    }
    family(
        out,
        "guildhall_discord_circuit_opened_total",
        "counter",
        "Times the route's circuit breaker opened.",
    );
    for c in circuits {
        let _ = writeln!(
            out,
            "guildhall_discord_circuit_opened_total{{route=\"{}\"}} {}",
            escape(c.route),
            c.opened
        );
    }
}

fn write_guild_cache(out: &mut String, cache: CacheStats) {
    family(
        out,
        "guildhall_guild_cache_total",
        "counter",
        "Guild-list cache lookups by result.",
    );
    for (result, n) in [
        ("hit", cache.hits),
        ("miss", cache.misses),
        ("stale", cache.stale_served),
    ] {
        let _ = writeln!(
            out,
            "guildhall_guild_cache_total{{result=\"{result}\"}} {n}"
        );
    }
    family(
        out,
        "guildhall_guild_refreshes_total",
        "counter",
        "Background refreshes of expired guild lists, by outcome.",
    );
    for (outcome, n) in [
        ("started", cache.refreshes),
        ("failed", cache.refresh_failures),
    ] {
        let _ = writeln!(
            out,
            "guildhall_guild_refreshes_total{{outcome=\"{outcome}\"}} {n}"
        );
    }
}

/// Every outcome, zero included, so a dashboard's rate is never "no data".
fn write_logins(out: &mut String, logins: &BTreeMap<&'static str, u64>) {
    family(
        out,
        "guildhall_logins_total",
        "counter",
        "Discord logins by outcome.",
    );
    for outcome in ["register", "link", "login", "refused"] {
        let n = logins.get(outcome).copied().unwrap_or(0);
        let _ = writeln!(out, "guildhall_logins_total{{outcome=\"{outcome}\"}} {n}");
    }
}

/// Reasons appear once they have happened.
fn write_refusals(out: &mut String, refusals: &BTreeMap<&'static str, u64>) {
    family(
        out,
        "guildhall_refusals_total",
        "counter",
        "Requests refused, by reason.",
    );
    for (reason, n) in refusals {
        let _ = writeln!(
            out,
            "guildhall_refusals_total{{reason=\"{}\"}} {n}",
            escape(reason)
        );
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
        m.refusal("csrf_origin_mismatch");
        m.refusal("csrf_origin_mismatch");
        let text = m.render(
            CacheStats {
                hits: 2,
                misses: 1,
                refreshes: 3,
                refresh_failures: 1,
                ..CacheStats::default()
            },
            &[RouteHealth {
                route: "GET /users/@me/guilds",
                open: true,
                refused: 7,
                opened: 1,
            }],
        );
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
        assert!(text.contains("guildhall_guild_refreshes_total{outcome=\"failed\"} 1"));
        assert!(text.contains("guildhall_discord_circuit_open{route=\"GET /users/@me/guilds\"} 1"));
        assert!(text.contains(
            "guildhall_discord_circuit_refused_total{route=\"GET /users/@me/guilds\"} 7"
        ));
        assert!(text.contains("guildhall_logins_total{outcome=\"refused\"} 0"));
        assert!(text.contains("guildhall_refusals_total{reason=\"csrf_origin_mismatch\"} 2"));
    }
}
