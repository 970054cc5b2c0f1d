//! PKCE (RFC 7636), S256 only — the one method Discord supports.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oauth2::PkceCodeChallenge;
use sha2::{Digest, Sha256};

/// Random bytes in a verifier: 48 encode to 64 url-safe characters (Discord
/// wants 43–128).
const VERIFIER_BYTES: u32 = 48;

/// A fresh verifier: 64 url-safe characters.
pub fn new_verifier() -> String {
    let (_, verifier) = PkceCodeChallenge::new_random_sha256_len(VERIFIER_BYTES);
    verifier.into_secret()
}

/// The S256 challenge: base64url(SHA-256(verifier)), unpadded. Computed here
/// rather than by oauth2's `PkceCodeChallenge::from_code_verifier_sha256`,
/// which panics on a verifier outside 43–128 characters.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_example() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let v = new_verifier();
        assert_eq!(v.len(), 64);
        assert_ne!(v, new_verifier());
    }
}
