use argon2::password_hash::{PasswordHasher, SaltString};
use rand::RngCore;
use rand_core::OsRng;

use crate::StoreError;

/// An argon2id hash of a random secret nobody knows, as fastapi-users stores for
/// OAuth-created users: the column is NOT NULL, and a password login against it
/// fails cleanly instead of matching an empty or guessable value.
pub(crate) async fn hash_of_random_secret() -> Result<String, StoreError> {
    // Hashing is deliberately slow (tens of ms); keep it off the async workers.
    tokio::task::spawn_blocking(|| {
        let mut secret = [0u8; 32];
        OsRng.fill_bytes(&mut secret);
        let salt = SaltString::generate(&mut OsRng);
        argon2::Argon2::default()
            .hash_password(&secret, &salt)
            .map(|h| h.to_string())
            .map_err(|e| StoreError::Password(e.to_string()))
    })
    .await
    .map_err(|e| StoreError::Password(e.to_string()))?
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn is_a_fresh_argon2id_hash_each_time() {
        let a = super::hash_of_random_secret().await.unwrap();
        let b = super::hash_of_random_secret().await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert_ne!(a, b);
    }
}
