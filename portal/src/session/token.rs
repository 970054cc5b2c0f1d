//! The session token, exactly as fastapi-users' `JWTStrategy` writes and
//! reads it: HS256, claims `{"sub": "<user id>", "aud": ["fastapi-users:auth"],
//! "exp": <epoch>}` and nothing else. A token minted by fastapi-users with the
//! same secret is accepted here, and ours there.

use std::time::Duration;

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};
use settings::Secret;
use store::UserId;

use crate::signing_keys::KeyRing;

pub const AUDIENCE: &str = "fastapi-users:auth";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    aud: Vec<String>,
    exp: i64,
}

/// Why a token was refused; every kind becomes the same 401 to the client.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Garbled, tampered, wrongly signed, or without the claims required.
    #[error("invalid session token")]
    Invalid(#[source] jsonwebtoken::errors::Error),
    /// Signed and valid, but `sub` is not a user id as fastapi-users writes it.
    #[error("invalid session token: {0}")]
    BadSubject(&'static str),
    #[error("session token expired")]
    Expired,
    #[error("session token could not be signed")]
    Signing(#[source] jsonwebtoken::errors::Error),
}

/// A token that verified: whose it is and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedSession {
    pub user: UserId,
    pub exp: i64,
}

#[derive(Clone)]
pub struct SessionTokens {
    keys: KeyRing,
    validation: Validation,
    lifetime: Duration,
}

impl std::fmt::Debug for SessionTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionTokens")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl SessionTokens {
    pub fn new(secret: &Secret, lifetime: Duration) -> Self {
        Self::rotating(secret, &[], lifetime)
    }

    /// Signs with `secret`; also accepts tokens signed with a `previous` one.
    pub fn rotating(secret: &Secret, previous: &[Secret], lifetime: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "aud", "sub"]);
        // fastapi-users (PyJWT) checks expiry with zero leeway.
        validation.leeway = 0;
        SessionTokens {
            keys: KeyRing::new(secret, previous),
            validation,
            lifetime,
        }
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    pub fn issue(&self, user: UserId) -> Result<Secret, TokenError> {
        let now = chrono::Utc::now().timestamp();
        self.issue_with_exp(user, self.exp_for(now))
    }

    /// When a token expiring at `exp` was issued. The token has no `iat`
    /// (fastapi-users writes none): every session lives `lifetime`.
    pub fn issued_at(&self, exp: i64) -> i64 {
        exp - self.lifetime_secs()
    }

    /// The `exp` of a token issued at `issued_at` (epoch seconds).
    pub fn exp_for(&self, issued_at: i64) -> i64 {
        issued_at.saturating_add(self.lifetime_secs())
    }

    fn lifetime_secs(&self) -> i64 {
        i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX)
    }

    pub fn issue_with_exp(&self, user: UserId, exp: i64) -> Result<Secret, TokenError> {
        let claims = Claims {
            sub: user.to_string(),
            aud: vec![AUDIENCE.to_owned()],
            exp,
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            self.keys.encoding(),
        )
        .map(Secret::new)
        .map_err(TokenError::Signing)
    }

    /// The user id a valid token names. Whether that user exists and is active
    /// is the caller's check.
    pub fn verify(&self, token: &str) -> Result<UserId, TokenError> {
        self.verify_session(token).map(|session| session.user)
    }

    /// [`Self::verify`], with the token's `exp`.
    pub fn verify_session(&self, token: &str) -> Result<VerifiedSession, TokenError> {
        use jsonwebtoken::errors::ErrorKind;
        #[derive(Deserialize)]
        struct Sub {
            sub: serde_json::Value,
            exp: i64,
        }
        let data = self
            .keys
            .decode::<Sub>(token, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid(e),
            })?;
        // fastapi-users requires `sub` to be a string holding a valid id.
        let user = match data.claims.sub {
            serde_json::Value::String(s) => s
                .parse::<UserId>()
                .map_err(|_| TokenError::BadSubject("sub is not a user id")),
            _ => Err(TokenError::BadSubject("sub is not a string")),
        }?;
        Ok(VerifiedSession {
            user,
            exp: data.claims.exp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{Hmac, Mac};

    const SECRET: &str = "a-shared-secret-with-fastapi-users-0123456789";

    fn tokens() -> SessionTokens {
        SessionTokens::new(&Secret::new(SECRET), Duration::from_secs(3600))
    }

    /// Signs arbitrary header/claims the way PyJWT does (compact JSON), so tests
    /// can mint tokens exactly as fastapi-users would, and forge bad ones.
    fn mint(header: &str, claims: &str, secret: &str) -> String {
        let h = URL_SAFE_NO_PAD.encode(header);
        let c = URL_SAFE_NO_PAD.encode(claims);
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{h}.{c}").as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{h}.{c}.{sig}")
    }

    fn in_an_hour() -> i64 {
        chrono::Utc::now().timestamp() + 3600
    }

    #[test]
    fn our_token_has_exactly_fastapi_users_claims() {
        let token = tokens().issue(42).unwrap();
        let parts: Vec<&str> = token.expose().split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, serde_json::json!({"alg": "HS256", "typ": "JWT"}));
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        let obj = claims.as_object().unwrap();
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["aud", "exp", "sub"]);
        assert_eq!(claims["sub"], "42");
        assert_eq!(claims["aud"], serde_json::json!(["fastapi-users:auth"]));
        let exp = claims["exp"].as_i64().unwrap();
        assert!((exp - in_an_hour()).abs() <= 2);
        // and the signature is plain HS256 over header.claims with the secret
        let resigned = mint(
            std::str::from_utf8(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap(),
            std::str::from_utf8(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap(),
            SECRET,
        );
        assert_eq!(resigned.rsplit('.').next(), Some(parts[2]));
        assert_eq!(tokens().verify(token.expose()).ok(), Some(42));
    }

    #[test]
    fn accepts_a_token_minted_like_fastapi_users() {
        let exp = in_an_hour();
        let list = mint(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            &format!(r#"{{"sub":"7","aud":["fastapi-users:auth"],"exp":{exp}}}"#),
            SECRET,
        );
        assert_eq!(tokens().verify(&list).ok(), Some(7));
        // PyJWT also accepts a plain-string audience.
        let plain = mint(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            &format!(r#"{{"sub":"8","aud":"fastapi-users:auth","exp":{exp}}}"#),
            SECRET,
        );
        assert_eq!(tokens().verify(&plain).ok(), Some(8));
    }

    #[test]
    fn a_session_knows_its_expiry_and_so_when_it_was_issued() {
        let t = tokens();
        let minted_exp = in_an_hour() - 10;
        let minted = mint(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            &format!(r#"{{"sub":"7","aud":["fastapi-users:auth"],"exp":{minted_exp}}}"#),
            SECRET,
        );
        let session = t.verify_session(&minted).unwrap();
        assert_eq!(
            session,
            VerifiedSession {
                user: 7,
                exp: minted_exp
            }
        );
        assert_eq!(t.issued_at(session.exp), minted_exp - 3600);
        assert_eq!(t.exp_for(t.issued_at(session.exp)), session.exp);
    }

    #[test]
    fn refuses_every_bad_kind() {
        let t = tokens();
        let exp = in_an_hour();
        let good_claims = format!(r#"{{"sub":"7","aud":["fastapi-users:auth"],"exp":{exp}}}"#);
        let hs = r#"{"alg":"HS256","typ":"JWT"}"#;
        let cases = [
            ("garbage", "not.a.jwt".to_owned()),
            ("empty", String::new()),
            ("wrong secret", mint(hs, &good_claims, "another-secret")),
            (
                "alg none",
                format!(
                    "{}.{}.",
                    URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
                    URL_SAFE_NO_PAD.encode(&good_claims)
                ),
            ),
            (
                "HS512",
                mint(r#"{"alg":"HS512","typ":"JWT"}"#, &good_claims, SECRET),
            ),
            (
                "wrong audience",
                mint(
                    hs,
                    &format!(r#"{{"sub":"7","aud":["fastapi-users:oauth-state"],"exp":{exp}}}"#),
                    SECRET,
                ),
            ),
            (
                "no audience",
                mint(hs, &format!(r#"{{"sub":"7","exp":{exp}}}"#), SECRET),
            ),
            (
                "no exp",
                mint(hs, r#"{"sub":"7","aud":["fastapi-users:auth"]}"#, SECRET),
            ),
            (
                "numeric sub",
                mint(
                    hs,
                    &format!(r#"{{"sub":7,"aud":["fastapi-users:auth"],"exp":{exp}}}"#),
                    SECRET,
                ),
            ),
            (
                "non-id sub",
                mint(
                    hs,
                    &format!(r#"{{"sub":"abc","aud":["fastapi-users:auth"],"exp":{exp}}}"#),
                    SECRET,
                ),
            ),
        ];
        for (name, token) in cases {
            assert!(t.verify(&token).is_err(), "{name} must be refused");
        }
        // tampered payload, original signature
        let good = t.issue(7).unwrap();
        let parts: Vec<&str> = good.expose().split('.').collect();
        let forged_claims = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"sub":"1","aud":["fastapi-users:auth"],"exp":{exp}}}"#
        ));
        assert!(
            t.verify(&format!("{}.{}.{}", parts[0], forged_claims, parts[2]))
                .is_err()
        );

        let expired = t
            .issue_with_exp(7, chrono::Utc::now().timestamp() - 1)
            .unwrap();
        assert!(matches!(
            t.verify(expired.expose()),
            Err(TokenError::Expired)
        ));
    }
}
