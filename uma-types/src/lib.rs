//! # uma-types
//!
//! The messages of [UMA 2.0](https://docs.kantarainitiative.org/uma/wg/rec-oauth-uma-grant-2.0.html)
//! (the Grant and Federated Authorization specs) as serde types, shared by every uma-rs crate: the
//! authorization server (`uma-as-core`) builds on them without linking an HTTP client; the client
//! (`uma-client`) and the resource server's guard (`uma-rs-guard`) re-use them.
//!
//! - [`DiscoveryDocument`] (Grant §2, FedAuthz §2);
//! - [`ResourceDescription`] and [`RegisteredResource`] (FedAuthz §3);
//! - [`PermissionRequest`] and [`TicketResponse`] (FedAuthz §4);
//! - [`UmaChallenge`], the `WWW-Authenticate: UMA` header (Grant §3.2);
//! - [`UmaGrantRequest`], [`TokenResponse`] and [`ErrorResponse`] (Grant §3.3);
//! - [`Introspection`] and its [`Permission`]s (FedAuthz §5);
//! - the tokens themselves ([`Rpt`], [`Pat`], [`Pct`], [`PermissionTicket`], …), whose `Debug`
//!   never shows the value.
//!
//! ```
//! use uma_types::{ErrorCode, ErrorResponse, ResourceDescription, UmaChallenge};
//!
//! // A resource server's challenge, as a client reads it (Grant §3.2.1).
//! let challenge = UmaChallenge::parse(
//!     r#"UMA realm="example", as_uri="https://as.example.com", ticket="016f84e8""#,
//! )
//! .expect("an UMA challenge");
//! assert_eq!(challenge.as_uri, "https://as.example.com");
//! assert_eq!(challenge.ticket.as_str(), "016f84e8");
//!
//! // A resource description, as a resource server registers it (FedAuthz §3.1).
//! let photo = ResourceDescription::new(["view", "print"]).name("Photo album");
//! let json = serde_json::to_value(&photo)?;
//! assert_eq!(json["resource_scopes"], serde_json::json!(["view", "print"]));
//!
//! // An authorization server's refusal, as the token endpoint sends it (Grant §3.3.6).
//! let refusal: ErrorResponse = serde_json::from_str(
//!     r#"{"error":"need_info","ticket":"ZN8BcXv","redirect_user":"https://as.example.com/rqp_claims"}"#,
//! )?;
//! assert_eq!(refusal.error, ErrorCode::NeedInfo);
//! assert_eq!(refusal.ticket.map(|t| t.as_str().to_owned()).as_deref(), Some("ZN8BcXv"));
//! # Ok::<(), serde_json::Error>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod challenge;
pub mod discovery;
pub mod introspection;
pub mod oauth_error;
pub mod permission;
pub mod resource;
mod secret;
pub mod token;

pub use challenge::UmaChallenge;
pub use discovery::DiscoveryDocument;
pub use introspection::{Introspection, Permission};
pub use oauth_error::{ErrorCode, ErrorResponse, RequiredClaim};
pub use permission::{PermissionRequest, TicketResponse};
pub use resource::{RegisteredResource, ResourceDescription, ResourceRegistration, ResourceScope};
pub use secret::{AccessToken, ClaimToken, ClientSecret, Pat, Pct, PermissionTicket, Rpt};
pub use token::{TokenResponse, UMA_PROTECTION_SCOPE, UMA_TICKET_GRANT_TYPE, UmaGrantRequest};
