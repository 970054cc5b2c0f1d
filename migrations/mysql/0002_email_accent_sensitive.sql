-- utf8mb4_unicode_ci folds accents and trailing spaces as well as case, so
-- 'andré@example.org' matched 'andre@example.org': with ASSOCIATE_BY_EMAIL a
-- Discord login would be linked to someone else's user. Uniqueness and lookups
-- now go through a lower-cased copy compared byte for byte (VARBINARY: the
-- _bin collations still ignore trailing spaces), as lower(email) is on
-- PostgreSQL. MariaDB has no functional indexes; a stored generated column
-- works on MariaDB >= 10.6 and MySQL 8. 1280 bytes = 320 characters of utf8mb4.
ALTER TABLE users
    ADD COLUMN email_folded VARBINARY(1280) AS (CAST(LOWER(email) AS BINARY)) STORED,
    DROP INDEX ux_users_email,
    ADD UNIQUE KEY ux_users_email_folded (email_folded);
