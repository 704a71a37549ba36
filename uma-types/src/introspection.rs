//! The introspection response (RFC 7662 §2.2) with UMA's `permissions` (FedAuthz §5.1.1).

use serde::{Deserialize, Serialize};

use crate::ResourceScope;

/// A permission granted by an RPT (FedAuthz §5.1.1).
///
/// Serialized with the spec's `resource_id` and `resource_scopes` and, alongside, Keycloak's `rsid`
/// and `scopes`, so that enforcers written for either read it; deserialized from either dialect,
/// the spec's names winning when both are present.
///
/// ```
/// let permission: uma_types::Permission =
///     serde_json::from_str(r#"{"rsid":"r1","rsname":"Album","scopes":["view"]}"#).unwrap();
/// assert_eq!(permission.resource_id, "r1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "WirePermission", into = "WirePermission")]
pub struct Permission {
    /// The resource the permission is for.
    pub resource_id: String,
    /// The granted scopes; may be empty.
    pub resource_scopes: Vec<ResourceScope>,
    /// The resource's name, when the server says it (Keycloak's `rsname`).
    pub resource_name: Option<String>,
    /// When this permission expires, in seconds since the epoch.
    pub exp: Option<u64>,
    /// When this permission was issued.
    pub iat: Option<u64>,
    /// Not valid before.
    pub nbf: Option<u64>,
}

impl Permission {
    /// A permission for `scopes` on `resource_id`, with no times of its own.
    ///
    /// ```
    /// let permission = uma_types::Permission::new("r1", ["view", "print"]);
    /// assert!(permission.exp.is_none());
    /// ```
    pub fn new<S: Into<ResourceScope>>(
        resource_id: impl Into<String>,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            resource_id: resource_id.into(),
            resource_scopes: scopes.into_iter().map(Into::into).collect(),
            resource_name: None,
            exp: None,
            iat: None,
            nbf: None,
        }
    }

    /// Whether this permission covers `scope`.
    ///
    /// ```
    /// let permission = uma_types::Permission::new("r1", ["view"]);
    /// assert!(permission.has_scope("view") && !permission.has_scope("edit"));
    /// ```
    pub fn has_scope(&self, scope: &str) -> bool {
        self.resource_scopes.iter().any(|s| s.as_str() == scope)
    }
}

#[derive(Serialize, Deserialize)]
struct WirePermission {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resource_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resource_scopes: Option<Vec<ResourceScope>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rsid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rsname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scopes: Option<Vec<ResourceScope>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
}

impl From<WirePermission> for Permission {
    fn from(wire: WirePermission) -> Self {
        Self {
            resource_id: wire.resource_id.or(wire.rsid).unwrap_or_default(),
            resource_scopes: wire.resource_scopes.or(wire.scopes).unwrap_or_default(),
            resource_name: wire.rsname,
            exp: wire.exp,
            iat: wire.iat,
            nbf: wire.nbf,
        }
    }
}

impl From<Permission> for WirePermission {
    fn from(permission: Permission) -> Self {
        Self {
            rsid: Some(permission.resource_id.clone()),
            resource_id: Some(permission.resource_id),
            scopes: Some(permission.resource_scopes.clone()),
            resource_scopes: Some(permission.resource_scopes),
            rsname: permission.resource_name,
            exp: permission.exp,
            iat: permission.iat,
            nbf: permission.nbf,
        }
    }
}

/// An introspection response (RFC 7662 §2.2, FedAuthz §5.1.1).
///
/// For an active RPT, `permissions` is present and `scope` absent; an inactive token is just
/// `{"active": false}`.
///
/// ```
/// let answer: uma_types::Introspection = serde_json::from_str(
///     r#"{"active":true,"permissions":[{"resource_id":"r1","resource_scopes":["view"]}]}"#,
/// ).unwrap();
/// assert!(answer.active && answer.scope.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Introspection {
    /// Whether the token is active.
    pub active: bool,
    /// Expiry, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// Issued at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Not valid before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// The subject: for an RPT, the requesting party.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The client the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The human-readable identifier of the subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The token type, such as `Bearer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Scopes of a plain access token; never present for an RPT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The permissions of an RPT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<Permission>>,
}

impl Introspection {
    /// The answer for an unknown, expired, revoked or foreign token.
    ///
    /// ```
    /// assert_eq!(
    ///     serde_json::to_value(uma_types::Introspection::inactive()).unwrap(),
    ///     serde_json::json!({"active": false})
    /// );
    /// ```
    pub fn inactive() -> Self {
        Self::default()
    }
}
