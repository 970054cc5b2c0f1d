use std::time::Duration;

/// Every way a Discord call can fail. No variant carries a token.
#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    /// No complete answer within `request_timeout`.
    #[error("Discord did not answer in time")]
    Timeout,
    /// The connection could not be made or broke. The error carries no URL:
    /// a URL can hold a query worth keeping out of logs.
    #[error("could not connect to Discord")]
    Connect(#[source] reqwest::Error),
    /// A rate limit longer than `max_rate_limit_wait` (or the wait budget is
    /// used up).
    #[error("rate limited by Discord for {:.3} s", retry_after.as_secs_f64())]
    RateLimited {
        /// How long Discord asked to wait.
        retry_after: Duration,
    },
    /// 401 from the API: the token is invalid, expired or revoked.
    #[error("Discord refused the token (401)")]
    Unauthorized,
    /// The token endpoint's `invalid_grant`: a bad, used or expired code or
    /// refresh token, or a PKCE verifier that does not match.
    #[error("invalid_grant: {description}")]
    InvalidGrant {
        /// Discord's `error_description`.
        description: String,
    },
    /// Another OAuth error from the token endpoint (`invalid_client`,
    /// `invalid_request`, …).
    #[error("OAuth error {error}: {description}")]
    OAuth {
        /// Discord's `error`.
        error: String,
        /// Discord's `error_description`.
        description: String,
    },
    /// Another 4xx, with Discord's `{"message","code"}` body.
    #[error("Discord API error {status} (code {code}): {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Discord's JSON error code (e.g. 50001 Missing Access), 0 if none.
        code: u64,
        /// Discord's message.
        message: String,
    },
    /// Calls to this route are suspended after repeated failures: the
    /// client's circuit for the route is open, or (from the guild listing)
    /// this user's refreshes are backing off. Nothing was sent.
    #[error("calls to {route} are suspended for {:.1} s after repeated failures", retry_in.as_secs_f64())]
    Suspended {
        /// The route, as in the metrics.
        route: &'static str,
        /// How long until a call may be tried again.
        retry_in: Duration,
    },
    /// A 5xx that persisted after its retry (or got none: see the client).
    #[error("Discord server error {status}")]
    Server {
        /// HTTP status.
        status: u16,
    },
    /// A success answer that is not the JSON expected.
    #[error("unexpected answer from Discord")]
    Decode(#[source] serde_json::Error),
    /// The client could not be built from its configuration.
    #[error("Discord client misconfigured: {reason}")]
    Config {
        /// What is wrong, naming the setting.
        reason: String,
        /// What refused it, when something did (a URL parser, the HTTP client).
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}
