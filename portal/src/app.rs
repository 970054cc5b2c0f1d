//! Assembles the application: the router, the server, `portal migrate`.

use std::net::SocketAddr;

use axum::Router;
use axum::routing::{get, post};
use store::{ConnectOptions, Store};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::{DatabaseConfig, PortalConfig};
use crate::error::PortalError;
use crate::routes::{self, api};
use crate::{AppState, middleware};

pub fn router(app: AppState) -> Router {
    let routes = Router::new()
        // browser
        .route("/", get(routes::login::sign_in_page))
        .route("/discord/login", get(routes::login::discord_login))
        .route("/discord/callback", get(routes::callback::discord_callback))
        .route("/discord/guilds", get(routes::guild_pages::overview))
        .route(
            "/discord/guilds/{guild_id}",
            get(routes::guild_pages::one_guild),
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
            "/api/v1/auth/discord/cookie/authorize",
            get(api::auth::authorize),
        )
        .route(api::auth::CALLBACK_PATH, get(api::auth::callback))
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

pub(crate) async fn connect_store(database: &DatabaseConfig) -> Result<Store, PortalError> {
    let options = ConnectOptions {
        retry_for: database.connect_retry,
        ..ConnectOptions::default()
    };
    let store = Store::connect(database.url.expose(), &options).await?;
    if let Err(e) = store.migrate().await {
        return Err(adoption_hint(&store, e).await);
    }
    Ok(store)
}

/// A failed migration on a database that fastapi-users created is the
/// operator pointing a new portal at the old deployment's database: say
/// which command takes it over instead of leaving them with sqlx's message.
async fn adoption_hint(store: &Store, error: store::StoreError) -> PortalError {
    // The migrator created its bookkeeping table before the first migration
    // failed; left there, adoption would take it for another application's.
    if let Err(e) = store.drop_unused_migration_records().await {
        tracing::warn!(error = %crate::error::Chain(&e), "could not remove the _sqlx_migrations table a failed first migration left");
    }
    let needs_adoption = matches!(
        store.adoption_plan(store::adopt::AdoptOptions::default()).await,
        Ok(plan) if !matches!(plan.outcome, store::adopt::Outcome::AlreadyAdopted)
    );
    if needs_adoption {
        PortalError::startup(
            "this database holds tables Guildhall did not create (a fastapi-users deployment?): \
             run `portal adopt --dry-run` to see how it would be taken over, then `portal adopt`; \
             see docs/migrating-from-fastapi-users.md",
            error,
        )
    } else {
        error.into()
    }
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
            .map_err(|e| PortalError::startup("the server task ended abnormally", e))?
            .map_err(PortalError::Io)
    }
}

/// Connects the store, applies migrations, binds `listener` and serves.
pub async fn start(
    config: PortalConfig,
    listener: TcpListener,
) -> Result<RunningPortal, PortalError> {
    let store = connect_store(&config.database)
        .await?
        .with_token_key(config.token_encryption.key.as_ref());
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
    Ok(RunningPortal {
        addr,
        app,
        shutdown: Some(tx),
        task,
    })
}

/// The binary's main loop: serve until SIGTERM or Ctrl-C.
pub async fn run(mut config: PortalConfig) -> Result<(), PortalError> {
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
    let portal = start(config, listener).await?;
    tracing::info!(addr = %portal.addr, backend = portal.app.store.backend().name(), "portal listening; open {public_url}");
    if let Some((_, fixture)) = &demo {
        crate::demo::seed_bot_presence(&portal.app.store, fixture).await?;
        println!("Guildhall demo running: open {public_url} in your browser (Ctrl-C to stop)");
    }
    telemetry::shutdown_signal().await;
    tracing::info!("shutting down");
    portal.shutdown().await;
    Ok(())
}
