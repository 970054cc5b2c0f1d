//! The Discord login flow, shared by the browser routes and the JSON API.
//!
//! The callback checks everything it can *before* spending the authorization
//! code (fastapi-users exchanges first): Discord's error, presence of code and
//! state, the state's signature, expiry and audience, the CSRF cookie, and that
//! the state was not used before (recorded in the database, so every replica
//! refuses a replay).

use chrono::Utc;
use discord::{AuthorizeRequest, DiscordError};
use settings::Secret;
use store::{CallbackOutcome, OAuthCallback, Profile, StoreError, User};

use crate::AppState;
use crate::error::PortalError;
use crate::next_path;
use crate::oauth_state::{StateError, csrf_matches};

pub const DEFAULT_SCOPES: &[&str] = &["identify", "email", "guilds"];

/// The query Discord appends to the redirect URI.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

pub struct StartedLogin {
    pub authorization_url: String,
    /// The CSRF cookie's value (the state's csrftoken).
    pub csrftoken: String,
}

pub struct LoggedIn {
    pub user: User,
    pub outcome: CallbackOutcome,
    pub session: Secret,
    pub next: String,
}

/// A new state and the Discord authorize URL carrying it.
pub fn start(
    state: &AppState,
    next: Option<&str>,
    redirect_uri: &str,
    scopes: &[&str],
) -> Result<StartedLogin, PortalError> {
    let next = next.map(|n| next_path::sanitize(Some(n)));
    let new = state
        .states
        .create(next)
        .map_err(|e| PortalError::Internal(format!("state: {e}")))?;
    let authorization_url = state.discord.authorize_url(&AuthorizeRequest {
        redirect_uri,
        scopes,
        state: &new.state,
        code_challenge: Some(&new.code_challenge),
        prompt: None,
    });
    Ok(StartedLogin {
        authorization_url,
        csrftoken: new.csrftoken,
    })
}

pub async fn complete(
    state: &AppState,
    params: &CallbackParams,
    csrf_cookie: Option<&str>,
    redirect_uri: &str,
) -> Result<LoggedIn, PortalError> {
    if let Some(error) = &params.error {
        return Err(PortalError::OAuthDenied {
            error: error.chars().take(64).collect(),
        });
    }
    let (Some(code), Some(raw_state)) = (params.code.as_deref(), params.state.as_deref()) else {
        return Err(PortalError::MissingCodeOrState);
    };
    let verified = state.states.verify(raw_state).map_err(|e| match e {
        StateError::Decode => PortalError::StateDecode,
        StateError::Expired => PortalError::StateExpired,
    })?;
    if !csrf_matches(&verified.csrftoken, csrf_cookie) {
        return Err(PortalError::InvalidState);
    }
    let now = Utc::now().timestamp();
    if !state
        .store
        .consume_oauth_state(&verified.csrftoken, verified.exp, now)
        .await?
    {
        return Err(PortalError::InvalidState);
    }

    let verifier = state.states.code_verifier(&verified.csrftoken);
    let token = state
        .discord
        .exchange_code(code, redirect_uri, Some(&verifier))
        .await
        .map_err(discord_error)?;
    let me = state
        .discord
        .current_user(&token.access_token)
        .await
        .map_err(discord_error)?;
    // httpx-oauth's get_id_email: the email only when Discord says it is verified.
    let email = match (&me.email, me.verified) {
        (Some(email), Some(true)) if !email.is_empty() => email.clone(),
        _ => return Err(refused(state, None, PortalError::NoVerifiedEmail)),
    };

    let (user, outcome) = state
        .store
        .oauth_callback(OAuthCallback {
            oauth_name: guilds::OAUTH_NAME,
            access_token: &token.access_token,
            account_id: &me.id,
            account_email: &email,
            expires_at: token.expires_at,
            refresh_token: token.refresh_token.as_ref(),
            associate_by_email: state.config.associate_by_email,
            is_verified_by_default: false,
        })
        .await
        .map_err(|e| match e {
            StoreError::UserAlreadyExists => refused(state, None, PortalError::UserAlreadyExists),
            other => PortalError::Store(other),
        })?;
    if !user.is_active {
        return Err(refused(state, Some(user.id), PortalError::Inactive));
    }

    let profile = Profile {
        nickname: Some(
            me.display_name()
                .chars()
                .take(store::limits::NICKNAME)
                .collect(),
        ),
        profile_img: Some(me.avatar_url(&state.config.discord_cdn_url)),
        sns_type: Some("discord".into()),
        last_seen: Some(Utc::now()),
    };
    state.store.update_profile(user.id, &profile).await?;
    let user = state.store.user_by_id(user.id).await?.unwrap_or(user);
    state.forget_user(user.id);

    let session = state
        .sessions
        .issue(user.id)
        .map_err(|e| PortalError::Internal(e.to_string()))?;
    state.metrics.login(outcome.as_str());
    tracing::info!(user = user.id, outcome = outcome.as_str(), "login");
    Ok(LoggedIn {
        next: next_path::sanitize(verified.next.as_deref()),
        user,
        outcome,
        session,
    })
}

/// A person Discord vouched for whom Guildhall turns away: counted as a
/// refused login.
fn refused(state: &AppState, user: Option<store::UserId>, why: PortalError) -> PortalError {
    state.metrics.login("refused");
    tracing::info!(outcome = "refused", user, reason = %why, "login refused");
    why
}

fn discord_error(e: DiscordError) -> PortalError {
    match e {
        DiscordError::InvalidGrant { .. } | DiscordError::OAuth { .. } => PortalError::CodeRejected,
        DiscordError::Unauthorized => PortalError::CodeRejected,
        DiscordError::RateLimited { retry_after } => PortalError::RateLimited { retry_after },
        other => PortalError::DiscordUnavailable(other.to_string()),
    }
}
