//! The bot's configuration: one typed struct read once from the environment
//! (and `.env`); a missing or malformed variable stops start-up naming it.

use settings::{Env, EnvError, Secret};

#[derive(Debug, Clone)]
pub struct BotConfig {
    pub token: Secret,
    pub database_url: Secret,
    pub portal_public_url: String,
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
        Ok(BotConfig {
            token,
            database_url: Secret::new(database_url),
            portal_public_url: env.url("PORTAL_PUBLIC_URL", "http://127.0.0.1:8000")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_required_and_never_printed() {
        let e = BotConfig::from_env(&Env::default()).unwrap_err();
        assert!(e.to_string().starts_with("DISCORD_BOT_TOKEN is not set"), "{e}");
        let c = BotConfig::from_env(&Env::from_pairs([("DISCORD_BOT_TOKEN", "bot-token-value")])).unwrap();
        assert!(!format!("{c:?}").contains("bot-token-value"));
        assert_eq!(c.portal_public_url, "http://127.0.0.1:8000");
    }
}
