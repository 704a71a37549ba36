//! # uma-client
//!
//! The client side of [UMA 2.0](https://docs.kantarainitiative.org/uma/wg/rec-oauth-uma-grant-2.0.html)
//! and the one set of wire types every uma-rs crate uses.
//!
//! - [`UmaClient`]: a requesting party's HTTP client. A `401` with a `WWW-Authenticate: UMA`
//!   challenge is followed to an RPT at a trusted authorization server, and the request retried.
//! - [`ProtectionClient`]: a resource server's client of the protection API (PAT, resource
//!   registration, permission tickets, introspection).
//! - The messages of both UMA specs as serde types: [`DiscoveryDocument`],
//!   [`ResourceDescription`], [`PermissionRequest`], [`TicketResponse`], [`UmaGrantRequest`],
//!   [`TokenResponse`], [`ErrorResponse`], [`Introspection`], and the [`UmaChallenge`] header.
//!
//! ```no_run
//! use uma_client::{AccessToken, GrantAuth, UmaClient};
//!
//! # async fn run() -> uma_client::Result<()> {
//! // Bob's own access token from the authorization server identifies him as requesting party;
//! // photoz may send this client to that authorization server, and to no other.
//! let uma = UmaClient::builder()
//!     .resource_server("https://photoz.example.com", "https://as.example.com")
//!     .auth(GrantAuth::Bearer(AccessToken::new("bobs-access-token")))
//!     .build()?;
//! let response = uma.get("https://photoz.example.com/albums/42").send().await?;
//! println!("{}", response.status());
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod challenge;
mod client;
pub mod discovery;
mod error;
mod follow;
mod grant;
pub mod introspection;
#[cfg(feature = "middleware")]
mod middleware;
pub mod oauth_error;
pub mod permission;
mod protection;
pub mod resource;
mod secret;
mod time;
pub mod token;
mod transport;

use std::time::Duration;

pub use challenge::UmaChallenge;
pub use client::{GrantAuth, UmaClient, UmaClientBuilder, UmaRequestBuilder};
pub use discovery::DiscoveryDocument;
pub use error::{Error, Result};
pub use grant::{
    ClaimTokenFuture, ClaimTokenSource, ClaimsInteraction, NeedInfo, PushedClaims, RequestSubmitted,
};
pub use introspection::{Introspection, Permission};
#[cfg(feature = "middleware")]
pub use middleware::UmaMiddleware;
pub use oauth_error::{ErrorCode, ErrorResponse, RequiredClaim};
pub use permission::{PermissionRequest, TicketResponse};
pub use protection::{ProtectionClient, ProtectionClientBuilder};
pub use resource::{RegisteredResource, ResourceDescription, ResourceRegistration, ResourceScope};
pub use secret::{AccessToken, ClaimToken, ClientSecret, Pat, Pct, PermissionTicket, Rpt};
pub use token::{TokenResponse, UMA_PROTECTION_SCOPE, UMA_TICKET_GRANT_TYPE, UmaGrantRequest};
pub use transport::{AuthMethod, ClientCredentials};

/// The client used for authorization server calls: no redirects (a redirect could carry
/// credentials elsewhere), a timeout on every call.
fn default_http_client(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))
}
