//! The `bot` binary: configuration, logging, then the shards until a stop
//! signal or a fatal gateway error.

use std::process::ExitCode;

use bot::config::BotConfig;
use settings::Env;

#[tokio::main]
async fn main() -> ExitCode {
    // Listening for SIGTERM from the first moment: a stop during start-up
    // (a deploy, `docker compose restart`) must end in a clean exit, not in
    // the signal's default action.
    let mut stop = Box::pin(telemetry::shutdown_signal());
    tokio::select! {
        biased;
        _ = &mut stop => return ExitCode::SUCCESS,
        _ = std::future::ready(()) => {}
    }
    let config = match Env::from_process().and_then(|env| BotConfig::from_env(&env)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bot: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format, bot::DEFAULT_LOG_FILTER);
    // Connecting to the database (with its retries), migrating, asking
    // Discord for the application's flags: all abandoned on a stop.
    let started = tokio::select! {
        started = bot::start(config) => started,
        _ = &mut stop => {
            tracing::info!("stopped during start-up");
            return ExitCode::SUCCESS;
        }
    };
    let mut running = match started {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bot: {e}");
            return ExitCode::FAILURE;
        }
    };
    tokio::select! {
        result = running.wait() => {
            if let Err(e) = result {
                eprintln!("bot: {e}");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        _ = &mut stop => {
            tracing::info!("shutting down shards");
            match running.shutdown().await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("bot: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
