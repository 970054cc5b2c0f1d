-- Per-guild preferences the portal edits and the bot honours. `version`
-- guards the settings form against lost updates (0 means "no row yet"; the
-- first save makes it 1); `revision` moves on every settings or tag write,
-- so the bot can poll one integer per guild to notice a change.
CREATE TABLE guild_preferences (
    guild_id BIGINT NOT NULL PRIMARY KEY,
    language VARCHAR(8) CHARACTER SET ascii NOT NULL,
    welcome_enabled BOOLEAN NOT NULL,
    welcome_channel_id BIGINT,
    welcome_message TEXT NOT NULL,
    version BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Custom commands (`/tag name:`), at most 200 per guild (checked by the
-- store). Names compare byte for byte, as on the other backends: Hangul
-- names stay distinct and `Ab` is not `ab`.
CREATE TABLE guild_tags (
    guild_id BIGINT NOT NULL,
    name VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    content TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (guild_id, name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Who changed what in a guild's preferences or tags, kept 90 days. The
-- Discord id and name are copied: the entry outlives the user's row.
CREATE TABLE guild_audit_log (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    guild_id BIGINT NOT NULL,
    user_id INTEGER,
    discord_user_id BIGINT NOT NULL,
    discord_username VARCHAR(100) NOT NULL,
    at BIGINT NOT NULL,
    action VARCHAR(32) CHARACTER SET ascii NOT NULL,
    subject VARCHAR(64) NOT NULL,
    before_value TEXT,
    after_value TEXT,
    KEY ix_guild_audit_log_guild (guild_id, id DESC),
    KEY ix_guild_audit_log_at (at),
    KEY ix_guild_audit_log_user (user_id),
    CONSTRAINT fk_guild_audit_log_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
