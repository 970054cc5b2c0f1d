-- The channels of each guild the bot is in, as the gateway reported them
-- (GUILD_CREATE, CHANNEL_CREATE/UPDATE/DELETE): the portal lists them when a
-- manager picks the welcome channel, without calling Discord. `kind` is
-- Discord's channel type (0 text, 5 announcement, ...).
CREATE TABLE bot_guild_channels (
    guild_id BIGINT NOT NULL,
    channel_id BIGINT NOT NULL,
    name VARCHAR(100) NOT NULL,
    position INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (guild_id, channel_id)
);

-- The last welcome post that Discord refused (50013 Missing Permissions,
-- 10003 Unknown Channel, ...), shown on the guild's settings page until the
-- next post succeeds.
CREATE TABLE guild_welcome_failures (
    guild_id BIGINT PRIMARY KEY,
    channel_id BIGINT NOT NULL,
    code INTEGER NOT NULL,
    message VARCHAR(200) NOT NULL,
    failed_at BIGINT NOT NULL
);

-- What the bot reports about itself for the portal, one row per fact
-- (`members_intent`: whether it identified with GUILD_MEMBERS).
CREATE TABLE bot_status (
    name VARCHAR(64) PRIMARY KEY,
    value VARCHAR(200) NOT NULL,
    updated_at BIGINT NOT NULL
);
