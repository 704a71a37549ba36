//! The server's signing keys: Ed25519, generated at first start, kept in the store, published in
//! the JWKS, rotated without breaking tokens already issued.

use std::sync::{Arc, RwLock};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::store::{Store, StoreError};
use crate::time::now;

/// A signing key as stored. The private half never leaves the store and this process.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKey {
    /// The key id, in the JWKS and every token's header.
    pub kid: String,
    /// The PKCS#8 document of the Ed25519 key pair.
    pub private_pkcs8: Vec<u8>,
    /// The 32-byte public key.
    pub public: Vec<u8>,
    /// When it was made, seconds since the epoch.
    pub created_at: u64,
    /// When a newer key replaced it; it stays published while tokens it signed may live.
    pub retired_at: Option<u64>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    fn generate() -> Result<Self, StoreError> {
        let failed = |what: &str| StoreError::new(format!("cannot {what} an Ed25519 key"));
        let pkcs8 =
            Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| failed("generate"))?;
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| failed("parse"))?;
        let public = pair.public_key().as_ref().to_vec();
        Ok(Self {
            // The kid is a digest of the public key: stable, and the same on every replica.
            kid: URL_SAFE_NO_PAD.encode(
                &crate::secret::TokenHash::of(&URL_SAFE_NO_PAD.encode(&public)).as_bytes()[..12],
            ),
            private_pkcs8: pkcs8.as_ref().to_vec(),
            public,
            created_at: now(),
            retired_at: None,
        })
    }

    fn jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(&self.public),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        })
    }
}

/// What a signed token is, said in its header's `typ` (RFC 8725 §3.11, TM-1): every verifier
/// checks it first, so that a token minted for one role is refused in every other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JwtType {
    /// An RPT or other access token: `at+jwt` (RFC 9068 §2.1).
    AccessToken,
    /// An OpenID Connect ID token: `JWT`, with no `authorization`, `scope` or `client_id`.
    IdToken,
}

impl JwtType {
    pub(crate) fn header_value(self) -> &'static str {
        match self {
            Self::AccessToken => "at+jwt",
            Self::IdToken => "JWT",
        }
    }
}

/// The keys in use: one signs, all that may still verify a live token are published.
pub(crate) struct KeyRing {
    current: RwLock<Arc<Current>>,
}

struct Current {
    key: SigningKey,
    encoding: EncodingKey,
}

impl KeyRing {
    /// Loads the newest unretired key from the store, or makes and stores one at first start.
    pub(crate) async fn load_or_create(store: &dyn Store) -> Result<Self, StoreError> {
        let key = match newest_active(store.signing_keys().await?) {
            Some(key) => key,
            None => {
                let key = SigningKey::generate()?;
                store.put_signing_key(key.clone()).await?;
                key
            }
        };
        Ok(Self {
            current: RwLock::new(Arc::new(Current::new(key))),
        })
    }

    fn current(&self) -> Arc<Current> {
        // The lock guards a pointer swap only; poisoning cannot leave it half-written.
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Signs claims as a JWT of type `typ` with the current key.
    pub(crate) fn sign(&self, typ: JwtType, claims: &impl Serialize) -> Result<String, StoreError> {
        let current = self.current();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(current.key.kid.clone());
        header.typ = Some(typ.header_value().to_owned());
        jsonwebtoken::encode(&header, claims, &current.encoding)
            .map_err(|e| StoreError::new(format!("cannot sign a token: {e}")))
    }

    /// Replaces the signing key. The old one is marked retired; [`KeyRing::jwks`] keeps
    /// publishing it for as long as a token it signed can live.
    pub(crate) async fn rotate(&self, store: &dyn Store) -> Result<String, StoreError> {
        let new = SigningKey::generate()?;
        store.put_signing_key(new.clone()).await?;
        let old = self.current().key.clone();
        store
            .put_signing_key(SigningKey {
                retired_at: Some(now()),
                ..old
            })
            .await?;
        let kid = new.kid.clone();
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Current::new(new));
        Ok(kid)
    }

    /// The JWKS: every key that is current, or retired less than `keep_published` seconds ago.
    pub(crate) async fn jwks(store: &dyn Store, keep_published: u64) -> Result<Value, StoreError> {
        let now = now();
        let keys: Vec<Value> = store
            .signing_keys()
            .await?
            .iter()
            .filter(|k| k.retired_at.is_none_or(|at| at + keep_published > now))
            .map(SigningKey::jwk)
            .collect();
        Ok(json!({ "keys": keys }))
    }
}

impl Current {
    fn new(key: SigningKey) -> Self {
        let encoding = EncodingKey::from_ed_der(&key.private_pkcs8);
        Self { key, encoding }
    }
}

fn newest_active(keys: Vec<SigningKey>) -> Option<SigningKey> {
    keys.into_iter()
        .filter(|k| k.retired_at.is_none())
        .max_by_key(|k| k.created_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use jsonwebtoken::{DecodingKey, Validation};

    #[derive(Serialize, Deserialize)]
    struct Claims {
        sub: String,
        exp: u64,
    }

    fn verify(jwks: &Value, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        let kid = jsonwebtoken::decode_header(token)?.kid.unwrap();
        let jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .expect("the signing key is published");
        let key = DecodingKey::from_ed_components(jwk["x"].as_str().unwrap())?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.validate_aud = false;
        Ok(jsonwebtoken::decode::<Claims>(token, &key, &validation)?.claims)
    }

    #[tokio::test]
    async fn a_key_is_made_once_and_survives_reload() {
        let store = MemoryStore::new();
        let ring = KeyRing::load_or_create(&store).await.unwrap();
        let again = KeyRing::load_or_create(&store).await.unwrap();
        assert_eq!(ring.current().key.kid, again.current().key.kid);
        assert_eq!(store.signing_keys().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn rotation_keeps_old_tokens_verifiable_until_they_expire() {
        let store = MemoryStore::new();
        let ring = KeyRing::load_or_create(&store).await.unwrap();
        let claims = Claims {
            sub: "bob".into(),
            exp: now() + 300,
        };
        let old_token = ring.sign(JwtType::IdToken, &claims).unwrap();
        let new_kid = ring.rotate(&store).await.unwrap();
        let new_token = ring.sign(JwtType::IdToken, &claims).unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&new_token)
                .unwrap()
                .kid
                .unwrap(),
            new_kid
        );

        let jwks = KeyRing::jwks(&store, 300).await.unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        assert_eq!(verify(&jwks, &old_token).unwrap().sub, "bob");
        assert_eq!(verify(&jwks, &new_token).unwrap().sub, "bob");

        // Once no token of the old key can be alive, it is no longer published.
        let jwks = KeyRing::jwks(&store, 0).await.unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
        assert_eq!(jwks["keys"][0]["kid"], new_kid.as_str());

        // A reload picks the new key.
        let reloaded = KeyRing::load_or_create(&store).await.unwrap();
        assert_eq!(reloaded.current().key.kid, new_kid);
    }

    #[test]
    fn jwk_shape() {
        let key = SigningKey::generate().unwrap();
        let jwk = key.jwk();
        assert_eq!(jwk["kty"], "OKP");
        assert_eq!(jwk["crv"], "Ed25519");
        assert_eq!(jwk["alg"], "EdDSA");
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(jwk["x"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        assert!(format!("{key:?}").find("private").is_none());
    }
}
