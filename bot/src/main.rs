use std::process::ExitCode;

use settings::Env;

mod config;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Env::from_process().and_then(|env| config::BotConfig::from_env(&env)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bot: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let _ = config;
    eprintln!("bot: the gateway client is not built yet");
    ExitCode::FAILURE
}
