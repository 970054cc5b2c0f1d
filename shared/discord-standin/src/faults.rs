//! Scripted misbehaviour: the next answers on a route can be a rate limit, a
//! server error, a delay, malformed JSON or a 401.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// 429 with Discord's body, `Retry-After` and scope headers.
    RateLimited { retry_after: f64, global: bool },
    /// That status with a JSON error body (500, 502, 503…).
    Status(u16),
    /// Answer normally, but only after this long.
    Delay(Duration),
    /// 200 with a body that is not JSON.
    MalformedJson,
    /// 401 `{"message": "401: Unauthorized", "code": 0}`.
    Unauthorized,
}
