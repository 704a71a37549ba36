//! # uma-rs-guard
//!
//! A [tower](https://docs.rs/tower) layer that makes an axum or hyper service an
//! [UMA 2.0](https://docs.kantarainitiative.org/uma/wg/rec-oauth-uma-grant-2.0.html) resource
//! server.
//!
//! For each request the guard asks its [`ResourceResolver`] which registered resources and scopes
//! the request needs. A request whose `Authorization: Bearer` RPT grants all of them reaches the
//! service, with the RPT's [`GrantedPermissions`] in its extensions. Any other — no token, a bad,
//! expired or insufficient one — gets a fresh permission ticket from the authorization server and
//! the answer `401` with `WWW-Authenticate: UMA realm="…", as_uri="…", ticket="…"` (Grant
//! §3.2.1). If no ticket can be had, the answer is `403` with
//! `Warning: 199 - "UMA Authorization Server Unreachable"` (Grant §3.2.2): the guard fails closed.
//!
//! ```no_run
//! use axum::{Extension, Router, routing::get};
//! use http::Method;
//! use uma_client::ClientCredentials;
//! use uma_rs_guard::{GrantedPermissions, ResourceId, RouteResolver, UmaGuardLayer};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let guard = UmaGuardLayer::builder("https://as.example.com")
//!     .client_credentials(ClientCredentials::new("photoz", "photoz-secret"))
//!     .realm("photoz")
//!     .resolver(RouteResolver::new().route(
//!         "/albums/holiday",
//!         ResourceId::fixed("resource-id-from-registration"),
//!         [(Method::GET, ["view"])],
//!     )?)
//!     .build()?;
//!
//! let app = Router::new()
//!     .route(
//!         "/albums/holiday",
//!         get(|Extension(granted): Extension<GrantedPermissions>| async move {
//!             format!("hello {:?}", granted.subject())
//!         }),
//!     )
//!     .layer(guard);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod decision;
#[cfg(feature = "axum")]
mod extract;
mod future;
mod jwks;
mod layer;
mod outcome;
mod permissions;
mod resolver;
mod response;
mod service;
mod validation;

#[cfg(feature = "axum")]
pub use extract::{NotGuarded, Permissions};
pub use future::ResponseFuture;
pub use layer::{ConfigError, UmaGuardLayer, UmaGuardLayerBuilder};
pub use outcome::{GuardOutcome, Mode, Rejection, RejectionKind};
pub use permissions::GrantedPermissions;
pub use resolver::{
    LookupError, Resolution, ResolveFuture, ResourceId, ResourceResolver, RouteError, RouteResolver,
};
pub use response::{DefaultRejection, RejectionResponse};
pub use service::UmaGuard;
pub use validation::RptValidation;
