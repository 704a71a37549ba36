//! The TOML configuration of the `uma-as` binary, and its translation to a server builder.
//!
//! ```
//! let config = uma_as_core::config::Config::from_toml(r#"
//!     listen = "127.0.0.1:9000"
//!     storage = "memory"
//!     password_grant = true
//!
//!     [[clients]]
//!     client_id = "photoz"
//!     client_secret = "photoz-secret"
//!
//!     [[users]]
//!     username = "alice"
//!     password = "alice-password"
//!     groups = ["family"]
//!     claims = { email = "alice@example.com" }
//! "#).unwrap();
//! assert_eq!(config.issuer(), "http://127.0.0.1:9000");
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::error::Error;
use crate::server::{
    AuthorizationServer, AuthorizationServerBuilder, ClientConfig, RptFormat, UserConfig,
};
use crate::store::{MemoryStore, PostgresStore, SigningAlgorithm, SqliteStore, Store};

/// Where the server keeps its state: `memory`, `sqlite:PATH`, or a PostgreSQL URL
/// (`postgres://user:password@host:port/database`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Storage {
    /// In this process only; gone at exit.
    Memory,
    /// One SQLite file, for one process.
    Sqlite(PathBuf),
    /// A PostgreSQL database, which several `uma-as` processes may share.
    Postgres(DatabaseUrl),
}

/// A database URL. Its `Debug` form hides the password, so that logging a configuration does
/// not leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The URL, password included.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match url::Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                // Cannot fail: the URL has a password, so it has a host.
                let _ = url.set_password(Some("***"));
                write!(f, "{:?}", url.as_str())
            }
            Ok(url) => write!(f, "{:?}", url.as_str()),
            Err(_) => f.write_str("\"<unparsable URL>\""),
        }
    }
}

impl std::str::FromStr for Storage {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        match value.split_once(':') {
            _ if value == "memory" => Ok(Self::Memory),
            Some(("sqlite", path)) if !path.is_empty() => Ok(Self::Sqlite(path.into())),
            Some(("postgres" | "postgresql", _)) => {
                value
                    .parse::<sqlx::postgres::PgConnectOptions>()
                    .map_err(|e| format!("storage: invalid PostgreSQL URL: {e}"))?;
                Ok(Self::Postgres(DatabaseUrl(value.to_owned())))
            }
            _ => Err(format!(
                "storage {:?} is neither \"memory\", \"sqlite:PATH\" nor \"postgres://…\"",
                DatabaseUrl(value.to_owned())
            )),
        }
    }
}

impl<'de> Deserialize<'de> for Storage {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl Storage {
    /// Opens the store. A PostgreSQL store answers that the database is unavailable when an
    /// operation (waiting for a connection included) takes longer than `timeout`.
    pub async fn open(&self, timeout: Duration) -> Result<Arc<dyn Store>, Error> {
        Ok(match self {
            Self::Memory => Arc::new(MemoryStore::new()),
            Self::Sqlite(path) => Arc::new(SqliteStore::open(path).await?),
            Self::Postgres(url) => Arc::new(
                PostgresStore::connect_with(
                    url.as_str(),
                    PostgresStore::DEFAULT_CONNECTIONS,
                    timeout,
                )
                .await?,
            ),
        })
    }
}

/// The configuration file. Unknown keys are errors, so that a typo is not silently ignored.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The issuer identifier (default `http://{listen}`).
    #[serde(default)]
    pub issuer: Option<String>,
    /// The address to listen on (default `127.0.0.1:8080`).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Where state is kept (default `sqlite:./uma-as.db`).
    #[serde(default = "default_storage")]
    pub storage: Storage,
    /// Whether the `password` grant is enabled (default `false`).
    #[serde(default)]
    pub password_grant: bool,
    /// `jwt` (default) or `opaque`.
    #[serde(default)]
    pub rpt_format: RptFormatName,
    /// Seconds a permission ticket stays redeemable (default 300).
    #[serde(default = "default_ticket_lifetime")]
    pub ticket_lifetime: u64,
    /// Seconds an RPT stays valid (default 300).
    #[serde(default = "default_rpt_lifetime")]
    pub rpt_lifetime: u64,
    /// Seconds an access token or PAT stays valid (default 3600).
    #[serde(default = "default_access_token_lifetime")]
    pub access_token_lifetime: u64,
    /// Seconds a refresh token stays valid (default 86400).
    #[serde(default = "default_refresh_token_lifetime")]
    pub refresh_token_lifetime: u64,
    /// Seconds a PCT stays usable (default 2592000, 30 days).
    #[serde(default = "default_pct_lifetime")]
    pub pct_lifetime: u64,
    /// Seconds a client should wait between polls while an owner decides (default 5).
    #[serde(default = "default_approval_poll_interval")]
    pub approval_poll_interval: u64,
    /// Seconds recorded decisions are kept for owners to read (default 2592000, 30 days).
    #[serde(default = "default_decision_retention")]
    pub decision_retention: u64,
    /// The largest request body read, in bytes (default 65536).
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Connections served at once (default 1024); more wait in the listen backlog.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Seconds a client may take to send a request's headers (default 10).
    #[serde(default = "default_header_read_timeout")]
    pub header_read_timeout: u64,
    /// Seconds a client may take to send a request's body (default 30).
    #[serde(default = "default_request_body_timeout")]
    pub request_body_timeout: u64,
    /// Seconds a connection may stay silent before it is closed (default 60).
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: u64,
    /// Sign-in pages in progress at once (default 10000).
    #[serde(default = "default_max_sign_in_sessions")]
    pub max_sign_in_sessions: usize,
    /// Whether the UMA grant answers with an RPT refresh token too (default false).
    #[serde(default)]
    pub rpt_refresh_tokens: bool,
    /// Seconds a storage operation may take before the server answers `503` (default 5).
    #[serde(default = "default_storage_timeout")]
    pub storage_timeout: u64,
    /// Seconds a new signing key is published before it signs (default 120).
    #[serde(default = "default_signing_key_publication")]
    pub signing_key_publication: u64,
    /// Seconds after which the signing key is rotated automatically; 0, the default, never.
    #[serde(default)]
    pub signing_key_rotation: u64,
    /// `EdDSA` or `RS256` (default `EdDSA`, and `RS256` in Keycloak's realm mode).
    #[serde(default)]
    pub signing_algorithm: Option<SigningAlgorithm>,
    /// Seconds between two rounds of background upkeep: key reloads, purges (default 10).
    #[serde(default = "default_maintenance_interval")]
    pub maintenance_interval: u64,
    /// The clients.
    #[serde(default)]
    pub clients: Vec<ClientEntry>,
    /// The users.
    #[serde(default)]
    pub users: Vec<UserEntry>,
    /// Keycloak's realm mode, in a `[keycloak]` table: `realm = "photoz"`.
    #[serde(default)]
    pub keycloak: Option<KeycloakEntry>,
}

/// The `[keycloak]` table: Keycloak's paths under `/realms/{realm}` beside the spec's.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeycloakEntry {
    /// The realm's name: the issuer defaults to `http://{listen}/realms/{realm}`.
    pub realm: String,
    /// A Keycloak realm export to read at start: its clients and users beside the ones
    /// configured here (these win on a clash), its resources and policies into the store
    /// (replacing their earlier import). What it holds that cannot be imported is logged as one
    /// warning.
    #[serde(default)]
    pub import: Option<PathBuf>,
}

/// `rpt_format`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RptFormatName {
    /// Signed JWTs.
    #[default]
    Jwt,
    /// Random handles.
    Opaque,
}

/// One `[[clients]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientEntry {
    /// The client identifier.
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
    /// The grant types it may use (default: all).
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    /// Scopes it is pre-registered for (Grant §3.3.4 `RegisteredScopes`).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Where claims gathering may send requesting parties back to (Grant §3.3.2).
    #[serde(default)]
    pub claims_redirect_uris: Vec<String>,
    /// Where the authorization endpoint may send codes (RFC 6749 §3.1.2).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

/// One `[[users]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    /// The username.
    pub username: String,
    /// The password, for the `password` grant.
    #[serde(default)]
    pub password: Option<String>,
    /// Groups, for policies.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Claims, for policies and ID tokens.
    #[serde(default)]
    pub claims: BTreeMap<String, String>,
    /// Keycloak's realm roles, in access tokens in the realm mode (`realm_access`).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Keycloak's client roles by client id, in access tokens in the realm mode
    /// (`resource_access`).
    #[serde(default)]
    pub client_roles: BTreeMap<String, Vec<String>>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_storage() -> Storage {
    Storage::Sqlite("./uma-as.db".into())
}
fn default_ticket_lifetime() -> u64 {
    300
}
fn default_rpt_lifetime() -> u64 {
    300
}
fn default_access_token_lifetime() -> u64 {
    3600
}
fn default_refresh_token_lifetime() -> u64 {
    86_400
}
fn default_pct_lifetime() -> u64 {
    30 * 86_400
}
fn default_approval_poll_interval() -> u64 {
    5
}
fn default_decision_retention() -> u64 {
    30 * 86_400
}
fn default_max_body_bytes() -> usize {
    64 * 1024
}
fn default_max_connections() -> usize {
    1024
}
fn default_header_read_timeout() -> u64 {
    10
}
fn default_request_body_timeout() -> u64 {
    30
}
fn default_idle_timeout() -> u64 {
    60
}
fn default_max_sign_in_sessions() -> usize {
    10_000
}
fn default_signing_key_publication() -> u64 {
    120
}
fn default_storage_timeout() -> u64 {
    5
}
fn default_maintenance_interval() -> u64 {
    10
}

impl Default for Config {
    fn default() -> Self {
        // Parsing an empty document applies every default above; it cannot fail.
        Self::from_toml("").unwrap_or_else(|e| unreachable!("defaults parse: {e}"))
    }
}

impl Config {
    /// Parses and checks a configuration. The error names the offending key.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        let config: Self = toml::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        config.check()?;
        Ok(config)
    }

    /// Reads a Keycloak realm export at start ([`KeycloakEntry::import`]), in Keycloak's realm
    /// mode for the export's realm unless one is configured. Fails if the file cannot be read
    /// as an export.
    pub fn keycloak_import(&mut self, path: PathBuf) -> Result<(), Error> {
        let import = crate::keycloak::RealmImport::from_file(&path)?;
        match &mut self.keycloak {
            Some(keycloak) => keycloak.import = Some(path),
            None => {
                self.keycloak = Some(KeycloakEntry {
                    realm: import.realm,
                    import: Some(path),
                })
            }
        }
        self.check()
    }

    /// Reads and parses a configuration file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        Self::from_toml(&text).map_err(|e| match e {
            Error::Config(message) => Error::Config(format!("{}: {message}", path.display())),
            other => other,
        })
    }

    fn check(&self) -> Result<(), Error> {
        let key = |section: &str, i: usize, name: &str, problem: &str| {
            Err(Error::Config(format!("{section}[{i}].{name} {problem}")))
        };
        for (i, client) in self.clients.iter().enumerate() {
            if client.client_id.is_empty() {
                return key("clients", i, "client_id", "is empty");
            }
            if client.client_secret.is_empty() {
                return key("clients", i, "client_secret", "is empty");
            }
            if let Some(grant) = client.grant_types.iter().flatten().find(|g| {
                ![
                    "authorization_code",
                    "client_credentials",
                    "password",
                    "refresh_token",
                    uma_types::UMA_TICKET_GRANT_TYPE,
                ]
                .contains(&g.as_str())
            }) {
                return key(
                    "clients",
                    i,
                    "grant_types",
                    &format!("has unknown grant type {grant:?}"),
                );
            }
            for (name, uris) in [
                ("claims_redirect_uris", &client.claims_redirect_uris),
                ("redirect_uris", &client.redirect_uris),
            ] {
                if let Some(uri) = uris
                    .iter()
                    .find(|u| url::Url::parse(u).map_or(true, |u| u.fragment().is_some()))
                {
                    return key(
                        "clients",
                        i,
                        name,
                        &format!("has {uri:?}, which is not an absolute URI without a fragment"),
                    );
                }
            }
        }
        for (i, user) in self.users.iter().enumerate() {
            if user.username.is_empty() {
                return key("users", i, "username", "is empty");
            }
        }
        for (name, value) in [
            ("max_connections", self.max_connections as u64),
            ("header_read_timeout", self.header_read_timeout),
            ("request_body_timeout", self.request_body_timeout),
            ("idle_timeout", self.idle_timeout),
            ("max_sign_in_sessions", self.max_sign_in_sessions as u64),
            ("max_body_bytes", self.max_body_bytes as u64),
            ("maintenance_interval", self.maintenance_interval),
            ("storage_timeout", self.storage_timeout),
        ] {
            if value == 0 {
                return Err(Error::Config(format!("{name} must be at least 1")));
            }
        }
        if let Some(keycloak) = &self.keycloak {
            let realm = &keycloak.realm;
            // A realm name is one path segment.
            let valid = !realm.is_empty()
                && realm
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                && realm != "."
                && realm != "..";
            if !valid {
                return Err(Error::Config(format!(
                    "keycloak.realm {realm:?} must be letters, digits, '-', '_' or '.'"
                )));
            }
        }
        if let Some(issuer) = &self.issuer {
            if url::Url::parse(issuer).is_err() || issuer.ends_with('/') {
                return Err(Error::Config(format!(
                    "issuer {issuer:?} must be an absolute URL without a trailing slash"
                )));
            }
        }
        Ok(())
    }

    /// The issuer: as configured, or `http://{listen}` (`http://{listen}/realms/{realm}` in
    /// Keycloak's realm mode).
    pub fn issuer(&self) -> String {
        self.issuer.clone().unwrap_or_else(|| match &self.keycloak {
            Some(keycloak) => format!("http://{}/realms/{}", self.listen, keycloak.realm),
            None => format!("http://{}", self.listen),
        })
    }

    /// A server builder with everything this configuration says, the store opened.
    pub async fn builder(&self) -> Result<AuthorizationServerBuilder, Error> {
        let mut builder = AuthorizationServer::builder()
            .issuer(self.issuer())
            .store(
                self.storage
                    .open(Duration::from_secs(self.storage_timeout))
                    .await?,
            )
            .rpt_format(match self.rpt_format {
                RptFormatName::Jwt => RptFormat::Jwt,
                RptFormatName::Opaque => RptFormat::Opaque,
            })
            .ticket_lifetime(Duration::from_secs(self.ticket_lifetime))
            .rpt_lifetime(Duration::from_secs(self.rpt_lifetime))
            .access_token_lifetime(Duration::from_secs(self.access_token_lifetime))
            .refresh_token_lifetime(Duration::from_secs(self.refresh_token_lifetime))
            .pct_lifetime(Duration::from_secs(self.pct_lifetime))
            .approval_poll_interval(Duration::from_secs(self.approval_poll_interval))
            .decision_retention(Duration::from_secs(self.decision_retention))
            .max_body_bytes(self.max_body_bytes)
            .max_connections(self.max_connections)
            .header_read_timeout(Duration::from_secs(self.header_read_timeout))
            .request_body_timeout(Duration::from_secs(self.request_body_timeout))
            .idle_timeout(Duration::from_secs(self.idle_timeout))
            .max_sign_in_sessions(self.max_sign_in_sessions)
            .rpt_refresh_tokens(self.rpt_refresh_tokens)
            .signing_key_publication(Duration::from_secs(self.signing_key_publication))
            .signing_key_rotation(Some(Duration::from_secs(self.signing_key_rotation)))
            .maintenance_interval(Duration::from_secs(self.maintenance_interval));
        if let Some(keycloak) = &self.keycloak {
            builder = builder.keycloak_realm(&keycloak.realm);
        }
        if let Some(alg) = self.signing_algorithm {
            builder = builder.signing_algorithm(alg);
        }
        let mut clients = self.clients.clone();
        let mut users = self.users.clone();
        let mut password_grant = self.password_grant;
        if let Some(path) = self.keycloak.as_ref().and_then(|k| k.import.as_ref()) {
            let import = crate::keycloak::RealmImport::from_file(path)?;
            let mut not_imported = import.not_imported;
            for client in import.clients {
                if clients.iter().any(|c| c.client_id == client.client_id) {
                    not_imported.push(format!("client {}: configured here too", client.client_id));
                } else {
                    clients.push(client);
                }
            }
            for user in import.users {
                if users.iter().any(|u| u.username == user.username) {
                    not_imported.push(format!("user {}: configured here too", user.username));
                } else {
                    users.push(user);
                }
            }
            if import.password_grant && !password_grant {
                tracing::info!("the realm's clients use direct access grants: password grant on");
                password_grant = true;
            }
            tracing::info!(
                file = %path.display(),
                resources = import.resources.len(),
                policies = import.policies.len(),
                "Keycloak realm export imported"
            );
            if !not_imported.is_empty() {
                tracing::warn!(
                    file = %path.display(),
                    "not imported from the Keycloak realm export: {}",
                    not_imported.join("; ")
                );
            }
            builder = builder.seed(import.resources, import.policies);
        }
        builder = builder.password_grant(password_grant);
        for client in &clients {
            let mut config = ClientConfig::new(&client.client_id, client.client_secret.as_str())
                .scopes(client.scopes.iter().cloned())
                .claims_redirect_uris(client.claims_redirect_uris.iter().cloned())
                .redirect_uris(client.redirect_uris.iter().cloned());
            if let Some(grants) = &client.grant_types {
                config = config.grant_types(grants.iter().cloned());
            }
            builder = builder.client(config);
        }
        for user in &users {
            let mut config = UserConfig::new(&user.username)
                .groups(user.groups.iter().cloned())
                .realm_roles(user.roles.iter().cloned());
            for (client, roles) in &user.client_roles {
                config = config.client_roles(client, roles.iter().cloned());
            }
            if let Some(password) = &user.password {
                config = config.password(password.as_str());
            }
            for (name, value) in &user.claims {
                config = config.claim(name, value);
            }
            builder = builder.user(config);
        }
        Ok(builder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let config = Config::default();
        assert_eq!(config.listen, default_listen());
        assert_eq!(config.storage, Storage::Sqlite("./uma-as.db".into()));
        assert_eq!(config.issuer(), "http://127.0.0.1:8080");
        assert!(!config.password_grant);
    }

    #[test]
    fn errors_name_the_key() {
        for (text, key) in [
            ("listen = \"nowhere\"", "listen"),
            ("storage = \"mysql://x\"", "storage"),
            ("storage = \"postgres://x:notaport/db\"", "storage"),
            ("pasword_grant = true", "pasword_grant"),
            ("password_grant = \"yes\"", "password_grant"),
            ("rpt_format = \"paseto\"", "rpt_format"),
            ("[[clients]]\nclient_id = \"a\"", "client_secret"),
            (
                "[[clients]]\nclient_id = \"\"\nclient_secret = \"s\"",
                "clients[0].client_id",
            ),
            (
                "[[clients]]\nclient_id = \"a\"\nclient_secret = \"s\"\ngrant_types = [\"implicit\"]",
                "clients[0].grant_types",
            ),
            (
                "[[clients]]\nclient_id = \"a\"\nclient_secret = \"s\"\nclaims_redirect_uris = [\"/relative\"]",
                "clients[0].claims_redirect_uris",
            ),
            ("[[users]]\nusername = \"\"", "users[0].username"),
            ("[[users]]\nusername = \"a\"\ncolour = \"red\"", "colour"),
            ("issuer = \"http://as/\"", "issuer"),
            ("header_read_timeout = 0", "header_read_timeout"),
            ("max_connections = -1", "max_connections"),
            ("[keycloak]\nrealm = \"a/b\"", "keycloak.realm"),
            ("[keycloak]\nrealm = \"..\"", "keycloak.realm"),
            ("[keycloak]\nrealms = \"a\"", "realms"),
            ("signing_algorithm = \"HS256\"", "signing_algorithm"),
        ] {
            let message = Config::from_toml(text).unwrap_err().to_string();
            assert!(message.contains(key), "{text:?}: {message}");
        }
    }

    #[test]
    fn users_carry_keycloaks_roles_and_the_signing_algorithm_is_read() {
        let config = Config::from_toml(
            "signing_algorithm = \"RS256\"\n[[users]]\nusername = \"carol\"\nroles = [\"admin\"]\n\
             client_roles = { photoz = [\"album-manager\"] }",
        )
        .unwrap();
        assert_eq!(config.signing_algorithm, Some(SigningAlgorithm::RS256));
        assert_eq!(config.users[0].roles, ["admin"]);
        assert_eq!(config.users[0].client_roles["photoz"], ["album-manager"]);
    }

    #[test]
    fn the_keycloak_realm_moves_the_default_issuer() {
        let config = Config::from_toml("[keycloak]\nrealm = \"photoz\"").unwrap();
        assert_eq!(config.issuer(), "http://127.0.0.1:8080/realms/photoz");
        let config = Config::from_toml(
            "issuer = \"https://sso.example/realms/x\"\n[keycloak]\nrealm = \"x\"",
        )
        .unwrap();
        assert_eq!(config.issuer(), "https://sso.example/realms/x");
    }

    #[test]
    fn storage_forms() {
        assert_eq!("memory".parse::<Storage>(), Ok(Storage::Memory));
        assert_eq!(
            "sqlite:/tmp/x.db".parse::<Storage>(),
            Ok(Storage::Sqlite("/tmp/x.db".into()))
        );
        assert!("sqlite:".parse::<Storage>().is_err());
        let Ok(Storage::Postgres(url)) = "postgres://uma:s3cret@db:5432/uma".parse::<Storage>()
        else {
            panic!("a PostgreSQL URL is storage");
        };
        assert_eq!(url.as_str(), "postgres://uma:s3cret@db:5432/uma");
        let shown = format!("{:?}", Storage::Postgres(url));
        assert!(
            !shown.contains("s3cret") && shown.contains("uma:***@db"),
            "{shown}"
        );
    }

    #[test]
    fn the_shipped_example_config_parses() {
        let text = include_str!("../../examples/uma-as.toml");
        let config = Config::from_toml(text).unwrap();
        assert!(config.password_grant);
        assert!(!config.clients.is_empty() && !config.users.is_empty());
    }
}
