use std::process::ExitCode;

use portal::config::{DatabaseConfig, PortalConfig, TokenEncryptionConfig};
use portal::error::Chain;
use settings::{Env, EnvError};
use store::TokenForm;
use telemetry::LogFormat;

const USAGE: &str = "usage: portal [--demo] [migrate | encrypt-tokens | decrypt-tokens | adopt [--dry-run] [--rename-tables]]

  (no arguments)  run the portal (configuration from the environment and .env)
  --demo          run offline against a built-in stand-in for Discord
  migrate         apply database migrations and exit
  encrypt-tokens  encrypt the stored Discord tokens with TOKEN_ENCRYPTION_KEY
  decrypt-tokens  turn them back into plain text (needs the same key)
  adopt           take over a fastapi-users database (portal adopt --help)
  --help          show this help";

/// `RUST_LOG` when unset.
const DEFAULT_LOG_FILTER: &str = "info";

#[tokio::main]
async fn main() -> ExitCode {
    // A subcommand with options of its own: its module reads them.
    if std::env::args().nth(1).as_deref() == Some("adopt") {
        return portal::adopt::command(std::env::args().skip(2)).await;
    }
    let mut demo = false;
    let mut migrate_only = false;
    let mut convert_tokens = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--demo" => demo = true,
            "migrate" => migrate_only = true,
            "encrypt-tokens" => convert_tokens = Some(TokenForm::Encrypted),
            "decrypt-tokens" => convert_tokens = Some(TokenForm::Plain),
            "--help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("portal: unknown argument {other:?}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }

    let env = match Env::from_process() {
        Ok(env) => env,
        Err(e) => return config_error(e),
    };
    let result = if let Some(target) = convert_tokens {
        // Like migrations: the database and the key, nothing else.
        let (database, key, log_format) = match DatabaseConfig::from_env(&env).and_then(|d| {
            let key = TokenEncryptionConfig::required_key(&env)?;
            Ok((d, key, LogFormat::from_env(&env)?))
        }) {
            Ok(c) => c,
            Err(e) => return config_error(e),
        };
        telemetry::init(log_format, DEFAULT_LOG_FILTER);
        portal::tokens_at_rest::convert(&database, &key, target).await
    } else if migrate_only {
        // Migrations need the database, not the Discord application.
        let (database, log_format) = match DatabaseConfig::from_env(&env)
            .and_then(|d| Ok((d, LogFormat::from_env(&env)?)))
        {
            Ok(c) => c,
            Err(e) => return config_error(e),
        };
        telemetry::init(log_format, DEFAULT_LOG_FILTER);
        portal::app::migrate(&database).await
    } else {
        let config = match PortalConfig::from_env(&env, demo) {
            Ok(c) => c,
            Err(e) => return config_error(e),
        };
        telemetry::init(config.log_format, DEFAULT_LOG_FILTER);
        if demo && env.get("DATABASE_URL").is_some() {
            eprintln!(
                "portal: --demo ignores DATABASE_URL and keeps its sample data in guildhall-demo.db"
            );
        }
        portal::app::run(config).await
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %Chain(&e), "portal stopped");
            eprintln!("portal: {}", Chain(&e));
            ExitCode::FAILURE
        }
    }
}

fn config_error(e: EnvError) -> ExitCode {
    eprintln!("portal: configuration error: {e}");
    ExitCode::from(2)
}
