//! What every handler shares: the configuration and the services built from
//! it once at start-up.

use std::sync::Arc;

use axum::http::HeaderValue;
use discord::DiscordClient;
use guilds::{GuildListing, ListingConfig};
use minijinja::Environment;
use store::Store;

use crate::config::PortalConfig;
use crate::error::PortalError;
use crate::login_limit::LoginLimiter;
use crate::metrics::Metrics;
use crate::middleware::security_headers::content_security_policy;
use crate::oauth_state::LoginStateSigner;
use crate::page_cache::PageCache;
use crate::pages;
use crate::session::form_token::FormTokens;
use crate::session::token::SessionTokens;
use crate::session::user_cache::UserCache;

/// What a token refresh may take beyond the Discord call itself (storing the
/// new pair), before another replica may take the refresh over.
const REFRESH_LEASE_MARGIN: std::time::Duration = std::time::Duration::from_secs(5);

/// Everything a handler may need. One `Arc`: every extractor and middleware
/// clones the state per request, and cloning the parts one by one (the
/// token validator owns hash sets) showed up in profiles.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

pub struct Services {
    pub config: PortalConfig,
    pub store: Store,
    pub discord: DiscordClient,
    pub listing: GuildListing,
    /// Issues and checks session tokens.
    pub session_tokens: SessionTokens,
    /// Makes the per-session token every form carries.
    pub form_tokens: FormTokens,
    /// Signs and checks the OAuth `state` of logins under way.
    pub login_states: LoginStateSigner,
    pub templates: Environment<'static>,
    pub csp: HeaderValue,
    pub metrics: Arc<Metrics>,
    /// Session users' rows, reused for `USER_CACHE_TTL_SECONDS`.
    pub user_cache: UserCache,
    /// Rendered guild pages and JSON, reused while the listing is unchanged.
    pub page_cache: PageCache,
    /// Logins per client address; `None` when `LOGIN_RATE_LIMIT_PER_MINUTE=0`.
    pub login_limiter: Option<LoginLimiter>,
    /// Login callbacks under way, each in a task of its own: a browser that
    /// goes away does not cancel one half-way, and shutdown waits for them.
    pub logins: tokio_util::task::TaskTracker,
}

impl AppState {
    /// Everything but the store is derived from the configuration.
    pub fn new(config: PortalConfig, store: Store) -> Result<Self, PortalError> {
        let metrics = Arc::new(Metrics::default());
        let observer = {
            let metrics = metrics.clone();
            Arc::new(move |route: &'static str, status: u16| metrics.discord_call(route, status))
        };
        let discord = DiscordClient::with_observer(config.discord.clone(), Some(observer))
            .map_err(|e| PortalError::startup("building the Discord client", e))?;
        let listing = GuildListing::new(
            store.clone(),
            discord.clone(),
            ListingConfig {
                cache_ttl: config.guilds.cache_ttl,
                cache_max_bytes: config.guilds.cache_max_bytes,
                invite_permissions: config.guilds.bot_invite_permissions,
                refresh_backoff: config.guilds.refresh_backoff,
                // Longer than the slowest refresh call this client makes.
                refresh_lease: config.discord.request_timeout
                    + config.discord.max_rate_limit_wait
                    + REFRESH_LEASE_MARGIN,
                ..ListingConfig::default()
            },
        );
        let templates =
            pages::environment().map_err(|e| PortalError::startup("compiling the templates", e))?;
        let csp = HeaderValue::from_str(&content_security_policy(&config.discord.cdn_url))
            .map_err(|e| PortalError::startup("putting DISCORD_CDN_URL in the CSP", e))?;
        Ok(AppState(Arc::new(Services {
            session_tokens: SessionTokens::rotating(
                &config.session.auth_secret,
                &config.session.auth_secret_previous,
                config.session.lifetime,
            ),
            form_tokens: FormTokens::new(&config.session.auth_secret),
            user_cache: UserCache::new(
                config.session.user_cache_ttl,
                config.session.user_cache_max_bytes,
            ),
            page_cache: PageCache::new(config.guilds.page_cache_max_bytes),
            login_states: LoginStateSigner::rotating(
                &config.session.oauth_state_secret,
                &config.session.oauth_state_previous,
            ),
            login_limiter: config.login.rate_limit.map(LoginLimiter::new),
            logins: tokio_util::task::TaskTracker::new(),
            config,
            store,
            discord,
            listing,
            templates,
            csp,
            metrics,
        })))
    }

    /// After a login or logout: what this replica remembers of the user is
    /// read afresh on their next request.
    pub fn forget_user(&self, user: store::UserId) {
        self.listing.invalidate(user);
        self.user_cache.forget(user);
        self.page_cache.forget(user);
    }
}
