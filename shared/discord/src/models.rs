use serde::{Deserialize, Serialize};
use settings::Secret;

use crate::cdn;
use crate::{GuildId, Permissions};

/// Tokens from the token endpoint. `Debug` shows `[redacted]` for both.
#[derive(Debug, Clone)]
pub struct OAuthToken {
    /// Bearer token for the user endpoints.
    pub access_token: Secret,
    /// Single-use: refreshing returns a new one and kills this one.
    pub refresh_token: Option<Secret>,
    /// `now + expires_in` at receipt, epoch seconds.
    pub expires_at: Option<i64>,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// `Bearer`.
    pub token_type: String,
}

/// `GET /users/@me`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscordUser {
    /// Snowflake, as a string.
    pub id: String,
    /// The unique handle.
    pub username: String,
    /// `"0"` for users on the new username system, else the old `#1234`.
    #[serde(default = "zero")]
    pub discriminator: String,
    /// The display name, if the user set one.
    #[serde(default)]
    pub global_name: Option<String>,
    /// Avatar hash; `a_…` is animated.
    #[serde(default)]
    pub avatar: Option<String>,
    /// Only with the `email` scope; trust it only when `verified` is true.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the email is verified (with the `email` scope).
    #[serde(default)]
    pub verified: Option<bool>,
    /// The user's chosen language, e.g. `en-US`.
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

    /// The avatar, or Discord's default avatar for this user.
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
    /// Sent as a decimal string, and serialised back as one.
    pub id: GuildId,
    /// The guild's name (any Unicode).
    pub name: String,
    /// Icon hash; `a_…` is animated.
    #[serde(default)]
    pub icon: Option<String>,
    /// Whether the user owns the guild.
    #[serde(default)]
    pub owner: bool,
    /// The user's permissions there (sent as a decimal string).
    #[serde(default)]
    pub permissions: Permissions,
    /// Guild feature flags such as `COMMUNITY`.
    #[serde(default)]
    pub features: Vec<String>,
}

impl PartialGuild {
    /// The icon's URL, or `None` when the guild has no icon.
    pub fn icon_url(&self, cdn_url: &str) -> Option<String> {
        cdn::guild_icon_url(cdn_url, self.id, self.icon.as_deref())
    }
}
