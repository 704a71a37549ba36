//! The server's builder: every setting, checked when the server is built.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::error::Error;
use crate::keys::{KeyRing, SigningAlgorithm};
use crate::login::{SessionCookie, SignInSessions};
use crate::secret::{self, SecretKey};
use crate::serve::ConnectionLimits;
use crate::store::{MemoryStore, Policy, Resource, Store};
use crate::throttle::Throttle;
use crate::time::now;

use super::{
    AppState, Approvals, AuthorizationServer, ClientConfig, Inner, Issuance, Issuer, Lifetimes,
    Limits, RegisteredClient, RegisteredUser, Registry, RunningServer, SignIn, UserConfig,
};

/// How RPTs are issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RptFormat {
    /// A JWT signed with the server's key (see [`SigningAlgorithm`]), carrying Keycloak's
    /// `authorization.permissions`; resource servers can check it offline against the JWKS.
    #[default]
    Jwt,
    /// A random handle; resource servers must introspect it.
    Opaque,
}

/// Builds an [`AuthorizationServer`].
#[must_use]
pub struct AuthorizationServerBuilder {
    issuer: Option<String>,
    clients: Vec<ClientConfig>,
    users: Vec<UserConfig>,
    store: Option<Arc<dyn Store>>,
    lifetimes: Lifetimes,
    rpt_format: RptFormat,
    password_grant: bool,
    approval_poll_interval: Duration,
    decision_retention: Duration,
    max_body_bytes: usize,
    limits: ConnectionLimits,
    max_sign_in_sessions: usize,
    key_publication: Duration,
    key_rotation: Option<Duration>,
    maintenance_interval: Duration,
    rpt_refresh_tokens: bool,
    keycloak_realm: Option<String>,
    signing_algorithm: Option<SigningAlgorithm>,
    seed: (Vec<Resource>, Vec<Policy>),
}

impl std::fmt::Debug for AuthorizationServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationServerBuilder")
            .field("issuer", &self.issuer)
            .field("clients", &self.clients.len())
            .field("users", &self.users.len())
            .finish_non_exhaustive()
    }
}

impl AuthorizationServer {
    /// Starts a configuration: no clients, no users, in-memory storage, JWT RPTs, no password
    /// grant; tickets valid for 5 minutes, RPTs for 5 minutes, access tokens for an hour,
    /// refresh tokens for a day; request bodies up to 64 KiB.
    pub fn builder() -> AuthorizationServerBuilder {
        AuthorizationServerBuilder {
            issuer: None,
            clients: Vec::new(),
            users: Vec::new(),
            store: None,
            lifetimes: Lifetimes {
                ticket: Duration::from_secs(300),
                rpt: Duration::from_secs(300),
                access_token: Duration::from_secs(3600),
                refresh_token: Duration::from_secs(86_400),
                pct: Duration::from_secs(30 * 86_400),
            },
            rpt_format: RptFormat::Jwt,
            password_grant: false,
            approval_poll_interval: Duration::from_secs(5),
            decision_retention: Duration::from_secs(30 * 86_400),
            max_body_bytes: 64 * 1024,
            limits: ConnectionLimits::default(),
            max_sign_in_sessions: 10_000,
            key_publication: Duration::from_secs(120),
            key_rotation: None,
            maintenance_interval: Duration::from_secs(10),
            rpt_refresh_tokens: false,
            keycloak_realm: None,
            signing_algorithm: None,
            seed: (Vec::new(), Vec::new()),
        }
    }
}

impl AuthorizationServerBuilder {
    /// The issuer identifier (default for [`spawn`](Self::spawn): `http://{bound address}`).
    /// No trailing slash; the endpoints are served below its path.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Keycloak's realm mode: Keycloak's paths (`protocol/openid-connect/…`,
    /// `authz/protection/…`) beside the spec's, and discovery naming Keycloak's, so that
    /// clients and adapters written for Keycloak find their way. With [`spawn`](Self::spawn)
    /// the issuer is `http://{bound address}/realms/{realm}`, as Keycloak's would be.
    pub fn keycloak_realm(mut self, realm: impl Into<String>) -> Self {
        self.keycloak_realm = Some(realm.into());
        self
    }

    /// What tokens are signed with: [`SigningAlgorithm::EdDSA`] by default, `RS256` in
    /// Keycloak's realm mode (its adapters verify nothing else). Switching signs with a new key
    /// at once; the keys before it stay published while their tokens live.
    pub fn signing_algorithm(mut self, alg: SigningAlgorithm) -> Self {
        self.signing_algorithm = Some(alg);
        self
    }

    /// Resources and policies put into the store at start (a Keycloak realm export's, say),
    /// replacing those with the same ids. A policy that differs from the one stored under its
    /// id is a new revision of it: the RPTs the old one granted are revoked.
    pub fn seed(mut self, resources: Vec<Resource>, policies: Vec<Policy>) -> Self {
        self.seed.0.extend(resources);
        self.seed.1.extend(policies);
        self
    }

    /// Registers a client.
    pub fn client(mut self, client: ClientConfig) -> Self {
        self.clients.push(client);
        self
    }

    /// Adds a user: a resource owner or a requesting party.
    pub fn user(mut self, user: impl Into<UserConfig>) -> Self {
        self.users.push(user.into());
        self
    }

    /// Issues RPTs as signed JWTs (the default) or as opaque handles.
    pub fn rpt_format(mut self, format: RptFormat) -> Self {
        self.rpt_format = format;
        self
    }

    /// Enables the `password` grant for users with a password (default: off).
    pub fn password_grant(mut self, enabled: bool) -> Self {
        self.password_grant = enabled;
        self
    }

    /// How long a PCT stays usable (default 30 days): the longest the claims it stands for are
    /// trusted without being gathered again.
    pub fn pct_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetimes.pct = lifetime;
        self
    }

    /// The `interval` of a `request_submitted` answer: how long a client should wait between
    /// polls while the owner decides (default 5 s).
    pub fn approval_poll_interval(mut self, interval: Duration) -> Self {
        self.approval_poll_interval = interval;
        self
    }

    /// How long recorded decisions are kept for owners to read (default 30 days).
    pub fn decision_retention(mut self, retention: Duration) -> Self {
        self.decision_retention = retention;
        self
    }

    /// How long refresh tokens stay valid (default 1 day).
    pub fn refresh_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetimes.refresh_token = lifetime;
        self
    }

    /// Keeps state in this store (default: [`MemoryStore`]).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// How long a permission ticket stays redeemable (default 5 minutes).
    pub fn ticket_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetimes.ticket = lifetime;
        self
    }

    /// How long an RPT stays valid (default 5 minutes).
    pub fn rpt_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetimes.rpt = lifetime;
        self
    }

    /// How long PATs and other access tokens stay valid (default 1 hour).
    pub fn access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetimes.access_token = lifetime;
        self
    }

    /// The largest request body any endpoint reads (default 64 KiB).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// The most connections served at once (default 1,024); more wait in the listen backlog.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.limits.max_connections = connections;
        self
    }

    /// How long a client may take to send a request's headers, from their first byte (default
    /// 10 s); past it the connection is closed.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// How long a client may take to send a request's body (default 30 s); past it the answer
    /// is `408`.
    pub fn request_body_timeout(mut self, timeout: Duration) -> Self {
        self.limits.body_timeout = timeout;
        self
    }

    /// How long a connection may stay without a byte read or written before it is closed
    /// (default 60 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.idle_timeout = timeout;
        self
    }

    /// Whether the UMA grant answers with a refresh token beside the RPT (Grant §3.3.5 makes it
    /// optional; default off). Each is a row kept for the refresh token lifetime, so a busy
    /// server that does not need them stores much less; a client without one asks for a new
    /// RPT with a new ticket when its RPT expires.
    pub fn rpt_refresh_tokens(mut self, enabled: bool) -> Self {
        self.rpt_refresh_tokens = enabled;
        self
    }

    /// How long a new signing key is published in the JWKS before it signs (default 120 s):
    /// longer than verifiers cache the JWKS (the JWKS says `max-age=60`; the guard refetches at
    /// most every 30 s), so that none meets a token signed by a key it cannot know yet.
    pub fn signing_key_publication(mut self, ahead: Duration) -> Self {
        self.key_publication = ahead;
        self
    }

    /// Rotates the signing key automatically once it is `every` old (default: never, only
    /// [`rotate_signing_key`](AuthorizationServer::rotate_signing_key)). Replicas sharing a
    /// store rotate once between them.
    pub fn signing_key_rotation(mut self, every: Option<Duration>) -> Self {
        self.key_rotation = every.filter(|d| !d.is_zero());
        self
    }

    /// How often the background upkeep runs (default 10 s, at least 10 ms): key reloads and
    /// rotation, purges of expired tokens, tickets, decisions and requests. A key published by
    /// another replica is seen within this interval, so keep it well below
    /// [`signing_key_publication`](Self::signing_key_publication).
    pub fn maintenance_interval(mut self, every: Duration) -> Self {
        self.maintenance_interval = every.max(Duration::from_millis(10));
        self
    }

    /// The most sign-in pages in progress at once (default 10,000): each is kept until it is
    /// used or expires (10 minutes), and past the cap a new one is refused with `503`.
    pub fn max_sign_in_sessions(mut self, sessions: usize) -> Self {
        self.max_sign_in_sessions = sessions;
        self
    }

    /// Checks the configuration, opens the signing keys (making one at first start) and builds
    /// the server; the issuer must be set.
    pub async fn build(self) -> Result<AuthorizationServer, Error> {
        let issuer = self
            .issuer
            .clone()
            .ok_or_else(|| Error::Config("issuer is required".to_owned()))?;
        self.build_with_issuer(issuer).await
    }

    async fn build_with_issuer(self, issuer: String) -> Result<AuthorizationServer, Error> {
        if jsonwebtoken::crypto::CryptoProvider::try_get_default().is_none() {
            return Err(Error::Config(
                "jsonwebtoken has no crypto provider: enable exactly one of its backends"
                    .to_owned(),
            ));
        }
        let parsed = url::Url::parse(&issuer)
            .map_err(|e| Error::Config(format!("issuer {issuer:?} is not a URL: {e}")))?;
        if issuer.ends_with('/') || parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(Error::Config(format!(
                "issuer {issuer:?} must have no trailing slash, query or fragment"
            )));
        }
        let secret_key = SecretKey::random();
        let mut clients = HashMap::new();
        for client in self.clients {
            if client.client_id.is_empty() || client.client_secret.as_str().is_empty() {
                return Err(Error::Config(
                    "clients need a client_id and a client_secret".to_owned(),
                ));
            }
            let registered = RegisteredClient {
                secret_digest: secret_key.digest(client.client_secret.as_str()),
                grant_types: client.grant_types,
                scopes: client.scopes,
                claims_redirect_uris: client.claims_redirect_uris,
                redirect_uris: client.redirect_uris,
            };
            if clients
                .insert(client.client_id.clone(), registered)
                .is_some()
            {
                return Err(Error::Config(format!(
                    "client {:?} is configured twice",
                    client.client_id
                )));
            }
        }
        let mut users = HashMap::new();
        for user in self.users {
            if user.username.is_empty() {
                return Err(Error::Config("users need a username".to_owned()));
            }
            if clients.contains_key(&user.username) {
                return Err(Error::Config(format!(
                    "{:?} is both a user and a client",
                    user.username
                )));
            }
            let password_hash = user
                .password
                .map(|p| crate::password::hash(p.as_str()))
                .transpose()?;
            let registered = RegisteredUser {
                password_hash,
                groups: user.groups,
                claims: user.claims,
                roles: user.roles,
            };
            if users.insert(user.username.clone(), registered).is_some() {
                return Err(Error::Config(format!(
                    "user {:?} is configured twice",
                    user.username
                )));
            }
        }
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryStore::new()) as Arc<dyn Store>);
        let alg = self.signing_algorithm.unwrap_or(match self.keycloak_realm {
            Some(_) => SigningAlgorithm::RS256,
            None => SigningAlgorithm::EdDSA,
        });
        let keys = KeyRing::load_or_create(store.as_ref(), alg).await?;
        seed(store.as_ref(), self.seed).await?;
        // argon2 gets the cores but one, which stays with the async workers.
        let password_checks = std::thread::available_parallelism()
            .map_or(1, |cores| cores.get().saturating_sub(1).max(1));
        let cookie = SessionCookie::new(&issuer, "uma_login");
        let console_cookie = SessionCookie::new(&issuer, "uma_console");
        let state = AppState(Arc::new(Inner {
            issuer: Issuer::new(issuer),
            store,
            registry: Arc::new(Registry {
                clients,
                users,
                unknown_client_digest: secret_key.digest(&secret::new_token()),
                secret_key,
            }),
            issuance: Arc::new(Issuance {
                keys,
                lifetimes: self.lifetimes,
                rpt_format: self.rpt_format,
                rpt_refresh_tokens: self.rpt_refresh_tokens,
                key_publication: self.key_publication,
                key_rotation: self.key_rotation,
            }),
            sign_in: SignIn {
                password_grant: self.password_grant,
                throttle: Throttle::default(),
                password_checks: tokio::sync::Semaphore::new(password_checks),
                sessions: SignInSessions::new(self.max_sign_in_sessions),
                cookie,
                console_cookie,
            },
            limits: Limits {
                max_body_bytes: self.max_body_bytes,
                connections: self.limits,
            },
            approvals: Approvals {
                poll_interval: self.approval_poll_interval,
                decision_retention: self.decision_retention,
            },
            keycloak_paths: self.keycloak_realm.is_some(),
        }));
        tokio::spawn(crate::maintenance::run(
            Arc::downgrade(&state.0),
            self.maintenance_interval,
        ));
        Ok(AuthorizationServer { state })
    }

    /// Starts the server on an ephemeral port of `127.0.0.1` in a background task and returns a
    /// handle; dropping the handle shuts the server down.
    pub async fn spawn(self) -> Result<RunningServer, Error> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let issuer = self
            .issuer
            .clone()
            .unwrap_or_else(|| match &self.keycloak_realm {
                Some(realm) => format!("http://{addr}/realms/{realm}"),
                None => format!("http://{addr}"),
            });
        let server = self.build_with_issuer(issuer).await?;
        let handle = server.clone();
        let (shutdown, on_shutdown) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let stopped = async {
                let _ = on_shutdown.await;
            };
            if let Err(error) = server.serve(listener, stopped).await {
                tracing::error!(%error, "authorization server stopped");
            }
        });
        Ok(RunningServer {
            addr,
            server: handle,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }
}

/// Puts seeded resources and policies into the store (see [`AuthorizationServerBuilder::seed`]).
async fn seed(
    store: &dyn Store,
    (resources, policies): (Vec<Resource>, Vec<Policy>),
) -> Result<(), Error> {
    for resource in resources {
        store.put_resource(resource).await?;
    }
    for mut policy in policies {
        if let Some(stored) = store.policy(&policy.id).await? {
            let unchanged = Policy {
                revision: stored.revision,
                created_at: stored.created_at,
                ..policy.clone()
            } == stored;
            if unchanged {
                continue;
            }
            policy.revision = stored.revision.saturating_add(1);
            policy.created_at = stored.created_at;
            store.put_policy(policy).await?;
        } else {
            // Its id may be one deleted from the store since: a revision drawn at random, not
            // the seed's again, so that no token issued under the deleted policy, which names
            // its revision, reads as current under this one (`Store::token`).
            policy.revision = crate::secret::new_revision();
            policy.created_at = policy.created_at.or(Some(now()));
            store.put_policy(policy).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::TokenHash;
    use crate::store::{MemoryStore, PolicyRef, TokenRecord};

    /// A seeded policy deleted by its owner and seeded again at the next start is a new policy:
    /// what the deleted one granted stays revoked.
    #[tokio::test]
    async fn a_policy_seeded_again_after_its_deletion_revives_no_token() {
        let store = MemoryStore::new();
        let resource = Resource {
            id: "r1".into(),
            owner: "alice".into(),
            resource_server: "photoz".into(),
            description: uma_types::ResourceDescription::new(["view"]),
        };
        let policy = Policy::bob_may_view_r1();
        let seeds = || (vec![resource.clone()], vec![policy.clone()]);
        seed(&store, seeds()).await.unwrap();
        let seeded = store.policy("p1").await.unwrap().unwrap();
        let rpt = TokenRecord::rpt_relying_on(vec![PolicyRef::from(&seeded)], now() + 60);
        store.put_token(TokenHash::of("rpt"), rpt).await.unwrap();
        // Seeding again what is stored changes nothing.
        seed(&store, seeds()).await.unwrap();
        assert!(store.token(&TokenHash::of("rpt")).await.unwrap().is_some());
        assert!(store.delete_policy("p1").await.unwrap());
        assert!(store.token(&TokenHash::of("rpt")).await.unwrap().is_none());
        seed(&store, seeds()).await.unwrap();
        assert!(store.policy("p1").await.unwrap().is_some());
        assert!(store.token(&TokenHash::of("rpt")).await.unwrap().is_none());
    }
}
