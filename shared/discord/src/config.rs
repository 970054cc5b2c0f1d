use std::time::Duration;

use settings::Secret;

/// Where Discord is and how patient to be with it. `Debug` shows the secret
/// as `[redacted]`.
#[derive(Debug, Clone)]
pub struct DiscordConfig {
    /// REST base, `https://discord.com/api/v10` (no trailing slash). Always
    /// versioned: unversioned paths fall back to a deprecated API version.
    pub api_url: String,
    /// Browser-facing authorize page, `https://discord.com/oauth2/authorize`.
    pub authorize_url: String,
    /// CDN base for avatars and icons, `https://cdn.discordapp.com`.
    pub cdn_url: String,
    /// The application's id (OAuth2 client id).
    pub client_id: String,
    /// The application's OAuth2 secret.
    pub client_secret: Secret,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Total time for one HTTP exchange, body included.
    pub request_timeout: Duration,
    /// The longest one call waits out rate limits before giving up with
    /// `RateLimited` — a page render must not hang behind a long limit.
    pub max_rate_limit_wait: Duration,
}

impl DiscordConfig {
    /// Discord's production URLs and the default timeouts (connect 5 s,
    /// request 10 s, rate-limit wait 5 s).
    pub fn new(client_id: impl Into<String>, client_secret: Secret) -> Self {
        DiscordConfig {
            api_url: "https://discord.com/api/v10".into(),
            authorize_url: "https://discord.com/oauth2/authorize".into(),
            cdn_url: "https://cdn.discordapp.com".into(),
            client_id: client_id.into(),
            client_secret,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            max_rate_limit_wait: Duration::from_secs(5),
        }
    }
}
