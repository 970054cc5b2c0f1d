//! Assembles the application: state, router, server.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use store::{ConnectOptions, Store};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::PortalConfig;
use crate::error::PortalError;
use crate::routes;

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<PortalConfig>,
    pub store: Store,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(routes::ops::healthz))
        .route("/readyz", get(routes::ops::readyz))
        .with_state(state)
}

async fn connect_store(config: &PortalConfig) -> Result<Store, PortalError> {
    let options = ConnectOptions {
        retry_for: config.database_connect_retry,
        ..ConnectOptions::default()
    };
    let store = Store::connect(config.database_url.expose(), &options).await?;
    store.migrate().await?;
    Ok(store)
}

/// `portal migrate`: apply migrations and return.
pub async fn migrate(config: &PortalConfig) -> Result<(), PortalError> {
    let store = connect_store(config).await?;
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
    let store = connect_store(&config).await?;
    let state = AppState {
        config: Arc::new(config),
        store,
    };
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
pub async fn run(config: PortalConfig) -> Result<(), PortalError> {
    let listener = TcpListener::bind(config.bind).await.map_err(|e| {
        PortalError::Startup(format!("cannot listen on PORTAL_BIND={}: {e}", config.bind))
    })?;
    let public_url = config.public_url.clone();
    let portal = start(config, listener).await?;
    tracing::info!(addr = %portal.addr, backend = portal.state.store.backend().name(), "portal listening; open {public_url}");
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
