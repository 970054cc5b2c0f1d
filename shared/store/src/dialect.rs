//! Queries are written once with PostgreSQL's `$1, $2, …` placeholders, which
//! SQLite also understands; MySQL only knows `?`, so its copy is rewritten once
//! and cached for the life of the process.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The MySQL spelling of `sql`. Placeholders must appear in increasing order,
/// each once, because `?` binds by position.
pub(crate) fn mysql(sql: &'static str) -> &'static str {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, &'static str>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = match cache.lock() {
        Ok(m) => m,
        Err(poisoned) => poisoned.into_inner(),
    };
    map.entry(sql)
        .or_insert_with(|| Box::leak(to_question_marks(sql).into_boxed_str()))
}

fn to_question_marks(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut expected = 1u32;
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            let mut n = 0u32;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                n = n * 10 + d;
                chars.next();
            }
            debug_assert_eq!(n, expected, "placeholders out of order in {sql}");
            expected += 1;
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs the same body against whichever pool the store holds. `$q` becomes a
/// function turning the `$n` SQL into this backend's spelling.
macro_rules! on_pool {
    ($store:expr, |$pool:ident, $q:ident| $body:expr) => {
        match &$store.db {
            $crate::database::Db::Sqlite($pool) => {
                let $q = |s: &'static str| -> &'static str { s };
                $body
            }
            $crate::database::Db::Postgres($pool) => {
                let $q = |s: &'static str| -> &'static str { s };
                $body
            }
            $crate::database::Db::MySql($pool) => {
                let $q = $crate::dialect::mysql;
                $body
            }
        }
    };
}
pub(crate) use on_pool;

/// Runs `$body` inside a transaction on whichever pool the store holds and
/// commits it; a `?` in the body returns early and rolls it back. `$tx` is
/// the transaction, `$q` the placeholder rewriter of [`on_pool`], and
/// `$locking` says whether `SELECT … FOR UPDATE` locks rows (SQLite takes
/// the database's write lock up front instead, with `BEGIN IMMEDIATE`).
macro_rules! in_transaction {
    ($store:expr, |$tx:ident, $q:ident, $locking:ident| $body:expr) => {
        match &$store.db {
            $crate::database::Db::Sqlite(pool) => {
                // IMMEDIATE: a deferred transaction that upgrades to a write
                // later fails with SQLITE_BUSY instead of waiting.
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let $q = |s: &'static str| -> &'static str { s };
                let $locking = false;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::database::Db::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let $q = |s: &'static str| -> &'static str { s };
                let $locking = true;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::database::Db::MySql(pool) => {
                let mut $tx = pool.begin().await?;
                let $q = $crate::dialect::mysql;
                let $locking = true;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}
pub(crate) use in_transaction;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_placeholders_in_order() {
        assert_eq!(
            to_question_marks("UPDATE t SET a = $1, b = $2 WHERE id = $3 AND x = '$'"),
            "UPDATE t SET a = ?, b = ? WHERE id = ? AND x = '$'"
        );
        let a = mysql("SELECT $1");
        let b = mysql("SELECT $1");
        assert!(std::ptr::eq(a, b), "cached");
    }
}
