//! The `bot` binary: configuration, logging, then the shards until a stop
//! signal or a fatal gateway error.

use std::process::ExitCode;

use bot::config::BotConfig;
use settings::Env;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Env::from_process().and_then(|env| BotConfig::from_env(&env)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bot: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format, bot::DEFAULT_LOG_FILTER);
    let mut running = match bot::start(config).await {
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
        _ = telemetry::shutdown_signal() => {
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
