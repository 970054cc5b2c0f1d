//! Leases on refreshing an OAuth account's token, shared by every portal
//! replica through the database. Discord's refresh tokens are single-use: two
//! replicas refreshing the same account at once would each spend the one
//! stored, and the loser's user would be signed out.
//!
//! A lease is a row with an expiry, taken by one conditional statement (the
//! same on SQLite, PostgreSQL and MySQL/MariaDB; no lock is held while the
//! holder talks to Discord) and deleted by its holder. A lease whose holder
//! died is taken over once it has expired.

use std::time::Duration;

use crate::database::Db;
use crate::dialect::on_pool;
use crate::error::check_len;
use crate::{Store, StoreError};

/// Longest holder id accepted (the column's width).
pub const HOLDER_MAX: usize = 64;

impl Store {
    /// Takes the refresh lease on account row `account_row_id` for `holder`
    /// until `now_ms + ttl` (epoch milliseconds). True when taken: nobody
    /// held it, or the previous holder's lease had expired. False while
    /// another holder's lease runs — also when the attempt collided with
    /// another taker's (the caller asks again later).
    pub async fn take_refresh_lease(
        &self,
        account_row_id: i32,
        holder: &str,
        now_ms: i64,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        check_len("holder", holder, HOLDER_MAX)?;
        let until = now_ms.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        match self
            .try_take_refresh_lease(account_row_id, holder, now_ms, until)
            .await
        {
            Err(e) if e.is_retryable_conflict() => Ok(false),
            other => other,
        }
    }

    async fn try_take_refresh_lease(
        &self,
        account_row_id: i32,
        holder: &str,
        now_ms: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        // An expired lease: the holder died or overran; take it over.
        const TAKE_OVER: &str = "UPDATE oauth_refresh_leases SET holder = $1, expires_at_ms = $2 WHERE oauth_account_id = $3 AND expires_at_ms < $4";
        let taken_over = on_pool!(self, |pool, q| {
            sqlx::query(q(TAKE_OVER))
                .bind(holder)
                .bind(until)
                .bind(account_row_id)
                .bind(now_ms)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if taken_over > 0 {
            return Ok(true);
        }
        // No lease at all: insert one unless someone else just did. Neither
        // spelling raises an error on a conflict, so a busy lease does not
        // fill the database server's log.
        const INSERT: &str = "INSERT INTO oauth_refresh_leases (oauth_account_id, holder, expires_at_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
        const INSERT_MYSQL: &str = "INSERT IGNORE INTO oauth_refresh_leases (oauth_account_id, holder, expires_at_ms) VALUES (?, ?, ?)";
        let inserted = match &self.db {
            Db::Sqlite(pool) => {
                let insert = sqlx::query(INSERT).bind(account_row_id).bind(holder);
                insert.bind(until).execute(pool).await?.rows_affected()
            }
            Db::Postgres(pool) => {
                let insert = sqlx::query(INSERT).bind(account_row_id).bind(holder);
                insert.bind(until).execute(pool).await?.rows_affected()
            }
            Db::MySql(pool) => {
                let insert = sqlx::query(INSERT_MYSQL).bind(account_row_id).bind(holder);
                insert.bind(until).execute(pool).await?.rows_affected()
            }
        };
        Ok(inserted > 0)
    }

    /// Ends `holder`'s lease on the account. A lease someone else has taken
    /// over since (ours had expired) is left alone.
    pub async fn release_refresh_lease(
        &self,
        account_row_id: i32,
        holder: &str,
    ) -> Result<(), StoreError> {
        const SQL: &str =
            "DELETE FROM oauth_refresh_leases WHERE oauth_account_id = $1 AND holder = $2";
        on_pool!(self, |pool, q| {
            sqlx::query(q(SQL))
                .bind(account_row_id)
                .bind(holder)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
