//! The discovery document (Grant §2, FedAuthz §2, RFC 8414) and how to locate it.

use serde::{Deserialize, Serialize};

/// The path appended to the issuer to locate the UMA discovery document (Grant §2).
///
/// ```
/// assert_eq!(uma_types::discovery::UMA_WELL_KNOWN_PATH, "/.well-known/uma2-configuration");
/// ```
pub const UMA_WELL_KNOWN_PATH: &str = "/.well-known/uma2-configuration";

/// The path of the RFC 8414 metadata document, appended to the issuer the same way.
///
/// ```
/// assert_eq!(
///     uma_types::discovery::OAUTH_WELL_KNOWN_PATH,
///     "/.well-known/oauth-authorization-server"
/// );
/// ```
pub const OAUTH_WELL_KNOWN_PATH: &str = "/.well-known/oauth-authorization-server";

/// The URL of the UMA discovery document of `issuer`: the issuer, less a trailing `/`, with
/// `/.well-known/uma2-configuration` appended (Grant §2 appends; it does not insert as RFC 8414 does).
///
/// ```
/// assert_eq!(
///     uma_types::discovery::discovery_url("https://as.example.com/realms/r1/"),
///     "https://as.example.com/realms/r1/.well-known/uma2-configuration"
/// );
/// ```
pub fn discovery_url(issuer: &str) -> String {
    format!("{}{UMA_WELL_KNOWN_PATH}", issuer.trim_end_matches('/'))
}

/// An UMA 2.0 discovery document: RFC 8414 metadata plus the UMA and protection API members.
///
/// Arrays with no element are omitted when serialized (RFC 8414 §3.2); members this type does not
/// know are ignored when deserialized.
///
/// ```
/// let document: uma_types::DiscoveryDocument = serde_json::from_str(r#"{
///     "issuer": "https://as.example.com",
///     "token_endpoint": "https://as.example.com/token",
///     "permission_endpoint": "https://as.example.com/perm"
/// }"#).unwrap();
/// assert_eq!(document.permission_endpoint.as_deref(), Some("https://as.example.com/perm"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DiscoveryDocument {
    /// The issuer identifier; the `as_uri` of a resource server's challenge.
    pub issuer: String,
    /// Where resource owners and users authorize clients interactively.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// The token endpoint: PATs, access tokens and RPTs come from it.
    pub token_endpoint: String,
    /// Where the signing keys of JWT RPTs are published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// RFC 7591 dynamic client registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    /// Scopes the server supports, such as `uma_protection`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// OAuth response types of the authorization endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_types_supported: Vec<String>,
    /// Grant types of the token endpoint, the UMA grant among them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_types_supported: Vec<String>,
    /// Client authentication methods of the token endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// RFC 7662 introspection, extended with `permissions` (FedAuthz §5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// RFC 7009 revocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// Where the authorization server gathers claims from requesting parties interactively.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims_interaction_endpoint: Option<String>,
    /// UMA profiles and extensions the server supports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uma_profiles_supported: Vec<String>,
    /// Where a resource server asks for permission tickets (FedAuthz §4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_endpoint: Option<String>,
    /// Where a resource server registers resources (FedAuthz §3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_registration_endpoint: Option<String>,
    /// PKCE code challenge methods of the authorization endpoint (RFC 8414, RFC 7636).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code_challenge_methods_supported: Vec<String>,
    /// Where resource owners manage their sharing policies (Keycloak's uma-policy API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_endpoint: Option<String>,
}
