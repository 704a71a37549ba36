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
//! A protected route, checked here against a real authorization server (`uma-as-core`, started
//! on a loopback port): without a token, the answer is the UMA challenge with a fresh ticket.
//!
//! ```
//! use axum::{Extension, Router, routing::get};
//! use http::{Method, Request, StatusCode};
//! use tower::ServiceExt;
//! use uma_client::{ClientCredentials, ProtectionClient, ResourceDescription, UmaChallenge};
//! use uma_rs_guard::{GrantedPermissions, ResourceId, RouteResolver, UmaGuardLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let server = uma_as_core::AuthorizationServer::builder()
//! #     .client(uma_as_core::ClientConfig::new("photoz", "photoz-secret"))
//! #     .user("alice")
//! #     .spawn()
//! #     .await?;
//! # let issuer = server.issuer();
//! // The resource server registers its album once (resource registration, FedAuthz §3).
//! let credentials = ClientCredentials::new("photoz", "photoz-secret");
//! let protection = ProtectionClient::builder(issuer).credentials(credentials.clone()).build()?;
//! let album = protection
//!     .create_resource(&ResourceDescription::new(["view"]).owner("alice"))
//!     .await?;
//!
//! let guard = UmaGuardLayer::builder(issuer)
//!     .client_credentials(credentials)
//!     .realm("photoz")
//!     .resolver(RouteResolver::new().route(
//!         "/albums/holiday",
//!         ResourceId::fixed(album),
//!         [(Method::GET, ["view"])],
//!     )?)
//!     .build()?;
//! let app = Router::new()
//!     .route(
//!         "/albums/holiday",
//!         get(|Extension(granted): Extension<GrantedPermissions>| async move {
//!             format!("hello {:?}", granted.subject())
//!         }),
//!     )
//!     .layer(guard);
//!
//! // Serve it with `axum::serve`; here, one request without an RPT.
//! let request = Request::get("/albums/holiday").body(axum::body::Body::empty())?;
//! let response = app.oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! let challenge = UmaChallenge::from_headers(response.headers()).expect("a challenge");
//! assert_eq!(challenge.as_uri, issuer);
//! // The client redeems `challenge.ticket` at the authorization server for an RPT, and retries.
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
