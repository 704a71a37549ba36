//! The clients and users a server is configured with, and what it keeps of them.

use std::collections::BTreeMap;

use uma_types::{ClientSecret, UMA_TICKET_GRANT_TYPE};

use crate::secret::SecretDigest;

/// A client registered at the server: a resource server, or a client of requesting parties.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub(crate) client_id: String,
    pub(crate) client_secret: ClientSecret,
    pub(crate) grant_types: Vec<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) claims_redirect_uris: Vec<String>,
    pub(crate) redirect_uris: Vec<String>,
}

impl ClientConfig {
    /// A confidential client allowed every grant this server supports.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<ClientSecret>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            grant_types: [
                "authorization_code",
                "client_credentials",
                "password",
                "refresh_token",
                UMA_TICKET_GRANT_TYPE,
            ]
            .map(str::to_owned)
            .to_vec(),
            scopes: Vec::new(),
            claims_redirect_uris: Vec::new(),
            redirect_uris: Vec::new(),
        }
    }

    /// Where claims gathering may send requesting parties back to (Grant §3.3.2); matched
    /// exactly. A client with none registered cannot use the claims interaction endpoint.
    pub fn claims_redirect_uris<S: Into<String>>(
        mut self,
        uris: impl IntoIterator<Item = S>,
    ) -> Self {
        self.claims_redirect_uris = uris.into_iter().map(Into::into).collect();
        self
    }

    /// Where the authorization endpoint may send authorization codes (RFC 6749 §3.1.2);
    /// matched exactly.
    pub fn redirect_uris<S: Into<String>>(mut self, uris: impl IntoIterator<Item = S>) -> Self {
        self.redirect_uris = uris.into_iter().map(Into::into).collect();
        self
    }

    /// Limits the client to these grant types.
    pub fn grant_types<S: Into<String>>(
        mut self,
        grant_types: impl IntoIterator<Item = S>,
    ) -> Self {
        self.grant_types = grant_types.into_iter().map(Into::into).collect();
        self
    }

    /// The scopes the client is pre-registered for: the `RegisteredScopes` of Grant §3.3.4, which
    /// a `scope` parameter of an UMA grant request may add to a ticket's.
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
}

/// A user: a resource owner or a requesting party.
#[derive(Debug, Clone)]
pub struct UserConfig {
    pub(crate) username: String,
    pub(crate) password: Option<ClientSecret>,
    pub(crate) groups: Vec<String>,
    pub(crate) claims: BTreeMap<String, String>,
    pub(crate) roles: Roles,
}

/// Keycloak's roles of a user: carried in access tokens in its realm mode (`realm_access`,
/// `resource_access`) for adapters that check them; no policy here reads them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Roles {
    pub(crate) realm: Vec<String>,
    pub(crate) clients: BTreeMap<String, Vec<String>>,
}

impl UserConfig {
    /// A user with no password (so no password grant: a sign-in elsewhere, or, with the
    /// `testing` feature, a token minted by `AuthorizationServer::access_token`), no groups and
    /// no claims.
    pub fn new(username: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: None,
            groups: Vec::new(),
            claims: BTreeMap::new(),
            roles: Roles::default(),
        }
    }

    /// Keycloak's realm roles of the user, in her access tokens in the realm mode
    /// (`realm_access.roles`), which Keycloak's adapters check (`keycloak.protect('realm:admin')`).
    pub fn realm_roles<S: Into<String>>(mut self, roles: impl IntoIterator<Item = S>) -> Self {
        self.roles.realm = roles.into_iter().map(Into::into).collect();
        self
    }

    /// Keycloak's roles of the user at a client, in her access tokens in the realm mode
    /// (`resource_access.{client}.roles`).
    pub fn client_roles<S: Into<String>>(
        mut self,
        client_id: impl Into<String>,
        roles: impl IntoIterator<Item = S>,
    ) -> Self {
        let roles = roles.into_iter().map(Into::into).collect();
        self.roles.clients.insert(client_id.into(), roles);
        self
    }

    /// The password for the `password` grant; kept only as an argon2id hash.
    pub fn password(mut self, password: impl Into<ClientSecret>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// The groups the user is in, for policies that name groups.
    pub fn groups<S: Into<String>>(mut self, groups: impl IntoIterator<Item = S>) -> Self {
        self.groups = groups.into_iter().map(Into::into).collect();
        self
    }

    /// A claim about the user (such as `email`), for policies that name claims and ID tokens.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }
}

impl From<&str> for UserConfig {
    fn from(username: &str) -> Self {
        Self::new(username)
    }
}

impl From<String> for UserConfig {
    fn from(username: String) -> Self {
        Self::new(username)
    }
}

/// What the server keeps of a user: the password only as an argon2id hash.
#[derive(Debug)]
pub(crate) struct RegisteredUser {
    pub(crate) password_hash: Option<String>,
    pub(crate) groups: Vec<String>,
    pub(crate) claims: BTreeMap<String, String>,
    pub(crate) roles: Roles,
}

/// What the server keeps of a client: the secret only as a keyed digest.
#[derive(Debug)]
pub(crate) struct RegisteredClient {
    pub(crate) secret_digest: SecretDigest,
    pub(crate) grant_types: Vec<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) claims_redirect_uris: Vec<String>,
    pub(crate) redirect_uris: Vec<String>,
}
