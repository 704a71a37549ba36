//! Permission requests and permission tickets (FedAuthz §4).

use serde::{Deserialize, Serialize};

use crate::{PermissionTicket, ResourceScope};

/// One requested permission (FedAuthz §4.1): a registered resource and zero or more of its scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionRequest {
    /// The `_id` of a registered resource.
    pub resource_id: String,
    /// Scopes registered for that resource; may be empty.
    pub resource_scopes: Vec<ResourceScope>,
}

impl PermissionRequest {
    /// A request for `scopes` on `resource_id`.
    pub fn new<S: Into<ResourceScope>>(
        resource_id: impl Into<String>,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            resource_id: resource_id.into(),
            resource_scopes: scopes.into_iter().map(Into::into).collect(),
        }
    }
}

/// The body of a permission request: one object, or an array of one or more (FedAuthz §4.1).
///
/// Serializing a single permission yields the object form, which every server accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PermissionRequestBody {
    /// The single-object form.
    One(PermissionRequest),
    /// The array form.
    Many(Vec<PermissionRequest>),
}

impl PermissionRequestBody {
    /// The body for these permissions: the object form for one, the array form otherwise.
    pub fn from_permissions(mut permissions: Vec<PermissionRequest>) -> Self {
        if permissions.len() == 1 {
            if let Some(only) = permissions.pop() {
                return Self::One(only);
            }
        }
        Self::Many(permissions)
    }

    /// The requested permissions, whichever the form.
    pub fn into_permissions(self) -> Vec<PermissionRequest> {
        match self {
            Self::One(permission) => vec![permission],
            Self::Many(permissions) => permissions,
        }
    }
}

/// The body of a successful permission request (FedAuthz §4.2): `201` with one ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketResponse {
    /// The permission ticket for all the requested permissions.
    pub ticket: PermissionTicket,
}
