//! Random credentials, and the keys the store keeps instead of them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Bytes of randomness in every token, ticket and identifier this server mints: 256 bits, well
/// past RFC 6749 §10.10's 2^-160 guessing bound.
const TOKEN_BYTES: usize = 32;

/// Bytes of the issue time that lead a minted credential: milliseconds since the Unix epoch,
/// big-endian (six bytes last until the year 10889).
const STAMP_BYTES: usize = 6;

/// The length of a minted credential: base64url of its stamp and its random bytes.
const STAMPED_LEN: usize = ((STAMP_BYTES + TOKEN_BYTES) * 4).div_ceil(3);

/// A new credential: its issue time, then 32 bytes from the operating system's CSPRNG, base64url
/// without padding, so it survives quoted strings, query strings and forms unescaped. The time
/// is there for the store's sake (see [`TokenHash`]); it tells a holder no more than a JWT's `iat`.
pub(crate) fn new_token() -> String {
    let mut bytes = [0u8; STAMP_BYTES + TOKEN_BYTES];
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    // The low six bytes: the stamp wraps in the year 10889, and then only sorts badly.
    bytes[..STAMP_BYTES].copy_from_slice(&millis.to_be_bytes()[16 - STAMP_BYTES..]);
    getrandom::fill(&mut bytes[STAMP_BYTES..]).unwrap_or_else(|e| {
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

/// A policy revision no policy has had: 62 random bits, so that it fits every store's integers
/// with room to count on from.
pub(crate) fn new_revision() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .unwrap_or_else(|e| panic!("the operating system's random number generator failed: {e}"));
    u64::from_be_bytes(bytes) >> 2
}

/// The key a credential is stored under: its SHA-256, so a copy of the store yields no usable
/// credential. SHA-256 is enough here because the inputs carry 256 random bits; user passwords
/// get a slow hash instead.
///
/// For a credential this server minted (its issue time, then its random bytes), or a JWT whose
/// `jti` is one, the key leads with the credential's issue time in place of the digest's first
/// six bytes: keys then sort by issue time, and a store's index takes each new one at its end,
/// where a commit's inserts share a few pages, rather than each on a page of its own anywhere in
/// the index (which is what every grant wrote to the log and synced; measured in
/// `BENCHMARKS.md`). The 26 bytes of digest left are still far past any collision or guess.
/// Keys of anything else, such as tokens minted before stamps, are the whole digest as they
/// always were, so stored tokens stay valid.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The key of `token`.
    pub fn of(token: &str) -> Self {
        let mut key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(stamp) = stamp_of(token) {
            key.copy_within(..32 - STAMP_BYTES, STAMP_BYTES);
            key[..STAMP_BYTES].copy_from_slice(&stamp);
        }
        Self(key)
    }

    /// The raw key, for storage.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Compares in constant time.
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// The issue time a credential leads with, if it has a minted credential's length, or that of
/// its `jti` if it is a JWT. Anyone may present a string shaped so; it only chooses where its key
/// would sort, and the digest still has to match.
fn stamp_of(token: &str) -> Option<[u8; STAMP_BYTES]> {
    if token.len() == STAMPED_LEN {
        leading_stamp(token)
    } else {
        jti_stamp(token)
    }
}

fn leading_stamp(stamped: &str) -> Option<[u8; STAMP_BYTES]> {
    let mut stamp = [0u8; STAMP_BYTES];
    match URL_SAFE_NO_PAD.decode_slice(stamped.get(..STAMP_BYTES * 4 / 3)?, &mut stamp) {
        Ok(STAMP_BYTES) => Some(stamp),
        _ => None,
    }
}

/// The stamp of a JWT's `jti`, read without checking the signature: it only places the key.
fn jti_stamp(token: &str) -> Option<[u8; STAMP_BYTES]> {
    #[derive(serde::Deserialize)]
    struct Claims {
        jti: Option<String>,
    }
    let mut segments = token.split('.');
    let payload = segments.nth(1)?;
    if segments.count() != 1 {
        return None;
    }
    let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let jti = serde_json::from_slice::<Claims>(&payload).ok()?.jti?;
    if jti.len() == STAMPED_LEN {
        leading_stamp(&jti)
    } else {
        None
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
        assert_eq!(a.len(), STAMPED_LEN);
        assert_eq!(
            URL_SAFE_NO_PAD.decode(&a).unwrap().len(),
            STAMP_BYTES + TOKEN_BYTES
        );
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

    /// A JWT with `claims` as its payload (header and signature are not looked at).
    fn jwt(claims: serde_json::Value) -> String {
        format!("e30.{}.c2ln", URL_SAFE_NO_PAD.encode(claims.to_string()))
    }

    #[test]
    fn keys_of_minted_credentials_sort_by_issue_time() {
        let first = new_token();
        // The stamp counts milliseconds: wait for the next one, or the order is a coin toss.
        let second = loop {
            let next = new_token();
            if next[..8] != first[..8] {
                break next;
            }
            std::thread::yield_now();
        };
        let (a, b) = (TokenHash::of(&first), TokenHash::of(&second));
        assert!(a.as_bytes() < b.as_bytes());
        assert_eq!(
            a.as_bytes()[..STAMP_BYTES],
            URL_SAFE_NO_PAD.decode(&first).unwrap()[..STAMP_BYTES]
        );
        // After the stamp, the digest: two credentials of one millisecond still differ.
        let digest: [u8; 32] = Sha256::digest(first.as_bytes()).into();
        assert_eq!(a.as_bytes()[STAMP_BYTES..], digest[..32 - STAMP_BYTES]);
    }

    #[test]
    fn a_jwt_is_keyed_by_its_jti_stamp_and_its_own_digest() {
        let jti = new_token();
        let token = jwt(serde_json::json!({ "sub": "bob", "jti": jti }));
        let key = TokenHash::of(&token);
        assert_eq!(
            key.as_bytes()[..STAMP_BYTES],
            TokenHash::of(&jti).as_bytes()[..STAMP_BYTES]
        );
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        assert_eq!(key.as_bytes()[STAMP_BYTES..], digest[..32 - STAMP_BYTES]);
        // Another JWT with the same jti (a forgery, say) has another key.
        let other = jwt(serde_json::json!({ "sub": "mallory", "jti": jti }));
        assert!(!TokenHash::of(&other).ct_eq(&key));
    }

    #[test]
    fn anything_else_is_keyed_by_its_whole_digest() {
        let legacy = URL_SAFE_NO_PAD.encode([7u8; TOKEN_BYTES]);
        let odd_jti = jwt(serde_json::json!({ "jti": "short" }));
        let bad_payload = "a.%%%.b".to_owned();
        let not_json = format!("a.{}.b", URL_SAFE_NO_PAD.encode("not json"));
        let four_segments = format!("{}.x", jwt(serde_json::json!({ "jti": new_token() })));
        let not_base64 = "!".repeat(STAMPED_LEN);
        for token in [
            legacy.as_str(),
            "",
            "x",
            &odd_jti,
            &bad_payload,
            &not_json,
            &four_segments,
            &not_base64,
            "é".repeat(STAMPED_LEN / 2).as_str(),
        ] {
            let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
            assert_eq!(TokenHash::of(token).as_bytes(), &digest, "{token:?}");
        }
    }

    #[test]
    fn a_multibyte_string_of_the_stamped_length_does_not_panic() {
        // 51 bytes whose 8th is inside a character: no stamp, no panic.
        let token = format!("abcdefg{}", "é".repeat(22));
        assert_eq!(token.len(), STAMPED_LEN);
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        assert_eq!(TokenHash::of(&token).as_bytes(), &digest);
    }
}
