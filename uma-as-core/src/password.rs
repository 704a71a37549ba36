//! User passwords: argon2id hashes, verified in constant time.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::Error;

/// The PHC string of `password` under argon2id with a random salt.
pub(crate) fn hash(password: &str) -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Config(format!("no randomness for a password salt: {e}")))?;
    let salt = SaltString::encode_b64(&bytes)
        .map_err(|e| Error::Config(format!("cannot encode a password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Config(format!("cannot hash a password: {e}")))
}

/// A valid argon2id hash of a random password, verified against when a username is unknown so
/// that a failed sign-in takes the same time whether or not the user exists.
pub(crate) const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Q5bCAEJyk4Vt3gI4Ib1gM+1tkV8m7pfE+3X2ZRtsDMg";

/// Whether `password` matches the PHC string `hash` (an unknown user's `None` never does, after
/// the same work), checked on the blocking pool, at most as many at once as `limit` allows:
/// argon2 takes tens of milliseconds of CPU, which on an async worker would stall every other
/// request scheduled there (TM-20).
pub(crate) async fn verify_off_runtime(
    limit: &tokio::sync::Semaphore,
    password: &str,
    hash: Option<&str>,
) -> bool {
    let Ok(_permit) = limit.acquire().await else {
        return false;
    };
    let (password, hash) = (password.to_owned(), hash.map(str::to_owned));
    tokio::task::spawn_blocking(move || match hash {
        Some(hash) => verify(&password, &hash),
        None => {
            verify(&password, DUMMY_HASH);
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// Whether `password` matches the PHC string `hash`. argon2 compares in constant time.
pub(crate) fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_verify_and_differ() {
        let a = super::hash("correct horse").unwrap();
        let b = super::hash("correct horse").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "salted");
        assert!(super::verify("correct horse", &a));
        assert!(!super::verify("wrong", &a));
        assert!(!super::verify("correct horse", "not a hash"));
    }
}
