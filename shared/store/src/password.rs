use std::sync::{LazyLock, Mutex};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use rand::rngs::OsRng;
use tokio::sync::Semaphore;

use crate::{PasswordError, StoreError};

/// Hashes run at most one per core, each in a memory block kept for the next.
/// argon2id with OWASP's parameters fills 19 MiB per hash: allocating it
/// afresh on whichever blocking thread ran the hash left glibc holding a copy
/// per thread (100 sign-ups in a row grew the portal by 200 MB), and an
/// unbounded burst of sign-ups would hold one per request.
struct Hashers {
    permits: Semaphore,
    /// Idle blocks, at most one per permit.
    blocks: Mutex<Vec<Vec<Block>>>,
}

static HASHERS: LazyLock<Hashers> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Hashers {
        permits: Semaphore::new(cores),
        blocks: Mutex::new(Vec::with_capacity(cores)),
    }
});

fn idle_blocks() -> std::sync::MutexGuard<'static, Vec<Vec<Block>>> {
    // A panic cannot leave the list half-changed: push and pop are whole.
    HASHERS.blocks.lock().unwrap_or_else(|p| p.into_inner())
}

/// An argon2id hash of a random secret nobody knows, as fastapi-users stores for
/// OAuth-created users: the column is NOT NULL, and a password login against it
/// fails cleanly instead of matching an empty or guessable value.
pub(crate) async fn hash_of_random_secret() -> Result<String, StoreError> {
    let _permit = HASHERS
        .permits
        .acquire()
        .await
        .map_err(PasswordError::Closed)?;
    let params = Params::default();
    let mut memory = idle_blocks()
        .pop()
        .unwrap_or_else(|| vec![Block::default(); params.block_count()]);
    // Hashing is deliberately slow (tens of ms); keep it off the async workers.
    let (hashed, memory) = tokio::task::spawn_blocking(move || {
        let mut secret = [0u8; 32];
        OsRng.fill_bytes(&mut secret);
        let hashed = hash_with_memory(&secret, params, &mut memory);
        (hashed, memory)
    })
    .await
    .map_err(PasswordError::Task)?;
    idle_blocks().push(memory);
    hashed
}

/// What `argon2::PasswordHasher::hash_password` does, in caller-owned memory.
fn hash_with_memory(
    secret: &[u8],
    params: Params,
    memory: &mut [Block],
) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_buf)
        .map_err(PasswordError::Encoding)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon
        .hash_password_into_with_memory(secret, salt_bytes, &mut out, memory)
        .map_err(PasswordError::Argon2)?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(PasswordError::Encoding)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(PasswordError::Encoding)?),
    };
    Ok(phc.to_string())
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    use argon2::{Argon2, Block, Params};

    #[tokio::test]
    async fn is_a_fresh_argon2id_hash_each_time() {
        let a = super::hash_of_random_secret().await.unwrap();
        let b = super::hash_of_random_secret().await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn verifies_like_any_argon2id_hash_even_in_reused_memory() {
        let params = Params::default();
        let mut memory = vec![Block::default(); params.block_count()];
        for secret in [b"first secret".as_slice(), b"second secret"] {
            let phc = super::hash_with_memory(secret, params.clone(), &mut memory).unwrap();
            let parsed = PasswordHash::new(&phc).unwrap();
            assert!(Argon2::default().verify_password(secret, &parsed).is_ok());
            assert!(
                Argon2::default()
                    .verify_password(b"guess", &parsed)
                    .is_err()
            );
        }
    }
}
