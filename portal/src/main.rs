use std::process::ExitCode;

use portal::config::PortalConfig;
use settings::Env;

const USAGE: &str = "usage: portal [--demo] [migrate]

  (no arguments)  run the portal (configuration from the environment and .env)
  --demo          run offline against a built-in stand-in for Discord
  migrate         apply database migrations and exit
  --help          show this help";

#[tokio::main]
async fn main() -> ExitCode {
    let mut demo = false;
    let mut migrate_only = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--demo" => demo = true,
            "migrate" => migrate_only = true,
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

    let config = match Env::from_process().and_then(|env| PortalConfig::from_env(&env, demo)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("portal: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    portal::logging::init(config.log_format);

    let result = if migrate_only {
        portal::app::migrate(&config).await
    } else {
        portal::app::run(config).await
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("portal: {e}");
            ExitCode::FAILURE
        }
    }
}
