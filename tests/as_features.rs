//! The authorization server's tokens, grants and owner policies, end to end over loopback.

mod support;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use uma_as_core::{AuthorizationServer, ClientConfig, RptFormat, RunningServer, UserConfig};
use uma_client::token::ID_TOKEN_FORMAT;
use uma_client::{
    ClientCredentials, GrantAuth, PermissionRequest, ProtectionClient, ResourceDescription,
    UMA_TICKET_GRANT_TYPE, UmaClient, UmaGrantRequest,
};

const RS: (&str, &str) = ("photoz", "photoz-secret");
const APP: (&str, &str) = ("doctor-app", "doctor-secret");
const OTHER_APP: (&str, &str) = ("other-app", "other-secret");

struct Fixture {
    server: RunningServer,
    protection: ProtectionClient,
    resource_id: String,
}

async fn fixture(
    configure: impl FnOnce(
        uma_as_core::AuthorizationServerBuilder,
    ) -> uma_as_core::AuthorizationServerBuilder,
) -> Fixture {
    let builder = AuthorizationServer::builder()
        .client(ClientConfig::new(RS.0, RS.1))
        .client(ClientConfig::new(APP.0, APP.1))
        .client(ClientConfig::new(OTHER_APP.0, OTHER_APP.1))
        .user(UserConfig::new("alice").password("alice-pw"))
        .user(
            UserConfig::new("bob")
                .password("bob-pw")
                .groups(["doctors"])
                .claim("email", "bob@clinic.example"),
        )
        .user(
            UserConfig::new("carol")
                .password("carol-pw")
                .groups(["nurses"]),
        );
    let server = configure(builder).spawn().await.unwrap();
    let protection = ProtectionClient::builder(server.issuer())
        .credentials(ClientCredentials::new(RS.0, RS.1))
        .build()
        .unwrap();
    let resource_id = protection
        .create_resource(
            &ResourceDescription::new(["view", "edit"])
                .name("Alice's record")
                .owner("alice"),
        )
        .await
        .unwrap();
    Fixture {
        server,
        protection,
        resource_id,
    }
}

impl Fixture {
    /// The protection API as the requesting party's client, to introspect its own tokens.
    fn app_protection(&self) -> ProtectionClient {
        ProtectionClient::builder(self.server.issuer())
            .credentials(ClientCredentials::new(APP.0, APP.1))
            .build()
            .unwrap()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.issuer())
    }

    async fn ticket(&self, scopes: &[&str]) -> uma_client::PermissionTicket {
        self.protection
            .request_permissions(vec![PermissionRequest::new(
                self.resource_id.clone(),
                scopes.iter().copied(),
            )])
            .await
            .unwrap()
    }

    async fn password_grant(&self, user: &str, password: &str, scope: &str) -> reqwest::Response {
        reqwest::Client::new()
            .post(self.url("/token"))
            .basic_auth(APP.0, Some(APP.1))
            .form(&[
                ("grant_type", "password"),
                ("username", user),
                ("password", password),
                ("scope", scope),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Bob's client asks for `scopes` with Bob's own access token.
    async fn grant_for(&self, user: &str, scopes: &[&str]) -> Result<String, uma_client::Error> {
        let token = self.server.access_token(user, APP.0).await.unwrap();
        let uma = UmaClient::builder()
            .trust(self.server.issuer())
            .auth(GrantAuth::Bearer(token))
            .build()
            .unwrap();
        let ticket = self.ticket(scopes).await;
        uma.redeem(self.server.issuer(), &UmaGrantRequest::new(ticket))
            .await
            .map(|t| t.access_token.into_string())
    }

    async fn jwks(&self) -> Value {
        reqwest::get(self.url("/jwks"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn alice_token(&self) -> String {
        self.server
            .owner_token("alice", APP.0)
            .await
            .unwrap()
            .into_string()
    }
}

fn decoding_key(jwks: &Value, kid: &str) -> DecodingKey {
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .expect("the token's key is published");
    assert_eq!(jwk["kty"], "OKP");
    assert_eq!(jwk["crv"], "Ed25519");
    assert_eq!(jwk["alg"], "EdDSA");
    DecodingKey::from_ed_components(jwk["x"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn rpts_are_eddsa_jwts_with_keycloak_permissions() {
    let f = fixture(|b| b).await;
    f.server
        .share(&f.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let rpt = f.grant_for("bob", &["view"]).await.unwrap();

    let header = jsonwebtoken::decode_header(&rpt).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    let key = decoding_key(&f.jwks().await, header.kid.as_deref().unwrap());
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[f.server.issuer()]);
    validation.set_audience(&[RS.0]);
    let claims = jsonwebtoken::decode::<Value>(&rpt, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], "bob");
    assert_eq!(claims["azp"], APP.0);
    assert_eq!(claims["aud"], RS.0);
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        300
    );
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 22));
    let permission = &claims["authorization"]["permissions"][0];
    assert_eq!(permission["rsid"], f.resource_id.as_str());
    assert_eq!(permission["rsname"], "Alice's record");
    assert_eq!(permission["scopes"], json!(["view"]));
    assert_eq!(permission["resource_id"], f.resource_id.as_str());
    assert_eq!(permission["resource_scopes"], json!(["view"]));

    // A signature made with another key, or a tampered payload, does not verify.
    let mut parts: Vec<&str> = rpt.split('.').collect();
    let forged_payload = URL_SAFE_NO_PAD.encode(
        serde_json::to_vec(
            &json!({"sub": "mallory", "exp": u64::MAX, "iss": f.server.issuer(), "aud": RS.0}),
        )
        .unwrap(),
    );
    parts[1] = &forged_payload;
    assert!(jsonwebtoken::decode::<Value>(&parts.join("."), &key, &validation).is_err());
}

#[tokio::test]
async fn opaque_rpts_are_introspected() {
    let f = fixture(|b| b.rpt_format(RptFormat::Opaque)).await;
    f.server
        .share(&f.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let rpt = f.grant_for("bob", &["view"]).await.unwrap();
    assert_eq!(rpt.len(), 51, "a random handle, not a JWT");
    let introspection = f.protection.introspect(&rpt.as_str().into()).await.unwrap();
    assert!(introspection.active);
    assert_eq!(
        introspection.permissions.unwrap()[0].resource_id,
        f.resource_id
    );
}

#[tokio::test]
async fn key_rotation_keeps_old_tokens_verifiable() {
    // Signing with the new key at once (by default it is only published for two minutes first).
    let f = fixture(|b| b.signing_key_publication(Duration::ZERO)).await;
    f.server
        .share(&f.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let old = f.grant_for("bob", &["view"]).await.unwrap();
    let new_kid = f.server.rotate_signing_key().await.unwrap();
    let new = f.grant_for("bob", &["view"]).await.unwrap();
    let jwks = f.jwks().await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[RS.0]);
    for token in [&old, &new] {
        let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
        jsonwebtoken::decode::<Value>(token, &decoding_key(&jwks, &kid), &validation).unwrap();
    }
    assert_eq!(
        jsonwebtoken::decode_header(&new).unwrap().kid.unwrap(),
        new_kid
    );
}

#[tokio::test]
async fn password_grant_refresh_and_id_token() {
    let f = fixture(|b| b.password_grant(true)).await;
    let response = f.password_grant("bob", "bob-pw", "openid email").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "openid email");
    let id_token = body["id_token"].as_str().unwrap();
    let kid = jsonwebtoken::decode_header(id_token).unwrap().kid.unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[APP.0]);
    validation.set_issuer(&[f.server.issuer()]);
    let claims =
        jsonwebtoken::decode::<Value>(id_token, &decoding_key(&f.jwks().await, &kid), &validation)
            .unwrap()
            .claims;
    assert_eq!(claims["sub"], "bob");
    assert_eq!(claims["email"], "bob@clinic.example");

    // The access token introspects as bob's, to the client it was issued to.
    let access = body["access_token"].as_str().unwrap();
    let introspection = f.app_protection().introspect(&access.into()).await.unwrap();
    assert!(introspection.active);
    assert_eq!(introspection.username.as_deref(), Some("bob"));
    assert_eq!(introspection.scope.as_deref(), Some("openid email"));

    // Refresh: new tokens, and the used refresh token is spent.
    let refresh = body["refresh_token"].as_str().unwrap();
    let token_url = f.url("/token");
    let refreshed = |token: String| {
        let url = token_url.clone();
        async move {
            reqwest::Client::new()
                .post(url)
                .basic_auth(APP.0, Some(APP.1))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let first = refreshed(refresh.to_owned()).await;
    assert_eq!(first.status(), StatusCode::OK);
    let again = refreshed(refresh.to_owned()).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        again.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    // Wrong password, unknown user: the same answer.
    for (user, password) in [("bob", "wrong"), ("nobody", "x")] {
        let response = f.password_grant(user, password, "openid").await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            response.json::<Value>().await.unwrap()["error"],
            "invalid_grant"
        );
    }
}

#[tokio::test]
async fn password_grant_is_off_unless_configured() {
    let f = fixture(|b| b).await;
    let response = f.password_grant("bob", "bob-pw", "openid").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
}

/// The UMA grant by a client authenticated with its own credentials, pushing an ID token.
async fn push_id_token(f: &Fixture, id_token: &str) -> reqwest::Response {
    let ticket = f.ticket(&["view"]).await;
    reqwest::Client::new()
        .post(f.url("/token"))
        .basic_auth(APP.0, Some(APP.1))
        .form(&[
            ("grant_type", UMA_TICKET_GRANT_TYPE),
            ("ticket", ticket.as_str()),
            ("claim_token", id_token),
            ("claim_token_format", ID_TOKEN_FORMAT),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_pushed_id_token_identifies_the_requesting_party() {
    let f = fixture(|b| b).await;
    f.server
        .share(&f.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let id_token = f.server.id_token("bob", APP.0).await.unwrap();
    let response = push_id_token(&f, &id_token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let rpt = response.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let introspection = f.protection.introspect(&rpt.into()).await.unwrap();
    assert_eq!(introspection.sub.as_deref(), Some("bob"));
    assert_eq!(introspection.client_id.as_deref(), Some(APP.0));

    // An ID token issued to another client, a tampered one and an unsigned one identify nobody:
    // the client is then the party, unidentified, and is asked who it acts for (no RPT, no PCT).
    let foreign = f.server.id_token("bob", OTHER_APP.0).await.unwrap();
    let mut parts: Vec<String> = id_token.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(
        serde_json::to_vec(&json!({"iss": f.server.issuer(), "sub": "carol", "aud": APP.0, "exp": u64::MAX, "iat": 0})).unwrap(),
    );
    let tampered = parts.join(".");
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none_header}.{}.", parts[1]);
    let hs256 = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        parts[1],
        parts[2]
    );
    for bad in [foreign, tampered, unsigned, hs256, "not-a-jwt".to_owned()] {
        let response = push_id_token(&f, &bad).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{bad}");
        let body = response.json::<Value>().await.unwrap();
        assert_eq!(body["error"], "need_info", "{bad}");
        assert!(body.get("pct").is_none() && body.get("access_token").is_none());
    }
}

#[tokio::test]
async fn revocation() {
    let f = fixture(|b| b).await;
    f.server
        .share(&f.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let rpt = f.grant_for("bob", &["view"]).await.unwrap();
    let revoke = |client: (&'static str, &'static str), token: String| {
        let url = f.url("/revoke");
        async move {
            reqwest::Client::new()
                .post(url)
                .basic_auth(client.0, Some(client.1))
                .form(&[
                    ("token", token.as_str()),
                    ("token_type_hint", "access_token"),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // Another client cannot revoke it; the answer does not say so (RFC 7009 §2.2).
    assert_eq!(revoke(OTHER_APP, rpt.clone()).await, StatusCode::OK);
    assert!(
        f.protection
            .introspect(&rpt.as_str().into())
            .await
            .unwrap()
            .active
    );
    // The client it was issued to can.
    assert_eq!(revoke(APP, rpt.clone()).await, StatusCode::OK);
    assert!(
        !f.protection
            .introspect(&rpt.as_str().into())
            .await
            .unwrap()
            .active
    );
    assert_eq!(revoke(APP, "unknown".into()).await, StatusCode::OK);
    // Bad client credentials are an error.
    assert_eq!(
        revoke(("doctor-app", "wrong"), rpt).await,
        StatusCode::UNAUTHORIZED
    );
}

async fn policy_call(
    f: &Fixture,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .request(method, f.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn owner_policies_decide_the_next_grant() {
    let f = fixture(|b| b).await;
    let alice = f.alice_token().await;
    let resource = format!("/policy/{}", f.resource_id);
    assert!(f.grant_for("bob", &["view"]).await.is_err(), "default deny");

    // A policy for the doctors' group.
    let (status, created) = policy_call(
        &f,
        reqwest::Method::POST,
        &resource,
        &alice,
        Some(json!({"name": "doctors", "scopes": ["view"], "groups": ["doctors"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["resource"], f.resource_id.as_str());
    assert_eq!(created["groups"], json!(["doctors"]));
    assert!(
        f.grant_for("bob", &["view"]).await.is_ok(),
        "bob is a doctor"
    );
    assert!(
        f.grant_for("carol", &["view"]).await.is_err(),
        "carol is not"
    );
    assert!(f.grant_for("bob", &["edit"]).await.is_err(), "only view");

    // Listed and read back.
    let (status, list) = policy_call(
        &f,
        reqwest::Method::GET,
        &format!("/policy?resource={}", f.resource_id),
        &alice,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, read) = policy_call(
        &f,
        reqwest::Method::GET,
        &format!("/policy/{id}"),
        &alice,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, created);

    // Narrowed to a time window in the past: the next grant is refused.
    let (status, _) = policy_call(
        &f,
        reqwest::Method::PUT,
        &format!("/policy/{id}"),
        &alice,
        Some(json!({"scopes": ["view"], "groups": ["doctors"], "not_before": 1, "not_after": 2})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(f.grant_for("bob", &["view"]).await.is_err());

    // A claim condition.
    let (status, _) = policy_call(
        &f,
        reqwest::Method::PUT,
        &format!("/policy/{id}"),
        &alice,
        Some(json!({"scopes": ["view", "edit"], "claims": {"email": "bob@clinic.example"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(f.grant_for("bob", &["view", "edit"]).await.is_ok());

    // Deleted: back to default deny.
    let (status, _) = policy_call(
        &f,
        reqwest::Method::DELETE,
        &format!("/policy/{id}"),
        &alice,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(f.grant_for("bob", &["view"]).await.is_err());
}

#[tokio::test]
async fn only_the_owner_manages_policies_and_bad_policies_are_refused() {
    let f = fixture(|b| b).await;
    let alice = f.alice_token().await;
    let bob = f
        .server
        .owner_token("bob", APP.0)
        .await
        .unwrap()
        .into_string();
    let resource = format!("/policy/{}", f.resource_id);
    let (status, created) = policy_call(
        &f,
        reqwest::Method::POST,
        &resource,
        &alice,
        Some(json!({"scopes": ["view"], "users": ["bob"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().unwrap();

    // Bob cannot see or change Alice's policies, nor make one on her resource.
    for (method, path, body) in [
        (
            reqwest::Method::POST,
            resource.clone(),
            Some(json!({"scopes": ["edit"], "users": ["bob"]})),
        ),
        (reqwest::Method::GET, format!("/policy/{id}"), None),
        (
            reqwest::Method::PUT,
            format!("/policy/{id}"),
            Some(json!({"scopes": ["edit"], "users": ["bob"]})),
        ),
        (reqwest::Method::DELETE, format!("/policy/{id}"), None),
        (
            reqwest::Method::GET,
            format!("/policy?resource={}", f.resource_id),
            None,
        ),
    ] {
        let (status, body) = policy_call(&f, method.clone(), &path, &bob, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(body["error"], "not_found");
    }
    assert!(f.grant_for("bob", &["edit"]).await.is_err());

    for (body, status, code) in [
        (
            json!({"scopes": ["view"]}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"scopes": [], "users": ["bob"]}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"scopes": ["print"], "users": ["bob"]}),
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
        (
            json!({"scopes": ["view"], "users": "bob"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"scopes": ["view"], "users": ["bob"], "everyone": true}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"scopes": ["view"], "users": ["bob"], "not_before": 10, "not_after": 5}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ] {
        let (got, answer) = policy_call(
            &f,
            reqwest::Method::POST,
            &resource,
            &alice,
            Some(body.clone()),
        )
        .await;
        assert_eq!(got, status, "{body}");
        assert_eq!(answer["error"], code, "{body}");
    }
    // No token at all.
    let response = reqwest::Client::new()
        .get(f.url(&format!("/policy/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn ticket_lifetime_is_configurable_and_expired_tickets_are_invalid_grant() {
    let f = fixture(|b| b.ticket_lifetime(Duration::from_secs(0))).await;
    f.server
        .share(&f.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let error = f.grant_for("bob", &["view"]).await.unwrap_err();
    assert_eq!(
        error.oauth_error().unwrap().error,
        uma_client::ErrorCode::InvalidGrant
    );
}

#[tokio::test]
async fn access_and_refresh_tokens_can_be_revoked() {
    let f = fixture(|b| b.password_grant(true)).await;
    let body: Value = f
        .password_grant("bob", "bob-pw", "openid")
        .await
        .json()
        .await
        .unwrap();
    let (access, refresh) = (
        body["access_token"].as_str().unwrap(),
        body["refresh_token"].as_str().unwrap(),
    );
    for token in [access, refresh] {
        let status = reqwest::Client::new()
            .post(f.url("/revoke"))
            .form(&[
                ("token", token),
                ("client_id", APP.0),
                ("client_secret", APP.1),
            ])
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::OK);
    }
    assert!(
        !f.app_protection()
            .introspect(&access.into())
            .await
            .unwrap()
            .active
    );
    let refreshed = reqwest::Client::new()
        .post(f.url("/token"))
        .basic_auth(APP.0, Some(APP.1))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        refreshed.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}
