//! The per-guild audit log: who changed a guild's preferences or tags, when,
//! and the value before and after (JSON). Entries are written by the
//! preference and tag writes, in their own transactions, and pruned after
//! [`AUDIT_RETENTION_SECONDS`].

use std::fmt;
use std::str::FromStr;

use sqlx::query::Query;
use sqlx::{Database, Encode, Type};

use crate::dialect::on_pool;
use crate::{Store, StoreError, UserId};

/// How long entries are kept: 90 days.
pub const AUDIT_RETENTION_SECONDS: i64 = 90 * 24 * 3600;
/// Longest Discord name kept with an entry (the column's width).
pub const AUDIT_USERNAME_MAX: usize = 100;
/// Most entries one listing returns.
pub const AUDIT_PAGE_MAX: u32 = 200;

/// Who made a change: the portal user (gone when their row is deleted) and
/// their Discord identity as it was then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditActor {
    pub user_id: Option<UserId>,
    pub discord_user_id: u64,
    pub discord_username: String,
}

/// What kind of change an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    SettingsUpdate,
    TagCreate,
    TagUpdate,
    TagDelete,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::SettingsUpdate => "settings.update",
            AuditAction::TagCreate => "tag.create",
            AuditAction::TagUpdate => "tag.update",
            AuditAction::TagDelete => "tag.delete",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored action this version does not know (written by a newer one).
#[derive(Debug, thiserror::Error)]
#[error("unknown audit action {0:?}")]
pub struct UnknownAuditAction(pub String);

impl FromStr for AuditAction {
    type Err = UnknownAuditAction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "settings.update" => AuditAction::SettingsUpdate,
            "tag.create" => AuditAction::TagCreate,
            "tag.update" => AuditAction::TagUpdate,
            "tag.delete" => AuditAction::TagDelete,
            other => return Err(UnknownAuditAction(other.to_owned())),
        })
    }
}

/// One change, as listed newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub guild_id: u64,
    pub user_id: Option<UserId>,
    pub discord_user_id: u64,
    pub discord_username: String,
    /// Epoch seconds.
    pub at: i64,
    pub action: AuditAction,
    /// The tag's name, or the settings' field group (`language`, `welcome`).
    pub subject: String,
    /// JSON; `None` for a created tag.
    pub before: Option<String>,
    /// JSON; `None` for a deleted tag.
    pub after: Option<String>,
}

/// An entry about to be written with a change.
pub(crate) struct NewAuditEntry<'a> {
    pub guild_id: u64,
    pub actor: &'a AuditActor,
    pub at: i64,
    pub action: AuditAction,
    pub subject: &'a str,
    pub before: Option<String>,
    pub after: Option<String>,
}

pub(crate) const INSERT_AUDIT: &str = "INSERT INTO guild_audit_log (guild_id, user_id, discord_user_id, discord_username, at, action, subject, before_value, after_value) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// [`INSERT_AUDIT`]'s values.
pub(crate) fn bind_audit<'q, DB>(
    query: Query<'q, DB, <DB as Database>::Arguments<'q>>,
    entry: &'q NewAuditEntry<'q>,
) -> Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    i64: Encode<'q, DB> + Type<DB>,
    Option<UserId>: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
{
    query
        .bind(entry.guild_id as i64)
        .bind(entry.actor.user_id)
        .bind(entry.actor.discord_user_id as i64)
        .bind(username(&entry.actor.discord_username))
        .bind(entry.at)
        .bind(entry.action.as_str())
        .bind(entry.subject)
        .bind(entry.before.as_deref())
        .bind(entry.after.as_deref())
}

/// The name cut to the column's width: the entry matters more than the
/// end of a very long display name.
fn username(name: &str) -> &str {
    match name.char_indices().nth(AUDIT_USERNAME_MAX) {
        Some((cut, _)) => &name[..cut],
        None => name,
    }
}

type Row = (
    i64,
    i64,
    Option<UserId>,
    i64,
    String,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
);

impl Store {
    /// A guild's entries, newest first: at most `limit` (capped at
    /// [`AUDIT_PAGE_MAX`]) with an id below `before` when given, so the
    /// last id of one page asks for the next.
    pub async fn guild_audit(
        &self,
        guild_id: u64,
        limit: u32,
        before: Option<i64>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        const SQL: &str = "SELECT id, guild_id, user_id, discord_user_id, discord_username, at, action, subject, before_value, after_value FROM guild_audit_log WHERE guild_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3";
        let limit = i64::from(limit.min(AUDIT_PAGE_MAX));
        let rows: Vec<Row> = on_pool!(self, |pool, q| {
            sqlx::query_as(q(SQL))
                .bind(guild_id as i64)
                .bind(before.unwrap_or(i64::MAX))
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|r| {
                let action = r.6.parse().map_err(|e: UnknownAuditAction| {
                    StoreError::Database(sqlx::Error::Decode(e.into()))
                })?;
                Ok(AuditEntry {
                    id: r.0,
                    guild_id: r.1 as u64,
                    user_id: r.2,
                    discord_user_id: r.3 as u64,
                    discord_username: r.4,
                    at: r.5,
                    action,
                    subject: r.7,
                    before: r.8,
                    after: r.9,
                })
            })
            .collect()
    }

    /// Deletes every guild's entries older than [`AUDIT_RETENTION_SECONDS`]
    /// before `now` (epoch seconds). Returns how many went.
    pub async fn guild_audit_prune(&self, now: i64) -> Result<u64, StoreError> {
        const SQL: &str = "DELETE FROM guild_audit_log WHERE at < $1";
        let cutoff = now.saturating_sub(AUDIT_RETENTION_SECONDS);
        let n = on_pool!(self, |pool, q| {
            sqlx::query(q(SQL))
                .bind(cutoff)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip() {
        for a in [
            AuditAction::SettingsUpdate,
            AuditAction::TagCreate,
            AuditAction::TagUpdate,
            AuditAction::TagDelete,
        ] {
            assert_eq!(a.as_str().parse::<AuditAction>().unwrap(), a);
        }
        assert!("tag.rename".parse::<AuditAction>().is_err());
    }

    #[test]
    fn long_names_are_cut_on_a_character() {
        let name = "한".repeat(150);
        assert_eq!(username(&name).chars().count(), AUDIT_USERNAME_MAX);
        assert_eq!(username("nelly"), "nelly");
    }
}
