//! Facts the bot reports about itself for the portal, which cannot learn
//! them from Discord (they need the bot token): one row per fact.

use chrono::Utc;

use crate::database::Db;
use crate::dialect::on_pool;
use crate::{Store, StoreError};

/// Whether the bot identified with the privileged GUILD_MEMBERS intent
/// (welcome messages need it).
const MEMBERS_INTENT: &str = "members_intent";

impl Store {
    /// Records whether the bot runs with the GUILD_MEMBERS intent.
    pub async fn bot_members_intent_set(&self, enabled: bool) -> Result<(), StoreError> {
        self.bot_status_set(MEMBERS_INTENT, if enabled { "on" } else { "off" })
            .await
    }

    /// Whether the bot runs with the GUILD_MEMBERS intent; `None` until a
    /// bot has reported.
    pub async fn bot_members_intent(&self) -> Result<Option<bool>, StoreError> {
        Ok(self
            .bot_status(MEMBERS_INTENT)
            .await?
            .map(|value| value == "on"))
    }

    async fn bot_status_set(&self, name: &'static str, value: &str) -> Result<(), StoreError> {
        const STANDARD: &str = "INSERT INTO bot_status (name, value, updated_at) VALUES ($1, $2, $3) \
            ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
        const MYSQL: &str = "INSERT INTO bot_status (name, value, updated_at) VALUES ($1, $2, $3) \
            ON DUPLICATE KEY UPDATE value = VALUES(value), updated_at = VALUES(updated_at)";
        let sql = match self.db {
            Db::MySql(_) => MYSQL,
            _ => STANDARD,
        };
        let now = Utc::now().timestamp();
        on_pool!(self, |pool, q| {
            sqlx::query(q(sql))
                .bind(name)
                .bind(value)
                .bind(now)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    async fn bot_status(&self, name: &'static str) -> Result<Option<String>, StoreError> {
        const SQL: &str = "SELECT value FROM bot_status WHERE name = $1";
        let value: Option<String> = on_pool!(self, |pool, q| {
            sqlx::query_scalar(q(SQL))
                .bind(name)
                .fetch_optional(pool)
                .await?
        });
        Ok(value)
    }
}
