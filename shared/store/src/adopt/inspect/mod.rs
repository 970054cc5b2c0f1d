//! Reads, from each backend's catalog, what adoption decides on: the tables
//! Guildhall and fastapi-users name (under either's names), their columns,
//! indexes and foreign keys, and sqlx's `_sqlx_migrations` rows. Nothing
//! here writes.

mod mysql;
mod postgres;
mod sqlite;

pub(crate) use mysql::inspect as mysql;
pub(crate) use postgres::inspect as postgres;
pub(crate) use sqlite::inspect as sqlite;
pub(crate) use sqlite::{constraint_kind as sqlite_constraint_kind, parenthesised};

use crate::adopt::target::Target;

/// sqlx's bookkeeping table.
pub(crate) const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// The tables worth reading: Guildhall's, fastapi-users' default names for
/// the shared ones, and sqlx's bookkeeping.
fn wanted(target: &Target) -> Vec<String> {
    let mut names: Vec<String> = target.tables.iter().map(|t| t.name.to_owned()).collect();
    names.extend(
        target
            .tables
            .iter()
            .filter_map(|t| t.default_name)
            .map(str::to_owned),
    );
    names.push(MIGRATIONS_TABLE.to_owned());
    names
}
