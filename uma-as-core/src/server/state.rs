//! The state every handler shares, in parts that handlers extract as they need them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;

use crate::keys::KeyRing;
use crate::login::{SessionCookie, SignInSessions};
use crate::secret::{self, SecretDigest, SecretKey, TokenHash};
use crate::serve::ConnectionLimits;
use crate::store::{Store, TokenKind, TokenRecord};
use crate::throttle::Throttle;

use super::{RegisteredClient, RegisteredUser, RptFormat};

/// Lifetimes of what the server issues.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lifetimes {
    pub(crate) ticket: Duration,
    pub(crate) rpt: Duration,
    pub(crate) access_token: Duration,
    pub(crate) refresh_token: Duration,
    pub(crate) pct: Duration,
}

impl Lifetimes {
    /// The longest any signed token lives: how long a retired key stays in the JWKS.
    pub(crate) fn longest_signed(&self) -> u64 {
        self.rpt.max(self.access_token).as_secs()
    }
}

/// The shared state of every handler.
#[derive(Clone)]
pub(crate) struct AppState(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) issuer: Issuer,
    pub(crate) store: Arc<dyn Store>,
    /// Who may call, and what their credentials are checked against.
    pub(crate) registry: Arc<Registry>,
    /// What the server signs and issues, and for how long.
    pub(crate) issuance: Arc<Issuance>,
    /// The sign-in pages and the console's sessions.
    pub(crate) sign_in: SignIn,
    /// Bounds on what callers may send.
    pub(crate) limits: Limits,
    /// Owner approvals and the decision log.
    pub(crate) approvals: Approvals,
    /// Keycloak's paths served beside the spec's, and named by discovery.
    pub(crate) keycloak_paths: bool,
}

/// The realm named in `WWW-Authenticate` challenges.
pub(crate) const REALM: &str = "uma";

/// This server's issuer identifier (RFC 8414), the base of every endpoint's URL.
#[derive(Debug, Clone)]
pub(crate) struct Issuer(Arc<str>);

impl Issuer {
    pub(crate) fn new(issuer: String) -> Self {
        Self(issuer.into())
    }

    /// The URL of an endpoint of this server.
    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// The registered clients and users, and what presented secrets are compared with.
pub(crate) struct Registry {
    pub(crate) clients: HashMap<String, RegisteredClient>,
    pub(crate) users: HashMap<String, RegisteredUser>,
    /// Keys the digests of client secrets; never leaves this process.
    pub(crate) secret_key: SecretKey,
    /// What a secret presented for an unknown client is compared with.
    pub(crate) unknown_client_digest: SecretDigest,
}

/// Signing keys, token formats and lifetimes.
pub(crate) struct Issuance {
    pub(crate) keys: KeyRing,
    pub(crate) lifetimes: Lifetimes,
    pub(crate) rpt_format: RptFormat,
    pub(crate) rpt_refresh_tokens: bool,
    pub(crate) key_publication: Duration,
    pub(crate) key_rotation: Option<Duration>,
}

/// What signing in takes: the password grant's switch, the throttle, the bounded password checks
/// and sessions, and the two session cookies.
pub(crate) struct SignIn {
    pub(crate) password_grant: bool,
    /// Failed sign-ins, per account and per client.
    pub(crate) throttle: Throttle,
    /// Password checks running at once, off the async workers.
    pub(crate) password_checks: tokio::sync::Semaphore,
    pub(crate) sessions: SignInSessions,
    pub(crate) cookie: SessionCookie,
    /// The owner's console session cookie.
    pub(crate) console_cookie: SessionCookie,
}

/// Request bounds.
pub(crate) struct Limits {
    pub(crate) max_body_bytes: usize,
    pub(crate) connections: ConnectionLimits,
}

/// How owner approvals are polled and how long decisions are kept.
pub(crate) struct Approvals {
    pub(crate) poll_interval: Duration,
    pub(crate) decision_retention: Duration,
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Registry {
    pub(crate) fn is_user(&self, name: &str) -> bool {
        self.users.contains_key(name)
    }
}

// Handlers extract the parts they read (`State<Arc<dyn Store>>`, `State<Arc<Registry>>`, …), so
// a signature says what a handler depends on. Those that use most parts (the token endpoint,
// introspection, discovery, sign-in, the console) take the whole `AppState`.
macro_rules! substate {
    ($($part:ty => $field:ident),* $(,)?) => {$(
        impl FromRef<AppState> for $part {
            fn from_ref(state: &AppState) -> Self {
                state.$field.clone()
            }
        }
    )*};
}

substate! {
    Arc<dyn Store> => store,
    Issuer => issuer,
    Arc<Registry> => registry,
    Arc<Issuance> => issuance,
}

impl AppState {
    /// Issues and stores a credential (an access token or PAT, an authorization code, a console
    /// session), returning its value: the one place one is minted, whatever its kind. RPTs, whose
    /// storage depends on the policies they rely on, go through [`crate::rpt`].
    pub(crate) async fn issue_token(
        &self,
        kind: TokenKind,
        client_id: &str,
        subject: &str,
        lifetime: Duration,
    ) -> Result<(String, TokenRecord), crate::store::StoreError> {
        let record = TokenRecord::new(kind, client_id, subject, lifetime);
        // Keycloak's adapters read access tokens offline: in its realm mode they are JWTs (still
        // stored, so that revocation and introspection work as for any other).
        let token = match &record.kind {
            TokenKind::Access { scopes } if self.keycloak_paths => {
                crate::keycloak::access_token(self, &record, scopes)?
            }
            _ => secret::new_token(),
        };
        self.store
            .put_token(TokenHash::of(&token), record.clone())
            .await?;
        Ok((token, record))
    }
}
