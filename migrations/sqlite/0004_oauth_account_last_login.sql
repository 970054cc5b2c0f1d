-- When each OAuth account was last used to sign in (epoch milliseconds),
-- so the guild listing reads the Discord account the user signed in with
-- last, not whichever linked account has the lowest id. Nullable and
-- without a default: an application that shares the table and does not
-- know the column (fastapi-users) inserts and updates rows as before, and
-- its rows sort after every dated one.
ALTER TABLE oauth_accounts ADD COLUMN last_login_at_ms BIGINT;
