//! # uma-client
//!
//! The client side of [UMA 2.0](https://docs.kantarainitiative.org/uma/wg/rec-oauth-uma-grant-2.0.html)
//! with the wire types every uma-rs crate uses (from `uma-types`).
//!
//! - [`UmaClient`]: a requesting party's HTTP client. A `401` with a `WWW-Authenticate: UMA`
//!   challenge is followed to an RPT at a trusted authorization server, and the request retried.
//! - [`ProtectionClient`]: a resource server's client of the protection API (PAT, resource
//!   registration, permission tickets, introspection).
//! - The messages of both UMA specs as serde types ([`DiscoveryDocument`],
//!   [`ResourceDescription`], [`PermissionRequest`], [`TicketResponse`], [`UmaGrantRequest`],
//!   [`TokenResponse`], [`ErrorResponse`], [`Introspection`], the [`UmaChallenge`] header),
//!   re-exported from `uma-types`, the crate they live in.
//!
//! The whole grant, run here against a real authorization server (`uma-as-core`, started on a
//! loopback port): the resource server registers a resource and asks for a ticket, the client
//! redeems it for bob, whom alice shared the resource with.
//!
//! ```
//! use uma_client::{
//!     AccessToken, ClientCredentials, GrantAuth, PermissionRequest, ProtectionClient,
//!     ResourceDescription, Rpt, UmaClient, UmaGrantRequest,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let server = uma_as_core::AuthorizationServer::builder()
//! #     .client(uma_as_core::ClientConfig::new("photoz", "photoz-secret"))
//! #     .client(uma_as_core::ClientConfig::new("doctor-app", "doctor-secret"))
//! #     .user("alice")
//! #     .user("bob")
//! #     .spawn()
//! #     .await?;
//! # let issuer = server.issuer();
//! // The resource server: a PAT from its client credentials, then the protection API.
//! let protection = ProtectionClient::builder(issuer)
//!     .credentials(ClientCredentials::new("photoz", "photoz-secret"))
//!     .build()?;
//! let album = protection
//!     .create_resource(&ResourceDescription::new(["view"]).name("holiday").owner("alice"))
//!     .await?;
//! # server.share(&album, "bob", ["view"]).await?;
//! // (Alice shares the album with bob at the authorization server.) Bob's client asks the
//! // resource server, which answers `401` with a ticket for what the request needs:
//! let ticket = protection
//!     .request_permissions(vec![PermissionRequest::new(album.clone(), ["view"])])
//!     .await?;
//!
//! // Bob's client: his own access token identifies him; it trusts this authorization server only.
//! # let bobs_token = server.access_token("bob", "doctor-app").await?.as_str().to_owned();
//! let uma = UmaClient::builder()
//!     .trust(issuer)
//!     .auth(GrantAuth::Bearer(AccessToken::new(bobs_token)))
//!     .build()?;
//! let granted = uma.redeem(issuer, &UmaGrantRequest::new(ticket)).await?;
//! let rpt = Rpt::new(granted.access_token.into_string());
//!
//! // The resource server learns what the RPT grants (FedAuthz §5).
//! let introspection = protection.introspect(&rpt).await?;
//! assert!(introspection.active);
//! assert_eq!(introspection.permissions.unwrap()[0].resource_id, album);
//! // With `uma.get(url).send()`, the client follows the resource server's challenge itself.
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod client;
pub mod discovery;
mod error;
mod follow;
mod grant;
#[cfg(feature = "middleware")]
mod middleware;
mod protection;
mod time;
mod transport;

pub use uma_types::{challenge, introspection, oauth_error, permission, resource, token};

use crate::error::Kind;
use std::time::Duration;

pub use client::{GrantAuth, UmaClient, UmaClientBuilder, UmaRequestBuilder};
pub use error::{Error, Result};
pub use grant::{
    ClaimTokenFuture, ClaimTokenSource, ClaimsInteraction, NeedInfo, PushedClaims, RequestSubmitted,
};
#[cfg(feature = "middleware")]
pub use middleware::UmaMiddleware;
pub use protection::{ProtectionClient, ProtectionClientBuilder};
pub use transport::{AuthMethod, ClientCredentials};
// The wire types, from the crate every uma-rs crate shares.
pub use uma_types::{
    AccessToken, ClaimToken, ClientSecret, DiscoveryDocument, ErrorCode, ErrorResponse,
    Introspection, Pat, Pct, Permission, PermissionRequest, PermissionTicket, RegisteredResource,
    RequiredClaim, ResourceDescription, ResourceRegistration, ResourceScope, Rpt, TicketResponse,
    TokenResponse, UMA_PROTECTION_SCOPE, UMA_TICKET_GRANT_TYPE, UmaChallenge, UmaGrantRequest,
};

/// The client used for authorization server calls: no redirects (a redirect could carry
/// credentials elsewhere), a timeout on every call.
fn default_http_client(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
        .map_err(|e| Error::from(Kind::Builder(format!("cannot build the HTTP client: {e}"))))
}
