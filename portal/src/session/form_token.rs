//! The per-session form token: every form the portal serves carries it in
//! a hidden field, and every POST of a form must send it back (on top of
//! the `Origin` check of [`super::same_origin`]). Another site can make a
//! browser post a form, but cannot read the portal's pages to learn it.
//!
//! The token is a keyed hash of the session token, so it needs no storage,
//! is the same on every replica, and dies with the session.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use settings::Secret;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::error::PortalError;
use crate::session::current_user::session_token;

/// The form field that carries the token.
pub const FIELD: &str = "csrf_token";

/// Makes and checks form tokens; the key never leaves it.
#[derive(Clone)]
pub struct FormTokens {
    key: Hmac<Sha256>,
}

impl std::fmt::Debug for FormTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FormTokens")
    }
}

impl FormTokens {
    /// Keyed by a key derived from `AUTH_SECRET`, so a form token is never
    /// a valid signature of anything else signed with it.
    pub fn new(auth_secret: &Secret) -> Self {
        let mut derive = <Hmac<Sha256> as Mac>::new_from_slice(auth_secret.expose().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        derive.update(b"guildhall form token v1");
        let key = derive.finalize().into_bytes();
        FormTokens {
            key: <Hmac<Sha256> as Mac>::new_from_slice(&key)
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length")),
        }
    }

    /// The token of the session whose token is `session_token`.
    pub fn token_for(&self, session_token: &str) -> String {
        let mut mac = self.key.clone();
        mac.update(session_token.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

/// This request's form token: what its pages put in their forms and what
/// its POSTs must send back. Empty without a session (such requests are
/// refused as unauthenticated before any check).
pub struct FormToken(String);

impl FormToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Refuses (403 `CSRF_TOKEN_MISMATCH`) a form whose token is missing or
    /// is not this session's.
    pub fn check(&self, presented: Option<&str>) -> Result<(), PortalError> {
        let presented = presented.unwrap_or_default();
        let same: bool = presented.as_bytes().ct_eq(self.0.as_bytes()).into();
        if self.0.is_empty() || !same {
            return Err(PortalError::FormToken);
        }
        Ok(())
    }
}

impl FromRequestParts<AppState> for FormToken {
    type Rejection = PortalError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, PortalError> {
        Ok(FormToken(
            session_token(parts, &app.config.session.cookie_name)
                .map(|token| app.form_tokens.token_for(token))
                .unwrap_or_default(),
        ))
    }
}

/// A posted form whose token is this session's: its fields (the last of a
/// repeated name wins, the browser's CRLF line ends made `\n`, as the API
/// receives them) and the token, for the page shown again. Every form
/// handler takes this instead of checking by hand.
pub struct CheckedForm {
    pub fields: HashMap<String, String>,
    pub token: FormToken,
}

impl CheckedForm {
    /// A field's value, or empty when the form left it out.
    pub fn field(&self, name: &str) -> String {
        self.fields.get(name).cloned().unwrap_or_default()
    }
}

impl FromRequest<AppState> for CheckedForm {
    /// The body's own refusals (too large: 413) pass through as axum makes
    /// them; a wrong token is the portal's 403 page.
    type Rejection = Response;

    async fn from_request(request: Request, app: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let token = FormToken::from_request_parts(&mut parts, app)
            .await
            .map_err(IntoResponse::into_response)?;
        let body = Bytes::from_request(Request::from_parts(parts, body), app)
            .await
            .map_err(IntoResponse::into_response)?;
        let fields: HashMap<String, String> = url::form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), v.replace("\r\n", "\n")))
            .collect();
        token
            .check(fields.get(FIELD).map(String::as_str))
            .map_err(IntoResponse::into_response)?;
        Ok(CheckedForm { fields, token })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_per_session_and_per_secret() {
        let tokens = FormTokens::new(&Secret::new("secret-one"));
        let a = tokens.token_for("session-a");
        assert_eq!(a, tokens.token_for("session-a"));
        assert_ne!(a, tokens.token_for("session-b"));
        assert_ne!(
            a,
            FormTokens::new(&Secret::new("secret-two")).token_for("session-a")
        );
        assert_eq!(a.len(), 43);

        let guard = FormToken(a.clone());
        assert!(guard.check(Some(&a)).is_ok());
        assert!(matches!(guard.check(None), Err(PortalError::FormToken)));
        assert!(matches!(guard.check(Some("")), Err(PortalError::FormToken)));
        assert!(matches!(
            guard.check(Some(&a[..42])),
            Err(PortalError::FormToken)
        ));
        assert!(matches!(
            FormToken(String::new()).check(Some("")),
            Err(PortalError::FormToken)
        ));
    }
}
