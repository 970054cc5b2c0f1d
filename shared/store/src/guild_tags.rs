//! Custom commands: named text replies per guild (`/tag name:`). Each write
//! locks the guild's preferences row first (see `lock_preferences`), moves
//! its revision and records an audit entry, in one transaction.

use crate::dialect::{in_transaction, on_pool};
use crate::error::check_len;
use crate::guild_audit::{AuditAction, AuditActor, INSERT_AUDIT, NewAuditEntry, bind_audit};
use crate::guild_preferences::{BUMP_REVISION, lock_preferences, retrying};
use crate::{Backend, Store, StoreError};

/// Most tags a guild may have.
pub const TAGS_PER_GUILD_MAX: usize = 200;
/// Longest tag name, in characters (Discord's option-value limit).
pub const TAG_NAME_MAX: usize = 32;
/// Longest tag content, in characters (Discord's message length).
pub const TAG_CONTENT_MAX: usize = 2000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuildTag {
    pub name: String,
    pub content: String,
    /// Epoch seconds.
    pub updated_at: i64,
}

/// What saving a tag did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagSaved {
    Created,
    Updated,
    /// Same content as stored: nothing written.
    Unchanged,
}

fn content_json(content: &str) -> String {
    serde_json::Value::from(content).to_string()
}

impl Store {
    /// The guild's tags, sorted by name (byte order, the same on every
    /// backend whatever its collation).
    pub async fn guild_tags(&self, guild_id: u64) -> Result<Vec<GuildTag>, StoreError> {
        const SQL: &str = "SELECT name, content, updated_at FROM guild_tags WHERE guild_id = $1";
        // sqlx reads MySQL's binary-collated `name` back as VARBINARY; the
        // conversion gives it a text collation on the way out.
        const SQL_MYSQL: &str = "SELECT CONVERT(name USING utf8mb4), content, updated_at FROM guild_tags WHERE guild_id = $1";
        let sql = match self.backend() {
            Backend::MySql => SQL_MYSQL,
            Backend::Sqlite | Backend::Postgres => SQL,
        };
        let rows: Vec<(String, String, i64)> = on_pool!(self, |pool, q| {
            sqlx::query_as(q(sql))
                .bind(guild_id as i64)
                .fetch_all(pool)
                .await?
        });
        let mut tags: Vec<GuildTag> = rows
            .into_iter()
            .map(|(name, content, updated_at)| GuildTag {
                name,
                content,
                updated_at,
            })
            .collect();
        tags.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        Ok(tags)
    }

    pub async fn guild_tag(
        &self,
        guild_id: u64,
        name: &str,
    ) -> Result<Option<GuildTag>, StoreError> {
        const SQL: &str =
            "SELECT content, updated_at FROM guild_tags WHERE guild_id = $1 AND name = $2";
        let row: Option<(String, i64)> = on_pool!(self, |pool, q| {
            sqlx::query_as(q(SQL))
                .bind(guild_id as i64)
                .bind(name)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(content, updated_at)| GuildTag {
            name: name.to_owned(),
            content,
            updated_at,
        }))
    }

    /// Creates or replaces the tag `name`. A new tag beyond
    /// [`TAGS_PER_GUILD_MAX`] is [`StoreError::TagLimitReached`]. The name
    /// and content are checked for length only: their rules are the
    /// caller's.
    pub async fn guild_tag_save(
        &self,
        guild_id: u64,
        name: &str,
        content: &str,
        actor: &AuditActor,
        now: i64,
    ) -> Result<TagSaved, StoreError> {
        check_len("name", name, TAG_NAME_MAX)?;
        check_len("content", content, TAG_CONTENT_MAX)?;
        retrying(|| self.try_save_tag(guild_id, name, content, actor, now)).await
    }

    async fn try_save_tag(
        &self,
        guild_id: u64,
        name: &str,
        content: &str,
        actor: &AuditActor,
        now: i64,
    ) -> Result<TagSaved, StoreError> {
        const CURRENT: &str = "SELECT content FROM guild_tags WHERE guild_id = $1 AND name = $2";
        const COUNT: &str = "SELECT COUNT(*) FROM guild_tags WHERE guild_id = $1";
        const INSERT: &str = "INSERT INTO guild_tags (guild_id, name, content, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)";
        const UPDATE: &str =
            "UPDATE guild_tags SET content = $1, updated_at = $2 WHERE guild_id = $3 AND name = $4";
        let saved = in_transaction!(self, |tx, q, locking| {
            lock_preferences!(tx, q, locking, guild_id, now);
            let current: Option<String> = sqlx::query_scalar(q(CURRENT))
                .bind(guild_id as i64)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
            let (outcome, before) = match current {
                Some(before) if before == content => return Ok(TagSaved::Unchanged),
                Some(before) => {
                    sqlx::query(q(UPDATE))
                        .bind(content)
                        .bind(now)
                        .bind(guild_id as i64)
                        .bind(name)
                        .execute(&mut *tx)
                        .await?;
                    (TagSaved::Updated, Some(content_json(&before)))
                }
                None => {
                    let count: i64 = sqlx::query_scalar(q(COUNT))
                        .bind(guild_id as i64)
                        .fetch_one(&mut *tx)
                        .await?;
                    if count >= TAGS_PER_GUILD_MAX as i64 {
                        return Err(StoreError::TagLimitReached {
                            limit: TAGS_PER_GUILD_MAX,
                        });
                    }
                    sqlx::query(q(INSERT))
                        .bind(guild_id as i64)
                        .bind(name)
                        .bind(content)
                        .bind(now)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    (TagSaved::Created, None)
                }
            };
            sqlx::query(q(BUMP_REVISION))
                .bind(guild_id as i64)
                .execute(&mut *tx)
                .await?;
            let entry = NewAuditEntry {
                guild_id,
                actor,
                at: now,
                action: match outcome {
                    TagSaved::Created => AuditAction::TagCreate,
                    _ => AuditAction::TagUpdate,
                },
                subject: name,
                before,
                after: Some(content_json(content)),
            };
            bind_audit(sqlx::query(q(INSERT_AUDIT)), &entry)
                .execute(&mut *tx)
                .await?;
            outcome
        });
        Ok(saved)
    }

    /// Deletes the tag `name`; false when there was none (nothing written).
    pub async fn guild_tag_delete(
        &self,
        guild_id: u64,
        name: &str,
        actor: &AuditActor,
        now: i64,
    ) -> Result<bool, StoreError> {
        retrying(|| self.try_delete_tag(guild_id, name, actor, now)).await
    }

    async fn try_delete_tag(
        &self,
        guild_id: u64,
        name: &str,
        actor: &AuditActor,
        now: i64,
    ) -> Result<bool, StoreError> {
        const CURRENT: &str = "SELECT content FROM guild_tags WHERE guild_id = $1 AND name = $2";
        const DELETE: &str = "DELETE FROM guild_tags WHERE guild_id = $1 AND name = $2";
        let deleted = in_transaction!(self, |tx, q, locking| {
            lock_preferences!(tx, q, locking, guild_id, now);
            let current: Option<String> = sqlx::query_scalar(q(CURRENT))
                .bind(guild_id as i64)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(before) = current else {
                return Ok(false);
            };
            sqlx::query(q(DELETE))
                .bind(guild_id as i64)
                .bind(name)
                .execute(&mut *tx)
                .await?;
            sqlx::query(q(BUMP_REVISION))
                .bind(guild_id as i64)
                .execute(&mut *tx)
                .await?;
            let entry = NewAuditEntry {
                guild_id,
                actor,
                at: now,
                action: AuditAction::TagDelete,
                subject: name,
                before: Some(content_json(&before)),
                after: None,
            };
            bind_audit(sqlx::query(q(INSERT_AUDIT)), &entry)
                .execute(&mut *tx)
                .await?;
            true
        });
        Ok(deleted)
    }
}
