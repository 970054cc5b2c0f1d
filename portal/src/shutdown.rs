//! SIGTERM or Ctrl-C, caught from the moment the portal starts. A stop
//! asked for while start-up still waits for its database ends the process
//! cleanly (exit 0), not by the signal's default action, which is what
//! happened before the server was up. `telemetry::shutdown_signal` installs
//! its handler only when first awaited; this installs it at once.

use tokio::sync::watch;

/// Whether a stop was asked for; cheap to clone.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Installs the handlers now. Needs a Tokio runtime.
    pub fn listen() -> std::io::Result<Self> {
        let (tx, rx) = watch::channel(false);
        #[cfg(unix)]
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::spawn(async move {
            #[cfg(unix)]
            let term = term.recv();
            #[cfg(not(unix))]
            let term = std::future::pending::<Option<()>>();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term => {}
            }
            let _ = tx.send(true);
        });
        Ok(Shutdown(rx))
    }

    /// Returns once a stop is asked for.
    pub async fn requested(&self) {
        let mut rx = self.0.clone();
        // An error means the listener is gone, which only a runtime shutting
        // down does: stop then too.
        let _ = rx.wait_for(|stop| *stop).await;
    }

    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }
}
