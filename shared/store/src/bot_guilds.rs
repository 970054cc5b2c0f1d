//! Which guilds the bot is in. Each row carries the shard that reported it, so
//! several bot processes, each running some shards, can each replace their own
//! part of the set without touching the others'.

use std::collections::HashSet;

use chrono::Utc;
use sqlx::QueryBuilder;

use crate::database::Db;
use crate::dialect::on_pool;
use crate::{Store, StoreError};

/// Rows per INSERT: well below every backend's bound-parameter limit
/// (SQLite 32766, PostgreSQL 65535, MySQL 65535) at three parameters a row.
const CHUNK: usize = 500;

// Snowflakes are below 2^63, so the cast is lossless in both directions.
fn to_db(id: u64) -> i64 {
    id as i64
}
fn from_db(id: i64) -> u64 {
    id as u64
}

impl Store {
    /// Records that `shard_id` sees the bot in `guild_id` (GUILD_CREATE).
    pub async fn bot_guild_add(&self, shard_id: u32, guild_id: u64) -> Result<(), StoreError> {
        self.upsert_bot_guilds(shard_id, &[guild_id]).await
    }

    /// [`Self::bot_guild_add`] for many guilds at once (a shard receives a
    /// GUILD_CREATE for every guild right after READY). `guild_ids` must not
    /// repeat an id: PostgreSQL refuses to upsert one row twice in a statement.
    pub async fn bot_guilds_add(&self, shard_id: u32, guild_ids: &[u64]) -> Result<(), StoreError> {
        self.upsert_bot_guilds(shard_id, guild_ids).await
    }

    /// The bot left or was removed from `guild_id` (GUILD_DELETE without
    /// `unavailable`). Returns whether a row was removed.
    pub async fn bot_guild_remove(&self, guild_id: u64) -> Result<bool, StoreError> {
        const SQL: &str = "DELETE FROM bot_guilds WHERE guild_id = $1";
        let n = on_pool!(self, |pool, q| {
            sqlx::query(q(SQL))
                .bind(to_db(guild_id))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Replaces everything `shard_id` reported with `guild_ids` (READY), in one
    /// transaction so the portal never sees the shard's set half-written.
    pub async fn bot_guilds_replace_shard(
        &self,
        shard_id: u32,
        guild_ids: &[u64],
    ) -> Result<(), StoreError> {
        const DELETE: &str = "DELETE FROM bot_guilds WHERE shard_id = $1";
        let now = Utc::now();
        match &self.db {
            Db::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                sqlx::query(DELETE)
                    .bind(shard_id as i64)
                    .execute(&mut *tx)
                    .await?;
                for chunk in guild_ids.chunks(CHUNK) {
                    upsert_sqlite(shard_id, chunk, now)
                        .build()
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query(DELETE)
                    .bind(shard_id as i64)
                    .execute(&mut *tx)
                    .await?;
                for chunk in guild_ids.chunks(CHUNK) {
                    upsert_pg(shard_id, chunk, now)
                        .build()
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
            Db::MySql(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query(crate::dialect::mysql(DELETE))
                    .bind(shard_id as i64)
                    .execute(&mut *tx)
                    .await?;
                for chunk in guild_ids.chunks(CHUNK) {
                    upsert_mysql(shard_id, chunk, now)
                        .build()
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }

    async fn upsert_bot_guilds(&self, shard_id: u32, guild_ids: &[u64]) -> Result<(), StoreError> {
        let now = Utc::now();
        for chunk in guild_ids.chunks(CHUNK) {
            match &self.db {
                Db::Sqlite(pool) => {
                    upsert_sqlite(shard_id, chunk, now)
                        .build()
                        .execute(pool)
                        .await?;
                }
                Db::Postgres(pool) => {
                    upsert_pg(shard_id, chunk, now)
                        .build()
                        .execute(pool)
                        .await?;
                }
                Db::MySql(pool) => {
                    upsert_mysql(shard_id, chunk, now)
                        .build()
                        .execute(pool)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Which of `guild_ids` the bot is in.
    pub async fn bot_guilds_present(&self, guild_ids: &[u64]) -> Result<HashSet<u64>, StoreError> {
        let mut present = HashSet::new();
        for chunk in guild_ids.chunks(CHUNK) {
            let rows: Vec<i64> = on_pool!(self, |pool, _q| {
                let mut qb =
                    QueryBuilder::new("SELECT guild_id FROM bot_guilds WHERE guild_id IN (");
                let mut list = qb.separated(", ");
                for id in chunk {
                    list.push_bind(to_db(*id));
                }
                qb.push(")");
                qb.build_query_scalar().fetch_all(pool).await?
            });
            present.extend(rows.into_iter().map(from_db));
        }
        Ok(present)
    }

    /// The guilds one shard reported, for diagnostics and tests.
    pub async fn bot_guilds_of_shard(&self, shard_id: u32) -> Result<Vec<u64>, StoreError> {
        const SQL: &str = "SELECT guild_id FROM bot_guilds WHERE shard_id = $1 ORDER BY guild_id";
        let rows: Vec<i64> = on_pool!(self, |pool, q| {
            sqlx::query_scalar(q(SQL))
                .bind(shard_id as i64)
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(from_db).collect())
    }

    /// Every guild the bot is in, across shards.
    pub async fn bot_guilds_all(&self) -> Result<Vec<u64>, StoreError> {
        const SQL: &str = "SELECT guild_id FROM bot_guilds ORDER BY guild_id";
        let rows: Vec<i64> = on_pool!(self, |pool, _q| {
            sqlx::query_scalar(SQL).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(from_db).collect())
    }
}

fn push_rows<'a, DB>(
    qb: &mut QueryBuilder<'a, DB>,
    shard_id: u32,
    guild_ids: &'a [u64],
    now: chrono::DateTime<Utc>,
) where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    chrono::DateTime<Utc>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    qb.push_values(guild_ids, |mut row, id| {
        row.push_bind(to_db(*id))
            .push_bind(shard_id as i64)
            .push_bind(now);
    });
}

const INSERT_HEAD: &str = "INSERT INTO bot_guilds (guild_id, shard_id, updated_at) ";

fn upsert_sqlite<'a>(
    shard_id: u32,
    guild_ids: &'a [u64],
    now: chrono::DateTime<Utc>,
) -> QueryBuilder<'a, sqlx::Sqlite> {
    let mut qb = QueryBuilder::new(INSERT_HEAD);
    push_rows(&mut qb, shard_id, guild_ids, now);
    qb.push(" ON CONFLICT (guild_id) DO UPDATE SET shard_id = excluded.shard_id, updated_at = excluded.updated_at");
    qb
}

fn upsert_pg<'a>(
    shard_id: u32,
    guild_ids: &'a [u64],
    now: chrono::DateTime<Utc>,
) -> QueryBuilder<'a, sqlx::Postgres> {
    let mut qb = QueryBuilder::new(INSERT_HEAD);
    push_rows(&mut qb, shard_id, guild_ids, now);
    qb.push(" ON CONFLICT (guild_id) DO UPDATE SET shard_id = excluded.shard_id, updated_at = excluded.updated_at");
    qb
}

fn upsert_mysql<'a>(
    shard_id: u32,
    guild_ids: &'a [u64],
    now: chrono::DateTime<Utc>,
) -> QueryBuilder<'a, sqlx::MySql> {
    let mut qb = QueryBuilder::new(INSERT_HEAD);
    push_rows(&mut qb, shard_id, guild_ids, now);
    // VALUES() is deprecated on MySQL 8.0.20+ but still works, and MariaDB has
    // no row-alias syntax to replace it.
    qb.push(
        " ON DUPLICATE KEY UPDATE shard_id = VALUES(shard_id), updated_at = VALUES(updated_at)",
    );
    qb
}
