//! # uma-as-core
//!
//! An [UMA 2.0](https://docs.kantarainitiative.org/uma/wg/rec-oauth-uma-grant-2.0.html)
//! authorization server as a library: discovery, PATs by `client_credentials`, resource
//! registration, the permission endpoint, the UMA grant decided by the owners' policies, and
//! introspection with `permissions`. The wire types are [`uma_client`]'s.
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

fn only(allow: &'static str, route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.fallback(move || async move { ApiError::method_not_allowed(allow) })
}

/// The resource registration routes at `base` (the spec's path, or Keycloak's), with `item`
/// the methods on one resource (Keycloak answers an update differently).
fn resource_registration(base: &str, item: MethodRouter<AppState>) -> Router<AppState> {
    let collection = || only("GET, POST", get(resource::list).post(resource::create));
    Router::new()
        .route(base, collection())
        .route(&format!("{base}/"), collection())
        .route(&format!("{base}/{{id}}"), only("GET, PUT, DELETE", item))
}

fn routes(state: AppState) -> Router {
    let keycloak = if state.keycloak_paths {
        keycloak::routes()
    } else {
        Router::new()
    };
    Router::new()
        .route(
            uma_client::discovery::UMA_WELL_KNOWN_PATH,
            only("GET", get(discovery::document)),
        )
        .route(
            uma_client::discovery::OAUTH_WELL_KNOWN_PATH,
            only("GET", get(discovery::document)),
        )
        .route(
            paths::OPENID_CONFIGURATION,
            only("GET", get(discovery::openid_document)),
        )
        .route(
            paths::USERINFO,
            only(
                "GET, POST",
                get(userinfo::userinfo).post(userinfo::userinfo),
            ),
        )
        .route(paths::TOKEN, only("POST", post(token::token)))
        .route(
            paths::INTROSPECTION,
            only("POST", post(introspection::introspect)),
        )
        .merge(resource_registration(
            paths::RESOURCE_REGISTRATION,
            get(resource::read)
                .put(resource::update)
                .delete(resource::delete),
        ))
        .route(paths::PERMISSION, only("POST", post(permission::request)))
        .route(paths::JWKS, only("GET", get(discovery::jwks)))
        .route(paths::REVOCATION, only("POST", post(token::revoke)))
        .route(paths::POLICY, only("GET", get(policy::list)))
        .route(paths::REQUESTS, only("GET", get(owner::list)))
        .route(paths::DECISIONS, only("GET", get(decisions::list)))
        .route(
            paths::CLAIMS,
            only("GET, POST", get(login::claims).post(login::sign_in)),
        )
        .route(
            paths::AUTHORIZE,
            only("GET, POST", get(login::authorize).post(login::sign_in)),
        )
        .route(
            &format!("{}/{{id}}/approve", paths::REQUESTS),
            only("POST", post(owner::approve)),
        )
        .route(
            &format!("{}/{{id}}/deny", paths::REQUESTS),
            only("POST", post(owner::deny)),
        )
        .route(
            &format!("{}/{{id}}", paths::POLICY),
            only(
                "GET, POST, PUT, DELETE",
                get(policy::read)
                    .post(policy::create)
                    .put(policy::update)
                    .delete(policy::delete),
            ),
        )
        .merge(console::routes())
        .merge(keycloak)
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .with_state(state)
}
