//! Why adoption stopped; each failure keeps its cause as its `source`.

use crate::StoreError;
use crate::adopt::Plan;

#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    /// Nothing was changed; the plan's blockers say why.
    #[error("adoption refused, nothing changed")]
    Refused(Box<Plan>),
    #[error("reading the database's tables failed: {0}")]
    Inspect(#[source] sqlx::Error),
    #[error("checking the rows before adopting failed: {0}")]
    Check(#[source] sqlx::Error),
    /// A step failed. PostgreSQL and SQLite rolled everything back; on
    /// MySQL/MariaDB the steps before it stay done and a rerun resumes.
    #[error("step {number} ({summary}) failed: {source}")]
    Step {
        number: usize,
        summary: String,
        #[source]
        source: sqlx::Error,
    },
    /// SQLite's `PRAGMA foreign_key_check` found rows after a rebuild; the
    /// transaction was rolled back.
    #[error("after rebuilding, {0} rows break a foreign key; rolled back")]
    ForeignKeys(usize),
    /// Taking or releasing the migrator's lock, or writing its table.
    #[error("sqlx's migration bookkeeping failed: {0}")]
    Bookkeeping(#[source] sqlx::migrate::MigrateError),
    /// The later migrations, run by the migrator after adoption.
    #[error("{0}")]
    Migrate(#[source] StoreError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}
