//! What a person sees for each error on a browser route: a title and a
//! message (kept apart from the API's `detail` codes, so the wording can
//! change or be translated without touching the API).

use std::borrow::Cow;

use axum::http::StatusCode;

use super::PortalError;

/// What the HTML layer needs to render an error page.
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: Cow<'static, str>,
    /// The API's `detail`, shown small for support requests.
    pub code: Cow<'static, str>,
    /// Send the browser to the login page instead of showing a page.
    pub to_login: bool,
    /// The session must be dropped too (its Discord authorization is gone).
    pub clear_session: bool,
}

impl PortalError {
    pub fn page(&self) -> ErrorPage {
        ErrorPage {
            status: self.status(),
            title: self.title(),
            message: self.message(),
            code: self.detail(),
            to_login: matches!(
                self,
                PortalError::Unauthorized | PortalError::ReauthRequired
            ),
            clear_session: matches!(self, PortalError::ReauthRequired),
        }
    }

    fn title(&self) -> &'static str {
        use PortalError::*;
        match self {
            Unauthorized => "Please sign in",
            ReauthRequired => "Please sign in again",
            OAuthDenied { .. } => "Login cancelled",
            MissingCodeOrState => "Incomplete login",
            StateDecode | InvalidState => "Login link not valid",
            StateExpired => "Login link expired",
            PkceVerifierMissing | PkceVerifierMismatch => "Login started elsewhere",
            NoVerifiedEmail => "Verified email needed",
            UserAlreadyExists => "Account already exists",
            Inactive => "Account disabled",
            CrossOrigin { .. } => "Request from another site refused",
            FormToken => "Form expired",
            GuildForbidden => "You cannot manage this server",
            BotNotPresent => "The bot is not in this server",
            SettingsChanged => "Someone else saved first",
            TagLimitReached => "Too many tags",
            Validation(_) => "Some fields are not valid",
            CodeRejected(_) => "Login failed",
            RateLimited { .. } => "Discord is busy",
            TooManyLoginAttempts { .. } => "Too many sign-in attempts",
            MetricsUnauthorized => "Token required",
            PayloadTooLarge => "Request too large",
            RequestTimeout => "This is taking too long",
            DiscordUnavailable(_) => "Discord is unavailable",
            TokenRefreshPending(_) => "Still renewing your Discord sign-in",
            NotFound => "Not found",
            Internal { .. } | Startup { .. } | Store(_) | Io(_) => "Something went wrong",
        }
    }

    fn message(&self) -> Cow<'static, str> {
        use PortalError::*;
        Cow::Borrowed(match self {
            Unauthorized => "Sign in with Discord to continue.",
            ReauthRequired => {
                "Your Discord authorization has expired or was revoked. Sign in again to continue."
            }
            OAuthDenied { .. } => {
                "You did not authorize Guildhall on Discord, so you are not signed in. You can try again whenever you like."
            }
            MissingCodeOrState => {
                "Discord's answer was missing part of the login. Please start again."
            }
            StateDecode | InvalidState => {
                "This login link is invalid or was already used. Please start the login again from this browser."
            }
            StateExpired => "This login took too long and the link expired. Please start again.",
            PkceVerifierMissing | PkceVerifierMismatch => {
                "This login was not started in this browser (or the browser lost its cookies), so Guildhall did not finish it and nobody was signed in. Please start the login again from this browser."
            }
            NoVerifiedEmail => {
                "Your Discord account has no verified email address. Verify your email in Discord's settings, then sign in again."
            }
            UserAlreadyExists => {
                "An account with your email address already exists, and this Discord login cannot be linked to it automatically: Guildhall links only to an account whose email address has been verified, if at all. Verify the address on that account, or contact the administrator."
            }
            Inactive => "Your account is disabled. Contact the administrator.",
            CrossOrigin { .. } => {
                "This request came from another site, so Guildhall refused it and nothing changed. To sign out, use the Log out button on Guildhall's own pages."
            }
            FormToken => {
                "This form was not sent from your current Guildhall session (it may be from before you signed in again), so nothing changed. Reload the page and try again."
            }
            GuildForbidden => {
                "Managing this server's settings needs Owner, Administrator or Manage Server in Discord. If you were just given one of them, wait a moment and reload."
            }
            BotNotPresent => {
                "The bot is not in this server, so there is nothing to set up yet. Invite it from the server's page first."
            }
            SettingsChanged => {
                "Someone else changed these settings while you were editing. Reload the page to see their changes, then make yours again."
            }
            TagLimitReached => {
                "A server can have at most 200 tags. Delete one you no longer need to make room."
            }
            Validation(_) => "Some of what was sent is not valid, so nothing changed.",
            CodeRejected(_) => "Discord did not accept the login. Please start again.",
            RateLimited { retry_after } => {
                return Cow::Owned(format!(
                    "Discord asked us to slow down. Please try again in {} seconds.",
                    PortalError::retry_after_secs(*retry_after)
                ));
            }
            TooManyLoginAttempts { retry_after } => {
                return Cow::Owned(format!(
                    "Too many sign-in attempts came from your network. Please try again in {} seconds.",
                    PortalError::retry_after_secs(*retry_after)
                ));
            }
            MetricsUnauthorized => "The metrics need the operator's bearer token.",
            PayloadTooLarge => {
                "The request was larger than Guildhall accepts, so nothing was done."
            }
            RequestTimeout => {
                "Guildhall could not answer in time (Discord may be slow). Please try again in a moment."
            }
            DiscordUnavailable(_) => {
                "We could not reach Discord to load your servers. Please try again in a moment."
            }
            TokenRefreshPending(_) => {
                "Your Discord authorization is being renewed and that is taking longer than usual. Please reload the page in a moment."
            }
            NotFound => "There is nothing here — or you are not a member of that server.",
            Internal { .. } | Startup { .. } | Store(_) | Io(_) => {
                "An internal error occurred. It has been logged; please try again."
            }
        })
    }
}
