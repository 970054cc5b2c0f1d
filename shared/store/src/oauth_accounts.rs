use settings::Secret;

use crate::dialect::on_pool;
use crate::error::check_len;
use crate::token_cipher::{from_stored, to_stored};
use crate::{Store, StoreError, UserId, limits};

/// A linked OAuth account (fastapi-users' `oauth_account` row). Tokens are
/// [`Secret`]s so that printing an account never leaks them, and are
/// decrypted when they were stored encrypted (see `token_cipher`).
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthAccount {
    pub id: i32,
    pub user_id: UserId,
    pub oauth_name: String,
    pub access_token: Secret,
    pub expires_at: Option<i64>,
    pub refresh_token: Option<Secret>,
    pub account_id: String,
    pub account_email: Option<String>,
}

type AccountRow = (
    i32,
    i32,
    String,
    String,
    Option<i64>,
    Option<String>,
    String,
    Option<String>,
);

impl Store {
    fn account_from_row(&self, r: AccountRow) -> Result<OAuthAccount, StoreError> {
        let cipher = self.cipher.as_ref();
        Ok(OAuthAccount {
            id: r.0,
            user_id: r.1,
            oauth_name: r.2,
            access_token: from_stored(cipher, ACCESS_TOKEN, r.3)?,
            expires_at: r.4,
            refresh_token: r
                .5
                .map(|t| from_stored(cipher, REFRESH_TOKEN, t))
                .transpose()?,
            account_id: r.6,
            account_email: r.7,
        })
    }

    /// The pair as it is written: encrypted when the store has a key. The
    /// length limit applies to what is written.
    pub(crate) fn stored_tokens(
        &self,
        access_token: &Secret,
        refresh_token: Option<&Secret>,
    ) -> Result<(Secret, Option<Secret>), StoreError> {
        let cipher = self.cipher.as_ref();
        let access = to_stored(cipher, ACCESS_TOKEN, access_token)?;
        check_len(ACCESS_TOKEN, access.expose(), limits::TOKEN)?;
        let refresh = match refresh_token {
            Some(r) => {
                let r = to_stored(cipher, REFRESH_TOKEN, r)?;
                check_len(REFRESH_TOKEN, r.expose(), limits::TOKEN)?;
                Some(r)
            }
            None => None,
        };
        Ok((access, refresh))
    }
}

/// The token columns, also the associated data of their encrypted form.
pub(crate) const ACCESS_TOKEN: &str = "access_token";
pub(crate) const REFRESH_TOKEN: &str = "refresh_token";

/// New tokens from a refresh. Discord rotates refresh tokens, so both are
/// written together or not at all.
#[derive(Debug, Clone)]
pub struct TokenUpdate {
    pub access_token: Secret,
    pub expires_at: Option<i64>,
    pub refresh_token: Option<Secret>,
}

impl Store {
    /// The user's account with the given provider (`"discord"`), tokens
    /// included: of several linked accounts, the one signed in with last
    /// (rows a login never stamped — written by another application — come
    /// after, oldest first).
    pub async fn oauth_account_for_user(
        &self,
        user_id: UserId,
        oauth_name: &str,
    ) -> Result<Option<OAuthAccount>, StoreError> {
        const SQL: &str = "SELECT id, user_id, oauth_name, access_token, expires_at, refresh_token, account_id, account_email FROM oauth_accounts WHERE user_id = $1 AND oauth_name = $2 ORDER BY (last_login_at_ms IS NULL), last_login_at_ms DESC, id LIMIT 1";
        let row: Option<AccountRow> = on_pool!(self, |pool, q| {
            sqlx::query_as(q(SQL))
                .bind(user_id)
                .bind(oauth_name)
                .fetch_optional(pool)
                .await?
        });
        row.map(|r| self.account_from_row(r)).transpose()
    }

    pub async fn oauth_account_by_account_id(
        &self,
        oauth_name: &str,
        account_id: &str,
    ) -> Result<Option<OAuthAccount>, StoreError> {
        const SQL: &str = "SELECT id, user_id, oauth_name, access_token, expires_at, refresh_token, account_id, account_email FROM oauth_accounts WHERE oauth_name = $1 AND account_id = $2";
        let row: Option<AccountRow> = on_pool!(self, |pool, q| {
            sqlx::query_as(q(SQL))
                .bind(oauth_name)
                .bind(account_id)
                .fetch_optional(pool)
                .await?
        });
        row.map(|r| self.account_from_row(r)).transpose()
    }

    /// Stores a refreshed token pair on account row `account_row_id`. Returns
    /// false when the row is gone (the user was deleted meanwhile).
    pub async fn update_tokens(
        &self,
        account_row_id: i32,
        update: &TokenUpdate,
    ) -> Result<bool, StoreError> {
        let (access, refresh) =
            self.stored_tokens(&update.access_token, update.refresh_token.as_ref())?;
        const SQL: &str = "UPDATE oauth_accounts SET access_token = $1, expires_at = $2, refresh_token = $3 WHERE id = $4";
        let affected = on_pool!(self, |pool, q| {
            sqlx::query(q(SQL))
                .bind(access.expose())
                .bind(update.expires_at)
                .bind(refresh.as_ref().map(Secret::expose))
                .bind(account_row_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(affected > 0)
    }

    pub async fn count_oauth_accounts(&self) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM oauth_accounts";
        let n: i64 = on_pool!(self, |pool, _q| {
            sqlx::query_scalar(SQL).fetch_one(pool).await?
        });
        Ok(n)
    }
}
