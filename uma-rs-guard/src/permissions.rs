//! What the guard hands to the protected service.

use uma_client::Permission;

/// The permissions of the RPT that let a request through, put in the request's extensions.
///
/// With axum, read it with `Extension<GrantedPermissions>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantedPermissions {
    /// Every permission the RPT carries, not only those this request needed.
    pub permissions: Vec<Permission>,
    /// The requesting party.
    pub subject: Option<String>,
    /// The client the RPT was issued to.
    pub client_id: Option<String>,
}

impl GrantedPermissions {
    /// Whether the RPT grants `scope` on `resource_id`.
    pub fn allows(&self, resource_id: &str, scope: &str) -> bool {
        self.permissions
            .iter()
            .any(|p| p.resource_id == resource_id && p.has_scope(scope))
    }
}
