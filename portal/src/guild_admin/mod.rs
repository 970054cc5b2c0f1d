//! Managing a server: the service the settings pages and the JSON API both
//! call. Every write is allowed only to a manager of the guild (owner,
//! Administrator or Manage Server) according to a guild list Discord gave
//! at most `GUILD_PERMISSION_MAX_AGE_SECONDS` ago, and only while the bot
//! is in the guild; the store writes the change and its audit entry
//! together.

pub mod fields;

use discord::GuildId;
use guilds::{GuildView, OAUTH_NAME};
use store::{
    AuditActor, GuildChannel, GuildPreferences, GuildTag, PreferencesUpdate, StoreError, TagSaved,
    User, WelcomeFailure,
};

use crate::AppState;
use crate::error::PortalError;
use fields::{TagContent, TagName, WelcomeMessage};

/// What the caller is about to do with a guild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Show its settings, tags or log: the listing's cached view will do.
    Read,
    /// Change something: the permissions are checked against Discord afresh.
    Write,
}

/// The guild, if `user` may manage it and the bot is in it: 403
/// `GUILD_FORBIDDEN` (also when the user is not in it, so the answer does
/// not reveal which guilds exist), 409 `BOT_NOT_PRESENT`.
pub async fn managed_guild(
    app: &AppState,
    user: &User,
    guild_id: GuildId,
    access: Access,
) -> Result<GuildView, PortalError> {
    let guild = match access {
        Access::Read => app.listing.guild(user.id, guild_id).await?.map(|(g, _)| g),
        Access::Write => {
            app.listing
                .guild_checked(user.id, guild_id, app.config.guilds.permission_max_age)
                .await?
        }
    };
    let guild = guild
        .filter(|g| g.can_manage)
        .ok_or(PortalError::GuildForbidden)?;
    if !guild.bot_present {
        return Err(PortalError::BotNotPresent);
    }
    Ok(guild)
}

/// Everything the settings form shows besides the guild itself.
#[derive(Debug, Clone)]
pub struct SettingsState {
    pub preferences: GuildPreferences,
    /// The guild's text channels as the bot last saw them, by position.
    pub channels: Vec<GuildChannel>,
    pub welcome_failure: Option<WelcomeFailure>,
    /// Whether the bot has the Server Members intent; `None` until it says.
    pub members_intent: Option<bool>,
}

pub async fn settings_state(
    app: &AppState,
    guild_id: GuildId,
) -> Result<SettingsState, PortalError> {
    let id = guild_id.get();
    Ok(SettingsState {
        preferences: app.store.guild_preferences(id).await?,
        channels: text_channels(app, guild_id).await?,
        welcome_failure: app.store.guild_welcome_failure(id).await?,
        members_intent: app.store.bot_members_intent().await?,
    })
}

/// The guild's text channels, where a welcome message can be posted.
pub async fn text_channels(
    app: &AppState,
    guild_id: GuildId,
) -> Result<Vec<GuildChannel>, PortalError> {
    let mut channels: Vec<GuildChannel> = app
        .store
        .bot_guild_channels(guild_id.get())
        .await?
        .into_iter()
        .filter(GuildChannel::is_text)
        .collect();
    channels.sort_by_key(|c| (c.position, c.id));
    Ok(channels)
}

/// A settings change as the edge parsed it; the channel is checked here,
/// against the guild's channels.
#[derive(Debug, Clone)]
pub struct SettingsChange {
    pub language: store::GuildLanguage,
    pub welcome_enabled: bool,
    pub welcome_channel_id: Option<u64>,
    pub welcome_message: WelcomeMessage,
}

/// Where the channel's error is reported (FastAPI's `loc`).
pub const CHANNEL_LOC: [&str; 3] = ["body", "welcome", "channel_id"];

/// Saves the settings shown at `version`: 409 `SETTINGS_CHANGED` when
/// someone saved since, 422 for a channel that is not one of the guild's
/// text channels.
pub async fn save_settings(
    app: &AppState,
    user: &User,
    guild_id: GuildId,
    change: SettingsChange,
    version: i64,
) -> Result<GuildPreferences, PortalError> {
    managed_guild(app, user, guild_id, Access::Write).await?;
    let current = app.store.guild_preferences(guild_id.get()).await?;
    let channels = text_channels(app, guild_id).await?;
    let channel = fields::welcome_channel(
        change.welcome_channel_id,
        change.welcome_enabled,
        current.welcome_channel_id,
        &channels,
    )
    .map_err(|e| PortalError::Validation(vec![e.at(&CHANNEL_LOC)]))?;
    let update = PreferencesUpdate {
        language: change.language,
        welcome_enabled: change.welcome_enabled,
        welcome_channel_id: channel,
        welcome_message: change.welcome_message.into_inner(),
    };
    let actor = actor(app, user).await?;
    match app
        .store
        .guild_preferences_save(guild_id.get(), &update, version, &actor, now())
        .await
    {
        Err(StoreError::SettingsChanged { .. }) => Err(PortalError::SettingsChanged),
        other => Ok(other?),
    }
}

pub async fn tags(app: &AppState, guild_id: GuildId) -> Result<Vec<GuildTag>, PortalError> {
    Ok(app.store.guild_tags(guild_id.get()).await?)
}

/// Creates or replaces a tag: 409 `TAG_LIMIT_REACHED` for a 201st.
pub async fn save_tag(
    app: &AppState,
    user: &User,
    guild_id: GuildId,
    name: &TagName,
    content: &TagContent,
) -> Result<(TagSaved, GuildTag), PortalError> {
    managed_guild(app, user, guild_id, Access::Write).await?;
    let actor = actor(app, user).await?;
    let at = now();
    let saved = match app
        .store
        .guild_tag_save(guild_id.get(), name.as_str(), content.as_str(), &actor, at)
        .await
    {
        Err(StoreError::TagLimitReached { .. }) => return Err(PortalError::TagLimitReached),
        other => other?,
    };
    let tag = app
        .store
        .guild_tag(guild_id.get(), name.as_str())
        .await?
        .unwrap_or_else(|| GuildTag {
            // Deleted by someone else in the instant since: report what was saved.
            name: name.as_str().to_owned(),
            content: content.as_str().to_owned(),
            updated_at: at,
        });
    Ok((saved, tag))
}

/// Deletes a tag: 404 when there is none by that name.
pub async fn delete_tag(
    app: &AppState,
    user: &User,
    guild_id: GuildId,
    name: &TagName,
) -> Result<(), PortalError> {
    managed_guild(app, user, guild_id, Access::Write).await?;
    let actor = actor(app, user).await?;
    if app
        .store
        .guild_tag_delete(guild_id.get(), name.as_str(), &actor, now())
        .await?
    {
        Ok(())
    } else {
        Err(PortalError::NotFound)
    }
}

/// Who the audit log names for `user`: their Discord id and name.
async fn actor(app: &AppState, user: &User) -> Result<AuditActor, PortalError> {
    let account = app
        .store
        .oauth_account_for_user(user.id, OAUTH_NAME)
        .await?
        .ok_or(PortalError::ReauthRequired)?;
    Ok(AuditActor {
        user_id: Some(user.id),
        // Discord ids are numbers; an account id that is not one (never
        // seen) is logged as 0 rather than refusing the change.
        discord_user_id: account.account_id.parse().unwrap_or(0),
        discord_username: user
            .nickname
            .clone()
            .unwrap_or_else(|| account.account_id.clone()),
    })
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
