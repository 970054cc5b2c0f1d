//! One process at a time through a database's start-up schema work.
//!
//! The portal and any number of bot processes migrate the database they
//! share when they start, and a process manager starts them together. sqlx
//! serialises its migrator with an advisory lock on PostgreSQL and MySQL,
//! but not on SQLite (two processes then both apply migration 1: "table
//! users already exists"), and on none of them does that lock cover
//! Guildhall's own check before it (the adoption guard, which on MySQL,
//! whose DDL commits as it goes, could see another process's half-made
//! schema and refuse the database as a foreign one).
//!
//! So Guildhall takes its own lock around the guard and the migrator:
//! - SQLite: an exclusive OS file lock (`flock`, via fs4) on a file beside
//!   the database, `<database>.lock`. Not `BEGIN EXCLUSIVE` on the database
//!   itself: that lock would also shut out the migrator's own connection
//!   (sqlx runs each migration in a transaction of its own, on a pool
//!   connection), and it cannot be taken before the file is in WAL mode —
//!   switching to WAL is itself what fails with "database is locked" when
//!   several processes open a fresh file at once, and SQLite's busy timeout
//!   does not wait for it. The file lock is held while the pool opens its
//!   first connection too. The OS drops it when the process dies, so a
//!   crashed start leaves nothing to clean up; the lock file itself stays
//!   (deleting it would race a process about to lock it).
//! - PostgreSQL: a session advisory lock (`pg_advisory_lock`) on a
//!   dedicated connection; MySQL/MariaDB: `GET_LOCK` likewise. Both are
//!   released by the server if the connection drops. Their keys differ
//!   from sqlx's own lock, which the migrator still takes inside.
//!
//! A process that waited finds the migrations applied and goes on.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::Connection as _;
use sqlx::mysql::MySqlConnection;
use sqlx::postgres::PgConnection;

use crate::StoreError;
use crate::database::Db;

/// `pg_advisory_lock`'s key: "guildhall" in ASCII, as a number.
const PG_KEY: i64 = 0x6775_696c_6468_616c;
const MYSQL_NAME: &str = "guildhall_start";
/// How long a process waits for another's migrations before giving up with
/// an error: long migrations on a big database take minutes.
const WAIT_AT_MOST: Duration = Duration::from_secs(600);

/// The lock file for a SQLite database file; `None` for an in-memory one,
/// which no other process can open.
pub(crate) fn sqlite_lock_path(url: &str, database_file: &Path) -> Option<PathBuf> {
    if url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    let mut name = database_file.as_os_str().to_owned();
    name.push(".lock");
    Some(PathBuf::from(name))
}

/// Held until dropped or [`StartLock::release`]d. The servers' locks live
/// on a connection taken out of the pool: closing it (or dropping it, which
/// closes its socket) ends the session, and the server releases the lock —
/// a pooled connection would have gone back to the pool still holding it.
pub(crate) enum StartLock {
    None,
    /// Held for its lock, which closing the file releases.
    File(#[allow(dead_code)] std::fs::File),
    Postgres(PgConnection),
    MySql(MySqlConnection),
}

fn lock_error(e: std::io::Error) -> StoreError {
    StoreError::Database(sqlx::Error::Io(e))
}

impl StartLock {
    /// Waits for the SQLite file lock at `path`.
    pub(crate) async fn file(path: &Path) -> Result<StartLock, StoreError> {
        let path = path.to_owned();
        let locked = tokio::task::spawn_blocking(move || {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            // Fully qualified: std's own `File::lock` is newer than the
            // workspace's minimum Rust.
            fs4::FileExt::lock(&file)?;
            Ok::<_, std::io::Error>(file)
        });
        match tokio::time::timeout(WAIT_AT_MOST, locked).await {
            Ok(Ok(Ok(file))) => Ok(StartLock::File(file)),
            Ok(Ok(Err(e))) => Err(lock_error(e)),
            Ok(Err(join)) => Err(lock_error(std::io::Error::other(join))),
            Err(_) => Err(lock_error(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "another process held the database's start-up lock for 10 minutes",
            ))),
        }
    }

    /// The lock for `db`'s schema work (SQLite's file lock is taken by the
    /// caller, which knows the file).
    pub(crate) async fn server(db: &Db) -> Result<StartLock, StoreError> {
        match db {
            Db::Sqlite(_) => Ok(StartLock::None),
            Db::Postgres(pool) => {
                let mut conn = pool.acquire().await?.detach();
                sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(PG_KEY)
                    .execute(&mut conn)
                    .await?;
                Ok(StartLock::Postgres(conn))
            }
            Db::MySql(pool) => {
                let mut conn = pool.acquire().await?.detach();
                let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
                    .bind(MYSQL_NAME)
                    .bind(WAIT_AT_MOST.as_secs() as i64)
                    .fetch_one(&mut conn)
                    .await?;
                if got != Some(1) {
                    return Err(lock_error(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "another process held the database's start-up lock for 10 minutes",
                    )));
                }
                Ok(StartLock::MySql(conn))
            }
        }
    }

    /// Releases the lock now (dropping also does, less politely).
    pub(crate) async fn release(self) {
        match self {
            StartLock::None | StartLock::File(_) => {}
            StartLock::Postgres(conn) => {
                let _ = conn.close().await;
            }
            StartLock::MySql(conn) => {
                let _ = conn.close().await;
            }
        }
    }
}
