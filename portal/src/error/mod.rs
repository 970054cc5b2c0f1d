//! The portal's one error type. Handlers return it; `IntoResponse` turns it
//! into fastapi-users' `{"detail": CODE}` with the right status and keeps the
//! error itself in the response's extensions, where the middleware finds it:
//! `middleware::error_log` logs it, `middleware::error_pages` turns it into
//! an HTML page on browser routes. Nothing here logs.
//!
//! The `detail` codes are part of the API (fastapi-users' where it has one,
//! see docs/fastapi-users-compat.md) and come from [`PortalError::detail`]'s
//! explicit match; `Display` is for logs and may be reworded freely.

mod page;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use discord::DiscordError;
use guilds::ListingError;

use crate::guild_admin::fields::FieldError;

pub use page::ErrorPage;

fn summary(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.loc.join("."), e.kind))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A cause of any kind, kept for the log.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// No valid session: missing, garbled, tampered, expired or wrong-audience
    /// token, unknown or inactive user.
    #[error("no valid session")]
    Unauthorized,
    /// Discord sent the user back with `error=…` (consent denied).
    #[error("Discord returned OAuth error {error:?}")]
    OAuthDenied { error: String },
    #[error("the callback is missing its code or state")]
    MissingCodeOrState,
    /// The OAuth state is garbled, signed with another key, or has the wrong
    /// audience.
    #[error("the OAuth state does not decode")]
    StateDecode,
    #[error("the OAuth state has expired")]
    StateExpired,
    /// The CSRF cookie is missing or differs, or the state was already used.
    #[error("the OAuth state does not match the CSRF cookie or was already used")]
    InvalidState,
    /// The callback came without the PKCE verifier cookie: not from the
    /// browser that started the login (or one that lost its cookies).
    #[error("the callback has no PKCE verifier cookie")]
    PkceVerifierMissing,
    /// The verifier cookie belongs to another login than the state's.
    #[error("the PKCE verifier cookie does not belong to this login")]
    PkceVerifierMismatch,
    #[error("Discord reports no verified email for this account")]
    NoVerifiedEmail,
    #[error("another user already has this email and associate-by-email is off")]
    UserAlreadyExists,
    #[error("the user is inactive")]
    Inactive,
    /// A cookie-authenticated request to end sessions came from another
    /// site (cross-site request forgery, or a sibling subdomain).
    #[error("refused a cookie-authenticated request from another site ({seen})")]
    CrossOrigin {
        /// What `Origin` and `Sec-Fetch-Site` said, cut short.
        seen: String,
    },
    /// A form was posted without this session's form token, or with another's.
    #[error("the form token is missing or is not this session's")]
    FormToken,
    /// The user may not manage the guild (not owner, Administrator or
    /// Manage Server), or is not in it.
    #[error("the user may not manage this guild")]
    GuildForbidden,
    #[error("the bot is not in this guild")]
    BotNotPresent,
    /// The settings were saved by someone else since the form was shown.
    #[error("the guild's settings changed since they were read")]
    SettingsChanged,
    #[error("the guild already has the most tags allowed")]
    TagLimitReached,
    /// Fields that do not pass their rules, each with where and why, as
    /// FastAPI reports request validation errors.
    #[error("invalid request fields: {}", summary(.0))]
    Validation(Vec<FieldError>),
    /// Discord refused the authorization code (expired, reused, wrong verifier).
    #[error("Discord refused the authorization code")]
    CodeRejected(#[source] DiscordError),
    /// The Discord authorization behind the session is gone.
    #[error("the Discord authorization behind the session is gone")]
    ReauthRequired,
    /// This client address started or finished too many logins lately
    /// (`LOGIN_RATE_LIMIT_PER_MINUTE`).
    #[error("too many logins from this address; next in {:.3} s", retry_after.as_secs_f64())]
    TooManyLoginAttempts { retry_after: Duration },
    /// `/metrics` without the `METRICS_TOKEN` it wants.
    #[error("metrics requested without the right bearer token")]
    MetricsUnauthorized,
    /// The request body is over `REQUEST_BODY_LIMIT_BYTES`.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// The answer took longer than `REQUEST_TIMEOUT_SECONDS`.
    #[error("no answer within the request timeout")]
    RequestTimeout,
    #[error("rate limited by Discord for {:.3} s", retry_after.as_secs_f64())]
    RateLimited { retry_after: Duration },
    #[error("Discord is unavailable")]
    DiscordUnavailable(#[source] DiscordError),
    /// Another replica was still renewing the user's Discord token when this
    /// request stopped waiting for it.
    #[error("{0}")]
    TokenRefreshPending(#[source] ListingError),
    #[error("not found")]
    NotFound,
    /// A failure of ours while answering a request (see [`IntoInternal`]).
    #[error("internal error while {context}")]
    Internal {
        context: &'static str,
        #[source]
        source: BoxError,
    },
    /// The portal could not start.
    #[error("start-up: {context}")]
    Startup {
        context: String,
        #[source]
        source: BoxError,
    },
    /// The database cannot serve now (unreachable, pool timed out, shutting
    /// down, locked): a retry shortly may succeed. Made by `From<StoreError>`
    /// for every error [`store::StoreError::is_unavailable`] accepts.
    #[error("the database is unavailable")]
    DatabaseUnavailable(#[source] store::StoreError),
    #[error(transparent)]
    Store(store::StoreError),
    #[error("I/O error")]
    Io(#[from] std::io::Error),
}

/// What the database-unavailable answer asks clients to wait, in seconds: a
/// restarting server or a failover takes a few.
pub const DATABASE_RETRY_AFTER_SECS: u64 = 5;

impl From<store::StoreError> for PortalError {
    fn from(e: store::StoreError) -> Self {
        if e.is_unavailable() {
            PortalError::DatabaseUnavailable(e)
        } else {
            PortalError::Store(e)
        }
    }
}

/// `.internal("what we were doing")` on any fallible result: the one way a
/// failure of ours becomes a [`PortalError::Internal`] that keeps its cause.
pub trait IntoInternal<T> {
    fn internal(self, context: &'static str) -> Result<T, PortalError>;
}

impl<T, E: Into<BoxError>> IntoInternal<T> for Result<T, E> {
    fn internal(self, context: &'static str) -> Result<T, PortalError> {
        self.map_err(|e| PortalError::Internal {
            context,
            source: e.into(),
        })
    }
}

impl PortalError {
    /// Start-up failed while doing `context` (which may name a variable).
    pub fn startup(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        PortalError::Startup {
            context: context.into(),
            source: source.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        use PortalError::*;
        match self {
            Unauthorized | ReauthRequired | MetricsUnauthorized => StatusCode::UNAUTHORIZED,
            OAuthDenied { .. }
            | MissingCodeOrState
            | StateDecode
            | StateExpired
            | InvalidState
            | PkceVerifierMissing
            | PkceVerifierMismatch
            | NoVerifiedEmail
            | UserAlreadyExists
            | Inactive
            | CodeRejected(_) => StatusCode::BAD_REQUEST,
            CrossOrigin { .. } | FormToken | GuildForbidden => StatusCode::FORBIDDEN,
            BotNotPresent | SettingsChanged | TagLimitReached => StatusCode::CONFLICT,
            Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            RateLimited { .. } | TooManyLoginAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            // Not 408: that says the client was slow, and browsers resend.
            RequestTimeout => StatusCode::SERVICE_UNAVAILABLE,
            DiscordUnavailable(_) => StatusCode::BAD_GATEWAY,
            TokenRefreshPending(_) => StatusCode::SERVICE_UNAVAILABLE,
            DatabaseUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            NotFound => StatusCode::NOT_FOUND,
            Internal { .. } | Startup { .. } | Store(_) | Io(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The `detail` the API answers with: fastapi-users' codes where it has
    /// one, Discord's own `error` for a denied consent.
    pub fn detail(&self) -> Cow<'static, str> {
        use PortalError::*;
        Cow::Borrowed(match self {
            Unauthorized => "Unauthorized",
            OAuthDenied { error } => return Cow::Owned(error.clone()),
            MissingCodeOrState => "OAUTH_MISSING_CODE_OR_STATE",
            StateDecode => "ACCESS_TOKEN_DECODE_ERROR",
            StateExpired => "ACCESS_TOKEN_ALREADY_EXPIRED",
            InvalidState => "OAUTH_INVALID_STATE",
            PkceVerifierMissing => "OAUTH_PKCE_VERIFIER_MISSING",
            PkceVerifierMismatch => "OAUTH_PKCE_VERIFIER_MISMATCH",
            NoVerifiedEmail => "OAUTH_NOT_AVAILABLE_EMAIL",
            UserAlreadyExists => "OAUTH_USER_ALREADY_EXISTS",
            Inactive => "LOGIN_BAD_CREDENTIALS",
            CrossOrigin { .. } => "CSRF_ORIGIN_MISMATCH",
            FormToken => "CSRF_TOKEN_MISMATCH",
            GuildForbidden => "GUILD_FORBIDDEN",
            BotNotPresent => "BOT_NOT_PRESENT",
            SettingsChanged => "SETTINGS_CHANGED",
            TagLimitReached => "TAG_LIMIT_REACHED",
            // The response carries the list itself (see `detail_json`).
            Validation(_) => "VALIDATION_ERROR",
            CodeRejected(_) => "OAUTH_CODE_REJECTED",
            ReauthRequired => "DISCORD_REAUTH_REQUIRED",
            RateLimited { .. } => "DISCORD_RATE_LIMITED",
            TooManyLoginAttempts { .. } => "TOO_MANY_REQUESTS",
            MetricsUnauthorized => "Unauthorized",
            PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            RequestTimeout => "REQUEST_TIMEOUT",
            DiscordUnavailable(_) => "DISCORD_UNAVAILABLE",
            TokenRefreshPending(_) => "DISCORD_TOKEN_REFRESH_PENDING",
            DatabaseUnavailable(_) => "SERVICE_UNAVAILABLE",
            NotFound => "Not Found",
            Internal { .. } | Startup { .. } | Store(_) | Io(_) => "Internal Server Error",
        })
    }

    /// The `detail` as the response body carries it: the code, or for
    /// invalid fields FastAPI's list of `{"loc", "msg", "type"}`.
    pub fn detail_json(&self) -> serde_json::Value {
        match self {
            PortalError::Validation(errors) => serde_json::json!(errors),
            other => serde_json::Value::from(other.detail().into_owned()),
        }
    }

    /// The `reason` label of `guildhall_refusals_total` for a refused
    /// request: snake_case, one per kind of refusal.
    pub fn reason(&self) -> &'static str {
        use PortalError::*;
        match self {
            Unauthorized => "unauthorized",
            OAuthDenied { .. } => "oauth_denied",
            MissingCodeOrState => "oauth_missing_code_or_state",
            StateDecode => "oauth_state_decode_error",
            StateExpired => "oauth_state_expired",
            InvalidState => "oauth_invalid_state",
            PkceVerifierMissing => "oauth_pkce_verifier_missing",
            PkceVerifierMismatch => "oauth_pkce_verifier_mismatch",
            NoVerifiedEmail => "oauth_not_available_email",
            UserAlreadyExists => "oauth_user_already_exists",
            Inactive => "login_bad_credentials",
            CrossOrigin { .. } => "csrf_origin_mismatch",
            FormToken => "csrf_token_mismatch",
            GuildForbidden => "guild_forbidden",
            BotNotPresent => "bot_not_present",
            SettingsChanged => "settings_changed",
            TagLimitReached => "tag_limit_reached",
            Validation(_) => "validation_error",
            TooManyLoginAttempts { .. } => "login_rate_limited",
            MetricsUnauthorized => "metrics_unauthorized",
            PayloadTooLarge => "payload_too_large",
            RequestTimeout => "request_timeout",
            CodeRejected(_) => "oauth_code_rejected",
            ReauthRequired => "discord_reauth_required",
            RateLimited { .. } => "discord_rate_limited",
            DiscordUnavailable(_) => "discord_unavailable",
            TokenRefreshPending(_) => "discord_token_refresh_pending",
            DatabaseUnavailable(_) => "database_unavailable",
            NotFound => "not_found",
            Internal { .. } | Startup { .. } | Store(_) | Io(_) => "internal",
        }
    }

    /// Whole seconds to wait, for `Retry-After` and the page that says so.
    fn retry_after_secs(retry_after: Duration) -> u64 {
        retry_after.as_secs_f64().ceil().max(1.0) as u64
    }
}

impl From<ListingError> for PortalError {
    fn from(e: ListingError) -> Self {
        match e {
            ListingError::ReauthRequired => PortalError::ReauthRequired,
            ListingError::RateLimited { retry_after } => PortalError::RateLimited { retry_after },
            ListingError::Discord(d) => PortalError::DiscordUnavailable(d),
            e @ ListingError::RefreshPending { .. } => PortalError::TokenRefreshPending(e),
            ListingError::RefreshTask(e) => PortalError::Internal {
                context: "refreshing the Discord token",
                source: e.into(),
            },
            ListingError::Store(s) => s.into(),
        }
    }
}

/// Where a failed request's error waits for the middleware. An `Arc`:
/// extensions must be `Clone`, and the error's causes are not.
#[derive(Debug, Clone)]
pub struct RequestError(pub Arc<PortalError>);

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (
            status,
            Json(serde_json::json!({"detail": self.detail_json()})),
        )
            .into_response();
        if let PortalError::RateLimited { retry_after }
        | PortalError::TooManyLoginAttempts { retry_after } = &self
        {
            let secs = PortalError::retry_after_secs(*retry_after);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let PortalError::MetricsUnauthorized = &self {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let PortalError::DatabaseUnavailable(_) = &self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(DATABASE_RETRY_AFTER_SECS),
            );
        }
        if let PortalError::TokenRefreshPending(_) = &self {
            // The lease it waited for has expired by now: a retry takes it.
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
            .extensions_mut()
            .insert(RequestError(Arc::new(self)));
        response
    }
}

/// An error and its causes on one line, `outer: inner: innermost`, for logs
/// and the binary's last words. A cause whose text its parent already quotes
/// is not repeated.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut said = self.0.to_string();
        f.write_str(&said)?;
        let mut next = self.0.source();
        while let Some(cause) = next {
            let text = cause.to_string();
            if !said.contains(&text) {
                write!(f, ": {text}")?;
            }
            said = text;
            next = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discord_down() -> DiscordError {
        DiscordError::Server { status: 503 }
    }

    /// One of each variant with the status and `detail` the API promises.
    /// The match below has no wildcard: a new variant fails to compile here
    /// until it is given a row.
    fn every_variant() -> Vec<(PortalError, u16, &'static str)> {
        use PortalError::*;
        let rows = vec![
            (Unauthorized, 401, "Unauthorized"),
            (
                OAuthDenied {
                    error: "access_denied".into(),
                },
                400,
                "access_denied",
            ),
            (MissingCodeOrState, 400, "OAUTH_MISSING_CODE_OR_STATE"),
            (StateDecode, 400, "ACCESS_TOKEN_DECODE_ERROR"),
            (StateExpired, 400, "ACCESS_TOKEN_ALREADY_EXPIRED"),
            (InvalidState, 400, "OAUTH_INVALID_STATE"),
            (PkceVerifierMissing, 400, "OAUTH_PKCE_VERIFIER_MISSING"),
            (PkceVerifierMismatch, 400, "OAUTH_PKCE_VERIFIER_MISMATCH"),
            (NoVerifiedEmail, 400, "OAUTH_NOT_AVAILABLE_EMAIL"),
            (UserAlreadyExists, 400, "OAUTH_USER_ALREADY_EXISTS"),
            (Inactive, 400, "LOGIN_BAD_CREDENTIALS"),
            (
                CrossOrigin {
                    seen: "Origin: https://evil.example".into(),
                },
                403,
                "CSRF_ORIGIN_MISMATCH",
            ),
            (FormToken, 403, "CSRF_TOKEN_MISMATCH"),
            (GuildForbidden, 403, "GUILD_FORBIDDEN"),
            (BotNotPresent, 409, "BOT_NOT_PRESENT"),
            (SettingsChanged, 409, "SETTINGS_CHANGED"),
            (TagLimitReached, 409, "TAG_LIMIT_REACHED"),
            (
                CodeRejected(DiscordError::Unauthorized),
                400,
                "OAUTH_CODE_REJECTED",
            ),
            (ReauthRequired, 401, "DISCORD_REAUTH_REQUIRED"),
            (
                RateLimited {
                    retry_after: Duration::from_millis(1500),
                },
                429,
                "DISCORD_RATE_LIMITED",
            ),
            (
                TooManyLoginAttempts {
                    retry_after: Duration::from_millis(2500),
                },
                429,
                "TOO_MANY_REQUESTS",
            ),
            (MetricsUnauthorized, 401, "Unauthorized"),
            (PayloadTooLarge, 413, "PAYLOAD_TOO_LARGE"),
            (RequestTimeout, 503, "REQUEST_TIMEOUT"),
            (
                DiscordUnavailable(discord_down()),
                502,
                "DISCORD_UNAVAILABLE",
            ),
            (
                TokenRefreshPending(ListingError::RefreshPending {
                    waited: Duration::from_secs(31),
                }),
                503,
                "DISCORD_TOKEN_REFRESH_PENDING",
            ),
            (
                DatabaseUnavailable(store::StoreError::Contention(8)),
                503,
                "SERVICE_UNAVAILABLE",
            ),
            (NotFound, 404, "Not Found"),
            (
                Err::<(), _>(std::fmt::Error)
                    .internal("testing")
                    .unwrap_err(),
                500,
                "Internal Server Error",
            ),
            (
                PortalError::startup("testing", std::fmt::Error),
                500,
                "Internal Server Error",
            ),
            (
                Store(store::StoreError::UserAlreadyExists),
                500,
                "Internal Server Error",
            ),
            (
                Io(std::io::Error::other("disk")),
                500,
                "Internal Server Error",
            ),
        ];
        for (e, _, _) in &rows {
            match e {
                Unauthorized
                | OAuthDenied { .. }
                | MissingCodeOrState
                | StateDecode
                | StateExpired
                | InvalidState
                | PkceVerifierMissing
                | PkceVerifierMismatch
                | NoVerifiedEmail
                | UserAlreadyExists
                | Inactive
                | CrossOrigin { .. }
                | FormToken
                | GuildForbidden
                | BotNotPresent
                | SettingsChanged
                | TagLimitReached
                // Its body is a list: see `invalid_fields_answer_like_fastapi`.
                | Validation(_)
                | CodeRejected(_)
                | ReauthRequired
                | RateLimited { .. }
                | TooManyLoginAttempts { .. }
                | MetricsUnauthorized
                | PayloadTooLarge
                | RequestTimeout
                | DiscordUnavailable(_)
                | TokenRefreshPending(_)
                | DatabaseUnavailable(_)
                | NotFound
                | Internal { .. }
                | Startup { .. }
                | Store(_)
                | Io(_) => {}
            }
        }
        rows
    }

    #[tokio::test]
    async fn every_variant_has_its_status_and_detail() {
        for (error, status, detail) in every_variant() {
            let name = format!("{error:?}");
            assert_eq!(error.status().as_u16(), status, "{name}");
            assert_eq!(error.detail(), detail, "{name}");
            let reason = error.reason();
            assert!(
                reason.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{name}: {reason}"
            );
            let response = error.into_response();
            assert_eq!(response.status().as_u16(), status, "{name}");
            assert!(
                response.extensions().get::<RequestError>().is_some(),
                "{name}: the error waits for the middleware"
            );
            let body = axum::body::to_bytes(response.into_body(), 1 << 16)
                .await
                .unwrap();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(json, serde_json::json!({ "detail": detail }), "{name}");
        }
    }

    /// Every error page has its words in both languages (a key missing from
    /// the catalogue would show as the key itself).
    #[test]
    fn every_error_page_is_worded_in_english_and_korean() {
        for (error, _, _) in every_variant() {
            let page = error.page();
            for lang in i18n::Lang::ALL {
                let (title, message) = (page.title(lang), page.message(lang));
                assert_ne!(title, page.title, "{error:?} {lang}");
                assert_ne!(message, page.message, "{error:?} {lang}");
            }
            let korean = page.message(i18n::Lang::Ko);
            assert!(
                korean.chars().any(|c| ('가'..='힣').contains(&c)),
                "{error:?}: {korean}"
            );
        }
        let page = PortalError::RateLimited {
            retry_after: Duration::from_millis(1500),
        }
        .page();
        assert!(page.message(i18n::Lang::Ko).contains("2초"));
        assert!(page.message(i18n::Lang::En).contains("2 seconds"));
    }

    #[tokio::test]
    async fn invalid_fields_answer_like_fastapi() {
        let error = PortalError::Validation(vec![FieldError::new(
            &["body", "welcome", "message"],
            "String should have at most 2000 characters",
            "string_too_long",
        )]);
        assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let response = error.into_response();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"detail": [{
                "loc": ["body", "welcome", "message"],
                "msg": "String should have at most 2000 characters",
                "type": "string_too_long",
            }]})
        );
    }

    #[test]
    fn rate_limits_say_when_to_retry() {
        let response = PortalError::RateLimited {
            retry_after: Duration::from_millis(1500),
        }
        .into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        let response = PortalError::TooManyLoginAttempts {
            retry_after: Duration::from_millis(2500),
        }
        .into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
    }

    #[test]
    fn the_chain_names_every_cause_once() {
        let e = Err::<(), _>(std::io::Error::other("connection reset"))
            .internal("rendering a page")
            .unwrap_err();
        assert_eq!(
            Chain(&e).to_string(),
            "internal error while rendering a page: connection reset"
        );
        let e = PortalError::DiscordUnavailable(discord_down());
        assert_eq!(
            Chain(&e).to_string(),
            "Discord is unavailable: Discord server error 503"
        );
        // A cause already quoted by its parent is not said twice.
        #[derive(Debug, thiserror::Error)]
        #[error("database error: {0}")]
        struct Quoting(#[source] std::io::Error);
        let e = Quoting(std::io::Error::other("refused"));
        assert_eq!(Chain(&e).to_string(), "database error: refused");
    }
}
