//! The portal's configuration: one typed struct, read once at start-up from the
//! environment (and `.env`). A missing or malformed variable stops start-up
//! with a line naming it.

use std::net::SocketAddr;
use std::time::Duration;

use settings::{Env, EnvError, Secret};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://guildhall.db";
/// The demo keeps its sample data out of a real deployment's default file.
pub const DEMO_DATABASE_URL: &str = "sqlite://guildhall-demo.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8000";

const NEEDS_APP: &str = "create a Discord application (see README.md, \"Running against real Discord\"), or run `portal --demo` to try Guildhall offline";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The database settings alone: all `portal migrate` needs.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: Secret,
    /// How long start-up keeps retrying a database that does not answer yet.
    pub connect_retry: Duration,
}

impl DatabaseConfig {
    pub fn from_env(env: &Env) -> Result<Self, EnvError> {
        let url = env.string("DATABASE_URL", DEFAULT_DATABASE_URL);
        Self::checked(env, url)
    }

    fn checked(env: &Env, url: String) -> Result<Self, EnvError> {
        store::Backend::from_url(&url).map_err(|e| EnvError::Invalid {
            name: "DATABASE_URL".into(),
            reason: e.to_string(),
            expected: "sqlite://path, postgres://… or mysql://…".into(),
        })?;
        let connect_retry = env
            .parse::<u64>(
                "DATABASE_CONNECT_RETRY_SECONDS",
                30,
                "a whole number of seconds",
            )
            .map(Duration::from_secs)?;
        Ok(DatabaseConfig {
            url: Secret::new(url),
            connect_retry,
        })
    }
}

/// `LOG_FORMAT`: `text` (default) or `json`.
pub fn log_format(env: &Env) -> Result<LogFormat, EnvError> {
    match env
        .string("LOG_FORMAT", "text")
        .to_ascii_lowercase()
        .as_str()
    {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => Err(EnvError::Invalid {
            name: "LOG_FORMAT".into(),
            reason: format!("{other:?}"),
            expected: "text or json".into(),
        }),
    }
}

#[derive(Debug, Clone)]
pub struct PortalConfig {
    pub database: DatabaseConfig,
    pub bind: SocketAddr,
    /// Base of every absolute link and of the OAuth redirect URI, no trailing slash.
    pub public_url: String,
    pub discord_client_id: String,
    pub discord_client_secret: Secret,
    pub discord_api_url: String,
    pub discord_authorize_url: String,
    pub discord_cdn_url: String,
    pub discord_connect_timeout: Duration,
    pub discord_request_timeout: Duration,
    pub discord_rate_limit_max_wait: Duration,
    pub auth_secret: Secret,
    pub oauth_state_secret: Secret,
    pub session_cookie_name: String,
    pub session_lifetime: Duration,
    pub cookie_secure: bool,
    pub associate_by_email: bool,
    pub bot_invite_permissions: u64,
    pub guild_cache_ttl: Duration,
    /// How long a session's user row is reused before the store is read
    /// again; zero reads it on every request, as fastapi-users does.
    pub user_cache_ttl: Duration,
    pub log_format: LogFormat,
    /// Set by `--demo` only, never from the environment.
    pub demo: bool,
}

impl PortalConfig {
    pub fn redirect_uri(&self) -> String {
        format!("{}/discord/callback", self.public_url)
    }

    /// Reads the configuration. With `demo`, the Discord application and the
    /// secrets may be absent: the demo fills them in itself.
    pub fn from_env(env: &Env, demo: bool) -> Result<Self, EnvError> {
        let bind: SocketAddr = env.parse(
            "PORTAL_BIND",
            DEFAULT_BIND.parse().map_err(|_| EnvError::Invalid {
                name: "PORTAL_BIND".into(),
                reason: "bad default".into(),
                expected: "host:port".into(),
            })?,
            "an address such as 127.0.0.1:8000 or 0.0.0.0:8000",
        )?;
        let default_public = format!("http://{bind}");
        let public_url = env.url("PORTAL_PUBLIC_URL", &default_public)?;

        // The demo writes sample users and bot presence: never into the
        // database a `.env` may point at.
        let database = if demo {
            DatabaseConfig::checked(env, DEMO_DATABASE_URL.to_owned())?
        } else {
            DatabaseConfig::from_env(env)?
        };

        let (client_id, client_secret, auth_secret) = if demo {
            (
                env.string("DISCORD_CLIENT_ID", ""),
                env.secret("DISCORD_CLIENT_SECRET").unwrap_or_default(),
                env.secret("AUTH_SECRET").unwrap_or_default(),
            )
        } else {
            (
                env.required("DISCORD_CLIENT_ID", NEEDS_APP)?,
                env.secret("DISCORD_CLIENT_SECRET").ok_or_else(|| EnvError::Missing {
                    name: "DISCORD_CLIENT_SECRET".into(),
                    hint: NEEDS_APP.into(),
                })?,
                env.secret("AUTH_SECRET").ok_or_else(|| EnvError::Missing {
                    name: "AUTH_SECRET".into(),
                    hint: "set it to a long random string, e.g. `openssl rand -hex 32` (see README.md, \"Configuration\"); or run `portal --demo` to try Guildhall offline".into(),
                })?,
            )
        };
        if !demo && auth_secret.expose().len() < 32 {
            return Err(EnvError::Invalid {
                name: "AUTH_SECRET".into(),
                reason: format!("only {} characters", auth_secret.expose().len()),
                expected: "at least 32 random characters, e.g. `openssl rand -hex 32`".into(),
            });
        }
        let oauth_state_secret = env
            .secret("OAUTH_STATE_SECRET")
            .unwrap_or_else(|| auth_secret.clone());

        let seconds = |name: &str, default: u64| -> Result<Duration, EnvError> {
            env.parse::<u64>(name, default, "a whole number of seconds")
                .map(Duration::from_secs)
        };
        // Zero would mean a session that is born expired, or a Discord call
        // that times out before it starts.
        let positive = |name: &str, default: u64| -> Result<Duration, EnvError> {
            let d = seconds(name, default)?;
            if d.is_zero() {
                return Err(EnvError::Invalid {
                    name: name.into(),
                    reason: "0".into(),
                    expected: "a positive number of seconds".into(),
                });
            }
            Ok(d)
        };
        let session_lifetime = positive("SESSION_LIFETIME_SECONDS", 3600)?;
        let log_format = log_format(env)?;

        Ok(PortalConfig {
            database,
            bind,
            public_url,
            discord_client_id: client_id,
            discord_client_secret: client_secret,
            discord_api_url: env.url("DISCORD_API_URL", "https://discord.com/api/v10")?,
            discord_authorize_url: env.url(
                "DISCORD_AUTHORIZE_URL",
                "https://discord.com/oauth2/authorize",
            )?,
            discord_cdn_url: env.url("DISCORD_CDN_URL", "https://cdn.discordapp.com")?,
            discord_connect_timeout: positive("DISCORD_CONNECT_TIMEOUT_SECONDS", 5)?,
            discord_request_timeout: positive("DISCORD_REQUEST_TIMEOUT_SECONDS", 10)?,
            discord_rate_limit_max_wait: seconds("DISCORD_RATE_LIMIT_MAX_WAIT_SECONDS", 5)?,
            auth_secret,
            oauth_state_secret,
            session_cookie_name: env.string("SESSION_COOKIE_NAME", "fastapiusersauth"),
            session_lifetime,
            cookie_secure: env.flag("COOKIE_SECURE", true)?,
            associate_by_email: env.flag("ASSOCIATE_BY_EMAIL", true)?,
            bot_invite_permissions: env.parse(
                "BOT_INVITE_PERMISSIONS",
                0,
                "a permissions integer, e.g. 8 for Administrator",
            )?,
            guild_cache_ttl: seconds("GUILD_CACHE_TTL_SECONDS", 60)?,
            user_cache_ttl: seconds("USER_CACHE_TTL_SECONDS", 2)?,
            log_format,
            demo,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Env {
        Env::from_pairs([
            ("DISCORD_CLIENT_ID", "123"),
            ("DISCORD_CLIENT_SECRET", "client-secret-value"),
            ("AUTH_SECRET", "0123456789abcdef0123456789abcdef"),
        ])
    }

    #[test]
    fn defaults() {
        let c = PortalConfig::from_env(&full(), false).unwrap();
        assert_eq!(c.database.url.expose(), DEFAULT_DATABASE_URL);
        assert_eq!(c.bind.to_string(), "127.0.0.1:8000");
        assert_eq!(c.redirect_uri(), "http://127.0.0.1:8000/discord/callback");
        assert_eq!(c.session_cookie_name, "fastapiusersauth");
        assert!(c.cookie_secure && c.associate_by_email && !c.demo);
        assert_eq!(c.oauth_state_secret, c.auth_secret);
        assert_eq!(c.discord_api_url, "https://discord.com/api/v10");
        assert_eq!(c.guild_cache_ttl, Duration::from_secs(60));
        assert_eq!(c.user_cache_ttl, Duration::from_secs(2));
        let printed = format!("{c:?}");
        assert!(!printed.contains("client-secret-value") && !printed.contains("0123456789abcdef"));
    }

    #[test]
    fn missing_or_bad_variables_are_named() {
        let e = PortalConfig::from_env(&Env::default(), false).unwrap_err();
        assert!(
            e.to_string().starts_with("DISCORD_CLIENT_ID is not set"),
            "{e}"
        );
        assert!(e.to_string().contains("--demo"), "{e}");

        let mut env = full();
        env.set("AUTH_SECRET", "");
        let e = PortalConfig::from_env(&env, false).unwrap_err();
        assert!(e.to_string().starts_with("AUTH_SECRET is not set"), "{e}");

        for (name, value) in [
            ("PORTAL_BIND", "localhost"),
            ("DATABASE_URL", "oracle://x"),
            ("COOKIE_SECURE", "perhaps"),
            ("SESSION_LIFETIME_SECONDS", "-1"),
            ("USER_CACHE_TTL_SECONDS", "soon"),
            ("DISCORD_REQUEST_TIMEOUT_SECONDS", "0"),
            ("DISCORD_CONNECT_TIMEOUT_SECONDS", "0"),
            ("PORTAL_PUBLIC_URL", "example.org"),
            ("AUTH_SECRET", "short"),
        ] {
            let mut env = full();
            env.set(name, value);
            let e = PortalConfig::from_env(&env, false).unwrap_err();
            assert!(
                e.to_string().starts_with(&format!("{name} is invalid")),
                "{name}: {e}"
            );
        }
    }

    #[test]
    fn demo_needs_no_discord_app_and_keeps_to_its_own_database() {
        let c = PortalConfig::from_env(&Env::default(), true).unwrap();
        assert!(c.demo);
        let deployment = Env::from_pairs([("DATABASE_URL", "postgres://db/guildhall")]);
        let c = PortalConfig::from_env(&deployment, true).unwrap();
        assert_eq!(c.database.url.expose(), DEMO_DATABASE_URL);
    }

    #[test]
    fn migrate_needs_only_the_database() {
        let c = DatabaseConfig::from_env(&Env::default()).unwrap();
        assert_eq!(c.url.expose(), DEFAULT_DATABASE_URL);
        let bad = Env::from_pairs([("DATABASE_URL", "oracle://x")]);
        let e = DatabaseConfig::from_env(&bad).unwrap_err();
        assert!(e.to_string().starts_with("DATABASE_URL is invalid"), "{e}");
    }
}
