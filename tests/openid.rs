//! The server as an OpenID provider to generic clients: its discovery document at
//! `/.well-known/openid-configuration` and a UserInfo endpoint that answers only access tokens
//! carrying `openid`.

mod support;

use http::{StatusCode, header};
use serde_json::Value;
use support::{CLIENT_ID, CLIENT_SECRET, RS_ID, RS_SECRET};
use uma_as_core::{AuthorizationServer, ClientConfig, RunningServer, UserConfig};

async fn server() -> RunningServer {
    AuthorizationServer::builder()
        .client(ClientConfig::new(RS_ID, RS_SECRET))
        .client(ClientConfig::new(CLIENT_ID, CLIENT_SECRET))
        .user(
            UserConfig::new("alice")
                .password("alice-password")
                .claim("email", "alice@example.com"),
        )
        .password_grant(true)
        .spawn()
        .await
        .unwrap()
}

/// An access token for alice at doctor-app with `scope`, by the password grant.
async fn token(server: &RunningServer, scope: &str) -> String {
    let body: Value = reqwest::Client::new()
        .post(format!("{}/token", server.issuer()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-password"),
            ("scope", scope),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

#[tokio::test]
async fn the_openid_configuration_describes_a_provider() {
    let server = server().await;
    let issuer = server.issuer();
    let document: Value = reqwest::get(format!("{issuer}/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(document["issuer"], issuer);
    for (member, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("jwks_uri", "/jwks"),
        ("userinfo_endpoint", "/userinfo"),
        ("introspection_endpoint", "/introspect"),
    ] {
        assert_eq!(document[member], format!("{issuer}{path}"), "{member}");
    }
    assert_eq!(
        document["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(
        document["id_token_signing_alg_values_supported"],
        serde_json::json!(["EdDSA"])
    );
    assert_eq!(
        document["response_types_supported"],
        serde_json::json!(["code"])
    );
    let scopes = document["scopes_supported"].as_array().unwrap();
    assert!(scopes.iter().any(|s| s == "openid"), "{scopes:?}");
}

#[tokio::test]
async fn userinfo_answers_openid_access_tokens_only() {
    let server = server().await;
    let userinfo = format!("{}/userinfo", server.issuer());
    let http = reqwest::Client::new();
    let openid = token(&server, "openid").await;
    for request in [http.get(&userinfo), http.post(&userinfo)] {
        let claims: Value = request
            .bearer_auth(&openid)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["preferred_username"], "alice");
        assert_eq!(claims["email"], "alice@example.com");
    }

    // Not with a token without `openid`, a PAT, or none.
    let owner = token(&server, "uma_protection").await;
    let pat = uma_client::ProtectionClient::builder(server.issuer())
        .credentials(uma_client::ClientCredentials::new(RS_ID, RS_SECRET))
        .build()
        .unwrap()
        .pat()
        .await
        .unwrap();
    for wrong in [owner.as_str(), pat.as_str()] {
        let refused = http.get(&userinfo).bearer_auth(wrong).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let challenge = refused.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap();
        assert!(challenge.contains("insufficient_scope"), "{challenge}");
        assert!(challenge.contains("scope=\"openid\""), "{challenge}");
    }
    let anonymous = http.get(&userinfo).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let unknown = http
        .get(&userinfo)
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_id_token_carries_the_at_hash_of_its_access_token() {
    use base64::Engine as _;
    use sha2::Digest as _;
    let server = server().await;
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/token", server.issuer()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-password"),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id_token = answer["id_token"].as_str().unwrap();
    let payload = id_token.split('.').nth(1).unwrap();
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims: Value = serde_json::from_slice(&engine.decode(payload).unwrap()).unwrap();
    // EdDSA with Ed25519 hashes with SHA-512: the left half of its digest.
    let digest = sha2::Sha512::digest(answer["access_token"].as_str().unwrap().as_bytes());
    assert_eq!(claims["at_hash"], engine.encode(&digest[..32]));
}
