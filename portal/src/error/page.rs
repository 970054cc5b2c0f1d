//! What a person sees for each error on a browser route: a title and a
//! message, as catalogue keys (shared/i18n) kept apart from the API's
//! `detail` codes, so the wording can change or be translated without
//! touching the API.

use std::borrow::Cow;

use axum::http::StatusCode;
use i18n::Lang;

use super::PortalError;

/// What the HTML layer needs to render an error page.
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub status: StatusCode,
    /// Catalogue key of the title.
    pub title: &'static str,
    /// Catalogue key of the message.
    pub message: &'static str,
    /// The message's `{ $seconds }`, for the errors that say when to retry.
    pub seconds: Option<u64>,
    /// The API's `detail`, shown small for support requests.
    pub code: Cow<'static, str>,
    /// Send the browser to the login page instead of showing a page.
    pub to_login: bool,
    /// The session must be dropped too (its Discord authorization is gone).
    pub clear_session: bool,
    /// The same request will likely succeed shortly: the page offers to
    /// make it again, keeping the person where they were.
    pub retry_here: bool,
}

impl ErrorPage {
    pub fn title(&self, lang: Lang) -> String {
        i18n::text(lang, self.title)
    }

    pub fn message(&self, lang: Lang) -> String {
        let mut args = i18n::Args::new();
        if let Some(seconds) = self.seconds {
            args.set("seconds", seconds);
        }
        i18n::text_with(lang, self.message, &args)
    }
}

impl PortalError {
    pub fn page(&self) -> ErrorPage {
        let (title, message) = self.words();
        ErrorPage {
            status: self.status(),
            title,
            message,
            seconds: match self {
                PortalError::RateLimited { retry_after }
                | PortalError::TooManyLoginAttempts { retry_after } => {
                    Some(PortalError::retry_after_secs(*retry_after))
                }
                PortalError::DatabaseUnavailable(_) => Some(super::DATABASE_RETRY_AFTER_SECS),
                _ => None,
            },
            code: self.detail(),
            to_login: matches!(
                self,
                PortalError::Unauthorized | PortalError::ReauthRequired
            ),
            clear_session: matches!(self, PortalError::ReauthRequired),
            retry_here: matches!(self, PortalError::DatabaseUnavailable(_)),
        }
    }

    /// The catalogue keys of the page's title and message.
    fn words(&self) -> (&'static str, &'static str) {
        use PortalError::*;
        match self {
            Unauthorized => ("error-unauthorized-title", "error-unauthorized-message"),
            ReauthRequired => ("error-reauth-title", "error-reauth-message"),
            OAuthDenied { .. } => ("error-oauth-denied-title", "error-oauth-denied-message"),
            MissingCodeOrState => (
                "error-incomplete-login-title",
                "error-incomplete-login-message",
            ),
            StateDecode | InvalidState => {
                ("error-invalid-state-title", "error-invalid-state-message")
            }
            StateExpired => ("error-state-expired-title", "error-state-expired-message"),
            PkceVerifierMissing | PkceVerifierMismatch => {
                ("error-pkce-title", "error-pkce-message")
            }
            NoVerifiedEmail => (
                "error-no-verified-email-title",
                "error-no-verified-email-message",
            ),
            UserAlreadyExists => ("error-user-exists-title", "error-user-exists-message"),
            Inactive => ("error-inactive-title", "error-inactive-message"),
            CrossOrigin { .. } => ("error-cross-origin-title", "error-cross-origin-message"),
            FormToken => ("error-form-token-title", "error-form-token-message"),
            GuildForbidden => (
                "error-guild-forbidden-title",
                "error-guild-forbidden-message",
            ),
            BotNotPresent => (
                "error-bot-not-present-title",
                "error-bot-not-present-message",
            ),
            SettingsChanged => (
                "error-settings-changed-title",
                "error-settings-changed-message",
            ),
            TagLimitReached => ("error-tag-limit-title", "error-tag-limit-message"),
            Validation(_) => ("error-validation-title", "error-validation-message"),
            CodeRejected(_) => ("error-code-rejected-title", "error-code-rejected-message"),
            RateLimited { .. } => ("error-rate-limited-title", "error-rate-limited-message"),
            TooManyLoginAttempts { .. } => (
                "error-too-many-logins-title",
                "error-too-many-logins-message",
            ),
            MetricsUnauthorized => (
                "error-metrics-unauthorized-title",
                "error-metrics-unauthorized-message",
            ),
            PayloadTooLarge => ("error-too-large-title", "error-too-large-message"),
            RequestTimeout => ("error-timeout-title", "error-timeout-message"),
            DiscordUnavailable(_) => (
                "error-discord-unavailable-title",
                "error-discord-unavailable-message",
            ),
            TokenRefreshPending(_) => (
                "error-refresh-pending-title",
                "error-refresh-pending-message",
            ),
            DatabaseUnavailable(_) => (
                "error-database-unavailable-title",
                "error-database-unavailable-message",
            ),
            NotFound => ("error-not-found-title", "error-not-found-message"),
            Internal { .. } | Startup { .. } | Store(_) | Io(_) => {
                ("error-internal-title", "error-internal-message")
            }
        }
    }
}
