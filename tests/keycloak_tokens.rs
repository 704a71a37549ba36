//! Tokens as Keycloak issues them, in the realm mode: RS256 JWTs its adapters verify offline
//! against `certs` (access tokens and PATs with `typ: Bearer`, `azp`, `preferred_username`;
//! RPTs with `authorization.permissions`), and the ticketless grant asked by a resource server
//! for the user whose token it was handed (`subject_token`), as keycloak-connect asks.

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;
use sha2::Digest as _;
use support::{CLIENT_ID, CLIENT_SECRET, RS_ID, RS_SECRET, World};

async fn realm() -> World {
    World::start_with(|builder| {
        builder.keycloak_realm("photoz").password_grant(true).user(
            uma_as_core::UserConfig::new("dave")
                .password("dave-password")
                .realm_roles(["doctor"])
                .client_roles(RS_ID, ["album-manager"]),
        )
    })
    .await
}

/// The claims of `token`, verified as an adapter verifies them: by the key its `kid` names in
/// the realm's `certs`, with the algorithm pinned to RS256.
async fn verified(world: &World, token: &str) -> Value {
    let certs: JwkSet = reqwest::get(world.url("/protocol/openid-connect/certs"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let jwk = certs
        .find(header.kid.as_deref().unwrap())
        .expect("published");
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_aud = false;
    validation.set_issuer(&[&world.issuer]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .unwrap()
        .claims
}

/// A password grant at Keycloak's token path: the whole answer.
async fn password_grant(world: &World, user: &str, scope: &str) -> Value {
    reqwest::Client::new()
        .post(world.url("/protocol/openid-connect/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", &format!("{user}-password")),
            ("scope", scope),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn access_tokens_pats_and_rpts_are_rs256_jwts_in_keycloaks_shape() {
    let world = realm().await;
    let answer = password_grant(&world, "dave", "openid").await;
    let access = answer["access_token"].as_str().expect("an access token");
    let claims = verified(&world, access).await;
    assert_eq!(claims["typ"], "Bearer");
    assert_eq!(claims["sub"], "dave");
    assert_eq!(claims["preferred_username"], "dave");
    assert_eq!(claims["azp"], CLIENT_ID);
    assert_eq!(claims["scope"], "openid");
    assert!(claims.get("authorization").is_none(), "{claims}");
    // Her roles, where configured, as Keycloak carries them.
    assert_eq!(
        claims["realm_access"]["roles"],
        serde_json::json!(["doctor"])
    );
    assert_eq!(
        claims["resource_access"][RS_ID]["roles"],
        serde_json::json!(["album-manager"])
    );

    // The ID token beside it: RS256 too, with the at_hash of that access token (SHA-256).
    let id_token = verified(&world, answer["id_token"].as_str().unwrap()).await;
    let digest = sha2::Sha256::digest(access.as_bytes());
    assert_eq!(id_token["at_hash"], URL_SAFE_NO_PAD.encode(&digest[..16]));

    // Still a token of the store: revoked, it is inactive at introspection (asked by the client
    // it was issued to: only that client may learn of it, TM-11).
    let introspect = |token: String| {
        let world = &world;
        async move {
            let body: Value = reqwest::Client::new()
                .post(world.url("/protocol/openid-connect/token/introspect"))
                .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
                .form(&[("token", token.as_str())])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["active"].as_bool().unwrap()
        }
    };
    assert!(introspect(access.to_owned()).await);
    // With the members Keycloak's introspection adds.
    let described: Value = reqwest::Client::new()
        .post(world.url("/protocol/openid-connect/token/introspect"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(described["typ"], "Bearer");
    assert_eq!(described["azp"], CLIENT_ID);
    assert_eq!(described["preferred_username"], "dave");
    let revoked = reqwest::Client::new()
        .post(world.url("/protocol/openid-connect/revoke"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert!(!introspect(access.to_owned()).await);

    // A PAT names the client's service account, as Keycloak's does.
    let pat = world.authorization_server.pat(RS_ID).await.unwrap();
    let claims = verified(&world, pat.as_str()).await;
    assert_eq!(
        claims["preferred_username"],
        format!("service-account-{RS_ID}")
    );
    assert_eq!(claims["scope"], "uma_protection");

    // An RPT of the ticketless grant: Keycloak's permissions, with the resource's name.
    world
        .authorization_server
        .share(&world.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let bob = world.token("bob").await;
    let rpt: Value = reqwest::Client::new()
        .post(world.url("/protocol/openid-connect/token"))
        .bearer_auth(bob.as_str())
        .form(&[
            ("grant_type", uma_client::UMA_TICKET_GRANT_TYPE),
            ("audience", RS_ID),
            ("permission", "Alice's album#view"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let claims = verified(&world, rpt["access_token"].as_str().expect("an RPT")).await;
    assert_eq!(claims["typ"], "Bearer");
    assert_eq!(claims["azp"], CLIENT_ID);
    assert_eq!(claims["aud"], RS_ID);
    let permission = &claims["authorization"]["permissions"][0];
    assert_eq!(permission["rsid"], world.resource_id.as_str());
    assert_eq!(permission["rsname"], "Alice's album");
    assert_eq!(permission["scopes"], serde_json::json!(["view"]));
}

/// The ticketless grant as a resource server asks it: authenticated as itself, for the user of
/// `subject_token`.
async fn for_subject(world: &World, subject_token: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(world.url("/protocol/openid-connect/token"))
        .basic_auth(RS_ID, Some(RS_SECRET))
        .form(&[
            ("grant_type", uma_client::UMA_TICKET_GRANT_TYPE),
            ("audience", RS_ID),
            ("permission", "Alice's album#view"),
            ("response_mode", "permissions"),
            ("subject_token", subject_token),
        ])
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_resource_server_asks_for_the_user_of_a_subject_token() {
    let world = realm().await;
    world
        .authorization_server
        .share(&world.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let bob = world.token("bob").await;
    let (status, permissions) = for_subject(&world, bob.as_str()).await;
    assert_eq!(status, StatusCode::OK, "{permissions}");
    assert_eq!(permissions[0]["rsid"], world.resource_id.as_str());

    // Carol is refused in Keycloak's words.
    let carol = world.token("carol").await;
    let (status, body) = for_subject(&world, carol.as_str()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "access_denied");

    // Anything but a live user's access token identifies nobody: refused, never the client.
    let pat = world.authorization_server.pat(CLIENT_ID).await.unwrap();
    let rpt = {
        let (_, answer) = {
            let response = reqwest::Client::new()
                .post(world.url("/protocol/openid-connect/token"))
                .bearer_auth(bob.as_str())
                .form(&[
                    ("grant_type", uma_client::UMA_TICKET_GRANT_TYPE),
                    ("audience", RS_ID),
                    ("permission", "Alice's album#view"),
                ])
                .send()
                .await
                .unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        };
        answer["access_token"].as_str().unwrap().to_owned()
    };
    let id_token = world
        .authorization_server
        .id_token("bob", CLIENT_ID)
        .await
        .unwrap();
    for (what, token) in [
        ("a PAT", pat.as_str().to_owned()),
        ("an RPT", rpt),
        ("an ID token", id_token),
        ("nothing issued here", "forged".to_owned()),
    ] {
        let (status, body) = for_subject(&world, &token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
        assert_eq!(body["error"], "invalid_grant", "{what}: {body}");
    }

    // Revoked, bob's token identifies nobody either.
    let revoked = reqwest::Client::new()
        .post(world.url("/protocol/openid-connect/revoke"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("token", bob.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    let (status, body) = for_subject(&world, bob.as_str()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Without client authentication the subject token alone is nothing.
    let response = reqwest::Client::new()
        .post(world.url("/protocol/openid-connect/token"))
        .form(&[
            ("grant_type", uma_client::UMA_TICKET_GRANT_TYPE),
            ("audience", RS_ID),
            ("permission", "Alice's album#view"),
            ("subject_token", world.token("bob").await.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_in_the_browser_redirects_only_where_the_client_registered() {
    let world = World::start_with(|builder| {
        builder.keycloak_realm("photoz").client(
            uma_as_core::ClientConfig::new("web", "web-secret")
                .redirect_uris(["http://web.example/bye"]),
        )
    })
    .await;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let logout = |query: String| {
        let browser = browser.clone();
        let url = world.url(&format!("/protocol/openid-connect/logout{query}"));
        async move { browser.get(url).send().await.unwrap() }
    };
    let plain = logout(String::new()).await;
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(plain.text().await.unwrap(), "You are signed out.");

    let bye = "http%3A%2F%2Fweb.example%2Fbye";
    let hint = world
        .authorization_server
        .id_token("bob", "web")
        .await
        .unwrap();
    for query in [
        format!("?post_logout_redirect_uri={bye}&client_id=web&state=s1"),
        format!("?post_logout_redirect_uri={bye}&id_token_hint={hint}&state=s1"),
    ] {
        let response = logout(query.clone()).await;
        assert!(
            response.status().is_redirection(),
            "{query}: {}",
            response.status()
        );
        assert_eq!(
            response.headers()["location"],
            "http://web.example/bye?state=s1",
            "{query}"
        );
    }
    // Carol's claims under bob's signature.
    let carols = world
        .authorization_server
        .id_token("carol", "web")
        .await
        .unwrap();
    let parts: Vec<&str> = hint.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        carols.split('.').nth(1).unwrap(),
        parts[2]
    );
    for query in [
        "?post_logout_redirect_uri=http%3A%2F%2Fevil.example%2F&client_id=web".to_owned(),
        format!("?post_logout_redirect_uri={bye}&client_id={CLIENT_ID}"),
        format!("?post_logout_redirect_uri={bye}"),
        format!("?post_logout_redirect_uri={bye}&id_token_hint=not-a-token"),
        format!("?post_logout_redirect_uri={bye}&id_token_hint={forged}"),
    ] {
        let response = logout(query.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
    }
}

#[tokio::test]
async fn logout_ends_only_the_callers_own_refresh_token() {
    let world = realm().await;
    let provider: Value = reqwest::get(world.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        provider["end_session_endpoint"],
        world.url("/protocol/openid-connect/logout")
    );
    let refresh = password_grant(&world, "dave", "openid").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let logout = |client: (&'static str, &'static str), token: String| {
        let url = world.url("/protocol/openid-connect/logout");
        async move {
            reqwest::Client::new()
                .post(url)
                .basic_auth(client.0, Some(client.1))
                .form(&[("refresh_token", token.as_str())])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let refreshes = |token: String| {
        let url = world.url("/protocol/openid-connect/token");
        async move {
            reqwest::Client::new()
                .post(url)
                .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // Another client's logout answers alike and ends nothing.
    assert_eq!(
        logout((RS_ID, RS_SECRET), refresh.clone()).await,
        StatusCode::NO_CONTENT
    );
    let answer: Value = reqwest::Client::new()
        .post(world.url("/protocol/openid-connect/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rotated = answer["refresh_token"]
        .as_str()
        .expect("still refreshes")
        .to_owned();
    // The client's own logout ends it; a wrong secret is no client at all.
    assert_eq!(
        logout((CLIENT_ID, "wrong"), rotated.clone()).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        logout((CLIENT_ID, CLIENT_SECRET), rotated.clone()).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(refreshes(rotated).await, StatusCode::BAD_REQUEST);
}
