//! uma-rs-guard in front of a plain hyper 1 service, without axum.
//!
//! ```text
//! cargo run --example hyper_guard
//! ```
//!
//! Starts the bundled authorization server and a hyper server whose one route is guarded, asks
//! for the route without a token, prints the UMA challenge, and exits.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tower::ServiceBuilder;
use uma_as_core::{AuthorizationServer, ClientConfig};
use uma_client::{ClientCredentials, ProtectionClient, ResourceDescription};
use uma_rs_guard::{GrantedPermissions, ResourceId, RouteResolver, UmaGuardLayer};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The protected service: it only runs for requests the guard let through.
async fn hello(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let who = request
        .extensions()
        .get::<GrantedPermissions>()
        .and_then(|granted| granted.subject().map(str::to_owned))
        .unwrap_or_default();
    Ok(Response::new(Full::new(Bytes::from(format!(
        "hello, {who}\n"
    )))))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let authorization_server = AuthorizationServer::builder()
        .client(ClientConfig::new("hello-rs", "hello-secret"))
        .user("alice")
        .spawn()
        .await?;
    let issuer = authorization_server.issuer().to_owned();
    let protection = ProtectionClient::builder(&issuer)
        .credentials(ClientCredentials::new("hello-rs", "hello-secret"))
        .build()?;
    let resource_id = protection
        .create_resource(
            &ResourceDescription::new(["read"])
                .name("greeting")
                .owner("alice"),
        )
        .await?;

    let guard = UmaGuardLayer::builder(&issuer)
        .protection_client(protection)
        .resolver(RouteResolver::new().route(
            "/hello",
            ResourceId::fixed(resource_id),
            [(Method::GET, vec!["read"])],
        )?)
        .build()?;
    let service = ServiceBuilder::new()
        .layer(guard)
        .service(tower::service_fn(hello));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hello", listener.local_addr()?);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });

    let response = reqwest::get(&url).await?;
    println!("GET {url} -> {}", response.status());
    let challenge = response
        .headers()
        .get(http::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .ok_or("no challenge")?;
    println!("WWW-Authenticate: {challenge}");
    if response.status() != 401 {
        return Err("expected a 401 challenge".into());
    }
    Ok(())
}
