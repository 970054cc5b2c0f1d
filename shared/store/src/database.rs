use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::ConnectOptions as _;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::migrations::Embedded;
use crate::start_lock::{self, StartLock};
use crate::token_cipher::{TokenCipher, TokenKey};
use crate::{StoreError, UrlError};

/// Which database server `DATABASE_URL` points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            "mysql" | "mariadb" => Ok(Backend::MySql),
            _ => Err(StoreError::BadUrl(UrlError::UnsupportedScheme(
                scheme.to_owned(),
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }
}

#[derive(Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
    MySql(MySqlPool),
}

/// How to connect: pool size and how long to keep retrying a database that is
/// not up yet (containers often start before their database accepts clients).
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub max_connections: u32,
    pub retry_for: Duration,
    pub acquire_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            retry_for: Duration::from_secs(30),
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// A handle on the database; cheap to clone (the pools are reference-counted).
#[derive(Clone)]
pub struct Store {
    pub(crate) db: Db,
    /// Seals OAuth tokens on the way in, when a key was given.
    pub(crate) cipher: Option<TokenCipher>,
    /// SQLite's start-up lock file (see `start_lock`); `None` for other
    /// backends and in-memory databases.
    start_lock: Option<std::sync::Arc<std::path::Path>>,
}

impl std::fmt::Debug for Store {
    // The pools' Debug would print connect options, which carry the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .field("tokens_encrypted", &self.cipher.is_some())
            .finish()
    }
}

impl Store {
    /// Connects to `url`, retrying with backoff for `options.retry_for` while the
    /// server is unreachable. A malformed URL fails at once.
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Self, StoreError> {
        let backend = Backend::from_url(url)?;
        let started = Instant::now();
        let mut delay = Duration::from_millis(100);
        let mut attempts = 0;
        loop {
            attempts += 1;
            match Self::connect_once(backend, url, options).await {
                Ok(store) => return Ok(store),
                Err(StoreError::Database(e)) if is_transient_connect_error(&e) => {
                    if started.elapsed() + delay > options.retry_for {
                        return Err(StoreError::Unreachable {
                            attempts,
                            source: e,
                        });
                    }
                    tracing::warn!(backend = backend.name(), attempt = attempts, error = %e, "database not reachable yet; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn connect_once(
        backend: Backend,
        url: &str,
        options: &ConnectOptions,
    ) -> Result<Self, StoreError> {
        let bad_url = |e| StoreError::BadUrl(UrlError::Unparsable(e));
        let mut start_lock = None;
        let db = match backend {
            Backend::Sqlite => {
                let connect = SqliteConnectOptions::from_str(url)
                    .map_err(bad_url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // WAL with NORMAL is durable across application crashes and
                    // only risks the last commits on power loss; FULL costs an
                    // fsync per login.
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true);
                // Every connection to `sqlite::memory:` would be its own empty database.
                let max = if url.contains(":memory:") || url.contains("mode=memory") {
                    1
                } else {
                    options.max_connections.min(8)
                };
                start_lock = start_lock::sqlite_lock_path(url, connect.get_filename());
                // The first connection switches a fresh file to WAL, which
                // fails at once ("database is locked") while another process
                // does the same: one process at a time.
                let lock = match &start_lock {
                    Some(path) => StartLock::file(path).await?,
                    None => StartLock::None,
                };
                let pool = SqlitePoolOptions::new()
                    .max_connections(max)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect)
                    .await;
                lock.release().await;
                Db::Sqlite(pool?)
            }
            Backend::Postgres => {
                let connect = PgConnectOptions::from_str(url).map_err(bad_url)?;
                probe(connect.connect()).await?;
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_lazy_with(connect);
                Db::Postgres(pool)
            }
            Backend::MySql => {
                let connect = MySqlConnectOptions::from_str(url)
                    .map_err(bad_url)?
                    .charset("utf8mb4");
                probe(connect.connect()).await?;
                let pool = MySqlPoolOptions::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_lazy_with(connect);
                Db::MySql(pool)
            }
        };
        Ok(Store {
            db,
            cipher: None,
            start_lock: start_lock.map(std::sync::Arc::from),
        })
    }

    /// With `key`, OAuth tokens are written encrypted from now on; rows in
    /// either form are read. Without, they are written in plain text and an
    /// encrypted row is an error.
    pub fn with_token_key(mut self, key: Option<&TokenKey>) -> Self {
        self.cipher = key.map(TokenCipher::new);
        self
    }

    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
            Db::MySql(_) => Backend::MySql,
        }
    }

    /// Applies this backend's migrations from `migrations/<backend>/`.
    ///
    /// Refuses, changing nothing, a database that holds user tables but no
    /// record of Guildhall's migrations: that is another application's
    /// schema (fastapi-users'), which `portal adopt` takes over. Left to
    /// sqlx, the first migration would fail half-way with "table exists",
    /// after creating its bookkeeping table.
    ///
    /// Safe when several processes start together on one database: they
    /// take turns (see `start_lock`), and those after the first find the
    /// migrations applied.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let lock = match &self.start_lock {
            Some(path) => StartLock::file(path).await?,
            None => StartLock::server(&self.db).await?,
        };
        let result = async {
            if self.holds_unadopted_schema().await? {
                return Err(StoreError::NotAdopted);
            }
            self.run_migrations(Embedded::of(self.backend())).await
        }
        .await;
        lock.release().await;
        result
    }

    async fn holds_unadopted_schema(&self) -> Result<bool, StoreError> {
        const USER_TABLES: [&str; 4] = ["users", "user", "oauth_accounts", "oauth_account"];
        let tables: Vec<String> = match &self.db {
            Db::Sqlite(pool) => {
                sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .fetch_all(pool)
                    .await?
            }
            Db::Postgres(pool) => {
                sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = current_schema()",
                )
                .fetch_all(pool)
                .await?
            }
            Db::MySql(pool) => {
                sqlx::query_scalar(
                    "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
                     WHERE table_schema = DATABASE()",
                )
                .fetch_all(pool)
                .await?
            }
        };
        if !tables.iter().any(|t| USER_TABLES.contains(&t.as_str())) {
            return Ok(false);
        }
        if !tables.iter().any(|t| t == "_sqlx_migrations") {
            return Ok(true);
        }
        // A table recording no applied migration is what an earlier failed
        // start left (on MySQL with the failed attempt recorded).
        let recorded: i64 = crate::dialect::on_pool!(self, |pool, _q| {
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(pool)
                .await?
        });
        Ok(recorded == 0)
    }

    pub(crate) async fn run_migrations(&self, migrations: Embedded) -> Result<(), StoreError> {
        let migrator = migrations.migrator().await.map_err(StoreError::Migration)?;
        let result = match &self.db {
            Db::Sqlite(pool) => migrator.run(pool).await,
            Db::Postgres(pool) => migrator.run(pool).await,
            Db::MySql(pool) => migrator.run(pool).await,
        };
        result.map_err(StoreError::Migration)
    }

    /// One round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        crate::dialect::on_pool!(self, |pool, _q| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Closes every pooled connection; later calls fail.
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite(p) => p.close().await,
            Db::Postgres(p) => p.close().await,
            Db::MySql(p) => p.close().await,
        }
    }
}

/// One direct connection attempt, so a failure reports its real cause
/// ("connection refused", "password authentication failed") rather than the
/// pool's generic time-out, and the caller's loop decides about retrying.
async fn probe<C, F>(connect: F) -> Result<(), StoreError>
where
    C: sqlx::Connection,
    F: std::future::Future<Output = Result<C, sqlx::Error>>,
{
    match tokio::time::timeout(Duration::from_secs(5), connect).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(StoreError::Database(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "connecting took longer than 5 s",
        )))),
    }
}

fn is_transient_connect_error(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_) => true,
        // PostgreSQL "the database system is starting up"
        sqlx::Error::Database(db) => db.code().as_deref() == Some("57P03"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_migration_keeps_sqlx_s_reason() {
        let store = Store::connect("sqlite::memory:", &ConnectOptions::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        // An applied migration whose file has changed since: sqlx refuses.
        let Db::Sqlite(pool) = &store.db else {
            unreachable!("a SQLite URL")
        };
        sqlx::query("UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 1")
            .execute(pool)
            .await
            .unwrap();
        let err = store.migrate().await.unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Migration(sqlx::migrate::MigrateError::VersionMismatch(1))
            ),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("migrations failed: "), "{err}");
    }

    #[tokio::test]
    async fn the_start_lock_keeps_the_adoption_guard() {
        // A file database, so the guard runs under the lock file.
        let path = std::env::temp_dir().join(format!("gh-guard-{}.db", std::process::id()));
        let url = format!("sqlite://{}", path.display());
        let store = Store::connect(&url, &ConnectOptions::default())
            .await
            .unwrap();
        let Db::Sqlite(pool) = &store.db else {
            unreachable!("a SQLite URL")
        };
        // fastapi-users' table, and no record of Guildhall's migrations.
        sqlx::query("CREATE TABLE user (id INTEGER PRIMARY KEY, email TEXT)")
            .execute(pool)
            .await
            .unwrap();
        let err = store.migrate().await.unwrap_err();
        assert!(matches!(err, StoreError::NotAdopted), "{err:?}");
        let tables: Vec<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                .fetch_all(pool)
                .await
                .unwrap();
        assert_eq!(tables, ["user"], "nothing changed");
        // The lock was released: a second attempt is refused, not stuck.
        let again = tokio::time::timeout(Duration::from_secs(30), store.migrate()).await;
        assert!(
            matches!(again, Ok(Err(StoreError::NotAdopted))),
            "{again:?}"
        );
        store.close().await;
        for suffix in ["", "-wal", "-shm", ".lock"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
