//! User-managed sharing, end to end: Bob asks for Alice's album, Alice approves later, Bob gets
//! in; then a client that does not know who its user is gets `need_info` and answers it with the
//! user's ID token, receiving a PCT for next time.
//!
//! ```text
//! cargo run --example sharing
//! ```

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use http::Method;
use serde_json::Value;
use uma_as_core::{AuthorizationServer, ClientConfig, UserConfig};
use uma_client::{
    ClientCredentials, GrantAuth, NeedInfo, ProtectionClient, PushedClaims, ResourceDescription,
    UmaClient,
};
use uma_rs_guard::{Permissions, ResourceId, RouteResolver, UmaGuardLayer};

type Result<T = (), E = Box<dyn std::error::Error + Send + Sync>> = std::result::Result<T, E>;

#[tokio::main]
async fn main() -> Result {
    let authorization_server = AuthorizationServer::builder()
        .client(ClientConfig::new("photoz", "photoz-secret"))
        .client(ClientConfig::new("doctor-app", "doctor-secret"))
        .user(UserConfig::new("alice"))
        .user(UserConfig::new("bob").claim("email", "bob@clinic.example"))
        .approval_poll_interval(Duration::from_secs(1))
        .spawn()
        .await?;
    let issuer = authorization_server.issuer().to_owned();
    let protection = ProtectionClient::builder(&issuer)
        .credentials(ClientCredentials::new("photoz", "photoz-secret"))
        .build()?;
    // Alice wants to be asked about requests for her album.
    let album = protection
        .create_resource(
            &ResourceDescription::new(["view"])
                .name("Alice's album")
                .owner("alice")
                .owner_managed_access(true),
        )
        .await?;
    let guard = UmaGuardLayer::builder(&issuer)
        .protection_client(protection)
        .resolver(RouteResolver::new().route(
            "/albums/alice",
            ResourceId::fixed(&album),
            [(Method::GET, vec!["view"])],
        )?)
        .build()?;
    let app = Router::new()
        .route(
            "/albums/alice",
            get(|Permissions(granted): Permissions| async move {
                format!(
                    "Alice's album, shown to {}",
                    granted.subject().unwrap_or("?")
                )
            }),
        )
        .layer(guard);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let rs_origin = format!("http://{}", listener.local_addr()?);
    let url = format!("{rs_origin}/albums/alice");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    // Alice's owner token (scope uma_protection): what she consents to at sign-in so that an app
    // may manage her sharing.
    let alice = authorization_server
        .owner_token("alice", "doctor-app")
        .await?;

    println!("== 1. Bob asks; Alice decides later ==");
    let bob = UmaClient::builder()
        .resource_server(&rs_origin, &issuer)
        .auth(GrantAuth::Bearer(
            authorization_server
                .access_token("bob", "doctor-app")
                .await?,
        ))
        .build()?;
    let pending = match bob.get(&url).send().await {
        Err(error) if error.is_request_submitted() => error.into_request_submitted()?,
        other => return Err(format!("expected request_submitted, got {other:?}").into()),
    };
    println!(
        "[bob]   403 request_submitted: poll every {:?} s with the new ticket",
        pending.interval
    );

    let requests: Value = http
        .get(format!("{issuer}/requests"))
        .bearer_auth(alice.as_str())
        .send()
        .await?
        .json()
        .await?;
    let request = &requests[0];
    println!(
        "[alice] pending: {} asks for {} on {}",
        request["party"], request["scopes"], request["resource_id"]
    );
    let approved = http
        .post(format!(
            "{issuer}/requests/{}/approve",
            request["id"].as_str().ok_or("no id")?
        ))
        .bearer_auth(alice.as_str())
        .send()
        .await?;
    println!("[alice] approve -> {}", approved.status());

    let token = bob
        .poll(pending, Instant::now() + Duration::from_secs(30))
        .await?;
    println!("[bob]   poll -> RPT (expires in {:?} s)", token.expires_in);
    let body = bob.get(&url).send().await?.text().await?;
    println!("[bob]   GET album -> {body}");

    println!("\n== 2. A client that does not know its user: need_info, an ID token, a PCT ==");
    let id_token = authorization_server.id_token("bob", "doctor-app").await?;
    let kiosk = UmaClient::builder()
        .resource_server(&rs_origin, &issuer)
        .auth(GrantAuth::Client(ClientCredentials::new(
            "doctor-app",
            "doctor-secret",
        )))
        .claim_token_source(move |needed: &NeedInfo| {
            println!(
                "[kiosk] need_info: wants {:?} as one of {:?}",
                needed.required_claims.first().and_then(|c| c.name.clone()),
                needed
                    .required_claims
                    .first()
                    .map(|c| c.claim_token_format.clone())
            );
            let id_token = id_token.clone();
            async move { Some(PushedClaims::id_token(id_token)) }
        })
        .build()?;
    let body = kiosk.get(&url).send().await?.text().await?;
    println!("[kiosk] GET album -> {body}");

    let decisions: Value = http
        .get(format!("{issuer}/decisions?resource={album}"))
        .bearer_auth(alice.as_str())
        .send()
        .await?
        .json()
        .await?;
    println!("\n== Alice reads the decisions about her album ==");
    for decision in decisions.as_array().into_iter().flatten().rev() {
        println!(
            "  {} for {} via {}: {}",
            decision["outcome"],
            decision["party"],
            decision["client_id"],
            decision["reason"].as_str().unwrap_or("")
        );
    }
    Ok(())
}
