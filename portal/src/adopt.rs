//! `portal adopt`: takes over the database of a running fastapi-users
//! deployment (see docs/migrating-from-fastapi-users.md). Like `portal
//! migrate` it needs only `DATABASE_URL`. The plan goes to stdout, exactly
//! as it runs; failures and logs to stderr.

use std::process::ExitCode;

use settings::{Env, EnvError};
use store::adopt::{AdoptError, AdoptOptions, Outcome};
use store::{ConnectOptions, Store};
use telemetry::LogFormat;

use crate::config::DatabaseConfig;
use crate::error::Chain;

pub const USAGE: &str = "usage: portal adopt [--dry-run] [--rename-tables]

Takes over a database created by fastapi-users (tables users and
oauth_accounts), in place and without losing a row, then applies
Guildhall's later migrations. Needs only DATABASE_URL.

  --dry-run        print the plan and its SQL, change nothing
  --rename-tables  also rename fastapi-users' default tables (user,
                   oauth_account) to Guildhall's names
  --help           show this help

Exit status: 0 adopted (or nothing to do), 1 refused or failed, 2 usage.";

/// `RUST_LOG` when unset: the steps as they finish.
const DEFAULT_LOG_FILTER: &str = "info";

#[derive(Debug, Default, PartialEq)]
struct Args {
    dry_run: bool,
    options: AdoptOptions,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args::default();
    for arg in args {
        match arg.as_str() {
            "--dry-run" => parsed.dry_run = true,
            "--rename-tables" => parsed.options.rename_tables = true,
            "--help" | "-h" => return Ok(None),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(parsed))
}

/// Runs the subcommand; `args` are those after `adopt`.
pub async fn command(args: impl Iterator<Item = String>) -> ExitCode {
    let args = match parse(args) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("portal adopt: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (database, log_format) = match Env::from_process().and_then(|env| {
        Ok::<_, EnvError>((DatabaseConfig::from_env(&env)?, LogFormat::from_env(&env)?))
    }) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("portal adopt: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(log_format, DEFAULT_LOG_FILTER);
    let options = ConnectOptions {
        retry_for: database.connect_retry,
        ..ConnectOptions::default()
    };
    let store = match Store::connect(database.url.expose(), &options).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("portal adopt: {}", Chain(&e));
            return ExitCode::FAILURE;
        }
    };
    let code = run(&store, &args).await;
    store.close().await;
    code
}

async fn run(store: &Store, args: &Args) -> ExitCode {
    if args.dry_run {
        return match store.adoption_plan(args.options).await {
            Ok(plan) => {
                println!("Dry run: nothing is changed.\n{plan}");
                match plan.outcome {
                    Outcome::Refused(_) => ExitCode::FAILURE,
                    _ => ExitCode::SUCCESS,
                }
            }
            Err(e) => failed(&e),
        };
    }
    match store.adopt(args.options).await {
        Ok(adopted) => {
            match adopted.plan.outcome {
                Outcome::AlreadyAdopted => print!("{}", adopted.plan),
                _ => println!("Adopted.\n{}", adopted.plan),
            }
            if !adopted.migrated.is_empty() {
                let applied: Vec<String> = adopted
                    .migrated
                    .iter()
                    .map(|(v, d)| format!("{v} ({d})"))
                    .collect();
                println!("Applied the later migrations {}.", applied.join(", "));
            }
            ExitCode::SUCCESS
        }
        Err(AdoptError::Refused(plan)) => {
            print!("{plan}");
            ExitCode::FAILURE
        }
        Err(e) => failed(&e),
    }
}

fn failed(e: &AdoptError) -> ExitCode {
    tracing::error!(error = %Chain(e), "adoption failed");
    eprintln!("portal adopt: {}", Chain(e));
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Option<Args>, String> {
        parse(list.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn flags() {
        assert_eq!(args(&[]), Ok(Some(Args::default())));
        let both = args(&["--rename-tables", "--dry-run"]).unwrap().unwrap();
        assert!(both.dry_run && both.options.rename_tables);
        assert_eq!(args(&["--help"]), Ok(None));
        assert!(args(&["--force"]).unwrap_err().contains("--force"));
    }
}
