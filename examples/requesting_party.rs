//! A requesting party's program reaching a protected album, and what it does with each answer
//! the UMA grant can give.
//!
//! ```text
//! cargo run --example requesting_party
//! ```
//!
//! It starts the bundled authorization server (password grant on) and a guarded album server,
//! signs Bob in, and asks for Alice's album: first before Alice shares it (denied), then after.
//! The `need_info` and `request_submitted` arms are what a client does with servers that ask
//! for claims or for the owner's approval.

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use http::Method;
use serde_json::Value;
use uma_as_core::{AuthorizationServer, ClientConfig, UserConfig};
use uma_client::{
    AccessToken, ClientCredentials, GrantAuth, NeedInfo, ProtectionClient, PushedClaims,
    ResourceDescription, UmaClient,
};
use uma_rs_guard::{Permissions, ResourceId, RouteResolver, UmaGuardLayer};

type Result<T = (), E = Box<dyn std::error::Error + Send + Sync>> = std::result::Result<T, E>;

/// What the program does with one attempt to read the album.
async fn read_album(uma: &UmaClient, url: &str) -> Result<Option<String>> {
    let error = match uma.get(url).send().await {
        Ok(response) => return Ok(Some(response.text().await?)),
        Err(error) => error,
    };
    match error {
        // The AS wants claims the ClaimTokenSource could not give: send the user to gather them.
        error if error.is_need_info() => {
            let needed = error.into_need_info()?;
            let discovery = uma.discovery(&needed.issuer).await?;
            let interaction = needed.claims_interaction(
                discovery.claims_interaction_endpoint.as_deref(),
                "doctor-app",
                "http://127.0.0.1:8081/claims-callback",
            )?;
            println!("  need_info: send the browser to {}", interaction.url);
            // ...and when it comes back: `uma.resume(&interaction, &callback_url).await`.
            Ok(None)
        }
        // The owner must decide: poll for a while, with each new ticket, then give up for now.
        error if error.is_request_submitted() => {
            println!("  request_submitted: the owner has been asked; polling");
            let pending = error.into_request_submitted()?;
            match uma
                .poll(pending, Instant::now() + Duration::from_secs(30))
                .await
            {
                Ok(_) => Box::pin(read_album(uma, url)).await,
                Err(error) if error.is_request_submitted() => {
                    println!("  still pending; try again later");
                    Ok(None)
                }
                Err(error) => Err(error.into()),
            }
        }
        error if error.is_request_denied() => {
            let said = error.oauth_error().map(ToString::to_string);
            println!("  request_denied: {}", said.unwrap_or_default());
            Ok(None)
        }
        error if error.is_authorization_server_unreachable() => {
            println!("  the resource server cannot reach its authorization server");
            Ok(None)
        }
        error => Err(error.into()),
    }
}

#[tokio::main]
async fn main() -> Result {
    let authorization_server = AuthorizationServer::builder()
        .client(ClientConfig::new("photoz", "photoz-secret"))
        .client(ClientConfig::new("doctor-app", "doctor-secret"))
        .user(UserConfig::new("alice").password("alice-password"))
        .user(
            UserConfig::new("bob")
                .password("bob-password")
                .claim("email", "bob@clinic.example"),
        )
        .password_grant(true)
        .spawn()
        .await?;
    let issuer = authorization_server.issuer().to_owned();

    // The album server, guarded.
    let protection = ProtectionClient::builder(&issuer)
        .credentials(ClientCredentials::new("photoz", "photoz-secret"))
        .build()?;
    let album = protection
        .create_resource(
            &ResourceDescription::new(["view"])
                .name("Alice's album")
                .owner("alice"),
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

    // Bob signs in at doctor-app (password grant, with an ID token).
    let signed_in: Value = reqwest::Client::new()
        .post(format!("{issuer}/token"))
        .basic_auth("doctor-app", Some("doctor-secret"))
        .form(&[
            ("grant_type", "password"),
            ("username", "bob"),
            ("password", "bob-password"),
            ("scope", "openid email"),
        ])
        .send()
        .await?
        .json()
        .await?;
    let access_token = signed_in["access_token"]
        .as_str()
        .ok_or("no access token")?;
    let id_token = signed_in["id_token"]
        .as_str()
        .ok_or("no ID token")?
        .to_owned();

    let uma = UmaClient::builder()
        .resource_server(&rs_origin, &issuer)
        .auth(GrantAuth::Bearer(AccessToken::new(access_token)))
        // If a server answers need_info, push Bob's ID token.
        .claim_token_source(move |_: &NeedInfo| {
            let id_token = id_token.clone();
            async move { Some(PushedClaims::id_token(id_token)) }
        })
        .build()?;

    println!("Bob asks for Alice's album before she shares it:");
    if read_album(&uma, &url).await?.is_some() {
        return Err("the album was served without a share".into());
    }
    authorization_server.share(&album, "bob", ["view"]).await?;
    println!("Alice shares it; Bob asks again:");
    let body = read_album(&uma, &url).await?.ok_or("no album")?;
    println!("  200: {body}");
    println!("And once more (the RPT is reused, no new grant):");
    println!(
        "  200: {}",
        read_album(&uma, &url).await?.ok_or("no album")?
    );
    Ok(())
}
