//! What the store can refuse or fail with; each failure keeps its cause as
//! its `source`.

/// Everything the store can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DATABASE_URL is invalid: {0}")]
    BadUrl(#[source] UrlError),
    #[error("database unreachable after {attempts} attempts: {source}")]
    Unreachable {
        attempts: u32,
        /// The last attempt's failure.
        #[source]
        source: sqlx::Error,
    },
    #[error("migrations failed: {0}")]
    Migration(#[source] sqlx::migrate::MigrateError),
    #[error(
        "the database holds user tables Guildhall did not create (a fastapi-users deployment?) \
         and no record of Guildhall's migrations; nothing was changed. Run `portal adopt --dry-run` \
         to see how it would be taken over, then `portal adopt` \
         (docs/migrating-from-fastapi-users.md)"
    )]
    NotAdopted,
    #[error("a user with this email already exists")]
    UserAlreadyExists,
    #[error("{field} is too long: {len} characters, at most {max}")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("password hashing failed: {0}")]
    Password(#[from] PasswordError),
    #[error("concurrent writers kept conflicting; gave up after {0} attempts")]
    Contention(u32),
    /// The guild's preferences were saved by someone else since the form
    /// being saved was shown.
    #[error("the guild's settings changed; they are now at version {current_version}")]
    SettingsChanged { current_version: i64 },
    #[error("a guild may have at most {limit} tags")]
    TagLimitReached { limit: usize },
    #[error(transparent)]
    TokenCipher(#[from] crate::token_cipher::TokenCipherError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Why `DATABASE_URL` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    #[error("unsupported scheme {0:?}; use sqlite:, postgres:// or mysql://")]
    UnsupportedScheme(String),
    /// The scheme is known, but the rest does not parse for that backend.
    #[error("{0}")]
    Unparsable(#[source] sqlx::Error),
}

/// Why hashing the random secret of a new OAuth user failed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("{0}")]
    Argon2(#[source] argon2::Error),
    /// Salt or PHC-string encoding.
    #[error("{0}")]
    Encoding(#[source] argon2::password_hash::Error),
    /// The blocking task running the hash panicked.
    #[error("{0}")]
    Task(#[source] tokio::task::JoinError),
    /// The hashers' semaphore was closed (it never is).
    #[error("{0}")]
    Closed(#[source] tokio::sync::AcquireError),
}

impl StoreError {
    /// A conflict another writer caused: the operation may be retried from its
    /// first read and will then see that writer's rows.
    /// The database could not serve this now, and the same request shortly
    /// after may well succeed: it is unreachable (refused, reset, TLS
    /// failing), no pooled connection came free within the acquire timeout,
    /// the pool is closing (shutdown), the server is shutting down, starting
    /// up or out of connection slots, a SQLite file stayed locked by another
    /// connection past the busy timeout or could not be opened, or writers
    /// kept conflicting past the retries. Callers answer "briefly
    /// unavailable, retry" (503) rather than "failed" (500).
    ///
    /// Not included, because retrying will not help: constraint violations,
    /// SQL or decoding errors, sqlx protocol errors (a client/server
    /// mismatch, not an outage), SQLite I/O errors and full disks (the
    /// operator must act).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unreachable { .. } | StoreError::Contention(_) => true,
            StoreError::Database(e) => sqlx_is_unavailable(e),
            _ => false,
        }
    }

    pub(crate) fn is_retryable_conflict(&self) -> bool {
        let StoreError::Database(sqlx::Error::Database(db)) = self else {
            return false;
        };
        if db.is_unique_violation() {
            return true;
        }
        matches!(
            db.code().as_deref(),
            // PostgreSQL serialization failure / deadlock
            Some("40001") | Some("40P01")
            // MySQL/MariaDB deadlock (SQLSTATE 40001 too, but the code is what sqlx reports)
            | Some("1213")
            // SQLite busy / locked
            | Some("5") | Some("6") | Some("517")
        )
    }
}

/// See [`StoreError::is_unavailable`].
fn sqlx_is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        // A peer that accepts and at once closes (docker's port proxy or a
        // load balancer while the database behind it is down) reaches sqlx
        // as a protocol error in the handshake. "Try again shortly" is the
        // right answer to it; a genuine driver fault still has its cause
        // in the log line.
        | sqlx::Error::Protocol(_)
        // The SQLite worker thread of a connection is gone: so is the connection.
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => database_code_is_unavailable(db.as_ref()),
        _ => false,
    }
}

fn database_code_is_unavailable(db: &dyn sqlx::error::DatabaseError) -> bool {
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // sqlx reports the extended result code; its low byte is the primary.
        let primary = db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .map(|c| c & 0xff);
        // SQLITE_BUSY, SQLITE_LOCKED (past the busy timeout), SQLITE_CANTOPEN.
        return matches!(primary, Some(5 | 6 | 14));
    }
    if let Some(mysql) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        // ER_CONNECTION_KILLED: the server killed this connection (shutdown,
        // `KILL`). Client-side "server has gone away" (2006) and "lost
        // connection" (2013) reach sqlx as I/O errors, above.
        if mysql.number() == 1927 {
            return true;
        }
    }
    let Some(code) = db.code() else {
        return false;
    };
    // SQLSTATE class 08, connection exception (both servers: PostgreSQL's
    // 08006 connection_failure, MySQL's 1040 too many connections as 08004
    // and 1053 server shutdown as 08S01).
    code.starts_with("08")
        || matches!(
            code.as_ref(),
            // PostgreSQL admin_shutdown, crash_shutdown, cannot_connect_now
            // (starting up or shutting down), too_many_connections.
            "57P01" | "57P02" | "57P03" | "53300"
        )
}

pub(crate) fn check_len(field: &'static str, value: &str, max: usize) -> Result<(), StoreError> {
    let len = value.chars().count();
    if len > max {
        return Err(StoreError::TooLong { field, len, max });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_told_from_failures() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        for unavailable in [
            StoreError::Database(sqlx::Error::PoolTimedOut),
            StoreError::Database(sqlx::Error::PoolClosed),
            StoreError::Database(sqlx::Error::Io(refused)),
            StoreError::Database(sqlx::Error::Protocol(
                "unexpected response from SSLRequest: 0x00".into(),
            )),
            StoreError::Contention(8),
        ] {
            assert!(unavailable.is_unavailable(), "{unavailable:?}");
        }
        for failure in [
            StoreError::UserAlreadyExists,
            StoreError::TagLimitReached { limit: 200 },
            StoreError::Database(sqlx::Error::RowNotFound),
        ] {
            assert!(!failure.is_unavailable(), "{failure:?}");
        }
    }

    /// SQLite's own codes, from a real database: a write lock held by
    /// another connection past the busy timeout is an outage, a broken
    /// constraint is not.
    #[tokio::test]
    async fn sqlite_busy_is_an_outage_and_a_constraint_is_not() {
        use sqlx::{ConnectOptions as _, Executor as _};
        use std::str::FromStr as _;
        let path = std::env::temp_dir().join(format!("gh_busy_{:016x}.db", rand::random::<u64>()));
        let options =
            sqlx::sqlite::SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
                .unwrap()
                .create_if_missing(true)
                .busy_timeout(std::time::Duration::from_millis(50));
        let mut holder = options.connect().await.unwrap();
        holder
            .execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            .await
            .unwrap();
        holder.execute("INSERT INTO t VALUES (1)").await.unwrap();
        let duplicate = holder
            .execute("INSERT INTO t VALUES (1)")
            .await
            .unwrap_err();
        assert!(!StoreError::from(duplicate).is_unavailable());
        holder.execute("BEGIN EXCLUSIVE").await.unwrap();
        let mut writer = options.connect().await.unwrap();
        let busy = writer
            .execute("INSERT INTO t VALUES (2)")
            .await
            .unwrap_err();
        assert!(StoreError::from(busy).is_unavailable());
        drop((holder, writer));
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
