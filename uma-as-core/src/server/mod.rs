//! Building, configuring and running the authorization server: the server and its running
//! handle here; its builder, its clients and users, and the state its handlers share in modules
//! of their own.

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uma_types::UMA_PROTECTION_SCOPE;

use crate::error::Error;
use crate::store::{TokenKind, TokenRecord};

mod builder;
mod registry;
mod state;

pub use builder::{AuthorizationServerBuilder, RptFormat};
pub use registry::{ClientConfig, UserConfig};
pub(crate) use registry::{RegisteredClient, RegisteredUser};
pub(crate) use state::{
    AppState, Approvals, Inner, Issuance, Issuer, Lifetimes, Limits, REALM, Registry, SignIn,
};

/// Paths of the endpoints, relative to the issuer.
pub(crate) mod paths {
    pub(crate) const TOKEN: &str = "/token";
    pub(crate) const INTROSPECTION: &str = "/introspect";
    pub(crate) const RESOURCE_REGISTRATION: &str = "/resource_set";
    pub(crate) const PERMISSION: &str = "/permission";
    pub(crate) const JWKS: &str = "/jwks";
    pub(crate) const REVOCATION: &str = "/revoke";
    pub(crate) const POLICY: &str = "/policy";
    pub(crate) const REQUESTS: &str = "/requests";
    pub(crate) const DECISIONS: &str = "/decisions";
    pub(crate) const CLAIMS: &str = "/claims";
    pub(crate) const AUTHORIZE: &str = "/authorize";
    pub(crate) const CONSOLE: &str = "/console";
    pub(crate) const USERINFO: &str = "/userinfo";
    pub(crate) const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";
}

/// An UMA 2.0 authorization server, ready to serve.
///
/// ```
/// use uma_as_core::{AuthorizationServer, ClientConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), uma_as_core::Error> {
/// let server = AuthorizationServer::builder()
///     .client(ClientConfig::new("photoz", "photoz-secret"))
///     .user("alice")
///     .spawn()
///     .await?;
/// assert!(server.issuer().starts_with("http://127.0.0.1:"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AuthorizationServer {
    pub(crate) state: AppState,
}

impl std::fmt::Debug for AuthorizationServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationServer")
            .field("issuer", &self.state.issuer)
            .finish_non_exhaustive()
    }
}

impl AuthorizationServer {
    /// Publishes a new signing key, which signs once
    /// [`signing_key_publication`](AuthorizationServerBuilder::signing_key_publication) has passed
    /// (on every replica sharing the store); the old one stays in the JWKS while tokens it signed
    /// can live. Returns the new key's `kid`.
    pub async fn rotate_signing_key(&self) -> Result<String, Error> {
        let store = self.state.store.as_ref();
        Ok(self
            .state
            .issuance
            .keys
            .rotate(store, self.state.issuance.key_publication)
            .await?)
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        self.state.issuer.as_str()
    }

    #[cfg(test)]
    pub(crate) fn state(&self) -> &AppState {
        &self.state
    }

    /// The server as an axum router, to serve or to nest in an application.
    pub fn router(&self) -> Router {
        let routes = crate::routes(self.state.clone());
        match url::Url::parse(self.state.issuer.as_str())
            .ok()
            .map(|u| u.path().trim_end_matches('/').to_owned())
        {
            Some(path) if !path.is_empty() => Router::new()
                .nest(&path, routes)
                .fallback(crate::keycloak::outside_the_issuer),
            _ => routes,
        }
    }

    /// Serves on `listener` until `shutdown` completes, with the configured connection limits
    /// (connections at once, header, body and idle timeouts), each request knowing its peer's
    /// address (for sign-in throttling). Requests in flight at shutdown get a few seconds to
    /// finish.
    ///
    /// Serving [`router`](Self::router) some other way applies that server's limits instead,
    /// and throttles sign-ins per account only unless it provides axum's `ConnectInfo`.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let limits = self.state.limits.connections;
        crate::serve::serve(self.router(), listener, limits, shutdown).await?;
        Ok(())
    }
}

/// A server started by [`AuthorizationServerBuilder::spawn`]; it stops when dropped.
pub struct RunningServer {
    pub(super) addr: SocketAddr,
    pub(super) server: AuthorizationServer,
    pub(super) shutdown: Option<oneshot::Sender<()>>,
    pub(super) task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("issuer", &self.server.state.issuer)
            .finish_non_exhaustive()
    }
}

/// Everything an [`AuthorizationServer`] does, the running server does.
impl std::ops::Deref for RunningServer {
    type Target = AuthorizationServer;

    fn deref(&self) -> &AuthorizationServer {
        &self.server
    }
}

impl RunningServer {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server and waits until it has stopped.
    pub async fn shutdown(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Whether a token's scopes include `uma_protection`.
pub(crate) fn is_pat(record: &TokenRecord) -> bool {
    matches!(&record.kind, TokenKind::Access { scopes } if scopes.iter().any(|s| s == UMA_PROTECTION_SCOPE))
}
