//! The Guildhall store: users, their Discord OAuth accounts (tokens optionally
//! encrypted at rest), the guilds the bot is in and their channels, what the
//! bot reports about itself, failed welcome posts, each guild's preferences,
//! tags and audit log, consumed login states, the leases that keep token
//! refreshes to one replica, and ended sessions — on
//! SQLite, PostgreSQL or MySQL/MariaDB, chosen by `DATABASE_URL`.
//!
//! Users and OAuth accounts follow fastapi-users' schema and `oauth_callback`
//! semantics (see `docs/fastapi-users-compat.md`), so a database can be shared
//! with a fastapi-users deployment. This crate is the only place SQL lives.

pub mod adopt;
mod bot_guild_channels;
mod bot_guilds;
mod bot_status;
mod database;
mod dialect;
mod error;
mod guild_audit;
mod guild_preferences;
mod guild_tags;
mod guild_welcome_failures;
mod migrations;
mod oauth_accounts;
mod oauth_callback;
mod oauth_states;
mod password;
mod refresh_leases;
mod revoked_sessions;
mod start_lock;
mod token_cipher;
mod token_conversion;
mod users;

#[cfg(feature = "testing")]
pub mod testing;

pub use bot_guild_channels::GuildChannel;
pub use database::{Backend, ConnectOptions, Store};
pub use error::{PasswordError, StoreError, UrlError};
pub use guild_audit::{
    AUDIT_PAGE_MAX, AUDIT_RETENTION_SECONDS, AuditAction, AuditActor, AuditEntry,
    UnknownAuditAction,
};
pub use guild_preferences::{
    DEFAULT_WELCOME_MESSAGE, GuildLanguage, GuildPreferences, PreferencesUpdate, UnknownLanguage,
    WELCOME_MESSAGE_MAX,
};
pub use guild_tags::{GuildTag, TAG_CONTENT_MAX, TAG_NAME_MAX, TAGS_PER_GUILD_MAX, TagSaved};
pub use guild_welcome_failures::WelcomeFailure;
pub use oauth_accounts::{OAuthAccount, TokenUpdate};
pub use oauth_callback::{AssociateByEmail, CallbackOutcome, OAuthCallback};
pub use revoked_sessions::{SessionEnded, SessionRevocations, SessionTokenHash};
pub use token_cipher::{TokenCipherError, TokenKey, TokenKeyError};
pub use token_conversion::{ConversionProgress, TokenForm};
pub use users::{Profile, User, UserId};

/// Column limits from the schema, checked before writing so a long value is a
/// typed error instead of a silent truncation (MySQL outside strict mode, or
/// SQLite, which ignores VARCHAR lengths).
pub mod limits {
    pub const EMAIL: usize = 320;
    pub const TOKEN: usize = 1024;
    pub const ACCOUNT_ID: usize = 320;
    pub const OAUTH_NAME: usize = 100;
    pub const NICKNAME: usize = 100;
    pub const PROFILE_IMG: usize = 1024;
    pub const SNS_TYPE: usize = 32;
    pub const LOCALE: usize = 16;
    pub const CSRF_TOKEN: usize = 64;
}
