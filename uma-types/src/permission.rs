//! Permission requests and permission tickets (FedAuthz §4).

use serde::{Deserialize, Serialize};

use crate::{PermissionTicket, ResourceScope};

/// One requested permission (FedAuthz §4.1): a registered resource and zero or more of its scopes.
///
/// ```
/// let permission = uma_types::PermissionRequest::new("112210f47de98100", ["view"]);
/// assert_eq!(
///     serde_json::to_value(&permission).unwrap(),
///     serde_json::json!({"resource_id": "112210f47de98100", "resource_scopes": ["view"]})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionRequest {
    /// The `_id` of a registered resource.
    pub resource_id: String,
    /// Scopes registered for that resource; may be empty.
    pub resource_scopes: Vec<ResourceScope>,
}

impl PermissionRequest {
    /// A request for `scopes` on `resource_id`.
    ///
    /// ```
    /// let zero_scopes = uma_types::PermissionRequest::new("r1", Vec::<&str>::new());
    /// assert!(zero_scopes.resource_scopes.is_empty());
    /// ```
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
///
/// ```
/// use uma_types::{PermissionRequest, permission::PermissionRequestBody};
///
/// let one = PermissionRequestBody::from_permissions(vec![PermissionRequest::new("r1", ["view"])]);
/// assert!(serde_json::to_value(&one).unwrap().is_object());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum PermissionRequestBody {
    /// The single-object form.
    One(PermissionRequest),
    /// The array form.
    Many(Vec<PermissionRequest>),
}

impl PermissionRequestBody {
    /// The body for these permissions: the object form for one, the array form otherwise.
    ///
    /// ```
    /// use uma_types::{PermissionRequest, permission::PermissionRequestBody};
    ///
    /// let many = PermissionRequestBody::from_permissions(vec![
    ///     PermissionRequest::new("r1", ["view"]),
    ///     PermissionRequest::new("r2", ["view"]),
    /// ]);
    /// assert!(serde_json::to_value(&many).unwrap().is_array());
    /// ```
    pub fn from_permissions(mut permissions: Vec<PermissionRequest>) -> Self {
        if permissions.len() == 1 {
            if let Some(only) = permissions.pop() {
                return Self::One(only);
            }
        }
        Self::Many(permissions)
    }

    /// The requested permissions, whichever the form.
    ///
    /// ```
    /// use uma_types::permission::PermissionRequestBody;
    ///
    /// let body: PermissionRequestBody =
    ///     serde_json::from_str(r#"{"resource_id":"r1","resource_scopes":["view"]}"#).unwrap();
    /// assert_eq!(body.into_permissions().len(), 1);
    /// ```
    pub fn into_permissions(self) -> Vec<PermissionRequest> {
        match self {
            Self::One(permission) => vec![permission],
            Self::Many(permissions) => permissions,
        }
    }
}

/// The body of a successful permission request (FedAuthz §4.2): `201` with one ticket.
///
/// ```
/// let answer: uma_types::TicketResponse =
///     serde_json::from_str(r#"{"ticket":"016f84e8-f9b9-11e0-bd6f-0021cc6004de"}"#).unwrap();
/// assert_eq!(answer.ticket.as_str(), "016f84e8-f9b9-11e0-bd6f-0021cc6004de");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketResponse {
    /// The permission ticket for all the requested permissions.
    pub ticket: PermissionTicket,
}
