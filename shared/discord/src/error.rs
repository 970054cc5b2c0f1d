use std::time::Duration;

/// Every way a Discord call can fail. No variant carries a token.
#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    #[error("Discord did not answer in time")]
    Timeout,
    #[error("could not connect to Discord: {0}")]
    Connect(String),
    #[error("rate limited by Discord for {:.3} s", retry_after.as_secs_f64())]
    RateLimited { retry_after: Duration },
    /// 401 from the API: the token is invalid, expired or revoked.
    #[error("Discord refused the token (401)")]
    Unauthorized,
    /// The token endpoint's `invalid_grant`: a bad, used or expired code or
    /// refresh token.
    #[error("invalid_grant: {description}")]
    InvalidGrant { description: String },
    /// Another OAuth error from the token endpoint.
    #[error("OAuth error {error}: {description}")]
    OAuth { error: String, description: String },
    #[error("Discord API error {status} (code {code}): {message}")]
    Api {
        status: u16,
        code: u64,
        message: String,
    },
    #[error("Discord server error {status}")]
    Server { status: u16 },
    #[error("unexpected answer from Discord: {0}")]
    Decode(String),
    #[error("Discord client misconfigured: {0}")]
    Config(String),
}
