-- Per-guild preferences the portal edits and the bot honours. `version`
-- guards the settings form against lost updates (0 means "no row yet"; the
-- first save makes it 1); `revision` moves on every settings or tag write,
-- so the bot can poll one integer per guild to notice a change.
CREATE TABLE guild_preferences (
    guild_id BIGINT PRIMARY KEY,
    language VARCHAR(8) NOT NULL,
    welcome_enabled BOOLEAN NOT NULL,
    welcome_channel_id BIGINT,
    welcome_message TEXT NOT NULL,
    version BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Custom commands (`/tag name:`), at most 200 per guild (checked by the store).
CREATE TABLE guild_tags (
    guild_id BIGINT NOT NULL,
    name VARCHAR(32) NOT NULL,
    content TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (guild_id, name)
);

-- Who changed what in a guild's preferences or tags, kept 90 days. The
-- Discord id and name are copied: the entry outlives the user's row.
CREATE TABLE guild_audit_log (
    id BIGSERIAL PRIMARY KEY,
    guild_id BIGINT NOT NULL,
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    discord_user_id BIGINT NOT NULL,
    discord_username VARCHAR(100) NOT NULL,
    at BIGINT NOT NULL,
    action VARCHAR(32) NOT NULL,
    subject VARCHAR(64) NOT NULL,
    before_value TEXT,
    after_value TEXT
);
CREATE INDEX ix_guild_audit_log_guild ON guild_audit_log (guild_id, id DESC);
CREATE INDEX ix_guild_audit_log_at ON guild_audit_log (at);
CREATE INDEX ix_guild_audit_log_user ON guild_audit_log (user_id);
