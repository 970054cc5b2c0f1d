//! The last welcome post Discord refused in each guild, for the settings
//! page; cleared by the next post that succeeds.

use chrono::Utc;

use crate::database::Db;
use crate::dialect::on_pool;
use crate::{Store, StoreError};

/// The column's width. Discord's error messages are short; a longer one is
/// cut rather than lose the failure.
const MESSAGE_MAX: usize = 200;

/// Why the last welcome post failed, and when (epoch seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WelcomeFailure {
    pub channel_id: u64,
    /// Discord's JSON error code (50013 Missing Permissions, 10003 Unknown
    /// Channel, ...), or 0 when the answer carried none.
    pub code: i64,
    pub message: String,
    pub failed_at: i64,
}

fn clipped(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

impl Store {
    /// Records (replacing any earlier one) that a welcome post in
    /// `channel_id` failed with Discord's `code` and `message`.
    pub async fn guild_welcome_failure_record(
        &self,
        guild_id: u64,
        channel_id: u64,
        code: i64,
        message: &str,
    ) -> Result<(), StoreError> {
        const STANDARD: &str = "INSERT INTO guild_welcome_failures \
            (guild_id, channel_id, code, message, failed_at) VALUES ($1, $2, $3, $4, $5) \
            ON CONFLICT (guild_id) DO UPDATE SET channel_id = excluded.channel_id, \
            code = excluded.code, message = excluded.message, failed_at = excluded.failed_at";
        // VALUES() is deprecated on MySQL 8.0.20+ but still works, and
        // MariaDB has no row-alias syntax to replace it.
        const MYSQL: &str = "INSERT INTO guild_welcome_failures \
            (guild_id, channel_id, code, message, failed_at) VALUES ($1, $2, $3, $4, $5) \
            ON DUPLICATE KEY UPDATE channel_id = VALUES(channel_id), code = VALUES(code), \
            message = VALUES(message), failed_at = VALUES(failed_at)";
        let sql = match self.db {
            Db::MySql(_) => MYSQL,
            _ => STANDARD,
        };
        // Discord's codes are five or six digits; anything else is stored as 0.
        let code = i32::try_from(code).unwrap_or(0);
        let now = Utc::now().timestamp();
        on_pool!(self, |pool, q| {
            sqlx::query(q(sql))
                .bind(guild_id as i64)
                .bind(channel_id as i64)
                .bind(code)
                .bind(clipped(message, MESSAGE_MAX))
                .bind(now)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Forgets the guild's failure: a welcome post went through.
    pub async fn guild_welcome_failure_clear(&self, guild_id: u64) -> Result<(), StoreError> {
        const SQL: &str = "DELETE FROM guild_welcome_failures WHERE guild_id = $1";
        on_pool!(self, |pool, q| {
            sqlx::query(q(SQL))
                .bind(guild_id as i64)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The guild's last failed welcome post, if the latest one failed.
    pub async fn guild_welcome_failure(
        &self,
        guild_id: u64,
    ) -> Result<Option<WelcomeFailure>, StoreError> {
        const SQL: &str = "SELECT channel_id, code, message, failed_at \
            FROM guild_welcome_failures WHERE guild_id = $1";
        let row: Option<(i64, i32, String, i64)> = on_pool!(self, |pool, q| {
            sqlx::query_as(q(SQL))
                .bind(guild_id as i64)
                .fetch_optional(pool)
                .await?
        });
        Ok(
            row.map(|(channel_id, code, message, failed_at)| WelcomeFailure {
                channel_id: channel_id as u64,
                code: i64::from(code),
                message,
                failed_at,
            }),
        )
    }
}
