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
