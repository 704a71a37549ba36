//! Token types cannot be confused (TM-1, TM-2): a token minted for one role is refused in every
//! other, at the authorization server and at the guard; and introspection tells a caller only
//! about its own business (TM-11).

mod support;

use http::StatusCode;
use serde_json::Value;
use support::{CLIENT_ID, OTHER_RS_ID, OTHER_RS_SECRET, RS_ID, RS_SECRET, World};
use uma_client::token::ID_TOKEN_FORMAT;
use uma_client::{
    ClientCredentials, PermissionRequest, ProtectionClient, ResourceDescription, UmaGrantRequest,
};
use uma_rs_guard::{Rejection, RejectionKind, ResourceId, RouteResolver, UmaGuardLayer};

/// Bob's RPT for Alice's album on photoz: what photoz is shown when Bob visits it.
async fn bobs_rpt(world: &World) -> String {
    world
        .authorization_server
        .share(&world.resource_id, "bob", ["view"])
        .await
        .unwrap();
    world
        .client_for("bob")
        .await
        .redeem(
            &world.issuer,
            &UmaGrantRequest::new(support::ticket(world).await),
        )
        .await
        .unwrap()
        .access_token
        .into_string()
}

/// Photoz, as a client, redeems a ticket of another resource server pushing `claim_token` as an
/// OpenID Connect ID token.
async fn push_as_photoz(world: &World, ticket: &str, claim_token: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(world.url("/token"))
        .basic_auth(RS_ID, Some(RS_SECRET))
        .form(&[
            ("grant_type", uma_client::UMA_TICKET_GRANT_TYPE),
            ("ticket", ticket),
            ("claim_token", claim_token),
            ("claim_token_format", ID_TOKEN_FORMAT),
        ])
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_resource_server_cannot_become_a_user_with_an_rpt_it_was_shown() {
    let world = World::start().await;
    // Bob keeps notes on another resource server.
    let other = ProtectionClient::builder(&world.issuer)
        .credentials(ClientCredentials::new(OTHER_RS_ID, OTHER_RS_SECRET))
        .build()
        .unwrap();
    let notes = other
        .create_resource(&ResourceDescription::new(["read"]).owner("bob"))
        .await
        .unwrap();
    let notes_ticket = || async {
        other
            .request_permissions(vec![PermissionRequest::new(notes.clone(), ["read"])])
            .await
            .unwrap()
            .into_string()
    };
    let rpt = bobs_rpt(&world).await;
    let pat = world.protection.pat().await.unwrap().into_string();
    let access_token = world.token("bob").await.into_string();

    // Bob's RPT, photoz's own PAT and a plain access token, pushed as Bob's ID token: each
    // identifies nobody, so photoz stays the party, and Bob's notes are refused, with no PCT.
    for (what, pushed) in [
        ("an RPT", &rpt),
        ("a PAT", &pat),
        ("an access token", &access_token),
    ] {
        let (status, body) = push_as_photoz(&world, &notes_ticket().await, pushed).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
        assert_eq!(body["error"], "request_denied", "{what}: {body}");
        assert!(body.get("access_token").is_none() && body.get("pct").is_none());
    }

    // Bob's real ID token, issued to photoz, does identify him there.
    let id_token = world
        .authorization_server
        .id_token("bob", RS_ID)
        .await
        .unwrap();
    let (status, body) = push_as_photoz(&world, &notes_ticket().await, &id_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["pct"].is_string());
}

#[tokio::test]
async fn rpts_are_typed_as_access_tokens_and_id_tokens_are_not() {
    let world = World::start().await;
    let rpt = bobs_rpt(&world).await;
    let header = |token: &str| -> Value {
        use base64::Engine as _;
        let first = token.split('.').next().unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(first)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(header(&rpt)["typ"], "at+jwt");
    let id_token = world
        .authorization_server
        .id_token("bob", CLIENT_ID)
        .await
        .unwrap();
    assert_eq!(header(&id_token)["typ"], "JWT");
}

/// Serves the album behind a guard whose refusals say their kind in the body.
async fn guarded_album(world: &World, audience: Option<&str>) -> String {
    let mut builder = UmaGuardLayer::builder(&world.issuer)
        .client_credentials(ClientCredentials::new(RS_ID, RS_SECRET))
        .resolver(
            RouteResolver::new()
                .route(
                    "/album",
                    ResourceId::fixed(&world.resource_id),
                    [(http::Method::GET, ["view"])],
                )
                .unwrap(),
        );
    if let Some(audience) = audience {
        builder = builder.audience(audience);
    }
    let guard = builder
        .build()
        .unwrap()
        .with_rejection_response(|rejection: &Rejection| {
            let mut response = rejection.default_response::<axum::body::Body>();
            *response.body_mut() = format!("{:?}", rejection.kind()).into();
            response
        });
    let app = axum::Router::new()
        .route("/album", axum::routing::get(|| async { "the album" }))
        .layer(guard);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/album", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn get(url: &str, token: &str) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_guard_takes_only_rpts_for_its_own_audience() {
    let world = World::start().await;
    let rpt = bobs_rpt(&world).await;
    let url = guarded_album(&world, None).await;
    assert_eq!(get(&url, &rpt).await, (StatusCode::OK, "the album".into()));

    // An ID token of this AS, for photoz itself, a PAT and a plain access token are no RPTs.
    let id_token = world
        .authorization_server
        .id_token("bob", RS_ID)
        .await
        .unwrap();
    let pat = world.protection.pat().await.unwrap().into_string();
    let access_token = world.token("bob").await.into_string();
    for (what, token) in [
        ("an ID token", id_token),
        ("a PAT", pat),
        ("an access token", access_token),
    ] {
        let (status, kind) = get(&url, &token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(kind, format!("{:?}", RejectionKind::InvalidToken), "{what}");
    }

    // The audience is checked by default: a guard for another resource server refuses the RPT.
    let elsewhere = guarded_album(&world, Some("another-resource-server")).await;
    assert_eq!(
        get(&elsewhere, &rpt).await,
        (
            StatusCode::UNAUTHORIZED,
            format!("{:?}", RejectionKind::InvalidToken)
        )
    );
}

#[tokio::test]
async fn a_guard_that_cannot_know_its_audience_is_not_built() {
    let builder = || {
        UmaGuardLayer::builder("https://as.example.com")
            .pat(uma_client::Pat::new("a PAT obtained elsewhere"))
            .resolver(RouteResolver::new())
    };
    assert!(matches!(
        builder().build(),
        Err(uma_rs_guard::ConfigError::MissingAudience)
    ));
    assert!(builder().audience("photoz").build().is_ok());
    assert!(builder().accept_any_audience().build().is_ok());
}

#[tokio::test]
async fn introspection_tells_a_caller_only_about_its_own_business() {
    let world = World::start().await;
    let rpt = bobs_rpt(&world).await;
    let app = ProtectionClient::builder(&world.issuer)
        .credentials(ClientCredentials::new(CLIENT_ID, support::CLIENT_SECRET))
        .build()
        .unwrap();
    let other_rs = ProtectionClient::builder(&world.issuer)
        .credentials(ClientCredentials::new(OTHER_RS_ID, OTHER_RS_SECRET))
        .build()
        .unwrap();
    let bobs_access_token = world.token("bob").await.into_string();
    let photoz_pat = world.protection.pat().await.unwrap().into_string();
    let active = |client: &ProtectionClient, token: &str| {
        let (client, token) = (client.clone(), uma_client::Rpt::new(token));
        async move { client.introspect(&token).await.unwrap().active }
    };
    // The RPT, to the resource server whose resource it covers and to the client it was issued
    // to; not to another resource server.
    assert!(active(&world.protection, &rpt).await);
    assert!(active(&app, &rpt).await);
    assert!(!active(&other_rs, &rpt).await);
    // An access token, to the client it was issued to; not to a resource server that merely
    // holds a PAT.
    assert!(active(&app, &bobs_access_token).await);
    assert!(!active(&world.protection, &bobs_access_token).await);
    assert!(!active(&other_rs, &bobs_access_token).await);
    // A PAT, to its own client only.
    assert!(active(&world.protection, &photoz_pat).await);
    assert!(!active(&other_rs, &photoz_pat).await);
}

/// RFC 7662 §2.1 lets a client authenticate to introspection as itself, as Keycloak and generic
/// OAuth libraries do: with its secret (basic or posted) it learns exactly what its own PAT
/// would, and a wrong secret is `401 invalid_client`.
#[tokio::test]
async fn introspection_with_client_credentials_learns_what_the_pat_would() {
    let world = World::start().await;
    let rpt = bobs_rpt(&world).await;
    let http = reqwest::Client::new();
    let introspect = |auth: &'static str, id: &'static str, secret: &'static str| {
        let (http, url, token) = (http.clone(), world.url("/introspect"), rpt.clone());
        async move {
            let request = http.post(url);
            let request = match auth {
                "basic" => request
                    .basic_auth(id, Some(secret))
                    .form(&[("token", token.as_str())]),
                _ => request.form(&[
                    ("token", token.as_str()),
                    ("client_id", id),
                    ("client_secret", secret),
                ]),
            };
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.json::<serde_json::Value>().await.unwrap())
        }
    };
    for auth in ["basic", "post"] {
        let (status, body) = introspect(auth, support::RS_ID, support::RS_SECRET).await;
        assert_eq!(status, http::StatusCode::OK);
        assert_eq!(body["active"], true, "{auth}: {body}");
        assert_eq!(
            body["permissions"][0]["resource_id"],
            world.resource_id.as_str()
        );
        let (_, body) = introspect(auth, OTHER_RS_ID, OTHER_RS_SECRET).await;
        assert_eq!(body["active"], false, "{auth}: another resource server");
        let (status, body) = introspect(auth, support::RS_ID, "wrong").await;
        assert_eq!(status, http::StatusCode::UNAUTHORIZED, "{auth}");
        assert_eq!(body["error"], "invalid_client");
    }
    // No authentication at all is refused too.
    let anonymous = http
        .post(world.url("/introspect"))
        .form(&[("token", rpt.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), http::StatusCode::UNAUTHORIZED);
}
