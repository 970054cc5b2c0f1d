//! The bot's configuration: one typed struct read once from the environment
//! (and `.env`); a missing or malformed variable stops start-up naming it.

use std::ops::RangeInclusive;

use discord::GuildId;

use crate::members_intent::MembersIntent;
use settings::{Env, EnvError, Secret};
use telemetry::LogFormat;

/// Which shards this process runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sharding {
    /// Discord's recommended count, all in this process.
    Auto,
    /// `SHARD_RANGE` of `SHARD_COUNT` shards (several processes split one bot).
    Range {
        range: RangeInclusive<u32>,
        total: u32,
    },
}

#[derive(Debug, Clone)]
pub struct BotConfig {
    pub token: Secret,
    pub database_url: Secret,
    pub portal_public_url: String,
    /// Register commands in this guild only (instant; for development).
    pub dev_guild_id: Option<GuildId>,
    pub sharding: Sharding,
    /// `DISCORD_PROXY_URL`, for tests only: the base URL replacing
    /// `https://discord.com` for REST and — because serenity asks
    /// `GET /api/v10/gateway` through it — for the gateway too. Setting it also
    /// turns serenity's rate limiter off (serenity ignores a proxy otherwise),
    /// so it must stay unset in production.
    pub proxy_url: Option<String>,
    pub log_format: LogFormat,
    /// `BOT_HEALTH_FILE`: rewritten while a shard is connected (healthchecks).
    pub health_file: Option<std::path::PathBuf>,
    /// `BOT_MEMBERS_INTENT`: whether to ask for GUILD_MEMBERS (welcome
    /// messages): `auto` (the application's flags decide), `on` or `off`.
    pub members_intent: MembersIntent,
}

fn invalid(name: &str, reason: String, expected: &str) -> EnvError {
    EnvError::Invalid {
        name: name.into(),
        reason,
        expected: expected.into(),
    }
}

pub fn parse_sharding(count: Option<u32>, range: Option<&str>) -> Result<Sharding, EnvError> {
    match (count, range) {
        (None, None) => Ok(Sharding::Auto),
        (Some(0), _) => Err(invalid(
            "SHARD_COUNT",
            "0".into(),
            "a positive number of shards",
        )),
        (Some(total), None) => Ok(Sharding::Range {
            range: 0..=total - 1,
            total,
        }),
        (None, Some(_)) => Err(EnvError::Missing {
            name: "SHARD_COUNT".into(),
            hint:
                "SHARD_RANGE needs SHARD_COUNT, the total number of shards across all bot processes"
                    .into(),
        }),
        (Some(total), Some(raw)) => {
            let expected = "a range such as 0-3 within SHARD_COUNT";
            let (a, b) = match raw.split_once('-') {
                Some((a, b)) => (a.trim(), b.trim()),
                None => (raw.trim(), raw.trim()),
            };
            let (Ok(first), Ok(last)) = (a.parse::<u32>(), b.parse::<u32>()) else {
                return Err(invalid("SHARD_RANGE", format!("{raw:?}"), expected));
            };
            if first > last || last >= total {
                return Err(invalid(
                    "SHARD_RANGE",
                    format!("{raw:?} with SHARD_COUNT={total}"),
                    expected,
                ));
            }
            Ok(Sharding::Range {
                range: first..=last,
                total,
            })
        }
    }
}

impl BotConfig {
    pub fn from_env(env: &Env) -> Result<Self, EnvError> {
        let token = env.secret("DISCORD_BOT_TOKEN").ok_or_else(|| EnvError::Missing {
            name: "DISCORD_BOT_TOKEN".into(),
            hint: "copy the bot token from your application's Bot page in the Discord developer portal (see README.md)".into(),
        })?;
        let database_url = env.string("DATABASE_URL", "sqlite://guildhall.db");
        store::Backend::from_url(&database_url).map_err(|e| EnvError::Invalid {
            name: "DATABASE_URL".into(),
            reason: e.to_string(),
            expected: "sqlite://path, postgres://… or mysql://…".into(),
        })?;
        let count = env.parse_opt::<u32>("SHARD_COUNT", "a positive number of shards")?;
        Ok(BotConfig {
            token,
            database_url: Secret::new(database_url),
            portal_public_url: env.url("PORTAL_PUBLIC_URL", "http://127.0.0.1:8000")?,
            dev_guild_id: env.parse_opt("DISCORD_DEV_GUILD_ID", "a guild id (snowflake)")?,
            sharding: parse_sharding(count, env.get("SHARD_RANGE"))?,
            proxy_url: match env.get("DISCORD_PROXY_URL") {
                Some(_) => Some(env.url("DISCORD_PROXY_URL", "")?),
                None => None,
            },
            log_format: LogFormat::from_env(env)?,
            health_file: env.get("BOT_HEALTH_FILE").map(std::path::PathBuf::from),
            members_intent: match env.get("BOT_MEMBERS_INTENT") {
                None => MembersIntent::Auto,
                Some(raw) => raw.parse().map_err(|()| {
                    invalid("BOT_MEMBERS_INTENT", format!("{raw:?}"), "auto, on or off")
                })?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_required_and_never_printed() {
        let e = BotConfig::from_env(&Env::default()).unwrap_err();
        assert!(
            e.to_string().starts_with("DISCORD_BOT_TOKEN is not set"),
            "{e}"
        );
        let c = BotConfig::from_env(&Env::from_pairs([("DISCORD_BOT_TOKEN", "bot-token-value")]))
            .unwrap();
        assert!(!format!("{c:?}").contains("bot-token-value"));
        assert_eq!(c.portal_public_url, "http://127.0.0.1:8000");
        assert_eq!(c.sharding, Sharding::Auto);
        assert_eq!(c.proxy_url, None);
        assert_eq!(c.log_format, LogFormat::Text);
    }

    #[test]
    fn members_intent() {
        let with = |value: &str| {
            BotConfig::from_env(&Env::from_pairs([
                ("DISCORD_BOT_TOKEN", "t"),
                ("BOT_MEMBERS_INTENT", value),
            ]))
        };
        let default = BotConfig::from_env(&Env::from_pairs([("DISCORD_BOT_TOKEN", "t")])).unwrap();
        assert_eq!(default.members_intent, MembersIntent::Auto);
        assert_eq!(with("off").unwrap().members_intent, MembersIntent::Off);
        assert_eq!(with("on").unwrap().members_intent, MembersIntent::On);
        let e = with("sometimes").unwrap_err().to_string();
        assert!(e.starts_with("BOT_MEMBERS_INTENT is invalid"), "{e}");
    }

    #[test]
    fn log_format() {
        let with = |format: &str| {
            BotConfig::from_env(&Env::from_pairs([
                ("DISCORD_BOT_TOKEN", "t"),
                ("LOG_FORMAT", format),
            ]))
        };
        assert_eq!(with("JSON").unwrap().log_format, LogFormat::Json);
        let e = with("yaml").unwrap_err();
        assert!(e.to_string().starts_with("LOG_FORMAT"), "{e}");
    }

    #[test]
    fn dev_guild_is_a_snowflake() {
        let with = |id: &str| {
            BotConfig::from_env(&Env::from_pairs([
                ("DISCORD_BOT_TOKEN", "t"),
                ("DISCORD_DEV_GUILD_ID", id),
            ]))
        };
        assert_eq!(
            with("81384788765712384").unwrap().dev_guild_id,
            Some(GuildId::new(81384788765712384))
        );
        // `u64`'s own parser would take "+31".
        for bad in ["+31", "31x", "123456789012345678901"] {
            let e = with(bad).unwrap_err().to_string();
            assert!(
                e.starts_with("DISCORD_DEV_GUILD_ID is invalid") && e.contains(bad),
                "{e}"
            );
        }
    }

    #[test]
    fn shard_settings() {
        assert_eq!(
            parse_sharding(Some(4), Some("0-1")).unwrap(),
            Sharding::Range {
                range: 0..=1,
                total: 4
            }
        );
        assert_eq!(
            parse_sharding(Some(4), Some("3")).unwrap(),
            Sharding::Range {
                range: 3..=3,
                total: 4
            }
        );
        assert_eq!(
            parse_sharding(Some(2), None).unwrap(),
            Sharding::Range {
                range: 0..=1,
                total: 2
            }
        );
        for (count, range, name) in [
            (Some(4), Some("2-4"), "SHARD_RANGE"),
            (Some(4), Some("3-1"), "SHARD_RANGE"),
            (Some(4), Some("a-b"), "SHARD_RANGE"),
            (Some(0), None, "SHARD_COUNT"),
            (None, Some("0-1"), "SHARD_COUNT"),
        ] {
            let e = parse_sharding(count, range).unwrap_err();
            assert!(e.to_string().starts_with(name), "{e}");
        }
    }
}
