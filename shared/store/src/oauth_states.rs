//! Consumed OAuth login states. fastapi-users lets a state be replayed for its
//! whole hour; Guildhall records each csrftoken when its callback is accepted,
//! in the shared database so that every portal replica refuses a replay.

use crate::dialect::on_pool;
use crate::error::check_len;
use crate::{Store, StoreError, limits};

impl Store {
    /// Marks `csrftoken` as used until `expires_at` (epoch seconds). Returns
    /// true the first time, false for a replay.
    pub async fn consume_oauth_state(
        &self,
        csrftoken: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        check_len("csrftoken", csrftoken, limits::CSRF_TOKEN)?;
        const PURGE: &str = "DELETE FROM used_oauth_states WHERE expires_at < $1";
        const INSERT: &str =
            "INSERT INTO used_oauth_states (csrftoken, expires_at) VALUES ($1, $2)";
        let result = on_pool!(self, |pool, q| {
            // An expired state is refused by its signature check anyway; purging
            // keeps the table as small as the number of logins in the last hour.
            sqlx::query(q(PURGE)).bind(now).execute(pool).await?;
            sqlx::query(q(INSERT))
                .bind(csrftoken)
                .bind(expires_at)
                .execute(pool)
                .await
                .map(|_| ())
        });
        match result {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
