//! The portal's one error type. Handlers return it; `IntoResponse` turns it
//! into fastapi-users' `{"detail": CODE}` with the right status, and attaches
//! a [`ErrorPage`] that the browser routes' layer (`pages::html_errors`)
//! renders as an HTML page instead.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use guilds::ListingError;

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// No valid session: missing, garbled, tampered, expired or wrong-audience
    /// token, unknown or inactive user.
    #[error("Unauthorized")]
    Unauthorized,
    /// Discord sent the user back with `error=…` (consent denied).
    #[error("OAuth error from Discord: {error}")]
    OAuthDenied { error: String },
    #[error("the callback is missing its code or state")]
    MissingCodeOrState,
    #[error("ACCESS_TOKEN_DECODE_ERROR")]
    StateDecode,
    #[error("ACCESS_TOKEN_ALREADY_EXPIRED")]
    StateExpired,
    /// The CSRF cookie is missing or differs, or the state was already used.
    #[error("OAUTH_INVALID_STATE")]
    InvalidState,
    #[error("OAUTH_NOT_AVAILABLE_EMAIL")]
    NoVerifiedEmail,
    #[error("OAUTH_USER_ALREADY_EXISTS")]
    UserAlreadyExists,
    #[error("LOGIN_BAD_CREDENTIALS")]
    Inactive,
    /// Discord refused the authorization code (expired, reused, wrong verifier).
    #[error("Discord refused the authorization code")]
    CodeRejected,
    /// The Discord authorization behind the session is gone.
    #[error("DISCORD_REAUTH_REQUIRED")]
    ReauthRequired,
    #[error("rate limited by Discord")]
    RateLimited { retry_after: Duration },
    #[error("Discord is unavailable: {0}")]
    DiscordUnavailable(String),
    #[error("not found")]
    NotFound,
    #[error("internal error: {0}")]
    Internal(String),
    #[error("start-up: {0}")]
    Startup(String),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl From<ListingError> for PortalError {
    fn from(e: ListingError) -> Self {
        match e {
            ListingError::ReauthRequired => PortalError::ReauthRequired,
            ListingError::RateLimited { retry_after } => PortalError::RateLimited { retry_after },
            ListingError::Discord(d) => PortalError::DiscordUnavailable(d.to_string()),
            ListingError::Store(s) => PortalError::Store(s),
        }
    }
}

/// What the HTML layer needs to render an error page.
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
    pub code: String,
    /// Send the browser to the login page instead of showing a page.
    pub to_login: bool,
    /// The session must be dropped too (its Discord authorization is gone).
    pub clear_session: bool,
}

impl PortalError {
    fn status(&self) -> StatusCode {
        use PortalError::*;
        match self {
            Unauthorized | ReauthRequired => StatusCode::UNAUTHORIZED,
            OAuthDenied { .. }
            | MissingCodeOrState
            | StateDecode
            | StateExpired
            | InvalidState
            | NoVerifiedEmail
            | UserAlreadyExists
            | Inactive
            | CodeRejected => StatusCode::BAD_REQUEST,
            RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            DiscordUnavailable(_) => StatusCode::BAD_GATEWAY,
            NotFound => StatusCode::NOT_FOUND,
            Internal(_) | Startup(_) | Store(_) | Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `detail` the API answers with: fastapi-users' codes where it has one.
    fn detail(&self) -> String {
        use PortalError::*;
        match self {
            Unauthorized => "Unauthorized".into(),
            OAuthDenied { error } => error.clone(),
            MissingCodeOrState => "OAUTH_MISSING_CODE_OR_STATE".into(),
            CodeRejected => "OAUTH_CODE_REJECTED".into(),
            RateLimited { .. } => "DISCORD_RATE_LIMITED".into(),
            DiscordUnavailable(_) => "DISCORD_UNAVAILABLE".into(),
            NotFound => "Not Found".into(),
            Internal(_) | Startup(_) | Store(_) | Io(_) => "Internal Server Error".into(),
            other => other.to_string(),
        }
    }

    fn page(&self) -> ErrorPage {
        use PortalError::*;
        let (title, message): (&'static str, String) = match self {
            Unauthorized => ("Please sign in", "Sign in with Discord to continue.".into()),
            ReauthRequired => (
                "Please sign in again",
                "Your Discord authorization has expired or was revoked. Sign in again to continue.".into(),
            ),
            OAuthDenied { .. } => (
                "Login cancelled",
                "You did not authorize Guildhall on Discord, so you are not signed in. You can try again whenever you like.".into(),
            ),
            MissingCodeOrState => (
                "Incomplete login",
                "Discord's answer was missing part of the login. Please start again.".into(),
            ),
            StateDecode | InvalidState => (
                "Login link not valid",
                "This login link is invalid or was already used. Please start the login again from this browser.".into(),
            ),
            StateExpired => (
                "Login link expired",
                "This login took too long and the link expired. Please start again.".into(),
            ),
            NoVerifiedEmail => (
                "Verified email needed",
                "Your Discord account has no verified email address. Verify your email in Discord's settings, then sign in again.".into(),
            ),
            UserAlreadyExists => (
                "Account already exists",
                "An account with your email address already exists and cannot be linked automatically. Contact the administrator.".into(),
            ),
            Inactive => (
                "Account disabled",
                "Your account is disabled. Contact the administrator.".into(),
            ),
            CodeRejected => (
                "Login failed",
                "Discord did not accept the login. Please start again.".into(),
            ),
            RateLimited { retry_after } => (
                "Discord is busy",
                format!(
                    "Discord asked us to slow down. Please try again in {} seconds.",
                    retry_after.as_secs_f64().ceil().max(1.0) as u64
                ),
            ),
            DiscordUnavailable(_) => (
                "Discord is unavailable",
                "We could not reach Discord to load your servers. Please try again in a moment.".into(),
            ),
            NotFound => (
                "Not found",
                "There is nothing here — or you are not a member of that server.".into(),
            ),
            Internal(_) | Startup(_) | Store(_) | Io(_) => (
                "Something went wrong",
                "An internal error occurred. It has been logged; please try again.".into(),
            ),
        };
        ErrorPage {
            status: self.status(),
            title,
            message,
            code: self.detail(),
            to_login: matches!(self, Unauthorized | ReauthRequired),
            clear_session: matches!(self, ReauthRequired),
        }
    }
}

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            // The Display of every variant is free of tokens and secrets.
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::info!(error = %self, status = status.as_u16(), "request refused");
        }
        let mut response =
            (status, Json(serde_json::json!({"detail": self.detail()}))).into_response();
        if let PortalError::RateLimited { retry_after } = &self {
            let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response.extensions_mut().insert(self.page());
        response
    }
}
