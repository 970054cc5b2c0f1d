//! fastapi-users' `oauth_callback`, made safe under concurrency.
//!
//! Upstream reads, then inserts, and two simultaneous first logins can create
//! two users (fastapi-users #1388). Here the unique indexes on
//! `lower(users.email)` and `(oauth_name, account_id)` are the arbiters: a
//! writer that loses a race gets a unique violation, rolls back, and starts
//! again from the first read, where it now finds the winner's rows.

use chrono::{DateTime, Utc};
use settings::Secret;
use sqlx::query::Query;
use sqlx::{Database, Encode, Row, Type};

use crate::database::Db;
use crate::dialect::{mysql, on_pool};
use crate::error::check_len;
use crate::users::user_columns;
use crate::{Store, StoreError, User, UserId, limits, password};

/// What the provider told us about the person logging in.
#[derive(Debug, Clone, Copy)]
pub struct OAuthCallback<'a> {
    pub oauth_name: &'a str,
    pub access_token: &'a Secret,
    pub account_id: &'a str,
    pub account_email: &'a str,
    pub expires_at: Option<i64>,
    pub refresh_token: Option<&'a Secret>,
    pub associate_by_email: AssociateByEmail,
    pub is_verified_by_default: bool,
}

/// Whether a new provider account may be linked to an existing user whose
/// email it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssociateByEmail {
    /// Never: the login is refused as [`StoreError::UserAlreadyExists`]
    /// (fastapi-users' `associate_by_email=False`).
    Never,
    /// Only to a user whose `is_verified` is true. Another application
    /// sharing the table may let anyone register an address by password
    /// without proving it; linking to that user would hand their account to
    /// whoever signs in with a provider account showing the same address.
    IfVerified,
    /// To any user (fastapi-users' `associate_by_email=True`).
    Always,
}

impl AssociateByEmail {
    fn allows(self, user: &User) -> bool {
        match self {
            AssociateByEmail::Never => false,
            AssociateByEmail::IfVerified => user.is_verified,
            AssociateByEmail::Always => true,
        }
    }
}

/// Which of fastapi-users' three branches a callback took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// A new user was created with this account ("registered" event).
    Registered,
    /// The account was linked to the existing user with the same email.
    Linked,
    /// The account was known; its tokens were overwritten.
    LoggedIn,
}

impl CallbackOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackOutcome::Registered => "register",
            CallbackOutcome::Linked => "link",
            CallbackOutcome::LoggedIn => "login",
        }
    }
}

const MAX_ATTEMPTS: u32 = 8;

impl Store {
    /// Creates or links the user for an OAuth login, exactly as fastapi-users'
    /// `BaseUserManager.oauth_callback` does:
    /// 1. known (oauth_name, account_id) → overwrite its tokens and account email;
    /// 2. else a user with this email (case-insensitive) → link the account when
    ///    `associate_by_email` allows it for that user, otherwise
    ///    [`StoreError::UserAlreadyExists`] with nothing written;
    /// 3. else create an active, non-superuser user with the account.
    ///
    /// The user's own email is never changed, and an inactive user is returned
    /// like any other: refusing it is the caller's decision. The account used
    /// is stamped with the time (`last_login_at_ms`): the user's provider
    /// account is the one signed in with last.
    pub async fn oauth_callback(
        &self,
        cb: OAuthCallback<'_>,
    ) -> Result<(User, CallbackOutcome), StoreError> {
        check_len("oauth_name", cb.oauth_name, limits::OAUTH_NAME)?;
        check_len("account_id", cb.account_id, limits::ACCOUNT_ID)?;
        check_len("account_email", cb.account_email, limits::EMAIL)?;
        // From here on the tokens are in the form they are written in.
        let (access_token, refresh_token) =
            self.stored_tokens(cb.access_token, cb.refresh_token)?;
        let cb = OAuthCallback {
            access_token: &access_token,
            refresh_token: refresh_token.as_ref(),
            ..cb
        };

        // Hashed lazily, at most once, and outside any transaction: it is slow.
        let mut password_hash: Option<String> = None;
        for _ in 0..MAX_ATTEMPTS {
            match self.oauth_callback_attempt(&cb, &mut password_hash).await {
                Err(e) if e.is_retryable_conflict() => continue,
                other => return other,
            }
        }
        Err(StoreError::Contention(MAX_ATTEMPTS))
    }

    async fn oauth_callback_attempt(
        &self,
        cb: &OAuthCallback<'_>,
        password_hash: &mut Option<String>,
    ) -> Result<(User, CallbackOutcome), StoreError> {
        if let Some(user) = self.overwrite_known_account(cb).await? {
            return Ok((user, CallbackOutcome::LoggedIn));
        }

        if let Some(user) = self.user_by_email(cb.account_email).await? {
            // The account may have been created together with this user by a
            // concurrent first login that committed after our first read.
            if let Some(user) = self.overwrite_known_account(cb).await? {
                return Ok((user, CallbackOutcome::LoggedIn));
            }
            if !cb.associate_by_email.allows(&user) {
                return Err(StoreError::UserAlreadyExists);
            }
            self.insert_account(user.id, cb).await?;
            return Ok((user, CallbackOutcome::Linked));
        }

        let hash = match password_hash {
            Some(h) => h.clone(),
            None => password_hash
                .insert(password::hash_of_random_secret().await?)
                .clone(),
        };
        let user_id = self.insert_user_with_account(cb, &hash).await?;
        let user = self
            .user_by_id(user_id)
            .await?
            // Deleted between our commit and this read: let the caller retry.
            .ok_or(StoreError::Contention(1))?;
        Ok((user, CallbackOutcome::Registered))
    }

    /// Branch 1: overwrite the tokens of a known account and return its user.
    async fn overwrite_known_account(
        &self,
        cb: &OAuthCallback<'_>,
    ) -> Result<Option<User>, StoreError> {
        const UPDATE: &str = "UPDATE oauth_accounts SET access_token = $1, expires_at = $2, refresh_token = $3, account_email = $4, last_login_at_ms = $5 WHERE oauth_name = $6 AND account_id = $7";
        const USER: &str = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = (SELECT user_id FROM oauth_accounts WHERE oauth_name = $1 AND account_id = $2)"
        );
        let user: Option<User> = on_pool!(self, |pool, q| {
            sqlx::query(q(UPDATE))
                .bind(cb.access_token.expose())
                .bind(cb.expires_at)
                .bind(cb.refresh_token.map(Secret::expose))
                .bind(cb.account_email)
                .bind(now_ms())
                .bind(cb.oauth_name)
                .bind(cb.account_id)
                .execute(pool)
                .await?;
            sqlx::query_as(q(USER))
                .bind(cb.oauth_name)
                .bind(cb.account_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(user)
    }

    /// Branch 2: link the account to an existing user.
    async fn insert_account(
        &self,
        user_id: UserId,
        cb: &OAuthCallback<'_>,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool, q| {
            bind_account(sqlx::query(q(INSERT_ACCOUNT)), cb, user_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Branch 3: the user and the account in one transaction, so nobody ever
    /// sees a user without its account.
    async fn insert_user_with_account(
        &self,
        cb: &OAuthCallback<'_>,
        hashed_password: &str,
    ) -> Result<UserId, StoreError> {
        let now = Utc::now();
        match &self.db {
            Db::Sqlite(pool) => {
                // IMMEDIATE takes the write lock up front: a deferred transaction
                // that must upgrade later fails with SQLITE_BUSY instead of waiting.
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let user = bind_user(sqlx::query(INSERT_USER_RETURNING), cb, hashed_password, now);
                let id: UserId = user.fetch_one(&mut *tx).await?.try_get(0)?;
                bind_account(sqlx::query(INSERT_ACCOUNT), cb, id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(id)
            }
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let user = bind_user(sqlx::query(INSERT_USER_RETURNING), cb, hashed_password, now);
                let id: UserId = user.fetch_one(&mut *tx).await?.try_get(0)?;
                bind_account(sqlx::query(INSERT_ACCOUNT), cb, id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(id)
            }
            Db::MySql(pool) => {
                let mut tx = pool.begin().await?;
                // MySQL 8 has no RETURNING: the id comes back with the result.
                let user = bind_user(sqlx::query(mysql(INSERT_USER)), cb, hashed_password, now);
                let id = mysql_user_id(user.execute(&mut *tx).await?.last_insert_id())?;
                bind_account(sqlx::query(mysql(INSERT_ACCOUNT)), cb, id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(id)
            }
        }
    }
}

macro_rules! insert_user {
    () => {
        "INSERT INTO users (email, hashed_password, is_active, is_superuser, is_verified, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    };
}
const INSERT_USER: &str = insert_user!();
const INSERT_USER_RETURNING: &str = concat!(insert_user!(), " RETURNING id");
const INSERT_ACCOUNT: &str = "INSERT INTO oauth_accounts (oauth_name, access_token, expires_at, refresh_token, account_id, account_email, user_id, last_login_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// A login's `last_login_at_ms`.
fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

type Insert<'q, DB> = Query<'q, DB, <DB as Database>::Arguments<'q>>;

/// [`INSERT_USER`]'s values: an active, non-superuser user whose email is the
/// account's, as fastapi-users creates it.
fn bind_user<'q, DB>(
    query: Insert<'q, DB>,
    cb: &OAuthCallback<'q>,
    hashed_password: &'q str,
    now: DateTime<Utc>,
) -> Insert<'q, DB>
where
    DB: Database,
    &'q str: Encode<'q, DB> + Type<DB>,
    bool: Encode<'q, DB> + Type<DB>,
    DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    query
        .bind(cb.account_email)
        .bind(hashed_password)
        .bind(true)
        .bind(false)
        .bind(cb.is_verified_by_default)
        .bind(now)
        .bind(now)
}

/// [`INSERT_ACCOUNT`]'s values: the account as the provider described it,
/// owned by `user_id`, signed in with now.
fn bind_account<'q, DB>(
    query: Insert<'q, DB>,
    cb: &OAuthCallback<'q>,
    user_id: UserId,
) -> Insert<'q, DB>
where
    DB: Database,
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    UserId: Encode<'q, DB> + Type<DB>,
{
    query
        .bind(cb.oauth_name)
        .bind(cb.access_token.expose())
        .bind(cb.expires_at)
        .bind(cb.refresh_token.map(Secret::expose))
        .bind(cb.account_id)
        .bind(cb.account_email)
        .bind(user_id)
        .bind(now_ms())
}

/// MySQL reports the new id as a u64; the column is a 32-bit INT.
fn mysql_user_id(id: u64) -> Result<UserId, StoreError> {
    UserId::try_from(id).map_err(|e| StoreError::Database(sqlx::Error::Decode(e.into())))
}
