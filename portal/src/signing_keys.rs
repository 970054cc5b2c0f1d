//! HS256 keys during a secret rotation: tokens are signed with the current
//! secret only, and verified with it or, when its signature does not match,
//! with each previous secret (`AUTH_SECRET_PREVIOUS`) in turn, so sessions
//! and logins signed before the rotation keep working until they expire.

use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::{DecodingKey, EncodingKey, TokenData, Validation};
use serde::de::DeserializeOwned;
use settings::Secret;

#[derive(Clone)]
pub struct KeyRing {
    encoding: EncodingKey,
    current: DecodingKey,
    previous: Vec<DecodingKey>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("previous", &self.previous.len())
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    pub fn new(current: &Secret, previous: &[Secret]) -> Self {
        KeyRing {
            encoding: EncodingKey::from_secret(current.expose().as_bytes()),
            current: DecodingKey::from_secret(current.expose().as_bytes()),
            previous: previous
                .iter()
                .map(|s| DecodingKey::from_secret(s.expose().as_bytes()))
                .collect(),
        }
    }

    /// The key new tokens are signed with.
    pub fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    /// Decodes with the first key whose signature matches; the claims are
    /// then checked as usual. The error is the current key's unless a
    /// previous key's signature matched.
    pub fn decode<T: DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<TokenData<T>, Error> {
        let first = jsonwebtoken::decode(token, &self.current, validation);
        match &first {
            Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => {}
            _ => return first,
        }
        for key in &self.previous {
            match jsonwebtoken::decode(token, key, validation) {
                Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => continue,
                other => return other,
            }
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, Header};
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Claims {
        n: u32,
        exp: i64,
    }

    fn sign(secret: &str, exp: i64) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &Claims { n: 7, exp },
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn current_then_previous_never_unknown() {
        let ring = KeyRing::new(&Secret::new("now"), &[Secret::new("a"), Secret::new("b")]);
        let validation = Validation::new(Algorithm::HS256);
        let later = chrono::Utc::now().timestamp() + 60;
        for secret in ["now", "a", "b"] {
            let data = ring.decode::<Claims>(&sign(secret, later), &validation);
            assert_eq!(data.unwrap().claims.n, 7, "{secret}");
        }
        let e = ring
            .decode::<Claims>(&sign("unknown", later), &validation)
            .unwrap_err();
        assert_eq!(*e.kind(), ErrorKind::InvalidSignature);
        // A previous key's token is still checked for expiry.
        let e = ring
            .decode::<Claims>(&sign("b", later - 3600), &validation)
            .unwrap_err();
        assert_eq!(*e.kind(), ErrorKind::ExpiredSignature);
        // Signing uses the current secret only.
        let mine = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &Claims { n: 1, exp: later },
            ring.encoding(),
        )
        .unwrap();
        assert!(
            KeyRing::new(&Secret::new("a"), &[])
                .decode::<Claims>(&mine, &validation)
                .is_err()
        );
    }
}
