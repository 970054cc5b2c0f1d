use std::time::Duration;

use settings::{Env, EnvError, Secret};

use crate::BreakerConfig;

/// Discord's production REST base. Always versioned: unversioned paths fall
/// back to a deprecated API version.
pub const DEFAULT_API_URL: &str = "https://discord.com/api/v10";
/// Discord's browser-facing authorize page.
pub const DEFAULT_AUTHORIZE_URL: &str = "https://discord.com/oauth2/authorize";
/// Discord's CDN for avatars and icons.
pub const DEFAULT_CDN_URL: &str = "https://cdn.discordapp.com";

/// Where Discord is and how patient to be with it. `Debug` shows the secret
/// as `[redacted]`.
#[derive(Debug, Clone)]
pub struct DiscordConfig {
    /// REST base, [`DEFAULT_API_URL`] (no trailing slash).
    pub api_url: String,
    /// Browser-facing authorize page, [`DEFAULT_AUTHORIZE_URL`].
    pub authorize_url: String,
    /// CDN base for avatars and icons, [`DEFAULT_CDN_URL`].
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
    /// When a route's circuit opens (`DISCORD_CIRCUIT_FAILURES`) and how
    /// long it stays open before a probe (`DISCORD_CIRCUIT_COOL_DOWN_SECONDS`).
    pub breaker: BreakerConfig,
}

impl DiscordConfig {
    /// Discord's production URLs and the default timeouts (connect 5 s,
    /// request 10 s, rate-limit wait 5 s).
    pub fn new(client_id: impl Into<String>, client_secret: Secret) -> Self {
        DiscordConfig {
            api_url: DEFAULT_API_URL.into(),
            authorize_url: DEFAULT_AUTHORIZE_URL.into(),
            cdn_url: DEFAULT_CDN_URL.into(),
            client_id: client_id.into(),
            client_secret,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            max_rate_limit_wait: Duration::from_secs(5),
            breaker: BreakerConfig::default(),
        }
    }

    /// The application's credentials (read by the caller, which knows what
    /// to tell an operator who has none) and everything else from the
    /// environment, defaulting to [`DiscordConfig::new`]'s values:
    /// `DISCORD_API_URL`, `DISCORD_AUTHORIZE_URL`, `DISCORD_CDN_URL`,
    /// `DISCORD_CONNECT_TIMEOUT_SECONDS`, `DISCORD_REQUEST_TIMEOUT_SECONDS`
    /// (both positive), `DISCORD_RATE_LIMIT_MAX_WAIT_SECONDS`,
    /// `DISCORD_CIRCUIT_FAILURES` (0 turns the breaker off) and
    /// `DISCORD_CIRCUIT_COOL_DOWN_SECONDS` (positive).
    pub fn from_env(
        env: &Env,
        client_id: impl Into<String>,
        client_secret: Secret,
    ) -> Result<Self, EnvError> {
        let defaults = DiscordConfig::new(client_id, client_secret);
        Ok(DiscordConfig {
            api_url: env.url("DISCORD_API_URL", &defaults.api_url)?,
            authorize_url: env.url("DISCORD_AUTHORIZE_URL", &defaults.authorize_url)?,
            cdn_url: env.url("DISCORD_CDN_URL", &defaults.cdn_url)?,
            connect_timeout: env
                .positive_seconds("DISCORD_CONNECT_TIMEOUT_SECONDS", defaults.connect_timeout)?,
            request_timeout: env
                .positive_seconds("DISCORD_REQUEST_TIMEOUT_SECONDS", defaults.request_timeout)?,
            max_rate_limit_wait: env.seconds(
                "DISCORD_RATE_LIMIT_MAX_WAIT_SECONDS",
                defaults.max_rate_limit_wait,
            )?,
            breaker: BreakerConfig {
                failures: env.parse(
                    "DISCORD_CIRCUIT_FAILURES",
                    defaults.breaker.failures,
                    "a whole number of consecutive failures (0 = never open)",
                )?,
                cool_down: env.positive_seconds(
                    "DISCORD_CIRCUIT_COOL_DOWN_SECONDS",
                    defaults.breaker.cool_down,
                )?,
            },
            ..defaults
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_the_defaults() {
        let c = DiscordConfig::from_env(&Env::default(), "1", Secret::new("s")).unwrap();
        assert_eq!(c.api_url, DEFAULT_API_URL);
        assert_eq!(c.request_timeout, Duration::from_secs(10));
        let env = Env::from_pairs([
            ("DISCORD_API_URL", "http://127.0.0.1:9/api/v10/"),
            ("DISCORD_RATE_LIMIT_MAX_WAIT_SECONDS", "0"),
            ("DISCORD_CIRCUIT_FAILURES", "0"),
            ("DISCORD_CIRCUIT_COOL_DOWN_SECONDS", "3"),
        ]);
        let c = DiscordConfig::from_env(&env, "1", Secret::new("s")).unwrap();
        assert_eq!(c.api_url, "http://127.0.0.1:9/api/v10");
        assert_eq!(c.max_rate_limit_wait, Duration::ZERO);
        assert_eq!(
            c.breaker,
            BreakerConfig {
                failures: 0,
                cool_down: Duration::from_secs(3)
            }
        );
        for name in [
            "DISCORD_CONNECT_TIMEOUT_SECONDS",
            "DISCORD_REQUEST_TIMEOUT_SECONDS",
            "DISCORD_CIRCUIT_COOL_DOWN_SECONDS",
        ] {
            let e = DiscordConfig::from_env(&Env::from_pairs([(name, "0")]), "1", Secret::new("s"))
                .unwrap_err();
            assert!(
                e.to_string().starts_with(&format!("{name} is invalid")),
                "{e}"
            );
        }
    }
}
