//! The server side of `scripts/guard-load.sh`: one hello-world axum route three times on one
//! port, to be loaded from another process: `/bare` without the guard, `/jwt` behind the guard
//! checking a JWT RPT locally, `/introspect` behind the guard introspecting an opaque RPT.
//!
//! ```text
//! cargo run --release --example guard_server [-- RPTS_FILE COUNT CACHE_ENTRIES]
//! ```
//!
//! Two authorization servers run in this process to issue the RPTs and answer the guards' first
//! look-ups; each guarded route is asked once before this prints
//! `READY <address> <JWT RPT> <opaque RPT>`, so that under load both guards answer from their
//! caches and the authorization servers sit idle. It then serves until killed.
//!
//! With `RPTS_FILE COUNT CACHE_ENTRIES` (for `scripts/guard-cold.sh`), it first mints `COUNT`
//! more distinct JWT RPTs for `/jwt`, each by a whole UMA grant, writes them to `RPTS_FILE` one
//! per line, and gives the `/jwt` guard a cache of `CACHE_ENTRIES` answers (10,000 otherwise).

#[path = "support/hello_as.rs"]
mod hello_as;

use axum::Router;
use axum::routing::get;
use hello_as::{Result, authorization, rpts};
use http::Method;
use uma_as_core::{RptFormat, RunningServer};
use uma_client::ClientCredentials;
use uma_rs_guard::{ResourceId, RouteResolver, RptValidation, UmaGuardLayer};

fn guarded(
    path: &'static str,
    server: &RunningServer,
    resource: String,
    validation: RptValidation,
    cache_entries: u64,
) -> Result<Router> {
    let guard = UmaGuardLayer::builder(server.issuer())
        .client_credentials(ClientCredentials::new("hello-rs", "hello-secret"))
        .validation(validation)
        .cache_max_entries(cache_entries)
        .resolver(RouteResolver::new().route(
            path,
            ResourceId::fixed(resource),
            [(Method::GET, vec!["read"])],
        )?)
        .build()?;
    Ok(Router::new()
        .route(path, get(|| async { "hello" }))
        .layer(guard))
}

#[tokio::main]
async fn main() -> Result {
    let (jwt_server, jwt_resource, jwt_rpt) = authorization(RptFormat::Jwt).await?;
    let (opaque_server, opaque_resource, opaque_rpt) = authorization(RptFormat::Opaque).await?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cache_entries = 10_000;
    if let [file, count, entries] = args.as_slice() {
        cache_entries = entries.parse()?;
        let minted = rpts(&jwt_server, &jwt_resource, count.parse()?, 32).await?;
        std::fs::write(file, minted.join("\n") + "\n")?;
    }
    let app = Router::new()
        .route("/bare", get(|| async { "hello" }))
        .merge(guarded(
            "/jwt",
            &jwt_server,
            jwt_resource,
            RptValidation::LocalJwt,
            cache_entries,
        )?)
        .merge(guarded(
            "/introspect",
            &opaque_server,
            opaque_resource,
            RptValidation::Introspection,
            10_000,
        )?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    // Fill both guards' caches (and check that each route answers as it should).
    let http = reqwest::Client::new();
    for (path, rpt) in [
        ("jwt", &jwt_rpt),
        ("introspect", &opaque_rpt),
        ("bare", &jwt_rpt),
    ] {
        let status = http
            .get(format!("http://{addr}/{path}"))
            .bearer_auth(rpt)
            .send()
            .await?
            .status();
        if status != 200 {
            return Err(format!("/{path} answered {status}").into());
        }
    }
    println!("READY {addr} {jwt_rpt} {opaque_rpt}");
    std::future::pending::<()>().await;
    Ok(())
}
