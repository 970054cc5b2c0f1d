//! The portal's configuration: one typed struct, read once at start-up from the
//! environment (and `.env`), grouped by concern. Each group reads its own
//! variables; a missing or malformed one stops start-up with a line naming it.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use discord::DiscordConfig;
use settings::{Env, EnvError, Secret};
use telemetry::LogFormat;

use crate::client_addr::TrustedProxies;
use crate::login_limit::LoginRateLimit;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://guildhall.db";
/// The demo keeps its sample data out of a real deployment's default file.
pub const DEMO_DATABASE_URL: &str = "sqlite://guildhall-demo.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8000";
/// Request bodies larger than this are refused (413): no route takes more
/// than a small form.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// The rendered-page cache's default budget: a page of 50 guilds is about
/// 30 kB, so some 500 users' pages.
/// Leaves room, inside the 8 s a process manager is commonly told to wait
/// (compose's `stop_grace_period` here is 10 s), for closing the database
/// pool and exiting.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(6);
/// A healthy pool hands out a connection in milliseconds; three seconds
/// of waiting means the database is down or saturated.
pub const DEFAULT_DATABASE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
pub const DEFAULT_PAGE_CACHE_MAX_BYTES: u64 = 16 << 20;
/// The session users' default budget: about 30,000 users (a row is about
/// 500 bytes with the cache's own).
pub const DEFAULT_USER_CACHE_MAX_BYTES: u64 = 16 << 20;
/// How a cache budget is written.
const BYTES: &str = "a number of bytes, e.g. 67108864 for 64 MiB";

const NEEDS_APP: &str = "create a Discord application (see README.md, \"Running against real Discord\"), or run `portal --demo` to try Guildhall offline";
const NEEDS_AUTH_SECRET: &str = "set it to at least 32 random bytes, e.g. the output of `openssl rand -hex 32` (see README.md, \"Configuration\"); or run `portal --demo` to try Guildhall offline";

#[derive(Debug, Clone)]
pub struct PortalConfig {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    /// Where Discord is, the application's credentials, and timeouts.
    pub discord: DiscordConfig,
    pub session: SessionConfig,
    pub login: LoginConfig,
    pub guilds: GuildsConfig,
    /// Discord tokens at rest.
    pub token_encryption: TokenEncryptionConfig,
    pub log_format: LogFormat,
    /// Set by `--demo` only, never from the environment.
    pub demo: bool,
}

impl PortalConfig {
    /// Reads the configuration. With `demo`, the Discord application and the
    /// secrets may be absent: the demo fills them in itself.
    pub fn from_env(env: &Env, demo: bool) -> Result<Self, EnvError> {
        let server = ServerConfig::from_env(env)?;
        // The demo writes sample users and bot presence: never into the
        // database a `.env` may point at.
        let database = if demo {
            DatabaseConfig::checked(env, DEMO_DATABASE_URL.to_owned())?
        } else {
            DatabaseConfig::from_env(env)?
        };
        let (client_id, client_secret) = discord_application(env, demo)?;
        Ok(PortalConfig {
            server,
            database,
            session: SessionConfig::from_env(env, demo)?,
            discord: DiscordConfig::from_env(env, client_id, client_secret)?,
            login: LoginConfig::from_env(env)?,
            guilds: GuildsConfig::from_env(env)?,
            token_encryption: TokenEncryptionConfig::from_env(env)?,
            log_format: LogFormat::from_env(env)?,
            demo,
        })
    }
}

/// `DISCORD_CLIENT_ID` and `DISCORD_CLIENT_SECRET`: required, except by the
/// demo, which brings its own application.
fn discord_application(env: &Env, demo: bool) -> Result<(String, Secret), EnvError> {
    if demo {
        return Ok((
            env.string("DISCORD_CLIENT_ID", ""),
            env.secret("DISCORD_CLIENT_SECRET").unwrap_or_default(),
        ));
    }
    let client_id = env.required("DISCORD_CLIENT_ID", NEEDS_APP)?;
    let client_secret = env
        .secret("DISCORD_CLIENT_SECRET")
        .ok_or_else(|| EnvError::Missing {
            name: "DISCORD_CLIENT_SECRET".into(),
            hint: NEEDS_APP.into(),
        })?;
    Ok((client_id, client_secret))
}

/// Where the portal listens and the URL people reach it at.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `PORTAL_BIND`.
    pub bind: SocketAddr,
    /// `PORTAL_PUBLIC_URL`: base of every absolute link and of the OAuth
    /// redirect URIs, no trailing slash.
    pub public_url: String,
    /// `TRUSTED_PROXIES`: peers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// `REQUEST_TIMEOUT_SECONDS`: a backstop; answers 503 past it.
    pub request_timeout: Duration,
    /// `REQUEST_BODY_LIMIT_BYTES`.
    pub body_limit: usize,
    /// `METRICS_TOKEN`: when set, `/metrics` wants it as a Bearer token.
    pub metrics_token: Option<Secret>,
    /// `SHUTDOWN_GRACE_SECONDS`: after SIGTERM, how long requests and
    /// logins under way may take to finish before the process exits anyway.
    pub shutdown_grace: Duration,
}

impl ServerConfig {
    pub fn from_env(env: &Env) -> Result<Self, EnvError> {
        let default_bind = DEFAULT_BIND.parse().map_err(|_| EnvError::Invalid {
            name: "PORTAL_BIND".into(),
            reason: "bad default".into(),
            expected: "host:port".into(),
        })?;
        let bind: SocketAddr = env.parse(
            "PORTAL_BIND",
            default_bind,
            "an address such as 127.0.0.1:8000 or 0.0.0.0:8000",
        )?;
        let public_url = env.url("PORTAL_PUBLIC_URL", &format!("http://{bind}"))?;
        let body_limit = env.parse(
            "REQUEST_BODY_LIMIT_BYTES",
            DEFAULT_BODY_LIMIT,
            "a number of bytes, e.g. 65536",
        )?;
        Ok(ServerConfig {
            bind,
            public_url,
            trusted_proxies: env.parse(
                "TRUSTED_PROXIES",
                TrustedProxies::default(),
                "comma-separated networks or addresses of your reverse proxies, e.g. 10.0.0.0/8,127.0.0.1",
            )?,
            request_timeout: env
                .positive_seconds("REQUEST_TIMEOUT_SECONDS", Duration::from_secs(30))?,
            body_limit,
            metrics_token: env.secret("METRICS_TOKEN"),
            shutdown_grace: env.seconds("SHUTDOWN_GRACE_SECONDS", DEFAULT_SHUTDOWN_GRACE)?,
        })
    }

    /// The browser login's redirect URI, registered with Discord.
    pub fn redirect_uri(&self) -> String {
        self.url("/discord/callback")
    }

    /// The absolute URL of a path on this portal.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }
}

/// The database settings alone: all `portal migrate` needs.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: Secret,
    /// How long start-up keeps retrying a database that does not answer yet.
    pub connect_retry: Duration,
    /// `DATABASE_ACQUIRE_TIMEOUT_SECONDS`: how long a request waits for a
    /// pooled connection (or, with the database down, for a new one) before
    /// it is answered 503. Short, so that requests do not pile up behind an
    /// outage.
    pub acquire_timeout: Duration,
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
        Ok(DatabaseConfig {
            url: Secret::new(url),
            connect_retry: env
                .seconds("DATABASE_CONNECT_RETRY_SECONDS", Duration::from_secs(30))?,
            acquire_timeout: env.positive_seconds(
                "DATABASE_ACQUIRE_TIMEOUT_SECONDS",
                DEFAULT_DATABASE_ACQUIRE_TIMEOUT,
            )?,
        })
    }
}

/// The session token, its cookie, and how long a session's user row is reused.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// `AUTH_SECRET`: signs session tokens (shared with fastapi-users to share
    /// sessions).
    pub auth_secret: Secret,
    /// `AUTH_SECRET_PREVIOUS`: secrets that signed sessions before a
    /// rotation; they still verify, nothing new is signed with them.
    pub auth_secret_previous: Vec<Secret>,
    /// `OAUTH_STATE_SECRET`, defaulting to `AUTH_SECRET`.
    pub oauth_state_secret: Secret,
    /// Secrets whose states still verify: `AUTH_SECRET_PREVIOUS` while the
    /// states are signed with `AUTH_SECRET`, none with a secret of their own
    /// (rotating that one restarts the logins under way, an hour's worth).
    pub oauth_state_previous: Vec<Secret>,
    pub cookie_name: String,
    /// Token lifetime and the cookie's Max-Age.
    pub lifetime: Duration,
    pub cookie_secure: bool,
    /// How long a session's user row is reused before the store is read
    /// again; zero reads it on every request, as fastapi-users does.
    pub user_cache_ttl: Duration,
    /// `USER_CACHE_MAX_BYTES`: the most those rows (with their sessions'
    /// revocations) may take in memory.
    pub user_cache_max_bytes: u64,
}

impl SessionConfig {
    /// With `demo`, the secrets may be absent or weak: the demo replaces
    /// them with random ones.
    pub fn from_env(env: &Env, demo: bool) -> Result<Self, EnvError> {
        let (auth_secret, auth_secret_previous, state_secret) = if demo {
            (
                env.secret(AUTH_SECRET).unwrap_or_default(),
                Vec::new(),
                env.secret(OAUTH_STATE_SECRET),
            )
        } else {
            signing_secrets(env)?
        };
        let (oauth_state_secret, oauth_state_previous) = match state_secret {
            Some(own) => (own, Vec::new()),
            None => (auth_secret.clone(), auth_secret_previous.clone()),
        };
        Ok(SessionConfig {
            auth_secret,
            auth_secret_previous,
            oauth_state_secret,
            oauth_state_previous,
            cookie_name: env.string("SESSION_COOKIE_NAME", "fastapiusersauth"),
            // Zero would be a session born expired.
            lifetime: env
                .positive_seconds("SESSION_LIFETIME_SECONDS", Duration::from_secs(3600))?,
            cookie_secure: env.flag("COOKIE_SECURE", true)?,
            user_cache_ttl: env.seconds("USER_CACHE_TTL_SECONDS", Duration::from_secs(2))?,
            user_cache_max_bytes: env.parse(
                "USER_CACHE_MAX_BYTES",
                DEFAULT_USER_CACHE_MAX_BYTES,
                BYTES,
            )?,
        })
    }
}

const AUTH_SECRET: &str = "AUTH_SECRET";
const AUTH_SECRET_PREVIOUS: &str = "AUTH_SECRET_PREVIOUS";
const OAUTH_STATE_SECRET: &str = "OAUTH_STATE_SECRET";

/// `AUTH_SECRET` (required), `AUTH_SECRET_PREVIOUS` and `OAUTH_STATE_SECRET`,
/// each refused when weak (see `signing_secrets`).
fn signing_secrets(env: &Env) -> Result<(Secret, Vec<Secret>, Option<Secret>), EnvError> {
    let auth_secret = env.secret(AUTH_SECRET).ok_or_else(|| EnvError::Missing {
        name: AUTH_SECRET.into(),
        hint: NEEDS_AUTH_SECRET.into(),
    })?;
    crate::signing_secrets::check(AUTH_SECRET, &auth_secret)?;
    let previous = match env.secret(AUTH_SECRET_PREVIOUS) {
        Some(list) => crate::signing_secrets::check_list(AUTH_SECRET_PREVIOUS, &list)?,
        None => Vec::new(),
    };
    let state_secret = env.secret(OAUTH_STATE_SECRET);
    if let Some(own) = &state_secret {
        crate::signing_secrets::check(OAUTH_STATE_SECRET, own)?;
    }
    Ok((auth_secret, previous, state_secret))
}

/// How a Discord login becomes a Guildhall user.
#[derive(Debug, Clone)]
pub struct LoginConfig {
    /// `ASSOCIATE_BY_EMAIL`: whether a new Discord login is linked to an
    /// existing user with the same email (Discord's verified address).
    pub associate_by_email: store::AssociateByEmail,
    /// `LOGIN_RATE_LIMIT_PER_MINUTE` (0: off) and `LOGIN_RATE_LIMIT_BURST`,
    /// per client address.
    pub rate_limit: Option<LoginRateLimit>,
}

const ASSOCIATE_BY_EMAIL: &str = "ASSOCIATE_BY_EMAIL";

impl LoginConfig {
    pub fn from_env(env: &Env) -> Result<Self, EnvError> {
        use store::AssociateByEmail::*;
        let associate_by_email = match env.get(ASSOCIATE_BY_EMAIL) {
            // `unverified` is fastapi-users' own behaviour, kept for a
            // database no password-registration app writes to.
            Some(v) if v.eq_ignore_ascii_case("unverified") => Always,
            _ => match env.flag(ASSOCIATE_BY_EMAIL, true) {
                Ok(true) => IfVerified,
                Ok(false) => Never,
                Err(_) => {
                    return Err(EnvError::Invalid {
                        name: ASSOCIATE_BY_EMAIL.into(),
                        reason: "not one of the accepted values".into(),
                        expected: "true (link to verified users only), unverified (link to any user, as fastapi-users does) or false".into(),
                    });
                }
            },
        };
        let per_minute: u32 = env.parse(
            "LOGIN_RATE_LIMIT_PER_MINUTE",
            20,
            "a whole number of logins a minute per address, 0 for no limit",
        )?;
        let burst: NonZeroU32 = env.parse(
            "LOGIN_RATE_LIMIT_BURST",
            NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
            "a positive whole number of logins an address may start at once",
        )?;
        Ok(LoginConfig {
            associate_by_email,
            rate_limit: NonZeroU32::new(per_minute)
                .map(|per_minute| LoginRateLimit { per_minute, burst }),
        })
    }
}

/// The guild listing: caching and the "Invite bot" links.
#[derive(Debug, Clone)]
pub struct GuildsConfig {
    /// `GUILD_CACHE_TTL_SECONDS`; zero turns the per-user cache off.
    pub cache_ttl: Duration,
    /// `GUILD_CACHE_MAX_BYTES`: the most the cached guild lists may take.
    pub cache_max_bytes: u64,
    /// `PAGE_CACHE_MAX_BYTES`: the most the rendered guild pages and JSON
    /// may take; zero keeps none.
    pub page_cache_max_bytes: u64,
    /// `BOT_INVITE_PERMISSIONS`, the permissions integer in invite links.
    pub bot_invite_permissions: u64,
    /// `GUILD_PERMISSION_MAX_AGE_SECONDS`: a change to a server's settings
    /// or tags is checked against a guild list Discord gave at most this
    /// long ago (fetched again otherwise). Zero fetches on every change.
    pub permission_max_age: Duration,
    /// `GUILD_REFRESH_BACKOFF_SECONDS` and `GUILD_REFRESH_BACKOFF_MAX_SECONDS`:
    /// after a failed refresh of a user's expired guild list, the first wait
    /// before the next try, doubling up to the most.
    pub refresh_backoff: guilds::Backoff,
}

impl GuildsConfig {
    pub fn from_env(env: &Env) -> Result<Self, EnvError> {
        Ok(GuildsConfig {
            cache_ttl: env.seconds("GUILD_CACHE_TTL_SECONDS", Duration::from_secs(60))?,
            cache_max_bytes: env.parse(
                "GUILD_CACHE_MAX_BYTES",
                guilds::DEFAULT_CACHE_MAX_BYTES,
                BYTES,
            )?,
            page_cache_max_bytes: env.parse(
                "PAGE_CACHE_MAX_BYTES",
                DEFAULT_PAGE_CACHE_MAX_BYTES,
                BYTES,
            )?,
            bot_invite_permissions: env.parse(
                "BOT_INVITE_PERMISSIONS",
                0,
                "a permissions integer, e.g. 8 for Administrator",
            )?,
            permission_max_age: env
                .seconds("GUILD_PERMISSION_MAX_AGE_SECONDS", Duration::from_secs(30))?,
            refresh_backoff: guilds::Backoff {
                base: env.positive_seconds(
                    "GUILD_REFRESH_BACKOFF_SECONDS",
                    guilds::Backoff::default().base,
                )?,
                max: env.positive_seconds(
                    "GUILD_REFRESH_BACKOFF_MAX_SECONDS",
                    guilds::Backoff::default().max,
                )?,
            },
        })
    }
}

/// `TOKEN_ENCRYPTION_KEY`: with it, Discord access and refresh tokens are
/// stored encrypted. Read on its own by `portal encrypt-tokens` and
/// `decrypt-tokens`, which need nothing else but the database.
#[derive(Debug, Clone, Default)]
pub struct TokenEncryptionConfig {
    pub key: Option<store::TokenKey>,
}

const TOKEN_KEY: &str = "TOKEN_ENCRYPTION_KEY";
const TOKEN_KEY_FORMAT: &str = "32 random bytes in standard base64, e.g. `openssl rand -base64 32`";

impl TokenEncryptionConfig {
    /// Unset is fine (tokens stay plain text); a value that is not a key is
    /// an error naming the variable.
    pub fn from_env(env: &Env) -> Result<Self, EnvError> {
        let Some(text) = env.secret(TOKEN_KEY) else {
            return Ok(TokenEncryptionConfig { key: None });
        };
        let key = store::TokenKey::from_base64(text.expose()).map_err(|e| EnvError::Invalid {
            name: TOKEN_KEY.into(),
            reason: e.to_string(),
            expected: TOKEN_KEY_FORMAT.into(),
        })?;
        Ok(TokenEncryptionConfig { key: Some(key) })
    }

    /// The key the conversion commands cannot do without.
    pub fn required_key(env: &Env) -> Result<store::TokenKey, EnvError> {
        Self::from_env(env)?.key.ok_or_else(|| EnvError::Missing {
            name: TOKEN_KEY.into(),
            hint: format!(
                "the key the tokens are (or are to be) encrypted with: {TOKEN_KEY_FORMAT} (see docs/deploy.md, \"Discord tokens at rest\")"
            ),
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
        assert_eq!(c.database.acquire_timeout, Duration::from_secs(3));
        assert_eq!(c.server.shutdown_grace, Duration::from_secs(6));
        assert_eq!(c.server.bind.to_string(), "127.0.0.1:8000");
        assert_eq!(
            c.server.redirect_uri(),
            "http://127.0.0.1:8000/discord/callback"
        );
        assert_eq!(c.session.cookie_name, "fastapiusersauth");
        assert!(c.session.cookie_secure && !c.demo);
        assert_eq!(
            c.login.associate_by_email,
            store::AssociateByEmail::IfVerified
        );
        assert_eq!(c.session.oauth_state_secret, c.session.auth_secret);
        assert_eq!(c.discord.api_url, "https://discord.com/api/v10");
        assert_eq!(c.discord.client_id, "123");
        assert_eq!(c.guilds.cache_ttl, Duration::from_secs(60));
        assert_eq!(c.guilds.permission_max_age, Duration::from_secs(30));
        assert_eq!(c.session.user_cache_ttl, Duration::from_secs(2));
        assert_eq!(
            (
                c.guilds.cache_max_bytes,
                c.guilds.page_cache_max_bytes,
                c.session.user_cache_max_bytes
            ),
            (64 << 20, 16 << 20, 16 << 20)
        );
        assert!(c.token_encryption.key.is_none());
        assert_eq!(
            c.login
                .rate_limit
                .map(|l| (l.per_minute.get(), l.burst.get())),
            Some((20, 10))
        );
        assert!(c.server.trusted_proxies.is_empty() && c.server.metrics_token.is_none());
        assert_eq!(c.server.request_timeout, Duration::from_secs(30));
        assert_eq!(c.server.body_limit, 64 * 1024);
        let mut env = full();
        env.set("LOGIN_RATE_LIMIT_PER_MINUTE", "0");
        env.set("METRICS_TOKEN", "metrics-token-value");
        let off = PortalConfig::from_env(&env, false).unwrap();
        assert!(off.login.rate_limit.is_none());
        assert!(!format!("{off:?}").contains("metrics-token-value"));
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
            ("TRUSTED_PROXIES", "10.0.0.0/33"),
            ("TRUSTED_PROXIES", "10.0.0.0/8,,proxy.internal"),
            ("LOGIN_RATE_LIMIT_PER_MINUTE", "lots"),
            ("LOGIN_RATE_LIMIT_BURST", "0"),
            ("REQUEST_TIMEOUT_SECONDS", "0"),
            ("REQUEST_BODY_LIMIT_BYTES", "64k"),
            ("GUILD_CACHE_MAX_BYTES", "64MB"),
            ("PAGE_CACHE_MAX_BYTES", "-1"),
            ("USER_CACHE_MAX_BYTES", "lots"),
            ("DATABASE_ACQUIRE_TIMEOUT_SECONDS", "0"),
            ("SHUTDOWN_GRACE_SECONDS", "soon"),
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
    fn previous_secrets_verify_sessions_and_states_signed_with_auth_secret() {
        let old = "c0ffee00c0ffee01c0ffee02c0ffee03c0ffee04";
        let mut env = full();
        env.set("AUTH_SECRET_PREVIOUS", format!("{old},"));
        let c = PortalConfig::from_env(&env, false).unwrap();
        assert_eq!(c.session.auth_secret_previous, [Secret::new(old)]);
        assert_eq!(c.session.oauth_state_previous, [Secret::new(old)]);
        assert!(!format!("{c:?}").contains("c0ffee"));

        // A state secret of its own has no previous ones.
        env.set(
            "OAUTH_STATE_SECRET",
            "a-state-secret-of-its-own-0123456789abcdef",
        );
        let c = PortalConfig::from_env(&env, false).unwrap();
        assert_eq!(c.session.auth_secret_previous, [Secret::new(old)]);
        assert!(c.session.oauth_state_previous.is_empty());

        for (name, value) in [
            ("AUTH_SECRET", "replace-with-output-of-openssl-rand-hex-32"),
            ("AUTH_SECRET", "0000000000000000000000000000000000000000"),
            ("OAUTH_STATE_SECRET", "short"),
            ("AUTH_SECRET_PREVIOUS", "also-short"),
        ] {
            let mut env = full();
            env.set(name, value);
            let e = PortalConfig::from_env(&env, false).unwrap_err().to_string();
            assert!(e.starts_with(&format!("{name} is invalid")), "{e}");
            assert!(
                e.contains("openssl rand -hex 32") && !e.contains(value),
                "{e}"
            );
        }
        // The demo signs with random secrets of its own.
        let weak = Env::from_pairs([("AUTH_SECRET", "weak"), ("AUTH_SECRET_PREVIOUS", "x")]);
        assert!(PortalConfig::from_env(&weak, true).is_ok());
    }

    #[test]
    fn associate_by_email_links_verified_users_unless_told_otherwise() {
        use store::AssociateByEmail::*;
        for (value, expected) in [
            ("true", IfVerified),
            ("yes", IfVerified),
            ("unverified", Always),
            ("Unverified", Always),
            ("false", Never),
            ("0", Never),
        ] {
            let mut env = full();
            env.set("ASSOCIATE_BY_EMAIL", value);
            let c = PortalConfig::from_env(&env, false).unwrap();
            assert_eq!(c.login.associate_by_email, expected, "{value}");
        }
        let mut env = full();
        env.set("ASSOCIATE_BY_EMAIL", "sometimes");
        let e = PortalConfig::from_env(&env, false).unwrap_err().to_string();
        assert!(e.starts_with("ASSOCIATE_BY_EMAIL is invalid"), "{e}");
        assert!(e.contains("unverified"), "{e}");
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
    fn a_token_key_is_32_bytes_of_base64_and_never_printed() {
        let key = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=";
        let mut env = full();
        env.set("TOKEN_ENCRYPTION_KEY", key);
        let c = PortalConfig::from_env(&env, false).unwrap();
        assert!(c.token_encryption.key.is_some());
        assert!(!format!("{c:?}").contains("q83vEjRW"));
        assert!(TokenEncryptionConfig::required_key(&env).is_ok());

        for bad in [
            "not base64 at all!",
            "c2hvcnQ=",
            "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=q83v",
        ] {
            env.set("TOKEN_ENCRYPTION_KEY", bad);
            let e = PortalConfig::from_env(&env, false).unwrap_err().to_string();
            assert!(e.starts_with("TOKEN_ENCRYPTION_KEY is invalid"), "{e}");
            assert!(
                e.contains("openssl rand -base64 32") && !e.contains(bad),
                "{e}"
            );
        }
        let e = TokenEncryptionConfig::required_key(&Env::default()).unwrap_err();
        assert!(
            e.to_string().starts_with("TOKEN_ENCRYPTION_KEY is not set"),
            "{e}"
        );
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
