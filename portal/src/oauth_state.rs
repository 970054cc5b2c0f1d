//! The OAuth `state`, as fastapi-users makes it — an HS256 JWT
//! `{"csrftoken", "aud": "fastapi-users:oauth-state", "exp"}` whose csrftoken
//! is also set in the `fastapiusersoauthcsrf` cookie — plus the sanitised
//! `next` path and PKCE.
//!
//! The PKCE verifier is random and lives only in the browser that started
//! the login (an HttpOnly cookie) and in the request to Discord's token
//! endpoint: nothing in the authorize URL or the state derives it, so a
//! callback URL seen by someone else cannot be finished without that
//! browser. The state carries the verifier's S256 challenge (public anyway:
//! it is in the authorize URL), so a verifier cookie from another login is
//! told apart before the code is spent.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use settings::Secret;

use crate::signing_keys::KeyRing;

pub const STATE_AUDIENCE: &str = "fastapi-users:oauth-state";
pub const STATE_LIFETIME_SECONDS: i64 = 3600;

#[derive(Debug, Serialize, Deserialize)]
struct StateClaims {
    csrftoken: String,
    aud: String,
    exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    /// The login's PKCE S256 challenge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pkce: Option<String>,
}

/// Why a state was refused; the codes are fastapi-users'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// Bad signature, garbage, or a wrong audience (fastapi-users answers the
    /// latter with a 500; a 400 is right).
    #[error("ACCESS_TOKEN_DECODE_ERROR")]
    Decode,
    #[error("ACCESS_TOKEN_ALREADY_EXPIRED")]
    Expired,
}

/// A login about to start: what goes to Discord and into the browser's
/// cookies.
pub struct NewLoginState {
    /// The OAuth `state` parameter.
    pub state: String,
    /// The CSRF cookie's value.
    pub csrftoken: String,
    /// The PKCE verifier cookie's value.
    pub code_verifier: Secret,
    pub code_challenge: String,
}

#[derive(Debug)]
pub struct VerifiedState {
    pub csrftoken: String,
    pub exp: i64,
    pub next: Option<String>,
    /// The PKCE challenge the login started with; none in a state signed
    /// before the verifier had a cookie of its own.
    pub code_challenge: Option<String>,
}

/// Signs the `state` of each login and checks it when Discord sends it back.
#[derive(Clone)]
pub struct LoginStateSigner {
    keys: KeyRing,
    validation: Validation,
}

impl std::fmt::Debug for LoginStateSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginStateSigner { .. }")
    }
}

impl LoginStateSigner {
    pub fn new(secret: &Secret) -> Self {
        Self::rotating(secret, &[])
    }

    /// Signs with `secret`; also accepts states signed with a `previous` one.
    pub fn rotating(secret: &Secret, previous: &[Secret]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[STATE_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "aud"]);
        validation.leeway = 0;
        LoginStateSigner {
            keys: KeyRing::new(secret, previous),
            validation,
        }
    }

    /// A fresh state for one login attempt, with its own random PKCE
    /// verifier.
    pub fn create(
        &self,
        next: Option<String>,
    ) -> Result<NewLoginState, jsonwebtoken::errors::Error> {
        let mut raw = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut raw);
        // 32 bytes → 43 url-safe characters, like Python's secrets.token_urlsafe(32).
        let csrftoken = URL_SAFE_NO_PAD.encode(raw);
        let code_verifier = Secret::new(discord::pkce::new_verifier());
        let code_challenge = discord::pkce::challenge(code_verifier.expose());
        let claims = StateClaims {
            csrftoken: csrftoken.clone(),
            aud: STATE_AUDIENCE.to_owned(),
            exp: chrono::Utc::now().timestamp() + STATE_LIFETIME_SECONDS,
            next,
            pkce: Some(code_challenge.clone()),
        };
        let state = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            self.keys.encoding(),
        )?;
        Ok(NewLoginState {
            state,
            csrftoken,
            code_verifier,
            code_challenge,
        })
    }

    pub fn verify(&self, state: &str) -> Result<VerifiedState, StateError> {
        use jsonwebtoken::errors::ErrorKind;
        let data = self
            .keys
            .decode::<StateClaims>(state, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => StateError::Expired,
                _ => StateError::Decode,
            })?;
        Ok(VerifiedState {
            csrftoken: data.claims.csrftoken,
            exp: data.claims.exp,
            next: data.claims.next,
            code_challenge: data.claims.pkce,
        })
    }
}

/// Constant-time comparison of the state's csrftoken with the cookie's.
pub fn csrf_matches(from_state: &str, from_cookie: Option<&str>) -> bool {
    match from_cookie {
        Some(c) => equal(from_state, c),
        None => false,
    }
}

/// Whether the verifier cookie belongs to the login whose state carries
/// `challenge`.
pub fn verifier_matches(challenge: &str, verifier: &str) -> bool {
    equal(challenge, &discord::pkce::challenge(verifier))
}

fn equal(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> LoginStateSigner {
        LoginStateSigner::new(&Secret::new("state-secret"))
    }

    #[test]
    fn round_trip_with_fastapi_users_claims() {
        let s = signer();
        let new = s.create(Some("/discord/guilds/1".into())).unwrap();
        assert_eq!(new.csrftoken.len(), 43);
        let claims: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(new.state.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            claims["aud"], "fastapi-users:oauth-state",
            "a plain string here"
        );
        assert_eq!(claims["csrftoken"], new.csrftoken.as_str());
        let v = s.verify(&new.state).unwrap();
        assert_eq!(v.csrftoken, new.csrftoken);
        assert_eq!(v.next.as_deref(), Some("/discord/guilds/1"));
        let verifier = new.code_verifier.expose();
        assert!((43..=128).contains(&verifier.len()));
        assert_eq!(discord::pkce::challenge(verifier), new.code_challenge);
        assert_eq!(claims["pkce"], new.code_challenge.as_str());
        assert_eq!(
            v.code_challenge.as_deref(),
            Some(new.code_challenge.as_str())
        );
        assert!(verifier_matches(&new.code_challenge, verifier));
        assert!(!new.state.contains(verifier) && verifier != new.csrftoken);
        // Every login has its own.
        let other = s.create(None).unwrap();
        assert_ne!(other.code_verifier, new.code_verifier);
        assert!(!verifier_matches(&other.code_challenge, verifier));
    }

    #[test]
    fn refusals() {
        let s = signer();
        assert_eq!(s.verify("garbage").unwrap_err(), StateError::Decode);
        let other = LoginStateSigner::new(&Secret::new("other"))
            .create(None)
            .unwrap();
        assert_eq!(s.verify(&other.state).unwrap_err(), StateError::Decode);
        // A session token (audience fastapi-users:auth) is not a state.
        let session = crate::session::token::SessionTokens::new(
            &Secret::new("state-secret"),
            std::time::Duration::from_secs(60),
        )
        .issue(1)
        .unwrap();
        assert_eq!(s.verify(session.expose()).unwrap_err(), StateError::Decode);
        let expired = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &StateClaims {
                csrftoken: "x".into(),
                aud: STATE_AUDIENCE.into(),
                exp: chrono::Utc::now().timestamp() - 5,
                next: None,
                pkce: None,
            },
            &jsonwebtoken::EncodingKey::from_secret(b"state-secret"),
        )
        .unwrap();
        assert_eq!(s.verify(&expired).unwrap_err(), StateError::Expired);
        assert!(csrf_matches("abc", Some("abc")));
        assert!(!csrf_matches("abc", Some("abd")));
        assert!(!csrf_matches("abc", None));
    }
}
