//! What both binaries do the same way before and after their real work:
//! set up logging (`LOG_FORMAT`, `RUST_LOG`) and wait for the signal to stop.

use std::io::IsTerminal;

#[cfg(feature = "testing")]
mod captured;
#[cfg(feature = "testing")]
pub use captured::CapturedLogs;

use settings::{Env, EnvError};
use tracing_subscriber::EnvFilter;

/// `LOG_FORMAT`: `text` for people reading a terminal, `json` for log
/// collectors (one object per line, fields flattened).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    /// Reads `LOG_FORMAT` (default `text`, case-insensitive).
    pub fn from_env(env: &Env) -> Result<Self, EnvError> {
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
}

/// Logs to stderr, filtered by `RUST_LOG` or, when it is unset or invalid,
/// by `default_filter` (each binary knows which of its dependencies are too
/// chatty). Calling it again keeps the first subscriber, so tests that start
/// several apps in one process can all call it.
pub fn init(format: LogFormat, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes would garble log files and collectors.
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Resolves on Ctrl-C or SIGTERM (what `docker stop` and systemd send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            // Without a SIGTERM handler Ctrl-C still works.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_format_is_named_in_errors() {
        let parse = |v: &str| LogFormat::from_env(&Env::from_pairs([("LOG_FORMAT", v)]));
        assert_eq!(parse("JSON").unwrap(), LogFormat::Json);
        assert_eq!(parse("text").unwrap(), LogFormat::Text);
        assert_eq!(
            LogFormat::from_env(&Env::default()).unwrap(),
            LogFormat::Text
        );
        let e = parse("yaml").unwrap_err();
        assert!(e.to_string().starts_with("LOG_FORMAT is invalid"), "{e}");
    }
}
