//! [`UmaGuardLayer`] and its builder.

use std::sync::Arc;
use std::time::Duration;

use tower::Layer;
use uma_client::{ClientCredentials, ProtectionClient};

use crate::decision::Shared;
use crate::resolver::ResourceResolver;
use crate::service::UmaGuard;

/// A [`Layer`] that puts [`UmaGuard`] in front of a service. Cheap to clone.
#[derive(Clone)]
#[must_use]
pub struct UmaGuardLayer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for UmaGuardLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UmaGuardLayer")
            .field("issuer", &self.shared.protection.issuer())
            .field("realm", &self.shared.realm)
            .finish_non_exhaustive()
    }
}

impl UmaGuardLayer {
    /// Starts configuring a guard for resources protected by the authorization server `issuer`.
    pub fn builder(issuer: impl Into<String>) -> UmaGuardLayerBuilder {
        UmaGuardLayerBuilder {
            issuer: issuer.into(),
            credentials: None,
            protection: None,
            resolver: None,
            realm: None,
            allow_unmatched: false,
            timeout: Duration::from_secs(5),
        }
    }
}

impl<S> Layer<S> for UmaGuardLayer {
    type Service = UmaGuard<S>;

    fn layer(&self, inner: S) -> UmaGuard<S> {
        UmaGuard::new(inner, Arc::clone(&self.shared))
    }
}

/// Builds an [`UmaGuardLayer`].
#[must_use]
pub struct UmaGuardLayerBuilder {
    issuer: String,
    credentials: Option<ClientCredentials>,
    protection: Option<ProtectionClient>,
    resolver: Option<Arc<dyn ResourceResolver>>,
    realm: Option<String>,
    allow_unmatched: bool,
    timeout: Duration,
}

impl std::fmt::Debug for UmaGuardLayerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UmaGuardLayerBuilder")
            .field("issuer", &self.issuer)
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

/// Why a guard configuration was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Neither client credentials nor a protection client was given.
    #[error("the guard needs the resource server's client credentials or a ProtectionClient")]
    MissingCredentials,
    /// No resource resolver was given.
    #[error("the guard needs a resource resolver")]
    MissingResolver,
    /// The realm cannot appear in a quoted header parameter.
    #[error("the realm must be printable ASCII")]
    InvalidRealm,
    /// The protection client could not be built (such as an issuer that is not a URL).
    #[error(transparent)]
    Client(#[from] uma_client::Error),
    /// A protection client for another issuer was given.
    #[error("the protection client is for issuer {0}, not the guard's")]
    IssuerMismatch(String),
}

impl UmaGuardLayerBuilder {
    /// The resource server's client credentials at the authorization server, for PATs.
    pub fn client_credentials(mut self, credentials: ClientCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// A protection client to share with the rest of the application (for registering resources),
    /// in place of [`client_credentials`](Self::client_credentials).
    pub fn protection_client(mut self, protection: ProtectionClient) -> Self {
        self.protection = Some(protection);
        self
    }

    /// How requests map to resources and scopes. Required.
    pub fn resolver(mut self, resolver: impl ResourceResolver) -> Self {
        self.resolver = Some(Arc::new(resolver));
        self
    }

    /// The `realm` of the challenge (default `uma`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Lets requests the resolver does not know through (default: deny them with `403`).
    pub fn allow_unmatched(mut self, allow: bool) -> Self {
        self.allow_unmatched = allow;
        self
    }

    /// The timeout of each call to the authorization server (default 5 s); past it the guard
    /// fails closed.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Checks the configuration and builds the layer. Makes no network call: discovery and the
    /// first PAT happen on the first protected request, and are retried until they succeed.
    pub fn build(self) -> Result<UmaGuardLayer, ConfigError> {
        let protection = match (self.protection, self.credentials) {
            (Some(protection), _) => {
                if protection.issuer() != self.issuer {
                    return Err(ConfigError::IssuerMismatch(protection.issuer().to_owned()));
                }
                protection
            }
            (None, Some(credentials)) => ProtectionClient::builder(self.issuer)
                .credentials(credentials)
                .timeout(self.timeout)
                .build()?,
            (None, None) => return Err(ConfigError::MissingCredentials),
        };
        let resolver = self.resolver.ok_or(ConfigError::MissingResolver)?;
        let realm = self.realm.unwrap_or_else(|| "uma".to_owned());
        if !realm.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
            return Err(ConfigError::InvalidRealm);
        }
        Ok(UmaGuardLayer {
            shared: Arc::new(Shared {
                protection,
                resolver,
                realm,
                allow_unmatched: self.allow_unmatched,
            }),
        })
    }
}
