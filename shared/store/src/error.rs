//! What the store can refuse or fail with; each failure keeps its cause as
//! its `source`.

/// Everything the store can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DATABASE_URL is invalid: {0}")]
    BadUrl(#[source] UrlError),
    #[error("database unreachable after {attempts} attempts: {source}")]
    Unreachable {
        attempts: u32,
        /// The last attempt's failure.
        #[source]
        source: sqlx::Error,
    },
    #[error("migrations failed: {0}")]
    Migration(#[source] sqlx::migrate::MigrateError),
    #[error(
        "the database holds user tables Guildhall did not create (a fastapi-users deployment?) \
         and no record of Guildhall's migrations; nothing was changed. Run `portal adopt --dry-run` \
         to see how it would be taken over, then `portal adopt` \
         (docs/migrating-from-fastapi-users.md)"
    )]
    NotAdopted,
    #[error("a user with this email already exists")]
    UserAlreadyExists,
    #[error("{field} is too long: {len} characters, at most {max}")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("password hashing failed: {0}")]
    Password(#[from] PasswordError),
    #[error("concurrent writers kept conflicting; gave up after {0} attempts")]
    Contention(u32),
    /// The guild's preferences were saved by someone else since the form
    /// being saved was shown.
    #[error("the guild's settings changed; they are now at version {current_version}")]
    SettingsChanged { current_version: i64 },
    #[error("a guild may have at most {limit} tags")]
    TagLimitReached { limit: usize },
    #[error(transparent)]
    TokenCipher(#[from] crate::token_cipher::TokenCipherError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Why `DATABASE_URL` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    #[error("unsupported scheme {0:?}; use sqlite:, postgres:// or mysql://")]
    UnsupportedScheme(String),
    /// The scheme is known, but the rest does not parse for that backend.
    #[error("{0}")]
    Unparsable(#[source] sqlx::Error),
}

/// Why hashing the random secret of a new OAuth user failed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("{0}")]
    Argon2(#[source] argon2::Error),
    /// Salt or PHC-string encoding.
    #[error("{0}")]
    Encoding(#[source] argon2::password_hash::Error),
    /// The blocking task running the hash panicked.
    #[error("{0}")]
    Task(#[source] tokio::task::JoinError),
    /// The hashers' semaphore was closed (it never is).
    #[error("{0}")]
    Closed(#[source] tokio::sync::AcquireError),
}

impl StoreError {
    /// A conflict another writer caused: the operation may be retried from its
    /// first read and will then see that writer's rows.
    pub(crate) fn is_retryable_conflict(&self) -> bool {
        let StoreError::Database(sqlx::Error::Database(db)) = self else {
            return false;
        };
        if db.is_unique_violation() {
            return true;
        }
        matches!(
            db.code().as_deref(),
            // PostgreSQL serialization failure / deadlock
            Some("40001") | Some("40P01")
            // MySQL/MariaDB deadlock (SQLSTATE 40001 too, but the code is what sqlx reports)
            | Some("1213")
            // SQLite busy / locked
            | Some("5") | Some("6") | Some("517")
        )
    }
}

pub(crate) fn check_len(field: &'static str, value: &str, max: usize) -> Result<(), StoreError> {
    let len = value.chars().count();
    if len > max {
        return Err(StoreError::TooLong { field, len, max });
    }
    Ok(())
}
