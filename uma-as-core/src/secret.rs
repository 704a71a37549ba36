//! Random credentials, and the hashes the store keeps instead of them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Bytes of randomness in every token, ticket and identifier this server mints: 256 bits, well
/// past RFC 6749 §10.10's 2^-160 guessing bound.
const TOKEN_BYTES: usize = 32;

/// A new credential: 32 bytes from the operating system's CSPRNG, base64url without padding, so it
/// survives quoted strings, query strings and forms unescaped.
pub(crate) fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).unwrap_or_else(|e| {
        // Without an entropy source no credential can be safe; refusing to run is the only
        // fail-closed answer, and no supported platform lacks one.
        panic!("the operating system's random number generator failed: {e}")
    });
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A shorter random identifier for resources and policies (128 bits): not a credential, but
/// unguessable so that ids disclose nothing about other owners' resources.
pub(crate) fn new_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .unwrap_or_else(|e| panic!("the operating system's random number generator failed: {e}"));
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 of a credential. Tokens and tickets are stored only under their hash, so a copy of
/// the store yields no usable credential. SHA-256 is enough here because the inputs carry 256
/// random bits; user passwords get a slow hash instead.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The hash of `token`.
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// The raw digest, for storage.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Compares in constant time.
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// A key made at start and held only in this process's memory: client secrets are kept as
/// HMAC-SHA256 digests under it (TM-6), so a memory dump of the digests, or a copy of them
/// anywhere, yields nothing to guess offline without the key.
pub(crate) struct SecretKey([u8; 32]);

impl SecretKey {
    pub(crate) fn random() -> Self {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).unwrap_or_else(|e| {
            panic!("the operating system's random number generator failed: {e}")
        });
        Self(key)
    }

    /// The keyed digest of a client secret.
    pub(crate) fn digest(&self, secret: &str) -> SecretDigest {
        use hmac::Mac as _;
        // HMAC takes a key of any length: this cannot fail.
        let mut mac = <hmac::Hmac<Sha256> as hmac::Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(secret.as_bytes());
        SecretDigest(mac.finalize().into_bytes().into())
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// A client secret's digest under the process's [`SecretKey`].
#[derive(Clone, Copy)]
pub(crate) struct SecretDigest([u8; 32]);

impl SecretDigest {
    /// Compares in constant time.
    pub(crate) fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretDigest(..)")
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_url_safe_256_bit_and_distinct() {
        let a = new_token();
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(a, new_token());
    }

    #[test]
    fn client_secret_digests_depend_on_the_key() {
        let (a, b) = (SecretKey::random(), SecretKey::random());
        assert!(a.digest("s").ct_eq(&a.digest("s")));
        assert!(!a.digest("s").ct_eq(&a.digest("t")));
        assert!(!a.digest("s").ct_eq(&b.digest("s")));
    }

    #[test]
    fn hashes_compare_by_value() {
        assert!(TokenHash::of("x").ct_eq(&TokenHash::of("x")));
        assert!(!TokenHash::of("x").ct_eq(&TokenHash::of("y")));
    }
}
