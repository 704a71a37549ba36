//! The whole UMA 2.0 loop in one process, printed step by step.
//!
//! Alice owns a photo album on the `photoz` resource server and shares it with Bob. Bob's client,
//! `doctor-app`, asks for the album without a token, is challenged, trades the ticket for an RPT at
//! the authorization server, and gets in; then it tries to edit, which Alice never allowed.
//!
//! Run with `cargo run --example quickstart`. It exits non-zero if any step goes wrong.

use std::error::Error;

use axum::routing::get;
use axum::{Extension, Json, Router};
use http::Method;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use serde_json::json;
use uma_as_core::{AuthorizationServer, ClientConfig};
use uma_client::{
    ClientCredentials, GrantAuth, ProtectionClient, ResourceDescription, UmaChallenge, UmaClient,
};
use uma_rs_guard::{GrantedPermissions, ResourceId, RouteResolver, UmaGuardLayer};

type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

fn ensure(condition: bool, what: &str) -> Result {
    if condition {
        Ok(())
    } else {
        Err(format!("step failed: {what}").into())
    }
}

#[tokio::main]
async fn main() -> Result {
    println!("== uma-rs quickstart: Alice shares her album with Bob ==\n");

    // 1. The authorization server, on an ephemeral loopback port with in-memory storage.
    let authorization_server = AuthorizationServer::builder()
        .client(ClientConfig::new("photoz", "photoz-secret"))
        .client(ClientConfig::new("doctor-app", "doctor-secret"))
        .user("alice")
        .user("bob")
        .spawn()
        .await?;
    let issuer = authorization_server.issuer().to_owned();
    println!("[AS]  authorization server up, issuer {issuer}");

    // 2. The resource server registers Alice's album at the AS (with its PAT).
    let protection = ProtectionClient::builder(&issuer)
        .credentials(ClientCredentials::new("photoz", "photoz-secret"))
        .build()?;
    let album = ResourceDescription::new(["view", "edit"])
        .name("Alice's holiday album")
        .resource_type("https://photoz.example.com/rsrcs/album")
        .owner("alice");
    let resource_id = protection.create_resource(&album).await?;
    println!("[RS]  registered \"Alice's holiday album\" as resource {resource_id}");

    // 3. The resource server: one album route behind the UMA guard.
    let guard = UmaGuardLayer::builder(&issuer)
        .protection_client(protection.clone())
        .realm("photoz")
        .resolver(RouteResolver::new().route(
            "/albums/holiday",
            ResourceId::fixed(&resource_id),
            [(Method::GET, vec!["view"]), (Method::PUT, vec!["edit"])],
        )?)
        .build()?;
    let app = Router::new()
        .route(
            "/albums/holiday",
            get(
                |Extension(granted): Extension<GrantedPermissions>| async move {
                    Json(json!({
                        "album": "Alice's holiday album",
                        "photos": ["beach.jpg", "harbour.jpg"],
                        "shown_to": granted.subject(),
                    }))
                },
            )
            .put(|| async { "edited" }),
        )
        .layer(guard);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let listener_addr = listener.local_addr()?;
    let album_url = format!("http://{listener_addr}/albums/holiday");
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("[RS]  resource server up, album at {album_url}");

    // 4. Alice, the owner, shares the album with Bob: he may view it.
    authorization_server
        .share(&resource_id, "bob", ["view"])
        .await?;
    println!("[AS]  alice lets bob use scope \"view\" on her album\n");

    // 5. Bob signs in at doctor-app; his access token identifies him to the AS.
    let bob_token = authorization_server
        .access_token("bob", "doctor-app")
        .await?;

    // 6. The flow, one step at a time.
    println!("-- step by step --");
    let plain = reqwest::Client::new();
    let first = plain.get(&album_url).send().await?;
    let header = first
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    println!("[C]   GET /albums/holiday (no token) -> {}", first.status());
    println!("      WWW-Authenticate: {header}");
    ensure(first.status() == 401, "the resource server challenges")?;
    let challenge = UmaChallenge::parse(&header).ok_or("no UMA challenge")?;
    println!(
        "      ticket {} from {}",
        challenge.ticket.as_str(),
        challenge.as_uri
    );

    // The client answers challenges only from resource servers allowed for the AS (any server
    // could relay another's challenge to harvest an RPT).
    let rs_origin = format!("http://{listener_addr}");
    let uma = UmaClient::builder()
        .resource_server(&rs_origin, &issuer)
        .auth(GrantAuth::Bearer(bob_token.clone()))
        .build()?;
    println!(
        "[C]   POST {issuer}/token  grant_type=urn:ietf:params:oauth:grant-type:uma-ticket  ticket=…  (Authorization: Bearer <bob's token>)"
    );
    let token = uma.obtain_rpt(&challenge).await?;
    println!(
        "      -> token_type {}, expires_in {:?}, scope {:?}; the RPT itself is a secret and not printed",
        token.token_type, token.expires_in, token.scope
    );
    let rpt = token.rpt();

    let introspection = protection.introspect(&rpt).await?;
    println!(
        "[RS]  introspection: active {}, requesting party {:?}, client {:?}",
        introspection.active, introspection.sub, introspection.client_id
    );
    for permission in introspection.permissions.iter().flatten() {
        let scopes: Vec<&str> = permission
            .resource_scopes
            .iter()
            .map(|s| s.as_str())
            .collect();
        println!(
            "      permission: resource {} scopes {scopes:?}",
            permission.resource_id
        );
    }
    ensure(introspection.active, "the RPT is active")?;

    let second = plain
        .get(&album_url)
        .header(AUTHORIZATION, format!("Bearer {}", rpt.as_str()))
        .send()
        .await?;
    let status = second.status();
    let body = second.text().await?;
    println!("[C]   GET /albums/holiday (Bearer RPT) -> {status}");
    println!("      {body}");
    ensure(status == 200, "the RPT opens the album")?;

    // 7. The same in one call: the client follows the challenge by itself.
    println!("\n-- with UmaClient doing it all --");
    let response = uma.get(&album_url).send().await?;
    println!("[C]   uma.get(album).send() -> {}", response.status());
    ensure(response.status() == 200, "UmaClient reaches the album")?;

    // 8. Bob may view but not edit: the AS refuses.
    let edit = uma
        .request(Method::PUT, &album_url)
        .body("new title")
        .send()
        .await;
    match edit {
        Err(error) => {
            println!("[C]   uma PUT album -> refused by the AS: {error}");
            ensure(
                error.oauth_error().map(|e| e.error.as_str()) == Some("request_denied"),
                "editing is request_denied",
            )?;
        }
        Ok(response) => {
            return Err(format!("editing was not refused: {}", response.status()).into());
        }
    }

    println!("\nUMA flow complete.");
    Ok(())
}
