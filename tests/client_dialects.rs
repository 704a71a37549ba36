//! uma-client against small in-test servers that answer as peers do: the UMA error surface
//! (need_info, request_submitted, request_denied and the peers' spellings of them), PCTs, RPT
//! reuse and upgrade requests, and Keycloak's protection API dialect. Real HTTP over loopback.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use uma_client::{
    ClientCredentials, GrantAuth, NeedInfo, ProtectionClient, PushedClaims, UmaClient,
};

type Script = Arc<dyn Fn(&std::collections::HashMap<String, String>) -> Response + Send + Sync>;

/// What the token endpoint received, in order.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<std::collections::HashMap<String, String>>>>);

#[derive(Clone)]
struct Peer {
    issuer: String,
    resource_server: String,
    seen: Seen,
    script: Script,
}

/// An authorization server whose token endpoint answers by `script`, and a resource server that
/// challenges with ticket `t1` unless it gets `Bearer rpt-*`.
async fn start(script: Script) -> (Peer, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let rs_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peer = Peer {
        issuer: issuer.clone(),
        resource_server: format!("http://{}", rs_listener.local_addr().unwrap()),
        seen: Seen::default(),
        script,
    };
    let as_app = Router::new()
        .route(
            "/.well-known/uma2-configuration",
            get(|State(peer): State<Peer>| async move {
                Json(json!({
                    "issuer": peer.issuer,
                    "token_endpoint": format!("{}/token", peer.issuer),
                    "claims_interaction_endpoint": format!("{}/claims", peer.issuer),
                    // Keycloak-only members are ignored.
                    "policy_endpoint": format!("{}/policy", peer.issuer),
                    "token_introspection_endpoint": format!("{}/introspect", peer.issuer),
                    "end_session_endpoint": format!("{}/logout", peer.issuer),
                }))
            }),
        )
        .route(
            "/token",
            post(
                |State(peer): State<Peer>,
                 Form(form): Form<std::collections::HashMap<String, String>>| async move {
                    peer.seen.0.lock().unwrap().push(form.clone());
                    (peer.script)(&form)
                },
            ),
        )
        .with_state(peer.clone());
    tokio::spawn(async move { axum::serve(listener, as_app).await });

    let resource = format!("http://{}/album", rs_listener.local_addr().unwrap());
    let challenge = format!(r#"UMA realm="r", as_uri="{issuer}", ticket="t1""#);
    let edit_challenge = format!(r#"UMA realm="r", as_uri="{issuer}", ticket="t5""#);
    let rs_app = Router::new()
        .route(
            "/edit",
            get(move |headers: HeaderMap| {
                let challenge = edit_challenge.clone();
                async move {
                    // Only the upgraded RPT covers editing.
                    let upgraded = headers
                        .get(header::AUTHORIZATION)
                        .is_some_and(|v| v == "Bearer rpt-second");
                    if upgraded {
                        "edited".into_response()
                    } else {
                        (
                            StatusCode::UNAUTHORIZED,
                            [(header::WWW_AUTHENTICATE, challenge)],
                        )
                            .into_response()
                    }
                }
            }),
        )
        .route(
            "/album",
            get(move |headers: HeaderMap| {
                let challenge = challenge.clone();
                async move {
                    let authorized = headers
                        .get(header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v.starts_with("Bearer rpt-"));
                    if authorized {
                        "album".into_response()
                    } else {
                        (
                            StatusCode::UNAUTHORIZED,
                            [(header::WWW_AUTHENTICATE, challenge)],
                        )
                            .into_response()
                    }
                }
            }),
        );
    tokio::spawn(async move { axum::serve(rs_listener, rs_app).await });
    (peer, resource)
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

fn rpt(name: &str) -> Response {
    answer(
        StatusCode::OK,
        json!({"access_token": format!("rpt-{name}"), "token_type": "Bearer", "expires_in": 300}),
    )
}

/// The client of the scripted peer, allowed to follow its resource server's challenges.
fn client(peer: &Peer) -> uma_client::UmaClientBuilder {
    UmaClient::builder()
        .resource_server(&peer.resource_server, &peer.issuer)
        .auth(GrantAuth::Client(ClientCredentials::new("app", "secret")))
}

#[tokio::test]
async fn need_info_is_answered_by_the_claim_token_source_and_the_pct_is_kept() {
    let (peer, resource) = start(Arc::new(|form| match (form.get("ticket").map(String::as_str), form.get("claim_token")) {
        (Some("t1"), None) => answer(
            StatusCode::FORBIDDEN,
            json!({"error": "need_info", "ticket": "t2", "required_claims": [{
                "claim_token_format": ["http://openid.net/specs/openid-connect-core-1_0.html#IDToken"],
                "name": "email", "friendly_name": "email", "issuer": ["https://idp"]}]}),
        ),
        (Some("t2"), Some(token)) if token == "id-token-of-bob" => answer(
            StatusCode::OK,
            json!({"access_token": "rpt-1", "token_type": "Bearer", "pct": "pct-1"}),
        ),
        _ => answer(StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"})),
    }))
    .await;
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen_claims = Arc::clone(&asked);
    let uma = client(&peer)
        .claim_token_source(move |needed: &NeedInfo| {
            seen_claims
                .lock()
                .unwrap()
                .push(needed.required_claims[0].name.clone());
            async { Some(PushedClaims::id_token("id-token-of-bob")) }
        })
        .build()
        .unwrap();
    let response = uma.get(&resource).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "album");
    assert_eq!(*asked.lock().unwrap(), [Some("email".to_owned())]);
    let seen = peer.seen.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[1]["claim_token_format"],
        uma_client::token::ID_TOKEN_FORMAT
    );

    // The PCT goes with the next grant request to that server.
    let ticket = uma_client::PermissionTicket::new("t1");
    let _ = uma
        .redeem(&peer.issuer, &uma_client::UmaGrantRequest::new(ticket))
        .await;
    assert_eq!(
        peer.seen.0.lock().unwrap()[2]
            .get("pct")
            .map(String::as_str),
        Some("pct-1")
    );
}

#[tokio::test]
async fn need_info_without_a_source_hands_back_what_is_needed() {
    let (peer, resource) = start(Arc::new(|_| {
        answer(StatusCode::FORBIDDEN, json!({"error": "need_info", "ticket": "t2", "redirect_user": "https://as/gather?id=7"}))
    }))
    .await;
    let uma = client(&peer).build().unwrap();
    let error = uma.get(&resource).send().await.unwrap_err();
    assert_eq!(error.status(), Some(StatusCode::FORBIDDEN));
    assert_eq!(error.ticket().map(|t| t.as_str()), Some("t2"));
    assert_eq!(error.redirect_user(), Some("https://as/gather?id=7"));
    let needed = error.into_need_info().unwrap();
    assert_eq!(needed.ticket.as_str(), "t2");
    let interaction = needed
        .claims_interaction(None, "app", "https://app.example/callback")
        .unwrap();
    assert!(
        interaction
            .url
            .as_str()
            .starts_with("https://as/gather?id=7&client_id=app&ticket=t2&")
    );
}

#[tokio::test]
async fn request_submitted_is_polled_with_each_new_ticket() {
    let (peer, resource) = start(Arc::new(|form| {
        match form.get("ticket").map(String::as_str) {
            Some("t1") => answer(
                StatusCode::FORBIDDEN,
                json!({"error": "request_submitted", "ticket": "t2", "interval": 0}),
            ),
            Some("t2") => answer(
                StatusCode::FORBIDDEN,
                json!({"error": "request_submitted", "ticket": "t3", "interval": 0}),
            ),
            Some("t3") => rpt("approved"),
            _ => answer(StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"})),
        }
    }))
    .await;
    let uma = client(&peer).build().unwrap();
    let pending = uma
        .get(&resource)
        .send()
        .await
        .unwrap_err()
        .into_request_submitted()
        .unwrap();
    assert_eq!(pending.ticket.as_ref().unwrap().as_str(), "t2");
    let token = uma
        .poll(pending, Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(token.access_token.as_str(), "rpt-approved");
    let tickets: Vec<String> = peer
        .seen
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|f| f["ticket"].clone())
        .collect();
    assert_eq!(tickets, ["t1", "t2", "t3"]);
}

#[tokio::test]
async fn polling_stops_at_the_deadline_with_the_pending_state() {
    let (peer, resource) = start(Arc::new(|_| {
        answer(
            StatusCode::FORBIDDEN,
            json!({"error": "request_submitted", "ticket": "t9", "interval": 3600}),
        )
    }))
    .await;
    let uma = client(&peer).build().unwrap();
    let error = uma.get(&resource).send().await.unwrap_err();
    assert_eq!(error.interval(), Some(Duration::from_secs(3600)));
    let pending = error.into_request_submitted().unwrap();
    let still = uma
        .poll(pending, Instant::now() + Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(still.ticket().map(|t| t.as_str()), Some("t9"));
    // Given back without asking again: no response, so no status.
    assert_eq!(still.status(), None);
    assert_eq!(
        peer.seen.0.lock().unwrap().len(),
        1,
        "no poll before the interval"
    );
}

#[tokio::test]
async fn peers_spellings_of_denial_and_submission() {
    for (body, denied) in [
        (json!({"error": "request_denied"}), true),
        (
            json!({"error": "access_denied", "error_description": "not_authorized"}),
            true,
        ),
        (json!({"error": "forbidden_by_policy"}), true),
        (
            json!({"error": "access_denied", "error_description": "request_submitted"}),
            false,
        ),
    ] {
        let reply = body.clone();
        let (peer, resource) = start(Arc::new(move |_| {
            answer(StatusCode::FORBIDDEN, reply.clone())
        }))
        .await;
        let error = client(&peer)
            .build()
            .unwrap()
            .get(&resource)
            .send()
            .await
            .unwrap_err();
        if denied {
            assert!(error.is_request_denied(), "{body}: {error:?}");
        } else {
            assert!(error.is_request_submitted(), "{body}: {error:?}");
            assert!(error.ticket().is_none());
        }
    }
}

#[tokio::test]
async fn an_unrotated_ticket_stops_the_process() {
    let (peer, resource) = start(Arc::new(|_| {
        answer(
            StatusCode::FORBIDDEN,
            json!({"error": "request_submitted", "ticket": "t1"}),
        )
    }))
    .await;
    let error = client(&peer)
        .build()
        .unwrap()
        .get(&resource)
        .send()
        .await
        .unwrap_err();
    assert!(error.is_ticket_not_rotated(), "{error:?}");
}

#[tokio::test]
async fn the_rpt_is_reused_and_offered_for_upgrade() {
    let (peer, resource) = start(Arc::new(|form| match form.get("rpt") {
        None => rpt("first"),
        Some(old) if old == "rpt-first" => answer(
            StatusCode::OK,
            json!({"access_token": "rpt-second", "token_type": "Bearer", "upgraded": true}),
        ),
        Some(_) => answer(StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"})),
    }))
    .await;
    let uma = client(&peer).build().unwrap();
    assert_eq!(uma.get(&resource).send().await.unwrap().status(), 200);
    // The cached RPT goes first: no new grant.
    assert_eq!(uma.get(&resource).send().await.unwrap().status(), 200);
    assert_eq!(peer.seen.0.lock().unwrap().len(), 1);

    // A request the cached RPT does not cover is challenged; the cached RPT goes along with the
    // new ticket for an upgrade, and the upgraded RPT replaces it.
    let edit = resource.replace("/album", "/edit");
    let response = uma.get(&edit).send().await.unwrap();
    assert_eq!(response.text().await.unwrap(), "edited");
    let seen = peer.seen.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1]["ticket"], "t5");
    assert_eq!(seen[1]["rpt"], "rpt-first");
    // From now on the upgraded RPT is the one sent, with no new grant.
    assert_eq!(uma.get(&edit).send().await.unwrap().status(), 200);
    assert_eq!(uma.get(&resource).send().await.unwrap().status(), 200);
    assert_eq!(peer.seen.0.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn invalid_grant_starts_once_more_from_the_resource() {
    let calls = Arc::new(Mutex::new(0));
    let count = Arc::clone(&calls);
    let (peer, resource) = start(Arc::new(move |_| {
        let mut calls = count.lock().unwrap();
        *calls += 1;
        if *calls == 1 {
            answer(StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
        } else {
            rpt("after-retry")
        }
    }))
    .await;
    let response = client(&peer)
        .build()
        .unwrap()
        .get(&resource)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(*calls.lock().unwrap(), 2);
}

/// Keycloak's protection API: `resource_scopes` and `owner` as objects, permission requests as
/// arrays, `_id` in responses.
#[tokio::test]
async fn keycloak_protection_api_dialect() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/realms/photoz", listener.local_addr().unwrap());
    let base = issuer.clone();
    let app = Router::new()
        .route(
            "/realms/photoz/.well-known/uma2-configuration",
            get(move || {
                let base = base.clone();
                async move {
                    Json(json!({
                        "issuer": base,
                        "token_endpoint": format!("{base}/protocol/openid-connect/token"),
                        "resource_registration_endpoint": format!("{base}/authz/protection/resource_set"),
                        "permission_endpoint": format!("{base}/authz/protection/permission"),
                        "introspection_endpoint": format!("{base}/protocol/openid-connect/token/introspect"),
                        "grant_types_supported": ["authorization_code", "urn:ietf:params:oauth:grant-type:uma-ticket"],
                    }))
                }
            }),
        )
        .route(
            "/realms/photoz/protocol/openid-connect/token",
            post(|| async { Json(json!({"access_token": "pat", "token_type": "Bearer", "expires_in": 300})) }),
        )
        .route(
            "/realms/photoz/authz/protection/resource_set/{id}",
            get(|| async {
                Json(json!({
                    "_id": "r1", "name": "Album", "ownerManagedAccess": true,
                    "owner": {"id": "6c4f", "name": "alice"},
                    "resource_scopes": [{"id": "s1", "name": "view"}, {"id": "s2", "name": "edit"}],
                    "uris": ["/albums/1"]
                }))
            }),
        )
        .route(
            "/realms/photoz/authz/protection/permission",
            post(|Json(body): Json<Value>| async move {
                let ticket = if body.is_array() { "array-ticket" } else { "object-ticket" };
                (StatusCode::CREATED, Json(json!({"ticket": ticket})))
            }),
        )
        .route(
            "/realms/photoz/protocol/openid-connect/token/introspect",
            post(|| async {
                Json(json!({"active": true, "permissions": [{"rsid": "r1", "rsname": "Album", "scopes": ["view"]}]}))
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });

    let protection = ProtectionClient::builder(&issuer)
        .credentials(ClientCredentials::new("photoz", "secret"))
        .build()
        .unwrap();
    let resource = protection.read_resource("r1").await.unwrap();
    assert_eq!(resource.description.owner.as_deref(), Some("alice"));
    assert_eq!(resource.description.resource_scopes, ["view", "edit"]);
    let one = protection
        .request_permissions(vec![uma_client::PermissionRequest::new("r1", ["view"])])
        .await
        .unwrap();
    assert_eq!(one.as_str(), "object-ticket");
    let many = protection
        .request_permissions(vec![
            uma_client::PermissionRequest::new("r1", ["view"]),
            uma_client::PermissionRequest::new("r2", ["view"]),
        ])
        .await
        .unwrap();
    assert_eq!(many.as_str(), "array-ticket");
    let introspection = protection.introspect(&"rpt".into()).await.unwrap();
    let permission = &introspection.permissions.unwrap()[0];
    assert_eq!(permission.resource_id, "r1");
    assert!(permission.has_scope("view"));
}

#[tokio::test]
async fn a_discovery_document_for_another_issuer_is_not_used() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().route(
        "/.well-known/uma2-configuration",
        get(|| async { Json(json!({"issuer": "https://evil.example", "token_endpoint": "https://evil.example/token"})) }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let uma = UmaClient::builder()
        .trust(&issuer)
        .auth(GrantAuth::Client(ClientCredentials::new("app", "secret")))
        .build()
        .unwrap();
    assert!(
        uma.discovery(&issuer)
            .await
            .is_err_and(|e| e.is_discovery())
    );
}

#[tokio::test]
async fn authorization_server_redirects_are_not_followed_and_huge_bodies_are_refused() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route(
            "/.well-known/uma2-configuration",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "http://127.0.0.1:9/steal")],
                )
                    .into_response()
            }),
        )
        .route(
            "/huge/.well-known/uma2-configuration",
            get(|| async { "x".repeat(300_000) }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let uma = UmaClient::builder()
        .trust(&issuer)
        .trust(format!("{issuer}/huge"))
        .auth(GrantAuth::Client(ClientCredentials::new("app", "secret")))
        .build()
        .unwrap();
    let redirected = uma.discovery(&issuer).await.unwrap_err();
    assert!(redirected.is_unexpected_response(), "{redirected:?}");
    assert_eq!(redirected.status(), Some(StatusCode::FOUND));
    let huge = uma.discovery(&format!("{issuer}/huge")).await.unwrap_err();
    assert!(huge.is_unexpected_response(), "{huge:?}");
    assert!(huge.to_string().contains("larger than"), "{huge}");
}
