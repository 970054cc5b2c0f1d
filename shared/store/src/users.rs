use chrono::{DateTime, Utc};

use crate::dialect::on_pool;
use crate::error::check_len;
use crate::{Store, StoreError, limits};

/// fastapi-users' IntegerIDMixin: a 32-bit auto-increment id.
pub type UserId = i32;

/// A user as fastapi-users defines one, plus Guildhall's profile columns. The
/// password hash is deliberately not loaded: nothing in Guildhall reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub is_active: bool,
    pub is_superuser: bool,
    pub is_verified: bool,
    pub nickname: Option<String>,
    pub profile_img: Option<String>,
    pub sns_type: Option<String>,
    pub last_seen: Option<DateTime<Utc>>,
    /// The user's Discord client language (`ko`, `en-US`, …), from the last login.
    pub locale: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

// By hand rather than `#[derive(sqlx::FromRow)]`: the derive needs sqlx's
// macro crate, which builds every database driver a second time (see build.rs).
impl<'r, R> sqlx::FromRow<'r, R> for User
where
    R: sqlx::Row,
    &'r str: sqlx::ColumnIndex<R>,
    UserId: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    DateTime<Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(User {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            is_active: row.try_get("is_active")?,
            is_superuser: row.try_get("is_superuser")?,
            is_verified: row.try_get("is_verified")?,
            nickname: row.try_get("nickname")?,
            profile_img: row.try_get("profile_img")?,
            sns_type: row.try_get("sns_type")?,
            last_seen: row.try_get("last_seen")?,
            locale: row.try_get("locale")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

macro_rules! user_columns {
    () => {
        "id, email, is_active, is_superuser, is_verified, nickname, profile_img, sns_type, last_seen, locale, created_at, updated_at"
    };
}
pub(crate) use user_columns;

/// What a login learns about the person, written on every login.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub nickname: Option<String>,
    pub profile_img: Option<String>,
    pub sns_type: Option<String>,
    pub last_seen: Option<DateTime<Utc>>,
    /// Discord's `locale` for the user.
    pub locale: Option<String>,
}

impl Store {
    pub async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        const SQL: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1");
        let user = on_pool!(self, |pool, q| {
            sqlx::query_as(q(SQL)).bind(id).fetch_optional(pool).await?
        });
        Ok(user)
    }

    /// Case-insensitive, as fastapi-users' `get_by_email`.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let user = match &self.db {
            // `email_folded` is LOWER(email) as bytes, with the unique index
            // (migration 0002: the case-insensitive collations also ignore
            // accents and trailing spaces).
            crate::database::Db::MySql(pool) => {
                const SQL: &str = concat!(
                    "SELECT ",
                    user_columns!(),
                    // Lower-cased under the column's collation, as the stored copy is.
                    " FROM users WHERE email_folded = CAST(LOWER(CONVERT(? USING utf8mb4) COLLATE utf8mb4_unicode_ci) AS BINARY)"
                );
                sqlx::query_as(SQL).bind(email).fetch_optional(pool).await?
            }
            crate::database::Db::Postgres(pool) => {
                const SQL: &str = concat!(
                    "SELECT ",
                    user_columns!(),
                    " FROM users WHERE lower(email) = lower($1)"
                );
                sqlx::query_as(SQL).bind(email).fetch_optional(pool).await?
            }
            crate::database::Db::Sqlite(pool) => {
                const SQL: &str = concat!(
                    "SELECT ",
                    user_columns!(),
                    " FROM users WHERE lower(email) = lower($1)"
                );
                sqlx::query_as(SQL).bind(email).fetch_optional(pool).await?
            }
        };
        Ok(user)
    }

    /// Writes the profile columns (all of them: a `None` clears the column) and
    /// bumps `updated_at`. Returns false when the user does not exist.
    pub async fn update_profile(&self, id: UserId, profile: &Profile) -> Result<bool, StoreError> {
        if let Some(n) = &profile.nickname {
            check_len("nickname", n, limits::NICKNAME)?;
        }
        if let Some(p) = &profile.profile_img {
            check_len("profile_img", p, limits::PROFILE_IMG)?;
        }
        if let Some(s) = &profile.sns_type {
            check_len("sns_type", s, limits::SNS_TYPE)?;
        }
        if let Some(l) = &profile.locale {
            check_len("locale", l, limits::LOCALE)?;
        }
        const SQL: &str = "UPDATE users SET nickname = $1, profile_img = $2, sns_type = $3, last_seen = $4, locale = $5, updated_at = $6 WHERE id = $7";
        let now = Utc::now();
        let affected = on_pool!(self, |pool, q| {
            sqlx::query(q(SQL))
                .bind(&profile.nickname)
                .bind(&profile.profile_img)
                .bind(&profile.sns_type)
                .bind(profile.last_seen)
                .bind(&profile.locale)
                .bind(now)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(affected > 0)
    }

    /// Sets `is_active`; fastapi-users' way of banning someone without losing
    /// their rows.
    pub async fn set_active(&self, id: UserId, active: bool) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE users SET is_active = $1, updated_at = $2 WHERE id = $3";
        let now = Utc::now();
        let affected = on_pool!(self, |pool, q| {
            sqlx::query(q(SQL))
                .bind(active)
                .bind(now)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(affected > 0)
    }

    pub async fn count_users(&self) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM users";
        let n: i64 = on_pool!(self, |pool, _q| {
            sqlx::query_scalar(SQL).fetch_one(pool).await?
        });
        Ok(n)
    }
}
