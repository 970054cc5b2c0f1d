//! Guildhall's schema as the migrations adoption stands for leave it — 0001
//! on SQLite and PostgreSQL, 0001 and 0002 on MySQL — written out column by
//! column in each backend's own words. Adoption brings a fastapi-users
//! database to exactly this, then records those migrations as applied.
//!
//! These are copies of what the migration files say; applied migrations
//! never change (sqlx refuses a changed checksum), so the copies cannot
//! drift. A test adopts a freshly migrated database with its bookkeeping
//! removed and checks that nothing but the bookkeeping is planned.

use crate::Backend;
use crate::adopt::schema::ColumnType;

pub(crate) const USERS: &str = "users";
pub(crate) const OAUTH_ACCOUNTS: &str = "oauth_accounts";

#[derive(Debug, Clone)]
pub(crate) struct TargetColumn {
    pub name: &'static str,
    pub ty: ColumnType,
    /// The type as the migration writes it, for `ALTER … TYPE`.
    pub sql_type: &'static str,
    pub nullable: bool,
    /// The default as the catalog reports it, compared case-insensitively.
    pub default: Option<&'static str>,
    pub auto_increment: bool,
    pub generated: bool,
    /// MySQL: text columns' collation (their character set is utf8mb4).
    pub collation: Option<&'static str>,
    /// The whole column definition as the migration writes it.
    pub definition: &'static str,
}

#[derive(Debug, Clone)]
pub(crate) struct TargetIndex {
    pub name: &'static str,
    pub unique: bool,
    /// Normalised as `inspect` reads them (see `schema::Index::parts`).
    pub parts: &'static [&'static str],
    /// The indexed list as the migration writes it: `(lower(email))`.
    pub columns_sql: &'static str,
}

#[derive(Debug, Clone)]
pub(crate) struct TargetForeignKey {
    /// MySQL names its constraint; PostgreSQL's is the default name.
    pub name: Option<&'static str>,
    pub column: &'static str,
    pub ref_table: &'static str,
    pub ref_column: &'static str,
    /// `FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE`.
    pub definition: &'static str,
}

#[derive(Debug, Clone)]
pub(crate) struct TargetTable {
    pub name: &'static str,
    pub columns: Vec<TargetColumn>,
    pub indexes: Vec<TargetIndex>,
    pub foreign_key: Option<TargetForeignKey>,
    /// MySQL: the table's default collation, when the migration sets one.
    pub collation: Option<&'static str>,
    /// fastapi-users' own columns: a table without one of them is not
    /// fastapi-users', and adoption will not touch it. Empty for the tables
    /// only Guildhall has.
    pub required: &'static [&'static str],
    /// Single-column indexes fastapi-users creates (`index=True` in its
    /// models) that Guildhall's indexes replace.
    pub superseded: &'static [&'static str],
    /// fastapi-users' default name for this table (`user`, `oauth_account`).
    pub default_name: Option<&'static str>,
    /// The migration's statements creating this table and its indexes, for
    /// tables adoption creates whole.
    pub create: &'static [&'static str],
}

impl TargetTable {
    pub(crate) fn column(&self, name: &str) -> Option<&TargetColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// A table fastapi-users also has (users, oauth accounts).
    pub(crate) fn is_shared(&self) -> bool {
        !self.required.is_empty()
    }
}

/// The whole target of one backend.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub tables: Vec<TargetTable>,
    /// The migrations adoption records as applied.
    pub versions: &'static [i64],
}

impl Target {
    pub(crate) fn of(backend: Backend) -> Target {
        match backend {
            Backend::Sqlite => sqlite(),
            Backend::Postgres => postgres(),
            Backend::MySql => mysql(),
        }
    }
}

const USERS_REQUIRED: &[&str] = &[
    "id",
    "email",
    "hashed_password",
    "is_active",
    "is_superuser",
    "is_verified",
];
const OAUTH_REQUIRED: &[&str] = &[
    "id",
    "oauth_name",
    "access_token",
    "expires_at",
    "refresh_token",
    "account_id",
    "account_email",
    "user_id",
];

#[allow(clippy::too_many_arguments)] // a table row, read best laid out flat
fn col(
    name: &'static str,
    ty: ColumnType,
    sql_type: &'static str,
    nullable: bool,
    default: Option<&'static str>,
    collation: Option<&'static str>,
    definition: &'static str,
) -> TargetColumn {
    TargetColumn {
        name,
        ty,
        sql_type,
        nullable,
        default,
        auto_increment: false,
        generated: false,
        collation,
        definition,
    }
}

fn id(definition: &'static str) -> TargetColumn {
    TargetColumn {
        auto_increment: true,
        ..col(
            "id",
            ColumnType::Int,
            "INTEGER",
            false,
            None,
            None,
            definition,
        )
    }
}

#[rustfmt::skip] // one column per line, as in the migrations
fn sqlite() -> Target {
    use ColumnType::*;
    const NOW: Option<&str> = Some("strftime('%Y-%m-%dT%H:%M:%fZ', 'now')");
    let users = TargetTable {
        name: USERS,
        columns: vec![
            TargetColumn {
                // The rowid alias reads as nullable in SQLite's catalog.
                nullable: true,
                ..id("id INTEGER PRIMARY KEY AUTOINCREMENT")
            },
            col("email", Varchar(320), "VARCHAR(320)", false, None, None, "email VARCHAR(320) NOT NULL"),
            col("hashed_password", Varchar(1024), "VARCHAR(1024)", false, None, None, "hashed_password VARCHAR(1024) NOT NULL"),
            col("is_active", Bool, "BOOLEAN", false, None, None, "is_active BOOLEAN NOT NULL"),
            col("is_superuser", Bool, "BOOLEAN", false, None, None, "is_superuser BOOLEAN NOT NULL"),
            col("is_verified", Bool, "BOOLEAN", false, None, None, "is_verified BOOLEAN NOT NULL"),
            col("nickname", Varchar(100), "VARCHAR(100)", true, None, None, "nickname VARCHAR(100)"),
            col("profile_img", Varchar(1024), "VARCHAR(1024)", true, None, None, "profile_img VARCHAR(1024)"),
            col("sns_type", Varchar(32), "VARCHAR(32)", true, None, None, "sns_type VARCHAR(32)"),
            col("last_seen", Text, "TEXT", true, None, None, "last_seen TEXT"),
            col("created_at", Text, "TEXT", false, NOW, None, "created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"),
            col("updated_at", Text, "TEXT", false, NOW, None, "updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"),
        ],
        indexes: vec![TargetIndex {
            name: "ux_users_email",
            unique: true,
            parts: &["lower(email)"],
            columns_sql: "(lower(email))",
        }],
        foreign_key: None,
        collation: None,
        required: USERS_REQUIRED,
        superseded: &["email"],
        default_name: Some("user"),
        create: &[],
    };
    let oauth_accounts = TargetTable {
        name: OAUTH_ACCOUNTS,
        columns: vec![
            TargetColumn {
                nullable: true,
                ..id("id INTEGER PRIMARY KEY AUTOINCREMENT")
            },
            col("oauth_name", Varchar(100), "VARCHAR(100)", false, None, None, "oauth_name VARCHAR(100) NOT NULL"),
            col("access_token", Varchar(1024), "VARCHAR(1024)", false, None, None, "access_token VARCHAR(1024) NOT NULL"),
            col("expires_at", BigInt, "BIGINT", true, None, None, "expires_at BIGINT"),
            col("refresh_token", Varchar(1024), "VARCHAR(1024)", true, None, None, "refresh_token VARCHAR(1024)"),
            col("account_id", Varchar(320), "VARCHAR(320)", false, None, None, "account_id VARCHAR(320) NOT NULL"),
            col("account_email", Varchar(320), "VARCHAR(320)", true, None, None, "account_email VARCHAR(320)"),
            col("user_id", Int, "INTEGER", false, None, None, "user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE"),
        ],
        indexes: oauth_indexes(),
        foreign_key: Some(TargetForeignKey {
            name: None,
            column: "user_id",
            ref_table: USERS,
            ref_column: "id",
            // Inline on the column, as the migration has it.
            definition: "",
        }),
        collation: None,
        required: OAUTH_REQUIRED,
        superseded: &["oauth_name", "account_id"],
        default_name: Some("oauth_account"),
        create: &[
            "CREATE TABLE oauth_accounts (\n    id INTEGER PRIMARY KEY AUTOINCREMENT,\n    oauth_name VARCHAR(100) NOT NULL,\n    access_token VARCHAR(1024) NOT NULL,\n    expires_at BIGINT,\n    refresh_token VARCHAR(1024),\n    account_id VARCHAR(320) NOT NULL,\n    account_email VARCHAR(320),\n    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE\n)",
            "CREATE UNIQUE INDEX ux_oauth_accounts_name_account ON oauth_accounts (oauth_name, account_id)",
            "CREATE INDEX ix_oauth_accounts_user ON oauth_accounts (user_id)",
        ],
    };
    Target {
        tables: vec![
            users,
            oauth_accounts,
            TargetTable {
                name: "bot_guilds",
                columns: vec![
                    col("guild_id", BigInt, "BIGINT", false, None, None, "guild_id BIGINT PRIMARY KEY NOT NULL"),
                    col("shard_id", Int, "INTEGER", false, None, None, "shard_id INTEGER NOT NULL"),
                    col("updated_at", Text, "TEXT", false, None, None, "updated_at TEXT NOT NULL"),
                ],
                indexes: vec![bot_guilds_index()],
                create: &[
                    "CREATE TABLE bot_guilds (\n    guild_id BIGINT PRIMARY KEY NOT NULL,\n    shard_id INTEGER NOT NULL,\n    updated_at TEXT NOT NULL\n)",
                    "CREATE INDEX ix_bot_guilds_shard ON bot_guilds (shard_id)",
                ],
                ..own_table("bot_guilds")
            },
            TargetTable {
                name: "used_oauth_states",
                columns: vec![
                    col("csrftoken", Varchar(64), "VARCHAR(64)", false, None, None, "csrftoken VARCHAR(64) PRIMARY KEY NOT NULL"),
                    col("expires_at", BigInt, "BIGINT", false, None, None, "expires_at BIGINT NOT NULL"),
                ],
                indexes: vec![states_index()],
                create: &[
                    "CREATE TABLE used_oauth_states (\n    csrftoken VARCHAR(64) PRIMARY KEY NOT NULL,\n    expires_at BIGINT NOT NULL\n)",
                    "CREATE INDEX ix_used_oauth_states_expires ON used_oauth_states (expires_at)",
                ],
                ..own_table("used_oauth_states")
            },
        ],
        versions: &[1],
    }
}

#[rustfmt::skip] // one column per line, as in the migrations
fn postgres() -> Target {
    use ColumnType::*;
    const NOW: Option<&str> = Some("now()");
    let users = TargetTable {
        name: USERS,
        columns: vec![
            id("id SERIAL PRIMARY KEY"),
            col("email", Varchar(320), "VARCHAR(320)", false, None, None, "email VARCHAR(320) NOT NULL"),
            col("hashed_password", Varchar(1024), "VARCHAR(1024)", false, None, None, "hashed_password VARCHAR(1024) NOT NULL"),
            col("is_active", Bool, "BOOLEAN", false, None, None, "is_active BOOLEAN NOT NULL"),
            col("is_superuser", Bool, "BOOLEAN", false, None, None, "is_superuser BOOLEAN NOT NULL"),
            col("is_verified", Bool, "BOOLEAN", false, None, None, "is_verified BOOLEAN NOT NULL"),
            col("nickname", Varchar(100), "VARCHAR(100)", true, None, None, "nickname VARCHAR(100)"),
            col("profile_img", Varchar(1024), "VARCHAR(1024)", true, None, None, "profile_img VARCHAR(1024)"),
            col("sns_type", Varchar(32), "VARCHAR(32)", true, None, None, "sns_type VARCHAR(32)"),
            col("last_seen", TimestampTz, "TIMESTAMPTZ", true, None, None, "last_seen TIMESTAMPTZ"),
            col("created_at", TimestampTz, "TIMESTAMPTZ", false, NOW, None, "created_at TIMESTAMPTZ NOT NULL DEFAULT now()"),
            col("updated_at", TimestampTz, "TIMESTAMPTZ", false, NOW, None, "updated_at TIMESTAMPTZ NOT NULL DEFAULT now()"),
        ],
        indexes: vec![TargetIndex {
            name: "ux_users_email",
            unique: true,
            parts: &["lower((email)::text)"],
            columns_sql: "(lower(email))",
        }],
        foreign_key: None,
        collation: None,
        required: USERS_REQUIRED,
        superseded: &["email"],
        default_name: Some("user"),
        create: &[],
    };
    let oauth_accounts = TargetTable {
        name: OAUTH_ACCOUNTS,
        columns: vec![
            id("id SERIAL PRIMARY KEY"),
            col("oauth_name", Varchar(100), "VARCHAR(100)", false, None, None, "oauth_name VARCHAR(100) NOT NULL"),
            col("access_token", Varchar(1024), "VARCHAR(1024)", false, None, None, "access_token VARCHAR(1024) NOT NULL"),
            col("expires_at", BigInt, "BIGINT", true, None, None, "expires_at BIGINT"),
            col("refresh_token", Varchar(1024), "VARCHAR(1024)", true, None, None, "refresh_token VARCHAR(1024)"),
            col("account_id", Varchar(320), "VARCHAR(320)", false, None, None, "account_id VARCHAR(320) NOT NULL"),
            col("account_email", Varchar(320), "VARCHAR(320)", true, None, None, "account_email VARCHAR(320)"),
            col("user_id", Int, "INTEGER", false, None, None, "user_id INTEGER NOT NULL"),
        ],
        indexes: oauth_indexes(),
        foreign_key: Some(TargetForeignKey {
            // PostgreSQL's own name for the migration's inline REFERENCES.
            name: Some("oauth_accounts_user_id_fkey"),
            column: "user_id",
            ref_table: USERS,
            ref_column: "id",
            definition: "FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE",
        }),
        collation: None,
        required: OAUTH_REQUIRED,
        superseded: &["oauth_name", "account_id"],
        default_name: Some("oauth_account"),
        create: &[
            "CREATE TABLE oauth_accounts (\n    id SERIAL PRIMARY KEY,\n    oauth_name VARCHAR(100) NOT NULL,\n    access_token VARCHAR(1024) NOT NULL,\n    expires_at BIGINT,\n    refresh_token VARCHAR(1024),\n    account_id VARCHAR(320) NOT NULL,\n    account_email VARCHAR(320),\n    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE\n)",
            "CREATE UNIQUE INDEX ux_oauth_accounts_name_account ON oauth_accounts (oauth_name, account_id)",
            "CREATE INDEX ix_oauth_accounts_user ON oauth_accounts (user_id)",
        ],
    };
    Target {
        tables: vec![
            users,
            oauth_accounts,
            TargetTable {
                name: "bot_guilds",
                columns: vec![
                    col("guild_id", BigInt, "BIGINT", false, None, None, "guild_id BIGINT PRIMARY KEY"),
                    col("shard_id", Int, "INTEGER", false, None, None, "shard_id INTEGER NOT NULL"),
                    col("updated_at", TimestampTz, "TIMESTAMPTZ", false, None, None, "updated_at TIMESTAMPTZ NOT NULL"),
                ],
                indexes: vec![bot_guilds_index()],
                create: &[
                    "CREATE TABLE bot_guilds (\n    guild_id BIGINT PRIMARY KEY,\n    shard_id INTEGER NOT NULL,\n    updated_at TIMESTAMPTZ NOT NULL\n)",
                    "CREATE INDEX ix_bot_guilds_shard ON bot_guilds (shard_id)",
                ],
                ..own_table("bot_guilds")
            },
            TargetTable {
                name: "used_oauth_states",
                columns: vec![
                    col("csrftoken", Varchar(64), "VARCHAR(64)", false, None, None, "csrftoken VARCHAR(64) PRIMARY KEY"),
                    col("expires_at", BigInt, "BIGINT", false, None, None, "expires_at BIGINT NOT NULL"),
                ],
                indexes: vec![states_index()],
                create: &[
                    "CREATE TABLE used_oauth_states (\n    csrftoken VARCHAR(64) PRIMARY KEY,\n    expires_at BIGINT NOT NULL\n)",
                    "CREATE INDEX ix_used_oauth_states_expires ON used_oauth_states (expires_at)",
                ],
                ..own_table("used_oauth_states")
            },
        ],
        versions: &[1],
    }
}

#[rustfmt::skip] // one column per line, as in the migrations
fn mysql() -> Target {
    use ColumnType::*;
    const NOW: Option<&str> = Some("current_timestamp(6)");
    const CI: Option<&str> = Some("utf8mb4_unicode_ci");
    let users = TargetTable {
        name: USERS,
        columns: vec![
            id("id INTEGER NOT NULL AUTO_INCREMENT"),
            col("email", Varchar(320), "VARCHAR(320)", false, None, CI, "email VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL"),
            col("hashed_password", Varchar(1024), "VARCHAR(1024)", false, None, CI, "hashed_password VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL"),
            col("is_active", Bool, "BOOLEAN", false, None, None, "is_active BOOLEAN NOT NULL"),
            col("is_superuser", Bool, "BOOLEAN", false, None, None, "is_superuser BOOLEAN NOT NULL"),
            col("is_verified", Bool, "BOOLEAN", false, None, None, "is_verified BOOLEAN NOT NULL"),
            col("nickname", Varchar(100), "VARCHAR(100)", true, None, CI, "nickname VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"),
            col("profile_img", Varchar(1024), "VARCHAR(1024)", true, None, CI, "profile_img VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"),
            col("sns_type", Varchar(32), "VARCHAR(32)", true, None, CI, "sns_type VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"),
            col("last_seen", DateTime(6), "DATETIME(6)", true, None, None, "last_seen DATETIME(6)"),
            col("created_at", DateTime(6), "DATETIME(6)", false, NOW, None, "created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"),
            col("updated_at", DateTime(6), "DATETIME(6)", false, NOW, None, "updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"),
            TargetColumn {
                generated: true,
                // Migration 0002: the lower-cased copy compared byte for byte.
                ..col("email_folded", VarBinary(1280), "VARBINARY(1280)", true, None, None, "email_folded VARBINARY(1280) AS (CAST(LOWER(email) AS BINARY)) STORED")
            },
        ],
        indexes: vec![TargetIndex {
            name: "ux_users_email_folded",
            unique: true,
            parts: &["email_folded"],
            columns_sql: "(email_folded)",
        }],
        foreign_key: None,
        collation: CI,
        required: USERS_REQUIRED,
        superseded: &["email"],
        default_name: Some("user"),
        create: &[],
    };
    let oauth_accounts = TargetTable {
        name: OAUTH_ACCOUNTS,
        columns: vec![
            id("id INTEGER NOT NULL AUTO_INCREMENT"),
            col("oauth_name", Varchar(100), "VARCHAR(100)", false, None, CI, "oauth_name VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL"),
            col("access_token", Varchar(1024), "VARCHAR(1024)", false, None, CI, "access_token VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL"),
            col("expires_at", BigInt, "BIGINT", true, None, None, "expires_at BIGINT"),
            col("refresh_token", Varchar(1024), "VARCHAR(1024)", true, None, CI, "refresh_token VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"),
            col("account_id", Varchar(320), "VARCHAR(320)", false, None, CI, "account_id VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL"),
            col("account_email", Varchar(320), "VARCHAR(320)", true, None, CI, "account_email VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"),
            col("user_id", Int, "INTEGER", false, None, None, "user_id INTEGER NOT NULL"),
        ],
        indexes: oauth_indexes(),
        foreign_key: Some(TargetForeignKey {
            name: Some("fk_oauth_accounts_user"),
            column: "user_id",
            ref_table: USERS,
            ref_column: "id",
            definition: "CONSTRAINT fk_oauth_accounts_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE",
        }),
        collation: CI,
        required: OAUTH_REQUIRED,
        superseded: &["oauth_name", "account_id"],
        default_name: Some("oauth_account"),
        create: &[
            "CREATE TABLE oauth_accounts (\n    id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY,\n    oauth_name VARCHAR(100) NOT NULL,\n    access_token VARCHAR(1024) NOT NULL,\n    expires_at BIGINT,\n    refresh_token VARCHAR(1024),\n    account_id VARCHAR(320) NOT NULL,\n    account_email VARCHAR(320),\n    user_id INTEGER NOT NULL,\n    UNIQUE KEY ux_oauth_accounts_name_account (oauth_name, account_id),\n    KEY ix_oauth_accounts_user (user_id),\n    CONSTRAINT fk_oauth_accounts_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE\n) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci",
        ],
    };
    Target {
        tables: vec![
            users,
            oauth_accounts,
            TargetTable {
                name: "bot_guilds",
                columns: vec![
                    col("guild_id", BigInt, "BIGINT", false, None, None, "guild_id BIGINT NOT NULL PRIMARY KEY"),
                    col("shard_id", Int, "INTEGER", false, None, None, "shard_id INTEGER NOT NULL"),
                    col("updated_at", DateTime(6), "DATETIME(6)", false, None, None, "updated_at DATETIME(6) NOT NULL"),
                ],
                indexes: vec![bot_guilds_index()],
                create: &[
                    "CREATE TABLE bot_guilds (\n    guild_id BIGINT NOT NULL PRIMARY KEY,\n    shard_id INTEGER NOT NULL,\n    updated_at DATETIME(6) NOT NULL,\n    KEY ix_bot_guilds_shard (shard_id)\n) ENGINE = InnoDB",
                ],
                ..own_table("bot_guilds")
            },
            TargetTable {
                name: "used_oauth_states",
                columns: vec![
                    col("csrftoken", Varchar(64), "VARCHAR(64)", false, None, Some("ascii_bin"), "csrftoken VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY"),
                    col("expires_at", BigInt, "BIGINT", false, None, None, "expires_at BIGINT NOT NULL"),
                ],
                indexes: vec![states_index()],
                create: &[
                    "CREATE TABLE used_oauth_states (\n    csrftoken VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,\n    expires_at BIGINT NOT NULL,\n    KEY ix_used_oauth_states_expires (expires_at)\n) ENGINE = InnoDB",
                ],
                ..own_table("used_oauth_states")
            },
        ],
        versions: &[1, 2],
    }
}

/// The fields every Guildhall-only table shares.
fn own_table(name: &'static str) -> TargetTable {
    TargetTable {
        name,
        columns: Vec::new(),
        indexes: Vec::new(),
        foreign_key: None,
        collation: None,
        required: &[],
        superseded: &[],
        default_name: None,
        create: &[],
    }
}

fn oauth_indexes() -> Vec<TargetIndex> {
    vec![
        TargetIndex {
            name: "ux_oauth_accounts_name_account",
            unique: true,
            parts: &["oauth_name", "account_id"],
            columns_sql: "(oauth_name, account_id)",
        },
        TargetIndex {
            name: "ix_oauth_accounts_user",
            unique: false,
            parts: &["user_id"],
            columns_sql: "(user_id)",
        },
    ]
}

fn bot_guilds_index() -> TargetIndex {
    TargetIndex {
        name: "ix_bot_guilds_shard",
        unique: false,
        parts: &["shard_id"],
        columns_sql: "(shard_id)",
    }
}

fn states_index() -> TargetIndex {
    TargetIndex {
        name: "ix_used_oauth_states_expires",
        unique: false,
        parts: &["expires_at"],
        columns_sql: "(expires_at)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::Embedded;

    #[test]
    fn records_migrations_that_exist_and_every_column_is_defined_once() {
        for backend in [Backend::Sqlite, Backend::Postgres, Backend::MySql] {
            let target = Target::of(backend);
            let embedded: Vec<i64> = Embedded::of(backend)
                .migrations()
                .iter()
                .map(|m| m.version)
                .collect();
            assert!(
                target.versions.iter().all(|v| embedded.contains(v)),
                "{backend:?}"
            );
            for table in &target.tables {
                for c in &table.columns {
                    assert!(c.definition.starts_with(c.name), "{}", c.definition);
                    assert_eq!(table.columns.iter().filter(|d| d.name == c.name).count(), 1);
                }
            }
        }
    }

    #[test]
    fn the_tables_adoption_creates_whole_are_the_migrations_own_statements() {
        for backend in [Backend::Sqlite, Backend::Postgres, Backend::MySql] {
            let first = Embedded::of(backend).migrations()[0].sql.to_string();
            // Users are always adopted; any other table may be missing.
            for table in Target::of(backend)
                .tables
                .iter()
                .filter(|t| t.name != USERS)
            {
                assert!(!table.create.is_empty(), "{backend:?} {}", table.name);
                for statement in table.create {
                    assert!(
                        first.contains(statement),
                        "{backend:?}: {statement} is not in 0001"
                    );
                }
            }
        }
    }
}
