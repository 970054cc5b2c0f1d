//! Discord's REST API as Guildhall uses it: OAuth2 (authorize URL, code
//! exchange, refresh, revoke), the current user and their guilds, CDN URLs,
//! permissions — on one pooled HTTP client that stays inside Discord's rate
//! limits. The authorize URL and the token requests are built, and their
//! answers read, by the `oauth2` crate; the requests go over that same
//! client. Base URLs come from configuration: tests and the demo point them
//! at the stand-in, and nothing else differs.

#![warn(missing_docs)]

mod breaker;
pub mod cdn;
mod client;
mod config;
mod error;
mod guild_id;
mod models;
mod oauth;
// The permission constants carry Discord's documented names; the type and
// its functions are documented in the module.
#[allow(missing_docs)]
mod permissions;
pub mod pkce;
mod ratelimit;
mod users;

pub use breaker::{BreakerConfig, RouteHealth};
pub use client::{CallObserver, DiscordClient};
pub use config::{DEFAULT_API_URL, DEFAULT_AUTHORIZE_URL, DEFAULT_CDN_URL, DiscordConfig};
pub use error::DiscordError;
pub use guild_id::{GuildId, InvalidGuildId};
pub use models::{DiscordUser, OAuthToken, PartialGuild};
pub use oauth::AuthorizeRequest;
pub use permissions::{Permissions, can_manage};
