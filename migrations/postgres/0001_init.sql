CREATE TABLE users (
    id SERIAL PRIMARY KEY,
    email VARCHAR(320) NOT NULL,
    hashed_password VARCHAR(1024) NOT NULL,
    is_active BOOLEAN NOT NULL,
    is_superuser BOOLEAN NOT NULL,
    is_verified BOOLEAN NOT NULL,
    nickname VARCHAR(100),
    profile_img VARCHAR(1024),
    sns_type VARCHAR(32),
    last_seen TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX ux_users_email ON users (lower(email));

CREATE TABLE oauth_accounts (
    id SERIAL PRIMARY KEY,
    oauth_name VARCHAR(100) NOT NULL,
    access_token VARCHAR(1024) NOT NULL,
    expires_at BIGINT,
    refresh_token VARCHAR(1024),
    account_id VARCHAR(320) NOT NULL,
    account_email VARCHAR(320),
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX ux_oauth_accounts_name_account ON oauth_accounts (oauth_name, account_id);
CREATE INDEX ix_oauth_accounts_user ON oauth_accounts (user_id);

CREATE TABLE bot_guilds (
    guild_id BIGINT PRIMARY KEY,
    shard_id INTEGER NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX ix_bot_guilds_shard ON bot_guilds (shard_id);

CREATE TABLE used_oauth_states (
    csrftoken VARCHAR(64) PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX ix_used_oauth_states_expires ON used_oauth_states (expires_at);
