//! The server's signing keys: Ed25519 (or RSA, for Keycloak's adapters), generated at first
//! start, kept in the store, published in the JWKS, rotated without breaking tokens already
//! issued.

use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use axum::body::Bytes;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::store::{Store, StoreError};
use crate::time::now;

/// What the server signs its tokens with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SigningAlgorithm {
    /// Ed25519 (`EdDSA`): small keys and signatures, quick to sign. The default.
    #[default]
    EdDSA,
    /// RSA 2048 with SHA-256 (`RS256`): Keycloak's default, and the only algorithm some of its
    /// adapters (keycloak-connect among them) verify. The default in Keycloak's realm mode.
    RS256,
}

impl SigningAlgorithm {
    fn jwt(self) -> Algorithm {
        match self {
            Self::EdDSA => Algorithm::EdDSA,
            Self::RS256 => Algorithm::RS256,
        }
    }

    /// The name tokens and discovery give it (`EdDSA`, `RS256`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDSA => "EdDSA",
            Self::RS256 => "RS256",
        }
    }
}

impl std::str::FromStr for SigningAlgorithm {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "EdDSA" => Ok(Self::EdDSA),
            "RS256" => Ok(Self::RS256),
            other => Err(format!(
                "signing algorithm {other:?} is not supported: EdDSA or RS256"
            )),
        }
    }
}

/// The public exponent of every RSA key made here (aws-lc's, checked at generation), so that a
/// stored key needs only its modulus.
const RSA_EXPONENT: [u8; 3] = [1, 0, 1];

/// A signing key as stored. The private half never leaves the store and this process.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKey {
    /// The key id, in the JWKS and every token's header.
    pub kid: String,
    /// What it signs with (records of earlier versions: Ed25519).
    #[serde(default)]
    pub alg: SigningAlgorithm,
    /// The PKCS#8 document of the key pair.
    pub private_pkcs8: Vec<u8>,
    /// The public key: Ed25519's 32 bytes, or an RSA key's modulus (its exponent is 65537).
    pub public: Vec<u8>,
    /// When it was made, seconds since the epoch.
    pub created_at: u64,
    /// When it was retired by hand (records of earlier versions); it stays published while
    /// tokens it signed may live.
    pub retired_at: Option<u64>,
    /// When it begins to sign, seconds since the epoch: until then it is only published.
    #[serde(default)]
    pub active_from: u64,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .field("active_from", &self.active_from)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    fn generate(alg: SigningAlgorithm) -> Result<Self, StoreError> {
        let failed = |what: &str| StoreError::new(format!("cannot {what} an {alg:?} key"));
        let (pkcs8, public) = match alg {
            SigningAlgorithm::EdDSA => {
                let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                    .map_err(|_| failed("generate"))?;
                let pair =
                    Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| failed("parse"))?;
                (pkcs8.as_ref().to_vec(), pair.public_key().as_ref().to_vec())
            }
            SigningAlgorithm::RS256 => {
                use aws_lc_rs::encoding::AsDer;
                let pair =
                    RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| failed("generate"))?;
                let pkcs8 = pair.as_der().map_err(|_| failed("encode"))?;
                let key = pair.public_key();
                if key.exponent().big_endian_without_leading_zero() != RSA_EXPONENT {
                    return Err(failed("use"));
                }
                let modulus = key.modulus().big_endian_without_leading_zero().to_vec();
                (pkcs8.as_ref().to_vec(), modulus)
            }
        };
        Ok(Self {
            // The kid is a digest of the public key: stable, and the same on every replica.
            kid: URL_SAFE_NO_PAD.encode(
                &<sha2::Sha256 as sha2::Digest>::digest(URL_SAFE_NO_PAD.encode(&public))[..12],
            ),
            alg,
            private_pkcs8: pkcs8,
            public,
            created_at: now(),
            retired_at: None,
            active_from: u64::MAX,
        })
    }

    fn jwk(&self) -> Value {
        let public = URL_SAFE_NO_PAD.encode(&self.public);
        let mut jwk = match self.alg {
            SigningAlgorithm::EdDSA => json!({"kty": "OKP", "crv": "Ed25519", "x": public}),
            SigningAlgorithm::RS256 => {
                json!({"kty": "RSA", "n": public, "e": URL_SAFE_NO_PAD.encode(RSA_EXPONENT)})
            }
        };
        jwk["kid"] = json!(self.kid);
        jwk["alg"] = json!(self.alg.as_str());
        jwk["use"] = json!("sig");
        jwk
    }

    /// The key that verifies its signatures, and the one algorithm to accept of them.
    pub(crate) fn verifier(&self) -> (DecodingKey, Algorithm) {
        let key = match self.alg {
            SigningAlgorithm::EdDSA => DecodingKey::from_ed_der(&self.public),
            SigningAlgorithm::RS256 => {
                DecodingKey::from_rsa_raw_components(&self.public, &RSA_EXPONENT)
            }
        };
        (key, self.alg.jwt())
    }
}

/// A key pair ready to sign, parsed once when the keys are loaded.
enum Signer {
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

impl Signer {
    fn of(key: &SigningKey) -> Result<Self, StoreError> {
        let unreadable = || StoreError::new(format!("signing key {} is unreadable", key.kid));
        Ok(match key.alg {
            SigningAlgorithm::EdDSA => Self::Ed25519(
                Ed25519KeyPair::from_pkcs8(&key.private_pkcs8).map_err(|_| unreadable())?,
            ),
            SigningAlgorithm::RS256 => {
                Self::Rsa(RsaKeyPair::from_pkcs8(&key.private_pkcs8).map_err(|_| unreadable())?)
            }
        })
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, StoreError> {
        match self {
            Self::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            Self::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(|_| StoreError::new("cannot sign a token"))?;
                Ok(signature)
            }
        }
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

/// The keys in use. A new key is published (stored, and so in every replica's JWKS) some time
/// before any replica signs with it, so that verifiers that cache the JWKS know it before they
/// meet it; the newest key whose time has come signs; a replaced key stays published while a
/// token it signed may live.
pub(crate) struct KeyRing {
    keys: RwLock<Arc<Vec<Loaded>>>,
    alg: SigningAlgorithm,
    jwks: Mutex<Option<Jwks>>,
}

/// The JWKS body last made, and what it was made of.
struct Jwks {
    /// Which key set, without keeping its private keys alive once a reload has dropped them
    /// (a `Weak` also keeps the allocation, so its address is not reused by another set).
    keys: Weak<Vec<Loaded>>,
    keep_published: u64,
    until: u64,
    body: Bytes,
}

struct Loaded {
    key: SigningKey,
    signer: Signer,
}

impl KeyRing {
    /// Loads the keys from the store, making the first one at first start, or the first of
    /// `alg` when the server is switched to it (that key signs at once; the others stay
    /// published while their tokens live). Replicas starting together make one between them:
    /// the first stored wins, the others load it.
    pub(crate) async fn load_or_create(
        store: &dyn Store,
        alg: SigningAlgorithm,
    ) -> Result<Self, StoreError> {
        let keys = store.signing_keys().await?;
        if !keys.iter().any(|k| k.alg == alg && k.retired_at.is_none()) {
            let mut first = SigningKey::generate(alg)?;
            first.active_from = first.created_at;
            if keys.is_empty() {
                store.add_signing_key(first, 0).await?;
            } else {
                store.put_signing_key(first).await?;
            }
        }
        let ring = Self {
            keys: RwLock::new(Arc::new(Vec::new())),
            alg,
            jwks: Mutex::new(None),
        };
        ring.reload(store).await?;
        Ok(ring)
    }

    /// What this server signs with.
    pub(crate) fn alg(&self) -> SigningAlgorithm {
        self.alg
    }

    /// Reads the keys again: replicas call this often enough to see a key published by another
    /// before it signs.
    pub(crate) async fn reload(&self, store: &dyn Store) -> Result<(), StoreError> {
        let loaded = store
            .signing_keys()
            .await?
            .into_iter()
            .map(|key| {
                Ok(Loaded {
                    signer: Signer::of(&key)?,
                    key,
                })
            })
            .collect::<Result<Vec<Loaded>, StoreError>>()?;
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(loaded);
        Ok(())
    }

    fn keys(&self) -> Arc<Vec<Loaded>> {
        // The lock guards a pointer swap only; poisoning cannot leave it half-written.
        Arc::clone(&self.keys.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Signs claims as a JWT of type `typ` with the newest key whose time has come.
    pub(crate) fn sign(&self, typ: JwtType, claims: &impl Serialize) -> Result<String, StoreError> {
        let keys = self.keys();
        let now = now();
        let signer = keys
            .iter()
            .filter(|k| k.key.alg == self.alg)
            .filter(|k| k.key.retired_at.is_none() && k.key.active_from <= now)
            .max_by(|a, b| {
                let order = |k: &Loaded| (k.key.active_from, k.key.created_at);
                // Replicas that made a key each at once sign with the same one.
                (order(a), &a.key.kid).cmp(&(order(b), &b.key.kid))
            })
            .ok_or_else(|| StoreError::new("no signing key is active"))?;
        let mut header = Header::new(self.alg.jwt());
        header.kid = Some(signer.key.kid.clone());
        header.typ = Some(typ.header_value().to_owned());
        let message = format!("{}.{}", encoded(&header)?, encoded(claims)?);
        let signature = signer.signer.sign(message.as_bytes())?;
        Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// Publishes a new key that signs from `publish_for` from now on; returns its `kid`. With no
    /// publication time, the new key signs at once and the keys before it are retired (as a
    /// compromised key must be).
    pub(crate) async fn rotate(
        &self,
        store: &dyn Store,
        publish_for: Duration,
    ) -> Result<String, StoreError> {
        let mut new = SigningKey::generate(self.alg)?;
        new.active_from = new.created_at.saturating_add(publish_for.as_secs());
        let kid = new.kid.clone();
        store.put_signing_key(new).await?;
        if publish_for.is_zero() {
            for old in store.signing_keys().await? {
                if old.kid != kid && old.retired_at.is_none() {
                    let retired_at = Some(now());
                    store
                        .put_signing_key(SigningKey { retired_at, ..old })
                        .await?;
                }
            }
        }
        self.reload(store).await?;
        Ok(kid)
    }

    /// Rotates if the newest key is `every` old; of replicas doing this at once, one does it.
    pub(crate) async fn rotate_if_due(
        &self,
        store: &dyn Store,
        every: Duration,
        publish_for: Duration,
    ) -> Result<(), StoreError> {
        let now = now();
        let newest = self.keys().iter().map(|k| k.key.created_at).max();
        if newest.is_some_and(|at| at.saturating_add(every.as_secs()) > now) {
            return Ok(());
        }
        let mut new = SigningKey::generate(self.alg)?;
        // Strictly after the newest key's start, so that which key signs is never a tie.
        let newest_start = self.keys().iter().map(|k| k.key.active_from).max();
        new.active_from = now
            .saturating_add(publish_for.as_secs())
            .max(newest_start.map_or(0, |at| at.saturating_add(1)));
        let since = now.saturating_sub(every.as_secs());
        if store.add_signing_key(new, since).await? {
            tracing::info!("signing key rotated");
        }
        self.reload(store).await
    }

    /// The JWKS as a JSON body: every key that signs or will, and every replaced one for
    /// `keep_published` seconds after its successor began to sign. It is made from the keys as
    /// last loaded and kept until they are reloaded or the set it publishes changes with time,
    /// so that serving it reads no store (and goes on while the store is out); a key another
    /// replica made appears with the next reload, as it does among the keys that sign.
    pub(crate) fn jwks(&self, keep_published: u64) -> Bytes {
        let keys = self.keys();
        let now = now();
        let mut cached = self.jwks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(jwks) = cached.as_ref() {
            if std::ptr::eq(jwks.keys.as_ptr(), Arc::as_ptr(&keys))
                && jwks.keep_published == keep_published
                && now < jwks.until
            {
                return jwks.body.clone();
            }
        }
        let all: Vec<&SigningKey> = keys.iter().map(|k| &k.key).collect();
        let (body, until) = published(&all, keep_published, now);
        let body = Bytes::from(body.to_string());
        *cached = Some(Jwks {
            keys: Arc::downgrade(&keys),
            keep_published,
            until,
            body: body.clone(),
        });
        body
    }

    /// Of the keys as last loaded, those replaced more than `keep_published` seconds ago: no
    /// token they signed can be alive.
    pub(crate) fn expired(&self, keep_published: u64, now: u64) -> Vec<String> {
        let loaded = self.keys();
        let keys: Vec<&SigningKey> = loaded.iter().map(|k| &k.key).collect();
        keys.iter()
            .filter(|k| replaced_at(k, &keys, now).is_some_and(|at| at + keep_published <= now))
            .map(|k| k.kid.clone())
            .collect()
    }
}

/// A JWS part: the JSON of `value`, base64url without padding.
fn encoded(value: &impl Serialize) -> Result<String, StoreError> {
    let json = serde_json::to_vec(value)
        .map_err(|e| StoreError::new(format!("cannot encode a token: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// The JWKS of `all` at `now`, and the first second at which it may differ: when a key begins
/// to sign (and so replaces another) or a replaced key stops being published.
fn published(all: &[&SigningKey], keep_published: u64, now: u64) -> (Value, u64) {
    let mut until = u64::MAX;
    let mut keys = Vec::new();
    for &key in all {
        if key.active_from > now {
            until = until.min(key.active_from);
        }
        match replaced_at(key, all, now) {
            Some(at) if at.saturating_add(keep_published) <= now => continue,
            Some(at) => until = until.min(at.saturating_add(keep_published)),
            None => {}
        }
        keys.push(key.jwk());
    }
    (json!({ "keys": keys }), until)
}

/// When a newer key began to sign in this key's place, if one has.
fn replaced_at(key: &SigningKey, all: &[&SigningKey], now: u64) -> Option<u64> {
    let successor = all
        .iter()
        .filter(|k| k.active_from > key.active_from && k.active_from <= now)
        .map(|k| k.active_from)
        .min();
    match (key.retired_at, successor) {
        (Some(retired), Some(next)) => Some(retired.min(next)),
        (retired, next) => retired.or(next),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use jsonwebtoken::Validation;
    use jsonwebtoken::jwk::Jwk;

    #[derive(Serialize, Deserialize)]
    struct Claims {
        sub: String,
        exp: u64,
    }

    fn jwks_of(ring: &KeyRing, keep_published: u64) -> Value {
        serde_json::from_slice(&ring.jwks(keep_published)).unwrap()
    }

    fn verify(jwks: &Value, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        let header = jsonwebtoken::decode_header(token)?;
        let kid = header.kid.unwrap();
        let jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .expect("the signing key is published");
        // Read as any verifier reads a JWKS: not through this module's own code.
        let jwk: Jwk = serde_json::from_value(jwk.clone()).unwrap();
        let key = DecodingKey::from_jwk(&jwk)?;
        let mut validation = Validation::new(header.alg);
        validation.validate_aud = false;
        Ok(jsonwebtoken::decode::<Claims>(token, &key, &validation)?.claims)
    }

    fn kid_of(token: &str) -> String {
        jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
    }

    fn claims() -> Claims {
        Claims {
            sub: "bob".into(),
            exp: now() + 300,
        }
    }

    #[tokio::test]
    async fn a_key_is_made_once_and_survives_reload() {
        let store = MemoryStore::new();
        let ring = KeyRing::load_or_create(&store, SigningAlgorithm::EdDSA)
            .await
            .unwrap();
        let again = KeyRing::load_or_create(&store, SigningAlgorithm::EdDSA)
            .await
            .unwrap();
        let signed = |ring: &KeyRing| ring.sign(JwtType::IdToken, &claims()).unwrap();
        assert_eq!(kid_of(&signed(&ring)), kid_of(&signed(&again)));
        assert_eq!(store.signing_keys().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn rotation_keeps_old_tokens_verifiable_until_they_expire() {
        let store = MemoryStore::new();
        let ring = KeyRing::load_or_create(&store, SigningAlgorithm::EdDSA)
            .await
            .unwrap();
        let old_token = ring.sign(JwtType::IdToken, &claims()).unwrap();
        let new_kid = ring.rotate(&store, Duration::ZERO).await.unwrap();
        let new_token = ring.sign(JwtType::IdToken, &claims()).unwrap();
        assert_eq!(kid_of(&new_token), new_kid);

        let jwks = jwks_of(&ring, 300);
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        assert_eq!(verify(&jwks, &old_token).unwrap().sub, "bob");
        assert_eq!(verify(&jwks, &new_token).unwrap().sub, "bob");

        // Once no token of the old key can be alive, it is no longer published, and it is due
        // for deletion.
        let jwks = jwks_of(&ring, 0);
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
        assert_eq!(jwks["keys"][0]["kid"], new_kid.as_str());
        assert_eq!(ring.expired(300, now()), Vec::<String>::new());
        assert_eq!(ring.expired(0, now()), [kid_of(&old_token)]);

        // A reload picks the new key.
        let reloaded = KeyRing::load_or_create(&store, SigningAlgorithm::EdDSA)
            .await
            .unwrap();
        let token = reloaded.sign(JwtType::IdToken, &claims()).unwrap();
        assert_eq!(kid_of(&token), new_kid);
    }

    /// The body is made once per loaded key set, and again when a rotation reloads the keys.
    #[tokio::test]
    async fn the_jwks_is_kept_until_the_keys_change() {
        let store = MemoryStore::new();
        let ring = KeyRing::load_or_create(&store, SigningAlgorithm::EdDSA)
            .await
            .unwrap();
        let (first, again) = (ring.jwks(300), ring.jwks(300));
        assert_eq!(
            first.as_ptr(),
            again.as_ptr(),
            "served from the one body made"
        );
        let kid = ring.rotate(&store, Duration::from_secs(120)).await.unwrap();
        let rotated = ring.jwks(300);
        assert_ne!(first.as_ptr(), rotated.as_ptr());
        let jwks: Value = serde_json::from_slice(&rotated).unwrap();
        assert!(
            jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kid"] == kid.as_str())
        );
    }

    /// What is published changes when a key begins to sign and when a replaced key's tokens
    /// can no longer live; the JWKS made before either is good until then and no longer.
    #[test]
    fn the_jwks_says_until_when_it_holds() {
        let mut old = SigningKey::generate(SigningAlgorithm::EdDSA).unwrap();
        let mut new = SigningKey::generate(SigningAlgorithm::EdDSA).unwrap();
        (old.active_from, new.active_from) = (1_000, 2_000);
        let all = [&old, &new];
        let kids = |jwks: &Value| jwks["keys"].as_array().unwrap().len();
        let (jwks, until) = published(&all, 300, 1_500);
        assert_eq!(
            (kids(&jwks), until),
            (2, 2_000),
            "both, until the new one signs"
        );
        let (jwks, until) = published(&all, 300, 2_000);
        assert_eq!(
            (kids(&jwks), until),
            (2, 2_300),
            "the old one while its tokens live"
        );
        let (jwks, until) = published(&all, 300, 2_300);
        assert_eq!((kids(&jwks), until), (1, u64::MAX), "then the new one only");
    }

    #[tokio::test]
    async fn a_new_key_is_published_before_it_signs() {
        let store = MemoryStore::new();
        let ring = KeyRing::load_or_create(&store, SigningAlgorithm::EdDSA)
            .await
            .unwrap();
        let old_kid = kid_of(&ring.sign(JwtType::IdToken, &claims()).unwrap());
        let new_kid = ring.rotate(&store, Duration::from_secs(120)).await.unwrap();
        let jwks = jwks_of(&ring, 300);
        let published: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert!(published.contains(&new_kid.as_str()) && published.contains(&old_kid.as_str()));
        // Not signing yet: the old key signs until the new one's time comes.
        let token = ring.sign(JwtType::IdToken, &claims()).unwrap();
        assert_eq!(kid_of(&token), old_kid);
        // Nor is the old key replaced, so it is not due for deletion.
        assert!(ring.expired(0, now()).is_empty());
        // Its time come (seen from two minutes on), the new key is the one that replaced it.
        assert_eq!(ring.expired(0, now() + 121), [old_kid]);
    }

    #[tokio::test]
    async fn replicas_rotating_at_once_make_one_key() {
        let store = MemoryStore::new();
        let mut old = SigningKey::generate(SigningAlgorithm::EdDSA).unwrap();
        old.created_at = now() - 3600;
        old.active_from = old.created_at;
        store.put_signing_key(old).await.unwrap();
        let first = KeyRing::load_or_create(&store, SigningAlgorithm::EdDSA)
            .await
            .unwrap();
        let second = KeyRing::load_or_create(&store, SigningAlgorithm::EdDSA)
            .await
            .unwrap();
        // Due on both (the key is an hour old, rotation every half hour): one new key.
        let every = Duration::from_secs(1800);
        for ring in [&first, &second] {
            ring.rotate_if_due(&store, every, Duration::ZERO)
                .await
                .unwrap();
        }
        assert_eq!(store.signing_keys().await.unwrap().len(), 2);
        // Both sign with it.
        let kids: Vec<String> = [&first, &second]
            .iter()
            .map(|ring| kid_of(&ring.sign(JwtType::IdToken, &claims()).unwrap()))
            .collect();
        assert_eq!(kids[0], kids[1]);
        // Not due again.
        first
            .rotate_if_due(&store, every, Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(store.signing_keys().await.unwrap().len(), 2);
    }

    #[test]
    fn jwk_shape() {
        let key = SigningKey::generate(SigningAlgorithm::EdDSA).unwrap();
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

    #[tokio::test]
    async fn an_rsa_ring_signs_rs256_that_its_jwks_verifies() {
        let store = MemoryStore::new();
        let ring = KeyRing::load_or_create(&store, SigningAlgorithm::RS256)
            .await
            .unwrap();
        let token = ring.sign(JwtType::AccessToken, &claims()).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let jwks = jwks_of(&ring, 300);
        assert_eq!(verify(&jwks, &token).unwrap().sub, "bob");
        // Claims changed under the signature are refused.
        let parts: Vec<&str> = token.split('.').collect();
        let mallory = Claims {
            sub: "mallory".into(),
            exp: now() + 300,
        };
        let forged = format!("{}.{}.{}", parts[0], encoded(&mallory).unwrap(), parts[2]);
        assert!(verify(&jwks, &forged).is_err());
        // The stored key verifies its own tokens, with its algorithm pinned.
        let key = &store.signing_keys().await.unwrap()[0];
        let (decoding, alg) = key.verifier();
        let mut validation = Validation::new(alg);
        validation.validate_aud = false;
        assert!(jsonwebtoken::decode::<Claims>(&token, &decoding, &validation).is_ok());
        assert!(
            jsonwebtoken::decode::<Claims>(&token, &decoding, &Validation::new(Algorithm::EdDSA))
                .is_err()
        );
    }

    #[tokio::test]
    async fn switching_algorithm_signs_with_a_new_key_at_once_and_keeps_the_old_published() {
        let store = MemoryStore::new();
        let ed = KeyRing::load_or_create(&store, SigningAlgorithm::EdDSA)
            .await
            .unwrap();
        let old_token = ed.sign(JwtType::AccessToken, &claims()).unwrap();
        let rsa = KeyRing::load_or_create(&store, SigningAlgorithm::RS256)
            .await
            .unwrap();
        let new_token = rsa.sign(JwtType::AccessToken, &claims()).unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&new_token).unwrap().alg,
            Algorithm::RS256
        );
        let jwks = jwks_of(&rsa, 300);
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        assert_eq!(verify(&jwks, &old_token).unwrap().sub, "bob");
        assert_eq!(verify(&jwks, &new_token).unwrap().sub, "bob");
        // Started again with RS256, no third key.
        KeyRing::load_or_create(&store, SigningAlgorithm::RS256)
            .await
            .unwrap();
        assert_eq!(store.signing_keys().await.unwrap().len(), 2);
        // Rotation keeps the algorithm.
        rsa.rotate(&store, Duration::ZERO).await.unwrap();
        let rotated = rsa.sign(JwtType::AccessToken, &claims()).unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&rotated).unwrap().alg,
            Algorithm::RS256
        );
    }

    #[test]
    fn rsa_jwk_shape() {
        let key = SigningKey::generate(SigningAlgorithm::RS256).unwrap();
        let jwk = key.jwk();
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["e"], "AQAB");
        let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
        assert_eq!(n.len(), 256);
        assert!(format!("{key:?}").find("private").is_none());
    }

    #[tokio::test]
    async fn a_key_stored_before_algorithms_were_named_is_ed25519() {
        let key = SigningKey::generate(SigningAlgorithm::EdDSA).unwrap();
        let mut stored = serde_json::to_value(&key).unwrap();
        stored.as_object_mut().unwrap().remove("alg");
        let read: SigningKey = serde_json::from_value(stored).unwrap();
        assert_eq!(read.alg, SigningAlgorithm::EdDSA);
        // And it still signs what its JWK verifies.
        let store = MemoryStore::new();
        let mut active = read;
        active.active_from = active.created_at;
        store.put_signing_key(active).await.unwrap();
        let ring = KeyRing::load_or_create(&store, SigningAlgorithm::EdDSA)
            .await
            .unwrap();
        assert_eq!(
            store.signing_keys().await.unwrap().len(),
            1,
            "no new key made"
        );
        let token = ring.sign(JwtType::AccessToken, &claims()).unwrap();
        let jwks = jwks_of(&ring, 300);
        assert_eq!(verify(&jwks, &token).unwrap().sub, "bob");
    }
}
