//! Scripted misbehaviour: the next answers on a route can be a rate limit, a
//! server error, a delay, malformed JSON or a 401 — or every answer on it,
//! until cleared, for an outage.

use std::collections::VecDeque;
use std::time::Duration;

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::ratelimit_headers;

/// One scripted answer, played instead of (or around) the normal one.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// 429 with Discord's body `{"message","retry_after","global"}`, a
    /// `Retry-After` header and `X-RateLimit-Scope` (`user`, or `global` with
    /// `X-RateLimit-Global: true`).
    RateLimited {
        /// Seconds, with decimals, as Discord sends them.
        retry_after: f64,
        /// A global limit: every route is affected.
        global: bool,
    },
    /// 429 of a limit shared by everyone using a resource (`X-RateLimit-Scope:
    /// shared`): Discord's body with `global: false`; it does not count
    /// against the caller's own limits.
    SharedRateLimited {
        /// Seconds, with decimals.
        retry_after: f64,
    },
    /// 429 from Cloudflare in front of the API (an IP over its limits): an
    /// HTML page and a `Retry-After` header in whole seconds, and none of
    /// Discord's JSON or `X-RateLimit-*` headers.
    EdgeRateLimited { retry_after_secs: u64 },
    /// That status with a Discord-style JSON error body (500, 502, 503…).
    Status(u16),
    /// Answer normally, but only after this long.
    Delay(Duration),
    /// 200 with a body that is not JSON.
    MalformedJson,
    /// 401 `{"message": "401: Unauthorized", "code": 0}`.
    Unauthorized,
    /// Answer normally, but say the bucket is empty (`X-RateLimit-Remaining:
    /// 0`) until `reset_after` seconds have passed — a well-behaved client
    /// waits before its next call on that bucket.
    BucketExhausted {
        /// Seconds, with decimals.
        reset_after: f64,
    },
}

/// Faults waiting to be played, by route pattern, in the order scripted;
/// then the lasting ones, played on every request until cleared.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    queues: Vec<(String, VecDeque<Fault>)>,
    lasting: Vec<(String, Fault)>,
}

impl FaultQueue {
    /// Queues faults for a route pattern: a path below `/api/v10` (the
    /// prefix is accepted too), where a `*` or `{name}` segment matches any
    /// one segment, e.g. `/channels/*/messages`.
    pub fn push(&mut self, pattern: &str, faults: Vec<Fault>) {
        let pattern = normalise(pattern);
        match self.queues.iter_mut().find(|(p, _)| *p == pattern) {
            Some((_, q)) => q.extend(faults),
            None => self.queues.push((pattern, faults.into())),
        }
    }

    /// Plays `fault` on every request to a route pattern (as for
    /// [`FaultQueue::push`]) once nothing is queued for it, until cleared.
    /// Replaces the pattern's previous lasting fault.
    pub fn set_lasting(&mut self, pattern: &str, fault: Fault) {
        let pattern = normalise(pattern);
        self.lasting.retain(|(p, _)| *p != pattern);
        self.lasting.push((pattern, fault));
    }

    /// Stops the lasting fault of a route pattern.
    pub fn clear_lasting(&mut self, pattern: &str) {
        let pattern = normalise(pattern);
        self.lasting.retain(|(p, _)| *p != pattern);
    }

    /// The next fault for `route` (a path below `/api/v10`), exact patterns
    /// first; queued faults before lasting ones.
    pub fn take(&mut self, route: &str) -> Option<Fault> {
        let exact = self
            .queues
            .iter()
            .position(|(p, q)| p == route && !q.is_empty());
        let index = exact.or_else(|| {
            self.queues
                .iter()
                .position(|(p, q)| !q.is_empty() && matches(p, route))
        });
        if let Some(index) = index {
            return self.queues[index].1.pop_front();
        }
        let lasting = self
            .lasting
            .iter()
            .find(|(p, _)| p == route)
            .or_else(|| self.lasting.iter().find(|(p, _)| matches(p, route)))?;
        Some(lasting.1.clone())
    }

    pub fn clear(&mut self) {
        self.queues.clear();
        self.lasting.clear();
    }
}

fn normalise(pattern: &str) -> String {
    let p = pattern.strip_prefix("/api/v10").unwrap_or(pattern);
    let p = p.trim_end_matches('/');
    if p.starts_with('/') {
        p.to_owned()
    } else {
        format!("/{p}")
    }
}

fn matches(pattern: &str, route: &str) -> bool {
    let (mut p, mut r) = (pattern.split('/'), route.split('/'));
    loop {
        match (p.next(), r.next()) {
            (None, None) => return true,
            (Some(ps), Some(rs)) => {
                let wildcard = ps == "*" || (ps.starts_with('{') && ps.ends_with('}'));
                if !wildcard && ps != rs {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// The answer for a fault that replaces the normal one. `Delay` and
/// `BucketExhausted` change the normal answer instead and give `None`.
pub(crate) fn response(fault: &Fault, route: &str) -> Option<Response> {
    Some(match fault {
        Fault::RateLimited {
            retry_after,
            global,
        } => {
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({
                    "message": "You are being rate limited.",
                    "retry_after": retry_after,
                    "global": global,
                })),
            )
                .into_response();
            let scope = if *global { "global" } else { "user" };
            ratelimit_headers::stamp_429(&mut r, route, *retry_after, scope);
            r
        }
        Fault::SharedRateLimited { retry_after } => {
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({
                    "message": "You are being rate limited.",
                    "retry_after": retry_after,
                    "global": false,
                })),
            )
                .into_response();
            ratelimit_headers::stamp_429(&mut r, route, *retry_after, "shared");
            r
        }
        Fault::EdgeRateLimited { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            [
                (header::CONTENT_TYPE, "text/html; charset=UTF-8".to_owned()),
                (header::RETRY_AFTER, retry_after_secs.to_string()),
            ],
            "<!DOCTYPE html><html><head><title>Access denied | discord.com used Cloudflare to restrict access</title></head><body><h1>Error 1015</h1><p>You are being rate limited</p></body></html>",
        )
            .into_response(),
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let reason = status.canonical_reason().unwrap_or("Error");
            (
                status,
                Json(json!({"message": format!("{}: {reason}", status.as_u16()), "code": 0})),
            )
                .into_response()
        }
        Fault::MalformedJson => (
            [(header::CONTENT_TYPE, "application/json")],
            "{\"id\": \"1\", \"name\": ",
        )
            .into_response(),
        Fault::Unauthorized => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "401: Unauthorized", "code": 0})),
        )
            .into_response(),
        Fault::Delay(_) | Fault::BucketExhausted { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_segments() {
        let mut q = FaultQueue::default();
        q.push("/api/v10/channels/*/messages", vec![Fault::Status(500)]);
        q.push("users/@me", vec![Fault::Unauthorized, Fault::Status(502)]);
        assert_eq!(q.take("/users/@me/guilds"), None);
        assert_eq!(q.take("/users/@me"), Some(Fault::Unauthorized));
        assert_eq!(q.take("/channels/1/messages/2"), None);
        assert_eq!(q.take("/channels/1/messages"), Some(Fault::Status(500)));
        assert_eq!(q.take("/channels/1/messages"), None);
        assert_eq!(q.take("/users/@me"), Some(Fault::Status(502)));
        assert_eq!(q.take("/users/@me"), None);
    }

    #[test]
    fn lasting_faults_play_until_cleared_after_the_queued_ones() {
        let mut q = FaultQueue::default();
        q.set_lasting("/users/@me/guilds", Fault::Status(500));
        q.push("/users/@me/guilds", vec![Fault::Status(502)]);
        assert_eq!(q.take("/users/@me/guilds"), Some(Fault::Status(502)));
        for _ in 0..3 {
            assert_eq!(q.take("/users/@me/guilds"), Some(Fault::Status(500)));
        }
        assert_eq!(q.take("/users/@me"), None);
        q.set_lasting("/users/@me/guilds", Fault::Status(503));
        assert_eq!(q.take("/users/@me/guilds"), Some(Fault::Status(503)));
        q.clear_lasting("/api/v10/users/@me/guilds");
        assert_eq!(q.take("/users/@me/guilds"), None);
        q.set_lasting("*", Fault::MalformedJson);
        q.clear();
        assert_eq!(q.take("/users"), None);
    }
}
