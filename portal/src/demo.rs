//! `portal --demo`: the whole product offline. A stand-in for Discord runs
//! inside the process (consent page, API, CDN pictures), the secrets are
//! random, cookies work over plain http, and every page carries a banner.
//! Never enabled implicitly: only the `--demo` flag sets `config.demo`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use discord_standin::{Fixture, StandIn};
use rand::RngCore;
use settings::Secret;
use store::Store;

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
    Ok(())
}
