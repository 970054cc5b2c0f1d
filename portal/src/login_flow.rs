//! The Discord login flow, shared by the browser routes and the JSON API.
//!
//! The callback checks everything it can *before* spending the authorization
//! code (fastapi-users exchanges first): Discord's error, presence of code and
//! state, the state's signature, expiry and audience, the CSRF cookie, the
//! PKCE verifier cookie (only the browser that started the login has it),
//! and that the state was not used before (recorded in the database, so
//! every replica refuses a replay). Each refusal is counted in `/metrics`.

use axum::http::HeaderMap;
use chrono::Utc;
use discord::{AuthorizeRequest, DiscordError, DiscordUser, OAuthToken};
use settings::Secret;
use store::{CallbackOutcome, OAuthCallback, Profile, StoreError, User};
use tracing::field::Empty;
use tracing::{Instrument, Span};

use crate::AppState;
use crate::error::{Chain, IntoInternal, PortalError};
use crate::next_path;
use crate::oauth_state::{StateError, VerifiedState, csrf_matches, verifier_matches};
use crate::session::cookies::LoginCookies;

pub const DEFAULT_SCOPES: &[&str] = &["identify", "email", "guilds"];

/// The query Discord appends to the redirect URI.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    /// The OAuth `state` this portal signed when the login started.
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

pub struct StartedLogin {
    pub authorization_url: String,
    /// The CSRF cookie's value (the state's csrftoken).
    pub csrftoken: String,
    /// The PKCE verifier cookie's value.
    pub code_verifier: Secret,
}

pub struct LoggedIn {
    pub user: User,
    pub outcome: CallbackOutcome,
    pub session: Secret,
    pub next: String,
}

/// Who Discord says is logging in, with the tokens it granted.
struct DiscordIdentity {
    token: OAuthToken,
    user: DiscordUser,
    /// Verified by Discord; never an unverified address.
    email: String,
}

/// A new state and the Discord authorize URL carrying it.
pub fn start(
    app: &AppState,
    next: Option<&str>,
    redirect_uri: &str,
    scopes: &[&str],
) -> Result<StartedLogin, PortalError> {
    let next = next.map(|n| next_path::sanitize(Some(n)));
    let new = app
        .login_states
        .create(next)
        .internal("signing an OAuth state")?;
    let authorization_url = app.discord.authorize_url(&AuthorizeRequest {
        redirect_uri,
        scopes,
        state: &new.state,
        code_challenge: Some(&new.code_challenge),
        prompt: None,
    });
    Ok(StartedLogin {
        authorization_url,
        csrftoken: new.csrftoken,
        code_verifier: new.code_verifier,
    })
}

/// [`complete`], in a task of its own that `app.logins` tracks. Once the
/// state is consumed, the code is spent: the user and the session must then
/// be written whatever becomes of the request. A request's future is
/// dropped when its browser goes away (or the server is stopped), which
/// would stop a login in place, code spent and nothing written; a task is
/// not, and shutdown waits for these within its grace.
pub async fn complete_detached(
    app: &AppState,
    params: CallbackParams,
    headers: HeaderMap,
    redirect_uri: String,
) -> Result<LoggedIn, PortalError> {
    let task_app = app.clone();
    let login = async move {
        let cookies = LoginCookies::read(&headers);
        complete(&task_app, &params, cookies, &redirect_uri).await
    };
    app.logins
        .spawn(login.instrument(Span::current()))
        .await
        .internal("finishing a login")?
}

/// The callback: Discord sent the browser back with a code (or an error).
/// Logs one line, in a span that says how the login went and for whom —
/// never the code, the state or a token. Failures of ours (5xx) are left to
/// the error log.
#[tracing::instrument(
    name = "login_callback",
    skip_all,
    fields(oauth_error = params.error.is_some(), outcome = Empty, user = Empty)
)]
pub async fn complete(
    app: &AppState,
    params: &CallbackParams,
    cookies: LoginCookies<'_>,
    redirect_uri: &str,
) -> Result<LoggedIn, PortalError> {
    let result = callback(app, params, cookies, redirect_uri).await;
    match &result {
        Ok(logged_in) => {
            let outcome = logged_in.outcome.as_str();
            Span::current().record("outcome", outcome);
            tracing::info!(user = logged_in.user.id, outcome, "login");
        }
        Err(e) if e.status().is_client_error() => {
            Span::current().record("outcome", "refused");
            app.metrics.refusal(e.reason());
            tracing::info!(error = %Chain(e), "login refused");
        }
        Err(_) => {}
    }
    result
}

async fn callback(
    app: &AppState,
    params: &CallbackParams,
    cookies: LoginCookies<'_>,
    redirect_uri: &str,
) -> Result<LoggedIn, PortalError> {
    let checked = check_callback(app, params, cookies).await?;
    let identity = discord_identity(app, &checked, redirect_uri).await?;
    let (user, outcome) = link_user(app, &identity).await?;
    let user = record_profile(app, user, &identity.user).await?;
    let session = crate::session::revocation::new_session(app, user.id).await?;
    app.metrics.login(outcome.as_str());
    Ok(LoggedIn {
        next: next_path::sanitize(checked.state.next.as_deref()),
        user,
        outcome,
        session,
    })
}

/// A callback that passed every check: what the token request needs.
struct CheckedCallback<'a> {
    code: &'a str,
    code_verifier: &'a str,
    state: VerifiedState,
}

/// Every check that does not need Discord, before the code is spent. The
/// state is consumed last: a callback refused here leaves it usable by the
/// browser it belongs to.
async fn check_callback<'a>(
    app: &AppState,
    params: &'a CallbackParams,
    cookies: LoginCookies<'a>,
) -> Result<CheckedCallback<'a>, PortalError> {
    if let Some(error) = &params.error {
        return Err(PortalError::OAuthDenied {
            error: crate::oauth_error::checked(error).to_owned(),
        });
    }
    let (Some(code), Some(oauth_state)) = (params.code.as_deref(), params.state.as_deref()) else {
        return Err(PortalError::MissingCodeOrState);
    };
    let verified = app.login_states.verify(oauth_state).map_err(|e| match e {
        StateError::Decode => PortalError::StateDecode,
        StateError::Expired => PortalError::StateExpired,
    })?;
    if !csrf_matches(&verified.csrftoken, cookies.csrftoken) {
        return Err(PortalError::InvalidState);
    }
    // Whoever saw the callback URL can read the csrftoken out of the state
    // and set that cookie; the verifier never left the browser.
    let code_verifier = cookies
        .code_verifier
        .ok_or(PortalError::PkceVerifierMissing)?;
    match &verified.code_challenge {
        Some(challenge) if verifier_matches(challenge, code_verifier) => {}
        _ => return Err(PortalError::PkceVerifierMismatch),
    }
    let now = Utc::now().timestamp();
    if !app
        .store
        .consume_oauth_state(&verified.csrftoken, verified.exp, now)
        .await?
    {
        return Err(PortalError::InvalidState);
    }
    Ok(CheckedCallback {
        code,
        code_verifier,
        state: verified,
    })
}

/// Spends the code (with the login's PKCE verifier) and asks Discord who
/// this is.
async fn discord_identity(
    app: &AppState,
    checked: &CheckedCallback<'_>,
    redirect_uri: &str,
) -> Result<DiscordIdentity, PortalError> {
    let token = app
        .discord
        .exchange_code(checked.code, redirect_uri, Some(checked.code_verifier))
        .await
        .map_err(discord_error)?;
    let user = app
        .discord
        .current_user(&token.access_token)
        .await
        .map_err(discord_error)?;
    // httpx-oauth's get_id_email: the email only when Discord says it is verified.
    let email = match (&user.email, user.verified) {
        (Some(email), Some(true)) if !email.is_empty() => email.clone(),
        _ => return Err(refused(app, PortalError::NoVerifiedEmail)),
    };
    Ok(DiscordIdentity { token, user, email })
}

/// fastapi-users' `oauth_callback`: the Guildhall user for this Discord
/// account, registered or linked if need be; inactive users are refused.
async fn link_user(
    app: &AppState,
    identity: &DiscordIdentity,
) -> Result<(User, CallbackOutcome), PortalError> {
    let (user, outcome) = app
        .store
        .oauth_callback(OAuthCallback {
            oauth_name: guilds::OAUTH_NAME,
            access_token: &identity.token.access_token,
            account_id: &identity.user.id,
            account_email: &identity.email,
            expires_at: identity.token.expires_at,
            refresh_token: identity.token.refresh_token.as_ref(),
            associate_by_email: app.config.login.associate_by_email,
            is_verified_by_default: false,
        })
        .await
        .map_err(|e| match e {
            StoreError::UserAlreadyExists => refused(app, PortalError::UserAlreadyExists),
            other => other.into(),
        })?;
    Span::current().record("user", user.id);
    if !user.is_active {
        return Err(refused(app, PortalError::Inactive));
    }
    Ok((user, outcome))
}

/// Guildhall's profile columns from Discord, then the row as stored; this
/// replica forgets what it cached of the user.
async fn record_profile(
    app: &AppState,
    user: User,
    discord_user: &DiscordUser,
) -> Result<User, PortalError> {
    let profile = Profile {
        nickname: Some(
            discord_user
                .display_name()
                .chars()
                .take(store::limits::NICKNAME)
                .collect(),
        ),
        profile_img: Some(discord_user.avatar_url(&app.config.discord.cdn_url)),
        sns_type: Some("discord".into()),
        last_seen: Some(Utc::now()),
        // Discord's locales are short tags (`ko`, `zh-TW`); anything longer
        // is not one of them.
        locale: discord_user
            .locale
            .clone()
            .filter(|l| l.len() <= store::limits::LOCALE),
    };
    app.store.update_profile(user.id, &profile).await?;
    let user = app.store.user_by_id(user.id).await?.unwrap_or(user);
    app.forget_user(user.id);
    Ok(user)
}

/// A person Discord vouched for whom Guildhall turns away: counted as a
/// refused login (a bad or replayed callback is not a person refused).
fn refused(app: &AppState, why: PortalError) -> PortalError {
    app.metrics.login("refused");
    why
}

fn discord_error(e: DiscordError) -> PortalError {
    match e {
        DiscordError::InvalidGrant { .. }
        | DiscordError::OAuth { .. }
        | DiscordError::Unauthorized => PortalError::CodeRejected(e),
        DiscordError::RateLimited { retry_after } => PortalError::RateLimited { retry_after },
        other => PortalError::DiscordUnavailable(other),
    }
}
