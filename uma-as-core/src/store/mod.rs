//! Storage: the records the server keeps, and the [`Store`] trait behind which they live.
//!
//! Every method is one atomic operation on shared storage, so that several server processes can
//! share one database: nothing a decision depends on lives only in one process's memory.

mod compact;
pub(crate) use compact::granted_reason;
mod memory;
mod postgres;
mod sqlite;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod tests_console;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uma_types::{Permission, PermissionRequest, ResourceDescription};

pub use crate::keys::{SigningAlgorithm, SigningKey};
pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use crate::secret::TokenHash;

/// A registered resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// The `_id` assigned at registration.
    pub id: String,
    /// The resource owner (a username, or a client id for a resource server's own resources).
    pub owner: String,
    /// The client id of the resource server that registered it.
    pub resource_server: String,
    /// What was registered.
    pub description: ResourceDescription,
}

/// An owner's policy on one of their resources: it grants its scopes to a requesting party when
/// every condition it names holds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Policy {
    /// The policy's identifier.
    pub id: String,
    /// The resource it applies to.
    pub resource_id: String,
    /// The owner who set it.
    pub owner: String,
    /// A name for the owner's own use.
    pub name: Option<String>,
    /// A description for the owner's own use.
    pub description: Option<String>,
    /// The scopes it grants.
    pub scopes: Vec<String>,
    /// The party must be one of these users (or clients acting for themselves), if any are named.
    pub users: Vec<String>,
    /// The party must be in one of these groups, if any are named.
    pub groups: Vec<String>,
    /// The request must come through one of these clients, if any are named.
    pub clients: Vec<String>,
    /// The party must have each of these claims with exactly this value.
    pub claims: BTreeMap<String, String>,
    /// Not valid before, seconds since the epoch.
    pub not_before: Option<u64>,
    /// Not valid after, seconds since the epoch.
    pub not_after: Option<u64>,
    /// Counts the changes made to the policy: an RPT records the revision it relied on, so that
    /// one issued while the policy changes is never stored, and one stored reads as revoked once
    /// the policy changes ([`Store::token`], TM-13). So every change stores a new revision, and a
    /// policy stored again under an id deleted before must not take a revision that id has had
    /// (the seeding at start draws one at random), or the deleted policy's tokens would read as
    /// valid again.
    #[serde(default)]
    pub revision: u64,
    /// When it was made, seconds since the epoch (unknown for policies made before this was
    /// kept): the console names a share by its day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<u64>,
}

/// A policy as an RPT relies on it: its id, and the revision that granted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "PolicyRefForm")]
pub struct PolicyRef {
    /// The policy's id.
    pub id: String,
    /// Its revision when it granted.
    pub revision: u64,
}

impl From<&Policy> for PolicyRef {
    fn from(policy: &Policy) -> Self {
        Self {
            id: policy.id.clone(),
            revision: policy.revision,
        }
    }
}

/// Records written before policies had revisions name a policy by its id alone.
#[derive(Deserialize)]
#[serde(untagged)]
enum PolicyRefForm {
    Id(String),
    Ref { id: String, revision: u64 },
}

impl From<PolicyRefForm> for PolicyRef {
    fn from(form: PolicyRefForm) -> Self {
        match form {
            PolicyRefForm::Id(id) => Self { id, revision: 0 },
            PolicyRefForm::Ref { id, revision } => Self { id, revision },
        }
    }
}

/// A permission ticket: the permissions a resource server asked for, bound to that resource
/// server and the resources' owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// The requested permissions.
    pub permissions: Vec<PermissionRequest>,
    /// The owner of every resource in it.
    pub owner: String,
    /// The client id of the resource server that asked for it.
    pub resource_server: String,
    /// Expiry, seconds since the epoch.
    pub expires_at: u64,
    /// The requesting party identified by interactive claims gathering, and the client the
    /// gathering was for: only that client's redemption of this ticket counts them.
    #[serde(default)]
    pub gathered: Option<Gathered>,
}

/// Who signed in at the claims interaction endpoint, for which client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gathered {
    /// The user who signed in.
    pub party: String,
    /// The client that sent them.
    pub client_id: String,
}

/// What an issued token is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenKind {
    /// An OAuth access token with scopes: a PAT has `uma_protection`.
    #[serde(rename = "A", alias = "Access")]
    Access {
        /// The granted scopes.
        scopes: Vec<String>,
    },
    /// A sign-in page in progress (claims gathering or authorization), keyed by the hash of the
    /// session id in the browser's cookie.
    Login(LoginSession),
    /// An authorization code (RFC 6749 §4.1), bound to its client, redirect URI and PKCE
    /// challenge; single-use.
    AuthorizationCode {
        /// Where the code was sent.
        redirect_uri: String,
        /// The granted scopes.
        scopes: Vec<String>,
        /// The S256 PKCE challenge (RFC 7636).
        code_challenge: String,
        /// The client's `nonce`, for the ID token (OIDC Core §3.1.2.1).
        #[serde(default)]
        nonce: Option<String>,
    },
    /// A persisted claims token (Grant §1.3): a random handle standing for the claims gathered
    /// about `subject` (the token record's), usable only by the client it was issued to.
    #[serde(rename = "P", alias = "Pct")]
    Pct,
    /// A refresh token for an access token with these scopes (RFC 6749 §6).
    Refresh {
        /// The scopes of the access tokens it refreshes to.
        scopes: Vec<String>,
    },
    /// A refresh token for an RPT (Grant §3.6): it refreshes to the same permissions, without a
    /// new assessment.
    #[serde(rename = "F", alias = "RptRefresh")]
    RptRefresh {
        /// The permissions it refreshes to.
        #[serde(rename = "p", alias = "permissions", with = "compact::permissions")]
        permissions: Vec<Permission>,
        /// The client id of the resource server the permissions are for.
        #[serde(rename = "rs", alias = "resource_server")]
        resource_server: String,
        /// The owner of the resources.
        #[serde(rename = "o", alias = "owner")]
        owner: String,
        /// The policies that granted it: changing or deleting one revokes it.
        #[serde(rename = "y", alias = "policies")]
        policies: Vec<PolicyRef>,
    },
    /// A session of the owner's console, for `subject`, after a sign-in: keyed by the hash of
    /// the id in the console's cookie.
    #[serde(rename = "C")]
    Console {
        /// The CSRF token every form of the session must send back.
        csrf: String,
    },
    /// A requesting party token.
    #[serde(rename = "R", alias = "Rpt")]
    Rpt {
        /// The granted permissions.
        #[serde(rename = "p", alias = "permissions", with = "compact::permissions")]
        permissions: Vec<Permission>,
        /// The client id of the resource server the permissions are for.
        #[serde(rename = "rs", alias = "resource_server")]
        resource_server: String,
        /// The owner of the resources.
        #[serde(rename = "o", alias = "owner")]
        owner: String,
        /// The policies that granted it: changing or deleting one revokes it.
        #[serde(default, rename = "y", alias = "policies")]
        policies: Vec<PolicyRef>,
    },
}

impl TokenKind {
    /// The policies an RPT or its refresh token relies on.
    pub fn policies(&self) -> &[PolicyRef] {
        match self {
            Self::Rpt { policies, .. } | Self::RptRefresh { policies, .. } => policies,
            _ => &[],
        }
    }
}

#[cfg(test)]
impl Decision {
    /// For tests: `owner`'s decision `id` at `at`, denying bob's client `app` a view of
    /// `resource`.
    pub(crate) fn denied(id: &str, owner: &str, at: u64, resource: &str) -> Self {
        Self {
            id: id.into(),
            at,
            owner: owner.into(),
            party: "bob".into(),
            client_id: "app".into(),
            requested: vec![PermissionRequest::new(resource, ["view"])],
            granted: vec![],
            outcome: "request_denied".into(),
            policies: vec![],
            reason: None,
        }
    }
}

#[cfg(test)]
impl Policy {
    /// For tests: alice's policy `p1` letting bob view her resource `r1`.
    pub(crate) fn bob_may_view_r1() -> Self {
        Self {
            id: "p1".into(),
            resource_id: "r1".into(),
            owner: "alice".into(),
            scopes: vec!["view".into()],
            users: vec!["bob".into()],
            ..Self::default()
        }
    }
}

#[cfg(test)]
impl TokenRecord {
    /// For tests: an RPT of bob's, through `app`, to alice's resources on `photoz`, relying on
    /// `policies`.
    pub(crate) fn rpt_relying_on(policies: Vec<PolicyRef>, expires_at: u64) -> Self {
        Self {
            kind: TokenKind::Rpt {
                permissions: vec![],
                resource_server: "photoz".into(),
                owner: "alice".into(),
                policies,
            },
            client_id: "app".into(),
            subject: "bob".into(),
            issued_at: 1,
            expires_at,
        }
    }
}

/// An issued token, stored under the hash of its value (in a compact form: short keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// What it is.
    #[serde(rename = "k", alias = "kind")]
    pub kind: TokenKind,
    /// The client it was issued to.
    #[serde(rename = "c", alias = "client_id")]
    pub client_id: String,
    /// Whom it represents: a user, or the client itself.
    #[serde(rename = "s", alias = "subject")]
    pub subject: String,
    /// Issued at, seconds since the epoch.
    #[serde(rename = "i", alias = "issued_at")]
    pub issued_at: u64,
    /// Expires at, seconds since the epoch.
    #[serde(rename = "e", alias = "expires_at")]
    pub expires_at: u64,
}

impl TokenRecord {
    /// A record of `kind` issued now to `client_id` for `subject`, expiring after `lifetime`.
    pub fn new(
        kind: TokenKind,
        client_id: impl Into<String>,
        subject: impl Into<String>,
        lifetime: std::time::Duration,
    ) -> Self {
        let issued_at = crate::time::now();
        Self {
            kind,
            client_id: client_id.into(),
            subject: subject.into(),
            issued_at,
            expires_at: issued_at.saturating_add(lifetime.as_secs()),
        }
    }
}

/// A request that no policy granted, put to the resource owner (owner-managed access).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRequest {
    /// The request's identifier.
    pub id: String,
    /// The owner who decides.
    pub owner: String,
    /// The resource asked for.
    pub resource_id: String,
    /// The requesting party.
    pub party: String,
    /// The client it asked through.
    pub client_id: String,
    /// The scopes asked for, sorted: with `resource_id`, `party` and `client_id`, what makes
    /// requests the same.
    pub scopes: Vec<String>,
    /// Where the decision stands.
    pub status: RequestStatus,
    /// When it was first asked, seconds since the epoch.
    pub created_at: u64,
}

/// The owner's decision on a [`PendingRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestStatus {
    /// Not decided yet.
    Pending,
    /// Approved; a policy now grants what was approved.
    Approved,
    /// Denied.
    Denied,
}

/// What a sign-in page is for, and its CSRF token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginSession {
    /// The CSRF token the page's form must send back.
    pub csrf: String,
    /// Where to send the browser afterwards.
    pub redirect_uri: String,
    /// The client's `state`, returned as is.
    pub state: Option<String>,
    /// Claims gathering or authorization.
    pub purpose: LoginPurpose,
    /// Wrong passwords entered so far.
    #[serde(default)]
    pub failures: u32,
}

/// Why a user signs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoginPurpose {
    /// Claims gathering (Grant §3.3.2) for the permissions of a presented, now spent, ticket.
    Claims {
        /// The permissions of the presented ticket.
        permissions: Vec<PermissionRequest>,
        /// Their owner.
        owner: String,
        /// Their resource server.
        resource_server: String,
    },
    /// A session of the owner's console, at `redirect_uri`.
    Console,
    /// The authorization code grant (RFC 6749 §4.1) with PKCE.
    Authorize {
        /// The scopes asked for.
        scopes: Vec<String>,
        /// The S256 PKCE challenge.
        code_challenge: String,
        /// The client's `nonce`, for the ID token.
        #[serde(default)]
        nonce: Option<String>,
    },
}

/// What [`Store::put_rpt`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RptStored {
    /// Stored, with its refresh token and decision; the ticket it redeems is spent.
    Stored,
    /// Nothing stored: a policy the RPT relies on changed or went since it was read.
    PolicyChanged,
    /// Nothing stored: the ticket it redeems is spent already (or gone).
    TicketSpent,
}

/// One decision of the token endpoint on a ticket, kept for the resource owner to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The decision's identifier.
    #[serde(rename = "d", alias = "id")]
    pub id: String,
    /// When, seconds since the epoch.
    #[serde(rename = "t", alias = "at")]
    pub at: u64,
    /// The owner of the resources.
    #[serde(rename = "o", alias = "owner")]
    pub owner: String,
    /// The requesting party.
    #[serde(rename = "p", alias = "party")]
    pub party: String,
    /// The client.
    #[serde(rename = "c", alias = "client_id")]
    pub client_id: String,
    /// What the ticket asked for.
    #[serde(rename = "q", alias = "requested")]
    pub requested: Vec<PermissionRequest>,
    /// What was granted (empty unless the outcome is `granted`).
    #[serde(rename = "g", alias = "granted", with = "compact::permissions")]
    pub granted: Vec<Permission>,
    /// `granted`, or the error code answered (`request_denied`, `need_info`, …).
    #[serde(rename = "x", alias = "outcome")]
    pub outcome: String,
    /// The policies that granted it.
    #[serde(rename = "y", alias = "policies")]
    pub policies: Vec<String>,
    /// Why, in words: what was missing, or what made it pass.
    #[serde(rename = "w", alias = "reason")]
    pub reason: Option<String>,
}

/// Who a policy names, as the stores index it: `u:` a user, `g:` a group.
fn grantees(user: &str, groups: &[String]) -> Vec<String> {
    std::iter::once(format!("u:{user}"))
        .chain(groups.iter().map(|g| format!("g:{g}")))
        .collect()
}

/// Where a page of decisions starts, newest first: at `at` or before, past the first `skip` of
/// those made at exactly `at` (which the page before showed). A time and not an id, so that every
/// store pages through its time index, and decisions of one second are never lost between pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecisionCursor {
    /// The newest time of the page, seconds since the epoch.
    pub at: u64,
    /// How many decisions made at exactly `at` to pass over.
    pub skip: u64,
}

impl DecisionCursor {
    /// Where the page after `page` starts, `page` having started at `from` (`None` when `page`
    /// is empty).
    pub fn next(from: Option<Self>, page: &[Decision]) -> Option<Self> {
        let last = page.last()?.at;
        let shown = page.iter().rev().take_while(|d| d.at == last).count() as u64;
        // A page all of one second follows the pages before it through that second.
        let before = from.filter(|f| f.at == last).map_or(0, |f| f.skip);
        Some(Self {
            at: last,
            skip: before.saturating_add(shown),
        })
    }
}

/// A storage failure. The server answers `503 temporarily_unavailable` when the storage cannot
/// be reached (it may come back: a database restarting, a pool exhausted past its timeout), and
/// `500 server_error` otherwise; it changes nothing else.
#[derive(Debug, thiserror::Error)]
#[error("storage failed: {message}")]
pub struct StoreError {
    message: String,
    unavailable: bool,
}

impl StoreError {
    /// A failure of the storage itself or of a record in it.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            unavailable: false,
        }
    }

    /// The storage cannot be reached now; retrying later may succeed.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            unavailable: true,
        }
    }

    /// Whether the storage could not be reached (rather than failing or holding a bad record).
    pub fn is_unavailable(&self) -> bool {
        self.unavailable
    }
}

/// Where the server keeps its state.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Inserts a resource, or replaces the one with the same id.
    async fn put_resource(&self, resource: Resource) -> Result<(), StoreError>;
    /// The resource with this id.
    async fn resource(&self, id: &str) -> Result<Option<Resource>, StoreError>;
    /// Deletes a resource and its policies; `false` if there was none.
    async fn delete_resource(&self, id: &str) -> Result<bool, StoreError>;
    /// The resources a resource server registered, for one owner or for all, ordered by id,
    /// starting after the id `after`, at most `limit`.
    async fn resources(
        &self,
        resource_server: &str,
        owner: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError>;

    /// A resource server's resources named `name`, at most two (two say the name is ambiguous).
    async fn resources_named(
        &self,
        resource_server: &str,
        name: &str,
    ) -> Result<Vec<Resource>, StoreError>;
    /// An owner's resources on every resource server, ordered by resource server then id,
    /// starting after `after` (a resource server and an id), at most `limit`.
    async fn resources_of(
        &self,
        owner: &str,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError>;

    /// Inserts a policy, or replaces the one with the same id.
    async fn put_policy(&self, policy: Policy) -> Result<(), StoreError>;
    /// The policy with this id.
    async fn policy(&self, id: &str) -> Result<Option<Policy>, StoreError>;
    /// Deletes a policy; `false` if there was none.
    async fn delete_policy(&self, id: &str) -> Result<bool, StoreError>;
    /// The policies on a resource.
    async fn policies_for(&self, resource_id: &str) -> Result<Vec<Policy>, StoreError>;
    /// The policies of other owners than `user` that name `user` or one of `groups`: what is
    /// shared with them. Ordered by id, starting after `after`, at most `limit`.
    async fn policies_naming(
        &self,
        user: &str,
        groups: &[String],
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Policy>, StoreError>;

    /// Stores a new ticket.
    async fn put_ticket(&self, hash: TokenHash, ticket: Ticket) -> Result<(), StoreError>;
    /// Removes and returns a ticket in one atomic step, so that of any number of concurrent
    /// redemptions exactly one gets it (Grant §5.5: tickets are single-use).
    async fn take_ticket(&self, hash: &TokenHash) -> Result<Option<Ticket>, StoreError>;
    /// The ticket with this hash, expired or not, left in place: a grant reads it, and spends it
    /// with the RPT it issues ([`Store::put_rpt`]) or, answering otherwise, by taking it.
    async fn ticket(&self, hash: &TokenHash) -> Result<Option<Ticket>, StoreError>;

    /// Stores a token, replacing the one with the same hash (a sign-in session counting its
    /// failures).
    async fn put_token(&self, hash: TokenHash, token: TokenRecord) -> Result<(), StoreError>;
    /// The token with this hash as stored, expired or not, whatever has become of the policies
    /// it relies on: [`Store::token`] is the one to read a token with.
    async fn stored_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError>;
    /// The token with this hash, expired or not — unless it relies on a policy that has changed
    /// or gone since it was issued (an RPT or its refresh token): such a token is revoked and
    /// reads as absent, from the moment the policy's change is stored (TM-13). Checked here,
    /// when a token is read, rather than by deleting tokens when a policy changes: no grant has
    /// to write a link from each policy to its tokens (a page of its own in an index keyed by
    /// policy, on every grant), and no crash between a policy's change and its revocation can
    /// leave a token standing.
    async fn token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let Some(token) = self.stored_token(hash).await? else {
            return Ok(None);
        };
        for relied in token.kind.policies() {
            match self.policy(&relied.id).await? {
                Some(policy) if policy.revision == relied.revision => {}
                _ => return Ok(None),
            }
        }
        Ok(Some(token))
    }
    /// Stores an RPT (and its refresh token, and the decision that granted it) and spends the
    /// ticket it redeems, if any, all in one atomic step, and only if every policy it relies on is
    /// still at the revision relied on and the ticket is still unspent; otherwise stores and
    /// spends nothing, and says which. With [`Store::token`] refusing tokens whose policies
    /// changed, no RPT issued on a policy's old terms outlives the change (TM-13); of concurrent
    /// redemptions of one ticket, on any replicas, at most one stores an RPT (Grant §5.5); and no
    /// RPT is stored without the decision the owner reads about it.
    async fn put_rpt(
        &self,
        rpt: (TokenHash, TokenRecord),
        refresh: Option<(TokenHash, TokenRecord)>,
        decision: Option<Decision>,
        ticket: Option<&TokenHash>,
    ) -> Result<RptStored, StoreError>;
    /// Deletes a token (revocation); `false` if there was none.
    async fn delete_token(&self, hash: &TokenHash) -> Result<bool, StoreError>;

    /// Stores `request` unless one for the same resource, party, client and scopes exists; returns the
    /// one stored, so that repeated requests coalesce into one (atomically, across replicas).
    async fn put_request_if_absent(
        &self,
        request: PendingRequest,
    ) -> Result<PendingRequest, StoreError>;
    /// Records the owner's answer to a request: stores `request` (with its new status) only if
    /// the stored one is still pending, atomically; `false` when it was answered already (or is
    /// gone), so that of two answers at once, on any replicas, exactly one counts.
    async fn decide_request(&self, request: PendingRequest) -> Result<bool, StoreError>;
    /// The request with this id.
    async fn request(&self, id: &str) -> Result<Option<PendingRequest>, StoreError>;
    /// The requests put to an owner, oldest first.
    async fn requests_of(&self, owner: &str) -> Result<Vec<PendingRequest>, StoreError>;

    /// Records a decision.
    async fn put_decision(&self, decision: Decision) -> Result<(), StoreError>;
    /// An owner's decisions, newest first, only about `resource` if given, from `from` on (the
    /// newest when `None`), at most `limit`.
    async fn decisions_of(
        &self,
        owner: &str,
        resource: Option<&str>,
        from: Option<DecisionCursor>,
        limit: usize,
    ) -> Result<Vec<Decision>, StoreError>;
    /// Deletes what is no longer needed, at most `batch` rows of each kind, through indexes:
    /// tickets and tokens expired by `now`, decisions and pending requests from before
    /// `kept_since`. Returns how many rows went; the server's maintenance task calls it again
    /// while that is not zero, off the request path.
    async fn purge(&self, now: u64, kept_since: u64, batch: usize) -> Result<u64, StoreError>;

    /// Inserts a signing key, or replaces the one with the same `kid`.
    async fn put_signing_key(&self, key: SigningKey) -> Result<(), StoreError>;
    /// Inserts a new signing key unless one was made after `unless_made_after` (seconds since
    /// the epoch), atomically, so that of replicas rotating at once one key is made; `false` when
    /// another key came first.
    async fn add_signing_key(
        &self,
        key: SigningKey,
        unless_made_after: u64,
    ) -> Result<bool, StoreError>;
    /// Every signing key, retired ones included.
    async fn signing_keys(&self) -> Result<Vec<SigningKey>, StoreError>;
    /// Deletes these signing keys (ones no live token can need); returns how many.
    async fn delete_signing_keys(&self, kids: &[String]) -> Result<u64, StoreError>;
}
