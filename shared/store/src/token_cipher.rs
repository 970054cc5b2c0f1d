//! OAuth tokens at rest. With a key (`TOKEN_ENCRYPTION_KEY`), access and
//! refresh tokens are written as `gh1:` + base64(nonce ‖ ciphertext ‖ tag):
//! ChaCha20-Poly1305 with a random 96-bit nonce per value, and the column's
//! name as associated data (an access token's ciphertext does not pass for a
//! refresh token). Reading takes both forms, so rows written in plain text —
//! by an older Guildhall, or by fastapi-users sharing the table — keep
//! working, and `Store::convert_tokens` rewrites them.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use settings::Secret;

/// What an encrypted value starts with; the digit is the format's version.
pub(crate) const PREFIX: &str = "gh1:";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The 32-byte key, from `TOKEN_ENCRYPTION_KEY`. Never printed.
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey([redacted])")
    }
}

/// Why a `TOKEN_ENCRYPTION_KEY` value is not a key.
#[derive(Debug, thiserror::Error)]
pub enum TokenKeyError {
    #[error("it is not standard base64")]
    NotBase64(#[source] base64::DecodeError),
    #[error("it decodes to {0} bytes, not 32")]
    WrongLength(usize),
}

impl TokenKey {
    /// 32 bytes in standard base64 (what `openssl rand -base64 32` prints).
    pub fn from_base64(text: &str) -> Result<Self, TokenKeyError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(TokenKeyError::NotBase64)?;
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| TokenKeyError::WrongLength(bytes.len()))?;
        Ok(TokenKey(key))
    }
}

/// Why a stored token could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum TokenCipherError {
    #[error("{column} is stored encrypted, but no TOKEN_ENCRYPTION_KEY is set")]
    KeyMissing { column: &'static str },
    #[error("converting {column} needs TOKEN_ENCRYPTION_KEY")]
    NoKeyToConvertWith { column: &'static str },
    #[error("{column} is not valid {PREFIX} data")]
    Malformed {
        column: &'static str,
        #[source]
        source: base64::DecodeError,
    },
    #[error("{column} is too short to be {PREFIX} data")]
    Truncated { column: &'static str },
    /// The AEAD check failed and says nothing more, by design.
    #[error(
        "{column} does not decrypt with this TOKEN_ENCRYPTION_KEY (another key, or the value was altered)"
    )]
    WrongKey { column: &'static str },
    #[error("{column} decrypted to something that is not text")]
    NotText {
        column: &'static str,
        #[source]
        source: std::string::FromUtf8Error,
    },
    #[error("{column} could not be encrypted")]
    Encrypt { column: &'static str },
}

/// Encrypts and decrypts token columns with one key.
#[derive(Clone)]
pub(crate) struct TokenCipher(ChaCha20Poly1305);

impl fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenCipher([redacted])")
    }
}

/// Whether a stored value is in the encrypted form.
pub(crate) fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

impl TokenCipher {
    pub(crate) fn new(key: &TokenKey) -> Self {
        TokenCipher(ChaCha20Poly1305::new(Key::from_slice(&key.0)))
    }

    pub(crate) fn seal(
        &self,
        column: &'static str,
        plain: &str,
    ) -> Result<String, TokenCipherError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .0
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: column.as_bytes(),
                },
            )
            .map_err(|_| TokenCipherError::Encrypt { column })?;
        let mut raw = Vec::with_capacity(NONCE_LEN + sealed.len());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", STANDARD.encode(raw)))
    }

    /// `stored` must be sealed ([`is_sealed`]).
    pub(crate) fn open(
        &self,
        column: &'static str,
        stored: &str,
    ) -> Result<String, TokenCipherError> {
        let body = stored.strip_prefix(PREFIX).unwrap_or(stored);
        let raw = STANDARD
            .decode(body)
            .map_err(|source| TokenCipherError::Malformed { column, source })?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(TokenCipherError::Truncated { column });
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let plain = self
            .0
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: column.as_bytes(),
                },
            )
            .map_err(|_| TokenCipherError::WrongKey { column })?;
        String::from_utf8(plain).map_err(|source| TokenCipherError::NotText { column, source })
    }
}

/// The stored form of a token column: sealed with `cipher`, else as is.
pub(crate) fn to_stored(
    cipher: Option<&TokenCipher>,
    column: &'static str,
    token: &Secret,
) -> Result<Secret, TokenCipherError> {
    match cipher {
        Some(c) => c.seal(column, token.expose()).map(Secret::new),
        None => Ok(token.clone()),
    }
}

/// A token column as read: opened when sealed, else taken as is.
pub(crate) fn from_stored(
    cipher: Option<&TokenCipher>,
    column: &'static str,
    stored: String,
) -> Result<Secret, TokenCipherError> {
    if !is_sealed(&stored) {
        return Ok(Secret::new(stored));
    }
    match cipher {
        Some(c) => c.open(column, &stored).map(Secret::new),
        None => Err(TokenCipherError::KeyMissing { column }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> TokenKey {
        TokenKey([byte; 32])
    }

    #[test]
    fn keys_are_32_bytes_of_standard_base64_and_never_printed() {
        let text = STANDARD.encode([9u8; 32]);
        let k = TokenKey::from_base64(&format!("{text}\n")).unwrap();
        assert_eq!(k.0, [9u8; 32]);
        assert_eq!(format!("{k:?}"), "TokenKey([redacted])");
        assert!(matches!(
            TokenKey::from_base64(&STANDARD.encode([1u8; 16])),
            Err(TokenKeyError::WrongLength(16))
        ));
        assert!(matches!(
            TokenKey::from_base64("not base64!"),
            Err(TokenKeyError::NotBase64(_))
        ));
        let cipher = TokenCipher::new(&k);
        assert_eq!(format!("{cipher:?}"), "TokenCipher([redacted])");
    }

    #[test]
    fn seals_with_a_fresh_nonce_and_opens_only_with_the_key_and_column() {
        let c = TokenCipher::new(&key(1));
        let a = c.seal("access_token", "discord-token").unwrap();
        let b = c.seal("access_token", "discord-token").unwrap();
        assert!(a.starts_with(PREFIX) && is_sealed(&a));
        assert_ne!(a, b, "a random nonce per value");
        assert!(!a.contains("discord-token"));
        assert_eq!(c.open("access_token", &a).unwrap(), "discord-token");
        assert!(matches!(
            c.open("refresh_token", &a),
            Err(TokenCipherError::WrongKey { .. })
        ));
        assert!(matches!(
            TokenCipher::new(&key(2)).open("access_token", &a),
            Err(TokenCipherError::WrongKey { .. })
        ));
        let mut altered = a.clone().into_bytes();
        let last = altered.len() - 3;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert!(
            c.open("access_token", &String::from_utf8(altered).unwrap())
                .is_err()
        );
        assert!(matches!(
            c.open("access_token", "gh1:AAAA"),
            Err(TokenCipherError::Truncated { .. })
        ));
        assert!(matches!(
            c.open("access_token", "gh1:***"),
            Err(TokenCipherError::Malformed { .. })
        ));
    }

    #[test]
    fn plain_values_read_as_they_are_sealed_ones_need_the_key() {
        let c = TokenCipher::new(&key(3));
        let plain = from_stored(Some(&c), "access_token", "plain-token".into()).unwrap();
        assert_eq!(plain.expose(), "plain-token");
        let sealed = to_stored(Some(&c), "access_token", &Secret::new("t")).unwrap();
        assert_eq!(
            from_stored(Some(&c), "access_token", sealed.expose().to_owned())
                .unwrap()
                .expose(),
            "t"
        );
        assert!(matches!(
            from_stored(None, "access_token", sealed.expose().to_owned()),
            Err(TokenCipherError::KeyMissing {
                column: "access_token"
            })
        ));
        assert_eq!(
            to_stored(None, "access_token", &Secret::new("t"))
                .unwrap()
                .expose(),
            "t"
        );
    }

    #[test]
    fn a_discord_sized_token_fits_the_column_sealed() {
        let c = TokenCipher::new(&key(4));
        // Discord's tokens are ~30 characters; 737 is the most that fits.
        let sealed = c.seal("access_token", &"x".repeat(737)).unwrap();
        assert!(sealed.len() <= crate::limits::TOKEN, "{}", sealed.len());
        let too_long = c.seal("access_token", &"x".repeat(738)).unwrap();
        assert!(too_long.len() > crate::limits::TOKEN);
    }
}
