-- The language the user chose in Discord (`locale` from GET /users/@me, e.g.
-- `ko`, `en-US`), written on every login: the portal speaks Korean to a
-- user whose Discord speaks Korean. Nullable: rows from before, and rows a
-- fastapi-users application inserts, have none.
ALTER TABLE users ADD COLUMN locale VARCHAR(16);
