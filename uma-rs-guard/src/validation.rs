//! Deciding what an RPT grants: introspection or local JWT validation, behind a bounded cache.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use moka::Expiry;
use moka::future::Cache;
use sha2::{Digest, Sha256};
use uma_client::{ProtectionClient, Rpt};

use crate::permissions::GrantedPermissions;

use crate::jwks::{Jwks, JwtError};

/// How the guard learns what an RPT grants, and so how soon it sees a revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RptValidation {
    /// Ask the authorization server's introspection endpoint (FedAuthz §5), caching the answer.
    /// A revoked RPT is refused once its cached answer expires: within
    /// [`cache_ttl`](crate::UmaGuardLayerBuilder::cache_ttl) (60 s by default).
    Introspection,
    /// Verify a JWT RPT locally against the authorization server's JWKS, with no call per token.
    /// A revoked RPT stays usable until its `exp` (the AS's RPT lifetime: 5 minutes for
    /// `uma-as`): keep RPT lifetimes short where revocation must bite sooner.
    LocalJwt,
    /// Locally when the token is a JWT of this issuer, by introspection otherwise (the default);
    /// each token has the revocation window of the way it was checked.
    #[default]
    Auto,
}

/// What an RPT grants, as cached.
#[derive(Debug, Clone)]
pub(crate) enum Verdict {
    Active {
        granted: GrantedPermissions,
        exp: Option<u64>,
    },
    Inactive,
}

#[derive(Clone)]
struct Entry {
    verdict: Arc<Verdict>,
    ttl: Duration,
}

struct EntryExpiry;

impl Expiry<[u8; 32], Entry> for EntryExpiry {
    fn expire_after_create(&self, _: &[u8; 32], entry: &Entry, _: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }
}

/// Where an answer came from, for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Cache,
    Introspection,
    LocalJwt,
}

/// Settings of [`Validator`].
pub(crate) struct ValidatorConfig {
    pub(crate) mode: RptValidation,
    pub(crate) max_entries: u64,
    pub(crate) ttl_cap: Duration,
    pub(crate) negative_ttl: Duration,
    pub(crate) audience: Option<String>,
    pub(crate) leeway: Duration,
    pub(crate) algorithms: Vec<jsonwebtoken::Algorithm>,
    pub(crate) jwks_refresh_interval: Duration,
}

pub(crate) struct Validator {
    mode: RptValidation,
    protection: ProtectionClient,
    // Keyed by the SHA-256 of the token: the cache never holds a usable token.
    cache: Cache<[u8; 32], Entry>,
    jwks: Jwks,
    ttl_cap: Duration,
    negative_ttl: Duration,
    audience: Option<String>,
    leeway: Duration,
}

/// The token could not be judged now (the authorization server or its keys are unreachable).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Unavailable(String);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        // A clock before 1970 makes every token look expired: fail closed.
        .unwrap_or(u64::MAX)
}

impl Validator {
    pub(crate) fn new(
        protection: ProtectionClient,
        http: reqwest::Client,
        config: ValidatorConfig,
    ) -> Self {
        Self {
            mode: config.mode,
            jwks: Jwks::new(
                protection.clone(),
                http,
                config.algorithms,
                config.jwks_refresh_interval,
            ),
            protection,
            cache: Cache::builder()
                .max_capacity(config.max_entries)
                .expire_after(EntryExpiry)
                .build(),
            ttl_cap: config.ttl_cap,
            negative_ttl: config.negative_ttl,
            audience: config.audience,
            leeway: config.leeway,
        }
    }

    /// What `rpt` grants. Concurrent calls for one uncached token make one call to the
    /// authorization server between them; failures are not cached.
    pub(crate) async fn validate(&self, rpt: &Rpt) -> Result<(Arc<Verdict>, Source), Unavailable> {
        let key: [u8; 32] = Sha256::digest(rpt.as_str().as_bytes()).into();
        // The hot path: a plain lookup, cheaper than the entry API below.
        let (verdict, source) = match self.cache.get(&key).await {
            Some(entry) => (entry.verdict, Source::Cache),
            None => {
                let entry = self
                    .cache
                    .entry(key)
                    .or_try_insert_with(async {
                        let verdict = self.compute(rpt).await?;
                        Ok::<_, Unavailable>(Entry {
                            ttl: self.ttl(&verdict),
                            verdict: Arc::new(verdict),
                        })
                    })
                    .await
                    .map_err(|e: Arc<Unavailable>| (*e).clone())?;
                // Not fresh: another request computed it while this one waited (coalesced).
                let source = match (entry.is_fresh(), self.use_local(rpt)) {
                    (false, _) => Source::Cache,
                    (true, true) => Source::LocalJwt,
                    (true, false) => Source::Introspection,
                };
                (Arc::clone(&entry.value().verdict), source)
            }
        };
        // A cached answer may outlive the token by less than a second; check again.
        if let Verdict::Active { exp: Some(exp), .. } = *verdict {
            if exp <= now() {
                return Ok((Arc::new(Verdict::Inactive), source));
            }
        }
        Ok((verdict, source))
    }

    fn use_local(&self, rpt: &Rpt) -> bool {
        match self.mode {
            RptValidation::LocalJwt => true,
            RptValidation::Introspection => false,
            RptValidation::Auto => crate::jwks::is_jwt_from(rpt.as_str(), self.protection.issuer()),
        }
    }

    async fn compute(&self, rpt: &Rpt) -> Result<Verdict, Unavailable> {
        if self.use_local(rpt) {
            let verdict = match self
                .jwks
                .verify(
                    rpt.as_str(),
                    self.protection.issuer(),
                    self.audience.as_deref(),
                    self.leeway,
                )
                .await
            {
                Ok(mut claims) => Verdict::Active {
                    granted: GrantedPermissions::new(
                        claims.take_permissions(),
                        claims.sub,
                        claims.azp.or(claims.client_id),
                    ),
                    exp: claims.exp,
                },
                Err(JwtError::Invalid(why)) => {
                    tracing::debug!(%why, "JWT RPT refused");
                    Verdict::Inactive
                }
                Err(JwtError::Unavailable(why)) => return Err(Unavailable(why)),
            };
            return Ok(verdict);
        }
        let introspection = self
            .protection
            .introspect(rpt)
            .await
            .map_err(|e| Unavailable(e.to_string()))?;
        let verdict = match (introspection.active, introspection.permissions) {
            (true, Some(permissions)) => Verdict::Active {
                granted: GrantedPermissions::new(
                    permissions,
                    introspection.sub,
                    introspection.client_id,
                ),
                exp: introspection.exp,
            },
            // Inactive, or an active token without `permissions`: not an RPT.
            _ => Verdict::Inactive,
        };
        Ok(verdict)
    }

    /// How long an answer may be cached: never past the token's or a permission's expiry,
    /// never past the cap; negative answers briefly.
    fn ttl(&self, verdict: &Verdict) -> Duration {
        match verdict {
            Verdict::Inactive => self.negative_ttl,
            Verdict::Active { exp, granted } => {
                let expiry = granted
                    .permissions()
                    .iter()
                    .filter_map(|p| p.exp)
                    .chain(*exp)
                    .min();
                let left = expiry.map_or(self.ttl_cap, |e| {
                    Duration::from_secs(e.saturating_sub(now()))
                });
                left.min(self.ttl_cap)
            }
        }
    }

    pub(crate) async fn cached_entries(&self) -> u64 {
        self.cache.run_pending_tasks().await;
        self.cache.entry_count()
    }
}
