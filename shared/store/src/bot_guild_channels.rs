//! The channels of the guilds the bot is in, as the gateway reports them. The
//! bot writes them (GUILD_CREATE replaces a guild's set, CHANNEL_* events
//! change one row, GUILD_DELETE empties the set); the portal reads them to
//! offer a welcome channel without calling Discord.

use chrono::Utc;
use sqlx::QueryBuilder;

use crate::database::Db;
use crate::dialect::{in_transaction, on_pool};
use crate::{Store, StoreError};

/// Rows per INSERT: six parameters a row stays far below every backend's
/// bound-parameter limit (SQLite's 32766 is the lowest).
const CHUNK: usize = 500;

/// Discord's channel name limit, and the column's width.
const NAME_MAX: usize = 100;

/// One channel of a guild. `kind` is Discord's channel type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuildChannel {
    pub id: u64,
    pub name: String,
    pub position: i32,
    pub kind: u8,
}

impl GuildChannel {
    /// A text or announcement channel: where a message can be posted.
    pub fn is_text(&self) -> bool {
        matches!(self.kind, 0 | 5)
    }
}

// Snowflakes are below 2^63, so the cast is lossless in both directions.
fn to_db(id: u64) -> i64 {
    id as i64
}
fn from_db(id: i64) -> u64 {
    id as u64
}

/// Discord caps names at 100 characters; a longer one (never seen) is cut
/// rather than refused, so one odd channel cannot stop a guild's record.
fn clipped(name: &str) -> &str {
    match name.char_indices().nth(NAME_MAX) {
        Some((at, _)) => &name[..at],
        None => name,
    }
}

impl Store {
    /// Replaces everything recorded for `guild_id` with `channels`, in one
    /// transaction so the portal never lists half a guild. An empty list
    /// forgets the guild's channels (the bot left it).
    pub async fn bot_guild_channels_replace(
        &self,
        guild_id: u64,
        channels: &[GuildChannel],
    ) -> Result<(), StoreError> {
        const DELETE: &str = "DELETE FROM bot_guild_channels WHERE guild_id = $1";
        let now = Utc::now().timestamp();
        in_transaction!(self, |tx, q, _locking| {
            sqlx::query(q(DELETE))
                .bind(to_db(guild_id))
                .execute(&mut *tx)
                .await?;
            for chunk in channels.chunks(CHUNK) {
                insert(guild_id, chunk, now)
                    .build()
                    .execute(&mut *tx)
                    .await?;
            }
        });
        Ok(())
    }

    /// Records a created or changed channel (CHANNEL_CREATE / CHANNEL_UPDATE).
    pub async fn bot_guild_channel_upsert(
        &self,
        guild_id: u64,
        channel: &GuildChannel,
    ) -> Result<(), StoreError> {
        const STANDARD: &str = "INSERT INTO bot_guild_channels \
            (guild_id, channel_id, name, position, kind, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
            ON CONFLICT (guild_id, channel_id) DO UPDATE SET name = excluded.name, \
            position = excluded.position, kind = excluded.kind, updated_at = excluded.updated_at";
        // VALUES() is deprecated on MySQL 8.0.20+ but still works, and
        // MariaDB has no row-alias syntax to replace it.
        const MYSQL: &str = "INSERT INTO bot_guild_channels \
            (guild_id, channel_id, name, position, kind, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
            ON DUPLICATE KEY UPDATE name = VALUES(name), position = VALUES(position), \
            kind = VALUES(kind), updated_at = VALUES(updated_at)";
        let now = Utc::now().timestamp();
        let sql = match self.db {
            Db::MySql(_) => MYSQL,
            _ => STANDARD,
        };
        on_pool!(self, |pool, q| {
            sqlx::query(q(sql))
                .bind(to_db(guild_id))
                .bind(to_db(channel.id))
                .bind(clipped(&channel.name))
                .bind(channel.position)
                .bind(i32::from(channel.kind))
                .bind(now)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Forgets a deleted channel (CHANNEL_DELETE).
    pub async fn bot_guild_channel_remove(
        &self,
        guild_id: u64,
        channel_id: u64,
    ) -> Result<(), StoreError> {
        const SQL: &str = "DELETE FROM bot_guild_channels WHERE guild_id = $1 AND channel_id = $2";
        on_pool!(self, |pool, q| {
            sqlx::query(q(SQL))
                .bind(to_db(guild_id))
                .bind(to_db(channel_id))
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// A guild's recorded channels: text and announcement channels first,
    /// each group in Discord's order (position, then id).
    pub async fn bot_guild_channels(&self, guild_id: u64) -> Result<Vec<GuildChannel>, StoreError> {
        const SQL: &str = "SELECT channel_id, name, position, kind FROM bot_guild_channels \
            WHERE guild_id = $1 \
            ORDER BY CASE WHEN kind IN (0, 5) THEN 0 ELSE 1 END, position, channel_id";
        let rows: Vec<(i64, String, i32, i32)> = on_pool!(self, |pool, q| {
            sqlx::query_as(q(SQL))
                .bind(to_db(guild_id))
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, name, position, kind)| GuildChannel {
                id: from_db(id),
                name,
                position,
                kind: u8::try_from(kind).unwrap_or(u8::MAX),
            })
            .collect())
    }
}

fn insert<'a, DB>(guild_id: u64, channels: &'a [GuildChannel], now: i64) -> QueryBuilder<'a, DB>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i32: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut qb = QueryBuilder::new(
        "INSERT INTO bot_guild_channels (guild_id, channel_id, name, position, kind, updated_at) ",
    );
    qb.push_values(channels, |mut row, c| {
        row.push_bind(to_db(guild_id))
            .push_bind(to_db(c.id))
            .push_bind(clipped(&c.name))
            .push_bind(c.position)
            .push_bind(i32::from(c.kind))
            .push_bind(now);
    });
    qb
}
