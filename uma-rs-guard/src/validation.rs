//! Deciding what an RPT grants: introspection or local JWT validation, behind a bounded cache.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use quick_cache::sync::{Cache, DefaultLifecycle, EntryAction, EntryResult};
use quick_cache::{OptionsBuilder, UnitWeighter};
use siphasher::sip128::{Hasher128, SipHasher13};
use uma_client::ProtectionClient;
use uma_types::Rpt;

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
    /// Milliseconds since the epoch; the entry is stale from then on.
    expires: u64,
    /// The token's [`Split::head`], which a hit must match byte for byte. Shared, because the
    /// cache hands out a copy of the entry on every hit.
    head: Arc<[u8]>,
}

impl Entry {
    /// Whether this entry is the answer for a token with `head` at `now`: fresh, and made for
    /// the same token (same tail by the key, same head by comparison).
    fn answers(&self, head: &[u8], now: Now) -> bool {
        self.expires > now.millis && *self.head == *head
    }
}

/// The cache. An expired entry is never answered from: the lookup reads the request's one
/// clock reading against `expires`, and replaces a stale entry instead of returning it.
type RptCache = Cache<u128, Entry, UnitWeighter, PreHashed, DefaultLifecycle<u128, Entry>>;

/// The time of a request, read once and handed to every expiry check.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now {
    /// Seconds since the epoch, for `exp` and `nbf`.
    pub(crate) secs: u64,
    millis: u64,
}

impl Now {
    pub(crate) fn read() -> Self {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            // A clock before 1970 makes every token look expired: fail closed.
            .unwrap_or(u64::MAX);
        Self {
            secs: millis / 1000,
            millis,
        }
    }
}

/// A token as the cache sees it: `head` is everything up to and including its last `.` (a
/// JWT's header and payload), `tail` the rest (a JWT's signature; all of an opaque token).
///
/// Only the tail is hashed into the cache's key; the head is kept in the entry and compared
/// byte for byte on every hit. Hashing the whole of a ~700-byte JWT was half of what a cached
/// request cost the guard; its ~86-byte signature is a tenth of the bytes, and a comparison is
/// far cheaper per byte than a keyed hash. A hit thus still means the very same token: a tail
/// hashing to the same key (a 2⁻¹²⁸ guess, see [`TokenKey`]) and an identical head. The head
/// alone is no usable token: without its signature no server accepts it.
///
/// Tokens sharing a tail share one key, and so one entry: a token whose head differs replaces
/// it rather than being answered from it. Whoever makes such tokens must know the tail — a
/// valid token's signature, as good as the token itself — and can then only make the guard
/// check that token again; there are never two entries under one key for a table to chain.
///
/// A head longer than [`MAX_KEPT_HEAD`] is not kept: such a token is hashed whole, its head
/// empty, so that what the cache holds stays bounded by its count of entries whatever tokens
/// callers send (refused ones are cached too). Still exact: its tail then holds a dot, which
/// no other split's tail does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Split<'a> {
    head: &'a [u8],
    tail: &'a [u8],
}

/// The longest head an entry keeps (a JWT RPT of `uma-as` has ~600 bytes before its signature).
const MAX_KEPT_HEAD: usize = 2048;

impl<'a> Split<'a> {
    fn of(token: &'a [u8]) -> Self {
        // The dot stays with the head, so that `x` and `.x` differ in their heads.
        let at = match memchr::memrchr(b'.', token) {
            Some(dot) if dot < MAX_KEPT_HEAD => dot + 1,
            _ => 0,
        };
        let (head, tail) = token.split_at(at);
        Self { head, tail }
    }
}

/// The cache's key for a token's [`Split::tail`]: SipHash-1-3 with 128-bit output under a
/// random key drawn when the guard is built (the key never leaves the process, nor do the
/// hashes).
///
/// Why not SHA-256, as before: it was the largest single cost of a cache hit (≈ 0.8 µs for a
/// 700-byte JWT, BENCHMARKS.md). What the key must give is that no token an attacker can make
/// lands on the entry of another token; under a secret key SipHash is a pseudo-random function,
/// so each guess succeeds with probability 2⁻¹²⁸, and the only oracle is whether a request was
/// let through. Collisions between honest tokens are as unlikely (birthday bound 2⁻⁶⁴ at 2³²
/// tokens cached). The cache still never holds a usable token.
struct TokenKey(SipHasher13);

impl TokenKey {
    fn random() -> Result<Self, getrandom::Error> {
        let mut key = [0u8; 16];
        getrandom::fill(&mut key)?;
        Ok(Self(SipHasher13::new_with_key(&key)))
    }

    fn of(&self, token: &[u8]) -> u128 {
        let mut hasher = self.0;
        hasher.write(token);
        hasher.finish128().as_u128()
    }
}

/// The keys are already keyed SipHash outputs: the cache's table need not hash them again.
#[derive(Clone, Default)]
struct PreHashed;

impl BuildHasher for PreHashed {
    type Hasher = PreHashedHasher;

    fn build_hasher(&self) -> PreHashedHasher {
        PreHashedHasher(0)
    }
}

#[derive(Default)]
struct PreHashedHasher(u64);

impl Hasher for PreHashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u128` is ever called (the key is a `u128`); fold anything else in anyway.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }

    fn write_u128(&mut self, key: u128) {
        // Both halves: the cache takes middle bits for its shard, others for the bucket.
        self.0 = (key as u64) ^ ((key >> 64) as u64);
    }
}

/// Where an answer came from, for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Cache,
    Introspection,
    LocalJwt,
    /// Not UTF-8, so no RPT: refused without asking anyone.
    Malformed,
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
    key: TokenKey,
    cache: RptCache,
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

impl Validator {
    pub(crate) fn new(
        protection: ProtectionClient,
        http: reqwest::Client,
        config: ValidatorConfig,
    ) -> Result<Self, getrandom::Error> {
        Ok(Self {
            mode: config.mode,
            jwks: Jwks::new(
                protection.clone(),
                http,
                config.algorithms,
                config.jwks_refresh_interval,
            ),
            protection,
            key: TokenKey::random()?,
            cache: bounded_cache(config.max_entries),
            ttl_cap: config.ttl_cap,
            negative_ttl: config.negative_ttl,
            audience: config.audience,
            leeway: config.leeway,
        })
    }

    /// What `token` grants at `now`. Concurrent calls for one uncached token make one call to
    /// the authorization server between them; failures are not cached.
    pub(crate) async fn validate(
        &self,
        token: &[u8],
        now: Now,
    ) -> Result<(Arc<Verdict>, Source), Unavailable> {
        let split = Split::of(token);
        let key = self.key.of(split.tail);
        let (verdict, source) = match self.fresh(key, split.head, now) {
            Some(verdict) => (verdict, Source::Cache),
            // Boxed: the miss path's future (introspection, JWKS fetch) is large, and in place
            // it would make every hit's future as large.
            None => Box::pin(self.fill(key, split.head, token, now)).await?,
        };
        // A cached answer may outlive the token by less than a second; check again.
        if let Verdict::Active { exp: Some(exp), .. } = *verdict {
            if exp <= now.secs {
                return Ok((Arc::new(Verdict::Inactive), source));
            }
        }
        Ok((verdict, source))
    }

    /// The cached answer for `token`, if there is one and it is fresh at `now`; never waits.
    pub(crate) fn cached(&self, token: &[u8], now: Now) -> Option<Arc<Verdict>> {
        let split = Split::of(token);
        self.fresh(self.key.of(split.tail), split.head, now)
    }

    fn fresh(&self, key: u128, head: &[u8], now: Now) -> Option<Arc<Verdict>> {
        self.cache
            .get(&key)
            .filter(|entry| entry.answers(head, now))
            .map(|entry| entry.verdict)
    }

    /// Judges an uncached or stale token and caches the answer. A concurrent call for the same
    /// token waits for this one's answer instead of asking again; if this one fails, nothing is
    /// cached and the next waiter asks.
    async fn fill(
        &self,
        key: u128,
        head: &[u8],
        token: &[u8],
        now: Now,
    ) -> Result<(Arc<Verdict>, Source), Unavailable> {
        // No RPT is anything but ASCII; nothing to ask anyone, nothing worth caching.
        let Ok(token) = std::str::from_utf8(token) else {
            return Ok((Arc::new(Verdict::Inactive), Source::Malformed));
        };
        let fresh = |_: &u128, entry: &mut Entry| {
            if entry.answers(head, now) {
                EntryAction::Retain(Arc::clone(&entry.verdict))
            } else {
                EntryAction::ReplaceWithGuard
            }
        };
        let guard = match self.cache.entry_async(&key, fresh).await {
            // Another request filled it while this one waited (coalesced).
            EntryResult::Retained(verdict) => return Ok((verdict, Source::Cache)),
            EntryResult::Vacant(guard) | EntryResult::Replaced(guard, _) => guard,
            // Not asked for: the callback never removes, and only the blocking API times out.
            EntryResult::Removed(..) | EntryResult::Timeout => {
                return Err(Unavailable("the RPT cache answered out of turn".to_owned()));
            }
        };
        let started = Instant::now();
        let verdict = Arc::new(self.compute(&Rpt::new(token)).await?);
        tracing::Span::current().record("as_latency_ms", started.elapsed().as_secs_f64() * 1e3);
        let ttl = self.ttl(&verdict, now.secs);
        // A zero lifetime caches nothing: dropping the guard lets each waiter judge for itself.
        if !ttl.is_zero() {
            let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
            let _ = guard.insert(Entry {
                verdict: Arc::clone(&verdict),
                expires: now.millis.saturating_add(ttl),
                head: Arc::from(head),
            });
        }
        let source = if self.use_local(token) {
            Source::LocalJwt
        } else {
            Source::Introspection
        };
        Ok((verdict, source))
    }

    fn use_local(&self, token: &str) -> bool {
        match self.mode {
            RptValidation::LocalJwt => true,
            RptValidation::Introspection => false,
            RptValidation::Auto => crate::jwks::is_jwt_from(token, self.protection.issuer()),
        }
    }

    async fn compute(&self, rpt: &Rpt) -> Result<Verdict, Unavailable> {
        if self.use_local(rpt.as_str()) {
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
    fn ttl(&self, verdict: &Verdict, now: u64) -> Duration {
        match verdict {
            Verdict::Inactive => self.negative_ttl,
            Verdict::Active { exp, granted } => {
                let expiry = granted
                    .permissions()
                    .iter()
                    .filter_map(|p| p.exp)
                    .chain(*exp)
                    .min();
                let left =
                    expiry.map_or(self.ttl_cap, |e| Duration::from_secs(e.saturating_sub(now)));
                left.min(self.ttl_cap)
            }
        }
    }

    /// Entries held, stale ones included until they are replaced or evicted.
    pub(crate) fn cached_entries(&self) -> u64 {
        self.cache.len() as u64
    }
}

/// A cache that never holds more than `max_entries` (at least 1): the cache is split into
/// shards, each with its own bound, so the bound per shard is rounded down, not up.
fn bounded_cache(max_entries: u64) -> RptCache {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let max_entries = max_entries.max(1);
    // Four shards a core (quick_cache's default), but no shard under 32 entries.
    let mut shards = (cores as u64).saturating_mul(4).next_power_of_two();
    while shards > 1 && max_entries / shards < 32 {
        shards /= 2;
    }
    let capacity = max_entries / shards * shards;
    let options = OptionsBuilder::new()
        .shards(shards as usize)
        .estimated_items_capacity(usize::try_from(capacity).unwrap_or(usize::MAX))
        .weight_capacity(capacity)
        .build();
    match options {
        Ok(options) => Cache::with_options(
            options,
            UnitWeighter,
            PreHashed,
            DefaultLifecycle::default(),
        ),
        // The options above are always valid; a cache of one entry is the safe fallback.
        Err(_) => Cache::with(1, 1, UnitWeighter, PreHashed, DefaultLifecycle::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_never_holds_more_than_asked() {
        for max in [1, 5, 31, 33, 100, 1_001, 10_000] {
            let cache = bounded_cache(max);
            assert!(
                cache.capacity() <= max,
                "{max}: capacity {}",
                cache.capacity()
            );
            for key in 0..u128::from(max) * 3 {
                cache.insert(
                    key,
                    Entry {
                        verdict: Arc::new(Verdict::Inactive),
                        expires: u64::MAX,
                        head: Arc::from(&b""[..]),
                    },
                );
            }
            assert!(cache.len() as u64 <= max, "{max}: holds {}", cache.len());
        }
    }

    #[test]
    fn a_token_splits_after_its_last_dot() {
        let split = |token: &'static [u8]| {
            let Split { head, tail } = Split::of(token);
            (head, tail)
        };
        assert_eq!(split(b"h.p.sig"), (&b"h.p."[..], &b"sig"[..]));
        assert_eq!(split(b"opaque"), (&b""[..], &b"opaque"[..]));
        assert_eq!(split(b".x"), (&b"."[..], &b"x"[..]));
        assert_eq!(split(b"h.p."), (&b"h.p."[..], &b""[..]));
        assert_eq!(split(b""), (&b""[..], &b""[..]));
        let long = [&[b'h'; MAX_KEPT_HEAD][..], b".sig"].concat();
        let Split { head, tail } = Split::of(&long);
        assert_eq!(
            (head, tail),
            (&b""[..], &long[..]),
            "hashed whole, nothing kept"
        );
        let longest = [&[b'h'; MAX_KEPT_HEAD - 1][..], b".sig"].concat();
        assert_eq!(Split::of(&longest).head.len(), MAX_KEPT_HEAD);
    }

    #[test]
    fn an_entry_answers_only_its_own_head_while_fresh() {
        let now = Now {
            secs: 100,
            millis: 100_000,
        };
        let entry = Entry {
            verdict: Arc::new(Verdict::Inactive),
            expires: 100_001,
            head: Arc::from(&b"h.p."[..]),
        };
        assert!(entry.answers(b"h.p.", now));
        assert!(!entry.answers(b"h.q.", now));
        assert!(!entry.answers(b"h.p", now));
        assert!(!entry.answers(b"", now));
        let later = Now {
            secs: 100,
            millis: 100_001,
        };
        assert!(!entry.answers(b"h.p.", later));
    }

    #[test]
    fn tokens_get_distinct_keys_and_other_guards_other_keys() {
        let (one, other) = (TokenKey::random().unwrap(), TokenKey::random().unwrap());
        assert_eq!(one.of(b"token-a"), one.of(b"token-a"));
        assert_ne!(one.of(b"token-a"), one.of(b"token-b"));
        assert_ne!(one.of(b"token-a"), other.of(b"token-a"));
    }
}
