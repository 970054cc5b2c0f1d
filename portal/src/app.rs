//! Assembles the application: state, router, server.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::HeaderValue;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use discord::{DiscordClient, DiscordConfig};
use guilds::{GuildListing, ListingConfig};
use minijinja::Environment;
use store::{ConnectOptions, Store};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::{DatabaseConfig, PortalConfig};
use crate::error::PortalError;
use crate::oauth_state::OAuthStates;
use crate::render_cache::RenderCache;
use crate::routes::{self, api};
use crate::session::token::SessionTokens;
use crate::session::user_cache::UserCache;
use crate::{pages, security_headers};

/// Users whose rows the session check keeps in memory at most.
const USER_CACHE_CAPACITY: usize = 10_000;
/// Rendered guild pages and JSON kept in memory at most, in bytes (a page of
/// 50 guilds is about 30 kB).
const RENDER_CACHE_BYTES: usize = 16 << 20;

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
    pub sessions: SessionTokens,
    pub states: OAuthStates,
    pub templates: Environment<'static>,
    pub csp: HeaderValue,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub users: UserCache,
    pub renders: RenderCache,
}

impl AppState {
    /// Everything but the store is derived from the configuration.
    pub fn new(config: PortalConfig, store: Store) -> Result<Self, PortalError> {
        let mut discord_config = DiscordConfig::new(
            config.discord_client_id.clone(),
            config.discord_client_secret.clone(),
        );
        discord_config.api_url = config.discord_api_url.clone();
        discord_config.authorize_url = config.discord_authorize_url.clone();
        discord_config.cdn_url = config.discord_cdn_url.clone();
        discord_config.connect_timeout = config.discord_connect_timeout;
        discord_config.request_timeout = config.discord_request_timeout;
        discord_config.max_rate_limit_wait = config.discord_rate_limit_max_wait;
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let observer = {
            let metrics = metrics.clone();
            Arc::new(move |route: &'static str, status: u16| metrics.discord_call(route, status))
        };
        let discord = DiscordClient::with_observer(discord_config, Some(observer))
            .map_err(|e| PortalError::Startup(format!("Discord client: {e}")))?;
        let listing = GuildListing::new(
            store.clone(),
            discord.clone(),
            ListingConfig {
                cache_ttl: config.guild_cache_ttl,
                invite_permissions: config.bot_invite_permissions,
                ..ListingConfig::default()
            },
        );
        let templates =
            pages::environment().map_err(|e| PortalError::Startup(format!("templates: {e}")))?;
        let csp = HeaderValue::from_str(&security_headers::content_security_policy(
            &config.discord_cdn_url,
        ))
        .map_err(|e| PortalError::Startup(format!("DISCORD_CDN_URL in the CSP: {e}")))?;
        Ok(AppState(Arc::new(Services {
            sessions: SessionTokens::new(&config.auth_secret, config.session_lifetime),
            users: UserCache::new(config.user_cache_ttl, USER_CACHE_CAPACITY),
            renders: RenderCache::new(RENDER_CACHE_BYTES),
            states: OAuthStates::new(&config.oauth_state_secret),
            config,
            store,
            discord,
            listing,
            templates,
            csp,
            metrics,
        })))
    }
}

impl AppState {
    /// After a login or logout: what this replica remembers of the user is
    /// read afresh on their next request.
    pub fn forget_user(&self, user: store::UserId) {
        self.listing.invalidate(user);
        self.users.forget(user);
        self.renders.forget(user);
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        // browser
        .route("/", get(routes::login::login_page))
        .route("/discord/login", get(routes::login::discord_login))
        .route("/discord/callback", get(routes::callback::discord_callback))
        .route("/discord/guilds", get(routes::guild_pages::overview))
        .route(
            "/discord/guilds/{guild_id}",
            get(routes::guild_pages::one_guild),
        )
        .route("/discord/logout", post(routes::logout::browser_logout))
        .route(
            "/static/guildhall.css",
            get(routes::static_files::stylesheet),
        )
        // API
        .route(
            "/api/v1/auth/discord/cookie/authorize",
            get(api::auth::authorize),
        )
        .route(api::auth::CALLBACK_PATH, get(api::auth::callback))
        .route(
            "/api/v1/auth/cookie/logout",
            post(routes::logout::api_logout),
        )
        .route("/api/v1/users/me", get(api::users::me))
        .route("/api/v1/discord/guilds", get(api::guilds::list))
        .route("/api/openapi.json", get(api::openapi::spec))
        // operations
        .route("/healthz", get(routes::ops::healthz))
        .route("/readyz", get(routes::ops::readyz))
        .route("/metrics", get(routes::ops::metrics))
        .fallback(not_found)
        .layer(from_fn_with_state(state.clone(), pages::html_errors))
        .layer(from_fn_with_state(
            state.clone(),
            security_headers::security_headers,
        ))
        .with_state(state)
}

async fn not_found() -> PortalError {
    PortalError::NotFound
}

async fn connect_store(database: &DatabaseConfig) -> Result<Store, PortalError> {
    let options = ConnectOptions {
        retry_for: database.connect_retry,
        ..ConnectOptions::default()
    };
    let store = Store::connect(database.url.expose(), &options).await?;
    store.migrate().await?;
    Ok(store)
}

/// `portal migrate`: apply migrations and return.
pub async fn migrate(database: &DatabaseConfig) -> Result<(), PortalError> {
    let store = connect_store(database).await?;
    tracing::info!(backend = store.backend().name(), "migrations applied");
    store.close().await;
    Ok(())
}

/// A portal serving on a bound address, for tests and the binary alike.
pub struct RunningPortal {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: JoinHandle<Result<(), std::io::Error>>,
}

impl RunningPortal {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets in-flight requests finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }

    pub async fn wait(self) -> Result<(), PortalError> {
        self.task
            .await
            .map_err(|e| PortalError::Startup(e.to_string()))?
            .map_err(PortalError::Io)
    }
}

/// Connects the store, applies migrations, binds `listener` and serves.
pub async fn start(
    config: PortalConfig,
    listener: TcpListener,
) -> Result<RunningPortal, PortalError> {
    let store = connect_store(&config.database).await?;
    let state = AppState::new(config, store)?;
    let addr = listener.local_addr()?;
    let app = router(state.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx.await;
        })
        .await
    });
    Ok(RunningPortal {
        addr,
        state,
        shutdown: Some(tx),
        task,
    })
}

/// The binary's main loop: serve until SIGTERM or Ctrl-C.
pub async fn run(mut config: PortalConfig) -> Result<(), PortalError> {
    let listener = TcpListener::bind(config.bind).await.map_err(|e| {
        PortalError::Startup(format!("cannot listen on PORTAL_BIND={}: {e}", config.bind))
    })?;
    // Held for the life of the process: the demo's Discord.
    let demo = if config.demo {
        Some(crate::demo::prepare(&mut config).await?)
    } else {
        None
    };
    let public_url = config.public_url.clone();
    let portal = start(config, listener).await?;
    tracing::info!(addr = %portal.addr, backend = portal.state.store.backend().name(), "portal listening; open {public_url}");
    if let Some((_, fixture)) = &demo {
        crate::demo::seed_bot_presence(&portal.state.store, fixture).await?;
        println!("Guildhall demo running: open {public_url} in your browser (Ctrl-C to stop)");
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    portal.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
