//! Ended sessions. The session token stays fastapi-users' JWT, which carries
//! no id of its own and cannot be changed: a logout records the SHA-256 of
//! the token it ends (never the token) until the token's `exp`, and "log out
//! everywhere" records a per-user time before which every session is over.
//! Both are read with the user row, in the same query, so checking them
//! costs the session check no extra round trip.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::database::Db;
use crate::dialect::on_pool;
use crate::users::user_columns;
use crate::{Store, StoreError, User, UserId};

/// The SHA-256 of a session token: what identifies a revoked token at rest.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionTokenHash([u8; 32]);

impl SessionTokenHash {
    pub fn of(token: &str) -> Self {
        SessionTokenHash(Sha256::digest(token.as_bytes()).into())
    }

    fn to_hex(self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(SessionTokenHash(out))
    }
}

impl fmt::Debug for SessionTokenHash {
    // A hash is not the token, but a log has no use for it either.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionTokenHash(..)")
    }
}

/// Which of a user's sessions have been ended, as of when it was read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionRevocations {
    /// Sessions issued at or before this (epoch seconds) are over.
    pub revoked_before: Option<i64>,
    /// Tokens logged out, not yet expired.
    pub tokens: HashSet<SessionTokenHash>,
}

/// Why a session is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnded {
    /// This token was logged out.
    LoggedOut,
    /// Every session issued up to a moment after this one was ended.
    EndedEverywhere,
}

impl SessionRevocations {
    /// Whether the session whose token hashes to `token` and which was
    /// issued at `issued_at` (epoch seconds) has been ended.
    pub fn ended(&self, token: &SessionTokenHash, issued_at: i64) -> Option<SessionEnded> {
        if self
            .revoked_before
            .is_some_and(|before| issued_at <= before)
        {
            return Some(SessionEnded::EndedEverywhere);
        }
        self.tokens
            .contains(token)
            .then_some(SessionEnded::LoggedOut)
    }

    /// The first second from `now` at which a session issued is not
    /// ended by the cut-off.
    pub fn earliest_issue(&self, now: i64) -> i64 {
        self.revoked_before
            .map_or(now, |before| now.max(before.saturating_add(1)))
    }
}

impl Store {
    /// The user and which of their sessions are over (tokens whose `exp` is
    /// before `now` are left out: they are refused anyway). One query.
    pub async fn session_user(
        &self,
        id: UserId,
        now: i64,
    ) -> Result<Option<(User, SessionRevocations)>, StoreError> {
        // The joined tables share no column name with `users`.
        const SQL: &str = concat!(
            "SELECT ",
            user_columns!(),
            ", session_cutoffs.revoked_before, revoked_session_tokens.token_hash",
            " FROM users",
            " LEFT JOIN session_cutoffs ON session_cutoffs.user_id = users.id",
            " LEFT JOIN revoked_session_tokens ON revoked_session_tokens.user_id = users.id",
            " AND revoked_session_tokens.expires_at >= $1",
            " WHERE users.id = $2"
        );
        let found = on_pool!(self, |pool, q| {
            let rows = sqlx::query(q(SQL))
                .bind(now)
                .bind(id)
                .fetch_all(pool)
                .await?;
            session_user_from_rows(&rows)?
        });
        Ok(found)
    }

    /// Ends the session whose token hashes to `token` until `expires_at`
    /// (the token's `exp`), and prunes what has expired before `now`.
    /// Ending a session twice is not an error.
    pub async fn revoke_session_token(
        &self,
        user: UserId,
        token: &SessionTokenHash,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        const PRUNE: &str = "DELETE FROM revoked_session_tokens WHERE expires_at < $1";
        const INSERT: &str = "INSERT INTO revoked_session_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
        const INSERT_MYSQL: &str = "INSERT IGNORE INTO revoked_session_tokens (token_hash, user_id, expires_at) VALUES (?, ?, ?)";
        let hash = token.to_hex();
        on_pool!(self, |pool, q| {
            sqlx::query(q(PRUNE)).bind(now).execute(pool).await?;
        });
        match &self.db {
            Db::Sqlite(pool) => {
                let insert = sqlx::query(INSERT).bind(&hash).bind(user);
                insert.bind(expires_at).execute(pool).await?;
            }
            Db::Postgres(pool) => {
                let insert = sqlx::query(INSERT).bind(&hash).bind(user);
                insert.bind(expires_at).execute(pool).await?;
            }
            Db::MySql(pool) => {
                let insert = sqlx::query(INSERT_MYSQL).bind(&hash).bind(user);
                insert.bind(expires_at).execute(pool).await?;
            }
        }
        Ok(())
    }

    /// Ends every session of `user` issued up to `now` (epoch seconds),
    /// sessions living `session_lifetime`.
    ///
    /// A session issued in the second of an earlier cut-off, or of a logout
    /// of an identical token, is dated a second later (see
    /// [`SessionRevocations::earliest_issue`], then past any token logged out), so the new cut-off also
    /// covers one second past the last one and past the last token logged
    /// out. It never moves back.
    pub async fn revoke_every_session(
        &self,
        user: UserId,
        now: i64,
        session_lifetime: Duration,
    ) -> Result<(), StoreError> {
        const UPSERT: &str = "INSERT INTO session_cutoffs (user_id, revoked_before) VALUES ($1, GREATEST($2, (SELECT MAX(expires_at) FROM revoked_session_tokens WHERE user_id = $3) - $4 + 1)) ON CONFLICT (user_id) DO UPDATE SET revoked_before = GREATEST(session_cutoffs.revoked_before + 1, excluded.revoked_before)";
        // SQLite's two-argument MAX is NULL when either is: hence COALESCE.
        const UPSERT_SQLITE: &str = "INSERT INTO session_cutoffs (user_id, revoked_before) VALUES ($1, MAX($2, COALESCE((SELECT MAX(expires_at) FROM revoked_session_tokens WHERE user_id = $3) - $4 + 1, $2))) ON CONFLICT (user_id) DO UPDATE SET revoked_before = MAX(session_cutoffs.revoked_before + 1, excluded.revoked_before)";
        // MySQL's GREATEST is NULL when any argument is: hence COALESCE.
        const UPSERT_MYSQL: &str = "INSERT INTO session_cutoffs (user_id, revoked_before) VALUES (?, GREATEST(?, COALESCE((SELECT MAX(expires_at) FROM revoked_session_tokens WHERE user_id = ?) - ? + 1, 0))) ON DUPLICATE KEY UPDATE revoked_before = GREATEST(revoked_before + 1, VALUES(revoked_before))";
        let lifetime = i64::try_from(session_lifetime.as_secs()).unwrap_or(i64::MAX);
        match &self.db {
            Db::Sqlite(pool) => {
                let upsert = sqlx::query(UPSERT_SQLITE).bind(user).bind(now);
                upsert.bind(user).bind(lifetime).execute(pool).await?;
            }
            Db::Postgres(pool) => {
                let upsert = sqlx::query(UPSERT).bind(user).bind(now);
                upsert.bind(user).bind(lifetime).execute(pool).await?;
            }
            Db::MySql(pool) => {
                let upsert = sqlx::query(UPSERT_MYSQL).bind(user).bind(now);
                upsert.bind(user).bind(lifetime).execute(pool).await?;
            }
        }
        Ok(())
    }
}

/// The user from the first row (every row repeats it), the cut-off from the
/// first row too, a revoked token from each row that has one.
fn session_user_from_rows<'r, R>(
    rows: &'r [R],
) -> Result<Option<(User, SessionRevocations)>, sqlx::Error>
where
    R: Row,
    &'r str: sqlx::ColumnIndex<R>,
    UserId: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    DateTime<Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let user = <User as sqlx::FromRow<'r, R>>::from_row(first)?;
    let mut revocations = SessionRevocations {
        revoked_before: first.try_get("revoked_before")?,
        tokens: HashSet::new(),
    };
    for row in rows {
        let hash: Option<String> = row.try_get("token_hash")?;
        if let Some(hash) = hash.as_deref().and_then(SessionTokenHash::from_hex) {
            revocations.tokens.insert(hash);
        }
    }
    Ok(Some((user, revocations)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_round_trip_through_hex() {
        let h = SessionTokenHash::of("a.b.c");
        assert_eq!(h.to_hex().len(), 64);
        assert_eq!(SessionTokenHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(SessionTokenHash::from_hex("zz"), None);
        assert_ne!(SessionTokenHash::of("a.b.d"), h);
        assert_eq!(format!("{h:?}"), "SessionTokenHash(..)");
    }

    #[test]
    fn ended_by_logout_or_by_a_later_cutoff() {
        let token = SessionTokenHash::of("t");
        let mut r = SessionRevocations::default();
        assert_eq!(r.ended(&token, 100), None);
        r.tokens.insert(token);
        assert_eq!(r.ended(&token, 100), Some(SessionEnded::LoggedOut));
        assert_eq!(r.ended(&SessionTokenHash::of("u"), 100), None);
        r.revoked_before = Some(100);
        assert_eq!(
            r.ended(&SessionTokenHash::of("u"), 100),
            Some(SessionEnded::EndedEverywhere)
        );
        assert_eq!(r.ended(&SessionTokenHash::of("u"), 101), None);
    }
}
