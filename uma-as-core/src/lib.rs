//! # uma-as-core
//!
//! An [UMA 2.0](https://docs.kantarainitiative.org/uma/wg/rec-oauth-uma-grant-2.0.html)
//! authorization server as a library: discovery, PATs by `client_credentials`, resource
//! registration, the permission endpoint, the UMA grant decided by the owners' policies, and
//! introspection with `permissions`. The wire types are [`uma_types`]'s, so that the server links no HTTP
//! client.
//!
//! Start one on an ephemeral loopback port, for a test or a demo, in one statement:
//!
//! ```
//! use uma_as_core::{AuthorizationServer, ClientConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), uma_as_core::Error> {
//! let server = AuthorizationServer::builder()
//!     .client(ClientConfig::new("photoz", "photoz-secret"))
//!     .client(ClientConfig::new("doctor-app", "doctor-secret"))
//!     .user("alice")
//!     .user("bob")
//!     .spawn()
//!     .await?;
//! let discovery = format!("{}/.well-known/uma2-configuration", server.issuer());
//! // Point resource servers and clients at `server.issuer()`; dropping `server` stops it.
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod assessment;
pub mod config;
mod console;
mod decisions;
mod discovery;
mod entitlement;
mod error;
mod id_token;
mod introspection;
mod keycloak;
mod keys;
mod login;
mod maintenance;
mod owner;
mod password;
mod peer;
mod permission;
mod policy;
mod protection;
mod request;
mod resource;
mod rpt;
mod secret;
mod serve;
mod server;
pub mod store;
#[cfg(feature = "testing")]
mod testing;
mod throttle;
mod time;
mod token;
mod token_request;
mod uma_grant;
mod userinfo;

use axum::Router;
use axum::routing::{MethodRouter, get, post};

pub use error::Error;
pub use keys::SigningAlgorithm;
pub use secret::TokenHash;
pub use server::{
    AuthorizationServer, AuthorizationServerBuilder, ClientConfig, RptFormat, RunningServer,
    UserConfig,
};

use crate::error::ApiError;
use crate::server::{AppState, paths};

/// The resource registration routes at `base` (the spec's path, or Keycloak's), with `item`
/// the methods on one resource (Keycloak answers an update differently).
fn resource_registration(base: &str, item: MethodRouter<AppState>) -> Router<AppState> {
    let collection = || get(resource::list).post(resource::create);
    Router::new()
        .route(base, collection())
        .route(&format!("{base}/"), collection())
        .route(&format!("{base}/{{id}}"), item)
}

fn routes(state: AppState) -> Router {
    let keycloak = if state.keycloak_paths {
        keycloak::routes()
    } else {
        Router::new()
    };
    Router::new()
        .route(
            uma_types::discovery::UMA_WELL_KNOWN_PATH,
            get(discovery::document),
        )
        .route(
            uma_types::discovery::OAUTH_WELL_KNOWN_PATH,
            get(discovery::document),
        )
        .route(paths::OPENID_CONFIGURATION, get(discovery::openid_document))
        .route(
            paths::USERINFO,
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route(paths::TOKEN, post(token::token))
        .route(paths::INTROSPECTION, post(introspection::introspect))
        .merge(resource_registration(
            paths::RESOURCE_REGISTRATION,
            get(resource::read)
                .put(resource::update)
                .delete(resource::delete),
        ))
        .route(paths::PERMISSION, post(permission::request))
        .route(paths::JWKS, get(discovery::jwks))
        .route(paths::REVOCATION, post(token::revoke))
        .route(paths::POLICY, get(policy::list))
        .route(paths::REQUESTS, get(owner::list))
        .route(paths::DECISIONS, get(decisions::list))
        .route(paths::CLAIMS, get(login::claims).post(login::sign_in))
        .route(paths::AUTHORIZE, get(login::authorize).post(login::sign_in))
        .route(
            &format!("{}/{{id}}/approve", paths::REQUESTS),
            post(owner::approve),
        )
        .route(
            &format!("{}/{{id}}/deny", paths::REQUESTS),
            post(owner::deny),
        )
        .route(
            &format!("{}/{{id}}", paths::POLICY),
            get(policy::read)
                .post(policy::create)
                .put(policy::update)
                .delete(policy::delete),
        )
        .merge(console::routes())
        .merge(keycloak)
        // axum's method routing answers a method a path does not take, with the `Allow` it
        // knows; this only gives that answer the error body every other refusal has.
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .with_state(state)
}
