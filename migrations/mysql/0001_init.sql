-- utf8mb4_unicode_ci exists on MySQL 8 and MariaDB alike; being case-insensitive
-- it makes UNIQUE(email) match fastapi-users' lower(email) comparison.
CREATE TABLE users (
    id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
    hashed_password VARCHAR(1024) NOT NULL,
    is_active BOOLEAN NOT NULL,
    is_superuser BOOLEAN NOT NULL,
    is_verified BOOLEAN NOT NULL,
    nickname VARCHAR(100),
    profile_img VARCHAR(1024),
    sns_type VARCHAR(32),
    last_seen DATETIME(6),
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    UNIQUE KEY ux_users_email (email)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE oauth_accounts (
    id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY,
    oauth_name VARCHAR(100) NOT NULL,
    access_token VARCHAR(1024) NOT NULL,
    expires_at BIGINT,
    refresh_token VARCHAR(1024),
    account_id VARCHAR(320) NOT NULL,
    account_email VARCHAR(320),
    user_id INTEGER NOT NULL,
    UNIQUE KEY ux_oauth_accounts_name_account (oauth_name, account_id),
    KEY ix_oauth_accounts_user (user_id),
    CONSTRAINT fk_oauth_accounts_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE bot_guilds (
    guild_id BIGINT NOT NULL PRIMARY KEY,
    shard_id INTEGER NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY ix_bot_guilds_shard (shard_id)
) ENGINE = InnoDB;

CREATE TABLE used_oauth_states (
    csrftoken VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    KEY ix_used_oauth_states_expires (expires_at)
) ENGINE = InnoDB;
