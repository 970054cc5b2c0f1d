//! Ending sessions before their `exp`, on every replica: a logout records the
//! presented token's hash until it expires; "log out everywhere" records the
//! moment before which every session of the user is over. Other replicas
//! see either within `USER_CACHE_TTL_SECONDS` (they read it with the user
//! row); this one forgets what it cached of the user at once.

use chrono::Utc;
use settings::Secret;
use store::{SessionTokenHash, UserId};

use crate::AppState;
use crate::error::{IntoInternal, PortalError};
use crate::session::current_user::CurrentSession;

/// Ends the presented session.
pub async fn end_session(app: &AppState, session: &CurrentSession) -> Result<(), PortalError> {
    let now = Utc::now().timestamp();
    app.store
        .revoke_session_token(session.user.id, &session.token, session.exp, now)
        .await?;
    app.forget_user(session.user.id);
    tracing::info!(user = session.user.id, "session ended by logout");
    Ok(())
}

/// Ends every session of `user` issued up to now, the presented one too.
pub async fn end_every_session(app: &AppState, user: UserId) -> Result<(), PortalError> {
    let now = Utc::now().timestamp();
    app.store
        .revoke_every_session(user, now, app.session_tokens.lifetime())
        .await?;
    app.forget_user(user);
    tracing::info!(user, "every session ended (log out everywhere)");
    Ok(())
}

/// A new session token for `user`. The token has no id of its own, so the
/// user's sessions issued in the same second are one token: a session
/// started in the second of a logout or of a "log out everywhere" is dated
/// a second later (a second longer-lived), not born ended.
pub async fn new_session(app: &AppState, user: UserId) -> Result<Secret, PortalError> {
    let now = Utc::now().timestamp();
    let revocations = app
        .store
        .session_user(user, now)
        .await?
        .map(|(_, revocations)| revocations)
        .unwrap_or_default();
    let tokens = &app.session_tokens;
    let mut issued = revocations.earliest_issue(now);
    loop {
        let token = tokens
            .issue_with_exp(user, tokens.exp_for(issued))
            .internal("signing a session token")?;
        if !revocations
            .tokens
            .contains(&SessionTokenHash::of(token.expose()))
        {
            return Ok(token);
        }
        issued += 1;
    }
}
