//! OpenID Connect ID tokens: issued with the `openid` scope, and accepted back as pushed claim
//! tokens (Grant §3.3.1) when this server issued them to the presenting client.

use jsonwebtoken::Validation;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ApiError;
use crate::keys::{JwtType, SigningAlgorithm, SigningKey};
use crate::server::AppState;
use crate::store::StoreError;
use crate::time::now;

/// The claims of the ID tokens this server issues and accepts back as claim tokens.
#[derive(Debug, Serialize, Deserialize)]
struct IdTokenClaims {
    iss: String,
    sub: String,
    aud: String,
    exp: u64,
    iat: u64,
    #[serde(flatten)]
    extra: serde_json::Map<String, Value>,
}

/// Claims that only access tokens and RPTs carry: an ID token with any of them is refused.
const ACCESS_TOKEN_CLAIMS: [&str; 4] = ["authorization", "scope", "client_id", "permissions"];

/// An ID token for `username`, audience `client_id`, with the user's configured claims, the
/// authorization request's `nonce` (OIDC Core §3.1.3.6) and the `at_hash` of the access token
/// issued with it, if one is (§3.1.3.8).
pub(crate) fn id_token(
    state: &AppState,
    username: &str,
    client_id: &str,
    nonce: Option<&str>,
    access_token: Option<&str>,
) -> Result<String, ApiError> {
    let user = state
        .registry
        .users
        .get(username)
        .ok_or_else(|| ApiError::invalid_grant("unknown user"))?;
    let iat = now();
    let mut extra = serde_json::Map::new();
    extra.insert("preferred_username".to_owned(), Value::from(username));
    for (name, value) in &user.claims {
        extra.insert(name.clone(), Value::from(value.as_str()));
    }
    if let Some(nonce) = nonce {
        extra.insert("nonce".to_owned(), Value::from(nonce));
    }
    if let Some(access_token) = access_token {
        let hash = at_hash(state.issuance.keys.alg(), access_token);
        extra.insert("at_hash".to_owned(), Value::from(hash));
    }
    let claims = IdTokenClaims {
        iss: state.issuer.as_str().to_owned(),
        sub: username.to_owned(),
        aud: client_id.to_owned(),
        exp: iat + state.issuance.lifetimes.access_token.as_secs(),
        iat,
        extra,
    };
    Ok(state.issuance.keys.sign(JwtType::IdToken, &claims)?)
}

/// The left half of the access token's digest by the hash of the ID token's algorithm, base64url
/// (OIDC Core §3.1.3.6): SHA-256 for RS256, SHA-512 for Ed25519 (the hash EdDSA uses with it).
fn at_hash(alg: SigningAlgorithm, access_token: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest = match alg {
        SigningAlgorithm::EdDSA => sha2::Sha512::digest(access_token.as_bytes()).to_vec(),
        SigningAlgorithm::RS256 => sha2::Sha256::digest(access_token.as_bytes()).to_vec(),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// Why a pushed claim token identifies nobody.
#[derive(Debug, thiserror::Error)]
#[error("the claim token is not usable: {0}")]
pub(crate) struct Unusable(String);

/// Checks a pushed ID token (Grant §3.3.1, §5.7; OIDC Core §3.1.3.7): typed `JWT` and carrying
/// none of an access token's claims (an RPT or access token pushed as an ID token identifies
/// nobody, TM-1), our signature by a published key with the algorithm pinned to that key's, our `iss`,
/// `aud` = the presenting client (TM-2), not expired. Returns the user it names, or why it names
/// nobody; `Err` only when the keys cannot be read.
pub(crate) async fn verify_id_token(
    state: &AppState,
    token: &str,
    client_id: &str,
) -> Result<Result<String, Unusable>, StoreError> {
    let keys = state.store.signing_keys().await?;
    Ok(check(state, &keys, token, client_id))
}

fn check(
    state: &AppState,
    keys: &[SigningKey],
    token: &str,
    client_id: &str,
) -> Result<String, Unusable> {
    let invalid = |why: &str| Unusable(why.to_owned());
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("not a JWT"))?;
    if header.typ.as_deref() != Some(JwtType::IdToken.header_value()) {
        return Err(invalid("not an ID token"));
    }
    let kid = header.kid.ok_or_else(|| invalid("no kid"))?;
    let key = keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| invalid("unknown signing key"))?;
    let (decoding, alg) = key.verifier();
    if header.alg != alg {
        return Err(invalid("unexpected algorithm"));
    }
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[state.issuer.as_str()]);
    validation.set_audience(&[client_id]);
    validation.leeway = 5;
    let claims = jsonwebtoken::decode::<IdTokenClaims>(token, &decoding, &validation)
        .map_err(|e| invalid(&e.to_string()))?
        .claims;
    if ACCESS_TOKEN_CLAIMS
        .iter()
        .any(|claim| claims.extra.contains_key(*claim))
    {
        return Err(invalid("an access token is not an ID token"));
    }
    if !state.registry.is_user(&claims.sub) {
        return Err(invalid("unknown subject"));
    }
    Ok(claims.sub)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{AuthorizationServer, ClientConfig};

    async fn server(alg: crate::SigningAlgorithm) -> AuthorizationServer {
        AuthorizationServer::builder()
            .issuer("http://as.test")
            .signing_algorithm(alg)
            .client(ClientConfig::new("app", "secret"))
            .user("bob")
            .build()
            .await
            .unwrap()
    }

    fn claims(iss: &str, aud: &str, sub: &str, exp: u64) -> IdTokenClaims {
        IdTokenClaims {
            iss: iss.into(),
            sub: sub.into(),
            aud: aud.into(),
            exp,
            iat: now().saturating_sub(3600),
            extra: serde_json::Map::new(),
        }
    }

    #[tokio::test]
    async fn each_check_of_a_pushed_id_token_refuses() {
        for alg in [
            crate::SigningAlgorithm::EdDSA,
            crate::SigningAlgorithm::RS256,
        ] {
            each_check_refuses(server(alg).await).await;
        }
    }

    async fn each_check_refuses(server: AuthorizationServer) {
        let state = server.state();
        let sign = |c: IdTokenClaims| state.issuance.keys.sign(JwtType::IdToken, &c).unwrap();
        let good = sign(claims("http://as.test", "app", "bob", now() + 60));
        let verify = async |token: &str| verify_id_token(state, token, "app").await.unwrap();
        assert_eq!(verify(&good).await.unwrap(), "bob");
        for (what, token) in [
            (
                "expired",
                sign(claims("http://as.test", "app", "bob", now() - 60)),
            ),
            (
                "another issuer",
                sign(claims("http://elsewhere", "app", "bob", now() + 60)),
            ),
            (
                "another audience",
                sign(claims("http://as.test", "other", "bob", now() + 60)),
            ),
            (
                "an unknown user",
                sign(claims("http://as.test", "app", "mallory", now() + 60)),
            ),
            (
                "an access token's type",
                state
                    .issuance
                    .keys
                    .sign(
                        JwtType::AccessToken,
                        &claims("http://as.test", "app", "bob", now() + 60),
                    )
                    .unwrap(),
            ),
            ("an RPT's claims", {
                let mut rpt_like = claims("http://as.test", "app", "bob", now() + 60);
                rpt_like.extra.insert(
                    "authorization".into(),
                    serde_json::json!({"permissions": []}),
                );
                sign(rpt_like)
            }),
            ("a scope", {
                let mut scoped = claims("http://as.test", "app", "bob", now() + 60);
                scoped.extra.insert("scope".into(), "openid".into());
                sign(scoped)
            }),
        ] {
            assert!(verify(&token).await.is_err(), "{what}");
        }
    }
}
