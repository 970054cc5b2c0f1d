//! `portal --demo`: the whole product offline. A stand-in for Discord runs
//! inside the process (consent page, API, CDN pictures), the secrets are
//! random, cookies work over plain http, and every page carries a banner.
//! Never enabled implicitly: only the `--demo` flag sets `config.demo`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use discord_standin::{Fixture, StandIn};
use rand::RngCore;
use settings::Secret;
use store::{GuildChannel, Store};

use crate::config::PortalConfig;
use crate::error::PortalError;
use crate::routes::api::auth::CALLBACK_PATH;

fn random_secret() -> Secret {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    Secret::new(URL_SAFE_NO_PAD.encode(raw))
}

/// Starts the stand-in and points `config` at it.
pub async fn prepare(config: &mut PortalConfig) -> Result<(StandIn, Fixture), PortalError> {
    let mut fixture = Fixture::demo();
    fixture.auto_approve = false;
    fixture.redirect_uris = vec![
        config.server.redirect_uri(),
        config.server.url(CALLBACK_PATH),
    ];
    let standin = StandIn::start(fixture.clone())
        .await
        .map_err(|e| PortalError::startup("starting the demo's stand-in for Discord", e))?;
    let discord = &mut config.discord;
    discord.client_id = fixture.client_id.clone();
    discord.client_secret = Secret::new(fixture.client_secret.clone());
    discord.api_url = standin.api_url();
    discord.authorize_url = standin.authorize_url();
    discord.cdn_url = standin.cdn_url();
    let session = &mut config.session;
    session.auth_secret = random_secret();
    session.oauth_state_secret = random_secret();
    session.auth_secret_previous.clear();
    session.oauth_state_previous.clear();
    session.cookie_secure = false;
    Ok((standin, fixture))
}

/// The demo bot "is in" every third guild of the sample user, so the overview
/// shows both Manage and Invite bot.
pub async fn seed_bot_presence(store: &Store, fixture: &Fixture) -> Result<(), PortalError> {
    let ids: Vec<u64> = fixture
        .users
        .iter()
        .flat_map(|u| u.guilds.iter())
        .enumerate()
        .filter(|(i, _)| i % 3 == 0)
        .filter_map(|(_, g)| g.id.parse().ok())
        .collect();
    store.bot_guilds_replace_shard(0, &ids).await?;
    seed_bot_reports(store, &ids).await
}

/// What the bot would have recorded in the guilds it is in: their channels
/// (for the welcome channel list), its Server Members intent, and — in the
/// second guild — a welcome post Discord refused, so the settings page
/// shows each of them.
async fn seed_bot_reports(store: &Store, guild_ids: &[u64]) -> Result<(), PortalError> {
    const CHANNELS: [(&str, u8); 5] = [
        ("general", 0),
        ("welcome", 0),
        ("announcements", 5),
        ("rules", 0),
        ("Lounge", 2),
    ];
    for guild_id in guild_ids {
        let channels: Vec<GuildChannel> = CHANNELS
            .iter()
            .enumerate()
            .map(|(i, (name, kind))| GuildChannel {
                id: demo_channel_id(*guild_id, i),
                name: (*name).to_owned(),
                position: i as i32,
                kind: *kind,
            })
            .collect();
        store
            .bot_guild_channels_replace(*guild_id, &channels)
            .await?;
    }
    if let Some(guild_id) = guild_ids.get(1) {
        store
            .guild_welcome_failure_record(
                *guild_id,
                demo_channel_id(*guild_id, 1),
                50013,
                "Missing Permissions",
            )
            .await?;
    }
    store.bot_members_intent_set(true).await?;
    Ok(())
}

/// Channel ids for the demo: distinct per guild, never a guild's own id.
fn demo_channel_id(guild_id: u64, index: usize) -> u64 {
    (1 << 60) | ((guild_id & ((1 << 50) - 1)) << 4) | index as u64
}
