//! [`UmaGuardLayer`] and its builder.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use tower::Layer;
use uma_client::{ClientCredentials, ProtectionClient};
use uma_types::Pat;

use crate::decision::Shared;
use crate::outcome::Mode;
use crate::resolver::ResourceResolver;
use crate::response::DefaultRejection;
use crate::service::UmaGuard;
use crate::validation::{RptValidation, Validator, ValidatorConfig};

/// A [`Layer`] that puts [`UmaGuard`] in front of a service. Cheap to clone: clones share one
/// configuration, one cache and one connection pool.
#[must_use]
pub struct UmaGuardLayer<R = DefaultRejection> {
    shared: Arc<Shared>,
    rejection: R,
}

impl<R: Clone> Clone for UmaGuardLayer<R> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            rejection: self.rejection.clone(),
        }
    }
}

impl<R> std::fmt::Debug for UmaGuardLayer<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UmaGuardLayer")
            .field("issuer", &self.shared.protection.issuer())
            .field("realm", &self.shared.realm)
            .field("mode", &self.shared.mode)
            .finish_non_exhaustive()
    }
}

impl UmaGuardLayer {
    /// Starts configuring a guard for resources protected by the authorization server `issuer`.
    pub fn builder(issuer: impl Into<String>) -> UmaGuardLayerBuilder {
        UmaGuardLayerBuilder {
            issuer: issuer.into(),
            pat_source: None,
            resolver: None,
            realm: "uma".to_owned(),
            allow_unmatched: false,
            allow_cors_preflight: false,
            any_audience: false,
            timeout: Duration::from_secs(5),
            mode: Mode::Enforcing,
            validator: ValidatorConfig {
                mode: RptValidation::Auto,
                max_entries: 10_000,
                ttl_cap: Duration::from_secs(60),
                negative_ttl: Duration::from_secs(5),
                audience: None,
                leeway: Duration::from_secs(5),
                algorithms: vec![
                    Algorithm::EdDSA,
                    Algorithm::ES256,
                    Algorithm::ES384,
                    Algorithm::RS256,
                    Algorithm::PS256,
                ],
                jwks_refresh_interval: Duration::from_secs(30),
            },
        }
    }
}

impl<R> UmaGuardLayer<R> {
    /// Answers refused requests with `rejection` instead of the spec's default responses. The
    /// [`Rejection`](crate::Rejection) is still added to each response's extensions.
    ///
    /// ```
    /// # fn build(layer: uma_rs_guard::UmaGuardLayer) {
    /// use http::{Response, StatusCode};
    /// use uma_rs_guard::{Rejection, RejectionKind};
    ///
    /// let layer = layer.with_rejection_response(|rejection: &Rejection| {
    ///     let mut response = rejection.default_response::<String>();
    ///     if rejection.kind() == RejectionKind::Unmatched {
    ///         *response.status_mut() = StatusCode::NOT_FOUND;
    ///     }
    ///     *response.body_mut() = format!("{:?}", rejection.kind());
    ///     response
    /// });
    /// # }
    /// ```
    pub fn with_rejection_response<R2: Clone>(self, rejection: R2) -> UmaGuardLayer<R2> {
        UmaGuardLayer {
            shared: self.shared,
            rejection,
        }
    }

    /// How many RPT answers the cache holds now; never more than
    /// [`cache_max_entries`](UmaGuardLayerBuilder::cache_max_entries). For metrics.
    pub async fn cached_rpts(&self) -> u64 {
        self.shared.validator.cached_entries()
    }

    /// The protection API client the guard uses, to register, update and delete resources as the
    /// application creates its own objects.
    pub fn protection(&self) -> &ProtectionClient {
        &self.shared.protection
    }
}

impl<S, R: Clone> Layer<S> for UmaGuardLayer<R> {
    type Service = UmaGuard<S, R>;

    fn layer(&self, inner: S) -> UmaGuard<S, R> {
        UmaGuard::new(inner, Arc::clone(&self.shared), self.rejection.clone())
    }
}

enum PatSource {
    Credentials(ClientCredentials),
    Fixed(Pat),
    Client(ProtectionClient),
}

/// Builds an [`UmaGuardLayer`].
#[must_use]
pub struct UmaGuardLayerBuilder {
    issuer: String,
    pat_source: Option<PatSource>,
    resolver: Option<Arc<dyn ResourceResolver>>,
    realm: String,
    allow_unmatched: bool,
    allow_cors_preflight: bool,
    timeout: Duration,
    mode: Mode,
    validator: ValidatorConfig,
    any_audience: bool,
}

impl std::fmt::Debug for UmaGuardLayerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UmaGuardLayerBuilder")
            .field("issuer", &self.issuer)
            .field("realm", &self.realm)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Why a guard configuration was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Neither client credentials, a PAT nor a protection client was given.
    #[error(
        "the guard needs the resource server's client credentials, a PAT or a ProtectionClient"
    )]
    MissingCredentials,
    /// No resource resolver was given.
    #[error("the guard needs a resource resolver")]
    MissingResolver,
    /// The realm cannot appear in a quoted header parameter.
    #[error("the realm must be printable ASCII")]
    InvalidRealm,
    /// The guard cannot tell which `aud` its RPTs must carry: set
    /// [`audience`](UmaGuardLayerBuilder::audience), or opt out with
    /// [`accept_any_audience`](UmaGuardLayerBuilder::accept_any_audience).
    #[error("the guard needs the audience of its RPTs (this resource server's client id)")]
    MissingAudience,
    /// A setting is out of range.
    #[error("{0}")]
    InvalidSetting(&'static str),
    /// The protection client could not be built (such as an issuer that is not a URL).
    #[error(transparent)]
    Client(#[from] uma_client::Error),
    /// The guard's HTTP client (for the JWKS and introspection) could not be built.
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
    /// The operating system's random source failed (the cache's key is drawn from it).
    #[error("the operating system's random source failed: {0}")]
    RandomSource(String),
    /// A protection client for another issuer was given.
    #[error("the protection client is for issuer {0}, not the guard's")]
    IssuerMismatch(String),
}

impl UmaGuardLayerBuilder {
    /// The resource server's client credentials at the authorization server: PATs come from
    /// `client_credentials`, renewed before they expire and after a `401`.
    pub fn client_credentials(mut self, credentials: ClientCredentials) -> Self {
        self.pat_source = Some(PatSource::Credentials(credentials));
        self
    }

    /// A PAT obtained elsewhere, used as is.
    pub fn pat(mut self, pat: Pat) -> Self {
        self.pat_source = Some(PatSource::Fixed(pat));
        self
    }

    /// A protection client to share with the rest of the application.
    pub fn protection_client(mut self, protection: ProtectionClient) -> Self {
        self.pat_source = Some(PatSource::Client(protection));
        self
    }

    /// How requests map to resources and scopes. Required.
    pub fn resolver(mut self, resolver: impl ResourceResolver) -> Self {
        self.resolver = Some(Arc::new(resolver));
        self
    }

    /// The `realm` of the challenge (default `uma`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Lets requests that match no route through (default: deny them with `403`). A request
    /// that matches a protected route is never let through by this: an unlisted method is `405`,
    /// a resource the lookup cannot find `404`, a failed lookup `403`.
    pub fn allow_unmatched(mut self, allow: bool) -> Self {
        self.allow_unmatched = allow;
        self
    }

    /// Lets CORS preflight requests (`OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`) through unchecked, to a CORS layer inside the guard
    /// (default: judged like any request, which refuses them, since browsers send preflights
    /// without credentials). Put the CORS layer inside the guard so that its headers reach the
    /// preflight's answer.
    pub fn allow_cors_preflight(mut self, allow: bool) -> Self {
        self.allow_cors_preflight = allow;
        self
    }

    /// The timeout of each call to the authorization server (default 5 s); past it the guard
    /// fails closed.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Enforcing (default), permissive, disabled or pass-through.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// How RPTs are validated (default [`RptValidation::Auto`]).
    pub fn validation(mut self, validation: RptValidation) -> Self {
        self.validator.mode = validation;
        self
    }

    /// The most RPT answers cached (default 10,000). An answer takes some 350 bytes for what it
    /// grants (measured with `uma-as`'s RPTs) and, for a JWT RPT, its header and payload too,
    /// compared on every hit (no usable token without the signature; never more than 2 KiB of
    /// it, a longer one being hashed whole): about 850 bytes in all for `uma-as`'s JWT RPTs
    /// (BENCHMARKS.md, "Cold cache").
    pub fn cache_max_entries(mut self, entries: u64) -> Self {
        self.validator.max_entries = entries;
        self
    }

    /// The longest an answer about an active RPT is cached (default 60 s); never past the
    /// token's expiry. For an introspected RPT this is how long a revoked one may still be
    /// honoured. A JWT RPT checked locally is honoured until its own `exp` whatever this says:
    /// nothing tells the guard it was revoked (see [`RptValidation`]).
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.validator.ttl_cap = ttl;
        self
    }

    /// How long an answer about an inactive or invalid RPT is cached (default 5 s).
    pub fn negative_cache_ttl(mut self, ttl: Duration) -> Self {
        self.validator.negative_ttl = ttl;
        self
    }

    /// The `aud` a JWT RPT must carry (TM-2). Default: the client id of
    /// [`client_credentials`](Self::client_credentials) or of the protection client's
    /// credentials; a guard built from a bare PAT must name it here or opt out with
    /// [`accept_any_audience`](Self::accept_any_audience).
    ///
    /// Introspected RPTs are not checked here: the authorization server answers a resource
    /// server only about RPTs for its own resources.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.validator.audience = Some(audience.into());
        self.any_audience = false;
        self
    }

    /// Accepts JWT RPTs whatever their `aud`: only for an authorization server that does not
    /// set it. An RPT another resource server was shown could then be replayed here, so the
    /// permissions it carries are the only defence left.
    pub fn accept_any_audience(mut self) -> Self {
        self.validator.audience = None;
        self.any_audience = true;
        self
    }

    /// Clock leeway for `exp` and `nbf` of JWT RPTs (default 5 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.validator.leeway = leeway;
        self
    }

    /// The algorithms JWT RPTs may be signed with (default EdDSA, ES256, ES384, RS256, PS256).
    /// Each key is pinned to one of them by its JWK; the token's header never chooses.
    pub fn jwt_algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.validator.algorithms = algorithms.into_iter().collect();
        self
    }

    /// The shortest time between two JWKS fetches caused by unknown `kid`s (default 30 s).
    pub fn jwks_refresh_interval(mut self, interval: Duration) -> Self {
        self.validator.jwks_refresh_interval = interval;
        self
    }

    /// Checks the configuration and builds the layer. Makes no network call: discovery, the
    /// first PAT and the JWKS come with the first protected request, and are retried until they
    /// succeed.
    pub fn build(mut self) -> Result<UmaGuardLayer, ConfigError> {
        let builder = ProtectionClient::builder(self.issuer.as_str()).timeout(self.timeout);
        let protection = match self.pat_source {
            Some(PatSource::Client(protection)) => {
                if protection.issuer() != self.issuer {
                    return Err(ConfigError::IssuerMismatch(protection.issuer().to_owned()));
                }
                protection
            }
            Some(PatSource::Credentials(credentials)) => {
                builder.credentials(credentials).build()?
            }
            Some(PatSource::Fixed(pat)) => builder.pat(pat).build()?,
            None => return Err(ConfigError::MissingCredentials),
        };
        if self.validator.audience.is_none() && !self.any_audience {
            let client_id = protection.client_id().ok_or(ConfigError::MissingAudience)?;
            self.validator.audience = Some(client_id.to_owned());
        }
        let resolver = self.resolver.ok_or(ConfigError::MissingResolver)?;
        if !self.realm.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
            return Err(ConfigError::InvalidRealm);
        }
        if self.validator.max_entries == 0 {
            return Err(ConfigError::InvalidSetting(
                "cache_max_entries must be at least 1",
            ));
        }
        if self
            .validator
            .algorithms
            .iter()
            .any(|a| matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
        {
            return Err(ConfigError::InvalidSetting(
                "HMAC algorithms cannot verify tokens against a public JWKS",
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?;
        let validator = Validator::new(protection.clone(), http, self.validator)
            .map_err(|e| ConfigError::RandomSource(e.to_string()))?;
        Ok(UmaGuardLayer {
            shared: Arc::new(Shared {
                protection,
                resolver,
                validator,
                realm: self.realm,
                allow_unmatched: self.allow_unmatched,
                allow_cors_preflight: self.allow_cors_preflight,
                mode: self.mode,
            }),
            rejection: DefaultRejection,
        })
    }
}
