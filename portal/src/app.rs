//! Assembles the application: the router, the server, `portal migrate`.

use std::net::SocketAddr;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, put};
use store::{ConnectOptions, Store};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::{DatabaseConfig, PortalConfig};
use crate::error::PortalError;
use crate::routes::{self, api};
use crate::shutdown::Shutdown;
use crate::{AppState, middleware};

pub fn router(app: AppState) -> Router {
    // Each costs the client address a cell of its login budget.
    let login_routes = Router::new()
        .route("/discord/login", get(routes::login::discord_login))
        .route("/discord/callback", get(routes::callback::discord_callback))
        .route(
            "/api/v1/auth/discord/cookie/authorize",
            get(api::auth::authorize),
        )
        .route(api::auth::CALLBACK_PATH, get(api::auth::callback))
        .route_layer(from_fn_with_state(
            app.clone(),
            middleware::login_rate_limit::login_rate_limit,
        ));
    let routes = Router::new()
        .merge(login_routes)
        // browser
        .route("/", get(routes::login::sign_in_page))
        .route("/discord/guilds", get(routes::guild_pages::overview))
        .route(
            "/discord/guilds/{guild_id}",
            get(routes::guild_admin_pages::one_guild),
        )
        .route(
            "/discord/guilds/{guild_id}/settings",
            post(routes::guild_admin_pages::save_settings),
        )
        .route(
            "/discord/guilds/{guild_id}/tags",
            get(routes::guild_admin_pages::tags_page).post(routes::guild_admin_pages::save_tag),
        )
        .route(
            "/discord/guilds/{guild_id}/tags/{name}/delete",
            post(routes::guild_admin_pages::delete_tag),
        )
        .route(
            "/discord/guilds/{guild_id}/audit",
            get(routes::guild_admin_pages::audit_page),
        )
        .route("/discord/logout", post(routes::logout::browser_logout))
        .route(
            "/discord/logout-everywhere",
            post(routes::logout::browser_logout_everywhere),
        )
        .route(
            "/static/guildhall.css",
            get(routes::static_files::stylesheet),
        )
        // API
        .route(
            "/api/v1/auth/cookie/logout",
            post(routes::logout::api_logout),
        )
        .route(
            "/api/v1/auth/sessions/revoke-all",
            post(routes::logout::api_revoke_all),
        )
        .route("/api/v1/users/me", get(api::users::me))
        .route("/api/v1/discord/guilds", get(api::guilds::list))
        .route(
            "/api/v1/discord/guilds/{guild_id}/settings",
            get(api::guild_admin::get_settings).put(api::guild_admin::put_settings),
        )
        .route(
            "/api/v1/discord/guilds/{guild_id}/channels",
            get(api::guild_admin::channels),
        )
        .route(
            "/api/v1/discord/guilds/{guild_id}/tags",
            get(api::guild_admin::tags),
        )
        .route(
            "/api/v1/discord/guilds/{guild_id}/tags/{name}",
            put(api::guild_admin::put_tag).delete(api::guild_admin::delete_tag),
        )
        .route(
            "/api/v1/discord/guilds/{guild_id}/audit",
            get(api::guild_admin::audit),
        )
        .route("/api/openapi.json", get(api::openapi::spec))
        // operations
        .route("/healthz", get(routes::ops::healthz))
        .route("/readyz", get(routes::ops::readyz))
        .route("/metrics", get(routes::ops::metrics))
        .fallback(not_found);
    middleware::apply(routes, &app).with_state(app)
}

async fn not_found() -> PortalError {
    PortalError::NotFound
}

/// Connects (retrying for `DATABASE_CONNECT_RETRY_SECONDS`), no migrations.
async fn connect(database: &DatabaseConfig) -> Result<Store, PortalError> {
    let options = ConnectOptions {
        retry_for: database.connect_retry,
        acquire_timeout: database.acquire_timeout,
        ..ConnectOptions::default()
    };
    Ok(Store::connect(database.url.expose(), &options).await?)
}

pub(crate) async fn connect_store(database: &DatabaseConfig) -> Result<Store, PortalError> {
    let store = connect(database).await?;
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
    pub app: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: JoinHandle<Result<(), std::io::Error>>,
    /// Prunes the guild audit log; stopped with the server.
    pruner: JoinHandle<()>,
}

impl RunningPortal {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections (the listener is closed: new ones are
    /// refused) and lets the requests and logins under way finish within
    /// `SHUTDOWN_GRACE_SECONDS`; past it, stops waiting for them.
    pub async fn shutdown(mut self) {
        let grace = self.app.config.server.shutdown_grace;
        self.pruner.abort();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let logins = self.app.logins.clone();
        logins.close();
        let drained = tokio::time::timeout(grace, async {
            let _ = (&mut self.task).await;
            // A login whose browser went away runs on in its own task.
            logins.wait().await;
        })
        .await;
        if drained.is_err() {
            self.task.abort();
            tracing::warn!(
                grace_seconds = grace.as_secs(),
                logins_under_way = logins.len(),
                "shutdown grace over: requests still under way are cut"
            );
        }
    }

    pub async fn wait(self) -> Result<(), PortalError> {
        self.task
            .await
            .map_err(|e| PortalError::startup("the server task ended abnormally", e))?
            .map_err(PortalError::Io)
    }
}

/// Connects the store, applies migrations, binds `listener` and serves.
pub async fn start(
    config: PortalConfig,
    listener: TcpListener,
) -> Result<RunningPortal, PortalError> {
    let store = connect_store(&config.database).await?;
    serve(config, store, listener)
}

/// Serves on `listener` with a migrated `store`.
fn serve(
    config: PortalConfig,
    store: Store,
    listener: TcpListener,
) -> Result<RunningPortal, PortalError> {
    let store = store.with_token_key(config.token_encryption.key.as_ref());
    let app = AppState::new(config, store)?;
    let addr = listener.local_addr()?;
    let routes = router(app.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            routes.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx.await;
        })
        .await
    });
    let pruner = tokio::spawn(prune_audit_log(app.store.clone()));
    Ok(RunningPortal {
        addr,
        app,
        shutdown: Some(tx),
        task,
        pruner,
    })
}

/// How often the guild audit log loses its entries past 90 days.
const AUDIT_PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Every replica prunes; a DELETE of nothing costs little, and no replica
/// has to be the one that does it.
async fn prune_audit_log(store: Store) {
    let mut every = tokio::time::interval(AUDIT_PRUNE_EVERY);
    loop {
        every.tick().await;
        match store
            .guild_audit_prune(chrono::Utc::now().timestamp())
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(entries = n, "pruned the guild audit log"),
            Err(e) => tracing::warn!(
                error = &e as &dyn std::error::Error,
                "could not prune the guild audit log; trying again in an hour"
            ),
        }
    }
}

/// How long the pool may take to close at exit: connections a cut request
/// still holds are not waited for.
const POOL_CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// The binary's main loop: serve until SIGTERM or Ctrl-C, which at any
/// moment, start-up included, ends it with `Ok` within
/// `SHUTDOWN_GRACE_SECONDS` and a second.
pub async fn run(mut config: PortalConfig) -> Result<(), PortalError> {
    let shutdown = Shutdown::listen()
        .map_err(|e| PortalError::startup("installing the SIGTERM handler", e))?;
    let bind = config.server.bind;
    let listener = TcpListener::bind(bind)
        .await
        .map_err(|e| PortalError::startup(format!("cannot listen on PORTAL_BIND={bind}"), e))?;
    // Held for the life of the process: the demo's Discord.
    let demo = if config.demo {
        Some(crate::demo::prepare(&mut config).await?)
    } else {
        None
    };
    let public_url = config.server.public_url.clone();
    let store = tokio::select! {
        store = connect(&config.database) => store?,
        () = shutdown.requested() => {
            tracing::info!("stopped while waiting for the database");
            return Ok(());
        }
    };
    // Not cut short: a migration stopped half-way (MySQL's DDL is not
    // transactional) costs more than the moment it takes.
    store.migrate().await?;
    if shutdown.is_requested() {
        tracing::info!("stopped during start-up");
        store.close().await;
        return Ok(());
    }
    let portal = serve(config, store, listener)?;
    tracing::info!(addr = %portal.addr, backend = portal.app.store.backend().name(), "portal listening; open {public_url}");
    if let Some((_, fixture)) = &demo {
        crate::demo::seed_bot_presence(&portal.app.store, fixture).await?;
        println!("Guildhall demo running: open {public_url} in your browser (Ctrl-C to stop)");
    }
    shutdown.requested().await;
    tracing::info!("shutting down");
    let store = portal.app.store.clone();
    portal.shutdown().await;
    if tokio::time::timeout(POOL_CLOSE_WAIT, store.close())
        .await
        .is_err()
    {
        tracing::warn!("database connections still held at exit were dropped");
    }
    tracing::info!("stopped");
    Ok(())
}
