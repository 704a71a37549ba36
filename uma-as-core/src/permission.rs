//! The permission endpoint (FedAuthz §4): a resource server asks for a ticket on the client's
//! behalf.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use uma_types::permission::PermissionRequestBody;
use uma_types::{PermissionRequest, PermissionTicket, TicketResponse};

use crate::error::ApiError;
use crate::protection::ProtectionAuth;
use crate::request::JsonBody;
use crate::secret::{self, TokenHash};
use crate::server::Issuance;
use crate::store::{Store, Ticket};
use crate::time::now;

pub(crate) async fn request(
    State(store): State<Arc<dyn Store>>,
    State(issuance): State<Arc<Issuance>>,
    auth: ProtectionAuth,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> Result<(StatusCode, Json<TicketResponse>), ApiError> {
    // Parsed in two steps so that a malformed body gets a message that says what is wrong,
    // rather than serde's "did not match any variant".
    let permissions = parse(body)?;
    let mut owner: Option<String> = None;
    for permission in &permissions {
        let resource = store
            .resource(&permission.resource_id)
            .await?
            .filter(|r| auth.may_manage(r))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    uma_types::ErrorCode::InvalidResourceId,
                    format!("resource {:?} is not registered", permission.resource_id),
                )
            })?;
        if let Some(scope) = permission
            .resource_scopes
            .iter()
            .find(|s| !resource.description.resource_scopes.contains(s))
        {
            return Err(ApiError::invalid_scope(format!(
                "scope {scope:?} is not registered for resource {:?}",
                resource.id
            )));
        }
        // FedAuthz §4: one request is for the resources of a single owner.
        match &owner {
            Some(o) if *o != resource.owner => {
                return Err(ApiError::invalid_request(
                    "the permissions are for resources of more than one owner",
                ));
            }
            _ => owner = Some(resource.owner),
        }
    }
    let owner = owner.ok_or_else(|| ApiError::invalid_request("no permission requested"))?;
    let lifetime = issuance.lifetimes.ticket;
    let ticket = issue_ticket(&*store, lifetime, permissions, owner, auth.resource_server).await?;
    Ok((StatusCode::CREATED, Json(TicketResponse { ticket })))
}

fn parse(body: serde_json::Value) -> Result<Vec<PermissionRequest>, ApiError> {
    if !(body.is_object() || body.is_array()) {
        return Err(ApiError::invalid_request(
            "the body must be a permission object or an array of them",
        ));
    }
    let permissions = serde_json::from_value::<PermissionRequestBody>(body)
        .map_err(|_| {
            ApiError::invalid_request(
                "each permission needs resource_id (a string) and resource_scopes (an array of strings)",
            )
        })?
        .into_permissions();
    if permissions.is_empty() {
        return Err(ApiError::invalid_request(
            "the array of permissions is empty",
        ));
    }
    Ok(permissions)
}

/// Mints and stores a ticket for these permissions, to live `lifetime`.
pub(crate) async fn issue_ticket(
    store: &dyn Store,
    lifetime: Duration,
    permissions: Vec<PermissionRequest>,
    owner: String,
    resource_server: String,
) -> Result<PermissionTicket, ApiError> {
    issue_ticket_with(store, lifetime, permissions, owner, resource_server, None).await
}

/// Mints and stores a ticket, carrying who claims gathering identified, if anyone.
pub(crate) async fn issue_ticket_with(
    store: &dyn Store,
    lifetime: Duration,
    permissions: Vec<PermissionRequest>,
    owner: String,
    resource_server: String,
    gathered: Option<crate::store::Gathered>,
) -> Result<PermissionTicket, ApiError> {
    let ticket = secret::new_token();
    store
        .put_ticket(
            TokenHash::of(&ticket),
            Ticket {
                permissions,
                owner,
                resource_server,
                expires_at: now() + lifetime.as_secs(),
                gathered,
            },
        )
        .await?;
    Ok(PermissionTicket::new(ticket))
}
