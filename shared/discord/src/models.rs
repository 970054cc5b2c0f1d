use serde::{Deserialize, Serialize};
use settings::Secret;

use crate::Permissions;
use crate::cdn;

/// Tokens from the token endpoint. `Debug` shows `[redacted]` for both.
#[derive(Debug, Clone)]
pub struct OAuthToken {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    /// `now + expires_in` at receipt, epoch seconds.
    pub expires_at: Option<i64>,
    pub scope: String,
    pub token_type: String,
}

/// `GET /users/@me`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscordUser {
    pub id: String,
    pub username: String,
    #[serde(default = "zero")]
    pub discriminator: String,
    #[serde(default)]
    pub global_name: Option<String>,
    #[serde(default)]
    pub avatar: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub verified: Option<bool>,
    #[serde(default)]
    pub locale: Option<String>,
}

fn zero() -> String {
    "0".into()
}

impl DiscordUser {
    /// What people see: the display name if set, else the username.
    pub fn display_name(&self) -> &str {
        self.global_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(&self.username)
    }

    pub fn avatar_url(&self, cdn_url: &str) -> String {
        cdn::avatar_url(
            cdn_url,
            &self.id,
            self.avatar.as_deref(),
            &self.discriminator,
        )
    }
}

/// A partial guild from `GET /users/@me/guilds`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartialGuild {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub icon: Option<String>,
    #[serde(default)]
    pub owner: bool,
    #[serde(default)]
    pub permissions: Permissions,
    #[serde(default)]
    pub features: Vec<String>,
}

impl PartialGuild {
    pub fn icon_url(&self, cdn_url: &str) -> Option<String> {
        cdn::guild_icon_url(cdn_url, &self.id, self.icon.as_deref())
    }
}
