//! Local validation of JWT RPTs against the authorization server's JWKS.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::Mutex;
use uma_client::ProtectionClient;
use uma_types::Permission;

/// The largest JWKS read, and the most keys kept from it.
const MAX_JWKS_BYTES: usize = 64 * 1024;
const MAX_KEYS: usize = 32;

/// Why a JWT was not accepted.
#[derive(Debug, thiserror::Error)]
pub(crate) enum JwtError {
    /// The token is not valid: bad signature, wrong algorithm, issuer, audience, expired, …
    #[error("invalid JWT: {0}")]
    Invalid(String),
    /// The keys could not be fetched: the token cannot be judged now.
    #[error("JWKS unavailable: {0}")]
    Unavailable(String),
}

/// A key and the one algorithm it may verify, fixed by the JWK or its type; never by a token.
#[derive(Clone)]
struct PinnedKey {
    key: DecodingKey,
    algorithm: Algorithm,
}

pub(crate) struct Jwks {
    protection: ProtectionClient,
    http: reqwest::Client,
    allowed: Vec<Algorithm>,
    keys: RwLock<Arc<HashMap<String, PinnedKey>>>,
    // Taken only by requests whose `kid` is unknown: requests with known keys never wait on a
    // fetch. Holds when the last fetch started, to refetch at most once per `min_interval`.
    refresh: Mutex<Option<Instant>>,
    min_interval: Duration,
}

/// The claims the guard reads from an RPT: Keycloak's `authorization.permissions` (`rsid`,
/// `scopes`) or a top-level `permissions` (`resource_id`, `resource_scopes`).
#[derive(Debug, Deserialize)]
pub(crate) struct RptClaims {
    /// Keycloak types its tokens in the payload: `Bearer` for access tokens and RPTs, `ID` for ID
    /// tokens.
    typ: Option<String>,
    pub(crate) sub: Option<String>,
    pub(crate) azp: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) exp: Option<u64>,
    authorization: Option<Authorization>,
    permissions: Option<Vec<Permission>>,
}

#[derive(Debug, Deserialize)]
struct Authorization {
    #[serde(default)]
    permissions: Vec<Permission>,
}

impl RptClaims {
    /// The permissions of both dialects, taken out of the claims.
    pub(crate) fn take_permissions(&mut self) -> Vec<Permission> {
        let mut permissions = self.permissions.take().unwrap_or_default();
        if let Some(authorization) = self.authorization.take() {
            permissions.extend(authorization.permissions);
        }
        permissions
    }
}

impl Jwks {
    pub(crate) fn new(
        protection: ProtectionClient,
        http: reqwest::Client,
        allowed: Vec<Algorithm>,
        min_interval: Duration,
    ) -> Self {
        Self {
            protection,
            http,
            allowed,
            keys: RwLock::new(Arc::new(HashMap::new())),
            refresh: Mutex::new(None),
            min_interval,
        }
    }

    fn known(&self, kid: &str) -> Option<PinnedKey> {
        // The lock guards a pointer swap; poisoning cannot leave the map half-written.
        self.keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(kid)
            .cloned()
    }

    /// The key with this `kid`: a known one, or one from a refetch of the JWKS, done at most once
    /// per interval. If a refetch fails, the keys already known stay in use.
    async fn key(&self, kid: &str) -> Result<PinnedKey, JwtError> {
        if let Some(key) = self.known(kid) {
            return Ok(key);
        }
        let mut last = self.refresh.lock().await;
        if let Some(key) = self.known(kid) {
            return Ok(key); // another request fetched it while this one waited
        }
        if last.is_some_and(|at| at.elapsed() < self.min_interval) {
            return Err(JwtError::Invalid(format!("unknown kid {kid:?}")));
        }
        *last = Some(Instant::now());
        let keys = self.fetch().await?;
        tracing::debug!(keys = keys.len(), "JWKS fetched");
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
        drop(last);
        self.known(kid)
            .ok_or_else(|| JwtError::Invalid(format!("unknown kid {kid:?}")))
    }

    async fn fetch(&self) -> Result<HashMap<String, PinnedKey>, JwtError> {
        let unavailable = |e: &dyn std::fmt::Display| JwtError::Unavailable(e.to_string());
        let discovery = self
            .protection
            .discovery()
            .await
            .map_err(|e| unavailable(&e))?;
        let url = discovery
            .jwks_uri
            .as_deref()
            .ok_or_else(|| JwtError::Unavailable("no jwks_uri in discovery".to_owned()))?;
        let mut response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| unavailable(&e.without_url()))?;
        if !response.status().is_success() {
            return Err(JwtError::Unavailable(format!(
                "JWKS answered {}",
                response.status()
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unavailable(&e.without_url()))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(JwtError::Unavailable("JWKS too large".to_owned()));
            }
            body.extend_from_slice(&chunk);
        }
        let set: JwkSet = serde_json::from_slice(&body).map_err(|e| unavailable(&e))?;
        Ok(set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                let algorithm = match jwk.common.key_algorithm {
                    Some(declared) => Algorithm::try_from(declared).ok()?,
                    None => implied_algorithm(&jwk.algorithm)?,
                };
                if !self.allowed.contains(&algorithm) {
                    return None;
                }
                let key = DecodingKey::from_jwk(jwk).ok()?;
                Some((kid, PinnedKey { key, algorithm }))
            })
            .take(MAX_KEYS)
            .collect())
    }

    /// Verifies a JWT RPT: a known key by `kid`, the algorithm that key is pinned to (the header
    /// must name the same), the signature, `iss`, `aud` if configured, `exp` and `nbf` with leeway;
    /// then that it is an RPT at all (TM-1): typed as an access token (`at+jwt` in the header per
    /// RFC 9068, or Keycloak's `typ: Bearer` in the payload) and carrying permissions. An ID
    /// token, or an access token without permissions, signed by the same key, is refused.
    pub(crate) async fn verify(
        &self,
        token: &str,
        issuer: &str,
        audience: Option<&str>,
        leeway: Duration,
    ) -> Result<RptClaims, JwtError> {
        let invalid = |e: jsonwebtoken::errors::Error| JwtError::Invalid(e.to_string());
        // `alg: none` and unknown algorithms fail here: they are not `Algorithm`s.
        let header = jsonwebtoken::decode_header(token).map_err(invalid)?;
        let kid = header
            .kid
            .ok_or_else(|| JwtError::Invalid("no kid".to_owned()))?;
        let key = self.key(&kid).await?;
        if header.alg != key.algorithm {
            return Err(JwtError::Invalid(format!(
                "the header says {:?}, the key is for {:?}",
                header.alg, key.algorithm
            )));
        }
        let mut validation = Validation::new(key.algorithm);
        validation.set_issuer(&[issuer]);
        match audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        validation.validate_nbf = true;
        validation.leeway = leeway.as_secs();
        let claims = jsonwebtoken::decode::<RptClaims>(token, &key.key, &validation)
            .map_err(invalid)?
            .claims;
        let typed_as_access_token = header.typ.as_deref().is_some_and(|typ| {
            typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
        }) || claims.typ.as_deref() == Some("Bearer");
        if !typed_as_access_token {
            return Err(JwtError::Invalid("not typed as an access token".to_owned()));
        }
        if claims.authorization.is_none() && claims.permissions.is_none() {
            return Err(JwtError::Invalid(
                "an access token without permissions is no RPT".to_owned(),
            ));
        }
        Ok(claims)
    }
}

/// The algorithm a JWK without `alg` implies.
fn implied_algorithm(parameters: &AlgorithmParameters) -> Option<Algorithm> {
    match parameters {
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            Some(Algorithm::EdDSA)
        }
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        // Symmetric keys in a JWKS would let anyone who reads it sign tokens.
        _ => None,
    }
}

/// Whether a token is a JWT naming this issuer, judged without verifying it: for the automatic
/// choice between local validation and introspection.
pub(crate) fn is_jwt_from(token: &str, issuer: &str) -> bool {
    use base64::Engine as _;
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    #[derive(Deserialize)]
    struct Iss {
        iss: Option<String>,
    }
    let decode = |part: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .ok()
    };
    let header_ok = decode(header)
        .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
        .is_some_and(|h| h.get("kid").is_some());
    header_ok
        && decode(payload)
            .and_then(|p| serde_json::from_slice::<Iss>(&p).ok())
            .and_then(|c| c.iss)
            .is_some_and(|iss| iss == issuer)
}
