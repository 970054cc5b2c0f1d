-- Who is refreshing an OAuth account's Discord token right now. Discord's
-- refresh tokens are single-use: the replica holding an unexpired lease is
-- the only one that may spend one; the others wait for the pair it stores.
-- A lease is taken with one conditional statement (no lock is held across
-- the call to Discord) and deleted by its holder; one left behind by a
-- crashed replica is taken over once it has expired.
CREATE TABLE oauth_refresh_leases (
    oauth_account_id INTEGER PRIMARY KEY NOT NULL,
    holder VARCHAR(64) NOT NULL,
    expires_at_ms BIGINT NOT NULL
);

-- Session tokens ended by a logout before their `exp`: the SHA-256 of the
-- token (hex), never the token, kept until that `exp` and pruned after.
CREATE TABLE revoked_session_tokens (
    token_hash VARCHAR(64) PRIMARY KEY NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);
CREATE INDEX ix_revoked_session_tokens_user ON revoked_session_tokens (user_id, expires_at);
CREATE INDEX ix_revoked_session_tokens_expires ON revoked_session_tokens (expires_at);

-- "Log out everywhere": every session of the user issued at or before
-- `revoked_before` (epoch seconds) is refused. The session token has no
-- `iat`; its issue time is `exp` minus SESSION_LIFETIME_SECONDS.
CREATE TABLE session_cutoffs (
    user_id INTEGER PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    revoked_before BIGINT NOT NULL
);
