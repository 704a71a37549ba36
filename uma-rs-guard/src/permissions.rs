//! What the guard hands to the protected service.

use std::sync::Arc;

use uma_types::Permission;

/// The permissions of the RPT that let a request through, put in the request's extensions.
///
/// Read it with the [`Permissions`](crate::Permissions) extractor, `Extension<GrantedPermissions>`,
/// or `request.extensions().get::<GrantedPermissions>()`. Cloning it is cheap: every request
/// carrying the same RPT shares one copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantedPermissions(Arc<Inner>);

#[derive(Debug, PartialEq, Eq)]
struct Inner {
    permissions: Vec<Permission>,
    subject: Option<String>,
    client_id: Option<String>,
}

impl GrantedPermissions {
    pub(crate) fn new(
        permissions: Vec<Permission>,
        subject: Option<String>,
        client_id: Option<String>,
    ) -> Self {
        Self(Arc::new(Inner {
            permissions,
            subject,
            client_id,
        }))
    }

    /// Every permission the RPT carries, not only those this request needed.
    pub fn permissions(&self) -> &[Permission] {
        &self.0.permissions
    }

    /// The requesting party.
    pub fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }

    /// The client the RPT was issued to.
    pub fn client_id(&self) -> Option<&str> {
        self.0.client_id.as_deref()
    }

    /// Whether the RPT grants `scope` on `resource_id`.
    pub fn allows(&self, resource_id: &str, scope: &str) -> bool {
        self.0
            .permissions
            .iter()
            .any(|p| p.resource_id == resource_id && p.has_scope(scope))
    }
}
