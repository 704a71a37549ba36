//! The authorization server, in process, for the fuzz targets: every input becomes one HTTP
//! request through the real router, and no answer may be a panic or a `500`.

// Each target uses a different part.
#![allow(dead_code)]

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use http::{Method, Request};
use tower::ServiceExt;
use uma_as_core::{AuthorizationServer, ClientConfig, UserConfig};

/// Every endpoint, as the selector byte of an input picks one.
pub const PATHS: [&str; 16] = [
    "/token",
    "/introspect",
    "/resource_set",
    "/resource_set/x",
    "/permission",
    "/revoke",
    "/policy",
    "/policy/x",
    "/requests",
    "/requests/x/approve",
    "/requests/x/deny",
    "/decisions",
    "/claims",
    "/authorize",
    "/jwks",
    "/.well-known/uma2-configuration",
];

pub const METHODS: [Method; 4] = [Method::GET, Method::POST, Method::PUT, Method::DELETE];

pub const CONTENT_TYPES: [&str; 3] = [
    "application/x-www-form-urlencoded",
    "application/json",
    "text/plain",
];

/// The router, and credentials that get past authentication so that bodies are parsed.
pub struct Server {
    pub runtime: tokio::runtime::Runtime,
    pub router: Router,
    /// `Authorization` values: a PAT, an owner token, client credentials.
    pub credentials: Vec<String>,
}

pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (router, credentials) = runtime.block_on(async {
            let server = AuthorizationServer::builder()
                .issuer("http://as.test")
                .client(
                    ClientConfig::new("photoz", "photoz-secret")
                        .redirect_uris(["https://photoz.test/cb"])
                        .claims_redirect_uris(["https://photoz.test/claims"]),
                )
                .user(UserConfig::new("alice").password("alice-password"))
                .password_grant(true)
                .build()
                .await
                .unwrap();
            let pat = server.pat("photoz").await.unwrap();
            let owner = server.owner_token("alice", "photoz").await.unwrap();
            let credentials = vec![
                format!("Bearer {}", pat.as_str()),
                format!("Bearer {}", owner.as_str()),
                "Basic cGhvdG96OnBob3Rvei1zZWNyZXQ=".to_owned(),
            ];
            (server.router(), credentials)
        });
        Server {
            runtime,
            router,
            credentials,
        }
    })
}

/// Sends one request; panics (a finding) on a `500`.
pub fn send(request: Request<Body>) {
    let server = server();
    let response = server
        .runtime
        .block_on(server.router.clone().oneshot(request))
        .unwrap();
    assert!(
        !response.status().is_server_error(),
        "{}",
        response.status()
    );
}

/// The byte at `i`, or 0.
pub fn byte(data: &[u8], i: usize) -> usize {
    data.get(i).copied().unwrap_or(0) as usize
}
