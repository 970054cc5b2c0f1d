//! Throw-away databases for tests: one fresh database per test, on SQLite,
//! PostgreSQL and MySQL/MariaDB, dropped afterwards.
//!
//! Server URLs come from `TEST_POSTGRES_URL` and `TEST_MYSQL_URL` (defaults:
//! the local servers with the machine's trust/empty-password logins). When a
//! URL was not set explicitly and its server does not answer, that backend is
//! skipped with a notice that shows even in a passing run ([`announce_skip`])
//! — a laptop without MariaDB still runs the rest. CI sets both URLs, which turns an absent server into a failure.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::str::FromStr;
use std::time::Duration;

use futures::FutureExt;
use rand::Rng;
use sqlx::{ConnectOptions as _, Connection, Executor};

use crate::{Backend, ConnectOptions, Store};

pub mod outage;
pub mod raw;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/mysql";

/// Says that part of a test did not run, where a passing `cargo test` run
/// shows it. libtest captures `print!`/`eprint!` of passing tests and throws
/// the text away, so a machine without PostgreSQL would look all green while
/// those cases did nothing; a direct write to the process's stderr is not
/// captured.
pub fn announce_skip(what: &str) {
    use std::io::Write;
    // libtest names each test's thread after the test, and tests run side by
    // side: without the name, a skip could not be told apart from its
    // neighbours'.
    let thread = std::thread::current();
    let test = thread.name().filter(|n| *n != "main");
    let mut err = std::io::stderr().lock();
    let _ = match test {
        Some(test) => writeln!(err, "SKIPPED [{test}] {what}"),
        None => writeln!(err, "SKIPPED {what}"),
    };
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub backend: Backend,
    /// The URL a binary under test would get as `DATABASE_URL`.
    pub url: String,
    name: String,
    admin_url: String,
}

fn unique_name() -> String {
    let n: u64 = rand::thread_rng().r#gen();
    format!("gh_test_{n:016x}")
}

fn server_url(backend: Backend) -> Option<(String, bool)> {
    let (var, default) = match backend {
        Backend::Postgres => ("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        Backend::MySql => ("TEST_MYSQL_URL", DEFAULT_MYSQL_URL),
        Backend::Sqlite => return None,
    };
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some((url, true)),
        _ => Some((default.to_owned(), false)),
    }
}

fn with_database(url: &str, name: &str) -> String {
    match url.rsplit_once('/') {
        Some((base, last)) if !base.ends_with('/') => {
            let query = last
                .split_once('?')
                .map(|(_, q)| format!("?{q}"))
                .unwrap_or_default();
            format!("{base}/{name}{query}")
        }
        _ => format!("{url}/{name}"),
    }
}

impl TestDatabase {
    /// Creates a fresh database. `Ok(None)` means the backend's server is absent
    /// and was not required (a notice has been printed).
    pub async fn create(backend: Backend) -> Result<Option<Self>, String> {
        let name = unique_name();
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                Ok(Some(TestDatabase {
                    backend,
                    url: format!("sqlite://{}", path.display()),
                    name: path.display().to_string(),
                    admin_url: String::new(),
                }))
            }
            Backend::Postgres | Backend::MySql => {
                let Some((admin_url, required)) = server_url(backend) else {
                    return Err("no server URL".into());
                };
                let create = match backend {
                    Backend::Postgres => format!("CREATE DATABASE {name}"),
                    _ => format!(
                        "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                    ),
                };
                match admin_execute(backend, &admin_url, &create).await {
                    Ok(()) => Ok(Some(TestDatabase {
                        backend,
                        url: with_database(&admin_url, &name),
                        name,
                        admin_url,
                    })),
                    Err(e) if !required => {
                        announce_skip(&format!(
                            "{} cases: server not reachable ({e}); set {} to require it",
                            backend.name(),
                            if backend == Backend::Postgres {
                                "TEST_POSTGRES_URL"
                            } else {
                                "TEST_MYSQL_URL"
                            }
                        ));
                        Ok(None)
                    }
                    Err(e) => Err(format!("{} test database: {e}", backend.name())),
                }
            }
        }
    }

    /// A migrated store on this database.
    pub async fn store(&self) -> Store {
        let store = Store::connect(
            &self.url,
            &ConnectOptions {
                max_connections: 16,
                retry_for: Duration::from_secs(5),
                acquire_timeout: Duration::from_secs(30),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("connect {}: {e}", self.backend.name()));
        store
            .migrate()
            .await
            .unwrap_or_else(|e| panic!("migrate {}: {e}", self.backend.name()));
        store
    }

    /// Drops the database (or deletes the SQLite files).
    pub async fn drop_database(self) {
        match self.backend {
            Backend::Sqlite => {
                for suffix in ["", "-wal", "-shm", ".lock"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", self.name));
                }
            }
            Backend::Postgres => {
                let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
                if let Err(e) = admin_execute(self.backend, &self.admin_url, &sql).await {
                    eprintln!("warning: could not drop {}: {e}", self.name);
                }
            }
            Backend::MySql => {
                let sql = format!("DROP DATABASE IF EXISTS {}", self.name);
                if let Err(e) = admin_execute(self.backend, &self.admin_url, &sql).await {
                    eprintln!("warning: could not drop {}: {e}", self.name);
                }
            }
        }
    }
}

async fn admin_execute(backend: Backend, url: &str, sql: &str) -> Result<(), String> {
    let timeout = Duration::from_secs(10);
    let run = async {
        match backend {
            Backend::Postgres => {
                let mut c = sqlx::postgres::PgConnectOptions::from_str(url)?
                    .log_statements(tracing::log::LevelFilter::Off)
                    .connect()
                    .await?;
                c.execute(sql).await?;
                c.close().await
            }
            Backend::MySql => {
                let mut c = sqlx::mysql::MySqlConnection::connect(url).await?;
                c.execute(sql).await?;
                c.close().await
            }
            Backend::Sqlite => Ok(()),
        }
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err("timed out".into()),
    }
}

/// Every backend, in the order tests run them.
pub const ALL_BACKENDS: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MySql];

/// Runs `test` once per backend, each time against a fresh migrated database
/// that is dropped afterwards, even when the test panics.
pub async fn each_backend<F, Fut>(test: F)
where
    F: Fn(Store, Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in ALL_BACKENDS {
        let db = match TestDatabase::create(backend).await {
            Ok(Some(db)) => db,
            Ok(None) => continue,
            Err(e) => panic!("{e}"),
        };
        let store = db.store().await;
        let outcome = AssertUnwindSafe(test(store.clone(), backend))
            .catch_unwind()
            .await;
        store.close().await;
        db.drop_database().await;
        if let Err(panic) = outcome {
            eprintln!("failed on backend {}", backend.name());
            std::panic::resume_unwind(panic);
        }
    }
}

impl Store {
    /// Applies this backend's migrations numbered `last_version` or lower
    /// only: the database an older Guildhall left behind.
    pub async fn migrate_up_to(&self, last_version: i64) -> Result<(), crate::StoreError> {
        self.run_migrations(crate::migrations::Embedded::of(self.backend()).up_to(last_version))
            .await
    }

    /// The stored password hash, which the product never reads; tests check
    /// it is a real argon2id hash.
    pub async fn hashed_password_for_tests(&self, id: crate::UserId) -> Option<String> {
        const SQL: &str = "SELECT hashed_password FROM users WHERE id = $1";
        let result: Result<Option<String>, sqlx::Error> =
            crate::dialect::on_pool!(self, |pool, q| {
                sqlx::query_scalar(q(SQL))
                    .bind(id)
                    .fetch_optional(pool)
                    .await
            });
        result.ok().flatten()
    }

    /// How many login states are recorded as used, for tests that a refused
    /// callback wrote nothing.
    pub async fn used_oauth_states_for_tests(&self) -> Option<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM used_oauth_states";
        let result: Result<i64, sqlx::Error> = crate::dialect::on_pool!(self, |pool, q| {
            sqlx::query_scalar(q(SQL)).fetch_one(pool).await
        });
        result.ok()
    }

    /// An OAuth account's token columns exactly as stored (encrypted or
    /// not), for tests of tokens at rest.
    pub async fn raw_tokens_for_tests(
        &self,
        oauth_name: &str,
        account_id: &str,
    ) -> Option<(String, Option<String>)> {
        const SQL: &str = "SELECT access_token, refresh_token FROM oauth_accounts WHERE oauth_name = $1 AND account_id = $2";
        let result: Result<Option<(String, Option<String>)>, sqlx::Error> =
            crate::dialect::on_pool!(self, |pool, q| {
                sqlx::query_as(q(SQL))
                    .bind(oauth_name)
                    .bind(account_id)
                    .fetch_optional(pool)
                    .await
            });
        result.ok().flatten()
    }
}
