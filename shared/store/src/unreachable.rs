//! Which store errors mean the database cannot be reached right now, for
//! writers that wait for it to return rather than give up (the bot's
//! presence writes). Kept apart from `error` so the classification reads
//! in one place.

use crate::StoreError;

impl StoreError {
    /// The database cannot be reached right now (down, restarting, network
    /// cut, pool exhausted), as opposed to it refusing this operation.
    pub fn means_database_unreachable(&self) -> bool {
        let StoreError::Database(e) = self else {
            return matches!(self, StoreError::Unreachable { .. });
        };
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => {
                let code = db.code();
                let code = code.as_deref().unwrap_or_default();
                // PostgreSQL: connection exceptions (08…), shutting down or
                // starting up (57P01–57P03), not accepting connections (55000
                // with ALLOW_CONNECTIONS false); MySQL: server gone or shutting
                // down; SQLite: busy or locked past the busy timeout.
                code.starts_with("08")
                    || matches!(code, "57P01" | "57P02" | "57P03" | "55000")
                    || matches!(code, "1053" | "2002" | "2003" | "2006" | "2013" | "1927")
                    || matches!(code, "5" | "6" | "517" | "261" | "262")
            }
            _ => false,
        }
    }
}
