//! Per-guild preferences: the bot's language in the guild and its welcome
//! message. Saved by the portal's settings form with the version it showed
//! (optimistic concurrency: a stale form is refused, never merged), each
//! save with its audit entries in one transaction. Every preference or tag
//! write moves the guild's `revision`, which the bot polls.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::str::FromStr;

use sqlx::QueryBuilder;

use crate::dialect::{in_transaction, on_pool};
use crate::error::check_len;
use crate::guild_audit::{AuditAction, AuditActor, INSERT_AUDIT, NewAuditEntry, bind_audit};
use crate::{Store, StoreError};

/// Longest welcome message (Discord's message length).
pub const WELCOME_MESSAGE_MAX: usize = 2000;
/// What a guild that never saved its settings is welcomed with.
pub const DEFAULT_WELCOME_MESSAGE: &str = "Welcome to {server}, {user}!";

/// The bot's language in a guild.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GuildLanguage {
    /// Each user's own Discord language.
    #[default]
    Auto,
    En,
    Ko,
}

impl GuildLanguage {
    pub const ALL: [GuildLanguage; 3] = [GuildLanguage::Auto, GuildLanguage::En, GuildLanguage::Ko];

    pub fn as_str(self) -> &'static str {
        match self {
            GuildLanguage::Auto => "auto",
            GuildLanguage::En => "en",
            GuildLanguage::Ko => "ko",
        }
    }
}

impl fmt::Display for GuildLanguage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Not one of `auto`, `en`, `ko`.
#[derive(Debug, thiserror::Error)]
#[error("unknown language {0:?}; expected auto, en or ko")]
pub struct UnknownLanguage(pub String);

impl FromStr for GuildLanguage {
    type Err = UnknownLanguage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(GuildLanguage::Auto),
            "en" => Ok(GuildLanguage::En),
            "ko" => Ok(GuildLanguage::Ko),
            other => Err(UnknownLanguage(other.to_owned())),
        }
    }
}

/// A guild's preferences; the defaults (version and revision 0) when it
/// never saved any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuildPreferences {
    pub guild_id: u64,
    pub language: GuildLanguage,
    pub welcome_enabled: bool,
    pub welcome_channel_id: Option<u64>,
    pub welcome_message: String,
    /// Moves on every save of the settings form.
    pub version: i64,
    /// Moves on every settings or tag write.
    pub revision: i64,
}

impl GuildPreferences {
    pub fn defaults(guild_id: u64) -> Self {
        GuildPreferences {
            guild_id,
            language: GuildLanguage::Auto,
            welcome_enabled: false,
            welcome_channel_id: None,
            welcome_message: DEFAULT_WELCOME_MESSAGE.to_owned(),
            version: 0,
            revision: 0,
        }
    }

    fn welcome_json(&self) -> String {
        serde_json::json!({
            "enabled": self.welcome_enabled,
            // A string, as Discord writes snowflakes.
            "channel_id": self.welcome_channel_id.map(|id| id.to_string()),
            "message": self.welcome_message,
        })
        .to_string()
    }
}

/// What the settings form saves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreferencesUpdate {
    pub language: GuildLanguage,
    pub welcome_enabled: bool,
    pub welcome_channel_id: Option<u64>,
    pub welcome_message: String,
}

/// language, welcome_enabled, welcome_channel_id, welcome_message, version, revision
pub(crate) type PreferencesRow = (String, bool, Option<i64>, String, i64, i64);

pub(crate) const SELECT_PREFERENCES: &str = "SELECT language, welcome_enabled, welcome_channel_id, welcome_message, version, revision FROM guild_preferences WHERE guild_id = $1";
pub(crate) const SELECT_PREFERENCES_FOR_UPDATE: &str = "SELECT language, welcome_enabled, welcome_channel_id, welcome_message, version, revision FROM guild_preferences WHERE guild_id = $1 FOR UPDATE";
pub(crate) const INSERT_DEFAULT_PREFERENCES: &str = "INSERT INTO guild_preferences (guild_id, language, welcome_enabled, welcome_channel_id, welcome_message, version, revision, updated_at) VALUES ($1, $2, $3, NULL, $4, 0, 0, $5)";
pub(crate) const BUMP_REVISION: &str =
    "UPDATE guild_preferences SET revision = revision + 1 WHERE guild_id = $1";

pub(crate) fn from_row(guild_id: u64, row: PreferencesRow) -> Result<GuildPreferences, StoreError> {
    let language = row
        .0
        .parse()
        .map_err(|e: UnknownLanguage| StoreError::Database(sqlx::Error::Decode(e.into())))?;
    Ok(GuildPreferences {
        guild_id,
        language,
        welcome_enabled: row.1,
        welcome_channel_id: row.2.map(|id| id as u64),
        welcome_message: row.3,
        version: row.4,
        revision: row.5,
    })
}

/// Inside [`in_transaction`]: the guild's preferences, their row locked
/// until the transaction ends (created with the defaults, version 0, when
/// absent). Every write of a guild's preferences or tags starts here, so
/// they are serialised per guild: the tag limit and the version check hold
/// under concurrency.
macro_rules! lock_preferences {
    ($tx:ident, $q:ident, $locking:ident, $guild_id:expr, $now:expr) => {{
        let guild_id: u64 = $guild_id;
        let select = if $locking {
            $crate::guild_preferences::SELECT_PREFERENCES_FOR_UPDATE
        } else {
            $crate::guild_preferences::SELECT_PREFERENCES
        };
        let row: Option<$crate::guild_preferences::PreferencesRow> = sqlx::query_as($q(select))
            .bind(guild_id as i64)
            .fetch_optional(&mut *$tx)
            .await?;
        match row {
            Some(row) => $crate::guild_preferences::from_row(guild_id, row)?,
            None => {
                let defaults = $crate::guild_preferences::GuildPreferences::defaults(guild_id);
                // A concurrent first write inserts too: one of the two gets
                // a unique violation and is retried (see `retrying`).
                sqlx::query($q($crate::guild_preferences::INSERT_DEFAULT_PREFERENCES))
                    .bind(guild_id as i64)
                    .bind(defaults.language.as_str())
                    .bind(defaults.welcome_enabled)
                    .bind(defaults.welcome_message.as_str())
                    .bind($now)
                    .execute(&mut *$tx)
                    .await?;
                defaults
            }
        }
    }};
}
pub(crate) use lock_preferences;

/// Attempts at a write that collided with a concurrent one (a deadlock, a
/// unique violation on a guild's first row) before giving up.
const ATTEMPTS: u32 = 5;

/// Runs `attempt` again while it fails with a conflict another writer
/// caused; each attempt starts from its first read.
pub(crate) async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    for _ in 0..ATTEMPTS {
        match attempt().await {
            Err(e) if e.is_retryable_conflict() => continue,
            other => return other,
        }
    }
    Err(StoreError::Contention(ATTEMPTS))
}

impl Store {
    /// The guild's preferences, or the defaults (version 0) without a row.
    pub async fn guild_preferences(&self, guild_id: u64) -> Result<GuildPreferences, StoreError> {
        let row: Option<PreferencesRow> = on_pool!(self, |pool, q| {
            sqlx::query_as(q(SELECT_PREFERENCES))
                .bind(guild_id as i64)
                .fetch_optional(pool)
                .await?
        });
        match row {
            Some(row) => from_row(guild_id, row),
            None => Ok(GuildPreferences::defaults(guild_id)),
        }
    }

    /// Saves the settings form, shown at `expected_version`, with one audit
    /// entry per changed field group (`language`, `welcome`), all in one
    /// transaction. A form older than the stored preferences gets
    /// [`StoreError::SettingsChanged`]; a form that changes nothing writes
    /// nothing. Returns the preferences as now stored.
    pub async fn guild_preferences_save(
        &self,
        guild_id: u64,
        update: &PreferencesUpdate,
        expected_version: i64,
        actor: &AuditActor,
        now: i64,
    ) -> Result<GuildPreferences, StoreError> {
        check_len(
            "welcome_message",
            &update.welcome_message,
            WELCOME_MESSAGE_MAX,
        )?;
        retrying(|| self.try_save_preferences(guild_id, update, expected_version, actor, now)).await
    }

    async fn try_save_preferences(
        &self,
        guild_id: u64,
        update: &PreferencesUpdate,
        expected_version: i64,
        actor: &AuditActor,
        now: i64,
    ) -> Result<GuildPreferences, StoreError> {
        const UPDATE: &str = "UPDATE guild_preferences SET language = $1, welcome_enabled = $2, welcome_channel_id = $3, welcome_message = $4, version = version + 1, revision = revision + 1, updated_at = $5 WHERE guild_id = $6";
        let saved = in_transaction!(self, |tx, q, locking| {
            let current = lock_preferences!(tx, q, locking, guild_id, now);
            if current.version != expected_version {
                return Err(StoreError::SettingsChanged {
                    current_version: current.version,
                });
            }
            let next = GuildPreferences {
                guild_id,
                language: update.language,
                welcome_enabled: update.welcome_enabled,
                welcome_channel_id: update.welcome_channel_id,
                welcome_message: update.welcome_message.clone(),
                version: current.version + 1,
                revision: current.revision + 1,
            };
            let entries = changes(&current, &next, actor, now);
            if entries.is_empty() {
                current
            } else {
                sqlx::query(q(UPDATE))
                    .bind(next.language.as_str())
                    .bind(next.welcome_enabled)
                    .bind(next.welcome_channel_id.map(|id| id as i64))
                    .bind(next.welcome_message.as_str())
                    .bind(now)
                    .bind(guild_id as i64)
                    .execute(&mut *tx)
                    .await?;
                for entry in &entries {
                    bind_audit(sqlx::query(q(INSERT_AUDIT)), entry)
                        .execute(&mut *tx)
                        .await?;
                }
                next
            }
        });
        Ok(saved)
    }

    /// Each guild's revision, for the guilds that have a preferences row
    /// (an absent guild is at revision 0).
    pub async fn guild_revisions(
        &self,
        guild_ids: &[u64],
    ) -> Result<HashMap<u64, i64>, StoreError> {
        // Well below every backend's bound-parameter limit.
        const CHUNK: usize = 500;
        let mut revisions = HashMap::with_capacity(guild_ids.len());
        for chunk in guild_ids.chunks(CHUNK) {
            let rows: Vec<(i64, i64)> = on_pool!(self, |pool, _q| {
                let mut qb = QueryBuilder::new(
                    "SELECT guild_id, revision FROM guild_preferences WHERE guild_id IN (",
                );
                let mut list = qb.separated(", ");
                for id in chunk {
                    list.push_bind(*id as i64);
                }
                qb.push(")");
                qb.build_query_as().fetch_all(pool).await?
            });
            revisions.extend(rows.into_iter().map(|(id, rev)| (id as u64, rev)));
        }
        Ok(revisions)
    }
}

/// The audit entries that take `current` to `next`: one per field group
/// that differs.
fn changes<'a>(
    current: &GuildPreferences,
    next: &GuildPreferences,
    actor: &'a AuditActor,
    now: i64,
) -> Vec<NewAuditEntry<'a>> {
    let mut entries = Vec::new();
    let entry = |subject, before, after| NewAuditEntry {
        guild_id: next.guild_id,
        actor,
        at: now,
        action: AuditAction::SettingsUpdate,
        subject,
        before: Some(before),
        after: Some(after),
    };
    if current.language != next.language {
        let json = |l: GuildLanguage| serde_json::Value::from(l.as_str()).to_string();
        entries.push(entry(
            "language",
            json(current.language),
            json(next.language),
        ));
    }
    let (before, after) = (current.welcome_json(), next.welcome_json());
    if before != after {
        entries.push(entry("welcome", before, after));
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_round_trip() {
        for l in GuildLanguage::ALL {
            assert_eq!(l.as_str().parse::<GuildLanguage>().unwrap(), l);
        }
        assert!("fr".parse::<GuildLanguage>().is_err());
        assert!("EN".parse::<GuildLanguage>().is_err());
    }
}
