//! A database outage a test controls: a TCP proxy between the code under
//! test and a PostgreSQL or MySQL server that the test can cut (every open
//! connection dropped, new ones refused, as when the server is stopped) and
//! restore (listening again on the same port, as when it is back).
//!
//! A proxy rather than stopping the server: the server is shared by every
//! test on the machine, and the same proxy works for both backends.
//! Written here rather than taken from a crate: forwarding bytes both ways
//! is `tokio::io::copy_bidirectional`; the part that matters (cutting and
//! restoring on the same port) is what the proxy crates do not offer.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A proxy in front of one database server. Dropping it cuts for good.
pub struct CuttableProxy {
    addr: SocketAddr,
    upstream: String,
    /// The accept loop and every forwarding task, while up.
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl CuttableProxy {
    /// A proxy in front of `database_url`'s server, and the same URL with
    /// the proxy's address in place of the server's.
    pub async fn in_front_of(database_url: &str) -> std::io::Result<(Self, String)> {
        let (scheme, rest) = database_url
            .split_once("://")
            .ok_or_else(|| std::io::Error::other("a URL with ://"))?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((u, h)) => (format!("{u}@"), h),
            None => (String::new(), authority),
        };
        let default_port = if scheme.starts_with("postgres") {
            5432
        } else {
            3306
        };
        let upstream = if host_port.contains(':') {
            host_port.to_owned()
        } else {
            format!("{host_port}:{default_port}")
        };
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let proxy = CuttableProxy {
            addr,
            upstream,
            tasks: Arc::default(),
        };
        proxy.serve(listener);
        Ok((proxy, format!("{scheme}://{userinfo}{addr}{path}")))
    }

    fn serve(&self, listener: TcpListener) {
        let tasks = self.tasks.clone();
        let upstream = self.upstream.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let forward = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                lock(&tasks).push(forward);
            }
        });
        lock(&self.tasks).push(accept);
    }

    /// The server is gone: open connections drop mid-conversation and new
    /// ones are refused, until [`restore`](Self::restore).
    pub fn cut(&self) {
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
    }

    /// The server is back, on the same address.
    pub async fn restore(&self) -> std::io::Result<()> {
        // The aborted accept loop drops its listener at its next poll: bind
        // may briefly find the port still taken.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if std::time::Instant::now() > deadline => return Err(e),
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        };
        self.serve(listener);
        Ok(())
    }
}

impl Drop for CuttableProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// SQLite's kind of outage: another connection (a backup, a `sqlite3`
/// shell, another process's long write) holds the database's write lock.
/// Readers go on (WAL); writers wait the busy timeout, then fail.
pub struct SqliteWriteLock {
    conn: sqlx::SqliteConnection,
}

impl SqliteWriteLock {
    /// Takes the write lock of the SQLite database at `url` and keeps it.
    pub async fn take(url: &str) -> Result<Self, sqlx::Error> {
        use sqlx::{ConnectOptions as _, Executor as _};
        let mut conn = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(url)?
            .connect()
            .await?;
        conn.execute("BEGIN EXCLUSIVE").await?;
        Ok(SqliteWriteLock { conn })
    }

    /// Lets the writers in again.
    pub async fn release(mut self) -> Result<(), sqlx::Error> {
        use sqlx::{Connection as _, Executor as _};
        self.conn.execute("ROLLBACK").await?;
        self.conn.close().await
    }
}
