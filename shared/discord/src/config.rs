use std::time::Duration;

use settings::Secret;

/// Where Discord is and how patient to be with it.
#[derive(Debug, Clone)]
pub struct DiscordConfig {
    /// REST base, e.g. `https://discord.com/api/v10` (no trailing slash).
    pub api_url: String,
    pub authorize_url: String,
    pub cdn_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub connect_timeout: Duration,
    /// Total time for one HTTP exchange.
    pub request_timeout: Duration,
    /// The longest one call waits out rate limits before giving up with
    /// `RateLimited`.
    pub max_rate_limit_wait: Duration,
}

impl DiscordConfig {
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
